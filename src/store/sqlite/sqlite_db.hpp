// sqlite_db.hpp: the thin RAII layer over the SQLite C API that the SQLite store is written
// on: one connection (Db) with its cache of prepared statements, one use of a statement
// (Query), one write transaction (Transaction), and the mapping of SQLite result codes onto
// the contract's errors. Nothing above this file sees an sqlite3_* call or a raw result code.
//
// A Db is not thread-safe (connections are opened SQLITE_OPEN_NOMUTEX); its owner makes sure
// that one thread at a time uses it.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace rtm::sqlite {

// One use of a cached prepared statement. The destructor resets it and clears its bindings,
// so a statement left in the cache never keeps a read snapshot open: in WAL mode an unreset
// SELECT pins the WAL and keeps checkpoints from finishing.
class Query {
 public:
  Query(sqlite3* db, sqlite3_stmt* stmt, std::string_view sql) : db_(db), stmt_(stmt), sql_(sql) {}
  Query(Query&& other) noexcept;
  Query& operator=(Query&&) = delete;
  Query(const Query&) = delete;
  ~Query();

  // Parameters count from 1, as in SQL. A failed bind is remembered and answered by step().
  Query& bind(int index, std::int64_t value);
  Query& bind_null(int index);
  Query& bind(int index, std::string_view text);  // copied by SQLite
  // Binds without a copy: `text` must stay alive and unchanged until this Query ends.
  Query& bind_borrowed(int index, const std::string& text);

  // true: a row is ready to read; false: the statement is done; an Error otherwise.
  Result<bool> step();
  // Steps a statement that returns no rows (or whose rows are not wanted) to its end.
  Status run();

  std::int64_t column_int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string column_text(int col) const;

  // Rows changed by the last INSERT, UPDATE or DELETE run on this connection.
  int changes() const { return sqlite3_changes(db_); }
  // The rowid of the last row inserted on this connection.
  std::int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string_view sql_;  // the cache's copy of the SQL, to name the statement in errors
  int bind_rc_ = SQLITE_OK;
};

// One SQLite connection and the prepared statements it has compiled. Statements are compiled
// once per connection and SQL text (SQLITE_PREPARE_PERSISTENT), since a call would otherwise
// spend more time compiling its SQL than running it.
class Db {
 public:
  struct Options {
    std::chrono::milliseconds busy_timeout{5000};
  };

  // Opens (creating if needed) the database file at `path` and applies the per-connection
  // settings every rtm connection runs with: busy timeout and synchronous=FULL. An error is
  // Unavailable with a one-line reason.
  static Result<std::unique_ptr<Db>> open(const std::string& path, const Options& options);

  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // The cached statement for `sql`, ready to bind.
  Result<Query> prepare(std::string_view sql);
  // Runs SQL without parameters (PRAGMAs, DDL, BEGIN/COMMIT). Rows it returns are ignored.
  Status exec(const char* sql);
  // Whether the connection is outside any transaction.
  bool autocommit() const { return sqlite3_get_autocommit(db_) != 0; }

  // The contract's error for the connection's last failure with result code `rc`.
  Error error(std::string_view what, int rc) const;

 private:
  explicit Db(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
};

// Maps an SQLite result code onto the contract: errors that mean the program itself is wrong
// (bad SQL, misuse, a bind out of range, a constraint the code was supposed to have checked)
// are Internal; everything about the file, the disk and other processes is Unavailable.
Rc rc_for_sqlite(int sqlite_rc);

// One line naming what failed and why, e.g.
// "sqlite: BEGIN IMMEDIATE: database is locked (SQLITE_BUSY)".
Error sqlite_error(sqlite3* db, std::string_view what, int sqlite_rc);

// A BEGIN IMMEDIATE ... COMMIT that rolls back unless commit() succeeded. IMMEDIATE takes the
// write lock up front, so the busy timeout covers the whole wait for it; a deferred
// transaction that reads first and writes later can fail with SQLITE_BUSY_SNAPSHOT at once,
// without waiting, when another connection committed in between.
class Transaction {
 public:
  explicit Transaction(Db& db) : db_(db) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status begin();
  Status commit();
  void rollback();

 private:
  Db& db_;
  bool open_ = false;
};

}  // namespace rtm::sqlite
