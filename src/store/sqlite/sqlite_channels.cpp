// ChannelStore of the SQLite store: the `channels` table (client_id, expires_ms, connected)
// and `channel_messages` (id: the position, client_id, body), see core/channel_store.hpp.
// Appends go through the group-commit writer with the messages, so a channel.send costs no
// fsync of its own; the checkpoint's batch and the restore use the pool.
#include <algorithm>
#include <string>
#include <unordered_map>
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

Status upsert_channel(Db& db, const ChannelRecord& c) {
  auto q = db.prepare(
      "INSERT INTO channels (client_id, expires_ms, connected) VALUES (?, ?, ?) "
      "ON CONFLICT (client_id) DO UPDATE SET expires_ms = max(expires_ms, excluded.expires_ms), "
      "connected = excluded.connected");
  if (!q) return q.error();
  q->bind(1, c.client_id).bind(2, c.expires_ms).bind(3, std::int64_t{c.connected ? 1 : 0});
  return q->run();
}

}  // namespace

void SqliteStore::append_channel_message(const std::string& client_id, std::int64_t expires_ms,
                                         std::string text, ChannelAppendCallback done) {
  writer_->append_channel(client_id, expires_ms, std::move(text),
                          [done = std::move(done)](Result<AppendOutcome> r) {
                            if (!r) return done(r.error());
                            done(r->position);
                          });
}

Status SqliteStore::save_channel(const ChannelRecord& channel) {
  return pool_.in_write_transaction("save_channel",
                                    [&](Db& db) -> Status { return upsert_channel(db, channel); });
}

Status SqliteStore::save_channels(const std::vector<ChannelRecord>& channels,
                                  const std::vector<ChannelMessageRow>& restored,
                                  const std::vector<std::uint64_t>& gone, std::int64_t now_ms) {
  for (const auto& r : restored)
    if (!storable(r.message.position))
      return Error{Rc::InvalidParameter, "positions above INT64_MAX cannot be stored"};
  return pool_.in_write_transaction("save_channels", [&](Db& db) -> Status {
    for (const auto& c : channels)
      if (auto s = upsert_channel(db, c); !s) return s;
    for (const auto& r : restored) {
      auto q = db.prepare(
          "INSERT OR IGNORE INTO channel_messages (id, client_id, body) "
          "VALUES (?, ?, ?)");
      if (!q) return q.error();
      q->bind(1, to_db(r.message.position)).bind(2, r.client_id).bind_borrowed(3, r.message.text);
      if (auto s = q->run(); !s) return s;
    }
    for (std::uint64_t position : gone) {
      if (!storable(position)) continue;  // never stored, so nothing to forget
      auto q = db.prepare("DELETE FROM channel_messages WHERE id = ?");
      if (!q) return q.error();
      q->bind(1, to_db(position));
      if (auto s = q->run(); !s) return s;
    }
    {
      auto q = db.prepare(
          "DELETE FROM channel_messages WHERE client_id IN "
          "(SELECT client_id FROM channels WHERE expires_ms <= ?)");
      if (!q) return q.error();
      q->bind(1, now_ms);
      if (auto s = q->run(); !s) return s;
    }
    auto q = db.prepare("DELETE FROM channels WHERE expires_ms <= ?");
    if (!q) return q.error();
    q->bind(1, now_ms);
    return q->run();
  });
}

Result<std::vector<ChannelRecord>> SqliteStore::load_channels(std::int64_t now_ms,
                                                              std::size_t queue_limit) {
  return pool_.with_connection("load_channels", [&](Db& db) -> Result<std::vector<ChannelRecord>> {
    std::vector<ChannelRecord> out;
    std::unordered_map<std::string, std::size_t> index;
    {
      auto q = db.prepare(
          "SELECT client_id, expires_ms, connected FROM channels WHERE expires_ms > ? "
          "ORDER BY client_id");
      if (!q) return q.error();
      q->bind(1, now_ms);
      for (;;) {
        auto row = q->step();
        if (!row) return row.error();
        if (!*row) break;
        ChannelRecord c;
        c.client_id = q->column_text(0);
        c.expires_ms = q->column_int64(1);
        c.connected = q->column_int64(2) != 0;
        index.emplace(c.client_id, out.size());
        out.push_back(std::move(c));
      }
    }
    auto q = db.prepare("SELECT id, client_id, body FROM channel_messages ORDER BY id");
    if (!q) return q.error();
    for (;;) {
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) break;
      auto it = index.find(q->column_text(1));
      if (it == index.end()) continue;  // its channel expired: forgotten by the next save
      out[it->second].messages.push_back(
          ChannelMessage{from_db(q->column_int64(0)), q->column_text(2)});
    }
    for (auto& c : out)
      if (c.messages.size() > queue_limit)
        c.messages.erase(c.messages.begin(),
                         c.messages.end() - static_cast<std::ptrdiff_t>(queue_limit));
    return out;
  });
}

}  // namespace rtm
