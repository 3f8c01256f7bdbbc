// See listen_selection.hpp.
#include "core/listen_selection.hpp"

namespace rtm {

bool ListenSelection::copies(const Message& m) const {
  switch (m.kind) {
    case MessageKind::P2p: return all_p2p || uids.count(m.from) || uids.count(m.to);
    case MessageKind::Multi:
      if (all_p2p || uids.count(m.from)) return true;
      for (Uid u : m.to_uids)
        if (uids.count(u)) return true;
      return false;
    case MessageKind::Group: return all_groups || gids.count(m.gid);
    case MessageKind::Room: return all_rooms || rids.count(m.rid);
    case MessageKind::Broadcast:
    case MessageKind::Channel: return false;
  }
  return false;
}

}  // namespace rtm
