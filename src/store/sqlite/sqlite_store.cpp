// The SQLite store: users, groups, rooms, meta and message history as SQL on a pool of
// connections, and appends handed to the group-commit writer (see sqlite_store.hpp).
#include "store/sqlite/sqlite_store.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_append_writer.hpp"
#include "store/sqlite/sqlite_db.hpp"
#include "store/sqlite/sqlite_error_log.hpp"
#include "store/sqlite/sqlite_schema.hpp"

namespace rtm {
namespace {

using sqlite::Db;
using sqlite::from_db;
using sqlite::Query;
using sqlite::storable;
using sqlite::to_db;
using sqlite::Transaction;

Error id_too_large() {
  return Error{Rc::InvalidParameter, "ids above 9223372036854775807 cannot be stored"};
}

bool all_storable(const std::vector<Uid>& ids) {
  return std::all_of(ids.begin(), ids.end(), storable);
}

// Runs a query that answers one column of ids, in the order the SQL gives them.
Result<std::vector<std::uint64_t>> read_ids(Query& q) {
  std::vector<std::uint64_t> ids;
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) return ids;
    ids.push_back(from_db(q.column_int64(0)));
  }
}

// Whether the query answers any row.
Result<bool> exists(Query& q) { return q.step(); }

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, Db::Options options, std::unique_ptr<Db> first,
              std::unique_ptr<sqlite::AppendWriter> writer)
      : path_(std::move(path)), options_(options), writer_(std::move(writer)) {
    idle_.push_back(std::move(first));
  }

  ~SqliteStore() override { writer_.reset(); }  // drains and joins before the pool goes

  Result<Uid> add_user(const std::string& login, const std::string& password_hash,
                       Uid uid) override;
  Result<UserRecord> find_user(Uid uid) override;
  Result<UserRecord> find_user_by_login(const std::string& login) override;
  Status set_password(Uid uid, const std::string& password_hash) override;
  Status delete_user(Uid uid) override;

  Status add_group_members(Gid gid, const std::vector<Uid>& uids) override;
  Status del_group_members(Gid gid, const std::vector<Uid>& uids) override;
  Result<std::vector<Uid>> group_members(Gid gid) override;
  Result<bool> is_group_member(Gid gid, Uid uid) override;
  Status delete_group(Gid gid) override;
  Result<std::vector<Gid>> user_groups(Uid uid) override;

  Status add_room_member(Rid rid, Uid uid) override;
  Status del_room_member(Rid rid, Uid uid) override;
  Result<std::vector<Uid>> room_members(Rid rid) override;
  Result<bool> is_room_member(Rid rid, Uid uid) override;
  Status put_ban(const Ban& ban) override;
  Status delete_ban(BanScope scope, std::uint64_t target, Uid uid) override;
  Result<std::vector<Ban>> bans() override;
  Result<FileRecord> find_file(const std::string& id) override;
  Result<std::vector<FileRecord>> list_files(std::int64_t before_ms, std::size_t limit) override;
  Result<std::size_t> delete_files_before(std::int64_t before_ms) override;
  Result<std::vector<std::string>> blobs_in_use() override;
  Result<std::uint64_t> outbox_add(const std::string& url, const std::string& body,
                                   std::int64_t now_ms) override;
  Result<std::vector<OutboxEntry>> outbox_due(std::int64_t now_ms, std::size_t limit) override;
  Status outbox_delivered(std::uint64_t id) override;
  Status outbox_failed(std::uint64_t id, int attempts, std::int64_t next_at_ms, bool dead,
                       const std::string& error) override;
  Result<std::vector<OutboxEntry>> outbox_dead(std::size_t limit) override;
  Result<std::uint64_t> outbox_dead_count() override;

  void append_message(Message message, AppendCallback done) override;
  void append_file_message(Message message, FileRecord file, AppendCallback done) override;
  Result<std::vector<Message>> history(const HistoryQuery& query) override;

  Result<std::string> get_or_init_meta(const std::string& key,
                                       const std::string& fallback) override;

  void close() override { writer_->close(); }

 private:
  // Idle connections kept for reuse; more than this many at once are opened for the burst
  // and closed after it.
  static constexpr std::size_t kMaxIdle = 16;

  // A connection on loan to one call, given back to the pool when the call ends. One per call
  // rather than one shared: WAL lets readers on separate connections run in parallel.
  class Conn {
   public:
    Conn(SqliteStore* store, std::unique_ptr<Db> db) : store_(store), db_(std::move(db)) {}
    Conn(Conn&& other) noexcept = default;
    Conn& operator=(Conn&&) = delete;
    ~Conn() {
      if (db_) store_->give_back(std::move(db_));
    }
    Db& operator*() { return *db_; }

   private:
    SqliteStore* store_;
    std::unique_ptr<Db> db_;
  };

  Result<Conn> take_connection();
  void give_back(std::unique_ptr<Db> db);

  // Runs body(Db&) on a pooled connection; whatever escapes as an exception becomes Internal,
  // since no exception may leave the Store interface. A failure of the store itself is
  // logged as `store.error` with `op`, the Store method (sqlite_error_log.hpp).
  template <class F>
  auto with_connection(std::string_view op, F&& body) -> decltype(body(std::declval<Db&>()));
  // Runs body(Db&) inside BEGIN IMMEDIATE ... COMMIT; an error from body rolls back, so a
  // failed call leaves nothing of itself behind.
  template <class F>
  auto in_write_transaction(std::string_view op, F&& body) -> decltype(body(std::declval<Db&>()));

  const std::string path_;
  const Db::Options options_;

  std::mutex pool_mu_;  // guards idle_
  std::vector<std::unique_ptr<Db>> idle_;

  // Serializes this process's synchronous write transactions, so that they queue here instead
  // of in SQLite's busy handler, which polls with sleeps of up to 100 ms. They still contend
  // with the writer thread and other processes through the busy timeout.
  std::mutex write_mu_;

  std::unique_ptr<sqlite::AppendWriter> writer_;
};

