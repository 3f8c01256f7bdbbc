// ListenSelection: what the server event stream copies besides presence (API.md section 8,
// `server/listen`; the RTM SDK's server push monitor): which P2P, group and room messages,
// and which of the server's own events. Set by the application's backend; kept in memory
// like the stream itself (docs/semantics.md "Server events").
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "core/message.hpp"

namespace rtm {

// The server event types a backend can choose (file.uploaded comes with files).
inline constexpr std::string_view kListenableEvents[] = {
    "user.online", "user.offline", "channel.connected", "channel.disconnected", "file.uploaded"};

struct ListenSelection {
  // Messages copied: every one of a kind (all_*), or those of the listed ids. P2P and
  // send_many messages match by sender or recipient.
  bool all_p2p = false;
  std::set<Uid> uids;
  bool all_groups = false;
  std::set<Gid> gids;
  bool all_rooms = false;
  std::set<Rid> rids;
  // Server events recorded; by default all of them.
  std::set<std::string, std::less<>> events{std::begin(kListenableEvents),
                                            std::end(kListenableEvents)};

  // Whether a message (its kind, sender and targets) is copied to the stream.
  bool copies(const Message& m) const;
  bool records(std::string_view event_type) const { return events.count(event_type) > 0; }
};

}  // namespace rtm
