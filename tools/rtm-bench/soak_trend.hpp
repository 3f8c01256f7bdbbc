// The flatness verdict of rtm-bench soak: from rtmd's RSS and descriptor samples over the run,
// the figures that say whether memory and descriptors stayed flat (a robust linear slope over
// the last three quarters, the end against the middle) and the verdict against stated limits.
// Pure arithmetic on the samples, so the unit tests drive it with made-up series.
#pragma once

#include <string>
#include <vector>

namespace rtm::bench {

// One sample of rtmd, `t_s` seconds after the load started.
struct SoakSample {
  double t_s = 0;
  long rss_kib = 0;
  long fds = 0;
};

// What "flat" allows. The first `warmup_fraction` of the run is left out of the slope: caches
// (SQLite pages, the allocator's arenas, sessions' kept events) fill there by design.
struct TrendLimits {
  double max_rss_slope_kib_per_min = 100;  // Theil-Sen slope over the judged part
  double max_rss_growth_kib = 1024;  // end (median of the last 10 %) - middle (median 45-55 %)
  double max_fd_slope_per_min = 1;   // Theil-Sen slope of open descriptors
  double max_fd_growth = 16;         // end - middle for open descriptors
  double warmup_fraction = 0.25;
  std::size_t min_judged_samples = 8;  // fewer in the judged part: too short to judge
  double min_span_s = 60;              // a shorter run is not judged either
};

// Median of the samples' values whose t is in [from_s, to_s]; -1 when there is none.
double median_rss_kib(const std::vector<SoakSample>& s, double from_s, double to_s);
double median_fds(const std::vector<SoakSample>& s, double from_s, double to_s);

// Theil-Sen slope (the median of the slopes between every pair of samples) of RSS, in KiB per
// minute, and of descriptors, per minute, over the samples with t >= from_s; 0 with fewer than
// two such samples.
double rss_slope_kib_per_min(const std::vector<SoakSample>& s, double from_s);
double fd_slope_per_min(const std::vector<SoakSample>& s, double from_s);

struct SoakTrend {
  bool judged = false;
  std::string not_judged_why;  // when !judged
  long rss_start_kib = -1, rss_max_kib = -1, fd_start = -1, fd_max = -1;
  double rss_middle_kib = -1, rss_end_kib = -1, fd_middle = -1, fd_end = -1;
  double rss_slope_kib_per_min = 0, fd_slope_per_min = 0;
  double rss_end_minus_middle_kib = 0, fd_end_minus_middle = 0;
  bool rss_flat = false, fds_flat = false;
  bool flat() const { return judged && rss_flat && fds_flat; }
};

// The figures of a run (`samples` in time order) and its verdict against `limits`.
SoakTrend judge_trend(const std::vector<SoakSample>& samples, const TrendLimits& limits);

}  // namespace rtm::bench
