// quote_input(): client-given text made safe to echo in an error message. Error replies are
// JSON or XML, both UTF-8: a method name, setting name or topic taken from a request may be
// megabytes long or hold bytes that are not UTF-8 (an HTTP path is raw bytes), and cutting it
// at a byte count may split a character. Either would make the reply unreadable.
// Header-only so that core/ and api/ share it without a library of its own.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rtm {

// The length of the well-formed UTF-8 sequence starting at text[i], or 0 when the bytes there
// are not one (stray continuation byte, truncated sequence, overlong form, surrogate, or a
// code point beyond U+10FFFF).
inline std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return 1;
  std::size_t n;
  std::uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (text.size() - i < n) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    auto d = static_cast<unsigned char>(text[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  if (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return n;
}

// At most max_bytes of text (plus "..." when it was cut), always valid UTF-8: cut only
// between characters, each byte that does not start a well-formed sequence replaced by
// U+FFFD.
inline std::string quote_input(std::string_view text, std::size_t max_bytes = 64) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 3);
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t n = utf8_sequence_length(text, i);
    std::string_view piece = n ? text.substr(i, n) : kReplacement;
    if (out.size() + piece.size() > max_bytes) {
      out += "...";
      break;
    }
    out += piece;
    i += n ? n : 1;
  }
  return out;
}

}  // namespace rtm
