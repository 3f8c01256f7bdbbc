// The actors of rtm-bench soak (see soak_load.hpp): each is a coroutine on one worker thread
// with its own connections and timer. Generators (senders, publisher, logins, uploads, channel
// sends) run at a paced rate until stop_generating(); receivers (long polls, WebSockets,
// channel polls) run until stop() and check what they get against the ledgers.
#include "soak_load.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

namespace rtm::bench {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// Random numbers for the load's choices; one generator per thread.
std::uint64_t rnd() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng();
}
double uniform01() { return static_cast<double>(rnd() >> 11) / 9007199254740992.0; }

// One call's answer, errors as values: the load counts them instead of stopping.
struct Answer {
  std::int64_t rc = -1;  // -1: no rtm answer (transport error, not JSON)
  std::string error;     // the rc's name, or what went wrong on the way
  json::object body;
  bool ok() const { return rc == 0; }
  std::string what() const { return rc < 0 ? error : std::to_string(rc) + " " + error; }
};

asio::awaitable<Answer> api(http::AsyncConnection& conn, const std::string& target,
                            std::string_view bearer, const std::string& body) {
  http::Response resp;
  error_code ec = co_await conn.request("POST", target, bearer, body, resp);
  Answer a;
  if (ec) {
    a.error = "transport: " + ec.message();
    co_return a;
  }
  json::value v = json::parse(resp.body, ec);
  json::object* o = ec ? nullptr : v.if_object();
  json::value* rc = o ? o->if_contains("rc") : nullptr;
  if (!rc || !rc->is_int64()) {
    a.error = "not an rtm answer (HTTP " + std::to_string(resp.status) + ")";
    co_return a;
  }
  a.rc = rc->as_int64();
  if (a.rc != 0) {
    json::value* e = o->if_contains("error");
    a.error = e && e->is_string() ? std::string(e->as_string()) : "?";
  }
  a.body = std::move(*o);
  co_return a;
}

std::string quoted(std::string_view s) { return json::serialize(json::string(s)); }

// The sequence number a message of the soak carries in attrs ("n=5", "g=7", "c=9"); 0 when
// `text` is not one with that key.
std::uint64_t seq_of(std::string_view text, char key) {
  if (text.size() < 3 || text[0] != key || text[1] != '=') return 0;
  std::uint64_t n = 0;
  auto r = std::from_chars(text.data() + 2, text.data() + text.size(), n);
  return r.ec == std::errc{} && r.ptr == text.data() + text.size() ? n : 0;
}

// Paces a loop to `per_s` steps a second, without a burst after a late step.
class Pacer {
 public:
  explicit Pacer(double per_s) : interval_us_(per_s > 0 ? 1e6 / per_s : 0) {
    next_us_ = static_cast<double>(now_us()) + uniform01() * interval_us_;  // spread the starts
  }
  double interval_s() const { return interval_us_ / 1e6; }
  asio::awaitable<void> wait(asio::steady_timer& t) {
    const auto now = static_cast<double>(now_us());
    if (next_us_ < now - 1e6) next_us_ = now;
    if (next_us_ > now) {
      t.expires_after(std::chrono::microseconds(static_cast<std::int64_t>(next_us_ - now)));
      co_await t.async_wait(use_nothrow);
    }
    next_us_ += interval_us_;
  }

 private:
  double interval_us_;
  double next_us_;
};

asio::awaitable<void> pause(asio::steady_timer& t, std::chrono::milliseconds d) {
  t.expires_after(d);
  co_await t.async_wait(use_nothrow);
}

// Decrements a count of running coroutines when one ends, however it ends.
struct ActiveGuard {
  std::atomic<int>& n;
  ~ActiveGuard() { n.fetch_sub(1); }
};

}  // namespace

bool SoakPlan::set_rate(std::string_view name, double per_s) {
  double* r = name == "p2p"               ? &p2p_per_s
              : name == "group"           ? &group_per_s
              : name == "token_logins"    ? &token_logins_per_s
              : name == "kills"           ? &kills_per_s
              : name == "password_logins" ? &password_logins_per_s
              : name == "uploads"         ? &uploads_per_s
              : name == "channel"         ? &channel_sends_per_s
                                          : nullptr;
  if (!r) return false;
  *r = per_s;
  return true;
}

// ---------------------------------------------------------------- the actors' state

struct SoakLoad::Impl {
  // A user receiving p2p messages (and files): one session, one ledger.
  struct Target {
    std::uint64_t uid = 0;
    DeliveryLedger ledger{1};
  };

  // One session's events as its receiver reads them.
  struct Stream {
    std::string kind;  // for error reports: "long poll", "p2p WebSocket", "subscriber"
    std::string session;
    std::uint64_t last_id = 0;
    Target* target = nullptr;                                // p2p messages are checked against it
    std::size_t group_index = static_cast<std::size_t>(-1);  // place among the subscribers
  };

  // A connection or two and a timer: what most actors need.
  struct Lane {
    Lane(asio::io_context& ctx, const Server& s)
        : conn(ctx.get_executor(), s.endpoint), aux(ctx.get_executor(), s.endpoint), timer(ctx) {}
    http::AsyncConnection conn, aux;
    asio::steady_timer timer;
    Stream stream;  // receivers only
    void cancel_timer() { timer.cancel(); }
    void close() {
      timer.cancel();
      conn.close();
      aux.close();
    }
  };

  // A WebSocket with an attached session, dropped now and then and resumed with `after`.
  struct PushSocket {
    explicit PushSocket(asio::io_context& c) : ctx(c), drop_timer(c), pause_timer(c) {}
    asio::io_context& ctx;
    std::optional<websocket::stream<tcp::socket>> ws;
    asio::steady_timer drop_timer, pause_timer;
    beast::flat_buffer buffer;
    Stream stream;
    double drop_every_s = 0;
    bool dropping = false;
    std::uint64_t generation = 0;  // which connection a drop timer was armed for
    void close() {
      drop_timer.cancel();
      pause_timer.cancel();
      if (ws) {
        error_code ignored;
        ws->next_layer().close(ignored);
      }
    }
  };

