// Engine: the whole of rtm's behaviour behind one object (DESIGN.md core/): sessions,
// logins, event queues, subscriptions, fan-out, messages, users, groups and rooms, channels
// and the server event stream. It has
// no sockets and no SQL: it talks to a Store and a Broker through their interfaces, and the
// api/ layer decodes requests into calls on it (dragonfly's ServiceInterface model).
//
// Every method is thread-safe. Methods return at once except where noted: authorize() and
// the password methods run argon2id (tens of ms) and belong on a blocking pool; send()
// answers through its callback once the store has made the message durable.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/ban_list.hpp"
#include "core/broker.hpp"
#include "core/channel_registry.hpp"
#include "core/file_record.hpp"
#include "core/listen_selection.hpp"
#include "core/login_throttle.hpp"
#include "core/message.hpp"
#include "core/mid_generator.hpp"
#include "core/password.hpp"
#include "core/result.hpp"
#include "core/server_events.hpp"
#include "core/session.hpp"
#include "core/session_registry.hpp"
#include "core/store.hpp"
#include "core/token_buckets.hpp"
#include "core/topic_index.hpp"
#include "core/unauthorized_sessions.hpp"

namespace rtm {

struct EngineConfig {
  unsigned node_id = 0;
  std::size_t max_msg_bytes = 64 * 1024;
  std::size_t max_attrs_bytes = 4 * 1024;
  int login_fail_limit = 10;
  std::int64_t login_fail_window_ms = 60'000;
  // How long a killed/kicked session keeps its final event for a poll to read.
  std::int64_t ended_session_grace_ms = 60'000;
  // Live authorized sessions one user may have (mode multi); past it authorize is
  // RateLimited. Bounds what one credential can make the server hold.
  std::size_t max_sessions_per_user = 64;
  // Topics one session may subscribe to; past it subscribe is RateLimited.
  std::size_t max_subscriptions_per_session = 1024;
  // Sessions never authorized (docs/semantics.md "Limits"): each expires this long after
  // session.create; past either cap session.create is RateLimited.
  std::int64_t unauthorized_session_ttl_ms = 30'000;
  std::size_t max_unauthorized_sessions_per_address = 1000;
  std::size_t max_unauthorized_sessions = 100'000;
  // Token buckets, off unless set: per client address for session.create,
  // session.authorize and channel.poll; per user for client sends (files included).
  RateLimit rate_session_create;
  RateLimit rate_session_authorize;
  RateLimit rate_channel_poll;
  RateLimit rate_send;
  // Channels (API.md section 7): messages kept per channel while nobody takes them, and how
  // long a channel stays connected without a poll.
  std::size_t channel_queue_limit = 1000;
  std::int64_t channel_timeout_ms = 15'000;
  // Events kept in the server event stream (API.md section 8).
  std::size_t server_events_limit = 10'000;
  // Files (API.md section 5): where clients reach rtmd (the upload endpoint and download
  // links are absolute URLs under it), how long an upload token and a download link last.
  std::string public_url = "http://127.0.0.1:8080";
  std::int64_t upload_token_ttl_ms = 10 * 60'000;
  std::int64_t file_link_ttl_s = 7 * 24 * 3600;
  std::int64_t file_retention_s = 0;  // files older than this are forgotten; 0: never
  PasswordPolicy password_policy;
  // Unix time in ms; tests replace it to drive expiry without sleeping.
  std::function<std::int64_t()> now_ms;
};

enum class LoginMode { Kill, Refuse, Possess, Auth, Multi };

struct Credentials {
  std::string login;
  std::string password;
  std::string token;  // a user token (JWT) instead of login + password
};

struct AuthorizeResult {
  Uid uid = 0;
  std::string session;  // the session now bound (possess: the existing one)
};

struct BanOutcome {
  std::int64_t until_ms = Ban::kForever;
  int sessions_ended = 0;  // a project-wide block ends the user's sessions
};

struct SendRequest {
  Uid from = 0;
  MessageKind kind = MessageKind::P2p;
  Uid to = 0;
  std::vector<Uid> to_uids;
  Gid gid = 0;
  Rid rid = 0;
  int mtype = 30;
  std::string msg;
  std::string attrs;
  std::optional<Mid> mid;     // the sender's own id, for idempotent retries
  bool as_server = false;     // server API: no membership checks, from may be 0
  bool file_message = false;  // only the file flow may use mtype 40-50
};

// What an upload token allows: one file sent as `request` (kind, targets, from, as_server;
// checked when the token was made), until expires_ms.
struct UploadGrant {
  SendRequest request;
  std::int64_t expires_ms = 0;
};

struct SendAck {
  Mid mid = 0;
  std::int64_t mtime = 0;
};

// The limits whose refusals are counted (rtm_rate_limited_total{limit=...}); each is named
// by its setting (rate_limit_name).
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

struct EngineStats {
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
};

// A checked channel token: whose channel, valid until when.
struct ChannelToken {
  std::string client_id;
  std::int64_t expires_ms = 0;
};

// What a channel poll answers at once: the messages, or nullopt when it waits.
struct ChannelPoll {
  std::string client_id;
  std::optional<std::vector<std::string>> messages;
};

class Engine {
 public:
  Engine(Store& store, Broker& broker, EngineConfig config);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Loads (or creates) the token secret and connects to the broker.
  Status start();
  std::int64_t now_ms() const { return config_.now_ms(); }
  const EngineConfig& config() const { return config_; }

