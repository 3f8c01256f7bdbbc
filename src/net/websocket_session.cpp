// See websocket_session.hpp. One WsSocket per connection, living on the io_context thread of
// its TCP connection: the read loop, the call coroutines, the push loop and the write loop
// all run there, so its members need no lock. Only the session's waiter is called from other
// threads, and it just posts a wake-up here (Beast's chat-multi model: one write in flight,
// a queue behind it, nothing sent while holding a lock).
#include "net/websocket_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/reply.hpp"

namespace rtm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using asio::awaitable;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// Events are taken from the session only while fewer frames than this wait to be written:
// a slow reader leaves its events in the session's own bounded queue (where queue_limit and
// the gap event apply) instead of in socket buffers.
constexpr std::size_t kPushWindow = 64;
// Calls of one socket running at once (a long poll or a password check takes a while);
// more are answered RateLimited.
constexpr int kMaxCallsInFlight = 64;

class WsSocket;

// Which socket pushes each session. A session has one reader at a time: two sockets
// attached to one session would take turns replacing each other's waiter.
class AttachedSockets {
 public:
  // Makes `socket` the reader of `session`; returns the socket it replaces, if any.
  std::shared_ptr<WsSocket> attach(const std::string& session,
                                   const std::shared_ptr<WsSocket>& socket) {
    std::lock_guard lock(mu_);
    auto& slot = readers_[session];
    auto previous = slot.lock();
    slot = socket;
    return previous == socket ? nullptr : previous;
  }
  void detach(const std::string& session, const WsSocket* socket) {
    std::lock_guard lock(mu_);
    auto it = readers_.find(session);
    if (it == readers_.end()) return;
    auto current = it->second.lock();
    if (!current || current.get() == socket) readers_.erase(it);
  }

 private:
  std::mutex mu_;  // guards readers_; nothing else is locked while it is held
  std::unordered_map<std::string, std::weak_ptr<WsSocket>> readers_;
};

AttachedSockets& attached_sockets() {
  static AttachedSockets sockets;
  return sockets;
}

// Every open socket, so that shutdown can say goodbye (1001) to each.
class OpenSockets {
 public:
  void add(const std::shared_ptr<WsSocket>& socket) {
    std::lock_guard lock(mu_);
    sockets_[socket.get()] = socket;
  }
  void remove(const WsSocket* socket) {
    std::lock_guard lock(mu_);
    sockets_.erase(socket);
  }
  std::vector<std::shared_ptr<WsSocket>> all() {
    std::lock_guard lock(mu_);
    std::vector<std::shared_ptr<WsSocket>> out;
    for (auto& [raw, weak] : sockets_)
      if (auto s = weak.lock()) out.push_back(std::move(s));
    return out;
  }

 private:
  std::mutex mu_;  // guards sockets_; nothing else is locked while it is held
  std::unordered_map<const WsSocket*, std::weak_ptr<WsSocket>> sockets_;
};

OpenSockets& open_sockets() {
  static OpenSockets sockets;
  return sockets;
}

// `{"id":<id>,` + the reply object without its opening brace.
std::string reply_frame(const std::string& id_json, const api::Reply& reply) {
  std::string body = api::encode_json(reply);
  std::string frame;
  frame.reserve(body.size() + id_json.size() + 8);
  frame.append("{\"id\":").append(id_json).append(",").append(body, 1, std::string::npos);
  return frame;
}

std::string event_frame(const QueuedEvent& e) {
  std::string frame;
  frame.reserve(e.body->size() + 32);
  frame.append("{\"event\":{\"id\":").append(std::to_string(e.id)).append(",");
  frame.append(*e.body).append("}");
  return frame;
}

class WsSocket : public std::enable_shared_from_this<WsSocket> {
 public:
  WsSocket(beast::tcp_stream stream, api::Services& services, WebSocketLimits limits)
      : ws_(std::move(stream)),
        services_(services),
        limits_(limits),
        wake_(ws_.get_executor()),
        drained_(ws_.get_executor()) {}

  awaitable<void> run(http::request<http::string_body> req) {
    beast::get_lowest_layer(ws_).expires_never();  // the websocket timeouts take over
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(30);
    timeouts.idle_timeout = limits_.idle_timeout;
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.read_message_max(limits_.max_message);
    auto [ec] = co_await ws_.async_accept(req, kUseTuple);
    if (ec) co_return;
    open_sockets().add(shared_from_this());
    co_await read_loop();
    open_sockets().remove(this);
    // The socket is gone: the session keeps queueing for the next reader.
    closing_ = true;
    release(attached_);
    wake_.cancel();
    drained_.cancel();
  }

  // Closes with 1001: the server is shutting down. On this socket's thread.
  void going_away() {
    close_with(websocket::close_code::going_away, "the server is shutting down");
  }

  boost::asio::any_io_executor executor() { return ws_.get_executor(); }

