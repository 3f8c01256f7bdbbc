// LocalServerEventLog: ids, the cursor and `after`, the bounded ring with a gap, waiters.
#include "core/local_server_event_log.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace rtm {
namespace {

std::string ev(int n) { return "\"type\":\"test\",\"n\":" + std::to_string(n) + "}"; }

TEST(LocalServerEventLog, IdsStartAtOneAndIncreaseByOne) {
  LocalServerEventLog s(10);
  EXPECT_EQ(s.append(ev(1)), 1u);
  EXPECT_EQ(s.append(ev(2)), 2u);
  auto batch = s.take(std::nullopt);
  ASSERT_EQ(batch.events.size(), 2u);
  EXPECT_EQ(batch.events[0].id, 1u);
  EXPECT_EQ(batch.events[1].id, 2u);
  EXPECT_EQ(batch.last, 2u);
  EXPECT_EQ(batch.to_json_array(),
            "[{\"id\":1,\"type\":\"test\",\"n\":1},{\"id\":2,\"type\":\"test\",\"n\":2}]");
}

TEST(LocalServerEventLog, WithoutAfterEachEventComesOnce) {
  LocalServerEventLog s(10);
  s.append(ev(1));
  EXPECT_EQ(s.take(std::nullopt).events.size(), 1u);
  auto again = s.take(std::nullopt);
  EXPECT_TRUE(again.events.empty());
  EXPECT_EQ(again.last, 1u);
  s.append(ev(2));
  auto next = s.take(std::nullopt);
  ASSERT_EQ(next.events.size(), 1u);
  EXPECT_EQ(next.events[0].id, 2u);
}

TEST(LocalServerEventLog, WithAfterKeptEventsComeAgain) {
  LocalServerEventLog s(10);
  for (int i = 1; i <= 5; ++i) s.append(ev(i));
  s.take(std::nullopt);
  auto batch = s.take(2);
  ASSERT_EQ(batch.events.size(), 3u);
  EXPECT_EQ(batch.events.front().id, 3u);
  EXPECT_EQ(batch.last, 5u);
  EXPECT_EQ(s.take(0).events.size(), 5u);
}

TEST(LocalServerEventLog, AfterBeyondTheNewestDoesNotSkipEventsToCome) {
  LocalServerEventLog s(10);
  s.append(ev(1));
  EXPECT_EQ(s.take(1000).last, 1u);
  s.append(ev(2));
  EXPECT_EQ(s.take(std::nullopt).events.size(), 1u);
}

TEST(LocalServerEventLog, RingKeepsTheNewestAndUnreadDropsAreAGap) {
  LocalServerEventLog s(3);
  for (int i = 1; i <= 10; ++i) s.append(ev(i));
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.last_id(), 10u);
  auto batch = s.take(std::nullopt);
  ASSERT_EQ(batch.events.size(), 4u);
  EXPECT_EQ(batch.events[0].id, 7u);
  EXPECT_EQ(*batch.events[0].body, "\"type\":\"gap\",\"dropped\":7}");
  EXPECT_EQ(batch.events[1].id, 8u);
  EXPECT_EQ(batch.last, 10u);
}

TEST(LocalServerEventLog, OneTakeAnswersAtMostKMaxPerTake) {
  LocalServerEventLog s(5000);
  for (std::size_t i = 0; i < ServerEventLog::kMaxPerTake + 5; ++i) s.append(ev(1));
  EXPECT_EQ(s.take(std::nullopt).events.size(), ServerEventLog::kMaxPerTake);
  EXPECT_EQ(s.take(std::nullopt).events.size(), 5u);
}

TEST(LocalServerEventLog, EveryWaitingPollIsWokenByAPublish) {
  LocalServerEventLog s(10);
  int a = 0, b = 0;
  std::uint64_t ta = 0, tb = 0;
  EXPECT_FALSE(s.take_or_wait(
      std::nullopt, [&] { ++a; }, ta));
  EXPECT_FALSE(s.take_or_wait(
      std::nullopt, [&] { ++b; }, tb));
  EXPECT_NE(ta, tb);
  EXPECT_EQ(s.waiting(), 2u);
  std::thread t([&] { s.append(ev(1)); });
  t.join();
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(s.waiting(), 0u);
  s.append(ev(2));
  EXPECT_EQ(a, 1);  // called once
}

TEST(LocalServerEventLog, TakeOrWaitAnswersAtOnceWhenThereAreEvents) {
  LocalServerEventLog s(10);
  s.append(ev(1));
  std::uint64_t ticket = 0;
  auto got = s.take_or_wait(
      std::nullopt, [] { FAIL() << "must not wait"; }, ticket);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->events.size(), 1u);
}

TEST(LocalServerEventLog, CancelledWaiterIsNotCalled) {
  LocalServerEventLog s(10);
  int woken = 0;
  std::uint64_t ticket = 0;
  EXPECT_FALSE(s.take_or_wait(
      std::nullopt, [&] { ++woken; }, ticket));
  s.cancel_wait(ticket);
  s.append(ev(1));
  EXPECT_EQ(woken, 0);
}

TEST(LocalServerEventLog, NoWaitFlagAndWakeAllEndWaits) {
  LocalServerEventLog s(10);
  std::atomic<bool> stop{true};
  std::uint64_t ticket = 0;
  EXPECT_TRUE(s.take_or_wait(
      std::nullopt, [] {}, ticket, &stop));
  int woken = 0;
  EXPECT_FALSE(s.take_or_wait(
      std::nullopt, [&] { ++woken; }, ticket));
  s.wake_all();
  EXPECT_EQ(woken, 1);
}

}  // namespace
}  // namespace rtm
