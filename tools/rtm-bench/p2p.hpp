// rtm-bench p2p: N senders each send client message.send to receiver (i % M), one request in
// flight per keep-alive connection (closed loop, or paced to --rate); M receivers long-poll
// session.get_events and measure send-to-delivery latency from the send time in `attrs`.
#pragma once

#include <cstddef>
#include <cstdint>

#include "bench_common.hpp"

namespace rtm::bench {

struct P2POptions : CommonOptions {
  int senders = 64;
  int receivers = 64;
  double duration = 10;  // s of sending
  double rate = 0;       // total sends/s; 0 = as fast as the server answers
  std::size_t msg_size = 100;
  std::uint64_t uid_base = 0;  // 0: fresh users; else reuse uids uid_base..
};

// Runs the scenario and prints the summary; returns the exit code.
int run_p2p(const P2POptions& o);

}  // namespace rtm::bench
