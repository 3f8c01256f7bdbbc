// LocalBroker: the one-node Broker. A publication or control message goes straight to this
// node's handler on the publishing thread, so delivery order is publish order and nothing is
// lost while it is open. Interest changes the nothing it has to route.
#pragma once

#include <atomic>
#include <string>

#include "core/broker.hpp"

namespace rtm {

class LocalBroker final : public Broker {
 public:
  explicit LocalBroker(std::string node_id = "local") : node_id_(std::move(node_id)) {}

  const std::string& node_id() const override { return node_id_; }
  void set_handler(Handler handler) override { handler_ = std::move(handler); }
  void set_control_handler(ControlHandler handler) override { control_ = std::move(handler); }
  void subscribe(const Target&) override {}
  void unsubscribe(const Target&) override {}
  void publish(Publication publication, Done done) override {
    if (closed_) {
      if (done) done(make_error(Rc::Unavailable, "the broker is closed"));
      return;
    }
    if (handler_) handler_(publication);
    if (done) done(ok_status());
  }
  void publish_control(ControlMessage message, Done done) override {
    if (closed_) {
      if (done) done(make_error(Rc::Unavailable, "the broker is closed"));
      return;
    }
    if (control_ && (message.to_node.empty() || message.to_node == node_id_)) control_(message);
    if (done) done(ok_status());
  }
  void close() override { closed_ = true; }

 private:
  std::string node_id_;
  Handler handler_;
  ControlHandler control_;
  std::atomic<bool> closed_{false};
};

}  // namespace rtm
