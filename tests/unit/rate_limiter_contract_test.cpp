// The RateLimiter contract (core/rate_limiter.hpp), run against every engine: one factory per
// engine below. Only the local engine (TokenBuckets) exists today; a Redis engine adds its
// factory (a redis-server the test starts) and must pass the same suite. What only the local
// engine does (its max_keys bound, sweep) is pinned in rate_limits_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "core/rate_limiter.hpp"

namespace rtm {
namespace {

struct RateLimiterEngine {
  std::string name;
  RateLimiterFactory factory;
};
void PrintTo(const RateLimiterEngine& e, std::ostream* os) { *os << e.name; }

class RateLimiterContractTest : public ::testing::TestWithParam<RateLimiterEngine> {
 protected:
  std::unique_ptr<RateLimiter> make(const RateLimit& limit) { return GetParam().factory(limit); }
};

TEST_P(RateLimiterContractTest, DisabledAlwaysLetsThrough) {
  auto limiter = make(RateLimit{});
  RateLimiter& b = *limiter;
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(b.take("a", 0), 0);
}

TEST_P(RateLimiterContractTest, ABurstGoesThenCallsWaitForTheRate) {
  auto limiter = make(parse_rate_limit("2/s:3", "x").value());
  RateLimiter& b = *limiter;
  std::int64_t t = 1'000'000;
  EXPECT_EQ(b.take("a", t), 0);
  EXPECT_EQ(b.take("a", t), 0);
  EXPECT_EQ(b.take("a", t), 0);
  EXPECT_EQ(b.take("a", t), 500);  // one token drips in every 500 ms
  EXPECT_EQ(b.take("a", t + 499), 1);
  EXPECT_EQ(b.take("a", t + 500), 0);
  EXPECT_EQ(b.take("a", t + 500), 500);  // a refused call takes nothing
  EXPECT_EQ(b.take("a", t + 1000), 0);
}

TEST_P(RateLimiterContractTest, EachKeyHasItsOwnBucket) {
  auto limiter = make(parse_rate_limit("1/m", "x").value());
  RateLimiter& b = *limiter;
  EXPECT_EQ(b.take("a", 0), 0);
  EXPECT_EQ(b.take("a", 0), 60'000);
  EXPECT_EQ(b.take("b", 0), 0);
}

TEST_P(RateLimiterContractTest, AClockThatStepsBackDrainsNothing) {
  auto limiter = make(parse_rate_limit("1/s", "x").value());
  RateLimiter& b = *limiter;
  EXPECT_EQ(b.take("a", 10'000), 0);
  EXPECT_EQ(b.take("a", 5'000), 1000);
  EXPECT_EQ(b.take("a", 11'000), 0);
}

TEST_P(RateLimiterContractTest, ConcurrentCallersNeverTakeMoreThanTheBurst) {
  auto limiter = make(parse_rate_limit("100/h", "x").value());
  RateLimiter& b = *limiter;
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (b.take("a", 0) == 0) ++allowed;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 100);
}

TEST_P(RateLimiterContractTest, ARefusalAnswersAtLeastOneMillisecond) {
  auto limiter = make(parse_rate_limit("1000/s:1", "x").value());
  EXPECT_EQ(limiter->take("a", 0), 0);
  std::int64_t wait = limiter->take("a", 0);
  EXPECT_GE(wait, 1);
  EXPECT_LE(wait, 1);
}

INSTANTIATE_TEST_SUITE_P(Engines, RateLimiterContractTest,
                         ::testing::Values(RateLimiterEngine{"local", local_rate_limiters()}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace rtm
