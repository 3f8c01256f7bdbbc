// Session event queue, cursor, gap computation and waiter hand-off (see session.hpp).
#include "core/session.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

namespace rtm {

std::string EventBatch::to_json_array() const {
  std::string out = "[";
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i) out += ',';
    out += "{\"id\":";
    out += std::to_string(events[i].id);
    out += ',';
    out += *events[i].body;
  }
  out += ']';
  return out;
}

EventBatch read_events(const EventQueue& events, std::uint64_t next_id, std::uint64_t& cursor,
                       std::optional<std::uint64_t> after, std::size_t max, std::uint64_t gap_floor,
                       std::uint64_t max_id) {
  EventBatch batch;
  // An `after` beyond the newest event must not move the cursor past events still to come.
  std::uint64_t from = std::min(after ? *after : cursor, next_id - 1);
  batch.from = from;
  batch.last = from;
  std::uint64_t first_kept = events.empty() ? next_id : events.front().id;
  // Events with ids in (from, first_kept) existed and were dropped by the queue's bound;
  // those at or below gap_floor were never handed out (numbered before a restart).
  std::uint64_t seen = std::max(from, gap_floor);
  if (seen < first_kept && first_kept - seen > 1 && first_kept - 1 <= max_id) {
    std::uint64_t dropped = first_kept - seen - 1;
    auto body = std::make_shared<const std::string>(
        "\"type\":\"gap\",\"dropped\":" + std::to_string(dropped) + "}");
    batch.events.push_back(QueuedEvent{first_kept - 1, std::move(body)});
    batch.last = first_kept - 1;
  }
  auto it = std::upper_bound(events.begin(), events.end(), from,
                             [](std::uint64_t v, const QueuedEvent& e) { return v < e.id; });
  for (; it != events.end() && batch.events.size() < max && it->id <= max_id; ++it) {
    batch.events.push_back(*it);
    batch.last = it->id;
  }
  cursor = std::max(cursor, batch.last);
  return batch;
}

void DirtySessions::mark(const std::string& id) {
  std::lock_guard lock(mu_);
  ids_.push_back(id);
}

std::vector<std::string> DirtySessions::take() {
  std::lock_guard lock(mu_);
  return std::exchange(ids_, {});
}

Session::Session(const SessionRecord& r, std::int64_t now_ms, DirtySessions* dirty)
    : id_(r.id),
      created_ms_(r.created_ms),
      holds_unauthorized_place_(false),
      uid_(r.uid),
      authorized_(true),
      settings_(r.settings),
      next_id_(r.id_limit + 1),
      cursor_(r.id_limit),
      last_active_ms_(now_ms),
      next_key_(r.next_key),
      dirty_(dirty),
      id_limit_(r.id_limit),
      gap_floor_(r.id_limit),
      replayed_through_(r.kept_position),
      restored_read_through_(r.read_position),
      pushed_position_(r.read_position),
      acked_position_(r.kept_position),
      ack_candidate_position_(r.read_position),
      ack_candidate_ms_(now_ms) {
  for (const auto& [key, topic] : r.subscriptions) {
    key_to_topic_.emplace(key, topic);
    topic_to_key_.emplace(topic, key);
  }
}

Session::Session(std::string id, std::int64_t now_ms, std::string address,
                 bool holds_unauthorized_place)
    : id_(std::move(id)),
      address_(std::move(address)),
      created_ms_(now_ms),
      holds_unauthorized_place_(holds_unauthorized_place),
      last_active_ms_(now_ms) {}

bool Session::take_unauthorized_place() {
  std::lock_guard lock(mu_);
  return std::exchange(holds_unauthorized_place_, false);
}

Uid Session::uid() const {
  std::lock_guard lock(mu_);
  return uid_;
}

bool Session::authorized() const {
  std::lock_guard lock(mu_);
  return authorized_;
}

bool Session::live() const {
  std::lock_guard lock(mu_);
  return state_ == SessionState::Live;
}

void Session::bind(Uid uid) {
  std::lock_guard lock(mu_);
  uid_ = uid;
  authorized_ = true;
}

void Session::touch(std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  last_active_ms_ = std::max(last_active_ms_, now_ms);
}

std::int64_t Session::last_active_ms() const {
  std::lock_guard lock(mu_);
  return last_active_ms_;
}

