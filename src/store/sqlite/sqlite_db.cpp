// The RAII layer over the SQLite C API: connections, cached statements, transactions, and the
// translation of SQLite result codes into the contract's errors (see sqlite_db.hpp).
#include "store/sqlite/sqlite_db.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

namespace rtm::sqlite {
namespace {

// The symbolic name of a primary result code, so that a log line can be searched for.
std::string_view code_name(int rc) {
  switch (rc & 0xff) {
    case SQLITE_ERROR: return "SQLITE_ERROR";
    case SQLITE_INTERNAL: return "SQLITE_INTERNAL";
    case SQLITE_PERM: return "SQLITE_PERM";
    case SQLITE_ABORT: return "SQLITE_ABORT";
    case SQLITE_BUSY: return "SQLITE_BUSY";
    case SQLITE_LOCKED: return "SQLITE_LOCKED";
    case SQLITE_NOMEM: return "SQLITE_NOMEM";
    case SQLITE_READONLY: return "SQLITE_READONLY";
    case SQLITE_INTERRUPT: return "SQLITE_INTERRUPT";
    case SQLITE_IOERR: return "SQLITE_IOERR";
    case SQLITE_CORRUPT: return "SQLITE_CORRUPT";
    case SQLITE_NOTFOUND: return "SQLITE_NOTFOUND";
    case SQLITE_FULL: return "SQLITE_FULL";
    case SQLITE_CANTOPEN: return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL: return "SQLITE_PROTOCOL";
    case SQLITE_SCHEMA: return "SQLITE_SCHEMA";
    case SQLITE_TOOBIG: return "SQLITE_TOOBIG";
    case SQLITE_CONSTRAINT: return "SQLITE_CONSTRAINT";
    case SQLITE_MISMATCH: return "SQLITE_MISMATCH";
    case SQLITE_MISUSE: return "SQLITE_MISUSE";
    case SQLITE_NOLFS: return "SQLITE_NOLFS";
    case SQLITE_AUTH: return "SQLITE_AUTH";
    case SQLITE_RANGE: return "SQLITE_RANGE";
    case SQLITE_NOTADB: return "SQLITE_NOTADB";
    default: return "SQLITE_UNKNOWN";
  }
}

// Long SQL is cut in error messages: the first words say which statement it was.
std::string_view sql_label(std::string_view sql) {
  constexpr std::size_t kMax = 48;
  return sql.size() <= kMax ? sql : sql.substr(0, kMax);
}

}  // namespace

Rc rc_for_sqlite(int sqlite_rc) {
  switch (sqlite_rc & 0xff) {
    case SQLITE_ERROR:  // "SQL logic error": a statement the code got wrong, or a missing table
    case SQLITE_INTERNAL:
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_CONSTRAINT: return Rc::Internal;
    default: return Rc::Unavailable;
  }
}

Error sqlite_error(sqlite3* db, std::string_view what, int sqlite_rc) {
  std::string msg = "sqlite: ";
  msg += what;
  msg += ": ";
  // sqlite3_errmsg describes the connection's last error; when it has none (or no connection
  // exists yet) the generic text of the code is all there is.
  const char* text = db != nullptr && sqlite3_errcode(db) != SQLITE_OK ? sqlite3_errmsg(db)
                                                                       : sqlite3_errstr(sqlite_rc);
  msg += text;
  if (db != nullptr && (sqlite_rc & 0xff) == SQLITE_CANTOPEN && sqlite3_system_errno(db) != 0) {
    msg += " (";
    msg += std::strerror(sqlite3_system_errno(db));
    msg += ")";
  }
  msg += " (";
  msg += code_name(sqlite_rc);
  msg += ")";
  for (char& c : msg)
    if (c == '\n' || c == '\r') c = ' ';
  return Error{rc_for_sqlite(sqlite_rc), std::move(msg)};
}

// --- Query ---------------------------------------------------------------------------------

Query::Query(Query&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      sql_(other.sql_),
      bind_rc_(other.bind_rc_) {}

Query::~Query() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Query& Query::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Query& Query::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Query& Query::bind(int index, std::string_view text) {
  int rc =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Query& Query::bind_borrowed(int index, const std::string& text) {
  int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Result<bool> Query::step() {
  if (bind_rc_ != SQLITE_OK) return sqlite_error(db_, sql_label(sql_), bind_rc_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(db_, sql_label(sql_), rc);
}

Status Query::run() {
  for (;;) {
    auto row = step();
    if (!row) return row.error();
    if (!*row) return ok_status();
  }
}

std::string Query::column_text(int col) const {
  // sqlite3_column_text before sqlite3_column_bytes: the byte count is of the UTF-8 form.
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (text == nullptr) return {};
  return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

// --- Db ------------------------------------------------------------------------------------

Result<std::unique_ptr<Db>> Db::open(const std::string& path, const Options& options) {
  if (path.empty()) return Error{Rc::Unavailable, "sqlite: the database path is empty"};
  if (sqlite3_threadsafe() == 0)
    return Error{Rc::Unavailable, "sqlite: the linked libsqlite3 is built without thread support"};
  sqlite3* raw = nullptr;
  // NOMUTEX: each connection is used by one thread at a time (the store's pool and its writer
  // thread see to it), so SQLite's own per-connection mutex would only cost time.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(raw, "cannot open '" + path + "'", rc);
    e.rc = Rc::Unavailable;
    sqlite3_close_v2(raw);  // open fails with a handle to free, unless out of memory
    return e;
  }
  std::unique_ptr<Db> db(new Db(raw));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, static_cast<int>(options.busy_timeout.count()));
  // FULL: the WAL is fsynced at every commit, so what a callback acknowledged survives a
  // power cut too, not only kill -9 (NORMAL would lose the last commits to a power cut).
  // This is also the first statement on the file, where "not a database" shows.
  rc = sqlite3_exec(raw, "PRAGMA synchronous = FULL", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(raw, "cannot use '" + path + "'", rc);
    e.rc = Rc::Unavailable;
    return e;
  }
  return db;
}

Db::~Db() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Result<Query> Db::prepare(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db_, "prepare " + std::string(sql_label(sql)), rc);
    it = statements_.emplace(std::string(sql), stmt).first;
  }
  return Query(db_, it->second, it->first);
}

Status Db::exec(const char* sql) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db_, sql_label(sql), rc);
  return ok_status();
}

Error Db::error(std::string_view what, int rc) const { return sqlite_error(db_, what, rc); }

// --- Transaction -----------------------------------------------------------------------------

Transaction::~Transaction() { rollback(); }

Status Transaction::begin() {
  auto s = db_.exec("BEGIN IMMEDIATE");
  if (s) open_ = true;
  return s;
}

Status Transaction::commit() {
  auto s = db_.exec("COMMIT");
  if (s) open_ = false;
  return s;  // on failure the destructor rolls back whatever SQLite left open
}

void Transaction::rollback() {
  if (!open_) return;
  open_ = false;
  // A failed COMMIT may already have rolled back (SQLITE_FULL, SQLITE_IOERR): ROLLBACK would
  // then fail with "no transaction is active", which is the state wanted anyway.
  if (!db_.autocommit()) (void)db_.exec("ROLLBACK");
}

}  // namespace rtm::sqlite
