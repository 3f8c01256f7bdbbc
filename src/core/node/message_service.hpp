// MessageService: messages (API.md section 4): a send is checked (sizes, recipients, the
// access rule, the sender's rate), given a mid, made durable by the store, then fanned out
// through the broker and copied into the server event stream when server/listen selects it;
// history reads the store for a viewer who may read there.
//
// Thread-safe. send() answers through its callback on a store thread once the message is
// durable (or at once when the check fails); the checks read the store (membership, users
// not seen yet), as does history().
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/broker.hpp"
#include "core/file_record.hpp"
#include "core/message.hpp"
#include "core/mid_generator.hpp"
#include "core/node/access_policy.hpp"
#include "core/node/node_config.hpp"
#include "core/node/publisher.hpp"
#include "core/node/rate_limits.hpp"
#include "core/node/server_event_service.hpp"
#include "core/result.hpp"
#include "core/store.hpp"

namespace rtm {

struct SendRequest {
  Uid from = 0;
  MessageKind kind = MessageKind::P2p;
  Uid to = 0;
  std::vector<Uid> to_uids;
  Gid gid = 0;
  Rid rid = 0;
  int mtype = 30;
  std::string msg;
  std::string attrs;
  std::optional<Mid> mid;     // the sender's own id, for idempotent retries
  bool as_server = false;     // server API: no membership checks, from may be 0
  bool file_message = false;  // only the file flow may use mtype 40-50
};

struct SendAck {
  Mid mid = 0;
  std::int64_t mtime = 0;
};

class MessageService {
 public:
  MessageService(const NodeConfig& config, Store& store, Publisher& publisher, AccessPolicy& access,
                 RateLimits& limits, ServerEventService& server_events);

  using SendCallback = std::function<void(Result<SendAck>)>;
  // Checks, stores durably, then fans out; `done` runs on a store thread (or at once when the
  // check fails).
  void send(SendRequest request, SendCallback done);
  // Whether send()'s checks of a request with these parts read no store now (every uid it
  // names is known, no membership to read), so that it may run on an event loop: its
  // append is handed to the store's writer and answered from there.
  bool checks_in_memory(MessageKind kind, bool as_server, Uid from, const std::vector<Uid>& to);
  // viewer: the client's uid (the access rule is checked), nullopt for the server API.
  Result<std::vector<Message>> history(const HistoryQuery& query, std::optional<Uid> viewer);

  // --- for the file service -------------------------------------------------------------
  // Every check of a send but its rate.
  Status check(const SendRequest& r);
  // The per-user send rate (rate_send): every client send takes a token, a file when its
  // upload token is made. Server sends are not limited.
  Status check_rate(const SendRequest& r);
  // send() of a checked request; with `file`, the file's record is stored with the message
  // (Store::append_file_message).
  void store_and_deliver(SendRequest r, std::optional<FileRecord> file, SendCallback done);

  struct Counts {
    std::uint64_t messages_sent = 0;
    std::uint64_t store_appends = 0;
    std::uint64_t store_append_us_total = 0;  // sum of append latencies, for an average
    std::uint64_t store_append_us_max = 0;
  };
  Counts counts() const;

 private:
  void fan_out(const Message& m, const EventBody& body, std::uint64_t position);
  void count_append(std::uint64_t us);

  const NodeConfig& config_;
  Store& store_;
  Publisher& publisher_;
  AccessPolicy& access_;
  RateLimits& limits_;
  ServerEventService& server_events_;
  MidGenerator mids_;
  std::atomic<std::uint64_t> messages_sent_{0};
  std::atomic<std::uint64_t> store_appends_{0};
  std::atomic<std::uint64_t> store_append_us_total_{0};
  std::atomic<std::uint64_t> store_append_us_max_{0};
};

}  // namespace rtm
