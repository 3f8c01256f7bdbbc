// See config.hpp. CLI11 parses flags, toml++ the file; each setting is read from the file,
// then the environment, then flags, so the last source present wins.
#include "app/config.hpp"

#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>

#include "core/token_buckets.hpp"
#include "http_client/base_url.hpp"
#include "net/client_address.hpp"
#include "net/cors_policy.hpp"

namespace rtm::app {

namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

Status split_listen(Config& c) {
  std::string s = c.listen;
  std::string host, port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return make_error(Rc::InvalidParameter, "--listen must be HOST:PORT, got '" + s + "'");
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos)
      return make_error(Rc::InvalidParameter, "--listen must be HOST:PORT, got '" + s + "'");
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (host.empty()) host = "0.0.0.0";
  char* end = nullptr;
  long p = port.empty() ? -1 : std::strtol(port.c_str(), &end, 10);
  if (p < 0 || p > 65535 || (end && *end != '\0'))
    return make_error(Rc::InvalidParameter, "--listen port must be 0-65535, got '" + port + "'");
  c.host = host;
  c.port = static_cast<std::uint16_t>(p);
  return ok_status();
}

// The numeric limits that a flag, an RTM_* variable and a TOML key can each set, with the
// range every source is held to.
struct Limit {
  const char* toml;  // and the flag: --max-sessions-per-user for max_sessions_per_user
  const char* env;
  long long lo, hi;
  std::size_t Config::*field;
};
constexpr Limit kLimits[] = {
    {"max_sessions_per_user", "RTM_MAX_SESSIONS_PER_USER", 1, 1'000'000,
     &Config::max_sessions_per_user},
    {"max_subscriptions_per_session", "RTM_MAX_SUBSCRIPTIONS_PER_SESSION", 1, 1'000'000,
     &Config::max_subscriptions_per_session},
    {"blocking_queue", "RTM_BLOCKING_QUEUE", 1, 1'000'000, &Config::blocking_queue},
    {"unauthorized_session_ttl", "RTM_UNAUTHORIZED_SESSION_TTL", 1, 86'400,
     &Config::unauthorized_session_ttl_s},
    {"max_unauthorized_sessions_per_address", "RTM_MAX_UNAUTHORIZED_SESSIONS_PER_ADDRESS", 1,
     10'000'000, &Config::max_unauthorized_sessions_per_address},
    {"max_unauthorized_sessions", "RTM_MAX_UNAUTHORIZED_SESSIONS", 1, 100'000'000,
     &Config::max_unauthorized_sessions},
    {"channel_queue_limit", "RTM_CHANNEL_QUEUE_LIMIT", 1, 1'000'000, &Config::channel_queue_limit},
    {"channel_timeout", "RTM_CHANNEL_TIMEOUT", 1, 86'400, &Config::channel_timeout_s},
    {"server_events_limit", "RTM_SERVER_EVENTS_LIMIT", 1, 10'000'000, &Config::server_events_limit},
    {"max_file_size", "RTM_MAX_FILE_SIZE", 1, 1LL << 40, &Config::max_file_size},
    {"file_link_ttl", "RTM_FILE_LINK_TTL", 60, 31'536'000, &Config::file_link_ttl_s},
    {"file_retention", "RTM_FILE_RETENTION", 0, 315'360'000, &Config::file_retention_s},
    {"webhook_retry_base", "RTM_WEBHOOK_RETRY_BASE", 10, 3'600'000, &Config::webhook_retry_base_ms},
    {"slow_call_ms", "RTM_SLOW_CALL_MS", 0, 3'600'000, &Config::slow_call_ms},
};

// The string settings that are flag, RTM_* variable and TOML key alike, each checked once all
// sources are read.
struct TextSetting {
  const char* toml;  // and the flag, with - for _
  const char* env;
  std::string Config::*field;
  const char* help;
};
const TextSetting kTextSettings[] = {
    {"rate_session_create", "RTM_RATE_SESSION_CREATE", &Config::rate_session_create,
     "session.create calls per client address: off, N/s, N/m or N/h, :BURST optional "
     "(default off)"},
    {"rate_session_authorize", "RTM_RATE_SESSION_AUTHORIZE", &Config::rate_session_authorize,
     "session.authorize calls per client address, as --rate-session-create (default off)"},
    {"rate_channel_poll", "RTM_RATE_CHANNEL_POLL", &Config::rate_channel_poll,
     "channel.poll calls per client address, as --rate-session-create (default off)"},
    {"rate_send", "RTM_RATE_SEND", &Config::rate_send,
     "messages (files included) one user may send, as --rate-session-create (default off)"},
    {"trusted_proxies", "RTM_TRUSTED_PROXIES", &Config::trusted_proxies,
     "proxies (IPs, CIDRs, comma-separated) whose X-Forwarded-For names the client "
     "(default none)"},
};

// node.value<long long>() without its undefined behaviour: toml++ 3.3 takes a float that is
// a whole number (threads = 4.0) by a cast to int64 that is undefined past int64's range
// (threads = 6.55e38). Such floats are refused here; every other value reads as before.
std::optional<long long> integer_value(const toml::node& node) {
  if (const auto* f = node.as_floating_point()) {
    double v = f->get();
    if (!(v >= -0x1p63 && v < 0x1p63)) return std::nullopt;  // NaN fails both
  }
  return node.value<long long>();
}

// [[webhook]] tables: url (http:// or https://), events (types or "*"), secret, timeout (s),
// max_attempts.
Status read_webhooks(const std::string& path, const toml::node& node,
                     std::vector<WebhookSetting>& out) {
  auto bad = [&](const std::string& why) {
    return make_error(Rc::InvalidParameter, "config " + path + ": [[webhook]] " + why);
  };
  const toml::array* tables = node.as_array();
  if (!tables) return bad("must be an array of tables ([[webhook]])");
  static const char* kTypes[] = {"user.online",
                                 "user.offline",
                                 "channel.connected",
                                 "channel.disconnected",
                                 "file.uploaded",
                                 "message",
                                 "*"};
  for (const auto& item : *tables) {
    const toml::table* t = item.as_table();
    if (!t) return bad("must be an array of tables ([[webhook]])");
    WebhookSetting w;
    for (auto&& [key, value] : *t) {
      std::string k(key.str());
      if (k == "url") {
        auto v = value.value<std::string>();
        std::string why;
        if (!v || !http::parse_base_url(*v, why))
          return bad("url must be an http:// or https:// URL");
        w.url = *v;
      } else if (k == "secret") {
        auto v = value.value<std::string>();
        if (!v || v->empty()) return bad("secret must be a non-empty string");
        w.secret = *v;
      } else if (k == "events") {
        const toml::array* events = value.as_array();
        if (!events) return bad("events must be a list of event types");
        for (const auto& e : *events) {
          auto v = e.value<std::string>();
          if (!v || std::find(std::begin(kTypes), std::end(kTypes), *v) == std::end(kTypes))
            return bad(
                "events: unknown event type (user.online, user.offline, "
                "channel.connected, channel.disconnected, file.uploaded, message, *)");
          w.events.push_back(*v);
        }
      } else if (k == "timeout") {
        auto v = integer_value(value);
        if (!v || *v < 1 || *v > 60) return bad("timeout must be 1 to 60 seconds");
        w.timeout_s = static_cast<int>(*v);
      } else if (k == "max_attempts") {
        auto v = integer_value(value);
        if (!v || *v < 1 || *v > 100) return bad("max_attempts must be 1 to 100");
        w.max_attempts = static_cast<int>(*v);
      } else {
        return bad("unknown key '" + k + "'");
      }
    }
    if (w.url.empty() || w.secret.empty()) return bad("needs url and secret");
    if (w.events.empty()) w.events.push_back("*");
    out.push_back(std::move(w));
  }
  return ok_status();
}

const Limit* find_limit(const std::string& toml) {
  for (const auto& l : kLimits)
    if (toml == l.toml) return &l;
  return nullptr;
}

const TextSetting* find_text_setting(const std::string& toml) {
  for (const auto& t : kTextSettings)
    if (toml == t.toml) return &t;
  return nullptr;
}

std::string flag_name(const char* toml) {
  std::string flag = std::string("--") + toml;
  for (auto& ch : flag)
    if (ch == '_') ch = '-';
  return flag;
}

// A whole decimal number in [lo, hi] from an environment variable or flag text.
Status parse_limit(const std::string& text, const std::string& where, long long lo, long long hi,
                   std::size_t& field) {
  long long v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < lo || v > hi)
    return make_error(Rc::InvalidParameter, where + " must be an integer in " + std::to_string(lo) +
                                                ".." + std::to_string(hi) + ", got '" + text + "'");
  field = static_cast<std::size_t>(v);
  return ok_status();
}

