// Session: event ids, cursor and `after`, queue_limit with a computed gap, waiters, end.
#include "core/session.hpp"

#include <gtest/gtest.h>

namespace rtm {
namespace {

EventBody body(const std::string& text) {
  return std::make_shared<const std::string>("\"type\":\"test\",\"v\":\"" + text + "\"}");
}

TEST(Session, EventIdsStartAtOneAndIncreaseByOne) {
  Session s("sid", 0);
  s.push(body("a"), false);
  s.push(body("b"), false);
  auto batch = s.take(std::nullopt);
  ASSERT_EQ(batch.events.size(), 2u);
  EXPECT_EQ(batch.events[0].id, 1u);
  EXPECT_EQ(batch.events[1].id, 2u);
  EXPECT_EQ(batch.last, 2u);
}

TEST(Session, TakeWithoutAfterReturnsEachEventOnce) {
  Session s("sid", 0);
  s.push(body("a"), false);
  EXPECT_EQ(s.take(std::nullopt).events.size(), 1u);
  auto again = s.take(std::nullopt);
  EXPECT_TRUE(again.events.empty());
  EXPECT_EQ(again.last, 1u);
}

TEST(Session, RewindGivesAnUndeliveredTakeAgain) {
  Session s("sid", 0);
  s.push(body("a"), false);
  s.push(body("b"), false);
  auto lost = s.take(std::nullopt);
  ASSERT_EQ(lost.from, 0u);
  ASSERT_EQ(lost.last, 2u);
  s.rewind(lost.from, lost.last);
  auto again = s.take(std::nullopt);
  ASSERT_EQ(again.events.size(), 2u);
  EXPECT_EQ(again.events.front().id, 1u);
}

TEST(Session, RewindDoesNotUndoALaterTake) {
  Session s("sid", 0);
  s.push(body("a"), false);
  auto lost = s.take(std::nullopt);
  s.push(body("b"), false);
  auto later = s.take(std::nullopt);  // delivered: the cursor is now past the lost take
  ASSERT_EQ(later.last, 2u);
  s.rewind(lost.from, lost.last);
  EXPECT_TRUE(s.take(std::nullopt).events.empty());
}

TEST(Session, TakeWithAfterRedeliversKeptEvents) {
  Session s("sid", 0);
  for (int i = 0; i < 5; ++i) s.push(body(std::to_string(i)), false);
  s.take(std::nullopt);
  auto batch = s.take(2);
  ASSERT_EQ(batch.events.size(), 3u);
  EXPECT_EQ(batch.events.front().id, 3u);
  EXPECT_EQ(batch.last, 5u);
}

TEST(Session, MaxEventsBoundsOneTake) {
  Session s("sid", 0);
  auto settings = s.settings();
  settings.max_events = 3;
  s.set_settings(settings);
  for (int i = 0; i < 10; ++i) s.push(body("x"), false);
  EXPECT_EQ(s.take(std::nullopt).events.size(), 3u);
  EXPECT_EQ(s.take(std::nullopt).events.front().id, 4u);
}

TEST(Session, QueueLimitDropsOldestAndTakeStartsWithGap) {
  Session s("sid", 0);
  auto settings = s.settings();
  settings.queue_limit = 10;
  settings.max_events = 1000;
  s.set_settings(settings);
  for (int i = 0; i < 25; ++i) s.push(body("x"), false);
  EXPECT_EQ(s.queued(), 10u);
  auto batch = s.take(std::nullopt);
  ASSERT_EQ(batch.events.size(), 11u);
  EXPECT_EQ(batch.events[0].id, 15u);
  EXPECT_NE(batch.events[0].body->find("\"type\":\"gap\",\"dropped\":15"), std::string::npos);
  EXPECT_EQ(batch.events[1].id, 16u);
  EXPECT_EQ(batch.last, 25u);
  // Read: no second gap.
  s.push(body("y"), false);
  auto next = s.take(std::nullopt);
  ASSERT_EQ(next.events.size(), 1u);
  EXPECT_EQ(next.events[0].id, 26u);
}

TEST(Session, HugeAfterReturnsNothingAndNoGap) {
  Session s("sid", 0);
  s.push(body("a"), false);
  auto batch = s.take(~std::uint64_t{0});
  EXPECT_TRUE(batch.events.empty());
}

TEST(Session, PresenceEventsAreSkippedWhenPresenceIsOff) {
  Session s("sid", 0);
  auto settings = s.settings();
  settings.presence = false;
  s.set_settings(settings);
  s.push(body("p"), true);
  s.push(body("m"), false);
  auto batch = s.take(std::nullopt);
  ASSERT_EQ(batch.events.size(), 1u);
  EXPECT_NE(batch.events[0].body->find("\"m\""), std::string::npos);
}

TEST(Session, WaiterIsCalledOnceWhenAnEventArrives) {
  Session s("sid", 0);
  int calls = 0;
  std::uint64_t ticket = 0;
  auto ready = s.take_or_wait(
      std::nullopt, [&] { ++calls; }, ticket);
  EXPECT_FALSE(ready.has_value());
  EXPECT_TRUE(s.has_waiter());
  s.push(body("a"), false);
  s.push(body("b"), false);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(s.has_waiter());
}

TEST(Session, TakeOrWaitAnswersAtOnceWhenEventsAreQueued) {
  Session s("sid", 0);
  s.push(body("a"), false);
  std::uint64_t ticket = 0;
  bool called = false;
  auto ready = s.take_or_wait(
      std::nullopt, [&] { called = true; }, ticket);
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->events.size(), 1u);
  EXPECT_FALSE(called);
  EXPECT_FALSE(s.has_waiter());
}

TEST(Session, CancelledWaiterIsNotCalled) {
  Session s("sid", 0);
  bool called = false;
  std::uint64_t ticket = 0;
  (void)s.take_or_wait(
      std::nullopt, [&] { called = true; }, ticket);
  s.cancel_wait(ticket);
  s.push(body("a"), false);
  EXPECT_FALSE(called);
}

TEST(Session, NewWaiterWakesThePreviousOne) {
  Session s("sid", 0);
  int first = 0, second = 0;
  std::uint64_t t1 = 0, t2 = 0;
  (void)s.take_or_wait(
      std::nullopt, [&] { ++first; }, t1);
  (void)s.take_or_wait(
      std::nullopt, [&] { ++second; }, t2);
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 0);
  s.cancel_wait(t1);  // stale ticket: must not drop the second waiter
  EXPECT_TRUE(s.has_waiter());
}

