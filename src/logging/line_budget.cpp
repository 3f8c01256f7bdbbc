// See line_budget.hpp.
#include "logging/line_budget.hpp"

#include <chrono>

namespace rtm::logging {

namespace {

std::int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool LineBudget::admit(std::string_view kind, std::uint64_t& suppressed) {
  return admit(kind, steady_now_ms(), suppressed);
}

std::vector<LineBudget::HeldBack> LineBudget::take_held_back() {
  return take_held_back(steady_now_ms());
}

bool LineBudget::admit(std::string_view kind, std::int64_t now_ms, std::uint64_t& suppressed) {
  std::lock_guard lock(mu_);
  auto it = kinds_.find(std::string(kind));
  if (it == kinds_.end()) it = kinds_.emplace(std::string(kind), Window{now_ms, 0, 0}).first;
  Window& w = it->second;
  if (now_ms - w.start_ms >= 1000 || now_ms < w.start_ms) {
    w.start_ms = now_ms;
    w.lines = 0;
  }
  if (w.lines >= per_second_) {
    ++w.held_back;
    return false;
  }
  ++w.lines;
  suppressed = w.held_back;
  w.held_back = 0;
  return true;
}

std::vector<LineBudget::HeldBack> LineBudget::take_held_back(std::int64_t now_ms) {
  std::vector<HeldBack> out;
  std::lock_guard lock(mu_);
  for (auto& [kind, w] : kinds_) {
    if (w.held_back == 0 || now_ms - w.start_ms < 1000) continue;
    out.push_back({kind, w.held_back});
    w.held_back = 0;
  }
  return out;
}

}  // namespace rtm::logging
