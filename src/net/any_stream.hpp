// AnyStream: one connection's byte stream, plain TCP or TLS, chosen when the connection is
// accepted (rtmd serves one or the other on its listener: net/server_tls.hpp). Every
// transport of net/ (HTTP, SSE, files, the WebSockets) is written once against it instead of
// twice as templates (Beast's server-flex): each operation is one switch on the kind, then
// the concrete stream's own operation with the caller's handler, so nothing is type-erased
// or allocated on the way and the plain path costs one branch.
//
// It is an AsyncReadStream and AsyncWriteStream for Beast and Asio, and a
// websocket::stream's next layer (teardown and close_socket are provided below).
//
// Two instantiations: HttpStream (a beast::tcp_stream, whose timers the HTTP connection uses
// for its request timeouts) and WsStream (a bare tcp::socket: a WebSocket keeps its own
// timer, and an idle socket should cost as little as possible). A TLS connection is an
// asio::ssl::stream<beast::tcp_stream> in both, on the heap: its TLS state cannot move to
// another layer type when the HTTP connection hands it to a WebSocket, and a plain socket
// should not carry the few hundred bytes of an SSL stream. (Not beast::ssl_stream: its
// flat_stream left a large body unwritten after a small head in one gathered write.)
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <chrono>
#include <memory>
#include <type_traits>
#include <utility>
#include <variant>

namespace rtm::net {

using TlsStream = boost::asio::ssl::stream<boost::beast::tcp_stream>;

template <class Plain>
class AnyStream {
 public:
  using executor_type = boost::asio::any_io_executor;

  explicit AnyStream(Plain plain) : v_(std::move(plain)) {}
  explicit AnyStream(std::unique_ptr<TlsStream> tls) : v_(std::move(tls)) {}
  AnyStream(AnyStream&&) = default;
  AnyStream& operator=(AnyStream&&) = default;

  bool is_tls() const { return std::holds_alternative<std::unique_ptr<TlsStream>>(v_); }
  executor_type get_executor() {
    return visit([](auto& s) -> executor_type { return s.get_executor(); });
  }
  // The TCP socket under it all: for the peer's address, a peek, or a shutdown.
  boost::asio::ip::tcp::socket& socket() {
    return visit([](auto& s) -> boost::asio::ip::tcp::socket& {
      auto& lowest = boost::beast::get_lowest_layer(s);
      if constexpr (std::is_same_v<std::decay_t<decltype(lowest)>, boost::asio::ip::tcp::socket>)
        return lowest;
      else
        return lowest.socket();
    });
  }

  // The request timeouts of the HTTP connection (beast::tcp_stream's own timer).
  void expires_after(std::chrono::steady_clock::duration d) requires
      std::is_same_v<Plain, boost::beast::tcp_stream> {
    visit([d](auto& s) { boost::beast::get_lowest_layer(s).expires_after(d); });
  }
  void expires_never() requires std::is_same_v<Plain, boost::beast::tcp_stream> {
    visit([](auto& s) { boost::beast::get_lowest_layer(s).expires_never(); });
  }

  // The TCP stream with its timers under either kind: for reading and discarding what a
  // client still sends after a final answer (the bytes need no decrypting to be dropped).
  boost::beast::tcp_stream& tcp() requires std::is_same_v<Plain, boost::beast::tcp_stream> {
    return visit(
        [](auto& s) -> boost::beast::tcp_stream& { return boost::beast::get_lowest_layer(s); });
  }

  // The TLS stream, when there is one (the close_notify at the end of an HTTP connection).
  TlsStream* tls() {
    auto* t = std::get_if<std::unique_ptr<TlsStream>>(&v_);
    return t ? t->get() : nullptr;
  }

  // Gives up the stream to a WebSocket (net/websocket_session.hpp): the plain kind keeps only
  // the socket, the TLS kind moves as it is.
  template <class Other>
      AnyStream<Other> release() && requires std::is_same_v<Plain, boost::beast::tcp_stream> &&
      std::is_same_v<Other, boost::asio::ip::tcp::socket> {
    if (auto* t = std::get_if<std::unique_ptr<TlsStream>>(&v_))
      return AnyStream<Other>(std::move(*t));
    return AnyStream<Other>(std::get<Plain>(v_).release_socket());
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          visit([&](auto& s) { s.async_read_some(b, std::move(handler)); });
        },
        token, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          visit([&](auto& s) { s.async_write_some(b, std::move(handler)); });
        },
        token, buffers);
  }

  // websocket::stream's hooks, found by argument-dependent lookup: the close handshake ends
  // with the TLS shutdown (or the TCP one), and a timed-out WebSocket closes the socket.
  friend void teardown(boost::beast::role_type role, AnyStream& s, boost::system::error_code& ec) {
    s.visit([&](auto& x) {
      using boost::beast::websocket::teardown;
      teardown(role, x, ec);
    });
  }
  template <class Handler>
  friend void async_teardown(boost::beast::role_type role, AnyStream& s, Handler&& handler) {
    s.visit([&](auto& x) {
      using boost::beast::websocket::async_teardown;
      async_teardown(role, x, std::move(handler));
    });
  }
  friend void beast_close_socket(AnyStream& s) {
    boost::system::error_code ignored;
    s.socket().close(ignored);
  }

 private:
  // The stream itself, whichever kind it is.
  template <class S>
  static S& deref(S& s) {
    return s;
  }
  static TlsStream& deref(std::unique_ptr<TlsStream>& s) { return *s; }
  template <class F>
  decltype(auto) visit(F&& f) {
    return std::visit([&](auto& s) -> decltype(auto) { return f(deref(s)); }, v_);
  }

  std::variant<Plain, std::unique_ptr<TlsStream>> v_;
};

using HttpStream = AnyStream<boost::beast::tcp_stream>;
using WsStream = AnyStream<boost::asio::ip::tcp::socket>;

}  // namespace rtm::net
