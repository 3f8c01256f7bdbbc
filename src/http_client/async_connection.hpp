// AsyncConnection: one keep-alive HTTP/1.1 client connection driven by C++20 coroutines on an
// Asio executor, one request in flight. It reuses its request and read buffers, so a steady
// stream of requests allocates nothing; used by rtm-bench directly and by the CLI through
// BlockingClient.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rtm::http {

// Where to connect: resolved once, shared by many connections.
struct Endpoint {
  std::vector<boost::asio::ip::tcp::endpoint> addresses;
  std::string host_header;
  // https: the context connections verify the server with (client_tls.hpp), and the name
  // its certificate must carry (sent as SNI unless it is an IP address).
  std::shared_ptr<boost::asio::ssl::context> tls;
  std::string server_name;
};

// One answer. `body` and `content_type` point into the connection's buffers and stay valid
// until the next request on the same connection.
struct Response {
  int status = 0;
  bool keep_alive = true;
  std::string_view body;
  std::string_view content_type;
};

// Errors of this layer beyond the socket's own (boost::asio::error::*).
enum class ClientError { bad_response = 1, response_too_large, connection_closed };
const boost::system::error_category& client_category();
inline boost::system::error_code make_error_code(ClientError e) {
  return {static_cast<int>(e), client_category()};
}

class AsyncConnection {
 public:
  AsyncConnection(boost::asio::any_io_executor ex, const Endpoint& endpoint);
  AsyncConnection(const AsyncConnection&) = delete;
  AsyncConnection& operator=(const AsyncConnection&) = delete;

  // Sends one request and reads its answer. Connects when not connected; when a reused
  // keep-alive connection turns out closed before any answer byte, reconnects and sends again
  // once. On success the connection stays open if the server allows keep-alive. On error the
  // connection is closed; operation_aborted means close() was called meanwhile.
  boost::asio::awaitable<boost::system::error_code> request(std::string_view method,
                                                            std::string_view target,
                                                            std::string_view bearer,
                                                            std::string_view body, Response& out);

  // Header lines (each ending in \r\n) sent with every request from now on.
  void set_extra_headers(std::string lines) { extra_headers_ = std::move(lines); }

  // Closes the socket; a request in progress completes with operation_aborted.
  // Must run on the connection's executor.
  void close();
  bool is_open() const { return socket_.is_open(); }
  boost::asio::any_io_executor get_executor() { return socket_.get_executor(); }

  // Largest answer accepted (head + body); larger is response_too_large.
  static constexpr std::size_t kMaxResponse = 64u << 20;

 private:
  boost::asio::awaitable<boost::system::error_code> connect();
  boost::asio::awaitable<boost::system::error_code> exchange(std::string_view method,
                                                             std::string_view body, Response& out,
                                                             bool& got_bytes);
  // Reads more bytes into rbuf_ (compacting or growing it first).
  boost::asio::awaitable<boost::system::error_code> read_more();

  // Reads and writes go through the TLS layer when the endpoint is https.
  template <class Buffers>
  boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_some(
      const Buffers& buffers);
  template <class Buffers>
  boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>> write_all(
      const Buffers& buffers);

  boost::asio::ip::tcp::socket socket_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;  // over socket_
  const Endpoint* endpoint_;
  std::string head_;  // request head, reused
  std::string extra_headers_;
  std::string rbuf_;  // read buffer; unread bytes are [rbeg_, rend_)
  std::size_t rbeg_ = 0;
  std::size_t rend_ = 0;
  std::size_t pending_consume_ = 0;  // bytes of the previous answer still in the buffer
  std::string chunked_body_;         // decoded body of a chunked answer
};

}  // namespace rtm::http

template <>
struct boost::system::is_error_code_enum<rtm::http::ClientError> : std::true_type {};
