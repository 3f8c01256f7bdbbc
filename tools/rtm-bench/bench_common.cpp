// Shared machinery of rtm-bench scenarios: workers, setup calls, progress and summary.
#include "bench_common.hpp"

#include <sys/resource.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <sstream>

#include "blocking_client.hpp"

namespace rtm::bench {

namespace json = boost::json;
using boost::system::error_code;

// ---------------------------------------------------------------- Workers

Workers::Workers(int threads) {
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    stats_.push_back(std::make_unique<ThreadStats>());
    guards_.push_back(asio::make_work_guard(*contexts_.back()));
  }
  for (auto& ctx : contexts_) threads_.emplace_back([c = ctx.get()] { c->run(); });
}

Workers::~Workers() { stop(); }

void Workers::stop() {
  guards_.clear();
  for (auto& ctx : contexts_) ctx->stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

// ---------------------------------------------------------------- server and calls

Server open_server(const CommonOptions& o) {
  std::string error;
  auto url = http::parse_base_url(o.url, error);
  if (!url) throw std::runtime_error("--url: " + error);
  Server s;
  s.url = *url;
  s.api_key = o.api_key;
  if (s.api_key.empty() && !o.data_dir.empty()) {
    std::ifstream in(o.data_dir + "/api-key");
    std::getline(in, s.api_key);
    while (!s.api_key.empty() && isspace(static_cast<unsigned char>(s.api_key.back())))
      s.api_key.pop_back();
  }
  if (s.api_key.empty())
    throw std::runtime_error("no API key: give --api-key, RTM_API_KEY or --data-dir");

  asio::io_context ioc;
  asio::ip::tcp::resolver resolver(ioc);
  error_code ec;
  auto results = resolver.resolve(s.url.host, s.url.port, ec);
  if (ec) throw std::runtime_error("cannot resolve " + s.url.host + ": " + ec.message());
  for (const auto& r : results) s.endpoint.addresses.push_back(r.endpoint());
  s.endpoint.host_header = s.url.host_header;

  http::BlockingClient probe(s.url);
  try {
    http::Reply r = probe.request("GET", "/healthz", "", "", std::chrono::seconds(10));
    if (r.status != 200)
      throw std::runtime_error(s.url.text + "/healthz answered HTTP " + std::to_string(r.status));
  } catch (const http::TransportError& e) {
    throw std::runtime_error(e.what());
  }
  return s;
}

asio::awaitable<json::object> call(http::AsyncConnection& conn, const Server& s,
                                   std::string_view method, const json::object& params,
                                   bool server) {
  std::string target = s.url.target(server ? "/v1/server/" : "/v1/");
  target.append(method);
  std::string body = json::serialize(params);
  http::Response resp;
  error_code ec =
      co_await conn.request("POST", target, server ? std::string_view(s.api_key) : "", body, resp);
  if (ec) throw CallError(-1, "Transport", std::string(method) + ": " + ec.message());
  json::value v = json::parse(resp.body, ec);
  json::object* obj = ec ? nullptr : v.if_object();
  json::value* rc = obj ? obj->if_contains("rc") : nullptr;
  if (!rc || !rc->is_int64())
    throw CallError(
        -1, "HTTP " + std::to_string(resp.status),
        std::string(method) + ": not an rtm answer (HTTP " + std::to_string(resp.status) + ")");
  if (rc->as_int64() != 0) {
    std::string name = "?", msg;
    if (auto* e = obj->if_contains("error"); e && e->is_string()) name = e->as_string().c_str();
    if (auto* m = obj->if_contains("msg"); m && m->is_string()) msg = m->as_string().c_str();
    throw CallError(
        rc->as_int64(), name,
        std::string(method) + ": " + name + " (" + std::to_string(rc->as_int64()) + "): " + msg);
  }
  co_return std::move(*obj);
}

asio::awaitable<std::string> open_session(http::AsyncConnection& conn, const Server& s,
                                          std::uint64_t uid) {
  json::object tp{{"uid", uid}, {"ttl", 3600}};
  json::object t = co_await call(conn, s, "user.token", tp, true);
  // Named, not a temporary in the co_await expression (g++ 12 coroutine temporaries bug).
  json::object none;
  // rtmd caps the sessions one address holds before they are authorized (1000 by default):
  // with more openers than that at once, a create is refused until others have logged in,
  // which takes milliseconds, so wait a little and ask again (for up to a minute).
  std::string session;
  for (int attempt = 0; session.empty(); ++attempt) {
    try {
      json::object c = co_await call(conn, s, "session.create", none, false);
      session = std::string(c.at("session").as_string());
    } catch (const CallError& e) {
      if (e.rc() != 1005 || attempt >= 600) throw;
    }
    if (session.empty()) {
      asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::use_awaitable);
    }
  }
  json::object ap{{"session", session}, {"token", t.at("token")}, {"mode", "multi"}};
  co_await call(conn, s, "session.authorize", ap, false);
  co_return session;
}

