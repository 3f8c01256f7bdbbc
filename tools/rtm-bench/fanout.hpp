// rtm-bench fanout: N WebSocket subscribers (sessions attached on /v1/ws, subscribed to one
// group) and a publisher sending to the group through the server API, at a fixed rate or as
// fast as answered. Reports deliveries/s, publish-to-delivery latency, rtmd's CPU seconds per
// million deliveries and its RSS per connected socket (both read from /proc, since the load
// generator shares the machine).
#pragma once

#include <cstdint>

#include "bench_common.hpp"

namespace rtm::bench {

struct FanoutOptions : CommonOptions {
  int subscribers = 1000;
  int users = 0;                     // users the sessions belong to; 0: one per 50 sessions
  double rate = 50;                  // publishes/s in all; 0: as fast as answered
  int publishers = 4;                // publish connections (closed loop when rate is 0)
  double duration = 10;              // seconds of publishing
  int msg_size = 100;                // bytes of msg per publish
  int connect_parallel = 128;        // subscribers connecting at once
  std::uint64_t uid_base = 600'000;  // users uid_base.. are reused (created on first use)
  long rtmd_pid = 0;                 // 0: the process listening on --url's port
};

int run_fanout(const FanoutOptions& o);

}  // namespace rtm::bench
