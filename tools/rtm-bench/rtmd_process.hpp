// RtmdProcess: a private rtmd for a scenario that measures the server process itself (rtm-bench
// soak): started on a free loopback port with a fresh temporary data dir and a generated API
// key, its output in DATA_DIR/rtmd.log, watched while it runs (alive()), stopped with SIGTERM
// at the end (its exit code is part of the result), and its data dir removed unless kept.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace rtm::bench {

class RtmdProcess {
 public:
  struct Options {
    std::string binary;             // path of rtmd
    std::vector<std::string> args;  // more flags, after the ones this class sets
    bool keep_data = false;         // leave the data dir behind (its path is printed)
  };

  // Starts rtmd and waits until GET /healthz answers 200 (10 s at most). Throws
  // std::runtime_error with the reason (and the tail of rtmd's log) when it does not come up.
  explicit RtmdProcess(const Options& o);
  // Kills rtmd if it still runs (SIGKILL) and removes the data dir unless kept.
  ~RtmdProcess();
  RtmdProcess(const RtmdProcess&) = delete;
  RtmdProcess& operator=(const RtmdProcess&) = delete;

  long pid() const { return pid_; }
  const std::string& url() const { return url_; }
  const std::string& api_key() const { return api_key_; }
  const std::string& data_dir() const { return data_dir_; }

  // Whether the process still runs (reaps it when it has exited; exit_status() says how).
  bool alive();
  // SIGTERM, then waits up to `limit`; SIGKILL after that. Returns the exit code, 128+signal
  // when a signal ended it, or -1 when it had to be killed.
  int stop(std::chrono::milliseconds limit);
  // The exit code once reaped (as stop() reports it); -1 while it runs.
  int exit_status() const { return exit_status_; }
  // The last `bytes` of rtmd's log.
  std::string log_tail(std::size_t bytes) const;

 private:
  bool reap(bool block);

  long pid_ = 0;
  int exit_status_ = -1;
  bool keep_data_ = false;
  std::string data_dir_, url_, api_key_, log_path_;
};

// rtmd beside this executable (build/bin/rtmd next to build/bin/rtm-bench); "" when unknown.
std::string rtmd_beside_this_program();

}  // namespace rtm::bench
