// session.* methods (API.md section 3): create, authorize, destroy, set, get_events,
// subscribe, unsubscribe.
#include <algorithm>
#include <chrono>

#include "api/method_table.hpp"
#include "core/login_throttle.hpp"
#include "core/quote_input.hpp"

namespace rtm::api {

namespace {

boost::json::object settings_json(const SessionSettings& s) {
  return {{"max_events", s.max_events},
          {"queue_limit", s.queue_limit},
          {"presence", s.presence},
          {"idle_timeout", s.idle_timeout}};
}

Reply events_reply(const EventBatch& batch) {
  Reply r;
  r.fields["last"] = batch.last;
  r.raw_fields.emplace_back("events", batch.to_json_array());
  return r;
}

// An answer of get_events that, if it cannot be delivered, moves the session's cursor back:
// a client that left mid-poll and comes back without `after` still gets those events.
Reply events_reply(Node& node, const std::string& session, const EventBatch& batch) {
  Reply r = events_reply(batch);
  if (!batch.events.empty()) {
    r.undelivered = [&node, session, from = batch.from, last = batch.last] {
      node.sessions().rewind_events(session, from, last);
    };
  }
  return r;
}

Result<Reply> session_create(Call& c) {
  Reply r;
  RTM_TRY(r.fields["session"], c.node().sessions().create(c.caller.address));
  return r;
}

// Whether an error of session.authorize is a refused credential, which the operator sees in
// the log (login name and address; never the password or token).
bool is_failed_login(const Error& e) {
  return e.rc == Rc::AuthorizeFailed || e.rc == Rc::InvalidToken || e.rc == Rc::TokenExpired ||
         (e.rc == Rc::RateLimited && e.msg == kLoginThrottledMessage);
}

Error failed_login(Call& c, const Credentials& cred, Error e) {
  if (c.services.call_log) c.services.call_log->login_failed(cred.login, c.caller.address, e);
  return e;
}

// Blocking: argon2id, the user's record, and a login that ends other sessions (rooms left).
Result<Reply> session_authorize(Call& c) {
  RTM_CHECK(
      c.node().rate_limits().check_address(RateLimitKind::SessionAuthorize, c.caller.address));
  std::string session = c.params.string("session");
  Credentials cred;
  if (auto token = c.params.optional_string("token")) {
    if (c.params.has("login") || c.params.has("password"))
      return make_error(Rc::InvalidRequest, "give either token or login and password, not both");
    cred.token = *token;
    if (cred.token.empty())
      return failed_login(c, cred, make_error(Rc::InvalidToken, "token is empty"));
  } else {
    cred.login = c.params.string("login");
    cred.password = c.params.string("password");
    if (cred.login.size() > 128 || cred.password.size() > 1024)
      return failed_login(c, cred,
                          make_error(Rc::AuthorizeFailed, "login or password do not match"));
  }
  auto mode_text = c.params.optional_string("mode").value_or("kill");
  auto mode = parse_login_mode(mode_text);
  if (!mode)
    return make_error(Rc::InvalidParameter, "mode must be kill, refuse, possess, auth or multi");

  auto result = c.node().sessions().authorize(session, cred, *mode);
  if (!result) {
    if (is_failed_login(result.error())) return failed_login(c, cred, result.error());
    return result.error();
  }
  Reply r;
  r.fields["uid"] = result->uid;
  r.fields["session"] = result->session;
  return r;
}

// Blocking: ending a session deletes its record and may make its user leave rooms.
Result<Reply> session_destroy(Call& c) {
  RTM_CHECK(c.node().sessions().destroy(c.params.string("session")));
  return Reply{};
}

// Blocking: the settings of an authorized session are stored before the answer.
Result<Reply> session_set(Call& c) {
  std::string session = c.params.string("session");
  const auto& settings = c.params.object("settings");
  Params p(settings);
  for (const auto& [key, value] : settings) {
    if (key != "max_events" && key != "queue_limit" && key != "presence" && key != "idle_timeout")
      return make_error(Rc::InvalidParameter, "unknown setting: " + quote_input(key));
  }
  SettingsPatch patch;
  constexpr auto kMax = std::int64_t{1} << 40;  // ranges are checked by the engine
  if (auto v = p.optional_integer("max_events", -kMax, kMax))
    patch.max_events = static_cast<int>(std::clamp<std::int64_t>(*v, -1, 1 << 30));
  if (auto v = p.optional_integer("queue_limit", -kMax, kMax))
    patch.queue_limit = static_cast<int>(std::clamp<std::int64_t>(*v, -1, 1 << 30));
  if (auto v = p.optional_integer("idle_timeout", -kMax, kMax))
    patch.idle_timeout = static_cast<int>(std::clamp<std::int64_t>(*v, -1, 1 << 30));
  patch.presence = p.optional_bool("presence");
  RTM_TRY(auto s, c.node().sessions().update_settings(session, patch));
  Reply r;
  r.fields["settings"] = settings_json(s);
  return r;
}

// Long poll (Exec::Poll): answers at once when events are queued, else the session keeps the
// dispatcher's waiter and the dispatcher waits for it or the timeout. No thread is blocked.
Result<PollStart> session_get_events(Call& c, const Waiter& waiter) {
  std::string session = c.params.string("session");
  auto timeout = c.params.integer("timeout", 30, 0, 60);
  auto after = c.params.optional_u64("after");
  Node& node = c.node();
  // timeout 0 is a plain read: no waiter (which would wake and answer another poll waiting
  // on this session) and no wait.
  if (timeout == 0) {
    RTM_TRY(auto batch, node.sessions().take_events(session, after));
    return PollStart(events_reply(node, session, batch));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
  std::uint64_t ticket = 0;
  RTM_TRY(auto ready, node.sessions().take_or_wait(session, after, waiter, ticket));
  if (ready) return PollStart(events_reply(node, session, *ready));
  return PollStart(
      Park{deadline,
           [&node, session, after, ticket](bool, const Waiter&) -> Result<std::optional<Reply>> {
             node.sessions().cancel_wait(session, ticket);
             RTM_TRY(auto batch, node.sessions().take_events(session, after));
             return std::optional<Reply>(events_reply(node, session, batch));
           }});
}

// Blocking: group: and room: topics read membership, and entering a room writes it.
Result<Reply> session_subscribe(Call& c) {
  std::string session = c.params.string("session");
  std::string topic = c.params.string("topic");
  Reply r;
  RTM_TRY(r.fields["subscription_key"], c.node().sessions().subscribe(session, topic));
  return r;
}

// Blocking: leaving the last subscription of a room leaves the room (a store write).
Result<Reply> session_unsubscribe(Call& c) {
  std::string session = c.params.string("session");
  // Never an error for the key (qik): a missing or odd key is simply not subscribed.
  auto key = c.params.optional_string("subscription_key").value_or("");
  RTM_CHECK(c.node().sessions().unsubscribe(session, key));
  return Reply{};
}

}  // namespace

void add_session_methods(std::vector<MethodSpec>& t) {
  using M = MethodSpec;
  t.push_back(M::inline_call("session.create", Scope::Client, session_create));
  t.push_back(M::hashing("session.authorize", Scope::Client, session_authorize));
  t.push_back(M::blocking("session.destroy", Scope::Client, session_destroy));
  t.push_back(M::blocking("session.set", Scope::Client, session_set));
  t.push_back(M::long_poll("session.get_events", Scope::Client, session_get_events));
  t.push_back(M::blocking("session.subscribe", Scope::Client, session_subscribe));
  t.push_back(M::blocking("session.unsubscribe", Scope::Client, session_unsubscribe));
}

}  // namespace rtm::api
