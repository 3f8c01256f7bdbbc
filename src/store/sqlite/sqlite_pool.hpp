// sqlite_pool.hpp: the connections of one SQLite store. Every synchronous Store call borrows
// a connection for its length and gives it back (WAL lets readers on separate connections run
// in parallel), runs its SQL through with_connection() or in_write_transaction(), and gets
// errors as values: no exception leaves a store call, and failures of the store itself are
// logged as `store.error` (sqlite_error_log.hpp). Appends do not come here: they have the
// group-commit writer's own connection (sqlite_append_writer.hpp).
#pragma once

#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "store/sqlite/sqlite_db.hpp"
#include "store/sqlite/sqlite_error_log.hpp"

namespace rtm::sqlite {

class ConnectionPool {
 public:
  // `first` is a connection already open on `path` (the one that created the schema).
  ConnectionPool(std::string path, Db::Options options, std::unique_ptr<Db> first);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Runs body(Db&) on a pooled connection; whatever escapes as an exception becomes Internal,
  // since no exception may leave the Store interface. A failure of the store itself is
  // logged as `store.error` with `op`, the Store method (sqlite_error_log.hpp).
  template <class F>
  auto with_connection(std::string_view op, F&& body) -> decltype(body(std::declval<Db&>()));
  // Runs body(Db&) inside BEGIN IMMEDIATE ... COMMIT; an error from body rolls back, so a
  // failed call leaves nothing of itself behind.
  template <class F>
  auto in_write_transaction(std::string_view op, F&& body) -> decltype(body(std::declval<Db&>()));

 private:
  // Idle connections kept for reuse; more than this many at once are opened for the burst
  // and closed after it.
  static constexpr std::size_t kMaxIdle = 16;

  // A connection on loan to one call, given back to the pool when the call ends. One per call
  // rather than one shared: WAL lets readers on separate connections run in parallel.
  class Conn {
   public:
    Conn(ConnectionPool* pool, std::unique_ptr<Db> db) : pool_(pool), db_(std::move(db)) {}
    Conn(Conn&& other) noexcept = default;
    Conn& operator=(Conn&&) = delete;
    ~Conn() {
      if (db_) pool_->give_back(std::move(db_));
    }
    Db& operator*() { return *db_; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Db> db_;
  };

  Result<Conn> take_connection();
  void give_back(std::unique_ptr<Db> db);

  const std::string path_;
  const Db::Options options_;

  std::mutex pool_mu_;  // guards idle_
  std::vector<std::unique_ptr<Db>> idle_;

  // Serializes this process's synchronous write transactions, so that they queue here instead
  // of in SQLite's busy handler, which polls with sleeps of up to 100 ms. They still contend
  // with the writer thread and other processes through the busy timeout.
  std::mutex write_mu_;
};

template <class F>
auto ConnectionPool::with_connection(std::string_view op, F&& body)
    -> decltype(body(std::declval<Db&>())) {
  using R = decltype(body(std::declval<Db&>()));
  R result = [&]() -> R {
    try {
      auto conn = take_connection();
      if (!conn) return conn.error();
      return body(**conn);
    } catch (const std::exception& e) {
      return Error{Rc::Internal, std::string("sqlite store: ") + e.what()};
    }
  }();
  if (!result) log_store_error(op, result.error());
  return result;
}

template <class F>
auto ConnectionPool::in_write_transaction(std::string_view op, F&& body)
    -> decltype(body(std::declval<Db&>())) {
  return with_connection(op, [&](Db& db) -> decltype(body(db)) {
    std::lock_guard lock(write_mu_);
    Transaction tx(db);
    if (auto s = tx.begin(); !s) return s.error();
    auto result = body(db);
    if (!result) return result;  // ~Transaction rolls back
    if (auto s = tx.commit(); !s) return s.error();
    return result;
  });
}

}  // namespace rtm::sqlite
