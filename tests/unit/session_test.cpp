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

// --- durability (core/session_store.hpp) ------------------------------------------------

// A durable session as a login leaves it: its record stored, `id_limit` reserved.
std::unique_ptr<Session> durable_session(DirtySessions& dirty, std::uint64_t id_limit,
                                         std::uint64_t read_position = 0) {
  auto s = std::make_unique<Session>("sid", 0);
  s->bind(7);
  s->make_durable(&dirty, id_limit, read_position);
  return s;
}

TEST(SessionDurability, EventsPastTheReservedIdsWaitForTheNextReservation) {
  DirtySessions dirty;
  auto s = durable_session(dirty, 2);
  for (const char* v : {"a", "b", "c"}) s->push(body(v), false);
  auto batch = s->take(std::nullopt);
  ASSERT_EQ(batch.events.size(), 2u);  // id 3 is not reserved yet
  EXPECT_EQ(batch.last, 2u);
  bool woken = false;
  std::uint64_t ticket = 0;
  EXPECT_FALSE(s->take_or_wait(
                    std::nullopt, [&] { woken = true; }, ticket)
                   .has_value());
  s->reserved(2 + Session::kIdBlock);
  EXPECT_TRUE(woken);  // the held-back event can be answered now
  auto rest = s->take(std::nullopt);
  ASSERT_EQ(rest.events.size(), 1u);
  EXPECT_EQ(rest.events[0].id, 3u);
}

TEST(SessionDurability, HalfAUsedBlockMarksTheSessionForAReservation) {
  DirtySessions dirty;
  auto s = durable_session(dirty, Session::kIdBlock);
  for (std::uint64_t i = 0; i < Session::kIdBlock / 2; ++i) s->push(body("x"), false);
  EXPECT_TRUE(dirty.take().empty());  // exactly half: not yet
  s->push(body("one more"), false);
  EXPECT_EQ(dirty.take(), std::vector<std::string>{"sid"});
  auto p = s->checkpoint_positions(0);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->id_limit, Session::kIdBlock / 2 + 1 + Session::kIdBlock);
}

TEST(SessionDurability, ReadPositionIsJustBeforeTheFirstUnreadMessage) {
  DirtySessions dirty;
  auto s = durable_session(dirty, Session::kIdBlock, 10);
  s->push(body("m20"), false, 20);
  s->push(body("presence"), true);  // not a message: no position
  s->push(body("m25"), false, 25);
  EXPECT_EQ(s->checkpoint_positions(0)->read_position, 19u);
  SettingsPatch one;
  one.max_events = 1;
  s->update_settings(one);
  s->take(std::uint64_t{1});  // reads the presence event, through `after`
  EXPECT_EQ(s->checkpoint_positions(0)->read_position, 24u);
  s->take(std::nullopt);
  EXPECT_EQ(s->checkpoint_positions(0)->read_position, 25u);
}

TEST(SessionDurability, TakeAndRewindMarkTheSessionOncePerCheckpoint) {
  DirtySessions dirty;
  auto s = durable_session(dirty, Session::kIdBlock);
  s->push(body("a"), false, 5);
  s->push(body("b"), false, 6);
  auto batch = s->take(std::nullopt);
  s->take(std::uint64_t{0});  // moves nothing further: no second mark
  EXPECT_EQ(dirty.take().size(), 1u);
  ASSERT_TRUE(s->checkpoint_positions(0).has_value());
  s->rewind(batch.from, batch.last);
  EXPECT_EQ(dirty.take().size(), 1u);
  EXPECT_EQ(s->checkpoint_positions(0)->read_position, 4u);
}

TEST(SessionDurability, ASessionWithoutARecordIsNeverMarkedNorHeldBack) {
  DirtySessions dirty;
  Session s("sid", 0);
  for (int i = 0; i < 3; ++i) s.push(body("a"), false, 1 + i);
  EXPECT_EQ(s.take(std::nullopt).events.size(), 3u);
  EXPECT_TRUE(dirty.take().empty());
  EXPECT_FALSE(s.checkpoint_positions(0).has_value());
  EXPECT_FALSE(s.record().has_value());
}

TEST(SessionDurability, AnEndedSessionAnswersItsFinalEventBeyondTheReservation) {
  DirtySessions dirty;
  auto s = durable_session(dirty, 1);
  s->push(body("a"), false);
  s->end("killed", 5);
  EXPECT_FALSE(s->durable());
  auto batch = s->take(std::nullopt);
  ASSERT_EQ(batch.events.size(), 2u);
  EXPECT_NE(batch.events[1].body->find("killed"), std::string::npos);
}

