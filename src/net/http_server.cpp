// See http_server.hpp. One coroutine per connection, in the style of Beast's
// advanced/server-flex-awaitable: expected errors come back as values (as_tuple), a request
// must arrive within request_timeout, and the body limit is enforced while reading.
#include "net/http_server.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

#include "api/reply.hpp"
#include "net/access_log.hpp"
#include "net/client_address.hpp"
#include "net/file_transfer.hpp"
#include "net/push_websockets.hpp"
#include "net/server_tls.hpp"
#include "net/sse_stream.hpp"
#include "net/web_assets.hpp"
#include "net/websocket_session.hpp"

namespace rtm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using asio::awaitable;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// A TLS client must finish its handshake within this (a slow-loris on the handshake).
constexpr auto kTlsHandshakeTimeout = std::chrono::seconds(10);

struct Target {
  std::string_view path;
  bool xml = false;
};

Target parse_target(std::string_view target) {
  Target t;
  auto q = target.find('?');
  t.path = target.substr(0, q);
  if (q != std::string_view::npos) {
    auto url = boost::urls::parse_origin_form(target);
    if (url) {
      for (auto param : url->params())
        if (param.key == "format" && param.value == "xml") t.xml = true;
    }
  }
  return t;
}

std::string_view bearer_token(const http::request<http::string_body>& req) {
  auto it = req.find(http::field::authorization);
  if (it == req.end()) return {};
  std::string_view v = it->value();
  constexpr std::string_view kPrefix = "Bearer ";
  if (v.size() <= kPrefix.size() || v.substr(0, kPrefix.size()) != kPrefix) return {};
  return v.substr(kPrefix.size());
}

