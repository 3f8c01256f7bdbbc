// LocalChannelQueues: the `local` engine of ChannelQueues (core/channel_queues.hpp), this
// process's channels in memory. One node only: another process has channels of its own.
//
// Locking: the channels are split over shards by client_id; a shard's `mu` guards its map
// and every field of its channels. The presence hook is called under the shard's `mu`, so
// that the hook sees the changes of one channel in the order they happened; it may take
// only leaf locks (the node's hook takes LocalServerEventLog::mu_, docs/lock-order.md).
// Waiters are called after `mu` is released.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/channel_queues.hpp"
#include "core/result.hpp"

namespace rtm {

class LocalChannelQueues final : public ChannelQueues {
 public:
  explicit LocalChannelQueues(ChannelOptions options, PresenceHook hook = nullptr);
  LocalChannelQueues(const LocalChannelQueues&) = delete;
  LocalChannelQueues& operator=(const LocalChannelQueues&) = delete;

  void set_presence_hook(PresenceHook hook) override { hook_ = std::move(hook); }

  void open(const std::string& client_id, std::int64_t expires_ms, std::int64_t now_ms) override;
  Status send(const std::string& client_id, ChannelMessage message, std::int64_t now_ms,
              std::vector<ChannelMessage>* dropped = nullptr) override;
  Result<ChannelInfo> info(const std::string& client_id, std::int64_t now_ms) const override;
  Result<std::vector<ChannelMessage>> clear(const std::string& client_id,
                                            std::int64_t now_ms) override;

  std::optional<std::vector<ChannelMessage>> poll(
      const std::string& client_id, std::int64_t expires_ms, std::int64_t now_ms, Waiter waiter,
      std::uint64_t& ticket, const std::atomic<bool>* no_wait = nullptr) override;
  void cancel_wait(const std::string& client_id, std::uint64_t ticket,
                   std::int64_t now_ms) override;
  std::vector<ChannelMessage> take(const std::string& client_id) override;
  void give_back(const std::string& client_id, std::vector<ChannelMessage> messages,
                 std::vector<ChannelMessage>* dropped = nullptr) override;

  void attach(const std::string& client_id, std::int64_t expires_ms, std::int64_t now_ms) override;
  void detach(const std::string& client_id, std::int64_t now_ms) override;
  void restore(const std::string& client_id, std::int64_t expires_ms, bool connected,
               std::vector<ChannelMessage> messages, std::int64_t now_ms) override;

  std::size_t sweep(std::int64_t now_ms) override;
  void wake_all() override;
  ChannelStats stats() const override;

 private:
  struct Channel {
    std::int64_t expires_ms = 0;
    std::deque<ChannelMessage> queue;
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
  // Drops the oldest past queue_limit, into `dropped` when it is given.
  void bound_locked(Channel& ch, std::vector<ChannelMessage>* dropped) const;
  void set_connected_locked(const std::string& client_id, Channel& ch, bool connected,
                            std::int64_t now_ms);

  const ChannelOptions options_;
  PresenceHook hook_;  // set before channels are used, then only read
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace rtm