TEST(SessionDurability, ARestoredSessionNumbersOnAfterItsReservationWithoutAGap) {
  SessionRecord r;
  r.id = "sid";
  r.uid = 7;
  r.settings.max_events = 10;
  r.subscriptions = {{"s1", "group:3"}, {"s4", "room:2"}};
  r.next_key = 5;
  r.read_position = 100;
  r.kept_position = 100;  // nothing read is kept
  r.id_limit = 70000;
  DirtySessions dirty;
  Session s(r, 0, &dirty);
  EXPECT_TRUE(s.authorized());
  EXPECT_EQ(s.uid(), 7u);
  EXPECT_TRUE(s.subscribed("room:2"));
  bool created = false;
  EXPECT_EQ(s.subscribe("presence:1", created), "s5");  // keys go on from next_key
  s.push(body("read before the restart"), false, 100);
  s.push(body("unread"), false, 101);
  s.reserved(70001 + Session::kIdBlock);
  // A reader that had seen id 69990 gets what came after, and no gap for the renumbering.
  auto batch = s.take(std::uint64_t{69990});
  ASSERT_EQ(batch.events.size(), 1u);
  EXPECT_EQ(batch.events[0].id, 70001u);
  EXPECT_EQ(batch.events[0].position, 101u);
}

TEST(SessionDurability, ARestoredSessionKeepsReadMessagesForAfterButNotForItsCursor) {
  SessionRecord r;
  r.id = "sid";
  r.uid = 7;
  r.read_position = 20;
  r.kept_position = 10;
  r.id_limit = 1000;
  DirtySessions dirty;
  Session s(r, 0, &dirty);
  s.push(body("before the kept ones"), false, 10);
  s.push(body("read, kept"), false, 15);
  s.push(body("read, kept"), false, 20);
  s.push(body("unread"), false, 25);
  s.reserved(1000 + Session::kIdBlock);
  auto unread = s.take(std::nullopt);
  ASSERT_EQ(unread.events.size(), 1u);
  EXPECT_EQ(unread.events[0].position, 25u);
  // A WebSocket client that passes the last id it really got sees the read ones again.
  auto again = s.take(std::uint64_t{990});
  ASSERT_EQ(again.events.size(), 3u);
  EXPECT_EQ(again.events[0].id, 1001u);
  EXPECT_EQ(again.events[0].position, 15u);
  auto p = s.checkpoint_positions(0);
  EXPECT_EQ(p->read_position, 25u);
  EXPECT_EQ(p->kept_position, 14u);
}

TEST(SessionDurability, TheKeptPositionLagsTheReadOneByTenToTwentySeconds) {
  DirtySessions dirty;
  auto s = durable_session(dirty, Session::kIdBlock, 0);  // made at t = 0
  s->push(body("m5"), false, 5);
  s->take(std::nullopt);
  auto p = s->checkpoint_positions(1'000);
  EXPECT_EQ(p->read_position, 5u);
  EXPECT_EQ(p->kept_position, 4u);  // only just read: a restart gives it back to `after`
  s->push(body("m8"), false, 8);
  s->take(std::nullopt);
  p = s->checkpoint_positions(Session::kAckLagMs);  // the lag is over: what was read at t=0
  EXPECT_EQ(p->read_position, 8u);
  EXPECT_EQ(p->kept_position, 4u);
  p = s->checkpoint_positions(2 * Session::kAckLagMs);  // and now what was read at t=10 s
  EXPECT_EQ(p->kept_position, 8u);
}

TEST(SessionDurability, TheIdlePassMovesASessionWithNothingUnreadAndLeavesOneWithUnread) {
  DirtySessions dirty;
  auto idle = durable_session(dirty, Session::kIdBlock, 10);
  idle->push(body("presence"), true);  // unread, but no message: the session is idle
  idle->pass_idle(40);
  EXPECT_EQ(dirty.take(), std::vector<std::string>{"sid"});
  EXPECT_EQ(idle->checkpoint_positions(0)->read_position, 40u);
  idle->pass_idle(30);  // never backwards
  EXPECT_TRUE(dirty.take().empty());
  EXPECT_EQ(idle->checkpoint_positions(0)->read_position, 40u);

  auto busy = durable_session(dirty, Session::kIdBlock, 10);
  busy->push(body("m20"), false, 20);
  busy->pass_idle(40);
  EXPECT_TRUE(dirty.take().empty());
  EXPECT_EQ(busy->checkpoint_positions(0)->read_position, 19u) << "its unread message holds it";
  busy->take(std::nullopt);
  busy->pass_idle(40);
  EXPECT_EQ(busy->checkpoint_positions(0)->read_position, 40u);
}

TEST(SessionDurability, ARestoredSessionReportsAGapWhenMoreWereUnreadThanItKeeps) {
  SessionRecord r;
  r.id = "sid";
  r.uid = 7;
  r.settings.queue_limit = 10;
  r.id_limit = 500;
  DirtySessions dirty;
  Session s(r, 0, &dirty);
  for (std::uint64_t pos = 1; pos <= 15; ++pos) s.push(body("m"), false, pos);
  s.reserved(500 + Session::kIdBlock);
  auto batch = s.take(std::nullopt);
  ASSERT_FALSE(batch.events.empty());
  EXPECT_NE(batch.events[0].body->find("\"dropped\":5"), std::string::npos)
      << *batch.events[0].body;
  EXPECT_EQ(batch.events[1].id, 506u);
}

TEST(EventBatch, RendersIdsInFrontOfSharedBodies) {
  EventBatch b;
  b.events.push_back({7, body("a")});
  EXPECT_EQ(b.to_json_array(), "[{\"id\":7,\"type\":\"test\",\"v\":\"a\"}]");
}

}  // namespace
}  // namespace rtm