Result<SqliteStore::Conn> SqliteStore::take_connection() {
  {
    std::lock_guard lock(pool_mu_);
    if (!idle_.empty()) {
      std::unique_ptr<Db> db = std::move(idle_.back());
      idle_.pop_back();
      return Conn(this, std::move(db));
    }
  }
  auto db = Db::open(path_, options_);  // outside the lock: opening touches the file
  if (!db) return db.error();
  return Conn(this, std::move(*db));
}

void SqliteStore::give_back(std::unique_ptr<Db> db) {
  std::lock_guard lock(pool_mu_);
  if (idle_.size() < kMaxIdle) idle_.push_back(std::move(db));
}

template <class F>
auto SqliteStore::with_connection(std::string_view op, F&& body)
    -> decltype(body(std::declval<Db&>())) {
  using R = decltype(body(std::declval<Db&>()));
  R result = [&]() -> R {
    try {
      auto conn = take_connection();
      if (!conn) return conn.error();
      return body(**conn);
    } catch (const std::exception& e) {
      return Error{Rc::Internal, std::string("sqlite store: ") + e.what()};
    }
  }();
  if (!result) sqlite::log_store_error(op, result.error());
  return result;
}

template <class F>
auto SqliteStore::in_write_transaction(std::string_view op, F&& body)
    -> decltype(body(std::declval<Db&>())) {
  return with_connection(op, [&](Db& db) -> decltype(body(db)) {
    std::lock_guard lock(write_mu_);
    Transaction tx(db);
    if (auto s = tx.begin(); !s) return s.error();
    auto result = body(db);
    if (!result) return result;  // ~Transaction rolls back
    if (auto s = tx.commit(); !s) return s.error();
    return result;
  });
}

// --- users -----------------------------------------------------------------------------------

Result<Uid> SqliteStore::add_user(const std::string& login, const std::string& password_hash,
                                  Uid uid) {
  if (!storable(uid)) return id_too_large();
  return in_write_transaction("add_user", [&](Db& db) -> Result<Uid> {
    {
      auto q = db.prepare("SELECT 1 FROM users WHERE login = ?");
      if (!q) return q.error();
      q->bind(1, login);
      auto taken = exists(*q);
      if (!taken) return taken.error();
      if (*taken) return Error{Rc::AlreadyExists, "login already taken"};
    }
    Uid assigned = uid;
    if (uid != 0) {
      auto q = db.prepare("SELECT 1 FROM users WHERE uid = ?");
      if (!q) return q.error();
      q->bind(1, to_db(uid));
      auto taken = exists(*q);
      if (!taken) return taken.error();
      if (*taken) return Error{Rc::AlreadyExists, "uid " + std::to_string(uid) + " already taken"};
    } else {
      auto q = db.prepare("SELECT MAX(uid) FROM users");  // NULL (read as 0) when empty
      if (!q) return q.error();
      auto row = q->step();
      if (!row) return row.error();
      Uid highest = *row ? from_db(q->column_int64(0)) : 0;
      if (highest >= sqlite::kMaxStoredId)
        return Error{Rc::Unavailable, "no uid above the highest one is left to assign"};
      assigned = highest + 1;
    }
    auto insert = db.prepare("INSERT INTO users (uid, login, password_hash) VALUES (?, ?, ?)");
    if (!insert) return insert.error();
    insert->bind(1, to_db(assigned)).bind(2, login).bind(3, password_hash);
    if (auto s = insert->run(); !s) return s.error();
    return assigned;
  });
}

