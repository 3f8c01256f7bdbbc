// WebhookSender: the server event stream POSTed to the application's receivers (API.md
// section 8, config `[[webhook]]`). Every event a webhook wants is first written to the
// store's outbox, then delivered by a few sender threads: `X-Rtm-Signature: sha256=<hex
// HMAC-SHA256 of the body with the webhook's secret>`, `X-Rtm-Event-Id` (the outbox id, the
// same on every retry). A 2xx answer removes it; anything else (no answer within the timeout
// included) is retried with exponential backoff and jitter, up to max_attempts, then kept
// as a dead letter (`webhooks.failed`, `rtm webhooks failed`, /metrics). Delivery is
// at-least-once and survives a restart: what is in the outbox is sent by the next rtmd.
// A receiver that hangs costs one sender thread for its timeout; message delivery never
// waits for webhooks. When the store cannot be written (a full disk), events wait in memory
// (at most max_unwritten, then the oldest are dropped) and are written when it can again;
// a delivery whose outcome cannot be recorded is not sent again until it is. docs/semantics.md
// "Webhooks" and "Full disk and store errors".
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace boost::asio::ssl {
class context;
}
#include <vector>

#include "core/outbox_store.hpp"
#include "logging/line_budget.hpp"

namespace rtm::webhooks {

struct WebhookConfig {
  std::string url;                  // http://host[:port]/path
  std::vector<std::string> events;  // event types it wants; "*": all
  std::string secret;
  std::chrono::milliseconds timeout{5000};
  int max_attempts = 8;
  bool wants(std::string_view type) const;
};

struct WebhookOptions {
  std::int64_t retry_base_ms = 1000;  // first retry after about this; doubles per attempt
  std::int64_t retry_max_ms = 300'000;
  int senders = 4;  // deliveries in flight at most
  // What https receivers are verified with (http_client/client_tls.hpp); null: the system's
  // CA store, loaded on the first https delivery.
  std::shared_ptr<boost::asio::ssl::context> tls;
  // Events kept in memory while the outbox cannot be written; past it the oldest are dropped.
  std::size_t max_unwritten = 10'000;
};

struct WebhookStats {
  std::uint64_t delivered = 0;
  std::uint64_t failed_attempts = 0;
  std::uint64_t dead_letters = 0;  // made since start
};

class WebhookSender {
 public:
  WebhookSender(OutboxStore& store, std::vector<WebhookConfig> hooks, WebhookOptions options,
                std::function<std::int64_t()> now_ms);
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  void start();
  // A server event body (`"type":"...",...}`); cheap, from any thread (the stream's listener).
  void offer(const std::string& body);
  // Writes what was offered to the outbox, lets deliveries in flight finish (each within its
  // timeout) and stops the threads.
  void stop();
  WebhookStats stats() const;
  // Writes a `log.suppressed` line for each count of webhook lines (webhook.failed,
  // webhook.dead_letter, webhook.outbox_error) held back in a second that is over and that
  // no line has reported yet; rtmd calls it every second, beside CallLog's.
  void report_held_back();

  // HMAC-SHA256 of body with secret, lowercase hex: what X-Rtm-Signature carries after
  // "sha256=".
  static std::string signature(std::string_view secret, std::string_view body);

 private:
  // What a delivery did, to be written to the outbox.
  struct Outcome {
    std::uint64_t id = 0;
    bool delivered = false;
    int attempts = 0;
    std::int64_t next_at_ms = 0;
    bool dead = false;
    std::string error;
  };
  // An event for one webhook that the outbox has not taken yet.
  struct Unwritten {
    std::string url;
    std::string body;
  };

  void run_coordinator();
  void run_sender();
  Outcome deliver(const OutboxEntry& entry);
  Status record(const Outcome& outcome);
  // Writes `unwritten` to the outbox in order, up to the first failure; logs the start and
  // the end of an outage.
  void write_unwritten(std::deque<Unwritten>& unwritten);
  const WebhookConfig* hook_for(const std::string& url) const;
  std::int64_t backoff_ms(int attempts);
  // A store error of the outbox (`op`: add, due, delivered, failed); called without mu_.
  void log_outbox_error(std::string_view op, const Error& e);

  OutboxStore& store_;
  const std::vector<WebhookConfig> hooks_;
  const WebhookOptions options_;
  std::function<std::int64_t()> now_ms_;
  // Failed deliveries, dead letters and outbox errors: a receiver that is down for an hour
  // must not write a line per retried event (logging/line_budget.hpp).
  logging::LineBudget log_budget_{10};

  mutable std::mutex mu_;  // guards everything below; a leaf lock
  std::condition_variable wake_coordinator_;
  std::condition_variable wake_senders_;
  std::deque<std::string> offered_;     // bodies not yet in the outbox
  std::deque<OutboxEntry> ready_;       // due entries handed to the senders
  std::set<std::uint64_t> claimed_;     // ids in ready_, being delivered or in unrecorded_
  std::vector<Outcome> unrecorded_;     // outcomes the outbox could not take yet
  std::vector<std::uint64_t> settled_;  // claimed ids a sender recorded; released next round
  bool stopping_ = false;
  WebhookStats stats_;
  std::uint64_t rng_state_;

  // The coordinator's own (no lock): the state of an outbox outage.
  bool outbox_failing_ = false;
  std::uint64_t dropped_in_outage_ = 0;

  std::thread coordinator_;
  std::vector<std::thread> senders_;
};

}  // namespace rtm::webhooks
