// Message ids: unique per cluster and increasing in time (API.md section 2).
// Layout: (ms since 2024-01-01 UTC) << 22 | node (10 bits) << 12 | sequence (12 bits).
// Lock-free: one atomic holds the last id handed out; a clock step back keeps increasing.
#pragma once

#include <atomic>
#include <cstdint>

namespace rtm {

class MidGenerator {
 public:
  static constexpr std::int64_t kEpochMs = 1704067200000;  // 2024-01-01T00:00:00Z
  explicit MidGenerator(unsigned node_id) : node_(node_id & 0x3FF) {}

  // A new id for a message accepted at now_ms (Unix ms).
  std::uint64_t next(std::int64_t now_ms);

 private:
  const std::uint64_t node_;
  std::atomic<std::uint64_t> last_{0};
};

}  // namespace rtm
