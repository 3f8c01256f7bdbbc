// TopicIndex (core/topic_index.hpp): who is subscribed to a topic, and the first / last
// interest it tells the node (which subscribes at the broker only while it holds sessions).
#include "core/topic_index.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace rtm {
namespace {

TEST(TopicIndex, SubscribersAreThoseAddedAndNotRemoved) {
  TopicIndex index;
  auto a = std::make_shared<Session>("a", 0);
  auto b = std::make_shared<Session>("b", 0);
  index.add("room:1", a);
  index.add("room:1", b);
  index.add("room:1", a);
  EXPECT_EQ(index.subscribers("room:1").size(), 2u);
  EXPECT_TRUE(index.remove("room:1", a.get()));
  EXPECT_FALSE(index.remove("room:1", a.get()));
  ASSERT_EQ(index.subscribers("room:1").size(), 1u);
  EXPECT_EQ(index.subscribers("room:1")[0], b);
  index.remove("room:1", b.get());
  EXPECT_EQ(index.topic_count(), 0u);
}

TEST(TopicIndex, TellsTheFirstSubscriberOfATopicAndTheLastToGoOnlyOnce) {
  std::vector<std::pair<std::string, bool>> told;
  TopicIndex index(
      [&](const std::string& topic, bool interested) { told.emplace_back(topic, interested); });
  auto a = std::make_shared<Session>("a", 0);
  auto b = std::make_shared<Session>("b", 0);
  EXPECT_TRUE(index.add("group:5", a));
  EXPECT_TRUE(index.add("group:5", b));
  EXPECT_FALSE(index.add("group:5", a));  // already there: no change, nothing told
  EXPECT_TRUE(index.add("room:1", b));
  EXPECT_TRUE(index.remove("group:5", a.get()));
  EXPECT_FALSE(index.remove("group:5", a.get()));
  EXPECT_TRUE(index.remove("group:5", b.get()));
  EXPECT_FALSE(index.remove("presence:3", a.get()));  // never subscribed: nothing told
  std::vector<std::pair<std::string, bool>> expected{
      {"group:5", true}, {"room:1", true}, {"group:5", false}};
  EXPECT_EQ(told, expected);
}

}  // namespace
}  // namespace rtm
