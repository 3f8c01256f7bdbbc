// WebhookSender's signature is HMAC-SHA256 in lowercase hex (RFC 4231 test case 2), what a
// receiver recomputes with its secret; and a flood of failed deliveries (to a real port that
// refuses, through a real SQLite outbox) costs the log a few lines, with the rest counted.
#include "webhooks/webhook_sender.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "logging/log.hpp"
#include "store/sqlite/sqlite_store.hpp"

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

TEST(WebhookSender, DeadLettersHeldBackByTheLogBudgetAreReportedAsLogSuppressed) {
  std::string pattern = (std::filesystem::temp_directory_path() / "rtm-hooks-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  std::filesystem::path dir = pattern;
  {
    auto store = open_sqlite_store((dir / "rtm.db").string());
    ASSERT_TRUE(store.ok()) << store.error().msg;
    // Port 1 refuses at once; one attempt each, so every event is one webhook.dead_letter.
    WebhookConfig hook{"http://127.0.0.1:1/hook", {"*"}, "s"};
    hook.max_attempts = 1;
    auto wall_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
    WebhookSender sender(**store, {hook}, WebhookOptions{}, wall_ms);
    constexpr int kEvents = 30;
    logging::configure(logging::Format::Json, logging::Level::Info);
    testing::internal::CaptureStderr();
    sender.start();
    for (int i = 0; i < kEvents; ++i)
      sender.offer("\"type\":\"user.online\",\"uid\":" + std::to_string(i + 1) + "}");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (sender.stats().dead_letters < kEvents && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the budget's second is over
    sender.report_held_back();
    sender.stop();
    std::istringstream out(testing::internal::GetCapturedStderr());
    ASSERT_EQ(sender.stats().dead_letters, static_cast<std::uint64_t>(kEvents));

    std::uint64_t lines = 0, suppressed = 0, reported = 0;
    for (std::string line; std::getline(out, line);) {
      boost::system::error_code ec;
      auto v = boost::json::parse(line, ec);
      ASSERT_FALSE(ec) << line;
      const auto& o = v.as_object();
      if (o.at("event") == "webhook.dead_letter") {
        ++lines;
        suppressed += o.at("suppressed").to_number<std::uint64_t>();
      } else if (o.at("event") == "log.suppressed" && o.at("of") == "webhook.dead_letter") {
        reported += o.at("count").to_number<std::uint64_t>();
      }
    }
    EXPECT_LE(lines, 20u) << "ten lines a second, not one per event";
    EXPECT_GT(reported, 0u) << "what was held back is reported";
    EXPECT_EQ(lines + suppressed + reported, static_cast<std::uint64_t>(kEvents))
        << "every dead letter is a line or counted in one";
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace rtm::webhooks
