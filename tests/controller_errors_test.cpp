// Tests for NodeController's handling of every EC2 error class the
// reference treats specially (docs/reference-behavior.md §4.6, §4.8, §7.5), against the
// simulated EC2 with scripted faults, and of /28 fragmentation: a subnet
// with many free addresses and no aligned free /28.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/datastore.h"
#include "enipool/driver.h"
#include "enipool/ec2/ec2_api.h"
#include "enipool/ec2/simulated_ec2.h"
#include "testing/controller_harness.h"
#include "testing/recording_backend.h"

namespace enipool {
namespace {

using ec2::CallKind;
using testing::SimNode;
using testing::SimNodeSpec;

SimNodeSpec M5Large(AddressMode mode) {
  return SimNodeSpec{.mode = mode,
                     .max_enis = 3,
                     .ipv4_per_eni = 10,
                     .max_pods = mode == AddressMode::kPrefix ? 110 : 29};
}

// Starts the node (describe applied) without running the first pool check.
void StartOnly(SimNode& node) {
  std::vector<Ec2Request> requests = node.controller().Start(node.clock().Now());
  REQUIRE(requests.size() == 1);
  REQUIRE(node.controller()
              .OnResult(requests[0], node.ec2().Call(requests[0].call), node.clock().Now())
              .ok());
  REQUIRE(node.controller().started());
}

// Makes `request`, applies the answer, returns the follow-ups.
std::vector<Ec2Request> Answer(SimNode& node, const Ec2Request& request) {
  auto follow =
      node.controller().OnResult(request, node.ec2().Call(request.call), node.clock().Now());
  REQUIRE(follow.ok());
  return *follow;
}

absl::Status Scripted(Ec2ErrorCode code) { return Ec2Error(code, "scripted by the test"); }

TEST_CASE("A failed assign is retried once with a count of 1") {
  SimNode node(M5Large(AddressMode::kSecondaryIp));
  StartOnly(node);
  node.ec2().fault_plan().FailNthCall(CallKind::kAssignPrivateIpAddresses, 1,
                                      Scripted(Ec2ErrorCode::kOther));
  std::vector<Ec2Request> requests = node.controller().Tick(node.clock().Now());
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].call ==
        Ec2Call{AssignPrivateIpAddressesRequest{.eni_id = node.primary().id, .count = 9}});
  std::vector<Ec2Request> retry = Answer(node, requests[0]);
  REQUIRE(retry.size() == 1);
  CHECK(retry[0].call ==
        Ec2Call{AssignPrivateIpAddressesRequest{.eni_id = node.primary().id, .count = 1}});
  CHECK(Answer(node, retry[0]).empty());
  CHECK(node.datastore().Stats().total_ips == 1);
  CHECK(node.controller().counters().retries_with_one == 1);
  CHECK(node.controller().counters().errors_of(Ec2ErrorCode::kOther) == 1);
  CHECK(node.controller().last_insufficient_addresses() == absl::InfinitePast());  // no back-off
  // The next checks fill the ENI.
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().total_ips == 9);
}

// Drives a secondary-IP node to the point where it creates its second ENI
// and returns that create request.
Ec2Request CreateSecondEni(SimNode& node) {
  REQUIRE(node.Start() == absl::OkStatus());
  REQUIRE(node.Converge() == absl::OkStatus());
  REQUIRE(node.AddPods(0, 1) == 1);  // WARM_ENI_TARGET=1: a second ENI is wanted
  std::vector<Ec2Request> requests = node.controller().Tick(node.clock().Now());
  REQUIRE(requests.size() == 1);
  REQUIRE(std::holds_alternative<CreateNetworkInterfaceRequest>(requests[0].call));
  return requests[0];
}

// Answers `request` with `result` (OK is checked), returns the follow-ups.
std::vector<Ec2Request> AnswerWith(SimNode& node, const Ec2Request& request, Ec2Result result) {
  auto follow = node.controller().OnResult(request, result, node.clock().Now());
  REQUIRE_MESSAGE(follow.ok(), follow.status());
  return *follow;
}

