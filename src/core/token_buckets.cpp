// See token_buckets.hpp.
#include "core/token_buckets.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <memory>
#include <string>

namespace rtm {

RateLimiterFactory local_rate_limiters() {
  return [](const RateLimit& limit) { return std::make_unique<TokenBuckets>(limit); };
}

void TokenBuckets::refill(Bucket& b, std::int64_t now_ms) const {
  // A clock that went back refills nothing rather than draining the bucket.
  if (now_ms <= b.updated_ms) return;
  double dripped = static_cast<double>(now_ms - b.updated_ms) * limit_.per_second / 1000.0;
  b.tokens = std::min(limit_.burst, b.tokens + dripped);
  b.updated_ms = now_ms;
}

std::int64_t TokenBuckets::ms_until(const Bucket& b, double want) const {
  // Less a hair, so that floating-point dust (0.998 tokens after 499 ms at 2/s) does not
  // round one millisecond up into two.
  double wait_ms = (want - b.tokens) * 1000.0 / limit_.per_second;
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait_ms - 1e-6)));
}

void TokenBuckets::forget(Buckets::iterator it) {
  index_.erase(std::string_view(it->key));
  buckets_.erase(it);
}

std::int64_t TokenBuckets::take(const std::string& key, std::int64_t now_ms) {
  if (!limit_.enabled()) return 0;
  std::lock_guard lock(mu_);
  auto found = index_.find(std::string_view(key));
  if (found == index_.end()) {
    if (buckets_.size() >= max_keys_) {
      // Room only by forgetting a bucket that is the same as none. The longest idle is the
      // likeliest to have refilled; one that has not holds its caller back, and so must a
      // new key (letting it through untracked would let a flood of keys switch the rate off).
      if (buckets_.empty()) return 1;  // max_keys 0: nothing may be tracked
      Bucket& stalest = buckets_.back();
      refill(stalest, now_ms);
      if (stalest.tokens < limit_.burst) return ms_until(stalest, limit_.burst);
      forget(std::prev(buckets_.end()));
    }
    buckets_.push_front(Bucket{key, limit_.burst - 1, now_ms});
    index_.emplace(std::string_view(buckets_.front().key), buckets_.begin());
    return 0;
  }
  buckets_.splice(buckets_.begin(), buckets_, found->second);  // now the most recent
  Bucket& b = *found->second;
  refill(b, now_ms);
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return ms_until(b, 1);
}

void TokenBuckets::sweep(std::int64_t now_ms) {
  if (!limit_.enabled()) return;
  std::lock_guard lock(mu_);
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    auto next = std::next(it);
    refill(*it, now_ms);
    if (it->tokens >= limit_.burst) forget(it);
    it = next;
  }
}

std::size_t TokenBuckets::size() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

}  // namespace rtm
