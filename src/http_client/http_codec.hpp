// Minimal HTTP/1.1 client codec shared by the rtm CLI and rtm-bench: formats request heads and
// parses response heads and bodies (Content-Length, chunked, or read-until-close) from a byte
// buffer. No sockets and no allocation on the common path, so the load generator stays cheap.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rtm::http {

struct ResponseHead {
  int status = 0;
  bool keep_alive = true;
  bool chunked = false;
  bool has_length = false;         // Content-Length was given
  std::size_t content_length = 0;  // valid when has_length
  std::size_t head_size = 0;       // bytes of the status line and headers, incl. final CRLFCRLF
  std::string_view content_type;   // points into the parsed buffer
};

enum class Parse { need_more, done, error };

// Parses the status line and headers at the start of `data`. need_more until the blank line
// has arrived; error for anything that is not an HTTP/1.x response.
Parse parse_response_head(std::string_view data, ResponseHead& out);

// True when the response to a request of method `method` has no body regardless of headers.
bool body_is_empty(const ResponseHead& head, std::string_view method);

// Decodes a complete chunked body that starts at `data` (right after the head). need_more
// while the final chunk has not arrived; on done `consumed` is the bytes used (trailers
// included) and `body` holds the decoded bytes.
Parse decode_chunked(std::string_view data, std::string& body, std::size_t& consumed);

// Appends "METHOD target HTTP/1.1" and the headers rtm clients send, ending with the blank line.
// `bearer` empty: no Authorization header. The body is written separately (gather write).
void format_request_head(std::string& out, std::string_view method, std::string_view target,
                         std::string_view host, std::string_view bearer, std::size_t body_size,
                         std::string_view content_type = "application/json");

}  // namespace rtm::http
