// MetaStore of the SQLite store: the meta table, which also keeps the schema version (see
// core/meta_store.hpp).
#include <string>

#include "store/sqlite/sqlite_db.hpp"
#include "store/sqlite/sqlite_store_impl.hpp"

namespace rtm {
namespace {

using sqlite::Db;

}  // namespace

Result<std::string> SqliteStore::get_or_init_meta(const std::string& key,
                                                  const std::string& fallback) {
  // Both statements in one write transaction: another process initializing the same key at
  // the same moment waits for the lock, then finds this value and keeps it.
  return pool_.in_write_transaction("get_or_init_meta", [&](Db& db) -> Result<std::string> {
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

Status SqliteStore::put_meta(const std::string& key, const std::string& value) {
  return pool_.in_write_transaction("put_meta", [&](Db& db) -> Status {
    auto q = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
    if (!q) return q.error();
    q->bind(1, key).bind(2, value);
    return q->run();
  });
}

}  // namespace rtm
