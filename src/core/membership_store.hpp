// MembershipStore: who is in which group and which room. A group exists while it has members:
// there is no group record beside its members, and a group without members is simply empty.
// Rooms are the same, one member at a time.
//
// Guarantees (besides those of every Store method, core/store.hpp):
//  - Adding a member who is already there keeps one membership; it is not an error.
//  - Removing members or groups that do not exist is not an error.
//  - Lists of members and of a user's groups are in ascending order, without repeats.
#pragma once

#include <vector>

#include "core/message.hpp"
#include "core/result.hpp"

namespace rtm {

class MembershipStore {
 public:
  virtual ~MembershipStore() = default;

  // --- groups --------------------------------------------------------------------------
  virtual Status add_group_members(Gid gid, const std::vector<Uid>& uids) = 0;
  virtual Status del_group_members(Gid gid, const std::vector<Uid>& uids) = 0;
  virtual Result<std::vector<Uid>> group_members(Gid gid) = 0;  // ascending
  virtual Result<bool> is_group_member(Gid gid, Uid uid) = 0;
  virtual Status delete_group(Gid gid) = 0;
  virtual Result<std::vector<Gid>> user_groups(Uid uid) = 0;  // ascending

  // --- rooms ---------------------------------------------------------------------------
  virtual Status add_room_member(Rid rid, Uid uid) = 0;
  virtual Status del_room_member(Rid rid, Uid uid) = 0;
  virtual Result<std::vector<Uid>> room_members(Rid rid) = 0;  // ascending
  virtual Result<bool> is_room_member(Rid rid, Uid uid) = 0;
};

}  // namespace rtm
