// Minimal HTTP/1.1 client codec: request head formatting and response head / body parsing.
#include "http_client/http_codec.hpp"

#include <charconv>

namespace rtm::http {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// True when the comma-separated header value contains `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void append_number(std::string& out, std::size_t n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

}  // namespace

Parse parse_response_head(std::string_view data, ResponseHead& out) {
  std::size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    // A head that never ends is an error rather than an unbounded buffer.
    return data.size() > 64 * 1024 ? Parse::error : Parse::need_more;
  }
  out = ResponseHead{};
  out.head_size = end + 4;
  std::string_view head = data.substr(0, end + 2);  // every line ends with CRLF

  std::size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  head.remove_prefix(eol + 2);
  // "HTTP/1.1 200 OK"
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1.") return Parse::error;
  bool http10 = status_line[7] == '0';
  out.keep_alive = !http10;
  // Three digits exactly: from_chars alone would take "-04" as status -4.
  std::string_view code = status_line.substr(9, 3);
  if (status_line[8] != ' ') return Parse::error;
  int status = 0;
  for (char c : code) {
    if (c < '0' || c > '9') return Parse::error;
    status = status * 10 + (c - '0');
  }
  out.status = status;

  while (!head.empty()) {
    eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Parse::error;
    std::string_view name = line.substr(0, colon);
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      std::size_t n = 0;
      auto cr = std::from_chars(value.data(), value.data() + value.size(), n);
      if (cr.ec != std::errc{} || cr.ptr != value.data() + value.size()) return Parse::error;
      out.has_length = true;
      out.content_length = n;
    } else if (iequals(name, "transfer-encoding")) {
      out.chunked = has_token(value, "chunked");
    } else if (iequals(name, "connection")) {
      if (has_token(value, "close")) out.keep_alive = false;
      if (has_token(value, "keep-alive")) out.keep_alive = true;
    } else if (iequals(name, "content-type")) {
      out.content_type = value;
    }
  }
  if (out.chunked) out.has_length = false;  // RFC 9112 6.3: chunked wins
  return Parse::done;
}

bool body_is_empty(const ResponseHead& head, std::string_view method) {
  return method == "HEAD" || (head.status >= 100 && head.status < 200) || head.status == 204 ||
         head.status == 304;
}

Parse decode_chunked(std::string_view data, std::string& body, std::size_t& consumed) {
  body.clear();
  std::size_t pos = 0;
  for (;;) {
    std::size_t eol = data.find("\r\n", pos);
    if (eol == std::string_view::npos)
      return data.size() - pos > 1024 ? Parse::error : Parse::need_more;
    std::string_view size_line = data.substr(pos, eol - pos);
    std::size_t semi = size_line.find(';');  // chunk extensions are ignored
    size_line = trim(size_line.substr(0, semi));
    std::size_t size = 0;
    auto r = std::from_chars(size_line.data(), size_line.data() + size_line.size(), size, 16);
    if (size_line.empty() || r.ec != std::errc{} || r.ptr != size_line.data() + size_line.size())
      return Parse::error;
    pos = eol + 2;
    if (size == 0) {
      // Trailers, then an empty line.
      for (;;) {
        eol = data.find("\r\n", pos);
        if (eol == std::string_view::npos) return Parse::need_more;
        bool empty = eol == pos;
        pos = eol + 2;
        if (empty) {
          consumed = pos;
          return Parse::done;
        }
      }
    }
    // Compared without pos + size + 2, which a size near 2^64 wraps around.
    if (size > data.size() - pos || data.size() - pos - size < 2) return Parse::need_more;
    body.append(data.data() + pos, size);
    pos += size;
    if (data.substr(pos, 2) != "\r\n") return Parse::error;
    pos += 2;
  }
}

void format_request_head(std::string& out, std::string_view method, std::string_view target,
                         std::string_view host, std::string_view bearer, std::size_t body_size,
                         std::string_view content_type) {
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(host);
  out.append("\r\nUser-Agent: rtm/0.1\r\nAccept: application/json\r\n");
  if (!bearer.empty()) out.append("Authorization: Bearer ").append(bearer).append("\r\n");
  if (body_size > 0 || method == "POST" || method == "PUT") {
    out.append("Content-Type: ").append(content_type).append("\r\nContent-Length: ");
    append_number(out, body_size);
    out.append("\r\n");
  }
  out.append("\r\n");
}

}  // namespace rtm::http