// Reads the TOML file into c (apply_toml_text).
Status apply_file(const std::string& path, Config& c) {
  std::error_code fs_ec;
  if (!std::filesystem::is_regular_file(path, fs_ec))
    return make_error(Rc::InvalidParameter, "cannot read config " + path + ": not a regular file");
  std::ifstream file(path, std::ios::in | std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (!file.is_open() || file.bad())  // toml::parse_file's words for it
    return make_error(Rc::InvalidParameter,
                      "cannot read config " + path + ": File could not be opened for reading");
  return apply_toml_text(text, path, c);
}

}  // namespace

Status apply_toml_text(std::string_view text, const std::string& path, Config& c) {
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    std::string why(e.description());
    return make_error(Rc::InvalidParameter, "cannot read config " + path + ": " + why);
  }
  for (auto&& entry : table) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    std::string k(entry.first.str());
    const toml::node& node = entry.second;
    auto str = [&](std::string& field) -> Status {
      if (auto v = node.value<std::string>()) {
        field = *v;
        return ok_status();
      }
      return make_error(Rc::InvalidParameter, "config " + path + ": " + k + " must be a string");
    };
    auto num = [&](auto& field, long long lo, long long hi) -> Status {
      auto v = integer_value(node);
      if (!v || *v < lo || *v > hi)
        return make_error(Rc::InvalidParameter, "config " + path + ": " + k +
                                                    " must be an integer in " + std::to_string(lo) +
                                                    ".." + std::to_string(hi));
      field = static_cast<std::remove_reference_t<decltype(field)>>(*v);
      return ok_status();
    };
    Status s = ok_status();
    if (k == "listen")
      s = str(c.listen);
    else if (k == "data_dir")
      s = str(c.data_dir);
    else if (k == "api_key")
      s = str(c.api_key);
    else if (k == "public_url")
      s = str(c.public_url);
    else if (k == "store")
      s = str(c.store);
    else if (k == "broker")
      s = str(c.broker);
    else if (k == "log_level")
      s = str(c.log_level);
    else if (k == "log_format")
      s = str(c.log_format);
    else if (k == "access_log") {
      if (auto v = node.value<bool>())
        c.access_log = *v;
      else
        s = make_error(Rc::InvalidParameter,
                       "config " + path + ": access_log must be true or false");
    } else if (k == "cors_origins")
      s = str(c.cors_origins);
    else if (k == "tls_cert")
      s = str(c.tls_cert);
    else if (k == "tls_key")
      s = str(c.tls_key);
    else if (k == "webhook_ca")
      s = str(c.webhook_ca);
    else if (k == "threads")
      s = num(c.threads, 0, 256);
    else if (k == "node_id")
      s = num(c.node_id, 0, 1023);
    else if (k == "max_body")
      s = num(c.max_body, 1024, 1LL << 30);
    else if (k == "max_msg_bytes")
      s = num(c.max_msg_bytes, 1, 1LL << 26);
    else if (k == "max_attrs_bytes")
      s = num(c.max_attrs_bytes, 1, 1LL << 20);
    else if (k == "request_timeout")
      s = num(c.request_timeout_s, 1, 3600);
    else if (const Limit* l = find_limit(k))
      s = num(c.*l->field, l->lo, l->hi);
    else if (const TextSetting* t = find_text_setting(k))
      s = str(c.*t->field);
    else if (k == "webhook")
      s = read_webhooks(path, node, c.webhooks);
    else
      return make_error(Rc::InvalidParameter, "config " + path + ": unknown setting '" + k + "'");
    if (!s) return s;
  }
  return ok_status();
}

