// BlockingClient: a synchronous HTTP(S) client for the rtm CLI and the webhook sender. Each call
// runs an AsyncConnection
// on a private io_context with a deadline, and can be interrupted by a signal flag (rtm tail
// stops on SIGINT this way). Asio stays out of the callers' translation units.
#pragma once

#include <chrono>
#include <csignal>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "http_client/base_url.hpp"

namespace boost::asio::ssl {
class context;
}

namespace rtm::http {

// The call did not get an HTTP answer.
class TransportError : public std::runtime_error {
 public:
  enum class Kind { resolve, connect, io, timeout, cancelled };
  TransportError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct Reply {
  int status = 0;
  std::string body;
  std::string content_type;
};

class BlockingClient {
 public:
  // An https URL is verified with `tls` (client_tls.hpp), or with the system's CA store when
  // null (made on the first call; a store that cannot be read is a connect TransportError).
  explicit BlockingClient(BaseUrl url, std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~BlockingClient();

  // Sends `method` to url.prefix + path and waits for the answer at most `timeout`.
  // Throws TransportError when there is no answer.
  // `extra_headers`: more header lines, each ending in \r\n.
  Reply request(std::string_view method, std::string_view path, std::string_view body,
                std::string_view bearer, std::chrono::milliseconds timeout,
                std::string_view extra_headers = {});

  // While *flag is non-zero a call in progress is abandoned (TransportError cancelled).
  void set_cancel_flag(const volatile std::sig_atomic_t* flag) { cancel_ = flag; }

  const BaseUrl& url() const { return url_; }

 private:
  struct Impl;
  BaseUrl url_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  const volatile std::sig_atomic_t* cancel_ = nullptr;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rtm::http
