// The ServerEventLog contract (core/server_event_log.hpp), one suite run against every
// engine: one factory per engine in engines() below. Each test pins a written guarantee
// through the interface alone. Where a guarantee is about many nodes, the test asks the
// factory for several views of one log ("nodes"): the local engine has one node, so every
// view is the same object; a shared engine hands out one engine per node on one backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "core/local_server_event_log.hpp"
#include "core/server_event_log.hpp"

namespace rtm {
namespace {

// One engine under test.
struct ServerEventLogFactory {
  std::string name;  // ends the test names: Engines/ServerEventLogContractTest.X/local
  // A fresh, empty log keeping `limit` events, seen through `nodes` engines (one per node;
  // every one is the same log).
  std::function<std::vector<std::shared_ptr<ServerEventLog>>(std::size_t limit, std::size_t nodes)>
      make;
};
void PrintTo(const ServerEventLogFactory& f, std::ostream* os) { *os << f.name; }

ServerEventLogFactory local_factory() {
  return {"local", [](std::size_t limit, std::size_t nodes) {
            auto log = std::make_shared<LocalServerEventLog>(limit);
            return std::vector<std::shared_ptr<ServerEventLog>>(nodes, log);
          }};
}

// Every engine the contract runs against. The Redis engine's factory goes here: make() gives
// each test a key prefix of its own on a redis-server the test binary starts (loopback, no
// persistence) and answers one engine per node on it; the suite must pass unchanged.
std::vector<ServerEventLogFactory> engines() { return {local_factory()}; }

std::string ev(int n) { return "\"type\":\"test\",\"n\":" + std::to_string(n) + "}"; }

std::vector<std::uint64_t> ids(const EventBatch& batch) {
  std::vector<std::uint64_t> out;
  for (auto& e : batch.events) out.push_back(e.id);
  return out;
}

class ServerEventLogContractTest : public ::testing::TestWithParam<ServerEventLogFactory> {
 protected:
  // The log with `limit`, through `nodes` engines; log() is the first.
  void make(std::size_t limit, std::size_t nodes = 1) { nodes_ = GetParam().make(limit, nodes); }
  void SetUp() override { make(10); }
  ServerEventLog& log() { return *nodes_.at(0); }
  ServerEventLog& node(std::size_t i) { return *nodes_.at(i); }

  std::vector<std::shared_ptr<ServerEventLog>> nodes_;
};

TEST_P(ServerEventLogContractTest, IdsStartAtOneAndIncreaseByOne) {
  EXPECT_EQ(log().last_id(), 0u);
  EXPECT_EQ(log().append(ev(1)), 1u);
  EXPECT_EQ(log().append(ev(2)), 2u);
  auto batch = log().take(std::nullopt);
  EXPECT_EQ(ids(batch), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(batch.last, 2u);
  EXPECT_EQ(batch.to_json_array(),
            "[{\"id\":1,\"type\":\"test\",\"n\":1},{\"id\":2,\"type\":\"test\",\"n\":2}]");
}

TEST_P(ServerEventLogContractTest, AppendsOnEveryNodeShareOneSequenceOfIds) {
  make(100, 3);
  EXPECT_EQ(node(0).append(ev(1)), 1u);
  EXPECT_EQ(node(1).append(ev(2)), 2u);
  EXPECT_EQ(node(2).append(ev(3)), 3u);
  EXPECT_EQ(node(1).last_id(), 3u);
  auto batch = node(2).take(0);
  EXPECT_EQ(ids(batch), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(*batch.events[1].body, ev(2));
}

TEST_P(ServerEventLogContractTest, EventsComeInTheOrderTheyWereAppended) {
  make(1000);
  for (int i = 1; i <= 300; ++i) log().append(ev(i));
  auto batch = log().take(std::nullopt);
  ASSERT_EQ(batch.events.size(), 300u);
  for (int i = 1; i <= 300; ++i) {
    EXPECT_EQ(batch.events[i - 1].id, static_cast<std::uint64_t>(i));
    EXPECT_EQ(*batch.events[i - 1].body, ev(i));
  }
}

TEST_P(ServerEventLogContractTest, ConcurrentAppendsGetEveryIdOnceAndAReaderSeesNoHole) {
  constexpr int kThreads = 4, kPerThread = 2000;
  make(kThreads * kPerThread, kThreads);
  std::atomic<bool> done{false};
  std::vector<std::uint64_t> seen;
  std::thread reader([&] {
    auto drain = [&] {  // false once a take answered nothing
      auto batch = log().take(std::nullopt);
      for (auto& e : batch.events) seen.push_back(e.id);
      return !batch.events.empty();
    };
    while (!done.load()) drain();
    while (drain()) {  // what came after the last take, kMaxPerTake at a time
    }
  });
  std::vector<std::vector<std::uint64_t>> given(kThreads);
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) given[t].push_back(node(t).append(ev(t)));
    });
  for (auto& w : writers) w.join();
  done = true;
  reader.join();
  // The reader moved forward over 1, 2, 3, ... with nothing skipped and no gap event: an id
  // it saw never had a smaller one appear behind it.
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (std::size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], i + 1) << "at " << i;
  std::vector<std::uint64_t> all;
  for (auto& g : given) {
    EXPECT_TRUE(std::is_sorted(g.begin(), g.end()));  // one thread's appends in order
    all.insert(all.end(), g.begin(), g.end());
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, seen);  // every id handed out once
}

