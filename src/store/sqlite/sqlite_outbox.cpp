// OutboxStore of the SQLite store: the webhook_outbox table (see core/outbox_store.hpp).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_db.hpp"
#include "store/sqlite/sqlite_store_impl.hpp"

namespace rtm {
namespace {

using sqlite::Db;

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
  return pool_.in_write_transaction("outbox_add", [&](Db& db) -> Result<std::uint64_t> {
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
  return pool_.with_connection("outbox_due", [&](Db& db) -> Result<std::vector<OutboxEntry>> {
    auto q = db.prepare(std::string("SELECT ") + kOutboxColumns +
                        " FROM webhook_outbox WHERE dead = 0 AND next_at_ms <= ? ORDER BY id "
                        "LIMIT ?");
    if (!q) return q.error();
    q->bind(1, now_ms).bind(2, static_cast<std::int64_t>(limit));
    return read_outbox(*q);
  });
}

Status SqliteStore::outbox_delivered(std::uint64_t id) {
  return pool_.in_write_transaction("outbox_delivered", [&](Db& db) -> Status {
    auto q = db.prepare("DELETE FROM webhook_outbox WHERE id = ?");
    if (!q) return q.error();
    q->bind(1, static_cast<std::int64_t>(id));
    return q->run();
  });
}

Status SqliteStore::outbox_failed(std::uint64_t id, int attempts, std::int64_t next_at_ms,
                                  bool dead, const std::string& error) {
  return pool_.in_write_transaction("outbox_failed", [&](Db& db) -> Status {
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
  return pool_.with_connection("outbox_dead", [&](Db& db) -> Result<std::vector<OutboxEntry>> {
    auto q = db.prepare(std::string("SELECT ") + kOutboxColumns +
                        " FROM webhook_outbox WHERE dead = 1 ORDER BY id DESC LIMIT ?");
    if (!q) return q.error();
    q->bind(1, static_cast<std::int64_t>(limit));
    return read_outbox(*q);
  });
}

Result<std::uint64_t> SqliteStore::outbox_dead_count() {
  return pool_.with_connection("outbox_dead_count", [&](Db& db) -> Result<std::uint64_t> {
    auto q = db.prepare("SELECT COUNT(*) FROM webhook_outbox WHERE dead = 1");
    if (!q) return q.error();
    auto row = q->step();
    if (!row) return row.error();
    return *row ? static_cast<std::uint64_t>(q->column_int64(0)) : 0;
  });
}

}  // namespace rtm
