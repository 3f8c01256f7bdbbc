// ServerEventService: recording into and reading the server event stream
// (server_event_service.hpp).
#include "core/node/server_event_service.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace rtm {

namespace {

// The text as a JSON string literal (quotes and escapes included).
std::string json_string(const std::string& text) {
  return boost::json::serialize(boost::json::value(boost::json::string_view(text)));
}

}  // namespace

ServerEventService::ServerEventService(const NodeConfig& config, Store& store, ServerEventLog& log,
                                       const std::atomic<bool>& shutting_down)
    : config_(config), store_(store), shutting_down_(shutting_down), log_(log) {}

bool ServerEventService::records(std::string_view event_type) const {
  std::lock_guard lock(listen_mu_);
  return listen_.records(event_type);
}

ListenSelection ServerEventService::listen_selection() const {
  std::lock_guard lock(listen_mu_);
  return listen_;
}

namespace {
constexpr const char* kListenKey = "listen_selection";
}  // namespace

Result<ListenSelection> ServerEventService::set_listen(ListenSelection selection) {
  // store_mu_ orders the writes as the selections take effect; listen_mu_ is not held across
  // the store call, so recording events never waits on the disk.
  std::lock_guard write(listen_store_mu_);
  if (selection != listen_selection()) {
    if (auto stored = store_.put_meta(kListenKey, selection.encode()); !stored)
      return stored.error();
  }
  std::lock_guard lock(listen_mu_);
  listen_ = std::move(selection);
  return listen_;
}

Status ServerEventService::restore() {
  auto stored = store_.load_server_events(config_.server_events_limit);
  if (!stored) return stored.error();
  std::vector<QueuedEvent> events;
  events.reserve(stored->events.size());
  for (auto& [id, body] : stored->events)
    events.push_back(QueuedEvent{id, std::make_shared<const std::string>(std::move(body))});
  log_.restore(std::move(events), stored->last_id + 1, stored->cursor);
  std::lock_guard lock(checkpoint_mu_);
  saved_id_ = stored->last_id;
  saved_cursor_ = stored->cursor;
  return ok_status();
}

void ServerEventService::checkpoint() {
  std::lock_guard lock(checkpoint_mu_);
  std::uint64_t cursor = log_.cursor();
  auto events = log_.events_after(saved_id_, config_.server_events_limit);
  if (events.empty() && cursor == saved_cursor_) return;
  std::vector<std::pair<std::uint64_t, std::string>> rows;
  rows.reserve(events.size());
  for (const auto& e : events) rows.emplace_back(e.id, *e.body);
  // A store that cannot write logged why; the next checkpoint writes the same again.
  if (!store_.save_server_events(rows, cursor, config_.server_events_limit)) return;
  if (!events.empty()) saved_id_ = events.back().id;
  saved_cursor_ = cursor;
}

Status ServerEventService::load_listen() {
  auto text = store_.get_or_init_meta(kListenKey, ListenSelection{}.encode());
  if (!text) return text.error();
  auto sel = ListenSelection::decode(*text);
  if (!sel) return make_error(Rc::Internal, "the stored listen selection cannot be read: " + *text);
  std::lock_guard lock(listen_mu_);
  listen_ = std::move(*sel);
  return ok_status();
}

void ServerEventService::record_message_copy(const Message& targets, const EventBody& body,
                                             std::int64_t mtime) {
  {
    std::lock_guard lock(listen_mu_);
    if (!listen_.copies(targets)) return;
  }
  // The session event body `"type":"message","message":{...}}` with the time added.
  std::string event(*body, 0, body->size() - 1);
  event.append(",\"time\":").append(std::to_string(mtime)).append("}");
  log_.append(std::move(event));
}

void ServerEventService::record_user_presence(Uid uid, const char* type) {
  if (!records(type)) return;
  log_.append(std::string("\"type\":\"") + type + "\",\"uid\":" + std::to_string(uid) +
              ",\"time\":" + std::to_string(config_.now_ms()) + "}");
}

void ServerEventService::record_channel_presence(const std::string& client_id, bool connected,
                                                 std::int64_t now) {
  if (!records(connected ? "channel.connected" : "channel.disconnected")) return;
  log_.append(
      std::string("\"type\":\"") + (connected ? "channel.connected" : "channel.disconnected") +
      "\",\"client_id\":" + json_string(client_id) + ",\"time\":" + std::to_string(now) + "}");
}

void ServerEventService::record_file_uploaded(const std::string& file_json, Mid mid, Uid from,
                                              std::int64_t mtime) {
  if (!records("file.uploaded")) return;
  log_.append("\"type\":\"file.uploaded\",\"file\":" + file_json +
              ",\"mid\":" + std::to_string(mid) + ",\"from\":" + std::to_string(from) +
              ",\"time\":" + std::to_string(mtime) + "}");
}

EventBatch ServerEventService::take(std::optional<std::uint64_t> after) { return log_.take(after); }

std::optional<EventBatch> ServerEventService::take_or_wait(std::optional<std::uint64_t> after,
                                                           ServerEventLog::Waiter waiter,
                                                           std::uint64_t& ticket) {
  return log_.take_or_wait(after, std::move(waiter), ticket, &shutting_down_);
}

void ServerEventService::cancel_wait(std::uint64_t ticket) { log_.cancel_wait(ticket); }

}  // namespace rtm
