// The SessionDirectory contract (core/session_directory.hpp), run against every engine: one
// factory per engine below. Only the local engine exists today; a Redis engine adds its
// factory (a redis-server the test starts; two directories on it are two nodes) and must pass
// the same suite.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "core/local_session_directory.hpp"
#include "core/session_directory.hpp"

namespace rtm {
namespace {

struct DirectoryEngine {
  std::string name;
  SessionDirectoryFactory factory;
};
void PrintTo(const DirectoryEngine& e, std::ostream* os) { *os << e.name; }

using Outcome = LoginDecision::Outcome;

class SessionDirectoryContractTest : public ::testing::TestWithParam<DirectoryEngine> {
 protected:
  void SetUp() override {
    directory_ = GetParam().factory([this](const std::string& id) -> std::int64_t {
      std::lock_guard lock(mu_);
      auto it = last_active_.find(id);
      return it == last_active_.end() ? 0 : it->second;
    });
  }
  void active(const std::string& id, std::int64_t at) {
    std::lock_guard lock(mu_);
    last_active_[id] = at;
  }
  LoginDecision claim(Uid uid, const std::string& s, LoginMode mode, std::size_t max = 64) {
    return directory_->claim(uid, s, mode, max);
  }

  std::mutex mu_;
  std::map<std::string, std::int64_t> last_active_;
  std::unique_ptr<SessionDirectory> directory_;
};

TEST_P(SessionDirectoryContractTest, TheFirstSessionBringsTheUserOnlineAndTheLastTakesThemOff) {
  EXPECT_FALSE(directory_->online(7));
  auto a = claim(7, "a", LoginMode::Multi);
  EXPECT_EQ(a.outcome, Outcome::Bound);
  EXPECT_TRUE(a.first);
  auto b = claim(7, "b", LoginMode::Multi);
  EXPECT_EQ(b.outcome, Outcome::Bound);
  EXPECT_FALSE(b.first);
  EXPECT_TRUE(directory_->online(7));
  EXPECT_EQ(directory_->online_count(), 1u);
  EXPECT_EQ(directory_->sessions_of(7), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(directory_->release(7, "a"));
  EXPECT_TRUE(directory_->release(7, "b"));
  EXPECT_FALSE(directory_->online(7));
  EXPECT_EQ(directory_->online_count(), 0u);
}

TEST_P(SessionDirectoryContractTest, ReleasingASessionItDoesNotHoldChangesNothing) {
  claim(7, "a", LoginMode::Multi);
  EXPECT_FALSE(directory_->release(7, "zzz"));
  EXPECT_FALSE(directory_->release(8, "a"));
  EXPECT_EQ(directory_->sessions_of(7), std::vector<std::string>{"a"});
  EXPECT_FALSE(directory_->online(8));
}

TEST_P(SessionDirectoryContractTest, RefuseBindsOnlyAUserWithoutALiveSession) {
  EXPECT_EQ(claim(7, "a", LoginMode::Refuse).outcome, Outcome::Bound);
  auto refused = claim(7, "b", LoginMode::Refuse);
  EXPECT_EQ(refused.outcome, Outcome::Exists);
  EXPECT_FALSE(refused.first);
  EXPECT_EQ(directory_->sessions_of(7), std::vector<std::string>{"a"});
  directory_->release(7, "a");
  EXPECT_EQ(claim(7, "b", LoginMode::Refuse).outcome, Outcome::Bound);
}

TEST_P(SessionDirectoryContractTest, PossessAnswersTheMostRecentlyActiveSessionAndBindsNothing) {
  claim(7, "old", LoginMode::Multi);
  claim(7, "recent", LoginMode::Multi);
  claim(7, "middle", LoginMode::Multi);
  active("old", 1000);
  active("recent", 3000);
  active("middle", 2000);
  auto p = claim(7, "new", LoginMode::Possess);
  EXPECT_EQ(p.outcome, Outcome::Possess);
  EXPECT_EQ(p.possessed, "recent");
  EXPECT_EQ(directory_->sessions_of(7), (std::vector<std::string>{"old", "recent", "middle"}));
  // Without a session to take, possess binds like a first login.
  auto alone = claim(8, "x", LoginMode::Possess);
  EXPECT_EQ(alone.outcome, Outcome::Bound);
  EXPECT_TRUE(alone.first);
}

TEST_P(SessionDirectoryContractTest, MultiStopsAtTheMostSessionsAndKillStillReplacesThem) {
  EXPECT_EQ(claim(7, "a", LoginMode::Multi, 2).outcome, Outcome::Bound);
  EXPECT_EQ(claim(7, "b", LoginMode::Multi, 2).outcome, Outcome::Bound);
  auto third = claim(7, "c", LoginMode::Multi, 2);
  EXPECT_EQ(third.outcome, Outcome::TooMany);
  EXPECT_EQ(third.count, 2u);
  EXPECT_EQ(directory_->sessions_of(7).size(), 2u);
  auto kill = claim(7, "c", LoginMode::Kill, 2);
  EXPECT_EQ(kill.outcome, Outcome::Bound);
  EXPECT_FALSE(kill.first);  // bound before the others end: never offline in between
  EXPECT_EQ(kill.others, (std::vector<std::string>{"a", "b"}));
}

TEST_P(SessionDirectoryContractTest, UsersAreIndependent) {
  claim(7, "a", LoginMode::Refuse);
  EXPECT_EQ(claim(8, "b", LoginMode::Refuse).outcome, Outcome::Bound);
  EXPECT_TRUE(claim(9, "c", LoginMode::Kill).others.empty());
  EXPECT_EQ(directory_->online_count(), 3u);
}

TEST_P(SessionDirectoryContractTest, LoginsRacingInModeRefuseBindExactlyOne) {
  std::atomic<int> bound{0}, refused{0}, first{0};
  std::vector<std::thread> racers;
  for (int t = 0; t < 8; ++t)
    racers.emplace_back([&, t] {
      auto d = claim(7, "s" + std::to_string(t), LoginMode::Refuse);
      (d.outcome == Outcome::Bound ? bound : refused)++;
      if (d.first) ++first;
    });
  for (auto& r : racers) r.join();
  EXPECT_EQ(bound.load(), 1);
  EXPECT_EQ(refused.load(), 7);
  EXPECT_EQ(first.load(), 1);
}

TEST_P(SessionDirectoryContractTest, EachOnlineAndOfflineTransitionIsToldOnceUnderRaces) {
  // Threads log in and out the same user; every transition to online must be matched by one
  // to offline, and the user ends offline.
  std::atomic<int> online{0}, offline{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        std::string s = std::to_string(t) + ":" + std::to_string(i);
        if (claim(7, s, LoginMode::Multi, 1000).first) ++online;
        if (directory_->release(7, s)) ++offline;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_GE(online.load(), 1);
  EXPECT_EQ(online.load(), offline.load());
  EXPECT_FALSE(directory_->online(7));
}

INSTANTIATE_TEST_SUITE_P(Engines, SessionDirectoryContractTest,
                         ::testing::Values(DirectoryEngine{"local", local_session_directory()}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace rtm