TEST_CASE(
    "An attached ENI the datastore refuses is detached and deleted again, counted as refused") {
  // A backend whose ENI ids are longer than the datastore holds (32
  // characters): EC2 creates and attaches the ENI, the datastore cannot
  // take it. Left recorded, it would stay attached for good (freeing starts
  // from the datastore).
  SimNode node(M5Large(AddressMode::kSecondaryIp));
  const Ec2Request create = CreateSecondEni(node);
  const std::string long_id = "eni-" + std::string(28, 'a');
  const auto& wanted = std::get<CreateNetworkInterfaceRequest>(create.call);
  NetworkInterface created{.id = long_id,
                           .subnet_id = wanted.subnet_id,
                           .primary_ip = *Ipv4Address::Parse("10.0.200.10"),
                           .secondary_ips = {*Ipv4Address::Parse("10.0.200.11")}};
  std::vector<Ec2Request> attach = AnswerWith(node, create, Ec2Result{absl::OkStatus(), created});
  REQUIRE(attach.size() == 1);
  REQUIRE(std::holds_alternative<AttachNetworkInterfaceRequest>(attach[0].call));
  const std::size_t records = node.controller().enis().size();

  std::vector<Ec2Request> detach =
      AnswerWith(node, attach[0], Ec2Result{absl::OkStatus(), std::string("attach-refused")});
  const auto& counters = node.controller().counters();
  CHECK(counters.enis_attached == 1);
  CHECK(counters.enis_refused == 1);
  CHECK(counters.rejected_cidrs == 0);
  CHECK_FALSE(node.datastore().FindEni(long_id).ok());
  // Given back at once: detached, recorded outside the pool meanwhile.
  REQUIRE(detach.size() == 1);
  CHECK(detach[0].call == Ec2Call{DetachNetworkInterfaceRequest{.attachment_id = "attach-refused",
                                                                .eni_id = long_id}});
  REQUIRE(node.controller().enis().size() == records + 1);
  CHECK(node.controller().enis().back().id == long_id);
  CHECK_FALSE(node.controller().enis().back().in_pool);

  CHECK(AnswerWith(node, detach[0], Ec2Result{absl::OkStatus(), std::monostate{}}).empty());
  CHECK(node.controller().enis().size() == records);  // the record is gone
  // Then deleted after the pause between detach and delete.
  node.clock().AdvanceTime(absl::Seconds(2));
  std::vector<Ec2Request> remove = node.controller().Tick(node.clock().Now());
  REQUIRE(remove.size() == 1);
  CHECK(remove[0].call == Ec2Call{DeleteNetworkInterfaceRequest{.eni_id = long_id}});
  CHECK(AnswerWith(node, remove[0], Ec2Result{absl::OkStatus(), std::monostate{}}).empty());
  CHECK_FALSE(node.controller().busy());
  CHECK(counters.enis_freed == 0);  // not a pool ENI freed
  CHECK(counters.enis_stranded == 0);
  CHECK(counters.enis_leaked == 0);

  // The pool is still short of an ENI: the next checks make one that fits.
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().enis == 2);
  CHECK(counters.enis_attached == 2);
  CHECK(testing::CheckNodeAgainstEc2(node.controller(), node.ec2()) == absl::OkStatus());
}

TEST_CASE("An attach answer naming an ENI the node already holds leaves its record alone") {
  // A confused backend answers the create with the primary ENI's id: the
  // datastore refuses it as a duplicate, and the primary's one record stays
  // (no second record, nothing detached).
  SimNode node(M5Large(AddressMode::kSecondaryIp));
  const Ec2Request create = CreateSecondEni(node);
  NetworkInterface created = node.primary();
  created.attachment_id.clear();
  created.instance_id.clear();
  std::vector<Ec2Request> attach = AnswerWith(node, create, Ec2Result{absl::OkStatus(), created});
  REQUIRE(attach.size() == 1);
  const std::size_t records = node.controller().enis().size();
  CHECK(AnswerWith(node, attach[0], Ec2Result{absl::OkStatus(), std::string("attach-dup")})
            .empty());
  CHECK(node.controller().counters().enis_refused == 1);
  CHECK(node.controller().counters().rejected_cidrs == 0);
  CHECK(node.controller().enis().size() == records);
  const auto primary_records =
      std::count_if(node.controller().enis().begin(), node.controller().enis().end(),
                    [&](const ManagedEni& e) { return e.id == node.primary().id; });
  CHECK(primary_records == 1);
  CHECK(node.datastore().FindEni(node.primary().id).ok());
}

TEST_CASE("PrivateIpAddressLimitExceeded resyncs the ENI from a describe instead of retrying") {
  SimNode node(M5Large(AddressMode::kSecondaryIp));
  StartOnly(node);
  // EC2 gives the primary 3 IPs behind the controller's back: its datastore
  // is now stale and the ENI has only 6 free slots.
  auto behind = node.ec2().AssignPrivateIpAddresses({.eni_id = node.primary().id, .count = 3});
  REQUIRE(behind.ok());
  std::vector<Ec2Request> requests = node.controller().Tick(node.clock().Now());
  REQUIRE(requests.size() == 1);
  std::vector<Ec2Request> resync = Answer(node, requests[0]);  // 9 do not fit
  REQUIRE(resync.size() == 1);
  CHECK(resync[0].call == Ec2Call{DescribeNetworkInterfacesRequest{.eni_ids = {node.primary().id},
                                                                   .instance_id = {}}});
  CHECK(Answer(node, resync[0]).empty());
  CHECK(node.datastore().Stats().total_ips == 3);  // what EC2 said the ENI has
  const auto cidrs = node.datastore().Cidrs(node.primary().id);
  REQUIRE(cidrs.ok());
  REQUIRE(cidrs->size() == 3);
  for (const CidrView& c : *cidrs) {
    CHECK(std::find(behind->begin(), behind->end(), c.cidr.network()) != behind->end());
  }
  const auto& counters = node.controller().counters();
  CHECK(counters.resyncs == 1);
  CHECK(counters.retries_with_one == 0);
  CHECK(counters.errors_of(Ec2ErrorCode::kPrivateIpAddressLimitExceeded) == 1);
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().total_ips == 9);
  CHECK(testing::CheckNodeAgainstEc2(node.controller(), node.ec2()) == absl::OkStatus());
}

