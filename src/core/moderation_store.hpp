// ModerationStore: the bans of rtm (core/ban_list.hpp), kept so that they outlive a restart.
// The engine loads them all into its BanList at start and writes each change through here;
// whether a ban is still in force is the engine's question, not the store's.
//
// Guarantees (besides those of every Store method, core/store.hpp):
//  - There is at most one ban per (scope, target, uid): put_ban() replaces the one there.
//  - Deleting a ban that is not there is not an error.
#pragma once

#include <cstdint>
#include <vector>

#include "core/ban_list.hpp"
#include "core/message.hpp"
#include "core/result.hpp"

namespace rtm {

class ModerationStore {
 public:
  virtual ~ModerationStore() = default;

  // Adds or replaces the ban of (scope, target, uid).
  virtual Status put_ban(const Ban& ban) = 0;
  // Not an error when there is none.
  virtual Status delete_ban(BanScope scope, std::uint64_t target, Uid uid) = 0;
  // Every stored ban; expired ones may be among them (the engine skips them).
  virtual Result<std::vector<Ban>> bans() = 0;
};

}  // namespace rtm
