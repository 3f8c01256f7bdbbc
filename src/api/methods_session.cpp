// session.* methods (API.md section 3): create, authorize, destroy, set, get_events,
// subscribe, unsubscribe.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

#include "api/async_bridge.hpp"
#include "api/method_table.hpp"
#include "core/login_throttle.hpp"
#include "core/quote_input.hpp"

namespace rtm::api {

namespace asio = boost::asio;
using asio::awaitable;

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

awaitable<Reply> session_create(Call& c) {
  Reply r;
  r.fields["session"] = unwrap(c.node().sessions().create(c.caller.address));
  co_return r;
}

// Whether an error of session.authorize is a refused credential, which the operator sees in
// the log (login name and address; never the password or token).
bool is_failed_login(const Error& e) {
  return e.rc == Rc::AuthorizeFailed || e.rc == Rc::InvalidToken || e.rc == Rc::TokenExpired ||
         (e.rc == Rc::RateLimited && e.msg == kLoginThrottledMessage);
}

[[noreturn]] void fail_login(Call& c, const Credentials& cred, Rc rc, std::string msg) {
  Error e{rc, std::move(msg)};
  if (c.services.call_log) c.services.call_log->login_failed(cred.login, c.caller.address, e);
  throw CallError{std::move(e)};
}

awaitable<Reply> session_authorize(Call& c) {
  unwrap(c.node().rate_limits().check_address(RateLimitKind::SessionAuthorize, c.caller.address));
  std::string session = c.params.string("session");
  Credentials cred;
  if (auto token = c.params.optional_string("token")) {
    if (c.params.has("login") || c.params.has("password"))
      fail(Rc::InvalidRequest, "give either token or login and password, not both");
    cred.token = *token;
    if (cred.token.empty()) fail_login(c, cred, Rc::InvalidToken, "token is empty");
  } else {
    cred.login = c.params.string("login");
    cred.password = c.params.string("password");
    if (cred.login.size() > 128 || cred.password.size() > 1024)
      fail_login(c, cred, Rc::AuthorizeFailed, "login or password do not match");
  }
  auto mode_text = c.params.optional_string("mode").value_or("kill");
  auto mode = parse_login_mode(mode_text);
  if (!mode) fail(Rc::InvalidParameter, "mode must be kill, refuse, possess, auth or multi");

  Node& node = c.node();
  auto work = [&node, session, cred, m = *mode] {
    return node.sessions().authorize(session, cred, m);
  };
  auto result = co_await run_blocking(c.services.blocking, std::move(work));
  if (!*result && is_failed_login(result->error()))
    fail_login(c, cred, result->error().rc, result->error().msg);
  auto out = unwrap(std::move(*result));
  Reply r;
  r.fields["uid"] = out.uid;
  r.fields["session"] = out.session;
  co_return r;
}

// Ending a session may make its user leave rooms (a store write): off the event loop.
awaitable<Reply> session_destroy(Call& c) {
  std::string session = c.params.string("session");
  Node& node = c.node();
  auto work = [&node, session] { return node.sessions().destroy(session); };
  auto done = co_await run_blocking(c.services.blocking, std::move(work));
  unwrap(std::move(*done));
  co_return Reply{};
}

awaitable<Reply> session_set(Call& c) {
  std::string session = c.params.string("session");
  const auto& settings = c.params.object("settings");
  Params p(settings);
  for (const auto& [key, value] : settings) {
    if (key != "max_events" && key != "queue_limit" && key != "presence" && key != "idle_timeout")
      fail(Rc::InvalidParameter, "unknown setting: " + quote_input(key));
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
  auto s = unwrap(c.node().sessions().update_settings(session, patch));
  Reply r;
  r.fields["settings"] = settings_json(s);
  co_return r;
}

// Long poll: answers at once when events are queued, else parks a timer that the session's
// waiter cancels when an event arrives. No thread is blocked while waiting.
awaitable<Reply> session_get_events(Call& c) {
  std::string session = c.params.string("session");
  auto timeout = c.params.integer("timeout", 30, 0, 60);
  auto after = c.params.optional_u64("after");
  Node& node = c.node();
  // timeout 0 is a plain read: no waiter (which would wake and answer another poll waiting
  // on this session) and no timer.
  if (timeout == 0)
    co_return events_reply(node, session, unwrap(node.sessions().take_events(session, after)));

  auto ex = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(ex, std::chrono::seconds(timeout));
  std::weak_ptr<asio::steady_timer> weak = timer;
  std::uint64_t ticket = 0;
  auto ready = unwrap(node.sessions().take_or_wait(
      session, after,
      [ex, weak] {
        asio::post(ex, [weak] {
          if (auto t = weak.lock()) t->cancel();
        });
      },
      ticket));
  if (ready) co_return events_reply(node, session, *ready);
  auto wait_began = std::chrono::steady_clock::now();
  co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  c.waited += std::chrono::steady_clock::now() - wait_began;
  node.sessions().cancel_wait(session, ticket);
  co_return events_reply(node, session, unwrap(node.sessions().take_events(session, after)));
}

// group: and room: topics read (membership) and write (entering a room) the store, so they
// run on the blocking pool; presence: and channel: topics are memory only.
awaitable<Reply> session_subscribe(Call& c) {
  std::string session = c.params.string("session");
  std::string topic = c.params.string("topic");
  Node& node = c.node();
  Reply r;
  if (topic.starts_with("group:") || topic.starts_with("room:")) {
    auto work = [&node, session, topic] { return node.sessions().subscribe(session, topic); };
    auto key = co_await run_blocking(c.services.blocking, std::move(work));
    r.fields["subscription_key"] = unwrap(std::move(*key));
  } else {
    r.fields["subscription_key"] = unwrap(node.sessions().subscribe(session, topic));
  }
  co_return r;
}

// Leaving the last subscription of a room leaves the room (a store write): off the loop.
awaitable<Reply> session_unsubscribe(Call& c) {
  std::string session = c.params.string("session");
  // Never an error for the key (qik): a missing or odd key is simply not subscribed.
  auto key = c.params.optional_string("subscription_key").value_or("");
  Node& node = c.node();
  auto work = [&node, session, key] { return node.sessions().unsubscribe(session, key); };
  auto done = co_await run_blocking(c.services.blocking, std::move(work));
  unwrap(std::move(*done));
  co_return Reply{};
}

}  // namespace

void add_session_methods(std::vector<MethodSpec>& t) {
  t.push_back({"session.create", Scope::Client, session_create});
  t.push_back({"session.authorize", Scope::Client, session_authorize});
  t.push_back({"session.destroy", Scope::Client, session_destroy});
  t.push_back({"session.set", Scope::Client, session_set});
  t.push_back({"session.get_events", Scope::Client, session_get_events});
  t.push_back({"session.subscribe", Scope::Client, session_subscribe});
  t.push_back({"session.unsubscribe", Scope::Client, session_unsubscribe});
}

}  // namespace rtm::api
