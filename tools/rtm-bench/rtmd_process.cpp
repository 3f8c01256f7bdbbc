// See rtmd_process.hpp.
#include "rtmd_process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "blocking_client.hpp"

extern char** environ;

namespace rtm::bench {

namespace fs = std::filesystem;

namespace {

// A loopback port nobody listens on right now (another process may take it before rtmd does;
// the start is retried then).
unsigned free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  unsigned port = 0;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

std::string random_hex(std::size_t bytes) {
  std::random_device rd;
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < bytes; ++i) {
    unsigned b = rd() & 0xff;
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

bool healthy(const std::string& url) {
  std::string error;
  auto base = http::parse_base_url(url, error);
  if (!base) return false;
  try {
    http::BlockingClient c(*base);
    return c.request("GET", "/healthz", "", "", std::chrono::seconds(1)).status == 200;
  } catch (const http::TransportError&) {
    return false;
  }
}

}  // namespace

std::string rtmd_beside_this_program() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  return (self.parent_path() / "rtmd").string();
}

RtmdProcess::RtmdProcess(const Options& o) : keep_data_(o.keep_data) {
  if (o.binary.empty() || ::access(o.binary.c_str(), X_OK) != 0)
    throw std::runtime_error("rtmd not found at '" + o.binary + "' (give --rtmd PATH)");
  char tmpl[] = "/tmp/rtm-soak-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  data_dir_ = tmpl;
  log_path_ = data_dir_ + "/rtmd.log";
  api_key_ = "soak-" + random_hex(16);

  // rtmd's own settings come from the flags alone: RTM_* variables of the caller's shell
  // (a config file, another data dir) must not change what is measured.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "RTM_", 4) != 0) env.emplace_back(*e);

  std::string last_failure;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const unsigned port = free_port();
    if (port == 0) throw std::runtime_error("no free loopback port");
    url_ = "http://127.0.0.1:" + std::to_string(port);
    std::vector<std::string> args{
        o.binary,     "--listen",          "127.0.0.1:" + std::to_string(port),
        "--data-dir", data_dir_ + "/data", "--api-key",
        api_key_,     "--log-level",       "warn"};
    args.insert(args.end(), o.args.begin(), o.args.end());
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) throw std::runtime_error(log_path_ + ": " + std::strerror(errno));
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(log_fd);
      throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec. rtmd dies with this process, so
      // an interrupted soak leaves no server behind.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      const int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, 0);
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(log_fd);
    pid_ = pid;
    exit_status_ = -1;

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (!alive()) break;
      if (healthy(url_)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (alive()) {
      ::kill(pid_, SIGKILL);
      reap(true);
      throw std::runtime_error("rtmd did not answer /healthz within 10 s; its log:\n" +
                               log_tail(2000));
    }
    last_failure = log_tail(2000);
    // Another process took the port between free_port() and rtmd's bind: try another.
    if (last_failure.find("in use") == std::string::npos) break;
  }
  pid_ = 0;
  throw std::runtime_error("rtmd exited at start (status " + std::to_string(exit_status_) +
                           "); its log:\n" + last_failure);
}

RtmdProcess::~RtmdProcess() {
  if (pid_ > 0 && exit_status_ < 0) {
    ::kill(pid_, SIGKILL);
    reap(true);
  }
  if (keep_data_) return;
  std::error_code ec;
  fs::remove_all(data_dir_, ec);
}

bool RtmdProcess::reap(bool block) {
  if (pid_ <= 0 || exit_status_ >= 0) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r == 0) return false;
  if (r < 0) {
    exit_status_ = 255;  // not our child any more: nothing to wait for
    return true;
  }
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

bool RtmdProcess::alive() { return pid_ > 0 && !reap(false); }

int RtmdProcess::stop(std::chrono::milliseconds limit) {
  if (!alive()) return exit_status_;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (reap(false)) return exit_status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  reap(true);
  return -1;
}

std::string RtmdProcess::log_tail(std::size_t bytes) const {
  std::ifstream in(log_path_, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

}  // namespace rtm::bench