void run_all(Workers& w, std::size_t n,
             const std::function<asio::awaitable<void>(std::size_t)>& fn) {
  std::vector<std::future<void>> futures;
  futures.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    futures.push_back(asio::co_spawn(w.context(i), fn(i), asio::use_future));
  std::exception_ptr first;
  for (auto& f : futures) {
    try {
      f.get();
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

std::vector<std::uint64_t> create_users(Workers& w, const Server& s, std::size_t count,
                                        std::uint64_t uid_base) {
  std::vector<std::uint64_t> uids(count, 0);
  std::random_device rd;
  char tag[16];
  std::snprintf(tag, sizeof tag, "%06x", static_cast<unsigned>(rd() & 0xffffff));
  std::atomic<std::size_t> next{0};
  // Password hashing (argon2id) is the server's cost here: a few calls in flight keep its
  // threads busy without queueing hundreds of requests.
  std::size_t lanes = std::min<std::size_t>(count, 8);
  run_all(w, lanes, [&](std::size_t lane) -> asio::awaitable<void> {
    http::AsyncConnection conn(w.context(lane).get_executor(), s.endpoint);
    for (std::size_t i; (i = next.fetch_add(1)) < count;) {
      json::object p;
      if (uid_base) {
        p["uid"] = uid_base + i;
        p["login"] = "rtm-bench-" + std::to_string(uid_base + i);
      } else {
        p["login"] = "bench-" + std::string(tag) + "-" + std::to_string(i);
      }
      p["password"] = "bench-" + std::string(tag);
      try {
        json::object a = co_await call(conn, s, "user.add", p, true);
        uids[i] = a.at("uid").to_number<std::uint64_t>();
      } catch (const CallError& e) {
        if (!(uid_base && e.name() == "AlreadyExists")) throw;
        uids[i] = uid_base + i;  // made by an earlier run: reuse it
      }
    }
  });
  return uids;
}

std::vector<std::uint64_t> reuse_or_create_users(Workers& w, const Server& s, std::size_t count,
                                                 std::uint64_t uid_base) {
  if (uid_base == 0) return create_users(w, s, count, 0);
  std::vector<char> missing(count, 0);
  std::atomic<std::size_t> next{0};
  run_all(w, std::min<std::size_t>(count, 16), [&](std::size_t lane) -> asio::awaitable<void> {
    http::AsyncConnection conn(w.context(lane).get_executor(), s.endpoint);
    for (std::size_t i; (i = next.fetch_add(1)) < count;) {
      json::object p{{"uid", uid_base + i}, {"ttl", 60}};
      try {
        co_await call(conn, s, "user.token", p, true);
      } catch (const CallError& e) {
        if (e.name() != "NotFound") throw;
        missing[i] = 1;
      }
    }
  });
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < count; ++i)
    if (missing[i]) todo.push_back(i);
  if (!todo.empty())
    std::fprintf(stderr, "rtm-bench: %zu of %zu users exist; adding %zu (argon2id each)...\n",
                 count - todo.size(), count, todo.size());
  next = 0;
  run_all(w, std::min<std::size_t>(todo.size(), 8), [&](std::size_t lane) -> asio::awaitable<void> {
    http::AsyncConnection conn(w.context(lane).get_executor(), s.endpoint);
    for (std::size_t k; (k = next.fetch_add(1)) < todo.size();) {
      const std::uint64_t uid = uid_base + todo[k];
      json::object p{{"uid", uid},
                     {"login", "rtm-bench-" + std::to_string(uid)},
                     {"password", "bench-" + std::to_string(uid)}};
      try {
        co_await call(conn, s, "user.add", p, true);
      } catch (const CallError& e) {
        if (e.name() != "AlreadyExists") throw;  // made meanwhile by another run
      }
    }
  });
  std::vector<std::uint64_t> uids(count);
  for (std::size_t i = 0; i < count; ++i) uids[i] = uid_base + i;
  return uids;
}

// ---------------------------------------------------------------- probes

std::uint64_t raise_open_file_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  return rl.rlim_cur;
}

namespace {

long read_status_kib(long pid, std::string_view field) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::strtol(line.c_str() + field.size(), nullptr, 10);
  }
  return -1;
}

}  // namespace

