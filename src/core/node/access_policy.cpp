// AccessPolicy: who may act in a group or a room, and whether a user exists
// (access_policy.hpp).
#include "core/node/access_policy.hpp"

#include <string>

namespace rtm {

namespace {

const char* scope_noun(BanScope scope) {
  switch (scope) {
    case BanScope::Group: return "this group";
    case BanScope::Room: return "this room";
    case BanScope::Project: return "this project";
  }
  return "here";
}

}  // namespace

Status AccessPolicy::not_banned(BanScope scope, std::uint64_t target, Uid uid) {
  auto until = bans_.until(scope, target, uid, config_.now_ms());
  if (!until) return ok_status();
  std::string msg = scope == BanScope::Project ? "the user is blocked"
                                               : std::string("banned from ") + scope_noun(scope);
  if (*until != Ban::kForever) msg += " until " + std::to_string(*until) + " (Unix ms)";
  return make_error(Rc::PermissionDenied, msg);
}

Status AccessPolicy::check(Act act, Place place, Uid uid) {
  if (place.kind == Place::Kind::Group) {
    auto member = store_.is_group_member(place.id, uid);
    if (!member) return member.error();
    if (!*member) return make_error(Rc::PermissionDenied, "not a member of this group");
    return not_banned(BanScope::Group, place.id, uid);
  }
  if (act != Act::Subscribe) {
    auto member = store_.is_room_member(place.id, uid);
    if (!member) return member.error();
    if (!*member) return make_error(Rc::PermissionDenied, "not in this room");
  }
  return not_banned(BanScope::Room, place.id, uid);
}

Status AccessPolicy::user_exists(Uid uid) {
  {
    std::lock_guard lock(known_mu_);
    if (known_users_.count(uid)) return ok_status();
  }
  auto user = store_.find_user(uid);
  if (!user) {
    if (user.error().rc == Rc::NotFound)
      return make_error(Rc::NotFound, "no user with uid " + std::to_string(uid));
    return user.error();
  }
  remember_user(uid);
  return ok_status();
}

bool AccessPolicy::known_user(Uid uid) {
  std::lock_guard lock(known_mu_);
  return known_users_.count(uid) != 0;
}

void AccessPolicy::remember_user(Uid uid) {
  std::lock_guard lock(known_mu_);
  known_users_.insert(uid);
}

void AccessPolicy::forget_user(Uid uid) {
  std::lock_guard lock(known_mu_);
  known_users_.erase(uid);
}

}  // namespace rtm
