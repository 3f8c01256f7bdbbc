// Topic: what a session may subscribe to (API.md section 3): "group:<gid>", "room:<rid>",
// "presence:<uid>" or "channel:<name>", parsed once where a subscribe is decided instead of
// by prefix in several places.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/message.hpp"
#include "core/result.hpp"

namespace rtm {

struct Topic {
  enum class Kind { Group, Room, Presence, Channel } kind = Kind::Group;
  std::uint64_t id = 0;  // the gid, rid or uid
  std::string name;      // a channel's name

  // InvalidParameter, with the message a client sees, for anything that is not a topic.
  static Result<Topic> parse(std::string_view text);
};

// The rid of a "room:<rid>" topic; nullopt for every other topic.
std::optional<Rid> room_of_topic(std::string_view topic);
inline bool is_presence_topic(std::string_view topic) { return topic.substr(0, 9) == "presence:"; }

}  // namespace rtm
