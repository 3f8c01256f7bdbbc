// FileStore of the SQLite store: reading and forgetting the files table (see
// core/file_store.hpp); records are written with their message by the append writer.
#include <cstdint>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_db.hpp"
#include "store/sqlite/sqlite_store_impl.hpp"

namespace rtm {
namespace {

using sqlite::Db;

constexpr const char* kFileColumns =
    "id, sha256, name, type, size, from_uid, kind, to_uid, to_uids, gid, rid, created_ms";

FileRecord read_file_row(const sqlite::Query& q) {
  FileRecord f;
  f.id = q.column_text(0);
  f.sha256 = q.column_text(1);
  f.name = q.column_text(2);
  f.type = q.column_text(3);
  f.size = static_cast<std::uint64_t>(q.column_int64(4));
  f.from = static_cast<Uid>(q.column_int64(5));
  f.kind = static_cast<MessageKind>(q.column_int64(6));
  f.to = static_cast<Uid>(q.column_int64(7));
  std::string list = q.column_text(8);
  for (std::size_t pos = 0; pos < list.size();) {
    auto comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    f.to_uids.push_back(std::stoull(list.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  f.gid = static_cast<Gid>(q.column_int64(9));
  f.rid = static_cast<Rid>(q.column_int64(10));
  f.created_ms = q.column_int64(11);
  return f;
}

}  // namespace

Result<FileRecord> SqliteStore::find_file(const std::string& id) {
  return pool_.with_connection("find_file", [&](Db& db) -> Result<FileRecord> {
    auto q = db.prepare(std::string("SELECT ") + kFileColumns + " FROM files WHERE id = ?");
    if (!q) return q.error();
    q->bind(1, id);
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) return make_error(Rc::NotFound, "no such file");
    return read_file_row(*q);
  });
}

Result<std::vector<FileRecord>> SqliteStore::list_files(std::int64_t before_ms, std::size_t limit) {
  return pool_.with_connection("list_files", [&](Db& db) -> Result<std::vector<FileRecord>> {
    auto q = db.prepare(std::string("SELECT ") + kFileColumns +
                        " FROM files WHERE created_ms < ? ORDER BY created_ms DESC, id LIMIT ?");
    if (!q) return q.error();
    q->bind(1, before_ms).bind(2, static_cast<std::int64_t>(limit));
    std::vector<FileRecord> out;
    for (;;) {
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) break;
      out.push_back(read_file_row(*q));
    }
    return out;
  });
}

Result<std::size_t> SqliteStore::delete_files_before(std::int64_t before_ms) {
  return pool_.in_write_transaction("delete_files_before", [&](Db& db) -> Result<std::size_t> {
    auto q = db.prepare("DELETE FROM files WHERE created_ms < ?");
    if (!q) return q.error();
    q->bind(1, before_ms);
    if (auto s = q->run(); !s) return s.error();
    return static_cast<std::size_t>(q->changes());
  });
}

Result<std::vector<std::string>> SqliteStore::blobs_in_use() {
  return pool_.with_connection("blobs_in_use", [&](Db& db) -> Result<std::vector<std::string>> {
    auto q = db.prepare("SELECT DISTINCT sha256 FROM files");
    if (!q) return q.error();
    std::vector<std::string> out;
    for (;;) {
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) break;
      out.push_back(q->column_text(0));
    }
    return out;
  });
}

Status SqliteStore::put_upload_grant(const std::string& token, const std::string& grant,
                                     std::int64_t expires_ms) {
  return pool_.in_write_transaction("put_upload_grant", [&](Db& db) -> Status {
    auto q = db.prepare(
        "INSERT OR REPLACE INTO upload_grants (token, grant_text, expires_ms) VALUES (?, ?, ?)");
    if (!q) return q.error();
    q->bind(1, token).bind(2, grant).bind(3, expires_ms);
    return q->run();
  });
}

Result<std::optional<StoredUploadGrant>> SqliteStore::take_upload_grant(const std::string& token) {
  using Out = Result<std::optional<StoredUploadGrant>>;
  return pool_.in_write_transaction("take_upload_grant", [&](Db& db) -> Out {
    // One statement finds and removes the row: two uploads with one token cannot both get it.
    auto q =
        db.prepare("DELETE FROM upload_grants WHERE token = ? RETURNING grant_text, expires_ms");
    if (!q) return q.error();
    q->bind(1, token);
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) return std::optional<StoredUploadGrant>();
    StoredUploadGrant g{q->column_text(0), q->column_int64(1)};
    if (auto rest = q->run(); !rest) return rest.error();  // RETURNING is done at its end
    return std::optional<StoredUploadGrant>(std::move(g));
  });
}

Result<std::size_t> SqliteStore::delete_expired_upload_grants(std::int64_t now_ms) {
  return pool_.in_write_transaction(
      "delete_expired_upload_grants", [&](Db& db) -> Result<std::size_t> {
        auto q = db.prepare("DELETE FROM upload_grants WHERE expires_ms <= ?");
        if (!q) return q.error();
        q->bind(1, now_ms);
        if (auto s = q->run(); !s) return s.error();
        return static_cast<std::size_t>(q->changes());
      });
}

}  // namespace rtm
