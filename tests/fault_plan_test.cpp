#include "enipool/ec2/fault_plan.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/ec2/ec2_api.h"

namespace {

using enipool::Ec2ErrorCode;
using enipool::ec2::CallKind;
using enipool::ec2::FaultPlan;

const absl::Time kT0 = absl::FromUnixSeconds(1'000'000);

TEST_CASE("FaultPlan fails exactly the Nth call of a kind") {
  const absl::Status error = enipool::Ec2Error(Ec2ErrorCode::kAttachmentLimitExceeded, "scripted");
  FaultPlan plan;
  plan.FailNthCall(CallKind::kAttachNetworkInterface, 2, error);
  CHECK_FALSE(plan.FaultFor(CallKind::kAttachNetworkInterface, 1, 1, kT0).has_value());
  CHECK(plan.FaultFor(CallKind::kAttachNetworkInterface, 2, 5, kT0) ==
        std::optional<absl::Status>(error));
  CHECK_FALSE(plan.FaultFor(CallKind::kAttachNetworkInterface, 3, 6, kT0).has_value());
  CHECK_FALSE(plan.FaultFor(CallKind::kDetachNetworkInterface, 2, 2, kT0).has_value());
}

TEST_CASE("FaultPlan counts all calls for a rule of any kind") {
  const absl::Status error = enipool::Ec2Error(Ec2ErrorCode::kOther, "boom");
  FaultPlan plan;
  plan.FailNthCallOfAnyKind(4, error);
  CHECK_FALSE(plan.FaultFor(CallKind::kDetachNetworkInterface, 4, 3, kT0).has_value());
  CHECK(plan.FaultFor(CallKind::kDetachNetworkInterface, 1, 4, kT0) ==
        std::optional<absl::Status>(error));
}

TEST_CASE("FaultPlan fails calls in a half-open time window") {
  FaultPlan plan;
  plan.ThrottleBetween(CallKind::kAssignIpv4Prefixes, kT0 + absl::Seconds(10),
                       kT0 + absl::Seconds(20));
  auto at = [&](absl::Duration d) {
    return plan.FaultFor(CallKind::kAssignIpv4Prefixes, 1, 1, kT0 + d);
  };
  CHECK_FALSE(at(absl::Seconds(9)).has_value());
  REQUIRE(at(absl::Seconds(10)).has_value());
  CHECK(enipool::ClassifyEc2Error(*at(absl::Seconds(10))) == Ec2ErrorCode::kRequestLimitExceeded);
  CHECK(at(absl::Seconds(19)).has_value());
  CHECK_FALSE(at(absl::Seconds(20)).has_value());
  CHECK_FALSE(plan.FaultFor(CallKind::kAssignPrivateIpAddresses, 1, 1, kT0 + absl::Seconds(15))
                  .has_value());

  FaultPlan all;
  all.FailAllCallsBetween(kT0, kT0 + absl::Seconds(1),
                          absl::UnavailableError("RequestLimitExceeded: x"));
  CHECK(all.FaultFor(CallKind::kDescribeNetworkInterfaces, 1, 1, kT0).has_value());
}

TEST_CASE("FaultPlan applies the first matching rule") {
  const absl::Status first = enipool::Ec2Error(Ec2ErrorCode::kInsufficientCidrBlocks, "first");
  const absl::Status second = enipool::Ec2Error(Ec2ErrorCode::kOther, "second");
  FaultPlan plan;
  plan.FailCallsBetween(CallKind::kAssignIpv4Prefixes, kT0, kT0 + absl::Hours(1), first)
      .FailNthCall(CallKind::kAssignIpv4Prefixes, 1, second);
  CHECK(plan.FaultFor(CallKind::kAssignIpv4Prefixes, 1, 1, kT0) ==
        std::optional<absl::Status>(first));
  CHECK(plan.FaultFor(CallKind::kAssignIpv4Prefixes, 1, 1, kT0 + absl::Hours(2)) ==
        std::optional<absl::Status>(second));
}

TEST_CASE("FaultPlan reports the crash point once that many calls are answered") {
  FaultPlan plan;
  CHECK(plan.empty());
  CHECK_FALSE(plan.ShouldCrashAfter(1'000'000));
  plan.CrashAfterCall(7);
  CHECK_FALSE(plan.empty());
  CHECK_FALSE(plan.ShouldCrashAfter(6));
  CHECK(plan.ShouldCrashAfter(7));
  CHECK(plan.ShouldCrashAfter(8));
  CHECK(plan.crash_after() == std::optional<std::uint64_t>(7));
  plan.Clear();
  CHECK(plan.empty());
  CHECK_FALSE(plan.ShouldCrashAfter(7));
}

}  // namespace
