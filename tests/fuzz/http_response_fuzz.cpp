// Fuzz target: the HTTP/1.1 response parser of src/http_client (parse_response_head,
// body_is_empty, decode_chunked) on arbitrary bytes, as they would arrive from a server.
// Besides memory errors it checks the parser's own promises: sizes stay inside the input,
// content_type points into it, and a chunked body decoded from a prefix of the input is the
// same when more bytes have arrived (what AsyncConnection relies on while reading).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http_client/http_codec.hpp"

using namespace rtm::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  ResponseHead head;
  Parse p = parse_response_head(in, head);
  std::string_view body_bytes = in;
  if (p == Parse::done) {
    if (head.head_size > in.size() || head.status < 0 || head.status > 999) std::abort();
    if (!head.content_type.empty() &&
        (head.content_type.data() < in.data() ||
         head.content_type.data() + head.content_type.size() > in.data() + head.head_size))
      std::abort();
    if (head.chunked && head.has_length) std::abort();  // chunked wins (RFC 9112 6.3)
    (void)body_is_empty(head, "GET");
    if (!body_is_empty(head, "HEAD")) std::abort();
    body_bytes = in.substr(head.head_size);
  }

  // The body as a chunked stream, whole and then in growing prefixes.
  std::string body;
  std::size_t used = 0;
  Parse whole = decode_chunked(body_bytes, body, used);
  if (whole == Parse::done && used > body_bytes.size()) std::abort();
  if (body_bytes.size() <= 2048) {
    for (std::size_t n = 0; n < body_bytes.size(); n += 1 + n / 8) {
      std::string part;
      std::size_t part_used = 0;
      Parse pp = decode_chunked(body_bytes.substr(0, n), part, part_used);
      // A prefix that is already complete decides the answer: more bytes change nothing.
      if (pp == Parse::done && (whole != Parse::done || part_used != used || part != body))
        std::abort();
    }
  }
  return 0;
}
