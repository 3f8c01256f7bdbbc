// ListenSelection: what the server event stream copies besides presence (API.md section 8,
// `server/listen`; the RTM SDK's server push monitor): which P2P, group and room messages,
// and which of the server's own events. Set by the application's backend and kept in the
// store's meta (encode/decode), so a restarted node copies what the backend chose.
#pragma once

#include <optional>
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

  // A line per part, "p2p=all" or "p2p=1,2", "groups=", "rooms=", "events=user.online,...";
  // decode() answers nullopt for text encode() would not write.
  std::string encode() const;
  static std::optional<ListenSelection> decode(std::string_view text);
  bool operator==(const ListenSelection&) const = default;
};

}  // namespace rtm
