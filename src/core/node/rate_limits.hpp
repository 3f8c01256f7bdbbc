// RateLimits: the token buckets of a node (per client address for session.create,
// session.authorize and channel.poll; per user for sends) and the count of every refusal by
// the limit that made it (rtm_rate_limited_total{limit=...}). The caps that are not buckets
// (unauthorized sessions, the login throttle, sessions per user, subscriptions per session)
// are checked by the services that own what they bound, and counted here.
//
// The limiters come from a RateLimiterFactory: the local engine's buckets are this process's
// (with many nodes each keeps its own: a limit per node); a shared engine makes a limit hold
// for the cluster. Thread-safe; the local engine's locks are leaves (TokenBuckets::mu_).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/message.hpp"
#include "core/node/node_config.hpp"
#include "core/rate_limiter.hpp"
#include "core/result.hpp"

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
  // `make` builds the limiter of each limit (the engine, from the node's LiveState).
  RateLimits(const NodeConfig& config, const RateLimiterFactory& make);

  // The per-address bucket of session.create, session.authorize or channel.poll (kinds
  // SessionCreate, SessionAuthorize, ChannelPoll): RateLimited with retry_after past it,
  // counted. No limit for an empty address, nor for the other kinds.
  Status check_address(RateLimitKind kind, const std::string& address);
  // The per-user send bucket (rate_send). No limit when it is off.
  Status check_send(Uid from);
  bool send_limited() const { return send_->enabled(); }

  void count(RateLimitKind kind) {
    refused_[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
  }
  std::array<std::uint64_t, kRateLimitKinds> refused() const;
  // Forgets buckets that are full again.
  void sweep(std::int64_t now_ms);

 private:
  const NodeConfig& config_;
  std::unique_ptr<RateLimiter> create_;     // per address
  std::unique_ptr<RateLimiter> authorize_;  // per address
  std::unique_ptr<RateLimiter> poll_;       // per address
  std::unique_ptr<RateLimiter> send_;       // per uid
  std::array<std::atomic<std::uint64_t>, kRateLimitKinds> refused_{};
};

}  // namespace rtm
