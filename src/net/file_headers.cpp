// See file_headers.hpp.
#include "net/file_headers.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace rtm::net {

namespace {

std::string percent_encode_utf8(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// The code point of the UTF-8 character at the start of `s` and its length in bytes; length 0
// for anything that is not UTF-8 (RFC 3629): a stray or truncated byte, an overlong form
// (C0 AF would be a '/' that a later, laxer decoder sees), a surrogate, past U+10FFFF.
std::pair<std::uint32_t, std::size_t> utf8_char(std::string_view s) {
  auto c = static_cast<unsigned char>(s[0]);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || n > s.size()) return {0, 0};
  std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (std::size_t k = 1; k < n; ++k) {
    auto cc = static_cast<unsigned char>(s[k]);
    if ((cc & 0xC0) != 0x80) return {0, 0};
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr std::uint32_t kShortest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kShortest[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0, 0};
  return {cp, n};
}

// Control characters (C0, DEL, C1: NUL and line breaks among them), bidirectional controls
// (U+200E/F, U+202A-E, U+2066-9), which can make "gpj.exe" look like "exe.jpg", and
// zero-width ones (U+200B-D), which hide characters.
bool hidden_or_control(std::uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::string clean_file_name(std::string_view raw) {
  // Percent-decoding lets a client send any UTF-8 name through a header.
  std::string decoded;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    unsigned v = 0;
    if (raw[i] == '%' && i + 2 < raw.size() &&
        std::from_chars(raw.data() + i + 1, raw.data() + i + 3, v, 16).ptr == raw.data() + i + 3) {
      decoded += static_cast<char>(v);
      i += 2;
    } else {
      decoded += raw[i];
    }
  }
  auto slash = decoded.find_last_of("/\\");
  if (slash != std::string::npos) decoded.erase(0, slash + 1);
  std::string out;
  for (std::size_t i = 0; i < decoded.size();) {
    auto [cp, n] = utf8_char(std::string_view(decoded).substr(i));
    if (n == 0) {  // not UTF-8: dropped
      ++i;
      continue;
    }
    std::string_view ch(decoded.data() + i, n);
    i += n;
    if (hidden_or_control(cp)) continue;
    if (out.size() + n > 255) break;
    out.append(ch);
  }
  if (out.empty() || out == "." || out == "..") out = "file";
  return out;
}

std::optional<int> parse_upload_mtype(std::string_view v) {
  int mtype = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), mtype);
  if (ec != std::errc() || end != v.data() + v.size() || mtype < 40 || mtype > 50)
    return std::nullopt;
  return mtype;
}

bool safe_content_type(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  for (char c : t)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' || c == '+' ||
          c == '.' || c == ';' || c == '=' || c == ' ' || c == '_'))
      return false;
  return t.find('/') != std::string_view::npos;
}

std::string content_disposition(std::string_view name) {
  std::string ascii;
  for (unsigned char c : name) ascii += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '_';
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + percent_encode_utf8(name);
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_range(std::string_view h,
                                                                   std::uint64_t size, bool& bad) {
  bad = false;
  if (h.empty()) return std::nullopt;
  if (h.substr(0, 6) != "bytes=" || h.find(',') != std::string_view::npos) {
    return std::nullopt;  // other units or several ranges: the whole file (allowed by RFC 9110)
  }
  h.remove_prefix(6);
  auto dash = h.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto num = [](std::string_view s, std::uint64_t& v) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size();
  };
  std::uint64_t a = 0, b = 0;
  std::string_view first = h.substr(0, dash), last = h.substr(dash + 1);
  if (first.empty()) {  // the last N bytes
    if (!num(last, b) || b == 0) {
      bad = true;
      return std::nullopt;
    }
    if (size == 0) {
      bad = true;
      return std::nullopt;
    }
    return std::pair{size - std::min(b, size), size - 1};
  }
  if (!num(first, a) || a >= size) {
    bad = true;
    return std::nullopt;
  }
  if (last.empty()) return std::pair{a, size - 1};
  if (!num(last, b) || b < a) {
    bad = true;
    return std::nullopt;
  }
  return std::pair{a, std::min(b, size - 1)};
}

}  // namespace rtm::net