TEST_CASE("An insufficient-address answer starts the 120 s back-off and no ENI is created") {
  SimNode node(M5Large(AddressMode::kPrefix));
  REQUIRE(node.Start() == absl::OkStatus());
  REQUIRE(node.Converge() == absl::OkStatus());
  REQUIRE(node.datastore().Stats().total_prefixes == 1);
  const absl::Time t0 = node.clock().Now();
  // The subnet "has no aligned /28" for the next second: the assign and its
  // retry with 1 both fail.
  node.ec2().fault_plan().FailCallsBetween(CallKind::kAssignIpv4Prefixes, t0, t0 + absl::Seconds(1),
                                           Scripted(Ec2ErrorCode::kInsufficientCidrBlocks));
  REQUIRE(node.AddPods(0, 1) == 1);  // 15 free < 16: too low
  auto calls = node.Check();
  REQUIRE(calls.ok());
  CHECK(*calls == 2);  // the assign and its retry with 1
  const auto& counters = node.controller().counters();
  CHECK(counters.errors_of(Ec2ErrorCode::kInsufficientCidrBlocks) == 2);
  CHECK(counters.insufficient_backoffs == 1);
  CHECK(node.controller().last_insufficient_addresses() == t0);
  // No increase at all for 120 s (inclusive), and no ENI creation meanwhile.
  while (node.clock().Now() <= t0 + absl::Seconds(120)) {
    CAPTURE(node.clock().Now() - t0);
    calls = node.Check();
    REQUIRE(calls.ok());
    CHECK(*calls == 0);
  }
  CHECK(node.ec2().stats().calls_of(CallKind::kCreateNetworkInterface) == 0);
  // Then the pool grows again.
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().total_prefixes == 2);
}

TEST_CASE("A create that finds the subnet full starts the back-off too") {
  // A /28 subnet: 16 − 5 reserved = 11 addresses; the primary ENI's address
  // and 9 secondary IPs leave 1, too few for a new ENI (1 + 9).
  SimNodeSpec spec = M5Large(AddressMode::kSecondaryIp);
  spec.subnet_cidr = "10.0.0.0/28";
  SimNode node(spec);
  REQUIRE(node.Start() == absl::OkStatus());
  REQUIRE(node.datastore().Stats().total_ips == 9);
  REQUIRE(node.AddPods(0, 3) == 3);
  const absl::Time t0 = node.clock().Now();
  REQUIRE(node.Check().ok());
  const auto& counters = node.controller().counters();
  CHECK(counters.errors_of(Ec2ErrorCode::kInsufficientFreeAddressesInSubnet) == 1);
  CHECK(counters.insufficient_backoffs == 1);
  CHECK(node.controller().last_insufficient_addresses() == t0);
  CHECK(counters.enis_created == 0);
  CHECK(node.ec2().eni_count() == 1);
  // During the back-off the node asks nothing.
  const std::int64_t calls = counters.calls_total();
  for (int i = 0; i < 20; ++i) REQUIRE(node.Check().ok());
  CHECK(counters.calls_total() == calls);
}

// Sends what `controller` asks for at each of its wake-ups until it is idle,
// answering from `node`'s EC2 and recording when each request went out.
struct Sent {
  absl::Time at;
  Ec2Request request;
};
std::vector<Sent> DriveUntilIdle(SimNode& node, NodeController<ManualClock>& controller,
                                 std::vector<Ec2Request> first) {
  std::vector<Sent> sent;
  std::vector<Ec2Request> pending = std::move(first);
  for (int round = 0; round < 100; ++round) {
    for (std::size_t i = 0; i < pending.size(); ++i) {
      const Ec2Request request = pending[i];
      sent.push_back({node.clock().Now(), request});
      auto follow =
          controller.OnResult(request, node.ec2().Call(request.call), node.clock().Now());
      REQUIRE(follow.ok());
      pending.insert(pending.end(), follow->begin(), follow->end());
    }
    pending.clear();
    if (!controller.busy()) break;
    const absl::Time wake = controller.NextWakeup();
    REQUIRE(wake != absl::InfiniteFuture());
    node.clock().SetTime(std::max(wake, node.clock().Now()));
    pending = controller.Tick(node.clock().Now());
  }
  return sent;
}

