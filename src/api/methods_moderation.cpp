// Server API: moderation (docs/semantics.md "Moderation"): bans from a group or a room and
// project-wide blocks, each with an optional duration, their removal and their lists. Every
// handler runs its engine call on the blocking pool (the ban is written to the store).
#include "api/async_bridge.hpp"
#include "api/method_table.hpp"

namespace rtm::api {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

constexpr std::int64_t kMaxDurationS = 10LL * 365 * 24 * 3600;

// `until` is the end of a ban in Unix ms, or null for one that lasts until lifted.
boost::json::value until_json(std::int64_t until_ms) {
  if (until_ms == Ban::kForever) return nullptr;
  return until_ms;
}

boost::json::array bans_json(const std::vector<Ban>& bans) {
  boost::json::array a;
  for (const auto& b : bans) a.push_back({{"uid", b.uid}, {"until", until_json(b.until_ms)}});
  return a;
}

// The target of a call: gid for group.*, rid for room.*, none for user.*.
std::uint64_t target_of(Call& c, BanScope scope) {
  switch (scope) {
    case BanScope::Group: return c.params.id("gid");
    case BanScope::Room: return c.params.id("rid");
    case BanScope::Project: return 0;
  }
  return 0;
}

template <BanScope scope>
awaitable<Reply> ban(Call& c) {
  std::uint64_t target = target_of(c, scope);
  Uid uid = c.params.id("uid");
  auto duration = c.params.optional_integer("duration", 1, kMaxDurationS);
  Node& node = c.node();
  auto work = [&node, target, uid, duration] {
    return node.moderation().ban(scope, target, uid, duration);
  };
  auto done = co_await run_blocking(c.services.blocking, std::move(work));
  auto outcome = unwrap(std::move(*done));
  Reply r;
  r.fields["until"] = until_json(outcome.until_ms);
  if (scope == BanScope::Project) r.fields["sessions"] = outcome.sessions_ended;
  co_return r;
}

template <BanScope scope>
awaitable<Reply> unban(Call& c) {
  std::uint64_t target = target_of(c, scope);
  Uid uid = c.params.id("uid");
  Node& node = c.node();
  auto work = [&node, target, uid] { return node.moderation().unban(scope, target, uid); };
  auto done = co_await run_blocking(c.services.blocking, std::move(work));
  Reply r;
  r.fields["removed"] = unwrap(std::move(*done));
  co_return r;
}

template <BanScope scope>
awaitable<Reply> list_bans(Call& c) {
  std::uint64_t target = target_of(c, scope);
  Reply r;
  r.fields["bans"] = bans_json(c.node().moderation().bans(scope, target));
  co_return r;
}

}  // namespace

void add_moderation_methods(std::vector<MethodSpec>& t) {
  t.push_back({"group.ban", Scope::Server, ban<BanScope::Group>});
  t.push_back({"group.unban", Scope::Server, unban<BanScope::Group>});
  t.push_back({"group.bans", Scope::Server, list_bans<BanScope::Group>});
  t.push_back({"room.ban", Scope::Server, ban<BanScope::Room>});
  t.push_back({"room.unban", Scope::Server, unban<BanScope::Room>});
  t.push_back({"room.bans", Scope::Server, list_bans<BanScope::Room>});
  t.push_back({"user.block", Scope::Server, ban<BanScope::Project>});
  t.push_back({"user.unblock", Scope::Server, unban<BanScope::Project>});
  t.push_back({"user.blocked", Scope::Server, list_bans<BanScope::Project>});
}

}  // namespace rtm::api
