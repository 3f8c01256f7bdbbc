// LocalChannelQueues: queues in order and bounded, connected state and its hook, waiters,
// poll timeout, sockets, expiry by the latest token.
#include "core/local_channel_queues.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <utility>

namespace rtm {
namespace {

constexpr std::int64_t kHour = 3'600'000;

class ChannelRegistryTest : public ::testing::Test {
 protected:
  ChannelRegistryTest()
      : reg_(ChannelOptions{5, 15'000},
             [this](const std::string& id, bool connected, std::int64_t) {
               changes_.emplace_back(id, connected);
             }) {}

  std::optional<std::vector<std::string>> poll(const std::string& id,
                                               ChannelQueues::Waiter waiter = nullptr) {
    std::uint64_t ticket = 0;
    return reg_.poll(id, now_ + kHour, now_, std::move(waiter), ticket);
  }

  std::int64_t now_ = 1'000'000;
  std::vector<std::pair<std::string, bool>> changes_;
  LocalChannelQueues reg_;
};

TEST_F(ChannelRegistryTest, MessagesSentBeforeAnyPollComeInOrderAtTheFirstPoll) {
  reg_.open("c", now_ + kHour, now_);
  ASSERT_TRUE(reg_.send("c", "one", now_).ok());
  ASSERT_TRUE(reg_.send("c", "two", now_).ok());
  EXPECT_EQ(reg_.info("c", now_)->pending, 2u);
  EXPECT_FALSE(reg_.info("c", now_)->connected);
  auto got = poll("c");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(reg_.info("c", now_)->pending, 0u);
  EXPECT_TRUE(reg_.info("c", now_)->connected);
}

TEST_F(ChannelRegistryTest, QueuePastItsLimitDropsTheOldest) {
  reg_.open("c", now_ + kHour, now_);
  for (int i = 1; i <= 8; ++i) ASSERT_TRUE(reg_.send("c", std::to_string(i), now_).ok());
  EXPECT_EQ(reg_.info("c", now_)->pending, 5u);
  EXPECT_EQ(*poll("c"), (std::vector<std::string>{"4", "5", "6", "7", "8"}));
}

TEST_F(ChannelRegistryTest, GivenBackMessagesComeFirstInTheirOrderAheadOfNewerOnes) {
  reg_.open("c", now_ + kHour, now_);
  ASSERT_TRUE(reg_.send("c", "one", now_).ok());
  ASSERT_TRUE(reg_.send("c", "two", now_).ok());
  auto taken = reg_.take("c");
  ASSERT_EQ(taken, (std::vector<std::string>{"one", "two"}));
  ASSERT_TRUE(reg_.send("c", "three", now_).ok());  // arrives while the write fails
  reg_.give_back("c", taken);
  EXPECT_EQ(*poll("c"), (std::vector<std::string>{"one", "two", "three"}));
}

TEST_F(ChannelRegistryTest, GivingBackPastTheLimitDropsTheOldest) {
  reg_.open("c", now_ + kHour, now_);
  for (auto m : {"n1", "n2", "n3", "n4"}) ASSERT_TRUE(reg_.send("c", m, now_).ok());
  reg_.give_back("c", {"o1", "o2", "o3"});  // limit 5: o1 and o2 go
  EXPECT_EQ(*poll("c"), (std::vector<std::string>{"o3", "n1", "n2", "n3", "n4"}));
}

TEST_F(ChannelRegistryTest, GivingBackToAForgottenChannelDoesNothing) {
  reg_.give_back("never", {"x"});
  EXPECT_FALSE(reg_.info("never", now_).ok());
}

TEST_F(ChannelRegistryTest, UnknownClientIdIsNotFound) {
  EXPECT_EQ(reg_.send("nobody", "x", now_).error().rc, Rc::NotFound);
  EXPECT_EQ(reg_.info("nobody", now_).error().rc, Rc::NotFound);
  EXPECT_EQ(reg_.clear("nobody", now_).error().rc, Rc::NotFound);
}

TEST_F(ChannelRegistryTest, ClearDropsEverythingAndSaysHowMany) {
  reg_.open("c", now_ + kHour, now_);
  EXPECT_TRUE(reg_.send("c", "a", now_).ok());
  EXPECT_TRUE(reg_.send("c", "b", now_).ok());
  EXPECT_EQ(*reg_.clear("c", now_), 2u);
  EXPECT_EQ(*reg_.clear("c", now_), 0u);
  EXPECT_TRUE(poll("c")->empty());
}

TEST_F(ChannelRegistryTest, FirstPollConnectsOnceAndTheHookSeesIt) {
  poll("c");
  poll("c");
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0], std::make_pair(std::string("c"), true));
}

TEST_F(ChannelRegistryTest, PollOpensAChannelNeverCreatedHere) {
  // A token minted by the application itself: the poll proves the channel.
  EXPECT_TRUE(poll("minted")->empty());
  EXPECT_TRUE(reg_.send("minted", "hi", now_).ok());
}

TEST_F(ChannelRegistryTest, NoPollForTheTimeoutDisconnects) {
  poll("c");
  now_ += 14'999;
  reg_.sweep(now_);
  EXPECT_TRUE(reg_.info("c", now_)->connected);
  now_ += 1;
  reg_.sweep(now_);
  EXPECT_FALSE(reg_.info("c", now_)->connected);
  ASSERT_EQ(changes_.size(), 2u);
  EXPECT_EQ(changes_[1], std::make_pair(std::string("c"), false));
  // Messages still queue for the next poll, which connects again.
  EXPECT_TRUE(reg_.send("c", "later", now_).ok());
  EXPECT_EQ(*poll("c"), std::vector<std::string>{"later"});
  EXPECT_EQ(changes_.size(), 3u);
}

TEST_F(ChannelRegistryTest, AWaitingPollKeepsTheChannelConnected) {
  bool woken = false;
  EXPECT_FALSE(poll("c", [&] { woken = true; }));
  now_ += 60'000;
  reg_.sweep(now_);
  EXPECT_TRUE(reg_.info("c", now_)->connected);
  EXPECT_FALSE(woken);
}

TEST_F(ChannelRegistryTest, TheTimeoutCountsFromTheEndOfAWaitingPoll) {
  std::uint64_t ticket = 0;
  ASSERT_FALSE(reg_.poll(
      "c", now_ + kHour, now_, [] {}, ticket));
  now_ += 30'000;
  reg_.cancel_wait("c", ticket, now_);
  now_ += 10'000;
  reg_.sweep(now_);
  EXPECT_TRUE(reg_.info("c", now_)->connected);
  now_ += 5'000;
  reg_.sweep(now_);
  EXPECT_FALSE(reg_.info("c", now_)->connected);
}

TEST_F(ChannelRegistryTest, SendWakesTheWaitingPollAndTakeGetsTheMessage) {
  std::atomic<int> woken{0};
  std::uint64_t ticket = 0;
  ASSERT_FALSE(reg_.poll(
      "c", now_ + kHour, now_, [&] { ++woken; }, ticket));
  std::thread sender([&] { EXPECT_TRUE(reg_.send("c", "hello", now_).ok()); });
  sender.join();
  EXPECT_EQ(woken.load(), 1);
  reg_.cancel_wait("c", ticket, now_);
  EXPECT_EQ(reg_.take("c"), std::vector<std::string>{"hello"});
  EXPECT_TRUE(reg_.send("c", "again", now_).ok());
  EXPECT_EQ(woken.load(), 1);  // a waiter is called once
}

TEST_F(ChannelRegistryTest, ANewWaitingPollWakesTheEarlierOne) {
  int first = 0, second = 0;
  EXPECT_FALSE(poll("c", [&] { ++first; }));
  EXPECT_FALSE(poll("c", [&] { ++second; }));
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 0);
  // A read-only poll (no waiter) leaves the waiting one alone.
  EXPECT_TRUE(poll("c"));
  EXPECT_EQ(second, 0);
}

