// sqlite_append_writer.hpp: the group-commit writer of the SQLite store, a two-stage pipeline.
//
// Appends from any thread queue up. The writer thread takes everything queued and writes it
// in one transaction; its connection commits without an fsync (synchronous=NORMAL), so the
// commit only hands the WAL frames to the OS. The syncer thread then makes every batch
// committed so far durable with one fdatasync of the WAL file and only after it returns runs
// the batches' callbacks, in commit order. While one batch is being synced the next one is
// already being written, so a node is bounded by the slower of the two stages, not by their
// sum; one fsync costs about as much as writing a whole batch on these machines.
//
// Why an fdatasync of our own descriptor is enough: fdatasync flushes the file (the inode),
// whatever descriptor wrote to it, and SQLite keeps one WAL file for as long as a connection
// is open. Checkpoints run on the writer's connection and, at synchronous=NORMAL, sync the
// WAL before copying it into the database and the database after, so frames are never
// overwritten before they are durable.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.hpp"
#include "core/store.hpp"
#include "store/sqlite/sqlite_db.hpp"

namespace rtm::sqlite {

class AppendWriter {
 public:
  // Opens the writer's connection to `path` (whose schema must exist) and starts its threads.
  // `before_batch`, if set, runs on the writer thread each time before it takes the queue
  // (a test seam, see SqliteStoreOptions).
  static Result<std::unique_ptr<AppendWriter>> start(const std::string& path,
                                                     const Db::Options& options,
                                                     std::function<void()> before_batch = {});
  // Closes (see close()). Must not run on a store thread, i.e. not from a callback.
  ~AppendWriter();
  AppendWriter(const AppendWriter&) = delete;
  AppendWriter& operator=(const AppendWriter&) = delete;

  // Queues `message`; `done` runs on the syncer thread once its batch is committed and
  // synced (or failed: then Unavailable, and nothing of the batch was kept). After close(),
  // `done` runs at once on the calling thread with Unavailable.
  void append(Message message, Store::AppendCallback done);
  // The same, with the record of the file the message announces, inserted in the message's
  // transaction (Store::append_file_message).
  void append(Message message, FileRecord file, Store::AppendCallback done);
  // A channel message (ChannelStore::append_channel_message) in the same pipeline: its
  // outcome's position is its row's, and its callback runs in commit order with the rest.
  void append_channel(std::string client_id, std::int64_t expires_ms, std::string text,
                      Store::AppendCallback done);

  // Stops taking appends, writes and syncs what is queued, runs its callbacks and joins the
  // threads. Safe to call more than once and from several threads; each call returns once
  // the queue is drained. Called from a callback it only stops the intake (a thread cannot
  // join itself); the destructor joins.
  void close();

 private:
  // The channel a channel message goes to; its text is the Pending's message.msg.
  struct ChannelAppend {
    std::string client_id;
    std::int64_t expires_ms = 0;
  };
  struct Pending {
    Message message;
    Store::AppendCallback done;
    // Behind pointers: most sends announce no file and go to no channel, and a FileRecord
    // inline would make every queued message ~216 bytes larger.
    std::unique_ptr<FileRecord> file;
    std::unique_ptr<ChannelAppend> channel;
  };
  void enqueue(Pending pending);
  // A batch the writer finished: its outcomes if it committed, or the error for all of it.
  struct Committed {
    std::vector<Pending> batch;
    std::vector<Result<AppendOutcome>> outcomes;
    Status written = ok_status();
  };

  AppendWriter(std::string wal_path, std::unique_ptr<Db> db)
      : wal_path_(std::move(wal_path)), db_(std::move(db)) {}
  void run_writer();
  void run_syncer();
  // Writes `batch` in one transaction; what happened goes to the syncer.
  Committed write_batch(std::vector<Pending> batch);
  // The outcome of each message of `batch`, in order, once they are all written (the caller
  // commits); or the error that makes the whole batch fail.
  Status insert_batch(const std::vector<Pending>& batch, std::vector<Result<AppendOutcome>>& out);
  // One channel message of a batch: the channel's row, then the message's.
  Status insert_channel_message(const Pending& p, std::vector<Result<AppendOutcome>>& out);
  // fdatasync of the WAL file; reopens it if SQLite has replaced it since the last call.
  Status sync_wal();

  const std::string wal_path_;
  std::function<void()> before_batch_;
  std::unique_ptr<Db> db_;  // used only by the writer thread once it runs
  int wal_fd_ = -1;         // used only by the syncer thread once it runs

  std::mutex mu_;  // guards queue_ and closing_
  std::condition_variable wake_;
  std::vector<Pending> queue_;
  bool closing_ = false;

  std::mutex sync_mu_;  // guards committed_ and writer_done_
  std::condition_variable sync_wake_;
  std::vector<Committed> committed_;
  bool writer_done_ = false;

  std::mutex join_mu_;  // guards the threads: one close() joins, concurrent ones wait for it
  std::thread writer_;
  std::thread syncer_;
};

}  // namespace rtm::sqlite
