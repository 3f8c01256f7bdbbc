// The ChannelQueues contract (core/channel_queues.hpp), one suite run against every engine:
// one factory per engine in engines() below. Each test pins a written guarantee through the
// interface alone. Where a guarantee is about many nodes, the test asks the factory for
// several views of the same channels ("nodes"): the local engine has one node, so every view
// is the same object; a shared engine hands out one engine per node on one backend.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "core/channel_queues.hpp"
#include "core/local_channel_queues.hpp"

namespace rtm {
namespace {

constexpr std::int64_t kHour = 3'600'000;

// One engine under test.
struct ChannelQueuesFactory {
  std::string name;  // ends the test names: Engines/ChannelQueuesContractTest.X/local
  // Fresh, empty channels with `options`, seen through `nodes` engines (one per node; all of
  // them the same channels).
  std::function<std::vector<std::shared_ptr<ChannelQueues>>(ChannelOptions options,
                                                            std::size_t nodes)>
      make;
};
void PrintTo(const ChannelQueuesFactory& f, std::ostream* os) { *os << f.name; }

ChannelQueuesFactory local_factory() {
  return {"local", [](ChannelOptions options, std::size_t nodes) {
            auto channels = std::make_shared<LocalChannelQueues>(options);
            return std::vector<std::shared_ptr<ChannelQueues>>(nodes, channels);
          }};
}

// Every engine the contract runs against. The Redis engine's factory goes here: make() gives
// each test a key prefix of its own on a redis-server the test binary starts (loopback, no
// persistence) and answers one engine per node on it; the suite must pass unchanged.
std::vector<ChannelQueuesFactory> engines() { return {local_factory()}; }

using Strings = std::vector<std::string>;
using Messages = std::vector<ChannelMessage>;

ChannelMessage msg(std::string text, std::uint64_t position = 0) {
  return ChannelMessage{position, std::move(text)};
}
Messages msgs(std::initializer_list<const char*> texts) {
  Messages out;
  for (const char* t : texts) out.push_back(msg(t));
  return out;
}
Strings texts(const Messages& messages) {
  Strings out;
  for (const auto& m : messages) out.push_back(m.text);
  return out;
}
std::vector<std::uint64_t> positions(const Messages& messages) {
  std::vector<std::uint64_t> out;
  for (const auto& m : messages) out.push_back(m.position);
  return out;
}

struct Change {
  std::string client_id;
  bool connected;
  std::int64_t at;
  bool operator==(const Change&) const = default;
};
void PrintTo(const Change& c, std::ostream* os) {
  *os << c.client_id << (c.connected ? " connected at " : " disconnected at ") << c.at;
}

class ChannelQueuesContractTest : public ::testing::TestWithParam<ChannelQueuesFactory> {
 protected:
  void SetUp() override { make(ChannelOptions{5, 15'000}); }
  // The channels with `options` through `nodes` engines, each with a hook that records.
  void make(ChannelOptions options, std::size_t nodes = 1) {
    nodes_ = GetParam().make(options, nodes);
    for (auto& n : nodes_)
      n->set_presence_hook([this](const std::string& id, bool connected, std::int64_t at) {
        std::lock_guard lock(mu_);
        changes_.push_back(Change{id, connected, at});
      });
    std::lock_guard lock(mu_);
    changes_.clear();
  }
  ChannelQueues& q() { return *nodes_.at(0); }
  ChannelQueues& node(std::size_t i) { return *nodes_.at(i); }

  // A poll with a token valid for an hour; without a waiter it answers at once.
  std::optional<Strings> poll(const std::string& id, ChannelQueues::Waiter waiter = nullptr,
                              std::uint64_t* ticket_out = nullptr, std::size_t on = 0) {
    std::uint64_t ticket = 0;
    auto got = node(on).poll(id, now_ + kHour, now_, std::move(waiter), ticket);
    if (ticket_out) *ticket_out = ticket;
    if (!got) return std::nullopt;
    return texts(*got);
  }
  std::vector<Change> changes() {
    std::lock_guard lock(mu_);
    return changes_;
  }
  std::vector<bool> states(const std::string& id) {
    std::vector<bool> out;
    for (auto& c : changes())
      if (c.client_id == id) out.push_back(c.connected);
    return out;
  }

  std::int64_t now_ = 1'000'000;
  std::vector<std::shared_ptr<ChannelQueues>> nodes_;
  std::mutex mu_;
  std::vector<Change> changes_;
};

// --- one channel across the nodes ---------------------------------------------------------

TEST_P(ChannelQueuesContractTest, AChannelOpenedOnOneNodeSentOnAnotherPolledOnAThirdIsOne) {
  make(ChannelOptions{5, 15'000}, 3);
  node(0).open("c", now_ + kHour, now_);
  ASSERT_TRUE(node(1).send("c", msg("one"), now_).ok());
  ASSERT_TRUE(node(1).send("c", msg("two"), now_).ok());
  EXPECT_EQ(node(2).info("c", now_)->pending, 2u);
  EXPECT_EQ(*poll("c", nullptr, nullptr, 2), (Strings{"one", "two"}));
  EXPECT_TRUE(node(0).info("c", now_)->connected);
  EXPECT_EQ(node(1).info("c", now_)->pending, 0u);
  EXPECT_EQ(changes(), (std::vector<Change>{{"c", true, now_}}));
}

TEST_P(ChannelQueuesContractTest, ASendOnAnotherNodeWakesTheWaitingPoll) {
  make(ChannelOptions{5, 15'000}, 2);
  std::promise<void> woken;
  std::uint64_t ticket = 0;
  ASSERT_FALSE(poll(
      "c", [&] { woken.set_value(); }, &ticket, 0));
  ASSERT_TRUE(node(1).send("c", msg("hello"), now_).ok());
  ASSERT_EQ(woken.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  node(0).cancel_wait("c", ticket, now_);
  EXPECT_EQ(texts(node(0).take("c")), Strings{"hello"});
}

TEST_P(ChannelQueuesContractTest, AWaitingPollOnAnotherNodeReplacesAndWakesTheFirst) {
  make(ChannelOptions{5, 15'000}, 2);
  int first = 0, second = 0;
  ASSERT_FALSE(poll(
      "c", [&] { ++first; }, nullptr, 0));
  ASSERT_FALSE(poll(
      "c", [&] { ++second; }, nullptr, 1));
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 0);
  EXPECT_EQ(node(0).stats().waiting, 1u);  // at most one waiter per channel
  ASSERT_TRUE(node(0).send("c", msg("x"), now_).ok());
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 1);
}

TEST_P(ChannelQueuesContractTest, SocketsOnTwoNodesHoldTheChannelUntilTheLastDetach) {
  make(ChannelOptions{5, 15'000}, 2);
  node(0).attach("c", now_ + kHour, now_);
  node(1).attach("c", now_ + kHour, now_);
  node(0).detach("c", now_);
  EXPECT_TRUE(node(1).info("c", now_)->connected);
  node(1).detach("c", now_);
  EXPECT_FALSE(node(0).info("c", now_)->connected);
  EXPECT_EQ(states("c"), (std::vector<bool>{true, false}));
}

// --- the queue ----------------------------------------------------------------------------

TEST_P(ChannelQueuesContractTest, MessagesSentBeforeAnyPollComeInOrderAtTheFirstPoll) {
  q().open("c", now_ + kHour, now_);
  ASSERT_TRUE(q().send("c", msg("one"), now_).ok());
  ASSERT_TRUE(q().send("c", msg("two"), now_).ok());
  EXPECT_EQ(q().info("c", now_)->pending, 2u);
  EXPECT_FALSE(q().info("c", now_)->connected);
  auto got = poll("c");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (Strings{"one", "two"}));
  EXPECT_EQ(q().info("c", now_)->pending, 0u);
  EXPECT_TRUE(q().info("c", now_)->connected);
}

TEST_P(ChannelQueuesContractTest, QueuePastItsLimitDropsTheOldest) {
  q().open("c", now_ + kHour, now_);
  for (int i = 1; i <= 8; ++i) ASSERT_TRUE(q().send("c", msg(std::to_string(i)), now_).ok());
  EXPECT_EQ(q().info("c", now_)->pending, 5u);
  EXPECT_EQ(*poll("c"), (Strings{"4", "5", "6", "7", "8"}));
}

TEST_P(ChannelQueuesContractTest, EachMessageKeepsItsPositionAndTheBoundHandsBackWhatItDrops) {
  make(ChannelOptions{2, 15'000});
  q().open("c", now_ + kHour, now_);
  Messages dropped;
  ASSERT_TRUE(q().send("c", msg("a", 11), now_, &dropped).ok());
  ASSERT_TRUE(q().send("c", msg("b", 12), now_, &dropped).ok());
  ASSERT_TRUE(q().send("c", msg("c", 13), now_, &dropped).ok());
  EXPECT_EQ(positions(dropped), (std::vector<std::uint64_t>{11}));
  auto taken = q().take("c");
  EXPECT_EQ(positions(taken), (std::vector<std::uint64_t>{12, 13}));
  ASSERT_TRUE(q().send("c", msg("d", 14), now_).ok());
  dropped.clear();
  q().give_back("c", taken, &dropped);  // limit 2: 12 13 14, the oldest given back goes
  EXPECT_EQ(positions(dropped), (std::vector<std::uint64_t>{12}));
  auto cleared = q().clear("c", now_);
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(positions(*cleared), (std::vector<std::uint64_t>{13, 14}));
}

TEST_P(ChannelQueuesContractTest, ARestoredChannelHasItsQueueAndStateWithoutAPresenceChange) {
  q().restore("c", now_ + kHour, true, {msg("one", 1), msg("two", 2)}, now_);
  auto info = q().info("c", now_);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->connected);
  EXPECT_EQ(info->pending, 2u);
  EXPECT_EQ(info->expires_ms, now_ + kHour);
  EXPECT_TRUE(changes().empty()) << "the change happened before the restart";
  EXPECT_EQ(*poll("c"), (Strings{"one", "two"}));
  EXPECT_TRUE(changes().empty()) << "still connected: no second channel.connected";
}

TEST_P(ChannelQueuesContractTest, ARestoredConnectedChannelNotPolledWithinTheTimeoutDisconnects) {
  q().restore("c", now_ + kHour, true, {}, now_);
  q().sweep(now_ + 14'999);
  EXPECT_TRUE(q().info("c", now_ + 14'999)->connected) << "its client has the timeout to return";
  q().sweep(now_ + 15'000);
  EXPECT_FALSE(q().info("c", now_ + 15'000)->connected);
  EXPECT_EQ(states("c"), (std::vector<bool>{false}));
}

TEST_P(ChannelQueuesContractTest, GivenBackMessagesComeFirstInTheirOrderAheadOfNewerOnes) {
  q().open("c", now_ + kHour, now_);
  ASSERT_TRUE(q().send("c", msg("one"), now_).ok());
  ASSERT_TRUE(q().send("c", msg("two"), now_).ok());
  auto taken = q().take("c");
  ASSERT_EQ(texts(taken), (Strings{"one", "two"}));
  ASSERT_TRUE(q().send("c", msg("three"), now_).ok());  // arrives while the write fails
  q().give_back("c", taken);
  EXPECT_EQ(*poll("c"), (Strings{"one", "two", "three"}));
}

TEST_P(ChannelQueuesContractTest, GivingBackPastTheLimitDropsTheOldest) {
  q().open("c", now_ + kHour, now_);
  for (auto m : {"n1", "n2", "n3", "n4"}) ASSERT_TRUE(q().send("c", msg(m), now_).ok());
  q().give_back("c", msgs({"o1", "o2", "o3"}));  // limit 5: o1 and o2 go
  EXPECT_EQ(*poll("c"), (Strings{"o3", "n1", "n2", "n3", "n4"}));
}

TEST_P(ChannelQueuesContractTest, GivingBackWakesTheWaitingPoll) {
  std::uint64_t ticket = 0;
  int woken = 0;
  q().open("c", now_ + kHour, now_);
  ASSERT_FALSE(poll(
      "c", [&] { ++woken; }, &ticket));
  q().give_back("c", msgs({"again"}));
  EXPECT_EQ(woken, 1);
  q().cancel_wait("c", ticket, now_);
  EXPECT_EQ(texts(q().take("c")), Strings{"again"});
}

TEST_P(ChannelQueuesContractTest, GivingBackNothingWakesNobody) {
  int woken = 0;
  ASSERT_FALSE(poll("c", [&] { ++woken; }));
  q().give_back("c", {});
  EXPECT_EQ(woken, 0);
  EXPECT_EQ(q().stats().waiting, 1u);
}

TEST_P(ChannelQueuesContractTest, GivingBackToAForgottenChannelDoesNothing) {
  q().give_back("never", msgs({"x"}));
  EXPECT_EQ(q().info("never", now_).error().rc, Rc::NotFound);
  EXPECT_EQ(q().stats().channels, 0u);
}

TEST_P(ChannelQueuesContractTest, TakeFromAChannelNeverOpenedIsEmpty) {
  EXPECT_TRUE(q().take("never").empty());
  EXPECT_EQ(q().stats().channels, 0u);
}

TEST_P(ChannelQueuesContractTest, UnknownClientIdIsNotFound) {
  EXPECT_EQ(q().send("nobody", msg("x"), now_).error().rc, Rc::NotFound);
  EXPECT_EQ(q().info("nobody", now_).error().rc, Rc::NotFound);
  EXPECT_EQ(q().clear("nobody", now_).error().rc, Rc::NotFound);
}

TEST_P(ChannelQueuesContractTest, ClearDropsEverythingAndSaysHowMany) {
  q().open("c", now_ + kHour, now_);
  EXPECT_TRUE(q().send("c", msg("a"), now_).ok());
  EXPECT_TRUE(q().send("c", msg("b"), now_).ok());
  EXPECT_EQ(q().clear("c", now_)->size(), 2u);
  EXPECT_EQ(q().clear("c", now_)->size(), 0u);
  EXPECT_TRUE(poll("c")->empty());
}

TEST_P(ChannelQueuesContractTest, ConcurrentSendsAndPollsLoseNothingBeyondTheBound) {
  make(ChannelOptions{100'000, 15'000}, 3);
  node(0).open("c", now_ + kHour, now_);
  constexpr int kPerThread = 5'000;
  std::atomic<bool> done{false};
  std::size_t received = 0;
  std::thread poller([&] {
    while (!done.load()) {
      std::uint64_t ticket = 0;
      received += node(0).poll("c", now_ + kHour, now_, nullptr, ticket)->size();
    }
  });
  std::thread a([&] {
    for (int i = 0; i < kPerThread; ++i) EXPECT_TRUE(node(1).send("c", msg("a"), now_).ok());
  });
  std::thread b([&] {
    for (int i = 0; i < kPerThread; ++i) EXPECT_TRUE(node(2).send("c", msg("b"), now_).ok());
  });
  a.join();
  b.join();
  done = true;
  poller.join();
  received += node(0).take("c").size();
  EXPECT_EQ(received, 2u * kPerThread);  // each message once: in one answer, never two
}

// --- waiting polls ------------------------------------------------------------------------

TEST_P(ChannelQueuesContractTest, SendWakesTheWaitingPollOnceAndTakeGetsTheMessage) {
  std::atomic<int> woken{0};
  std::uint64_t ticket = 0;
  ASSERT_FALSE(poll(
      "c", [&] { ++woken; }, &ticket));
  std::thread sender([&] { EXPECT_TRUE(q().send("c", msg("hello"), now_).ok()); });
  sender.join();
  EXPECT_EQ(woken.load(), 1);
  q().cancel_wait("c", ticket, now_);
  EXPECT_EQ(texts(q().take("c")), Strings{"hello"});
  EXPECT_TRUE(q().send("c", msg("again"), now_).ok());
  q().wake_all();
  EXPECT_EQ(woken.load(), 1);  // a waiter is called once
}

TEST_P(ChannelQueuesContractTest, ANewWaitingPollWakesTheEarlierOne) {
  int first = 0, second = 0;
  EXPECT_FALSE(poll("c", [&] { ++first; }));
  EXPECT_FALSE(poll("c", [&] { ++second; }));
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 0);
  // A read-only poll (no waiter) leaves the waiting one alone.
  EXPECT_TRUE(poll("c"));
  EXPECT_EQ(second, 0);
  EXPECT_EQ(q().stats().waiting, 1u);
}

TEST_P(ChannelQueuesContractTest, CancelWaitWithAStaleTicketLeavesTheNewerWaiter) {
  std::uint64_t t1 = 0, t2 = 0;
  int second = 0;
  ASSERT_FALSE(poll(
      "c", [] {}, &t1));
  ASSERT_FALSE(poll(
      "c", [&] { ++second; }, &t2));
  EXPECT_NE(t1, t2);
  q().cancel_wait("c", t1, now_);  // the first poll ends late, after it was replaced
  EXPECT_EQ(q().stats().waiting, 1u);
  ASSERT_TRUE(q().send("c", msg("x"), now_).ok());
  EXPECT_EQ(second, 1);
}

TEST_P(ChannelQueuesContractTest, CancelledWaiterIsNotCalled) {
  int woken = 0;
  std::uint64_t ticket = 0;
  ASSERT_FALSE(poll(
      "c", [&] { ++woken; }, &ticket));
  q().cancel_wait("c", ticket, now_);
  EXPECT_EQ(q().stats().waiting, 0u);
  EXPECT_TRUE(q().send("c", msg("x"), now_).ok());
  q().wake_all();
  EXPECT_EQ(woken, 0);
}

TEST_P(ChannelQueuesContractTest, NoWaitFlagAnswersAtOnceInsteadOfWaiting) {
  std::atomic<bool> shutting_down{true};
  std::uint64_t ticket = 0;
  auto got = q().poll(
      "c", now_ + kHour, now_, [] { FAIL() << "must not wait"; }, ticket, &shutting_down);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->empty());
  EXPECT_EQ(q().stats().waiting, 0u);
  EXPECT_TRUE(q().send("c", msg("x"), now_).ok());
}

TEST_P(ChannelQueuesContractTest, APollRacingWithShutdownEitherAnswersOrIsWoken) {
  for (int round = 0; round < 200; ++round) {
    make(ChannelOptions{5, 15'000});
    std::atomic<bool> stop{false};
    std::atomic<int> woken{0};
    std::optional<Messages> answered;
    std::thread poller([&] {
      std::uint64_t ticket = 0;
      answered = q().poll(
          "c", now_ + kHour, now_, [&] { ++woken; }, ticket, &stop);
    });
    std::thread shutdown([&] {
      stop = true;  // the node's order: the flag, then the wakes
      q().wake_all();
    });
    poller.join();
    shutdown.join();
    EXPECT_EQ(answered.has_value() ? 0 : 1, woken.load()) << "round " << round;
    EXPECT_EQ(q().stats().waiting, 0u);
  }
}

TEST_P(ChannelQueuesContractTest, WakeAllWakesEveryWaitingPoll) {
  int woken = 0;
  poll("a", [&] { ++woken; });
  poll("b", [&] { ++woken; });
  q().wake_all();
  EXPECT_EQ(woken, 2);
  EXPECT_EQ(q().stats().waiting, 0u);
}

TEST_P(ChannelQueuesContractTest, WaitersAreCalledWithNoEngineLockHeld) {
  std::size_t pending_seen = 99;
  // A waiter that calls back into the engine would deadlock under the engine's lock.
  ASSERT_FALSE(poll("c", [&] { pending_seen = q().info("c", now_)->pending; }));
  ASSERT_TRUE(q().send("c", msg("x"), now_).ok());
  EXPECT_EQ(pending_seen, 1u);
}

// --- connected state and the presence hook ------------------------------------------------

TEST_P(ChannelQueuesContractTest, FirstPollConnectsOnceAndTheHookSeesItWithItsTime) {
  poll("c");
  now_ += 10;
  poll("c");
  EXPECT_EQ(changes(), (std::vector<Change>{{"c", true, 1'000'000}}));
}

TEST_P(ChannelQueuesContractTest, PollOpensAChannelNeverCreatedHere) {
  // A token minted by the application itself: the poll proves the channel.
  EXPECT_TRUE(poll("minted")->empty());
  EXPECT_TRUE(q().send("minted", msg("hi"), now_).ok());
}

TEST_P(ChannelQueuesContractTest, NoPollForTheTimeoutDisconnects) {
  poll("c");
  now_ += 14'999;
  q().sweep(now_);
  EXPECT_TRUE(q().info("c", now_)->connected);
  now_ += 1;
  q().sweep(now_);
  EXPECT_FALSE(q().info("c", now_)->connected);
  EXPECT_EQ(changes().back(), (Change{"c", false, now_}));
  // Messages still queue for the next poll, which connects again.
  EXPECT_TRUE(q().send("c", msg("later"), now_).ok());
  EXPECT_EQ(*poll("c"), Strings{"later"});
  EXPECT_EQ(states("c"), (std::vector<bool>{true, false, true}));
}

TEST_P(ChannelQueuesContractTest, AWaitingPollKeepsTheChannelConnected) {
  bool woken = false;
  EXPECT_FALSE(poll("c", [&] { woken = true; }));
  now_ += 60'000;
  q().sweep(now_);
  EXPECT_TRUE(q().info("c", now_)->connected);
  EXPECT_FALSE(woken);
}

TEST_P(ChannelQueuesContractTest, TheTimeoutCountsFromTheEndOfAWaitingPoll) {
  std::uint64_t ticket = 0;
  ASSERT_FALSE(poll(
      "c", [] {}, &ticket));
  now_ += 30'000;
  q().cancel_wait("c", ticket, now_);
  now_ += 10'000;
  q().sweep(now_);
  EXPECT_TRUE(q().info("c", now_)->connected);
  now_ += 5'000;
  q().sweep(now_);
  EXPECT_FALSE(q().info("c", now_)->connected);
}

TEST_P(ChannelQueuesContractTest, SocketsHoldTheChannelConnectedAndTheLastDetachDisconnects) {
  q().attach("c", now_ + kHour, now_);
  q().attach("c", now_ + kHour, now_);
  now_ += 60'000;
  q().sweep(now_);
  EXPECT_TRUE(q().info("c", now_)->connected);
  q().detach("c", now_);
  EXPECT_TRUE(q().info("c", now_)->connected);
  q().detach("c", now_);
  EXPECT_FALSE(q().info("c", now_)->connected);
  EXPECT_EQ(changes(), (std::vector<Change>{{"c", true, 1'000'000}, {"c", false, now_}}));
}

TEST_P(ChannelQueuesContractTest, ADetachWhileAPollWaitsLeavesItConnectedUntilTheTimeout) {
  q().attach("c", now_ + kHour, now_);
  std::uint64_t ticket = 0;
  ASSERT_FALSE(poll(
      "c", [] {}, &ticket));
  q().detach("c", now_);
  EXPECT_TRUE(q().info("c", now_)->connected);
  q().cancel_wait("c", ticket, now_);
  now_ += 15'000;
  q().sweep(now_);
  EXPECT_FALSE(q().info("c", now_)->connected);
  EXPECT_EQ(states("c"), (std::vector<bool>{true, false}));
}

TEST_P(ChannelQueuesContractTest, ConnectedAndDisconnectedAlternateOnceEachInOrder) {
  poll("c");                            // connected
  poll("c");                            // still: no change
  q().attach("c", now_ + kHour, now_);  // still
  q().detach("c", now_);                // disconnected
  q().detach("c", now_);                // no socket left: no change
  q().attach("c", now_ + kHour, now_);  // connected
  q().detach("c", now_);                // disconnected
  poll("c");                            // connected
  now_ += 15'000;
  q().sweep(now_);  // disconnected (timeout)
  q().sweep(now_);  // no change
  EXPECT_EQ(states("c"), (std::vector<bool>{true, false, true, false, true, false}));
}

TEST_P(ChannelQueuesContractTest, TheHookSeesEachChannelsChangesInOrderUnderConcurrency) {
  make(ChannelOptions{5, 15'000}, 2);
  constexpr int kRounds = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        node(t).attach("c", now_ + kHour, now_);
        node(t).detach("c", now_);
      }
    });
  for (auto& t : threads) t.join();
  auto seen = states("c");
  ASSERT_FALSE(seen.empty());
  for (std::size_t i = 0; i < seen.size(); ++i)
    ASSERT_EQ(seen[i], i % 2 == 0) << "change " << i << " repeats the state before it";
  EXPECT_FALSE(seen.back());  // every socket went: it ends disconnected
  EXPECT_FALSE(q().info("c", now_)->connected);
}

// --- life and expiry ----------------------------------------------------------------------

TEST_P(ChannelQueuesContractTest, ChannelIsForgottenAtItsLatestExpiry) {
  q().open("c", now_ + 10'000, now_);
  q().open("c", now_ + 20'000, now_);
  q().open("c", now_ + 5'000, now_);  // an earlier expiry never shortens it
  EXPECT_TRUE(q().send("c", msg("x"), now_).ok());
  now_ += 19'999;
  EXPECT_EQ(q().sweep(now_), 0u);
  EXPECT_EQ(q().info("c", now_)->pending, 1u);
  now_ += 1;
  EXPECT_EQ(q().info("c", now_).error().rc, Rc::NotFound);  // dead even before the sweep
  EXPECT_EQ(q().send("c", msg("y"), now_).error().rc, Rc::NotFound);
  EXPECT_EQ(q().clear("c", now_).error().rc, Rc::NotFound);
  EXPECT_EQ(q().sweep(now_), 1u);
  EXPECT_EQ(q().stats().channels, 0u);
}

TEST_P(ChannelQueuesContractTest, ExpiryDisconnectsAndWakesTheWaitingPoll) {
  int woken = 0;
  std::uint64_t ticket = 0;
  ASSERT_FALSE(q().poll(
      "c", now_ + 1'000, now_, [&] { ++woken; }, ticket));
  now_ += 1'000;
  q().sweep(now_);
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(changes(), (std::vector<Change>{{"c", true, 1'000'000}, {"c", false, now_}}));
  EXPECT_TRUE(q().take("c").empty());
}

TEST_P(ChannelQueuesContractTest, ANewTokenAfterExpiryStartsWithAnEmptyQueue) {
  q().open("c", now_ + 1'000, now_);
  EXPECT_TRUE(q().send("c", msg("old"), now_).ok());
  now_ += 2'000;
  EXPECT_TRUE(poll("c")->empty());
  EXPECT_EQ(q().info("c", now_)->pending, 0u);
}

TEST_P(ChannelQueuesContractTest, ReopeningAConnectedChannelPastItsExpiryDisconnectsItFirst) {
  std::uint64_t ticket = 0;
  ASSERT_TRUE(q().poll("c", now_ + 1'000, now_, nullptr, ticket));
  now_ += 2'000;  // expired, not yet swept
  q().attach("c", now_ + kHour, now_);
  EXPECT_EQ(changes(),
            (std::vector<Change>{{"c", true, 1'000'000}, {"c", false, now_}, {"c", true, now_}}));
  EXPECT_TRUE(q().info("c", now_)->connected);
}

TEST_P(ChannelQueuesContractTest, SweepForgetsOnlyExpiredChannelsAndCountsThem) {
  q().open("short", now_ + 1'000, now_);
  q().open("long", now_ + kHour, now_);
  poll("long");
  now_ += 1'000;
  EXPECT_EQ(q().sweep(now_), 1u);
  EXPECT_EQ(q().sweep(now_), 0u);
  EXPECT_TRUE(q().info("long", now_).ok());
  EXPECT_EQ(q().stats().channels, 1u);
}

TEST_P(ChannelQueuesContractTest, StatsCountChannelsConnectedPendingAndWaiting) {
  q().open("a", now_ + kHour, now_);
  ASSERT_TRUE(q().send("a", msg("1"), now_).ok());
  ASSERT_TRUE(q().send("a", msg("2"), now_).ok());
  poll("b", [] {});
  q().attach("d", now_ + kHour, now_);
  auto st = q().stats();
  EXPECT_EQ(st.channels, 3u);
  EXPECT_EQ(st.connected, 2u);
  EXPECT_EQ(st.pending, 2u);
  EXPECT_EQ(st.waiting, 1u);
}

INSTANTIATE_TEST_SUITE_P(Engines, ChannelQueuesContractTest, ::testing::ValuesIn(engines()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace rtm
