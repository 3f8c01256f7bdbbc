// AsyncConnection: coroutine HTTP/1.1 keep-alive client over an Asio TCP socket (and TLS over
// it for https), using the minimal codec of http_codec.hpp.
#include "http_client/async_connection.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "http_client/http_codec.hpp"

namespace rtm::http {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kInitialBuffer = 16 * 1024;

class ClientCategory : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "rtm.http"; }
  std::string message(int ev) const override {
    switch (static_cast<ClientError>(ev)) {
      case ClientError::bad_response: return "malformed HTTP answer";
      case ClientError::response_too_large: return "HTTP answer too large";
      case ClientError::connection_closed: return "server closed the connection";
    }
    return "unknown error";
  }
};

}  // namespace

const boost::system::error_category& client_category() {
  static const ClientCategory category;
  return category;
}

AsyncConnection::AsyncConnection(asio::any_io_executor ex, const Endpoint& endpoint)
    : socket_(std::move(ex)), endpoint_(&endpoint) {}

// The TLS layer stays until the next connect(): a request still in progress on it completes
// with operation_aborted once the socket is closed.
void AsyncConnection::close() {
  error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

asio::awaitable<error_code> AsyncConnection::connect() {
  rbeg_ = rend_ = pending_consume_ = 0;
  auto [ec, ep] = co_await asio::async_connect(socket_, endpoint_->addresses, use_nothrow);
  if (ec) co_return ec;
  error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  if (!endpoint_->tls) co_return error_code{};
  tls_.emplace(socket_, *endpoint_->tls);
  const std::string& name = endpoint_->server_name;
  error_code not_ip;
  asio::ip::make_address(name, not_ip);
  if (not_ip) SSL_set_tlsext_host_name(tls_->native_handle(), name.c_str());  // SNI: names only
  tls_->set_verify_callback(asio::ssl::host_name_verification(name));
  auto [hec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_nothrow);
  co_return hec;
}

template <class Buffers>
asio::awaitable<std::pair<error_code, std::size_t>> AsyncConnection::read_some(
    const Buffers& buffers) {
  auto [ec, n] = tls_ ? co_await tls_->async_read_some(buffers, use_nothrow)
                      : co_await socket_.async_read_some(buffers, use_nothrow);
  // A TLS server that closes without close_notify has still ended the connection.
  if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
  co_return std::pair{ec, n};
}

template <class Buffers>
asio::awaitable<std::pair<error_code, std::size_t>> AsyncConnection::write_all(
    const Buffers& buffers) {
  auto [ec, n] = tls_ ? co_await asio::async_write(*tls_, buffers, use_nothrow)
                      : co_await asio::async_write(socket_, buffers, use_nothrow);
  co_return std::pair{ec, n};
}

asio::awaitable<error_code> AsyncConnection::request(std::string_view method,
                                                     std::string_view target,
                                                     std::string_view bearer, std::string_view body,
                                                     Response& out) {
  // Forget the previous answer; bytes beyond it on an idle connection mean a confused stream.
  rbeg_ += pending_consume_;
  pending_consume_ = 0;
  if (rbeg_ == rend_) rbeg_ = rend_ = 0;
  if (!socket_.is_open() || rbeg_ != rend_) {
    close();
    rbeg_ = rend_ = 0;
  }
  head_.clear();
  format_request_head(head_, method, target, endpoint_->host_header, bearer, body.size());
  if (!extra_headers_.empty()) head_.insert(head_.size() - 2, extra_headers_);

  bool reused = socket_.is_open();
  if (!reused) {
    error_code ec = co_await connect();
    if (ec) {
      close();
      co_return ec;
    }
  }
  bool got_bytes = false;
  error_code ec = co_await exchange(method, body, out, got_bytes);
  if (ec && reused && !got_bytes && ec != asio::error::operation_aborted) {
    // The server closed the idle keep-alive connection before reading this request.
    close();
    ec = co_await connect();
    if (!ec) ec = co_await exchange(method, body, out, got_bytes);
  }
  if (ec) close();
  co_return ec;
}

asio::awaitable<error_code> AsyncConnection::read_more() {
  if (rend_ == rbuf_.size()) {
    if (rbeg_ > 0) {
      std::memmove(rbuf_.data(), rbuf_.data() + rbeg_, rend_ - rbeg_);
      rend_ -= rbeg_;
      rbeg_ = 0;
    }
    if (rend_ == rbuf_.size()) {
      if (rbuf_.size() >= kMaxResponse) co_return make_error_code(ClientError::response_too_large);
      rbuf_.resize(std::max(kInitialBuffer, rbuf_.size() * 2));
    }
  }
  auto [ec, n] = co_await read_some(asio::buffer(rbuf_.data() + rend_, rbuf_.size() - rend_));
  rend_ += n;
  if (ec == asio::error::eof) co_return make_error_code(ClientError::connection_closed);
  co_return ec;
}

asio::awaitable<error_code> AsyncConnection::exchange(std::string_view method,
                                                      std::string_view body, Response& out,
                                                      bool& got_bytes) {
  std::array<asio::const_buffer, 2> bufs{asio::buffer(head_), asio::buffer(body)};
  auto [wec, written] = co_await write_all(bufs);
  if (wec) co_return wec;

  ResponseHead head;
  for (;;) {
    Parse p = parse_response_head(std::string_view(rbuf_.data() + rbeg_, rend_ - rbeg_), head);
    if (p == Parse::error) co_return make_error_code(ClientError::bad_response);
    if (p == Parse::done) {
      if (head.status >= 100 && head.status < 200 && head.status != 101) {
        rbeg_ += head.head_size;  // an interim answer (100 Continue): skip it
        continue;
      }
      break;
    }
    std::size_t before = rend_;
    error_code ec = co_await read_more();
    if (rend_ > before) got_bytes = true;
    if (ec) co_return ec;
  }

  // rbuf_ may move while the body is read (compaction, growth): keep offsets, not pointers.
  std::size_t consumed = 0;
  out.status = head.status;
  out.keep_alive = head.keep_alive;
  // Offsets relative to rbeg_ survive a compaction or growth of rbuf_.
  std::size_t ctype_rel =
      head.content_type.empty() ? 0 : head.content_type.data() - (rbuf_.data() + rbeg_);
  std::size_t ctype_len = head.content_type.size();

  if (body_is_empty(head, method)) {
    out.body = {};
    consumed = head.head_size;
  } else if (head.has_length) {
    if (head.head_size + head.content_length > kMaxResponse)
      co_return make_error_code(ClientError::response_too_large);
    while (rend_ - rbeg_ < head.head_size + head.content_length) {
      error_code ec = co_await read_more();
      if (ec) co_return ec;
    }
    out.body = std::string_view(rbuf_.data() + rbeg_ + head.head_size, head.content_length);
    consumed = head.head_size + head.content_length;
  } else if (head.chunked) {
    for (;;) {
      std::size_t body_at = rbeg_ + head.head_size;
      std::size_t used = 0;
      Parse p = decode_chunked(std::string_view(rbuf_.data() + body_at, rend_ - body_at),
                               chunked_body_, used);
      if (p == Parse::error) co_return make_error_code(ClientError::bad_response);
      if (p == Parse::done) {
        consumed = head.head_size + used;
        break;
      }
      error_code ec = co_await read_more();
      if (ec) co_return ec;
    }
    out.body = chunked_body_;
  } else {
    // No length: the body runs to the end of the connection.
    for (;;) {
      error_code ec = co_await read_more();
      if (ec == ClientError::connection_closed) break;
      if (ec) co_return ec;
    }
    std::size_t body_at = rbeg_ + head.head_size;
    out.body = std::string_view(rbuf_.data() + body_at, rend_ - body_at);
    consumed = rend_ - rbeg_;
    out.keep_alive = false;
  }
  out.content_type = std::string_view(rbuf_.data() + rbeg_ + ctype_rel, ctype_len);
  pending_consume_ = consumed;
  if (!out.keep_alive) close();
  co_return error_code{};
}

}  // namespace rtm::http
