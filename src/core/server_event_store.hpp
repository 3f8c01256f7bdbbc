// ServerEventStore: the server event stream kept across a restart on one node (the local
// ServerEventLog is a ring in memory; ServerEventService writes what it appended here every
// 100 ms and at shutdown, and gives it back at start). Events are the JSON object text after
// their id, as the log keeps them.
//
// Guarantees (besides those of every Store method, core/store.hpp):
//  - save_server_events() is one transaction, durable when it returns: the events, the
//    cursor, and the trim to the newest `keep` events go in together or not at all. Saving
//    an id that is stored already keeps the first body.
//  - load_server_events() answers the newest `keep` events stored, oldest first, the newest
//    id ever saved (0: none) and the cursor saved last (0: none).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace rtm {

struct StoredServerEvents {
  std::vector<std::pair<std::uint64_t, std::string>> events;  // (id, body), oldest first
  std::uint64_t last_id = 0;
  std::uint64_t cursor = 0;
};

class ServerEventStore {
 public:
  virtual ~ServerEventStore() = default;

  virtual Status save_server_events(
      const std::vector<std::pair<std::uint64_t, std::string>>& events, std::uint64_t cursor,
      std::size_t keep) = 0;
  virtual Result<StoredServerEvents> load_server_events(std::size_t keep) = 0;
};

}  // namespace rtm
