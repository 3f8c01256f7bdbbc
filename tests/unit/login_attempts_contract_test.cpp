// The LoginAttempts contract (core/login_attempts.hpp), run against every engine: one factory
// per engine below. Only the local engine (LoginThrottle) exists today; a Redis engine adds
// its factory and must pass the same suite.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "core/login_attempts.hpp"

namespace rtm {
namespace {

struct LoginAttemptsEngine {
  std::string name;
  LoginAttemptsFactory factory;
};
void PrintTo(const LoginAttemptsEngine& e, std::ostream* os) { *os << e.name; }

class LoginAttemptsContractTest : public ::testing::TestWithParam<LoginAttemptsEngine> {
 protected:
  std::unique_ptr<LoginAttempts> make(int limit, std::int64_t window_ms) {
    return GetParam().factory(limit, window_ms);
  }
};

TEST_P(LoginAttemptsContractTest, AttemptsAreCountedWhenTheyBeginNotWhenTheyFail) {
  auto throttle = make(3, 1000);
  LoginAttempts& t = *throttle;
  // Three attempts still being checked use up the limit: a fourth is refused at once.
  EXPECT_TRUE(t.try_begin("bob", 100));
  EXPECT_TRUE(t.try_begin("bob", 100));
  EXPECT_TRUE(t.try_begin("bob", 100));
  EXPECT_FALSE(t.try_begin("bob", 100));
  EXPECT_GT(t.retry_after_ms("bob", 100), 0);
  EXPECT_TRUE(t.try_begin("alice", 100));
  // An attempt that reached no verdict gives its count back; a success clears the window.
  t.abandon("bob");
  EXPECT_TRUE(t.try_begin("bob", 200));
  t.record_success("bob");
  EXPECT_EQ(t.retry_after_ms("bob", 200), 0);
  EXPECT_TRUE(t.try_begin("bob", 200));
  // A new window after the old one ends.
  for (int i = 0; i < 2; ++i) t.try_begin("carol", 300);
  EXPECT_TRUE(t.try_begin("carol", 300));
  EXPECT_FALSE(t.try_begin("carol", 300));
  EXPECT_TRUE(t.try_begin("carol", 1300));
}

TEST_P(LoginAttemptsContractTest, ARefusedLoginIsToldWhenItsWindowEnds) {
  auto t = make(2, 60'000);
  EXPECT_TRUE(t->try_begin("bob", 1'000));
  EXPECT_TRUE(t->try_begin("bob", 2'000));
  EXPECT_FALSE(t->try_begin("bob", 46'000));
  EXPECT_EQ(t->retry_after_ms("bob", 46'000), 15'000);  // the window began at 1 s
  EXPECT_EQ(t->retry_after_ms("alice", 46'000), 0);
  EXPECT_TRUE(t->try_begin("bob", 61'000));
}

TEST_P(LoginAttemptsContractTest, ParallelGuessesNeverPassMoreThanTheLimit) {
  auto t = make(10, 60'000);
  std::atomic<int> passed{0};
  std::vector<std::thread> guessers;
  for (int i = 0; i < 4; ++i)
    guessers.emplace_back([&] {
      for (int j = 0; j < 100; ++j)
        if (t->try_begin("victim", 5'000)) ++passed;
    });
  for (auto& g : guessers) g.join();
  EXPECT_EQ(passed.load(), 10);
}

INSTANTIATE_TEST_SUITE_P(Engines, LoginAttemptsContractTest,
                         ::testing::Values(LoginAttemptsEngine{"local", local_login_attempts()}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace rtm
