// See log.hpp. spdlog writes the line (one stderr sink, a lock per line, so lines of several
// threads never interleave) and stamps the time; the level and the rest of the line are built
// here, escaped for the chosen format, so a login name with a quote or a newline in it cannot
// forge a second line or break the JSON, and every line is valid UTF-8.
#include "logging/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cmath>
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

// The names of --log-level, the same in both formats (spdlog's own say "warning").
std::string_view level_name(Level level) {
  switch (level) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
  }
  return "info";
}

// The length of the valid UTF-8 sequence at s[i] (1-4), or 0 when the bytes there are not
// one (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, cut short).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  std::size_t n;
  unsigned lo = 0x80, hi = 0xbf;  // the range of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;  // overlong
    if (c == 0xed) hi = 0x9f;  // surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;  // overlong
    if (c == 0xf4) hi = 0x8f;  // past U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  return n;
}

// A JSON string: control bytes escaped, invalid UTF-8 replaced by U+FFFD (a log line may
// carry bytes of a raw request, and a log shipper rejects a line that is not UTF-8).
void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      if (std::size_t n = utf8_sequence(s, i)) {
        out.append(s.substr(i, n));
        i += n;
      } else {
        out.append("\\ufffd");
        ++i;
      }
      continue;
    }
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
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

// A text value is bare when it is a plain word of printable ASCII; otherwise quoted with
// JSON's escapes, so one field never runs into the next and a line never breaks.
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

Field::Field(std::string_view k, double v) : key(k), number(std::isfinite(v)) {
  if (number) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    text_storage = buf;
  } else {
    text_storage = std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");  // JSON has no such number
  }
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
  // spdlog's default logger writes to stdout, in colour; rtmd's stdout is for the lines a
  // person starting it reads (the address, the key file), and its log is stderr.
  auto logger =
      std::make_shared<spdlog::logger>("rtm", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  spdlog::set_default_logger(logger);
  g_format.store(format);
  spdlog::set_level(to_spdlog(level));
  if (format == Format::Json)
    spdlog::set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ",%v})", spdlog::pattern_time_type::utc);
  else
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %v", spdlog::pattern_time_type::utc);
}

Format format() { return g_format.load(std::memory_order_relaxed); }

bool enabled(Level level) { return spdlog::should_log(to_spdlog(level)); }

std::string format_payload(Format format, Level level, std::string_view event,
                           std::initializer_list<Field> fields) {
  std::string out;
  out.reserve(64 + 32 * fields.size());
  if (format == Format::Json) {
    out.append("\"level\":\"").append(level_name(level)).append("\",\"event\":");
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
    out.append(level_name(level)).push_back(' ');
    append_text_value(out, event);
    for (const auto& f : fields) {
      out.push_back(' ');
      append_text_value(out, f.key);
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
  spdlog::log(lvl, "{}", format_payload(format(), level, event, fields));
}

}  // namespace rtm::logging
