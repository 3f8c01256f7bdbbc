// rtm-bench polls: opens the sessions (a bounded number at a time, so the server's accept
// queue stays short), parks one get_events per session, waits until rtmd reports them all
// waiting, reads rtmd's RSS, answers a sample of the polls with server message.send, and
// prints what the waiting polls cost.
#include "polls.hpp"

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

namespace rtm::bench {

namespace json = boost::json;
using boost::system::error_code;

namespace {

// Marks the sample messages, so that a poll can tell them from anything else it receives.
constexpr std::string_view kSampleAttrs = "rtm-bench-polls";

struct Poller {
  Poller(asio::io_context& ctx, const Server& s) : conn(ctx.get_executor(), s.endpoint) {}
  http::AsyncConnection conn;
  std::uint64_t uid = 0;
  std::string session;
  std::string body;  // the get_events request, built once
  // Its user is in the sample: the poll must answer with the message.
  std::atomic<bool> expect{false};
  // The sample send time and when the poll answered with it (µs, now_us()); written by the
  // sending lane and the poller's thread, read by main once the sample is in.
  std::atomic<std::int64_t> sent_us{0};
  std::atomic<std::int64_t> answered_us{0};
};

struct State {
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> sessions{0};    // sessions opened
  std::atomic<std::size_t> polls_sent{0};  // pollers whose first get_events is on its way
  std::atomic<std::size_t> repolls{0};     // polls that ran out their timeout and went again
  std::atomic<std::size_t> answered{0};    // expected polls that received their sample message
  std::atomic<std::size_t> errors{0};      // polls lost to an error (not retried)
  std::atomic<int> loops_active{0};
  std::mutex mu;
  std::string first_error;

  void fail(std::string_view what) {
    errors.fetch_add(1);
    std::lock_guard lock(mu);
    if (first_error.empty()) first_error = std::string(what.substr(0, 300));
  }
};

// The poll of one session: waits, re-polls after an empty (timed-out) answer, and notes when
// the sample message arrives. An error ends the loop: the poll is counted as lost.
asio::awaitable<void> poll_loop(Poller& p, State& st, const std::string& target) {
  struct Active {
    std::atomic<int>& n;
    ~Active() { n.fetch_sub(1); }
  } active{st.loops_active};
  http::Response resp;
  bool first = true;
  while (!st.stop.load(std::memory_order_relaxed)) {
    if (first) st.polls_sent.fetch_add(1);
    first = false;
    error_code ec = co_await p.conn.request("POST", target, "", p.body, resp);
    if (st.stop.load(std::memory_order_relaxed)) break;
    const std::int64_t now = now_us();
    if (ec) {
      st.fail("session.get_events uid " + std::to_string(p.uid) + ": " + ec.message());
      break;
    }
    json::value v = json::parse(resp.body, ec);
    const json::object* obj = ec ? nullptr : v.if_object();
    const json::value* events = obj ? obj->if_contains("events") : nullptr;
    if (resp.status != 200 || !events || !events->is_array()) {
      st.fail("session.get_events uid " + std::to_string(p.uid) + ": HTTP " +
              std::to_string(resp.status) + " " + std::string(resp.body.substr(0, 200)));
      break;
    }
    if (events->get_array().empty()) {
      st.repolls.fetch_add(1);
      continue;
    }
    for (const json::value& ev : events->get_array()) {
      const json::object* e = ev.if_object();
      const json::value* m = e ? e->if_contains("message") : nullptr;
      const json::value* attrs =
          m && m->is_object() ? m->get_object().if_contains("attrs") : nullptr;
      if (attrs && attrs->is_string() && attrs->get_string() == kSampleAttrs &&
          p.answered_us.load() == 0) {
        p.answered_us.store(now);
        if (p.expect) st.answered.fetch_add(1);
      }
    }
  }
}

// Prints a progress line to stderr once a second while `line()` has something to say.
class Ticker {
 public:
  template <class F>
  explicit Ticker(F line)
      : thread_([this, line = std::move(line)] {
          const std::int64_t t0 = now_us();
          std::unique_lock lock(mu_);
          while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return done_; }))
            std::fprintf(stderr, "[%4.0fs] %s\n", (now_us() - t0) / 1e6, line().c_str());
        }) {}
  ~Ticker() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