TEST_F(ChannelRegistryTest, CancelledWaiterIsNotCalled) {
  int woken = 0;
  std::uint64_t ticket = 0;
  ASSERT_FALSE(reg_.poll(
      "c", now_ + kHour, now_, [&] { ++woken; }, ticket));
  reg_.cancel_wait("c", ticket, now_);
  EXPECT_TRUE(reg_.send("c", "x", now_).ok());
  EXPECT_EQ(woken, 0);
}

TEST_F(ChannelRegistryTest, NoWaitFlagAnswersAtOnceInsteadOfWaiting) {
  std::atomic<bool> shutting_down{true};
  std::uint64_t ticket = 0;
  auto got = reg_.poll(
      "c", now_ + kHour, now_, [] {}, ticket, &shutting_down);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->empty());
}

TEST_F(ChannelRegistryTest, WakeAllWakesEveryWaitingPoll) {
  int woken = 0;
  poll("a", [&] { ++woken; });
  poll("b", [&] { ++woken; });
  reg_.wake_all();
  EXPECT_EQ(woken, 2);
}

TEST_F(ChannelRegistryTest, ChannelIsForgottenAtItsLatestExpiry) {
  reg_.open("c", now_ + 10'000, now_);
  reg_.open("c", now_ + 20'000, now_);
  reg_.open("c", now_ + 5'000, now_);  // an earlier expiry never shortens it
  EXPECT_TRUE(reg_.send("c", "x", now_).ok());
  now_ += 19'999;
  EXPECT_EQ(reg_.sweep(now_), 0u);
  EXPECT_EQ(reg_.info("c", now_)->pending, 1u);
  now_ += 1;
  EXPECT_EQ(reg_.info("c", now_).error().rc, Rc::NotFound);  // expired even before the sweep
  EXPECT_EQ(reg_.sweep(now_), 1u);
  EXPECT_EQ(reg_.stats().channels, 0u);
}

TEST_F(ChannelRegistryTest, ExpiryDisconnectsAndWakesTheWaitingPoll) {
  int woken = 0;
  std::uint64_t ticket = 0;
  ASSERT_FALSE(reg_.poll(
      "c", now_ + 1'000, now_, [&] { ++woken; }, ticket));
  now_ += 1'000;
  reg_.sweep(now_);
  EXPECT_EQ(woken, 1);
  ASSERT_EQ(changes_.size(), 2u);
  EXPECT_EQ(changes_[1], std::make_pair(std::string("c"), false));
  EXPECT_TRUE(reg_.take("c").empty());
}

TEST_F(ChannelRegistryTest, ANewTokenAfterExpiryStartsWithAnEmptyQueue) {
  reg_.open("c", now_ + 1'000, now_);
  EXPECT_TRUE(reg_.send("c", "old", now_).ok());
  now_ += 2'000;
  EXPECT_TRUE(poll("c")->empty());
}

TEST_F(ChannelRegistryTest, SocketsHoldTheChannelConnectedAndTheLastDetachDisconnects) {
  reg_.attach("c", now_ + kHour, now_);
  reg_.attach("c", now_ + kHour, now_);
  now_ += 60'000;
  reg_.sweep(now_);
  EXPECT_TRUE(reg_.info("c", now_)->connected);
  reg_.detach("c", now_);
  EXPECT_TRUE(reg_.info("c", now_)->connected);
  reg_.detach("c", now_);
  EXPECT_FALSE(reg_.info("c", now_)->connected);
  EXPECT_EQ(changes_.size(), 2u);
}

TEST_F(ChannelRegistryTest, ConcurrentSendsAndPollsLoseNothingBeyondTheBound) {
  LocalChannelQueues reg(ChannelOptions{100'000, 15'000});
  reg.open("c", now_ + kHour, now_);
  constexpr int kPerThread = 5'000;
  std::atomic<bool> done{false};
  std::size_t received = 0;
  std::thread poller([&] {
    while (!done.load()) {
      std::uint64_t ticket = 0;
      received += reg.poll("c", now_ + kHour, now_, nullptr, ticket)->size();
    }
  });
  std::thread a([&] {
    for (int i = 0; i < kPerThread; ++i) EXPECT_TRUE(reg.send("c", "a", now_).ok());
  });
  std::thread b([&] {
    for (int i = 0; i < kPerThread; ++i) EXPECT_TRUE(reg.send("c", "b", now_).ok());
  });
  a.join();
  b.join();
  done = true;
  poller.join();
  received += reg.take("c").size();
  EXPECT_EQ(received, 2u * kPerThread);
}

}  // namespace
}  // namespace rtm
