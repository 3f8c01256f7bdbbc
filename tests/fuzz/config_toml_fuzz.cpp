// Fuzz target: rtmd's TOML config file (app/config.hpp apply_toml_text, then check_config),
// on arbitrary bytes as the file's contents. An operator writes the file, but it is still
// text from outside: it must never crash or throw, only answer an InvalidParameter error
// naming the file; and a file it takes must have set exactly what it says, inside the range
// each setting allows, with webhooks that are complete. check_config then either refuses
// the settings or leaves a config rtmd can start with.
#include <toml++/toml.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "app/config.hpp"

using rtm::Rc;
using rtm::app::Config;

namespace {

const std::string kPath = "fuzz.toml";

struct IntSetting {
  const char* key;
  long long lo, hi;
  long long (*get)(const Config&);
};
// API.md section 1 and docs/semantics.md "Limits": the TOML keys and their ranges.
#define RTM_INT(key, lo, hi, field)                                              \
  {                                                                              \
    key, lo, hi, [](const Config& c) { return static_cast<long long>(c.field); } \
  }
const IntSetting kInts[] = {
    RTM_INT("threads", 0, 256, threads),
    RTM_INT("node_id", 0, 1023, node_id),
    RTM_INT("max_body", 1024, 1LL << 30, max_body),
    RTM_INT("max_msg_bytes", 1, 1LL << 26, max_msg_bytes),
    RTM_INT("max_attrs_bytes", 1, 1LL << 20, max_attrs_bytes),
    RTM_INT("request_timeout", 1, 3600, request_timeout_s),
    RTM_INT("max_sessions_per_user", 1, 1'000'000, max_sessions_per_user),
    RTM_INT("max_subscriptions_per_session", 1, 1'000'000, max_subscriptions_per_session),
    RTM_INT("blocking_queue", 1, 1'000'000, blocking_queue),
    RTM_INT("unauthorized_session_ttl", 1, 86'400, unauthorized_session_ttl_s),
    RTM_INT("max_unauthorized_sessions_per_address", 1, 10'000'000,
            max_unauthorized_sessions_per_address),
    RTM_INT("max_unauthorized_sessions", 1, 100'000'000, max_unauthorized_sessions),
    RTM_INT("channel_queue_limit", 1, 1'000'000, channel_queue_limit),
    RTM_INT("channel_timeout", 1, 86'400, channel_timeout_s),
    RTM_INT("server_events_limit", 1, 10'000'000, server_events_limit),
    RTM_INT("max_file_size", 1, 1LL << 40, max_file_size),
    RTM_INT("file_link_ttl", 60, 31'536'000, file_link_ttl_s),
    RTM_INT("file_retention", 0, 315'360'000, file_retention_s),
    RTM_INT("webhook_retry_base", 10, 3'600'000, webhook_retry_base_ms),
    RTM_INT("slow_call_ms", 0, 3'600'000, slow_call_ms),
};
#undef RTM_INT

struct TextSetting {
  const char* key;
  std::string Config::*field;
};
const TextSetting kTexts[] = {
    {"listen", &Config::listen},
    {"data_dir", &Config::data_dir},
    {"api_key", &Config::api_key},
    {"public_url", &Config::public_url},
    {"store", &Config::store},
    {"broker", &Config::broker},
    {"log_level", &Config::log_level},
    {"log_format", &Config::log_format},
    {"cors_origins", &Config::cors_origins},
    {"tls_cert", &Config::tls_cert},
    {"tls_key", &Config::tls_key},
    {"webhook_ca", &Config::webhook_ca},
    {"rate_session_create", &Config::rate_session_create},
    {"rate_session_authorize", &Config::rate_session_authorize},
    {"rate_channel_poll", &Config::rate_channel_poll},
    {"rate_send", &Config::rate_send},
    {"trusted_proxies", &Config::trusted_proxies},
};

bool is_file_error(const rtm::Error& e) {
  return e.rc == Rc::InvalidParameter &&
         (e.msg.rfind("config " + kPath + ": ", 0) == 0 ||
          e.msg.rfind("cannot read config " + kPath + ": ", 0) == 0);
}

// Every key of the file set its setting to its value.
void check_settings(const toml::table& table, const Config& c) {
  std::size_t known = 0;
  for (const auto& s : kInts) {
    const toml::node* node = table.get(s.key);
    if (!node) continue;
    ++known;
    // A float out of int64's range would make value<long long> undefined (config.cpp
    // integer_value): the file was taken, so it has none.
    if (const auto* f = node->as_floating_point(); f && !(std::abs(f->get()) < 0x1p62))
      std::abort();
    auto v = node->value<long long>();
    if (!v || *v < s.lo || *v > s.hi || s.get(c) != *v) std::abort();
  }
  for (const auto& s : kTexts) {
    const toml::node* node = table.get(s.key);
    if (!node) continue;
    ++known;
    auto v = node->value<std::string>();
    if (!v || c.*s.field != *v) std::abort();
  }
  if (const toml::node* node = table.get("access_log")) {
    ++known;
    if (node->value<bool>() != c.access_log) std::abort();
  }
  if (const toml::node* node = table.get("webhook")) {
    ++known;
    const toml::array* a = node->as_array();
    if (!a || a->size() != c.webhooks.size()) std::abort();
    for (const auto& w : c.webhooks) {
      if (w.url.empty() || w.secret.empty() || w.events.empty()) std::abort();
      if (w.timeout_s < 1 || w.timeout_s > 60 || w.max_attempts < 1 || w.max_attempts > 100)
        std::abort();
      if (w.url.rfind("http://", 0) != 0 && w.url.rfind("https://", 0) != 0) std::abort();
    }
  } else if (!c.webhooks.empty()) {
    std::abort();
  }
  if (known != table.size()) std::abort();  // an unknown key was taken
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Config c;
  rtm::Status applied = rtm::app::apply_toml_text(text, kPath, c);
  // Deterministic: the same text gives the same answer.
  Config again;
  rtm::Status applied_again = rtm::app::apply_toml_text(text, kPath, again);
  if (applied.ok() != applied_again.ok()) std::abort();
  if (!applied) {
    if (!is_file_error(applied.error()) || applied.error().msg != applied_again.error().msg)
      std::abort();
    return 0;
  }
  toml::table table;
  try {
    table = toml::parse(text, kPath);
  } catch (const toml::parse_error&) {
    std::abort();  // taken, yet not TOML
  }
  check_settings(table, c);

  rtm::Status checked = rtm::app::check_config(c);
  if (!checked) {
    if (checked.error().rc != Rc::InvalidParameter || checked.error().msg.empty()) std::abort();
    return 0;
  }
  if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" &&
      c.log_level != "error")
    std::abort();
  if (c.log_format != "text" && c.log_format != "json") std::abort();
  if (c.data_dir.empty() || c.store.empty() || c.public_url.empty() || c.host.empty()) std::abort();
  if (c.tls_cert.empty() != c.tls_key.empty()) std::abort();
  return 0;
}
