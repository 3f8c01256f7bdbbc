// Signed file links: a link is good for its file until exp and for nothing else.
#include "core/file_link.hpp"

#include <gtest/gtest.h>

namespace rtm {
namespace {

constexpr std::string_view kSecret = "test-secret";

TEST(FileLink, ASignedLinkIsGoodUntilItsExpiry) {
  auto sig = file_link_signature(kSecret, "file1", 1'000);
  EXPECT_TRUE(check_file_link(kSecret, "file1", "1000", sig, 999).ok());
  auto late = check_file_link(kSecret, "file1", "1000", sig, 1'000);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().rc, Rc::TokenExpired);
}

TEST(FileLink, AnotherFileExpiryOrSecretDoesNotMatch) {
  auto sig = file_link_signature(kSecret, "file1", 1'000);
  for (auto [id, exp, secret] :
       {std::tuple{"file2", "1000", kSecret}, std::tuple{"file1", "2000", kSecret},
        std::tuple{"file1", "1000", std::string_view("other")}}) {
    auto r = check_file_link(secret, id, exp, sig, 0);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().rc, Rc::PermissionDenied);
  }
}

TEST(FileLink, MissingOrMalformedPartsAreInvalidToken) {
  auto sig = file_link_signature(kSecret, "f", 1'000);
  for (auto [exp, s] : {std::pair<std::string_view, std::string_view>{"", sig},
                        {"1000", ""},
                        {"10x", sig},
                        {"-5", sig},
                        {"0", sig}}) {
    auto r = check_file_link(kSecret, "f", exp, s, 0);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().rc, Rc::InvalidToken) << exp << " " << s;
  }
}

}  // namespace
}  // namespace rtm
