// See websocket_session.hpp. One WsSocket per connection, living on the io_context thread of
// its TCP connection: reading, the call coroutines, pushing and writing all run there, so
// its members need no lock. Only the session's waiter is called from other threads, and it
// just posts a wake-up here (Beast's chat-multi model: one write in flight, a queue behind
// it, nothing sent while holding a lock).
//
// Reading, pushing and writing are completion handlers, not coroutines: an idle socket is
// then one pending read and the session's waiter, with no coroutine frame or timer of its
// own (docs/benchmarks.md, "memory per socket"). Calls run as coroutines while they last.
#include "net/websocket_session.hpp"

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/reply.hpp"
#include "net/ws_call_frame.hpp"

namespace rtm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using asio::awaitable;

namespace {

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
  WsSocket(WsStream stream, api::Services& services, WebSocketLimits limits, std::string address)
      : ws_(std::move(stream)), services_(services), limits_(limits) {
    caller_.address = std::move(address);
  }

  // `access` is the upgrade's access line: the handshake's handler holds it, so that an open
  // socket keeps nothing of it.
  void start(http::request<http::string_body> req, AccessLine access) {
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(30);
    timeouts.idle_timeout = limits_.idle_timeout;
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.read_message_max(limits_.max_message);
    // The request must outlive the handshake; it is freed as soon as that is done.
    upgrade_ = std::make_unique<http::request<http::string_body>>(std::move(req));
    // Counted open from here, not from the handshake's end: a SIGTERM while Beast writes the
    // 101 must still reach this socket (going_away waits for the handshake).
    open_sockets().add(shared_from_this());
    ws_.async_accept(*upgrade_, [self = shared_from_this(),
                                 access = std::move(access)](beast::error_code ec) mutable {
      self->upgrade_.reset();
      access.set_status(ec ? 400 : 101);  // Beast answers a bad upgrade with 400
      access.write();
      if (ec) {
        open_sockets().remove(self.get());
        return;
      }
      self->accepted_ = true;
      self->read_next();
      if (self->going_away_due_ || self->services_.node.shutting_down()) self->going_away();
    });
  }

  // Closes with 1001: the server is shutting down. On this socket's thread; before the
  // handshake is done it only marks the socket, which closes as soon as it is open.
  void going_away() {
    if (!accepted_) {
      going_away_due_ = true;
      return;
    }
    close_with(websocket::close_code::going_away, "the server is shutting down");
  }

  boost::asio::any_io_executor executor() { return ws_.get_executor(); }

  // Stops pushing `session` (another socket attached it, or this one closed). On this
  // socket's thread.
  void release(const std::string& session) {
    if (session.empty() || attached_ != session) return;
    attached_sockets().detach(session, this);
    stop_waiting();
    if (auto s = services_.node.sessions().live(session)) (*s)->detach_socket(now_ms());
    attached_.clear();
    ++generation_;
  }

 private:
  std::int64_t now_ms() const { return services_.node.now_ms(); }

