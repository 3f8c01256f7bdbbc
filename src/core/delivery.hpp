// Delivery targets: to whom a publication goes, made in one place instead of strings built by
// hand. A user's target reaches every live session of that uid; a topic's reaches the
// sessions subscribed to it ("group:7", "room:3", "presence:42", "channel:news"); All reaches
// every online user's sessions (broadcast). A broker that crosses processes encodes a target
// with text() and reads it back with parse().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/message.hpp"

namespace rtm {

struct Target {
  enum class Kind { User, Topic, All } kind = Kind::All;
  Uid uid = 0;        // User
  std::string topic;  // Topic

  static Target user(Uid uid) { return {Kind::User, uid, {}}; }
  static Target of_topic(std::string topic) { return {Kind::Topic, 0, std::move(topic)}; }
  static Target all() { return {Kind::All, 0, {}}; }

  // "u:42", "t:room:7", "all".
  std::string text() const;
  static std::optional<Target> parse(std::string_view text);
};

// Where a stored message goes: its user(s), its group's or room's topic, or everyone. Used by
// the live fan-out and by a restarted node replaying the stream, so both reach the same
// sessions. A channel message has no target here (channels deliver it themselves).
std::vector<Target> message_targets(const Message& m);

}  // namespace rtm