namespace {

Result<UserRecord> read_user(Query& q) {
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return Error{Rc::NotFound, "user not found"};
  return UserRecord{from_db(q.column_int64(0)), q.column_text(1), q.column_text(2)};
}

}  // namespace

Result<UserRecord> SqliteStore::find_user(Uid uid) {
  if (!storable(uid)) return Error{Rc::NotFound, "user not found"};
  return with_connection("find_user", [&](Db& db) -> Result<UserRecord> {
    auto q = db.prepare("SELECT uid, login, password_hash FROM users WHERE uid = ?");
    if (!q) return q.error();
    q->bind(1, to_db(uid));
    return read_user(*q);
  });
}

Result<UserRecord> SqliteStore::find_user_by_login(const std::string& login) {
  return with_connection("find_user_by_login", [&](Db& db) -> Result<UserRecord> {
    auto q = db.prepare("SELECT uid, login, password_hash FROM users WHERE login = ?");
    if (!q) return q.error();
    q->bind(1, login);
    return read_user(*q);
  });
}

Status SqliteStore::set_password(Uid uid, const std::string& password_hash) {
  if (!storable(uid)) return Error{Rc::NotFound, "user not found"};
  return in_write_transaction("set_password", [&](Db& db) -> Status {
    auto q = db.prepare("UPDATE users SET password_hash = ? WHERE uid = ?");
    if (!q) return q.error();
    q->bind(1, password_hash).bind(2, to_db(uid));
    if (auto s = q->run(); !s) return s;
    if (q->changes() == 0) return Error{Rc::NotFound, "user not found"};
    return ok_status();
  });
}

Status SqliteStore::delete_user(Uid uid) {
  if (!storable(uid)) return Error{Rc::NotFound, "user not found"};
  return in_write_transaction("delete_user", [&](Db& db) -> Status {
    {
      auto q = db.prepare("DELETE FROM users WHERE uid = ?");
      if (!q) return q.error();
      q->bind(1, to_db(uid));
      if (auto s = q->run(); !s) return s;
      if (q->changes() == 0) return Error{Rc::NotFound, "user not found"};
    }
    for (const char* sql :
         {"DELETE FROM group_members WHERE uid = ?", "DELETE FROM room_members WHERE uid = ?"}) {
      auto q = db.prepare(sql);
      if (!q) return q.error();
      q->bind(1, to_db(uid));
      if (auto s = q->run(); !s) return s;
    }
    return ok_status();
  });
}

// --- groups and rooms --------------------------------------------------------------------------

namespace {

// Runs `sql` with (key, uid) for every uid, in the caller's transaction.
Status run_for_each(Db& db, const char* sql, std::uint64_t key, const std::vector<Uid>& uids) {
  for (Uid u : uids) {
    auto q = db.prepare(sql);
    if (!q) return q.error();
    q->bind(1, to_db(key)).bind(2, to_db(u));
    if (auto s = q->run(); !s) return s;
  }
  return ok_status();
}

}  // namespace

Status SqliteStore::add_group_members(Gid gid, const std::vector<Uid>& uids) {
  if (!storable(gid) || !all_storable(uids)) return id_too_large();
  if (uids.empty()) return ok_status();
  return in_write_transaction("add_group_members", [&](Db& db) {
    return run_for_each(db, "INSERT OR IGNORE INTO group_members (gid, uid) VALUES (?, ?)", gid,
                        uids);
  });
}

