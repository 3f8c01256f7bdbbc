// See push_websockets.hpp. Each socket is one coroutine that takes what is queued for it and
// writes it (the only writer), waiting on a Wakeup (api/wakeup.hpp) that the source's waiter
// wakes; a second coroutine reads, so that pings are answered and a close or a dead peer ends the
// push.
#include "net/push_websockets.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/url/parse.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/reply.hpp"
#include "api/wakeup.hpp"
#include "net/http_answer.hpp"
#include "net/query_param.hpp"
#include "net/stream_request.hpp"

namespace rtm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::awaitable;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// What a push socket needs besides its stream: the wake-up and whether the peer left.
struct PushSocket {
  explicit PushSocket(HttpStream stream) : ws(std::move(stream)), wake(ws.get_executor()) {}
  websocket::stream<HttpStream> ws;
  api::Wakeup wake;  // its waiter goes to the source; read_until_gone cancels it
  bool gone = false;

  // A waiter for the source: posts the wake-up onto this socket's thread.
  std::function<void()> waiter() const { return wake.waiter(); }
  awaitable<void> sleep() { co_await wake.wait(); }
};

awaitable<void> refuse(HttpStream& stream, AccessLine& line, unsigned version,
                       const api::Reply& reply, api::Services& services) {
  services.metrics.record(reply.rc);
  std::string answer = error_answer(version, reply);
  stream.expires_after(std::chrono::seconds(5));
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(answer), kUseTuple);
  line.wrote(answer, n);
}

// The handshake with the limits every rtm socket has; false if it failed.
// The access line is written here, when the handshake is done (101, or 400 for an upgrade
// Beast refused).
awaitable<bool> accept(PushSocket& s, const http::request<http::string_body>& req,
                       const WebSocketLimits& limits, AccessLine& line) {
  s.ws.next_layer().expires_never();  // the websocket timeouts take over
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = std::chrono::seconds(30);
  timeouts.idle_timeout = limits.idle_timeout;
  timeouts.keep_alive_pings = true;
  s.ws.set_option(timeouts);
  s.ws.read_message_max(64 * 1024);  // nothing is expected from the client
  auto [ec] = co_await s.ws.async_accept(req, kUseTuple);
  line.set_status(ec ? 400 : 101);
  line.write();
  co_return !ec;
}

// Reads (and drops) whatever the client sends until it closes or goes silent.
awaitable<void> read_until_gone(std::shared_ptr<PushSocket> s) {
  beast::flat_buffer buffer;
  for (;;) {
    auto [ec, n] = co_await s->ws.async_read(buffer, kUseTuple);
    if (ec) break;
    buffer.consume(buffer.size());
  }
  s->gone = true;
  s->wake.cancel();
}

awaitable<bool> write_text(PushSocket& s, const std::string& frame) {
  s.ws.text(true);
  auto [ec, n] = co_await s.ws.async_write(asio::buffer(frame), kUseTuple);
  co_return !ec;
}

awaitable<void> close(PushSocket& s, websocket::close_code code, const char* reason) {
  if (s.gone) co_return;
  auto [ec] = co_await s.ws.async_close(websocket::close_reason(code, reason), kUseTuple);
  (void)ec;
}

std::string message_frame(const std::string& message) {
  return "{\"message\":" + boost::json::serialize(boost::json::string(message)) + "}";
}

}  // namespace

