// The access log (`--access-log`): one `http.access` line per answered HTTP request, in the
// same log as every other line (docs/semantics.md "Logs"). The path is logged without its
// query string: tokens and download signatures travel there (/v1/files/upload?token=,
// /v1/channel?token=, /v1/files/ID?exp=&sig=), and a log is no place for them.
//
// Calls are answered by http_server.cpp in one write, logged with log_access. The transports
// that write their own answers (file uploads and downloads, the event stream, WebSocket
// upgrades) are given an AccessLine instead and tell it what they wrote; it writes its line
// once, when they are done with it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace rtm::net {

// `target` is the request target as received; `bytes` what was written back, head included.
void log_access(std::string_view method, std::string_view target, unsigned status,
                std::chrono::steady_clock::time_point started, std::uint64_t bytes,
                std::string_view address);

// The access line of one request answered by a transport. Default-constructed it is off (the
// access log is off, or the line belongs to someone else after a move) and costs nothing.
// Its line is written by write() or, at the latest, by the destructor, so that every way out
// of a transport (refusal, cut connection, end of stream) leaves exactly one line; a request
// that got no answer at all (status still 0) leaves none.
class AccessLine {
 public:
  AccessLine() = default;
  AccessLine(std::string_view method, std::string_view target, std::string address,
             std::chrono::steady_clock::time_point started);
  AccessLine(AccessLine&& other) noexcept;
  AccessLine& operator=(AccessLine&&) = delete;
  AccessLine(const AccessLine&) = delete;
  AccessLine& operator=(const AccessLine&) = delete;
  ~AccessLine() { write(); }

  // `n` bytes of the answer went out, `sent` starting with them. While no status is known,
  // an "HTTP/1.x NNN" status line at the start of `sent` gives it.
  void wrote(std::string_view sent, std::uint64_t n);
  // Bytes of a body that carry no status line (file chunks, events).
  void wrote(std::uint64_t n) { bytes_ += n; }
  // For answers whose status line someone else writes (Beast's WebSocket handshake).
  void set_status(unsigned status) { status_ = status; }
  void write();

 private:
  bool on_ = false;
  std::string method_, path_, address_;
  std::chrono::steady_clock::time_point started_{};
  unsigned status_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace rtm::net