Status SqliteStore::del_group_members(Gid gid, const std::vector<Uid>& uids) {
  if (uids.empty() || !storable(gid)) return ok_status();  // nothing stored can match
  return in_write_transaction("del_group_members", [&](Db& db) {
    return run_for_each(db, "DELETE FROM group_members WHERE gid = ? AND uid = ?", gid, uids);
  });
}

Result<std::vector<Uid>> SqliteStore::group_members(Gid gid) {
  if (!storable(gid)) return std::vector<Uid>{};
  return with_connection("group_members", [&](Db& db) -> Result<std::vector<Uid>> {
    auto q = db.prepare("SELECT uid FROM group_members WHERE gid = ? ORDER BY uid");
    if (!q) return q.error();
    q->bind(1, to_db(gid));
    return read_ids(*q);
  });
}

Result<bool> SqliteStore::is_group_member(Gid gid, Uid uid) {
  if (!storable(gid) || !storable(uid)) return false;
  return with_connection("is_group_member", [&](Db& db) -> Result<bool> {
    auto q = db.prepare("SELECT 1 FROM group_members WHERE gid = ? AND uid = ?");
    if (!q) return q.error();
    q->bind(1, to_db(gid)).bind(2, to_db(uid));
    return exists(*q);
  });
}

Status SqliteStore::delete_group(Gid gid) {
  if (!storable(gid)) return ok_status();
  return in_write_transaction("delete_group", [&](Db& db) -> Status {
    auto q = db.prepare("DELETE FROM group_members WHERE gid = ?");
    if (!q) return q.error();
    q->bind(1, to_db(gid));
    return q->run();
  });
}

Result<std::vector<Gid>> SqliteStore::user_groups(Uid uid) {
  if (!storable(uid)) return std::vector<Gid>{};
  return with_connection("user_groups", [&](Db& db) -> Result<std::vector<Gid>> {
    auto q = db.prepare("SELECT gid FROM group_members WHERE uid = ? ORDER BY gid");
    if (!q) return q.error();
    q->bind(1, to_db(uid));
    return read_ids(*q);
  });
}

Status SqliteStore::add_room_member(Rid rid, Uid uid) {
  if (!storable(rid) || !storable(uid)) return id_too_large();
  return in_write_transaction("add_room_member", [&](Db& db) {
    return run_for_each(db, "INSERT OR IGNORE INTO room_members (rid, uid) VALUES (?, ?)", rid,
                        {uid});
  });
}

Status SqliteStore::del_room_member(Rid rid, Uid uid) {
  if (!storable(rid) || !storable(uid)) return ok_status();
  return in_write_transaction("del_room_member", [&](Db& db) {
    return run_for_each(db, "DELETE FROM room_members WHERE rid = ? AND uid = ?", rid, {uid});
  });
}

Result<std::vector<Uid>> SqliteStore::room_members(Rid rid) {
  if (!storable(rid)) return std::vector<Uid>{};
  return with_connection("room_members", [&](Db& db) -> Result<std::vector<Uid>> {
    auto q = db.prepare("SELECT uid FROM room_members WHERE rid = ? ORDER BY uid");
    if (!q) return q.error();
    q->bind(1, to_db(rid));
    return read_ids(*q);
  });
}

Result<bool> SqliteStore::is_room_member(Rid rid, Uid uid) {
  if (!storable(rid) || !storable(uid)) return false;
  return with_connection("is_room_member", [&](Db& db) -> Result<bool> {
    auto q = db.prepare("SELECT 1 FROM room_members WHERE rid = ? AND uid = ?");
    if (!q) return q.error();
    q->bind(1, to_db(rid)).bind(2, to_db(uid));
    return exists(*q);
  });
}

// --- moderation ------------------------------------------------------------------------------

Status SqliteStore::put_ban(const Ban& ban) {
  if (!storable(ban.target) || !storable(ban.uid)) return id_too_large();
  return in_write_transaction("put_ban", [&](Db& db) -> Status {
    auto q = db.prepare(
        "INSERT OR REPLACE INTO bans (scope, target, uid, until_ms) VALUES (?, ?, ?, ?)");
    if (!q) return q.error();
    q->bind(1, static_cast<std::int64_t>(ban.scope))
        .bind(2, to_db(ban.target))
        .bind(3, to_db(ban.uid))
        .bind(4, ban.until_ms);
    return q->run();
  });
}

