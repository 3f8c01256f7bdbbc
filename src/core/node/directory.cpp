// Directory: users, tokens, groups and rooms of the server API (directory.hpp).
#include "core/node/directory.hpp"

#include <boost/json/object.hpp>

#include "core/event_body.hpp"
#include "core/password.hpp"

namespace rtm {

Directory::Directory(const NodeConfig& config, Store& store, Publisher& publisher,
                     AccessPolicy& access, SessionService& sessions, const TokenSigner& signer)
    : config_(config),
      store_(store),
      publisher_(publisher),
      access_(access),
      sessions_(sessions),
      signer_(signer) {}

Result<Uid> Directory::add_user(const std::string& login, const std::string& password, Uid uid) {
  if (login.empty() || login.size() > 128)
    return make_error(Rc::InvalidParameter, "login must be 1 to 128 bytes");
  if (password.empty() || password.size() > 1024)
    return make_error(Rc::InvalidParameter, "password must be 1 to 1024 bytes");
  auto hash = hash_password(password, config_.password_policy);
  if (!hash) return hash.error();
  auto added = store_.add_user(login, *hash, uid);
  if (!added) return added.error();
  access_.remember_user(*added);
  return *added;
}

Status Directory::set_password(Uid uid, const std::string& password) {
  if (password.empty() || password.size() > 1024)
    return make_error(Rc::InvalidParameter, "password must be 1 to 1024 bytes");
  auto hash = hash_password(password, config_.password_policy);
  if (!hash) return hash.error();
  return store_.set_password(uid, *hash);
}

Status Directory::delete_user(Uid uid) {
  auto deleted = store_.delete_user(uid);
  if (!deleted) return deleted;
  access_.forget_user(uid);
  sessions_.end_user_sessions(uid, "kicked");
  return ok_status();
}

Result<std::string> Directory::user_token(Uid uid, std::int64_t ttl_s) {
  if (ttl_s < 1 || ttl_s > 31'536'000)
    return make_error(Rc::InvalidParameter, "ttl must be between 1 and 31536000 s");
  if (auto exists = access_.user_exists(uid); !exists) return exists.error();
  std::int64_t now = config_.now_ms() / 1000;
  boost::json::object claims;
  claims["typ"] = "user";
  claims["sub"] = std::to_string(uid);
  claims["uid"] = uid;
  claims["iat"] = now;
  claims["exp"] = now + ttl_s;
  return signer_.sign(claims);
}

Status Directory::add_group_members(Gid gid, const std::vector<Uid>& uids) {
  if (gid == 0) return make_error(Rc::InvalidParameter, "gid must be positive");
  for (Uid u : uids)
    if (auto exists = access_.user_exists(u); !exists) return exists;
  return store_.add_group_members(gid, uids);
}

Status Directory::del_group_members(Gid gid, const std::vector<Uid>& uids) {
  if (gid == 0) return make_error(Rc::InvalidParameter, "gid must be positive");
  auto removed = store_.del_group_members(gid, uids);
  if (!removed) return removed;
  std::string topic = "group:" + std::to_string(gid);
  for (Uid u : uids) sessions_.drop_user_topic(u, topic);
  return ok_status();
}

Status Directory::delete_group(Gid gid) {
  auto members = store_.group_members(gid);
  if (!members) return members.error();
  auto deleted = store_.delete_group(gid);
  if (!deleted) return deleted;
  std::string topic = "group:" + std::to_string(gid);
  for (Uid u : *members) sessions_.drop_user_topic(u, topic);
  return ok_status();
}

Result<std::vector<Gid>> Directory::user_groups(Uid uid) {
  if (auto exists = access_.user_exists(uid); !exists) return exists.error();
  return store_.user_groups(uid);
}

Status Directory::add_room_member(Rid rid, Uid uid) {
  if (rid == 0) return make_error(Rc::InvalidParameter, "rid must be positive");
  if (auto exists = access_.user_exists(uid); !exists) return exists;
  auto was = store_.is_room_member(rid, uid);
  if (!was) return was.error();
  if (!*was) {
    if (auto added = store_.add_room_member(rid, uid); !added) return added;
  }
  sessions_.follow_room(uid, rid);
  if (!*was)
    publisher_.publish(Target::of_topic("room:" + std::to_string(rid)),
                       room_event(rid, uid, "entered"));
  return ok_status();
}

Status Directory::del_room_member(Rid rid, Uid uid) {
  if (rid == 0) return make_error(Rc::InvalidParameter, "rid must be positive");
  auto was = store_.is_room_member(rid, uid);
  if (!was) return was.error();
  // The store first: when it cannot write, the user stays a member and keeps its sessions'
  // subscriptions, as if the call had not been made.
  if (*was) {
    if (auto removed = store_.del_room_member(rid, uid); !removed) return removed;
  }
  sessions_.unfollow_room(uid, rid);
  if (*was)
    publisher_.publish(Target::of_topic("room:" + std::to_string(rid)),
                       room_event(rid, uid, "left"));
  return ok_status();
}

}  // namespace rtm
