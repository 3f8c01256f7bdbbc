// HttpServer: the HTTP/1.1 transport (Boost.Beast). It accepts on every worker io_context
// (SO_REUSEPORT: the kernel spreads connections, and a connection lives on one thread for
// its life), reads requests with size and time limits, and hands /v1/... calls to the api/
// dispatcher. It knows sockets, not business rules (DESIGN.md net/).
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/method_table.hpp"
#include "core/result.hpp"
#include "net/client_address.hpp"
#include "net/cors_policy.hpp"

namespace rtm::net {

class ServerTls;

struct HttpLimits {
  std::size_t max_body = 1024 * 1024;  // larger bodies: 413 PayloadTooLarge
  std::size_t max_header = 16 * 1024;
  std::chrono::seconds request_timeout{30};  // headers and body must arrive within this
  CorsPolicy cors;                 // browser origins allowed besides rtmd's own (the client side only)
  bool access_log = false;         // an http.access line per answered request (net/access_log.hpp)
  TrustedProxies trusted_proxies;  // peers whose X-Forwarded-For names the client
};

class HttpServer {
 public:
  // `metrics` renders /metrics on demand. With `tls` (outliving the server) every connection
  // is HTTPS/WSS with its current certificate; without, plain HTTP.
  HttpServer(std::vector<boost::asio::io_context*> contexts, api::Services& services,
             HttpLimits limits, std::function<std::string()> metrics,
             const ServerTls* tls = nullptr);
  ~HttpServer();

  // Binds host:port on every context. Unavailable with a one-line reason on failure.
  Status listen(const std::string& host, std::uint16_t port);
  std::uint16_t port() const;
  // Stops accepting; open connections finish their current request, WebSockets are closed
  // with 1001.
  void stop_accepting();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rtm::net
