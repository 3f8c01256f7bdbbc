// LiveState: the engines of the state that lives outside the Store and changes on every
// call, handed to the Node by its caller (app/engines.cpp picks them, the way it picks the
// Store and the Broker): the server event stream (core/server_event_log.hpp), the channels
// (core/channel_queues.hpp), and the factories of the session directory (the login decision
// and presence, core/session_directory.hpp), the login throttle (core/login_attempts.hpp)
// and the rate limiters (core/rate_limiter.hpp), which the services make with their own
// settings. `local` engines keep them in this process; an engine shared by many nodes
// (Redis) makes them cluster-wide. The caller owns the engines and keeps them alive as long
// as the Node.
#pragma once

#include "core/channel_queues.hpp"
#include "core/local_session_directory.hpp"
#include "core/login_throttle.hpp"
#include "core/server_event_log.hpp"
#include "core/token_buckets.hpp"

namespace rtm {

struct LiveState {
  ServerEventLog& server_events;
  ChannelQueues& channels;
  SessionDirectoryFactory session_directory = local_session_directory();
  LoginAttemptsFactory login_attempts = local_login_attempts();
  RateLimiterFactory rate_limiters = local_rate_limiters();
};

}  // namespace rtm