Result<ConfigOutcome> load_config(int argc, char** argv, Config& c) {
  CLI::App cli{"rtmd: the rtm real-time messaging server"};
  cli.set_version_flag("--version", "rtmd 0.1.0");
  std::optional<std::string> listen, data_dir, api_key, public_url, config_file, store, broker,
      log_level, log_format, cors_origins, tls_cert, tls_key, webhook_ca;
  bool access_log_flag = false;
  std::optional<int> threads;
  cli.add_option("--listen", listen,
                 "HOST:PORT of the HTTP + WebSocket listener (default 127.0.0.1:8080)");
  cli.add_option("--data-dir", data_dir,
                 "embedded database, files and generated secrets (default ./rtm-data)");
  cli.add_option("--api-key", api_key,
                 "key for the server API (default: generated into DATA_DIR/api-key)");
  cli.add_option("--public-url", public_url,
                 "base of URLs handed to clients (default http://LISTEN)");
  cli.add_option("--config", config_file, "TOML file with every setting; flags win over it");
  cli.add_option("--store", store, "sqlite:PATH (default sqlite:DATA_DIR/rtm.db)");
  cli.add_option("--broker", broker, "local (one node)");
  cli.add_option("--log-level", log_level, "debug, info, warn or error");
  cli.add_option("--log-format", log_format, "text (default) or json: one JSON object a line");
  cli.add_flag("--access-log", access_log_flag,
               "log an http.access line per answered request (default off)");
  cli.add_option("--threads", threads, "event-loop threads (default: one per core)");
  cli.add_option("--tls-cert", tls_cert,
                 "PEM certificate (chain) to serve HTTPS and WSS with; needs --tls-key");
  cli.add_option("--tls-key", tls_key, "PEM private key of --tls-cert");
  cli.add_option("--webhook-ca", webhook_ca,
                 "PEM CA certificates to check https webhook receivers against (default: the "
                 "system's store)");
  cli.add_option("--cors-origins", cors_origins,
                 "browser origins (scheme://host[:port], comma-separated, or *) whose pages may "
                 "call the client API; default none");
  std::optional<std::string> limit_flags[std::size(kLimits)];
  const char* limit_help[] = {
      "live sessions one user may have (mode multi; default 64)",
      "topics one session may subscribe to (default 1024)",
      "argon2 and store jobs queued or running before calls are RateLimited (default 256)",
      "seconds a session that is never authorized lives after session.create (default 30)",
      "sessions not yet authorized one client address may hold (default 1000)",
      "sessions not yet authorized the whole server may hold (default 100000)",
      "messages kept per channel while nobody takes them; oldest dropped (default 1000)",
      "seconds without a poll before a channel is disconnected (default 15)",
      "events kept in the server event stream (default 10000)",
      "largest file an upload may carry, in bytes (default 67108864: 64 MiB)",
      "seconds a file's download link stays valid (default 604800: 7 days)",
      "seconds after which files are forgotten and their bytes removed (default 0: never)",
      "milliseconds before a failed webhook delivery is first retried; doubles (default 1000)",
      "a call busy this many milliseconds is logged as call.slow (default 1000; 0: never)",
  };
  static_assert(std::size(limit_help) == std::size(kLimits));
  for (std::size_t i = 0; i < std::size(kLimits); ++i)
    cli.add_option(flag_name(kLimits[i].toml), limit_flags[i], limit_help[i])->type_name("INT");
  std::optional<std::string> text_flags[std::size(kTextSettings)];
  for (std::size_t i = 0; i < std::size(kTextSettings); ++i)
    cli.add_option(flag_name(kTextSettings[i].toml), text_flags[i], kTextSettings[i].help);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << cli.help();
    return ConfigOutcome::ExitOk;
  } catch (const CLI::CallForVersion&) {
    std::cout << cli.version() << "\n";
    return ConfigOutcome::ExitOk;
  } catch (const CLI::ParseError& e) {
    return make_error(Rc::InvalidParameter, e.what());
  }

  if (config_file)
    c.config_file = *config_file;
  else if (auto v = env("RTM_CONFIG"))
    c.config_file = *v;
  if (!c.config_file.empty()) {
    if (auto s = apply_file(c.config_file, c); !s) return s.error();
  }

  auto pick = [](std::string& field, const char* env_name, const std::optional<std::string>& flag) {
    if (auto v = env(env_name)) field = *v;
    if (flag) field = *flag;
  };
  pick(c.listen, "RTM_LISTEN", listen);
  pick(c.data_dir, "RTM_DATA_DIR", data_dir);
  pick(c.api_key, "RTM_API_KEY", api_key);
  pick(c.public_url, "RTM_PUBLIC_URL", public_url);
  pick(c.store, "RTM_STORE", store);
  pick(c.broker, "RTM_BROKER", broker);
  pick(c.log_level, "RTM_LOG_LEVEL", log_level);
  pick(c.log_format, "RTM_LOG_FORMAT", log_format);
  if (auto v = env("RTM_ACCESS_LOG")) {
    if (*v == "1" || *v == "true")
      c.access_log = true;
    else if (*v == "0" || *v == "false")
      c.access_log = false;
    else
      return make_error(Rc::InvalidParameter,
                        "RTM_ACCESS_LOG must be 1, true, 0 or false, got '" + *v + "'");
  }
  if (access_log_flag) c.access_log = true;
  pick(c.cors_origins, "RTM_CORS_ORIGINS", cors_origins);
  pick(c.tls_cert, "RTM_TLS_CERT", tls_cert);
  pick(c.tls_key, "RTM_TLS_KEY", tls_key);
  pick(c.webhook_ca, "RTM_WEBHOOK_CA", webhook_ca);
  for (std::size_t i = 0; i < std::size(kLimits); ++i) {
    const Limit& l = kLimits[i];
    if (auto v = env(l.env)) {
      if (auto s = parse_limit(*v, l.env, l.lo, l.hi, c.*l.field); !s) return s.error();
    }
    if (limit_flags[i]) {
      if (auto s = parse_limit(*limit_flags[i], flag_name(l.toml), l.lo, l.hi, c.*l.field); !s)
        return s.error();
    }
  }
  for (std::size_t i = 0; i < std::size(kTextSettings); ++i)
    pick(c.*kTextSettings[i].field, kTextSettings[i].env, text_flags[i]);
  if (threads) {
    if (*threads < 0 || *threads > 256)
      return make_error(Rc::InvalidParameter, "--threads must be 0-256");
    c.threads = *threads;
  }

  if (auto s = check_config(c); !s) return s.error();
  return ConfigOutcome::Run;
}

