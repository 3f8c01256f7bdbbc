// The Broker contract (core/broker.hpp), run against every engine: one factory per engine
// below. Today only `local` exists; the Redis engine adds its factory (a redis-server the
// test starts) and must pass the same suite.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "broker/local/local_broker.hpp"
#include "core/broker.hpp"

namespace rtm {
namespace {

struct BrokerFactory {
  std::string name;
  std::function<std::unique_ptr<Broker>()> make;
};
void PrintTo(const BrokerFactory& f, std::ostream* os) { *os << f.name; }

// What a node saw: publications and control messages, in arrival order, from any thread.
class Inbox {
 public:
  void add_publication(const Publication& p) {
    std::lock_guard lock(mu_);
    publications_.push_back(p.target.text() + " " + *p.payload);
    cv_.notify_all();
  }
  void add_control(const ControlMessage& m) {
    std::lock_guard lock(mu_);
    controls_.push_back(m.kind + " " + m.payload);
    cv_.notify_all();
  }
  std::vector<std::string> wait_publications(std::size_t n) { return wait(publications_, n); }
  std::vector<std::string> wait_controls(std::size_t n) { return wait(controls_, n); }
  std::vector<std::string> publications() {
    std::lock_guard lock(mu_);
    return publications_;
  }
  std::vector<std::string> controls() {
    std::lock_guard lock(mu_);
    return controls_;
  }

 private:
  std::vector<std::string> wait(std::vector<std::string>& what, std::size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return what.size() >= n; });
    return what;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> publications_;
  std::vector<std::string> controls_;
};

// The outcome a `done` callback got, waited for.
class Outcome {
 public:
  Broker::Done callback() {
    return [this](Status s) {
      std::lock_guard lock(mu_);
      statuses_.push_back(s);
      cv_.notify_all();
    };
  }
  std::vector<Status> wait(std::size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return statuses_.size() >= n; });
    return statuses_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Status> statuses_;
};

EventBody body(const std::string& text) { return std::make_shared<const std::string>(text); }

class BrokerContractTest : public ::testing::TestWithParam<BrokerFactory> {
 protected:
  void SetUp() override {
    broker_ = GetParam().make();
    broker_->set_handler([this](const Publication& p) { inbox_.add_publication(p); });
    broker_->set_control_handler([this](const ControlMessage& m) { inbox_.add_control(m); });
  }
  void TearDown() override { broker_->close(); }

  std::unique_ptr<Broker> broker_;
  Inbox inbox_;
};

TEST_P(BrokerContractTest, APublicationToASubscribedTargetReachesThisNodeOnce) {
  broker_->subscribe(Target::user(42));
  Outcome sent;
  broker_->publish(Publication{Target::user(42), body("hello")}, sent.callback());
  auto statuses = sent.wait(1);
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_TRUE(statuses[0].ok());
  EXPECT_EQ(inbox_.wait_publications(1), std::vector<std::string>{"u:42 hello"});
  // Nothing more comes: once, not once per subscription call or per retry.
  broker_->subscribe(Target::of_topic("group:7"));
  broker_->publish(Publication{Target::of_topic("group:7"), body("marker")}, nullptr);
  EXPECT_EQ(inbox_.wait_publications(2),
            (std::vector<std::string>{"u:42 hello", "t:group:7 marker"}));
}

TEST_P(BrokerContractTest, PublicationsToOneTargetFromOneThreadArriveInOrder) {
  broker_->subscribe(Target::of_topic("room:3"));
  std::vector<std::string> expected;
  for (int i = 0; i < 200; ++i) {
    broker_->publish(Publication{Target::of_topic("room:3"), body(std::to_string(i))}, nullptr);
    expected.push_back("t:room:3 " + std::to_string(i));
  }
  EXPECT_EQ(inbox_.wait_publications(200), expected);
}

TEST_P(BrokerContractTest, BroadcastsReachANodeSubscribedToAll) {
  broker_->subscribe(Target::all());
  broker_->publish(Publication{Target::all(), body("to everyone")}, nullptr);
  EXPECT_EQ(inbox_.wait_publications(1), std::vector<std::string>{"all to everyone"});
}

TEST_P(BrokerContractTest, InterestChangesInAnyNumberAndOrderNeverFailAPublication) {
  Target t = Target::of_topic("presence:9");
  broker_->unsubscribe(t);  // never subscribed: nothing to do, no error
  broker_->subscribe(t);
  broker_->subscribe(t);
  broker_->unsubscribe(t);
  broker_->subscribe(t);
  Outcome sent;
  broker_->publish(Publication{t, body("after the churn")}, sent.callback());
  EXPECT_TRUE(sent.wait(1).at(0).ok());
  EXPECT_EQ(inbox_.wait_publications(1), std::vector<std::string>{"t:presence:9 after the churn"});
}

TEST_P(BrokerContractTest, AControlMessageForEveryNodeOrForThisOneReachesIt) {
  Outcome sent;
  broker_->publish_control(ControlMessage{"", "invalidate", "bans"}, sent.callback());
  broker_->publish_control(ControlMessage{broker_->node_id(), "end_session", "s1"},
                           sent.callback());
  auto statuses = sent.wait(2);
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_TRUE(statuses[0].ok() && statuses[1].ok());
  EXPECT_EQ(inbox_.wait_controls(2),
            (std::vector<std::string>{"invalidate bans", "end_session s1"}));
}

TEST_P(BrokerContractTest, AControlMessageForAnotherNodeDoesNotReachThisOne) {
  ASSERT_NE(broker_->node_id(), "some-other-node");
  broker_->publish_control(ControlMessage{"some-other-node", "end_session", "s1"}, nullptr);
  // A marker for this node comes after it: once it is here, the other would have been too.
  broker_->publish_control(ControlMessage{broker_->node_id(), "marker", ""}, nullptr);
  EXPECT_EQ(inbox_.wait_controls(1), std::vector<std::string>{"marker "});
}

TEST_P(BrokerContractTest, AfterCloseEveryPublishAnswersUnavailableAndDeliversNothing) {
  broker_->subscribe(Target::user(1));
  broker_->close();
  Outcome sent;
  broker_->publish(Publication{Target::user(1), body("late")}, sent.callback());
  broker_->publish_control(ControlMessage{"", "invalidate", "bans"}, sent.callback());
  auto statuses = sent.wait(2);
  ASSERT_EQ(statuses.size(), 2u);
  for (auto& s : statuses) {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().rc, Rc::Unavailable);
  }
  EXPECT_TRUE(inbox_.publications().empty());
  EXPECT_TRUE(inbox_.controls().empty());
}

INSTANTIATE_TEST_SUITE_P(Engines, BrokerContractTest,
                         ::testing::Values(BrokerFactory{
                             "local", [] { return std::make_unique<LocalBroker>(); }}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace rtm
