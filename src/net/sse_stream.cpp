// See sse_stream.hpp. One coroutine per stream on its connection's io_context: it takes the
// session's events, writes every event it got in one write, and waits on a timer that the
// session's waiter cancels (the long poll's mechanism, without a request per delivery).
#include "net/sse_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <memory>
#include <optional>
#include <string>

#include "api/reply.hpp"
#include "net/http_answer.hpp"

namespace rtm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// A non-negative decimal id, as Last-Event-ID or `after` carry it; nullopt otherwise.
std::optional<std::uint64_t> parse_event_id(std::string_view text) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

struct StreamRequest {
  std::string session;
  std::optional<std::uint64_t> after;
  std::string bad;  // why the request cannot be served; empty if it can
};

StreamRequest parse_request(const http::request<http::string_body>& req) {
  StreamRequest r;
  auto url = boost::urls::parse_origin_form(req.target());
  if (!url) {
    r.bad = "malformed request target";
    return r;
  }
  for (auto param : url->params()) {
    if (param.key == "session") r.session = param.value;
    if (param.key == "after") {
      r.after = parse_event_id(param.value);
      if (!r.after) r.bad = "after must be a non-negative integer";
    }
  }
  // Last-Event-ID (sent by EventSource on reconnect) wins over `after`: it is the newer.
  if (auto it = req.find("Last-Event-ID"); it != req.end() && !it->value().empty()) {
    r.after = parse_event_id(it->value());
    if (!r.after) r.bad = "Last-Event-ID must be a non-negative integer";
  }
  if (r.session.empty() && r.bad.empty()) r.bad = "session is missing (?session=S)";
  return r;
}

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
  Engine& engine = services.engine;
  StreamRequest r = parse_request(req);
  if (r.bad.empty()) {
    if (auto live = engine.live_session(r.session); !live) r.bad = live.error().msg;
  }
  if (!r.bad.empty()) {
    Rc rc = r.session.empty() || r.bad.rfind("after", 0) == 0 || r.bad.rfind("Last", 0) == 0 ||
                    r.bad.rfind("malformed", 0) == 0
                ? Rc::InvalidRequest
                : Rc::InvalidSession;
    auto reply = api::Reply::error(rc, r.bad);
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
  auto wake = std::make_shared<asio::steady_timer>(ex);
  std::weak_ptr<asio::steady_timer> weak = wake;
  std::optional<std::uint64_t> after = r.after;
  if (auto live = engine.live_session(r.session)) (*live)->attach_socket();
  for (;;) {
    if (!out.empty()) {
      stream.expires_after(limits.write_timeout);
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(out), kUseTuple);
      line.wrote(out, n);
      if (ec) break;  // gone, or not reading: the session keeps queueing
      out.clear();
    }
    std::uint64_t ticket = 0;
    auto waiter = [ex, weak] {
      asio::post(ex, [weak] {
        if (auto t = weak.lock()) t->cancel();
      });
    };
    auto taken = engine.take_or_wait(r.session, after, std::move(waiter), ticket);
    if (!taken) break;  // the session ended and its final event went out before
    after.reset();      // from now on the session's cursor
    if (*taken && !(*taken)->events.empty()) {
      append_events(out, **taken);
      continue;
    }
    if (engine.shutting_down()) break;  // waits answer at once now: stop instead of spinning
    if (*taken) break;                  // an empty answer without a wait: the session has ended
    wake->expires_after(limits.heartbeat);
    auto [ec] = co_await wake->async_wait(kUseTuple);
    engine.cancel_wait(r.session, ticket);
    if (!ec) out = ": ping\n\n";  // the heartbeat ran out: nothing came
  }
  if (auto live = engine.live_session(r.session)) (*live)->detach_socket(engine.now_ms());
}

}  // namespace rtm::net
