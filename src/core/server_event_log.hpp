// ServerEventLog: the server event stream of API.md section 8 (channel.connected /
// channel.disconnected, user.online / user.offline, file.uploaded, message copies) behind one
// interface, so that a log shared by many nodes (a Redis Stream: XADD with ids from INCR and
// an exact MAXLEN, in one script; or a PostgreSQL table with a sequence) plugs in the way
// centrifuge's Broker and PresenceManager do. `local` (core/local_server_event_log.hpp) is
// this process's ring, for one node.
//
// Guarantees every engine gives (tests/unit/server_event_log_contract_test.cpp checks them
// against each engine; "every node" means every node whose engine shares the log):
//  - Ids: an empty log's first event gets id 1; each append gets the id after the previous
//    one, on whichever node it is made, so ids increase by 1 across the cluster and are never
//    handed out twice. Assigning the id and making the event readable are one step: a reader
//    that sees id n can never later see an id below n appear (no hole fills in behind the
//    cursor), so a reader moving forward misses nothing that the bound did not drop.
//  - Order: the log's order is the order of the ids; appends made one after the other (from
//    one thread, or ordered by a lock such as a channel's) get increasing ids.
//  - One cursor for all readers: take() without `after` answers the events after the log's
//    cursor and moves it past what it answered, so each event comes once to whichever reader
//    (backend worker, node) takes it. take(after) answers every kept event after `after`,
//    again if they were read, and moves the cursor forward to its `last` (never back). An
//    `after` beyond the newest id reads from the newest, so it skips no event still to come.
//  - The bound: the log keeps the newest `limit` events. A reader whose position is below the
//    oldest kept event gets a computed gap event first, `"type":"gap","dropped":N}` with N
//    the number of events dropped after its position and the id of the last dropped one;
//    what the bound dropped is never answered. One take answers at most kMaxPerTake events.
//  - Waiting: take_or_wait() answers like take() when there is something (or when no waiter
//    is given, or `no_wait` is set); otherwise it registers `waiter` under a fresh `ticket`
//    and answers nullopt. Any number of waiters may wait at once. Each waiter is called at
//    most once, with no engine lock held, on any thread: by the next append on any node (a
//    wake that a remote engine loses is healed by the caller's own timeout), or by
//    wake_all() on this node. cancel_wait(ticket) drops a waiter that has not been called;
//    one already on its way may still run, so waiters must be harmless after their wait
//    ended (api/ waiters only post a timer cancel).
//  - Shutdown: `no_wait` (the node's shutdown flag) is read atomically with the registration:
//    once it is set, no waiter is registered. The node sets it and then calls wake_all(), so
//    a poll racing with shutdown either answers at once or is woken: never a waiter nobody
//    calls.
//  - The listener (webhooks) gets each appended body once, on the node and thread whose
//    append() made it, after the event is readable and with no engine lock held, so that
//    every event is offered to the webhook outbox once across the cluster.
//  - Restarts: cursor() is the shared cursor; events_after() reads kept events without
//    moving it (what a node writes to its store); restore() starts an empty log from what a
//    store kept (ids go on after the newest, the cursor where it was). An engine whose
//    backend outlives the node (Redis) may ignore restore().
//  - size() is the number of events kept (at most `limit`), last_id() the newest id given
//    (0 for an empty log), waiting() the waiters registered through this node. They feed
//    stats: a remote engine may answer values a few seconds old.
//
// Blocking and failures: the local engine never blocks beyond its own leaf lock and never
// fails. A remote engine may block on every method but set_listener() (one round trip,
// bounded by its command deadline), so callers run it off the event loop: api/ reaches the
// services through the dispatch seam, which a parallel change moves onto the blocking pool.
// append() is called today under a local channel shard lock and under
// SessionService::login_mu_ (docs/lock-order.md): an engine takes no node lock, and a remote
// channel engine is expected to record its transitions in its backend, in the same step as
// the transition, rather than call its hook under a lock. A remote engine that cannot reach its
// backend answers 0 from append() (the event is not recorded and the listener is not called), and
// from take() an empty batch that leaves the cursor where it was: an outage looks like "nothing
// yet", never like events skipped.
//
// Every method is safe to call from any thread. The core never includes a driver header;
// remote engines live outside core/ (src/broker/<engine>/ with their broker).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/session.hpp"  // EventBatch (the event queue types live there today)

namespace rtm {

class ServerEventLog {
 public:
  using Waiter = std::function<void()>;
  using Listener = std::function<void(const std::string& body)>;
  // Most events one take answers.
  static constexpr std::size_t kMaxPerTake = 1000;

  virtual ~ServerEventLog() = default;

  // Appends an event (`body`: the JSON object text after its id, e.g.
  // `"type":"user.online","uid":7,"time":1700000000000}`), dropping the oldest past the
  // bound, and wakes every waiting poll. Returns its id (0: not recorded, see above).
  virtual std::uint64_t append(std::string body) = 0;
  // The function that gets every body this node appends (the webhook sender's offer(): it
  // must be cheap and take only leaf locks). Set once, before events flow.
  virtual void set_listener(Listener listener) = 0;

  // Events after `after` (or after the shared cursor), led by a gap event when unread
  // events were dropped; moves the cursor forward to the batch's `last`.
  virtual EventBatch take(std::optional<std::uint64_t> after) = 0;
  // Like take(); when there is nothing, a waiter is given and `no_wait` is not set,
  // registers `waiter` and answers nullopt with `ticket` set.
  virtual std::optional<EventBatch> take_or_wait(std::optional<std::uint64_t> after, Waiter waiter,
                                                 std::uint64_t& ticket,
                                                 const std::atomic<bool>* no_wait = nullptr) = 0;
  // Drops the waiter registered under `ticket`, if it has not been called.
  virtual void cancel_wait(std::uint64_t ticket) = 0;
  // Calls every waiter registered through this node (shutdown).
  virtual void wake_all() = 0;

  // The id of the last event a take() moved the shared cursor past (0: none).
  virtual std::uint64_t cursor() const = 0;
  // Kept events with id > after, oldest first, at most `max`; the cursor does not move.
  virtual std::vector<QueuedEvent> events_after(std::uint64_t after, std::size_t max) const = 0;
  // Before any append: the log holds `events` (oldest first, ids increasing, at most the
  // bound kept), the next append gets `next_id`, and the cursor is `cursor`.
  virtual void restore(std::vector<QueuedEvent> events, std::uint64_t next_id,
                       std::uint64_t cursor) = 0;

  virtual std::size_t size() const = 0;
  virtual std::uint64_t last_id() const = 0;
  virtual std::size_t waiting() const = 0;
};

}  // namespace rtm
