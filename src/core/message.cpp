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

}  // namespace rtm
