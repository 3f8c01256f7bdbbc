// Engine: the server API's users, tokens, groups and rooms (API.md section 4, server).
#include <boost/json/object.hpp>

#include "core/engine.hpp"
#include "core/event_body.hpp"
#include "core/jwt.hpp"

namespace rtm {

Result<Uid> Engine::add_user(const std::string& login, const std::string& password, Uid uid) {
  if (login.empty() || login.size() > 128)
    return make_error(Rc::InvalidParameter, "login must be 1 to 128 bytes");
  if (password.empty() || password.size() > 1024)
    return make_error(Rc::InvalidParameter, "password must be 1 to 1024 bytes");
  auto hash = hash_password(password, config_.password_policy);
  if (!hash) return hash.error();
  auto added = store_.add_user(login, *hash, uid);
  if (!added) return added.error();
  std::lock_guard lock(known_users_mu_);
  known_users_.insert(*added);
  return *added;
}

Status Engine::set_password(Uid uid, const std::string& password) {
  if (password.empty() || password.size() > 1024)
    return make_error(Rc::InvalidParameter, "password must be 1 to 1024 bytes");
  auto hash = hash_password(password, config_.password_policy);
  if (!hash) return hash.error();
  return store_.set_password(uid, *hash);
}

Status Engine::delete_user(Uid uid) {
  auto deleted = store_.delete_user(uid);
  if (!deleted) return deleted;
  {
    std::lock_guard lock(known_users_mu_);
    known_users_.erase(uid);
  }
  std::lock_guard lock(login_mu_);
  for (auto& s : sessions_.user_sessions(uid)) end_session(s, "kicked");
  return ok_status();
}

Result<std::string> Engine::user_token(Uid uid, std::int64_t ttl_s) {
  if (ttl_s < 1 || ttl_s > 31'536'000)
    return make_error(Rc::InvalidParameter, "ttl must be between 1 and 31536000 s");
  if (auto exists = user_must_exist(uid); !exists) return exists.error();
  std::int64_t now = now_ms() / 1000;
  boost::json::object claims;
  claims["typ"] = "user";
  claims["sub"] = std::to_string(uid);
  claims["uid"] = uid;
  claims["iat"] = now;
  claims["exp"] = now + ttl_s;
  return jwt_sign(claims, token_secret_);
}

Result<int> Engine::kickout(Uid uid) {
  if (auto exists = user_must_exist(uid); !exists) return exists.error();
  int n = 0;
  std::lock_guard lock(login_mu_);
  for (auto& s : sessions_.user_sessions(uid)) {
    end_session(s, "kicked");
    ++n;
  }
  return n;
}

Status Engine::add_group_members(Gid gid, const std::vector<Uid>& uids) {
  if (gid == 0) return make_error(Rc::InvalidParameter, "gid must be positive");
  for (Uid u : uids)
    if (auto exists = user_must_exist(u); !exists) return exists;
  return store_.add_group_members(gid, uids);
}

Status Engine::del_group_members(Gid gid, const std::vector<Uid>& uids) {
  if (gid == 0) return make_error(Rc::InvalidParameter, "gid must be positive");
  auto removed = store_.del_group_members(gid, uids);
  if (!removed) return removed;
  std::string topic = "group:" + std::to_string(gid);
  for (Uid u : uids)
    for (auto& s : sessions_.user_sessions(u)) drop_topic(s, topic);
  return ok_status();
}

Result<std::vector<Uid>> Engine::group_members(Gid gid) { return store_.group_members(gid); }

Status Engine::delete_group(Gid gid) {
  auto members = store_.group_members(gid);
  if (!members) return members.error();
  auto deleted = store_.delete_group(gid);
  if (!deleted) return deleted;
  std::string topic = "group:" + std::to_string(gid);
  for (Uid u : *members)
    for (auto& s : sessions_.user_sessions(u)) drop_topic(s, topic);
  return ok_status();
}

Result<std::vector<Gid>> Engine::user_groups(Uid uid) {
  if (auto exists = user_must_exist(uid); !exists) return exists.error();
  return store_.user_groups(uid);
}

Status Engine::add_room_member(Rid rid, Uid uid) {
  if (rid == 0) return make_error(Rc::InvalidParameter, "rid must be positive");
  if (auto exists = user_must_exist(uid); !exists) return exists;
  auto was = store_.is_room_member(rid, uid);
  if (!was) return was.error();
  if (!*was) {
    if (auto added = store_.add_room_member(rid, uid); !added) return added;
  }
  std::string topic = "room:" + std::to_string(rid);
  for (auto& s : sessions_.user_sessions(uid)) {
    bool created = false;
    s->subscribe(topic, created);
    if (created) topics_.add(topic, s);
  }
  if (!*was) publish("t:" + topic, room_event(rid, uid, "entered"));
  return ok_status();
}

Status Engine::del_room_member(Rid rid, Uid uid) {
  if (rid == 0) return make_error(Rc::InvalidParameter, "rid must be positive");
  auto was = store_.is_room_member(rid, uid);
  if (!was) return was.error();
  // The store first: when it cannot write, the user stays a member and keeps its sessions'
  // subscriptions, as if the call had not been made.
  if (*was) {
    if (auto removed = store_.del_room_member(rid, uid); !removed) return removed;
  }
  std::string topic = "room:" + std::to_string(rid);
  for (auto& s : sessions_.user_sessions(uid)) {
    s->unsubscribe_topic(topic);
    topics_.remove(topic, s.get());
  }
  if (*was) publish("t:" + topic, room_event(rid, uid, "left"));
  return ok_status();
}

Result<std::vector<Uid>> Engine::room_members(Rid rid) { return store_.room_members(rid); }

}  // namespace rtm
