// The group-commit writer of the SQLite store (see sqlite_append_writer.hpp).
#include "store/sqlite/sqlite_append_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

#include "logging/log.hpp"
#include "store/sqlite/sqlite_error_log.hpp"
#include "store/sqlite/sqlite_schema.hpp"

namespace rtm::sqlite {
namespace {

// A callback is the caller's code; if it throws, the syncer must still answer the rest of the
// batch and keep serving, so the exception stops here, with a log line: what the callback
// had not done yet is lost (its caller makes sure its own answer comes first,
// MessageService::store_and_deliver).
void answer(const Store::AppendCallback& done, Result<AppendOutcome> outcome) noexcept {
  if (!done) return;
  try {
    done(std::move(outcome));
  } catch (const std::exception& e) {
    logging::error("store.callback_threw", {{"op", "append_message"}, {"error", e.what()}});
  } catch (...) {
    logging::error("store.callback_threw",
                   {{"op", "append_message"}, {"error", "not a std::exception"}});
  }
}

// The writer whose thread this is, on its writer and syncer threads. A thread id would not
// do: once a thread is joined, a new thread may get its id.
thread_local const AppendWriter* tl_store_thread_of = nullptr;

bool ids_storable(const Message& m) {
  return storable(m.mid) && storable(m.client_mid) && storable(m.from) && storable(m.to) &&
         storable(m.gid) && storable(m.rid);
}

Error os_error(const std::string& what) {
  return Error{Rc::Unavailable, "sqlite: " + what + ": " + std::strerror(errno)};
}

}  // namespace

Result<std::unique_ptr<AppendWriter>> AppendWriter::start(const std::string& path,
                                                          const Db::Options& options,
                                                          std::function<void()> before_batch) {
  auto db = Db::open(path, options);
  if (!db) return db.error();
  // The syncer makes commits durable (see the header); the connection itself only writes.
  if (auto s = (*db)->exec("PRAGMA synchronous = NORMAL"); !s) return s.error();
  std::unique_ptr<AppendWriter> writer(new AppendWriter(path + "-wal", std::move(*db)));
  writer->before_batch_ = std::move(before_batch);
  // Compiling the INSERT now makes a schema problem an open() error, not a failed append.
  if (auto q = writer->db_->prepare(insert_message_sql()); !q) return q.error();
  try {
    writer->syncer_ = std::thread([w = writer.get()] { w->run_syncer(); });
    writer->writer_ = std::thread([w = writer.get()] { w->run_writer(); });
  } catch (const std::exception& e) {
    writer->close();  // joins the syncer if it started
    return Error{Rc::Unavailable,
                 std::string("sqlite: cannot start the writer threads: ") + e.what()};
  }
  return writer;
}

AppendWriter::~AppendWriter() {
  close();
  if (wal_fd_ >= 0) ::close(wal_fd_);
}

void AppendWriter::append(Message message, Store::AppendCallback done) {
  enqueue(Pending{std::move(message), std::move(done), nullptr, nullptr});
}

void AppendWriter::append(Message message, FileRecord file, Store::AppendCallback done) {
  enqueue(Pending{std::move(message), std::move(done),
                  std::make_unique<FileRecord>(std::move(file)), nullptr});
}

void AppendWriter::append_channel(std::string client_id, std::int64_t expires_ms, std::string text,
                                  Store::AppendCallback done) {
  Message m;
  m.msg = std::move(text);
  enqueue(
      Pending{std::move(m), std::move(done), nullptr,
              std::make_unique<ChannelAppend>(ChannelAppend{std::move(client_id), expires_ms})});
}

void AppendWriter::enqueue(Pending pending) {
  // A queued send is its message, its callback and two pointers: a file's record and a
  // channel stay off it.
  static_assert(sizeof(Pending) <=
                sizeof(Message) + sizeof(Store::AppendCallback) + 2 * sizeof(void*));
  const char* refusal = "the store is closed";
  {
    std::lock_guard lock(mu_);
    if (!closing_) {
      try {
        // A failed push_back (out of memory) leaves `pending` as it was: it is answered below.
        queue_.push_back(std::move(pending));
        wake_.notify_one();
        return;
      } catch (const std::exception&) {
        refusal = "sqlite: out of memory queueing the message";
      }
    }
  }
  // Outside the lock: the callback may append again.
  answer(pending.done, Error{Rc::Unavailable, refusal});
}

void AppendWriter::close() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  wake_.notify_one();
  if (tl_store_thread_of == this) return;  // from a callback: see the header
  std::lock_guard join_lock(join_mu_);
  if (writer_.joinable()) {
    writer_.join();
  } else {
    // The writer never started (start() failed): the syncer still waits for its word.
    std::lock_guard lock(sync_mu_);
    writer_done_ = true;
  }
  sync_wake_.notify_one();
  if (syncer_.joinable()) syncer_.join();
}

void AppendWriter::run_writer() {
  tl_store_thread_of = this;
  std::vector<Pending> batch;
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return !queue_.empty() || closing_; });
    if (queue_.empty()) break;  // closing, and everything accepted has been written
    if (before_batch_) {
      lock.unlock();
      before_batch_();
      lock.lock();
    }
    batch.swap(queue_);  // everything queued so far goes into this one transaction
    lock.unlock();
    Committed done = write_batch(std::move(batch));
    batch = std::vector<Pending>();
    {
      std::lock_guard sync_lock(sync_mu_);
      committed_.push_back(std::move(done));
    }
    sync_wake_.notify_one();
    lock.lock();
  }
  lock.unlock();
  {
    std::lock_guard sync_lock(sync_mu_);
    writer_done_ = true;
  }
  sync_wake_.notify_one();
}

