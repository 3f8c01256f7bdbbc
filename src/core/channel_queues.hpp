// ChannelQueues: App Engine-style channels by client_id (API.md section 7) behind one
// interface, so that channels shared by many nodes (Redis: a hash and a list per channel,
// each call one script, as centrifuge's Broker and PresenceManager plug in) and this
// process's (`local`, core/local_channel_queues.hpp) are used the same way. Each channel has
// a bounded queue of text messages that wait until a client polls (or a socket takes them),
// a connected state, the time of its last poll, the sockets attached to it, at most one
// waiting poll and the expiry of the latest token made for it.
//
// Guarantees every engine gives (tests/unit/channel_queues_contract_test.cpp checks them
// against each engine; "every node" means every node whose engine shares the channels):
//  - One channel per client_id across the nodes: a channel opened on one node, sent to on
//    another and polled on a third is one channel (one queue, one connected state, one
//    waiter, one count of sockets).
//  - Life: open() creates a channel or extends it; the latest expiry wins, an earlier one
//    never shortens it. poll() and attach() open the channel the same way (a token is proof
//    enough). From its expiry on a channel is dead: send/info/clear answer NotFound even
//    before sweep() forgets it, and open/poll/attach start it afresh (empty queue,
//    disconnected). A dead channel may be forgotten at any moment (sweep(), or a backend's
//    TTL); until then take, give_back, cancel_wait and detach still reach it.
//  - The queue: send() appends at the back; past queue_limit the oldest messages are
//    dropped, never the newest. A poll takes every queued message in one step: a send
//    racing with it lands in that answer or in the queue for the next one, never in neither
//    and never in both. give_back() puts messages taken but not delivered back at the front,
//    in their order, ahead of everything queued since; the bound still holds, so past
//    queue_limit the oldest (the given-back ones first) are dropped. clear() drops them all.
//  - At most one waiting poll per channel, across the nodes: a poll that registers a waiter
//    wakes (calls) the one it replaces. A waiter is called at most once, with no engine lock
//    held, on any thread: by the next send() or give_back() on any node, by a newer waiting
//    poll, when the channel is forgotten at its expiry, or by wake_all() on this node.
//    cancel_wait(ticket) drops the waiter only while `ticket` is still the current one (a
//    newer poll's waiter stays); a waiter already on its way may still run, so waiters must
//    be harmless after their wait ended. A poll without a waiter never touches the one
//    waiting. `no_wait` (the node's shutdown flag) is read atomically with the registration:
//    once set, poll answers at once (the node then calls wake_all()).
//  - Connected: the first poll or socket attach connects a channel. It disconnects when its
//    last socket detaches (unless a poll is waiting), when no poll was made for timeout_ms
//    (checked by sweep(); a waiting poll or an attached socket counts as polling; the time
//    counts from the end of the last poll), or at its expiry. Each change of state calls the
//    presence hook once across the nodes, with the time of the change: connected and
//    disconnected alternate for one channel, and the hook sees one channel's changes in the
//    order they happened (the node records them as server events in that order). The hook
//    is called while the engine holds that channel's serialization (the local engine: its
//    shard lock), so it may take only leaf locks and must not call back into the engine.
//  - sweep() may run on any node, at any time; each disconnect and each forgetting it does
//    happens once across the nodes. It answers how many channels this call forgot.
//  - Positions: each message carries the position its durable copy has in the channel store
//    (core/channel_store.hpp), 0 when it has none; the engine keeps it with the message and
//    hands it back with it (take, poll, clear, and the messages a bound drops), so that the
//    node can forget the durable copy of what is gone. restore() puts a channel back as the
//    store kept it, without calling the presence hook.
//  - stats() counts channels, connected ones, queued messages and waiting polls (a remote
//    engine may answer values a few seconds old).
//
// Blocking and failures: the local engine never blocks beyond its shard lock. A remote
// engine may block on every method but set_presence_hook() (one round trip, bounded by its
// command deadline), so callers run it off the event loop: api/ reaches the services
// through the dispatch seam, which a parallel change moves onto the blocking pool. A remote
// engine that cannot reach its backend answers Unavailable where a call answers a Status or
// Result; poll() and take() then answer no message (queued messages stay queued).
//
// Every method is safe to call from any thread. Times are the caller's (now_ms), so that
// tests drive expiry without sleeping and every node uses the same rule.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace rtm {

