// MetaStore: server secrets and settings shared by all nodes, as text under a key (the token
// secret that signs user tokens is one, set once by whichever node comes first; the listen
// selection another, replaced by the backend).
//
// Guarantees (besides those of every Store method, core/store.hpp):
//  - get_or_init_meta() is atomic: two callers (two nodes starting together) initializing
//    one key agree on one value, and that value is kept until put_meta() replaces it.
//  - put_meta() is durable when it returns.
#pragma once

#include <string>

#include "core/result.hpp"

namespace rtm {

class MetaStore {
 public:
  virtual ~MetaStore() = default;

  // Returns the value under key; if there is none, stores `fallback` and returns it
  // (atomically: two nodes starting together agree on one value).
  virtual Result<std::string> get_or_init_meta(const std::string& key,
                                               const std::string& fallback) = 0;
  // Stores `value` under key, replacing what was there (a setting the backend changes).
  virtual Status put_meta(const std::string& key, const std::string& value) = 0;
};

}  // namespace rtm
