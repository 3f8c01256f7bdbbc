// WebSockets that only push (API.md sections 7 and 8): a channel's messages at
// `GET /v1/channel?token=T` as `{"message":"..."}` frames (App Engine's channel socket), and
// the server event stream at `GET /v1/server/ws` (API key in `Authorization: Bearer`,
// optional `?after=`) as `{"event":{...}}` frames. What the client sends is read only for the
// WebSocket protocol itself (pings, close). The token or key is checked before the upgrade,
// so a refused socket gets the contract's JSON error with its HTTP status. `line` is the
// upgrade's access line: told the refusal, or written at the handshake's end.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/method_table.hpp"
#include "net/any_stream.hpp"
#include "net/websocket_session.hpp"

namespace rtm::net {

boost::asio::awaitable<void> serve_channel_socket(
    HttpStream stream, boost::beast::http::request<boost::beast::http::string_body> req,
    api::Services& services, WebSocketLimits limits, AccessLine& line);

boost::asio::awaitable<void> serve_server_event_socket(
    HttpStream stream, boost::beast::http::request<boost::beast::http::string_body> req,
    api::Services& services, WebSocketLimits limits, AccessLine& line);

}  // namespace rtm::net
