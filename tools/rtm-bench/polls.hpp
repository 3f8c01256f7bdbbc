// rtm-bench polls: N sessions each park one session.get_events long poll on its own
// keep-alive connection; measures what the waiting polls cost rtmd (RSS, from /proc) and
// checks that a sample of them is answered by a server message.send.
#pragma once

#include <cstddef>
#include <cstdint>

#include "bench_common.hpp"

namespace rtm::bench {

struct PollsOptions : CommonOptions {
  int polls = 10000;           // sessions, one waiting poll and one connection each
  int users = 0;               // distinct users the sessions belong to; 0: one per session
  int timeout = 60;            // get_events timeout, s (the API's maximum)
  int sample = 100;            // users that get one message.send at the end
  int connect_parallel = 256;  // sessions being opened at once (keeps the accept queue short)
  std::uint64_t uid_base = 0;  // 0: fresh users; else reuse uids uid_base..
  long rtmd_pid = 0;           // 0: find the process listening on --url's port
};

// Runs the scenario and prints the summary; returns the exit code.
int run_polls(const PollsOptions& o);

}  // namespace rtm::bench
