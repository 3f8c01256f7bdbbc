// Chooses the Store and Broker engines from their URLs (API.md section 1), and the live
// state's engines with the broker. The only place that names concrete engines; the core
// sees the interfaces.
#pragma once

#include <memory>
#include <string>

#include "core/broker.hpp"
#include "core/live_state.hpp"
#include "core/node/node_config.hpp"
#include "core/result.hpp"
#include "core/store.hpp"

namespace rtm::app {

// sqlite:PATH. postgres:// is refused until that engine exists.
Result<std::unique_ptr<Store>> open_store(const std::string& url);
// local. redis:// is refused until that engine exists.
Result<std::unique_ptr<Broker>> open_broker(const std::string& url);

// The engines of the live state (core/live_state.hpp), owned together; state() is what the
// Node takes. They must outlive it.
struct LiveEngines {
  std::unique_ptr<ServerEventLog> server_events;
  std::unique_ptr<ChannelQueues> channels;
  LiveState state() const { return LiveState{*server_events, *channels}; }
};
// Chosen by the broker's URL, which names where the cluster's shared state lives: `local`
// gives this process's engines (LocalServerEventLog, LocalChannelQueues) with the limits of
// `config`. A Redis broker will bring its own engines here, on the same server.
Result<LiveEngines> open_live_state(const std::string& broker_url, const NodeConfig& config);

}  // namespace rtm::app
