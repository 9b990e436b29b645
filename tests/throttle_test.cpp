#include "enipool/ec2/throttle.h"

#include <doctest/doctest.h>

#include <cstddef>

#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/internal/token_bucket.h"
#include "enipool/ec2/ec2_api.h"

namespace {

using enipool::internal::TokenBucket;
using enipool::ec2::AccountThrottle;
using enipool::ec2::CallKind;
using enipool::ec2::Ec2Action;
using enipool::ec2::ThrottleConfig;

const absl::Time kStart = absl::FromUnixSeconds(1'000'000);

TEST_CASE(
    "TokenBucket starts full, empties one token per call and refills at its rate up to capacity") {
  TokenBucket bucket(3, 2, kStart);  // 3 tokens, 2 a second
  CHECK(bucket.TryTake(kStart));
  CHECK(bucket.TryTake(kStart));
  CHECK(bucket.TryTake(kStart));
  CHECK_FALSE(bucket.TryTake(kStart));
  CHECK(bucket.TimeUntilToken(kStart) == absl::Milliseconds(500));
  CHECK_FALSE(bucket.TryTake(kStart + absl::Milliseconds(499)));
  CHECK(bucket.TryTake(kStart + absl::Milliseconds(500)));
  CHECK(bucket.Available(kStart + absl::Hours(1)) == 3.0);  // never above capacity
  // Time that goes backwards refills nothing.
  CHECK(bucket.Available(kStart) == doctest::Approx(0.0));
}

TEST_CASE("ThrottleConfig::Ec2Defaults holds AWS's published bucket sizes and refill rates") {
  const ThrottleConfig config = ThrottleConfig::Ec2Defaults();
  CHECK(config.enabled);
  CHECK(config.Get(Ec2Action::kCreateNetworkInterface) == enipool::ec2::BucketSpec{100, 5});
  CHECK(config.Get(Ec2Action::kDeleteNetworkInterface) == enipool::ec2::BucketSpec{100, 5});
  CHECK(config.Get(Ec2Action::kAssignPrivateIpAddresses) == enipool::ec2::BucketSpec{100, 5});
  CHECK(config.Get(Ec2Action::kUnassignPrivateIpAddresses) == enipool::ec2::BucketSpec{100, 5});
  CHECK(config.Get(Ec2Action::kAttachNetworkInterface) == enipool::ec2::BucketSpec{50, 5});
  CHECK(config.Get(Ec2Action::kDetachNetworkInterface) == enipool::ec2::BucketSpec{50, 5});
  CHECK(config.Get(Ec2Action::kDescribeNetworkInterfaces) == enipool::ec2::BucketSpec{100, 20});
  CHECK_FALSE(ThrottleConfig::Disabled().enabled);
}

TEST_CASE("AccountThrottle keeps one bucket per action and admits everything when disabled") {
  AccountThrottle throttle(ThrottleConfig::Ec2Defaults(), kStart);
  for (int i = 0; i < 50; ++i)
    REQUIRE(throttle.TryAdmit(Ec2Action::kAttachNetworkInterface, kStart));
  CHECK_FALSE(throttle.TryAdmit(Ec2Action::kAttachNetworkInterface, kStart));
  CHECK(throttle.TimeUntilAdmitted(Ec2Action::kAttachNetworkInterface, kStart) ==
        absl::Milliseconds(200));
  CHECK(throttle.TryAdmit(Ec2Action::kDetachNetworkInterface, kStart));
  CHECK(throttle.Available(Ec2Action::kDescribeNetworkInterfaces, kStart) == 100.0);

  AccountThrottle off(ThrottleConfig::Disabled(), kStart);
  for (int i = 0; i < 1000; ++i) REQUIRE(off.TryAdmit(Ec2Action::kAttachNetworkInterface, kStart));
  CHECK(off.TimeUntilAdmitted(Ec2Action::kAttachNetworkInterface, kStart) == absl::ZeroDuration());
}

TEST_CASE("ActionOf bills IP and prefix calls to the same EC2 action") {
  using enipool::ec2::ActionOf;
  CHECK(ActionOf(CallKind::kAssignPrivateIpAddresses) == Ec2Action::kAssignPrivateIpAddresses);
  CHECK(ActionOf(CallKind::kAssignIpv4Prefixes) == Ec2Action::kAssignPrivateIpAddresses);
  CHECK(ActionOf(CallKind::kUnassignPrivateIpAddresses) == Ec2Action::kUnassignPrivateIpAddresses);
  CHECK(ActionOf(CallKind::kUnassignIpv4Prefixes) == Ec2Action::kUnassignPrivateIpAddresses);
  CHECK(enipool::ec2::Ec2ActionName(ActionOf(CallKind::kAssignIpv4Prefixes)) ==
        "AssignPrivateIpAddresses");
  for (std::size_t k = 0; k < enipool::ec2::kCallKindCount; ++k) {
    const auto kind = static_cast<CallKind>(k);
    CAPTURE(enipool::ec2::CallKindName(kind));
    CHECK(enipool::ec2::CallKindName(kind) != "Unknown");
  }
  CHECK(enipool::ec2::CallKindOf(enipool::AssignIpv4PrefixesRequest{}) ==
        CallKind::kAssignIpv4Prefixes);
  CHECK(enipool::ec2::CallKindName(CallKind::kDescribeNetworkInterfaces) ==
        enipool::Ec2CallName(enipool::DescribeNetworkInterfacesRequest{}));
}

}  // namespace
