// See ban_list.hpp.
#include "core/ban_list.hpp"

#include <algorithm>

namespace rtm {

void BanList::put(const Ban& ban) {
  std::lock_guard lock(mu_);
  until_[Key{ban.scope, ban.target, ban.uid}] = ban.until_ms;
}

bool BanList::remove(BanScope scope, std::uint64_t target, Uid uid, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = until_.find(Key{scope, target, uid});
  if (it == until_.end()) return false;
  bool in_force = it->second > now_ms;
  until_.erase(it);
  return in_force;
}

std::optional<std::int64_t> BanList::until(BanScope scope, std::uint64_t target, Uid uid,
                                           std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = until_.find(Key{scope, target, uid});
  if (it == until_.end()) return std::nullopt;
  if (it->second <= now_ms) {
    until_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

std::vector<Ban> BanList::in_force(BanScope scope, std::uint64_t target, std::int64_t now_ms) {
  std::vector<Ban> out;
  std::lock_guard lock(mu_);
  for (const auto& [key, until] : until_)
    if (key.scope == scope && key.target == target && until > now_ms)
      out.push_back(Ban{scope, target, key.uid, until});
  std::sort(out.begin(), out.end(), [](const Ban& a, const Ban& b) { return a.uid < b.uid; });
  return out;
}

void BanList::load(const std::vector<Ban>& bans) {
  std::lock_guard lock(mu_);
  until_.clear();
  for (const auto& b : bans) until_[Key{b.scope, b.target, b.uid}] = b.until_ms;
}

}  // namespace rtm
