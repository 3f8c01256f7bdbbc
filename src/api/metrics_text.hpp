// /metrics: the engine's and the calls' counters in the Prometheus text format.
#pragma once

#include <string>

#include "api/call_metrics.hpp"
#include "core/engine.hpp"

namespace rtm::api {

std::string render_metrics(const EngineStats& engine, const CallMetrics& calls);

}  // namespace rtm::api
