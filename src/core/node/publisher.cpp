// Publisher: live deliveries to the broker, failures counted and logged (publisher.hpp).
#include "core/node/publisher.hpp"

#include "logging/log.hpp"

namespace rtm {

void Publisher::publish(Target target, EventBody payload, std::uint64_t position) {
  Target kept = target;  // for the log line, should the broker refuse
  broker_.publish(Publication{std::move(target), std::move(payload), position},
                  [this, kept = std::move(kept)](Status sent) {
                    if (!sent) failed(kept, sent.error());
                  });
}

void Publisher::failed(const Target& target, const Error& error) {
  failures_.fetch_add(1, std::memory_order_relaxed);
  std::uint64_t suppressed = 0;
  if (!log_budget_.admit("broker.publish_failed", suppressed)) return;
  logging::warn("broker.publish_failed",
                {{"target", target.text()}, {"error", error.msg}, {"suppressed", suppressed}});
}

}  // namespace rtm
