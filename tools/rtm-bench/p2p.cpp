// rtm-bench p2p: setup (users, sessions), the sender and receiver coroutines, the timed run,
// the drain of in-flight deliveries, and the summary.
#include "p2p.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cstdio>

namespace rtm::bench {

namespace json = boost::json;
using boost::system::error_code;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kParseArena = 256 * 1024;  // a get_events answer parses without malloc

struct RunState {
  std::atomic<bool> stop{false};
  std::atomic<int> senders_active{0};
  std::atomic<int> receivers_active{0};
  std::int64_t t_end_us = 0;
  double interval_us = 0;  // per sender; 0 = closed loop
};

// Decrements a counter when a loop ends, however it ends.
struct ActiveGuard {
  std::atomic<int>& n;
  ~ActiveGuard() { n.fetch_sub(1); }
};

struct Receiver {
  Receiver(asio::io_context& ctx, const Server& s, ThreadStats& st)
      : conn(ctx.get_executor(), s.endpoint), timer(ctx), stats(st), arena(kParseArena) {}
  http::AsyncConnection conn;
  asio::steady_timer timer;
  ThreadStats& stats;
  std::uint64_t uid = 0;
  std::string session;
  std::string body;  // the get_events request, built once
  json::parser parser;
  std::vector<unsigned char> arena;
};

struct Sender {
  Sender(asio::io_context& ctx, const Server& s, ThreadStats& st)
      : conn(ctx.get_executor(), s.endpoint), timer(ctx), stats(st) {}
  http::AsyncConnection conn;
  asio::steady_timer timer;
  ThreadStats& stats;
  std::uint64_t uid = 0;
  std::uint64_t to = 0;
  std::string session;
  std::string body;  // request body; bytes [0, prefix_len) are fixed, the send time follows
  std::size_t prefix_len = 0;
};

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// The send time a sender put in attrs ("t=<µs>"); -1 when the message is not ours.
std::int64_t sent_at(std::string_view attrs) {
  if (attrs.size() < 3 || attrs[0] != 't' || attrs[1] != '=') return -1;
  std::int64_t v = -1;
  auto r = std::from_chars(attrs.data() + 2, attrs.data() + attrs.size(), v);
  return r.ec == std::errc{} ? v : -1;
}

asio::awaitable<void> pause(asio::steady_timer& t, std::chrono::microseconds d) {
  t.expires_after(d);
  co_await t.async_wait(use_nothrow);
}

std::string describe(std::string_view what, int status, std::string_view body) {
  std::string s(what);
  s += ": HTTP " + std::to_string(status) + " ";
  s.append(body.substr(0, 200));
  return s;
}

asio::awaitable<void> receive_loop(Receiver& r, RunState& rs, const std::string& target) {
  ActiveGuard guard{rs.receivers_active};
  http::Response resp;
  while (!rs.stop.load(std::memory_order_relaxed)) {
    error_code ec = co_await r.conn.request("POST", target, "", r.body, resp);
    if (rs.stop.load(std::memory_order_relaxed)) break;
    if (ec) {
      ThreadStats::bump(r.stats.poll_errors);
      r.stats.note_error("session.get_events: " + ec.message());
      co_await pause(r.timer, std::chrono::milliseconds(100));
      continue;
    }
    const std::int64_t now = now_us();
    if (resp.status != 200) {
      ThreadStats::bump(r.stats.poll_errors);
      r.stats.note_error(describe("session.get_events", resp.status, resp.body));
      if (resp.body.find("InvalidSession") != std::string_view::npos) break;  // it is gone
      co_await pause(r.timer, std::chrono::milliseconds(100));
      continue;
    }

    json::monotonic_resource mr(r.arena.data(), r.arena.size());
    r.parser.reset(&mr);
    r.parser.write(resp.body.data(), resp.body.size(), ec);
    if (ec) {
      ThreadStats::bump(r.stats.poll_errors);
      r.stats.note_error("session.get_events: unparsable answer: " + ec.message());
      continue;
    }
    json::value answer = r.parser.release();
    const json::object* obj = answer.if_object();
    const json::value* events = obj ? obj->if_contains("events") : nullptr;
    if (!events || !events->is_array()) {
      ThreadStats::bump(r.stats.poll_errors);
      r.stats.note_error(describe("session.get_events: no events", resp.status, resp.body));
      continue;
    }
    std::uint64_t delivered = 0;
    bool ended = false;
    for (const json::value& ev : events->get_array()) {
      const json::object* e = ev.if_object();
      const json::value* type = e ? e->if_contains("type") : nullptr;
      if (!type || !type->is_string()) continue;
      const json::string& t = type->get_string();
      if (t == "message") {
        const json::value* m = e->if_contains("message");
        const json::value* attrs =
            m && m->is_object() ? m->get_object().if_contains("attrs") : nullptr;
        if (!attrs || !attrs->is_string()) continue;
        std::int64_t at = sent_at(attrs->get_string());
        if (at < 0) continue;
        r.stats.delivery.record(now - at);
        ++delivered;
      } else if (t == "gap") {
        const json::value* d = e->if_contains("dropped");
        if (d && d->is_int64()) ThreadStats::bump(r.stats.lost, d->get_int64());
      } else if (t == "session") {
        r.stats.note_error("receiver uid " + std::to_string(r.uid) + ": session event " +
                           json::serialize(ev));
        ended = true;
      }
    }
    if (delivered) ThreadStats::bump(r.stats.deliveries, delivered);
    if (ended) ThreadStats::bump(r.stats.poll_errors);
  }
}

asio::awaitable<void> send_loop(Sender& s, RunState& rs, const std::string& target,
                                std::int64_t first_at) {
  ActiveGuard guard{rs.senders_active};
  http::Response resp;
  double next = static_cast<double>(first_at);
  for (;;) {
    if (rs.interval_us > 0) {
      std::int64_t now = now_us();
      // One request in flight: when late, send at once but do not build up a burst.
      if (next < now - 1e6) next = static_cast<double>(now);
      if (next > now)
        co_await pause(s.timer, std::chrono::microseconds(static_cast<std::int64_t>(next) - now));
      next += rs.interval_us;
    }
    if (rs.stop.load(std::memory_order_relaxed)) break;
    const std::int64_t t0 = now_us();
    if (t0 >= rs.t_end_us) break;
    s.body.resize(s.prefix_len);
    append_int(s.body, t0);
    s.body.append("\"}");
    error_code ec = co_await s.conn.request("POST", target, "", s.body, resp);
    const std::int64_t t1 = now_us();
    if (ec) {
      if (rs.stop.load(std::memory_order_relaxed)) break;
      ThreadStats::bump(s.stats.send_errors);
      s.stats.note_error("message.send: " + ec.message());
      co_await pause(s.timer, std::chrono::milliseconds(100));
      continue;
    }
    if (resp.status != 200) {
      ThreadStats::bump(s.stats.send_errors);
      s.stats.note_error(describe("message.send", resp.status, resp.body));
      co_await pause(s.timer, std::chrono::milliseconds(10));
      continue;
    }
    ThreadStats::bump(s.stats.sends);
    s.stats.send_rtt.record(t1 - t0);
  }
}

void sleep_until_us(std::int64_t t) {
  std::int64_t now = now_us();
  if (t > now) std::this_thread::sleep_for(std::chrono::microseconds(t - now));
}

// Waits until pred() or the time limit; returns pred().
template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return pred();
}

}  // namespace

