// LocalSessionDirectory: the login decision and presence of one node
// (local_session_directory.hpp).
#include "core/local_session_directory.hpp"

#include <algorithm>
#include <memory>

namespace rtm {

std::optional<LoginMode> parse_login_mode(std::string_view text) {
  if (text == "kill") return LoginMode::Kill;
  if (text == "refuse") return LoginMode::Refuse;
  if (text == "possess") return LoginMode::Possess;
  if (text == "auth") return LoginMode::Auth;
  if (text == "multi") return LoginMode::Multi;
  return std::nullopt;
}

SessionDirectoryFactory local_session_directory() {
  return [](LastActive last_active) {
    return std::make_unique<LocalSessionDirectory>(std::move(last_active));
  };
}

LoginDecision LocalSessionDirectory::claim(Uid uid, const std::string& session, LoginMode mode,
                                           std::size_t max_sessions) {
  LoginDecision d;
  std::lock_guard lock(mu_);
  auto& list = users_[uid];
  switch (mode) {
    case LoginMode::Refuse:
      if (!list.empty()) d.outcome = LoginDecision::Outcome::Exists;
      break;
    case LoginMode::Possess:
      if (!list.empty()) {
        d.outcome = LoginDecision::Outcome::Possess;
        std::int64_t newest = -1;
        for (const auto& s : list) {
          std::int64_t t = last_active_(s);
          if (t > newest) {
            newest = t;
            d.possessed = s;
          }
        }
      }
      break;
    case LoginMode::Multi:
      if (list.size() >= max_sessions) {
        d.outcome = LoginDecision::Outcome::TooMany;
        d.count = list.size();
      }
      break;
    case LoginMode::Kill: d.others = list; break;
    case LoginMode::Auth: break;
  }
  if (d.outcome != LoginDecision::Outcome::Bound) {
    if (list.empty()) users_.erase(uid);
    return d;
  }
  if (std::find(list.begin(), list.end(), session) == list.end()) {
    d.first = list.empty();
    list.push_back(session);
  }
  std::erase(d.others, session);
  return d;
}

bool LocalSessionDirectory::release(Uid uid, const std::string& session) {
  std::lock_guard lock(mu_);
  auto it = users_.find(uid);
  if (it == users_.end()) return false;
  if (std::erase(it->second, session) == 0) return false;
  if (!it->second.empty()) return false;
  users_.erase(it);
  return true;
}

std::vector<std::string> LocalSessionDirectory::sessions_of(Uid uid) const {
  std::lock_guard lock(mu_);
  auto it = users_.find(uid);
  return it == users_.end() ? std::vector<std::string>{} : it->second;
}

bool LocalSessionDirectory::online(Uid uid) const {
  std::lock_guard lock(mu_);
  return users_.count(uid) > 0;
}

std::size_t LocalSessionDirectory::online_count() const {
  std::lock_guard lock(mu_);
  return users_.size();
}

}  // namespace rtm
