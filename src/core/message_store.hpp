// MessageStore: the message history of rtm. append_message() is the one asynchronous call of
// Store: it answers through a callback once the message is durable, so that an engine can
// write many appends in one commit; history() reads back what was stored.
//
// Guarantees (besides those of every Store method, core/store.hpp):
//  - append_message() calls its callback only after the message is durable (it survives
//    kill -9 of the process) and history() shows it. Engines may batch many appends into
//    one commit (group commit).
//  - (from, client_mid) is unique where client_mid is given: appending an existing pair
//    stores nothing and answers the first message's mid and mtime with duplicate = true.
//    The mid itself comes from the engine's generator and is stored as given.
//  - Every message stored gets a position in the store's stream: positions increase in commit
//    order, and append callbacks run in position order, one at a time (a node fans messages
//    out from its callbacks, so every session receives them in stream order).
//    messages_after() reads the stream back: a restarted node rebuilds its sessions' unread
//    events from it (core/session_store.hpp).
//  - After Store::close(), an append's callback runs at once on the caller's thread with
//    Unavailable.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/file_record.hpp"
#include "core/message.hpp"
#include "core/result.hpp"

namespace rtm {

struct AppendOutcome {
  Mid mid = 0;
  std::int64_t mtime = 0;
  bool duplicate = false;      // (from, client_mid) was stored before; nothing new was written
  std::uint64_t position = 0;  // its place in the stream; 0 for a duplicate
};

// A stored message with its place in the stream.
struct StreamedMessage {
  std::uint64_t position = 0;
  Message message;
};

struct HistoryQuery {
  enum class Scope { P2p, Group, Room } scope = Scope::P2p;
  Uid uid = 0;   // P2p: one side of the conversation
  Uid with = 0;  // P2p: the other side
  Gid gid = 0;
  Rid rid = 0;
  // Only messages with mid < before_mid; one above every storable mid is no bound.
  std::optional<Mid> before_mid;
  int limit = 100;
};

class MessageStore {
 public:
  virtual ~MessageStore() = default;

  using AppendCallback = std::function<void(Result<AppendOutcome>)>;
  // Durable append; see the guarantees above. The callback runs on a store thread.
  virtual void append_message(Message message, AppendCallback done) = 0;
  // append_message() of the message that announces an upload, with the file's record in the
  // same transaction: both are stored or neither, so a failed upload leaves no record.
  virtual void append_file_message(Message message, FileRecord file, AppendCallback done) = 0;
  // Newest first.
  virtual Result<std::vector<Message>> history(const HistoryQuery& query) = 0;
  // The messages stored after `position`, oldest first, at most `limit`.
  virtual Result<std::vector<StreamedMessage>> messages_after(std::uint64_t position,
                                                              std::size_t limit) = 0;
  // The position of the newest message stored (0 when there is none).
  virtual Result<std::uint64_t> last_position() = 0;
};

}  // namespace rtm
