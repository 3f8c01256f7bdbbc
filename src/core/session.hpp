// Session: one client's login, settings, subscriptions and bounded event queue
// (API.md section 3, docs/semantics.md "Events").
//
// Locking: every member is guarded by `mu_`; no other lock is ever taken while holding it
// (docs/lock-order.md), and a waiter is called after mu_ is released.
#pragma once

#include <atomic>
#include <boost/container/deque.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/message.hpp"

namespace rtm {

struct SessionSettings {
  int max_events = 100;    // 1..1000
  int queue_limit = 1000;  // 10..100000
  bool presence = true;
  int idle_timeout = 120;  // 10..86400 s
};

// A change of settings: every field is optional, only what is given changes.
struct SettingsPatch {
  std::optional<int> max_events;
  std::optional<int> queue_limit;
  std::optional<bool> presence;
  std::optional<int> idle_timeout;
};

// An event body serialized once and shared by every session that gets it: the JSON object
// text without its opening brace and per-session id, e.g. `"type":"gap","dropped":3}`.
using EventBody = std::shared_ptr<const std::string>;

struct QueuedEvent {
  std::uint64_t id;
  EventBody body;
};

// Boost's deque rather than std's: libstdc++'s allocates ~600 bytes as soon as it is made,
// Boost's only at the first event, which matters for the many sessions that sit idle.
using EventQueue = boost::container::deque<QueuedEvent>;

// What get_events hands back: events (maybe led by a computed gap event) and `last`.
struct EventBatch {
  std::vector<QueuedEvent> events;
  std::uint64_t last = 0;
  std::uint64_t from = 0;  // the position read after (the cursor, or `after`)
  // Renders the events as a JSON array text: [{"id":1,...},...].
  std::string to_json_array() const;
};

// Reads a queue of events the way every event reader of rtm does (docs/semantics.md
// "Events"): the events after `after` (or after `cursor`), at most `max`, led by a computed
// gap event when ids in between were dropped; moves `cursor` forward to the last id answered.
// `next_id` is the id the next queued event will get. Shared by Session and the server event
// stream; the caller holds the lock that guards the queue and the cursor.
EventBatch read_events(const EventQueue& events, std::uint64_t next_id, std::uint64_t& cursor,
                       std::optional<std::uint64_t> after, std::size_t max);

enum class SessionState { Live, Ended };

class Session {
 public:
  using Waiter = std::function<void()>;

  // `address`: the client's (Caller::address) that made it. `holds_unauthorized_place`: it
  // was counted in the engine's UnauthorizedSessions (take_unauthorized_place gives it back).
  Session(std::string id, std::int64_t now_ms, std::string address = {},
          bool holds_unauthorized_place = false);

  const std::string& id() const { return id_; }
  const std::string& address() const { return address_; }
  std::int64_t created_ms() const { return created_ms_; }
  // True the first time it is called on a session that holds a place among the unauthorized
  // sessions (then it holds none): whoever gets true gives the place back, exactly once.
  bool take_unauthorized_place();

  // --- login ---------------------------------------------------------------------------
  Uid uid() const;
  bool authorized() const;
  bool live() const;
  void bind(Uid uid);

  // --- activity and expiry -------------------------------------------------------------
  void touch(std::int64_t now_ms);
  std::int64_t last_active_ms() const;
  // True when the session has had no call, no waiting poll and no attached socket for its
  // idle_timeout.
  bool idle(std::int64_t now_ms) const;
  void attach_socket();
  void detach_socket(std::int64_t now_ms);

  // --- settings -------------------------------------------------------------------------
  SessionSettings settings() const;
  void set_settings(const SessionSettings& settings);
  // Applies the given fields (already range-checked) and answers the settings after, in one
  // step under mu_: two concurrent patches never undo each other's fields.
  SessionSettings update_settings(const SettingsPatch& patch);

  // --- events -------------------------------------------------------------------------
  // Queues an event. Presence events are skipped when the `presence` setting is off.
  // Returns false if the session has ended (nothing queued).
  bool push(const EventBody& body, bool is_presence);
  // Takes events after `after` (or after the cursor), at most max_events, and moves the
  // cursor forward.
  EventBatch take(std::optional<std::uint64_t> after);
  // Like take(), but when nothing is there registers `waiter` (replacing and waking any
  // earlier one) and returns nullopt with `ticket` set; the waiter is called once, from the
  // thread that queues the next event or ends the session.
  // `no_wait` (the engine's shutdown flag) is read under mu_: once it is set, no waiter is
  // registered. Whoever sets it must then wake() every session, and since wake() takes mu_
  // too, a poll either sees the flag or has its waiter taken by that wake().
  std::optional<EventBatch> take_or_wait(std::optional<std::uint64_t> after, Waiter waiter,
                                         std::uint64_t& ticket,
                                         const std::atomic<bool>* no_wait = nullptr);
  // Drops the waiter registered under `ticket` if it is still the current one.
  void cancel_wait(std::uint64_t ticket);
  // Undoes a take whose answer could not be delivered (the long-polling client left): moves
  // the cursor back to `from` if it is still at `last`, where that take left it (a later
  // take wins), and wakes a poll waiting meanwhile.
  void rewind(std::uint64_t from, std::uint64_t last);
  bool has_waiter() const;
  // Wakes a waiting poll (if any) without queuing anything: it answers with what it has.
  void wake();
  std::size_t queued() const;

  // Ends the session: queues a final `session` event with `state` (killed, kicked,
  // expired, destroyed: none for destroyed) and wakes any waiter. Returns false if it had
  // already ended.
  bool end(const char* state, std::int64_t now_ms);
  std::int64_t ended_at_ms() const;
  // For an ended session: whether unread events (the final one) remain.
  bool has_unread() const;

  // --- subscriptions (key <-> topic) ----------------------------------------------------
  // Returns the key for topic, creating one when new (`created` tells which).
  std::string subscribe(const std::string& topic, bool& created);
  // The same, but creates none when the session already has max_topics subscriptions:
  // nullopt then. Checked and added under one lock, so concurrent calls cannot overshoot.
  std::optional<std::string> try_subscribe(const std::string& topic, bool& created,
                                           std::size_t max_topics);
  // Removes the subscription under key; returns its topic, or nullopt if unknown.
  std::optional<std::string> unsubscribe(const std::string& key);
  // Removes the subscription to topic; returns false if there was none.
  bool unsubscribe_topic(const std::string& topic);
  bool subscribed(const std::string& topic) const;
  std::vector<std::string> topics() const;

 private:
  EventBatch take_locked(std::optional<std::uint64_t> after);
  Waiter take_waiter_locked();

  const std::string id_;
  const std::string address_;
  const std::int64_t created_ms_;
  mutable std::mutex mu_;
  bool holds_unauthorized_place_;
  Uid uid_ = 0;
  bool authorized_ = false;
  SessionState state_ = SessionState::Live;
  std::int64_t ended_at_ms_ = 0;
  SessionSettings settings_;
  EventQueue events_;
  std::uint64_t next_id_ = 1;
  std::uint64_t cursor_ = 0;
  Waiter waiter_;
  std::uint64_t waiter_ticket_ = 0;
  std::int64_t last_active_ms_;
  int attached_sockets_ = 0;
  std::map<std::string, std::string> key_to_topic_;
  std::map<std::string, std::string> topic_to_key_;
  std::uint64_t next_key_ = 1;
};

}  // namespace rtm
