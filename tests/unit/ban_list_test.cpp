// BanList: a ban is in force until its end, per (scope, target, uid); expired ones vanish;
// lists are per scope and target, by uid.
#include "core/ban_list.hpp"

#include <gtest/gtest.h>

namespace rtm {
namespace {

TEST(BanList, ABanIsInForceUntilItsEndAndNotAfter) {
  BanList bans;
  bans.put(Ban{BanScope::Group, 7, 42, 2'000});
  EXPECT_EQ(bans.until(BanScope::Group, 7, 42, 1'999), 2'000);
  EXPECT_FALSE(bans.until(BanScope::Group, 7, 42, 2'000));
  EXPECT_FALSE(bans.until(BanScope::Group, 7, 42, 1'000));  // dropped when met expired
}

TEST(BanList, ScopeTargetAndUserEachMatter) {
  BanList bans;
  bans.put(Ban{BanScope::Group, 7, 42, Ban::kForever});
  EXPECT_TRUE(bans.until(BanScope::Group, 7, 42, 0));
  EXPECT_FALSE(bans.until(BanScope::Room, 7, 42, 0));
  EXPECT_FALSE(bans.until(BanScope::Group, 8, 42, 0));
  EXPECT_FALSE(bans.until(BanScope::Group, 7, 43, 0));
}

TEST(BanList, BanningAgainReplacesTheEnd) {
  BanList bans;
  bans.put(Ban{BanScope::Room, 1, 5, 10'000});
  bans.put(Ban{BanScope::Room, 1, 5, 3'000});
  EXPECT_EQ(bans.until(BanScope::Room, 1, 5, 0), 3'000);
}

TEST(BanList, RemoveSaysWhetherABanWasInForce) {
  BanList bans;
  bans.put(Ban{BanScope::Project, 0, 9, 5'000});
  bans.put(Ban{BanScope::Project, 0, 10, 1'000});
  EXPECT_TRUE(bans.remove(BanScope::Project, 0, 9, 0));
  EXPECT_FALSE(bans.remove(BanScope::Project, 0, 9, 0));
  EXPECT_FALSE(bans.remove(BanScope::Project, 0, 10, 2'000));  // had already ended
  EXPECT_FALSE(bans.until(BanScope::Project, 0, 9, 0));
}

TEST(BanList, InForceListsOneTargetByUidWithoutExpiredOnes) {
  BanList bans;
  bans.load({Ban{BanScope::Group, 7, 30, Ban::kForever}, Ban{BanScope::Group, 7, 10, 5'000},
             Ban{BanScope::Group, 7, 20, 1'000}, Ban{BanScope::Group, 8, 5, Ban::kForever},
             Ban{BanScope::Room, 7, 1, Ban::kForever}});
  auto list = bans.in_force(BanScope::Group, 7, 2'000);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].uid, 10u);
  EXPECT_EQ(list[0].until_ms, 5'000);
  EXPECT_EQ(list[1].uid, 30u);
  EXPECT_EQ(list[1].until_ms, Ban::kForever);
}

TEST(BanList, LoadReplacesEverything) {
  BanList bans;
  bans.put(Ban{BanScope::Group, 1, 1, Ban::kForever});
  bans.load({Ban{BanScope::Group, 2, 2, Ban::kForever}});
  EXPECT_FALSE(bans.until(BanScope::Group, 1, 1, 0));
  EXPECT_TRUE(bans.until(BanScope::Group, 2, 2, 0));
}

}  // namespace
}  // namespace rtm