// True when the client has closed its side (or reset) the connection: an answer written now
// would land in a socket nobody reads. A client that sent more (a pipelined request) is there.
bool peer_has_closed(HttpStream& stream) {
  int fd = stream.socket().native_handle();
  if (stream.is_tls()) {
    // A TLS client's close_notify is data, so a peek finds bytes: ask whether the peer has
    // shut its side (FIN), whatever is still unread.
    pollfd p{fd, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
  }
  char byte;
  ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return false;
  if (n == 0) return true;
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

// An answer ready to write: the head is formatted here rather than by Beast's serializer,
// since every answer has the same three headers and the serializer's field list and buffer
// sequences cost a tenth of a request's CPU. Written as two buffers in one writev.
struct Answer {
  unsigned status = 200;
  std::string_view content_type;  // always a literal
  std::string body;
  unsigned version = 11;
  bool keep_alive = true;
  std::string head;
  std::function<void()> undelivered;  // the reply's hook (api::Reply::undelivered)

  void format_head() {
    auto reason = http::obsolete_reason(static_cast<http::status>(status));
    head.reserve(128);
    head.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    head.append(std::to_string(status)).append(" ").append(reason.data(), reason.size());
    head.append("\r\nContent-Type: ").append(content_type);
    head.append("\r\nContent-Length: ").append(std::to_string(body.size()));
    // HTTP/1.1 keeps the connection by default and 1.0 closes it, so only the exception
    // is spelled out.
    if (version == 10 && keep_alive) head.append("\r\nConnection: keep-alive");
    if (version != 10 && !keep_alive) head.append("\r\nConnection: close");
    head.append("\r\n\r\n");
  }
  // Adds header lines (each ending in \r\n) to a formatted head.
  void add_headers(std::string_view lines) {
    if (!lines.empty()) head.insert(head.size() - 2, lines);
  }
  std::array<asio::const_buffer, 2> buffers() const {
    return {asio::buffer(head), asio::buffer(body)};
  }
};

bool is_server_path(std::string_view path) { return path.substr(0, 11) == "/v1/server/"; }

// Bytes that are not HTTP (as opposed to a closed, reset or timed-out connection).
bool is_malformed_request(const beast::error_code& ec) {
  static const auto& http_category = beast::error_code(http::error::bad_method).category();
  return ec.category() == http_category && ec != http::error::end_of_stream &&
         ec != http::error::partial_message;
}

}  // namespace

struct HttpServer::Impl {
  std::vector<asio::io_context*> contexts;
  api::Services& services;
  HttpLimits limits;
  std::function<std::string()> metrics;
  const ServerTls* tls;  // null: plain HTTP
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::uint16_t bound_port = 0;
  WebSocketLimits ws_limits;

  Answer make_response(unsigned version, bool keep_alive, http::status status, std::string body,
                       std::string_view content_type) {
    Answer a;
    a.status = static_cast<unsigned>(status);
    a.content_type = content_type;
    a.body = std::move(body);
    a.version = version;
    a.keep_alive = keep_alive;
    a.format_head();
    return a;
  }

  Answer reply_response(const api::Reply& reply, bool xml, unsigned version, bool keep_alive) {
    auto status = static_cast<http::status>(reply.http_status());
    Answer a =
        xml ? make_response(version, keep_alive, status, api::encode_xml(reply), "application/xml")
            : make_response(version, keep_alive, status, api::encode_json(reply),
                            "application/json");
    if (reply.retry_after_s > 0)
      a.add_headers("Retry-After: " + std::to_string(reply.retry_after_s) + "\r\n");
    return a;
  }

  // The client's address for the limits kept per address (net/client_address.hpp).
  std::string caller_address(const http::fields& req, const std::string& peer) const {
    if (limits.trusted_proxies.empty()) return peer;
    std::vector<std::string_view> forwarded;
    for (auto [it, end] = req.equal_range("X-Forwarded-For"); it != end; ++it)
      forwarded.push_back(it->value());
    return client_address(peer, forwarded, limits.trusted_proxies);
  }

  // The access line of a request a transport answers (files, SSE, WebSockets); off when the
  // access log is.
  AccessLine access_line(const http::request_header<>& req, const std::string& peer,
                         std::chrono::steady_clock::time_point started) const {
    if (!limits.access_log) return {};
    return AccessLine(req.method_string(), req.target(), caller_address(req, peer), started);
  }

  awaitable<Answer> handle(http::request<http::string_body>& req, const std::string& peer) {
    Target target = parse_target(req.target());
    auto accept = req[http::field::accept];
    bool xml = target.xml || accept.find("application/xml") != std::string_view::npos;
    unsigned v = req.version();
    bool ka = req.keep_alive();

    if (req.method() == http::verb::options) {
      // A browser's preflight before a cross-origin POST (CorsPolicy).
      std::string_view origin = req[http::field::origin];
      std::string allowed;
      if (!is_server_path(target.path)) allowed = limits.cors.preflight_headers(origin);
      Answer a =
          make_response(v, ka, allowed.empty() ? http::status::forbidden : http::status::no_content,
                        "", "text/plain");
      a.add_headers(allowed);
      co_return a;
    }
    if (target.path == "/healthz" && req.method() == http::verb::get) {
      co_return make_response(v, ka, http::status::ok, R"({"rc":0,"status":"ok"})",
                              "application/json");
    }
    if (target.path == "/metrics" && req.method() == http::verb::get) {
      co_return make_response(v, ka, http::status::ok, metrics(), "text/plain; version=0.0.4");
    }
    constexpr std::string_view kServer = "/v1/server/";
    constexpr std::string_view kClient = "/v1/";
    if (target.path.substr(0, kClient.size()) == kClient) {
      if (req.method() != http::verb::post) {
        auto reply =
            api::Reply::error(Rc::InvalidRequest, "calls are POST /v1/<method> with a JSON body");
        services.metrics.record(reply.rc);
        co_return reply_response(reply, xml, v, ka);
      }
      api::Reply reply;
      api::Caller caller{caller_address(req, peer), {}};
      if (target.path.substr(0, kServer.size()) == kServer) {
        caller.bearer = bearer_token(req);
        caller.authorization_given = !req[http::field::authorization].empty();
        reply = co_await api::dispatch(services, api::Scope::Server,
                                       target.path.substr(kServer.size()), req.body(), caller);
      } else {
        reply = co_await api::dispatch(services, api::Scope::Client,
                                       target.path.substr(kClient.size()), req.body(), caller);
      }
      Answer a = reply_response(reply, xml, v, ka);
      a.undelivered = std::move(reply.undelivered);
      co_return a;
    }
    if (req.method() == http::verb::get || req.method() == http::verb::head) {
      if (const WebAsset* asset = find_web_asset(target.path)) {
        Answer a =
            make_response(v, ka, http::status::ok, std::string(asset->bytes), asset->content_type);
        if (req.method() == http::verb::head) a.body.clear();  // the head keeps the length
        co_return a;
      }
    }
    auto reply = api::Reply::error(Rc::UnknownMethod, "no such path");
    co_return reply_response(reply, xml, v, ka);
  }

  // A new connection. With TLS the handshake comes first, and a client speaking plain HTTP
  // to the TLS port gets a plain 400 saying so, then the connection closes.
  awaitable<void> start_connection(tcp::socket socket) {
    beast::error_code peer_ec;
    std::string peer = socket.remote_endpoint(peer_ec).address().to_string();
    if (peer_ec) peer.clear();
    beast::tcp_stream tcp(std::move(socket));
    beast::flat_buffer buffer;
    if (!tls) {
      HttpStream stream(std::move(tcp));
      co_await serve(stream, buffer, peer);
      co_return;
    }
    tcp.expires_after(kTlsHandshakeTimeout);
    auto [dec, is_tls] = co_await beast::async_detect_ssl(tcp, buffer, kUseTuple);
    if (dec) co_return;  // gone, or silent past the timeout
    if (!is_tls) {
      HttpStream stream(std::move(tcp));
      auto res = reply_response(
          api::Reply::error(Rc::InvalidRequest, "this port speaks HTTPS: use https:// or wss://"),
          false, 11, false);
      co_await write_and_close(stream, res);
      co_return;
    }
    auto ssl = std::make_unique<TlsStream>(std::move(tcp), *tls->current());
    auto [hec, used] =
        co_await ssl->async_handshake(asio::ssl::stream_base::server, buffer.data(), kUseTuple);
    if (hec) co_return;  // not a client we can talk to (old TLS, bad ciphers, a scanner)
    buffer.consume(used);
    HttpStream stream(std::move(ssl));
    co_await serve(stream, buffer, peer);
  }

  // The requests of one connection, one after another, until it closes.
  awaitable<void> serve(HttpStream& stream, beast::flat_buffer& buffer, const std::string& peer) {
    for (;;) {
      // The header first: file uploads stream their body (net/file_transfer.hpp), every
      // other request reads its body whole, within max_body.
      http::request_parser<http::empty_body> head;
      head.header_limit(static_cast<std::uint32_t>(limits.max_header));
      head.body_limit(std::numeric_limits<std::uint64_t>::max());
      stream.expires_after(limits.request_timeout);
      auto [hec, hn] = co_await http::async_read_header(stream, buffer, head, kUseTuple);
      auto started = limits.access_log ? std::chrono::steady_clock::now()  // for its line
                                       : std::chrono::steady_clock::time_point{};
      if (!hec) {
        std::string_view path = parse_target(head.get().target()).path;
        if (path.substr(0, kFilesPath.size()) == kFilesPath) {
          auto method = head.get().method();
          std::string cors = limits.cors.answer_headers(head.get()[http::field::origin]);
          bool keep = false;
          AccessLine line = access_line(head.get(), peer, started);
          if (method == http::verb::post && path == "/v1/files/upload") {
            keep = co_await serve_upload(stream, buffer, head, services, limits.request_timeout,
                                         cors, line);
          } else if (method == http::verb::get || method == http::verb::head) {
            keep = co_await serve_download(stream, head.get(), services, cors, line);
          } else if (method != http::verb::options) {
            auto res = reply_response(
                api::Reply::error(Rc::InvalidRequest,
                                  "files are POST /v1/files/upload and GET /v1/files/<id>"),
                false, head.get().version(), false);
            res.add_headers(cors);
            line.set_status(res.status);
            line.wrote(res.head.size() + res.body.size());
            co_await write_and_close(stream, res);
            co_return;
          }
          if (method != http::verb::options) {
            if (keep) continue;
            co_await close_after_draining(stream);  // a refused upload's body may still come
            co_return;
          }
        }
      }
      http::request_parser<http::string_body> parser(std::move(head));
      // Beast checks a Content-Length against the limit only while it parses the header
      // (read above with no limit, for uploads), and chunks as they come.
      parser.body_limit(limits.max_body);
      beast::error_code ec = hec;
      if (!ec) {
        if (auto length = parser.content_length(); length && *length > limits.max_body) {
          ec = http::error::body_limit;
        } else {
          auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kUseTuple);
          ec = rec;
        }
      }
      if (ec) {
        if (ec == http::error::body_limit) {
          // The headers were read: answer in the format they asked for.
          const auto& head = parser.get();
          bool xml = parse_target(head.target()).xml ||
                     head[http::field::accept].find("application/xml") != std::string_view::npos;
          auto reply = api::Reply::error(
              Rc::PayloadTooLarge, "body is over " + std::to_string(limits.max_body) + " bytes");
          services.metrics.record(reply.rc);
          auto res = reply_response(reply, xml, 11, false);
          if (limits.access_log)
            log_access(head.method_string(), head.target(), res.status, started,
                       res.head.size() + res.body.size(), caller_address(head, peer));
          co_await write_and_close(stream, res);
        } else if (is_malformed_request(ec)) {
          auto reply =
              api::Reply::error(Rc::InvalidRequest, "malformed HTTP request: " + ec.message());
          services.metrics.record(reply.rc);
          auto res = reply_response(reply, false, 11, false);
          if (limits.access_log)
            log_access(parser.get().method_string(), parser.get().target(), res.status, started,
                       res.head.size() + res.body.size(), caller_address(parser.get(), peer));
          co_await write_and_close(stream, res);
        }
        break;  // end of stream, timeout, reset: nothing to answer
      }
      auto req = parser.release();
      stream.expires_never();  // a long poll may legitimately take a minute
      if (req.method() == http::verb::get && parse_target(req.target()).path == "/v1/events") {
        AccessLine line = access_line(req, peer, started);
        co_await serve_sse(stream, req, services, SseLimits{},
                           limits.cors.answer_headers(req[http::field::origin]), line);
        break;
      }
      if (websocket::is_upgrade(req)) {
        auto path = parse_target(req.target()).path;
        AccessLine line = access_line(req, peer, started);
        if (path == "/v1/ws") {
          std::string address = caller_address(req, peer);
          start_websocket(std::move(stream).release<tcp::socket>(), std::move(req), services,
                          ws_limits, std::move(address), std::move(line));
          co_return;
        }
        if (path == "/v1/channel") {
          co_await serve_channel_socket(std::move(stream), std::move(req), services, ws_limits,
                                        line);
          co_return;
        }
        if (path == "/v1/server/ws") {
          co_await serve_server_event_socket(std::move(stream), std::move(req), services, ws_limits,
                                             line);
          co_return;
        }
        auto res = reply_response(api::Reply::error(Rc::UnknownMethod, "no WebSocket at this path"),
                                  false, req.version(), false);
        line.set_status(res.status);
        line.wrote(res.head.size() + res.body.size());
        co_await write_and_close(stream, res);
        break;
      }
      auto res = co_await handle(req, peer);
      if (req.method() != http::verb::options && !is_server_path(parse_target(req.target()).path))
        res.add_headers(limits.cors.answer_headers(req[http::field::origin]));
      if (res.undelivered && peer_has_closed(stream)) {
        res.undelivered();  // a long poll whose client left while it waited
        break;
      }
      stream.expires_after(limits.request_timeout);  // a client that never reads is dropped
      auto [wec, wn] = co_await asio::async_write(stream, res.buffers(), kUseTuple);
      if (limits.access_log)
        log_access(req.method_string(), req.target(), res.status, started, wn,
                   caller_address(req, peer));
      if (wec && res.undelivered) res.undelivered();
      if (wec || !res.keep_alive) break;
    }
    if (TlsStream* t = stream.tls()) {
      // close_notify, so the client can tell the end from a cut connection.
      stream.expires_after(std::chrono::seconds(2));
      co_await t->async_shutdown(kUseTuple);
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  // Writes a final answer, then closes (close_after_draining).
  awaitable<void> write_and_close(HttpStream& stream, Answer& res) {
    stream.expires_after(std::chrono::seconds(5));
    auto [wec, wn] = co_await asio::async_write(stream, res.buffers(), kUseTuple);
    if (wec) co_return;
    co_await close_after_draining(stream);
  }

  // Closes our side after an answer that ends the connection, then reads and discards what
  // the client is still sending (bounded in time and bytes): closing with unread bytes would
  // reset the connection, and the client could lose the answer.
  awaitable<void> close_after_draining(HttpStream& stream) {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    std::array<char, 16384> sink;
    std::size_t drained = 0;
    beast::tcp_stream& tcp = stream.tcp();  // TLS records are dropped without decrypting
    tcp.expires_after(std::chrono::seconds(2));
    while (drained < 64 * 1024 * 1024) {
      auto [rec, rn] = co_await tcp.async_read_some(asio::buffer(sink), kUseTuple);
      if (rec) break;
      drained += rn;
    }
  }

  awaitable<void> accept_loop(tcp::acceptor& acceptor) {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) continue;  // e.g. EMFILE: keep accepting once descriptors free up
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      asio::co_spawn(acceptor.get_executor(), start_connection(std::move(socket)), asio::detached);
    }
  }
};