bool Session::idle(std::int64_t now_ms) const {
  std::lock_guard lock(mu_);
  if (state_ != SessionState::Live || waiter_ || attached_sockets_ > 0) return false;
  return now_ms - last_active_ms_ >= std::int64_t{settings_.idle_timeout} * 1000;
}

void Session::attach_socket() {
  std::lock_guard lock(mu_);
  ++attached_sockets_;
}

void Session::detach_socket(std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (attached_sockets_ > 0) --attached_sockets_;
  last_active_ms_ = std::max(last_active_ms_, now_ms);
}

SessionSettings Session::settings() const {
  std::lock_guard lock(mu_);
  return settings_;
}

void Session::set_settings(const SessionSettings& settings) {
  std::lock_guard lock(mu_);
  settings_ = settings;
  while (events_.size() > static_cast<std::size_t>(settings_.queue_limit)) events_.pop_front();
}

SessionSettings Session::update_settings(const SettingsPatch& patch) {
  std::lock_guard lock(mu_);
  if (patch.max_events) settings_.max_events = *patch.max_events;
  if (patch.queue_limit) settings_.queue_limit = *patch.queue_limit;
  if (patch.presence) settings_.presence = *patch.presence;
  if (patch.idle_timeout) settings_.idle_timeout = *patch.idle_timeout;
  while (events_.size() > static_cast<std::size_t>(settings_.queue_limit)) events_.pop_front();
  return settings_;
}

bool Session::push(const EventBody& body, bool is_presence, std::uint64_t position) {
  Waiter waiter;
  DirtySessions* marked = nullptr;
  DirtySessions* hurry = nullptr;
  {
    std::lock_guard lock(mu_);
    if (state_ != SessionState::Live) return false;
    if (is_presence && !settings_.presence) return true;
    if (position != 0 && position <= replayed_through_) return true;  // read before a restart
    push_locked(QueuedEvent{next_id_++, body, position});
    pushed_position_ = std::max(pushed_position_, position);
    // Replayed after a restart and read before it: kept for `after`, not new to the cursor.
    if (position != 0 && position <= restored_read_through_) cursor_ = next_id_ - 1;
    // Half of the reserved ids are used: the next checkpoint reserves another block.
    if (id_limit_ != std::numeric_limits<std::uint64_t>::max() &&
        next_id_ - 1 + kIdBlock / 2 > id_limit_) {
      marked = mark_dirty_locked();
      hurry = dirty_;
    }
    waiter = take_waiter_locked();
  }
  if (marked) marked->mark(id_);
  if (hurry) hurry->hurry();
  if (waiter) waiter();
  return true;
}

void Session::push_locked(QueuedEvent event) {
  events_.push_back(std::move(event));
  if (events_.size() > static_cast<std::size_t>(settings_.queue_limit)) events_.pop_front();
}

EventBatch Session::take(std::optional<std::uint64_t> after) {
  DirtySessions* marked = nullptr;
  EventBatch batch;
  {
    std::lock_guard lock(mu_);
    std::uint64_t before = cursor_;
    batch = take_locked(after);
    if (cursor_ != before) marked = mark_dirty_locked();
  }
  if (marked) marked->mark(id_);
  return batch;
}

std::optional<EventBatch> Session::take_or_wait(std::optional<std::uint64_t> after, Waiter waiter,
                                                std::uint64_t& ticket,
                                                const std::atomic<bool>* no_wait) {
  Waiter previous;
  std::optional<EventBatch> result;
  DirtySessions* marked = nullptr;
  {
    std::lock_guard lock(mu_);
    std::uint64_t before = cursor_;
    EventBatch batch = take_locked(after);
    if (cursor_ != before) marked = mark_dirty_locked();
    // The flag is read under mu_ so that it cannot be set, and every session woken, between
    // this check and the registration below (a waiter nobody would ever call).
    if (!batch.events.empty() || state_ != SessionState::Live || (no_wait && no_wait->load())) {
      result = std::move(batch);
    } else {
      previous = take_waiter_locked();
      waiter_ = std::move(waiter);
      ticket = ++waiter_ticket_;
    }
  }
  if (marked) marked->mark(id_);
  if (previous) previous();
  return result;
}

void Session::cancel_wait(std::uint64_t ticket) {
  std::lock_guard lock(mu_);
  if (waiter_ && waiter_ticket_ == ticket) waiter_ = nullptr;
}

