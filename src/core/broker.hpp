// Broker: carries live deliveries and node-to-node commands between the nodes of a cluster
// (centrifuge's Broker and its control channel). `local` (broker/local) is the one-node
// engine: it hands everything straight back to this node. A broker between processes
// (Redis) sends only what some node has said it wants.
//
// Guarantees every engine gives:
//  - Interest: after subscribe(t) returns, every publication to t made afterwards reaches
//    this node's handler at most once, while the broker is reachable, until unsubscribe(t).
//    A node may also receive publications it did not ask for (the local broker has one node
//    and delivers everything); the node drops what it has no session for.
//  - Order: publications to one target from one thread reach each node in the order they
//    were published.
//  - publish() and publish_control() never block on the network: they queue and return.
//    `done` gets the outcome once, on any thread (Unavailable when the broker cannot be
//    reached or is closed). A publication that could not be sent is not retried: live
//    delivery is lost, never the message, which is durable before it is published.
//  - subscribe() and unsubscribe() only queue the change and take no lock but the engine's
//    own leaf locks: the node calls them under its own shard and login locks, so that the
//    changes of one target reach the broker in the order they were made.
//  - Control messages reach the node they name, or every node (this one included) when they
//    name none, at most once each.
// The core never includes a driver header; engines live in src/broker/<engine>/.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/delivery.hpp"
#include "core/event_body.hpp"
#include "core/result.hpp"

namespace rtm {

// One publication: what to deliver (a JSON event body, serialized once) and to whom
// (core/delivery.hpp; a broker between processes sends target.text()).
struct Publication {
  Target target;
  EventBody payload;  // an event body without its per-session id (core/event_body.hpp)
  // A stored message's place in the store's stream (core/message_store.hpp); 0 for events
  // that are not stored (presence, room entered/left).
  std::uint64_t position = 0;
};

// A command from one node to others: end a session that lives there, drop a cache entry.
struct ControlMessage {
  std::string to_node;  // a node id; empty: every node
  std::string kind;     // what to do, e.g. "end_session", "invalidate"
  std::string payload;  // its argument, as the kind defines it
};

class Broker {
 public:
  using Handler = std::function<void(const Publication&)>;
  using ControlHandler = std::function<void(const ControlMessage&)>;
  using Done = std::function<void(Status)>;
  virtual ~Broker() = default;

  // This node's id among the broker's nodes (the `to_node` of control messages for it).
  virtual const std::string& node_id() const = 0;
  // The functions that receive this node's publications and control messages. Set once,
  // before the first subscribe or publish.
  virtual void set_handler(Handler handler) = 0;
  virtual void set_control_handler(ControlHandler handler) = 0;
  // This node's first local interest in target came (subscribe) or its last one went.
  virtual void subscribe(const Target& target) = 0;
  virtual void unsubscribe(const Target& target) = 0;
  // Hands a publication to every node interested in its target (this one included).
  virtual void publish(Publication publication, Done done) = 0;
  virtual void publish_control(ControlMessage message, Done done) = 0;
  // Sends what is queued, then refuses more (their `done` gets Unavailable).
  virtual void close() = 0;
};

}  // namespace rtm
