// sqlite_append_writer.hpp: the group-commit writer of the SQLite store. Appends from any
// thread queue up; one thread with its own connection takes everything queued, writes it in
// one transaction (one fsync for the whole batch), and only after COMMIT returns answers each
// append's callback. One fsync costs milliseconds, so committing messages one by one would
// cap a node at a few hundred sends a second; a batch costs about the same as one message.
#pragma once

#include <condition_variable>
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
  // Opens the writer's connection to `path` (whose schema must exist) and starts its thread.
  static Result<std::unique_ptr<AppendWriter>> start(const std::string& path,
                                                     const Db::Options& options);

  // Closes (see close()). Must not run on the writer thread, i.e. not from a callback.
  ~AppendWriter();
  AppendWriter(const AppendWriter&) = delete;
  AppendWriter& operator=(const AppendWriter&) = delete;

  // Queues `message`; `done` runs on the writer thread once its batch committed (or failed:
  // then Unavailable, and nothing of the batch was kept). After close(), `done` runs at once
  // on the calling thread with Unavailable.
  void append(Message message, Store::AppendCallback done);

  // Stops taking appends, writes what is queued, runs its callbacks and joins the thread.
  // Safe to call more than once and from several threads; each call returns once the queue
  // is drained. Called from a callback it only stops the intake (the thread cannot join
  // itself); the destructor joins.
  void close();

 private:
  struct Pending {
    Message message;
    Store::AppendCallback done;
  };

  explicit AppendWriter(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  void run();
  // Writes `batch` in one transaction and answers every callback.
  void write_batch(std::vector<Pending>& batch);
  // The outcome of each message of `batch`, in order, once they are all written (the caller
  // commits); or the error that makes the whole batch fail.
  Status insert_batch(const std::vector<Pending>& batch, std::vector<Result<AppendOutcome>>& out);

  std::unique_ptr<Db> db_;  // used only by the writer thread once it runs

  std::mutex mu_;  // guards queue_ and closing_
  std::condition_variable wake_;
  std::vector<Pending> queue_;
  bool closing_ = false;

  std::mutex join_mu_;  // guards thread_: one close() joins, concurrent ones wait for it
  std::thread thread_;
  std::thread::id thread_id_;  // set before the writer is shared; read without a lock
};

}  // namespace rtm::sqlite
