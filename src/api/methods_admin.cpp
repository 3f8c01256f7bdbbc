// Server API: users, tokens, kickout, groups and rooms (API.md section 4, server methods).
#include "api/async_bridge.hpp"
#include "api/method_table.hpp"

namespace rtm::api {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

boost::json::array id_array(const std::vector<std::uint64_t>& ids) {
  boost::json::array a;
  for (auto id : ids) a.push_back(id);
  return a;
}

awaitable<Reply> user_add(Call& c) {
  std::string login = c.params.string("login");
  std::string password = c.params.string("password");
  Uid uid = c.params.optional_id("uid").value_or(0);
  Engine& engine = c.engine();
  auto work = [&engine, login, password, uid] { return engine.add_user(login, password, uid); };
  auto added = co_await run_blocking(c.services.blocking, std::move(work));
  Reply r;
  r.fields["uid"] = unwrap(std::move(*added));
  co_return r;
}

awaitable<Reply> user_set_password(Call& c) {
  Uid uid = c.params.id("uid");
  std::string password = c.params.string("password");
  Engine& engine = c.engine();
  auto work = [&engine, uid, password] { return engine.set_password(uid, password); };
  auto done = co_await run_blocking(c.services.blocking, std::move(work));
  unwrap(std::move(*done));
  co_return Reply{};
}

awaitable<Reply> user_delete(Call& c) {
  unwrap(c.engine().delete_user(c.params.id("uid")));
  co_return Reply{};
}

awaitable<Reply> user_token(Call& c) {
  Uid uid = c.params.id("uid");
  auto ttl = c.params.integer("ttl", 3600, 1, 31'536'000);
  Reply r;
  r.fields["token"] = unwrap(c.engine().user_token(uid, ttl));
  co_return r;
}

awaitable<Reply> user_kickout(Call& c) {
  Reply r;
  r.fields["sessions"] = unwrap(c.engine().kickout(c.params.id("uid")));
  co_return r;
}

awaitable<Reply> user_groups(Call& c) {
  Reply r;
  r.fields["gids"] = id_array(unwrap(c.engine().user_groups(c.params.id("uid"))));
  co_return r;
}

awaitable<Reply> group_add_members(Call& c) {
  unwrap(c.engine().add_group_members(c.params.id("gid"), c.params.id_list("uids", 10000)));
  co_return Reply{};
}

awaitable<Reply> group_del_members(Call& c) {
  unwrap(c.engine().del_group_members(c.params.id("gid"), c.params.id_list("uids", 10000)));
  co_return Reply{};
}

awaitable<Reply> group_members(Call& c) {
  Reply r;
  r.fields["uids"] = id_array(unwrap(c.engine().group_members(c.params.id("gid"))));
  co_return r;
}

awaitable<Reply> group_delete(Call& c) {
  unwrap(c.engine().delete_group(c.params.id("gid")));
  co_return Reply{};
}

awaitable<Reply> room_add_member(Call& c) {
  unwrap(c.engine().add_room_member(c.params.id("rid"), c.params.id("uid")));
  co_return Reply{};
}

awaitable<Reply> room_del_member(Call& c) {
  unwrap(c.engine().del_room_member(c.params.id("rid"), c.params.id("uid")));
  co_return Reply{};
}

awaitable<Reply> room_members(Call& c) {
  Reply r;
  r.fields["uids"] = id_array(unwrap(c.engine().room_members(c.params.id("rid"))));
  co_return r;
}

}  // namespace

void add_admin_methods(std::vector<MethodSpec>& t) {
  t.push_back({"user.add", Scope::Server, user_add});
  t.push_back({"user.set_password", Scope::Server, user_set_password});
  t.push_back({"user.delete", Scope::Server, user_delete});
  t.push_back({"user.token", Scope::Server, user_token});
  t.push_back({"user.kickout", Scope::Server, user_kickout});
  t.push_back({"user.groups", Scope::Server, user_groups});
  t.push_back({"group.add_members", Scope::Server, group_add_members});
  t.push_back({"group.del_members", Scope::Server, group_del_members});
  t.push_back({"group.members", Scope::Server, group_members});
  t.push_back({"group.delete", Scope::Server, group_delete});
  t.push_back({"room.add_member", Scope::Server, room_add_member});
  t.push_back({"room.del_member", Scope::Server, room_del_member});
  t.push_back({"room.members", Scope::Server, room_members});
}

}  // namespace rtm::api