Status SqliteStore::delete_ban(BanScope scope, std::uint64_t target, Uid uid) {
  if (!storable(target) || !storable(uid)) return ok_status();
  return in_write_transaction("delete_ban", [&](Db& db) -> Status {
    auto q = db.prepare("DELETE FROM bans WHERE scope = ? AND target = ? AND uid = ?");
    if (!q) return q.error();
    q->bind(1, static_cast<std::int64_t>(scope)).bind(2, to_db(target)).bind(3, to_db(uid));
    return q->run();
  });
}

Result<std::vector<Ban>> SqliteStore::bans() {
  return with_connection("bans", [&](Db& db) -> Result<std::vector<Ban>> {
    auto q = db.prepare("SELECT scope, target, uid, until_ms FROM bans");
    if (!q) return q.error();
    std::vector<Ban> out;
    for (;;) {
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) break;
      auto scope = q->column_int64(0);
      if (scope < 1 || scope > 3) continue;  // written by a newer rtmd: not ours to read
      out.push_back(Ban{static_cast<BanScope>(scope),
                        static_cast<std::uint64_t>(q->column_int64(1)),
                        static_cast<Uid>(q->column_int64(2)), q->column_int64(3)});
    }
    return out;
  });
}

// --- files -----------------------------------------------------------------------------------

namespace {

constexpr const char* kFileColumns =
    "id, sha256, name, type, size, from_uid, kind, to_uid, to_uids, gid, rid, created_ms";

FileRecord read_file_row(const sqlite::Query& q) {
  FileRecord f;
  f.id = q.column_text(0);
  f.sha256 = q.column_text(1);
  f.name = q.column_text(2);
  f.type = q.column_text(3);
  f.size = static_cast<std::uint64_t>(q.column_int64(4));
  f.from = static_cast<Uid>(q.column_int64(5));
  f.kind = static_cast<MessageKind>(q.column_int64(6));
  f.to = static_cast<Uid>(q.column_int64(7));
  std::string list = q.column_text(8);
  for (std::size_t pos = 0; pos < list.size();) {
    auto comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    f.to_uids.push_back(std::stoull(list.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  f.gid = static_cast<Gid>(q.column_int64(9));
  f.rid = static_cast<Rid>(q.column_int64(10));
  f.created_ms = q.column_int64(11);
  return f;
}

}  // namespace

Result<FileRecord> SqliteStore::find_file(const std::string& id) {
  return with_connection("find_file", [&](Db& db) -> Result<FileRecord> {
    auto q = db.prepare(std::string("SELECT ") + kFileColumns + " FROM files WHERE id = ?");
    if (!q) return q.error();
    q->bind(1, id);
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) return make_error(Rc::NotFound, "no such file");
    return read_file_row(*q);
  });
}

Result<std::vector<FileRecord>> SqliteStore::list_files(std::int64_t before_ms, std::size_t limit) {
  return with_connection("list_files", [&](Db& db) -> Result<std::vector<FileRecord>> {
    auto q = db.prepare(std::string("SELECT ") + kFileColumns +
                        " FROM files WHERE created_ms < ? ORDER BY created_ms DESC, id LIMIT ?");
    if (!q) return q.error();
    q->bind(1, before_ms).bind(2, static_cast<std::int64_t>(limit));
    std::vector<FileRecord> out;
    for (;;) {
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) break;
      out.push_back(read_file_row(*q));
    }
    return out;
  });
}

Result<std::size_t> SqliteStore::delete_files_before(std::int64_t before_ms) {
  return in_write_transaction("delete_files_before", [&](Db& db) -> Result<std::size_t> {
    auto q = db.prepare("DELETE FROM files WHERE created_ms < ?");
    if (!q) return q.error();
    q->bind(1, before_ms);
    if (auto s = q->run(); !s) return s.error();
    return static_cast<std::size_t>(q->changes());
  });
}

Result<std::vector<std::string>> SqliteStore::blobs_in_use() {
  return with_connection("blobs_in_use", [&](Db& db) -> Result<std::vector<std::string>> {
    auto q = db.prepare("SELECT DISTINCT sha256 FROM files");
    if (!q) return q.error();
    std::vector<std::string> out;
    for (;;) {
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) break;
      out.push_back(q->column_text(0));
    }
    return out;
  });
}

// --- webhook outbox --------------------------------------------------------------------------

