// rtm-bench soak: a bounded soak of rtmd. Starts its own rtmd (or uses the one at --url), runs
// the mixed load of soak_load.hpp at a steady moderate rate for --duration (20 minutes by
// default), samples rtmd's RSS and open descriptors every few seconds (progress on stderr, a
// CSV with --csv), and ends with a table: operations per kind, errors by kind, the delivery
// checks, RSS and descriptors at start/middle/end/max and the flatness verdict of
// soak_trend.hpp. Exit 0: every check passed and memory and descriptors stayed flat (or the
// run was too short to judge); 1: a check failed, an error was counted or rtmd died or did not
// exit 0 on SIGTERM; 3: correct but not flat; 2: it could not start.
#pragma once

#include <string>
#include <vector>

#include "bench_common.hpp"
#include "soak_load.hpp"
#include "soak_trend.hpp"

namespace rtm::bench {

struct SoakOptions : CommonOptions {
  double duration = 1200;      // s of load
  double sample_interval = 5;  // s between samples of rtmd
  std::string csv;             // where to write the samples ("" none)
  bool use_url = false;        // --url was given: soak that server instead of starting one
  std::string rtmd;            // rtmd to start ("" the one beside rtm-bench)
  std::vector<std::string> rtmd_args;
  bool keep_data = false;
  long rtmd_pid = 0;                // with --url: rtmd's pid (0: the process listening on its port)
  std::uint64_t max_errors = 1000;  // stop early past this many
  SoakPlan plan;
  TrendLimits limits;
};

int run_soak(const SoakOptions& o);

}  // namespace rtm::bench
