// ChannelStore: channels and their queued messages kept across a restart on one node (the
// local ChannelQueues keep them in memory; ChannelService writes here and gives them back at
// start). A channel.send is answered once its message is durable here; what leaves a queue
// (taken by a poll, dropped by the bound, cleared) is forgotten here in batches, every
// 100 ms and at shutdown, so a kill -9 may deliver those last messages again
// (docs/semantics.md "Restarts").
//
// Guarantees (besides those of every Store method, core/store.hpp):
//  - append_channel_message() calls `done` once the message is durable (as append_message:
//    it survives kill -9) with its position, or with the error; positions are positive,
//    unique among channel messages and grow in commit order, and the callbacks of appends
//    run in position order, one at a time (so the caller's queue follows the stored order).
//    The append also stores the channel with the given expiry (never shortening it).
//  - save_channel() and save_channels() are each one transaction, durable when they return.
//    save_channels() stores the channels (expiry: the later of the stored and the given one;
//    the connected state as given), puts `restored` messages back under their own positions
//    (a message given back after its row was forgotten), forgets `gone` positions, and
//    forgets every channel whose expiry is at or before now_ms, with its messages.
//  - load_channels() answers the channels live at now_ms with their messages in position
//    order, at most `queue_limit` each (the newest).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/channel_queues.hpp"
#include "core/result.hpp"

namespace rtm {

struct ChannelRecord {
  std::string client_id;
  std::int64_t expires_ms = 0;
  bool connected = false;
  std::vector<ChannelMessage> messages;  // load_channels() only
};

// A message to put back under its position: which channel it is in.
struct ChannelMessageRow {
  std::string client_id;
  ChannelMessage message;
};

class ChannelStore {
 public:
  using ChannelAppendCallback = std::function<void(Result<std::uint64_t>)>;

  virtual ~ChannelStore() = default;

  // Asynchronous, like append_message: `done` runs on a store thread (or at once with
  // Unavailable after close()).
  virtual void append_channel_message(const std::string& client_id, std::int64_t expires_ms,
                                      std::string text, ChannelAppendCallback done) = 0;
  virtual Status save_channel(const ChannelRecord& channel) = 0;
  virtual Status save_channels(const std::vector<ChannelRecord>& channels,
                               const std::vector<ChannelMessageRow>& restored,
                               const std::vector<std::uint64_t>& gone, std::int64_t now_ms) = 0;
  virtual Result<std::vector<ChannelRecord>> load_channels(std::int64_t now_ms,
                                                           std::size_t queue_limit) = 0;
};

}  // namespace rtm
