// WebSocket transport of client sessions (`GET /v1/ws`, API.md section 6). A socket carries
// calls with request ids both ways and, once a session is attached (session.attach, or a
// session.create / session.authorize made on the socket), pushes the session's events the
// moment they are queued. The session's queue stays the source of truth: the socket only
// reads it, so a socket that drops loses nothing still kept, and a new socket resumes with
// `after`. docs/websocket.md describes the protocol.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstddef>
#include <string>

#include "api/method_table.hpp"
#include "net/access_log.hpp"
#include "net/any_stream.hpp"

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

// Completes the WebSocket handshake of `req` (an upgrade request for /v1/ws) on `socket` and
// serves the socket until it closes; returns at once (the socket lives on its own, on the
// socket's executor). The HTTP connection that read `req` ends here, so nothing of it (its
// parser, read buffer, coroutine frame) stays alive under the WebSocket. `address` is the
// client's (api::Caller); `access` is the upgrade's access line, written once the handshake
// is done (101, or 400 for an upgrade Beast refused). Never throws.
void start_websocket(WsStream stream,
                     boost::beast::http::request<boost::beast::http::string_body> req,
                     api::Services& services, WebSocketLimits limits, std::string address,
                     AccessLine access);

}  // namespace rtm::net
