// The SQLite schema of rtm and the mapping of messages onto rows (see sqlite_schema.hpp).
#include "store/sqlite/sqlite_schema.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>

namespace rtm::sqlite {
namespace {

// Kind codes as stored. They are written into the file, so they are fixed here rather than
// taken from the enum's order, which may change.
constexpr int kKindP2p = 0;
constexpr int kKindMulti = 1;
constexpr int kKindGroup = 2;
constexpr int kKindRoom = 3;
constexpr int kKindBroadcast = 4;
constexpr int kKindChannel = 5;

int kind_code(MessageKind kind) {
  switch (kind) {
    case MessageKind::P2p: return kKindP2p;
    case MessageKind::Multi: return kKindMulti;
    case MessageKind::Group: return kKindGroup;
    case MessageKind::Room: return kKindRoom;
    case MessageKind::Broadcast: return kKindBroadcast;
    case MessageKind::Channel: return kKindChannel;
  }
  return kKindP2p;
}

Result<MessageKind> kind_from_code(std::int64_t code) {
  switch (code) {
    case kKindP2p: return MessageKind::P2p;
    case kKindMulti: return MessageKind::Multi;
    case kKindGroup: return MessageKind::Group;
    case kKindRoom: return MessageKind::Room;
    case kKindBroadcast: return MessageKind::Broadcast;
    case kKindChannel: return MessageKind::Channel;
  }
  return Error{Rc::Internal, "sqlite: a stored message has unknown kind " + std::to_string(code)};
}

std::string encode_uids(const std::vector<Uid>& uids) {
  std::string out;
  for (Uid u : uids) {
    if (!out.empty()) out += ',';
    out += std::to_string(u);
  }
  return out;
}

Result<std::vector<Uid>> decode_uids(std::string_view text) {
  std::vector<Uid> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    Uid u = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), u);
    if (ec != std::errc() || end != item.data() + item.size() || item.empty())
      return Error{Rc::Internal, "sqlite: a stored message has a malformed to_uids list"};
    out.push_back(u);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// The partial history indexes hold only the rows of their kind, and SQLite uses a partial
// index only when the query repeats its WHERE term literally (a bound parameter does not
// count), so the indexes and the queries are built from the same text.
std::string kind_is(int code) { return "kind = " + std::to_string(code); }

constexpr const char* kMessageColumns =
    "mid, from_uid, kind, to_uid, to_uids, gid, rid, mtype, msg, attrs, mtime";

// Version 1 kept the sender's own mid as the message's mid, unique per sender. Version 2
// gives every message a generated mid and keeps the sender's as client_mid. The old rows keep
// their mids (they were unique per sender and nothing relies on more) and get no client_mid:
// a retry of a send from before the upgrade is stored again.
constexpr const char* kMigrateV1ToV2 = R"sql(
    ALTER TABLE messages RENAME TO messages_v1;
    DROP INDEX IF EXISTS messages_p2p;
    DROP INDEX IF EXISTS messages_group;
    DROP INDEX IF EXISTS messages_room;
    )sql";
constexpr const char* kCopyV1Rows = R"sql(
    INSERT INTO messages (rowid, mid, client_mid, from_uid, kind, to_uid, to_uids, gid, rid,
                          conv_lo, conv_hi, mtype, msg, attrs, mtime)
      SELECT rowid, mid, NULL, from_uid, kind, to_uid, to_uids, gid, rid,
             conv_lo, conv_hi, mtype, msg, attrs, mtime FROM messages_v1 ORDER BY rowid;
    DROP TABLE messages_v1;
    )sql";
// Version 3 adds the tables of the session store (sessions, session_subscriptions), the
// upload grants and the server events, which the schema below creates; nothing else changes.

