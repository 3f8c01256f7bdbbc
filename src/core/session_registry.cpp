// See session_registry.hpp.
#include "core/session_registry.hpp"

#include <algorithm>

namespace rtm {

SessionRegistry::Shard& SessionRegistry::shard(const std::string& id) const {
  return shards_[std::hash<std::string>{}(id) % kShards];
}

void SessionRegistry::add(std::shared_ptr<Session> session) {
  auto& s = shard(session->id());
  std::lock_guard lock(s.mu);
  s.sessions.emplace(session->id(), std::move(session));
}

std::shared_ptr<Session> SessionRegistry::find(const std::string& id) const {
  auto& s = shard(id);
  std::lock_guard lock(s.mu);
  auto it = s.sessions.find(id);
  return it == s.sessions.end() ? nullptr : it->second;
}

void SessionRegistry::remove(const std::string& id) {
  auto& s = shard(id);
  std::lock_guard lock(s.mu);
  s.sessions.erase(id);
}

std::size_t SessionRegistry::size() const {
  std::size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.sessions.size();
  }
  return n;
}

std::vector<std::shared_ptr<Session>> SessionRegistry::all() const {
  std::vector<std::shared_ptr<Session>> out;
  for (auto& s : shards_) {
    std::lock_guard lock(s.mu);
    for (auto& [id, session] : s.sessions) out.push_back(session);
  }
  return out;
}

bool SessionRegistry::bind_user(Uid uid, std::shared_ptr<Session> session) {
  std::lock_guard lock(users_mu_);
  auto& list = users_[uid];
  list.push_back(std::move(session));
  return list.size() == 1;
}

bool SessionRegistry::unbind_user(Uid uid, const Session* session) {
  std::lock_guard lock(users_mu_);
  auto it = users_.find(uid);
  if (it == users_.end()) return false;
  auto& list = it->second;
  auto before = list.size();
  std::erase_if(list, [&](const auto& s) { return s.get() == session; });
  if (list.size() == before) return false;
  if (list.empty()) {
    users_.erase(it);
    return true;
  }
  return false;
}

std::vector<std::shared_ptr<Session>> SessionRegistry::user_sessions(Uid uid) const {
  std::lock_guard lock(users_mu_);
  auto it = users_.find(uid);
  return it == users_.end() ? std::vector<std::shared_ptr<Session>>{} : it->second;
}

std::vector<Uid> SessionRegistry::online_users() const {
  std::lock_guard lock(users_mu_);
  std::vector<Uid> out;
  out.reserve(users_.size());
  for (auto& [uid, list] : users_) out.push_back(uid);
  return out;
}

}  // namespace rtm
