// Chooses the Store and Broker engines from their URLs (API.md section 1). The only place
// that names concrete engines; the core sees the interfaces.
#pragma once

#include <memory>
#include <string>

#include "core/broker.hpp"
#include "core/result.hpp"
#include "core/store.hpp"

namespace rtm::app {

// sqlite:PATH. postgres:// is refused until that engine exists.
Result<std::unique_ptr<Store>> open_store(const std::string& url);
// local. redis:// is refused until that engine exists.
Result<std::unique_ptr<Broker>> open_broker(const std::string& url);

}  // namespace rtm::app
