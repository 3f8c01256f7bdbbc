// See mid_generator.hpp for the id layout.
#include "core/mid_generator.hpp"

namespace rtm {

std::uint64_t MidGenerator::next(std::int64_t now_ms) {
  std::uint64_t ms = now_ms > kEpochMs ? static_cast<std::uint64_t>(now_ms - kEpochMs) : 0;
  std::uint64_t floor = (ms << 22) | (node_ << 12);
  std::uint64_t last = last_.load(std::memory_order_relaxed);
  for (;;) {
    std::uint64_t candidate;
    if (floor > last) {
      candidate = floor;
    } else if ((last & 0xFFF) < 0xFFF) {
      candidate = last + 1;  // same millisecond (or clock behind): next sequence number
    } else {
      // 4096 ids in one millisecond: borrow the next millisecond, keeping node bits.
      candidate = (((last >> 22) + 1) << 22) | (node_ << 12);
    }
    if (last_.compare_exchange_weak(last, candidate, std::memory_order_relaxed)) return candidate;
  }
}

}  // namespace rtm
