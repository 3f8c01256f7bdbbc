// SessionRegistry: finds sessions by id and the live sessions of a user.
// Sharded by session id so that lookups on the path of every call do not share one lock.
//
// Locking: a shard's mutex or the user index's mutex is held only while copying pointers in
// or out; Session::mu_ is never taken under them (docs/lock-order.md).
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/session.hpp"

namespace rtm {

class SessionRegistry {
 public:
  void add(std::shared_ptr<Session> session);
  std::shared_ptr<Session> find(const std::string& id) const;
  void remove(const std::string& id);
  std::size_t size() const;
  // Every session (live or ended), copied out: for sweeps and shutdown.
  std::vector<std::shared_ptr<Session>> all() const;

  // User index: live authorized sessions per uid.
  // Returns true if this was the user's first session on this node. (Whether a user is
  // online in the cluster is the SessionDirectory's to say.)
  bool bind_user(Uid uid, std::shared_ptr<Session> session);
  // Returns true if this was the user's last session on this node.
  bool unbind_user(Uid uid, const Session* session);
  std::vector<std::shared_ptr<Session>> user_sessions(Uid uid) const;
  // The users with a live session on this node (broadcast delivery).
  std::vector<Uid> online_users() const;

 private:
  static constexpr std::size_t kShards = 32;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::shared_ptr<Session>> sessions;
  };
  Shard& shard(const std::string& id) const;

  mutable std::array<Shard, kShards> shards_;
  mutable std::mutex users_mu_;
  std::unordered_map<Uid, std::vector<std::shared_ptr<Session>>> users_;
};

}  // namespace rtm
