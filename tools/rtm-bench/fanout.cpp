// rtm-bench fanout: setup (users, group, WebSocket subscribers), the publishers, the timed run
// and the measurements of rtmd itself (see fanout.hpp).
#include "fanout.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

namespace rtm::bench {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// utime + stime of process `pid`, in seconds; -1 when unreadable.
double process_cpu_s(long pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The send time a publisher put in attrs ("t=<µs>"), found without parsing the whole frame;
// -1 when the frame is not one of our messages.
std::int64_t sent_at(std::string_view frame) {
  constexpr std::string_view kKey = "\"attrs\":\"t=";
  auto at = frame.find(kKey);
  if (at == std::string_view::npos) return -1;
  const char* p = frame.data() + at + kKey.size();
  std::int64_t v = -1;
  auto r = std::from_chars(p, frame.data() + frame.size(), v);
  return r.ec == std::errc{} ? v : -1;
}

struct Subscriber {
  explicit Subscriber(asio::io_context& ctx, ThreadStats& st) : ws(ctx), stats(st) {}
  websocket::stream<tcp::socket> ws;
  beast::flat_buffer buffer;
  ThreadStats& stats;
};

// One call on a subscriber's socket, answered before any event can be pushed for it.
asio::awaitable<void> ws_call(Subscriber& sub, int id, const std::string& method,
                              json::object params) {
  json::object call{{"id", id}, {"method", method}, {"params", std::move(params)}};
  std::string frame = json::serialize(call);
  auto [wec, wn] = co_await sub.ws.async_write(asio::buffer(frame), use_nothrow);
  if (wec) throw CallError(-1, "", method + ": " + wec.message());
  for (;;) {
    sub.buffer.clear();
    auto [rec, rn] = co_await sub.ws.async_read(sub.buffer, use_nothrow);
    if (rec) throw CallError(-1, "", method + ": " + rec.message());
    json::value reply = json::parse(beast::buffers_to_string(sub.buffer.data()));
    auto* o = reply.if_object();
    if (!o || !o->contains("id")) continue;  // an event: not ours yet
    if (o->at("rc").to_number<std::int64_t>() != 0)
      throw CallError(o->at("rc").to_number<std::int64_t>(), "",
                      method + ": " + json::serialize(reply));
    co_return;
  }
}

asio::awaitable<void> read_loop(Subscriber& sub) {
  for (;;) {
    sub.buffer.clear();
    auto [ec, n] = co_await sub.ws.async_read(sub.buffer, use_nothrow);
    if (ec) {
      if (ec != asio::error::operation_aborted) {
        ThreadStats::bump(sub.stats.poll_errors);
        sub.stats.note_error("subscriber socket: " + ec.message());
      }
      co_return;
    }
    const std::int64_t now = now_us();
    auto data = sub.buffer.cdata();
    std::string_view frame(static_cast<const char*>(data.data()), data.size());
    if (frame.find("\"type\":\"gap\"") != std::string_view::npos) {
      ThreadStats::bump(sub.stats.lost);
      continue;
    }
    std::int64_t t = sent_at(frame);
    if (t < 0) continue;
    ThreadStats::bump(sub.stats.deliveries);
    sub.stats.delivery.record(now - t);
  }
}

struct RunState {
  std::atomic<bool> stop{false};
  double interval_us = 0;  // per publisher; 0: closed loop
};

asio::awaitable<void> publish_loop(const Server& s, ThreadStats& st, RunState& rs,
                                   std::uint64_t gid, std::string msg, std::int64_t first_at) {
  auto ex = co_await asio::this_coro::executor;
  http::AsyncConnection conn(ex, s.endpoint);
  asio::steady_timer timer(ex);
  http::Response resp;
  const std::string target = s.url.target("/v1/server/message.send_group");
  const std::string prefix = "{\"gid\":" + std::to_string(gid) +
                             ",\"mtype\":30,\"msg\":" + json::serialize(json::string(msg)) +
                             ",\"attrs\":\"t=";
  std::string body;
  double next = static_cast<double>(first_at);
  while (!rs.stop.load(std::memory_order_relaxed)) {
    if (rs.interval_us > 0) {
      std::int64_t now = now_us();
      if (next < now - 1e6) next = static_cast<double>(now);  // late: no burst to catch up
      if (next > now) {
        timer.expires_after(std::chrono::microseconds(static_cast<std::int64_t>(next) - now));
        co_await timer.async_wait(use_nothrow);
      }
      next += rs.interval_us;
      if (rs.stop.load(std::memory_order_relaxed)) break;
    }
    const std::int64_t t0 = now_us();
    body = prefix;
    body += std::to_string(t0);
    body += "\"}";
    error_code ec = co_await conn.request("POST", target, s.api_key, body, resp);
    const std::int64_t t1 = now_us();
    if (ec || resp.status != 200) {
      ThreadStats::bump(st.send_errors);
      st.note_error(ec ? "message.send_group: " + ec.message()
                       : "message.send_group: HTTP " + std::to_string(resp.status) + " " +
                             std::string(resp.body.substr(0, 200)));
      timer.expires_after(std::chrono::milliseconds(50));
      co_await timer.async_wait(use_nothrow);
      continue;
    }
    ThreadStats::bump(st.sends);
    st.send_rtt.record(t1 - t0);
  }
}

}  // namespace

int run_fanout(const FanoutOptions& o) {
  try {
    Server s = open_server(o);
    const std::size_t n = static_cast<std::size_t>(o.subscribers);
    const std::size_t n_users =
        o.users > 0 ? static_cast<std::size_t>(o.users) : std::max<std::size_t>(1, (n + 49) / 50);
    std::uint64_t limit = raise_open_file_limit();
    if (limit < n + 64) {
      std::fprintf(stderr,
                   "rtm-bench fanout: %zu subscribers need %zu open files; the limit is %llu\n", n,
                   n + 64, static_cast<unsigned long long>(limit));
      return 2;
    }
    long pid = o.rtmd_pid > 0 ? o.rtmd_pid
                              : find_listening_pid(static_cast<unsigned>(std::stoul(s.url.port)));
    Workers workers(o.threads);

    std::fprintf(stderr, "rtm-bench fanout: %s, %zu subscribers (%zu users); setting up...\n",
                 s.url.text.c_str(), n, n_users);
    auto users = reuse_or_create_users(workers, s, n_users, o.uid_base);
    std::mt19937_64 rng(std::random_device{}());
    const std::uint64_t gid = 1'000'000 + rng() % 1'000'000'000;
    run_all(workers, 1, [&](std::size_t) -> asio::awaitable<void> {
      http::AsyncConnection conn(co_await asio::this_coro::executor, s.endpoint);
      for (std::size_t i = 0; i < users.size(); i += 1000) {
        json::array uids;
        for (std::size_t j = i; j < std::min(users.size(), i + 1000); ++j) uids.push_back(users[j]);
        json::object p{{"gid", gid}, {"uids", std::move(uids)}};
        co_await call(conn, s, "group.add_members", p, true);
      }
    });

    long rss_before = pid > 0 ? read_rss_kib(pid) : -1;
    std::vector<std::unique_ptr<Subscriber>> subs(n);
    const std::string host = s.endpoint.host_header;
    const std::string ws_target = s.url.target("/v1/ws");
    const std::int64_t t_setup = now_us();
    for (std::size_t first = 0; first < n; first += static_cast<std::size_t>(o.connect_parallel)) {
      std::size_t count = std::min(n - first, static_cast<std::size_t>(o.connect_parallel));
      run_all(workers, count, [&](std::size_t k) -> asio::awaitable<void> {
        std::size_t i = first + k;
        auto& ctx = workers.context(i);
        http::AsyncConnection conn(ctx.get_executor(), s.endpoint);
        std::string session = co_await open_session(conn, s, users[i % users.size()]);
        conn.close();
        auto sub = std::make_unique<Subscriber>(ctx, workers.stats(i));
        auto [cec, ep] =
            co_await asio::async_connect(sub->ws.next_layer(), s.endpoint.addresses, use_nothrow);
        if (cec) throw CallError(-1, "", "connect: " + cec.message());
        sub->ws.next_layer().set_option(tcp::no_delay(true));
        auto [hec] = co_await sub->ws.async_handshake(host, ws_target, use_nothrow);
        if (hec) throw CallError(-1, "", "WebSocket handshake: " + hec.message());
        sub->ws.text(true);
        // Named, not temporaries in the co_await expressions (g++ 12 coroutine bug).
        json::object attach{{"session", session}};
        co_await ws_call(*sub, 1, "session.attach", std::move(attach));
        json::object subscribe{{"session", session}, {"topic", "group:" + std::to_string(gid)}};
        co_await ws_call(*sub, 2, "session.subscribe", std::move(subscribe));
        asio::co_spawn(ctx, read_loop(*sub), asio::detached);
        subs[i] = std::move(sub);
      });
      if ((first / static_cast<std::size_t>(o.connect_parallel)) % 20 == 19)
        std::fprintf(stderr, "  %zu of %zu subscribers connected\n", first + count, n);
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));  // let rtmd settle before measuring
    long rss_after = pid > 0 ? read_rss_kib(pid) : -1;
    std::fprintf(stderr, "rtm-bench fanout: %zu subscribers in %.1f s; publishing for %.0f s...\n",
                 n, (now_us() - t_setup) / 1e6, o.duration);

    RunState rs;
    const int publishers = std::max(1, o.publishers);
    rs.interval_us = o.rate > 0 ? 1e6 * publishers / o.rate : 0;
    const std::string msg(static_cast<std::size_t>(o.msg_size), 'x');
    double cpu0 = pid > 0 ? process_cpu_s(pid) : -1;
    const std::int64_t t_start = now_us();
    for (int p = 0; p < publishers; ++p) {
      auto first_at = t_start + static_cast<std::int64_t>(rs.interval_us * p / publishers);
      asio::co_spawn(
          workers.context(static_cast<std::size_t>(p)),
          publish_loop(s, workers.stats(static_cast<std::size_t>(p)), rs, gid, msg, first_at),
          asio::detached);
    }
    Progress progress(workers);
    const std::int64_t t_end = t_start + static_cast<std::int64_t>(o.duration * 1e6);
    while (now_us() < t_end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(
          std::min<std::int64_t>(1000, std::max<std::int64_t>(1, (t_end - now_us()) / 1000))));
      progress.tick();
    }
    rs.stop = true;
    // Deliveries of the last publishes are still on their way: wait until they stop growing.
    std::uint64_t last = read_counters(workers).deliveries;
    for (int i = 0; i < 50; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::uint64_t now = read_counters(workers).deliveries;
      if (now == last && i >= 5) break;
      last = now;
    }
    double cpu1 = pid > 0 ? process_cpu_s(pid) : -1;
    workers.stop();

