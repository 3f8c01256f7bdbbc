// See engines.hpp.
#include "app/engines.hpp"

#include "broker/local/local_broker.hpp"
#include "logging/redact.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace rtm::app {

// A refused URL is echoed redacted: the line goes to the log, and the URL may hold a password.
Result<std::unique_ptr<Store>> open_store(const std::string& url) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.rfind(kSqlite, 0) == 0) {
    std::string path = url.substr(kSqlite.size());
    if (path.empty())
      return make_error(Rc::InvalidParameter, "--store sqlite: needs a path (sqlite:PATH)");
    return open_sqlite_store(path);
  }
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0)
    return make_error(Rc::InvalidParameter,
                      "--store postgres:// is not available in this version; use sqlite:PATH");
  return make_error(Rc::InvalidParameter,
                    "--store must be sqlite:PATH, got '" + logging::redact_url(url) + "'");
}

Result<std::unique_ptr<Broker>> open_broker(const std::string& url) {
  if (url == "local") return std::unique_ptr<Broker>(std::make_unique<LocalBroker>());
  if (url.rfind("redis://", 0) == 0)
    return make_error(Rc::InvalidParameter,
                      "--broker redis:// is not available in this version; use local");
  return make_error(Rc::InvalidParameter,
                    "--broker must be local, got '" + logging::redact_url(url) + "'");
}

}  // namespace rtm::app
