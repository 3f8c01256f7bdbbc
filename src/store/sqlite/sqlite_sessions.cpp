// SessionStore of the SQLite store: one row per authorized session in `sessions` and one per
// subscription in `session_subscriptions` (see core/session_store.hpp). Every write is a
// transaction on the pool, durable when it commits.
#include <string>
#include <vector>

#include "store/sqlite/sqlite_db.hpp"
#include "store/sqlite/sqlite_schema.hpp"
#include "store/sqlite/sqlite_store_impl.hpp"

namespace rtm {
namespace {

using sqlite::Db;
using sqlite::from_db;
using sqlite::storable;
using sqlite::to_db;

bool positions_storable(std::uint64_t read_position, std::uint64_t kept_position,
                        std::uint64_t id_limit) {
  return storable(read_position) && storable(kept_position) && storable(id_limit);
}

Status delete_rows(Db& db, const std::string& id) {
  for (const char* sql : {"DELETE FROM session_subscriptions WHERE session_id = ?",
                          "DELETE FROM sessions WHERE id = ?"}) {
    auto q = db.prepare(sql);
    if (!q) return q.error();
    q->bind(1, id);
    if (auto s = q->run(); !s) return s;
  }
  return ok_status();
}

}  // namespace

Status SqliteStore::save_session(const SessionRecord& r) {
  if (!storable(r.uid) || !storable(r.next_key) ||
      !positions_storable(r.read_position, r.kept_position, r.id_limit))
    return Error{Rc::InvalidParameter, "ids above 9223372036854775807 cannot be stored"};
  return pool_.in_write_transaction("save_session", [&](Db& db) -> Status {
    {
      // A stored read position is the checkpoint's to move; id_limit never goes down (a
      // snapshot taken before a checkpoint's reservation may land after it).
      auto q = db.prepare(
          "INSERT INTO sessions (id, uid, created_ms, max_events, queue_limit, presence, "
          "idle_timeout, next_key, read_position, kept_position, id_limit) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
          "ON CONFLICT (id) DO UPDATE SET uid = excluded.uid, created_ms = excluded.created_ms, "
          "max_events = excluded.max_events, queue_limit = excluded.queue_limit, "
          "presence = excluded.presence, idle_timeout = excluded.idle_timeout, "
          "next_key = excluded.next_key, id_limit = max(id_limit, excluded.id_limit)");
      if (!q) return q.error();
      q->bind(1, r.id)
          .bind(2, to_db(r.uid))
          .bind(3, r.created_ms)
          .bind(4, std::int64_t{r.settings.max_events})
          .bind(5, std::int64_t{r.settings.queue_limit})
          .bind(6, std::int64_t{r.settings.presence ? 1 : 0})
          .bind(7, std::int64_t{r.settings.idle_timeout})
          .bind(8, to_db(r.next_key))
          .bind(9, to_db(r.read_position))
          .bind(10, to_db(r.kept_position))
          .bind(11, to_db(r.id_limit));
      if (auto s = q->run(); !s) return s;
    }
    {
      auto q = db.prepare("DELETE FROM session_subscriptions WHERE session_id = ?");
      if (!q) return q.error();
      q->bind(1, r.id);
      if (auto s = q->run(); !s) return s;
    }
    for (const auto& [key, topic] : r.subscriptions) {
      auto q =
          db.prepare("INSERT INTO session_subscriptions (session_id, key, topic) VALUES (?, ?, ?)");
      if (!q) return q.error();
      q->bind(1, r.id).bind(2, key).bind(3, topic);
      if (auto s = q->run(); !s) return s;
    }
    return ok_status();
  });
}

Status SqliteStore::save_session_positions(const std::vector<SessionPositions>& positions) {
  if (positions.empty()) return ok_status();
  for (const auto& p : positions)
    if (!positions_storable(p.read_position, p.kept_position, p.id_limit))
      return Error{Rc::InvalidParameter, "positions above 9223372036854775807 cannot be stored"};
  return pool_.in_write_transaction("save_session_positions", [&](Db& db) -> Status {
    for (const auto& p : positions) {
      auto q = db.prepare(
          "UPDATE sessions SET read_position = ?, kept_position = ?, "
          "id_limit = max(id_limit, ?) WHERE id = ?");
      if (!q) return q.error();
      q->bind(1, to_db(p.read_position))
          .bind(2, to_db(p.kept_position))
          .bind(3, to_db(p.id_limit))
          .bind(4, p.id);
      if (auto s = q->run(); !s) return s;
    }
    return ok_status();
  });
}

Status SqliteStore::delete_session(const std::string& id) {
  return pool_.in_write_transaction("delete_session",
                                    [&](Db& db) -> Status { return delete_rows(db, id); });
}

Result<std::vector<SessionRecord>> SqliteStore::load_sessions() {
  return pool_.with_connection("load_sessions", [&](Db& db) -> Result<std::vector<SessionRecord>> {
    std::vector<SessionRecord> out;
    {
      auto q = db.prepare(
          "SELECT id, uid, created_ms, max_events, queue_limit, presence, idle_timeout, next_key, "
          "read_position, kept_position, id_limit FROM sessions ORDER BY id");
      if (!q) return q.error();
      for (;;) {
        auto row = q->step();
        if (!row) return row.error();
        if (!*row) break;
        SessionRecord r;
        r.id = q->column_text(0);
        r.uid = from_db(q->column_int64(1));
        r.created_ms = q->column_int64(2);
        r.settings.max_events = static_cast<int>(q->column_int64(3));
        r.settings.queue_limit = static_cast<int>(q->column_int64(4));
        r.settings.presence = q->column_int64(5) != 0;
        r.settings.idle_timeout = static_cast<int>(q->column_int64(6));
        r.next_key = from_db(q->column_int64(7));
        r.read_position = from_db(q->column_int64(8));
        r.kept_position = from_db(q->column_int64(9));
        r.id_limit = from_db(q->column_int64(10));
        out.push_back(std::move(r));
      }
    }
    // Both lists are ordered by session id, so one pass pairs them up. Keys are "s<n>":
    // shorter first, then by text, is the order of n.
    auto q = db.prepare(
        "SELECT session_id, key, topic FROM session_subscriptions "
        "ORDER BY session_id, length(key), key");
    if (!q) return q.error();
    std::size_t at = 0;
    for (;;) {
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) break;
      std::string id = q->column_text(0);
      while (at < out.size() && out[at].id < id) ++at;
      if (at == out.size() || out[at].id != id) continue;  // a session deleted meanwhile
      out[at].subscriptions.emplace_back(q->column_text(1), q->column_text(2));
    }
    return out;
  });
}

}  // namespace rtm
