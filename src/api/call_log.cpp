// See call_log.hpp.
#include "api/call_log.hpp"

#include "api/reply.hpp"
#include "logging/log.hpp"

namespace rtm::api {

namespace {

// A client's login name goes into the line, escaped; a huge one is cut so that the line
// stays a line.
std::string_view cut(std::string_view s, std::size_t max = 128) { return s.substr(0, max); }

}  // namespace

void CallLog::refused_key(std::string_view what, std::string_view address, bool key_given) {
  std::uint64_t suppressed = 0;
  if (!refused_keys_.admit("call.unauthorized", suppressed)) return;
  logging::warn("call.unauthorized",
                {{"method", cut(what)},
                 {"address", address},
                 {"reason", key_given ? "wrong API key" : "missing Authorization header"},
                 {"suppressed", suppressed}});
}

void CallLog::login_failed(std::string_view login, std::string_view address, const Error& why) {
  std::uint64_t suppressed = 0;
  if (!failed_logins_.admit("login.failed", suppressed)) return;
  if (login.empty())
    logging::warn("login.failed", {{"credential", "token"},
                                   {"address", address},
                                   {"error", rc_name(why.rc)},
                                   {"msg", why.msg},
                                   {"suppressed", suppressed}});
  else
    logging::warn("login.failed", {{"login", cut(login)},
                                   {"address", address},
                                   {"error", rc_name(why.rc)},
                                   {"msg", why.msg},
                                   {"suppressed", suppressed}});
}

void CallLog::answered(std::string_view method, std::string_view address, const Reply& reply,
                       std::chrono::steady_clock::duration busy) {
  std::uint64_t suppressed = 0;
  // `method` is a name of the method table (an unknown one is answered before it runs), so
  // it is a bounded kind.
  if (reply.rc == Rc::RateLimited) {
    if (rate_limited_.admit(method, suppressed))
      logging::warn("call.rate_limited", {{"method", method},
                                          {"address", address},
                                          {"msg", reply.msg},
                                          {"suppressed", suppressed}});
  } else if (reply.rc == Rc::Unavailable) {
    // Not `store.error`: that is the store's own line (op, rc, error), written where the store
    // failed; this one names the call and who made it.
    if (unavailable_.admit("call.unavailable", suppressed))
      logging::error("call.unavailable", {{"method", method},
                                          {"address", address},
                                          {"msg", reply.msg},
                                          {"suppressed", suppressed}});
  } else if (reply.rc == Rc::Internal) {
    if (internal_errors_.admit("call.internal", suppressed))
      logging::error("call.internal", {{"method", method},
                                       {"address", address},
                                       {"msg", reply.msg},
                                       {"suppressed", suppressed}});
  }
  if (slow_call_.count() > 0 && busy >= slow_call_) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(busy).count();
    if (slow_calls_.admit("call.slow", suppressed))
      logging::warn("call.slow", {{"method", method},
                                  {"address", address},
                                  {"ms", ms},
                                  {"threshold_ms", slow_call_.count()},
                                  {"rc", static_cast<int>(reply.rc)},
                                  {"suppressed", suppressed}});
  }
}

void CallLog::report_held_back() {
  auto report = [&](logging::LineBudget& budget, std::string_view event) {
    for (const auto& h : budget.take_held_back())
      logging::warn("log.suppressed", {{"of", event}, {"kind", h.kind}, {"count", h.count}});
  };
  report(refused_keys_, "call.unauthorized");
  report(failed_logins_, "login.failed");
  report(rate_limited_, "call.rate_limited");
  report(unavailable_, "call.unavailable");
  report(internal_errors_, "call.internal");
  report(slow_calls_, "call.slow");
}

}  // namespace rtm::api