std::string mib(long kib) {
  if (kib < 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", kib / 1024.0);
  return buf;
}

}  // namespace

int run_polls(const PollsOptions& o) {
  const std::size_t n = static_cast<std::size_t>(o.polls);
  // Sessions i, i + users, i + 2 users, ... belong to user i (mode multi).
  const std::size_t users = o.users > 0 ? std::min<std::size_t>(o.users, n) : n;
  const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(o.sample), users);

  // One socket per poll here and one in rtmd: check the budget before opening any.
  const std::uint64_t nofile = raise_open_file_limit();
  if (nofile < n + 64) {
    std::fprintf(stderr,
                 "rtm-bench polls: %zu polls need %zu open files, the limit is %llu "
                 "(raise the hard limit: ulimit -Hn)\n",
                 n, n + 64, static_cast<unsigned long long>(nofile));
    return 2;
  }
  Server server;
  try {
    server = open_server(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rtm-bench: %s\n", e.what());
    return 2;
  }
  long pid = o.rtmd_pid;
  if (pid == 0) pid = find_listening_pid(static_cast<unsigned>(std::stoul(server.url.port)));
  if (read_rss_kib(pid) < 0) {
    std::fprintf(stderr,
                 "rtm-bench polls: cannot read rtmd's memory (pid %ld); give --rtmd-pid of a "
                 "local rtmd to have RSS figures\n",
                 pid);
    pid = 0;
  }

  State st;  // outlives the workers: a poll loop's guard may still touch it
  Workers workers(o.threads);
  std::vector<std::unique_ptr<Poller>> pollers(n);
  std::uint64_t sender_uid = 0;
  std::size_t expected = 0;  // polls of the sampled users
  const std::string poll_target = server.url.target("/v1/session.get_events");
  long rss_before = -1, rss_waiting = -1, rss_after = -1;
  std::optional<double> waiting, waiting_after;
  double setup_s = 0;

  try {
    std::fprintf(stderr, "rtm-bench polls: %s, %zu polls of %zu users (rtmd pid %ld); users...\n",
                 server.url.text.c_str(), n, users, pid);
    // The last user sends the sample messages.
    std::vector<std::uint64_t> uids = reuse_or_create_users(workers, server, users + 1, o.uid_base);
    sender_uid = uids[users];
    rss_before = read_rss_kib(pid);

    std::fprintf(stderr, "rtm-bench polls: opening %zu sessions, %d at a time...\n", n,
                 o.connect_parallel);
    const std::int64_t t0 = now_us();
    {
      Ticker ticker([&] {
        return "sessions " + std::to_string(st.sessions.load()) + "/" + std::to_string(n) +
               "   polls sent " + std::to_string(st.polls_sent.load()) + "   errors " +
               std::to_string(st.errors.load());
      });
      std::atomic<std::size_t> next{0};
      const std::size_t lanes = std::min<std::size_t>(n, o.connect_parallel);
      run_all(workers, lanes, [&](std::size_t lane) -> asio::awaitable<void> {
        asio::io_context& ctx = workers.context(lane);
        for (std::size_t i; (i = next.fetch_add(1)) < n;) {
          // The poller lives on its lane's thread, like every operation on its socket.
          pollers[i] = std::make_unique<Poller>(ctx, server);
          Poller& p = *pollers[i];
          p.uid = uids[i % users];
          p.session = co_await open_session(p.conn, server, p.uid);
          p.body =
              R"({"session":")" + p.session + R"(","timeout":)" + std::to_string(o.timeout) + "}";
          st.sessions.fetch_add(1);
          st.loops_active.fetch_add(1);
          asio::co_spawn(ctx, poll_loop(p, st, poll_target), asio::detached);
        }
      });
      setup_s = (now_us() - t0) / 1e6;

      // Sent is not waiting: wait until rtmd counts them (or stops counting up).
      std::fprintf(stderr, "rtm-bench polls: %zu sessions in %.1f s; waiting for the polls...\n", n,
                   setup_s);
      std::optional<double> last;
      std::int64_t last_change = now_us();
      for (;;) {
        waiting = read_metric(server, "rtm_long_polls_waiting");
        if (waiting && *waiting >= static_cast<double>(n)) break;
        if (waiting != last) last_change = now_us();
        last = waiting;
        if (now_us() - last_change > 10'000'000) break;  // stuck below n for 10 s
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
    }
    rss_waiting = read_rss_kib(pid);
    std::fprintf(stderr, "rtm-bench polls: rtm_long_polls_waiting %.0f, rtmd RSS %s\n",
                 waiting.value_or(-1), mib(rss_waiting).c_str());

    // The sample: k users spread over the whole range, each sent one message, which every
    // poll of that user must answer with.
    if (k > 0) {
      std::vector<bool> sampled(users, false);
      for (std::size_t j = 0; j < k; ++j) sampled[j * users / k] = true;
      for (std::size_t i = 0; i < n; ++i)
        if (sampled[i % users]) {
          pollers[i]->expect.store(true);
          ++expected;
        }
      std::fprintf(stderr, "rtm-bench polls: sending %zu sample messages (%zu polls)...\n", k,
                   expected);
      std::atomic<std::size_t> next{0};
      const std::size_t lanes = std::min<std::size_t>(k, 8);
      run_all(workers, lanes, [&](std::size_t lane) -> asio::awaitable<void> {
        http::AsyncConnection conn(workers.context(lane).get_executor(), server.endpoint);
        for (std::size_t j; (j = next.fetch_add(1)) < k;) {
          const std::size_t u = j * users / k;
          const std::int64_t t = now_us();
          for (std::size_t i = u; i < n; i += users) pollers[i]->sent_us.store(t);
          json::object params{{"from", sender_uid},
                              {"to", uids[u]},
                              {"mtype", 30},
                              {"msg", "sample " + std::to_string(j)},
                              {"attrs", kSampleAttrs}};
          co_await call(conn, server, "message.send", params, true);
        }
      });
      const std::int64_t limit = now_us() + 10'000'000;
      while (st.answered.load() < expected && now_us() < limit)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    // The answered polls went back to waiting; give them a moment before counting again.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    waiting_after = read_metric(server, "rtm_long_polls_waiting");
    rss_after = read_rss_kib(pid);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rtm-bench polls: %s\n", e.what());
    st.fail(e.what());
  }

  // Close the polls, then end the sessions so that they do not linger until they expire.
  st.stop = true;
  for (auto& p : pollers)
    if (p) asio::post(p->conn.get_executor(), [q = p.get()] { q->conn.close(); });
  const std::int64_t close_limit = now_us() + 5'000'000;
  while (st.loops_active.load() > 0 && now_us() < close_limit)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::atomic<std::size_t> cleanup_failures{0};
  {
    std::atomic<std::size_t> next{0};
    try {
      run_all(workers, std::min<std::size_t>(n, 16),
              [&](std::size_t lane) -> asio::awaitable<void> {
                http::AsyncConnection conn(workers.context(lane).get_executor(), server.endpoint);
                for (std::size_t i; (i = next.fetch_add(1)) < n;) {
                  if (!pollers[i] || pollers[i]->session.empty()) continue;
                  json::object params{{"session", pollers[i]->session}};
                  try {
                    co_await call(conn, server, "session.destroy", params, false);
                  } catch (const CallError&) {
                    cleanup_failures.fetch_add(1);
                  }
                }
              });
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rtm-bench polls: cleanup: %s\n", e.what());
    }
  }
  workers.stop();
  if (cleanup_failures.load())
    std::fprintf(stderr, "rtm-bench polls: cleanup: %zu session.destroy calls failed\n",
                 cleanup_failures.load());

  LatencyHistogram answer;
  for (const auto& p : pollers)
    if (p && p->expect && p->answered_us.load() && p->sent_us.load())
      answer.record(p->answered_us.load() - p->sent_us.load());
  const std::size_t answered = st.answered.load();
  const double per_poll =
      rss_before >= 0 && rss_waiting >= 0 && n ? (rss_waiting - rss_before) / double(n) : -1;
  const bool all_waiting = waiting && *waiting >= static_cast<double>(n);
  const bool ok = all_waiting && answered == expected && st.errors.load() == 0;

  json::object settings{{"url", server.url.text},
                        {"polls", o.polls},
                        {"users", users},
                        {"timeout", o.timeout},
                        {"sample", o.sample},
                        {"threads", o.threads},
                        {"connect_parallel", o.connect_parallel},
                        {"uid_base", o.uid_base}};
  auto opt_json = [](std::optional<double> v) -> json::value {
    return v ? json_number(*v) : json::value(nullptr);
  };
  auto kib_json = [](long v) -> json::value { return v >= 0 ? json::value(v) : nullptr; };
  if (o.json) {
    json::object out{
        {"mode", "polls"},
        {"settings", settings},
        {"sessions", st.sessions.load()},
        {"setup_s", std::round(setup_s * 10) / 10},
        {"polls_waiting", opt_json(waiting)},
        {"polls_waiting_after_sample", opt_json(waiting_after)},
        {"rtmd_pid", pid},
        {"rss_before_kib", kib_json(rss_before)},
        {"rss_waiting_kib", kib_json(rss_waiting)},
        {"rss_after_sample_kib", kib_json(rss_after)},
        {"kib_per_poll", per_poll >= 0 ? json::value(std::round(per_poll * 100) / 100) : nullptr},
        {"sample_users", k},
        {"sample_polls", expected},
        {"sample_answered", answered},
        {"answer_us", json::object{{"count", answer.count()},
                                   {"p50", answer.percentile_us(0.50)},
                                   {"p99", answer.percentile_us(0.99)},
                                   {"max", answer.max_us()}}},
        {"repolls", st.repolls.load()},
        {"errors", st.errors.load()},
        {"first_error", st.first_error},
        {"ok", ok}};
    std::printf("%s\n", json::serialize(out).c_str());
    return ok ? 0 : 1;
  }
  std::printf("rtm-bench polls  %s\n", json::serialize(settings).c_str());
  std::printf("  %-34s %12zu   (%.1f s)\n", "sessions opened", st.sessions.load(), setup_s);
  std::printf("  %-34s %12.0f\n", "polls waiting (rtm_long_polls_waiting)", waiting.value_or(-1));
  std::printf("  %-34s %12s\n", "rtmd RSS before the sessions", mib(rss_before).c_str());
  std::printf("  %-34s %12s\n", "rtmd RSS with the polls waiting", mib(rss_waiting).c_str());
  std::printf("  %-34s %12s\n", "rtmd RSS after the sample", mib(rss_after).c_str());
  if (per_poll >= 0)
    std::printf("  %-34s %12.2f   (session and connection included)\n", "KiB per waiting poll",
                per_poll);
  else
    std::printf("  %-34s %12s\n", "KiB per waiting poll", "-");
  std::printf("  %-34s %8zu/%-3zu", "sample polls answered", answered, expected);
  if (answer.count())
    std::printf("   send -> answer p50 %.2f / p99 %.2f / max %.2f ms",
                answer.percentile_us(0.50) / 1000.0, answer.percentile_us(0.99) / 1000.0,
                answer.max_us() / 1000.0);
  std::printf("\n  %-34s %12zu\n", "sample users sent a message", k);
  std::printf("  %-34s %12.0f\n", "polls waiting after the sample", waiting_after.value_or(-1));
  std::printf("  %-34s %12zu\n", "re-polls (timeout ran out)", st.repolls.load());
  std::printf("  %-34s %12zu\n", "errors", st.errors.load());
  if (!st.first_error.empty()) std::printf("  first error: %s\n", st.first_error.c_str());
  return ok ? 0 : 1;
}

}  // namespace rtm::bench
