// LoginThrottle: the local LoginAttempts engine (core/login_attempts.hpp), this process's own
// counts: failed logins per login name; past the limit within the window, attempts are
// refused (RateLimited) until the window ends, right password or not.
//
// An attempt is counted when it starts (try_begin), not when the password check (argon2id,
// tens of ms) has failed: otherwise many parallel guesses would all pass the check before
// the first failure was counted. A success forgets the window.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/login_attempts.hpp"

namespace rtm {

class LoginThrottle final : public LoginAttempts {
 public:
  LoginThrottle(int limit, std::int64_t window_ms) : limit_(limit), window_ms_(window_ms) {}

  // Atomically: false when blocked; otherwise counts this attempt as a failure until
  // record_success() says otherwise, and answers true.
  bool try_begin(const std::string& login, std::int64_t now_ms) override;
  void record_success(const std::string& login) override;
  // Milliseconds until login's window ends (when a refused login may try again); 0 if none.
  std::int64_t retry_after_ms(const std::string& login, std::int64_t now_ms) override;
  // Takes back the count of a try_begin() that reached no verdict (the store failed).
  void abandon(const std::string& login) override;

 private:
  struct Window {
    std::int64_t start_ms;
    int failures;
  };
  // The live window of login (a fresh one if none or expired); mu_ held.
  Window& window_locked(const std::string& login, std::int64_t now_ms);

  const int limit_;
  const std::int64_t window_ms_;
  std::mutex mu_;
  std::unordered_map<std::string, Window> windows_;
};

}  // namespace rtm
