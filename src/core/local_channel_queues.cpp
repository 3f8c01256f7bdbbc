// Channel queues, connected state, waiters and expiry (see local_channel_queues.hpp).
#include "core/local_channel_queues.hpp"

#include <algorithm>

namespace rtm {

namespace {

Error not_found() {
  return make_error(Rc::NotFound, "no channel for this client_id (never created, or expired)");
}

}  // namespace

LocalChannelQueues::LocalChannelQueues(ChannelOptions options, PresenceHook hook)
    : options_(options), hook_(std::move(hook)) {}

LocalChannelQueues::Shard& LocalChannelQueues::shard(const std::string& client_id) const {
  return shards_[std::hash<std::string>{}(client_id) % kShards];
}

LocalChannelQueues::Channel* LocalChannelQueues::find_live_locked(Shard& shard,
                                                                  const std::string& client_id,
                                                                  std::int64_t now_ms) {
  auto it = shard.channels.find(client_id);
  if (it == shard.channels.end() || it->second.expires_ms <= now_ms) return nullptr;
  return &it->second;
}

void LocalChannelQueues::set_connected_locked(const std::string& client_id, Channel& ch,
                                              bool connected, std::int64_t now_ms) {
  if (ch.connected == connected) return;
  ch.connected = connected;
  if (hook_) hook_(client_id, connected, now_ms);
}

void LocalChannelQueues::bound_locked(Channel& ch, std::vector<ChannelMessage>* dropped) const {
  while (ch.queue.size() > options_.queue_limit) {
    if (dropped) dropped->push_back(std::move(ch.queue.front()));
    ch.queue.pop_front();
  }
}

LocalChannelQueues::Channel& LocalChannelQueues::open_locked(Shard& shard,
                                                             const std::string& client_id,
                                                             std::int64_t expires_ms,
                                                             std::int64_t now_ms) {
  auto [it, created] = shard.channels.try_emplace(client_id);
  Channel& ch = it->second;
  if (!created && ch.expires_ms <= now_ms) {
    // Expired but not yet swept: its messages died with its token; it starts afresh.
    ch.queue.clear();
    set_connected_locked(client_id, ch, false, now_ms);
  }
  ch.expires_ms = std::max(ch.expires_ms, expires_ms);
  return ch;
}

void LocalChannelQueues::open(const std::string& client_id, std::int64_t expires_ms,
                              std::int64_t now_ms) {
  Shard& s = shard(client_id);
  std::lock_guard lock(s.mu);
  open_locked(s, client_id, expires_ms, now_ms);
}

Status LocalChannelQueues::send(const std::string& client_id, ChannelMessage message,
                                std::int64_t now_ms, std::vector<ChannelMessage>* dropped) {
  Waiter waiter;
  {
    Shard& s = shard(client_id);
    std::lock_guard lock(s.mu);
    Channel* ch = find_live_locked(s, client_id, now_ms);
    if (!ch) return not_found();
    ch->queue.push_back(std::move(message));
    bound_locked(*ch, dropped);
    waiter = std::move(ch->waiter);
    ch->waiter = nullptr;
  }
  if (waiter) waiter();
  return ok_status();
}

Result<ChannelInfo> LocalChannelQueues::info(const std::string& client_id,
                                             std::int64_t now_ms) const {
  Shard& s = shard(client_id);
  std::lock_guard lock(s.mu);
  Channel* ch = find_live_locked(s, client_id, now_ms);
  if (!ch) return not_found();
  return ChannelInfo{ch->connected, ch->queue.size(), ch->expires_ms};
}

Result<std::vector<ChannelMessage>> LocalChannelQueues::clear(const std::string& client_id,
                                                              std::int64_t now_ms) {
  Shard& s = shard(client_id);
  std::lock_guard lock(s.mu);
  Channel* ch = find_live_locked(s, client_id, now_ms);
  if (!ch) return not_found();
  std::vector<ChannelMessage> out(std::make_move_iterator(ch->queue.begin()),
                                  std::make_move_iterator(ch->queue.end()));
  ch->queue.clear();
  return out;
}

std::optional<std::vector<ChannelMessage>> LocalChannelQueues::poll(
    const std::string& client_id, std::int64_t expires_ms, std::int64_t now_ms, Waiter waiter,
    std::uint64_t& ticket, const std::atomic<bool>* no_wait) {
  Waiter previous;
  std::optional<std::vector<ChannelMessage>> result;
  {
    Shard& s = shard(client_id);
    std::lock_guard lock(s.mu);
    Channel& ch = open_locked(s, client_id, expires_ms, now_ms);
    ch.last_poll_ms = std::max(ch.last_poll_ms, now_ms);
    set_connected_locked(client_id, ch, true, now_ms);
    if (!ch.queue.empty() || !waiter || (no_wait && no_wait->load())) {
      // Everything queued, in one step: a send racing with this poll lands either in this
      // answer or in the queue for the next one, never in neither.
      result.emplace(std::make_move_iterator(ch.queue.begin()),
                     std::make_move_iterator(ch.queue.end()));
      ch.queue.clear();
    } else {
      previous = std::move(ch.waiter);
      ch.waiter = std::move(waiter);
      ticket = ++ch.waiter_ticket;
    }
  }
  if (previous) previous();
  return result;
}

void LocalChannelQueues::cancel_wait(const std::string& client_id, std::uint64_t ticket,
                                     std::int64_t now_ms) {
  Shard& s = shard(client_id);
  std::lock_guard lock(s.mu);
  auto it = s.channels.find(client_id);
  if (it == s.channels.end()) return;
  Channel& ch = it->second;
  if (ch.waiter && ch.waiter_ticket == ticket) ch.waiter = nullptr;
  ch.last_poll_ms = std::max(ch.last_poll_ms, now_ms);
}

std::vector<ChannelMessage> LocalChannelQueues::take(const std::string& client_id) {
  Shard& s = shard(client_id);
  std::lock_guard lock(s.mu);
  auto it = s.channels.find(client_id);
  if (it == s.channels.end()) return {};
  auto& q = it->second.queue;
  std::vector<ChannelMessage> out(std::make_move_iterator(q.begin()),
                                  std::make_move_iterator(q.end()));
  q.clear();
  return out;
}

void LocalChannelQueues::give_back(const std::string& client_id,
                                   std::vector<ChannelMessage> messages,
                                   std::vector<ChannelMessage>* dropped) {
  Waiter waiter;
  {
    Shard& s = shard(client_id);
    std::lock_guard lock(s.mu);
    auto it = s.channels.find(client_id);
    if (it == s.channels.end() || messages.empty()) return;
    auto& q = it->second.queue;
    q.insert(q.begin(), std::make_move_iterator(messages.begin()),
             std::make_move_iterator(messages.end()));
    bound_locked(it->second, dropped);
    // A poll that began waiting meanwhile gets them now, as it would a send.
    waiter = std::move(it->second.waiter);
    it->second.waiter = nullptr;
  }
  if (waiter) waiter();
}

void LocalChannelQueues::attach(const std::string& client_id, std::int64_t expires_ms,
                                std::int64_t now_ms) {
  Shard& s = shard(client_id);
  std::lock_guard lock(s.mu);
  Channel& ch = open_locked(s, client_id, expires_ms, now_ms);
  ++ch.sockets;
  ch.last_poll_ms = std::max(ch.last_poll_ms, now_ms);
  set_connected_locked(client_id, ch, true, now_ms);
}

void LocalChannelQueues::detach(const std::string& client_id, std::int64_t now_ms) {
  Shard& s = shard(client_id);
  std::lock_guard lock(s.mu);
  auto it = s.channels.find(client_id);
  if (it == s.channels.end()) return;
  Channel& ch = it->second;
  if (ch.sockets > 0) --ch.sockets;
  ch.last_poll_ms = std::max(ch.last_poll_ms, now_ms);
  // A socket close disconnects at once (API.md section 7), unless another socket or a
  // waiting poll still holds the channel.
  if (ch.sockets == 0 && !ch.waiter) set_connected_locked(client_id, ch, false, now_ms);
}

void LocalChannelQueues::restore(const std::string& client_id, std::int64_t expires_ms,
                                 bool connected, std::vector<ChannelMessage> messages,
                                 std::int64_t now_ms) {
  Shard& s = shard(client_id);
  std::lock_guard lock(s.mu);
  Channel& ch = s.channels[client_id];
  ch.expires_ms = expires_ms;
  ch.queue.assign(std::make_move_iterator(messages.begin()),
                  std::make_move_iterator(messages.end()));
  bound_locked(ch, nullptr);
  ch.connected = connected;
  ch.last_poll_ms = now_ms;
}

std::size_t LocalChannelQueues::sweep(std::int64_t now_ms) {
  std::size_t forgotten = 0;
  std::vector<Waiter> wake;
  for (auto& s : shards_) {
    {
      std::lock_guard lock(s.mu);
      for (auto it = s.channels.begin(); it != s.channels.end();) {
        Channel& ch = it->second;
        if (ch.expires_ms <= now_ms) {
          set_connected_locked(it->first, ch, false, now_ms);
          if (ch.waiter) wake.push_back(std::move(ch.waiter));
          it = s.channels.erase(it);
          ++forgotten;
          continue;
        }
        if (ch.connected && !ch.waiter && ch.sockets == 0 &&
            now_ms - ch.last_poll_ms >= options_.timeout_ms)
          set_connected_locked(it->first, ch, false, now_ms);
        ++it;
      }
    }
    for (auto& w : wake) w();
    wake.clear();
  }
  return forgotten;
}

void LocalChannelQueues::wake_all() {
  std::vector<Waiter> wake;
  for (auto& s : shards_) {
    {
      std::lock_guard lock(s.mu);
      for (auto& [id, ch] : s.channels)
        if (ch.waiter) {
          wake.push_back(std::move(ch.waiter));
          ch.waiter = nullptr;
        }
    }
    for (auto& w : wake) w();
    wake.clear();
  }
}

ChannelStats LocalChannelQueues::stats() const {
  ChannelStats st;
  for (auto& s : shards_) {
    std::lock_guard lock(s.mu);
    st.channels += s.channels.size();
    for (auto& [id, ch] : s.channels) {
      st.connected += ch.connected;
      st.pending += ch.queue.size();
      st.waiting += static_cast<bool>(ch.waiter);
    }
  }
  return st;
}

}  // namespace rtm
