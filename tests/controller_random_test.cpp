// Randomized test of NodeController against the simulated EC2 in virtual
// time: requests complete at now + their sampled latency, the pool check
// runs every 5 s, pods come and go, and the fault plan fails random calls
// with random EC2 errors. After every step the datastore must agree with
// EC2 (never an address EC2 does not give the node, never an address on
// two ENIs, never an ENI above its slots); once the faults stop, the pool
// must settle where the policy wants it, with no ENI leaked.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/controller.h"
#include "enipool/datastore.h"
#include "enipool/policy/warm_pool.h"
#include "enipool/ec2/ec2_api.h"
#include "enipool/ec2/simulated_ec2.h"
#include "testing/controller_harness.h"
#include "testing/reference_policy_model.h"

namespace enipool {
namespace {

struct RandomRun {
  AddressMode mode = AddressMode::kSecondaryIp;
  int warm_ip_target = 0;
  int minimum_ip_target = 0;
  bool reconcile = false;
  std::uint64_t seed = 1;
  int steps = 5000;
};

// The EC2 errors a fault may carry. NotFound is left out: EC2 says it only
// for ENIs that are really gone, and a scripted one would be a lie the
// reference cannot survive either (it would drop a live ENI); the NotFound
// path has its own test.
constexpr Ec2ErrorCode kFaultCodes[] = {
    Ec2ErrorCode::kOther,
    Ec2ErrorCode::kRequestLimitExceeded,
    Ec2ErrorCode::kInsufficientCidrBlocks,
    Ec2ErrorCode::kInsufficientFreeAddressesInSubnet,
    Ec2ErrorCode::kPrivateIpAddressLimitExceeded,
    Ec2ErrorCode::kAttachmentLimitExceeded,
    Ec2ErrorCode::kUnauthorizedOperation,
};

void Run(const RandomRun& run) {
  // Small ENIs, so that the pool attaches and frees ENIs often: 5 secondary
  // IPs per ENI, or 3 prefixes (48 addresses).
  const bool pd = run.mode == AddressMode::kPrefix;
  testing::SimNodeSpec spec{.mode = run.mode,
                            .max_enis = 4,
                            .ipv4_per_eni = pd ? 4 : 6,
                            .max_pods = pd ? 110 : 20,
                            .warm_ip_target = run.warm_ip_target,
                            .minimum_ip_target = run.minimum_ip_target,
                            .subnet_cidr = "10.0.0.0/22",
                            .seed = run.seed,
                            .zero_latency = false,
                            .throttling = true};
  testing::SimNode node(spec);
  ControllerConfig config = testing::MakeControllerConfig(spec);
  if (run.reconcile) config.reconcile_interval = absl::Seconds(60);
  auto made = NodeController<ManualClock>::Create(node.clock(), config);
  REQUIRE(made.ok());
  NodeController<ManualClock>& controller = *made;
  auto& ec2 = node.ec2();
  testing::AsyncLoop loop(node.clock(), controller, ec2);

  std::mt19937_64 rng(run.seed);
  auto uniform = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  std::vector<int> live;
  int next_pod = 0;
  int faults = 0;
  int idle_checks = 0;  // steps at which the EC2-to-datastore direction was checked
  std::int64_t target = 0;  // the pod count the workload drifts to; changes every 100 steps
  auto add_pod = [&] {
    if (static_cast<int>(live.size()) < spec.max_pods &&
        controller.AddPod(testing::SimNode::Pod(next_pod)).ok()) {
      live.push_back(next_pod);
    }
    ++next_pod;
  };
  auto delete_pod = [&] {
    if (live.empty()) return;
    const auto i = static_cast<std::size_t>(uniform(0, static_cast<std::int64_t>(live.size()) - 1));
    REQUIRE(controller.DeletePod(testing::SimNode::Pod(live[i])).ok());
    live[i] = live.back();
    live.pop_back();
  };
  for (int step = 0; step < run.steps; ++step) {
    CAPTURE(step);
    if (step % 100 == 0) target = uniform(0, spec.max_pods);
    const std::int64_t r = uniform(0, 99);
    if (r < 35) {
      if (static_cast<std::int64_t>(live.size()) < target) {
        add_pod();
      } else {
        delete_pod();
      }
    } else if (r < 42) {
      if (uniform(0, 1) == 0) {
        add_pod();
      } else {
        delete_pod();
      }
    } else if (r < 45) {
      // A window of up to 20 s in which calls of one kind (or, half the
      // time, of every kind) fail with one error.
      const Ec2ErrorCode code = kFaultCodes[uniform(0, std::size(kFaultCodes) - 1)];
      const absl::Time now = node.clock().Now();
      const absl::Time until = now + absl::Milliseconds(uniform(0, 20'000));
      if (uniform(0, 1) == 0) {
        ec2.fault_plan().FailAllCallsBetween(now, until, Ec2Error(code, "random fault"));
      } else {
        const auto kind = static_cast<ec2::CallKind>(uniform(0, ec2::kCallKindCount - 1));
        ec2.fault_plan().FailCallsBetween(kind, now, until, Ec2Error(code, "random fault"));
      }
      ++faults;
    } else {
      REQUIRE(loop.RunUntil(node.clock().Now() + absl::Milliseconds(uniform(0, 4000))) ==
              absl::OkStatus());
    }
    // Both ways: nothing in the datastore that EC2 lacks, and (when the
    // controller is idle) nothing EC2 gives the node that the datastore
    // lacks, but for CIDRs whose unassign failed.
    REQUIRE(testing::CheckNodeAgainstEc2(controller, ec2, loop.failed_unassign_cidrs()) ==
            absl::OkStatus());
    if (controller.started() && !controller.busy()) ++idle_checks;
    for (int pod : live)
      REQUIRE(controller.datastore().Lookup(testing::SimNode::Pod(pod)).has_value());
  }
  CHECK(faults > 0);
  CHECK(controller.counters().calls_total() > 0);
  std::int64_t failures = 0;
  for (std::int64_t f : controller.counters().failures) failures += f;
  CHECK(failures > 0);  // the faults did reach the controller
  CHECK(idle_checks > 100);
  MESSAGE("idle checks ", idle_checks, ", failed unassigns ", loop.failed_unassigns(), " (",
          loop.throttled_unassigns(), " throttled), CIDRs left in EC2 by them ",
          loop.failed_unassign_cidrs().size());
  const ControllerCounters& counters = controller.counters();
  // EC2 never answered with a CIDR or ENI the datastore already held.
  CHECK(counters.rejected_cidrs == 0);
  CHECK(counters.enis_refused == 0);
  // Every failed unassign is counted, except throttled ones the controller
  // sent again.
  CAPTURE(loop.failed_unassigns());
  CAPTURE(loop.throttled_unassigns());
  CHECK(counters.unassign_failures >= loop.failed_unassigns() - loop.throttled_unassigns());
  CHECK(counters.unassign_failures <= loop.failed_unassigns());

  // Faults stop; pods stay. Half an hour of quiet virtual time.
  ec2.fault_plan().Clear();
  REQUIRE(loop.RunUntil(node.clock().Now() + absl::Minutes(30)) == absl::OkStatus());
  CHECK_FALSE(controller.busy());
  // A reconciling node has taken back every CIDR a failed unassign left in
  // EC2; without reconcile those stay leaked, and only those.
  if (run.reconcile) {
    REQUIRE(testing::CheckNodeAgainstEc2(controller, ec2) == absl::OkStatus());
  } else {
    REQUIRE(testing::CheckNodeAgainstEc2(controller, ec2, loop.failed_unassign_cidrs()) ==
            absl::OkStatus());
  }
  CHECK(loop.in_flight() == 0);
  // No ENI leaked: every ENI in the account is one of the node's, attached
  // and in its datastore.
  CHECK(ec2.unattached_eni_count() == 0);
  CHECK(ec2.eni_count() == controller.datastore().EniViews().size());
  // The pool is where the policy wants it: a pool check plans nothing.
  ReconcileInputs inputs;
  inputs.stats = controller.datastore().Stats();
  inputs.enis = controller.datastore().EniViews();
  inputs.free_cidrs = FreeCidrsOf(controller.datastore(), inputs.enis);
  inputs.now = node.clock().Now();
  const ReconcilePlan plan = PlanReconcile(config.pool, inputs);
  CAPTURE(inputs.stats.ToString());
  CHECK_FALSE(plan.increase.has_value());
  CHECK(plan.releases.empty());
  CHECK_FALSE(plan.free_eni.has_value());
  CHECK(controller.counters().force_removed_ips == 0);
  for (int pod : live) CHECK(controller.datastore().Lookup(testing::SimNode::Pod(pod)).has_value());

  // The same verdict from the model of the reference's rules
  // (testing/reference_policy_model.h), which shares no code with the
  // policy: not too low unless no ENI can take more and none may be added
  // (every attached ENI is in the pool: none is unmanaged), nothing the
  // decrease could release, no ENI to free.
  namespace reference = testing::reference_policy;
  const reference::Config ref = reference::ConfigOf(config.pool);
  auto check_settled = [&] {
    const reference::Pool pool = reference::PoolOf(controller.datastore(), node.clock().Now());
    const std::string stats = controller.datastore().Stats().ToString();
    CAPTURE(stats);
    if (reference::TooLow(ref, pool)) {
      CHECK(reference::IncreaseCandidate(ref, pool) == nullptr);
      CHECK_FALSE(reference::HasRoomForEni(ref, pool, 0, false));
    }
    std::int64_t free_cidrs = 0;
    for (const reference::Eni& e : pool) {
      for (const reference::Cidr& c : e.cidrs) free_cidrs += c.assigned == 0 ? 1 : 0;
    }
    if (reference::TooHigh(ref, pool)) {
      CHECK(std::min(reference::DecreaseBudget(ref, pool), free_cidrs) == 0);
    }
    const std::optional<std::string> to_free = reference::EniToFree(ref, pool, pool);
    CHECK(to_free.value_or("none") == "none");
  };
  check_settled();
  // More settled pools: the workload moves to a new pod count, then five
  // quiet minutes pass (ENI age, decrease throttle and cooldown all end),
  // and the pool must again be where the rules leave it.
  for (int round = 0; round < 12; ++round) {
    CAPTURE(round);
    const auto want = static_cast<std::size_t>(uniform(0, spec.max_pods));
    for (int tries = 0; live.size() < want && tries < 4 * spec.max_pods; ++tries) {
      add_pod();
      REQUIRE(loop.RunUntil(node.clock().Now() + absl::Seconds(2)) == absl::OkStatus());
    }
    while (live.size() > want) delete_pod();
    REQUIRE(loop.RunUntil(node.clock().Now() + absl::Minutes(5)) == absl::OkStatus());
    REQUIRE_FALSE(controller.busy());
    check_settled();
  }
}

TEST_CASE(
    "Random steps with faults: secondary IPs on WARM_ENI_TARGET stay consistent and converge") {
  Run({.mode = AddressMode::kSecondaryIp, .seed = 101, .steps = 5000});
}

TEST_CASE(
    "Random steps with faults: secondary IPs on WARM_IP/MINIMUM_IP stay consistent and converge") {
  Run({.mode = AddressMode::kSecondaryIp,
       .warm_ip_target = 4,
       .minimum_ip_target = 10,
       .reconcile = true,
       .seed = 202,
       .steps = 5000});
}

TEST_CASE("Random steps with faults: prefixes on WARM_PREFIX_TARGET stay consistent and converge") {
  Run({.mode = AddressMode::kPrefix, .reconcile = true, .seed = 303, .steps = 5000});
}

TEST_CASE("Random steps with faults: prefixes on WARM_IP_TARGET stay consistent and converge") {
  Run({.mode = AddressMode::kPrefix, .warm_ip_target = 10, .seed = 404, .steps = 5000});
}

}  // namespace
}  // namespace enipool