absl::StatusOr<NodeController<ManualClock>> ControllerWith(SimNode& node, const SimNodeSpec& spec,
                                                           const ThrottleBackoff& throttle) {
  ControllerConfig config = testing::MakeControllerConfig(spec);
  config.throttle = throttle;
  auto controller = NodeController<ManualClock>::Create(node.clock(), config);
  if (controller.ok()) {
    std::vector<Ec2Request> start = controller->Start(node.clock().Now());
    for (const Ec2Request& r : start) {
      if (!controller->OnResult(r, node.ec2().Call(r.call), node.clock().Now()).ok()) {
        return absl::InternalError("start failed");
      }
    }
  }
  return controller;
}

TEST_CASE("A throttled request makes at most 3 attempts, each re-send after a jittered back-off "
          "within the SDK's bounds") {
  const SimNodeSpec spec = M5Large(AddressMode::kSecondaryIp);
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    SimNode node(spec);
    ThrottleBackoff throttle;
    throttle.jitter_seed = seed;
    auto controller = ControllerWith(node, spec, throttle);
    REQUIRE(controller.ok());
    const absl::Time t0 = node.clock().Now();
    node.ec2().fault_plan().ThrottleBetween(CallKind::kAssignPrivateIpAddresses, t0,
                                            t0 + absl::Hours(1));
    const std::vector<Sent> sent = DriveUntilIdle(node, *controller, controller->Tick(t0));
    // The assign (3 attempts), then the retry with 1 (3 attempts), all throttled.
    REQUIRE(sent.size() == 6);
    for (std::size_t request = 0; request < 2; ++request) {
      const std::size_t first = request * 3;
      CHECK(sent[first + 1].request.call == sent[first].request.call);
      CHECK(sent[first + 2].request.call == sent[first].request.call);
      const absl::Duration wait1 = sent[first + 1].at - sent[first].at;
      const absl::Duration wait2 = sent[first + 2].at - sent[first + 1].at;
      CHECK(wait1 >= absl::ZeroDuration());
      CHECK(wait1 < absl::Seconds(1));  // U × 1 s
      CHECK(wait2 >= absl::ZeroDuration());
      CHECK(wait2 < absl::Seconds(2));  // U × 2 s
    }
    CHECK(sent[3].at == sent[2].at);  // the retry with 1 is a new request: no delay
    CHECK(controller->counters().throttle_retries == 4);
    CHECK(controller->counters().errors_of(Ec2ErrorCode::kRequestLimitExceeded) == 6);
    CHECK(controller->throttle_retry_tokens() == 500 - 4 * 5);
  }
}

TEST_CASE("The throttle jitter is the same for the same seed and differs for another") {
  const SimNodeSpec spec = M5Large(AddressMode::kSecondaryIp);
  auto waits_for = [&](std::uint64_t seed) {
    SimNode node(spec);
    ThrottleBackoff throttle;
    throttle.jitter_seed = seed;
    auto controller = ControllerWith(node, spec, throttle);
    REQUIRE(controller.ok());
    const absl::Time t0 = node.clock().Now();
    node.ec2().fault_plan().ThrottleBetween(CallKind::kAssignPrivateIpAddresses, t0,
                                            t0 + absl::Hours(1));
    std::vector<absl::Duration> waits;
    for (const Sent& s : DriveUntilIdle(node, *controller, controller->Tick(t0))) {
      waits.push_back(s.at - t0);
    }
    return waits;
  };
  CHECK(waits_for(7) == waits_for(7));
  CHECK(waits_for(7) != waits_for(8));
}

TEST_CASE("A request after a throttled one starts with no delay, and pool checks go on") {
  SimNodeSpec spec = M5Large(AddressMode::kSecondaryIp);
  SimNode node(spec);
  StartOnly(node);
  const absl::Time t0 = node.clock().Now();
  node.ec2().fault_plan().ThrottleBetween(CallKind::kAssignPrivateIpAddresses, t0,
                                          t0 + absl::Hours(1));
  const std::vector<Sent> sent = DriveUntilIdle(node, node.controller(), node.controller().Tick(t0));
  REQUIRE(sent.size() == 6);  // the assign and the retry with 1, 3 attempts each
  CHECK(sent[3].request.call ==
        Ec2Call{AssignPrivateIpAddressesRequest{.eni_id = node.primary().id, .count = 1}});
  CHECK(node.controller().counters().retries_with_one == 1);
  CHECK_FALSE(node.controller().busy());
  // The next pool check, at once, sends its request at once: nothing of the
  // earlier requests' back-off carries over.
  const absl::Time after = node.clock().Now();
  const std::vector<Ec2Request> next = node.controller().Tick(after);
  REQUIRE(next.size() == 1);
  CHECK(std::holds_alternative<AssignPrivateIpAddressesRequest>(next[0].call));
  // And its own retries start again from the first back-off (below 1 s).
  CHECK(Answer(node, next[0]).empty());
  CHECK(node.controller().NextWakeup() < after + absl::Seconds(1));
}

