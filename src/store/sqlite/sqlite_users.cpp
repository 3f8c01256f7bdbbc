// UserStore of the SQLite store: the users table (see core/user_store.hpp).
#include <string>

#include "store/sqlite/sqlite_db.hpp"
#include "store/sqlite/sqlite_schema.hpp"
#include "store/sqlite/sqlite_store_impl.hpp"

namespace rtm {
namespace {

using sqlite::Db;
using sqlite::exists;
using sqlite::from_db;
using sqlite::id_too_large;
using sqlite::Query;
using sqlite::storable;
using sqlite::to_db;

Result<UserRecord> read_user(Query& q) {
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return Error{Rc::NotFound, "user not found"};
  return UserRecord{from_db(q.column_int64(0)), q.column_text(1), q.column_text(2)};
}

}  // namespace

Result<Uid> SqliteStore::add_user(const std::string& login, const std::string& password_hash,
                                  Uid uid) {
  if (!storable(uid)) return id_too_large();
  return pool_.in_write_transaction("add_user", [&](Db& db) -> Result<Uid> {
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

Result<UserRecord> SqliteStore::find_user(Uid uid) {
  if (!storable(uid)) return Error{Rc::NotFound, "user not found"};
  return pool_.with_connection("find_user", [&](Db& db) -> Result<UserRecord> {
    auto q = db.prepare("SELECT uid, login, password_hash FROM users WHERE uid = ?");
    if (!q) return q.error();
    q->bind(1, to_db(uid));
    return read_user(*q);
  });
}

Result<UserRecord> SqliteStore::find_user_by_login(const std::string& login) {
  return pool_.with_connection("find_user_by_login", [&](Db& db) -> Result<UserRecord> {
    auto q = db.prepare("SELECT uid, login, password_hash FROM users WHERE login = ?");
    if (!q) return q.error();
    q->bind(1, login);
    return read_user(*q);
  });
}

Status SqliteStore::set_password(Uid uid, const std::string& password_hash) {
  if (!storable(uid)) return Error{Rc::NotFound, "user not found"};
  return pool_.in_write_transaction("set_password", [&](Db& db) -> Status {
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
  return pool_.in_write_transaction("delete_user", [&](Db& db) -> Status {
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

}  // namespace rtm
