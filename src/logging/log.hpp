// Structured log lines for operators (spdlog underneath), on stderr. Every line is an event
// name and a few fields, written as `ts level event key=value ...` (text) or as one JSON
// object per line, `{"ts":..,"level":..,"event":..,key:value,...}` (json, for a log
// shipper), chosen once at start-up by configure(). Every layer logs through this, never
// through spdlog directly, so both formats hold for every line. docs/semantics.md "Logs"
// lists the events.
//
// Secrets never go into a line: log a login name, an address, an error text, never a
// password, a token or a key (docs/semantics.md "Logs").
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

namespace rtm::logging {

enum class Format { Text, Json };
enum class Level { Debug, Info, Warn, Error };

// Parses "text"/"json" and "debug"/"info"/"warn"/"error"; false for anything else.
bool parse_format(std::string_view text, Format& out);
bool parse_level(std::string_view text, Level& out);

// Sets the format and the lowest level written, and sends the lines to stderr. Call it once,
// before the threads that log start.
void configure(Format format, Level level);
Format format();

// One field of a line. A string value is quoted (and escaped) as needed; a number is not. A
// string value is viewed, not copied: it must outlive the write() (a temporary of the same
// full expression does).
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), text(v) {}
  Field(std::string_view k, const std::string& v) : key(k), text(v) {}
  Field(std::string_view k, const char* v) : key(k), text(v) {}
  template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) Field(std::string_view k, T v)
      : key(k), number(true), text_storage(std::to_string(v)) {
    text = text_storage;
  }
  Field(std::string_view k, double v);
  Field(std::string_view k, bool v) : key(k), number(true), text(v ? "true" : "false") {}
  Field(const Field& other);
  Field& operator=(const Field&) = delete;

  std::string_view key;
  bool number = false;
  std::string text_storage;
  std::string_view text;
};

bool enabled(Level level);
// Writes one line: `event` names what happened (`login.failed`, `store.error`), dotted,
// lower case; fields say the rest.
void write(Level level, std::string_view event, std::initializer_list<Field> fields = {});

inline void debug(std::string_view event, std::initializer_list<Field> fields = {}) {
  if (enabled(Level::Debug)) write(Level::Debug, event, fields);
}
inline void info(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::Info, event, fields);
}
inline void warn(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::Warn, event, fields);
}
inline void error(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::Error, event, fields);
}

// The line write() would produce, without its timestamp: for tests.
std::string format_payload(Format format, Level level, std::string_view event,
                           std::initializer_list<Field> fields);

}  // namespace rtm::logging