HttpServer::HttpServer(std::vector<asio::io_context*> contexts, api::Services& services,
                       HttpLimits limits, std::function<std::string()> metrics,
                       const ServerTls* tls)
    : impl_(new Impl{std::move(contexts), services, limits, std::move(metrics), tls, {}, 0, {}}) {
  impl_->ws_limits.max_message = limits.max_body;
}

HttpServer::~HttpServer() = default;

Status HttpServer::listen(const std::string& host, std::uint16_t port) {
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return make_error(Rc::Unavailable, "cannot listen on '" + host + "': not an IP address");
  std::uint16_t bind_port = port;
  // Our acceptors share the port with SO_REUSEPORT, which would also let a second rtmd (same
  // user) bind it silently and take half of the connections. A plain bind first refuses a
  // port that anything listens on.
  if (port != 0) {
    tcp::acceptor probe(*impl_->contexts.front());
    tcp::endpoint endpoint(address, port);
    probe.open(endpoint.protocol(), ec);
    if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) probe.bind(endpoint, ec);
    if (ec == asio::error::address_in_use)
      return make_error(Rc::Unavailable, "cannot listen on " + host + ":" + std::to_string(port) +
                                             ": the address is in use (another rtmd?)");
    ec.clear();
  }
  for (auto* ctx : impl_->contexts) {
    auto acceptor = std::make_unique<tcp::acceptor>(*ctx);
    tcp::endpoint endpoint(address, bind_port);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        ec = beast::error_code(errno, boost::system::system_category());
    }
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return make_error(Rc::Unavailable, "cannot listen on " + host + ":" +
                                             std::to_string(bind_port) + ": " + ec.message());
    bind_port = acceptor->local_endpoint().port();
    impl_->acceptors.push_back(std::move(acceptor));
  }
  impl_->bound_port = bind_port;
  for (auto& acceptor : impl_->acceptors)
    asio::co_spawn(acceptor->get_executor(), impl_->accept_loop(*acceptor), asio::detached);
  return ok_status();
}

std::uint16_t HttpServer::port() const { return impl_->bound_port; }

void HttpServer::stop_accepting() {
  for (auto& acceptor : impl_->acceptors) {
    asio::post(acceptor->get_executor(), [a = acceptor.get()] {
      beast::error_code ignored;
      a->close(ignored);
    });
  }
  close_all_websockets();
}

}  // namespace rtm::net
