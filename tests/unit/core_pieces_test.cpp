// Small core pieces: mid generation, JWT, base64url, login throttling, topic index, errors.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "core/error.hpp"
#include "core/jwt.hpp"
#include "core/listen_selection.hpp"
#include "core/mid_generator.hpp"
#include "core/password.hpp"
#include "core/quote_input.hpp"
#include "core/random.hpp"

namespace rtm {
namespace {

TEST(ListenSelection, EncodeDecodeRoundTripsEveryPart) {
  ListenSelection sel;
  sel.uids = {3, 18446744073709551615u};
  sel.all_groups = true;
  sel.rids = {};
  sel.events = {"user.online", "file.uploaded"};
  auto back = ListenSelection::decode(sel.encode());
  ASSERT_TRUE(back.has_value()) << sel.encode();
  EXPECT_EQ(*back, sel);
  ListenSelection none;
  none.events.clear();
  auto empty = ListenSelection::decode(none.encode());
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->events.empty());
  EXPECT_EQ(ListenSelection::decode(ListenSelection{}.encode()), ListenSelection{});
}

TEST(ListenSelection, DecodeRefusesTextEncodeWouldNotWrite) {
  for (const char* bad : {"", "p2p=all", "p2p=1,x\ngroups=\nrooms=\nevents=",
                          "p2p=\ngroups=\nrooms=\nevents=user.nope",
                          "p2p=\ngroups=\nrooms=\nwhat=1", "p2p=1,,2\ngroups=\nrooms=\nevents="})
    EXPECT_FALSE(ListenSelection::decode(bad).has_value()) << bad;
}

TEST(MidGenerator, IdsIncreaseWithinOneMillisecond) {
  MidGenerator g(3);
  auto a = g.next(1'800'000'000'000);
  auto b = g.next(1'800'000'000'000);
  EXPECT_LT(a, b);
  EXPECT_EQ((a >> 12) & 0x3FF, 3u);
}

TEST(MidGenerator, IdsStillIncreaseWhenTheClockStepsBack) {
  MidGenerator g(0);
  auto a = g.next(1'800'000'000'000);
  auto b = g.next(1'700'000'000'000);
  EXPECT_LT(a, b);
}

TEST(MidGenerator, IdsFromManyThreadsAreUnique) {
  MidGenerator g(1);
  std::vector<std::vector<std::uint64_t>> out(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) out[t].push_back(g.next(1'800'000'000'000));
    });
  for (auto& th : threads) th.join();
  std::set<std::uint64_t> all;
  for (auto& v : out) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 80000u);
}

TEST(MidGenerator, LaterMillisecondGivesLargerId) {
  MidGenerator g(0);
  auto a = g.next(1'800'000'000'000);
  auto b = g.next(1'800'000'000'001);
  EXPECT_LT(a, b);
  EXPECT_EQ(b >> 22, static_cast<std::uint64_t>(1'800'000'000'001 - MidGenerator::kEpochMs));
}

TEST(Base64Url, RoundTripsEveryLength) {
  for (std::size_t n = 0; n < 20; ++n) {
    std::string raw;
    for (std::size_t i = 0; i < n; ++i) raw += static_cast<char>(i * 37 + 200);
    std::string back;
    ASSERT_TRUE(base64url_decode(base64url_encode(raw), back));
    EXPECT_EQ(back, raw);
  }
  std::string out;
  EXPECT_FALSE(base64url_decode("ab+c", out));
  EXPECT_FALSE(base64url_decode("a", out));
}

TEST(RandomToken, IsLongAndDifferentEachTime) {
  auto a = random_token(32);
  auto b = random_token(32);
  EXPECT_EQ(a.size(), 43u);
  EXPECT_NE(a, b);
}

TEST(Jwt, SignedTokenVerifiesWithItsClaims) {
  boost::json::object claims{{"uid", 42}, {"exp", 2000}};
  auto token = jwt_sign(claims, "secret");
  auto back = jwt_verify(token, "secret", 1000);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->at("uid").as_int64(), 42);
}

TEST(Jwt, WrongSecretIsInvalidToken) {
  auto token = jwt_sign({{"exp", 2000}}, "secret");
  auto back = jwt_verify(token, "other", 1000);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().rc, Rc::InvalidToken);
}

