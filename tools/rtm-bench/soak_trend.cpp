// See soak_trend.hpp.
#include "soak_trend.hpp"

#include <algorithm>
#include <cstdio>

namespace rtm::bench {

namespace {

template <class Value>
double median_of(const std::vector<SoakSample>& s, double from_s, double to_s, Value value) {
  std::vector<double> v;
  for (const auto& x : s)
    if (x.t_s >= from_s && x.t_s <= to_s) v.push_back(static_cast<double>(value(x)));
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Theil-Sen: the median of the slopes between every pair of samples. Unlike a least-squares
// fit it is not moved by a few transient spikes (an argon2id password check takes 19 MiB for a
// few tens of milliseconds, and a sample may land on one).
template <class Value>
double slope_per_min(const std::vector<SoakSample>& s, double from_s, Value value) {
  std::vector<const SoakSample*> in;
  for (const auto& x : s)
    if (x.t_s >= from_s) in.push_back(&x);
  // Pairs grow with the square of the samples: a very long run is thinned evenly first.
  constexpr std::size_t kMaxSamples = 1500;
  if (in.size() > kMaxSamples) {
    std::vector<const SoakSample*> thin;
    for (std::size_t i = 0; i < kMaxSamples; ++i) thin.push_back(in[i * in.size() / kMaxSamples]);
    in.swap(thin);
  }
  std::vector<double> slopes;
  slopes.reserve(in.size() * (in.size() > 0 ? in.size() - 1 : 0) / 2);
  for (std::size_t i = 0; i < in.size(); ++i)
    for (std::size_t j = i + 1; j < in.size(); ++j) {
      const double dt = in[j]->t_s - in[i]->t_s;
      if (dt > 0)
        slopes.push_back((static_cast<double>(value(*in[j])) - static_cast<double>(value(*in[i]))) /
                         dt);
    }
  if (slopes.empty()) return 0;
  const std::size_t mid = slopes.size() / 2;
  std::nth_element(slopes.begin(), slopes.begin() + static_cast<std::ptrdiff_t>(mid), slopes.end());
  double m = slopes[mid];
  if (slopes.size() % 2 == 0) {
    const double below =
        *std::max_element(slopes.begin(), slopes.begin() + static_cast<std::ptrdiff_t>(mid));
    m = (m + below) / 2;
  }
  return m * 60.0;
}

long rss_of(const SoakSample& x) { return x.rss_kib; }
long fds_of(const SoakSample& x) { return x.fds; }

}  // namespace

double median_rss_kib(const std::vector<SoakSample>& s, double from_s, double to_s) {
  return median_of(s, from_s, to_s, rss_of);
}

double median_fds(const std::vector<SoakSample>& s, double from_s, double to_s) {
  return median_of(s, from_s, to_s, fds_of);
}

double rss_slope_kib_per_min(const std::vector<SoakSample>& s, double from_s) {
  return slope_per_min(s, from_s, rss_of);
}

double fd_slope_per_min(const std::vector<SoakSample>& s, double from_s) {
  return slope_per_min(s, from_s, fds_of);
}

SoakTrend judge_trend(const std::vector<SoakSample>& samples, const TrendLimits& limits) {
  SoakTrend t;
  if (samples.empty()) {
    t.not_judged_why = "no samples";
    return t;
  }
  const double t0 = samples.front().t_s;
  const double span = samples.back().t_s - t0;
  t.rss_start_kib = samples.front().rss_kib;
  t.fd_start = samples.front().fds;
  for (const auto& x : samples) {
    t.rss_max_kib = std::max(t.rss_max_kib, x.rss_kib);
    t.fd_max = std::max(t.fd_max, x.fds);
  }
  // The windows are inclusive, so a short run still finds its nearest samples.
  t.rss_middle_kib = median_rss_kib(samples, t0 + 0.45 * span, t0 + 0.55 * span);
  t.fd_middle = median_fds(samples, t0 + 0.45 * span, t0 + 0.55 * span);
  t.rss_end_kib = median_rss_kib(samples, t0 + 0.90 * span, t0 + span);
  t.fd_end = median_fds(samples, t0 + 0.90 * span, t0 + span);
  const double judged_from = t0 + limits.warmup_fraction * span;
  t.rss_slope_kib_per_min = rss_slope_kib_per_min(samples, judged_from);
  t.fd_slope_per_min = fd_slope_per_min(samples, judged_from);
  if (t.rss_middle_kib >= 0 && t.rss_end_kib >= 0)
    t.rss_end_minus_middle_kib = t.rss_end_kib - t.rss_middle_kib;
  if (t.fd_middle >= 0 && t.fd_end >= 0) t.fd_end_minus_middle = t.fd_end - t.fd_middle;

  std::size_t judged_samples = 0;
  for (const auto& x : samples)
    if (x.t_s >= judged_from) ++judged_samples;
  char why[160] = "";
  if (span < limits.min_span_s)
    std::snprintf(why, sizeof why, "a run of %.0f s, %.0f s needed", span, limits.min_span_s);
  else if (judged_samples < limits.min_judged_samples || t.rss_middle_kib < 0 || t.rss_end_kib < 0)
    std::snprintf(why, sizeof why, "%zu samples after the first %.0f %% of the run, %zu needed",
                  judged_samples, limits.warmup_fraction * 100, limits.min_judged_samples);
  if (why[0]) {
    t.not_judged_why = why;
    return t;
  }
  t.judged = true;
  t.rss_flat = t.rss_slope_kib_per_min <= limits.max_rss_slope_kib_per_min &&
               t.rss_end_minus_middle_kib <= limits.max_rss_growth_kib;
  t.fds_flat = t.fd_slope_per_min <= limits.max_fd_slope_per_min &&
               t.fd_end_minus_middle <= limits.max_fd_growth;
  return t;
}

}  // namespace rtm::bench