void AppendWriter::run_syncer() {
  tl_store_thread_of = this;
  std::vector<Committed> ready;
  for (;;) {
    {
      std::unique_lock lock(sync_mu_);
      sync_wake_.wait(lock, [this] { return !committed_.empty() || writer_done_; });
      if (committed_.empty()) return;  // the writer stopped and everything is answered
      ready.swap(committed_);          // one fdatasync covers every batch committed so far
    }
    bool any_written = false;
    for (const auto& c : ready) any_written = any_written || c.written;
    Status synced = any_written ? sync_wal() : ok_status();
    for (auto& c : ready) {
      if (c.written && !synced) c.written = synced;
      if (!c.written) {
        log_store_error("append_message", c.written.error());
        Error e{Rc::Unavailable, "message not stored: " + c.written.error().msg};
        for (auto& p : c.batch) answer(p.done, e);
        continue;
      }
      for (std::size_t i = 0; i < c.batch.size(); ++i)
        answer(c.batch[i].done, std::move(c.outcomes[i]));
    }
    ready.clear();
  }
}

Status AppendWriter::sync_wal() {
  // SQLite deletes the WAL only when its last connection closes; a new one may appear after
  // that, so a descriptor of an unlinked file is reopened rather than synced.
  if (wal_fd_ >= 0) {
    struct stat st {};
    if (::fstat(wal_fd_, &st) != 0 || st.st_nlink == 0) {
      ::close(wal_fd_);
      wal_fd_ = -1;
    }
  }
  if (wal_fd_ < 0) {
    wal_fd_ = ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (wal_fd_ < 0) return os_error("cannot open '" + wal_path_ + "' to sync it");
  }
  while (::fdatasync(wal_fd_) != 0) {
    if (errno != EINTR) return os_error("fdatasync of '" + wal_path_ + "' failed");
  }
  return ok_status();
}

AppendWriter::Committed AppendWriter::write_batch(std::vector<Pending> batch) {
  Committed c;
  c.batch = std::move(batch);
  try {
    c.outcomes.reserve(c.batch.size());
    Transaction tx(*db_);
    c.written = tx.begin();
    if (c.written) c.written = insert_batch(c.batch, c.outcomes);
    if (c.written) c.written = tx.commit();
    // A failure leaves the transaction open; ~Transaction rolls it back, so nothing of the
    // batch stays, including the messages written before the failing one.
  } catch (const std::exception& e) {
    c.written = Error{Rc::Unavailable, std::string("sqlite: ") + e.what()};
  }
  return c;
}

Status AppendWriter::insert_batch(const std::vector<Pending>& batch,
                                  std::vector<Result<AppendOutcome>>& out) {
  for (const Pending& p : batch) {
    if (p.channel) {
      if (auto s = insert_channel_message(p, out); !s) return s;
      continue;
    }
    const Message& m = p.message;
    if (!ids_storable(m) || (p.file && !file_storable(*p.file))) {
      out.push_back(Error{Rc::InvalidParameter, "ids above 9223372036854775807 cannot be stored"});
      continue;
    }
    if (p.file) {
      // The record first, in the same transaction: a batch that fails keeps neither.
      auto file = db_->prepare(insert_file_sql());
      if (!file) return file.error();
      bind_file_insert(*file, *p.file);
      if (auto s = file->run(); !s) return s;
    }
    auto insert = db_->prepare(insert_message_sql());
    if (!insert) return insert.error();
    bind_message_insert(*insert, m);
    if (auto s = insert->run(); !s) return s;
    if (insert->changes() == 1) {
      out.push_back(AppendOutcome{m.mid, m.mtime, false,
                                  static_cast<std::uint64_t>(insert->last_insert_rowid())});
      continue;
    }
    // (from, client_mid) was there already, maybe from earlier in this very batch: the
    // transaction sees its own rows, so the first message is found either way.
    auto first = db_->prepare(first_message_sql());
    if (!first) return first.error();
    first->bind(1, to_db(m.from)).bind(2, to_db(m.client_mid));
    auto row = first->step();
    if (!row) return row.error();
    if (!*row)
      return Error{Rc::Internal, "sqlite: an insert conflicted but the first message is missing"};
    out.push_back(AppendOutcome{from_db(first->column_int64(0)), first->column_int64(1), true});
  }
  return ok_status();
}

Status AppendWriter::insert_channel_message(const Pending& p,
                                            std::vector<Result<AppendOutcome>>& out) {
  {
    // The channel with it: a message whose channel was never saved would not come back.
    auto q = db_->prepare(
        "INSERT INTO channels (client_id, expires_ms, connected) VALUES (?, ?, 0) "
        "ON CONFLICT (client_id) DO UPDATE SET expires_ms = max(expires_ms, excluded.expires_ms)");
    if (!q) return q.error();
    q->bind(1, p.channel->client_id).bind(2, p.channel->expires_ms);
    if (auto s = q->run(); !s) return s;
  }
  auto q = db_->prepare("INSERT INTO channel_messages (client_id, body) VALUES (?, ?)");
  if (!q) return q.error();
  q->bind(1, p.channel->client_id).bind(2, p.message.msg);
  if (auto s = q->run(); !s) return s;
  AppendOutcome o;
  o.position = static_cast<std::uint64_t>(q->last_insert_rowid());
  out.push_back(o);
  return ok_status();
}

}  // namespace rtm::sqlite