awaitable<void> serve_channel_socket(HttpStream stream, http::request<http::string_body> req,
                                     api::Services& services, WebSocketLimits limits,
                                     AccessLine& line) {
  Node& node = services.node;
  std::string token = query_param(req.target(), "token").value_or("");
  if (token.empty()) {
    co_await refuse(stream, line, req.version(),
                    api::Reply::error(Rc::InvalidToken, "token is missing (?token=T)"), services);
    co_return;
  }
  auto attached = node.channels().attach(token);
  if (!attached) {
    co_await refuse(stream, line, req.version(), api::Reply::error(attached.error()), services);
    co_return;
  }
  const std::string client_id = attached->client_id;
  auto s = std::make_shared<PushSocket>(std::move(stream));
  if (co_await accept(*s, req, limits, line)) {
    asio::co_spawn(s->ws.get_executor(), read_until_gone(s), asio::detached);
    while (!s->gone) {
      std::uint64_t ticket = 0;
      auto polled = node.channels().poll(token, s->waiter(), ticket);
      if (!polled) {  // the token expired (or the channel was forgotten with it)
        co_await close(*s, websocket::close_code::policy_error, "the channel token expired");
        break;
      }
      std::vector<ChannelMessage> messages;
      if (polled->messages) {
        messages = std::move(*polled->messages);
      } else {
        co_await s->sleep();
        node.channels().cancel_wait(client_id, ticket);
        if (s->gone) break;
        messages = node.channels().take(client_id);
      }
      std::size_t written = 0;
      for (; written < messages.size(); ++written) {
        std::string frame =
            message_frame(messages[written].text);  // named: g++ 12, see async_bridge
        if (!co_await write_text(*s, frame)) break;
      }
      if (written < messages.size()) {
        // The socket failed: what it did not take goes back for the next poll or socket.
        messages.erase(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(written));
        node.channels().give_back(client_id, std::move(messages));
        break;
      }
      if (node.shutting_down()) {
        co_await close(*s, websocket::close_code::going_away, "the server is shutting down");
        break;
      }
    }
  }
  node.channels().detach(client_id);
}

awaitable<void> serve_server_event_socket(HttpStream stream, http::request<http::string_body> req,
                                          api::Services& services, WebSocketLimits limits,
                                          AccessLine& line) {
  Node& node = services.node;
  std::string_view bearer;
  if (auto it = req.find(http::field::authorization); it != req.end()) {
    std::string_view v = it->value();
    if (v.substr(0, 7) == "Bearer ") bearer = v.substr(7);
  }
  if (!api::api_key_matches(bearer, services.api_key)) {
    bool given = !req[http::field::authorization].empty();
    if (services.call_log) {
      beast::error_code ec;
      auto peer = stream.socket().remote_endpoint(ec);
      services.call_log->refused_key("/v1/server/ws", ec ? "" : peer.address().to_string(), given);
    }
    co_await refuse(stream, line, req.version(),
                    api::Reply::error(Rc::Unauthorized,
                                      given ? "wrong API key"
                                            : "missing Authorization header: the server event "
                                              "stream needs Authorization: Bearer <api key>"),
                    services);
    co_return;
  }
  std::optional<std::uint64_t> after;
  if (auto text = query_param(req.target(), "after")) {
    after = parse_event_id(*text);
    if (!after) {
      co_await refuse(stream, line, req.version(),
                      api::Reply::error(Rc::InvalidRequest, "after must be a non-negative integer"),
                      services);
      co_return;
    }
  }
  auto s = std::make_shared<PushSocket>(std::move(stream));
  if (!co_await accept(*s, req, limits, line)) co_return;
  asio::co_spawn(s->ws.get_executor(), read_until_gone(s), asio::detached);
  while (!s->gone) {
    std::uint64_t ticket = 0;
    auto batch = node.server_events().take_or_wait(after, s->waiter(), ticket);
    after.reset();  // from now on the stream's cursor
    if (!batch) {
      co_await s->sleep();
      node.server_events().cancel_wait(ticket);
      continue;
    }
    if (batch->events.empty()) {  // answered without a wait: shutting down
      co_await close(*s, websocket::close_code::going_away, "the server is shutting down");
      break;
    }
    bool written = true;
    for (const auto& e : batch->events) {
      std::string frame = "{\"event\":{\"id\":" + std::to_string(e.id) + "," + *e.body + "}";
      written = co_await write_text(*s, frame);
      if (!written) break;
    }
    if (!written) break;
  }
}

}  // namespace rtm::net