void Session::rewind(std::uint64_t from, std::uint64_t last) {
  Waiter waiter;
  DirtySessions* marked = nullptr;
  {
    std::lock_guard lock(mu_);
    if (cursor_ != last || from >= cursor_) return;
    cursor_ = from;
    marked = mark_dirty_locked();
    // A poll that began waiting meanwhile has events to read again.
    waiter = take_waiter_locked();
  }
  if (marked) marked->mark(id_);
  if (waiter) waiter();
}

void Session::wake() {
  Waiter waiter;
  {
    std::lock_guard lock(mu_);
    waiter = take_waiter_locked();
  }
  if (waiter) waiter();
}

bool Session::has_waiter() const {
  std::lock_guard lock(mu_);
  return static_cast<bool>(waiter_);
}

std::size_t Session::queued() const {
  std::lock_guard lock(mu_);
  return events_.size();
}

bool Session::end(const char* state, std::int64_t now_ms) {
  Waiter waiter;
  {
    std::lock_guard lock(mu_);
    if (state_ != SessionState::Live) return false;
    if (state) {
      auto body = std::make_shared<const std::string>(
          std::string("\"type\":\"session\",\"state\":\"") + state + "\"}");
      push_locked(QueuedEvent{next_id_++, std::move(body)});
    }
    state_ = SessionState::Ended;
    // Its record goes (the caller deletes it): what is left is answered without a limit.
    dirty_ = nullptr;
    id_limit_ = std::numeric_limits<std::uint64_t>::max();
    ended_at_ms_ = now_ms;
    waiter = take_waiter_locked();
  }
  if (waiter) waiter();
  return true;
}

std::int64_t Session::ended_at_ms() const {
  std::lock_guard lock(mu_);
  return ended_at_ms_;
}

bool Session::has_unread() const {
  std::lock_guard lock(mu_);
  return !events_.empty() && events_.back().id > cursor_;
}

std::string Session::subscribe(const std::string& topic, bool& created) {
  return *try_subscribe(topic, created, std::numeric_limits<std::size_t>::max());
}

std::optional<std::string> Session::try_subscribe(const std::string& topic, bool& created,
                                                  std::size_t max_topics) {
  std::lock_guard lock(mu_);
  auto it = topic_to_key_.find(topic);
  if (it != topic_to_key_.end()) {
    created = false;
    return it->second;
  }
  created = false;
  if (topic_to_key_.size() >= max_topics) return std::nullopt;
  std::string key = "s" + std::to_string(next_key_++);
  topic_to_key_.emplace(topic, key);
  key_to_topic_.emplace(key, topic);
  created = true;
  return key;
}

std::optional<std::string> Session::unsubscribe(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = key_to_topic_.find(key);
  if (it == key_to_topic_.end()) return std::nullopt;
  std::string topic = it->second;
  key_to_topic_.erase(it);
  topic_to_key_.erase(topic);
  return topic;
}

bool Session::unsubscribe_topic(const std::string& topic) {
  std::lock_guard lock(mu_);
  auto it = topic_to_key_.find(topic);
  if (it == topic_to_key_.end()) return false;
  key_to_topic_.erase(it->second);
  topic_to_key_.erase(it);
  return true;
}

bool Session::subscribed(const std::string& topic) const {
  std::lock_guard lock(mu_);
  return topic_to_key_.count(topic) > 0;
}

std::vector<std::string> Session::topics() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  out.reserve(topic_to_key_.size());
  for (auto& [topic, key] : topic_to_key_) out.push_back(topic);
  return out;
}

EventBatch Session::take_locked(std::optional<std::uint64_t> after) {
  return read_events(events_, next_id_, cursor_, after,
                     static_cast<std::size_t>(settings_.max_events), gap_floor_, id_limit_);
}

// --- durability -------------------------------------------------------------------------

SessionRecord Session::first_record(Uid uid, std::uint64_t read_position) const {
  std::lock_guard lock(mu_);
  SessionRecord r = record_locked();
  r.uid = uid;
  r.read_position = read_position;
  r.kept_position = read_position;
  r.id_limit = next_id_ - 1 + kIdBlock;
  return r;
}

void Session::make_durable(DirtySessions* dirty, std::uint64_t id_limit,
                           std::uint64_t read_position) {
  std::lock_guard lock(mu_);
  if (state_ != SessionState::Live) return;
  dirty_ = dirty;
  id_limit_ = id_limit;
  pushed_position_ = std::max(pushed_position_, read_position);
  acked_position_ = ack_candidate_position_ = read_position;
  ack_candidate_ms_ = last_active_ms_;
}

