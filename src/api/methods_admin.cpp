// Server API: users, tokens, kickout, groups and rooms (API.md section 4, server methods).
// Every handler that reaches the store runs its engine call on the blocking pool: SQLite
// reads and writes (and argon2id) must not stall an event loop and the calls queued on it.
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
  Node& node = c.node();
  auto work = [&node, login, password, uid] {
    return node.directory().add_user(login, password, uid);
  };
  auto added = co_await run_blocking(c.services.blocking, std::move(work));
  Reply r;
  r.fields["uid"] = unwrap(std::move(*added));
  co_return r;
}

awaitable<Reply> user_set_password(Call& c) {
  Uid uid = c.params.id("uid");
  std::string password = c.params.string("password");
  Node& node = c.node();
  auto work = [&node, uid, password] { return node.directory().set_password(uid, password); };
  auto done = co_await run_blocking(c.services.blocking, std::move(work));
  unwrap(std::move(*done));
  co_return Reply{};
}

awaitable<Reply> user_delete(Call& c) {
  Uid uid = c.params.id("uid");
  Node& node = c.node();
  auto work = [&node, uid] { return node.directory().delete_user(uid); };
  auto done = co_await run_blocking(c.services.blocking, std::move(work));
  unwrap(std::move(*done));
  co_return Reply{};
}

awaitable<Reply> user_token(Call& c) {
  Uid uid = c.params.id("uid");
  auto ttl = c.params.integer("ttl", 3600, 1, 31'536'000);
  Node& node = c.node();
  auto work = [&node, uid, ttl] { return node.directory().user_token(uid, ttl); };
  auto token = co_await run_blocking(c.services.blocking, std::move(work));
  Reply r;
  r.fields["token"] = unwrap(std::move(*token));
  co_return r;
}

awaitable<Reply> user_kickout(Call& c) {
  Uid uid = c.params.id("uid");
  Node& node = c.node();
  auto work = [&node, uid] { return node.sessions().kickout(uid); };
  auto ended = co_await run_blocking(c.services.blocking, std::move(work));
  Reply r;
  r.fields["sessions"] = unwrap(std::move(*ended));
  co_return r;
}

awaitable<Reply> user_groups(Call& c) {
  Uid uid = c.params.id("uid");
  Node& node = c.node();
  auto work = [&node, uid] { return node.directory().user_groups(uid); };
  auto gids = co_await run_blocking(c.services.blocking, std::move(work));
  Reply r;
  r.fields["gids"] = id_array(unwrap(std::move(*gids)));
  co_return r;
}

awaitable<Reply> group_add_members(Call& c) {
  Gid gid = c.params.id("gid");
  auto uids = c.params.id_list("uids", 10000);
  Node& node = c.node();
  auto work = [&node, gid, uids = std::move(uids)] {
    return node.directory().add_group_members(gid, uids);
  };
  auto done = co_await run_blocking(c.services.blocking, std::move(work));
  unwrap(std::move(*done));
  co_return Reply{};
}

awaitable<Reply> group_del_members(Call& c) {
  Gid gid = c.params.id("gid");
  auto uids = c.params.id_list("uids", 10000);
  Node& node = c.node();
  auto work = [&node, gid, uids = std::move(uids)] {
    return node.directory().del_group_members(gid, uids);
  };
  auto done = co_await run_blocking(c.services.blocking, std::move(work));
  unwrap(std::move(*done));
  co_return Reply{};
}

awaitable<Reply> group_members(Call& c) {
  Gid gid = c.params.id("gid");
  Node& node = c.node();
  auto work = [&node, gid] { return node.directory().group_members(gid); };
  auto uids = co_await run_blocking(c.services.blocking, std::move(work));
  Reply r;
  r.fields["uids"] = id_array(unwrap(std::move(*uids)));
  co_return r;
}

awaitable<Reply> group_delete(Call& c) {
  Gid gid = c.params.id("gid");
  Node& node = c.node();
  auto work = [&node, gid] { return node.directory().delete_group(gid); };
  auto done = co_await run_blocking(c.services.blocking, std::move(work));
  unwrap(std::move(*done));
  co_return Reply{};
}

awaitable<Reply> room_add_member(Call& c) {
  Rid rid = c.params.id("rid");
  Uid uid = c.params.id("uid");
  Node& node = c.node();
  auto work = [&node, rid, uid] { return node.directory().add_room_member(rid, uid); };
  auto done = co_await run_blocking(c.services.blocking, std::move(work));
  unwrap(std::move(*done));
  co_return Reply{};
}

awaitable<Reply> room_del_member(Call& c) {
  Rid rid = c.params.id("rid");
  Uid uid = c.params.id("uid");
  Node& node = c.node();
  auto work = [&node, rid, uid] { return node.directory().del_room_member(rid, uid); };
  auto done = co_await run_blocking(c.services.blocking, std::move(work));
  unwrap(std::move(*done));
  co_return Reply{};
}

awaitable<Reply> room_members(Call& c) {
  Rid rid = c.params.id("rid");
  Node& node = c.node();
  auto work = [&node, rid] { return node.directory().room_members(rid); };
  auto uids = co_await run_blocking(c.services.blocking, std::move(work));
  Reply r;
  r.fields["uids"] = id_array(unwrap(std::move(*uids)));
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
