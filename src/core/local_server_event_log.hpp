// LocalServerEventLog: the `local` engine of ServerEventLog (core/server_event_log.hpp), a
// bounded ring of this process's events (the node writes it to its store and restores it
// after a restart: ServerEventService::checkpoint / restore). One node only: another process
// has a log of its own.
//
// Locking: `mu_` guards the ring, the next id, the cursor and the waiters; it is a leaf lock
// (append() is called under a LocalChannelQueues shard lock and under
// SessionService::login_mu_, docs/lock-order.md). Waiters and the listener are called after
// `mu_` is released.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/server_event_log.hpp"
#include "core/session.hpp"

namespace rtm {

class LocalServerEventLog final : public ServerEventLog {
 public:
  // `limit`: events kept (at least 1).
  explicit LocalServerEventLog(std::size_t limit = 10'000);
  LocalServerEventLog(const LocalServerEventLog&) = delete;
  LocalServerEventLog& operator=(const LocalServerEventLog&) = delete;

  std::uint64_t append(std::string body) override;
  void set_listener(Listener listener) override { listener_ = std::move(listener); }
  EventBatch take(std::optional<std::uint64_t> after) override;
  std::optional<EventBatch> take_or_wait(std::optional<std::uint64_t> after, Waiter waiter,
                                         std::uint64_t& ticket,
                                         const std::atomic<bool>* no_wait = nullptr) override;
  void cancel_wait(std::uint64_t ticket) override;
  void wake_all() override;

  std::uint64_t cursor() const override;
  std::vector<QueuedEvent> events_after(std::uint64_t after, std::size_t max) const override;
  void restore(std::vector<QueuedEvent> events, std::uint64_t next_id,
               std::uint64_t cursor) override;

  std::size_t size() const override;
  std::uint64_t last_id() const override;
  std::size_t waiting() const override;

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
