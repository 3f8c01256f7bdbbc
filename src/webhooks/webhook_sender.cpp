// See webhook_sender.hpp.
#include "webhooks/webhook_sender.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <random>

#include "http_client/base_url.hpp"
#include "http_client/blocking_client.hpp"
#include "logging/log.hpp"
#include "logging/redact.hpp"

namespace rtm::webhooks {

namespace {

std::string_view event_type(std::string_view body) {
  constexpr std::string_view kKey = "\"type\":\"";
  auto at = body.find(kKey);
  if (at == std::string_view::npos) return {};
  body.remove_prefix(at + kKey.size());
  return body.substr(0, body.find('"'));
}

}  // namespace

bool WebhookConfig::wants(std::string_view type) const {
  return std::any_of(events.begin(), events.end(),
                     [&](const std::string& e) { return e == "*" || e == type; });
}

std::string WebhookSender::signature(std::string_view secret, std::string_view body) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), out, &len);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < len; ++i) {
    s += hex[out[i] >> 4];
    s += hex[out[i] & 15];
  }
  return s;
}

WebhookSender::WebhookSender(OutboxStore& store, std::vector<WebhookConfig> hooks,
                             WebhookOptions options, std::function<std::int64_t()> now_ms)
    : store_(store),
      hooks_(std::move(hooks)),
      options_(options),
      now_ms_(std::move(now_ms)),
      rng_state_(std::random_device{}()) {}

WebhookSender::~WebhookSender() { stop(); }

void WebhookSender::start() {
  if (hooks_.empty()) return;
  coordinator_ = std::thread([this] { run_coordinator(); });
  for (int i = 0; i < std::max(1, options_.senders); ++i)
    senders_.emplace_back([this] { run_sender(); });
}

void WebhookSender::offer(const std::string& body) {
  if (hooks_.empty()) return;
  std::string_view type = event_type(body);
  bool wanted = std::any_of(hooks_.begin(), hooks_.end(),
                            [&](const WebhookConfig& h) { return h.wants(type); });
  if (!wanted) return;
  {
    std::lock_guard lock(mu_);
    offered_.push_back(body);
  }
  wake_coordinator_.notify_one();
}

void WebhookSender::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_coordinator_.notify_all();
  wake_senders_.notify_all();
  if (coordinator_.joinable()) coordinator_.join();
  for (auto& t : senders_)
    if (t.joinable()) t.join();
}

WebhookStats WebhookSender::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

const WebhookConfig* WebhookSender::hook_for(const std::string& url) const {
  for (const auto& h : hooks_)
    if (h.url == url) return &h;
  return nullptr;
}

std::int64_t WebhookSender::backoff_ms(int attempts) {
  double base = static_cast<double>(options_.retry_base_ms) *
                static_cast<double>(1ull << std::min(attempts - 1, 30));
  base = std::min(base, static_cast<double>(options_.retry_max_ms));
  // Jitter: 50-150 %, so receivers that failed together are not retried together.
  rng_state_ = rng_state_ * 6364136223846793005ull + 1442695040888963407ull;
  double factor = 0.5 + static_cast<double>(rng_state_ >> 11) / static_cast<double>(1ull << 53);
  return static_cast<std::int64_t>(base * factor);
}

void WebhookSender::write_unwritten(std::deque<Unwritten>& unwritten) {
  std::size_t written = 0;
  while (!unwritten.empty()) {
    const Unwritten& u = unwritten.front();
    auto added = store_.outbox_add(u.url, u.body, now_ms_());
    if (!added) {
      if (!outbox_failing_)
        logging::warn("webhook.outbox_unwritable", {{"error", added.error().msg},
                                                    {"waiting", unwritten.size()},
                                                    {"kept_at_most", options_.max_unwritten}});
      outbox_failing_ = true;
      break;
    }
    unwritten.pop_front();
    ++written;
  }
  if (outbox_failing_ && unwritten.empty()) {
    logging::info("webhook.outbox_writable",
                  {{"written", written}, {"dropped", dropped_in_outage_}});
    outbox_failing_ = false;
    dropped_in_outage_ = 0;
  }
}