long read_rss_kib(long pid) { return read_status_kib(pid, "VmRSS:"); }

long read_peak_rss_kib(long pid) { return read_status_kib(pid, "VmHWM:"); }

bool reset_peak_rss(long pid) {
  if (pid <= 0) return false;
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

long find_listening_pid(unsigned port) {
  namespace fs = std::filesystem;
  // Socket inodes in state 0A (LISTEN) whose local port is `port`.
  std::vector<std::string> inodes;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the column titles
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, st, queues, tr, retr, uid, timeout, inode;
      if (!(f >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid >> timeout >> inode))
        continue;
      std::size_t colon = local.rfind(':');
      if (st != "0A" || colon == std::string::npos) continue;
      if (std::strtoul(local.c_str() + colon + 1, nullptr, 16) == port)
        inodes.push_back("socket:[" + inode + "]");
    }
  }
  if (inodes.empty()) return 0;
  std::error_code ec;
  for (const auto& proc : fs::directory_iterator("/proc", ec)) {
    const std::string name = proc.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::error_code fec;
    for (const auto& fd : fs::directory_iterator(proc.path() / "fd", fec)) {
      std::error_code lec;
      fs::path target = fs::read_symlink(fd.path(), lec);
      if (lec) continue;
      for (const auto& inode : inodes)
        if (target == inode) return std::strtol(name.c_str(), nullptr, 10);
    }
  }
  return 0;
}

std::vector<std::optional<double>> read_metrics(const Server& s,
                                                const std::vector<std::string>& names) {
  std::vector<std::optional<double>> values(names.size());
  http::BlockingClient client(s.url);
  http::Reply r;
  try {
    r = client.request("GET", "/metrics", "", "", std::chrono::seconds(10));
  } catch (const http::TransportError&) {
    return values;
  }
  if (r.status != 200) return values;
  std::string_view text = r.body;
  while (!text.empty()) {
    std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    for (std::size_t i = 0; i < names.size(); ++i) {
      const std::string& name = names[i];
      if (line.size() > name.size() && line.substr(0, name.size()) == name &&
          line[name.size()] == ' ')
        values[i] = std::strtod(std::string(line.substr(name.size() + 1)).c_str(), nullptr);
    }
  }
  return values;
}

std::optional<double> read_metric(const Server& s, std::string_view name) {
  return read_metrics(s, {std::string(name)})[0];
}

long count_open_fds(long pid) {
  if (pid <= 0) return -1;
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec);
  if (ec) return -1;
  long n = 0;
  for (auto end = std::filesystem::directory_iterator(); it != end; it.increment(ec)) {
    if (ec) return -1;
    ++n;
  }
  return n;
}

// ---------------------------------------------------------------- progress and summary

Counters read_counters(Workers& w) {
  Counters c;
  for (std::size_t i = 0; i < w.size(); ++i) {
    ThreadStats& t = w.stats(i);
    c.sends += t.sends.load(std::memory_order_relaxed);
    c.send_errors += t.send_errors.load(std::memory_order_relaxed);
    c.deliveries += t.deliveries.load(std::memory_order_relaxed);
    c.poll_errors += t.poll_errors.load(std::memory_order_relaxed);
    c.lost += t.lost.load(std::memory_order_relaxed);
  }
  return c;
}

Progress::Progress(Workers& w)
    : workers_(w), last_(read_counters(w)), start_us_(now_us()), last_us_(start_us_) {}

void Progress::tick() {
  Counters c = read_counters(workers_);
  std::int64_t now = now_us();
  double dt = std::max<std::int64_t>(now - last_us_, 1) / 1e6;
  std::fprintf(stderr, "[%4.0fs] sends/s %9.0f   deliveries/s %9.0f   errors %llu%s\n",
               (now - start_us_) / 1e6, (c.sends - last_.sends) / dt,
               (c.deliveries - last_.deliveries) / dt,
               static_cast<unsigned long long>(c.send_errors + c.poll_errors),
               c.lost ? ("   lost " + std::to_string(c.lost)).c_str() : "");
  last_ = c;
  last_us_ = now;
}

