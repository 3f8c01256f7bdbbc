// SessionService: sessions and their logins, event queues, subscriptions and presence (API.md
// section 3), and the delivery of publications into the sessions this node holds (the
// broker's handler). The other services reach sessions only through it: the directory and
// moderation end a user's sessions or change their subscriptions here.
//
// Owns the SessionRegistry (this node's sessions by id, and its live ones by uid for
// delivery), the TopicIndex (topic -> subscribed sessions), the places of unauthorized
// sessions, and through their interfaces the SessionDirectory (every node's live sessions by
// uid: the login decision and presence) and the login throttle (LoginAttempts).
//
// Locking: login_mu_ serializes the check-then-bind of the login modes against every end of
// a user's sessions (kill, kickout, block, expiry, destroy); it is taken before the session,
// registry and topic locks and before the server event stream's (docs/lock-order.md).
// Every method is thread-safe. authorize() runs argon2id for a password login (tens of ms)
// and belongs on the blocking pool; subscribe() to a group or room reads the store.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/broker.hpp"
#include "core/login_attempts.hpp"
#include "core/node/access_policy.hpp"
#include "core/node/node_config.hpp"
#include "core/node/publisher.hpp"
#include "core/node/rate_limits.hpp"
#include "core/node/server_event_service.hpp"
#include "core/node/token_signer.hpp"
#include "core/result.hpp"
#include "core/session.hpp"
#include "core/session_directory.hpp"
#include "core/session_registry.hpp"
#include "core/store.hpp"
#include "core/topic_index.hpp"
#include "core/unauthorized_sessions.hpp"

namespace rtm {

struct Credentials {
  std::string login;
  std::string password;
  std::string token;  // a user token (JWT) instead of login + password
};

struct AuthorizeResult {
  Uid uid = 0;
  std::string session;  // the session now bound (possess: the existing one)
};

class SessionService {
 public:
  SessionService(const NodeConfig& config, Store& store, Broker& broker, Publisher& publisher,
                 AccessPolicy& access, RateLimits& limits, ServerEventService& server_events,
                 const TokenSigner& signer, const std::atomic<bool>& shutting_down,
                 const LoginAttemptsFactory& make_throttle,
                 const SessionDirectoryFactory& make_directory);
  SessionService(const SessionService&) = delete;
  SessionService& operator=(const SessionService&) = delete;

  // A new unauthorized session made for a client at `address` (empty: no address, held by
  // the total cap only). RateLimited (with retry_after) past rate_session_create or a cap on
  // unauthorized sessions.
  Result<std::string> create(const std::string& address = {});
  // The live session with this id, touched. InvalidSession if unknown or ended.
  Result<std::shared_ptr<Session>> live(const std::string& id);
  // The uid of a live authorized session. InvalidSession / NotAuthorized.
  Result<Uid> authorized_uid(const std::string& id);
  // Blocking (argon2id for a password login).
  Result<AuthorizeResult> authorize(const std::string& session_id, const Credentials& credentials,
                                    LoginMode mode);
  Status destroy(const std::string& id);
  Result<SessionSettings> update_settings(const std::string& id, const SettingsPatch& patch);

  // Takes queued events (a killed session's final event included). InvalidSession if there
  // is nothing more for this id.
  Result<EventBatch> take_events(const std::string& id, std::optional<std::uint64_t> after);
  // Takes events if there are any; otherwise registers `waiter` and returns nullopt with
  // `ticket` set. The waiter is called once, from another thread, when an event arrives,
  // the session ends, or shutdown comes.
  Result<std::optional<EventBatch>> take_or_wait(const std::string& id,
                                                 std::optional<std::uint64_t> after,
                                                 Session::Waiter waiter, std::uint64_t& ticket);
  void cancel_wait(const std::string& id, std::uint64_t ticket);
  // A batch (from, last] taken for an answer that could not be delivered: Session::rewind.
  void rewind_events(const std::string& id, std::uint64_t from, std::uint64_t last);

  Result<std::string> subscribe(const std::string& id, const std::string& topic);
  // Never an error for an unknown key (qik unsubscribe); InvalidSession for a bad session.
  Status unsubscribe(const std::string& id, const std::string& key);

  std::vector<Uid> online(const std::vector<Uid>& uids) const;
  // Ends every session of uid with a final `session` event, state "kicked". Returns how many.
  Result<int> kickout(Uid uid);

