// ServerEventStore of the SQLite store: the `server_events` table (id, body) and the cursor
// under "server_events_cursor" and the newest id under "server_events_last_id" in meta (see
// core/server_event_store.hpp).
#include <algorithm>
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

Status put_number(Db& db, const char* key, std::uint64_t value) {
  auto q = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
  if (!q) return q.error();
  q->bind(1, std::string(key)).bind(2, std::to_string(value));
  return q->run();
}

Result<std::uint64_t> get_number(Db& db, const char* key) {
  auto q = db.prepare("SELECT value FROM meta WHERE key = ?");
  if (!q) return q.error();
  q->bind(1, std::string(key));
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::uint64_t{0};
  std::string text = q->column_text(0);
  try {
    return static_cast<std::uint64_t>(std::stoull(text));
  } catch (const std::exception&) {
    return Error{Rc::Internal, std::string("sqlite: meta ") + key + " is not a number"};
  }
}

}  // namespace

Status SqliteStore::save_server_events(
    const std::vector<std::pair<std::uint64_t, std::string>>& events, std::uint64_t cursor,
    std::size_t keep) {
  for (const auto& [id, body] : events)
    if (!storable(id)) return Error{Rc::InvalidParameter, "event ids above INT64_MAX"};
  if (!storable(cursor)) return Error{Rc::InvalidParameter, "a cursor above INT64_MAX"};
  return pool_.in_write_transaction("save_server_events", [&](Db& db) -> Status {
    std::uint64_t newest = 0;
    for (const auto& [id, body] : events) {
      auto q = db.prepare("INSERT OR IGNORE INTO server_events (id, body) VALUES (?, ?)");
      if (!q) return q.error();
      q->bind(1, to_db(id)).bind_borrowed(2, body);
      if (auto s = q->run(); !s) return s;
      newest = std::max(newest, id);
    }
    auto last = get_number(db, "server_events_last_id");
    if (!last) return last.error();
    newest = std::max(newest, *last);
    if (auto s = put_number(db, "server_events_last_id", newest); !s) return s;
    if (auto s = put_number(db, "server_events_cursor", cursor); !s) return s;
    if (newest > keep) {
      auto q = db.prepare("DELETE FROM server_events WHERE id <= ?");
      if (!q) return q.error();
      q->bind(1, to_db(newest - keep));
      if (auto s = q->run(); !s) return s;
    }
    return ok_status();
  });
}

Result<StoredServerEvents> SqliteStore::load_server_events(std::size_t keep) {
  return pool_.with_connection("load_server_events", [&](Db& db) -> Result<StoredServerEvents> {
    StoredServerEvents out;
    auto last = get_number(db, "server_events_last_id");
    if (!last) return last.error();
    out.last_id = *last;
    auto cursor = get_number(db, "server_events_cursor");
    if (!cursor) return cursor.error();
    out.cursor = *cursor;
    auto q = db.prepare(
        "SELECT id, body FROM (SELECT id, body FROM server_events ORDER BY id DESC LIMIT ?) "
        "ORDER BY id");
    if (!q) return q.error();
    q->bind(1, static_cast<std::int64_t>(std::min<std::size_t>(keep, sqlite::kMaxStoredId)));
    for (;;) {
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) return out;
      out.events.emplace_back(from_db(q->column_int64(0)), q->column_text(1));
    }
  });
}

}  // namespace rtm
