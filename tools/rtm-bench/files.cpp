// See files.hpp.
#include "files.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <cstring>
#include <random>

namespace rtm::bench {

namespace json = boost::json;
using boost::system::error_code;

namespace {

struct RunState {
  std::atomic<bool> stop{false};
};

// One client: token, upload, again, until stopped. Each upload counts as a "send"; its
// bytes as deliveries (so the progress line shows uploads/s and bytes/s).
asio::awaitable<void> upload_loop(const Server& s, ThreadStats& st, RunState& rs,
                                  std::uint64_t from, std::uint64_t to, const std::string& bytes,
                                  int client) {
  // Every upload distinct (a counter in its first bytes), so each is stored, not deduplicated.
  std::string data = bytes;
  std::uint64_t n = static_cast<std::uint64_t>(client) << 40;
  auto ex = co_await asio::this_coro::executor;
  http::AsyncConnection api(ex, s.endpoint);
  http::AsyncConnection up(ex, s.endpoint);
  http::Response resp;
  const json::object params{{"cmd", "sendfile"}, {"from", from}, {"to", to}};
  while (!rs.stop.load(std::memory_order_relaxed)) {
    ++n;
    std::memcpy(data.data(), &n, std::min(sizeof n, data.size()));
    const std::int64_t t0 = now_us();
    std::string token;
    try {
      json::object t = co_await call(api, s, "file.token", params, true);
      token = std::string(t.at("token").as_string());
    } catch (const std::exception& e) {
      ThreadStats::bump(st.send_errors);
      st.note_error(std::string("file.token: ") + e.what());
      continue;
    }
    const std::string target = s.url.target("/v1/files/upload?token=" + token);
    error_code ec = co_await up.request("POST", target, "", data, resp);
    const std::int64_t t1 = now_us();
    if (ec || resp.status != 200) {
      ThreadStats::bump(st.send_errors);
      st.note_error(ec ? "upload: " + ec.message()
                       : "upload: HTTP " + std::to_string(resp.status) + " " +
                             std::string(resp.body.substr(0, 200)));
      continue;
    }
    ThreadStats::bump(st.sends);
    ThreadStats::bump(st.deliveries, data.size());
    st.send_rtt.record(t1 - t0);
  }
}

}  // namespace

int run_files(const FilesOptions& o) {
  try {
    Server s = open_server(o);
    long pid = o.rtmd_pid > 0 ? o.rtmd_pid
                              : find_listening_pid(static_cast<unsigned>(std::stoul(s.url.port)));
    Workers workers(o.threads);
    std::fprintf(stderr, "rtm-bench files: %s, %d clients, %llu-byte files; setting up...\n",
                 s.url.text.c_str(), o.clients, static_cast<unsigned long long>(o.file_size));
    auto users = create_users(workers, s, 2, 0);
    std::string data(o.file_size, '\0');
    std::mt19937_64 rng(std::random_device{}());
    for (auto& c : data) c = static_cast<char>(rng());
    long rss_before = read_rss_kib(pid);
    // The peak from here on: user creation above hashed passwords (argon2id takes tens of MiB
    // for a moment), which is not what this run measures.
    const bool peak_reset = reset_peak_rss(pid);

    RunState rs;
    const std::int64_t t_start = now_us();
    for (int i = 0; i < o.clients; ++i) {
      auto& ctx = workers.context(static_cast<std::size_t>(i));
      asio::co_spawn(ctx,
                     upload_loop(s, workers.stats(static_cast<std::size_t>(i)), rs, users[0],
                                 users[1], data, i),
                     asio::detached);
    }
    Progress progress(workers);
    long peak_seen = rss_before;
    for (int sec = 0; sec < static_cast<int>(o.duration); ++sec) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      progress.tick();
      peak_seen = std::max(peak_seen, read_rss_kib(pid));
    }
    rs.stop = true;
    const double window_s = (now_us() - t_start) / 1e6;
    std::this_thread::sleep_for(std::chrono::seconds(2));  // uploads in flight finish
    workers.stop();

    json::object settings{{"url", s.url.text},
                          {"clients", o.clients},
                          {"file_size", o.file_size},
                          {"duration_s", o.duration},
                          {"threads", o.threads}};
    Summary summary = collect(workers, "files", settings, window_s);
    const double bytes = static_cast<double>(summary.counters.deliveries);
    summary.extra.emplace_back("uploads_per_s", summary.counters.sends / window_s);
    summary.extra.emplace_back("mb_per_s", bytes / window_s / 1e6);
    if (rss_before > 0) {
      summary.extra.emplace_back("rtmd_rss_mib_before", rss_before / 1024.0);
      summary.extra.emplace_back("rtmd_rss_mib_max_during", peak_seen / 1024.0);
      if (peak_reset)
        summary.extra.emplace_back("rtmd_peak_rss_mib_during", read_peak_rss_kib(pid) / 1024.0);
    }
    print_summary(summary, o.json);
    return summary.counters.send_errors > 0 ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rtm-bench files: %s\n", e.what());
    return 2;
  }
}

}  // namespace rtm::bench