  struct Channel {
    std::string client_id;
    std::mutex mu;
    std::string token;             // guarded by mu: the sender renews it, the poller reads it
    std::int64_t token_at_us = 0;  // the sender's
    DeliveryLedger ledger{1};
    std::uint64_t last = 0;  // the poller's: last sequence number received
  };

  Impl(SoakLoad& owner, Workers& workers, const Server& server, SoakPlan p)
      : w(workers),
        s(server),
        plan(std::move(p)),
        ops(owner.ops_),
        errors(owner.errors_),
        sockets_connected(owner.sockets_connected_),
        group_ledger(static_cast<std::size_t>(std::max(1, plan.subscribers))) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%06x", static_cast<unsigned>(rnd() & 0xffffff));
    tag = buf;
  }

  std::string client(std::string_view method) const {
    return s.url.target("/v1/" + std::string(method));
  }
  std::string server(std::string_view method) const {
    return s.url.target("/v1/server/" + std::string(method));
  }
  double rate(double per_s) const { return per_s * plan.scale; }

  void setup();
  void start();
  void on_event(Stream& st, const json::value& v);
  void on_frame(Stream& st, std::string_view frame);

  asio::awaitable<void> long_poll_loop(Lane& l);
  asio::awaitable<void> push_loop(PushSocket& p);
  asio::awaitable<void> channel_poll_loop(Lane& l, Channel& c);
  asio::awaitable<void> send_loop(Lane& l, double per_s);
  asio::awaitable<void> publish_loop(Lane& l);
  asio::awaitable<void> token_login_loop(Lane& l);
  asio::awaitable<void> password_login_loop(Lane& l);
  asio::awaitable<void> kill_loop(Lane& l, std::uint64_t uid, std::string victim);
  asio::awaitable<void> upload_loop(Lane& l);
  asio::awaitable<void> channel_send_loop(Lane& l);

  asio::awaitable<Answer> poll_once(Lane& l, std::string session, int timeout_s);
  asio::awaitable<Answer> kill_after(Lane& l, std::uint64_t uid, std::chrono::microseconds delay,
                                     std::string* session);
  asio::awaitable<std::optional<std::string>> token_session(http::AsyncConnection& conn,
                                                            std::uint64_t uid,
                                                            std::string_view mode);

  template <class F>
  void post_each(F f);

  Workers& w;
  const Server& s;
  const SoakPlan plan;
  OpCounters& ops;
  ErrorBook& errors;
  std::atomic<std::size_t>& sockets_connected;
  std::string tag;

  std::atomic<bool> generating{true}, running{true};
  bool stopped = false;        // stop() ran
  bool outlive_owner = false;  // coroutines still refer to the actors after stop()
  std::atomic<int> generators{0}, receivers{0};
  std::atomic<std::uint64_t> id_breaks{0};

  std::vector<std::unique_ptr<Target>> targets;  // long-poll receivers first, then WebSocket
  DeliveryLedger group_ledger;
  std::uint64_t gid = 0;
  std::vector<std::unique_ptr<Channel>> channels;
  std::vector<std::uint64_t> churn_uids, kill_uids, sender_uids;
  std::uint64_t files_from = 0;
  std::string password_login, password;
  std::vector<std::string> sender_sessions, kill_sessions;

  std::vector<std::unique_ptr<Lane>> receiver_lanes, generator_lanes;
  std::vector<std::unique_ptr<PushSocket>> push_sockets;
};

// ---------------------------------------------------------------- checks of what arrives

void SoakLoad::Impl::on_event(Stream& st, const json::value& v) {
  const json::object* ev = v.if_object();
  const json::value* idv = ev ? ev->if_contains("id") : nullptr;
  const json::value* typev = ev ? ev->if_contains("type") : nullptr;
  if (!idv || !idv->is_int64() || !typev || !typev->is_string()) {
    errors.note(st.kind, "check: malformed event", json::serialize(v));
    return;
  }
  const auto id = static_cast<std::uint64_t>(idv->as_int64());
  if (id != st.last_id + 1) {
    id_breaks.fetch_add(1);
    errors.note(st.kind, id <= st.last_id ? "check: an event came again" : "check: event ids skip",
                "event " + std::to_string(id) + " after " + std::to_string(st.last_id));
  }
  if (id > st.last_id) st.last_id = id;
  const json::string& type = typev->as_string();
  if (type == "message") {
    const json::value* m = ev->if_contains("message");
    const json::value* attrs = m && m->is_object() ? m->as_object().if_contains("attrs") : nullptr;
    std::string_view a = attrs && attrs->is_string() ? std::string_view(attrs->as_string()) : "";
    DeliveryLedger::Seen seen;
    if (std::uint64_t n = seq_of(a, 'n'); n && st.target) {
      seen = st.target->ledger.delivered(0, n);
      if (seen == DeliveryLedger::Seen::first) ops.add(Op::p2p_delivery);
    } else if (std::uint64_t g = seq_of(a, 'g');
               g && st.group_index < static_cast<std::size_t>(plan.subscribers)) {
      seen = group_ledger.delivered(st.group_index, g);
      if (seen == DeliveryLedger::Seen::first) ops.add(Op::group_delivery);
    } else {
      errors.note(st.kind, "check: a message this session should not get", json::serialize(v));
      return;
    }
    if (seen == DeliveryLedger::Seen::duplicate)
      errors.note(st.kind, "check: a message delivered twice", std::string(a));
    else if (seen == DeliveryLedger::Seen::unknown)
      errors.note(st.kind, "check: a message nobody sent", std::string(a));
  } else if (type == "gap") {
    errors.note(st.kind, "check: gap event (events were dropped)", json::serialize(v));
  } else {
    errors.note(st.kind, "check: unexpected event " + std::string(type), json::serialize(v));
  }
}

