// MembershipStore of the SQLite store: the group_members and room_members tables (see
// core/membership_store.hpp).
#include <vector>

#include "store/sqlite/sqlite_db.hpp"
#include "store/sqlite/sqlite_schema.hpp"
#include "store/sqlite/sqlite_store_impl.hpp"

namespace rtm {
namespace {

using sqlite::all_storable;
using sqlite::Db;
using sqlite::exists;
using sqlite::id_too_large;
using sqlite::read_ids;
using sqlite::storable;
using sqlite::to_db;

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
  return pool_.in_write_transaction("add_group_members", [&](Db& db) {
    return run_for_each(db, "INSERT OR IGNORE INTO group_members (gid, uid) VALUES (?, ?)", gid,
                        uids);
  });
}

Status SqliteStore::del_group_members(Gid gid, const std::vector<Uid>& uids) {
  if (uids.empty() || !storable(gid)) return ok_status();  // nothing stored can match
  return pool_.in_write_transaction("del_group_members", [&](Db& db) {
    return run_for_each(db, "DELETE FROM group_members WHERE gid = ? AND uid = ?", gid, uids);
  });
}

Result<std::vector<Uid>> SqliteStore::group_members(Gid gid) {
  if (!storable(gid)) return std::vector<Uid>{};
  return pool_.with_connection("group_members", [&](Db& db) -> Result<std::vector<Uid>> {
    auto q = db.prepare("SELECT uid FROM group_members WHERE gid = ? ORDER BY uid");
    if (!q) return q.error();
    q->bind(1, to_db(gid));
    return read_ids(*q);
  });
}

Result<bool> SqliteStore::is_group_member(Gid gid, Uid uid) {
  if (!storable(gid) || !storable(uid)) return false;
  return pool_.with_connection("is_group_member", [&](Db& db) -> Result<bool> {
    auto q = db.prepare("SELECT 1 FROM group_members WHERE gid = ? AND uid = ?");
    if (!q) return q.error();
    q->bind(1, to_db(gid)).bind(2, to_db(uid));
    return exists(*q);
  });
}

Status SqliteStore::delete_group(Gid gid) {
  if (!storable(gid)) return ok_status();
  return pool_.in_write_transaction("delete_group", [&](Db& db) -> Status {
    auto q = db.prepare("DELETE FROM group_members WHERE gid = ?");
    if (!q) return q.error();
    q->bind(1, to_db(gid));
    return q->run();
  });
}

Result<std::vector<Gid>> SqliteStore::user_groups(Uid uid) {
  if (!storable(uid)) return std::vector<Gid>{};
  return pool_.with_connection("user_groups", [&](Db& db) -> Result<std::vector<Gid>> {
    auto q = db.prepare("SELECT gid FROM group_members WHERE uid = ? ORDER BY gid");
    if (!q) return q.error();
    q->bind(1, to_db(uid));
    return read_ids(*q);
  });
}

Status SqliteStore::add_room_member(Rid rid, Uid uid) {
  if (!storable(rid) || !storable(uid)) return id_too_large();
  return pool_.in_write_transaction("add_room_member", [&](Db& db) {
    return run_for_each(db, "INSERT OR IGNORE INTO room_members (rid, uid) VALUES (?, ?)", rid,
                        {uid});
  });
}

Status SqliteStore::del_room_member(Rid rid, Uid uid) {
  if (!storable(rid) || !storable(uid)) return ok_status();
  return pool_.in_write_transaction("del_room_member", [&](Db& db) {
    return run_for_each(db, "DELETE FROM room_members WHERE rid = ? AND uid = ?", rid, {uid});
  });
}

Result<std::vector<Uid>> SqliteStore::room_members(Rid rid) {
  if (!storable(rid)) return std::vector<Uid>{};
  return pool_.with_connection("room_members", [&](Db& db) -> Result<std::vector<Uid>> {
    auto q = db.prepare("SELECT uid FROM room_members WHERE rid = ? ORDER BY uid");
    if (!q) return q.error();
    q->bind(1, to_db(rid));
    return read_ids(*q);
  });
}

Result<bool> SqliteStore::is_room_member(Rid rid, Uid uid) {
  if (!storable(rid) || !storable(uid)) return false;
  return pool_.with_connection("is_room_member", [&](Db& db) -> Result<bool> {
    auto q = db.prepare("SELECT 1 FROM room_members WHERE rid = ? AND uid = ?");
    if (!q) return q.error();
    q->bind(1, to_db(rid)).bind(2, to_db(uid));
    return exists(*q);
  });
}

}  // namespace rtm
