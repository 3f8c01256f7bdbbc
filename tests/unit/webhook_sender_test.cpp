// WebhookSender's signature is HMAC-SHA256 in lowercase hex (RFC 4231 test case 2), what a
// receiver recomputes with its secret; and a flood of failed deliveries (to a real port that
// refuses, through a real SQLite outbox) costs the log a few lines, with the rest counted;
// and an attempt whose outcome is recorded while the coordinator's query is reading is not
// made twice.
#include "webhooks/webhook_sender.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
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

// The real SQLite outbox, with the one interleaving that used to send an entry twice forced:
// the coordinator's query reads the entry while its first attempt is in flight (still due in
// the store), and returns only after the sender has recorded the failure.
class OutboxWithStaleRead : public OutboxStore {
 public:
  explicit OutboxWithStaleRead(OutboxStore& inner) : inner_(inner) {}

  Result<std::uint64_t> outbox_add(const std::string& url, const std::string& body,
                                   std::int64_t now_ms) override {
    return inner_.outbox_add(url, body, now_ms);
  }
  Result<std::vector<OutboxEntry>> outbox_due(std::int64_t now_ms, std::size_t limit) override {
    auto rows = inner_.outbox_due(now_ms, limit);
    std::unique_lock lock(mu_);
    ++due_calls_;
    changed_.notify_all();
    if (!rows || rows->empty()) return rows;
    if (!handed_out_) {
      handed_out_ = true;  // the first attempt goes out with these rows
      return rows;
    }
    if (!stale_read_) {
      stale_read_ = true;  // read while the attempt was in flight: the sender may record now
      changed_.notify_all();
      changed_.wait_for(lock, std::chrono::seconds(5), [&] { return failure_recorded_; });
      lock.unlock();
      // Lets the sender finish its bookkeeping after the record; only then is a stale row a
      // danger. The fix holds whatever this wait is.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return rows;
  }
  Status outbox_delivered(std::uint64_t id) override { return inner_.outbox_delivered(id); }
  Status outbox_failed(std::uint64_t id, int attempts, std::int64_t next_at_ms, bool dead,
                       const std::string& error) override {
    {
      std::unique_lock lock(mu_);
      changed_.wait_for(lock, std::chrono::seconds(5), [&] { return stale_read_; });
    }
    auto st = inner_.outbox_failed(id, attempts, next_at_ms, dead, error);
    std::lock_guard lock(mu_);
    failure_recorded_ = true;
    changed_.notify_all();
    return st;
  }
  Result<std::vector<OutboxEntry>> outbox_dead(std::size_t limit) override {
    return inner_.outbox_dead(limit);
  }
  Result<std::uint64_t> outbox_dead_count() override { return inner_.outbox_dead_count(); }

  // Waits until the coordinator has queried `n` more times (each round is 100 ms).
  bool wait_for_rounds(int n) {
    std::unique_lock lock(mu_);
    int until = due_calls_ + n;
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return due_calls_ >= until; });
  }
  bool wait_for_failure_recorded() {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return failure_recorded_; });
  }

 private:
  OutboxStore& inner_;
  std::mutex mu_;
  std::condition_variable changed_;
  int due_calls_ = 0;
  bool handed_out_ = false;
  bool stale_read_ = false;
  bool failure_recorded_ = false;
};

TEST(WebhookSender, AnAttemptRecordedWhileTheDueQueryReadsIsNotMadeAgain) {
  std::string pattern = (std::filesystem::temp_directory_path() / "rtm-hooks-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  std::filesystem::path dir = pattern;
  {
    auto store = open_sqlite_store((dir / "rtm.db").string());
    ASSERT_TRUE(store.ok()) << store.error().msg;
    OutboxWithStaleRead outbox(**store);
    WebhookConfig hook{"http://127.0.0.1:1/hook", {"*"}, "s"};  // port 1 refuses at once
    WebhookOptions options;
    options.retry_base_ms = 600'000;  // the next attempt is far past the test's end
    auto wall_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
    logging::configure(logging::Format::Json, logging::Level::Error);
    WebhookSender sender(outbox, {hook}, options, wall_ms);
    sender.start();
    sender.offer("\"type\":\"user.online\",\"uid\":1}");
    ASSERT_TRUE(outbox.wait_for_failure_recorded());
    ASSERT_TRUE(outbox.wait_for_rounds(3)) << "the coordinator keeps querying";
    sender.stop();
    EXPECT_EQ(sender.stats().failed_attempts, 1u) << "one attempt, not a second from a stale row";
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace rtm::webhooks
