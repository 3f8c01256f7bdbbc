// OutboxStore: the webhook outbox (webhooks/webhook_sender.hpp): events kept until their
// receiver took them, so that delivery is at-least-once across restarts. The sender adds an
// entry per receiver, takes what is due, and records each attempt's outcome here.
//
// Guarantees (besides those of every Store method, core/store.hpp):
//  - outbox_add() answers a new id, higher than every id answered before: "oldest first" is
//    the order of the ids.
//  - An entry is due from its next_at_ms on (at first, the time it was added) until it is
//    delivered (removed) or dead (then a dead letter: outbox_dead() lists it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace rtm {

// One event waiting in the webhook outbox (webhooks/webhook_sender.hpp).
struct OutboxEntry {
  std::uint64_t id = 0;  // also the event id a receiver sees (X-Rtm-Event-Id)
  std::string url;
  std::string body;  // the server event's JSON after its id: `"type":...}`
  int attempts = 0;
  std::int64_t next_at_ms = 0;
  bool dead = false;
  std::string last_error;
  std::int64_t created_ms = 0;
};

class OutboxStore {
 public:
  virtual ~OutboxStore() = default;

  virtual Result<std::uint64_t> outbox_add(const std::string& url, const std::string& body,
                                           std::int64_t now_ms) = 0;
  // Live entries whose next attempt is due, oldest first.
  virtual Result<std::vector<OutboxEntry>> outbox_due(std::int64_t now_ms, std::size_t limit) = 0;
  virtual Status outbox_delivered(std::uint64_t id) = 0;  // removes it
  // Records a failed attempt: the entry's attempts, next attempt and last error become these;
  // dead = true makes it a dead letter.
  virtual Status outbox_failed(std::uint64_t id, int attempts, std::int64_t next_at_ms, bool dead,
                               const std::string& error) = 0;
  // Dead letters (entries that used up their attempts), newest first.
  virtual Result<std::vector<OutboxEntry>> outbox_dead(std::size_t limit) = 0;
  // How many dead letters there are, without reading them.
  virtual Result<std::uint64_t> outbox_dead_count() = 0;
};

}  // namespace rtm