  // --- sessions (API.md section 3) -------------------------------------------------------
  // A new unauthorized session made for a client at `address` (empty: no address, held by
  // the total cap only). RateLimited (with retry_after) past rate_session_create or a cap on
  // unauthorized sessions.
  Result<std::string> create_session(const std::string& address = {});
  // The per-address rate limit of session.authorize or channel.poll (kind SessionAuthorize /
  // ChannelPoll): RateLimited with retry_after past it. Checked before the call's work, so a
  // flood of logins never reaches the blocking pool. No limit for an empty address.
  Status check_call_rate(RateLimitKind kind, const std::string& address);
  // The live session with this id, touched. InvalidSession if unknown or ended.
  Result<std::shared_ptr<Session>> live_session(const std::string& id);
  // The uid of a live authorized session. InvalidSession / NotAuthorized.
  Result<Uid> authorized_uid(const std::string& id);
  // Blocking (argon2id for a password login).
  Result<AuthorizeResult> authorize(const std::string& session_id, const Credentials& credentials,
                                    LoginMode mode);
  Status destroy_session(const std::string& id);
  Result<SessionSettings> update_settings(const std::string& id, const SettingsPatch& patch);

  // Takes queued events (a killed session's final event included). InvalidSession if there
  // is nothing more for this id.
  Result<EventBatch> take_events(const std::string& id, std::optional<std::uint64_t> after);
  // Takes events if there are any; otherwise registers `waiter` and returns nullopt with
  // `ticket` set. The waiter is called once, from another thread, when an event arrives,
  // the session ends, or shutdown() runs.
  Result<std::optional<EventBatch>> take_or_wait(const std::string& id,
                                                 std::optional<std::uint64_t> after,
                                                 Session::Waiter waiter, std::uint64_t& ticket);
  void cancel_wait(const std::string& id, std::uint64_t ticket);
  // A batch (from, last] taken for an answer that could not be delivered: Session::rewind.
  void rewind_events(const std::string& id, std::uint64_t from, std::uint64_t last);

  Result<std::string> subscribe(const std::string& id, const std::string& topic);
  // Never an error for an unknown key (qik unsubscribe); InvalidSession for a bad session.
  Status unsubscribe(const std::string& id, const std::string& key);

