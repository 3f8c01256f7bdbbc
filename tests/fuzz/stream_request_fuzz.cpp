// Fuzz target: the event stream requests (net/stream_request.hpp). Input: a request target,
// then after the first '\n' a Last-Event-ID header value, as `GET /v1/events?session=S`
// brings them; parse_event_id also gets the whole input. Besides crashes it checks that
// parse_event_id takes exactly the decimal numbers up to 2^64-1 (leading zeros allowed, as
// std::from_chars does: "007" is 7) and nothing else, and that an accepted request has the
// session and the id the target and header say, Last-Event-ID winning over `after`.
#include <boost/url/parse.hpp>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "net/query_param.hpp"
#include "net/stream_request.hpp"

using rtm::Rc;
using rtm::net::parse_event_id;

namespace {

// Digits only, and their value fits in 64 bits: checked digit by digit, without from_chars.
std::optional<std::uint64_t> reference_event_id(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

void check_event_id(std::string_view text) {
  auto got = parse_event_id(text);
  if (got != reference_event_id(text)) std::abort();
  if (got) {
    // Round trip: the canonical form of the number is the text without its leading zeros.
    std::string_view digits = text.substr(std::min(text.find_first_not_of('0'), text.size() - 1));
    if (std::to_string(*got) != digits) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check_event_id(in);
  auto nl = in.find('\n');
  std::string_view target = in.substr(0, nl);
  std::string_view last_event_id = nl == std::string_view::npos ? "" : in.substr(nl + 1);
  check_event_id(last_event_id);

  rtm::net::StreamRequest r = rtm::net::parse_stream_request(target, last_event_id);
  // The server event socket reads `after` the same way.
  if (auto after = rtm::net::query_param(target, "after")) check_event_id(*after);

  // What the request says, read again: the last `session` and the last `after` count.
  auto url = boost::urls::parse_origin_form(target);
  std::string session;
  std::optional<std::string> after_text;
  bool after_bad = false;
  if (url) {
    for (auto param : url->params()) {
      if (param.key == "session") session = param.value;
      if (param.key == "after") {
        after_text = std::string(param.value);
        if (!reference_event_id(*after_text)) after_bad = true;
      }
    }
  }
  if (r.error) {
    if (r.error->rc != Rc::InvalidRequest || r.error->msg.empty()) std::abort();
    bool header_bad = !last_event_id.empty() && !reference_event_id(last_event_id);
    if (url && !session.empty() && !after_bad && !header_bad) std::abort();  // a good request
    return 0;
  }
  if (!url || session.empty() || after_bad || r.session != session) std::abort();
  std::optional<std::uint64_t> after;
  if (!last_event_id.empty())
    after = reference_event_id(last_event_id);
  else if (after_text)
    after = reference_event_id(*after_text);
  if (r.after != after) std::abort();
  return 0;
}
