// NodeConfig: the settings every service of a node reads (core/node/node.hpp), filled by the
// app from the command line and the TOML file (app/config.cpp). Plain data; the clock is
// here too, so that tests drive expiry without sleeping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "core/password.hpp"
#include "core/token_buckets.hpp"

namespace rtm {

struct NodeConfig {
  unsigned node_id = 0;
  std::size_t max_msg_bytes = 64 * 1024;
  std::size_t max_attrs_bytes = 4 * 1024;
  int login_fail_limit = 10;
  std::int64_t login_fail_window_ms = 60'000;
  // How long a killed/kicked session keeps its final event for a poll to read.
  std::int64_t ended_session_grace_ms = 60'000;
  // Live authorized sessions one user may have (mode multi); past it authorize is
  // RateLimited. Bounds what one credential can make the server hold.
  std::size_t max_sessions_per_user = 64;
  // Topics one session may subscribe to; past it subscribe is RateLimited.
  std::size_t max_subscriptions_per_session = 1024;
  // Sessions never authorized (docs/semantics.md "Limits"): each expires this long after
  // session.create; past either cap session.create is RateLimited.
  std::int64_t unauthorized_session_ttl_ms = 30'000;
  std::size_t max_unauthorized_sessions_per_address = 1000;
  std::size_t max_unauthorized_sessions = 100'000;
  // Token buckets, off unless set: per client address for session.create,
  // session.authorize and channel.poll; per user for client sends (files included).
  RateLimit rate_session_create;
  RateLimit rate_session_authorize;
  RateLimit rate_channel_poll;
  RateLimit rate_send;
  // Channels (API.md section 7): messages kept per channel while nobody takes them, and how
  // long a channel stays connected without a poll; events kept in the server event stream
  // (API.md section 8). Read by whoever builds the live state's engines
  // (core/live_state.hpp; app/engines.cpp open_live_state), not by the services.
  std::size_t channel_queue_limit = 1000;
  std::int64_t channel_timeout_ms = 15'000;
  std::size_t server_events_limit = 10'000;
  // Files (API.md section 5): where clients reach rtmd (the upload endpoint and download
  // links are absolute URLs under it), how long an upload token and a download link last.
  std::string public_url = "http://127.0.0.1:8080";
  std::int64_t upload_token_ttl_ms = 10 * 60'000;
  std::int64_t file_link_ttl_s = 7 * 24 * 3600;
  std::int64_t file_retention_s = 0;  // files older than this are forgotten; 0: never
  PasswordPolicy password_policy;
  // Unix time in ms; tests replace it to drive expiry without sleeping. Node fills in the
  // system clock when it is left empty.
  std::function<std::int64_t()> now_ms;
};

}  // namespace rtm