TEST_CASE("The retry quota stops re-sends while throttling lasts, and successes refill it") {
  const SimNodeSpec spec = M5Large(AddressMode::kSecondaryIp);
  SimNode node(spec);
  ThrottleBackoff throttle;
  throttle.retry_quota = 10;  // two re-sends
  throttle.retry_cost = 5;
  auto controller = ControllerWith(node, spec, throttle);
  REQUIRE(controller.ok());
  const absl::Time t0 = node.clock().Now();
  node.ec2().fault_plan().ThrottleBetween(CallKind::kAssignPrivateIpAddresses, t0,
                                          t0 + absl::Minutes(1));
  const std::vector<Sent> sent = DriveUntilIdle(node, *controller, controller->Tick(t0));
  // The assign takes both re-sends; the retry with 1 gets none.
  CHECK(sent.size() == 4);
  CHECK(controller->counters().throttle_retries == 2);
  CHECK(controller->counters().throttle_quota_refusals == 1);
  CHECK(controller->throttle_retry_tokens() == 0);
  // Once EC2 answers again, each success without a re-send gives back 1.
  node.clock().SetTime(t0 + absl::Minutes(2));
  const std::vector<Sent> later =
      DriveUntilIdle(node, *controller, controller->Tick(node.clock().Now()));
  REQUIRE(later.size() == 1);
  CHECK(controller->throttle_retry_tokens() == 1);
  CHECK(controller->datastore().Stats().total_ips > 0);
}

TEST_CASE("NodeController::Create rejects a throttle back-off it cannot follow") {
  const SimNodeSpec spec = M5Large(AddressMode::kSecondaryIp);
  SimNode node(spec);
  ControllerConfig config = testing::MakeControllerConfig(spec);
  config.throttle.max_attempts = 0;
  CHECK(NodeController<ManualClock>::Create(node.clock(), config).status().code() ==
        absl::StatusCode::kInvalidArgument);
  config.throttle.max_attempts = 3;
  config.throttle.retry_cost = 0;
  CHECK(NodeController<ManualClock>::Create(node.clock(), config).status().code() ==
        absl::StatusCode::kInvalidArgument);
  config.throttle.retry_quota = 0;  // no quota: the cost does not matter
  CHECK(NodeController<ManualClock>::Create(node.clock(), config).ok());
}

TEST_CASE(
    "With the throttle model disabled a throttled assign fails at once into the retry with 1") {
  SimNodeSpec spec = M5Large(AddressMode::kSecondaryIp);
  SimNode node(spec);
  ControllerConfig config = testing::MakeControllerConfig(spec);
  config.throttle.enabled = false;
  auto controller = NodeController<ManualClock>::Create(node.clock(), config);
  REQUIRE(controller.ok());
  const absl::Time t0 = node.clock().Now();
  node.ec2().fault_plan().ThrottleBetween(CallKind::kAssignPrivateIpAddresses, t0,
                                          t0 + absl::Hours(1));
  auto made = RunPoolCheck(*controller, node.ec2(), node.clock(), node.Sleeper());  // starts it
  REQUIRE(made.ok());
  made = RunPoolCheck(*controller, node.ec2(), node.clock(), node.Sleeper());
  REQUIRE(made.ok());
  CHECK(*made == 2);  // the assign and the retry with 1, no waiting
  CHECK(controller->counters().throttle_retries == 0);
  CHECK(controller->counters().retries_with_one == 1);
  CHECK(controller->throttle_retry_tokens() == 500);  // nothing was re-sent
}

TEST_CASE(
    "NotFound on an assign resyncs the ENI, and an ENI EC2 no longer has leaves the datastore") {
  SimNode node(M5Large(AddressMode::kSecondaryIp));
  auto& ec2 = node.ec2();
  // The primary is full and a second, empty ENI is attached before start.
  REQUIRE(ec2.AssignPrivateIpAddresses({.eni_id = node.primary().id, .count = 9}).ok());
  auto second = ec2.CreateNetworkInterface({.subnet_id = "subnet-a"});
  REQUIRE(second.ok());
  auto attachment = ec2.AttachNetworkInterface(
      {.eni_id = second->id, .instance_id = "i-node", .device_index = 1});
  REQUIRE(attachment.ok());
  StartOnly(node);
  REQUIRE(node.datastore().Stats().enis == 2);
  // The second ENI disappears behind the controller's back.
  REQUIRE(ec2.DetachNetworkInterface({.attachment_id = *attachment, .eni_id = second->id}).ok());
  REQUIRE(ec2.DeleteNetworkInterface({.eni_id = second->id}).ok());
  REQUIRE(node.AddPods(0, 1) == 1);  // 8 free < 9: grow the ENI with room, the second
  std::vector<Ec2Request> requests = node.controller().Tick(node.clock().Now());
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].call ==
        Ec2Call{AssignPrivateIpAddressesRequest{.eni_id = second->id, .count = 9}});
  std::vector<Ec2Request> resync = Answer(node, requests[0]);
  REQUIRE(resync.size() == 1);
  CHECK(resync[0].call ==
        Ec2Call{DescribeNetworkInterfacesRequest{.eni_ids = {second->id}, .instance_id = {}}});
  CHECK(Answer(node, resync[0]).empty());  // NotFound: the ENI is gone
  CHECK(node.datastore().Stats().enis == 1);
  CHECK_FALSE(node.datastore().FindEni(second->id).ok());
  CHECK(node.controller().counters().force_removed_enis == 1);
  // The next check creates a new ENI in its place.
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().enis == 2);
  CHECK(node.datastore().Stats().total_ips == 18);
  CHECK(testing::CheckNodeAgainstEc2(node.controller(), ec2) == absl::OkStatus());
}

