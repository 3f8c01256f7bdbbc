// CallLog: what the dispatcher tells the operator about calls (docs/semantics.md "Logs"):
// server-API calls refused for their key, failed logins, rate-limit hits, Unavailable answers,
// internal errors and calls slower than a threshold. One per rtmd, shared by every thread
// (api::Services::call_log).
//
// Each event has a LineBudget, so a flood of refused calls costs a few lines a second, with
// the count of the lines held back; rtmd calls report_held_back() every second. A line names
// the method and the caller's address, never a password, token or key.
#pragma once

#include <chrono>
#include <string_view>

#include "core/error.hpp"
#include "logging/line_budget.hpp"

namespace rtm::api {

struct Reply;

class CallLog {
 public:
  // A call busy longer than slow_call (its designed wait, a long poll's, not counted) is
  // logged as `call.slow`; zero: never.
  explicit CallLog(std::chrono::milliseconds slow_call) : slow_call_(slow_call) {}

  // A server-API call or the server event socket refused for its key: `what` is the method
  // (or the path), `key_given` whether an Authorization header came at all.
  void refused_key(std::string_view what, std::string_view address, bool key_given);

  // session.authorize refused the credentials, or refused to check them (too many failed
  // logins): `login` is the login name, empty when a user token was given.
  void login_failed(std::string_view login, std::string_view address, const Error& why);

  // Every answered call: RateLimited, Unavailable and Internal answers, and slow calls.
  // `busy` is the call's time less what it waited by design.
  void answered(std::string_view method, std::string_view address, const Reply& reply,
                std::chrono::steady_clock::duration busy);

  // Writes a `log.suppressed` line for each count of lines held back in a second that is
  // over and that no line has reported yet.
  void report_held_back();

  std::chrono::milliseconds slow_call() const { return slow_call_; }

 private:
  const std::chrono::milliseconds slow_call_;
  logging::LineBudget refused_keys_{10};
  logging::LineBudget failed_logins_{10};
  logging::LineBudget rate_limited_{1};  // per method: one line a second each
  logging::LineBudget unavailable_{10};
  logging::LineBudget internal_errors_{10};
  logging::LineBudget slow_calls_{10};
};

}  // namespace rtm::api
