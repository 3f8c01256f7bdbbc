// Topic parsing (topic.hpp).
#include "core/topic.hpp"

#include <charconv>

#include "core/quote_input.hpp"

namespace rtm {

namespace {

// A positive decimal uint64 (no sign, no leading junk).
std::optional<std::uint64_t> parse_id(std::string_view text) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v == 0) return std::nullopt;
  return v;
}

}  // namespace

Result<Topic> Topic::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return make_error(Rc::InvalidParameter,
                      "topic must be group:<gid>, room:<rid>, presence:<uid> or channel:<name>");
  std::string_view kind = text.substr(0, colon);
  std::string_view rest = text.substr(colon + 1);
  Topic t;
  if (kind == "channel") {
    if (rest.empty() || rest.size() > 256)
      return make_error(Rc::InvalidParameter, "channel name must be 1 to 256 bytes");
    t.kind = Kind::Channel;
    t.name = std::string(rest);
    return t;
  }
  if (kind == "group")
    t.kind = Kind::Group;
  else if (kind == "room")
    t.kind = Kind::Room;
  else if (kind == "presence")
    t.kind = Kind::Presence;
  else
    return make_error(Rc::InvalidParameter, "unknown topic kind '" + quote_input(kind) + "'");
  auto id = parse_id(rest);
  if (!id) return make_error(Rc::InvalidParameter, "topic id must be a positive integer");
  t.id = *id;
  return t;
}

std::optional<Rid> room_of_topic(std::string_view topic) {
  if (topic.substr(0, 5) != "room:") return std::nullopt;
  return parse_id(topic.substr(5));
}

}  // namespace rtm
