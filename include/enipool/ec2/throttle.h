// -----------------------------------------------------------------------------
// File: ec2/throttle.h
// -----------------------------------------------------------------------------
//
// Account-wide EC2 request throttling for the simulator: one token bucket per
// EC2 API action, shared by every node of the simulated account, as EC2
// applies it ("request rate limiting": each API action is evaluated on its
// own bucket; a call takes one token; an empty bucket answers
// RequestLimitExceeded).
//
// NOTE: The defaults are AWS's published request-token bucket sizes and
// refill rates from "Request throttling for the Amazon EC2 API"
// (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html,
// section "Request token bucket sizes and refill rates", read 2026-11):
//
//   action                        bucket   refill/s   category in the table
//   CreateNetworkInterface          100        5      uncategorized (own row)
//   DeleteNetworkInterface          100        5      uncategorized (own row)
//   AssignPrivateIpAddresses        100        5      uncategorized (own row)
//   UnassignPrivateIpAddresses      100        5      uncategorized (own row)
//   AttachNetworkInterface           50        5      mutating actions
//   DetachNetworkInterface           50        5      mutating actions
//   DescribeNetworkInterfaces       100       20      non-mutating actions
//   DescribeSubnets                 100       20      non-mutating actions
//   AssignIpv6Addresses              50        5      mutating actions
//   UnassignIpv6Addresses            50        5      mutating actions
//   CreateTags                       50        5      mutating actions
//   ModifyNetworkInterfaceAttribute  50        5      mutating actions
//
// The same page lists DescribeNetworkInterfaces under "unfiltered and
// unpaginated non-mutating actions" (50 / 10) when called with neither a
// filter nor pagination. The reference always filters or paginates (its
// leaked-ENI sweep pages 1000 at a time), so every describe uses the
// non-mutating bucket here; set the row to 50 / 10 to model an unpaginated
// client. Refill here is continuous rather than once a second.
//
// Example:
//
//   enipool::ec2::AccountThrottle throttle(enipool::ec2::ThrottleConfig::Ec2Defaults(),
//                                          clock.Now());
//   if (!throttle.TryAdmit(enipool::ec2::Ec2Action::kAttachNetworkInterface, clock.Now())) {
//     // RequestLimitExceeded
//   }

#ifndef ENIPOOL_EC2_THROTTLE_H_
#define ENIPOOL_EC2_THROTTLE_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "enipool/internal/token_bucket.h"
#include "enipool/ec2/ec2_api.h"

namespace enipool::ec2 {

// BucketSpec
//
// The size of one action's bucket and how many tokens it regains a second.
struct BucketSpec {
  double capacity = 0.0;
  double refill_per_second = 0.0;
  friend bool operator==(const BucketSpec&, const BucketSpec&) = default;
};

// ThrottleConfig
//
// Whether throttling is on, and each action's bucket.
struct ThrottleConfig {
  bool enabled = true;
  std::array<BucketSpec, kEc2ActionCount> buckets{};

  // ThrottleConfig::Ec2Defaults()
  //
  // AWS's published per-action buckets (see the file comment for the source).
  [[nodiscard]] static ThrottleConfig Ec2Defaults() noexcept {
    ThrottleConfig config;
    config.Set(Ec2Action::kCreateNetworkInterface, {100, 5});
    config.Set(Ec2Action::kDeleteNetworkInterface, {100, 5});
    config.Set(Ec2Action::kAssignPrivateIpAddresses, {100, 5});
    config.Set(Ec2Action::kUnassignPrivateIpAddresses, {100, 5});
    config.Set(Ec2Action::kAttachNetworkInterface, {50, 5});
    config.Set(Ec2Action::kDetachNetworkInterface, {50, 5});
    config.Set(Ec2Action::kDescribeNetworkInterfaces, {100, 20});
    config.Set(Ec2Action::kDescribeSubnets, {100, 20});
    config.Set(Ec2Action::kAssignIpv6Addresses, {50, 5});
    config.Set(Ec2Action::kUnassignIpv6Addresses, {50, 5});
    config.Set(Ec2Action::kCreateTags, {50, 5});
    config.Set(Ec2Action::kModifyNetworkInterfaceAttribute, {50, 5});
    return config;
  }

  // ThrottleConfig::Disabled()
  //
  // No throttling at all (every call is admitted).
  [[nodiscard]] static ThrottleConfig Disabled() noexcept {
    ThrottleConfig config = Ec2Defaults();
    config.enabled = false;
    return config;
  }

  ThrottleConfig& Set(Ec2Action action, BucketSpec spec) noexcept {
    buckets[static_cast<std::size_t>(action)] = spec;
    return *this;
  }
  [[nodiscard]] const BucketSpec& Get(Ec2Action action) const noexcept {
    return buckets[static_cast<std::size_t>(action)];
  }
};

// AccountThrottle
//
// The buckets of one simulated account. O(1) per call; not thread-safe.
class AccountThrottle {
 public:
  AccountThrottle(const ThrottleConfig& config, absl::Time now) : enabled_(config.enabled) {
    for (std::size_t i = 0; i < kEc2ActionCount; ++i) {
      buckets_[i] = internal::TokenBucket(config.buckets[i].capacity,
                                          config.buckets[i].refill_per_second, now);
    }
  }

  // AccountThrottle::TryAdmit()
  //
  // True (and one token taken) if a call of `action` may run at `now`.
  bool TryAdmit(Ec2Action action, absl::Time now) noexcept {
    if (!enabled_) return true;
    return buckets_[static_cast<std::size_t>(action)].TryTake(now);
  }

  // AccountThrottle::Available()
  //
  // Tokens `action` has at `now` (fractional).
  [[nodiscard]] double Available(Ec2Action action, absl::Time now) const noexcept {
    return buckets_[static_cast<std::size_t>(action)].Available(now);
  }

  // AccountThrottle::TimeUntilAdmitted()
  //
  // How long from `now` until a call of `action` would be admitted.
  [[nodiscard]] absl::Duration TimeUntilAdmitted(Ec2Action action, absl::Time now) const noexcept {
    if (!enabled_) return absl::ZeroDuration();
    return buckets_[static_cast<std::size_t>(action)].TimeUntilToken(now);
  }

  [[nodiscard]] bool enabled() const noexcept { return enabled_; }

 private:
  bool enabled_ = true;
  std::array<internal::TokenBucket, kEc2ActionCount> buckets_{};
};

}  // namespace enipool::ec2

#endif  // ENIPOOL_EC2_THROTTLE_H_