int run_p2p(const P2POptions& o) {
  Server server;
  try {
    server = open_server(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rtm-bench: %s\n", e.what());
    return 2;
  }
  const std::size_t n_send = static_cast<std::size_t>(o.senders);
  const std::size_t n_recv = static_cast<std::size_t>(o.receivers);

  RunState st;  // outlives the workers: a coroutine frame's guard may still touch it
  Workers workers(o.threads);
  std::vector<std::unique_ptr<Receiver>> receivers;
  std::vector<std::unique_ptr<Sender>> senders;
  for (std::size_t i = 0; i < n_recv; ++i)
    receivers.push_back(std::make_unique<Receiver>(workers.context(i), server, workers.stats(i)));
  for (std::size_t i = 0; i < n_send; ++i)
    senders.push_back(std::make_unique<Sender>(workers.context(i), server, workers.stats(i)));

  try {
    std::int64_t t0 = now_us();
    std::fprintf(stderr, "rtm-bench p2p: %s, %zu senders -> %zu receivers; creating users...\n",
                 server.url.text.c_str(), n_send, n_recv);
    std::vector<std::uint64_t> uids = create_users(workers, server, n_recv + n_send, o.uid_base);
    for (std::size_t i = 0; i < n_recv; ++i) receivers[i]->uid = uids[i];
    for (std::size_t i = 0; i < n_send; ++i) {
      senders[i]->uid = uids[n_recv + i];
      senders[i]->to = uids[i % n_recv];
    }
    std::int64_t t1 = now_us();
    run_all(workers, n_recv + n_send, [&](std::size_t i) -> asio::awaitable<void> {
      if (i < n_recv) {
        Receiver& r = *receivers[i];
        r.session = co_await open_session(r.conn, server, r.uid);
        r.body = R"({"session":")" + r.session + R"(","timeout":30})";
      } else {
        Sender& s = *senders[i - n_recv];
        s.session = co_await open_session(s.conn, server, s.uid);
        s.body = R"({"session":")" + s.session + R"(","to":)" + std::to_string(s.to) +
                 R"(,"mtype":30,"msg":")" + std::string(o.msg_size, 'x') + R"(","attrs":"t=)";
        s.prefix_len = s.body.size();
      }
    });
    std::fprintf(stderr, "rtm-bench p2p: users %.1f s, sessions %.1f s; running %.0f s...\n",
                 (t1 - t0) / 1e6, (now_us() - t1) / 1e6, o.duration);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rtm-bench: setup failed: %s\n", e.what());
    return 1;
  }

  const std::string send_target = server.url.target("/v1/message.send");
  const std::string poll_target = server.url.target("/v1/session.get_events");
  st.receivers_active = static_cast<int>(n_recv);
  st.senders_active = static_cast<int>(n_send);
  st.interval_us = o.rate > 0 ? 1e6 * static_cast<double>(n_send) / o.rate : 0;
  for (std::size_t i = 0; i < n_recv; ++i)
    asio::co_spawn(workers.context(i), receive_loop(*receivers[i], st, poll_target),
                   asio::detached);

  Progress progress(workers);
  const std::int64_t t_start = now_us();
  st.t_end_us = t_start + static_cast<std::int64_t>(o.duration * 1e6);
  for (std::size_t i = 0; i < n_send; ++i) {
    // Paced senders start staggered over one interval so the load is even.
    auto first = t_start + static_cast<std::int64_t>(st.interval_us * i / n_send);
    asio::co_spawn(workers.context(i), send_loop(*senders[i], st, send_target, first),
                   asio::detached);
  }
  for (std::int64_t tick = t_start + 1000000; tick <= st.t_end_us; tick += 1000000) {
    sleep_until_us(tick);
    progress.tick();
  }
  sleep_until_us(st.t_end_us);

  // Senders finish their last request; receivers get what is still on its way.
  wait_for([&] { return st.senders_active.load() == 0; }, std::chrono::seconds(10));
  bool drained = wait_for(
      [&] {
        Counters c = read_counters(workers);
        return c.deliveries + c.lost >= c.sends;
      },
      std::chrono::seconds(5));
  if (!drained) std::fprintf(stderr, "rtm-bench p2p: not every send was delivered within 5 s\n");

  st.stop = true;
  for (auto& r : receivers)
    asio::post(r->conn.get_executor(), [p = r.get()] {
      p->conn.close();
      p->timer.cancel();
    });
  for (auto& s : senders)
    asio::post(s->conn.get_executor(), [p = s.get()] {
      p->conn.close();
      p->timer.cancel();
    });
  wait_for([&] { return st.receivers_active.load() == 0 && st.senders_active.load() == 0; },
           std::chrono::seconds(2));
  // End the sessions so that they do not queue events for a later run until they expire.
  try {
    run_all(workers, n_recv + n_send, [&](std::size_t i) -> asio::awaitable<void> {
      http::AsyncConnection& conn = i < n_recv ? receivers[i]->conn : senders[i - n_recv]->conn;
      const std::string& session =
          i < n_recv ? receivers[i]->session : senders[i - n_recv]->session;
      json::object params;
      params["session"] = session;
      co_await call(conn, server, "session.destroy", params, false);
    });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rtm-bench p2p: cleanup: %s\n", e.what());
  }
  workers.stop();

  json::object settings{{"url", server.url.text},
                        {"senders", o.senders},
                        {"receivers", o.receivers},
                        {"threads", o.threads},
                        {"duration_s", json_number(o.duration)},
                        {"rate", json_number(o.rate)},
                        {"msg_size", o.msg_size}};
  Summary summary = collect(workers, "p2p", std::move(settings), o.duration);
  print_summary(summary, o.json);
  return summary.counters.sends > 0 ? 0 : 1;
}

}  // namespace rtm::bench
