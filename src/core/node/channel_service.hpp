// ChannelService: channels with signed tokens (API.md section 7): the server API opens a
// channel with a token (HS256 JWT: typ "channel", sub = client_id, iat, exp) and sends to
// it; a client polls with the token or holds a socket on it. Connects and disconnects are
// recorded in the server event stream. The channels themselves are a ChannelQueues
// (core/channel_queues.hpp) that the node's caller chose: `local` (LocalChannelQueues, this
// process's) today.
//
// Restarts (docs/semantics.md "Restarts"): a send is answered once its message is in the
// ChannelStore (core/channel_store.hpp); what leaves a queue, connected changes and restored
// messages are written by checkpoint() every 100 ms and at shutdown; restore() gives the
// engine back what the store kept (Node::start).
//
// Thread-safe. create() and checkpoint() write the store and restore() reads it (off the
// event loop); send() hands its write to the store's group commit and answers from there.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/channel_queues.hpp"
#include "core/channel_store.hpp"
#include "core/node/node_config.hpp"
#include "core/node/server_event_service.hpp"
#include "core/node/token_signer.hpp"
#include "core/result.hpp"

namespace rtm {

// A checked channel token: whose channel, valid until when.
struct ChannelToken {
  std::string client_id;
  std::int64_t expires_ms = 0;
};

// What a channel poll answers at once: the messages, or nullopt when it waits.
struct ChannelPoll {
  std::string client_id;
  std::optional<std::vector<ChannelMessage>> messages;
};

class ChannelService {
 public:
  // Sets `channels`' presence hook: its connects and disconnects are recorded in
  // server_events.
  ChannelService(const NodeConfig& config, ChannelStore& store, ChannelQueues& channels,
                 ServerEventService& server_events, const TokenSigner& signer,
                 const std::atomic<bool>& shutting_down);

  // A channel token valid for duration_s seconds; opens the channel, or extends it to the
  // new token's expiry, and stores it (Unavailable when the store cannot).
  Result<std::string> create(const std::string& client_id, std::int64_t duration_s);
  // InvalidToken (malformed, wrong signature, not a channel token) or TokenExpired.
  Result<ChannelToken> check_token(std::string_view token);
  // NotFound for a client_id without a live channel; PayloadTooLarge past max_msg_bytes;
  // Unavailable when the store cannot keep it. `done` runs once: at once for a refusal,
  // else on a store thread once the message is durable and queued.
  using SendDone = std::function<void(Status)>;
  void send(const std::string& client_id, std::string message, SendDone done);
  Result<ChannelInfo> info(const std::string& client_id);
  Result<std::size_t> clear(const std::string& client_id);
  // channel.poll: checks the token, connects the channel and takes its messages; with a
  // waiter and nothing queued, registers it (called once, from another thread, on the next
  // send, expiry or shutdown) and answers nullopt messages with `ticket` set.
  Result<ChannelPoll> poll(std::string_view token, ChannelQueues::Waiter waiter,
                           std::uint64_t& ticket);
  // After a waiting poll ends: drop its waiter, then take what arrived.
  void cancel_wait(const std::string& client_id, std::uint64_t ticket);
  std::vector<ChannelMessage> take(const std::string& client_id);
  // Messages taken but not delivered go back to the front of the channel's queue.
  void give_back(const std::string& client_id, std::vector<ChannelMessage> messages);
  // A socket on a channel (GET /v1/channel?token=T): attach checks the token and connects;
  // the last detach disconnects. The socket takes messages as a poll does: poll() with its
  // token (so an expired token ends it with TokenExpired) and a waiter, then cancel_wait +
  // take when woken. A channel has one waiter: a socket's wait and an HTTP poll's wait
  // replace (and wake) each other. Cancel the wait before detaching: a waiter still
  // registered counts as a poll in progress and keeps the channel connected.
  Result<ChannelToken> attach(std::string_view token);
  void detach(const std::string& client_id);

  // Disconnects channels not polled for channel_timeout and forgets expired ones.
  void sweep(std::int64_t now) { channels_.sweep(now); }
  void wake_all() { channels_.wake_all(); }
  ChannelStats stats() const { return channels_.stats(); }

  // The channels the store kept, back into the engine (Node::start).
  Status restore();
  // Writes what changed since the last checkpoint; what the store refuses is kept for the
  // next one.
  void checkpoint();

 private:
  // Messages that left their queue: their rows go at the next checkpoint.
  void forget(const std::vector<ChannelMessage>& messages);
  // The channel's row (expiry, connected state) is written again at the next checkpoint.
  void note_changed(const std::string& client_id);
  // A token opens or extends its channel: noted when it outlives what the channel had (an
  // application's own token may extend a channel no create or send stored that long).
  void note_token(const ChannelToken& token, std::int64_t now);

  const NodeConfig& config_;
  ChannelStore& store_;
  const TokenSigner& signer_;
  const std::atomic<bool>& shutting_down_;
  ChannelQueues& channels_;  // its presence hook records into the server event stream

  std::mutex checkpoint_mu_;  // one checkpoint at a time (taken before changes_mu_)
  // Guards the three below; a leaf lock, taken in the presence hook under the engine's
  // shard lock (docs/lock-order.md).
  std::mutex changes_mu_;
  std::unordered_set<std::string> changed_;  // channels whose row the checkpoint writes
  std::unordered_set<std::uint64_t> gone_;   // positions to forget
  std::vector<ChannelMessageRow> restored_;  // given back after their rows were forgotten
};

}  // namespace rtm
