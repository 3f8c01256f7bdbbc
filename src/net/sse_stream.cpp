// See sse_stream.hpp. One coroutine per stream on its connection's io_context: it takes the
// session's events, writes every event it got in one write, and waits on a timer that the
// session's waiter cancels (the long poll's mechanism, without a request per delivery).
#include "net/sse_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "api/reply.hpp"
#include "api/wakeup.hpp"
#include "net/http_answer.hpp"
#include "net/stream_request.hpp"

namespace rtm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

void append_events(std::string& out, const EventBatch& batch) {
  for (const auto& e : batch.events) {
    out.append("id: ").append(std::to_string(e.id)).append("\ndata: {\"id\":");
    out.append(std::to_string(e.id)).append(",").append(*e.body).append("\n\n");
  }
}

}  // namespace

awaitable<void> serve_sse(HttpStream& stream, const http::request<http::string_body>& req,
                          api::Services& services, SseLimits limits, std::string cors_headers,
                          AccessLine& line) {
  Node& node = services.node;
  std::string_view last_event_id;
  if (auto it = req.find("Last-Event-ID"); it != req.end()) last_event_id = it->value();
  StreamRequest r = parse_stream_request(req.target(), last_event_id);
  if (!r.error) {
    if (auto live = node.sessions().live(r.session); !live) r.error = live.error();
  }
  if (r.error) {
    auto reply = api::Reply::error(*r.error);
    services.metrics.record(reply.rc);
    std::string answer = error_answer(req.version(), reply);
    answer.insert(answer.find("\r\n\r\n") + 2, cors_headers);
    stream.expires_after(limits.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(answer), kUseTuple);
    line.wrote(answer, n);
    co_return;
  }

  // No Content-Length and no chunking: the stream is the rest of the connection.
  std::string out =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "X-Accel-Buffering: no\r\nConnection: close\r\n" +
      cors_headers + "\r\n: rtm event stream\n\n";
  auto ex = co_await asio::this_coro::executor;
  api::Wakeup wakeup(ex);
  std::optional<std::uint64_t> after = r.after;
  if (auto live = node.sessions().live(r.session)) (*live)->attach_socket();
  for (;;) {
    if (!out.empty()) {
      stream.expires_after(limits.write_timeout);
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(out), kUseTuple);
      line.wrote(out, n);
      if (ec) break;  // gone, or not reading: the session keeps queueing
      out.clear();
    }
    std::uint64_t ticket = 0;
    auto taken = node.sessions().take_or_wait(r.session, after, wakeup.waiter(), ticket);
    if (!taken) break;  // the session ended and its final event went out before
    after.reset();      // from now on the session's cursor
    if (*taken && !(*taken)->events.empty()) {
      append_events(out, **taken);
      continue;
    }
    if (node.shutting_down()) break;  // waits answer at once now: stop instead of spinning
    if (*taken) break;                // an empty answer without a wait: the session has ended
    bool woken = co_await wakeup.wait_until(std::chrono::steady_clock::now() + limits.heartbeat);
    node.sessions().cancel_wait(r.session, ticket);
    if (!woken) out = ": ping\n\n";  // the heartbeat ran out: nothing came
  }
  if (auto live = node.sessions().live(r.session)) (*live)->detach_socket(node.now_ms());
}

}  // namespace rtm::net
