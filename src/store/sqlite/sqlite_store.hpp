// sqlite_store.hpp: the embedded SQLite engine of rtm::Store, the one-node default (`sqlite:`
// URLs). Everything lives in one database file in WAL mode: appends go through a group-commit
// writer thread, other calls run on a small pool of connections so that reads from many
// threads proceed in parallel. Several processes may open the same file; SQLite's locks and
// the busy timeout arbitrate between them.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "core/store.hpp"

namespace rtm {

struct SqliteStoreOptions {
  // How long a call waits for another connection's write lock (another process on the same
  // file, the sqlite3 shell, or a long batch of this store's writer) before it answers
  // Unavailable. Within one process the store's own connections rarely wait long.
  std::chrono::milliseconds busy_timeout{5000};
  // Test seam: runs on the writer thread each time before it takes the queued appends. A test
  // that blocks in it gets everything appended meanwhile written as one batch.
  std::function<void()> before_batch;
};

// Opens the database file at `path`, creating it and its schema if needed. A path that cannot
// be opened (a missing directory, a file that is not a database, another schema version)
// answers Unavailable with a one-line reason. The path is a file name: ":memory:" and other
// special names are not supported, since the store opens several connections to one file.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path);
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path,
                                                 const SqliteStoreOptions& options);

}  // namespace rtm
