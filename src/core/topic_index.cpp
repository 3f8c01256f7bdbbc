// See topic_index.hpp.
#include "core/topic_index.hpp"

#include <algorithm>

namespace rtm {

TopicIndex::Shard& TopicIndex::shard(const std::string& topic) const {
  return shards_[std::hash<std::string>{}(topic) % kShards];
}

bool TopicIndex::add(const std::string& topic, std::shared_ptr<Session> session) {
  auto& s = shard(topic);
  std::lock_guard lock(s.mu);
  auto& list = s.topics[topic];
  if (std::any_of(list.begin(), list.end(), [&](auto& x) { return x == session; })) return false;
  list.push_back(std::move(session));
  if (list.size() == 1 && hook_) hook_(topic, true);
  return true;
}

bool TopicIndex::remove(const std::string& topic, const Session* session) {
  auto& s = shard(topic);
  std::lock_guard lock(s.mu);
  auto it = s.topics.find(topic);
  if (it == s.topics.end()) return false;
  auto n = std::erase_if(it->second, [&](auto& x) { return x.get() == session; });
  if (it->second.empty()) {
    s.topics.erase(it);
    if (n > 0 && hook_) hook_(topic, false);
  }
  return n > 0;
}

std::vector<std::shared_ptr<Session>> TopicIndex::subscribers(const std::string& topic) const {
  auto& s = shard(topic);
  std::lock_guard lock(s.mu);
  auto it = s.topics.find(topic);
  return it == s.topics.end() ? std::vector<std::shared_ptr<Session>>{} : it->second;
}

std::size_t TopicIndex::topic_count() const {
  std::size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.topics.size();
  }
  return n;
}

}  // namespace rtm