struct ChannelOptions {
  std::size_t queue_limit = 1000;    // messages kept per channel; past it the oldest is dropped
  std::int64_t timeout_ms = 15'000;  // no poll for this long: disconnected
};

struct ChannelInfo {
  bool connected = false;
  std::size_t pending = 0;      // queued messages
  std::int64_t expires_ms = 0;  // the channel's end: the expiry of its latest token
};

// A queued message and where its durable copy is (channel_store.hpp; 0: nowhere).
struct ChannelMessage {
  std::uint64_t position = 0;
  std::string text;
};

struct ChannelStats {
  std::size_t channels = 0;
  std::size_t connected = 0;
  std::size_t pending = 0;
  std::size_t waiting = 0;
};

class ChannelQueues {
 public:
  using Waiter = std::function<void()>;
  // (client_id, connected, now_ms): called on every change of a channel's connected state.
  using PresenceHook = std::function<void(const std::string&, bool, std::int64_t)>;

  virtual ~ChannelQueues() = default;

  // Set once, before channels are used (ChannelService sets the one that records server
  // events).
  virtual void set_presence_hook(PresenceHook hook) = 0;

  // Creates the channel, or extends its life to expires_ms if that is later.
  virtual void open(const std::string& client_id, std::int64_t expires_ms, std::int64_t now_ms) = 0;
  // Queues a message and wakes a waiting poll. NotFound without a live channel. What the
  // bound drops goes to `dropped` when it is given.
  virtual Status send(const std::string& client_id, ChannelMessage message, std::int64_t now_ms,
                      std::vector<ChannelMessage>* dropped = nullptr) = 0;
  virtual Result<ChannelInfo> info(const std::string& client_id, std::int64_t now_ms) const = 0;
  // Drops every queued message and answers them. NotFound as send.
  virtual Result<std::vector<ChannelMessage>> clear(const std::string& client_id,
                                                    std::int64_t now_ms) = 0;

  // A poll by the holder of a token valid until expires_ms: opens the channel as open()
  // does, connects it, records the poll and takes every queued message. When there is none,
  // `waiter` is set and `no_wait` is not, registers it and answers nullopt with `ticket` set.
  virtual std::optional<std::vector<ChannelMessage>> poll(
      const std::string& client_id, std::int64_t expires_ms, std::int64_t now_ms, Waiter waiter,
      std::uint64_t& ticket, const std::atomic<bool>* no_wait = nullptr) = 0;
  // After a wait ends: drops the waiter registered under `ticket` if it is still current and
  // records the poll's end (the timeout counts from there).
  virtual void cancel_wait(const std::string& client_id, std::uint64_t ticket,
                           std::int64_t now_ms) = 0;
  // Takes every queued message (empty if the channel is gone).
  virtual std::vector<ChannelMessage> take(const std::string& client_id) = 0;
  // Puts messages taken but not delivered back at the front of the queue and wakes a
  // waiting poll. Nothing happens if the channel is gone or `messages` is empty. What the
  // bound drops goes to `dropped` when it is given.
  virtual void give_back(const std::string& client_id, std::vector<ChannelMessage> messages,
                         std::vector<ChannelMessage>* dropped = nullptr) = 0;

  // A socket (WebSocket /v1/channel) holds the channel connected while attached; the last
  // detach disconnects it. attach opens the channel as poll does.
  virtual void attach(const std::string& client_id, std::int64_t expires_ms,
                      std::int64_t now_ms) = 0;
  virtual void detach(const std::string& client_id, std::int64_t now_ms) = 0;

  // A channel as the store kept it across a restart (ChannelService::restore): live until
  // expires_ms, connected or not (a connected one counts as polled at now_ms, so its client
  // has channel_timeout to come back), with `messages` queued in their order. Replaces
  // whatever the engine had for client_id; the presence hook is not called.
  virtual void restore(const std::string& client_id, std::int64_t expires_ms, bool connected,
                       std::vector<ChannelMessage> messages, std::int64_t now_ms) = 0;

  // Disconnects channels not polled for timeout_ms and forgets expired ones (waking their
  // waiting polls). Returns how many were forgotten.
  virtual std::size_t sweep(std::int64_t now_ms) = 0;
  // Wakes every poll waiting through this node (shutdown): each answers with what it has.
  virtual void wake_all() = 0;
  virtual ChannelStats stats() const = 0;
};

}  // namespace rtm