void SoakLoad::Impl::on_frame(Stream& st, std::string_view frame) {
  error_code ec;
  json::value v = json::parse(frame, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  if (!o) {
    errors.note(st.kind, "check: a frame that is not a JSON object", frame.substr(0, 200));
    return;
  }
  if (const json::value* ev = o->if_contains("event")) on_event(st, *ev);
  // Replies (frames with an id) outside session.attach are not expected; attach reads its own.
}

// ---------------------------------------------------------------- receivers

asio::awaitable<void> SoakLoad::Impl::long_poll_loop(Lane& l) {
  ActiveGuard guard{receivers};
  const std::string target = client("session.get_events");
  const std::string body = R"({"session":")" + l.stream.session + R"(","timeout":20})";
  while (running.load()) {
    Answer a = co_await api(l.conn, target, "", body);
    if (!running.load()) break;
    if (!a.ok()) {
      errors.note("session.get_events (long poll)", a.what());
      co_await pause(l.timer, std::chrono::seconds(1));
      continue;
    }
    const json::value* events = a.body.if_contains("events");
    if (!events || !events->is_array()) {
      errors.note("session.get_events (long poll)", "check: answer without events");
      continue;
    }
    for (const json::value& ev : events->as_array()) on_event(l.stream, ev);
  }
}

asio::awaitable<void> SoakLoad::Impl::push_loop(PushSocket& p) {
  ActiveGuard guard{receivers};
  const std::string ws_target = s.url.target("/v1/ws");
  bool first = true;
  while (running.load()) {
    p.ws.emplace(p.ctx);
    p.dropping = false;
    ++p.generation;
    auto [cec, ep] =
        co_await asio::async_connect(p.ws->next_layer(), s.endpoint.addresses, use_nothrow);
    if (cec) {
      if (running.load()) errors.note(p.stream.kind + " connect", cec.message());
      co_await pause(p.pause_timer, std::chrono::seconds(1));
      continue;
    }
    error_code ignored;
    p.ws->next_layer().set_option(tcp::no_delay(true), ignored);
    auto [hec] = co_await p.ws->async_handshake(s.endpoint.host_header, ws_target, use_nothrow);
    if (hec) {
      if (running.load()) errors.note(p.stream.kind + " handshake", hec.message());
      co_await pause(p.pause_timer, std::chrono::seconds(1));
      continue;
    }
    p.ws->text(true);

    // Resume where this receiver stopped processing: every kept event after it comes (again).
    const std::string attach = R"({"id":1,"method":"session.attach","params":{"session":")" +
                               p.stream.session + R"(","after":)" +
                               std::to_string(p.stream.last_id) + "}}";
    auto [wec, wn] = co_await p.ws->async_write(asio::buffer(attach), use_nothrow);
    std::int64_t attach_rc = -1;
    std::string attach_error = wec ? wec.message() : "";
    while (!wec && attach_rc < 0) {
      p.buffer.clear();
      auto [rec, rn] = co_await p.ws->async_read(p.buffer, use_nothrow);
      if (rec) {
        attach_error = rec.message();
        break;
      }
      auto d = p.buffer.cdata();
      std::string_view frame(static_cast<const char*>(d.data()), d.size());
      error_code pec;
      json::value v = json::parse(frame, pec);
      const json::object* o = pec ? nullptr : v.if_object();
      const json::value* rc = o && o->contains("id") ? o->if_contains("rc") : nullptr;
      if (rc && rc->is_int64()) {
        attach_rc = rc->as_int64();
        if (attach_rc != 0) attach_error = json::serialize(v);
      } else {
        on_frame(p.stream, frame);
      }
    }
    if (attach_rc != 0) {
      if (!running.load()) break;
      errors.note(p.stream.kind + " session.attach",
                  attach_rc > 0 ? std::to_string(attach_rc) : "transport", attach_error);
      if (attach_rc == 1100) break;  // the session is gone: nothing to resume
      co_await pause(p.pause_timer, std::chrono::seconds(1));
      continue;
    }
    if (!first) ops.add(Op::ws_reconnect);
    first = false;
    sockets_connected.fetch_add(1);

    if (p.drop_every_s > 0) {
      // Half the drops close cleanly (close frame), half just go (TCP closed, no close frame).
      const bool clean = rnd() & 1;
      // Exponential (memoryless) times between drops: the reconnects are spread evenly over
      // the run from its first seconds, not bunched around the mean.
      const double after_s = std::max(1.0, -p.drop_every_s * std::log(1.0 - uniform01()));
      p.drop_timer.expires_after(
          std::chrono::microseconds(static_cast<std::int64_t>(after_s * 1e6)));
      p.drop_timer.async_wait([&p, clean, gen = p.generation](error_code ec) {
        if (ec || gen != p.generation || !p.ws) return;
        p.dropping = true;
        if (clean) {
          p.ws->async_close(websocket::close_code::normal, [](error_code) {});
        } else {
          error_code ignored;
          p.ws->next_layer().close(ignored);
        }
      });
    }
    for (;;) {
      p.buffer.clear();
      auto [rec, rn] = co_await p.ws->async_read(p.buffer, use_nothrow);
      if (rec) {
        if (!p.dropping && running.load()) errors.note(p.stream.kind + " socket", rec.message());
        break;
      }
      auto d = p.buffer.cdata();
      on_frame(p.stream, std::string_view(static_cast<const char*>(d.data()), d.size()));
    }
    sockets_connected.fetch_sub(1);
    p.drop_timer.cancel();
    p.ws->next_layer().close(ignored);
    if (!running.load()) break;
    co_await pause(p.pause_timer, std::chrono::milliseconds(rnd() % 300));
  }
}