Summary collect(Workers& w, std::string mode, json::object settings, double duration_s) {
  Summary s;
  s.mode = std::move(mode);
  s.settings = std::move(settings);
  s.duration_s = duration_s;
  s.counters = read_counters(w);
  for (std::size_t i = 0; i < w.size(); ++i) {
    s.send_rtt.merge(w.stats(i).send_rtt);
    s.delivery.merge(w.stats(i).delivery);
    if (!w.stats(i).first_error.empty()) s.errors.push_back(w.stats(i).first_error);
  }
  return s;
}

json::value json_number(double v) {
  if (v == static_cast<double>(static_cast<std::int64_t>(v))) return static_cast<std::int64_t>(v);
  return v;
}

namespace {

json::object latency_json(const LatencyHistogram& h) {
  return json::object{{"count", h.count()},
                      {"p50", h.percentile_us(0.50)},
                      {"p99", h.percentile_us(0.99)},
                      {"p999", h.percentile_us(0.999)},
                      {"max", h.max_us()},
                      {"mean", static_cast<std::uint64_t>(h.mean_us() + 0.5)}};
}

void print_latency_row(const char* name, const LatencyHistogram& h) {
  if (h.count() == 0) {
    std::printf("  %-22s %10s\n", name, "-");
    return;
  }
  std::printf("  %-22s %10.3f %10.3f %10.3f %10.3f\n", name, h.percentile_us(0.50) / 1000.0,
              h.percentile_us(0.99) / 1000.0, h.max_us() / 1000.0, h.mean_us() / 1000.0);
}

}  // namespace

void print_summary(const Summary& s, bool as_json) {
  const Counters& c = s.counters;
  double d = s.duration_s > 0 ? s.duration_s : 1;
  std::uint64_t errors = c.send_errors + c.poll_errors;
  if (as_json) {
    json::object o{{"mode", s.mode},
                   {"settings", s.settings},
                   {"duration_s", json_number(s.duration_s)},
                   {"sends", c.sends},
                   {"sends_per_s", std::llround(c.sends / d)},
                   {"deliveries", c.deliveries},
                   {"deliveries_per_s", std::llround(c.deliveries / d)},
                   {"errors", errors},
                   {"send_errors", c.send_errors},
                   {"poll_errors", c.poll_errors},
                   {"lost", c.lost},
                   {"send_rtt_us", latency_json(s.send_rtt)},
                   {"delivery_us", latency_json(s.delivery)}};
    json::array errs;
    for (const auto& e : s.errors) errs.emplace_back(e);
    o["first_errors"] = std::move(errs);
    for (const auto& [name, value] : s.extra) o[name] = json_number(value);
    std::printf("%s\n", json::serialize(o).c_str());
    return;
  }
  std::printf("rtm-bench %s  %s\n", s.mode.c_str(), json::serialize(s.settings).c_str());
  std::printf("  %-22s %12s %12s\n", "", "count", "per s");
  std::printf("  %-22s %12llu %12.0f\n", "sends", static_cast<unsigned long long>(c.sends),
              c.sends / d);
  std::printf("  %-22s %12llu %12.0f\n", "deliveries",
              static_cast<unsigned long long>(c.deliveries), c.deliveries / d);
  std::printf("  %-22s %12llu   (send %llu, poll %llu)\n", "errors",
              static_cast<unsigned long long>(errors),
              static_cast<unsigned long long>(c.send_errors),
              static_cast<unsigned long long>(c.poll_errors));
  std::printf("  %-22s %12llu\n", "lost (gap events)", static_cast<unsigned long long>(c.lost));
  std::printf("  %-22s %10s %10s %10s %10s\n", "latency, ms", "p50", "p99", "max", "mean");
  print_latency_row("send round-trip", s.send_rtt);
  print_latency_row("send -> delivery", s.delivery);
  for (const auto& [name, value] : s.extra) std::printf("  %-34s %12.2f\n", name.c_str(), value);
  for (const auto& e : s.errors) std::printf("  first error: %s\n", e.c_str());
}

}  // namespace rtm::bench