namespace {

Result<std::vector<OutboxEntry>> read_outbox(sqlite::Query& q) {
  std::vector<OutboxEntry> out;
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) break;
    OutboxEntry e;
    e.id = static_cast<std::uint64_t>(q.column_int64(0));
    e.url = q.column_text(1);
    e.body = q.column_text(2);
    e.attempts = static_cast<int>(q.column_int64(3));
    e.next_at_ms = q.column_int64(4);
    e.dead = q.column_int64(5) != 0;
    e.last_error = q.column_text(6);
    e.created_ms = q.column_int64(7);
    out.push_back(std::move(e));
  }
  return out;
}

constexpr const char* kOutboxColumns =
    "id, url, body, attempts, next_at_ms, dead, last_error, created_ms";

}  // namespace

Result<std::uint64_t> SqliteStore::outbox_add(const std::string& url, const std::string& body,
                                              std::int64_t now_ms) {
  return in_write_transaction("outbox_add", [&](Db& db) -> Result<std::uint64_t> {
    auto q = db.prepare(
        "INSERT INTO webhook_outbox (url, body, next_at_ms, created_ms) VALUES (?, ?, ?, ?) "
        "RETURNING id");
    if (!q) return q.error();
    q->bind(1, url).bind(2, body).bind(3, now_ms).bind(4, now_ms);
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) return make_error(Rc::Unavailable, "sqlite: outbox insert returned no id");
    return static_cast<std::uint64_t>(q->column_int64(0));
  });
}

Result<std::vector<OutboxEntry>> SqliteStore::outbox_due(std::int64_t now_ms, std::size_t limit) {
  return with_connection("outbox_due", [&](Db& db) -> Result<std::vector<OutboxEntry>> {
    auto q = db.prepare(std::string("SELECT ") + kOutboxColumns +
                        " FROM webhook_outbox WHERE dead = 0 AND next_at_ms <= ? ORDER BY id "
                        "LIMIT ?");
    if (!q) return q.error();
    q->bind(1, now_ms).bind(2, static_cast<std::int64_t>(limit));
    return read_outbox(*q);
  });
}

Status SqliteStore::outbox_delivered(std::uint64_t id) {
  return in_write_transaction("outbox_delivered", [&](Db& db) -> Status {
    auto q = db.prepare("DELETE FROM webhook_outbox WHERE id = ?");
    if (!q) return q.error();
    q->bind(1, static_cast<std::int64_t>(id));
    return q->run();
  });
}

Status SqliteStore::outbox_failed(std::uint64_t id, int attempts, std::int64_t next_at_ms,
                                  bool dead, const std::string& error) {
  return in_write_transaction("outbox_failed", [&](Db& db) -> Status {
    auto q = db.prepare(
        "UPDATE webhook_outbox SET attempts = ?, next_at_ms = ?, dead = ?, last_error = ? "
        "WHERE id = ?");
    if (!q) return q.error();
    q->bind(1, static_cast<std::int64_t>(attempts))
        .bind(2, next_at_ms)
        .bind(3, static_cast<std::int64_t>(dead ? 1 : 0))
        .bind(4, error)
        .bind(5, static_cast<std::int64_t>(id));
    return q->run();
  });
}

Result<std::vector<OutboxEntry>> SqliteStore::outbox_dead(std::size_t limit) {
  return with_connection("outbox_dead", [&](Db& db) -> Result<std::vector<OutboxEntry>> {
    auto q = db.prepare(std::string("SELECT ") + kOutboxColumns +
                        " FROM webhook_outbox WHERE dead = 1 ORDER BY id DESC LIMIT ?");
    if (!q) return q.error();
    q->bind(1, static_cast<std::int64_t>(limit));
    return read_outbox(*q);
  });
}

Result<std::uint64_t> SqliteStore::outbox_dead_count() {
  return with_connection("outbox_dead_count", [&](Db& db) -> Result<std::uint64_t> {
    auto q = db.prepare("SELECT COUNT(*) FROM webhook_outbox WHERE dead = 1");
    if (!q) return q.error();
    auto row = q->step();
    if (!row) return row.error();
    return *row ? static_cast<std::uint64_t>(q->column_int64(0)) : 0;
  });
}

// --- messages --------------------------------------------------------------------------------

void SqliteStore::append_message(Message message, AppendCallback done) {
  writer_->append(std::move(message), std::move(done));
}

