// See login_throttle.hpp.
#include "core/login_throttle.hpp"

#include <algorithm>
#include <memory>

namespace rtm {

LoginAttemptsFactory local_login_attempts() {
  return [](int limit, std::int64_t window_ms) {
    return std::make_unique<LoginThrottle>(limit, window_ms);
  };
}

LoginThrottle::Window& LoginThrottle::window_locked(const std::string& login, std::int64_t now_ms) {
  // Bound memory under a flood of distinct logins: forget expired windows first.
  if (windows_.size() > 100000) {
    std::erase_if(windows_, [&](auto& kv) { return now_ms - kv.second.start_ms >= window_ms_; });
  }
  auto [it, inserted] = windows_.try_emplace(login, Window{now_ms, 0});
  if (now_ms - it->second.start_ms >= window_ms_) it->second = Window{now_ms, 0};
  return it->second;
}

bool LoginThrottle::try_begin(const std::string& login, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  Window& w = window_locked(login, now_ms);
  if (w.failures >= limit_) return false;
  ++w.failures;
  return true;
}

std::int64_t LoginThrottle::retry_after_ms(const std::string& login, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = windows_.find(login);
  if (it == windows_.end()) return 0;
  return std::max<std::int64_t>(0, it->second.start_ms + window_ms_ - now_ms);
}

void LoginThrottle::abandon(const std::string& login) {
  std::lock_guard lock(mu_);
  auto it = windows_.find(login);
  if (it != windows_.end() && it->second.failures > 0) --it->second.failures;
}

void LoginThrottle::record_success(const std::string& login) {
  std::lock_guard lock(mu_);
  windows_.erase(login);
}

}  // namespace rtm