asio::awaitable<void> SoakLoad::Impl::channel_poll_loop(Lane& l, Channel& c) {
  ActiveGuard guard{receivers};
  const std::string target = client("channel.poll");
  while (running.load()) {
    std::string token;
    {
      std::lock_guard lock(c.mu);
      token = c.token;
    }
    const std::string body = R"({"token":")" + token + R"(","timeout":20})";
    Answer a = co_await api(l.conn, target, "", body);
    if (!running.load()) break;
    if (!a.ok()) {
      errors.note("channel.poll", a.what());
      co_await pause(l.timer, std::chrono::seconds(1));
      continue;
    }
    const json::value* messages = a.body.if_contains("messages");
    if (!messages || !messages->is_array()) {
      errors.note("channel.poll", "check: answer without messages");
      continue;
    }
    for (const json::value& m : messages->as_array()) {
      std::uint64_t n = m.is_string() ? seq_of(m.as_string(), 'c') : 0;
      if (n != c.last + 1)
        errors.note("channel.poll", "check: channel messages out of order",
                    c.client_id + ": " + json::serialize(m) + " after c=" + std::to_string(c.last));
      if (n > c.last) c.last = n;
      DeliveryLedger::Seen seen = c.ledger.delivered(0, n);
      if (seen == DeliveryLedger::Seen::first) ops.add(Op::channel_delivery);
      if (seen == DeliveryLedger::Seen::duplicate)
        errors.note("channel.poll", "check: a channel message delivered twice", json::serialize(m));
      else if (seen == DeliveryLedger::Seen::unknown)
        errors.note("channel.poll", "check: a channel message nobody sent", json::serialize(m));
    }
  }
}

// ---------------------------------------------------------------- generators

asio::awaitable<void> SoakLoad::Impl::send_loop(Lane& l, double per_s) {
  ActiveGuard guard{generators};
  const std::string target = client("message.send");
  const std::string session = l.stream.session;
  Pacer pace(per_s);
  std::uint64_t retry_key = 0;
  while (generating.load()) {
    co_await pace.wait(l.timer);
    if (!generating.load()) break;
    Target& t = *targets[rnd() % targets.size()];
    const std::uint64_t n = t.ledger.next();
    // One send in twenty carries a client mid and is sent twice: the retry must be answered
    // with the first send's mid, and the message delivered once.
    const bool retry = rnd() % 20 == 0;
    std::string body = R"({"session":")" + session + R"(","to":)" + std::to_string(t.uid) +
                       R"(,"mtype":30,"msg":"soak p2p","attrs":"n=)" + std::to_string(n) + "\"";
    if (retry) body += R"(,"mid":)" + std::to_string(++retry_key);
    body += "}";
    Answer a = co_await api(l.conn, target, "", body);
    if (!a.ok()) {
      errors.note("message.send", a.what());
      continue;
    }
    t.ledger.acked(n, now_us());
    ops.add(Op::p2p_send);
    if (!retry) continue;
    Answer again = co_await api(l.conn, target, "", body);
    if (!again.ok()) {
      errors.note("message.send (retry)", again.what());
      continue;
    }
    ops.add(Op::p2p_retry);
    if (again.body.if_contains("mid") == nullptr || a.body.if_contains("mid") == nullptr ||
        again.body.at("mid") != a.body.at("mid"))
      errors.note("message.send (retry)", "check: the retry was answered with another mid");
  }
}

asio::awaitable<void> SoakLoad::Impl::publish_loop(Lane& l) {
  ActiveGuard guard{generators};
  const std::string target = server("message.send_group");
  Pacer pace(rate(plan.group_per_s));
  while (generating.load()) {
    co_await pace.wait(l.timer);
    if (!generating.load()) break;
    const std::uint64_t g = group_ledger.next();
    const std::string body = R"({"gid":)" + std::to_string(gid) +
                             R"(,"mtype":30,"msg":"soak group","attrs":"g=)" + std::to_string(g) +
                             "\"}";
    Answer a = co_await api(l.conn, target, s.api_key, body);
    if (!a.ok()) {
      errors.note("message.send_group", a.what());
      continue;
    }
    group_ledger.acked(g, now_us());
    ops.add(Op::group_publish);
  }
}

// user.token, session.create, session.authorize with that token: the new session's id.
asio::awaitable<std::optional<std::string>> SoakLoad::Impl::token_session(
    http::AsyncConnection& conn, std::uint64_t uid, std::string_view mode) {
  const std::string token_target = server("user.token");
  const std::string create_target = client("session.create");
  const std::string authorize_target = client("session.authorize");
  const std::string token_body = R"({"uid":)" + std::to_string(uid) + R"(,"ttl":600})";
  Answer t = co_await api(conn, token_target, s.api_key, token_body);
  if (!t.ok()) {
    errors.note("user.token", t.what());
    co_return std::nullopt;
  }
  const std::string empty = "{}";
  Answer c = co_await api(conn, create_target, "", empty);
  if (!c.ok()) {
    errors.note("session.create", c.what());
    co_return std::nullopt;
  }
  std::string session(c.body.at("session").as_string());
  const std::string authorize = R"({"session":")" + session + R"(","token":)" +
                                json::serialize(t.body.at("token")) + R"(,"mode":")" +
                                std::string(mode) + "\"}";
  Answer a = co_await api(conn, authorize_target, "", authorize);
  if (!a.ok()) {
    errors.note("session.authorize (" + std::string(mode) + ")", a.what());
    co_return std::nullopt;
  }
  co_return session;
}

