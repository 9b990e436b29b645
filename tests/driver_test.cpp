// Tests for driver.h: the blocking driver runs a NodeController against any
// Backend, follows multi-call sequences within one pool check, waits only
// through the injected sleep, and retries startup.

#include "enipool/driver.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/ipv4.h"
#include "enipool/ec2/ec2_api.h"
#include "testing/controller_harness.h"
#include "testing/recording_backend.h"

namespace enipool {
namespace {

using testing::SimNode;
using testing::SimNodeSpec;

SimNodeSpec Small() {
  return SimNodeSpec{
      .mode = AddressMode::kSecondaryIp, .max_enis = 3, .ipv4_per_eni = 10, .max_pods = 29};
}

TEST_CASE("The driver runs the controller against any Backend: a scripted one here") {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  ControllerConfig config = testing::MakeControllerConfig(Small());
  auto controller = NodeController<ManualClock>::Create(clock, config);
  REQUIRE(controller.ok());
  testing::RecordingBackend backend;
  NetworkInterface primary{.id = "eni-primary",
                           .subnet_id = "subnet-a",
                           .instance_id = "i-node",
                           .attachment_id = "attach-0",
                           .device_index = 0,
                           .primary_ip = *Ipv4Address::Parse("10.0.0.10")};
  backend.Reply({absl::OkStatus(), std::vector<NetworkInterface>{primary}});
  std::vector<Ipv4Address> ips;
  for (int i = 0; i < 9; ++i) ips.push_back(*Ipv4Address::Parse(absl::StrCat("10.0.0.", 20 + i)));
  backend.Reply({absl::OkStatus(), ips});
  int sleeps = 0;
  REQUIRE(StartNode(*controller, backend, clock, [&](absl::Time) { ++sleeps; }) ==
          absl::OkStatus());
  CHECK(sleeps == 0);
  CHECK(
      backend.calls() ==
      std::vector<Ec2Call>{DescribeNetworkInterfacesRequest{.eni_ids = {}, .instance_id = "i-node"},
                           AssignPrivateIpAddressesRequest{.eni_id = "eni-primary", .count = 9}});
  CHECK(controller->datastore().Stats().total_ips == 9);
  auto pod = controller->AddPod({"aws-cni", "c1", "eth0"});
  REQUIRE(pod.ok());
  CHECK(pod->address == *Ipv4Address::Parse("10.0.0.20"));
}

TEST_CASE("RunPoolCheck makes a create's attach in the same check") {
  SimNode node(Small());
  REQUIRE(node.Start() == absl::OkStatus());
  REQUIRE(node.datastore().Stats().enis == 1);
  REQUIRE(node.AddPods(0, 3) == 3);  // 6 free < 9: a new ENI
  auto calls = RunPoolCheck(node.controller(), node.ec2(), node.clock(), node.Sleeper());
  REQUIRE(calls.ok());
  CHECK(*calls == 2);
  CHECK(node.ec2().stats().calls_of(ec2::CallKind::kCreateNetworkInterface) == 1);
  CHECK(node.ec2().stats().calls_of(ec2::CallKind::kAttachNetworkInterface) == 1);
  CHECK(node.datastore().Stats().enis == 2);
  CHECK(node.datastore().Stats().total_ips == 18);
  CHECK_FALSE(node.controller().busy());
}

TEST_CASE("StartNode retries a failing describe every 10 s, then pre-scales") {
  SimNode node(Small());
  node.ec2()
      .fault_plan()
      .FailNthCall(ec2::CallKind::kDescribeNetworkInterfaces, 1,
                   Ec2Error(Ec2ErrorCode::kOther, "boot"))
      .FailNthCall(ec2::CallKind::kDescribeNetworkInterfaces, 2,
                   Ec2Error(Ec2ErrorCode::kOther, "boot"));
  const absl::Time t0 = node.clock().Now();
  std::vector<absl::Time> sleeps;
  auto sleep_until = [&](absl::Time t) {
    sleeps.push_back(t);
    node.clock().SetTime(t);
  };
  REQUIRE(StartNode(node.controller(), node.ec2(), node.clock(), sleep_until) == absl::OkStatus());
  CHECK(sleeps == std::vector<absl::Time>{t0 + absl::Seconds(10), t0 + absl::Seconds(20)});
  CHECK(node.controller().started());
  CHECK(node.datastore().Stats().total_ips == 9);  // the pre-scaling round ran
}

TEST_CASE("StartNode gives up with UNAVAILABLE after its attempts, the node not started") {
  SimNode node(Small());
  const absl::Time t0 = node.clock().Now();
  node.ec2().fault_plan().FailCallsBetween(ec2::CallKind::kDescribeNetworkInterfaces, t0,
                                           t0 + absl::Hours(1),
                                           Ec2Error(Ec2ErrorCode::kOther, "down"));
  const absl::Status status =
      StartNode(node.controller(), node.ec2(), node.clock(), node.Sleeper(), /*max_attempts=*/3);
  CHECK(status == absl::UnavailableError("DescribeNetworkInterfaces for instance i-node failed 3 "
                                         "times; the node cannot start"));
  CHECK_FALSE(node.controller().started());
  CHECK(node.datastore().Stats().enis == 0);
  CHECK(node.ec2().stats().calls_of(ec2::CallKind::kDescribeNetworkInterfaces) == 3);
}

TEST_CASE(
    "RunPoolLoop checks the pool every period while asked to, sleeping only through the callable") {
  SimNode node(Small());
  REQUIRE(node.Start() == absl::OkStatus());
  const absl::Time t0 = node.clock().Now();
  std::vector<absl::Time> sleeps;
  auto sleep_until = [&](absl::Time t) {
    sleeps.push_back(t);
    node.clock().SetTime(t);
  };
  int iterations = 0;
  auto keep_going = [&] {
    if (iterations == 1) (void)node.AddPods(0, 3);  // the second check grows the pool
    return iterations++ < 4;
  };
  REQUIRE(RunPoolLoop(node.controller(), node.ec2(), node.clock(), sleep_until, keep_going) ==
          absl::OkStatus());
  CHECK(sleeps == std::vector<absl::Time>{t0 + absl::Seconds(5), t0 + absl::Seconds(10),
                                          t0 + absl::Seconds(15), t0 + absl::Seconds(20)});
  CHECK(node.datastore().Stats().enis == 2);
}

}  // namespace
}  // namespace enipool
