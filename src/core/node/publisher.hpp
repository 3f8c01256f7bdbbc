// Publisher: how the services hand live deliveries to the broker. A broker that cannot be
// reached loses live delivery only: what is delivered is durable before it is published (or
// ephemeral by nature), so the act that made it still succeeds. Such losses are counted
// (rtm_broker_publish_failures_total) and logged at most once a second, never thrown away
// unseen. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/broker.hpp"
#include "logging/line_budget.hpp"

namespace rtm {

class Publisher {
 public:
  explicit Publisher(Broker& broker) : broker_(broker) {}

  // `position`: a stored message's place in the stream (Publication::position).
  void publish(Target target, EventBody payload, std::uint64_t position = 0);
  std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  void failed(const Target& target, const Error& error);

  Broker& broker_;
  std::atomic<std::uint64_t> failures_{0};
  logging::LineBudget log_budget_{1};
};

}  // namespace rtm
