// Broker: carries deliveries between the nodes of a cluster (centrifuge's Broker model).
// `local` hands every publication straight back to this node; `redis` (later) publishes on
// Redis so that every node delivers to the sessions it holds.
//
// Guarantees every engine gives:
//  - every node subscribed receives each publication at most once;
//  - publications from one publisher thread arrive in the order they were published.
// The core never includes a driver header; engines live in src/broker/<engine>/.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/result.hpp"

namespace rtm {

// One publication: what to deliver (a JSON event body, serialized once) and to whom.
// The target is encoded by the engine (core/delivery.hpp); the broker treats it as opaque.
struct Publication {
  std::string target;                          // e.g. "u:42", "t:room:7", "all"
  std::shared_ptr<const std::string> payload;  // an event body without its per-session id
};

class Broker {
 public:
  using Handler = std::function<void(const Publication&)>;
  virtual ~Broker() = default;

  // Sets the function that receives every publication for this node. Called once, before
  // the first publish.
  virtual void set_handler(Handler handler) = 0;
  // Hands a publication to every node (this one included). Unavailable if the broker cannot
  // be reached.
  virtual Status publish(const Publication& publication) = 0;
  virtual void close() = 0;
};

}  // namespace rtm
