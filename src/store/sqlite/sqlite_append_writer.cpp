// The group-commit writer of the SQLite store (see sqlite_append_writer.hpp).
#include "store/sqlite/sqlite_append_writer.hpp"

#include <exception>
#include <utility>

#include "store/sqlite/sqlite_schema.hpp"

namespace rtm::sqlite {
namespace {

// A callback is the caller's code; if it throws, the writer must still answer the rest of the
// batch and keep serving, so the exception stops here.
void answer(const Store::AppendCallback& done, Result<AppendOutcome> outcome) noexcept {
  if (!done) return;
  try {
    done(std::move(outcome));
  } catch (...) {
  }
}

bool ids_storable(const Message& m) {
  return storable(m.mid) && storable(m.from) && storable(m.to) && storable(m.gid) &&
         storable(m.rid);
}

}  // namespace

Result<std::unique_ptr<AppendWriter>> AppendWriter::start(const std::string& path,
                                                          const Db::Options& options) {
  auto db = Db::open(path, options);
  if (!db) return db.error();
  std::unique_ptr<AppendWriter> writer(new AppendWriter(std::move(*db)));
  // Compiling the INSERT now makes a schema problem an open() error, not a failed append.
  if (auto q = writer->db_->prepare(insert_message_sql()); !q) return q.error();
  try {
    writer->thread_ = std::thread([w = writer.get()] { w->run(); });
    writer->thread_id_ = writer->thread_.get_id();
  } catch (const std::exception& e) {
    return Error{Rc::Unavailable,
                 std::string("sqlite: cannot start the writer thread: ") + e.what()};
  }
  return writer;
}

AppendWriter::~AppendWriter() { close(); }

void AppendWriter::append(Message message, Store::AppendCallback done) {
  Pending pending{std::move(message), std::move(done)};
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
  if (std::this_thread::get_id() == thread_id_) return;  // from a callback: see the header
  std::lock_guard join_lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

void AppendWriter::run() {
  std::vector<Pending> batch;
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return !queue_.empty() || closing_; });
    if (queue_.empty()) return;  // closing, and everything accepted has been answered
    batch.swap(queue_);          // everything queued so far goes into this one transaction
    lock.unlock();
    write_batch(batch);
    batch.clear();  // keeps its capacity for the next swap
    lock.lock();
  }
}

void AppendWriter::write_batch(std::vector<Pending>& batch) {
  std::vector<Result<AppendOutcome>> outcomes;
  Status written = ok_status();
  try {
    outcomes.reserve(batch.size());
    Transaction tx(*db_);
    written = tx.begin();
    if (written) written = insert_batch(batch, outcomes);
    if (written) written = tx.commit();
    // A failure leaves the transaction open; ~Transaction rolls it back, so nothing of the
    // batch stays, including the messages written before the failing one.
  } catch (const std::exception& e) {
    written = Error{Rc::Unavailable, std::string("sqlite: ") + e.what()};
  }

  if (!written) {
    Error e{Rc::Unavailable, "message not stored: " + written.error().msg};
    for (auto& p : batch) answer(p.done, e);
    return;
  }
  for (std::size_t i = 0; i < batch.size(); ++i) answer(batch[i].done, std::move(outcomes[i]));
}

Status AppendWriter::insert_batch(const std::vector<Pending>& batch,
                                  std::vector<Result<AppendOutcome>>& out) {
  for (const Pending& p : batch) {
    const Message& m = p.message;
    if (!ids_storable(m)) {
      out.push_back(Error{Rc::InvalidParameter, "ids above 9223372036854775807 cannot be stored"});
      continue;
    }
    auto insert = db_->prepare(insert_message_sql());
    if (!insert) return insert.error();
    bind_message_insert(*insert, m);
    if (auto s = insert->run(); !s) return s;
    if (insert->changes() == 1) {
      out.push_back(AppendOutcome{m.mid, m.mtime, false});
      continue;
    }
    // (from, mid) was there already, maybe from earlier in this very batch: the transaction
    // sees its own rows, so the first message's mtime is found either way.
    auto first = db_->prepare(message_mtime_sql());
    if (!first) return first.error();
    first->bind(1, to_db(m.from)).bind(2, to_db(m.mid));
    auto row = first->step();
    if (!row) return row.error();
    if (!*row)
      return Error{Rc::Internal, "sqlite: an insert conflicted but the first message is missing"};
    out.push_back(AppendOutcome{m.mid, first->column_int64(0), true});
  }
  return ok_status();
}

}  // namespace rtm::sqlite
