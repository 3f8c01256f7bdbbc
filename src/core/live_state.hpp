// LiveState: the engines of the state that lives outside the Store and changes on every
// call, handed to the Node by its caller (app/engines.cpp picks them, the way it picks the
// Store and the Broker): the server event stream (core/server_event_log.hpp) and the
// channels (core/channel_queues.hpp). `local` engines (core/local_*.hpp) keep them in this
// process; an engine shared by many nodes (Redis) makes them cluster-wide. The caller owns
// the engines and keeps them alive as long as the Node.
#pragma once

#include "core/channel_queues.hpp"
#include "core/server_event_log.hpp"

namespace rtm {

struct LiveState {
  ServerEventLog& server_events;
  ChannelQueues& channels;
};

}  // namespace rtm
