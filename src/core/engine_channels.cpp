// Engine: channels with signed tokens (API.md section 7) and the server event stream
// (section 8). Channel tokens are HS256 JWTs signed with the same server secret as user
// tokens; the `typ` claim keeps the two kinds apart (docs/semantics.md "Channels").
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <limits>

#include "core/engine.hpp"
#include "core/jwt.hpp"

namespace rtm {

namespace {

constexpr std::size_t kMaxClientId = 256;

Status check_client_id(const std::string& client_id) {
  if (client_id.empty() || client_id.size() > kMaxClientId)
    return make_error(Rc::InvalidParameter, "client_id must be 1 to 256 bytes");
  return ok_status();
}

// The client_id as a JSON string literal (quotes and escapes included).
std::string json_string(const std::string& text) {
  return boost::json::serialize(boost::json::value(boost::json::string_view(text)));
}

}  // namespace

Result<std::string> Engine::create_channel(const std::string& client_id, std::int64_t duration_s) {
  if (auto valid = check_client_id(client_id); !valid) return valid.error();
  if (duration_s < 1 || duration_s > 86'400)
    return make_error(Rc::InvalidParameter, "a channel lasts 1 s to 24 h");
  std::int64_t now = now_ms();
  // exp is in whole seconds, rounded up: the token lasts at least the duration asked for.
  std::int64_t exp = (now + duration_s * 1000 + 999) / 1000;
  boost::json::object claims;
  claims["typ"] = "channel";
  claims["sub"] = client_id;
  claims["iat"] = now / 1000;
  claims["exp"] = exp;
  channels_.open(client_id, exp * 1000, now);
  return jwt_sign(claims, token_secret_);
}

Result<ChannelToken> Engine::check_channel_token(std::string_view token) {
  if (token.empty()) return make_error(Rc::InvalidToken, "token is empty");
  auto claims = jwt_verify(token, token_secret_, now_ms() / 1000);
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

Status Engine::channel_send(const std::string& client_id, std::string message) {
  if (auto valid = check_client_id(client_id); !valid) return valid;
  if (message.size() > config_.max_msg_bytes)
    return make_error(Rc::PayloadTooLarge,
                      "message is over " + std::to_string(config_.max_msg_bytes) + " bytes");
  return channels_.send(client_id, std::move(message), now_ms());
}

Result<ChannelInfo> Engine::channel_info(const std::string& client_id) {
  if (auto valid = check_client_id(client_id); !valid) return valid.error();
  return channels_.info(client_id, now_ms());
}

Result<std::size_t> Engine::channel_clear(const std::string& client_id) {
  if (auto valid = check_client_id(client_id); !valid) return valid.error();
  return channels_.clear(client_id, now_ms());
}

Result<ChannelPoll> Engine::channel_poll(std::string_view token, ChannelRegistry::Waiter waiter,
                                         std::uint64_t& ticket) {
  auto checked = check_channel_token(token);
  if (!checked) return checked.error();
  ChannelPoll out;
  out.messages = channels_.poll(checked->client_id, checked->expires_ms, now_ms(),
                                std::move(waiter), ticket, &shutting_down_);
  out.client_id = std::move(checked->client_id);
  return out;
}

void Engine::channel_cancel_wait(const std::string& client_id, std::uint64_t ticket) {
  channels_.cancel_wait(client_id, ticket, now_ms());
}

std::vector<std::string> Engine::channel_take(const std::string& client_id) {
  return channels_.take(client_id);
}

void Engine::channel_give_back(const std::string& client_id, std::vector<std::string> messages) {
  channels_.give_back(client_id, std::move(messages));
}

Result<ChannelToken> Engine::channel_attach(std::string_view token) {
  auto checked = check_channel_token(token);
  if (!checked) return checked.error();
  channels_.attach(checked->client_id, checked->expires_ms, now_ms());
  return checked;
}

void Engine::channel_detach(const std::string& client_id) { channels_.detach(client_id, now_ms()); }

// --- server event stream ----------------------------------------------------------------

bool Engine::records(std::string_view event_type) const {
  std::lock_guard lock(listen_mu_);
  return listen_.records(event_type);
}

ListenSelection Engine::listen_selection() const {
  std::lock_guard lock(listen_mu_);
  return listen_;
}

ListenSelection Engine::set_listen(ListenSelection selection) {
  std::lock_guard lock(listen_mu_);
  listen_ = std::move(selection);
  return listen_;
}

void Engine::record_message_copy(const Message& targets, const EventBody& body,
                                 std::int64_t mtime) {
  {
    std::lock_guard lock(listen_mu_);
    if (!listen_.copies(targets)) return;
  }
  // The session event body `"type":"message","message":{...}}` with the time added.
  std::string event(*body, 0, body->size() - 1);
  event.append(",\"time\":").append(std::to_string(mtime)).append("}");
  server_events_.publish(std::move(event));
}

void Engine::record_user_presence(Uid uid, const char* type) {
  if (!records(type)) return;
  server_events_.publish(std::string("\"type\":\"") + type + "\",\"uid\":" + std::to_string(uid) +
                         ",\"time\":" + std::to_string(now_ms()) + "}");
}

void Engine::record_channel_presence(const std::string& client_id, bool connected,
                                     std::int64_t now) {
  if (!records(connected ? "channel.connected" : "channel.disconnected")) return;
  server_events_.publish(
      std::string("\"type\":\"") + (connected ? "channel.connected" : "channel.disconnected") +
      "\",\"client_id\":" + json_string(client_id) + ",\"time\":" + std::to_string(now) + "}");
}

EventBatch Engine::take_server_events(std::optional<std::uint64_t> after) {
  return server_events_.take(after);
}

std::optional<EventBatch> Engine::take_or_wait_server_events(std::optional<std::uint64_t> after,
                                                             ServerEventStream::Waiter waiter,
                                                             std::uint64_t& ticket) {
  return server_events_.take_or_wait(after, std::move(waiter), ticket, &shutting_down_);
}

void Engine::cancel_server_events_wait(std::uint64_t ticket) { server_events_.cancel_wait(ticket); }

}  // namespace rtm
