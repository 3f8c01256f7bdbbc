// ServerEventStream: the server event stream of API.md section 8, a bounded ring of events
// for the application's backend (channel.connected / channel.disconnected, user.online /
// user.offline) with ids increasing by 1 from 1. It is read like a session's events: without
// `after` a cursor moves past what was returned, so each event comes once; with `after`,
// every kept event after that id comes again; events dropped by the ring before they were
// read are announced by a computed `gap` event (docs/semantics.md "Server events").
//
// Any number of polls may wait at once (several backend workers): a publish wakes them all.
//
// Locking: `mu_` guards every member; it is a leaf lock (publish() is called under a
// ChannelRegistry shard lock and under Engine::login_mu_, docs/lock-order.md). Waiters are
// called after `mu_` is released.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/session.hpp"

namespace rtm {

class ServerEventStream {
 public:
  using Waiter = std::function<void()>;
  // Most events one take answers.
  static constexpr std::size_t kMaxPerTake = 1000;

  explicit ServerEventStream(std::size_t limit = 10'000);
  ServerEventStream(const ServerEventStream&) = delete;
  ServerEventStream& operator=(const ServerEventStream&) = delete;

  // Appends an event (`body`: the JSON object text after its id, e.g.
  // `"type":"user.online","uid":7,"time":1700000000000}`), dropping the oldest past the
  // limit, and wakes every waiting poll. Returns the event's id.
  std::uint64_t publish(std::string body);
  // Called with every published body, after the stream's lock is released (the webhook
  // sender's offer(): it must be cheap and take only leaf locks). Set before events flow.
  using Listener = std::function<void(const std::string& body)>;
  void set_listener(Listener listener) { listener_ = std::move(listener); }
  // Events after `after` (or after the cursor), at most kMaxPerTake, led by a gap event when
  // unread events were dropped; moves the cursor forward to `last`.
  EventBatch take(std::optional<std::uint64_t> after);
  // Like take(), but when there is nothing registers `waiter` and answers nullopt with
  // `ticket` set. The waiter is called once, by the next publish() or wake_all(). `no_wait`
  // (the engine's shutdown flag) is read under mu_: once set, no waiter is registered.
  std::optional<EventBatch> take_or_wait(std::optional<std::uint64_t> after, Waiter waiter,
                                         std::uint64_t& ticket,
                                         const std::atomic<bool>* no_wait = nullptr);
  // Drops the waiter registered under ticket, if it has not been called.
  void cancel_wait(std::uint64_t ticket);
  void wake_all();

  std::size_t size() const;
  std::uint64_t last_id() const;
  std::size_t waiting() const;

 private:
  EventBatch take_locked(std::optional<std::uint64_t> after);

  const std::size_t limit_;
  Listener listener_;  // set before events flow, then only read
  mutable std::mutex mu_;
  EventQueue events_;
  std::uint64_t next_id_ = 1;
  std::uint64_t cursor_ = 0;
  std::map<std::uint64_t, Waiter> waiters_;
  std::uint64_t next_ticket_ = 0;
};

}  // namespace rtm
