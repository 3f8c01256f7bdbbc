// LocalBroker: the one-node Broker. A publication goes straight to this node's handler on
// the publishing thread, so delivery order is publish order and nothing is ever lost.
#pragma once

#include "core/broker.hpp"

namespace rtm {

class LocalBroker final : public Broker {
 public:
  void set_handler(Handler handler) override { handler_ = std::move(handler); }
  Status publish(const Publication& publication) override {
    if (handler_) handler_(publication);
    return ok_status();
  }
  void close() override {}

 private:
  Handler handler_;
};

}  // namespace rtm
