// AccessPolicy: the one rule of who may act in a group or a room (send to it, read its history
// or files, subscribe to it) and whether a user exists, asked by every service that decides
// such an act (messages, sessions, files). Before it, the rule was written out four times and
// had drifted.
//
// The rule (docs/semantics.md "Moderation"):
//  - a group: the user is a member and not banned from it, for every act;
//  - a room: sending and reading need a member not banned from it; subscribing needs only
//    not being banned (subscribing is how a user enters a room);
//  - the project: a blocked user may not log in (checked by the session service).
//
// Membership is read from the store (blocking, local I/O on SQLite); bans from the node's
// BanList, the in-memory copy of the stored bans kept by Moderation; uids seen to exist are
// remembered, so a send to a known user costs no store read. Thread-safe: known_mu_ is a leaf.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_set>

#include "core/ban_list.hpp"
#include "core/message.hpp"
#include "core/node/node_config.hpp"
#include "core/result.hpp"
#include "core/store.hpp"

namespace rtm {

enum class Act { Send, Read, Subscribe };

// A group or a room.
struct Place {
  enum class Kind { Group, Room } kind = Kind::Group;
  std::uint64_t id = 0;
  static Place group(Gid gid) { return {Kind::Group, gid}; }
  static Place room(Rid rid) { return {Kind::Room, rid}; }
};

class AccessPolicy {
 public:
  AccessPolicy(const NodeConfig& config, Store& store, BanList& bans)
      : config_(config), store_(store), bans_(bans) {}

  // PermissionDenied ("not a member of this group" / "not in this room", or the ban with its
  // end) unless uid may do `act` in `place`; the store's error when membership cannot be read.
  Status check(Act act, Place place, Uid uid);
  // PermissionDenied with the ban's end when uid is banned from (scope, target) now.
  Status not_banned(BanScope scope, std::uint64_t target, Uid uid);

  // NotFound ("no user with uid N") unless the user exists; the store's error when it cannot
  // tell.
  Status user_exists(Uid uid);
  // Whether user_exists(uid) answers from memory now (the user is remembered): no store read.
  bool known_user(Uid uid);
  void remember_user(Uid uid);
  void forget_user(Uid uid);

 private:
  const NodeConfig& config_;
  Store& store_;
  BanList& bans_;
  std::mutex known_mu_;  // guards known_users_; a leaf lock
  std::unordered_set<Uid> known_users_;
};

}  // namespace rtm
