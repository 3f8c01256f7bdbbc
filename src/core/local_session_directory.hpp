// LocalSessionDirectory: the one-node SessionDirectory (core/session_directory.hpp): a map
// uid -> the user's sessions under one mutex, so a claim or release is one step. How recently
// a session was active is asked of `last_active` (the node's sessions know it; the directory
// keeps no copy that every call would have to refresh).
//
// Locking: mu_ is a leaf lock except for the `last_active` calls a Possess claim makes under
// it, which may take only leaf locks (SessionRegistry's shard and Session::mu_).
#pragma once

#include <functional>
#include <mutex>
#include <unordered_map>

#include "core/session_directory.hpp"

namespace rtm {

class LocalSessionDirectory final : public SessionDirectory {
 public:
  explicit LocalSessionDirectory(LastActive last_active) : last_active_(std::move(last_active)) {}

  LoginDecision claim(Uid uid, const std::string& session, LoginMode mode,
                      std::size_t max_sessions) override;
  bool release(Uid uid, const std::string& session) override;
  std::vector<std::string> sessions_of(Uid uid) const override;
  bool online(Uid uid) const override;
  std::size_t online_count() const override;

 private:
  LastActive last_active_;
  mutable std::mutex mu_;
  std::unordered_map<Uid, std::vector<std::string>> users_;
};

}  // namespace rtm
