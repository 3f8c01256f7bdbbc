// Names of message kinds as they appear on the wire ("p2p", "multi", ...).
#include "core/message.hpp"

namespace rtm {

std::string_view kind_name(MessageKind kind) {
  switch (kind) {
    case MessageKind::P2p: return "p2p";
    case MessageKind::Multi: return "multi";
    case MessageKind::Group: return "group";
    case MessageKind::Room: return "room";
    case MessageKind::Broadcast: return "broadcast";
    case MessageKind::Channel: return "channel";
  }
  return "p2p";
}

std::optional<MessageKind> parse_kind_name(std::string_view name) {
  for (MessageKind k : {MessageKind::P2p, MessageKind::Multi, MessageKind::Group, MessageKind::Room,
                        MessageKind::Broadcast, MessageKind::Channel})
    if (kind_name(k) == name) return k;
  return std::nullopt;
}

}  // namespace rtm