asio::awaitable<void> SoakLoad::Impl::token_login_loop(Lane& l) {
  ActiveGuard guard{generators};
  const std::string set_target = client("session.set");
  const std::string events_target = client("session.get_events");
  const std::string destroy_target = client("session.destroy");
  std::vector<std::deque<std::string>> live(churn_uids.size());
  Pacer pace(rate(plan.token_logins_per_s));
  for (std::uint64_t i = 0; generating.load(); ++i) {
    co_await pace.wait(l.timer);
    if (!generating.load()) break;
    const std::size_t u = i % churn_uids.size();
    std::optional<std::string> session = co_await token_session(l.conn, churn_uids[u], "multi");
    if (!session) continue;
    ops.add(Op::login_token);
    const std::string sq = quoted(*session);
    if (i % 10 == 9) {
      // Left behind: it must expire by itself and take its memory with it.
      const std::string body = R"({"session":)" + sq + R"(,"settings":{"idle_timeout":10}})";
      Answer a = co_await api(l.conn, set_target, "", body);
      if (!a.ok()) errors.note("session.set", a.what());
      ops.add(Op::session_expire);
      continue;
    }
    if (i % 3 == 0) {
      const std::string set = R"({"session":)" + sq + R"(,"settings":{"idle_timeout":60}})";
      Answer a = co_await api(l.conn, set_target, "", set);
      if (!a.ok()) errors.note("session.set", a.what());
      const std::string read = R"({"session":)" + sq + R"(,"timeout":0})";
      Answer e = co_await api(l.conn, events_target, "", read);
      if (!e.ok())
        errors.note("session.get_events (timeout 0)", e.what());
      else if (const json::value* ev = e.body.if_contains("events");
               !ev || !ev->is_array() || !ev->as_array().empty())
        errors.note("session.get_events (timeout 0)", "check: events for a session that has none",
                    json::serialize(e.body));
    }
    live[u].push_back(*session);
    if (live[u].size() > 4) {
      const std::string body = R"({"session":)" + quoted(live[u].front()) + "}";
      live[u].pop_front();
      Answer d = co_await api(l.conn, destroy_target, "", body);
      if (!d.ok())
        errors.note("session.destroy", d.what());
      else
        ops.add(Op::session_destroy);
    }
  }
}

asio::awaitable<void> SoakLoad::Impl::password_login_loop(Lane& l) {
  ActiveGuard guard{generators};
  const std::string create_target = client("session.create");
  const std::string authorize_target = client("session.authorize");
  const std::string destroy_target = client("session.destroy");
  const std::string empty = "{}";
  Pacer pace(rate(plan.password_logins_per_s));
  for (std::uint64_t i = 1; generating.load(); ++i) {
    co_await pace.wait(l.timer);
    if (!generating.load()) break;
    Answer c = co_await api(l.conn, create_target, "", empty);
    if (!c.ok()) {
      errors.note("session.create", c.what());
      continue;
    }
    const std::string sq = json::serialize(c.body.at("session"));
    // One in five with a wrong password: AuthorizeFailed, and the session stays unauthorized.
    const bool wrong = i % 5 == 0;
    const std::string body = R"({"session":)" + sq + R"(,"login":)" + quoted(password_login) +
                             R"(,"password":)" + quoted(wrong ? "not-the-password" : password) +
                             R"(,"mode":"multi"})";
    Answer a = co_await api(l.conn, authorize_target, "", body);
    if (wrong ? a.rc != 1102 : !a.ok())
      errors.note(wrong ? "session.authorize (wrong password)" : "session.authorize (password)",
                  a.ok() ? "check: a wrong password was accepted" : a.what());
    else
      ops.add(Op::login_password);
    const std::string destroy = R"({"session":)" + sq + "}";
    Answer d = co_await api(l.conn, destroy_target, "", destroy);
    if (!d.ok())
      errors.note("session.destroy", d.what());
    else
      ops.add(Op::session_destroy);
  }
}

asio::awaitable<Answer> SoakLoad::Impl::poll_once(Lane& l, std::string session, int timeout_s) {
  const std::string target = client("session.get_events");
  const std::string body =
      R"({"session":)" + quoted(session) + R"(,"timeout":)" + std::to_string(timeout_s) + "}";
  co_return co_await api(l.aux, target, "", body);
}

asio::awaitable<Answer> SoakLoad::Impl::kill_after(Lane& l, std::uint64_t uid,
                                                   std::chrono::microseconds delay,
                                                   std::string* session) {
  l.timer.expires_after(delay);
  co_await l.timer.async_wait(use_nothrow);
  Answer a;
  if (!generating.load()) {
    l.aux.close();  // the victim's poll waits for a kill that will not come
    a.error = "stopped";
    co_return a;
  }
  std::optional<std::string> s = co_await token_session(l.conn, uid, "kill");
  if (!s) {
    a.error = "login failed";
    co_return a;
  }
  *session = *s;
  a.rc = 0;
  co_return a;
}

asio::awaitable<void> SoakLoad::Impl::kill_loop(Lane& l, std::uint64_t uid, std::string victim) {
  using namespace asio::experimental::awaitable_operators;
  ActiveGuard guard{generators};
  const double per_s = rate(plan.kills_per_s) / static_cast<double>(kill_uids.size());
  const auto delay = std::chrono::microseconds(static_cast<std::int64_t>(1e6 / per_s));
  const int poll_timeout =
      static_cast<int>(std::min<std::int64_t>(60, delay.count() / 1'000'000 + 10));
  const std::string events_target = client("session.get_events");
  while (generating.load()) {
    // The victim's poll waits while another login of its user replaces it (mode kill): the
    // poll must answer with the final `session` event, and the victim must then be gone.
    std::string fresh;
    auto [polled, killed] =
        co_await (poll_once(l, victim, poll_timeout) && kill_after(l, uid, delay, &fresh));
    if (!killed.ok()) {
      if (!generating.load()) break;
      continue;  // token_session noted why
    }
    ops.add(Op::login_kill);
    bool told = false;
    if (const json::value* ev = polled.ok() ? polled.body.if_contains("events") : nullptr;
        ev && ev->is_array())
      for (const json::value& e : ev->as_array())
        if (e.is_object() && e.as_object().if_contains("type") &&
            e.as_object().at("type") == "session" && e.as_object().if_contains("state") &&
            e.as_object().at("state") == "killed")
          told = true;
    if (told)
      ops.add(Op::kill_seen);
    else
      errors.note("mode kill", "check: the replaced session's waiting poll was not told",
                  polled.ok() ? json::serialize(polled.body) : polled.what());
    const std::string read = R"({"session":)" + quoted(victim) + R"(,"timeout":0})";
    Answer after = co_await api(l.aux, events_target, "", read);
    if (after.rc != 1100)
      errors.note("mode kill", "check: the replaced session still answers",
                  after.ok() ? json::serialize(after.body) : after.what());
    victim = fresh;
  }
}

