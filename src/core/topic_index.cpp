// See topic_index.hpp.
#include "core/topic_index.hpp"

#include <algorithm>

namespace rtm {

TopicIndex::Shard& TopicIndex::shard(const std::string& topic) const {
  return shards_[std::hash<std::string>{}(topic) % kShards];
}

void TopicIndex::add(const std::string& topic, std::shared_ptr<Session> session) {
  auto& s = shard(topic);
  std::lock_guard lock(s.mu);
  auto& list = s.topics[topic];
  if (std::none_of(list.begin(), list.end(), [&](auto& x) { return x == session; }))
    list.push_back(std::move(session));
}

bool TopicIndex::remove(const std::string& topic, const Session* session) {
  auto& s = shard(topic);
  std::lock_guard lock(s.mu);
  auto it = s.topics.find(topic);
  if (it == s.topics.end()) return false;
  auto n = std::erase_if(it->second, [&](auto& x) { return x.get() == session; });
  if (it->second.empty()) s.topics.erase(it);
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
