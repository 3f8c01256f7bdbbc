// /metrics: the engine's and the calls' counters in the Prometheus text format.
#pragma once

#include <cstdint>
#include <string>

#include "api/call_metrics.hpp"
#include "core/node/node.hpp"

namespace rtm::api {

std::string render_metrics(const NodeStats& node, const CallMetrics& calls);
// The webhook sender's counters (webhooks/webhook_sender.hpp).
std::string render_webhook_metrics(std::uint64_t delivered, std::uint64_t failed_attempts,
                                   std::uint64_t dead_letters);

}  // namespace rtm::api
