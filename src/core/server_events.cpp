// The server event ring, its cursor and its waiting polls (see server_events.hpp).
#include "core/server_events.hpp"

#include <algorithm>
#include <vector>

namespace rtm {

ServerEventStream::ServerEventStream(std::size_t limit) : limit_(std::max<std::size_t>(limit, 1)) {}

std::uint64_t ServerEventStream::publish(std::string body) {
  std::map<std::uint64_t, Waiter> wake;
  std::uint64_t id;
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
    events_.push_back(QueuedEvent{id, std::make_shared<const std::string>(std::move(body))});
    while (events_.size() > limit_) events_.pop_front();
    wake.swap(waiters_);
  }
  for (auto& [ticket, w] : wake) w();
  return id;
}

EventBatch ServerEventStream::take(std::optional<std::uint64_t> after) {
  std::lock_guard lock(mu_);
  return take_locked(after);
}

std::optional<EventBatch> ServerEventStream::take_or_wait(std::optional<std::uint64_t> after,
                                                          Waiter waiter, std::uint64_t& ticket,
                                                          const std::atomic<bool>* no_wait) {
  std::lock_guard lock(mu_);
  EventBatch batch = take_locked(after);
  if (!batch.events.empty() || !waiter || (no_wait && no_wait->load())) return batch;
  ticket = ++next_ticket_;
  waiters_.emplace(ticket, std::move(waiter));
  return std::nullopt;
}

void ServerEventStream::cancel_wait(std::uint64_t ticket) {
  std::lock_guard lock(mu_);
  waiters_.erase(ticket);
}

void ServerEventStream::wake_all() {
  std::map<std::uint64_t, Waiter> wake;
  {
    std::lock_guard lock(mu_);
    wake.swap(waiters_);
  }
  for (auto& [ticket, w] : wake) w();
}

std::size_t ServerEventStream::size() const {
  std::lock_guard lock(mu_);
  return events_.size();
}

std::uint64_t ServerEventStream::last_id() const {
  std::lock_guard lock(mu_);
  return next_id_ - 1;
}

std::size_t ServerEventStream::waiting() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

// The same reading rules as Session::take_locked (docs/semantics.md "Events").
EventBatch ServerEventStream::take_locked(std::optional<std::uint64_t> after) {
  EventBatch batch;
  // An `after` beyond the newest event must not move the cursor past events still to come.
  std::uint64_t from = std::min(after ? *after : cursor_, next_id_ - 1);
  batch.last = from;
  std::uint64_t first_kept = events_.empty() ? next_id_ : events_.front().id;
  if (from < first_kept && first_kept - from > 1) {
    std::uint64_t dropped = first_kept - from - 1;
    auto body = std::make_shared<const std::string>(
        "\"type\":\"gap\",\"dropped\":" + std::to_string(dropped) + "}");
    batch.events.push_back(QueuedEvent{first_kept - 1, std::move(body)});
    batch.last = first_kept - 1;
  }
  auto it = std::upper_bound(events_.begin(), events_.end(), from,
                             [](std::uint64_t v, const QueuedEvent& e) { return v < e.id; });
  for (; it != events_.end() && batch.events.size() < kMaxPerTake; ++it) {
    batch.events.push_back(*it);
    batch.last = it->id;
  }
  cursor_ = std::max(cursor_, batch.last);
  return batch;
}

}  // namespace rtm
