// Node: one rtmd's behaviour, the composition root of its services (centrifuge's Node, which
// owns Hub, Broker and PresenceManager). It has no sockets and no SQL: the services talk to a
// Store, a Broker and the live state's engines (core/live_state.hpp: the server event log,
// the channels) through their interfaces, and the api/ layer decodes requests into calls
// on them (dragonfly's ServiceInterface model).
//
// The services, lowest first (each may use only those above it):
//   TokenSigner, RateLimits, AccessPolicy   the secret, the buckets, who may act where
//   ServerEventService                      the server event stream and server/listen
//   SessionService                          sessions, logins, subscriptions, presence, delivery
//   MessageService, ChannelService          messages; channels
//   Directory, Moderation, FileService      users/groups/rooms; bans; files
//
// Node starts them (the secret and the bans from the store, the broker's handler), runs the
// upkeep, and shuts them down. Every service is thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "core/ban_list.hpp"
#include "core/broker.hpp"
#include "core/channel_queues.hpp"
#include "core/live_state.hpp"
#include "core/node/access_policy.hpp"
#include "core/node/channel_service.hpp"
#include "core/node/directory.hpp"
#include "core/node/file_service.hpp"
#include "core/node/message_service.hpp"
#include "core/node/moderation.hpp"
#include "core/node/node_config.hpp"
#include "core/node/publisher.hpp"
#include "core/node/rate_limits.hpp"
#include "core/node/server_event_service.hpp"
#include "core/node/session_service.hpp"
#include "core/node/token_signer.hpp"
#include "core/result.hpp"
#include "core/store.hpp"

namespace rtm {

struct NodeStats {
  std::size_t sessions = 0;
  std::size_t unauthorized_sessions = 0;  // live, never authorized (they hold a place)
  std::array<std::uint64_t, kRateLimitKinds> rate_limited{};  // refusals by RateLimitKind
  std::size_t online_users = 0;
  std::size_t events_queued = 0;
  std::size_t polls_waiting = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t events_delivered = 0;
  std::uint64_t store_appends = 0;
  std::uint64_t store_append_us_total = 0;  // sum of append latencies, for an average
  std::uint64_t store_append_us_max = 0;
  ChannelStats channels;
  std::size_t server_events_kept = 0;
  std::uint64_t server_events_last_id = 0;
  std::size_t server_event_polls_waiting = 0;
  std::uint64_t broker_publish_failures = 0;  // live deliveries the broker did not take
};

class Node {
 public:
  // `live`: the engines of the live state (core/live_state.hpp), owned by the caller and
  // outliving the Node.
  Node(Store& store, Broker& broker, LiveState live, NodeConfig config);
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Loads (or creates) the token secret and the bans, connects to the broker, and gives back
  // the server event stream, the channels and the sessions stored before a restart.
  Status start();
  // Writes the sessions' read positions and id reservations, the server event stream and
  // the channels' changes (each service's checkpoint); rtmd runs it every 100 ms on the
  // store-call pool and once more, `final`, after the loops stop (sessions write their read
  // positions once a second otherwise, SessionService::checkpoint).
  void checkpoint(bool final = false);
  std::int64_t now_ms() const { return config_.now_ms(); }
  const NodeConfig& config() const { return config_; }

  SessionService& sessions() { return sessions_; }
  MessageService& messages() { return messages_; }
  Directory& directory() { return directory_; }
  Moderation& moderation() { return moderation_; }
  ChannelService& channels() { return channels_; }
  ServerEventService& server_events() { return server_events_; }
  FileService& files() { return files_; }
  RateLimits& rate_limits() { return limits_; }

  // Expires idle sessions and forgets ended ones whose final event was read or is stale;
  // disconnects channels not polled for channel_timeout and forgets expired ones; forgets
  // full token buckets. rtmd runs it once a second.
  void sweep();
  // Wakes every waiting poll so it answers with what it has; new waits return at once.
  void shutdown();
  bool shutting_down() const { return shutting_down_.load(); }
  NodeStats stats() const;

 private:
  NodeConfig config_;
  Store& store_;
  Broker& broker_;
  std::atomic<bool> shutting_down_{false};
  Publisher publisher_;
  TokenSigner signer_;
  RateLimits limits_;
  BanList bans_;  // the stored bans in force, kept by moderation_, read by access_
  AccessPolicy access_;
  ServerEventService server_events_;
  SessionService sessions_;
  MessageService messages_;
  ChannelService channels_;
  Directory directory_;
  Moderation moderation_;
  FileService files_;
};

}  // namespace rtm