  // Reads in chunks into a small fixed buffer rather than with async_read into a dynamic
  // one: a pending async_read reserves a read-size hint (1.5 KiB) in its buffer for as long
  // as the socket is idle. Beast still enforces the message limit and UTF-8 per message.
  void read_next() {
    ws_.async_read_some(
        asio::buffer(chunk_),
        [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(beast::error_code ec, std::size_t n) {
    // Closed, timed out, or a protocol error Beast already answered with its close code
    // (1009 message too big, 1007 invalid UTF-8 in a text message, 1002 bad framing).
    if (ec) {
      on_closed();
      return;
    }
    message_.append(chunk_.data(), n);
    if (ws_.is_message_done()) {
      if (!ws_.got_text()) {
        close_with(websocket::close_code::unknown_data, "calls are JSON text messages");
      } else {
        start_call(std::move(message_));
      }
      message_ = std::string();  // an idle socket keeps no message buffer
    }
    read_next();  // Beast ends the read with an error once a close handshake is done
  }

  void on_closed() {
    open_sockets().remove(this);
    // The socket is gone: the session keeps queueing for the next reader.
    closing_ = true;
    out_.clear();
    out_head_ = 0;
    release(attached_);
  }

  void start_call(std::string text) {
    if (closing_) return;
    WsCallFrame call = decode_ws_call(text);
    if (call.error) {
      send(reply_frame(call.id, api::Reply::error(*call.error)));
      return;
    }
    if (calls_in_flight_ >= kMaxCallsInFlight) {
      send(reply_frame(call.id, api::Reply::error(Rc::RateLimited, "too many calls in flight")));
      return;
    }
    ++calls_in_flight_;
    asio::co_spawn(ws_.get_executor(),
                   run_call(shared_from_this(), std::move(call.id), std::move(call.method),
                            std::move(call.params)),
                   asio::detached);
  }

  // Static with `self` by value: the coroutine keeps the socket alive until it answers.
  static awaitable<void> run_call(std::shared_ptr<WsSocket> self, std::string id,
                                  std::string method, json::object params) {
    api::Reply reply;
    if (method == "session.attach") {
      reply = self->attach_call(params);
    } else {
      reply = co_await api::dispatch_params(self->services_, api::Scope::Client, method, params,
                                            self->caller_);
    }
    --self->calls_in_flight_;
    if (self->closing_ && reply.undelivered) reply.undelivered();  // nobody reads it now
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
    auto session = services_.node.sessions().live(std::string(s->get_string()));
    if (!session) return api::Reply::error(session.error());
    api::Reply reply;
    reply.fields["session"] = s->get_string();
    return reply;
  }

  void attach(std::string session, std::optional<std::uint64_t> after) {
    if (closing_) return;
    if (attached_ == session) {
      // Attaching again moves the start: the current wait ends, pushing restarts at `after`.
      stop_waiting();
    } else {
      release(attached_);
      auto live = services_.node.sessions().live(session);
      if (!live) return;
      (*live)->attach_socket();
      if (auto previous = attached_sockets().attach(session, shared_from_this())) {
        asio::post(previous->ws_.get_executor(),
                   [previous, session] { previous->release(session); });
      }
      attached_ = session;
    }
    ++generation_;
    after_ = after;
    push();
  }

  // Moves the attached session's events onto the socket until none is left (then the
  // session's waiter calls push() again when one comes) or kPushWindow frames wait (then the
  // writer calls it again once they are written).
  void push() {
    SessionService& sessions = services_.node.sessions();
    while (!closing_ && !attached_.empty() && !waiting_) {
      if (pending_frames() >= kPushWindow) {
        push_blocked_ = true;
        return;
      }
      std::weak_ptr<WsSocket> weak = shared_from_this();
      auto waiter = [weak, ex = ws_.get_executor(), generation = generation_] {
        asio::post(ex, [weak, generation] {
          auto self = weak.lock();
          if (!self || self->generation_ != generation) return;  // released or re-attached
          self->waiting_ = false;
          self->push();
        });
      };
      auto taken = sessions.take_or_wait(attached_, after_, std::move(waiter), ticket_);
      if (!taken) return;  // the session is gone (its final event was pushed before)
      after_.reset();      // from now on the session's cursor, which take() moved
      if (!*taken) {
        waiting_ = true;  // the waiter is registered
        return;
      }
      if ((*taken)->events.empty()) return;  // ended, or shutting down: nothing more comes
      for (const auto& e : (*taken)->events) send(event_frame(e));
    }
  }

  // Drops the session's waiter registered by push(), if one is.
  void stop_waiting() {
    if (!waiting_) return;
    waiting_ = false;
    services_.node.sessions().cancel_wait(attached_, ticket_);
  }

  std::size_t pending_frames() const { return out_.size() - out_head_ + (writing_ ? 1 : 0); }

  void send(std::string frame) {
    if (closing_) return;
    if (pending_frames() >= limits_.max_queued_frames) {
      close_with(websocket::close_code::policy_error, "replies are not being read");
      return;
    }
    out_.push_back(std::move(frame));
    if (!writing_) write_next();
  }

  void close_with(websocket::close_code code, const char* reason) {
    if (closing_) return;
    closing_ = true;
    close_code_ = code;
    close_text_ = reason;
    out_.clear();
    out_head_ = 0;
    if (!writing_) write_next();
  }

  // The one writer of the socket: frames in order, then the close frame if one is due.
  void write_next() {
    if (out_head_ < out_.size()) {
      writing_ = true;
      in_flight_ = std::move(out_[out_head_++]);
      if (out_head_ == out_.size()) {
        out_.clear();
        out_head_ = 0;
      }
      ws_.text(true);
      ws_.async_write(
          asio::buffer(in_flight_),
          [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_written(ec); });
      return;
    }
    if (out_.capacity() > kPushWindow) out_ = {};  // a burst's queue is not kept while idle
    if (close_text_) {
      writing_ = true;
      websocket::close_reason reason(close_code_, close_text_);
      close_text_ = nullptr;
      ws_.async_close(reason,
                      [self = shared_from_this()](beast::error_code) { self->writing_ = false; });
      return;
    }
    writing_ = false;
  }

  void on_written(beast::error_code ec) {
    writing_ = false;
    in_flight_.clear();
    if (ec) {
      closing_ = true;
      out_.clear();
      out_head_ = 0;
      return;  // the read fails too and ends the socket
    }
    if (push_blocked_ && pending_frames() < kPushWindow) {
      push_blocked_ = false;
      writing_ = true;  // push() only queues; the write continues below
      push();
      writing_ = false;
    }
    write_next();
  }

  websocket::stream<WsStream> ws_;
  api::Services& services_;
  WebSocketLimits limits_;
  api::Caller caller_;  // the client's address, for every call made on this socket
  std::unique_ptr<http::request<http::string_body>> upgrade_;  // until the handshake is done
  std::array<char, 256> chunk_;                                // what one read_some takes
  std::string message_;                                        // the message read so far
  std::vector<std::string> out_;  // frames to write after in_flight_, from out_head_ on
  std::size_t out_head_ = 0;
  std::string in_flight_;  // the frame being written
  bool writing_ = false;
  bool accepted_ = false;        // the handshake is done
  bool going_away_due_ = false;  // the server began shutting down during the handshake
  bool closing_ = false;
  websocket::close_code close_code_ = websocket::close_code::none;  // of the close frame due
  const char* close_text_ = nullptr;  // its reason (a literal); null: no close frame due
  int calls_in_flight_ = 0;
  std::string attached_;                // the session pushed on this socket; empty: none
  std::optional<std::uint64_t> after_;  // where the next push starts, until it has run once
  std::uint64_t generation_ = 0;  // bumped by every attach and release; stale wake-ups are dropped
  std::uint64_t ticket_ = 0;      // of the waiter registered in the session
  bool waiting_ = false;          // a waiter is registered in the session
  bool push_blocked_ = false;     // push() stopped at kPushWindow frames
};

}  // namespace

void close_all_websockets() {
  for (auto& socket : open_sockets().all())
    asio::post(socket->executor(), [socket] { socket->going_away(); });
}

void start_websocket(WsStream stream, http::request<http::string_body> req, api::Services& services,
                     WebSocketLimits limits, std::string address, AccessLine access) {
  std::make_shared<WsSocket>(std::move(stream), services, limits, std::move(address))
      ->start(std::move(req), std::move(access));
}

}  // namespace rtm::net
