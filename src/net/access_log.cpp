// See access_log.hpp.
#include "net/access_log.hpp"

#include "logging/log.hpp"

namespace rtm::net {

void log_access(std::string_view method, std::string_view target, unsigned status,
                std::chrono::steady_clock::time_point started, std::uint64_t bytes,
                std::string_view address) {
  std::string_view path = target.substr(0, target.find('?'));
  path = path.substr(0, path.find('#'));
  if (path.size() > 256) path = path.substr(0, 256);  // a target may be 16 KiB of anything
  if (method.size() > 32) method = method.substr(0, 32);
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  logging::info("http.access", {{"method", method},
                                {"path", path},
                                {"status", status},
                                {"ms", ms},
                                {"bytes", bytes},
                                {"address", address}});
}

}  // namespace rtm::net
