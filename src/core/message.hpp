// A message as the store keeps it and the engine delivers it (API.md section 2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rtm {

using Uid = std::uint64_t;
using Gid = std::uint64_t;
using Rid = std::uint64_t;
using Mid = std::uint64_t;

enum class MessageKind { P2p, Multi, Group, Room, Broadcast, Channel };

std::string_view kind_name(MessageKind kind);
// The kind of a wire name; nullopt for a name kind_name() does not give.
std::optional<MessageKind> parse_kind_name(std::string_view name);

struct Message {
  Mid mid = 0;         // assigned by the server: unique in the cluster, increasing in time
  Mid client_mid = 0;  // the sender's own `mid` for idempotent retries; 0: none given
  Uid from = 0;        // 0: the system (a server send without `from`)
  MessageKind kind = MessageKind::P2p;
  Uid to = 0;                // P2p
  std::vector<Uid> to_uids;  // Multi
  Gid gid = 0;               // Group
  Rid rid = 0;               // Room
  int mtype = 30;
  std::string msg;
  std::string attrs;
  std::int64_t mtime = 0;  // ms since the Unix epoch, the server's acceptance
};

}  // namespace rtm
