// SessionService: sessions, logins, events, subscriptions, presence and delivery into this
// node's sessions (session_service.hpp).
#include "core/node/session_service.hpp"

#include <functional>
#include <limits>

#include "core/delivery.hpp"
#include "core/event_body.hpp"
#include "core/limit_key.hpp"
#include "core/login_attempts.hpp"
#include "core/random.hpp"
#include "core/topic.hpp"
#include "logging/log.hpp"

namespace rtm {

SessionService::SessionService(const NodeConfig& config, Store& store, Broker& broker,
                               Publisher& publisher, AccessPolicy& access, RateLimits& limits,
                               ServerEventService& server_events, const TokenSigner& signer,
                               const std::atomic<bool>& shutting_down,
                               const LoginAttemptsFactory& make_throttle,
                               const SessionDirectoryFactory& make_directory)
    : config_(config),
      store_(store),
      broker_(broker),
      publisher_(publisher),
      access_(access),
      limits_(limits),
      server_events_(server_events),
      signer_(signer),
      shutting_down_(shutting_down),
      directory_(make_directory([this](const std::string& id) -> std::int64_t {
        auto s = sessions_.find(id);
        return s ? s->last_active_ms() : 0;
      })),
      topics_([&broker](const std::string& topic, bool interested) {
        if (interested)
          broker.subscribe(Target::of_topic(topic));
        else
          broker.unsubscribe(Target::of_topic(topic));
      }),
      throttle_(make_throttle(config.login_fail_limit, config.login_fail_window_ms)),
      unauthorized_(config.max_unauthorized_sessions_per_address,
                    config.max_unauthorized_sessions) {}

// --- sessions ---------------------------------------------------------------------------

Result<std::string> SessionService::create(const std::string& address) {
  std::int64_t now = config_.now_ms();
  if (auto within = limits_.check_address(RateLimitKind::SessionCreate, address); !within)
    return within.error();
  // Every place is free again once the sessions holding it now have expired; the sweep that
  // ends them runs once a second.
  std::int64_t freed_by_ms = config_.unauthorized_session_ttl_ms + 1000;
  switch (unauthorized_.try_add(limit_key(address))) {  // an IPv6 /64 is one client
    case UnauthorizedSessions::Admission::Admitted: break;
    case UnauthorizedSessions::Admission::AddressFull:
      limits_.count(RateLimitKind::UnauthorizedPerAddress);
      return rate_limited("this address holds " +
                              std::to_string(config_.max_unauthorized_sessions_per_address) +
                              " sessions that are not authorized, the most allowed "
                              "(max_unauthorized_sessions_per_address); authorize or destroy "
                              "one, or wait for them to expire",
                          freed_by_ms);
    case UnauthorizedSessions::Admission::TotalFull:
      limits_.count(RateLimitKind::UnauthorizedTotal);
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

void SessionService::release_unauthorized_place(Session& session) {
  if (session.take_unauthorized_place()) unauthorized_.remove(limit_key(session.address()));
}

Result<std::shared_ptr<Session>> SessionService::live(const std::string& id) {
  auto session = sessions_.find(id);
  if (!session || !session->live())
    return make_error(Rc::InvalidSession, "no such session (it may have expired or been ended)");
  session->touch(config_.now_ms());
  return session;
}

Result<Uid> SessionService::authorized_uid(const std::string& id) {
  auto session = live(id);
  if (!session) return session.error();
  if (!(*session)->authorized())
    return make_error(Rc::NotAuthorized, "this call needs an authorized session");
  return (*session)->uid();
}

Result<Uid> SessionService::check_credentials(const Credentials& c) {
  std::int64_t now = config_.now_ms();
  if (!c.token.empty()) {
    auto claims = signer_.verify(c.token, now / 1000);
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
  if (!throttle_->try_begin(c.login, now)) {
    limits_.count(RateLimitKind::LoginFailures);
    return rate_limited(kLoginThrottledMessage, throttle_->retry_after_ms(c.login, now));
  }
  auto user = store_.find_user_by_login(c.login);
  if (!user && user.error().rc != Rc::NotFound) {
    throttle_->abandon(c.login);  // the store failed, not the caller's password
    return user.error();
  }
  // Verify against a dummy hash for unknown logins too, so timing does not reveal them.
  static const std::string kDummyHash = [] {
    auto h = hash_password("rtm-dummy-password", PasswordPolicy{});
    return h ? *h : std::string();
  }();
  bool match = verify_password(c.password, user ? user->password_hash : kDummyHash);
  if (!user || !match) return make_error(Rc::AuthorizeFailed, "login or password do not match");
  throttle_->record_success(c.login);
  return user->uid;
}

Result<AuthorizeResult> SessionService::authorize(const std::string& session_id,
                                                  const Credentials& credentials, LoginMode mode) {
  auto session = live(session_id);
  if (!session) return session.error();
  if ((*session)->authorized())
    return make_error(Rc::SessionAlreadyAuthorized, "the session is already authorized");

  auto uid = check_credentials(credentials);
  if (!uid) return uid.error();
  access_.remember_user(*uid);
  if (auto blocked = access_.not_banned(BanScope::Project, 0, *uid); !blocked)
    return blocked.error();
  if (mode == LoginMode::Auth) return AuthorizeResult{*uid, session_id};
  // Where the store's stream ends now: the session reads the messages after it.
  auto stream_end = store_.last_position();
  if (!stream_end) return stream_end.error();

  std::lock_guard lock(login_mu_);
  // Again under the lock: a block made since the check above ended its sessions under it.
  if (auto blocked = access_.not_banned(BanScope::Project, 0, *uid); !blocked)
    return blocked.error();
  if (!(*session)->live()) return make_error(Rc::InvalidSession, "the session ended during login");
  if ((*session)->authorized())
    return make_error(Rc::SessionAlreadyAuthorized, "the session is already authorized");
  auto decision = directory_->claim(*uid, session_id, mode, config_.max_sessions_per_user);
  switch (decision.outcome) {
    case LoginDecision::Outcome::Exists:
      return make_error(Rc::SessionExists, "the user already has a live session");
    case LoginDecision::Outcome::Possess: {
      end_session(*session, nullptr);
      if (auto possessed = sessions_.find(decision.possessed)) possessed->touch(config_.now_ms());
      return AuthorizeResult{*uid, decision.possessed};
    }
    case LoginDecision::Outcome::TooMany:
      limits_.count(RateLimitKind::SessionsPerUser);
      return make_error(Rc::RateLimited,
                        "the user has " + std::to_string(decision.count) +
                            " live sessions, the most allowed (max_sessions_per_user); end "
                            "one or log in with mode kill");
    case LoginDecision::Outcome::Bound: break;
  }
  {
    // The record is stored before the session counts as bound: a login answered is one a
    // restart gives back. A store that cannot write (a full disk) does not stop logins: the
    // session then lives in memory only, as every session did before restarts kept them
    // (docs/semantics.md "Restarts"); the store logged why.
    std::lock_guard record_lock(record_mu(session_id));
    SessionRecord record = (*session)->first_record(*uid, *stream_end);
    if (store_.save_session(record))
      (*session)->make_durable(&dirty_, record.id_limit, record.read_position);
  }
  bind(*session, *uid, decision.first);
  // Kill ends the others only after the new session is bound, so the user never has zero
  // sessions in between: presence subscribers see no offline/online flicker.
  for (const auto& other : decision.others)
    if (auto s = sessions_.find(other)) end_session(s, "killed");
  return AuthorizeResult{*uid, session_id};
}

void SessionService::bind(const std::shared_ptr<Session>& session, Uid uid, bool first) {
  session->bind(uid);
  release_unauthorized_place(*session);
  // This node's first session of uid (bind and end run under login_mu_, in order).
  if (sessions_.bind_user(uid, session)) broker_.subscribe(Target::user(uid));
  if (first) {
    publisher_.publish(Target::of_topic("presence:" + std::to_string(uid)),
                       presence_event(uid, "online"));
    server_events_.record_user_presence(uid, "user.online");
  }
}

void SessionService::end_session(const std::shared_ptr<Session>& session, const char* state) {
  bool had_record = session->durable();
  if (!session->end(state, config_.now_ms())) return;
  if (had_record) forget_record(session->id());
  release_unauthorized_place(*session);
  if (session->authorized()) {
    Uid uid = session->uid();
    if (sessions_.unbind_user(uid, session.get())) broker_.unsubscribe(Target::user(uid));
    if (directory_->release(uid, session->id())) {
      publisher_.publish(Target::of_topic("presence:" + std::to_string(uid)),
                         presence_event(uid, "offline"));
      server_events_.record_user_presence(uid, "user.offline");
    }
  }
  for (const auto& topic : session->topics()) drop_topic(session, topic);
  if (!session->has_unread()) sessions_.remove(session->id());
}

void SessionService::drop_topic(const std::shared_ptr<Session>& session, const std::string& topic) {
  session->unsubscribe_topic(topic);
  topics_.remove(topic, session.get());
  if (session->authorized()) {
    if (auto rid = room_of_topic(topic)) leave_room_if_last(session->uid(), *rid);
  }
}

Status SessionService::destroy(const std::string& id) {
  auto session = live(id);
  if (!session) return session.error();
  std::lock_guard lock(login_mu_);  // no login may bind this session while it ends
  end_session(*session, nullptr);
  sessions_.remove(id);
  return ok_status();
}

Result<SessionSettings> SessionService::update_settings(const std::string& id,
                                                        const SettingsPatch& p) {
  auto session = live(id);
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
  SessionSettings before = (*session)->settings();
  SessionSettings after = (*session)->update_settings(p);
  if (auto saved = persist(*session); !saved) {
    (*session)->set_settings(before);  // not stored: not changed
    return saved.error();
  }
  return after;
}

std::vector<Uid> SessionService::online(const std::vector<Uid>& uids) const {
  std::vector<Uid> out;
  for (Uid u : uids)
    if (directory_->online(u)) out.push_back(u);
  return out;
}

Result<int> SessionService::kickout(Uid uid) {
  if (auto exists = access_.user_exists(uid); !exists) return exists.error();
  return end_user_sessions(uid, "kicked");
}

int SessionService::end_user_sessions(Uid uid, const char* state) {
  int n = 0;
  std::lock_guard lock(login_mu_);
  for (auto& s : sessions_.user_sessions(uid)) {
    end_session(s, state);
    ++n;
  }
  return n;
}

// --- events -----------------------------------------------------------------------------

Result<EventBatch> SessionService::take_events(const std::string& id,
                                               std::optional<std::uint64_t> after) {
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
  session->touch(config_.now_ms());
  return session->take(after);
}

Result<std::optional<EventBatch>> SessionService::take_or_wait(const std::string& id,
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
  session->touch(config_.now_ms());
  // The check above is only a fast path: shutdown may start right after it, so the session
  // checks the flag again under its own lock before it registers the waiter.
  return session->take_or_wait(after, std::move(waiter), ticket, &shutting_down_);
}

void SessionService::cancel_wait(const std::string& id, std::uint64_t ticket) {
  if (auto session = sessions_.find(id)) {
    session->cancel_wait(ticket);
    session->touch(config_.now_ms());
  }
}

void SessionService::rewind_events(const std::string& id, std::uint64_t from, std::uint64_t last) {
  if (auto session = sessions_.find(id)) session->rewind(from, last);
}

// --- subscriptions ----------------------------------------------------------------------

Result<std::string> SessionService::subscribe(const std::string& id, const std::string& text) {
  auto found = live(id);
  if (!found) return found.error();
  auto& session = *found;
  auto topic = Topic::parse(text);
  if (!topic) return topic.error();
  if (topic->kind == Topic::Kind::Group || topic->kind == Topic::Kind::Room) {
    if (!session->authorized())
      return make_error(Rc::NotAuthorized, "group and room topics need an authorized session");
    Place place =
        topic->kind == Topic::Kind::Group ? Place::group(topic->id) : Place::room(topic->id);
    if (auto allowed = access_.check(Act::Subscribe, place, session->uid()); !allowed)
      return allowed.error();
  }

  bool created = false;
  auto key = session->try_subscribe(text, created, config_.max_subscriptions_per_session);
  if (!key) {
    limits_.count(RateLimitKind::SubscriptionsPerSession);
    return make_error(Rc::RateLimited, "a session may subscribe to at most " +
                                           std::to_string(config_.max_subscriptions_per_session) +
                                           " topics (max_subscriptions_per_session)");
  }
  if (created) {
    topics_.add(text, session);
    if (topic->kind == Topic::Kind::Room) {
      // Subscribing makes a member; when the store cannot record that (a full disk), the
      // subscription is taken back: no session follows a room its user is not a member of.
      if (auto entered = enter_room(session->uid(), topic->id); !entered) {
        session->unsubscribe_topic(text);
        topics_.remove(text, session.get());
        return entered.error();
      }
    }
    if (!session->live()) topics_.remove(text, session.get());  // ended meanwhile
    if (auto saved = persist(session); !saved) {
      // Not stored: not subscribed (a restart would not know it).
      session->unsubscribe_topic(text);
      topics_.remove(text, session.get());
      return saved.error();
    }
  }
  return *key;
}

Status SessionService::unsubscribe(const std::string& id, const std::string& key) {
  auto found = live(id);
  if (!found) return found.error();
  auto& session = *found;
  auto topic = session->unsubscribe(key);
  if (topic) {
    drop_topic(session, *topic);
    // Never an error (qik unsubscribe): a store that cannot write logged why, and a restart
    // before the next write of this session would bring the subscription back.
    (void)persist(session);
  }
  return ok_status();
}

Status SessionService::enter_room(Uid uid, Rid rid) {
  auto member = store_.is_room_member(rid, uid);
  if (!member) return member.error();
  if (*member) return ok_status();
  if (auto added = store_.add_room_member(rid, uid); !added) return added;
  publisher_.publish(Target::of_topic("room:" + std::to_string(rid)),
                     room_event(rid, uid, "entered"));
  return ok_status();
}

void SessionService::leave_room_if_last(Uid uid, Rid rid) {
  std::string topic = "room:" + std::to_string(rid);
  for (auto& s : sessions_.user_sessions(uid))
    if (s->subscribed(topic)) return;
  auto member = store_.is_room_member(rid, uid);
  if (!member || !*member) return;
  // A store that cannot write (logged as store.error) keeps the user a member: the
  // unsubscribe itself still holds, and the user leaves for good at a later unsubscribe.
  if (store_.del_room_member(rid, uid))
    publisher_.publish(Target::of_topic(topic), room_event(rid, uid, "left"));
}

// The server changed these sessions (a membership or a ban): a store that cannot record it
// logged why, and the change holds in memory (persist's Status is not the caller's to answer).
void SessionService::drop_user_topic(Uid uid, const std::string& topic) {
  for (auto& s : sessions_.user_sessions(uid)) {
    drop_topic(s, topic);
    (void)persist(s);
  }
}

void SessionService::follow_room(Uid uid, Rid rid) {
  std::string topic = "room:" + std::to_string(rid);
  for (auto& s : sessions_.user_sessions(uid)) {
    bool created = false;
    s->subscribe(topic, created);
    if (created) {
      topics_.add(topic, s);
      (void)persist(s);
    }
  }
}

void SessionService::unfollow_room(Uid uid, Rid rid) {
  std::string topic = "room:" + std::to_string(rid);
  for (auto& s : sessions_.user_sessions(uid)) {
    if (!s->unsubscribe_topic(topic)) continue;
    topics_.remove(topic, s.get());
    (void)persist(s);
  }
}

// --- delivery ---------------------------------------------------------------------------

void SessionService::deliver(const Publication& p) {
  if (p.position > 1) {
    std::uint64_t before = p.position - 1;
    std::uint64_t seen = delivered_through_.load(std::memory_order_relaxed);
    while (seen < before &&
           !delivered_through_.compare_exchange_weak(seen, before, std::memory_order_release)) {
    }
  }
  std::uint64_t delivered = 0;
  switch (p.target.kind) {
    case Target::Kind::User:
      for (auto& s : sessions_.user_sessions(p.target.uid))
        delivered += s->push(p.payload, false, p.position);
      break;
    case Target::Kind::Topic: {
      bool presence = is_presence_topic(p.target.topic);
      for (auto& s : topics_.subscribers(p.target.topic))
        delivered += s->push(p.payload, presence, p.position);
      break;
    }
    case Target::Kind::All:
      for (Uid uid : sessions_.online_users())
        for (auto& s : sessions_.user_sessions(uid))
          delivered += s->push(p.payload, false, p.position);
      break;
  }
  events_delivered_.fetch_add(delivered, std::memory_order_relaxed);
}

// --- records and restarts --------------------------------------------------------------

std::mutex& SessionService::record_mu(const std::string& id) {
  return record_mus_[std::hash<std::string>{}(id) % record_mus_.size()];
}

Status SessionService::persist(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(record_mu(session->id()));
  auto record = session->record();
  if (!record) return ok_status();  // never authorized, or ended
  return store_.save_session(*record);
}

void SessionService::forget_record(const std::string& id) {
  std::lock_guard lock(record_mu(id));
  // A store that cannot delete logged why; the record then names a session that a restart
  // gives back although it had ended (its user logs in again or it expires).
  (void)store_.delete_session(id);
}

Status SessionService::restore() {
  auto records = store_.load_sessions();
  if (!records) return records.error();
  if (records->empty()) return ok_status();
  std::int64_t now = config_.now_ms();
  std::vector<std::shared_ptr<Session>> restored;
  std::uint64_t from = std::numeric_limits<std::uint64_t>::max();
  {
    std::lock_guard lock(login_mu_);
    for (const auto& r : *records) {
      // Each restored session counts from now for its idle timeout: its client needs the
      // time to come back after the restart.
      auto session = std::make_shared<Session>(r, now, &dirty_);
      auto decision =
          directory_->claim(r.uid, r.id, LoginMode::Multi, std::numeric_limits<std::size_t>::max());
      if (decision.outcome != LoginDecision::Outcome::Bound) continue;
      sessions_.add(session);
      if (sessions_.bind_user(r.uid, session)) broker_.subscribe(Target::user(r.uid));
      for (const auto& [key, topic] : r.subscriptions) topics_.add(topic, session);
      from = std::min(from, r.kept_position);
      restored.push_back(std::move(session));
    }
  }
  // The messages the sessions kept, from the stream, to the sessions they target now: each
  // skips those before its kept position and counts those up to its read position as read.
  constexpr std::size_t kPage = 1000;
  std::uint64_t replayed = 0;
  for (;;) {
    auto page = store_.messages_after(from, kPage);
    if (!page) return page.error();
    for (const auto& m : *page) {
      EventBody body = message_event(m.message);
      for (auto& target : message_targets(m.message))
        deliver(Publication{std::move(target), body, m.position});
      from = m.position;
    }
    replayed += page->size();
    if (page->size() < kPage) break;
  }
  // Their ids are reserved before any is answered.
  std::vector<std::shared_ptr<Session>> reserving;
  std::vector<SessionPositions> positions;
  for (auto& s : restored) {
    if (auto p = s->checkpoint_positions(now)) {
      positions.push_back(std::move(*p));
      reserving.push_back(s);
    }
  }
  if (auto saved = store_.save_session_positions(positions); !saved) return saved;
  for (std::size_t i = 0; i < reserving.size(); ++i) reserving[i]->reserved(positions[i].id_limit);
  logging::info("sessions.restored",
                {{"sessions", restored.size()}, {"messages_replayed", replayed}});
  return ok_status();
}

void SessionService::checkpoint(bool final) {
  std::lock_guard lock(checkpoint_mu_);
  std::int64_t now = config_.now_ms();
  bool hurry = dirty_.take_hurry();
  if (!final && !hurry && now - last_positions_ms_ < kPositionsEveryMs) return;
  last_positions_ms_ = now;
  if (now - last_idle_pass_ms_ >= kIdlePassMs) {
    last_idle_pass_ms_ = now;
    std::uint64_t through = delivered_through_.load(std::memory_order_acquire);
    for (auto& s : sessions_.all()) s->pass_idle(through);
  }
  std::vector<std::shared_ptr<Session>> marked;
  std::vector<SessionPositions> positions;
  for (const auto& id : dirty_.take()) {
    auto session = sessions_.find(id);
    if (!session) continue;
    auto p = session->checkpoint_positions(now);
    if (!p) continue;
    positions.push_back(std::move(*p));
    marked.push_back(std::move(session));
  }
  if (positions.empty()) return;
  if (!store_.save_session_positions(positions)) {
    // The store logged why; the next checkpoint tries again. Events past the ids reserved
    // wait until then.
    for (auto& s : marked) s->mark_dirty();
    return;
  }
  for (std::size_t i = 0; i < marked.size(); ++i) marked[i]->reserved(positions[i].id_limit);
}

// --- upkeep -----------------------------------------------------------------------------

void SessionService::sweep(std::int64_t now) {
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
}

void SessionService::wake_all() {
  for (auto& s : sessions_.all()) s->wake();
}

SessionService::Counts SessionService::counts() const {
  Counts c;
  auto all = sessions_.all();
  c.sessions = all.size();
  for (auto& s : all) {
    c.events_queued += s->queued();
    c.polls_waiting += s->has_waiter();
  }
  c.online_users = directory_->online_count();
  c.unauthorized = unauthorized_.total();
  c.events_delivered = events_delivered_.load();
  return c;
}

}  // namespace rtm