  // --- messages (section 4) ------------------------------------------------------------
  using SendCallback = std::function<void(Result<SendAck>)>;
  // Validates, stores durably, then fans out; `done` runs on a store thread (or at once on
  // a validation error).
  void send(SendRequest request, SendCallback done);
  // viewer: the client's uid (membership is checked), nullopt for the server API.
  Result<std::vector<Message>> history(const HistoryQuery& query, std::optional<Uid> viewer);
  std::vector<Uid> online(const std::vector<Uid>& uids) const;

  // --- server API: users, groups, rooms --------------------------------------------------
  Result<Uid> add_user(const std::string& login, const std::string& password, Uid uid);  // blocking
  Status set_password(Uid uid, const std::string& password);                             // blocking
  Status delete_user(Uid uid);
  Result<std::string> user_token(Uid uid, std::int64_t ttl_s);
  // Ends every session of uid with a final `session` event, state "kicked". Returns how many.
  Result<int> kickout(Uid uid);
  Status add_group_members(Gid gid, const std::vector<Uid>& uids);
  Status del_group_members(Gid gid, const std::vector<Uid>& uids);
  Result<std::vector<Uid>> group_members(Gid gid);
  Status delete_group(Gid gid);
  Result<std::vector<Gid>> user_groups(Uid uid);
  Status add_room_member(Rid rid, Uid uid);
  Status del_room_member(Rid rid, Uid uid);
  Result<std::vector<Uid>> room_members(Rid rid);

  // --- moderation (docs/semantics.md "Moderation") ---------------------------------------
  // Bans uid from a group or a room (scope Group / Room, target gid / rid), or blocks it
  // from the whole project (Project, target 0), for duration_s seconds (nullopt: until
  // lifted). The ban is stored first, then applied: a group ban drops the user's sessions'
  // subscriptions to the group; a room ban takes the user out of the room (`left`); a block
  // ends every session of the user ("kicked"). Banning again replaces the end.
  Result<BanOutcome> ban(BanScope scope, std::uint64_t target, Uid uid,
                         std::optional<std::int64_t> duration_s);
  // Lifts a ban; answers whether one was in force.
  Result<bool> unban(BanScope scope, std::uint64_t target, Uid uid);
  // The bans in force for (scope, target), by uid.
  std::vector<Ban> bans(BanScope scope, std::uint64_t target);

  // --- channels (section 7) -------------------------------------------------------------
  // A channel token (HS256 JWT: typ "channel", sub = client_id, iat, exp) valid for
  // duration_s seconds; opens the channel, or extends it to the new token's expiry.
  Result<std::string> create_channel(const std::string& client_id, std::int64_t duration_s);
  // InvalidToken (malformed, wrong signature, not a channel token) or TokenExpired.
  Result<ChannelToken> check_channel_token(std::string_view token);
  // NotFound for a client_id without a live channel; PayloadTooLarge past max_msg_bytes.
  Status channel_send(const std::string& client_id, std::string message);
  Result<ChannelInfo> channel_info(const std::string& client_id);
  Result<std::size_t> channel_clear(const std::string& client_id);
  // channel.poll: checks the token, connects the channel and takes its messages; with a
  // waiter and nothing queued, registers it (called once, from another thread, on the next
  // send, expiry or shutdown) and answers nullopt messages with `ticket` set.
  Result<ChannelPoll> channel_poll(std::string_view token, ChannelRegistry::Waiter waiter,
                                   std::uint64_t& ticket);
  // After a waiting poll ends: drop its waiter, then take what arrived.
  void channel_cancel_wait(const std::string& client_id, std::uint64_t ticket);
  std::vector<std::string> channel_take(const std::string& client_id);
  // Messages taken but not delivered go back to the front of the channel's queue.
  void channel_give_back(const std::string& client_id, std::vector<std::string> messages);
  // A socket on a channel (GET /v1/channel?token=T): attach checks the token and connects;
  // the last detach disconnects. The socket takes messages as a poll does: channel_poll with
  // its token (so an expired token ends it with TokenExpired) and a waiter, then
  // channel_cancel_wait + channel_take when woken. A channel has one waiter: a socket's wait
  // and an HTTP poll's wait replace (and wake) each other. Cancel the wait before detaching:
  // a waiter still registered counts as a poll in progress and keeps the channel connected.
  Result<ChannelToken> channel_attach(std::string_view token);
  void channel_detach(const std::string& client_id);

