// Server API: users, tokens, kickout, groups and rooms (API.md section 4, server methods).
// Every one reaches the store (and user.add / user.set_password run argon2id): all are
// Exec::Blocking, so none stalls an event loop and the calls queued on it.
#include "api/method_table.hpp"

namespace rtm::api {

namespace {

boost::json::array id_array(const std::vector<std::uint64_t>& ids) {
  boost::json::array a;
  for (auto id : ids) a.push_back(id);
  return a;
}

Result<Reply> user_add(Call& c) {
  std::string login = c.params.string("login");
  std::string password = c.params.string("password");
  Uid uid = c.params.optional_id("uid").value_or(0);
  Reply r;
  RTM_TRY(r.fields["uid"], c.node().directory().add_user(login, password, uid));
  return r;
}

Result<Reply> user_set_password(Call& c) {
  Uid uid = c.params.id("uid");
  std::string password = c.params.string("password");
  RTM_CHECK(c.node().directory().set_password(uid, password));
  return Reply{};
}

Result<Reply> user_delete(Call& c) {
  RTM_CHECK(c.node().directory().delete_user(c.params.id("uid")));
  return Reply{};
}

Result<Reply> user_token(Call& c) {
  Uid uid = c.params.id("uid");
  auto ttl = c.params.integer("ttl", 3600, 1, 31'536'000);
  Reply r;
  RTM_TRY(r.fields["token"], c.node().directory().user_token(uid, ttl));
  return r;
}

Result<Reply> user_kickout(Call& c) {
  Reply r;
  RTM_TRY(r.fields["sessions"], c.node().sessions().kickout(c.params.id("uid")));
  return r;
}

Result<Reply> user_groups(Call& c) {
  RTM_TRY(auto gids, c.node().directory().user_groups(c.params.id("uid")));
  Reply r;
  r.fields["gids"] = id_array(gids);
  return r;
}

Result<Reply> group_add_members(Call& c) {
  Gid gid = c.params.id("gid");
  auto uids = c.params.id_list("uids", 10000);
  RTM_CHECK(c.node().directory().add_group_members(gid, uids));
  return Reply{};
}

Result<Reply> group_del_members(Call& c) {
  Gid gid = c.params.id("gid");
  auto uids = c.params.id_list("uids", 10000);
  RTM_CHECK(c.node().directory().del_group_members(gid, uids));
  return Reply{};
}

Result<Reply> group_members(Call& c) {
  RTM_TRY(auto uids, c.node().directory().group_members(c.params.id("gid")));
  Reply r;
  r.fields["uids"] = id_array(uids);
  return r;
}

Result<Reply> group_delete(Call& c) {
  RTM_CHECK(c.node().directory().delete_group(c.params.id("gid")));
  return Reply{};
}

Result<Reply> room_add_member(Call& c) {
  Rid rid = c.params.id("rid");
  Uid uid = c.params.id("uid");
  RTM_CHECK(c.node().directory().add_room_member(rid, uid));
  return Reply{};
}

Result<Reply> room_del_member(Call& c) {
  Rid rid = c.params.id("rid");
  Uid uid = c.params.id("uid");
  RTM_CHECK(c.node().directory().del_room_member(rid, uid));
  return Reply{};
}

Result<Reply> room_members(Call& c) {
  RTM_TRY(auto uids, c.node().directory().room_members(c.params.id("rid")));
  Reply r;
  r.fields["uids"] = id_array(uids);
  return r;
}

}  // namespace

void add_admin_methods(std::vector<MethodSpec>& t) {
  t.push_back(MethodSpec::hashing("user.add", Scope::Server, user_add));
  t.push_back(MethodSpec::hashing("user.set_password", Scope::Server, user_set_password));
  t.push_back(MethodSpec::blocking("user.delete", Scope::Server, user_delete));
  t.push_back(MethodSpec::blocking("user.token", Scope::Server, user_token));
  t.push_back(MethodSpec::blocking("user.kickout", Scope::Server, user_kickout));
  t.push_back(MethodSpec::blocking("user.groups", Scope::Server, user_groups));
  t.push_back(MethodSpec::blocking("group.add_members", Scope::Server, group_add_members));
  t.push_back(MethodSpec::blocking("group.del_members", Scope::Server, group_del_members));
  t.push_back(MethodSpec::blocking("group.members", Scope::Server, group_members));
  t.push_back(MethodSpec::blocking("group.delete", Scope::Server, group_delete));
  t.push_back(MethodSpec::blocking("room.add_member", Scope::Server, room_add_member));
  t.push_back(MethodSpec::blocking("room.del_member", Scope::Server, room_del_member));
  t.push_back(MethodSpec::blocking("room.members", Scope::Server, room_members));
}

}  // namespace rtm::api
