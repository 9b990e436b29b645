// NodeController and describes answered OK but impossible: a describe of the
// instance without its primary ENI (an empty list), at startup and at a
// reconcile, and a describe of one ENI that does not list it. Applied, such
// an answer would force-remove every ENI and pod; each must change nothing
// and count as a failed describe.

#include <doctest/doctest.h>

#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/datastore.h"
#include "enipool/driver.h"
#include "enipool/ec2/backend.h"
#include "enipool/ec2/ec2_api.h"
#include "enipool/ec2/simulated_ec2.h"
#include "testing/controller_harness.h"

namespace enipool {
namespace {

using testing::SimNode;
using testing::SimNodeSpec;

SimNodeSpec M5Large() {
  return SimNodeSpec{
      .mode = AddressMode::kSecondaryIp, .max_enis = 3, .ipv4_per_eni = 10, .max_pods = 29};
}

Ec2Result Listing(std::vector<NetworkInterface> interfaces) {
  return Ec2Result{absl::OkStatus(), std::move(interfaces)};
}

// The answers the test gives instead of EC2's: none, or only the ENIs that
// are not the primary.
std::vector<Ec2Result> ImplausibleListings(ec2::SimulatedEc2<ManualClock>& ec2,
                                           const std::string& primary_id) {
  std::vector<Ec2Result> answers{Listing({})};
  auto all = ec2.Call(DescribeNetworkInterfacesRequest{.eni_ids = {}, .instance_id = "i-node"});
  REQUIRE(all.ok());
  std::vector<NetworkInterface> others = std::get<std::vector<NetworkInterface>>(all.response);
  std::erase_if(others, [&](const NetworkInterface& ni) { return ni.id == primary_id; });
  answers.push_back(Listing(others));
  return answers;
}

bool IsDescribeOfInstance(const Ec2Request& request) {
  const auto* describe = std::get_if<DescribeNetworkInterfacesRequest>(&request.call);
  return describe != nullptr && !describe->instance_id.empty();
}

TEST_CASE("NodeController at startup treats an OK describe without the primary ENI as a failure and retries it") {
  for (int variant = 0; variant < 2; ++variant) {
    CAPTURE(variant);
    SimNode node(M5Large());
    NodeController<ManualClock>& controller = node.controller();
    // A second ENI attached before start, so that "without the primary" is
    // a non-empty list.
    auto second = node.ec2().CreateNetworkInterface({.subnet_id = "subnet-a"});
    REQUIRE(second.ok());
    REQUIRE(node.ec2()
                .AttachNetworkInterface({.eni_id = second->id, .instance_id = "i-node", .device_index = 1})
                .ok());
    const Ec2Result answer = ImplausibleListings(node.ec2(), node.primary().id)[static_cast<std::size_t>(variant)];
    std::vector<Ec2Request> requests = controller.Start(node.clock().Now());
    REQUIRE(requests.size() == 1);
    auto follow = controller.OnResult(requests[0], answer, node.clock().Now());
    REQUIRE_MESSAGE(follow.ok(), follow.status());
    CHECK(follow->empty());
    CHECK_FALSE(controller.started());
    CHECK(node.datastore().Stats().enis == 0);
    CHECK(controller.counters().implausible_describes == 1);
    // Retried as a failed describe is: not at once, 10 s later.
    CHECK(controller.Tick(node.clock().Now()).empty());
    node.clock().AdvanceTime(absl::Seconds(10));
    std::vector<Ec2Request> retry = controller.Tick(node.clock().Now());
    REQUIRE(retry.size() == 1);
    REQUIRE(IsDescribeOfInstance(retry[0]));
    follow = controller.OnResult(retry[0], node.ec2().Call(retry[0].call), node.clock().Now());
    REQUIRE_MESSAGE(follow.ok(), follow.status());
    CHECK(controller.started());
    CHECK(node.datastore().Stats().enis == 2);
  }
}

TEST_CASE("NodeController at a reconcile ignores an OK describe without the primary ENI: no ENI or pod is removed") {
  for (int variant = 0; variant < 2; ++variant) {
    CAPTURE(variant);
    SimNodeSpec spec = M5Large();
    SimNode node(spec);
    ControllerConfig config = testing::MakeControllerConfig(spec);
    config.reconcile_interval = absl::Seconds(60);
    auto made = NodeController<ManualClock>::Create(node.clock(), config);
    REQUIRE(made.ok());
    NodeController<ManualClock>& controller = *made;
    REQUIRE(StartNode(controller, node.ec2(), node.clock(), node.Sleeper()) == absl::OkStatus());
    for (int i = 0; i < 12; ++i) {
      (void)controller.AddPod(SimNode::Pod(i));
      REQUIRE(RunPoolCheck(controller, node.ec2(), node.clock(), node.Sleeper()).ok());
      node.clock().AdvanceTime(absl::Seconds(5));
    }
    REQUIRE(controller.datastore().Stats().enis >= 2);  // so "without the primary" lists some
    const PoolStats before = controller.datastore().Stats();
    const std::int64_t pods = static_cast<std::int64_t>(controller.datastore().pod_count());
    REQUIRE(pods > 0);
    const std::int64_t reconciles = controller.counters().reconciles;
    const Ec2Result answer = ImplausibleListings(node.ec2(), node.primary().id)[static_cast<std::size_t>(variant)];
    // Tick until the reconcile's describe goes out and answer it wrongly;
    // every other call (and its follow-ups) EC2 answers.
    bool answered = false;
    for (int i = 0; i < 40 && !answered; ++i) {
      node.clock().AdvanceTime(absl::Seconds(5));
      std::vector<Ec2Request> queue = controller.Tick(node.clock().Now());
      while (!queue.empty()) {
        const Ec2Request request = queue.back();
        queue.pop_back();
        const bool wrong = IsDescribeOfInstance(request);
        auto follow = controller.OnResult(request, wrong ? answer : node.ec2().Call(request.call),
                                          node.clock().Now());
        REQUIRE_MESSAGE(follow.ok(), follow.status());
        queue.insert(queue.end(), follow->begin(), follow->end());
        answered = answered || wrong;
      }
    }
    REQUIRE(answered);
    CHECK(controller.datastore().Stats() == before);
    CHECK(static_cast<std::int64_t>(controller.datastore().pod_count()) == pods);
    CHECK(controller.counters().force_removed_enis == 0);
    CHECK(controller.counters().force_removed_ips == 0);
    CHECK(controller.counters().implausible_describes == 1);
    CHECK(controller.counters().reconciles == reconciles);
    // The next reconcile, answered by EC2, goes through.
    for (int i = 0; i < 40 && controller.counters().reconciles == reconciles; ++i) {
      REQUIRE(RunPoolCheck(controller, node.ec2(), node.clock(), node.Sleeper()).ok());
      node.clock().AdvanceTime(absl::Seconds(5));
    }
    CHECK(controller.counters().reconciles == reconciles + 1);
    CHECK(static_cast<std::int64_t>(controller.datastore().pod_count()) == pods);
    CHECK(testing::CheckNodeAgainstEc2(controller, node.ec2()) == absl::OkStatus());
  }
}

TEST_CASE("NodeController keeps an ENI whose describe is answered OK with an empty list (that is not NotFound)") {
  SimNode node(M5Large());
  std::vector<Ec2Request> start = node.controller().Start(node.clock().Now());
  REQUIRE(start.size() == 1);
  REQUIRE(node.controller().OnResult(start[0], node.ec2().Call(start[0].call), node.clock().Now()).ok());
  REQUIRE(node.datastore().Stats().enis == 1);
  // NotFound on the first grow makes the controller resync the ENI.
  node.ec2().fault_plan().FailNthCall(ec2::CallKind::kAssignPrivateIpAddresses, 1,
                                      Ec2Error(Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound,
                                               "scripted by the test"));
  std::vector<Ec2Request> requests = node.controller().Tick(node.clock().Now());
  REQUIRE(requests.size() == 1);
  auto resync = node.controller().OnResult(requests[0], node.ec2().Call(requests[0].call),
                                           node.clock().Now());
  REQUIRE(resync.ok());
  REQUIRE(resync->size() == 1);
  REQUIRE(std::holds_alternative<DescribeNetworkInterfacesRequest>((*resync)[0].call));
  const PoolStats before = node.datastore().Stats();
  auto follow = node.controller().OnResult((*resync)[0], Listing({}), node.clock().Now());
  REQUIRE_MESSAGE(follow.ok(), follow.status());
  CHECK(node.datastore().FindEni(node.primary().id).ok());
  CHECK(node.datastore().Stats() == before);
  CHECK(node.controller().counters().force_removed_enis == 0);
  CHECK(node.controller().counters().implausible_describes == 1);
  // The pool checks go on and fill the ENI.
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().total_ips == 9);
  CHECK(testing::CheckNodeAgainstEc2(node.controller(), node.ec2()) == absl::OkStatus());
}

}  // namespace
}  // namespace enipool
