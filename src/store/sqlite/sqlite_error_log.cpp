// See sqlite_error_log.hpp.
#include "store/sqlite/sqlite_error_log.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "logging/log.hpp"

namespace rtm::sqlite {
namespace {

struct OpState {
  std::chrono::steady_clock::time_point last_written{};
  std::uint64_t left_out = 0;
};

std::mutex g_mu;  // guards g_ops; a leaf lock (logging takes none of ours)
// By op and error text: another failure of the same call is news and gets its own line.
std::map<std::pair<std::string, std::string>, OpState> g_ops;

}  // namespace

void log_store_error(std::string_view op, const Error& error) {
  if (error.rc != Rc::Unavailable && error.rc != Rc::Internal) return;
  constexpr auto kEvery = std::chrono::seconds(1);
  auto now = std::chrono::steady_clock::now();
  std::uint64_t repeated = 0;
  {
    std::lock_guard lock(g_mu);
    if (g_ops.size() > 1000) g_ops.clear();  // bounded, whatever texts errors come with
    OpState& s = g_ops[{std::string(op), error.msg}];
    if (s.last_written != std::chrono::steady_clock::time_point{} &&
        now - s.last_written < kEvery) {
      ++s.left_out;
      return;
    }
    s.last_written = now;
    repeated = s.left_out;
    s.left_out = 0;
  }
  logging::error(
      "store.error",
      {{"op", op}, {"rc", rc_name(error.rc)}, {"error", error.msg}, {"repeated", repeated}});
}

}  // namespace rtm::sqlite