asio::awaitable<void> SoakLoad::Impl::upload_loop(Lane& l) {
  ActiveGuard guard{generators};
  const std::string token_target = server("file.token");
  Pacer pace(rate(plan.uploads_per_s));
  std::string data;
  for (std::uint64_t k = 1; generating.load(); ++k) {
    co_await pace.wait(l.timer);
    if (!generating.load()) break;
    Target& t = *targets[rnd() % targets.size()];
    const std::uint64_t n = t.ledger.next();
    const std::size_t span = plan.upload_max_bytes - plan.upload_min_bytes + 1;
    data.resize(plan.upload_min_bytes + rnd() % span);
    for (std::size_t i = 0; i < data.size(); i += 8) {
      const std::uint64_t r = i == 0 ? k : rnd();  // distinct files: none is deduplicated
      std::memcpy(data.data() + i, &r, std::min<std::size_t>(8, data.size() - i));
    }
    const std::string token_body = R"({"cmd":"sendfile","from":)" + std::to_string(files_from) +
                                   R"(,"to":)" + std::to_string(t.uid) + "}";
    Answer tok = co_await api(l.conn, token_target, s.api_key, token_body);
    if (!tok.ok()) {
      errors.note("file.token", tok.what());
      continue;
    }
    const std::string upload_target =
        s.url.target("/v1/files/upload?token=" + std::string(tok.body.at("token").as_string()));
    l.aux.set_extra_headers("X-Rtm-Attrs: n=" + std::to_string(n) + "\r\nX-Rtm-File-Name: soak-" +
                            std::to_string(k) + ".bin\r\n");
    Answer up = co_await api(l.aux, upload_target, "", data);
    if (!up.ok()) {
      errors.note("files/upload", up.what());
      continue;
    }
    const json::value* file = up.body.if_contains("file");
    const json::value* size =
        file && file->is_object() ? file->as_object().if_contains("size") : nullptr;
    const json::value* url =
        file && file->is_object() ? file->as_object().if_contains("url") : nullptr;
    if (!size || !url || !url->is_string() || size->to_number<std::uint64_t>() != data.size()) {
      errors.note("files/upload", "check: the answer does not describe the upload",
                  json::serialize(up.body));
      continue;
    }
    t.ledger.acked(n, now_us());
    ops.add(Op::upload);
    if (plan.download_every <= 0 || k % static_cast<std::uint64_t>(plan.download_every) != 0)
      continue;
    // The link is absolute (the server's public URL): fetch its path from this server.
    std::string_view link = url->as_string();
    const std::size_t at = link.find("/v1/files/");
    if (at == std::string_view::npos) {
      errors.note("file url", "check: not a /v1/files/ link", std::string(link));
      continue;
    }
    const std::string get_target = s.url.target(std::string(link.substr(at)));
    http::Response resp;
    error_code ec = co_await l.conn.request("GET", get_target, "", "", resp);
    if (ec || resp.status != 200)
      errors.note("files download",
                  ec ? "transport: " + ec.message() : "HTTP " + std::to_string(resp.status));
    else if (resp.body != data)
      errors.note("files download", "check: the downloaded bytes differ from the upload");
    else
      ops.add(Op::download);
  }
}

asio::awaitable<void> SoakLoad::Impl::channel_send_loop(Lane& l) {
  ActiveGuard guard{generators};
  const std::string create_target = server("channel.create");
  const std::string send_target = server("channel.send");
  Pacer pace(rate(plan.channel_sends_per_s));
  const auto token_every_us = static_cast<std::int64_t>(plan.channel_token_every_s * 1e6);
  for (std::uint64_t i = 0; generating.load(); ++i) {
    co_await pace.wait(l.timer);
    if (!generating.load()) break;
    Channel& c = *channels[i % channels.size()];
    if (now_us() - c.token_at_us > token_every_us) {
      // A new token for the same channel: its queue stays, the poller moves to the new token.
      const std::string body =
          R"({"client_id":)" + quoted(c.client_id) + R"(,"duration_minutes":60})";
      Answer a = co_await api(l.conn, create_target, s.api_key, body);
      if (!a.ok()) {
        errors.note("channel.create", a.what());
      } else {
        std::lock_guard lock(c.mu);
        c.token = std::string(a.body.at("token").as_string());
        c.token_at_us = now_us();
        ops.add(Op::channel_token);
      }
    }
    const std::uint64_t n = c.ledger.next();
    const std::string body =
        R"({"client_id":)" + quoted(c.client_id) + R"(,"message":"c=)" + std::to_string(n) + "\"}";
    Answer a = co_await api(l.conn, send_target, s.api_key, body);
    if (!a.ok()) {
      errors.note("channel.send", a.what());
      continue;
    }
    c.ledger.acked(n, now_us());
    ops.add(Op::channel_send);
  }
}

// ---------------------------------------------------------------- setup, start, stop