bool Session::durable() const {
  std::lock_guard lock(mu_);
  return dirty_ != nullptr;
}

std::optional<SessionRecord> Session::record() const {
  std::lock_guard lock(mu_);
  if (!dirty_) return std::nullopt;
  return record_locked();
}

SessionRecord Session::record_locked() const {
  SessionRecord r;
  r.id = id_;
  r.uid = uid_;
  r.created_ms = created_ms_;
  r.settings = settings_;
  r.next_key = next_key_;
  r.read_position = read_position_locked();
  r.kept_position = std::min(r.read_position, std::max(acked_position_, kept_position_locked()));
  r.id_limit = id_limit_;
  for (const auto& [key, topic] : key_to_topic_) r.subscriptions.emplace_back(key, topic);
  // "s<n>" in the order of n, as they were made.
  std::sort(r.subscriptions.begin(), r.subscriptions.end(), [](const auto& a, const auto& b) {
    return a.first.size() != b.first.size() ? a.first.size() < b.first.size() : a.first < b.first;
  });
  return r;
}

std::uint64_t Session::read_position_locked() const {
  // The first unread message bounds what was read: every message before it reached this
  // session earlier (sessions receive the stream in order) and was read or dropped.
  auto it = std::upper_bound(events_.begin(), events_.end(), cursor_,
                             [](std::uint64_t v, const QueuedEvent& e) { return v < e.id; });
  for (; it != events_.end(); ++it)
    if (it->position != 0) return it->position - 1;
  return pushed_position_;
}

std::uint64_t Session::kept_position_locked() const {
  // The oldest message kept, read or not: a reader that passes `after` may want it again
  // (a WebSocket push the client never got), so a restart gives it back too.
  for (const auto& e : events_)
    if (e.position != 0) return e.position - 1;
  return read_position_locked();
}

std::optional<SessionPositions> Session::checkpoint_positions(std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  marked_ = false;
  if (!dirty_) return std::nullopt;
  SessionPositions p;
  p.id = id_;
  p.read_position = read_position_locked();
  // What was read at least kAckLagMs ago: a reader that passes `after` gets the rest again
  // after a restart (what a socket took in the last seconds may never have reached it).
  if (now_ms - ack_candidate_ms_ >= kAckLagMs) {
    acked_position_ = ack_candidate_position_;
    ack_candidate_position_ = p.read_position;
    ack_candidate_ms_ = now_ms;
  }
  p.kept_position = std::min(p.read_position, std::max(acked_position_, kept_position_locked()));
  p.id_limit = id_limit_;
  if (next_id_ - 1 + kIdBlock / 2 > id_limit_) p.id_limit = next_id_ - 1 + kIdBlock;
  return p;
}

void Session::mark_dirty() {
  DirtySessions* marked;
  {
    std::lock_guard lock(mu_);
    marked = mark_dirty_locked();
  }
  if (marked) marked->mark(id_);
}

void Session::pass_idle(std::uint64_t through) {
  DirtySessions* marked;
  {
    std::lock_guard lock(mu_);
    // read == pushed: no message is unread (the first unread one would bound the read).
    if (state_ != SessionState::Live || through <= pushed_position_ ||
        read_position_locked() != pushed_position_)
      return;
    pushed_position_ = through;
    marked = mark_dirty_locked();
  }
  if (marked) marked->mark(id_);
}

void Session::reserved(std::uint64_t id_limit) {
  Waiter waiter;
  {
    std::lock_guard lock(mu_);
    if (!dirty_ || id_limit <= id_limit_) return;
    bool held_back = next_id_ - 1 > id_limit_;
    id_limit_ = id_limit;
    if (held_back) waiter = take_waiter_locked();  // events it could not answer before
  }
  if (waiter) waiter();
}

DirtySessions* Session::mark_dirty_locked() {
  if (!dirty_ || marked_) return nullptr;
  marked_ = true;
  return dirty_;  // DirtySessions outlives every session (it is the SessionService's)
}

Session::Waiter Session::take_waiter_locked() {
  Waiter w = std::move(waiter_);
  waiter_ = nullptr;
  return w;
}

}  // namespace rtm
