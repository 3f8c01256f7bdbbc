// ServerEventService: the server event stream of API.md section 8 as the services see it:
// what the node records (user.online / user.offline, channel.connected /
// channel.disconnected, file.uploaded, copies of the messages server/listen selects), the
// listen selection, and the backend's reads of the stream. The stream itself is a
// ServerEventLog (core/server_event_log.hpp) that the node's caller chose: `local`
// (LocalServerEventLog, this process's ring) today.
//
// Locking: listen_mu_ guards listen_ and is a leaf; recording appends to the log (the local
// engine takes its leaf LocalServerEventLog::mu_) after listen_mu_ is released. Recording may
// happen under a LocalChannelQueues shard lock and under SessionService::login_mu_
// (docs/lock-order.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/listen_selection.hpp"
#include "core/message.hpp"
#include "core/node/node_config.hpp"
#include "core/server_event_log.hpp"
#include "core/store.hpp"

namespace rtm {

class ServerEventService {
 public:
  ServerEventService(const NodeConfig& config, Store& store, ServerEventLog& log,
                     const std::atomic<bool>& shutting_down);

  // --- recording ------------------------------------------------------------------------
  // type: "user.online" or "user.offline".
  void record_user_presence(Uid uid, const char* type);
  void record_channel_presence(const std::string& client_id, bool connected, std::int64_t now);
  // A copy of a stored message (its session event body), when the selection copies it.
  void record_message_copy(const Message& targets, const EventBody& body, std::int64_t mtime);
  // file_json: the file's description as its message carries it.
  void record_file_uploaded(const std::string& file_json, Mid mid, Uid from, std::int64_t mtime);

  // --- the backend's reads (events.poll, the server event socket) ------------------------
  EventBatch take(std::optional<std::uint64_t> after);
  // Like take; when there is nothing, registers waiter (called once, on the next event or
  // shutdown) and answers nullopt with ticket set.
  std::optional<EventBatch> take_or_wait(std::optional<std::uint64_t> after,
                                         ServerEventLog::Waiter waiter, std::uint64_t& ticket);
  void cancel_wait(std::uint64_t ticket);
  void wake_all() { log_.wake_all(); }

  // Webhooks (webhooks/webhook_sender.hpp): every event is handed to `listener` as it is
  // recorded. Set once, before events flow.
  void set_listener(ServerEventLog::Listener listener) { log_.set_listener(std::move(listener)); }
  // Webhook deliveries that used up their attempts, newest first (blocking: a store read).
  Result<std::vector<OutboxEntry>> dead_letters(std::size_t limit) {
    return store_.outbox_dead(limit);
  }

  // What the stream copies (server/listen). set_listen replaces the selection and answers it.
  ListenSelection listen_selection() const;
  // Stores the selection (when it changed) before it takes effect; the store's error
  // otherwise, and nothing changed.
  Result<ListenSelection> set_listen(ListenSelection selection);
  // Reads the selection stored by the last set_listen (Node::start).
  Status load_listen();
  // Restarts (docs/semantics.md "Restarts"): restore() gives the log the events and cursor
  // the store kept (Node::start); checkpoint() writes the events appended and the cursor
  // moved since the last one (every 100 ms and at shutdown).
  Status restore();
  void checkpoint();

  std::size_t kept() const { return log_.size(); }
  std::uint64_t last_id() const { return log_.last_id(); }
  std::size_t waiting() const { return log_.waiting(); }

 private:
  bool records(std::string_view event_type) const;

  const NodeConfig& config_;
  Store& store_;
  const std::atomic<bool>& shutting_down_;
  ServerEventLog& log_;
  mutable std::mutex listen_mu_;    // guards listen_; a leaf lock
  std::mutex listen_store_mu_;      // one set_listen at a time: taken before listen_mu_
  std::mutex checkpoint_mu_;        // one checkpoint at a time; guards the two below
  std::uint64_t saved_id_ = 0;      // the newest event written to the store
  std::uint64_t saved_cursor_ = 0;  // the cursor written last
  ListenSelection listen_;
};

}  // namespace rtm