void SoakLoad::Impl::setup() {
  const std::size_t n_lp = static_cast<std::size_t>(plan.lp_receivers);
  const std::size_t n_ws = static_cast<std::size_t>(plan.ws_receivers);
  const std::size_t n_send = static_cast<std::size_t>(plan.senders);
  const std::size_t n_subs = static_cast<std::size_t>(plan.subscribers);
  const std::size_t n_sub_users = std::max<std::size_t>(1, (n_subs + 49) / 50);
  const std::size_t n_kill = static_cast<std::size_t>(plan.kill_users);
  const std::size_t n_churn = static_cast<std::size_t>(plan.churn_users);
  if (n_lp + n_ws == 0) throw std::runtime_error("no p2p receivers");

  std::vector<std::uint64_t> uids =
      create_users(w, s, n_lp + n_ws + n_send + n_sub_users + n_kill + n_churn + 1, 0);
  std::size_t at = 0;
  auto take = [&](std::size_t n) {
    std::vector<std::uint64_t> v(uids.begin() + static_cast<std::ptrdiff_t>(at),
                                 uids.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
    return v;
  };
  for (std::uint64_t uid : take(n_lp + n_ws)) {
    targets.push_back(std::make_unique<Target>());
    targets.back()->uid = uid;
  }
  sender_uids = take(n_send);
  const std::vector<std::uint64_t> sub_uids = take(n_sub_users);
  kill_uids = take(n_kill);
  churn_uids = take(n_churn);
  files_from = take(1)[0];
  password_login = "soak-" + tag + "-pw";
  password = "soak-password-" + tag;
  gid = 1'000'000 + rnd() % 1'000'000'000;

  run_all(w, 1, [&](std::size_t) -> asio::awaitable<void> {
    http::AsyncConnection conn(co_await asio::this_coro::executor, s.endpoint);
    json::object add{{"login", password_login}, {"password", password}};
    co_await call(conn, s, "user.add", add, true);
    json::array members;
    for (std::uint64_t u : sub_uids) members.push_back(u);
    json::object group{{"gid", gid}, {"uids", std::move(members)}};
    co_await call(conn, s, "group.add_members", group, true);
    for (int i = 0; i < plan.channels; ++i) {
      auto c = std::make_unique<Channel>();
      c->client_id = "soak-" + tag + "-" + std::to_string(i);
      json::object create{{"client_id", c->client_id}, {"duration_minutes", 60}};
      json::object r = co_await call(conn, s, "channel.create", create, true);
      c->token = std::string(r.at("token").as_string());
      c->token_at_us = now_us();
      channels.push_back(std::move(c));
    }
  });

  // Every session that receives: its own, with a queue bound small enough to be reached in the
  // first minute (a session keeps its last queue_limit events, read or not).
  const std::size_t n_sessions = n_lp + n_ws + n_send + n_subs + n_kill;
  std::vector<std::string> sessions(n_sessions);
  std::atomic<std::size_t> next{0};
  run_all(w, std::min<std::size_t>(16, n_sessions), [&](std::size_t lane) -> asio::awaitable<void> {
    http::AsyncConnection conn(w.context(lane).get_executor(), s.endpoint);
    for (std::size_t i; (i = next.fetch_add(1)) < n_sessions;) {
      std::uint64_t uid;
      bool subscriber = false;
      if (i < n_lp + n_ws) {
        uid = targets[i]->uid;
      } else if (i < n_lp + n_ws + n_send) {
        uid = sender_uids[i - n_lp - n_ws];
      } else if (i < n_lp + n_ws + n_send + n_subs) {
        uid = sub_uids[(i - n_lp - n_ws - n_send) % n_sub_users];
        subscriber = true;
      } else {
        // The kill users' first victims: bound with mode kill, like every later one.
        const std::uint64_t kuid = kill_uids[i - n_lp - n_ws - n_send - n_subs];
        json::object tp{{"uid", kuid}, {"ttl", 600}};
        json::object t = co_await call(conn, s, "user.token", tp, true);
        json::object none;
        json::object c = co_await call(conn, s, "session.create", none, false);
        json::object ap{{"session", c.at("session")}, {"token", t.at("token")}, {"mode", "kill"}};
        co_await call(conn, s, "session.authorize", ap, false);
        sessions[i] = std::string(c.at("session").as_string());
        continue;
      }
      std::string session = co_await open_session(conn, s, uid);
      json::object set{{"session", session},
                       {"settings", json::object{{"queue_limit", plan.queue_limit}}}};
      co_await call(conn, s, "session.set", set, false);
      if (subscriber) {
        json::object sub{{"session", session}, {"topic", "group:" + std::to_string(gid)}};
        co_await call(conn, s, "session.subscribe", sub, false);
      }
      sessions[i] = std::move(session);
    }
  });

  std::size_t i = 0;
  for (std::size_t k = 0; k < n_lp; ++k, ++i) {
    auto l = std::make_unique<Lane>(w.context(i), s);
    l->stream = Stream{"long poll", sessions[i], 0, targets[k].get()};
    receiver_lanes.push_back(std::move(l));
  }
  for (std::size_t k = 0; k < n_ws; ++k, ++i) {
    auto p = std::make_unique<PushSocket>(w.context(i));
    p->stream = Stream{"p2p WebSocket", sessions[i], 0, targets[n_lp + k].get()};
    p->drop_every_s = plan.ws_receiver_drop_every_s / plan.scale;
    push_sockets.push_back(std::move(p));
  }
  for (std::size_t k = 0; k < n_send; ++k, ++i) sender_sessions.push_back(sessions[i]);
  for (std::size_t k = 0; k < n_subs; ++k, ++i) {
    auto p = std::make_unique<PushSocket>(w.context(i));
    p->stream = Stream{"subscriber", sessions[i], 0, nullptr, k};
    p->drop_every_s = plan.subscriber_drop_every_s / plan.scale;
    push_sockets.push_back(std::move(p));
  }
  for (std::size_t k = 0; k < n_kill; ++k, ++i) kill_sessions.push_back(sessions[i]);
}

template <class F>
void SoakLoad::Impl::post_each(F f) {
  for (auto& l : receiver_lanes) asio::post(l->timer.get_executor(), [p = l.get(), f] { f(*p); });
  for (auto& l : generator_lanes) asio::post(l->timer.get_executor(), [p = l.get(), f] { f(*p); });
}

void SoakLoad::Impl::start() {
  std::size_t ctx = 0;
  auto lane = [&](std::vector<std::unique_ptr<Lane>>& v) -> Lane& {
    v.push_back(std::make_unique<Lane>(w.context(ctx++), s));
    return *v.back();
  };
  auto spawn = [&](Lane& l, std::atomic<int>& count, asio::awaitable<void> a) {
    count.fetch_add(1);
    asio::co_spawn(l.timer.get_executor(), std::move(a), asio::detached);
  };
  // Receivers first, so that nothing is sent before they read.
  for (auto& l : receiver_lanes) spawn(*l, receivers, long_poll_loop(*l));
  for (auto& p : push_sockets) {
    receivers.fetch_add(1);
    asio::co_spawn(p->ctx, push_loop(*p), asio::detached);
  }
  for (auto& c : channels) {
    Lane& l = lane(receiver_lanes);
    spawn(l, receivers, channel_poll_loop(l, *c));
  }
  if (!sender_sessions.empty() && plan.p2p_per_s > 0) {
    const double per_sender = rate(plan.p2p_per_s) / static_cast<double>(sender_sessions.size());
    for (std::size_t k = 0; k < sender_sessions.size(); ++k) {
      Lane& l = lane(generator_lanes);
      l.stream.session = sender_sessions[k];
      spawn(l, generators, send_loop(l, per_sender));
    }
  }
  if (plan.group_per_s > 0 && plan.subscribers > 0) {
    Lane& l = lane(generator_lanes);
    spawn(l, generators, publish_loop(l));
  }
  if (plan.token_logins_per_s > 0 && !churn_uids.empty()) {
    Lane& l = lane(generator_lanes);
    spawn(l, generators, token_login_loop(l));
  }
  if (plan.password_logins_per_s > 0) {
    Lane& l = lane(generator_lanes);
    spawn(l, generators, password_login_loop(l));
  }
  if (plan.kills_per_s > 0)
    for (std::size_t k = 0; k < kill_uids.size(); ++k) {
      Lane& l = lane(generator_lanes);
      spawn(l, generators, kill_loop(l, kill_uids[k], kill_sessions[k]));
    }
  if (plan.uploads_per_s > 0) {
    Lane& l = lane(generator_lanes);
    spawn(l, generators, upload_loop(l));
  }
  if (plan.channel_sends_per_s > 0 && !channels.empty()) {
    Lane& l = lane(generator_lanes);
    spawn(l, generators, channel_send_loop(l));
  }
}

namespace {

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return pred();
}

}  // namespace

