// What every rtm-bench scenario shares: common options, worker threads (one io_context each),
// per-thread counters, JSON calls over AsyncConnection, user creation, session login,
// once-a-second progress on stderr, and the final summary (table or JSON).
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "async_connection.hpp"
#include "base_url.hpp"
#include "latency_histogram.hpp"

namespace rtm::bench {

namespace asio = boost::asio;

struct CommonOptions {
  std::string url = "http://127.0.0.1:8080";
  std::string api_key;
  std::string data_dir;  // the API key may come from DATA_DIR/api-key
  int threads = 1;
  bool json = false;
};

// Monotonic microseconds, comparable between threads and processes of one machine.
inline std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Counters of one worker thread. Only the owning thread writes (relaxed load+store, no locked
// instruction); the progress printer reads them. Histograms and first_error are touched only
// by the owning thread until the workers are joined.
struct alignas(64) ThreadStats {
  std::atomic<std::uint64_t> sends{0};
  std::atomic<std::uint64_t> send_errors{0};
  std::atomic<std::uint64_t> deliveries{0};
  std::atomic<std::uint64_t> poll_errors{0};
  std::atomic<std::uint64_t> lost{0};  // events the server dropped (gap events)
  LatencyHistogram send_rtt;
  LatencyHistogram delivery;
  std::string first_error;

  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void note_error(std::string_view what) {
    if (first_error.empty()) first_error = std::string(what.substr(0, 300));
  }
};

// T threads, each running its own io_context until stop().
class Workers {
 public:
  explicit Workers(int threads);
  ~Workers();
  std::size_t size() const { return contexts_.size(); }
  asio::io_context& context(std::size_t i) { return *contexts_[i % contexts_.size()]; }
  ThreadStats& stats(std::size_t i) { return *stats_[i % stats_.size()]; }
  void stop();  // stops the loops and joins the threads (idempotent)

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<std::unique_ptr<ThreadStats>> stats_;
  std::vector<std::thread> threads_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
};

// The server under test: where it is and the key of its server API.
struct Server {
  http::BaseUrl url;
  http::Endpoint endpoint;
  std::string api_key;
};

// Resolves --url, reads the API key (--api-key or DATA_DIR/api-key) and checks /healthz.
// Throws std::runtime_error with a one-line reason.
Server open_server(const CommonOptions& o);

// An error answer (rc != 0) or a transport failure (rc -1) of a setup call.
class CallError : public std::runtime_error {
 public:
  CallError(std::int64_t rc, std::string name, const std::string& what)
      : std::runtime_error(what), rc_(rc), name_(std::move(name)) {}
  std::int64_t rc() const { return rc_; }
  const std::string& name() const { return name_; }

 private:
  std::int64_t rc_;
  std::string name_;
};

// One JSON call (/v1/<method> or /v1/server/<method>) on `conn`; the answer object on rc 0,
// else throws CallError. For setup, not the measured paths.
asio::awaitable<boost::json::object> call(http::AsyncConnection& conn, const Server& s,
                                          std::string_view method,
                                          const boost::json::object& params, bool server);

// user.token + session.create + session.authorize (mode multi): an authorized session of uid.
asio::awaitable<std::string> open_session(http::AsyncConnection& conn, const Server& s,
                                          std::uint64_t uid);

// Runs fn(i) for i in [0, n) on worker i % T and waits for all; rethrows the first failure.
void run_all(Workers& w, std::size_t n,
             const std::function<asio::awaitable<void>(std::size_t)>& fn);

// Makes `count` users with server user.add on a few parallel connections and returns their
// uids. uid_base 0: fresh users "bench-<random>-<i>"; else uids uid_base+i, logins
// "rtm-bench-<uid>", reused when they exist (AlreadyExists).
std::vector<std::uint64_t> create_users(Workers& w, const Server& s, std::size_t count,
                                        std::uint64_t uid_base);

// The same users as create_users(count, uid_base) with uid_base != 0, but asks first which of
// them exist (user.token, cheap) and adds only the missing ones: user.add hashes the password
// (argon2id) even for a user that exists, which makes a rerun over 10,000 users take minutes.
std::vector<std::uint64_t> reuse_or_create_users(Workers& w, const Server& s, std::size_t count,
                                                 std::uint64_t uid_base);

// Sums of all threads' counters (cheap; safe while the workers run).
struct Counters {
  std::uint64_t sends = 0, send_errors = 0, deliveries = 0, poll_errors = 0, lost = 0;
};
Counters read_counters(Workers& w);

// ---- probes of the machine and of the server process (scenarios that measure rtmd itself)

// Raises this process's open-file limit (RLIMIT_NOFILE) to its hard limit, so that a
// scenario can hold one socket per simulated client; returns the soft limit now in force.
std::uint64_t raise_open_file_limit();

// Resident set size of process `pid` in KiB (VmRSS of /proc/PID/status); -1 when unreadable.
long read_rss_kib(long pid);
// Its peak resident set size (VmHWM) since start or since reset_peak_rss(), in KiB; -1 when
// unreadable.
long read_peak_rss_kib(long pid);
// Resets that peak to the current RSS (writes 5 to /proc/PID/clear_refs; the same user's
// process only). False when it could not.
bool reset_peak_rss(long pid);

// The pid of the local process listening on TCP `port` (found through /proc/net/tcp{,6} and
// the /proc/*/fd links this user may read); 0 when none is found.
long find_listening_pid(unsigned port);

// The value of an unlabelled sample `name` in the server's GET /metrics (Prometheus text);
// nullopt when the server does not answer or has no such metric.
std::optional<double> read_metric(const Server& s, std::string_view name);
// The same for several names with one GET: one entry per name, nullopt where it is missing.
std::vector<std::optional<double>> read_metrics(const Server& s,
                                                const std::vector<std::string>& names);

// Open file descriptors of process `pid` (entries of /proc/PID/fd); -1 when unreadable.
long count_open_fds(long pid);

// Prints "[  3s] sends/s ... deliveries/s ... errors ..." to stderr once per call.
class Progress {
 public:
  explicit Progress(Workers& w);
  void tick();  // call once per second

 private:
  Workers& workers_;
  Counters last_;
  std::int64_t start_us_, last_us_;
};

// The end of a run: counters, merged histograms and the scenario's settings.
struct Summary {
  std::string mode;              // "p2p", ...
  boost::json::object settings;  // scenario flags, echoed in the report
  double duration_s = 0;         // the measured window (rates are per this)
  Counters counters;
  LatencyHistogram send_rtt;
  LatencyHistogram delivery;
  std::vector<std::string> errors;  // first error text of each thread that had one
  // Scenario-specific figures (e.g. server CPU per million deliveries): a row each in the
  // table, a field each in the JSON.
  std::vector<std::pair<std::string, double>> extra;
};
// Call after Workers::stop(): merges every thread's histograms and first errors.
Summary collect(Workers& w, std::string mode, boost::json::object settings, double duration_s);
// v as a JSON integer when it is integral (Boost.JSON prints every double with an exponent).
boost::json::value json_number(double v);
// A table on stdout, or one JSON object when `json`.
void print_summary(const Summary& s, bool json);

}  // namespace rtm::bench
