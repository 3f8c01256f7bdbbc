// rtm-bench soak (see soak.hpp): the server to soak, the run with its samples, progress lines
// and CSV, the drain at the end, and the summary with the flatness verdict.
#include "soak.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>

#include "rtmd_process.hpp"

namespace rtm::bench {

namespace json = boost::json;

namespace {

// One sample row: rtmd, the server's own gauges, the load generator, and the counters so far.
struct Row {
  double t_s = 0;
  long rss_kib = -1, fds = -1, bench_rss_kib = -1;
  std::optional<double> sessions, events_queued;
  std::array<std::uint64_t, kOpCount> ops{};
  std::uint64_t errors = 0, overdue = 0;
};

// A message acknowledged this long ago and not yet delivered counts as overdue in the progress
// lines (at the end, after the drain, anything not delivered is missing).
constexpr std::int64_t kOverdueUs = 30'000'000;

std::string mib(double kib) {
  if (kib < 0) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", kib / 1024.0);
  return b;
}

std::string num(double v, int decimals = 0) {
  if (v < 0) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

std::string signed_num(double v, int decimals) {
  char b[32];
  std::snprintf(b, sizeof b, "%+.*f", decimals, v);
  return b;
}

class CsvWriter {
 public:
  explicit CsvWriter(const std::string& path) {
    if (path.empty()) return;
    f_ = std::fopen(path.c_str(), "w");
    if (!f_) throw std::runtime_error("--csv " + path + ": cannot write");
    std::fprintf(f_, "t_s,rss_kib,fds,sessions,events_queued,bench_rss_kib");
    for (std::size_t i = 0; i < kOpCount; ++i) std::fprintf(f_, ",%s", op_key(static_cast<Op>(i)));
    std::fprintf(f_, ",errors,overdue\n");
    std::fflush(f_);
  }
  ~CsvWriter() {
    if (f_) std::fclose(f_);
  }
  void write(const Row& r) {
    if (!f_) return;
    auto opt = [](const std::optional<double>& v) { return v ? num(*v) : std::string(); };
    std::fprintf(f_, "%.1f,%ld,%ld,%s,%s,%ld", r.t_s, r.rss_kib, r.fds, opt(r.sessions).c_str(),
                 opt(r.events_queued).c_str(), r.bench_rss_kib);
    for (auto v : r.ops) std::fprintf(f_, ",%llu", static_cast<unsigned long long>(v));
    std::fprintf(f_, ",%llu,%llu\n", static_cast<unsigned long long>(r.errors),
                 static_cast<unsigned long long>(r.overdue));
    std::fflush(f_);  // a run that is cut short keeps its samples
  }

 private:
  std::FILE* f_ = nullptr;
};

void print_progress(const Row& r, const Row& prev) {
  const double dt = std::max(1e-3, r.t_s - prev.t_s);
  auto rate = [&](std::initializer_list<Op> ops) {
    std::uint64_t d = 0;
    for (Op op : ops)
      d += r.ops[static_cast<std::size_t>(op)] - prev.ops[static_cast<std::size_t>(op)];
    return d / dt;
  };
  std::fprintf(
      stderr,
      "[%5.0fs] rss %s MiB  fds %ld  sessions %s | p2p %.0f/s  group %.0f/s  logins "
      "%.1f/s  uploads %.1f/s  reconnects %.1f/s  channel %.1f/s | errors %llu  "
      "overdue %llu\n",
      r.t_s, mib(static_cast<double>(r.rss_kib)).c_str(), r.fds,
      r.sessions ? num(*r.sessions).c_str() : "-", rate({Op::p2p_delivery}),
      rate({Op::group_delivery}), rate({Op::login_token, Op::login_password, Op::login_kill}),
      rate({Op::upload}), rate({Op::ws_reconnect}), rate({Op::channel_delivery}),
      static_cast<unsigned long long>(r.errors), static_cast<unsigned long long>(r.overdue));
}

json::object tally_json(const DeliveryLedger::Tally& t) {
  return json::object{{"acked", t.acked},
                      {"delivered", t.deliveries},
                      {"missing", t.pending},
                      {"duplicates", t.duplicates},
                      {"unknown", t.unknown}};
}

}  // namespace

int run_soak(const SoakOptions& o) {
  // The server: our own rtmd (the default), or the one at --url.
  std::unique_ptr<RtmdProcess> own;
  Server server;
  long pid = 0;
  try {
    CommonOptions c = o;
    if (!o.use_url) {
      RtmdProcess::Options ro;
      ro.binary = o.rtmd.empty() ? rtmd_beside_this_program() : o.rtmd;
      // The server event stream keeps its last N events whether read or not; at the ~1 event/s
      // of this load 100 is reached in two minutes, so the ring's filling is not taken for
      // growth (the default 10,000 would fill for hours).
      const bool own_limit = std::any_of(o.rtmd_args.begin(), o.rtmd_args.end(), [](auto& a) {
        return a.rfind("--server-events-limit", 0) == 0;
      });
      if (!own_limit) ro.args = {"--server-events-limit", "100"};
      ro.args.insert(ro.args.end(), o.rtmd_args.begin(), o.rtmd_args.end());
      ro.keep_data = o.keep_data;
      own = std::make_unique<RtmdProcess>(ro);
      c.url = own->url();
      c.api_key = own->api_key();
      c.data_dir.clear();
      pid = own->pid();
      if (o.keep_data)
        std::fprintf(stderr, "rtm-bench soak: rtmd's data and log stay in %s\n",
                     own->data_dir().c_str());
    }
    server = open_server(c);
    if (o.use_url)
      pid = o.rtmd_pid > 0 ? o.rtmd_pid
                           : find_listening_pid(static_cast<unsigned>(std::stoul(server.url.port)));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rtm-bench soak: %s\n", e.what());
    return 2;
  }
  if (read_rss_kib(pid) < 0 || count_open_fds(pid) < 0) {
    std::fprintf(stderr,
                 "rtm-bench soak: cannot read rtmd's /proc/%ld/status and fd (give --rtmd-pid of "
                 "a local rtmd of this user, or let the soak start its own)\n",
                 pid);
    return 2;
  }
  const std::uint64_t need = static_cast<std::uint64_t>(o.plan.subscribers) + 256;
  if (raise_open_file_limit() < need) {
    std::fprintf(stderr, "rtm-bench soak: %d subscribers need %llu open files\n",
                 o.plan.subscribers, static_cast<unsigned long long>(need));
    return 2;
  }

  Workers workers(o.threads);
  SoakLoad load(workers, server, o.plan);  // after the workers: its sockets go first
  std::unique_ptr<CsvWriter> csv;
  try {
    csv = std::make_unique<CsvWriter>(o.csv);
    std::fprintf(stderr, "rtm-bench soak: %s (rtmd pid %ld), %.0f s; setting up...\n",
                 server.url.text.c_str(), pid, o.duration);
    const std::int64_t t = now_us();
    load.setup();
    std::fprintf(stderr, "rtm-bench soak: setup %.1f s; load runs...\n", (now_us() - t) / 1e6);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rtm-bench soak: setup failed: %s\n", e.what());
    return 2;
  }

  std::vector<SoakSample> samples;
  std::string stopped_early;
  Row prev;
  load.start();
  // The start sample once every WebSocket is attached: the load's steady state, not its ramp.
  {
    const std::int64_t limit = now_us() + 30'000'000;
    while (load.sockets_connected() < load.sockets_total() && now_us() < limit)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (load.sockets_connected() < load.sockets_total())
      std::fprintf(stderr, "rtm-bench soak: only %zu of %zu WebSockets attached after 30 s\n",
                   load.sockets_connected(), load.sockets_total());
  }
  const std::int64_t t0 = now_us();
  auto take = [&] {
    Row r;
    r.t_s = (now_us() - t0) / 1e6;
    r.rss_kib = read_rss_kib(pid);
    r.fds = count_open_fds(pid);
    r.bench_rss_kib = read_rss_kib(::getpid());
    auto m = read_metrics(server, {"rtm_sessions", "rtm_events_queued"});
    r.sessions = m[0];
    r.events_queued = m[1];
    r.ops = load.ops().snapshot();
    r.errors = load.errors().total();
    SoakChecks c = load.checks(kOverdueUs);
    r.overdue = c.p2p.overdue + c.group.overdue + c.channel.overdue;
    if (r.rss_kib >= 0 && r.fds >= 0) samples.push_back({r.t_s, r.rss_kib, r.fds});
    csv->write(r);
    print_progress(r, samples.size() <= 1 ? r : prev);
    prev = r;
  };
  take();
  const auto interval_us = static_cast<std::int64_t>(o.sample_interval * 1e6);
  const auto end_us = t0 + static_cast<std::int64_t>(o.duration * 1e6);
  for (std::int64_t next = t0 + interval_us;; next += interval_us) {
    const std::int64_t at = std::min(next, end_us);
    while (now_us() < at) {
      std::this_thread::sleep_for(std::chrono::microseconds(
          std::min<std::int64_t>(200'000, std::max<std::int64_t>(1, at - now_us()))));
      if (own && !own->alive()) break;
    }
    if (own && !own->alive()) {
      stopped_early = "rtmd exited (status " + std::to_string(own->exit_status()) + ")";
      std::fprintf(stderr, "rtm-bench soak: ERROR %s; its log ends:\n%s\n", stopped_early.c_str(),
                   own->log_tail(3000).c_str());
      break;
    }
    take();
    if (load.errors().total() > o.max_errors) {
      stopped_early = "more than " + std::to_string(o.max_errors) + " errors";
      std::fprintf(stderr, "rtm-bench soak: stopping early: %s\n", stopped_early.c_str());
      break;
    }
    if (at >= end_us) break;
  }
  const double window_s = (now_us() - t0) / 1e6;

  // The end: no new sends; what was acknowledged reaches its receivers; then everything closes.
  load.stop_generating();
  const bool drained = stopped_early.empty() ? load.drain(std::chrono::seconds(20)) : false;
  load.stop();
  const SoakChecks checks = load.checks(0);
  const auto ops = load.ops().snapshot();
  const auto error_kinds = load.errors().by_kind();
  workers.stop();
  int rtmd_exit = 0;
  if (own) {
    if (own->alive()) {
      rtmd_exit = own->stop(std::chrono::seconds(10));
    } else {
      rtmd_exit = own->exit_status();
    }
  }

  const SoakTrend trend = judge_trend(samples, o.limits);
  const std::uint64_t missing = checks.p2p.pending + checks.group.pending + checks.channel.pending;
  std::vector<std::string> failures;
  if (!stopped_early.empty()) failures.push_back(stopped_early);
  if (load.errors().total()) failures.push_back(std::to_string(load.errors().total()) + " errors");
  if (missing)
    failures.push_back(std::to_string(missing) + " acknowledged messages not delivered" +
                       (drained ? "" : " by the end of the drain"));
  if (own && rtmd_exit != 0)
    failures.push_back("rtmd exited " + std::to_string(rtmd_exit) + " on SIGTERM");
  if (o.plan.p2p_per_s > 0 && ops[static_cast<std::size_t>(Op::p2p_send)] == 0)
    failures.push_back("no p2p send succeeded");
  const bool not_flat = trend.judged && !trend.flat();
  const int code = !failures.empty() ? 1 : not_flat ? 3 : 0;

  const std::string verdict = !trend.judged ? "not judged (" + trend.not_judged_why + ")"
                              : trend.flat()
                                  ? "FLAT"
                                  : std::string("GROWING (") + (trend.rss_flat ? "" : "RSS") +
                                        (!trend.rss_flat && !trend.fds_flat ? ", " : "") +
                                        (trend.fds_flat ? "" : "descriptors") + ")";
  const double d = window_s > 0 ? window_s : 1;
  const SoakPlan& p = o.plan;
  auto per_s = [&](double r) { return json_number(std::round(r * p.scale * 100) / 100); };
  json::object settings{
      {"url", server.url.text},
      {"own_rtmd", own != nullptr},
      {"duration_s", json_number(o.duration)},
      {"sample_interval_s", json_number(o.sample_interval)},
      {"threads", o.threads},
      {"scale", json_number(p.scale)},
      {"subscribers", p.subscribers},
      {"rates_per_s", json::object{{"p2p", per_s(p.p2p_per_s)},
                                   {"group", per_s(p.group_per_s)},
                                   {"token_logins", per_s(p.token_logins_per_s)},
                                   {"kills", per_s(p.kills_per_s)},
                                   {"password_logins", per_s(p.password_logins_per_s)},
                                   {"uploads", per_s(p.uploads_per_s)},
                                   {"channel", per_s(p.channel_sends_per_s)}}},
      {"ws_drop_every_s", json_number(p.ws_receiver_drop_every_s / p.scale)},
      {"subscriber_drop_every_s", json_number(p.subscriber_drop_every_s / p.scale)}};

  if (o.json) {
    json::object ops_json;
    for (std::size_t i = 0; i < kOpCount; ++i) ops_json[op_key(static_cast<Op>(i))] = ops[i];
    json::object errs;
    for (const auto& [k, v] : error_kinds) errs[k] = v;
    json::object out{
        {"mode", "soak"},
        {"settings", settings},
        {"duration_s", std::round(window_s * 10) / 10},
        {"ops", ops_json},
        {"errors", load.errors().total()},
        {"errors_by_kind", errs},
        {"p2p", tally_json(checks.p2p)},
        {"group", tally_json(checks.group)},
        {"channel", tally_json(checks.channel)},
        {"event_id_breaks", checks.event_id_breaks},
        {"rss_kib", json::object{{"start", trend.rss_start_kib},
                                 {"middle", json_number(trend.rss_middle_kib)},
                                 {"end", json_number(trend.rss_end_kib)},
                                 {"max", trend.rss_max_kib}}},
        {"fds", json::object{{"start", trend.fd_start},
                             {"middle", json_number(trend.fd_middle)},
                             {"end", json_number(trend.fd_end)},
                             {"max", trend.fd_max}}},
        {"rss_slope_kib_per_min", std::round(trend.rss_slope_kib_per_min * 10) / 10},
        {"rss_end_minus_middle_kib", json_number(trend.rss_end_minus_middle_kib)},
        {"fd_slope_per_min", std::round(trend.fd_slope_per_min * 100) / 100},
        {"fd_end_minus_middle", json_number(trend.fd_end_minus_middle)},
        {"limits",
         json::object{{"rss_slope_kib_per_min", json_number(o.limits.max_rss_slope_kib_per_min)},
                      {"rss_growth_kib", json_number(o.limits.max_rss_growth_kib)},
                      {"fd_slope_per_min", json_number(o.limits.max_fd_slope_per_min)},
                      {"fd_growth", json_number(o.limits.max_fd_growth)}}},
        {"judged", trend.judged},
        {"flat", trend.flat()},
        {"verdict", verdict},
        {"rtmd_exit", rtmd_exit},
        {"ok", code == 0}};
    json::array f;
    for (const auto& s : failures) f.emplace_back(s);
    out["failures"] = std::move(f);
    std::printf("%s\n", json::serialize(out).c_str());
    return code;
  }

  std::printf("rtm-bench soak  %s\n", json::serialize(settings).c_str());
  std::printf("  %-34s %12s %10s\n", "operation", "count", "per s");
  for (std::size_t i = 0; i < kOpCount; ++i)
    std::printf("  %-34s %12llu %10.2f\n", op_name(static_cast<Op>(i)),
                static_cast<unsigned long long>(ops[i]), ops[i] / d);
  std::printf("  %-34s %12llu\n", "errors", static_cast<unsigned long long>(load.errors().total()));
  for (const auto& [k, v] : error_kinds)
    std::printf("    %-60s %8llu\n", k.c_str(), static_cast<unsigned long long>(v));
  std::printf("  %-34s %10s %10s %10s %10s %10s\n", "deliveries checked", "acked", "delivered",
              "missing", "twice", "unknown");
  auto row = [](const char* name, const DeliveryLedger::Tally& t) {
    std::printf(
        "  %-34s %10llu %10llu %10llu %10llu %10llu\n", name,
        static_cast<unsigned long long>(t.acked), static_cast<unsigned long long>(t.deliveries),
        static_cast<unsigned long long>(t.pending), static_cast<unsigned long long>(t.duplicates),
        static_cast<unsigned long long>(t.unknown));
  };
  row("p2p messages and files", checks.p2p);
  char group_name[64];
  std::snprintf(group_name, sizeof group_name, "group (x %d subscribers)", o.plan.subscribers);
  row(group_name, checks.group);
  row("channel messages", checks.channel);
  std::printf("  %-34s %10llu\n", "event ids out of sequence",
              static_cast<unsigned long long>(checks.event_id_breaks));
  std::printf("  %-34s %10s %10s %10s %10s\n", "rtmd", "start", "middle", "end", "max");
  std::printf("  %-34s %10s %10s %10s %10s\n", "RSS, MiB",
              mib(static_cast<double>(trend.rss_start_kib)).c_str(),
              mib(trend.rss_middle_kib).c_str(), mib(trend.rss_end_kib).c_str(),
              mib(static_cast<double>(trend.rss_max_kib)).c_str());
  std::printf("  %-34s %10ld %10s %10s %10ld\n", "open descriptors", trend.fd_start,
              num(trend.fd_middle, 1).c_str(), num(trend.fd_end, 1).c_str(), trend.fd_max);
  const int judged_pct = static_cast<int>(std::lround((1 - o.limits.warmup_fraction) * 100));
  std::printf("  %-34s %14s KiB/min   (limit %s)\n",
              ("RSS slope, last " + std::to_string(judged_pct) + " %").c_str(),
              signed_num(trend.rss_slope_kib_per_min, 1).c_str(),
              num(o.limits.max_rss_slope_kib_per_min, 0).c_str());
  std::printf("  %-34s %14s KiB       (limit %s)\n", "RSS end - middle",
              signed_num(trend.rss_end_minus_middle_kib, 0).c_str(),
              num(o.limits.max_rss_growth_kib, 0).c_str());
  std::printf("  %-34s %14s /min      (limit %s)\n",
              ("descriptors slope, last " + std::to_string(judged_pct) + " %").c_str(),
              signed_num(trend.fd_slope_per_min, 2).c_str(),
              num(o.limits.max_fd_slope_per_min, 1).c_str());
  std::printf("  %-34s %14s           (limit %s)\n", "descriptors end - middle",
              signed_num(trend.fd_end_minus_middle, 1).c_str(),
              num(o.limits.max_fd_growth, 0).c_str());
  std::printf("  %-34s %s\n", "flatness", verdict.c_str());
  if (own) std::printf("  %-34s %d\n", "rtmd exit code on SIGTERM", rtmd_exit);
  if (failures.empty()) {
    std::printf("  %-34s %s\n", "result", code == 0 ? "OK" : "NOT FLAT");
  } else {
    std::string f;
    for (const auto& s : failures) f += (f.empty() ? "" : "; ") + s;
    std::printf("  %-34s FAILED: %s\n", "result", f.c_str());
  }
  return code;
}

}  // namespace rtm::bench
