#include "enipool/ec2/latency.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "absl/time/time.h"
#include "enipool/ec2/ec2_api.h"

namespace {

using enipool::ec2::CallKind;
using enipool::ec2::LatencyDistribution;
using enipool::ec2::LatencyModel;

TEST_CASE("LatencyDistribution::Fixed always answers its value and draws nothing") {
  std::mt19937_64 rng(1);
  const std::mt19937_64 untouched = rng;
  const auto fixed = LatencyDistribution::Fixed(absl::Milliseconds(250));
  for (int i = 0; i < 10; ++i) CHECK(fixed.Sample(rng) == absl::Milliseconds(250));
  CHECK(rng == untouched);
}

TEST_CASE("LatencyDistribution::Uniform stays in its range and covers it") {
  std::mt19937_64 rng(2);
  const auto uniform =
      LatencyDistribution::Uniform(absl::Milliseconds(100), absl::Milliseconds(300));
  absl::Duration low = absl::InfiniteDuration();
  absl::Duration high = -absl::InfiniteDuration();
  for (int i = 0; i < 2000; ++i) {
    const absl::Duration d = uniform.Sample(rng);
    REQUIRE(d >= absl::Milliseconds(100));
    REQUIRE(d <= absl::Milliseconds(300));
    low = std::min(low, d);
    high = std::max(high, d);
  }
  CHECK(low < absl::Milliseconds(110));
  CHECK(high > absl::Milliseconds(290));
  // A reversed range is the same range.
  std::mt19937_64 a(3), b(3);
  CHECK(LatencyDistribution::Uniform(absl::Seconds(2), absl::Seconds(1)).Sample(a) ==
        LatencyDistribution::Uniform(absl::Seconds(1), absl::Seconds(2)).Sample(b));
}

TEST_CASE("LatencyDistribution::LogNormal centres on its median and never exceeds its cap") {
  std::mt19937_64 rng(4);
  const auto lognormal =
      LatencyDistribution::LogNormal(absl::Milliseconds(150), 0.4, absl::Seconds(1));
  int below_median = 0;
  constexpr int kDraws = 4000;
  for (int i = 0; i < kDraws; ++i) {
    const absl::Duration d = lognormal.Sample(rng);
    REQUIRE(d > absl::ZeroDuration());
    REQUIRE(d <= absl::Seconds(1));
    below_median += d < absl::Milliseconds(150) ? 1 : 0;
  }
  // Half the draws fall below the median; 4000 draws put the share within
  // ±0.05 of 0.5 with overwhelming probability (and the seed is fixed).
  CHECK(below_median > kDraws * 45 / 100);
  CHECK(below_median < kDraws * 55 / 100);
  // σ = 0 is the median exactly.
  CHECK(LatencyDistribution::LogNormal(absl::Seconds(3), 0.0, absl::Seconds(7)).Sample(rng) ==
        absl::Seconds(3));
  // A cap below the median caps every draw.
  CHECK(LatencyDistribution::LogNormal(absl::Seconds(3), 0.5, absl::Seconds(1)).Sample(rng) ==
        absl::Seconds(1));
}

TEST_CASE("LatencyModel::Defaults keeps ENI create plus attach within the documented 10 s") {
  const LatencyModel model = LatencyModel::Defaults();
  std::mt19937_64 rng(5);
  for (int i = 0; i < 2000; ++i) {
    const absl::Duration create = model.Sample(CallKind::kCreateNetworkInterface, rng);
    const absl::Duration attach = model.Sample(CallKind::kAttachNetworkInterface, rng);
    REQUIRE(create + attach <= absl::Seconds(10));
    REQUIRE(model.Sample(CallKind::kAssignIpv4Prefixes, rng) <= absl::Seconds(1));
    REQUIRE(model.Sample(CallKind::kDescribeNetworkInterfaces, rng) > absl::ZeroDuration());
  }
  CHECK(model.Get(CallKind::kAttachNetworkInterface) ==
        LatencyDistribution::LogNormal(absl::Seconds(3), 0.5, absl::Seconds(7)));
}

TEST_CASE("LatencyModel::Zero answers zero for every call, and Set overrides one kind") {
  LatencyModel model = LatencyModel::Zero();
  std::mt19937_64 rng(6);
  for (std::size_t k = 0; k < enipool::ec2::kCallKindCount; ++k) {
    CHECK(model.Sample(static_cast<CallKind>(k), rng) == absl::ZeroDuration());
  }
  model.Set(CallKind::kDeleteNetworkInterface, LatencyDistribution::Fixed(absl::Seconds(2)));
  CHECK(model.Sample(CallKind::kDeleteNetworkInterface, rng) == absl::Seconds(2));
  CHECK(model.Sample(CallKind::kDetachNetworkInterface, rng) == absl::ZeroDuration());
}

TEST_CASE("LatencyModel gives the same latencies for the same seed") {
  auto draw = [](std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    const LatencyModel model = LatencyModel::Defaults();
    std::vector<absl::Duration> out;
    for (int i = 0; i < 50; ++i) out.push_back(model.Sample(static_cast<CallKind>(i % 9), rng));
    return out;
  };
  CHECK(draw(8) == draw(8));
  CHECK(draw(8) != draw(9));
}

}  // namespace