  // Stops pushing `session` (another socket attached it, or this one closed). On this
  // socket's thread.
  void release(const std::string& session) {
    if (session.empty() || attached_ != session) return;
    attached_sockets().detach(session, this);
    if (auto s = services_.engine.live_session(session)) (*s)->detach_socket(now_ms());
    attached_.clear();
    ++generation_;
    wake_.cancel();
    drained_.cancel();
  }

 private:
  std::int64_t now_ms() const { return services_.engine.now_ms(); }

  awaitable<void> read_loop() {
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await ws_.async_read(buffer, kUseTuple);
      // Closed, timed out, or a protocol error Beast already answered with its close code
      // (1009 message too big, 1007 invalid UTF-8 in a text message, 1002 bad framing).
      if (ec) co_return;
      if (!ws_.got_text()) {
        close_with(websocket::close_code::unknown_data, "calls are JSON text messages");
        buffer.consume(buffer.size());
        continue;  // Beast ends the read loop once the close handshake is done
      }
      std::string text = beast::buffers_to_string(buffer.data());
      buffer.consume(buffer.size());
      start_call(std::move(text));
    }
  }

  void start_call(std::string text) {
    if (closing_) return;
    json::parse_options opts;
    opts.max_depth = 32;
    boost::system::error_code ec;
    json::value frame = json::parse(text, ec, {}, opts);
    if (ec || !frame.is_object()) {
      send(reply_frame("null", api::Reply::error(Rc::InvalidRequest,
                                                 ec ? "frame is not valid JSON: " + ec.message()
                                                    : "frame must be a JSON object")));
      return;
    }
    auto& call = frame.get_object();
    std::string id = "null";
    if (auto* v = call.if_contains("id")) {
      if (v->is_int64() || v->is_uint64() || v->is_string()) id = json::serialize(*v);
    }
    auto* method = call.if_contains("method");
    if (id == "null" || !method || !method->is_string()) {
      send(reply_frame(id,
                       api::Reply::error(Rc::InvalidRequest,
                                         "a call is {\"id\":N,\"method\":\"...\",\"params\":{}}")));
      return;
    }
    json::object params;
    if (auto* p = call.if_contains("params")) {
      if (!p->is_object()) {
        send(reply_frame(id, api::Reply::error(Rc::InvalidRequest, "params must be an object")));
        return;
      }
      params = std::move(p->get_object());
    }
    if (calls_in_flight_ >= kMaxCallsInFlight) {
      send(reply_frame(id, api::Reply::error(Rc::RateLimited, "too many calls in flight")));
      return;
    }
    ++calls_in_flight_;
    asio::co_spawn(ws_.get_executor(),
                   run_call(shared_from_this(), std::move(id), std::string(method->get_string()),
                            std::move(params)),
                   asio::detached);
  }

  // Static with `self` by value: the coroutine keeps the socket alive until it answers.
  static awaitable<void> run_call(std::shared_ptr<WsSocket> self, std::string id,
                                  std::string method, json::object params) {
    api::Reply reply;
    if (method == "session.attach") {
      reply = self->attach_call(params);
    } else {
      reply =
          co_await api::dispatch_params(self->services_, api::Scope::Client, method, params, {});
    }
    --self->calls_in_flight_;
    self->send(reply_frame(id, reply));
    if (reply.rc != Rc::Ok) co_return;
    // A session made or logged in on this socket is pushed on it (API.md section 6).
    if (method == "session.create") {
      if (auto* s = reply.fields.if_contains("session"); s && s->is_string())
        self->attach(std::string(s->get_string()), std::nullopt);
    } else if (method == "session.authorize") {
      // The reply names the session that is now logged in: with mode possess it is the
      // user's existing session, not the one in the request (which is ended).
      const json::value* s = reply.fields.if_contains("session");
      if (!s) s = params.if_contains("session");
      if (s && s->is_string()) self->attach(std::string(s->get_string()), std::nullopt);
    } else if (method == "session.attach") {
      self->attach(std::string(params.at("session").get_string()),
                   api::Params(params).optional_u64("after"));
    }
  }

  api::Reply attach_call(const json::object& params) {
    auto* s = params.if_contains("session");
    if (!s || !s->is_string())
      return api::Reply::error(Rc::InvalidRequest, "session.attach needs session (a string)");
    try {
      (void)api::Params(params).optional_u64("after");  // checked as get_events checks it
    } catch (const api::CallError& e) {
      return api::Reply::error(e.error);
    }
    auto session = services_.engine.live_session(std::string(s->get_string()));
    if (!session) return api::Reply::error(session.error());
    api::Reply reply;
    reply.fields["session"] = s->get_string();
    return reply;
  }

  void attach(std::string session, std::optional<std::uint64_t> after) {
    if (closing_) return;
    if (attached_ == session) {
      // Attaching again moves the start: the running push loop stops, a new one begins.
      ++generation_;
      wake_.cancel();
      drained_.cancel();
    } else {
      release(attached_);
      auto live = services_.engine.live_session(session);
      if (!live) return;
      (*live)->attach_socket();
      if (auto previous = attached_sockets().attach(session, shared_from_this())) {
        asio::post(previous->ws_.get_executor(),
                   [previous, session] { previous->release(session); });
      }
      attached_ = session;
      ++generation_;
    }
    asio::co_spawn(ws_.get_executor(), push_loop(shared_from_this(), session, after, generation_),
                   asio::detached);
  }

  // Moves the session's events onto the socket as they come, until the socket closes, the
  // session ends, or another attach (here or on another socket) supersedes this one.
  static awaitable<void> push_loop(std::shared_ptr<WsSocket> self, std::string session,
                                   std::optional<std::uint64_t> after, std::uint64_t generation) {
    Engine& engine = self->services_.engine;
    auto current = [&] { return !self->closing_ && self->generation_ == generation; };
    while (current()) {
      if (self->out_.size() >= kPushWindow) {
        self->drained_.expires_at(asio::steady_timer::time_point::max());
        co_await self->drained_.async_wait(kUseTuple);
        continue;
      }
      std::uint64_t ticket = 0;
      std::weak_ptr<WsSocket> weak = self;
      auto ex = self->ws_.get_executor();
      auto waiter = [weak, ex] {
        asio::post(ex, [weak] {
          if (auto s = weak.lock()) s->wake_.cancel();
        });
      };
      auto taken = engine.take_or_wait(session, after, std::move(waiter), ticket);
      if (!taken) co_return;  // the session is gone (its final event was pushed before)
      after.reset();          // from now on the session's cursor, which take() moved
      if (*taken && !(*taken)->events.empty()) {
        for (const auto& e : (*taken)->events) self->send(event_frame(e));
        continue;
      }
      // Waits answer at once during shutdown: stop pushing instead of spinning.
      if (engine.shutting_down()) co_return;
      if (*taken) co_return;  // an empty answer without a wait: the session has ended
      self->wake_.expires_at(asio::steady_timer::time_point::max());
      co_await self->wake_.async_wait(kUseTuple);
      engine.cancel_wait(session, ticket);
    }
  }

  void send(std::string frame) {
    if (closing_) return;
    if (out_.size() >= limits_.max_queued_frames) {
      close_with(websocket::close_code::policy_error, "replies are not being read");
      return;
    }
    out_.push_back(std::move(frame));
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(ws_.get_executor(), write_loop(shared_from_this()), asio::detached);
    }
  }

  void close_with(websocket::close_code code, const char* reason) {
    if (closing_) return;
    closing_ = true;
    close_reason_ = websocket::close_reason(code, reason);
    out_.clear();
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(ws_.get_executor(), write_loop(shared_from_this()), asio::detached);
    }
  }

  // The one writer of the socket: frames in order, then the close frame if one is due.
  static awaitable<void> write_loop(std::shared_ptr<WsSocket> self) {
    while (!self->out_.empty()) {
      std::string frame = std::move(self->out_.front());
      self->out_.pop_front();
      self->ws_.text(true);
      auto [ec, n] = co_await self->ws_.async_write(asio::buffer(frame), kUseTuple);
      if (self->out_.size() < kPushWindow) self->drained_.cancel();
      if (ec) {
        self->out_.clear();
        self->closing_ = true;
        break;
      }
    }
    if (self->close_reason_) {
      auto reason = *self->close_reason_;
      self->close_reason_.reset();
      auto [ec] = co_await self->ws_.async_close(reason, kUseTuple);
      (void)ec;
    }
    self->writing_ = false;
  }

  websocket::stream<beast::tcp_stream> ws_;
  api::Services& services_;
  WebSocketLimits limits_;
  std::deque<std::string> out_;
  bool writing_ = false;
  bool closing_ = false;
  std::optional<websocket::close_reason> close_reason_;
  int calls_in_flight_ = 0;
  std::string attached_;          // the session pushed on this socket; empty: none
  std::uint64_t generation_ = 0;  // bumped by every attach and release; old push loops stop
  asio::steady_timer wake_;       // the push loop waits here; the session's waiter cancels it
  asio::steady_timer drained_;    // the push loop waits here while kPushWindow frames wait
};

}  // namespace

void close_all_websockets() {
  for (auto& socket : open_sockets().all())
    asio::post(socket->executor(), [socket] { socket->going_away(); });
}

awaitable<void> serve_websocket(beast::tcp_stream stream, http::request<http::string_body> req,
                                api::Services& services, WebSocketLimits limits) {
  auto socket = std::make_shared<WsSocket>(std::move(stream), services, limits);
  co_await socket->run(std::move(req));
}

}  // namespace rtm::net
