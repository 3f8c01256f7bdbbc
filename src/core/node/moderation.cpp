// Moderation: bans and blocks, stored then applied (moderation.hpp).
#include "core/node/moderation.hpp"

#include <string>

namespace rtm {

namespace {

constexpr std::int64_t kMaxBanSeconds = 10LL * 365 * 24 * 3600;

}  // namespace

Moderation::Moderation(const NodeConfig& config, Store& store, BanList& bans, AccessPolicy& access,
                       SessionService& sessions, Directory& directory)
    : config_(config),
      store_(store),
      bans_(bans),
      access_(access),
      sessions_(sessions),
      directory_(directory) {}

Status Moderation::load() {
  auto stored = store_.bans();
  if (!stored) return stored.error();
  bans_.load(*stored);
  return ok_status();
}

Result<BanOutcome> Moderation::ban(BanScope scope, std::uint64_t target, Uid uid,
                                   std::optional<std::int64_t> duration_s) {
  if (scope != BanScope::Project && target == 0)
    return make_error(Rc::InvalidParameter, "gid / rid must be positive");
  if (duration_s && (*duration_s < 1 || *duration_s > kMaxBanSeconds))
    return make_error(Rc::InvalidParameter,
                      "duration must be 1 to " + std::to_string(kMaxBanSeconds) + " seconds");
  if (auto exists = access_.user_exists(uid); !exists) return exists.error();
  std::int64_t now = config_.now_ms();
  Ban ban{scope, scope == BanScope::Project ? 0 : target, uid,
          duration_s ? now + *duration_s * 1000 : Ban::kForever};
  // What was in force before, for a room ban whose second write fails (below).
  std::optional<std::int64_t> previous = bans_.until(scope, ban.target, uid, now);
  // Stored before it takes effect: a ban that answered ok survives a restart.
  if (auto stored = store_.put_ban(ban); !stored) return stored.error();
  bans_.put(ban);

  BanOutcome outcome;
  outcome.until_ms = ban.until_ms;
  switch (scope) {
    case BanScope::Group: sessions_.drop_user_topic(uid, "group:" + std::to_string(target)); break;
    case BanScope::Room:
      if (auto left = directory_.del_room_member(target, uid); !left) {
        // The answer is an error, so the call must change nothing: the ban goes back to what
        // was in force before (the member stays, del_room_member wrote nothing). Should the
        // store refuse this too, the ban stays stored and a retry completes the call.
        if (previous) {
          Ban old = ban;
          old.until_ms = *previous;
          if (store_.put_ban(old)) bans_.put(old);
        } else if (store_.delete_ban(scope, ban.target, uid)) {
          bans_.remove(scope, ban.target, uid, config_.now_ms());
        }
        return left.error();
      }
      break;
    case BanScope::Project:
      // As kickout: a login racing with the block either sees the ban (and is refused) or
      // binds first and is ended here (SessionService::end_user_sessions, under login_mu_).
      outcome.sessions_ended = sessions_.end_user_sessions(uid, "kicked");
      break;
  }
  return outcome;
}

Result<bool> Moderation::unban(BanScope scope, std::uint64_t target, Uid uid) {
  if (scope == BanScope::Project) target = 0;
  if (auto removed = store_.delete_ban(scope, target, uid); !removed) return removed.error();
  return bans_.remove(scope, target, uid, config_.now_ms());
}

std::vector<Ban> Moderation::bans(BanScope scope, std::uint64_t target) {
  return bans_.in_force(scope, scope == BanScope::Project ? 0 : target, config_.now_ms());
}

}  // namespace rtm
