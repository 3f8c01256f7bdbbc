// See stream_request.hpp.
#include "net/stream_request.hpp"

#include <boost/url/parse.hpp>
#include <charconv>

#include "core/result.hpp"

namespace rtm::net {

std::optional<std::uint64_t> parse_event_id(std::string_view text) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

StreamRequest parse_stream_request(std::string_view target, std::string_view last_event_id) {
  StreamRequest r;
  auto bad = [&r](std::string msg) { r.error = make_error(Rc::InvalidRequest, std::move(msg)); };
  auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    bad("malformed request target");
    return r;
  }
  for (auto param : url->params()) {
    if (param.key == "session") r.session = param.value;
    if (param.key == "after") {
      r.after = parse_event_id(param.value);
      if (!r.after) bad("after must be a non-negative integer");
    }
  }
  // Last-Event-ID (sent by EventSource on reconnect) wins over `after`: it is the newer.
  if (!last_event_id.empty()) {
    r.after = parse_event_id(last_event_id);
    if (!r.after) bad("Last-Event-ID must be a non-negative integer");
  }
  if (r.session.empty() && !r.error) bad("session is missing (?session=S)");
  return r;
}

}  // namespace rtm::net
