// See engines.hpp.
#include "app/engines.hpp"

#include "broker/local/local_broker.hpp"
#include "core/local_channel_queues.hpp"
#include "core/local_server_event_log.hpp"
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

Result<LiveEngines> open_live_state(const std::string& broker_url, const NodeConfig& config) {
  if (broker_url != "local")
    return make_error(Rc::InvalidParameter, "the live state has no engine for --broker '" +
                                                logging::redact_url(broker_url) + "'; use local");
  LiveEngines engines;
  engines.server_events = std::make_unique<LocalServerEventLog>(config.server_events_limit);
  engines.channels = std::make_unique<LocalChannelQueues>(
      ChannelOptions{config.channel_queue_limit, config.channel_timeout_ms});
  return engines;
}

}  // namespace rtm::app
