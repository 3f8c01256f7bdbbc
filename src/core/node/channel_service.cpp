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

ChannelService::ChannelService(const NodeConfig& config, ChannelStore& store,
                               ChannelQueues& channels, ServerEventService& server_events,
                               const TokenSigner& signer, const std::atomic<bool>& shutting_down)
    : config_(config),
      store_(store),
      signer_(signer),
      shutting_down_(shutting_down),
      channels_(channels) {
  channels_.set_presence_hook(
      [this, &server_events](const std::string& client_id, bool connected, std::int64_t now) {
        server_events.record_channel_presence(client_id, connected, now);
        note_changed(client_id);
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
  // Stored before it opens and the token goes out: a send right after it, answered once
  // durable, must find its channel after a restart too; a store that refuses changes nothing.
  auto before = channels_.info(client_id, now);
  ChannelRecord record{client_id, exp * 1000, before.ok() && before->connected, {}};
  if (auto saved = store_.save_channel(record); !saved) return saved.error();
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

void ChannelService::send(const std::string& client_id, std::string message, SendDone done) {
  if (auto valid = check_client_id(client_id); !valid) return done(valid);
  if (message.size() > config_.max_msg_bytes)
    return done(make_error(Rc::PayloadTooLarge,
                           "message is over " + std::to_string(config_.max_msg_bytes) + " bytes"));
  auto info = channels_.info(client_id, config_.now_ms());
  if (!info) return done(info.error());
  // The text is written and queued; a copy of it waits in the callback for the queue.
  std::string text = message;
  store_.append_channel_message(
      client_id, info->expires_ms, std::move(message),
      [this, client_id, text = std::move(text),
       done = std::move(done)](Result<std::uint64_t> position) mutable {
        if (!position) return done(position.error());
        std::vector<ChannelMessage> dropped;
        Status queued = channels_.send(client_id, ChannelMessage{*position, std::move(text)},
                                       config_.now_ms(), &dropped);
        if (!queued) dropped.push_back(ChannelMessage{*position, {}});  // expired meanwhile
        forget(dropped);
        done(queued);
      });
}

Result<ChannelInfo> ChannelService::info(const std::string& client_id) {
  if (auto valid = check_client_id(client_id); !valid) return valid.error();
  return channels_.info(client_id, config_.now_ms());
}

Result<std::size_t> ChannelService::clear(const std::string& client_id) {
  if (auto valid = check_client_id(client_id); !valid) return valid.error();
  auto cleared = channels_.clear(client_id, config_.now_ms());
  if (!cleared) return cleared.error();
  forget(*cleared);
  return cleared->size();
}

Result<ChannelPoll> ChannelService::poll(std::string_view token, ChannelQueues::Waiter waiter,
                                         std::uint64_t& ticket) {
  auto checked = check_token(token);
  if (!checked) return checked.error();
  note_token(*checked, config_.now_ms());
  ChannelPoll out;
  out.messages = channels_.poll(checked->client_id, checked->expires_ms, config_.now_ms(),
                                std::move(waiter), ticket, &shutting_down_);
  if (out.messages) forget(*out.messages);
  out.client_id = std::move(checked->client_id);
  return out;
}

void ChannelService::cancel_wait(const std::string& client_id, std::uint64_t ticket) {
  channels_.cancel_wait(client_id, ticket, config_.now_ms());
}

std::vector<ChannelMessage> ChannelService::take(const std::string& client_id) {
  auto taken = channels_.take(client_id);
  forget(taken);
  return taken;
}

void ChannelService::give_back(const std::string& client_id, std::vector<ChannelMessage> messages) {
  {
    std::lock_guard lock(changes_mu_);
    for (const auto& m : messages) {
      if (m.position == 0 || gone_.erase(m.position)) continue;  // its row is still there
      restored_.push_back(ChannelMessageRow{client_id, m});
    }
  }
  std::vector<ChannelMessage> dropped;
  channels_.give_back(client_id, std::move(messages), &dropped);
  forget(dropped);
}

void ChannelService::note_changed(const std::string& client_id) {
  std::lock_guard lock(changes_mu_);
  changed_.insert(client_id);
}

void ChannelService::note_token(const ChannelToken& token, std::int64_t now) {
  auto info = channels_.info(token.client_id, now);
  if (!info || token.expires_ms > info->expires_ms) note_changed(token.client_id);
}

void ChannelService::forget(const std::vector<ChannelMessage>& messages) {
  if (messages.empty()) return;
  std::lock_guard lock(changes_mu_);
  for (const auto& m : messages)
    if (m.position != 0) gone_.insert(m.position);
}

Status ChannelService::restore() {
  std::int64_t now = config_.now_ms();
  auto stored = store_.load_channels(now, config_.channel_queue_limit);
  if (!stored) return stored.error();
  for (auto& c : *stored)
    channels_.restore(c.client_id, c.expires_ms, c.connected, std::move(c.messages), now);
  return ok_status();
}

void ChannelService::checkpoint() {
  std::lock_guard checkpoint_lock(checkpoint_mu_);
  std::unordered_set<std::string> changed;
  std::vector<std::uint64_t> gone;
  std::vector<ChannelMessageRow> restored;
  {
    std::lock_guard lock(changes_mu_);
    changed.swap(changed_);
    gone.assign(gone_.begin(), gone_.end());
    gone_.clear();
    restored.swap(restored_);
  }
  std::int64_t now = config_.now_ms();
  std::vector<ChannelRecord> records;
  for (const auto& client_id : changed) {
    // The engine's state now: the latest change wins, whatever noted it.
    auto info = channels_.info(client_id, now);
    if (!info) continue;  // expired: the save forgets it
    records.push_back(ChannelRecord{client_id, info->expires_ms, info->connected, {}});
  }
  if (store_.save_channels(records, restored, gone, now)) return;
  // The store logged why; everything goes again with the next checkpoint.
  std::lock_guard lock(changes_mu_);
  changed_.insert(changed.begin(), changed.end());
  gone_.insert(gone.begin(), gone.end());
  restored_.insert(restored_.begin(), restored.begin(), restored.end());
}

Result<ChannelToken> ChannelService::attach(std::string_view token) {
  auto checked = check_token(token);
  if (!checked) return checked.error();
  note_token(*checked, config_.now_ms());
  channels_.attach(checked->client_id, checked->expires_ms, config_.now_ms());
  return checked;
}

void ChannelService::detach(const std::string& client_id) {
  channels_.detach(client_id, config_.now_ms());
}

}  // namespace rtm
