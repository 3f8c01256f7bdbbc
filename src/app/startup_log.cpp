// See startup_log.hpp.
#include "app/startup_log.hpp"

#include "app/host_port.hpp"
#include "logging/log.hpp"
#include "logging/redact.hpp"

namespace rtm::app {

void log_startup(const Config& c, std::uint16_t port, unsigned threads,
                 const std::string& api_key_file) {
  using logging::redact_url;
  std::string listen = host_port(c.host, port);
  std::string webhooks;
  for (const auto& w : c.webhooks) {
    if (!webhooks.empty()) webhooks += " ";
    webhooks += logging::redact_url_path(w.url);
  }
  logging::info("rtmd.started",
                {{"listen", listen},
                 {"public_url", redact_url(c.public_url)},
                 {"data_dir", c.data_dir},
                 {"config", c.config_file},
                 {"store", redact_url(c.store)},
                 {"broker", redact_url(c.broker)},
                 {"threads", threads},
                 {"node_id", c.node_id},
                 {"api_key", api_key_file.empty() ? "given" : "file"},
                 {"api_key_file", api_key_file},
                 {"log_level", c.log_level},
                 {"log_format", c.log_format},
                 {"access_log", c.access_log},
                 {"slow_call_ms", c.slow_call_ms},
                 {"max_body", c.max_body},
                 {"max_msg_bytes", c.max_msg_bytes},
                 {"max_attrs_bytes", c.max_attrs_bytes},
                 {"request_timeout", c.request_timeout_s},
                 {"max_sessions_per_user", c.max_sessions_per_user},
                 {"max_subscriptions_per_session", c.max_subscriptions_per_session},
                 {"blocking_queue", c.blocking_queue},
                 {"unauthorized_session_ttl", c.unauthorized_session_ttl_s},
                 {"max_unauthorized_sessions_per_address", c.max_unauthorized_sessions_per_address},
                 {"max_unauthorized_sessions", c.max_unauthorized_sessions},
                 {"rate_session_create", c.rate_session_create},
                 {"rate_session_authorize", c.rate_session_authorize},
                 {"rate_channel_poll", c.rate_channel_poll},
                 {"rate_send", c.rate_send},
                 {"trusted_proxies", c.trusted_proxies},
                 {"channel_queue_limit", c.channel_queue_limit},
                 {"channel_timeout", c.channel_timeout_s},
                 {"server_events_limit", c.server_events_limit},
                 {"max_file_size", c.max_file_size},
                 {"file_link_ttl", c.file_link_ttl_s},
                 {"file_retention", c.file_retention_s},
                 {"cors_origins", c.cors_origins},
                 {"tls_cert", c.tls_cert},
                 {"tls_key", c.tls_key},
                 {"webhooks", webhooks},
                 {"webhook_ca", c.webhook_ca},
                 {"webhook_retry_base", c.webhook_retry_base_ms}});
}

}  // namespace rtm::app
