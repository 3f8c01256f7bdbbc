// Engine: sessions, logins, events, subscriptions and delivery. Messages are in
// engine_messages.cpp, users/groups/rooms in engine_admin.cpp, channels and the server
// event stream in engine_channels.cpp.
#include "core/engine.hpp"

#include <boost/json/object.hpp>
#include <charconv>
#include <chrono>

#include "core/event_body.hpp"
#include "core/jwt.hpp"
#include "core/limit_key.hpp"
#include "core/quote_input.hpp"
#include "core/random.hpp"

namespace rtm {

namespace {

std::int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Parses a positive decimal uint64 (no sign, no leading junk).
std::optional<std::uint64_t> parse_id(std::string_view text) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v == 0) return std::nullopt;
  return v;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

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

std::optional<LoginMode> parse_login_mode(std::string_view text) {
  if (text == "kill") return LoginMode::Kill;
  if (text == "refuse") return LoginMode::Refuse;
  if (text == "possess") return LoginMode::Possess;
  if (text == "auth") return LoginMode::Auth;
  if (text == "multi") return LoginMode::Multi;
  return std::nullopt;
}

Engine::Engine(Store& store, Broker& broker, EngineConfig config)
    : store_(store),
      broker_(broker),
      config_(std::move(config)),
      mids_(config_.node_id),
      throttle_(config_.login_fail_limit, config_.login_fail_window_ms),
      unauthorized_(config_.max_unauthorized_sessions_per_address,
                    config_.max_unauthorized_sessions),
      create_rate_(config_.rate_session_create),
      authorize_rate_(config_.rate_session_authorize),
      poll_rate_(config_.rate_channel_poll),
      send_rate_(config_.rate_send),
      server_events_(config_.server_events_limit),
      channels_(ChannelOptions{config_.channel_queue_limit, config_.channel_timeout_ms},
                [this](const std::string& client_id, bool connected, std::int64_t now) {
                  record_channel_presence(client_id, connected, now);
                }) {
  if (!config_.now_ms) config_.now_ms = system_now_ms;
}

Status Engine::start() {
  auto secret = store_.get_or_init_meta("token_secret", random_token(32));
  if (!secret) return secret.error();
  token_secret_ = std::move(*secret);
  auto bans = store_.bans();
  if (!bans) return bans.error();
  bans_.load(*bans);
  broker_.set_handler([this](const Publication& p) { on_publication(p); });
  return ok_status();
}

// --- sessions ---------------------------------------------------------------------------

Result<std::string> Engine::create_session(const std::string& address) {
  std::int64_t now = now_ms();
  const std::string key = limit_key(address);  // an IPv6 /64 is one client
  if (!key.empty()) {
    if (auto wait_ms = create_rate_.take(key, now)) {
      count_refusal(RateLimitKind::SessionCreate);
      return rate_limited("too many session.create calls from this address (rate_session_create)",
                          wait_ms);
    }
  }
  // Every place is free again once the sessions holding it now have expired; the sweep that
  // ends them runs once a second.
  std::int64_t freed_by_ms = config_.unauthorized_session_ttl_ms + 1000;
  switch (unauthorized_.try_add(key)) {
    case UnauthorizedSessions::Admission::Admitted: break;
    case UnauthorizedSessions::Admission::AddressFull:
      count_refusal(RateLimitKind::UnauthorizedPerAddress);
      return rate_limited("this address holds " +
                              std::to_string(config_.max_unauthorized_sessions_per_address) +
                              " sessions that are not authorized, the most allowed "
                              "(max_unauthorized_sessions_per_address); authorize or destroy "
                              "one, or wait for them to expire",
                          freed_by_ms);
    case UnauthorizedSessions::Admission::TotalFull:
      count_refusal(RateLimitKind::UnauthorizedTotal);
      return rate_limited("the server holds " + std::to_string(config_.max_unauthorized_sessions) +
                              " sessions that are not authorized, the most allowed "
                              "(max_unauthorized_sessions); try again later",
                          freed_by_ms);
  }
  auto session = std::make_shared<Session>(random_token(32), now, address, true);
  std::string id = session->id();
  sessions_.add(std::move(session));
  return id;
}

Status Engine::check_call_rate(RateLimitKind kind, const std::string& address) {
  if (address.empty()) return ok_status();
  TokenBuckets* buckets = nullptr;
  const char* what = "";
  switch (kind) {
    case RateLimitKind::SessionAuthorize:
      buckets = &authorize_rate_;
      what = "too many session.authorize calls from this address (rate_session_authorize)";
      break;
    case RateLimitKind::ChannelPoll:
      buckets = &poll_rate_;
      what = "too many channel.poll calls from this address (rate_channel_poll)";
      break;
    default: return ok_status();  // the others are checked where their calls happen
  }
  if (auto wait_ms = buckets->take(limit_key(address), now_ms())) {
    count_refusal(kind);
    return rate_limited(what, wait_ms);
  }
  return ok_status();
}

void Engine::release_unauthorized_place(Session& session) {
  if (session.take_unauthorized_place()) unauthorized_.remove(limit_key(session.address()));
}

Result<std::shared_ptr<Session>> Engine::live_session(const std::string& id) {
  auto session = sessions_.find(id);
  if (!session || !session->live())
    return make_error(Rc::InvalidSession, "no such session (it may have expired or been ended)");
  session->touch(now_ms());
  return session;
}

Result<Uid> Engine::authorized_uid(const std::string& id) {
  auto session = live_session(id);
  if (!session) return session.error();
  if (!(*session)->authorized())
    return make_error(Rc::NotAuthorized, "this call needs an authorized session");
  return (*session)->uid();
}

Result<Uid> Engine::check_credentials(const Credentials& c) {
  if (!c.token.empty()) {
    auto claims = jwt_verify(c.token, token_secret_, now_ms() / 1000);
    if (!claims) return claims.error();
    auto* typ = claims->if_contains("typ");
    auto* uid = claims->if_contains("uid");
    if (!typ || !typ->is_string() || typ->as_string() != "user" || !uid ||
        !(uid->is_int64() || uid->is_uint64()))
      return make_error(Rc::InvalidToken, "not a user token");
    Uid u = uid->is_uint64() ? uid->as_uint64() : static_cast<Uid>(uid->as_int64());
    if (!store_.find_user(u))
      return make_error(Rc::AuthorizeFailed, "the token's user no longer exists");
    return u;
  }
  // The attempt is counted before argon2 runs, so parallel guesses cannot all slip in while
  // the first ones are still being checked; a success clears the count.
  if (!throttle_.try_begin(c.login, now_ms())) {
    count_refusal(RateLimitKind::LoginFailures);
    return rate_limited(kLoginThrottledMessage, throttle_.retry_after_ms(c.login, now_ms()));
  }
  auto user = store_.find_user_by_login(c.login);
  if (!user && user.error().rc != Rc::NotFound) {
    throttle_.abandon(c.login);  // the store failed, not the caller's password
    return user.error();
  }
  // Verify against a dummy hash for unknown logins too, so timing does not reveal them.
  static const std::string kDummyHash = [] {
    auto h = hash_password("rtm-dummy-password", PasswordPolicy{});
    return h ? *h : std::string();
  }();
  bool match = verify_password(c.password, user ? user->password_hash : kDummyHash);
  if (!user || !match) return make_error(Rc::AuthorizeFailed, "login or password do not match");
  throttle_.record_success(c.login);
  return user->uid;
}

Result<AuthorizeResult> Engine::authorize(const std::string& session_id,
                                          const Credentials& credentials, LoginMode mode) {
  auto session = live_session(session_id);
  if (!session) return session.error();
  if ((*session)->authorized())
    return make_error(Rc::SessionAlreadyAuthorized, "the session is already authorized");

  auto uid = check_credentials(credentials);
  if (!uid) return uid.error();
  {
    std::lock_guard lock(known_users_mu_);
    known_users_.insert(*uid);
  }
  if (auto blocked = must_not_be_banned(BanScope::Project, 0, *uid); !blocked)
    return blocked.error();
  if (mode == LoginMode::Auth) return AuthorizeResult{*uid, session_id};

  std::lock_guard lock(login_mu_);
  // Again under the lock: a block made since the check above ended its sessions under it.
  if (auto blocked = must_not_be_banned(BanScope::Project, 0, *uid); !blocked)
    return blocked.error();
  if (!(*session)->live()) return make_error(Rc::InvalidSession, "the session ended during login");
  if ((*session)->authorized())
    return make_error(Rc::SessionAlreadyAuthorized, "the session is already authorized");
  auto others = sessions_.user_sessions(*uid);
  switch (mode) {
    case LoginMode::Refuse:
      if (!others.empty())
        return make_error(Rc::SessionExists, "the user already has a live session");
      break;
    case LoginMode::Possess:
      if (!others.empty()) {
        std::shared_ptr<Session> newest = others.front();
        for (auto& s : others)
          if (s->last_active_ms() > newest->last_active_ms()) newest = s;
        end_session(*session, nullptr);
        newest->touch(now_ms());
        return AuthorizeResult{*uid, newest->id()};
      }
      break;
    case LoginMode::Multi:
      // Only multi adds a session beside the others; the other modes end up with one.
      if (others.size() >= config_.max_sessions_per_user) {
        count_refusal(RateLimitKind::SessionsPerUser);
        return make_error(Rc::RateLimited,
                          "the user has " + std::to_string(others.size()) +
                              " live sessions, the most allowed (max_sessions_per_user); end "
                              "one or log in with mode kill");
      }
      break;
    case LoginMode::Kill:
    case LoginMode::Auth: break;
  }
  bind(*session, *uid);
  // Kill ends the others only after the new session is bound, so the user never has zero
  // sessions in between: presence subscribers see no offline/online flicker.
  if (mode == LoginMode::Kill)
    for (auto& s : others) end_session(s, "killed");
  return AuthorizeResult{*uid, session_id};
}

void Engine::bind(const std::shared_ptr<Session>& session, Uid uid) {
  session->bind(uid);
  release_unauthorized_place(*session);
  if (sessions_.bind_user(uid, session)) {
    publish("t:presence:" + std::to_string(uid), presence_event(uid, "online"));
    record_user_presence(uid, "user.online");
  }
}

void Engine::end_session(const std::shared_ptr<Session>& session, const char* state) {
  if (!session->end(state, now_ms())) return;
  release_unauthorized_place(*session);
  if (session->authorized()) {
    Uid uid = session->uid();
    if (sessions_.unbind_user(uid, session.get())) {
      publish("t:presence:" + std::to_string(uid), presence_event(uid, "offline"));
      record_user_presence(uid, "user.offline");
    }
  }
  for (const auto& topic : session->topics()) drop_topic(session, topic);
  if (!session->has_unread()) sessions_.remove(session->id());
}

void Engine::drop_topic(const std::shared_ptr<Session>& session, const std::string& topic) {
  session->unsubscribe_topic(topic);
  topics_.remove(topic, session.get());
  if (starts_with(topic, "room:") && session->authorized()) {
    if (auto rid = parse_id(std::string_view(topic).substr(5)))
      leave_room_if_last(session->uid(), *rid);
  }
}

Status Engine::destroy_session(const std::string& id) {
  auto session = live_session(id);
  if (!session) return session.error();
  std::lock_guard lock(login_mu_);  // no login may bind this session while it ends
  end_session(*session, nullptr);
  sessions_.remove(id);
  return ok_status();
}

Result<SessionSettings> Engine::update_settings(const std::string& id, const SettingsPatch& p) {
  auto session = live_session(id);
  if (!session) return session.error();
  // Ranges depend on the patch alone, so they are checked before anything changes; the
  // read-modify-write itself happens under the session's lock (a copy taken here and
  // written back later would undo a concurrent patch of another field).
  auto out_of_range = [](const char* name, int lo, int hi) {
    return make_error(Rc::InvalidParameter, std::string(name) + " must be between " +
                                                std::to_string(lo) + " and " + std::to_string(hi));
  };
  if (p.max_events && (*p.max_events < 1 || *p.max_events > 1000))
    return out_of_range("max_events", 1, 1000);
  if (p.queue_limit && (*p.queue_limit < 10 || *p.queue_limit > 100000))
    return out_of_range("queue_limit", 10, 100000);
  if (p.idle_timeout && (*p.idle_timeout < 10 || *p.idle_timeout > 86400))
    return out_of_range("idle_timeout", 10, 86400);
  return (*session)->update_settings(p);
}

// --- events -----------------------------------------------------------------------------

Result<EventBatch> Engine::take_events(const std::string& id, std::optional<std::uint64_t> after) {
  auto session = sessions_.find(id);
  if (!session) return make_error(Rc::InvalidSession, "no such session");
  if (!session->live()) {
    // A killed or kicked session hands out its final event once, then is gone.
    if (!session->has_unread() && !after) {
      sessions_.remove(id);
      return make_error(Rc::InvalidSession, "the session has ended");
    }
    EventBatch batch = session->take(after);
    if (!session->has_unread()) sessions_.remove(id);
    return batch;
  }
  session->touch(now_ms());
  return session->take(after);
}

Result<std::optional<EventBatch>> Engine::take_or_wait(const std::string& id,
                                                       std::optional<std::uint64_t> after,
                                                       Session::Waiter waiter,
                                                       std::uint64_t& ticket) {
  auto session = sessions_.find(id);
  if (!session) return make_error(Rc::InvalidSession, "no such session");
  if (!session->live() || shutting_down_) {
    auto batch = take_events(id, after);
    if (!batch) return batch.error();
    return std::optional<EventBatch>(std::move(*batch));
  }
  session->touch(now_ms());
  // The check above is only a fast path: shutdown() may start right after it, so the
  // session checks the flag again under its own lock before it registers the waiter.
  return session->take_or_wait(after, std::move(waiter), ticket, &shutting_down_);
}

void Engine::cancel_wait(const std::string& id, std::uint64_t ticket) {
  if (auto session = sessions_.find(id)) {
    session->cancel_wait(ticket);
    session->touch(now_ms());
  }
}

void Engine::rewind_events(const std::string& id, std::uint64_t from, std::uint64_t last) {
  if (auto session = sessions_.find(id)) session->rewind(from, last);
}

// --- subscriptions ----------------------------------------------------------------------

Result<std::string> Engine::subscribe(const std::string& id, const std::string& topic) {
  auto found = live_session(id);
  if (!found) return found.error();
  auto& session = *found;
  auto colon = topic.find(':');
  std::string_view kind = std::string_view(topic).substr(0, colon);
  std::string_view rest =
      colon == std::string::npos ? std::string_view() : std::string_view(topic).substr(colon + 1);
  if (colon == std::string::npos)
    return make_error(Rc::InvalidParameter,
                      "topic must be group:<gid>, room:<rid>, presence:<uid> or channel:<name>");

  if (kind == "channel") {
    if (rest.empty() || rest.size() > 256)
      return make_error(Rc::InvalidParameter, "channel name must be 1 to 256 bytes");
  } else if (kind == "group" || kind == "room" || kind == "presence") {
    auto num = parse_id(rest);
    if (!num) return make_error(Rc::InvalidParameter, "topic id must be a positive integer");
    if (kind != "presence" && !session->authorized())
      return make_error(Rc::NotAuthorized, "group and room topics need an authorized session");
    if (kind == "group") {
      auto member = store_.is_group_member(*num, session->uid());
      if (!member) return member.error();
      if (!*member) return make_error(Rc::PermissionDenied, "not a member of this group");
      if (auto banned = must_not_be_banned(BanScope::Group, *num, session->uid()); !banned)
        return banned.error();
    } else if (kind == "room") {
      if (auto banned = must_not_be_banned(BanScope::Room, *num, session->uid()); !banned)
        return banned.error();
    }
  } else {
    return make_error(Rc::InvalidParameter, "unknown topic kind '" + quote_input(kind) + "'");
  }

  bool created = false;
  auto key = session->try_subscribe(topic, created, config_.max_subscriptions_per_session);
  if (!key) {
    count_refusal(RateLimitKind::SubscriptionsPerSession);
    return make_error(Rc::RateLimited, "a session may subscribe to at most " +
                                           std::to_string(config_.max_subscriptions_per_session) +
                                           " topics (max_subscriptions_per_session)");
  }
  if (created) {
    topics_.add(topic, session);
    if (kind == "room") {
      // Subscribing makes a member; when the store cannot record that (a full disk), the
      // subscription is taken back: no session follows a room its user is not a member of.
      if (auto entered = enter_room(session->uid(), *parse_id(rest)); !entered) {
        session->unsubscribe_topic(topic);
        topics_.remove(topic, session.get());
        return entered.error();
      }
    }
    if (!session->live()) topics_.remove(topic, session.get());  // ended meanwhile
  }
  return *key;
}

Status Engine::unsubscribe(const std::string& id, const std::string& key) {
  auto found = live_session(id);
  if (!found) return found.error();
  auto& session = *found;
  auto topic = session->unsubscribe(key);
  if (topic) drop_topic(session, *topic);
  return ok_status();
}

Status Engine::enter_room(Uid uid, Rid rid) {
  auto member = store_.is_room_member(rid, uid);
  if (!member) return member.error();
  if (*member) return ok_status();
  if (auto added = store_.add_room_member(rid, uid); !added) return added;
  publish("t:room:" + std::to_string(rid), room_event(rid, uid, "entered"));
  return ok_status();
}

void Engine::leave_room_if_last(Uid uid, Rid rid) {
  std::string topic = "room:" + std::to_string(rid);
  for (auto& s : sessions_.user_sessions(uid))
    if (s->subscribed(topic)) return;
  auto member = store_.is_room_member(rid, uid);
  if (!member || !*member) return;
  // A store that cannot write (logged as store.error) keeps the user a member: the
  // unsubscribe itself still holds, and the user leaves for good at a later unsubscribe.
  if (store_.del_room_member(rid, uid)) publish("t:" + topic, room_event(rid, uid, "left"));
}

// --- delivery ---------------------------------------------------------------------------

void Engine::publish(std::string target, EventBody body) {
  // A broker that cannot be reached loses live delivery only; the message is already durable
  // and in history, so the send still succeeds.
  (void)broker_.publish(Publication{std::move(target), std::move(body)});
}

void Engine::on_publication(const Publication& p) {
  std::string_view target = p.target;
  std::uint64_t delivered = 0;
  if (starts_with(target, "u:")) {
    if (auto uid = parse_id(target.substr(2)))
      for (auto& s : sessions_.user_sessions(*uid)) delivered += s->push(p.payload, false);
  } else if (starts_with(target, "t:")) {
    std::string topic(target.substr(2));
    bool is_presence = starts_with(topic, "presence:");
    for (auto& s : topics_.subscribers(topic)) delivered += s->push(p.payload, is_presence);
  } else if (target == "all") {
    for (Uid uid : sessions_.online_users())
      for (auto& s : sessions_.user_sessions(uid)) delivered += s->push(p.payload, false);
  }
  events_delivered_.fetch_add(delivered, std::memory_order_relaxed);
}

// --- upkeep -----------------------------------------------------------------------------

void Engine::sweep() {
  std::int64_t now = now_ms();
  // A session never authorized lives unauthorized_session_ttl_ms from its creation, however
  // busy: it has a waiting poll or socket or not (a flood's sessions cannot be kept alive).
  auto unauthorized_over = [&](const Session& s) {
    return !s.authorized() && now - s.created_ms() >= config_.unauthorized_session_ttl_ms;
  };
  for (auto& s : sessions_.all()) {
    if (s->live()) {
      if (s->idle(now) || unauthorized_over(*s)) {
        std::lock_guard lock(login_mu_);
        // Again under the lock: a login may have bound it since (it binds under login_mu_).
        if (!s->idle(now) && !unauthorized_over(*s)) continue;
        bool waiting = s->has_waiter();
        end_session(s, "expired");
        // Without a waiting poll the final event has no reader; with one, the poll reads it
        // and the session goes (or the grace below ends it).
        if (!waiting) sessions_.remove(s->id());
      }
    } else if (!s->has_unread() || now - s->ended_at_ms() > config_.ended_session_grace_ms) {
      sessions_.remove(s->id());
    }
  }
  channels_.sweep(now);
  create_rate_.sweep(now);
  authorize_rate_.sweep(now);
  poll_rate_.sweep(now);
  send_rate_.sweep(now);
}

void Engine::shutdown() {
  // Set before the wakes: a poll that registers after its session was woken here has seen
  // the flag under Session::mu_ and answered at once instead (Session::take_or_wait).
  shutting_down_ = true;
  for (auto& s : sessions_.all()) s->wake();
  channels_.wake_all();
  server_events_.wake_all();
}

EngineStats Engine::stats() const {
  EngineStats st;
  auto all = sessions_.all();
  st.sessions = all.size();
  for (auto& s : all) {
    st.events_queued += s->queued();
    st.polls_waiting += s->has_waiter();
  }
  st.online_users = sessions_.online_count();
  st.unauthorized_sessions = unauthorized_.total();
  for (std::size_t i = 0; i < kRateLimitKinds; ++i) st.rate_limited[i] = rate_limited_[i].load();
  st.messages_sent = messages_sent_.load();
  st.events_delivered = events_delivered_.load();
  st.store_appends = store_appends_.load();
  st.store_append_us_total = store_append_us_total_.load();
  st.store_append_us_max = store_append_us_max_.load();
  st.channels = channels_.stats();
  st.server_events_kept = server_events_.size();
  st.server_events_last_id = server_events_.last_id();
  st.server_event_polls_waiting = server_events_.waiting();
  return st;
}

}  // namespace rtm
