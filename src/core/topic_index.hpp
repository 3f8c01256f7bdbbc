// TopicIndex: which sessions are subscribed to a topic ("group:7", "room:3", "presence:42",
// "channel:news"). A standalone structure with its own tests, like nats-server's sublist.
// Sharded by topic; a shard's mutex is held only to copy pointers (docs/lock-order.md).
//
// Interest: the hook is told when a topic gets its first subscriber (true) and loses its last
// (false), as sublist's RegisterNotification, so that the node subscribes to the topic at the
// broker only while it holds sessions for it. It runs under the topic's shard lock, so the
// changes of one topic reach it in order; it may take only leaf locks.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/session.hpp"

namespace rtm {

class TopicIndex {
 public:
  using InterestHook = std::function<void(const std::string& topic, bool interested)>;
  explicit TopicIndex(InterestHook hook = nullptr) : hook_(std::move(hook)) {}

  // Returns true if the session was not subscribed yet.
  bool add(const std::string& topic, std::shared_ptr<Session> session);
  // Returns true if the session was subscribed.
  bool remove(const std::string& topic, const Session* session);
  std::vector<std::shared_ptr<Session>> subscribers(const std::string& topic) const;
  std::size_t topic_count() const;

 private:
  static constexpr std::size_t kShards = 32;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::vector<std::shared_ptr<Session>>> topics;
  };
  Shard& shard(const std::string& topic) const;
  mutable std::array<Shard, kShards> shards_;
  InterestHook hook_;
};

}  // namespace rtm
