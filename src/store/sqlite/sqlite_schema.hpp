// sqlite_schema.hpp: how rtm's data lies in the SQLite file: the tables and indexes, the
// schema version, the SQL of the message statements, and the mapping of a Message onto a
// row and back. The writer thread and the synchronous calls both use it, so the two sides
// cannot disagree about a column.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/file_record.hpp"
#include "core/message.hpp"
#include "core/result.hpp"
#include "store/sqlite/sqlite_db.hpp"

namespace rtm::sqlite {

// The version this code writes and reads; kept in meta under "schema_version".
inline constexpr int kSchemaVersion = 4;

// SQLite integers are signed 64-bit, so ids (uids, gids, rids, mids) above INT64_MAX cannot
// be stored with their order intact. Writes refuse them; reads answer "not there".
inline constexpr std::uint64_t kMaxStoredId =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
inline bool storable(std::uint64_t id) { return id <= kMaxStoredId; }
inline std::int64_t to_db(std::uint64_t id) { return static_cast<std::int64_t>(id); }
inline std::uint64_t from_db(std::int64_t id) { return static_cast<std::uint64_t>(id); }
inline bool all_storable(const std::vector<std::uint64_t>& ids) {
  return std::all_of(ids.begin(), ids.end(), storable);
}
// The answer of a write that was given an id it cannot store.
inline Error id_too_large() {
  return Error{Rc::InvalidParameter, "ids above 9223372036854775807 cannot be stored"};
}

// Runs a query that answers one column of ids, in the order the SQL gives them.
Result<std::vector<std::uint64_t>> read_ids(Query& q);
// Whether the query answers any row.
inline Result<bool> exists(Query& q) { return q.step(); }

// Creates whatever of the schema is missing, upgrades a version 1 file and checks the file's
// schema version, in one write transaction (two processes opening a new file together create
// it once). Unavailable if the file is not a database or holds another schema version.
Status create_schema(Db& db);

// INSERT of one message that stores nothing on a (from_uid, client_mid) conflict;
// parameters are bound by bind_message_insert().
const std::string& insert_message_sql();
// The stored mid and mtime of (from_uid = ?1, client_mid = ?2).
const std::string& first_message_sql();
// Binds every column of `m`; `m` must outlive the query (its text is bound without a copy).
void bind_message_insert(Query& q, const Message& m);

// INSERT of one file record; parameters bound by bind_file_insert() (copies of the text).
const std::string& insert_file_sql();
void bind_file_insert(Query& q, const FileRecord& f);
// Whether every id of `f` can be stored (see storable()).
bool file_storable(const FileRecord& f);

// History, newest first. Parameters: the scope's keys (P2p: conversation low uid, high uid;
// Group: gid; Room: rid), then the highest mid wanted (inclusive), then the row limit.
const std::string& history_p2p_sql();
const std::string& history_group_sql();
const std::string& history_room_sql();
// The stream of messages in commit order: the rowid is the position. Parameters: the
// position after which to read, the row limit; column 11 is the position.
const std::string& messages_after_sql();
// The Message of the current row of a history or stream query.
Result<Message> read_message(const Query& q);

}  // namespace rtm::sqlite
