// RateLimits: the token buckets of a node (per client address for session.create,
// session.authorize and channel.poll; per user for sends) and the count of every refusal by
// the limit that made it (rtm_rate_limited_total{limit=...}). The caps that are not buckets
// (unauthorized sessions, the login throttle, sessions per user, subscriptions per session)
// are checked by the services that own what they bound, and counted here.
//
// Today's buckets are this process's: with many nodes each node keeps its own (a limit is
// per node). Thread-safe; every lock is a leaf (TokenBuckets::mu_).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/message.hpp"
#include "core/node/node_config.hpp"
#include "core/result.hpp"
#include "core/token_buckets.hpp"

namespace rtm {

// The limits whose refusals are counted; each is named by its setting (rate_limit_name).
enum class RateLimitKind {
  UnauthorizedPerAddress,   // max_unauthorized_sessions_per_address
  UnauthorizedTotal,        // max_unauthorized_sessions
  SessionCreate,            // rate_session_create
  SessionAuthorize,         // rate_session_authorize
  ChannelPoll,              // rate_channel_poll
  Send,                     // rate_send
  LoginFailures,            // the failed-login throttle
  SessionsPerUser,          // max_sessions_per_user
  SubscriptionsPerSession,  // max_subscriptions_per_session
};
inline constexpr std::size_t kRateLimitKinds = 9;
std::string_view rate_limit_name(RateLimitKind kind);

class RateLimits {
 public:
  explicit RateLimits(const NodeConfig& config);

  // The per-address bucket of session.create, session.authorize or channel.poll (kinds
  // SessionCreate, SessionAuthorize, ChannelPoll): RateLimited with retry_after past it,
  // counted. No limit for an empty address, nor for the other kinds.
  Status check_address(RateLimitKind kind, const std::string& address);
  // The per-user send bucket (rate_send). No limit when it is off.
  Status check_send(Uid from);
  bool send_limited() const { return send_.enabled(); }

  void count(RateLimitKind kind) {
    refused_[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
  }
  std::array<std::uint64_t, kRateLimitKinds> refused() const;
  // Forgets buckets that are full again.
  void sweep(std::int64_t now_ms);

 private:
  const NodeConfig& config_;
  TokenBuckets create_;     // per address
  TokenBuckets authorize_;  // per address
  TokenBuckets poll_;       // per address
  TokenBuckets send_;       // per uid
  std::array<std::atomic<std::uint64_t>, kRateLimitKinds> refused_{};
};

}  // namespace rtm