Status check_config(Config& c) {
  if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" &&
      c.log_level != "error")
    return make_error(Rc::InvalidParameter,
                      "--log-level must be debug, info, warn or error, got '" + c.log_level + "'");
  if (c.log_format != "text" && c.log_format != "json")
    return make_error(Rc::InvalidParameter,
                      "--log-format must be text or json, got '" + c.log_format + "'");
  if (c.data_dir.empty()) return make_error(Rc::InvalidParameter, "--data-dir must not be empty");
  if (auto cors = net::CorsPolicy::parse(c.cors_origins); !cors) return cors.error();
  if (auto proxies = net::TrustedProxies::parse(c.trusted_proxies); !proxies)
    return proxies.error();
  for (const auto& t : kTextSettings) {
    if (t.field == &Config::trusted_proxies) continue;
    if (auto rate = parse_rate_limit(c.*t.field, flag_name(t.toml)); !rate) return rate.error();
  }
  if (auto s = split_listen(c); !s) return s.error();
  if (c.store.empty()) c.store = "sqlite:" + c.data_dir + "/rtm.db";
  if (c.tls_cert.empty() != c.tls_key.empty())
    return make_error(Rc::InvalidParameter, "--tls-cert and --tls-key go together");
  if (c.public_url.empty()) c.public_url = (c.tls_cert.empty() ? "http://" : "https://") + c.listen;
  return ok_status();
}

}  // namespace rtm::app
