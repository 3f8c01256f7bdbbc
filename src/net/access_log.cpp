// See access_log.hpp.
#include "net/access_log.hpp"

#include "logging/log.hpp"

namespace rtm::net {
namespace {

std::string_view loggable_path(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  path = path.substr(0, path.find('#'));
  if (path.size() > 256) path = path.substr(0, 256);  // a target may be 16 KiB of anything
  return path;
}

std::string_view loggable_method(std::string_view method) {
  return method.size() > 32 ? method.substr(0, 32) : method;
}

}  // namespace

void log_access(std::string_view method, std::string_view target, unsigned status,
                std::chrono::steady_clock::time_point started, std::uint64_t bytes,
                std::string_view address) {
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  logging::info("http.access", {{"method", loggable_method(method)},
                                {"path", loggable_path(target)},
                                {"status", status},
                                {"ms", ms},
                                {"bytes", bytes},
                                {"address", address}});
}

AccessLine::AccessLine(std::string_view method, std::string_view target, std::string address,
                       std::chrono::steady_clock::time_point started)
    : on_(true),
      method_(loggable_method(method)),
      path_(loggable_path(target)),
      address_(std::move(address)),
      started_(started) {}

AccessLine::AccessLine(AccessLine&& other) noexcept
    : on_(other.on_),
      method_(std::move(other.method_)),
      path_(std::move(other.path_)),
      address_(std::move(other.address_)),
      started_(other.started_),
      status_(other.status_),
      bytes_(other.bytes_) {
  other.on_ = false;
}

void AccessLine::wrote(std::string_view sent, std::uint64_t n) {
  bytes_ += n;
  // "HTTP/1.1 200 OK": the code is the three digits after the first space.
  if (status_ != 0 || sent.size() < 12 || sent.substr(0, 7) != "HTTP/1." || sent[8] != ' ') return;
  unsigned code = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (sent[i] < '0' || sent[i] > '9') return;
    code = code * 10 + static_cast<unsigned>(sent[i] - '0');
  }
  if (code >= 200) status_ = code;  // not "100 Continue": the final answer follows
}

void AccessLine::write() {
  if (!on_) return;
  on_ = false;
  if (status_ == 0) return;
  log_access(method_, path_, status_, started_, bytes_, address_);
}

}  // namespace rtm::net