SoakLoad::SoakLoad(Workers& w, const Server& s, SoakPlan plan)
    : impl_(std::make_unique<Impl>(*this, w, s, std::move(plan))) {}

SoakLoad::~SoakLoad() {
  stop();
  if (impl_->outlive_owner) (void)impl_.release();
}

void SoakLoad::setup() { impl_->setup(); }
void SoakLoad::start() { impl_->start(); }

void SoakLoad::stop_generating() {
  impl_->generating = false;
  // Wake the paced waits; requests in flight finish (their answers still count).
  for (auto& l : impl_->generator_lanes)
    asio::post(l->timer.get_executor(), [p = l.get()] { p->cancel_timer(); });
  wait_until([&] { return impl_->generators.load() == 0; }, std::chrono::seconds(30));
}

bool SoakLoad::drain(std::chrono::milliseconds limit) {
  // Done when nothing is on its way, or when nothing more arrived for 5 s (what was lost
  // stays lost: waiting out the whole limit would not change the count).
  auto pending = [&] {
    SoakChecks c = checks(0);
    return c.p2p.pending + c.group.pending + c.channel.pending;
  };
  std::uint64_t last = pending();
  auto last_change = std::chrono::steady_clock::now();
  const auto end = last_change + limit;
  while (last > 0 && std::chrono::steady_clock::now() < end &&
         std::chrono::steady_clock::now() - last_change < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const std::uint64_t now = pending();
    if (now != last) {
      last = now;
      last_change = std::chrono::steady_clock::now();
    }
  }
  return last == 0;
}

void SoakLoad::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->generating = false;
  impl_->running = false;
  impl_->post_each([](Impl::Lane& l) { l.close(); });
  for (auto& p : impl_->push_sockets) asio::post(p->ctx, [q = p.get()] { q->close(); });
  if (!wait_until([&] { return impl_->generators.load() == 0 && impl_->receivers.load() == 0; },
                  std::chrono::seconds(5))) {
    // A coroutine still runs and refers to the actors: keep them for the rest of the process
    // rather than free them under it.
    std::fprintf(stderr, "rtm-bench soak: %d coroutines did not end; leaving them be\n",
                 impl_->generators.load() + impl_->receivers.load());
    impl_->outlive_owner = true;
  }
}

std::size_t SoakLoad::sockets_total() const { return impl_->push_sockets.size(); }

SoakChecks SoakLoad::checks(std::int64_t grace_us) const {
  SoakChecks c;
  const std::int64_t now = now_us();
  auto add = [](DeliveryLedger::Tally& to, const DeliveryLedger::Tally& t) {
    to.acked += t.acked;
    to.deliveries += t.deliveries;
    to.duplicates += t.duplicates;
    to.unknown += t.unknown;
    to.pending += t.pending;
    to.overdue += t.overdue;
  };
  for (const auto& t : impl_->targets) add(c.p2p, t->ledger.tally(now, grace_us));
  c.group = impl_->group_ledger.tally(now, grace_us);
  for (const auto& ch : impl_->channels) add(c.channel, ch->ledger.tally(now, grace_us));
  c.event_id_breaks = impl_->id_breaks.load();
  return c;
}

}  // namespace rtm::bench
