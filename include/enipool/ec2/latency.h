// -----------------------------------------------------------------------------
// File: ec2/latency.h
// -----------------------------------------------------------------------------
//
// How long a simulated EC2 call takes: a `LatencyDistribution` (fixed,
// uniform or capped log-normal) per call kind, gathered in a `LatencyModel`.
// Sampling draws from a caller-owned, seeded std::mt19937_64 with
// hand-written transforms (no std:: distributions), so a seed gives the same
// latencies on every platform that has the same <cmath>.
//
// The simulator never sleeps: a latency is a number the caller schedules
// ("this answer arrives at now + latency").
//
// Defaults (LatencyModel::Defaults()) and where they come from:
//
//   call                         distribution                       source
//   CreateNetworkInterface       log-normal, median 1 s, σ 0.5,     reference (VPC CNI
//                                capped at 3 s                      docs/eni-and-ip-target.md):
//   AttachNetworkInterface       log-normal, median 3 s, σ 0.5,     creating and attaching an ENI
//                                capped at 7 s                      "can take up to 10 seconds";
//                                                                   the caps sum to that 10 s.
//                                                                   The split between the two
//                                                                   calls is an ASSUMPTION.
//   Assign*/Unassign*/Describe   log-normal, median 150 ms, σ 0.4,  ASSUMPTION: typical AWS
//   Detach/Delete                capped at 1 s                      control-plane API latency of
//                                                                   ~100-300 ms; no documented
//                                                                   figure exists
//                                                                   (docs/reference-behavior.md
//                                                                   §7.6).
//
// Example:
//
//   std::mt19937_64 rng(42);
//   enipool::ec2::LatencyModel model = enipool::ec2::LatencyModel::Defaults();
//   model.Set(enipool::ec2::CallKind::kAttachNetworkInterface,
//             enipool::ec2::LatencyDistribution::Fixed(absl::Seconds(2)));
//   absl::Duration d = model.Sample(enipool::ec2::CallKind::kAttachNetworkInterface, rng);  // 2 s

#ifndef ENIPOOL_EC2_LATENCY_H_
#define ENIPOOL_EC2_LATENCY_H_

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <random>
#include <utility>

#include "absl/time/time.h"
#include "enipool/ec2/ec2_api.h"

namespace enipool::ec2 {

// LatencyDistribution
//
// One of: a fixed duration; uniform on [low, high]; log-normal with a median
// and a shape σ (the median times exp(σ·Z), Z standard normal), capped at
// `high`. A value type; sampling does not change it.
class LatencyDistribution {
 public:
  enum class Kind { kFixed, kUniform, kLogNormal };

  LatencyDistribution() = default;

  [[nodiscard]] static LatencyDistribution Fixed(absl::Duration value) noexcept {
    return LatencyDistribution(Kind::kFixed, value, value, 0.0);
  }
  // Uniform on [low, high]; a reversed range is swapped.
  [[nodiscard]] static LatencyDistribution Uniform(absl::Duration low,
                                                   absl::Duration high) noexcept {
    if (high < low) std::swap(low, high);
    return LatencyDistribution(Kind::kUniform, low, high, 0.0);
  }
  // Log-normal with `median` and shape `sigma` (≥ 0), never above `cap`.
  [[nodiscard]] static LatencyDistribution LogNormal(absl::Duration median, double sigma,
                                                     absl::Duration cap) noexcept {
    return LatencyDistribution(Kind::kLogNormal, median, cap, sigma < 0.0 ? 0.0 : sigma);
  }

  [[nodiscard]] Kind kind() const noexcept { return kind_; }

  // LatencyDistribution::Sample()
  //
  // One draw. Consumes a fixed number of generator outputs per kind (0, 1
  // or 2), never negative, whole microseconds.
  [[nodiscard]] absl::Duration Sample(std::mt19937_64& rng) const {
    switch (kind_) {
      case Kind::kFixed: return low_;
      case Kind::kUniform: {
        const double u = UnitInterval(rng);
        return Round(low_ + (high_ - low_) * u);
      }
      case Kind::kLogNormal: {
        // Box-Muller: two uniforms in (0, 1] and [0, 1) give one standard normal.
        const double u1 = 1.0 - UnitInterval(rng);
        const double u2 = UnitInterval(rng);
        const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
        const absl::Duration d = low_ * std::exp(sigma_ * z);
        return Round(d > high_ ? high_ : d);
      }
    }
    return low_;
  }

  friend bool operator==(const LatencyDistribution&, const LatencyDistribution&) = default;

 private:
  LatencyDistribution(Kind kind, absl::Duration low, absl::Duration high, double sigma) noexcept
      : kind_(kind), low_(low), high_(high), sigma_(sigma) {}

  // [0, 1) from the top 53 bits of one output.
  static double UnitInterval(std::mt19937_64& rng) {
    return static_cast<double>(rng() >> 11) * 0x1.0p-53;
  }
  static absl::Duration Round(absl::Duration d) {
    if (d < absl::ZeroDuration()) return absl::ZeroDuration();
    return absl::Trunc(d, absl::Microseconds(1));
  }

  Kind kind_ = Kind::kFixed;
  absl::Duration low_ = absl::ZeroDuration();   // fixed value, uniform low, log-normal median
  absl::Duration high_ = absl::ZeroDuration();  // uniform high, log-normal cap
  double sigma_ = 0.0;
};

// LatencyModel
//
// A distribution per call kind. Copyable value; not thread-safe to sample
// concurrently with the same generator.
class LatencyModel {
 public:
  // All calls take no time (the default-constructed model).
  LatencyModel() = default;

  // LatencyModel::Defaults()
  //
  // The documented defaults (see the file comment for each source).
  [[nodiscard]] static LatencyModel Defaults() {
    LatencyModel model;
    const auto api = LatencyDistribution::LogNormal(absl::Milliseconds(150), 0.4, absl::Seconds(1));
    for (std::size_t i = 0; i < kCallKindCount; ++i) model.by_kind_[i] = api;
    model.Set(CallKind::kCreateNetworkInterface,
              LatencyDistribution::LogNormal(absl::Seconds(1), 0.5, absl::Seconds(3)));
    model.Set(CallKind::kAttachNetworkInterface,
              LatencyDistribution::LogNormal(absl::Seconds(3), 0.5, absl::Seconds(7)));
    return model;
  }

  // LatencyModel::Zero()
  //
  // Every call answers at once: for tests that are about state, not time.
  [[nodiscard]] static LatencyModel Zero() { return LatencyModel(); }

  LatencyModel& Set(CallKind kind, LatencyDistribution distribution) {
    by_kind_[static_cast<std::size_t>(kind)] = distribution;
    return *this;
  }
  [[nodiscard]] const LatencyDistribution& Get(CallKind kind) const noexcept {
    return by_kind_[static_cast<std::size_t>(kind)];
  }

  // LatencyModel::Sample()
  //
  // One latency for a call of `kind`.
  [[nodiscard]] absl::Duration Sample(CallKind kind, std::mt19937_64& rng) const {
    return Get(kind).Sample(rng);
  }

 private:
  std::array<LatencyDistribution, kCallKindCount> by_kind_{};
};

}  // namespace enipool::ec2

#endif  // ENIPOOL_EC2_LATENCY_H_
