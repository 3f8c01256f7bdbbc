// ChannelRegistry: App Engine-style channels by client_id (API.md section 7). Each channel
// has a bounded queue of text messages that wait until a client polls (or a socket takes
// them), a connected state, the time of its last poll, at most one waiting poll (a waiter
// like Session's: a callback, no thread blocked) and the expiry of the latest token made
// for it. A channel whose expiry has passed is forgotten by sweep(), queue and all.
//
// Connected: the first poll (or socket attach) connects a channel. It disconnects when its
// last socket detaches, or when no poll has been made for `timeout_ms` (checked by sweep();
// a poll that is waiting counts as polling), or when it expires. Each change of the state
// calls the presence hook (the engine records channel.connected / channel.disconnected).
//
// Locking: the channels are split over shards by client_id; a shard's `mu` guards its map
// and every field of its channels. The presence hook is called under the shard's `mu`, so
// that the hook sees the changes of one channel in the order they happened; it may take
// only leaf locks (the engine's hook takes ServerEventStream::mu_, docs/lock-order.md).
// Waiters are called after `mu` is released.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"

namespace rtm {

struct ChannelOptions {
  std::size_t queue_limit = 1000;    // messages kept per channel; past it the oldest is dropped
  std::int64_t timeout_ms = 15'000;  // no poll for this long: disconnected
};

struct ChannelInfo {
  bool connected = false;
  std::size_t pending = 0;  // queued messages
};

struct ChannelStats {
  std::size_t channels = 0;
  std::size_t connected = 0;
  std::size_t pending = 0;
  std::size_t waiting = 0;
};

class ChannelRegistry {
 public:
  using Waiter = std::function<void()>;
  // (client_id, connected, now_ms): called under the shard lock on every change of state.
  using PresenceHook = std::function<void(const std::string&, bool, std::int64_t)>;

  explicit ChannelRegistry(ChannelOptions options, PresenceHook hook = nullptr);
  ChannelRegistry(const ChannelRegistry&) = delete;
  ChannelRegistry& operator=(const ChannelRegistry&) = delete;

  // Creates the channel, or extends its life: the latest expiry wins, an earlier one never
  // shortens it. A channel found already expired starts afresh (empty queue, disconnected).
  void open(const std::string& client_id, std::int64_t expires_ms, std::int64_t now_ms);

  // Queues a message (dropping the oldest past queue_limit) and wakes a waiting poll.
  // NotFound when there is no live channel for client_id.
  Status send(const std::string& client_id, std::string message, std::int64_t now_ms);
  Result<ChannelInfo> info(const std::string& client_id, std::int64_t now_ms) const;
  // Drops every queued message; answers how many. NotFound as send.
  Result<std::size_t> clear(const std::string& client_id, std::int64_t now_ms);

  // A poll by the holder of a token valid until expires_ms: opens the channel as open()
  // does, connects it, records the poll and takes every queued message at once. When there
  // is none and `waiter` is set, registers it (waking and replacing an earlier one) and
  // answers nullopt with `ticket` set: the waiter is called once, from the thread that
  // queues the next message, when the channel is forgotten, or on wake_all(). `no_wait`
  // (the engine's shutdown flag) is read under the shard lock: once set, no waiter is
  // registered (the same hand-shake as Session::take_or_wait).
  std::optional<std::vector<std::string>> poll(const std::string& client_id,
                                               std::int64_t expires_ms, std::int64_t now_ms,
                                               Waiter waiter, std::uint64_t& ticket,
                                               const std::atomic<bool>* no_wait = nullptr);
  // After a wait ends: drops the waiter registered under `ticket` if it is still current and
  // records the poll's end (the timeout counts from there).
  void cancel_wait(const std::string& client_id, std::uint64_t ticket, std::int64_t now_ms);
  // Takes every queued message (empty if the channel is gone).
  std::vector<std::string> take(const std::string& client_id);
  // Puts messages that were taken but could not be delivered (the socket failed while
  // writing them) back at the front of the queue, in their order, ahead of anything queued
  // since. The queue bound still holds: past queue_limit the oldest are dropped, as send()
  // drops them. Wakes a waiting poll. Nothing happens if the channel is gone.
  void give_back(const std::string& client_id, std::vector<std::string> messages);

  // A socket (WebSocket /v1/channel) holds the channel connected while attached; the last
  // detach disconnects it. attach opens the channel as poll does.
  void attach(const std::string& client_id, std::int64_t expires_ms, std::int64_t now_ms);
  void detach(const std::string& client_id, std::int64_t now_ms);

  // Disconnects channels not polled for timeout_ms and forgets expired ones (waking their
  // waiting polls). Returns how many were forgotten.
  std::size_t sweep(std::int64_t now_ms);
  // Wakes every waiting poll (shutdown): each answers with what it has.
  void wake_all();
  ChannelStats stats() const;

 private:
  struct Channel {
    std::int64_t expires_ms = 0;
    std::deque<std::string> queue;
    bool connected = false;
    std::int64_t last_poll_ms = 0;
    int sockets = 0;
    Waiter waiter;
    std::uint64_t waiter_ticket = 0;
  };
  static constexpr std::size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Channel> channels;
  };
  Shard& shard(const std::string& client_id) const;
  // The live channel for client_id, or null (absent or expired). Needs the shard's mu.
  static Channel* find_live_locked(Shard& shard, const std::string& client_id, std::int64_t now_ms);
  // open() under the shard's mu; answers the channel.
  Channel& open_locked(Shard& shard, const std::string& client_id, std::int64_t expires_ms,
                       std::int64_t now_ms);
  void set_connected_locked(const std::string& client_id, Channel& ch, bool connected,
                            std::int64_t now_ms);

  const ChannelOptions options_;
  const PresenceHook hook_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace rtm