  // --- server event stream (section 8) ---------------------------------------------------
  EventBatch take_server_events(std::optional<std::uint64_t> after);
  // Like take_server_events; when there is nothing, registers waiter (called once, on the
  // next event or shutdown) and answers nullopt with ticket set.
  std::optional<EventBatch> take_or_wait_server_events(std::optional<std::uint64_t> after,
                                                       ServerEventStream::Waiter waiter,
                                                       std::uint64_t& ticket);
  void cancel_server_events_wait(std::uint64_t ticket);

  // --- files (API.md section 5; docs/semantics.md "Files") -------------------------------
  // An upload token for one file sent the way `request` describes (kind, targets, from,
  // as_server), checked now as the send itself would be (a non-member cannot get a group
  // file token). Valid for one upload within upload_token_ttl_ms.
  Result<std::string> file_token(SendRequest request);
  std::string upload_endpoint() const { return config_.public_url + "/v1/files/upload"; }
  // Takes the grant of an upload token; a token works once. InvalidToken / TokenExpired.
  Result<UploadGrant> take_upload(std::string_view token);
  // After the bytes are stored (blocking: writes the file's record): sends the file's
  // message with msg = the file's JSON description. `done` gets the ack and that JSON.
  struct FileSendAck {
    Mid mid = 0;
    std::int64_t mtime = 0;
    std::string file_json;
  };
  using FileSendCallback = std::function<void(Result<FileSendAck>)>;
  void send_file(const UploadGrant& grant, FileRecord file, int mtype, std::string attrs,
                 FileSendCallback done);
  // A fresh download link for a file the viewer sent or received (PermissionDenied
  // otherwise, NotFound for an unknown id). Blocking (store reads).
  Result<std::string> file_url(std::optional<Uid> viewer, const std::string& id);
  // Retention (blocking): forgets files older than max_age_s, so their links and file.url
  // answer NotFound; answers how many. The blobs they leave unused are the blob store's to
  // collect (files/file_retention.hpp).
  Result<std::size_t> expire_files(std::int64_t max_age_s);
  Result<std::vector<std::string>> blobs_in_use() { return store_.blobs_in_use(); }
  Result<std::vector<FileRecord>> list_files(std::int64_t before_ms, std::size_t limit) {
    return store_.list_files(before_ms, limit);
  }
  // A download request: the link's signature and expiry, then the file's record.
  Result<FileRecord> file_for_download(const std::string& id, std::string_view exp,
                                       std::string_view sig);

  // Webhooks (webhooks/webhook_sender.hpp): every server event is handed to `listener` as it
  // is recorded. Set once, before events flow.
  void set_server_event_listener(ServerEventStream::Listener listener) {
    server_events_.set_listener(std::move(listener));
  }
  Result<std::vector<OutboxEntry>> webhook_dead_letters(std::size_t limit) {
    return store_.outbox_dead(limit);
  }

  // What the server event stream copies (server/listen). set_listen replaces the selection
  // and answers it.
  ListenSelection listen_selection() const;
  ListenSelection set_listen(ListenSelection selection);

  // --- upkeep --------------------------------------------------------------------------
  // Expires idle sessions and forgets ended ones whose final event was read or is stale;
  // disconnects channels not polled for channel_timeout and forgets expired ones.
  void sweep();
  // Wakes every waiting poll so it answers with what it has; new waits return at once.
  void shutdown();
  bool shutting_down() const { return shutting_down_.load(); }
  EngineStats stats() const;

