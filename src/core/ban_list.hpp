// BanList: who may not act where, and until when (moderation, issue 4): a user banned from a
// group (cannot send to it or subscribe to it), from a room (cannot enter, send or read it),
// or blocked from the whole project (cannot log in). The store keeps the bans durable; the
// engine keeps this copy in memory so that the checks on the send path cost a hash lookup.
// A ban past its `until_ms` counts as gone; expired entries are dropped when they are met.
//
// Locking: `mu_` guards the map and is a leaf lock (nothing else is taken while it is held).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/message.hpp"

namespace rtm {

enum class BanScope : std::uint8_t { Group = 1, Room = 2, Project = 3 };

struct Ban {
  BanScope scope = BanScope::Group;
  std::uint64_t target = 0;  // gid or rid; 0 for a project-wide block
  Uid uid = 0;
  std::int64_t until_ms = 0;  // kForever: until lifted
  static constexpr std::int64_t kForever = INT64_MAX;
};

class BanList {
 public:
  // Adds or replaces the ban of (scope, target, uid).
  void put(const Ban& ban);
  // Lifts the ban; true if one was in force.
  bool remove(BanScope scope, std::uint64_t target, Uid uid, std::int64_t now_ms);
  // The end of the ban in force, if any.
  std::optional<std::int64_t> until(BanScope scope, std::uint64_t target, Uid uid,
                                    std::int64_t now_ms);
  // The bans in force for (scope, target), by uid ascending. For Project, target is 0.
  std::vector<Ban> in_force(BanScope scope, std::uint64_t target, std::int64_t now_ms);
  // Replaces everything (at start, from the store).
  void load(const std::vector<Ban>& bans);

 private:
  struct Key {
    BanScope scope;
    std::uint64_t target;
    Uid uid;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      return std::hash<std::uint64_t>()(k.target * 0x9E3779B97F4A7C15ull ^ k.uid) ^
             static_cast<std::size_t>(k.scope);
    }
  };
  std::mutex mu_;
  std::unordered_map<Key, std::int64_t, KeyHash> until_;  // key -> until_ms
};

}  // namespace rtm
