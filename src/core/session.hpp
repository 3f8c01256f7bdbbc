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
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/message.hpp"
#include "core/session_settings.hpp"
#include "core/session_store.hpp"

namespace rtm {

// An event body serialized once and shared by every session that gets it: the JSON object
// text without its opening brace and per-session id, e.g. `"type":"gap","dropped":3}`.
using EventBody = std::shared_ptr<const std::string>;

struct QueuedEvent {
  std::uint64_t id;
  EventBody body;
  std::uint64_t position = 0;  // a message's place in the store's stream; 0: not a message
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
// `gap_floor`: ids at or below it were never handed out by this queue (a restored session
// numbers on from there), so they count as no gap. `max_id`: no event above it is answered
// (ids not yet durably reserved, see Session).
EventBatch read_events(const EventQueue& events, std::uint64_t next_id, std::uint64_t& cursor,
                       std::optional<std::uint64_t> after, std::size_t max,
                       std::uint64_t gap_floor = 0,
                       std::uint64_t max_id = std::numeric_limits<std::uint64_t>::max());

// The sessions whose positions changed since the last checkpoint (SessionService::checkpoint
// writes them). A leaf lock: taken under a session's, nothing is taken under it.
class DirtySessions {
 public:
  void mark(const std::string& id);
  std::vector<std::string> take();
  // A marked session needs its next block of ids soon: the next checkpoint writes now
  // rather than at its usual second (SessionService::checkpoint).
  void hurry() { hurry_.store(true, std::memory_order_relaxed); }
  bool take_hurry() { return hurry_.exchange(false, std::memory_order_relaxed); }

 private:
  std::mutex mu_;
  std::vector<std::string> ids_;
  std::atomic<bool> hurry_{false};
};

enum class SessionState { Live, Ended };

class Session {
 public:
  using Waiter = std::function<void()>;

  // `address`: the client's (Caller::address) that made it. `holds_unauthorized_place`: it
  // was counted in the engine's UnauthorizedSessions (take_unauthorized_place gives it back).
  Session(std::string id, std::int64_t now_ms, std::string address = {},
          bool holds_unauthorized_place = false);
  // A session given back after a restart from its record: authorized, its settings and
  // subscriptions as stored, and its events numbered on after the record's id_limit. No
  // event is answered until a checkpoint reserves ids for it (reserved()).
  Session(const SessionRecord& record, std::int64_t now_ms, DirtySessions* dirty);

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
  // `position`: a message's place in the store's stream (0 for other events); a restored
  // session skips the messages at or before its read position. Returns false if the session
  // has ended (nothing queued).
  bool push(const EventBody& body, bool is_presence, std::uint64_t position = 0);
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

  // --- durability (core/session_store.hpp) ------------------------------------------------
  // How many event ids one reservation covers: a session asks for the next block once half
  // of the current one is used, so the store is written about once per 32k events.
  static constexpr std::uint64_t kIdBlock = 65536;
  // The record to store for this session bound to uid: a first reservation of ids and
  // `read_position` (the stream's end when it logs in).
  SessionRecord first_record(Uid uid, std::uint64_t read_position) const;
  // The session's record is stored: from now on its position changes are marked in `dirty`,
  // and no event id above `id_limit` is answered until a checkpoint reserves more.
  void make_durable(DirtySessions* dirty, std::uint64_t id_limit, std::uint64_t read_position);
  // Whether the session has a stored record (false once it ended).
  bool durable() const;
  // The record as it is now (the durable id_limit), nullopt when it has none.
  std::optional<SessionRecord> record() const;
  // What a checkpoint writes: the read position, the kept position (what was read 10-20 s
  // ago, or the oldest message still queued if that is later) and, when half of the ids
  // reserved are used, a further block. Nullopt when the session has no record. Clears the dirty
  // mark; a checkpoint that could not write calls mark_dirty() again.
  std::optional<SessionPositions> checkpoint_positions(std::int64_t now_ms);
  // How long a read must be past before a restart stops giving it back to `after` readers.
  static constexpr std::int64_t kAckLagMs = 10'000;
  void mark_dirty();
  // Every message up to `through` has reached this session or was not for it: with nothing
  // unread, its read position moves there (and its kept position after the lag), so a
  // restart need not read the stream from where an idle session last read. A session
  // with unread messages stays where they are.
  void pass_idle(std::uint64_t through);
  // A checkpoint stored `id_limit`: events up to it may be answered now.
  void reserved(std::uint64_t id_limit);

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
  // Marks the session dirty unless it is already (or has no record); the list returned (or
  // null) gets the session's id from the caller once mu_ is released.
  DirtySessions* mark_dirty_locked();
  std::uint64_t read_position_locked() const;
  std::uint64_t kept_position_locked() const;
  SessionRecord record_locked() const;
  void push_locked(QueuedEvent event);

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
  // Durability (all under mu_). A session without a record has no dirty_ list and answers
  // every event; one with a record answers ids up to id_limit_ only.
  DirtySessions* dirty_ = nullptr;
  bool marked_ = false;
  std::uint64_t id_limit_ = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t gap_floor_ = 0;              // ids at or below: numbered before a restart
  std::uint64_t replayed_through_ = 0;       // a restored session skips messages up to here
  std::uint64_t restored_read_through_ = 0;  // and counts those up to here as read
  std::uint64_t pushed_position_ = 0;        // the newest message position queued (or read)
  // The read position of at least kAckLagMs ago, and the one that becomes it next.
  std::uint64_t acked_position_ = 0;
  std::uint64_t ack_candidate_position_ = 0;
  std::int64_t ack_candidate_ms_ = 0;
};

}  // namespace rtm