TEST(Jwt, ExpiredTokenIsTokenExpired) {
  auto token = jwt_sign({{"exp", 2000}}, "secret");
  auto back = jwt_verify(token, "secret", 2000);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().rc, Rc::TokenExpired);
}

TEST(Jwt, TamperedPayloadIsInvalidToken) {
  auto token = jwt_sign({{"uid", 1}, {"exp", 2000}}, "secret");
  auto dot1 = token.find('.');
  auto dot2 = token.find('.', dot1 + 1);
  std::string forged =
      token.substr(0, dot1 + 1) + base64url_encode(R"({"uid":2,"exp":2000})") + token.substr(dot2);
  EXPECT_EQ(jwt_verify(forged, "secret", 1000).error().rc, Rc::InvalidToken);
}

TEST(Jwt, AlgNoneAndGarbageAreInvalidToken) {
  std::string none =
      base64url_encode(R"({"alg":"none"})") + "." + base64url_encode(R"({"exp":9999})") + ".";
  EXPECT_EQ(jwt_verify(none, "secret", 1).error().rc, Rc::InvalidToken);
  for (const char* bad : {"", ".", "..", "a.b.c", "a.b", "!!!.???.***", "a.b.c.d"})
    EXPECT_EQ(jwt_verify(bad, "secret", 1).error().rc, Rc::InvalidToken) << bad;
}

TEST(Password, HashVerifiesOnlyTheSamePassword) {
  PasswordPolicy fast{1, 8 * 1024};
  auto hash = hash_password("correct horse", fast);
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(verify_password("correct horse", *hash));
  EXPECT_FALSE(verify_password("correct horsE", *hash));
  EXPECT_FALSE(verify_password("x", "not a hash"));
}

// True when s is well-formed UTF-8 from end to end.
bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

TEST(QuoteInput, ShortValidTextIsEchoedUnchanged) {
  EXPECT_EQ(quote_input("session.nope"), "session.nope");
  EXPECT_EQ(quote_input("h\u00e9llo \U0001F600"), "h\u00e9llo \U0001F600");
  EXPECT_EQ(quote_input(""), "");
}

TEST(QuoteInput, LongTextIsCutOnACharacterBoundaryAndMarked) {
  std::string text = "x";
  for (int i = 0; i < 100; ++i) text += "\u00e9";  // 2 bytes each: byte 64 splits one
  std::string out = quote_input(text, 64);
  EXPECT_TRUE(valid_utf8(out)) << out;
  EXPECT_EQ(out, "x" + std::string(out.substr(1, out.size() - 4)) + "...");
  EXPECT_EQ(out.size(), 1 + 31 * 2 + 3u);
  std::string emoji;
  for (int i = 0; i < 40; ++i) emoji += "\U0001F600";  // 4 bytes each
  out = quote_input(emoji, 10);
  EXPECT_EQ(out, "\U0001F600\U0001F600...");
}

TEST(QuoteInput, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(quote_input("a\xff\xfe"
                        "b"),
            "a" + fffd + fffd + "b");
  EXPECT_EQ(quote_input("\xC0\xAF"), fffd + fffd);                        // overlong '/'
  EXPECT_EQ(quote_input("\xED\xA0\x80"), fffd + fffd + fffd);             // UTF-16 surrogate
  EXPECT_EQ(quote_input("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // > U+10FFFF
  EXPECT_EQ(quote_input("ok\xE2\x82"), "ok" + fffd + fffd);               // cut-off sequence
  EXPECT_EQ(quote_input("\x80z"), fffd + "z");                            // stray continuation
  std::string junk(5000, '\xff');
  std::string out = quote_input(junk, 64);
  EXPECT_TRUE(valid_utf8(out));
  EXPECT_LE(out.size(), 64u + 3u);
}

TEST(ErrorTable, CodesMapToContractNamesAndStatuses) {
  EXPECT_EQ(rc_name(Rc::InvalidSession), "InvalidSession");
  EXPECT_EQ(rc_http_status(Rc::InvalidSession), 404);
  EXPECT_EQ(rc_http_status(Rc::PayloadTooLarge), 413);
  EXPECT_EQ(rc_http_status(Rc::RateLimited), 429);
  EXPECT_EQ(rc_http_status(Rc::SessionExists), 409);
  EXPECT_EQ(rc_http_status(Rc::PermissionDenied), 403);
  EXPECT_EQ(rc_http_status(Rc::Unavailable), 503);
}

}  // namespace
}  // namespace rtm
