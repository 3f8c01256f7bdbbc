// ModerationStore of the SQLite store: the bans table (see core/moderation_store.hpp).
#include <cstdint>
#include <vector>

#include "store/sqlite/sqlite_db.hpp"
#include "store/sqlite/sqlite_schema.hpp"
#include "store/sqlite/sqlite_store_impl.hpp"

namespace rtm {
namespace {

using sqlite::Db;
using sqlite::id_too_large;
using sqlite::storable;
using sqlite::to_db;

}  // namespace

Status SqliteStore::put_ban(const Ban& ban) {
  if (!storable(ban.target) || !storable(ban.uid)) return id_too_large();
  return pool_.in_write_transaction("put_ban", [&](Db& db) -> Status {
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
  return pool_.in_write_transaction("delete_ban", [&](Db& db) -> Status {
    auto q = db.prepare("DELETE FROM bans WHERE scope = ? AND target = ? AND uid = ?");
    if (!q) return q.error();
    q->bind(1, static_cast<std::int64_t>(scope)).bind(2, to_db(target)).bind(3, to_db(uid));
    return q->run();
  });
}

Result<std::vector<Ban>> SqliteStore::bans() {
  return pool_.with_connection("bans", [&](Db& db) -> Result<std::vector<Ban>> {
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

}  // namespace rtm
