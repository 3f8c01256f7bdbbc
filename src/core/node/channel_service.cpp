// ChannelService: channels with signed tokens (channel_service.hpp). Channel tokens are
// signed with the same server secret as user tokens; the `typ` claim keeps the two kinds
// apart (docs/semantics.md "Channels").
#include "core/node/channel_service.hpp"

#include <boost/json/object.hpp>
#include <limits>

namespace rtm {

namespace {

constexpr std::size_t kMaxClientId = 256;

Status check_client_id(const std::string& client_id) {
  if (client_id.empty() || client_id.size() > kMaxClientId)
    return make_error(Rc::InvalidParameter, "client_id must be 1 to 256 bytes");
  return ok_status();
}

}  // namespace

ChannelService::ChannelService(const NodeConfig& config, ChannelQueues& channels,
                               ServerEventService& server_events, const TokenSigner& signer,
                               const std::atomic<bool>& shutting_down)
    : config_(config), signer_(signer), shutting_down_(shutting_down), channels_(channels) {
  channels_.set_presence_hook(
      [&server_events](const std::string& client_id, bool connected, std::int64_t now) {
        server_events.record_channel_presence(client_id, connected, now);
      });
}

Result<std::string> ChannelService::create(const std::string& client_id, std::int64_t duration_s) {
  if (auto valid = check_client_id(client_id); !valid) return valid.error();
  if (duration_s < 1 || duration_s > 86'400)
    return make_error(Rc::InvalidParameter, "a channel lasts 1 s to 24 h");
  std::int64_t now = config_.now_ms();
  // exp is in whole seconds, rounded up: the token lasts at least the duration asked for.
  std::int64_t exp = (now + duration_s * 1000 + 999) / 1000;
  boost::json::object claims;
  claims["typ"] = "channel";
  claims["sub"] = client_id;
  claims["iat"] = now / 1000;
  claims["exp"] = exp;
  channels_.open(client_id, exp * 1000, now);
  return signer_.sign(claims);
}

Result<ChannelToken> ChannelService::check_token(std::string_view token) {
  if (token.empty()) return make_error(Rc::InvalidToken, "token is empty");
  auto claims = signer_.verify(token, config_.now_ms() / 1000);
  if (!claims) return claims.error();
  auto* typ = claims->if_contains("typ");
  auto* sub = claims->if_contains("sub");
  if (!typ || !typ->is_string() || typ->as_string() != "channel" || !sub || !sub->is_string())
    return make_error(Rc::InvalidToken, "not a channel token");
  ChannelToken out;
  out.client_id = std::string(sub->as_string());
  if (out.client_id.empty() || out.client_id.size() > kMaxClientId)
    return make_error(Rc::InvalidToken, "the token's client_id must be 1 to 256 bytes");
  // jwt_verify checked that exp is an integer in the future.
  std::int64_t exp = claims->at("exp").as_int64();
  constexpr std::int64_t kMaxExp = std::numeric_limits<std::int64_t>::max() / 1000;
  out.expires_ms = exp > kMaxExp ? kMaxExp * 1000 : exp * 1000;
  return out;
}

Status ChannelService::send(const std::string& client_id, std::string message) {
  if (auto valid = check_client_id(client_id); !valid) return valid;
  if (message.size() > config_.max_msg_bytes)
    return make_error(Rc::PayloadTooLarge,
                      "message is over " + std::to_string(config_.max_msg_bytes) + " bytes");
  return channels_.send(client_id, std::move(message), config_.now_ms());
}

Result<ChannelInfo> ChannelService::info(const std::string& client_id) {
  if (auto valid = check_client_id(client_id); !valid) return valid.error();
  return channels_.info(client_id, config_.now_ms());
}

Result<std::size_t> ChannelService::clear(const std::string& client_id) {
  if (auto valid = check_client_id(client_id); !valid) return valid.error();
  return channels_.clear(client_id, config_.now_ms());
}

Result<ChannelPoll> ChannelService::poll(std::string_view token, ChannelQueues::Waiter waiter,
                                         std::uint64_t& ticket) {
  auto checked = check_token(token);
  if (!checked) return checked.error();
  ChannelPoll out;
  out.messages = channels_.poll(checked->client_id, checked->expires_ms, config_.now_ms(),
                                std::move(waiter), ticket, &shutting_down_);
  out.client_id = std::move(checked->client_id);
  return out;
}

void ChannelService::cancel_wait(const std::string& client_id, std::uint64_t ticket) {
  channels_.cancel_wait(client_id, ticket, config_.now_ms());
}

std::vector<std::string> ChannelService::take(const std::string& client_id) {
  return channels_.take(client_id);
}

void ChannelService::give_back(const std::string& client_id, std::vector<std::string> messages) {
  channels_.give_back(client_id, std::move(messages));
}

Result<ChannelToken> ChannelService::attach(std::string_view token) {
  auto checked = check_token(token);
  if (!checked) return checked.error();
  channels_.attach(checked->client_id, checked->expires_ms, config_.now_ms());
  return checked;
}

void ChannelService::detach(const std::string& client_id) {
  channels_.detach(client_id, config_.now_ms());
}

}  // namespace rtm
