// The pieces behind rtm's per-address and per-user limits: rate flags, token buckets and the
// count of unauthorized sessions (docs/semantics.md "Limits").
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "core/limit_key.hpp"
#include "core/token_buckets.hpp"
#include "core/unauthorized_sessions.hpp"

namespace rtm {
namespace {

TEST(ParseRateLimit, OffIsNoLimit) {
  for (std::string_view off : {"off", "", "0"}) {
    auto r = parse_rate_limit(off, "--rate-send");
    ASSERT_TRUE(r.ok()) << off;
    EXPECT_FALSE(r->enabled());
  }
}

TEST(ParseRateLimit, UnitsAndBurst) {
  auto per_s = parse_rate_limit("20/s", "x").value();
  EXPECT_DOUBLE_EQ(per_s.per_second, 20);
  EXPECT_DOUBLE_EQ(per_s.burst, 20);  // burst defaults to the count
  auto per_m = parse_rate_limit("600/m:50", "x").value();
  EXPECT_DOUBLE_EQ(per_m.per_second, 10);
  EXPECT_DOUBLE_EQ(per_m.burst, 50);
  auto per_h = parse_rate_limit("36/h", "x").value();
  EXPECT_DOUBLE_EQ(per_h.per_second, 0.01);
}

TEST(ParseRateLimit, AnythingElseIsInvalidParameterNamingTheSetting) {
  for (std::string_view bad : {"20", "20/d", "/s", "x/s", "-1/s", "20/s:", "20/s:0", "20/s:x",
                               "2000000/s", "20/s:2000000", "20 /s", "1.5/s"}) {
    auto r = parse_rate_limit(bad, "--rate-session-create");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().rc, Rc::InvalidParameter);
    EXPECT_NE(r.error().msg.find("--rate-session-create"), std::string::npos);
  }
}

TEST(TokenBuckets, SweepForgetsOnlyRefilledBuckets) {
  TokenBuckets b(parse_rate_limit("1/s:2", "x").value());
  b.take("old", 0);
  b.take("new", 1'900);
  b.sweep(2'000);  // "old" is full again after 1 s, "new" is not
  EXPECT_EQ(b.size(), 1u);
  EXPECT_EQ(b.take("new", 2'000), 0);
  EXPECT_EQ(b.take("new", 2'000), 900);
}

TEST(TokenBuckets, PastMaxKeysANewKeyIsRefusedUntilTheLongestIdleHasRefilled) {
  TokenBuckets b(parse_rate_limit("1/h", "x").value(), 2);
  EXPECT_EQ(b.take("a", 0), 0);
  EXPECT_EQ(b.take("b", 1'000), 0);
  // Full, and "a" (idle longest) is an hour from refilled: a new key waits for it rather than
  // going untracked, so a flood of keys cannot switch the rate off.
  EXPECT_EQ(b.take("c", 1'000), 3'600'000 - 1'000);
  EXPECT_EQ(b.take("c", 1'000), 3'600'000 - 1'000);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_GT(b.take("a", 1'000), 0);  // the tracked ones are still held
  EXPECT_GT(b.take("b", 1'000), 0);
}

TEST(TokenBuckets, PastMaxKeysARefilledLongestIdleKeyMakesRoom) {
  TokenBuckets b(parse_rate_limit("1/s", "x").value(), 2);
  EXPECT_EQ(b.take("a", 0), 0);
  EXPECT_EQ(b.take("b", 500), 0);
  EXPECT_EQ(b.take("c", 1'000), 0);  // "a" has refilled: it is forgotten, "c" is tracked
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(b.take("c", 1'000), 1'000);
  EXPECT_EQ(b.take("b", 1'000), 500);  // "b" was not idle long enough to go
}

TEST(TokenBuckets, AFloodOfNewKeysNeverFreesAKeyThatIsHeld) {
  TokenBuckets b(parse_rate_limit("1/m", "x").value(), 100);
  EXPECT_EQ(b.take("login-victim", 0), 0);
  EXPECT_GT(b.take("login-victim", 0), 0);
  for (int i = 0; i < 10'000; ++i) b.take("flood-" + std::to_string(i), 10);
  EXPECT_EQ(b.size(), 100u);
  EXPECT_GT(b.take("login-victim", 20), 0);
}

TEST(UnauthorizedSessions, EachAddressHasItsCapAndAllTogetherTheTotal) {
  UnauthorizedSessions u(2, 3);
  using A = UnauthorizedSessions::Admission;
  EXPECT_EQ(u.try_add("10.0.0.1"), A::Admitted);
  EXPECT_EQ(u.try_add("10.0.0.1"), A::Admitted);
  EXPECT_EQ(u.try_add("10.0.0.1"), A::AddressFull);
  EXPECT_EQ(u.try_add("10.0.0.2"), A::Admitted);
  EXPECT_EQ(u.try_add("10.0.0.3"), A::TotalFull);
  EXPECT_EQ(u.total(), 3u);
  u.remove("10.0.0.1");
  EXPECT_EQ(u.of("10.0.0.1"), 1u);
  EXPECT_EQ(u.try_add("10.0.0.3"), A::Admitted);
}

TEST(UnauthorizedSessions, TheEmptyAddressIsHeldByTheTotalOnly) {
  UnauthorizedSessions u(1, 3);
  using A = UnauthorizedSessions::Admission;
  EXPECT_EQ(u.try_add(""), A::Admitted);
  EXPECT_EQ(u.try_add(""), A::Admitted);
  EXPECT_EQ(u.try_add(""), A::Admitted);
  EXPECT_EQ(u.try_add(""), A::TotalFull);
  u.remove("");
  EXPECT_EQ(u.total(), 2u);
}

TEST(LimitKey, IPv4IsTheAddressAndMappedIPv6CountsAsIt) {
  EXPECT_EQ(limit_key("203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(limit_key("::ffff:203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(limit_key("::FFFF:cb00:7107"), "203.0.113.7");
  EXPECT_NE(limit_key("203.0.113.7"), limit_key("203.0.113.8"));
}

TEST(LimitKey, IPv6CountsByItsSlash64) {
  EXPECT_EQ(limit_key("2001:db8::1"), "2001:db8::/64");
  EXPECT_EQ(limit_key("2001:db8::ffff:ffff:ffff:ffff"), "2001:db8::/64");
  EXPECT_EQ(limit_key("2001:0DB8:0000:0000:1234::9"), "2001:db8::/64");
  EXPECT_EQ(limit_key("2001:db8:0:1::1"), "2001:db8:0:1::/64");
  EXPECT_NE(limit_key("2001:db8:0:1::1"), limit_key("2001:db8:0:2::1"));
  EXPECT_EQ(limit_key("fe80::1%eth0"), limit_key("fe80::2"));
  EXPECT_EQ(limit_key("::1"), "::/64");
}

TEST(LimitKey, TextThatIsNoAddressIsItsOwnKey) {
  EXPECT_EQ(limit_key(""), "");
  EXPECT_EQ(limit_key("unix:/run/rtm.sock"), "unix:/run/rtm.sock");
  EXPECT_EQ(limit_key("1.2.3"), "1.2.3");
  EXPECT_EQ(limit_key("2001:db8::1::2"), "2001:db8::1::2");
}

}  // namespace
}  // namespace rtm
