// Store: the durable state of rtm behind one small interface, so that the embedded SQLite
// engine and PostgreSQL (many nodes) plug in the same way (centrifuge's Broker/PresenceManager
// model). The core never includes a driver header; engines live in src/store/<engine>/.
//
// Guarantees every engine gives (the contract test suite checks them against each one):
//  - append_message() calls its callback only after the message is durable (it survives
//    kill -9 of the process). Engines may batch many appends into one commit (group commit).
//  - (from, client_mid) is unique where client_mid is given: appending an existing pair
//    stores nothing and answers the first message's mid and mtime with duplicate = true.
//    The mid itself comes from the engine's generator and is stored as given.
//  - Ids (uid, gid, rid, mid) are positive and at most INT64_MAX: engines keep them as signed
//    64-bit integers. The api/ layer refuses larger ones (InvalidParameter).
//  - Removing members or groups that do not exist is not an error.
//  - A store is never destroyed from inside one of its own callbacks. After close(), an
//    append's callback runs at once on the caller's thread with Unavailable.
//  - Every method is safe to call from any thread. Synchronous methods may block briefly on
//    local I/O; a store that cannot be reached answers Rc::Unavailable, never half-writes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/ban_list.hpp"
#include "core/file_record.hpp"
#include "core/message.hpp"
#include "core/result.hpp"

namespace rtm {

struct UserRecord {
  Uid uid = 0;
  std::string login;
  std::string password_hash;  // argon2id encoded string (libsodium crypto_pwhash_str)
};

struct AppendOutcome {
  Mid mid = 0;
  std::int64_t mtime = 0;
  bool duplicate = false;  // (from, client_mid) was stored before; nothing new was written
};

struct HistoryQuery {
  enum class Scope { P2p, Group, Room } scope = Scope::P2p;
  Uid uid = 0;   // P2p: one side of the conversation
  Uid with = 0;  // P2p: the other side
  Gid gid = 0;
  Rid rid = 0;
  std::optional<Mid> before_mid;  // only messages with mid < before_mid
  int limit = 100;
};

// One event waiting in the webhook outbox (webhooks/webhook_sender.hpp).
struct OutboxEntry {
  std::uint64_t id = 0;  // also the event id a receiver sees (X-Rtm-Event-Id)
  std::string url;
  std::string body;  // the server event's JSON after its id: `"type":...}`
  int attempts = 0;
  std::int64_t next_at_ms = 0;
  bool dead = false;
  std::string last_error;
  std::int64_t created_ms = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // --- users ---------------------------------------------------------------------------
  // uid == 0: the store assigns the next free uid. AlreadyExists if login or uid is taken.
  virtual Result<Uid> add_user(const std::string& login, const std::string& password_hash,
                               Uid uid) = 0;
  virtual Result<UserRecord> find_user(Uid uid) = 0;                            // NotFound
  virtual Result<UserRecord> find_user_by_login(const std::string& login) = 0;  // NotFound
  virtual Status set_password(Uid uid, const std::string& password_hash) = 0;   // NotFound
  // Removes the user, its group and room memberships. NotFound if unknown.
  virtual Status delete_user(Uid uid) = 0;

  // --- groups (a group exists while it has members) --------------------------------------
  virtual Status add_group_members(Gid gid, const std::vector<Uid>& uids) = 0;
  virtual Status del_group_members(Gid gid, const std::vector<Uid>& uids) = 0;
  virtual Result<std::vector<Uid>> group_members(Gid gid) = 0;  // ascending
  virtual Result<bool> is_group_member(Gid gid, Uid uid) = 0;
  virtual Status delete_group(Gid gid) = 0;
  virtual Result<std::vector<Gid>> user_groups(Uid uid) = 0;  // ascending

  // --- rooms -------------------------------------------------------------------------
  virtual Status add_room_member(Rid rid, Uid uid) = 0;
  virtual Status del_room_member(Rid rid, Uid uid) = 0;
  virtual Result<std::vector<Uid>> room_members(Rid rid) = 0;  // ascending
  virtual Result<bool> is_room_member(Rid rid, Uid uid) = 0;

  // --- messages ------------------------------------------------------------------------
  using AppendCallback = std::function<void(Result<AppendOutcome>)>;
  // Durable append; see the guarantees above. The callback runs on a store thread.
  virtual void append_message(Message message, AppendCallback done) = 0;
  // append_message() of the message that announces an upload, with the file's record in the
  // same transaction: both are stored or neither, so a failed upload leaves no record.
  virtual void append_file_message(Message message, FileRecord file, AppendCallback done) = 0;
  // Newest first.
  virtual Result<std::vector<Message>> history(const HistoryQuery& query) = 0;

  // --- moderation (core/ban_list.hpp) ---------------------------------------------------
  // Adds or replaces the ban of (scope, target, uid).
  virtual Status put_ban(const Ban& ban) = 0;
  // Not an error when there is none.
  virtual Status delete_ban(BanScope scope, std::uint64_t target, Uid uid) = 0;
  // Every stored ban; expired ones may be among them (the engine skips them).
  virtual Result<std::vector<Ban>> bans() = 0;

  // --- files (core/file_record.hpp; stored by append_file_message) ----------------------
  virtual Result<FileRecord> find_file(const std::string& id) = 0;  // NotFound
  // Newest first, at most `limit`, created before `before_ms` (exclusive).
  virtual Result<std::vector<FileRecord>> list_files(std::int64_t before_ms, std::size_t limit) = 0;
  // Forgets the files created before `before_ms`; answers how many.
  virtual Result<std::size_t> delete_files_before(std::int64_t before_ms) = 0;
  // The SHA-256 of every blob a file still refers to.
  virtual Result<std::vector<std::string>> blobs_in_use() = 0;

  // --- webhook outbox: events kept until their receiver took them (at-least-once) --------
  virtual Result<std::uint64_t> outbox_add(const std::string& url, const std::string& body,
                                           std::int64_t now_ms) = 0;
  // Live entries whose next attempt is due, oldest first.
  virtual Result<std::vector<OutboxEntry>> outbox_due(std::int64_t now_ms, std::size_t limit) = 0;
  virtual Status outbox_delivered(std::uint64_t id) = 0;  // removes it
  virtual Status outbox_failed(std::uint64_t id, int attempts, std::int64_t next_at_ms, bool dead,
                               const std::string& error) = 0;
  // Dead letters (entries that used up their attempts), newest first.
  virtual Result<std::vector<OutboxEntry>> outbox_dead(std::size_t limit) = 0;
  // How many dead letters there are, without reading them.
  virtual Result<std::uint64_t> outbox_dead_count() = 0;

  // --- meta (server secrets and settings shared by all nodes) ---------------------------
  // Returns the value under key; if there is none, stores `fallback` and returns it
  // (atomically: two nodes starting together agree on one value).
  virtual Result<std::string> get_or_init_meta(const std::string& key,
                                               const std::string& fallback) = 0;

  // Waits until every append accepted so far is durable and its callback has run; the store
  // accepts no more appends afterwards (Unavailable). Called once at shutdown.
  virtual void close() = 0;
};

}  // namespace rtm
