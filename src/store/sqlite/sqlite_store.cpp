// Opening the SQLite store: the file, its schema, the group-commit writer and the connection
// pool of one SqliteStore (sqlite_store_impl.hpp; its methods live in one file per role).
#include "store/sqlite/sqlite_store.hpp"

#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "store/sqlite/sqlite_append_writer.hpp"
#include "store/sqlite/sqlite_db.hpp"
#include "store/sqlite/sqlite_schema.hpp"
#include "store/sqlite/sqlite_store_impl.hpp"

namespace rtm {
namespace {

using sqlite::Db;

// Errors of opening name the file, and say Unavailable whatever SQLite's code was: a file
// that cannot be used is a store that cannot be reached.
Error open_error(const std::string& path, Error e) {
  constexpr std::string_view kPrefix = "sqlite: ";
  std::string_view why = e.msg;
  if (why.substr(0, kPrefix.size()) == kPrefix) why.remove_prefix(kPrefix.size());
  if (why.find(path) == std::string_view::npos)
    e.msg = "sqlite: cannot use '" + path + "': " + std::string(why);
  e.rc = Rc::Unavailable;
  return e;
}

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path) {
  return open_sqlite_store(path, SqliteStoreOptions{});
}

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path,
                                                 const SqliteStoreOptions& options) {
  try {
    Db::Options db_options{options.busy_timeout};
    auto first = Db::open(path, db_options);
    if (!first) return open_error(path, first.error());
    if (auto s = sqlite::create_schema(**first); !s) return open_error(path, s.error());
    auto writer = sqlite::AppendWriter::start(path, db_options, options.before_batch);
    if (!writer) return open_error(path, writer.error());
    return std::unique_ptr<Store>(
        new SqliteStore(path, db_options, std::move(*first), std::move(*writer)));
  } catch (const std::exception& e) {
    return Error{Rc::Unavailable, "sqlite: cannot use '" + path + "': " + e.what()};
  }
}

}  // namespace rtm