TEST(Session, PollAfterTheShutdownFlagIsSetNeverRegistersAWaiter) {
  Session s("sid", 0);
  std::atomic<bool> shutting_down{true};
  bool called = false;
  std::uint64_t ticket = 0;
  auto ready = s.take_or_wait(
      std::nullopt, [&] { called = true; }, ticket, &shutting_down);
  ASSERT_TRUE(ready.has_value());
  EXPECT_TRUE(ready->events.empty());
  EXPECT_FALSE(s.has_waiter());
  EXPECT_FALSE(called);
}

TEST(Session, PollWithTheShutdownFlagClearWaitsAsUsual) {
  Session s("sid", 0);
  std::atomic<bool> shutting_down{false};
  std::uint64_t ticket = 0;
  auto ready = s.take_or_wait(
      std::nullopt, [] {}, ticket, &shutting_down);
  EXPECT_FALSE(ready.has_value());
  EXPECT_TRUE(s.has_waiter());
}

TEST(Session, EndQueuesFinalEventWakesWaiterAndRefusesMore) {
  Session s("sid", 0);
  bool woke = false;
  std::uint64_t ticket = 0;
  (void)s.take_or_wait(
      std::nullopt, [&] { woke = true; }, ticket);
  EXPECT_TRUE(s.end("killed", 5));
  EXPECT_TRUE(woke);
  EXPECT_FALSE(s.live());
  EXPECT_FALSE(s.push(body("late"), false));
  EXPECT_TRUE(s.has_unread());
  auto batch = s.take(std::nullopt);
  ASSERT_EQ(batch.events.size(), 1u);
  EXPECT_EQ(*batch.events[0].body, "\"type\":\"session\",\"state\":\"killed\"}");
  EXPECT_FALSE(s.has_unread());
  EXPECT_FALSE(s.end("killed", 6));
}

TEST(Session, IdleOnlyWithoutCallsWaitersOrSockets) {
  Session s("sid", 0);
  EXPECT_FALSE(s.idle(119'000));
  EXPECT_TRUE(s.idle(120'000));
  s.attach_socket();
  EXPECT_FALSE(s.idle(500'000));
  s.detach_socket(500'000);
  EXPECT_FALSE(s.idle(600'000));
  EXPECT_TRUE(s.idle(620'000));
}

TEST(Session, SubscribingTwiceAnswersTheSameKey) {
  Session s("sid", 0);
  bool created = false;
  auto k1 = s.subscribe("room:1", created);
  EXPECT_TRUE(created);
  auto k2 = s.subscribe("room:1", created);
  EXPECT_FALSE(created);
  EXPECT_EQ(k1, k2);
  EXPECT_EQ(s.unsubscribe(k1).value_or(""), "room:1");
  EXPECT_FALSE(s.unsubscribe(k1).has_value());
  EXPECT_FALSE(s.subscribed("room:1"));
}

TEST(EventBatch, RendersIdsInFrontOfSharedBodies) {
  EventBatch b;
  b.events.push_back({7, body("a")});
  EXPECT_EQ(b.to_json_array(), "[{\"id\":7,\"type\":\"test\",\"v\":\"a\"}]");
}

}  // namespace
}  // namespace rtm