  // --- for the other services -------------------------------------------------------------
  // Ends every live session of uid with a final event of `state`; returns how many. Under
  // login_mu_: a login racing with it either binds first (and is ended) or comes after.
  int end_user_sessions(Uid uid, const char* state);
  // As if every session of uid unsubscribed from topic (a room is left with the last one).
  void drop_user_topic(Uid uid, const std::string& topic);
  // The sessions of uid follow a room membership the directory made or removed (no store
  // write, no entered/left event: the directory does those).
  void follow_room(Uid uid, Rid rid);
  void unfollow_room(Uid uid, Rid rid);
  // The broker's handler: pushes a publication into the sessions of this node it targets.
  void deliver(const Publication& p);

  // --- restarts (docs/semantics.md "Restarts") ----------------------------------------------
  // Gives back the stored sessions after a restart: each is bound to its user again with its
  // settings and subscriptions, and gets the messages after its read position from the
  // store's stream, numbered on from its id_limit. Runs once, before any call is served.
  Status restore();
  // Writes the read positions and id reservations of the sessions that moved since the last
  // write, in one transaction: once every kPositionsEveryMs, or at once when a session needs
  // ids (its events wait for them), or when `final` (shutdown). rtmd calls it every 100 ms
  // and once more, final, at shutdown. Read positions bound what a kill -9 gives again; a
  // second of them costs one write per reading session and second, where every 100 ms cost
  // ten (a fan-out to 10,000 sessions wrote 100,000 rows a second).
  // Once every kIdlePassMs it first moves the read position of every session with nothing
  // unread to the stream's delivered end (Session::pass_idle), which bounds how much of the
  // stream a restart reads.
  void checkpoint(bool final = false);
  static constexpr std::int64_t kIdlePassMs = 60'000;
  static constexpr std::int64_t kPositionsEveryMs = 1'000;

  // --- upkeep ---------------------------------------------------------------------------
  // Expires idle sessions and unauthorized ones past their TTL, and forgets ended ones
  // whose final event was read or is stale.
  void sweep(std::int64_t now);
  // Wakes every waiting poll (shutdown: the flag is set first).
  void wake_all();

  struct Counts {
    std::size_t sessions = 0;
    std::size_t unauthorized = 0;
    std::size_t online_users = 0;
    std::size_t events_queued = 0;
    std::size_t polls_waiting = 0;
    std::uint64_t events_delivered = 0;
  };
  Counts counts() const;

 private:
  Result<Uid> check_credentials(const Credentials& credentials);
  // Binds a session the directory bound to uid (`first`: the user came online with it).
  void bind(const std::shared_ptr<Session>& session, Uid uid, bool first);
  void end_session(const std::shared_ptr<Session>& session, const char* state);
  void drop_topic(const std::shared_ptr<Session>& session, const std::string& topic);
  // Makes uid a member of rid (and tells the room) unless it is one; the store's error
  // otherwise, and nothing changed.
  Status enter_room(Uid uid, Rid rid);
  void leave_room_if_last(Uid uid, Rid rid);
  // Gives back the session's place among the unauthorized ones, if it still holds one.
  void release_unauthorized_place(Session& session);
  // Stores the session's record as it is now (settings, subscriptions), if it has one.
  Status persist(const std::shared_ptr<Session>& session);
  // Deletes the record of a session that ended.
  void forget_record(const std::string& id);
  // Serializes the record writes of one session, so that an older snapshot never lands after
  // a newer one (sharded by session id).
  std::mutex& record_mu(const std::string& id);

  const NodeConfig& config_;
  Store& store_;
  Broker& broker_;  // interest: which users and topics this node holds sessions for
  Publisher& publisher_;
  AccessPolicy& access_;
  RateLimits& limits_;
  ServerEventService& server_events_;
  const TokenSigner& signer_;
  const std::atomic<bool>& shutting_down_;
  SessionRegistry sessions_;  // this node's sessions, and its live ones by uid for delivery
  std::unique_ptr<SessionDirectory> directory_;  // every node's, and the login decision
  TopicIndex topics_;
  std::unique_ptr<LoginAttempts> throttle_;  // failed logins per login name
  UnauthorizedSessions unauthorized_;
  std::mutex login_mu_;       // serializes the check-then-bind of the login modes
  DirtySessions dirty_;       // sessions whose positions the next checkpoint writes
  std::mutex checkpoint_mu_;  // one checkpoint at a time; guards the two below
  std::int64_t last_idle_pass_ms_ = 0;
  std::int64_t last_positions_ms_ = 0;
  std::array<std::mutex, 16> record_mus_;
  std::atomic<std::uint64_t> events_delivered_{0};
  // Every message at or below it has been handed to every session it targets: deliveries
  // come in stream order, one message at a time, so when position P begins, all before P
  // are done.
  std::atomic<std::uint64_t> delivered_through_{0};
};

}  // namespace rtm
