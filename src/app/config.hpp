// Config: rtmd's settings from defaults, a TOML file, RTM_* environment variables and
// flags, in that order of precedence (flags win). API.md section 1 lists them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace rtm::app {

// One `[[webhook]]` of the TOML file (docs/semantics.md "Webhooks").
struct WebhookSetting {
  std::string url;  // http://...
  std::vector<std::string> events;
  std::string secret;
  int timeout_s = 5;
  int max_attempts = 8;
};

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./rtm-data";
  std::string api_key;     // empty: read or generate DATA_DIR/api-key
  std::string public_url;  // empty: http://LISTEN
  std::string config_file;
  std::string store;  // empty: sqlite:DATA_DIR/rtm.db
  std::string broker = "local";
  std::string log_level = "info";
  // Logs (docs/semantics.md "Logs"): text or json lines on stderr; an `http.access` line per
  // answered request when access_log is on; a `call.slow` line for a call busy this long
  // (0: never).
  std::string log_format = "text";
  bool access_log = false;
  std::size_t slow_call_ms = 1000;
  int threads = 0;  // event-loop threads; 0: one per core
  unsigned node_id = 0;
  std::size_t max_body = 1024 * 1024;
  std::size_t max_msg_bytes = 64 * 1024;
  std::size_t max_attrs_bytes = 4 * 1024;
  int request_timeout_s = 30;
  // Limits (docs/semantics.md "Limits"): flag, RTM_* variable or TOML key of the same name.
  std::size_t max_sessions_per_user = 64;
  std::size_t max_subscriptions_per_session = 1024;
  std::size_t blocking_queue = 256;  // jobs queued or running on the blocking pool
  // Sessions never authorized: their life from session.create, and how many one client
  // address and the whole server may hold (past them session.create is RateLimited).
  std::size_t unauthorized_session_ttl_s = 30;
  std::size_t max_unauthorized_sessions_per_address = 1000;
  std::size_t max_unauthorized_sessions = 100'000;
  // Token buckets (core/token_buckets.hpp: "off", "20/s", "600/m:50"): per client address
  // for session.create, session.authorize, channel.poll; per user for client sends.
  std::string rate_session_create = "off";
  std::string rate_session_authorize = "off";
  std::string rate_channel_poll = "off";
  std::string rate_send = "off";
  // Peers whose X-Forwarded-For names the client (net/client_address.hpp): IPs and CIDRs,
  // comma-separated. Empty: the socket's peer is always the client.
  std::string trusted_proxies;
  // Channels and the server event stream (API.md sections 7, 8; docs/semantics.md).
  std::size_t channel_queue_limit = 1000;    // messages kept per channel, oldest dropped
  std::size_t channel_timeout_s = 15;        // no poll for this long: channel.disconnected
  std::size_t server_events_limit = 10'000;  // events kept in the server event ring
  // Files (API.md section 5; docs/semantics.md "Files"): stored under DATA_DIR/files.
  std::size_t max_file_size = 64 * 1024 * 1024;  // bytes; larger uploads are 413
  std::size_t file_link_ttl_s = 7 * 24 * 3600;   // how long a download link is valid
  std::size_t file_retention_s = 0;              // files older than this go; 0: never
  // Browser origins allowed to call the client side from pages served elsewhere:
  // comma-separated scheme://host[:port], or * (net/cors_policy.hpp). Empty: none.
  std::string cors_origins;
  // HTTPS and WSS on the listener (net/server_tls.hpp): PEM certificate chain and key, both or
  // neither. Reloaded on SIGHUP.
  std::string tls_cert;
  std::string tls_key;
  // A PEM file of CA certificates that webhook receivers' certificates are checked against
  // instead of the system's store (a private CA).
  std::string webhook_ca;
  std::vector<WebhookSetting> webhooks;      // TOML only: [[webhook]]
  std::size_t webhook_retry_base_ms = 1000;  // the first retry comes after about this

  std::string host;  // split from listen
  std::uint16_t port = 0;
};

enum class ConfigOutcome { Run, ExitOk };

// Parses argv, the environment and the TOML file. On --help/--version prints and answers
// ExitOk. Any bad input is an Error with a one-line message (the caller exits 2).
Result<ConfigOutcome> load_config(int argc, char** argv, Config& out);

// The TOML file's part of load_config: `text` (the file's bytes; `path` names it in messages)
// read into c. Unknown keys, values of the wrong type or out of range, and text that is not
// TOML are InvalidParameter errors ("config PATH: ...", "cannot read config PATH: ..."), so a
// typo never silently does nothing; settings read before the error stay set.
Status apply_toml_text(std::string_view text, const std::string& path, Config& c);

// load_config's checks once every source is read (log level and format, origins, proxies,
// rates, listen, TLS pair), filling in what derives from the rest: host and port from
// listen, store and public_url when unset. InvalidParameter for the first that fails.
Status check_config(Config& c);

}  // namespace rtm::app