TEST_P(ServerEventLogContractTest, WithoutAfterEachEventComesOnce) {
  log().append(ev(1));
  EXPECT_EQ(log().take(std::nullopt).events.size(), 1u);
  auto again = log().take(std::nullopt);
  EXPECT_TRUE(again.events.empty());
  EXPECT_EQ(again.last, 1u);
  log().append(ev(2));
  EXPECT_EQ(ids(log().take(std::nullopt)), std::vector<std::uint64_t>{2});
}

TEST_P(ServerEventLogContractTest, ReadersOnEveryNodeShareOneCursor) {
  make(10, 2);
  node(0).append(ev(1));
  node(0).append(ev(2));
  EXPECT_EQ(ids(node(0).take(std::nullopt)), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_TRUE(node(1).take(std::nullopt).events.empty());  // already taken by the other reader
  node(1).append(ev(3));
  EXPECT_EQ(ids(node(1).take(std::nullopt)), std::vector<std::uint64_t>{3});
  EXPECT_TRUE(node(0).take(std::nullopt).events.empty());
}

TEST_P(ServerEventLogContractTest, WithAfterKeptEventsComeAgain) {
  for (int i = 1; i <= 5; ++i) log().append(ev(i));
  log().take(std::nullopt);
  auto batch = log().take(2);
  EXPECT_EQ(ids(batch), (std::vector<std::uint64_t>{3, 4, 5}));
  EXPECT_EQ(batch.last, 5u);
  EXPECT_EQ(log().take(0).events.size(), 5u);
}

TEST_P(ServerEventLogContractTest, ATakeWithAfterMovesTheCursorForwardNeverBack) {
  for (int i = 1; i <= 5; ++i) log().append(ev(i));
  EXPECT_EQ(log().take(3).last, 5u);  // moves the cursor to 5
  log().append(ev(6));
  EXPECT_EQ(ids(log().take(std::nullopt)), std::vector<std::uint64_t>{6});
  EXPECT_EQ(log().take(1).events.size(), 5u);  // reads 2..6 again, the cursor stays at 6
  log().append(ev(7));
  EXPECT_EQ(ids(log().take(std::nullopt)), std::vector<std::uint64_t>{7});
}

TEST_P(ServerEventLogContractTest, AfterBeyondTheNewestDoesNotSkipEventsToCome) {
  log().append(ev(1));
  EXPECT_EQ(log().take(1000).last, 1u);
  log().append(ev(2));
  EXPECT_EQ(ids(log().take(std::nullopt)), std::vector<std::uint64_t>{2});
}

TEST_P(ServerEventLogContractTest, TheBoundKeepsTheNewestAndUnreadDropsAreAGap) {
  make(3);
  for (int i = 1; i <= 10; ++i) log().append(ev(i));
  EXPECT_EQ(log().size(), 3u);
  EXPECT_EQ(log().last_id(), 10u);
  auto batch = log().take(std::nullopt);
  EXPECT_EQ(ids(batch), (std::vector<std::uint64_t>{7, 8, 9, 10}));
  EXPECT_EQ(*batch.events[0].body, "\"type\":\"gap\",\"dropped\":7}");
  EXPECT_EQ(*batch.events[1].body, ev(8));
  EXPECT_EQ(batch.last, 10u);
}

TEST_P(ServerEventLogContractTest, AGapCountsOnlyWhatWasDroppedAfterTheReadersPosition) {
  make(4);
  for (int i = 1; i <= 4; ++i) log().append(ev(i));
  EXPECT_EQ(ids(log().take(std::nullopt)), (std::vector<std::uint64_t>{1, 2, 3, 4}));
  for (int i = 5; i <= 10; ++i) log().append(ev(i));  // 1 to 4 go read, 5 and 6 unread
  auto batch = log().take(std::nullopt);
  EXPECT_EQ(ids(batch), (std::vector<std::uint64_t>{6, 7, 8, 9, 10}));
  EXPECT_EQ(*batch.events[0].body, "\"type\":\"gap\",\"dropped\":2}");
  // Read once, the gap does not come again; nothing dropped was ever answered.
  EXPECT_TRUE(log().take(std::nullopt).events.empty());
  // Reading again from a position the bound passed announces the gap again.
  EXPECT_EQ(*log().take(2).events[0].body, "\"type\":\"gap\",\"dropped\":4}");
}

TEST_P(ServerEventLogContractTest, NothingDroppedNoGap) {
  make(3);
  for (int i = 1; i <= 3; ++i) log().append(ev(i));
  auto batch = log().take(std::nullopt);
  EXPECT_EQ(ids(batch), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(*batch.events[0].body, ev(1));
}

TEST_P(ServerEventLogContractTest, OneTakeAnswersAtMostKMaxPerTake) {
  make(5000);
  for (std::size_t i = 0; i < ServerEventLog::kMaxPerTake + 5; ++i) log().append(ev(1));
  auto first = log().take(std::nullopt);
  EXPECT_EQ(first.events.size(), ServerEventLog::kMaxPerTake);
  EXPECT_EQ(first.last, ServerEventLog::kMaxPerTake);
  EXPECT_EQ(log().take(std::nullopt).events.size(), 5u);
}

TEST_P(ServerEventLogContractTest, EveryWaitingPollIsWokenOnceByAnAppend) {
  int a = 0, b = 0;
  std::uint64_t ta = 0, tb = 0;
  EXPECT_FALSE(log().take_or_wait(
      std::nullopt, [&] { ++a; }, ta));
  EXPECT_FALSE(log().take_or_wait(
      std::nullopt, [&] { ++b; }, tb));
  EXPECT_NE(ta, tb);
  EXPECT_EQ(log().waiting(), 2u);
  std::thread t([&] { log().append(ev(1)); });
  t.join();
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(log().waiting(), 0u);
  log().append(ev(2));
  log().wake_all();
  EXPECT_EQ(a, 1);  // called once
  EXPECT_EQ(b, 1);
}

TEST_P(ServerEventLogContractTest, AnAppendOnAnotherNodeWakesAWaiterOfThisOne) {
  make(10, 2);
  std::promise<void> woken;
  std::uint64_t ticket = 0;
  ASSERT_FALSE(node(0).take_or_wait(
      std::nullopt, [&] { woken.set_value(); }, ticket));
  node(1).append(ev(1));
  EXPECT_EQ(woken.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(ids(node(0).take(std::nullopt)), std::vector<std::uint64_t>{1});
}

TEST_P(ServerEventLogContractTest, TakeOrWaitAnswersAtOnceWhenThereAreEvents) {
  log().append(ev(1));
  std::uint64_t ticket = 0;
  auto got = log().take_or_wait(
      std::nullopt, [] { FAIL() << "must not wait"; }, ticket);
  ASSERT_TRUE(got);
  EXPECT_EQ(ids(*got), std::vector<std::uint64_t>{1});
  EXPECT_EQ(log().waiting(), 0u);
}

TEST_P(ServerEventLogContractTest, TakeOrWaitWithoutAWaiterAnswersAnEmptyBatch) {
  std::uint64_t ticket = 0;
  auto got = log().take_or_wait(std::nullopt, nullptr, ticket);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->events.empty());
  EXPECT_EQ(log().waiting(), 0u);
}

TEST_P(ServerEventLogContractTest, ACancelledWaiterIsNotCalledAndTheOthersStillAre) {
  int cancelled = 0, kept = 0;
  std::uint64_t tc = 0, tk = 0;
  ASSERT_FALSE(log().take_or_wait(
      std::nullopt, [&] { ++cancelled; }, tc));
  ASSERT_FALSE(log().take_or_wait(
      std::nullopt, [&] { ++kept; }, tk));
  log().cancel_wait(tc);
  EXPECT_EQ(log().waiting(), 1u);
  log().append(ev(1));
  EXPECT_EQ(cancelled, 0);
  EXPECT_EQ(kept, 1);
  log().cancel_wait(tk);  // after it was called: nothing to drop, no harm
  EXPECT_EQ(log().waiting(), 0u);
}

TEST_P(ServerEventLogContractTest, TheNoWaitFlagAnswersAtOnceWithoutRegisteringAWaiter) {
  std::atomic<bool> stop{true};
  std::uint64_t ticket = 0;
  auto got = log().take_or_wait(
      std::nullopt, [] { FAIL() << "must not wait"; }, ticket, &stop);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->events.empty());
  EXPECT_EQ(log().waiting(), 0u);
  log().append(ev(1));
}

TEST_P(ServerEventLogContractTest, WakeAllCallsEveryWaiterOnce) {
  int woken = 0;
  std::uint64_t t1 = 0, t2 = 0;
  ASSERT_FALSE(log().take_or_wait(
      std::nullopt, [&] { ++woken; }, t1));
  ASSERT_FALSE(log().take_or_wait(
      std::nullopt, [&] { ++woken; }, t2));
  log().wake_all();
  EXPECT_EQ(woken, 2);
  EXPECT_EQ(log().waiting(), 0u);
  log().wake_all();
  log().append(ev(1));
  EXPECT_EQ(woken, 2);
}

TEST_P(ServerEventLogContractTest, APollRacingWithShutdownEitherAnswersOrIsWoken) {
  for (int round = 0; round < 200; ++round) {
    make(10);
    std::atomic<bool> stop{false};
    std::atomic<int> woken{0};
    std::optional<EventBatch> answered;
    std::thread poller([&] {
      std::uint64_t ticket = 0;
      answered = log().take_or_wait(
          std::nullopt, [&] { ++woken; }, ticket, &stop);
    });
    std::thread shutdown([&] {
      stop = true;  // the node's order: the flag, then the wakes
      log().wake_all();
    });
    poller.join();
    shutdown.join();
    // Never a waiter nobody calls: it answered at once, or it registered and was woken.
    EXPECT_EQ(answered.has_value() ? 0 : 1, woken.load()) << "round " << round;
    EXPECT_EQ(log().waiting(), 0u);
  }
}

TEST_P(ServerEventLogContractTest, WaitersAreCalledWithNoEngineLockHeld) {
  std::size_t seen_waiting = 99;
  std::uint64_t ticket = 0;
  // A waiter that calls back into the log would deadlock if it ran under the engine's lock.
  ASSERT_FALSE(log().take_or_wait(
      std::nullopt, [&] { seen_waiting = log().waiting(); }, ticket));
  log().append(ev(1));
  EXPECT_EQ(seen_waiting, 0u);
}

TEST_P(ServerEventLogContractTest, TheListenerGetsEveryAppendedBodyOnceAfterItIsReadable) {
  std::mutex mu;
  std::vector<std::pair<std::string, std::uint64_t>> heard;  // body, last_id when heard
  log().set_listener([&](const std::string& body) {
    std::uint64_t last = log().last_id();  // no engine lock held, and the event is in
    std::lock_guard lock(mu);
    heard.emplace_back(body, last);
  });
  std::uint64_t id1 = log().append(ev(1));
  std::uint64_t id2 = log().append(ev(2));
  std::lock_guard lock(mu);
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_EQ(heard[0].first, ev(1));
  EXPECT_GE(heard[0].second, id1);
  EXPECT_EQ(heard[1].first, ev(2));
  EXPECT_GE(heard[1].second, id2);
}

TEST_P(ServerEventLogContractTest, TheListenerIsCalledOnlyOnTheNodeThatAppended) {
  make(10, 2);
  int heard0 = 0, heard1 = 0;
  // On the local engine both nodes are one object: the second listener replaces the first,
  // so this pins "once", and a shared engine pins "only there".
  node(0).set_listener([&](const std::string&) { ++heard0; });
  node(1).set_listener([&](const std::string&) { ++heard1; });
  node(1).append(ev(1));
  EXPECT_EQ(heard0, 0);
  EXPECT_EQ(heard1, 1);
}

TEST_P(ServerEventLogContractTest, SizeCountsTheKeptEventsUpToTheBound) {
  make(4);
  EXPECT_EQ(log().size(), 0u);
  for (int i = 1; i <= 3; ++i) log().append(ev(i));
  EXPECT_EQ(log().size(), 3u);
  log().take(std::nullopt);
  EXPECT_EQ(log().size(), 3u);  // reading keeps them (take(after) reads them again)
  for (int i = 4; i <= 9; ++i) log().append(ev(i));
  EXPECT_EQ(log().size(), 4u);
  EXPECT_EQ(log().last_id(), 9u);
}

TEST_P(ServerEventLogContractTest, EventsAfterReadsKeptEventsWithoutMovingTheCursor) {
  for (int i = 1; i <= 5; ++i) log().append(ev(i));
  log().take(std::uint64_t{0});
  EXPECT_EQ(log().cursor(), 5u);
  auto later = log().events_after(2, 2);
  ASSERT_EQ(later.size(), 2u);
  EXPECT_EQ(later[0].id, 3u);
  EXPECT_EQ(*later[1].body, ev(4));
  EXPECT_EQ(log().cursor(), 5u);
  EXPECT_TRUE(log().events_after(5, 10).empty());
}

TEST_P(ServerEventLogContractTest, ARestoredLogGoesOnAfterItsNewestIdFromItsCursor) {
  std::vector<QueuedEvent> kept;
  for (std::uint64_t id = 41; id <= 43; ++id)
    kept.push_back(QueuedEvent{id, std::make_shared<const std::string>(ev(int(id)))});
  log().restore(std::move(kept), 44, 41);
  EXPECT_EQ(log().cursor(), 41u);
  EXPECT_EQ(log().last_id(), 43u);
  // The unread ones come once, with no gap for the ids before the restored ones.
  auto batch = log().take(std::nullopt);
  EXPECT_EQ(ids(batch), (std::vector<std::uint64_t>{42, 43}));
  EXPECT_EQ(log().append(ev(44)), 44u);
  EXPECT_EQ(ids(log().take(std::nullopt)), std::vector<std::uint64_t>{44});
}

TEST_P(ServerEventLogContractTest, ARestoreOfNothingKeepsIdsGoingOnFromTheStoredNewest) {
  log().restore({}, 8, 7);
  EXPECT_EQ(log().append(ev(1)), 8u);
  EXPECT_EQ(ids(log().take(std::nullopt)), std::vector<std::uint64_t>{8});
}

INSTANTIATE_TEST_SUITE_P(Engines, ServerEventLogContractTest, ::testing::ValuesIn(engines()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace rtm
