// LatencyHistogram: a fixed-size log-linear histogram of microsecond latencies (HDR-style:
// exact below 128 µs, then 64 buckets per power of two, ~1.6% resolution) with exact min/max.
// Recording is a few integer ops and no allocation; one histogram per worker thread, merged
// at the end.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

namespace rtm::bench {

class LatencyHistogram {
 public:
  void record(std::int64_t us) {
    std::uint64_t v = us < 0 ? 0 : static_cast<std::uint64_t>(us);
    ++counts_[index_of(v)];
    ++count_;
    sum_ += v;
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }

  void merge(const LatencyHistogram& o) {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
  }

  std::uint64_t count() const { return count_; }
  std::uint64_t max_us() const { return count_ ? max_ : 0; }
  std::uint64_t min_us() const { return count_ ? min_ : 0; }
  double mean_us() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }

  // The value at quantile q (0..1): the upper edge of the bucket holding the rank-th value,
  // capped at the exact maximum.
  std::uint64_t percentile_us(double q) const {
    if (count_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(upper_edge(i), max_);
    }
    return max_;
  }

 private:
  static constexpr unsigned kExactBits = 7;  // values < 128 have their own bucket
  static constexpr unsigned kSubBits = 6;    // 64 buckets per power of two above that
  static constexpr std::size_t kBuckets = (1u << kExactBits) + (64 - kExactBits) * (1u << kSubBits);

  static std::size_t index_of(std::uint64_t v) {
    if (v < (1u << kExactBits)) return static_cast<std::size_t>(v);
    unsigned msb = 63 - std::countl_zero(v);  // >= kExactBits
    unsigned shift = msb - kSubBits;          // >= 1
    std::uint64_t top = v >> shift;           // in [64, 127]
    return (1u << kExactBits) + (shift - 1) * (1u << kSubBits) + (top - (1u << kSubBits));
  }

  static std::uint64_t upper_edge(std::size_t i) {
    if (i < (1u << kExactBits)) return i;
    std::size_t j = i - (1u << kExactBits);
    unsigned shift = static_cast<unsigned>(j >> kSubBits) + 1;
    std::uint64_t top = (j & ((1u << kSubBits) - 1)) + (1u << kSubBits);
    return ((top + 1) << shift) - 1;
  }

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
};

}  // namespace rtm::bench
