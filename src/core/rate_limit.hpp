// RateLimit: a rate setting (N calls a second, minute or hour, with a burst) as the config
// gives it, and its parser. The limiters that enforce it are core/rate_limiter.hpp's.
#pragma once

#include <string_view>

#include "core/result.hpp"

namespace rtm {

struct RateLimit {
  double per_second = 0;  // 0: no limit
  double burst = 0;       // calls allowed at once (the bucket's size)
  bool enabled() const { return per_second > 0; }
};

// Parses a rate flag: `off` (or empty, or `0`), or `N/s`, `N/m`, `N/h` (N calls a second,
// minute, hour; 1 <= N <= 1,000,000), optionally `:B` for the burst (1 <= B <= 1,000,000;
// default N). `what` names the setting in the error text.
Result<RateLimit> parse_rate_limit(std::string_view text, std::string_view what);

}  // namespace rtm
