// Server API: moderation (docs/semantics.md "Moderation"): bans from a group or a room and
// project-wide blocks, each with an optional duration, their removal and their lists. Bans and
// their removal write the store (Exec::Blocking); the lists are read from memory (Inline).
#include "api/method_table.hpp"

namespace rtm::api {

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

// Blocking: the ban is written to the store, then applied (a block ends the user's sessions).
template <BanScope scope>
Result<Reply> ban(Call& c) {
  std::uint64_t target = target_of(c, scope);
  Uid uid = c.params.id("uid");
  auto duration = c.params.optional_integer("duration", 1, kMaxDurationS);
  RTM_TRY(auto outcome, c.node().moderation().ban(scope, target, uid, duration));
  Reply r;
  r.fields["until"] = until_json(outcome.until_ms);
  if (scope == BanScope::Project) r.fields["sessions"] = outcome.sessions_ended;
  return r;
}

// Blocking: the ban is removed from the store.
template <BanScope scope>
Result<Reply> unban(Call& c) {
  std::uint64_t target = target_of(c, scope);
  Uid uid = c.params.id("uid");
  Reply r;
  RTM_TRY(r.fields["removed"], c.node().moderation().unban(scope, target, uid));
  return r;
}

// Inline: the bans in force are the node's in-memory copy.
template <BanScope scope>
Result<Reply> list_bans(Call& c) {
  std::uint64_t target = target_of(c, scope);
  Reply r;
  r.fields["bans"] = bans_json(c.node().moderation().bans(scope, target));
  return r;
}

}  // namespace

void add_moderation_methods(std::vector<MethodSpec>& t) {
  using M = MethodSpec;
  constexpr Scope S = Scope::Server;
  t.push_back(M::blocking("group.ban", S, ban<BanScope::Group>));
  t.push_back(M::blocking("group.unban", S, unban<BanScope::Group>));
  t.push_back(M::inline_call("group.bans", S, list_bans<BanScope::Group>));
  t.push_back(M::blocking("room.ban", S, ban<BanScope::Room>));
  t.push_back(M::blocking("room.unban", S, unban<BanScope::Room>));
  t.push_back(M::inline_call("room.bans", S, list_bans<BanScope::Room>));
  t.push_back(M::blocking("user.block", S, ban<BanScope::Project>));
  t.push_back(M::blocking("user.unblock", S, unban<BanScope::Project>));
  t.push_back(M::inline_call("user.blocked", S, list_bans<BanScope::Project>));
}

}  // namespace rtm::api
