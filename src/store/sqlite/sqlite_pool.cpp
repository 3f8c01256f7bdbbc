// The connection pool of the SQLite store (see sqlite_pool.hpp).
#include "store/sqlite/sqlite_pool.hpp"

namespace rtm::sqlite {

ConnectionPool::ConnectionPool(std::string path, Db::Options options, std::unique_ptr<Db> first)
    : path_(std::move(path)), options_(options) {
  idle_.push_back(std::move(first));
}

Result<ConnectionPool::Conn> ConnectionPool::take_connection() {
  {
    std::lock_guard lock(pool_mu_);
    if (!idle_.empty()) {
      std::unique_ptr<Db> db = std::move(idle_.back());
      idle_.pop_back();
      return Conn(this, std::move(db));
    }
  }
  auto db = Db::open(path_, options_);  // outside the lock: opening touches the file
  if (!db) return db.error();
  return Conn(this, std::move(*db));
}

void ConnectionPool::give_back(std::unique_ptr<Db> db) {
  std::lock_guard lock(pool_mu_);
  if (idle_.size() < kMaxIdle) idle_.push_back(std::move(db));
}

}  // namespace rtm::sqlite