std::string schema_sql() {
  return R"sql(
    CREATE TABLE IF NOT EXISTS users (
      uid INTEGER PRIMARY KEY,
      login TEXT NOT NULL UNIQUE,
      password_hash TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS group_members (
      gid INTEGER NOT NULL,
      uid INTEGER NOT NULL,
      PRIMARY KEY (gid, uid)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS group_members_by_uid ON group_members (uid, gid);
    CREATE TABLE IF NOT EXISTS room_members (
      rid INTEGER NOT NULL,
      uid INTEGER NOT NULL,
      PRIMARY KEY (rid, uid)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS room_members_by_uid ON room_members (uid, rid);
    CREATE TABLE IF NOT EXISTS files (
      id TEXT PRIMARY KEY NOT NULL,
      sha256 TEXT NOT NULL,
      name TEXT NOT NULL,
      type TEXT NOT NULL,
      size INTEGER NOT NULL,
      from_uid INTEGER NOT NULL,
      kind INTEGER NOT NULL,
      to_uid INTEGER NOT NULL,
      to_uids TEXT NOT NULL,
      gid INTEGER NOT NULL,
      rid INTEGER NOT NULL,
      created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS files_by_sha256 ON files (sha256);
    CREATE TABLE IF NOT EXISTS webhook_outbox (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      url TEXT NOT NULL,
      body TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_at_ms INTEGER NOT NULL,
      dead INTEGER NOT NULL DEFAULT 0,
      last_error TEXT NOT NULL DEFAULT '',
      created_ms INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox (dead, next_at_ms);
    CREATE TABLE IF NOT EXISTS bans (
      scope INTEGER NOT NULL,
      target INTEGER NOT NULL,
      uid INTEGER NOT NULL,
      until_ms INTEGER NOT NULL,
      PRIMARY KEY (scope, target, uid)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS messages (
      rowid INTEGER PRIMARY KEY,
      mid INTEGER NOT NULL,
      client_mid INTEGER,
      from_uid INTEGER NOT NULL,
      kind INTEGER NOT NULL,
      to_uid INTEGER NOT NULL,
      to_uids TEXT NOT NULL,
      gid INTEGER NOT NULL,
      rid INTEGER NOT NULL,
      conv_lo INTEGER,
      conv_hi INTEGER,
      mtype INTEGER NOT NULL,
      msg TEXT NOT NULL,
      attrs TEXT NOT NULL,
      mtime INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS messages_client_mid ON messages (from_uid, client_mid)
      WHERE client_mid IS NOT NULL;
    CREATE TABLE IF NOT EXISTS sessions (
      id TEXT PRIMARY KEY NOT NULL,
      uid INTEGER NOT NULL,
      created_ms INTEGER NOT NULL,
      max_events INTEGER NOT NULL,
      queue_limit INTEGER NOT NULL,
      presence INTEGER NOT NULL,
      idle_timeout INTEGER NOT NULL,
      next_key INTEGER NOT NULL,
      read_position INTEGER NOT NULL,
      kept_position INTEGER NOT NULL,
      id_limit INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS server_events (
      id INTEGER PRIMARY KEY,
      body TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS upload_grants (
      token TEXT PRIMARY KEY NOT NULL,
      grant_text TEXT NOT NULL,
      expires_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS session_subscriptions (
      session_id TEXT NOT NULL,
      key TEXT NOT NULL,
      topic TEXT NOT NULL,
      PRIMARY KEY (session_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS channels (
      client_id TEXT PRIMARY KEY NOT NULL,
      expires_ms INTEGER NOT NULL,
      connected INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS channel_messages (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      client_id TEXT NOT NULL,
      body TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS channel_messages_channel ON channel_messages (client_id, id);
    )sql"
         // No index on mid itself: the generator makes mids unique, and every index costs a
         // page write per batch on the hot path. Only sends that carry their own mid pay for
         // the idempotency index, which is partial for that reason.
         // conv_lo, conv_hi: the conversation key of a p2p message, min and max of its two
         // uids, so that both directions of a conversation lie together in one index range.
         "CREATE INDEX IF NOT EXISTS messages_p2p ON messages (conv_lo, conv_hi, mid) WHERE " +
         kind_is(kKindP2p) +
         ";\n"
         "CREATE INDEX IF NOT EXISTS messages_group ON messages (gid, mid) WHERE " +
         kind_is(kKindGroup) +
         ";\n"
         "CREATE INDEX IF NOT EXISTS messages_room ON messages (rid, mid) WHERE " +
         kind_is(kKindRoom) + ";\n";
}

std::string history_sql(int kind, const char* key_terms) {
  return std::string("SELECT ") + kMessageColumns + " FROM messages WHERE " + kind_is(kind) +
         " AND " + key_terms + " ORDER BY mid DESC LIMIT ?";
}

}  // namespace

Result<std::vector<std::uint64_t>> read_ids(Query& q) {
  std::vector<std::uint64_t> ids;
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) return ids;
    ids.push_back(from_db(q.column_int64(0)));
  }
}

Status create_schema(Db& db) {
  // WAL: readers never block the writer nor it them, and a commit is one append to the WAL.
  // The mode is stored in the file, so later connections inherit it. It cannot be changed
  // inside a transaction, hence before BEGIN.
  {
    auto q = db.prepare("PRAGMA journal_mode = WAL");
    if (!q) return q.error();
    auto row = q->step();
    if (!row) return row.error();
    std::string mode = *row ? q->column_text(0) : std::string();
    if (mode != "wal")
      return Error{Rc::Unavailable,
                   "sqlite: the database cannot use WAL mode (journal_mode is '" + mode + "')"};
  }
  Transaction tx(db);
  if (auto s = tx.begin(); !s) return s;
  if (auto s = db.exec(
          "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) "
          "WITHOUT ROWID");
      !s)
    return s;
  bool from_v1 = false;
  bool older = false;  // version 1, 2 or 3: the schema below adds what they lack
  {
    auto q = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'");
    if (!q) return q.error();
    auto row = q->step();
    if (!row) return row.error();
    std::string found = *row ? q->column_text(0) : std::string();
    if (found == "1") {
      from_v1 = true;
      older = true;
    } else if (found == "2" || found == "3") {
      older = true;
    } else if (!found.empty() && found != std::to_string(kSchemaVersion)) {
      return Error{Rc::Unavailable, "sqlite: the database has schema version " + found +
                                        "; this rtm reads version " +
                                        std::to_string(kSchemaVersion)};
    }
  }
  if (from_v1) {
    if (auto s = db.exec(kMigrateV1ToV2); !s) return s;
  }
  if (auto s = db.exec(schema_sql().c_str()); !s) return s;
  if (from_v1) {
    if (auto s = db.exec(kCopyV1Rows); !s) return s;
  }
  {
    auto q =
        db.prepare(older ? "UPDATE meta SET value = ? WHERE key = 'schema_version'"
                         : "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)");
    if (!q) return q.error();
    q->bind(1, std::to_string(kSchemaVersion));
    if (auto s = q->run(); !s) return s;
  }
  return tx.commit();
}

const std::string& insert_file_sql() {
  static const std::string sql =
      "INSERT INTO files (id, sha256, name, type, size, from_uid, kind, to_uid, to_uids, gid, "
      "rid, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  return sql;
}

void bind_file_insert(Query& q, const FileRecord& f) {
  q.bind(1, f.id)
      .bind(2, f.sha256)
      .bind(3, f.name)
      .bind(4, f.type)
      .bind(5, static_cast<std::int64_t>(f.size))
      .bind(6, to_db(f.from))
      .bind(7, static_cast<std::int64_t>(f.kind))
      .bind(8, to_db(f.to))
      .bind(9, encode_uids(f.to_uids))
      .bind(10, to_db(f.gid))
      .bind(11, to_db(f.rid))
      .bind(12, f.created_ms);
}

bool file_storable(const FileRecord& f) {
  for (Uid u : f.to_uids)
    if (!storable(u)) return false;
  return storable(f.from) && storable(f.to) && storable(f.gid) && storable(f.rid);
}

const std::string& insert_message_sql() {
  static const std::string sql =
      "INSERT INTO messages (mid, client_mid, from_uid, kind, to_uid, to_uids, gid, rid, "
      "conv_lo, conv_hi, mtype, msg, attrs, mtime) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING";
  return sql;
}

const std::string& first_message_sql() {
  // Repeats the partial index's WHERE term so that SQLite uses the index.
  static const std::string sql =
      "SELECT mid, mtime FROM messages WHERE from_uid = ? AND client_mid = ? "
      "AND client_mid IS NOT NULL";
  return sql;
}

void bind_message_insert(Query& q, const Message& m) {
  q.bind(1, to_db(m.mid));
  if (m.client_mid != 0) {
    q.bind(2, to_db(m.client_mid));
  } else {
    q.bind_null(2);
  }
  q.bind(3, to_db(m.from)).bind(4, std::int64_t{kind_code(m.kind)});
  q.bind(5, to_db(m.to))
      .bind(6, encode_uids(m.to_uids))
      .bind(7, to_db(m.gid))
      .bind(8, to_db(m.rid));
  if (m.kind == MessageKind::P2p) {
    q.bind(9, to_db(std::min(m.from, m.to))).bind(10, to_db(std::max(m.from, m.to)));
  } else {
    q.bind_null(9).bind_null(10);
  }
  q.bind(11, std::int64_t{m.mtype}).bind_borrowed(12, m.msg).bind_borrowed(13, m.attrs);
  q.bind(14, m.mtime);
}

const std::string& history_p2p_sql() {
  static const std::string sql = history_sql(kKindP2p, "conv_lo = ? AND conv_hi = ? AND mid <= ?");
  return sql;
}

const std::string& history_group_sql() {
  static const std::string sql = history_sql(kKindGroup, "gid = ? AND mid <= ?");
  return sql;
}

const std::string& history_room_sql() {
  static const std::string sql = history_sql(kKindRoom, "rid = ? AND mid <= ?");
  return sql;
}

const std::string& messages_after_sql() {
  static const std::string sql = std::string("SELECT ") + kMessageColumns +
                                 ", rowid FROM messages WHERE rowid > ? ORDER BY rowid LIMIT ?";
  return sql;
}

Result<Message> read_message(const Query& q) {
  Message m;
  m.mid = from_db(q.column_int64(0));
  m.from = from_db(q.column_int64(1));
  auto kind = kind_from_code(q.column_int64(2));
  if (!kind) return kind.error();
  m.kind = *kind;
  m.to = from_db(q.column_int64(3));
  auto uids = decode_uids(q.column_text(4));
  if (!uids) return uids.error();
  m.to_uids = std::move(*uids);
  m.gid = from_db(q.column_int64(5));
  m.rid = from_db(q.column_int64(6));
  m.mtype = static_cast<int>(q.column_int64(7));
  m.msg = q.column_text(8);
  m.attrs = q.column_text(9);
  m.mtime = q.column_int64(10);
  return m;
}

}  // namespace rtm::sqlite
