// RateLimits: the node's token buckets and refusal counts (rate_limits.hpp).
#include "core/node/rate_limits.hpp"

#include "core/limit_key.hpp"

namespace rtm {

std::string_view rate_limit_name(RateLimitKind kind) {
  switch (kind) {
    case RateLimitKind::UnauthorizedPerAddress: return "max_unauthorized_sessions_per_address";
    case RateLimitKind::UnauthorizedTotal: return "max_unauthorized_sessions";
    case RateLimitKind::SessionCreate: return "rate_session_create";
    case RateLimitKind::SessionAuthorize: return "rate_session_authorize";
    case RateLimitKind::ChannelPoll: return "rate_channel_poll";
    case RateLimitKind::Send: return "rate_send";
    case RateLimitKind::LoginFailures: return "login_failures";
    case RateLimitKind::SessionsPerUser: return "max_sessions_per_user";
    case RateLimitKind::SubscriptionsPerSession: return "max_subscriptions_per_session";
  }
  return "";
}

RateLimits::RateLimits(const NodeConfig& config, const RateLimiterFactory& make)
    : config_(config),
      create_(make(config.rate_session_create)),
      authorize_(make(config.rate_session_authorize)),
      poll_(make(config.rate_channel_poll)),
      send_(make(config.rate_send)) {}

Status RateLimits::check_address(RateLimitKind kind, const std::string& address) {
  if (address.empty()) return ok_status();
  RateLimiter* buckets = nullptr;
  const char* what = "";
  switch (kind) {
    case RateLimitKind::SessionCreate:
      buckets = create_.get();
      what = "too many session.create calls from this address (rate_session_create)";
      break;
    case RateLimitKind::SessionAuthorize:
      buckets = authorize_.get();
      what = "too many session.authorize calls from this address (rate_session_authorize)";
      break;
    case RateLimitKind::ChannelPoll:
      buckets = poll_.get();
      what = "too many channel.poll calls from this address (rate_channel_poll)";
      break;
    default: return ok_status();  // the others are checked where their calls happen
  }
  if (!buckets->enabled()) return ok_status();
  // An IPv6 /64 is one client.
  if (auto wait_ms = buckets->take(limit_key(address), config_.now_ms())) {
    count(kind);
    return rate_limited(what, wait_ms);
  }
  return ok_status();
}

Status RateLimits::check_send(Uid from) {
  if (!send_->enabled()) return ok_status();
  if (auto wait_ms = send_->take(std::to_string(from), config_.now_ms())) {
    count(RateLimitKind::Send);
    return rate_limited("too many messages from this user (rate_send)", wait_ms);
  }
  return ok_status();
}

std::array<std::uint64_t, kRateLimitKinds> RateLimits::refused() const {
  std::array<std::uint64_t, kRateLimitKinds> out{};
  for (std::size_t i = 0; i < kRateLimitKinds; ++i)
    out[i] = refused_[i].load(std::memory_order_relaxed);
  return out;
}

void RateLimits::sweep(std::int64_t now_ms) {
  create_->sweep(now_ms);
  authorize_->sweep(now_ms);
  poll_->sweep(now_ms);
  send_->sweep(now_ms);
}

}  // namespace rtm