void WebhookSender::run_coordinator() {
  // Events the outbox could not take yet (a full disk), oldest first; tried again every round
  // before anything newer, so they keep their order.
  std::deque<Unwritten> unwritten;
  std::unique_lock lock(mu_);
  for (;;) {
    wake_coordinator_.wait_for(lock, std::chrono::milliseconds(100));
    bool stopping = stopping_;
    std::deque<std::string> offered;
    offered.swap(offered_);
    std::vector<Outcome> outcomes;
    outcomes.swap(unrecorded_);
    // Entries whose outcome a sender recorded before this round's query: the query sees
    // that record, so they may be claimed again. One settled after the query began stays
    // claimed until the next round, or the query's stale row would send it twice.
    for (std::uint64_t id : settled_) claimed_.erase(id);
    settled_.clear();
    lock.unlock();
    // Into the outbox first: from here on an event survives a restart.
    for (auto& body : offered) {
      std::string_view type = event_type(body);
      for (const auto& h : hooks_)
        if (h.wants(type)) unwritten.push_back({h.url, body});
    }
    if (unwritten.size() > options_.max_unwritten) {
      std::size_t drop = unwritten.size() - options_.max_unwritten;
      if (dropped_in_outage_ == 0)
        logging::error("webhook.events_dropped",
                       {{"why",
                         "the outbox cannot be written and the events waiting in memory "
                         "are at their bound"},
                        {"kept_at_most", options_.max_unwritten}});
      dropped_in_outage_ += drop;
      unwritten.erase(unwritten.begin(), unwritten.begin() + static_cast<std::ptrdiff_t>(drop));
    }
    write_unwritten(unwritten);
    // Outcomes the outbox could not take before: their entries stay claimed (not sent
    // again) until they are recorded.
    std::vector<std::uint64_t> recorded;
    std::vector<Outcome> still_unrecorded;
    for (auto& o : outcomes) {
      if (record(o))
        recorded.push_back(o.id);
      else
        still_unrecorded.push_back(std::move(o));
    }
    if (stopping) {
      if (!unwritten.empty())
        logging::error("webhook.events_lost",
                       {{"events", unwritten.size()},
                        {"why", "the outbox could not be written before rtmd stopped"}});
      return;
    }
    auto due = store_.outbox_due(now_ms_(), 256);
    lock.lock();
    for (std::uint64_t id : recorded) claimed_.erase(id);
    for (auto& o : still_unrecorded) unrecorded_.push_back(std::move(o));
    if (!due) {
      lock.unlock();
      log_outbox_error("due", due.error());
      lock.lock();
      continue;
    }
    bool any = false;
    for (auto& e : *due) {
      if (claimed_.count(e.id)) continue;
      claimed_.insert(e.id);
      ready_.push_back(std::move(e));
      any = true;
    }
    if (any) wake_senders_.notify_all();
  }
}

void WebhookSender::run_sender() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_senders_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
    if (stopping_) return;
    OutboxEntry entry = std::move(ready_.front());
    ready_.pop_front();
    lock.unlock();
    Outcome outcome = deliver(entry);
    bool recorded = static_cast<bool>(record(outcome));
    lock.lock();
    // Not recorded (the store cannot be written): the entry stays claimed, so it is not sent
    // again while the coordinator retries the record.
    if (recorded)
      settled_.push_back(entry.id);
    else
      unrecorded_.push_back(std::move(outcome));
  }
}

Status WebhookSender::record(const Outcome& o) {
  // A failure is the store's own, logged there (store.error, at most once a second).
  return o.delivered ? store_.outbox_delivered(o.id)
                     : store_.outbox_failed(o.id, o.attempts, o.next_at_ms, o.dead, o.error);
}

WebhookSender::Outcome WebhookSender::deliver(const OutboxEntry& entry) {
  const WebhookConfig* hook = hook_for(entry.url);
  std::string error;
  bool ok = false;
  if (!hook) {
    error = "no webhook with this url is configured any more";
  } else {
    std::string body = "{\"id\":" + std::to_string(entry.id) + "," + entry.body;
    std::string headers = "X-Rtm-Signature: sha256=" + signature(hook->secret, body) +
                          "\r\nX-Rtm-Event-Id: " + std::to_string(entry.id) +
                          "\r\nX-Rtm-Event-Type: " + std::string(event_type(entry.body)) + "\r\n";
    std::string parse_error;
    auto url = http::parse_base_url(hook->url, parse_error);
    if (!url) {
      error = "bad url: " + parse_error;
    } else {
      try {
        http::BlockingClient client(*url, options_.tls);
        std::string path = (url->prefix.empty() ? "/" : "") + url->query;
        auto reply = client.request("POST", path, body, "", hook->timeout, headers);
        ok = reply.status >= 200 && reply.status < 300;
        if (!ok) error = "HTTP " + std::to_string(reply.status);
      } catch (const http::TransportError& e) {
        error = e.what();
      }
    }
  }
  Outcome outcome;
  outcome.id = entry.id;
  if (ok) {
    outcome.delivered = true;
    std::lock_guard lock(mu_);
    ++stats_.delivered;
    return outcome;
  }
  int attempts = entry.attempts + 1;
  bool dead = !hook || attempts >= hook->max_attempts;
  std::int64_t next_at;
  {
    std::lock_guard lock(mu_);
    ++stats_.failed_attempts;
    if (dead) ++stats_.dead_letters;
    next_at = now_ms_() + backoff_ms(attempts);
  }
  std::uint64_t suppressed = 0;
  if (log_budget_.admit(dead ? "webhook.dead_letter" : "webhook.failed", suppressed))
    logging::warn(dead ? "webhook.dead_letter" : "webhook.failed",
                  {{"url", logging::redact_url_path(entry.url)},
                   {"id", entry.id},
                   {"attempts", attempts},
                   {"error", error},
                   {"retry_in_ms", dead ? 0 : next_at - now_ms_()},
                   {"suppressed", suppressed}});
  outcome.attempts = attempts;
  outcome.next_at_ms = next_at;
  outcome.dead = dead;
  outcome.error = std::move(error);
  return outcome;
}

void WebhookSender::log_outbox_error(std::string_view op, const Error& e) {
  std::uint64_t suppressed = 0;
  if (log_budget_.admit("webhook.outbox_error", suppressed))
    logging::error("webhook.outbox_error",
                   {{"op", op}, {"msg", e.msg}, {"suppressed", suppressed}});
}

void WebhookSender::report_held_back() {
  // The budget's kinds are the event names themselves.
  for (const auto& h : log_budget_.take_held_back())
    logging::warn("log.suppressed", {{"of", h.kind}, {"kind", h.kind}, {"count", h.count}});
}

}  // namespace rtm::webhooks
