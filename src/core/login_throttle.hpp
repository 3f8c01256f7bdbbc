// LoginThrottle: counts failed logins per login name; past the limit within the window,
// attempts are refused (RateLimited) until the window ends, right password or not.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace rtm {

class LoginThrottle {
 public:
  LoginThrottle(int limit, std::int64_t window_ms) : limit_(limit), window_ms_(window_ms) {}

  bool blocked(const std::string& login, std::int64_t now_ms);
  void record_failure(const std::string& login, std::int64_t now_ms);
  void record_success(const std::string& login);

 private:
  struct Window {
    std::int64_t start_ms;
    int failures;
  };
  const int limit_;
  const std::int64_t window_ms_;
  std::mutex mu_;
  std::unordered_map<std::string, Window> windows_;
};

}  // namespace rtm
