// Directory: the server API's users, user tokens, groups and rooms (API.md section 4,
// server). The store holds them; the directory checks the calls, keeps the access policy's
// known users in step, and has the sessions follow a change (a deleted user's sessions end,
// a member removed from a group loses its subscription, a user added to a room has its
// sessions follow the room).
//
// Thread-safe; every method reads or writes the store. add_user and set_password run
// argon2id (blocking pool).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/broker.hpp"
#include "core/node/access_policy.hpp"
#include "core/node/node_config.hpp"
#include "core/node/publisher.hpp"
#include "core/node/session_service.hpp"
#include "core/node/token_signer.hpp"
#include "core/result.hpp"
#include "core/store.hpp"

namespace rtm {

class Directory {
 public:
  Directory(const NodeConfig& config, Store& store, Publisher& publisher, AccessPolicy& access,
            SessionService& sessions, const TokenSigner& signer);

  Result<Uid> add_user(const std::string& login, const std::string& password, Uid uid);  // blocking
  Status set_password(Uid uid, const std::string& password);                             // blocking
  // Removes the user and its memberships; its sessions end ("kicked").
  Status delete_user(Uid uid);
  // A user token (HS256 JWT: typ "user", uid, iat, exp) valid for ttl_s seconds.
  Result<std::string> user_token(Uid uid, std::int64_t ttl_s);

  Status add_group_members(Gid gid, const std::vector<Uid>& uids);
  Status del_group_members(Gid gid, const std::vector<Uid>& uids);
  Result<std::vector<Uid>> group_members(Gid gid) { return store_.group_members(gid); }
  Status delete_group(Gid gid);
  Result<std::vector<Gid>> user_groups(Uid uid);

  Status add_room_member(Rid rid, Uid uid);
  Status del_room_member(Rid rid, Uid uid);
  Result<std::vector<Uid>> room_members(Rid rid) { return store_.room_members(rid); }

 private:
  const NodeConfig& config_;
  Store& store_;
  Publisher& publisher_;
  AccessPolicy& access_;
  SessionService& sessions_;
  const TokenSigner& signer_;
};

}  // namespace rtm