TEST_CASE("AttachmentLimitExceeded deletes the ENI just created, leaking nothing") {
  SimNodeSpec spec = M5Large(AddressMode::kSecondaryIp);
  spec.max_enis = 2;             // what EC2 allows
  spec.controller_max_enis = 3;  // what the controller was told
  SimNode node(spec);
  REQUIRE(node.Start() == absl::OkStatus());
  REQUIRE(node.AddPodsWaiting(0, 9) == 9);  // the second ENI: 18 addresses, 9 free
  REQUIRE(node.Converge() == absl::OkStatus());
  REQUIRE(node.datastore().Stats().enis == 2);
  REQUIRE(node.AddPods(9, 3) == 3);  // 6 free < 9: a third ENI is wanted
  auto calls = node.Check();
  REQUIRE(calls.ok());
  CHECK(*calls == 3);  // create, attach (refused), delete
  const auto& counters = node.controller().counters();
  CHECK(counters.enis_created == 2);
  CHECK(counters.attach_failures == 1);
  CHECK(counters.errors_of(Ec2ErrorCode::kAttachmentLimitExceeded) == 1);
  CHECK(node.ec2().eni_count() == 2);
  CHECK(node.ec2().unattached_eni_count() == 0);
  CHECK(node.datastore().Stats().enis == 2);
  CHECK(testing::CheckNodeAgainstEc2(node.controller(), node.ec2()) == absl::OkStatus());
}

TEST_CASE(
    "Freeing an ENI: out of the datastore first, then detach, a 2 s pause, delete, with failures "
    "retried") {
  SimNode node(SimNodeSpec{
      .mode = AddressMode::kSecondaryIp, .max_enis = 3, .ipv4_per_eni = 10, .max_pods = 29});
  REQUIRE(node.Start() == absl::OkStatus());
  REQUIRE(node.AddPodsWaiting(0, 9) == 9);
  REQUIRE(node.Converge() == absl::OkStatus());
  REQUIRE(node.datastore().Stats().enis == 2);
  node.DeletePods(0, 9);
  node.clock().AdvanceTime(absl::Seconds(61));  // past cooldown and the minimum ENI age
  node.ec2()
      .fault_plan()
      .FailNthCall(CallKind::kDetachNetworkInterface, 1, Scripted(Ec2ErrorCode::kOther))
      .FailNthCall(CallKind::kDeleteNetworkInterface, 1, Scripted(Ec2ErrorCode::kOther));
  const EniView second = node.datastore().EniViews().back();
  std::vector<absl::Time> sleeps;
  const absl::Time t0 = node.clock().Now();
  auto sleep_until = [&](absl::Time t) {
    sleeps.push_back(t);
    node.clock().SetTime(t);
  };
  std::vector<Ec2Request> requests = node.controller().Tick(t0);
  REQUIRE(requests.size() == 1);
  CHECK(std::holds_alternative<DetachNetworkInterfaceRequest>(requests[0].call));
  CHECK_FALSE(node.datastore().FindEni(second.id.view()).ok());  // gone before the detach
  auto made = DriveRequests(node.controller(), node.ec2(), node.clock(), requests);
  REQUIRE(made.ok());
  while (node.controller().busy()) {
    sleep_until(node.controller().NextWakeup());
    auto more = DriveRequests(node.controller(), node.ec2(), node.clock(),
                              node.controller().Tick(node.clock().Now()));
    REQUIRE(more.ok());
  }
  // detach fails, +200 ms detach, +2 s delete fails, +500 ms delete.
  CHECK(sleeps == std::vector<absl::Time>{t0 + absl::Milliseconds(200),
                                          t0 + absl::Milliseconds(2200),
                                          t0 + absl::Milliseconds(2700)});
  CHECK(node.controller().counters().enis_freed == 1);
  CHECK(node.ec2().eni_count() == 1);
  CHECK(node.ec2().unattached_eni_count() == 0);
}

