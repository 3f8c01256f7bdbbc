// LoginAttempts: the failed-login throttle behind an interface: failed logins are counted per
// login name, and past the limit within the window every attempt is refused (RateLimited)
// until the window ends, right password or not. `LoginThrottle` (core/login_throttle.hpp) is
// the local engine; one shared by a cluster's nodes (Redis INCR + PEXPIRE) keeps N nodes from
// allowing N times the guesses.
//
// Guarantees every engine gives (tests/unit/login_attempts_contract_test.cpp):
//  - an attempt is counted when it begins (try_begin), atomically with the check, so parallel
//    guesses cannot all slip in while the first are still being verified;
//  - record_success() forgets the login's window; abandon() takes back one attempt that
//    reached no verdict (the store failed);
//  - logins are independent; a window ends window_ms after its first attempt;
//  - retry_after_ms() answers when the login's window ends, when a refused login may try
//    again (0 when it has no window).
// Calls may block on the network for a remote engine: callers run off the event loops.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace rtm {

// The message of the RateLimited answer to a throttled login (the api/ layer logs it as a
// failed login, unlike the other RateLimited answers of session.authorize).
inline constexpr char kLoginThrottledMessage[] = "too many failed logins; try again in a minute";

class LoginAttempts {
 public:
  virtual ~LoginAttempts() = default;
  // false when the login is throttled; otherwise counts this attempt and answers true.
  virtual bool try_begin(const std::string& login, std::int64_t now_ms) = 0;
  virtual void record_success(const std::string& login) = 0;
  virtual void abandon(const std::string& login) = 0;
  virtual std::int64_t retry_after_ms(const std::string& login, std::int64_t now_ms) = 0;
};

// Makes the throttle: `limit` failures per `window_ms` (app/ picks the engine).
using LoginAttemptsFactory =
    std::function<std::unique_ptr<LoginAttempts>(int limit, std::int64_t window_ms)>;
LoginAttemptsFactory local_login_attempts();

}  // namespace rtm
