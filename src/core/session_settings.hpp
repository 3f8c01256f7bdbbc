// SessionSettings: what a client sets with session.set (API.md section 3), kept by the
// Session and, for an authorized one, by the SessionStore across a restart.
#pragma once

#include <optional>

namespace rtm {

struct SessionSettings {
  int max_events = 100;    // 1..1000
  int queue_limit = 1000;  // 10..100000
  bool presence = true;
  int idle_timeout = 120;  // 10..86400 s
};

// A change of settings: every field is optional, only what is given changes.
struct SettingsPatch {
  std::optional<int> max_events;
  std::optional<int> queue_limit;
  std::optional<bool> presence;
  std::optional<int> idle_timeout;
};

}  // namespace rtm