TEST_CASE(
    "A detach that keeps failing strands the ENI outside the pool until a reconcile takes it "
    "back") {
  SimNodeSpec spec{
      .mode = AddressMode::kSecondaryIp, .max_enis = 3, .ipv4_per_eni = 10, .max_pods = 29};
  SimNode node(spec);
  ControllerConfig config = testing::MakeControllerConfig(spec);
  config.reconcile_interval = absl::Seconds(60);
  auto made = NodeController<ManualClock>::Create(node.clock(), config);
  REQUIRE(made.ok());
  NodeController<ManualClock>& controller = *made;
  auto check = [&] {
    REQUIRE(RunPoolCheck(controller, node.ec2(), node.clock(), node.Sleeper()).ok());
    node.clock().AdvanceTime(absl::Seconds(5));
  };
  REQUIRE(StartNode(controller, node.ec2(), node.clock(), node.Sleeper()) == absl::OkStatus());
  for (int i = 0; i < 9; ++i) {
    (void)controller.AddPod(SimNode::Pod(i));
    check();
  }
  REQUIRE(controller.datastore().Stats().enis == 2);
  for (int i = 0; i < 9; ++i) (void)controller.DeletePod(SimNode::Pod(i));
  const absl::Time t0 = node.clock().Now();
  node.ec2().fault_plan().FailCallsBetween(CallKind::kDetachNetworkInterface, t0,
                                           t0 + absl::Hours(1), Scripted(Ec2ErrorCode::kOther));
  for (int i = 0; i < 100 && controller.counters().enis_stranded == 0; ++i) check();
  CHECK(controller.counters().enis_stranded == 1);
  CHECK(controller.counters().errors_of(Ec2ErrorCode::kOther) == 12);  // 12 tries
  CHECK(controller.datastore().Stats().enis == 1);
  CHECK(node.ec2().eni_count() == 2);  // still attached in EC2
  // The periodic reconcile (60 s after the last pool action) sees it again,
  // and once it is a minute old it is freed for real.
  node.ec2().fault_plan().Clear();
  const std::int64_t reconciles = controller.counters().reconciles;
  for (int i = 0; i < 30 && controller.counters().reconciles == reconciles; ++i) check();
  CHECK(controller.counters().reconciles == reconciles + 1);
  CHECK(controller.datastore().Stats().enis == 2);
  CHECK(testing::CheckNodeAgainstEc2(controller, node.ec2()) == absl::OkStatus());
  for (int i = 0; i < 30 && controller.counters().enis_freed == 0; ++i) check();
  CHECK(controller.counters().enis_freed == 1);
  CHECK(controller.datastore().Stats().enis == 1);
  CHECK(node.ec2().eni_count() == 1);
  CHECK(node.ec2().unattached_eni_count() == 0);
}

TEST_CASE(
    "NotFound answers to a free-ENI detach or delete count as done: the ENI is already gone") {
  SUBCASE("the delete finds the ENI gone") {
    SimNode node(M5Large(AddressMode::kSecondaryIp));
    REQUIRE(node.Start() == absl::OkStatus());
    REQUIRE(node.AddPodsWaiting(0, 9) == 9);
    REQUIRE(node.Converge() == absl::OkStatus());
    REQUIRE(node.datastore().Stats().enis == 2);
    node.DeletePods(0, 9);
    node.clock().AdvanceTime(absl::Seconds(61));
    std::vector<Ec2Request> detach = node.controller().Tick(node.clock().Now());
    REQUIRE(detach.size() == 1);
    const std::string eni = std::get<DetachNetworkInterfaceRequest>(detach[0].call).eni_id;
    CHECK(Answer(node, detach[0]).empty());  // detached; the delete waits 2 s
    // Someone else deletes the detached ENI during the pause.
    REQUIRE(node.ec2().DeleteNetworkInterface({.eni_id = eni}).ok());
    node.clock().AdvanceTime(absl::Seconds(2));
    std::vector<Ec2Request> remove = node.controller().Tick(node.clock().Now());
    REQUIRE(remove.size() == 1);
    CHECK(Answer(node, remove[0]).empty());
    CHECK_FALSE(node.controller().busy());
    CHECK(node.controller().counters().errors_of(
              Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound) == 1);
    CHECK(node.controller().counters().enis_freed == 1);
    CHECK(node.controller().counters().enis_leaked == 0);
  }
  SUBCASE("the detach finds the ENI gone") {
    ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
    ControllerConfig config = testing::MakeControllerConfig(M5Large(AddressMode::kSecondaryIp));
    auto controller = NodeController<ManualClock>::Create(clock, config);
    REQUIRE(controller.ok());
    testing::RecordingBackend ec2;
    auto nic = [](const char* id, int device, int first) {
      NetworkInterface n{.id = id,
                         .subnet_id = "subnet-a",
                         .instance_id = "i-node",
                         .attachment_id = absl::StrCat("attach-", device),
                         .device_index = device};
      for (int i = 0; i < 9; ++i) {
        n.secondary_ips.push_back(*Ipv4Address::Parse(absl::StrCat("10.0.0.", first + i)));
      }
      return n;
    };
    ec2.Reply({absl::OkStatus(),
               std::vector<NetworkInterface>{nic("eni-a", 0, 10), nic("eni-b", 1, 30)}});
    REQUIRE(StartNode(*controller, ec2, clock, [&](absl::Time t) { clock.SetTime(t); }) ==
            absl::OkStatus());
    REQUIRE(controller->datastore().Stats().total_ips == 18);  // 18 free ≥ 2 · 9: free one
    clock.AdvanceTime(absl::Seconds(61));
    ec2.Fail(Ec2Error(Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound, "eni-b is gone"));
    auto calls = RunPoolCheck(*controller, ec2, clock, [&](absl::Time t) { clock.SetTime(t); });
    REQUIRE(calls.ok());
    CHECK(*calls == 1);  // no delete follows
    CHECK(ec2.calls().back() ==
          Ec2Call{DetachNetworkInterfaceRequest{.attachment_id = "attach-1", .eni_id = "eni-b"}});
    CHECK(controller->counters().enis_freed == 1);
    CHECK(controller->datastore().Stats().enis == 1);
    CHECK(controller->enis().size() == 1);
  }
}

