// BlockingClient: runs AsyncConnection requests to completion on a private io_context, in
// short slices so that a deadline or a cancel flag set by a signal handler is noticed.
#include "http_client/blocking_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdio>
#include <optional>

#include "http_client/async_connection.hpp"
#include "http_client/client_tls.hpp"

namespace rtm::http {

namespace asio = boost::asio;
using boost::system::error_code;

struct BlockingClient::Impl {
  asio::io_context ioc;
  Endpoint endpoint;
  std::optional<AsyncConnection> conn;
};

BlockingClient::BlockingClient(BaseUrl url, std::shared_ptr<boost::asio::ssl::context> tls)
    : url_(std::move(url)), tls_(std::move(tls)), impl_(new Impl) {}
BlockingClient::~BlockingClient() = default;

Reply BlockingClient::request(std::string_view method, std::string_view path, std::string_view body,
                              std::string_view bearer, std::chrono::milliseconds timeout,
                              std::string_view extra_headers) {
  Impl& im = *impl_;
  if (!im.conn) {
    asio::ip::tcp::resolver resolver(im.ioc);
    error_code ec;
    auto results = resolver.resolve(url_.host, url_.port, ec);
    if (ec)
      throw TransportError(TransportError::Kind::resolve,
                           "cannot resolve " + url_.host + ": " + ec.message());
    for (const auto& r : results) im.endpoint.addresses.push_back(r.endpoint());
    im.endpoint.host_header = url_.host_header;
    if (url_.tls) {
      if (!tls_) {
        std::string why;
        tls_ = make_client_tls("", why);
        if (!tls_) throw TransportError(TransportError::Kind::connect, "cannot use TLS: " + why);
      }
      im.endpoint.tls = tls_;
      im.endpoint.server_name = url_.host;
    }
    im.conn.emplace(im.ioc.get_executor(), im.endpoint);
  }

  im.conn->set_extra_headers(std::string(extra_headers));
  const std::string target = url_.target(path);
  const bool fresh = !im.conn->is_open();
  bool done = false;
  error_code result;
  Response resp;
  asio::co_spawn(
      im.ioc,
      [&]() -> asio::awaitable<void> {
        result = co_await im.conn->request(method, target, bearer, body, resp);
        done = true;
      },
      asio::detached);

  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::optional<TransportError::Kind> abandoned;
  im.ioc.restart();
  while (!done) {
    im.ioc.run_for(std::chrono::milliseconds(100));
    if (done) break;
    if (!abandoned && cancel_ && *cancel_) abandoned = TransportError::Kind::cancelled;
    if (!abandoned && std::chrono::steady_clock::now() >= deadline)
      abandoned = TransportError::Kind::timeout;
    if (abandoned) im.conn->close();  // the request completes with operation_aborted
    if (im.ioc.stopped()) im.ioc.restart();
  }

  if (abandoned) {
    if (*abandoned == TransportError::Kind::cancelled)
      throw TransportError(*abandoned, "interrupted");
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", timeout.count() / 1000.0);
    throw TransportError(*abandoned, "no answer from " + url_.origin() + " within " + secs + " s");
  }
  if (result) {
    // A connection refused or reset before anything was sent: the server is not there.
    bool connect_failure =
        fresh &&
        (result == asio::error::connection_refused || result == asio::error::host_unreachable ||
         result == asio::error::network_unreachable || result == asio::error::timed_out);
    if (connect_failure)
      throw TransportError(TransportError::Kind::connect,
                           "cannot connect to " + url_.origin() + ": " + result.message());
    throw TransportError(TransportError::Kind::io,
                         "request to " + url_.origin() + " failed: " + result.message());
  }
  return Reply{resp.status, std::string(resp.body), std::string(resp.content_type)};
}

}  // namespace rtm::http
