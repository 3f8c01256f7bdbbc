// SessionDirectory: which live authorized sessions each user has, cluster-wide, and the login
// decision of the modes made over them (API.md section 3, session.authorize), with the
// presence transitions that follow (the user's first session: online; the last gone:
// offline). SessionService (core/node/session_service.hpp) asks it at every login and every
// end of an authorized session; the sessions' own state (queues, cursors, subscriptions) is
// elsewhere. `LocalSessionDirectory` is the one-node engine; a Redis engine makes one
// decision for all the nodes (a Lua script over the user's set).
//
// Guarantees every engine gives (tests/unit/session_directory_contract_test.cpp):
//  - claim() and release() of one uid are atomic with respect to each other, on every node:
//    two logins racing in mode refuse bind one session and refuse the other; a login
//    racing with the end of the user's last session sees it live or gone, never half;
//  - Refuse: Exists when the user has a live session; Possess: answers the user's most
//    recently active session (and binds nothing) when there is one; Multi: TooMany when the
//    user has `max_sessions` (a Multi login is the only one that adds beside the others);
//    Kill binds and answers the others, which the caller ends after the bind, so the user
//    is never without a session in between (no offline/online flicker);
//  - `first` is true exactly when a claim took the user from no session to one, and
//    release() answers true exactly when it took the user to none: each online and offline
//    transition is told once, cluster-wide;
//  - releasing a session the directory does not hold changes nothing and answers false.
// Calls may block on the network for a remote engine: callers run off the event loops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/message.hpp"

namespace rtm {

enum class LoginMode { Kill, Refuse, Possess, Auth, Multi };
// Parses "kill" | "refuse" | "possess" | "auth" | "multi".
std::optional<LoginMode> parse_login_mode(std::string_view text);

struct LoginDecision {
  enum class Outcome {
    Bound,    // the session is now one of the user's
    Exists,   // Refuse: the user has a live session; nothing bound
    Possess,  // Possess: answer `possessed` instead; nothing bound
    TooMany,  // Multi: the user has `count` sessions, the most allowed; nothing bound
  } outcome = Outcome::Bound;
  bool first = false;               // Bound: the user came online with it
  std::vector<std::string> others;  // Bound in mode Kill: the sessions the caller must end
  std::string possessed;            // Possess: the user's most recently active session
  std::size_t count = 0;            // TooMany: how many the user has
};

class SessionDirectory {
 public:
  virtual ~SessionDirectory() = default;

  // Decides the login of `session` as uid in `mode` (never Auth: that binds nothing).
  virtual LoginDecision claim(Uid uid, const std::string& session, LoginMode mode,
                              std::size_t max_sessions) = 0;
  // `session` no longer counts for uid; true when it was the user's last (offline).
  virtual bool release(Uid uid, const std::string& session) = 0;
  // The user's live sessions, in the order they were bound.
  virtual std::vector<std::string> sessions_of(Uid uid) const = 0;
  virtual bool online(Uid uid) const = 0;
  virtual std::size_t online_count() const = 0;
};

// Unix ms of a session's last activity on this node (0 when it is not here), for the local
// engine's Possess; an engine that keeps its own (Redis) ignores it.
using LastActive = std::function<std::int64_t(const std::string& session)>;
using SessionDirectoryFactory = std::function<std::unique_ptr<SessionDirectory>(LastActive)>;
SessionDirectoryFactory local_session_directory();

}  // namespace rtm