// Fills `subnet` with single addresses (unattached ENIs without secondary
// IPs, one address each) until no aligned /28 is wholly free.
int FragmentSubnet(ec2::SimulatedEc2<ManualClock>& ec2, const std::string& subnet) {
  int taken = 0;
  while (ec2.FindSubnet(subnet)->free_prefix_count() > 0) {
    REQUIRE(ec2.CreateNetworkInterface({.subnet_id = subnet}).ok());
    ++taken;
  }
  return taken;
}

TEST_CASE(
    "A fragmented subnet fails prefix mode with InsufficientCidrBlocks while secondary IPs still "
    "work") {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  ec2::SimulatedEc2<ManualClock> ec2(clock, {.seed = 11,
                                             .latency = ec2::LatencyModel::Zero(),
                                             .throttle = ec2::ThrottleConfig::Disabled()});
  REQUIRE(ec2.AddSubnet("subnet-a", *Ipv4Prefix::Parse("10.0.0.0/24")).ok());
  REQUIRE(
      ec2.AddInstance(
             {.instance_id = "i-pd", .subnet_id = "subnet-a", .max_enis = 3, .ipv4_per_eni = 10})
          .ok());
  REQUIRE(
      ec2.AddInstance(
             {.instance_id = "i-sip", .subnet_id = "subnet-a", .max_enis = 3, .ipv4_per_eni = 10})
          .ok());
  const int taken = FragmentSubnet(ec2, "subnet-a");
  const ec2::Subnet& subnet = *ec2.FindSubnet("subnet-a");
  CAPTURE(taken);
  REQUIRE(subnet.free_prefix_count() == 0);
  REQUIRE(subnet.free_address_count() > 100);  // plenty of single addresses left

  auto config_for = [](AddressMode mode, const std::string& instance) {
    ControllerConfig config;
    config.pool = {
        .mode = mode, .warm_prefix_target = 1, .max_enis = 3, .ipv4_per_eni = 10, .max_pods = 110};
    config.instance_id = instance;
    config.subnet_id = "subnet-a";
    return config;
  };
  auto sleep_until = [&](absl::Time t) { clock.SetTime(t); };
  auto pd = NodeController<ManualClock>::Create(clock, config_for(AddressMode::kPrefix, "i-pd"));
  auto sip =
      NodeController<ManualClock>::Create(clock, config_for(AddressMode::kSecondaryIp, "i-sip"));
  REQUIRE(pd.ok());
  REQUIRE(sip.ok());
  REQUIRE(StartNode(*pd, ec2, clock, sleep_until) == absl::OkStatus());
  REQUIRE(StartNode(*sip, ec2, clock, sleep_until) == absl::OkStatus());

  CHECK(pd->datastore().Stats().total_prefixes == 0);
  CHECK(pd->counters().errors_of(Ec2ErrorCode::kInsufficientCidrBlocks) ==
        2);  // assign + retry with 1
  CHECK(pd->counters().insufficient_backoffs == 1);
  CHECK(pd->AddPod({"aws-cni", "c1", "eth0"}).status().code() ==
        absl::StatusCode::kResourceExhausted);
  CHECK(pd->counters().no_available_ip == 1);

  CHECK(sip->datastore().Stats().total_ips == 9);
  CHECK(sip->AddPod({"aws-cni", "c1", "eth0"}).ok());
  CHECK(sip->counters().insufficient_backoffs == 0);
  CHECK(testing::CheckNodeAgainstEc2(*pd, ec2) == absl::OkStatus());
  CHECK(testing::CheckNodeAgainstEc2(*sip, ec2) == absl::OkStatus());
}

}  // namespace
}  // namespace enipool
