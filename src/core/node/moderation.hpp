// Moderation (docs/semantics.md "Moderation"): bans from a group or a room and project-wide
// blocks, stored first and then applied: a group ban drops the user's subscriptions to the
// group, a room ban takes the user out of the room, a block ends the user's sessions. The
// checks themselves are the access policy's (core/node/access_policy.hpp), on the in-memory
// BanList this service keeps in step with the store.
//
// Thread-safe; ban and unban write the store.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/ban_list.hpp"
#include "core/node/access_policy.hpp"
#include "core/node/directory.hpp"
#include "core/node/node_config.hpp"
#include "core/node/session_service.hpp"
#include "core/result.hpp"
#include "core/store.hpp"

namespace rtm {

struct BanOutcome {
  std::int64_t until_ms = Ban::kForever;
  int sessions_ended = 0;  // a project-wide block ends the user's sessions
};

class Moderation {
 public:
  Moderation(const NodeConfig& config, Store& store, BanList& bans, AccessPolicy& access,
             SessionService& sessions, Directory& directory);

  // Reads the stored bans into the BanList (at start).
  Status load();
  // Bans uid from a group or a room (scope Group / Room, target gid / rid), or blocks it
  // from the whole project (Project, target 0), for duration_s seconds (nullopt: until
  // lifted). Banning again replaces the end.
  Result<BanOutcome> ban(BanScope scope, std::uint64_t target, Uid uid,
                         std::optional<std::int64_t> duration_s);
  // Lifts a ban; answers whether one was in force.
  Result<bool> unban(BanScope scope, std::uint64_t target, Uid uid);
  // The bans in force for (scope, target), by uid.
  std::vector<Ban> bans(BanScope scope, std::uint64_t target);

 private:
  const NodeConfig& config_;
  Store& store_;
  BanList& bans_;
  AccessPolicy& access_;
  SessionService& sessions_;
  Directory& directory_;
};

}  // namespace rtm
