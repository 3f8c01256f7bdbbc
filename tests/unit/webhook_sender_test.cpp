// WebhookSender's signature is HMAC-SHA256 in lowercase hex (RFC 4231 test case 2), what a
// receiver recomputes with its secret.
#include "webhooks/webhook_sender.hpp"

#include <gtest/gtest.h>

namespace rtm::webhooks {
namespace {

TEST(WebhookSignature, IsHmacSha256InLowercaseHex) {
  EXPECT_EQ(WebhookSender::signature("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookConfig, WantsItsEventTypesOrEverythingWithStar) {
  WebhookConfig some{"http://x/h", {"user.online", "file.uploaded"}, "s"};
  EXPECT_TRUE(some.wants("user.online"));
  EXPECT_FALSE(some.wants("user.offline"));
  WebhookConfig all{"http://x/h", {"*"}, "s"};
  EXPECT_TRUE(all.wants("channel.connected"));
}

}  // namespace
}  // namespace rtm::webhooks
