// The server event ring, its cursor and its waiting polls (see local_server_event_log.hpp).
#include "core/local_server_event_log.hpp"

#include <algorithm>
#include <vector>

namespace rtm {

LocalServerEventLog::LocalServerEventLog(std::size_t limit)
    : limit_(std::max<std::size_t>(limit, 1)) {}

std::uint64_t LocalServerEventLog::append(std::string body) {
  std::map<std::uint64_t, Waiter> wake;
  std::uint64_t id;
  auto shared = std::make_shared<const std::string>(std::move(body));
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
    events_.push_back(QueuedEvent{id, shared});
    while (events_.size() > limit_) events_.pop_front();
    wake.swap(waiters_);
  }
  for (auto& [ticket, w] : wake) w();
  if (listener_) listener_(*shared);
  return id;
}

EventBatch LocalServerEventLog::take(std::optional<std::uint64_t> after) {
  std::lock_guard lock(mu_);
  return take_locked(after);
}

std::optional<EventBatch> LocalServerEventLog::take_or_wait(std::optional<std::uint64_t> after,
                                                            Waiter waiter, std::uint64_t& ticket,
                                                            const std::atomic<bool>* no_wait) {
  std::lock_guard lock(mu_);
  EventBatch batch = take_locked(after);
  if (!batch.events.empty() || !waiter || (no_wait && no_wait->load())) return batch;
  ticket = ++next_ticket_;
  waiters_.emplace(ticket, std::move(waiter));
  return std::nullopt;
}

void LocalServerEventLog::cancel_wait(std::uint64_t ticket) {
  std::lock_guard lock(mu_);
  waiters_.erase(ticket);
}

void LocalServerEventLog::wake_all() {
  std::map<std::uint64_t, Waiter> wake;
  {
    std::lock_guard lock(mu_);
    wake.swap(waiters_);
  }
  for (auto& [ticket, w] : wake) w();
}

std::uint64_t LocalServerEventLog::cursor() const {
  std::lock_guard lock(mu_);
  return cursor_;
}

std::vector<QueuedEvent> LocalServerEventLog::events_after(std::uint64_t after,
                                                           std::size_t max) const {
  std::lock_guard lock(mu_);
  std::vector<QueuedEvent> out;
  auto it = std::upper_bound(events_.begin(), events_.end(), after,
                             [](std::uint64_t v, const QueuedEvent& e) { return v < e.id; });
  for (; it != events_.end() && out.size() < max; ++it) out.push_back(*it);
  return out;
}

void LocalServerEventLog::restore(std::vector<QueuedEvent> events, std::uint64_t next_id,
                                  std::uint64_t cursor) {
  std::lock_guard lock(mu_);
  events_.clear();
  for (auto& e : events) events_.push_back(std::move(e));
  while (events_.size() > limit_) events_.pop_front();
  next_id_ = std::max<std::uint64_t>(next_id, events_.empty() ? 1 : events_.back().id + 1);
  cursor_ = std::min(cursor, next_id_ - 1);
}

std::size_t LocalServerEventLog::size() const {
  std::lock_guard lock(mu_);
  return events_.size();
}

std::uint64_t LocalServerEventLog::last_id() const {
  std::lock_guard lock(mu_);
  return next_id_ - 1;
}

std::size_t LocalServerEventLog::waiting() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

EventBatch LocalServerEventLog::take_locked(std::optional<std::uint64_t> after) {
  return read_events(events_, next_id_, cursor_, after, kMaxPerTake);
}

}  // namespace rtm
