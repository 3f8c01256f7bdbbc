// See metrics_text.hpp. Names follow Prometheus conventions (rtm_ prefix, _total counters).
#include "api/metrics_text.hpp"

#include <fmt/format.h>

namespace rtm::api {

namespace {
void metric(std::string& out, const char* name, const char* type, const char* help,
            std::uint64_t value) {
  out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
}
}  // namespace

std::string render_webhook_metrics(std::uint64_t delivered, std::uint64_t failed_attempts,
                                   std::uint64_t dead_letters) {
  std::string out;
  metric(out, "rtm_webhook_delivered_total", "counter",
         "Webhook events delivered (answered 2xx) since start.", delivered);
  metric(out, "rtm_webhook_failed_attempts_total", "counter",
         "Webhook deliveries that failed and will be retried or were given up, since start.",
         failed_attempts);
  metric(out, "rtm_webhook_dead_letters", "gauge",
         "Webhook events given up after their last attempt (rtm webhooks failed).", dead_letters);
  return out;
}

std::string render_metrics(const NodeStats& e, const CallMetrics& c) {
  std::string out;
  metric(out, "rtm_calls_total", "counter", "API calls answered.", c.calls.load());
  metric(out, "rtm_errors_total", "counter", "API calls answered with an error.", c.errors.load());
  out +=
      "# HELP rtm_errors_by_code_total API errors by contract error name.\n"
      "# TYPE rtm_errors_by_code_total counter\n";
  for (std::size_t i = 0; i < CallMetrics::kCodes.size(); ++i)
    out += fmt::format("rtm_errors_by_code_total{{error=\"{}\"}} {}\n",
                       rc_name(CallMetrics::kCodes[i]), c.errors_by_rc[i].load());
  metric(out, "rtm_sessions", "gauge", "Sessions held (live and ended awaiting a final read).",
         e.sessions);
  metric(out, "rtm_sessions_unauthorized", "gauge",
         "Live sessions never authorized (each expires unauthorized_session_ttl after creation).",
         e.unauthorized_sessions);
  out +=
      "# HELP rtm_rate_limited_total Calls refused RateLimited, by the limit (its setting) that "
      "refused them.\n"
      "# TYPE rtm_rate_limited_total counter\n";
  for (std::size_t i = 0; i < kRateLimitKinds; ++i)
    out += fmt::format("rtm_rate_limited_total{{limit=\"{}\"}} {}\n",
                       rate_limit_name(static_cast<RateLimitKind>(i)), e.rate_limited[i]);
  metric(out, "rtm_users_online", "gauge", "Users with at least one live authorized session.",
         e.online_users);
  metric(out, "rtm_events_queued", "gauge", "Events kept in session queues.", e.events_queued);
  metric(out, "rtm_long_polls_waiting", "gauge", "session.get_events calls waiting for events.",
         e.polls_waiting);
  metric(out, "rtm_channels", "gauge", "Channels held (until their token expires).",
         e.channels.channels);
  metric(out, "rtm_channels_connected", "gauge", "Channels connected (polled or with a socket).",
         e.channels.connected);
  metric(out, "rtm_channel_messages_queued", "gauge", "Messages waiting in channel queues.",
         e.channels.pending);
  metric(out, "rtm_channel_polls_waiting", "gauge", "channel.poll calls waiting for messages.",
         e.channels.waiting);
  metric(out, "rtm_server_events_kept", "gauge", "Events kept in the server event ring.",
         e.server_events_kept);
  metric(out, "rtm_server_events_total", "counter", "Server events recorded since start.",
         e.server_events_last_id);
  metric(out, "rtm_server_event_polls_waiting", "gauge", "events.poll calls waiting for events.",
         e.server_event_polls_waiting);
  metric(out, "rtm_broker_publish_failures_total", "counter",
         "Live deliveries the broker did not take (the messages are stored; delivery is lost).",
         e.broker_publish_failures);
  metric(out, "rtm_messages_sent_total", "counter", "Messages stored and fanned out.",
         e.messages_sent);
  metric(out, "rtm_events_delivered_total", "counter", "Events queued to sessions.",
         e.events_delivered);
  metric(out, "rtm_store_appends_total", "counter", "Durable message appends.", e.store_appends);
  out += fmt::format(
      "# HELP rtm_store_append_seconds Time from send to durable commit.\n"
      "# TYPE rtm_store_append_seconds summary\n"
      "rtm_store_append_seconds_sum {:.6f}\nrtm_store_append_seconds_count {}\n",
      e.store_append_us_total / 1e6, e.store_appends);
  out += fmt::format(
      "# HELP rtm_store_append_seconds_max Longest send-to-commit time since start.\n"
      "# TYPE rtm_store_append_seconds_max gauge\nrtm_store_append_seconds_max {:.6f}\n",
      e.store_append_us_max / 1e6);
  return out;
}

}  // namespace rtm::api