 private:
  Status user_must_exist(Uid uid);
  // PermissionDenied (with the ban's end) when uid is banned from (scope, target) now.
  Status must_not_be_banned(BanScope scope, std::uint64_t target, Uid uid);
  Result<Uid> check_credentials(const Credentials& credentials);
  void bind(const std::shared_ptr<Session>& session, Uid uid);
  void end_session(const std::shared_ptr<Session>& session, const char* state);
  // Makes uid a member of rid (and tells the room) unless it is one; the store's error
  // otherwise, and nothing changed.
  Status enter_room(Uid uid, Rid rid);
  void leave_room_if_last(Uid uid, Rid rid);
  void drop_topic(const std::shared_ptr<Session>& session, const std::string& topic);
  Status validate_send(const SendRequest& r);
  // send() of a checked request; with `file`, the file's record is stored with the message
  // (Store::append_file_message).
  void store_and_deliver(SendRequest r, std::optional<FileRecord> file, SendCallback done);
  // The per-user send rate (rate_send): every client send takes a token, a file when its
  // upload token is made. Server sends are not limited.
  Status check_send_rate(const SendRequest& r);
  // Gives back the session's place among the unauthorized ones, if it still holds one.
  void release_unauthorized_place(Session& session);
  void count_refusal(RateLimitKind kind) {
    rate_limited_[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
  }
  void fan_out(const Message& m, const EventBody& body);
  void publish(std::string target, EventBody body);
  void on_publication(const Publication& p);
  // Server events (section 8): user.online / user.offline, channel.(dis)connected.
  void record_user_presence(Uid uid, const char* type);
  void record_channel_presence(const std::string& client_id, bool connected, std::int64_t now);
  // A copy of a stored message in the server event stream, when listen_ selects it.
  void record_message_copy(const Message& targets, const EventBody& body, std::int64_t mtime);
  bool records(std::string_view event_type) const;
  std::string signed_file_url(const std::string& id) const;
  std::string file_json(const FileRecord& f) const;

  Store& store_;
  Broker& broker_;
  EngineConfig config_;
  std::string token_secret_;
  MidGenerator mids_;
  SessionRegistry sessions_;
  TopicIndex topics_;
  LoginThrottle throttle_;
  UnauthorizedSessions unauthorized_;
  TokenBuckets create_rate_;     // per address
  TokenBuckets authorize_rate_;  // per address
  TokenBuckets poll_rate_;       // per address
  TokenBuckets send_rate_;       // per uid
  std::array<std::atomic<std::uint64_t>, kRateLimitKinds> rate_limited_{};
  std::mutex login_mu_;  // serializes the check-then-bind of the login modes
  ServerEventStream server_events_;
  ChannelRegistry channels_;  // its presence hook records into server_events_
  BanList bans_;              // the stored bans, for the checks on the send path
  std::mutex uploads_mu_;     // guards uploads_; a leaf lock
  std::unordered_map<std::string, UploadGrant> uploads_;  // upload token -> what it allows
  mutable std::mutex listen_mu_;  // guards listen_; a leaf lock (docs/lock-order.md)
  ListenSelection listen_;

  mutable std::mutex known_users_mu_;
  std::unordered_set<Uid> known_users_;  // uids seen to exist: saves a store read per send

  std::atomic<bool> shutting_down_{false};
  std::atomic<std::uint64_t> messages_sent_{0};
  std::atomic<std::uint64_t> events_delivered_{0};
  std::atomic<std::uint64_t> store_appends_{0};
  std::atomic<std::uint64_t> store_append_us_total_{0};
  std::atomic<std::uint64_t> store_append_us_max_{0};
};

// Parses "kill" | "refuse" | "possess" | "auth" | "multi".
std::optional<LoginMode> parse_login_mode(std::string_view text);

}  // namespace rtm