void SqliteStore::append_file_message(Message message, FileRecord file, AppendCallback done) {
  writer_->append(std::move(message), std::move(file), std::move(done));
}

Result<std::vector<Message>> SqliteStore::history(const HistoryQuery& query) {
  using Scope = HistoryQuery::Scope;
  std::vector<Message> none;
  if (query.limit <= 0) return none;
  // `before_mid` is exclusive; the SQL takes an inclusive bound, which also lets the query
  // without a bound run the same statement (every stored mid is at most kMaxStoredId).
  std::uint64_t highest = sqlite::kMaxStoredId;
  if (query.before_mid) {
    if (*query.before_mid == 0) return none;
    highest = std::min(*query.before_mid - 1, highest);
  }
  const std::string* sql = nullptr;
  std::vector<std::uint64_t> keys;
  switch (query.scope) {
    case Scope::P2p:
      if (!storable(query.uid) || !storable(query.with)) return none;
      sql = &sqlite::history_p2p_sql();
      keys = {std::min(query.uid, query.with), std::max(query.uid, query.with)};
      break;
    case Scope::Group:
      if (!storable(query.gid)) return none;
      sql = &sqlite::history_group_sql();
      keys = {query.gid};
      break;
    case Scope::Room:
      if (!storable(query.rid)) return none;
      sql = &sqlite::history_room_sql();
      keys = {query.rid};
      break;
  }
  if (sql == nullptr) return Error{Rc::Internal, "sqlite store: unknown history scope"};

  return with_connection("history", [&](Db& db) -> Result<std::vector<Message>> {
    auto q = db.prepare(*sql);
    if (!q) return q.error();
    int param = 1;
    for (std::uint64_t key : keys) q->bind(param++, to_db(key));
    q->bind(param++, to_db(highest));
    q->bind(param, std::int64_t{query.limit});
    std::vector<Message> out;
    out.reserve(static_cast<std::size_t>(std::min(query.limit, 256)));
    for (;;) {
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) return out;
      auto m = sqlite::read_message(*q);
      if (!m) return m.error();
      out.push_back(std::move(*m));
    }
  });
}

// --- meta ------------------------------------------------------------------------------------

Result<std::string> SqliteStore::get_or_init_meta(const std::string& key,
                                                  const std::string& fallback) {
  // Both statements in one write transaction: another process initializing the same key at
  // the same moment waits for the lock, then finds this value and keeps it.
  return in_write_transaction("get_or_init_meta", [&](Db& db) -> Result<std::string> {
    {
      auto q = db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)");
      if (!q) return q.error();
      q->bind(1, key).bind(2, fallback);
      if (auto s = q->run(); !s) return s.error();
    }
    auto q = db.prepare("SELECT value FROM meta WHERE key = ?");
    if (!q) return q.error();
    q->bind(1, key);
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) return Error{Rc::Internal, "sqlite store: meta value vanished inside a transaction"};
    return q->column_text(0);
  });
}

// Errors of opening name the file, and say Unavailable whatever SQLite's code was: a file
// that cannot be used is a store that cannot be reached.
Error open_error(const std::string& path, Error e) {
  constexpr std::string_view kPrefix = "sqlite: ";
  std::string_view why = e.msg;
  if (why.substr(0, kPrefix.size()) == kPrefix) why.remove_prefix(kPrefix.size());
  if (why.find(path) == std::string_view::npos)
    e.msg = "sqlite: cannot use '" + path + "': " + std::string(why);
  e.rc = Rc::Unavailable;
  return e;
}

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path) {
  return open_sqlite_store(path, SqliteStoreOptions{});
}

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path,
                                                 const SqliteStoreOptions& options) {
  try {
    Db::Options db_options{options.busy_timeout};
    auto first = Db::open(path, db_options);
    if (!first) return open_error(path, first.error());
    if (auto s = sqlite::create_schema(**first); !s) return open_error(path, s.error());
    auto writer = sqlite::AppendWriter::start(path, db_options, options.before_batch);
    if (!writer) return open_error(path, writer.error());
    return std::unique_ptr<Store>(
        new SqliteStore(path, db_options, std::move(*first), std::move(*writer)));
  } catch (const std::exception& e) {
    return Error{Rc::Unavailable, "sqlite: cannot use '" + path + "': " + e.what()};
  }
}

}  // namespace rtm
