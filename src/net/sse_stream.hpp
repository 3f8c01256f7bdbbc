// Server-Sent Events transport of client sessions (`GET /v1/events?session=S`, API.md
// section 6): the session's events as an endless text/event-stream response, each event's id
// as the SSE `id:` so that a browser's EventSource resumes with Last-Event-ID after a drop.
// Like the WebSocket push it only reads the session's queue, which stays the source of truth.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <string>

#include "api/method_table.hpp"
#include "net/access_log.hpp"
#include "net/any_stream.hpp"

namespace rtm::net {

struct SseLimits {
  // A comment line goes out after this long without an event, so proxies keep the stream
  // open and a vanished client is noticed when the write fails.
  std::chrono::seconds heartbeat{15};
  // A client that does not take a write within this long is dropped (its session keeps
  // queueing).
  std::chrono::seconds write_timeout{30};
};

// Serves the event stream of `req` (GET /v1/events) on `stream` until the client goes, the
// session ends or the server shuts down. Never throws. `line` counts every byte of the stream
// and is written when it ends.
boost::asio::awaitable<void> serve_sse(
    HttpStream& stream, const boost::beast::http::request<boost::beast::http::string_body>& req,
    api::Services& services, SseLimits limits, std::string cors_headers, AccessLine& line);

}  // namespace rtm::net
