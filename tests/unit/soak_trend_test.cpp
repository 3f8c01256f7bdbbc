// tools/rtm-bench/soak_trend: the flatness verdict of rtm-bench soak on made-up series of
// rtmd samples: a warm-up then a plateau with noise is flat, a steady leak is not, a run too
// short is not judged, descriptors that climb are caught on their own.
#include "soak_trend.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace rtm::bench {
namespace {

// `minutes` of samples every 5 s: RSS from rss(t_s), descriptors from fds(t_s).
template <class Rss, class Fds>
std::vector<SoakSample> series(double minutes, Rss rss, Fds fds) {
  std::vector<SoakSample> v;
  for (double t = 0; t <= minutes * 60 + 1e-9; t += 5)
    v.push_back({t, static_cast<long>(rss(t)), static_cast<long>(fds(t))});
  return v;
}

// A deterministic wobble of +-amplitude, so the tests do not depend on a random seed.
double wobble(double t, double amplitude) {
  return amplitude * std::sin(t * 0.7) * std::cos(t * 0.13);
}

TEST(SoakTrendTest, WarmupThenPlateauWithNoiseIsFlat) {
  // 14 MiB rising to 24 MiB over the first two minutes, then flat with +-300 KiB of noise.
  auto v = series(
      20, [](double t) { return 14336 + 10240 * std::min(1.0, t / 120) + wobble(t, 300); },
      [](double t) { return 350 + std::lround(wobble(t, 3)); });
  SoakTrend r = judge_trend(v, TrendLimits{});
  ASSERT_TRUE(r.judged) << r.not_judged_why;
  EXPECT_TRUE(r.rss_flat) << r.rss_slope_kib_per_min << " KiB/min";
  EXPECT_TRUE(r.fds_flat);
  EXPECT_TRUE(r.flat());
  EXPECT_NEAR(r.rss_slope_kib_per_min, 0, 20);
  EXPECT_EQ(r.rss_start_kib, 14336);
  EXPECT_GE(r.rss_max_kib, 24576);
}

TEST(SoakTrendTest, SteadyLeakOfOneHundredFiftyKibPerMinuteIsGrowing) {
  auto v = series(
      20, [](double t) { return 20480 + 150 * t / 60 + wobble(t, 200); },
      [](double) { return 350; });
  SoakTrend r = judge_trend(v, TrendLimits{});
  ASSERT_TRUE(r.judged);
  EXPECT_FALSE(r.rss_flat);
  EXPECT_TRUE(r.fds_flat);
  EXPECT_FALSE(r.flat());
  EXPECT_NEAR(r.rss_slope_kib_per_min, 150, 5);
  // End (median of the last 10 %) minus middle (median of 45-55 %): about 9 minutes of leak.
  EXPECT_NEAR(r.rss_end_minus_middle_kib, 150 * 9.5, 150);
}

TEST(SoakTrendTest, ALeakBelowTheSlopeLimitStillFailsOnEndMinusMiddle) {
  // A step of 4 MiB in the second half: the slope over 15 minutes stays under a loose limit,
  // the end-minus-middle difference does not.
  auto v = series(
      20, [](double t) { return t > 900 ? 24576 : 20480; }, [](double) { return 350; });
  TrendLimits loose;
  loose.max_rss_slope_kib_per_min = 1000;
  SoakTrend r = judge_trend(v, loose);
  ASSERT_TRUE(r.judged);
  EXPECT_LE(r.rss_slope_kib_per_min, 1000);
  EXPECT_NEAR(r.rss_end_minus_middle_kib, 4096, 1);
  EXPECT_FALSE(r.rss_flat);
}

TEST(SoakTrendTest, DescriptorsThatClimbOneAMinuteAreNotFlat) {
  auto v = series(
      20, [](double) { return 20480; }, [](double t) { return 350 + std::floor(t / 30); });
  SoakTrend r = judge_trend(v, TrendLimits{});
  ASSERT_TRUE(r.judged);
  EXPECT_TRUE(r.rss_flat);
  EXPECT_FALSE(r.fds_flat);
  EXPECT_NEAR(r.fd_slope_per_min, 2, 0.1);
  EXPECT_EQ(r.fd_max, 390);
}

TEST(SoakTrendTest, ARunShorterThanAMinuteIsNotJudged) {
  auto v = series(
      0.5, [](double t) { return 20480 + 1000 * t; }, [](double) { return 350; });
  SoakTrend r = judge_trend(v, TrendLimits{});
  EXPECT_FALSE(r.judged);
  EXPECT_FALSE(r.flat());
  EXPECT_NE(r.not_judged_why.find("30 s"), std::string::npos) << r.not_judged_why;
}

TEST(SoakTrendTest, NoSamplesIsNotJudged) {
  SoakTrend r = judge_trend({}, TrendLimits{});
  EXPECT_FALSE(r.judged);
  EXPECT_EQ(r.not_judged_why, "no samples");
}

TEST(SoakTrendTest, TransientSpikesDoNotMoveTheSlope) {
  // A flat 20 MiB with five samples that caught a 19 MiB argon2id hash, three of them in the
  // last minutes: a least-squares fit would call this growth, the median of pair slopes not.
  auto v = series(
      20,
      [](double t) {
        for (double spike : {400.0, 700.0, 1050.0, 1120.0, 1180.0})
          if (std::abs(t - spike) < 1) return 20480.0 + 19456;
        return 20480.0;
      },
      [](double) { return 350; });
  SoakTrend r = judge_trend(v, TrendLimits{});
  ASSERT_TRUE(r.judged);
  EXPECT_DOUBLE_EQ(r.rss_slope_kib_per_min, 0);
  EXPECT_DOUBLE_EQ(r.rss_end_minus_middle_kib, 0);
  EXPECT_TRUE(r.flat());
  EXPECT_EQ(r.rss_max_kib, 20480 + 19456);
}

TEST(SoakTrendTest, SlopeIsInKibPerMinute) {
  std::vector<SoakSample> v{{0, 1000, 1}, {60, 1100, 1}, {120, 1200, 1}, {180, 1300, 1}};
  EXPECT_DOUBLE_EQ(rss_slope_kib_per_min(v, 0), 100);
  EXPECT_DOUBLE_EQ(rss_slope_kib_per_min(v, 100), 100);
  EXPECT_DOUBLE_EQ(rss_slope_kib_per_min(v, 170), 0);  // one sample: no slope
  EXPECT_DOUBLE_EQ(median_rss_kib(v, 50, 130), 1150);
  EXPECT_DOUBLE_EQ(median_rss_kib(v, 500, 600), -1);
}

}  // namespace
}  // namespace rtm::bench
