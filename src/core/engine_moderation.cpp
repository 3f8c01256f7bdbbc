// Engine: moderation (bans from a group or a room, project-wide blocks). The rules are in
// docs/semantics.md "Moderation"; the checks themselves sit where the acts are decided
// (validate_send, subscribe, history, authorize) and ask must_not_be_banned().
#include <string>

#include "core/engine.hpp"

namespace rtm {

namespace {

constexpr std::int64_t kMaxBanSeconds = 10LL * 365 * 24 * 3600;

const char* scope_noun(BanScope scope) {
  switch (scope) {
    case BanScope::Group: return "this group";
    case BanScope::Room: return "this room";
    case BanScope::Project: return "this project";
  }
  return "here";
}

}  // namespace

Status Engine::must_not_be_banned(BanScope scope, std::uint64_t target, Uid uid) {
  auto until = bans_.until(scope, target, uid, now_ms());
  if (!until) return ok_status();
  std::string msg = scope == BanScope::Project ? "the user is blocked"
                                               : std::string("banned from ") + scope_noun(scope);
  if (*until != Ban::kForever) msg += " until " + std::to_string(*until) + " (Unix ms)";
  return make_error(Rc::PermissionDenied, msg);
}

Result<BanOutcome> Engine::ban(BanScope scope, std::uint64_t target, Uid uid,
                               std::optional<std::int64_t> duration_s) {
  if (scope != BanScope::Project && target == 0)
    return make_error(Rc::InvalidParameter, "gid / rid must be positive");
  if (duration_s && (*duration_s < 1 || *duration_s > kMaxBanSeconds))
    return make_error(Rc::InvalidParameter,
                      "duration must be 1 to " + std::to_string(kMaxBanSeconds) + " seconds");
  if (auto exists = user_must_exist(uid); !exists) return exists.error();
  Ban ban{scope, scope == BanScope::Project ? 0 : target, uid,
          duration_s ? now_ms() + *duration_s * 1000 : Ban::kForever};
  // What was in force before, for a room ban whose second write fails (below).
  std::optional<std::int64_t> previous = bans_.until(scope, ban.target, uid, now_ms());
  // Stored before it takes effect: a ban that answered ok survives a restart.
  if (auto stored = store_.put_ban(ban); !stored) return stored.error();
  bans_.put(ban);

  BanOutcome outcome;
  outcome.until_ms = ban.until_ms;
  switch (scope) {
    case BanScope::Group: {
      std::string topic = "group:" + std::to_string(target);
      for (auto& s : sessions_.user_sessions(uid)) drop_topic(s, topic);
      break;
    }
    case BanScope::Room: {
      if (auto left = del_room_member(target, uid); !left) {
        // The answer is an error, so the call must change nothing: the ban goes back to what
        // was in force before (the member stays, del_room_member wrote nothing). Should the
        // store refuse this too, the ban stays stored and a retry completes the call.
        if (previous) {
          Ban old = ban;
          old.until_ms = *previous;
          if (store_.put_ban(old)) bans_.put(old);
        } else if (store_.delete_ban(scope, ban.target, uid)) {
          bans_.remove(scope, ban.target, uid, now_ms());
        }
        return left.error();
      }
      break;
    }
    case BanScope::Project: {
      // Under login_mu_, as kickout: a login racing with the block either sees the ban (and
      // is refused) or binds first and is ended here.
      std::lock_guard lock(login_mu_);
      for (auto& s : sessions_.user_sessions(uid)) {
        end_session(s, "kicked");
        ++outcome.sessions_ended;
      }
      break;
    }
  }
  return outcome;
}

Result<bool> Engine::unban(BanScope scope, std::uint64_t target, Uid uid) {
  if (scope == BanScope::Project) target = 0;
  if (auto removed = store_.delete_ban(scope, target, uid); !removed) return removed.error();
  return bans_.remove(scope, target, uid, now_ms());
}

std::vector<Ban> Engine::bans(BanScope scope, std::uint64_t target) {
  return bans_.in_force(scope, scope == BanScope::Project ? 0 : target, now_ms());
}

}  // namespace rtm
