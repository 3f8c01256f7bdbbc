// sqlite_store_impl.hpp: SqliteStore, the object open_sqlite_store() answers (sqlite_store.hpp).
// One class implements every role interface of core/store.hpp over one connection pool
// (sqlite_pool.hpp) and one group-commit writer (sqlite_append_writer.hpp). Its methods are
// defined in one file per role, a layout another engine can take as it is:
//   sqlite_users.cpp       UserStore
//   sqlite_members.cpp     MembershipStore
//   sqlite_messages.cpp    MessageStore: appends go to the writer, history to the pool
//   sqlite_moderation.cpp  ModerationStore
//   sqlite_files.cpp       FileStore
//   sqlite_outbox.cpp      OutboxStore
//   sqlite_meta.cpp        MetaStore
//   sqlite_sessions.cpp    SessionStore
//   sqlite_server_events.cpp ServerEventStore
//   sqlite_channels.cpp    ChannelStore: appends go to the writer, the rest to the pool
//   sqlite_store.cpp       opening a file: the schema, the writer and the pool
// Only the files of this directory include it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/store.hpp"
#include "store/sqlite/sqlite_append_writer.hpp"
#include "store/sqlite/sqlite_db.hpp"
#include "store/sqlite/sqlite_pool.hpp"

namespace rtm {

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, sqlite::Db::Options options, std::unique_ptr<sqlite::Db> first,
              std::unique_ptr<sqlite::AppendWriter> writer)
      : pool_(std::move(path), options, std::move(first)), writer_(std::move(writer)) {}

  ~SqliteStore() override { writer_.reset(); }  // drains and joins before the pool goes

  // --- UserStore (sqlite_users.cpp) -----------------------------------------------------
  Result<Uid> add_user(const std::string& login, const std::string& password_hash,
                       Uid uid) override;
  Result<UserRecord> find_user(Uid uid) override;
  Result<UserRecord> find_user_by_login(const std::string& login) override;
  Status set_password(Uid uid, const std::string& password_hash) override;
  Status delete_user(Uid uid) override;

  // --- MembershipStore (sqlite_members.cpp) ---------------------------------------------
  Status add_group_members(Gid gid, const std::vector<Uid>& uids) override;
  Status del_group_members(Gid gid, const std::vector<Uid>& uids) override;
  Result<std::vector<Uid>> group_members(Gid gid) override;
  Result<bool> is_group_member(Gid gid, Uid uid) override;
  Status delete_group(Gid gid) override;
  Result<std::vector<Gid>> user_groups(Uid uid) override;
  Status add_room_member(Rid rid, Uid uid) override;
  Status del_room_member(Rid rid, Uid uid) override;
  Result<std::vector<Uid>> room_members(Rid rid) override;
  Result<bool> is_room_member(Rid rid, Uid uid) override;

  // --- MessageStore (sqlite_messages.cpp) -----------------------------------------------
  void append_message(Message message, AppendCallback done) override;
  void append_file_message(Message message, FileRecord file, AppendCallback done) override;
  Result<std::vector<Message>> history(const HistoryQuery& query) override;
  Result<std::vector<StreamedMessage>> messages_after(std::uint64_t position,
                                                      std::size_t limit) override;
  Result<std::uint64_t> last_position() override;

  // --- ModerationStore (sqlite_moderation.cpp) ------------------------------------------
  Status put_ban(const Ban& ban) override;
  Status delete_ban(BanScope scope, std::uint64_t target, Uid uid) override;
  Result<std::vector<Ban>> bans() override;

  // --- FileStore (sqlite_files.cpp) -----------------------------------------------------
  Result<FileRecord> find_file(const std::string& id) override;
  Result<std::vector<FileRecord>> list_files(std::int64_t before_ms, std::size_t limit) override;
  Result<std::size_t> delete_files_before(std::int64_t before_ms) override;
  Result<std::vector<std::string>> blobs_in_use() override;
  Status put_upload_grant(const std::string& token, const std::string& grant,
                          std::int64_t expires_ms) override;
  Result<std::optional<StoredUploadGrant>> take_upload_grant(const std::string& token) override;
  Result<std::size_t> delete_expired_upload_grants(std::int64_t now_ms) override;

  // --- OutboxStore (sqlite_outbox.cpp) --------------------------------------------------
  Result<std::uint64_t> outbox_add(const std::string& url, const std::string& body,
                                   std::int64_t now_ms) override;
  Result<std::vector<OutboxEntry>> outbox_due(std::int64_t now_ms, std::size_t limit) override;
  Status outbox_delivered(std::uint64_t id) override;
  Status outbox_failed(std::uint64_t id, int attempts, std::int64_t next_at_ms, bool dead,
                       const std::string& error) override;
  Result<std::vector<OutboxEntry>> outbox_dead(std::size_t limit) override;
  Result<std::uint64_t> outbox_dead_count() override;

  // --- MetaStore (sqlite_meta.cpp) ------------------------------------------------------
  Result<std::string> get_or_init_meta(const std::string& key,
                                       const std::string& fallback) override;
  Status put_meta(const std::string& key, const std::string& value) override;

  // --- SessionStore (sqlite_sessions.cpp) -----------------------------------------------
  Status save_session(const SessionRecord& record) override;
  Status save_session_positions(const std::vector<SessionPositions>& positions) override;
  Status delete_session(const std::string& id) override;
  Result<std::vector<SessionRecord>> load_sessions() override;

  // --- ServerEventStore (sqlite_server_events.cpp) ------------------------------------------
  Status save_server_events(const std::vector<std::pair<std::uint64_t, std::string>>& events,
                            std::uint64_t cursor, std::size_t keep) override;
  Result<StoredServerEvents> load_server_events(std::size_t keep) override;

  // --- ChannelStore (sqlite_channels.cpp) --------------------------------------------------
  void append_channel_message(const std::string& client_id, std::int64_t expires_ms,
                              std::string text, ChannelAppendCallback done) override;
  Status save_channel(const ChannelRecord& channel) override;
  Status save_channels(const std::vector<ChannelRecord>& channels,
                       const std::vector<ChannelMessageRow>& restored,
                       const std::vector<std::uint64_t>& gone, std::int64_t now_ms) override;
  Result<std::vector<ChannelRecord>> load_channels(std::int64_t now_ms,
                                                   std::size_t queue_limit) override;

  void close() override { writer_->close(); }

 private:
  sqlite::ConnectionPool pool_;
  std::unique_ptr<sqlite::AppendWriter> writer_;
};

}  // namespace rtm