    json::object settings{{"url", s.url.text},        {"subscribers", o.subscribers},
                          {"users", n_users},         {"rate", json_number(o.rate)},
                          {"publishers", publishers}, {"duration_s", json_number(o.duration)},
                          {"msg_size", o.msg_size},   {"threads", o.threads}};
    Summary summary = collect(workers, "fanout", std::move(settings), o.duration);
    if (cpu0 >= 0 && cpu1 >= 0 && summary.counters.deliveries > 0)
      summary.extra.emplace_back(
          "rtmd_cpu_s_per_million_deliveries",
          (cpu1 - cpu0) * 1e6 / static_cast<double>(summary.counters.deliveries));
    if (cpu0 >= 0 && cpu1 >= 0) summary.extra.emplace_back("rtmd_cpu_s", cpu1 - cpu0);
    if (rss_before > 0 && rss_after > 0) {
      summary.extra.emplace_back("rtmd_rss_mib_idle_sockets", rss_after / 1024.0);
      summary.extra.emplace_back(
          "rtmd_rss_kib_per_socket",
          static_cast<double>(rss_after - rss_before) / static_cast<double>(n));
    }
    print_summary(summary, o.json);
    return summary.counters.send_errors + summary.counters.poll_errors > 0 ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rtm-bench fanout: %s\n", e.what());
    return 1;
  }
}

}  // namespace rtm::bench
