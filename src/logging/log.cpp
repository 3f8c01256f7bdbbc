// See log.hpp. The timestamp and level come from spdlog's pattern; the rest of the line is
// built here, escaped for the chosen format, so a login name with a quote or a newline in it
// cannot forge a second line or break the JSON.
#include "logging/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>

namespace rtm::logging {

namespace {

std::atomic<Format> g_format{Format::Text};

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::Debug: return spdlog::level::debug;
    case Level::Info: return spdlog::level::info;
    case Level::Warn: return spdlog::level::warn;
    case Level::Error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out.append(buf);
        } else {
          out.push_back(static_cast<char>(c));  // UTF-8 passes; invalid bytes are the input's
        }
    }
  }
  out.push_back('"');
}

// A text value is bare when it is a plain word; otherwise quoted with JSON's escapes, so
// one field never runs into the next and a line never breaks.
void append_text_value(std::string& out, std::string_view s) {
  bool bare = !s.empty();
  for (unsigned char c : s)
    if (c <= 0x20 || c == '"' || c == '=' || c == '\\' || c >= 0x7f) bare = false;
  if (bare)
    out.append(s);
  else
    append_json_string(out, s);
}

}  // namespace

Field::Field(std::string_view k, double v) : key(k), number(true) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  text_storage = buf;
  text = text_storage;
}

Field::Field(const Field& other)
    : key(other.key), number(other.number), text_storage(other.text_storage), text(other.text) {
  if (!text_storage.empty()) text = text_storage;
}

bool parse_format(std::string_view text, Format& out) {
  if (text == "text")
    out = Format::Text;
  else if (text == "json")
    out = Format::Json;
  else
    return false;
  return true;
}

bool parse_level(std::string_view text, Level& out) {
  if (text == "debug")
    out = Level::Debug;
  else if (text == "info")
    out = Level::Info;
  else if (text == "warn")
    out = Level::Warn;
  else if (text == "error")
    out = Level::Error;
  else
    return false;
  return true;
}

void configure(Format format, Level level) {
  g_format.store(format);
  // stderr, not spdlog's default stdout: stdout carries rtmd's one-line start-up notice.
  static const bool installed = [] {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "rtmd", std::make_shared<spdlog::sinks::stderr_sink_mt>()));
    return true;
  }();
  (void)installed;
  spdlog::set_level(to_spdlog(level));
  if (format == Format::Json)
    spdlog::set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})",
                        spdlog::pattern_time_type::utc);
  else
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
}

bool enabled(Level level) { return spdlog::should_log(to_spdlog(level)); }

std::string format_payload(Format format, std::string_view event,
                           std::initializer_list<Field> fields) {
  std::string out;
  out.reserve(64 + 32 * fields.size());
  if (format == Format::Json) {
    out.append("\"event\":");
    append_json_string(out, event);
    for (const auto& f : fields) {
      out.push_back(',');
      append_json_string(out, f.key);
      out.push_back(':');
      if (f.number)
        out.append(f.text);
      else
        append_json_string(out, f.text);
    }
  } else {
    out.append(event);
    for (const auto& f : fields) {
      out.push_back(' ');
      out.append(f.key);
      out.push_back('=');
      if (f.number)
        out.append(f.text);
      else
        append_text_value(out, f.text);
    }
  }
  return out;
}

void write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  auto lvl = to_spdlog(level);
  if (!spdlog::should_log(lvl)) return;
  spdlog::log(lvl, "{}", format_payload(g_format.load(std::memory_order_relaxed), event, fields));
}

}  // namespace rtm::logging
