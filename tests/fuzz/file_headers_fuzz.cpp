// Fuzz target: the headers of file uploads and downloads (net/file_headers.hpp). Input: a
// byte choosing the file size (small, or the next 8 bytes), then one header value, given to
// every reader: clean_file_name (X-Rtm-File-Name), parse_upload_mtype (X-Rtm-Mtype),
// safe_content_type (Content-Type), parse_range (Range), and content_disposition of the
// cleaned name. It checks what the server relies on: a cleaned name is a safe single path
// component of valid UTF-8 (no / \ NUL, no C0 or C1 controls, no bidirectional or
// zero-width characters, never "." or "..", 1 to 255 bytes) and a plain name is kept as it
// is; a range lies inside the file; the Content-Disposition is one header line whose
// filename* decodes back to the name.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "net/file_headers.hpp"

using namespace rtm::net;

namespace {

// Strict UTF-8 (RFC 3629): shortest forms only, no surrogates, at most U+10FFFF. Calls
// `each` with every code point; false when the text is not UTF-8.
template <class F>
bool each_code_point(std::string_view s, F each) {
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; k < n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    each(cp);
    i += n;
  }
  return true;
}

bool unsafe_code_point(std::uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) ||  // C0, DEL, C1
         cp == '/' || cp == '\\' || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

void check_file_name(std::string_view raw) {
  std::string name = clean_file_name(raw);
  if (name.empty() || name.size() > 255 || name == "." || name == "..") std::abort();
  bool unsafe = false;
  if (!each_code_point(name, [&](std::uint32_t cp) { unsafe |= unsafe_code_point(cp); }))
    std::abort();
  if (unsafe) std::abort();
  // A plain name (printable ASCII, nothing to decode or strip) is kept as it is.
  bool plain = !raw.empty() && raw.size() <= 255 && raw != "." && raw != "..";
  for (char c : raw) plain &= c >= 0x20 && c < 0x7f && c != '%' && c != '/' && c != '\\';
  if (plain && name != raw) std::abort();

  // The download's header: one line, the ASCII fallback quoted safely, filename* exact.
  std::string cd = content_disposition(name);
  for (unsigned char c : cd)
    if (c < 0x20 || c >= 0x7f) std::abort();
  const std::string_view prefix = "attachment; filename=\"";
  const std::string_view star = "\"; filename*=UTF-8''";
  if (cd.rfind(prefix, 0) != 0) std::abort();
  auto mid = cd.find(star, prefix.size());
  if (mid == std::string::npos) std::abort();
  std::string_view ascii(cd.data() + prefix.size(), mid - prefix.size());
  if (ascii.find_first_of("\"\\") != std::string_view::npos) std::abort();
  std::string_view encoded(cd.data() + mid + star.size(), cd.size() - mid - star.size());
  std::string decoded;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    char c = encoded[i];
    if (c == '%') {
      auto hex = [](char h) { return h >= 'A' && h <= 'F' ? h - 'A' + 10 : h - '0'; };
      if (i + 2 >= encoded.size() || !std::isxdigit(static_cast<unsigned char>(encoded[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(encoded[i + 2])))
        std::abort();
      decoded += static_cast<char>(hex(encoded[i + 1]) * 16 + hex(encoded[i + 2]));
      i += 2;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-._~", c)) {
      decoded += c;
    } else {
      std::abort();  // RFC 5987 attr-char or a %XX escape only
    }
  }
  if (decoded != name) std::abort();
}

void check_mtype(std::string_view text) {
  auto got = parse_upload_mtype(text);
  bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
  if (!got) {
    if (digits && text.size() < 12) {
      long v = std::stol(std::string(text));
      if (v >= 40 && v <= 50) std::abort();
    }
    return;
  }
  if (!digits || *got < 40 || *got > 50) std::abort();
}

void check_content_type(std::string_view text) {
  if (!safe_content_type(text)) return;
  if (text.size() > 128 || text.find('/') == std::string_view::npos) std::abort();
  for (unsigned char c : text)
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == ',') std::abort();
}

std::optional<std::uint64_t> decimal(std::string_view s) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  return std::stoull(std::string(s));
}

void check_range(std::string_view h, std::uint64_t size) {
  bool bad = true;
  auto range = parse_range(h, size, bad);
  if (range && bad) std::abort();
  if (range && (range->first > range->second || range->second >= size)) std::abort();
  if (h.empty() && (range || bad)) std::abort();
  // bytes=A-B and bytes=A- as RFC 9110 14.1.2 reads them (numbers of up to 19 digits).
  if (h.rfind("bytes=", 0) != 0) {
    if (range || bad) std::abort();  // another unit: the whole file
    return;
  }
  std::string_view spec = h.substr(6);
  auto dash = spec.find('-');
  if (dash == std::string_view::npos || dash == 0) return;
  auto a = decimal(spec.substr(0, dash));
  std::string_view last = spec.substr(dash + 1);
  auto b = last.empty() ? std::optional<std::uint64_t>(UINT64_MAX) : decimal(last);
  if (!a || !b || *b < *a) return;
  if (*a >= size) {
    if (!bad) std::abort();  // unsatisfiable: 416
  } else if (!range || range->first != *a || range->second != std::min(*b, size - 1)) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::uint64_t file_size = data[0] & 0x7F;
  std::size_t skip = 1;
  if ((data[0] & 0x80) && size >= 9) {
    std::memcpy(&file_size, data + 1, 8);
    skip = 9;
  }
  const std::string_view h(reinterpret_cast<const char*>(data) + skip, size - skip);
  check_file_name(h);
  check_mtype(h);
  check_content_type(h);
  check_range(h, file_size);
  return 0;
}
