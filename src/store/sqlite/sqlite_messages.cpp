// MessageStore of the SQLite store: appends handed to the group-commit writer
// (sqlite_append_writer.hpp), history read on the pool (see core/message_store.hpp).
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
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

}  // namespace

void SqliteStore::append_message(Message message, AppendCallback done) {
  writer_->append(std::move(message), std::move(done));
}

void SqliteStore::append_file_message(Message message, FileRecord file, AppendCallback done) {
  writer_->append(std::move(message), std::move(file), std::move(done));
}

Result<std::vector<Message>> SqliteStore::history(const HistoryQuery& query) {
  using Scope = HistoryQuery::Scope;
  std::vector<Message> none;
  if (query.limit <= 0) return none;
  // `before_mid` is exclusive; the SQL takes an inclusive bound, which also lets the query
  // without a bound run the same statement (every stored mid is at most kMaxStoredId).
  std::uint64_t highest = sqlite::kMaxStoredId;
  if (query.before_mid) {
    if (*query.before_mid == 0) return none;
    highest = std::min(*query.before_mid - 1, highest);
  }
  const std::string* sql = nullptr;
  std::vector<std::uint64_t> keys;
  switch (query.scope) {
    case Scope::P2p:
      if (!storable(query.uid) || !storable(query.with)) return none;
      sql = &sqlite::history_p2p_sql();
      keys = {std::min(query.uid, query.with), std::max(query.uid, query.with)};
      break;
    case Scope::Group:
      if (!storable(query.gid)) return none;
      sql = &sqlite::history_group_sql();
      keys = {query.gid};
      break;
    case Scope::Room:
      if (!storable(query.rid)) return none;
      sql = &sqlite::history_room_sql();
      keys = {query.rid};
      break;
  }
  if (sql == nullptr) return Error{Rc::Internal, "sqlite store: unknown history scope"};

  return pool_.with_connection("history", [&](Db& db) -> Result<std::vector<Message>> {
    auto q = db.prepare(*sql);
    if (!q) return q.error();
    int param = 1;
    for (std::uint64_t key : keys) q->bind(param++, to_db(key));
    q->bind(param++, to_db(highest));
    q->bind(param, std::int64_t{query.limit});
    std::vector<Message> out;
    out.reserve(static_cast<std::size_t>(std::min(query.limit, 256)));
    for (;;) {
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) return out;
      auto m = sqlite::read_message(*q);
      if (!m) return m.error();
      out.push_back(std::move(*m));
    }
  });
}

Result<std::vector<StreamedMessage>> SqliteStore::messages_after(std::uint64_t position,
                                                                 std::size_t limit) {
  std::vector<StreamedMessage> out;
  if (limit == 0 || !storable(position)) return out;
  return pool_.with_connection(
      "messages_after", [&](Db& db) -> Result<std::vector<StreamedMessage>> {
        auto q = db.prepare(sqlite::messages_after_sql());
        if (!q) return q.error();
        q->bind(1, to_db(position));
        q->bind(2, static_cast<std::int64_t>(std::min<std::size_t>(limit, sqlite::kMaxStoredId)));
        for (;;) {
          auto row = q->step();
          if (!row) return row.error();
          if (!*row) return out;
          auto m = sqlite::read_message(*q);
          if (!m) return m.error();
          out.push_back(StreamedMessage{from_db(q->column_int64(11)), std::move(*m)});
        }
      });
}

Result<std::uint64_t> SqliteStore::last_position() {
  return pool_.with_connection("last_position", [&](Db& db) -> Result<std::uint64_t> {
    auto q = db.prepare("SELECT coalesce(max(rowid), 0) FROM messages");
    if (!q) return q.error();
    auto row = q->step();
    if (!row) return row.error();
    return *row ? from_db(q->column_int64(0)) : std::uint64_t{0};
  });
}

}  // namespace rtm
