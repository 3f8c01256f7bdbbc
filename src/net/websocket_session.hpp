// WebSocket transport of client sessions (`GET /v1/ws`, API.md section 6). A socket carries
// calls with request ids both ways and, once a session is attached (session.attach, or a
// session.create / session.authorize made on the socket), pushes the session's events the
// moment they are queued. The session's queue stays the source of truth: the socket only
// reads it, so a socket that drops loses nothing still kept, and a new socket resumes with
// `after`. docs/websocket.md describes the protocol.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstddef>

#include "api/method_table.hpp"

namespace rtm::net {

struct WebSocketLimits {
  // A larger message closes the socket with 1009.
  std::size_t max_message = 1024 * 1024;
  // Nothing heard for this long (a ping goes out at half of it) closes the socket: a dead
  // peer is noticed within this time.
  std::chrono::seconds idle_timeout{30};
  // Frames waiting to be written. Events are taken from the session only while fewer than
  // kPushWindow wait (see the .cpp), so this bound is reached only by a client that sends
  // calls and never reads the replies; past it the socket is closed (1008).
  std::size_t max_queued_frames = 1024;
};

// Closes every open socket with 1001 (going away), for a graceful shutdown.
void close_all_websockets();

// Completes the WebSocket handshake of `req` (an upgrade request for /v1/ws) on `stream` and
// serves the socket until it closes. Never throws.
boost::asio::awaitable<void> serve_websocket(
    boost::beast::tcp_stream stream,
    boost::beast::http::request<boost::beast::http::string_body> req, api::Services& services,
    WebSocketLimits limits);

}  // namespace rtm::net
