// Tests for NodeController: configuration, startup, answer validation and
// the pool converging to the reference's worked examples (docs/reference-behavior.md §4.10)
// against the simulated EC2, in both address modes.

#include "enipool/controller.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/policy/policy.h"
#include "testing/controller_harness.h"

namespace enipool {
namespace {

using testing::SimNode;
using testing::SimNodeSpec;

// p3dn.24xlarge: 15 ENIs × 50 IPv4 addresses, max pods 737
// (docs/reference-behavior.md §4.10, §5.2).
SimNodeSpec P3dn() {
  return SimNodeSpec{
      .mode = AddressMode::kSecondaryIp, .max_enis = 15, .ipv4_per_eni = 50, .max_pods = 737};
}

// m5.large: 3 ENIs × 10 IPv4 addresses, max pods 29 (110 with prefixes).
SimNodeSpec M5Large(AddressMode mode) {
  return SimNodeSpec{.mode = mode,
                     .max_enis = 3,
                     .ipv4_per_eni = 10,
                     .max_pods = mode == AddressMode::kPrefix ? 110 : 29};
}

TEST_CASE("NodeController::Create rejects a config it cannot run, naming the field") {
  ManualClock clock;
  ControllerConfig good = testing::MakeControllerConfig(M5Large(AddressMode::kPrefix));
  REQUIRE(NodeController<ManualClock>::Create(clock, good).ok());

  ControllerConfig no_instance = good;
  no_instance.instance_id.clear();
  CHECK(NodeController<ManualClock>::Create(clock, no_instance).status() ==
        absl::InvalidArgumentError("controller config: instance_id is empty"));
  ControllerConfig no_subnet = good;
  no_subnet.subnet_id.clear();
  CHECK(NodeController<ManualClock>::Create(clock, no_subnet).status() ==
        absl::InvalidArgumentError("controller config: subnet_id (for new ENIs) is empty"));
  ControllerConfig no_enis = good;
  no_enis.pool.max_enis = 0;
  CHECK(NodeController<ManualClock>::Create(clock, no_enis).status() ==
        absl::InvalidArgumentError("controller config: max_enis 0 is below 1"));
  ControllerConfig one_ip = good;
  one_ip.pool.ipv4_per_eni = 1;
  CHECK(NodeController<ManualClock>::Create(clock, one_ip).status() ==
        absl::InvalidArgumentError("controller config: ipv4_per_eni 1 leaves no address for pods"));
}

TEST_CASE("NodeController starts from EC2's describe: ENIs, secondary IPs and prefixes") {
  SimNode node(M5Large(AddressMode::kSecondaryIp));
  auto& ec2 = node.ec2();
  // Before the controller starts, the node already has a second ENI with two
  // IPs and a prefix (left from an earlier run), and the primary has one IP.
  REQUIRE(ec2.AssignPrivateIpAddresses({.eni_id = node.primary().id, .count = 1}).ok());
  auto eni = ec2.CreateNetworkInterface({.subnet_id = "subnet-a", .secondary_ip_count = 2});
  REQUIRE(eni.ok());
  REQUIRE(
      ec2.AttachNetworkInterface({.eni_id = eni->id, .instance_id = "i-node", .device_index = 1})
          .ok());
  REQUIRE(ec2.AssignIpv4Prefixes({.eni_id = eni->id, .count = 1}).ok());

  auto& controller = node.controller();
  std::vector<Ec2Request> requests = controller.Start(node.clock().Now());
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].call ==
        Ec2Call{DescribeNetworkInterfacesRequest{.eni_ids = {}, .instance_id = "i-node"}});
  CHECK(controller.Tick(node.clock().Now()).empty());  // nothing until the answer
  CHECK_FALSE(controller.started());
  REQUIRE(controller.OnResult(requests[0], ec2.Call(requests[0].call), node.clock().Now()).ok());
  CHECK(controller.started());

  const auto views = node.datastore().EniViews();
  REQUIRE(views.size() == 2);
  CHECK(views[0].id == node.primary().id);
  CHECK(views[0].primary);
  CHECK(views[0].secondary_ips == 1);
  CHECK(views[1].id == eni->id);
  CHECK_FALSE(views[1].primary);
  CHECK(views[1].device_number == 1);
  CHECK(views[1].secondary_ips == 2);
  CHECK(views[1].prefixes == 1);  // other-mode entries are kept, not counted
  CHECK(node.datastore().Stats().total_ips == 3);
  CHECK(testing::CheckNodeAgainstEc2(controller, ec2) == absl::OkStatus());
}

TEST_CASE("NodeController::OnResult rejects answers it did not ask for and changes nothing") {
  SimNode node(M5Large(AddressMode::kSecondaryIp));
  auto& controller = node.controller();
  const absl::Time now = node.clock().Now();
  std::vector<Ec2Request> requests = controller.Start(now);
  REQUIRE(requests.size() == 1);
  const Ec2Request describe = requests[0];
  const std::uint64_t generation = node.datastore().generation();
  std::vector<Ec2Request> out;

  SUBCASE("an unknown request id") {
    Ec2Request stranger = describe;
    stranger.id += 100;
    CHECK(controller.OnResult(stranger, Ec2Result{}, now, out) ==
          absl::NotFoundError(absl::StrCat("request ", stranger.id,
                                           " (DescribeNetworkInterfaces) is not outstanding at "
                                           "this controller")));
  }
  SUBCASE("a different call under the request's id") {
    Ec2Request other{describe.id, DeleteNetworkInterfaceRequest{.eni_id = "eni-1"}};
    CHECK(controller.OnResult(other, Ec2Result{}, now, out) ==
          absl::InvalidArgumentError(absl::StrCat("request ", describe.id,
                                                  " was issued as DescribeNetworkInterfaces, not "
                                                  "DeleteNetworkInterface")));
  }
  SUBCASE("an OK answer of the wrong kind") {
    const Ec2Result wrong{absl::OkStatus(), std::string("attach-1")};
    CHECK(controller.OnResult(describe, wrong, now, out) ==
          absl::InvalidArgumentError(absl::StrCat("request ", describe.id,
                                                  " (DescribeNetworkInterfaces) answered OK with "
                                                  "the wrong kind of response (alternative 2)")));
  }
  CHECK(out.empty());
  CHECK(controller.busy());
  CHECK(controller.in_flight() == 1);
  CHECK_FALSE(controller.started());
  CHECK(node.datastore().generation() == generation);
  // The real answer is still accepted afterwards.
  CHECK(controller.OnResult(describe, node.ec2().Call(describe.call), now, out).ok());
  CHECK(controller.started());
}

TEST_CASE("NodeController reproduces the default secondary-IP example: p3dn 0/3/95 pods") {
  // docs/reference-behavior.md §4.10: WARM_ENI_TARGET=1 keeps a full ENI's worth (S = 49) free:
  // 0 pods → 1 ENI / 49 IPs; 3 pods → 2 / 98; 95 pods → 3 / 147.
  SimNode node(P3dn());
  REQUIRE(node.Start() == absl::OkStatus());
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().enis == 1);
  CHECK(node.datastore().Stats().total_ips == 49);

  REQUIRE(node.AddPods(0, 3) == 3);
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().enis == 2);
  CHECK(node.datastore().Stats().total_ips == 98);

  REQUIRE(node.AddPods(3, 92) == 92);
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().enis == 3);
  CHECK(node.datastore().Stats().total_ips == 147);
  CHECK(testing::CheckNodeAgainstEc2(node.controller(), node.ec2()) == absl::OkStatus());
  // Everything came from EC2 answers: 49 IPs on the primary, two new ENIs.
  const auto& counters = node.controller().counters();
  CHECK(counters.enis_attached == 2);
  CHECK(counters.cidrs_added == 147);
  // No call failed: every request was answered OK the first time.
  for (std::size_t call = 0; call < counters.failures.size(); ++call) {
    CAPTURE(call);
    CHECK(counters.failures[call] == 0);
  }
  for (std::size_t code = 0; code < counters.errors.size(); ++code) {
    CAPTURE(code);
    CHECK(counters.errors[code] == 0);
  }
  CHECK(counters.retries_with_one == 0);
}

TEST_CASE("NodeController frees an extra ENI once pods leave (WARM_ENI_TARGET=1)") {
  SimNode node(P3dn());
  REQUIRE(node.Start() == absl::OkStatus());
  REQUIRE(node.AddPodsWaiting(0, 95) == 95);
  REQUIRE(node.Converge() == absl::OkStatus());
  REQUIRE(node.datastore().Stats().enis == 3);
  node.DeletePods(0, 95);
  // Cooling addresses block freeing an ENI (30 s) and new ENIs are kept for
  // 60 s; then one ENI goes per check while A ≥ 2 · 49.
  node.clock().AdvanceTime(absl::Seconds(61));
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().enis == 1);
  CHECK(node.datastore().Stats().total_ips == 49);
  CHECK(node.controller().counters().enis_freed == 2);
  CHECK(node.ec2().eni_count() == 1);  // detached and deleted in EC2 too
  CHECK(node.ec2().unattached_eni_count() == 0);
  CHECK(testing::CheckNodeAgainstEc2(node.controller(), node.ec2()) == absl::OkStatus());
}

TEST_CASE("NodeController frees a young ENI as soon as it is a minute old, with no pool change") {
  // The idle Tick skips the pool check while nothing changes; the minimum
  // ENI age running out must still wake it.
  SimNode node(M5Large(AddressMode::kSecondaryIp));
  REQUIRE(node.Start() == absl::OkStatus());
  REQUIRE(node.AddPodsWaiting(0, 9) == 9);
  REQUIRE(node.Converge() == absl::OkStatus());
  REQUIRE(node.datastore().Stats().enis == 2);
  const absl::Time created = node.datastore().EniViews().back().created;
  node.DeletePods(0, 9);
  absl::Time freed_at = absl::InfiniteFuture();
  for (int i = 0; i < 40 && freed_at == absl::InfiniteFuture(); ++i) {
    const absl::Time now = node.clock().Now();
    REQUIRE(node.Check().ok());
    if (node.datastore().Stats().enis == 1) freed_at = now;
  }
  CAPTURE(freed_at - created);
  CHECK(freed_at - created >= absl::Seconds(60));
  CHECK(freed_at - created < absl::Seconds(65));  // the first 5 s tick past the minute
}

TEST_CASE("NodeController keeps WARM_PREFIX_TARGET=1 free in prefix mode, growing and shrinking") {
  SimNode node(M5Large(AddressMode::kPrefix));
  REQUIRE(node.Start() == absl::OkStatus());
  REQUIRE(node.Converge() == absl::OkStatus());
  // No pods: one free prefix (16 free addresses) is enough.
  CHECK(node.datastore().Stats().total_prefixes == 1);
  // One pod: 15 free addresses < 16 → one more prefix (needed: max(1, 1 − 0)).
  REQUIRE(node.AddPods(0, 1) == 1);
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().total_prefixes == 2);
  // 40 pods: ⌈40 / 16⌉ = 3 prefixes in use, and the free addresses must
  // reach 16 again: 4 prefixes (64 addresses, 24 free).
  REQUIRE(node.AddPodsWaiting(1, 39) == 39);
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().total_prefixes == 4);
  CHECK(node.datastore().Stats().enis == 1);  // prefixes go on existing ENIs first
  // Pods leave: free prefixes above 1 are released (one decrease per 30 s).
  node.DeletePods(0, 40);
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().total_prefixes == 1);
  CHECK(node.controller().counters().decreases >= 1);
  const auto* primary = node.ec2().FindEni(node.primary().id);
  REQUIRE(primary != nullptr);
  CHECK(primary->prefixes.size() == 1);  // unassigned in EC2 as well
  CHECK(testing::CheckNodeAgainstEc2(node.controller(), node.ec2()) == absl::OkStatus());
}

TEST_CASE("NodeController follows WARM_IP_TARGET / MINIMUM_IP_TARGET in secondary-IP mode") {
  // docs/reference-behavior.md §4.10: total ≈ max(M, pods + W), filling the current ENI then a
  // new one carrying only the shortfall; over the band, IPs are released.
  SimNodeSpec spec = M5Large(AddressMode::kSecondaryIp);
  spec.warm_ip_target = 5;
  spec.minimum_ip_target = 10;
  SimNode node(spec);
  REQUIRE(node.Start() == absl::OkStatus());
  REQUIRE(node.Converge() == absl::OkStatus());
  // M = 10 > 0 + 5, but one ENI holds only S = 9: 9 on the primary, 1 on a new ENI.
  CHECK(node.datastore().Stats().total_ips == 10);
  CHECK(node.datastore().Stats().enis == 2);
  REQUIRE(node.AddPodsWaiting(0, 8) == 8);
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().total_ips == 8 + 5);
  node.DeletePods(0, 8);
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().total_ips == 10);
  CHECK(testing::CheckNodeAgainstEc2(node.controller(), node.ec2()) == absl::OkStatus());
}

TEST_CASE("NodeController follows WARM_IP_TARGET in prefix mode, in whole prefixes") {
  // docs/reference-behavior.md §4.10: grow by ⌈short / 16⌉ prefixes; over = prefixes beyond
  // ⌈(assigned + W) / 16⌉ that are free.
  SimNodeSpec spec = M5Large(AddressMode::kPrefix);
  spec.warm_ip_target = 20;
  SimNode node(spec);
  REQUIRE(node.Start() == absl::OkStatus());
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().total_prefixes == 2);  // ⌈20 / 16⌉
  REQUIRE(node.AddPodsWaiting(0, 30) == 30);
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().total_prefixes == 4);  // ⌈(30 + 20) / 16⌉
  node.DeletePods(0, 30);
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().total_prefixes == 2);
  CHECK(testing::CheckNodeAgainstEc2(node.controller(), node.ec2()) == absl::OkStatus());
}

TEST_CASE("NodeController ticks without a pool check while nothing changes") {
  SimNode node(P3dn());
  REQUIRE(node.Start() == absl::OkStatus());
  REQUIRE(node.AddPods(0, 10) == 10);
  REQUIRE(node.Converge() == absl::OkStatus());
  const std::int64_t checks = node.controller().counters().pool_checks;
  std::vector<Ec2Request> out;
  for (int i = 0; i < 1000; ++i) {
    node.clock().AdvanceTime(absl::Seconds(5));
    node.controller().Tick(node.clock().Now(), out);
  }
  CHECK(out.empty());
  CHECK(node.controller().counters().pool_checks == checks);
  // A pod event that makes the pool too low is seen at the next tick.
  REQUIRE(node.AddPods(10, 40) == 40);
  node.controller().Tick(node.clock().Now(), out);
  CHECK(out.size() == 1);
  CHECK(node.controller().counters().pool_checks == checks + 1);
}

// The m5.large of the settle tests on `seed`: even seeds on the warm-IP
// rules too (they release addresses one by one), odd ones on WARM_ENI_TARGET.
SimNodeSpec SettleSpec(AddressMode mode, std::uint64_t seed) {
  SimNodeSpec spec = M5Large(mode);
  spec.seed = seed;
  if (seed % 2 == 0) {
    spec.warm_ip_target = 2;
    spec.minimum_ip_target = 4;
  }
  return spec;
}

// How the pods of DriveSettledAgainstFull come and go: one step in
// `op_range` adds, `deletes` steps in it delete, each a burst of 1 to
// `max_burst` pods; the other steps are pool checks (then 5 s pass).
struct PodMix {
  std::uint64_t op_range = 8;
  std::uint64_t adds = 3;
  std::uint64_t deletes = 2;
  int max_burst = 1;
  int steps = 600;
};

struct SettledRunCounts {
  int skipped = 0;                    // checks skipped as quiet
  int settles = 0;                    // pod changes that left the node quiet at once
  int quiet_past_a_cooldown_end = 0;  // skipped checks quiet beyond the next cooldown end
};

// Two nodes on the same seed get the same random pods; `settled` calls
// SettleIfIdle after each pod change and skips each check QuietUntil() says
// is quiet (as sim/cluster.h does), `full` runs every check. Their EC2
// calls, pools and pool checks must agree step for step.
template <typename FullNode>
SettledRunCounts DriveSettledAgainstFull(SimNode& settled, FullNode& full, std::uint64_t seed,
                                         const PodMix& mix) {
  REQUIRE(settled.Start().ok());
  REQUIRE(full.Start().ok());
  std::mt19937_64 rng(seed);
  std::vector<int> live;
  int next_pod = 0;
  SettledRunCounts counts;
  for (int step = 0; step < mix.steps; ++step) {
    CAPTURE(step);
    const std::uint64_t op = rng() % mix.op_range;
    const int burst =
        mix.max_burst > 1
            ? 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(mix.max_burst))
            : 1;
    const bool pod_op = op < mix.adds + mix.deletes;
    if (op < mix.adds || (pod_op && live.empty())) {
      for (int k = 0; k < burst; ++k) {
        const bool a = settled.controller().AddPod(SimNode::Pod(next_pod)).ok();
        const bool b = full.controller().AddPod(SimNode::Pod(next_pod)).ok();
        REQUIRE(a == b);
        if (a) live.push_back(next_pod);
        ++next_pod;
      }
    } else if (pod_op) {
      for (int k = 0; k < burst && !live.empty(); ++k) {
        const std::size_t i = rng() % live.size();
        settled.DeletePods(live[i], 1);
        full.DeletePods(live[i], 1);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    const absl::Time now = settled.clock().Now();
    if (pod_op) {
      settled.controller().SettleIfIdle(now);
      if (settled.controller().QuietUntil() > now) ++counts.settles;
      continue;
    }
    const absl::Time quiet = settled.controller().QuietUntil();
    if (now < quiet) {
      if (quiet > settled.datastore().next_cooling_end()) ++counts.quiet_past_a_cooldown_end;
      settled.controller().UpdateSignals(now);
      settled.clock().AdvanceTime(testing::kPoolCheckPeriod);
      ++counts.skipped;
    } else {
      REQUIRE(settled.Check().ok());
    }
    REQUIRE(full.Check().ok());
    REQUIRE(settled.ec2().stats().calls == full.ec2().stats().calls);
    REQUIRE(settled.datastore().Stats() == full.datastore().Stats());
    REQUIRE(settled.controller().counters().pool_checks ==
            full.controller().counters().pool_checks);
  }
  return counts;
}

// Mutation caught: a settle that ignores the policy's trigger (the skipped
// check would have grown or shrunk the pool). A settle of a busy
// controller, or of one that has seen InsufficientCidrBlocks, fails
// sim_quiet_checks_test (a driver here is never busy between steps, and the
// subnet never runs out of /28s).
TEST_CASE("SettleIfIdle after a pod comes or goes skips only pool checks that would do nothing, "
          "in both modes") {
  for (AddressMode mode : {AddressMode::kSecondaryIp, AddressMode::kPrefix}) {
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
      CAPTURE(AddressModeName(mode));
      CAPTURE(seed);
      const SimNodeSpec spec = SettleSpec(mode, seed);
      SimNode settled(spec);
      SimNode full(spec);
      const SettledRunCounts counts = DriveSettledAgainstFull(settled, full, seed, PodMix{});
      CHECK(settled.datastore().generation() == full.datastore().generation());
      CHECK(settled.controller().counters().increases > 0);
      CHECK(counts.skipped > 0);
      CHECK(counts.settles > 0);  // a pod change left the node quiet at once
    }
  }
}

// The reference's plan, for the test policies below that change only the
// trigger.
struct ReferencePlan {
  [[nodiscard]] bool NeedsFreeCidrs(const WarmPoolConfig& config,
                                    const ReconcileInputs& inputs) const {
    return ReferencePolicy{}.NeedsFreeCidrs(config, inputs);
  }
  [[nodiscard]] ReconcilePlan Plan(const WarmPoolConfig& config,
                                   const ReconcileInputs& inputs) const {
    return PlanReconcile(config, inputs);
  }
};

// The reference's rules under a policy that says it reads the ADD signals:
// such a pool is never idle through a cooldown's end, so each end brings a
// full check, as before nodes could stay idle through them.
struct ReferenceCheckingEachCooldownEnd : ReferencePlan {
  static constexpr bool kReadsAddSignals = true;
  [[nodiscard]] absl::string_view name() const { return "reference-checking-each-cooldown-end"; }
  [[nodiscard]] bool ShouldCheck(const WarmPoolConfig& config, const PoolStats& stats,
                                 const PoolSignals& signals) const {
    return ReferencePolicy{}.ShouldCheck(config, stats, signals);
  }
};

// One node stays idle through cooldown ends where the trigger says no at
// every cooling count ahead (MarkIdleUntilPoolChanges) and skips the checks
// QuietUntil() says are quiet; the other, on the same random pods, checks
// in full at every step and re-runs the trigger at each cooldown end. Pods
// come and go in bursts of up to 8, one step in eight (about 40 s apart): a
// burst of deletions leaves many addresses cooling at once, and on
// WARM_ENI_TARGET an extra ENI becomes removable only as their cooldowns
// end, checks later. Mutation caught: idle through cooldown ends without
// looking at the counts ahead (with cooling addresses not counted as
// available, the check that frees the extra ENI once they end is lost).
TEST_CASE("A node idle through cooldown ends misses no pool check that would act, in both modes") {
  for (AddressMode mode : {AddressMode::kSecondaryIp, AddressMode::kPrefix}) {
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
      CAPTURE(AddressModeName(mode));
      CAPTURE(seed);
      SimNodeSpec spec = SettleSpec(mode, seed);
      if (seed % 3 == 0) {
        // The reference counts cooling addresses as available, so its
        // trigger never moves as they end; this trigger does.
        spec.configure = [](ControllerConfig& config) {
          config.pool.count_cooling_as_available = false;
        };
      }
      SimNode settled(spec);
      testing::BasicSimNode<ReferenceCheckingEachCooldownEnd> full(spec);
      const SettledRunCounts counts = DriveSettledAgainstFull(
          settled, full, seed,
          PodMix{.op_range = 16, .adds = 2, .deletes = 2, .max_burst = 8, .steps = 1500});
      CHECK(settled.controller().counters().decreases == full.controller().counters().decreases);
      CHECK(counts.quiet_past_a_cooldown_end > 0);
      // Secondary IPs on warm-IP targets go back one by one as their
      // cooldowns end (a /28 only once it is wholly free).
      if (spec.warm_ip_target > 0 && mode == AddressMode::kSecondaryIp) {
        CHECK(full.controller().counters().decreases > 0);
      }
    }
  }
}

// A policy that reads the ADD signals: it also checks while ADDs are
// failing. Its trigger moves with the clock, so its pool is never settled
// ahead of its check.
struct ChecksWhileAddsFail : ReferencePlan {
  [[nodiscard]] absl::string_view name() const { return "checks-while-adds-fail"; }
  [[nodiscard]] bool ShouldCheck(const WarmPoolConfig& config, const PoolStats& stats,
                                 const PoolSignals& signals) const {
    return signals.recent_failed_adds > 0 || ReferencePolicy{}.ShouldCheck(config, stats, signals);
  }
};

// A p3dn node under `policy`, started and converged with 10 pods; one more
// pod comes and the node settles: its QuietUntil() then.
template <typename Policy>
absl::Time QuietAfterAPodSettles(Policy policy) {
  const SimNodeSpec spec = P3dn();
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  ec2::SimulatedEc2<ManualClock> ec2(clock, testing::MakeEc2Options(spec));
  REQUIRE(testing::AddSpecNode(ec2, spec).ok());
  auto controller = NodeController<ManualClock, Policy>::Create(
      clock, testing::MakeControllerConfig(spec), std::move(policy));
  REQUIRE(controller.ok());
  auto sleep = [&clock](absl::Time until) { clock.SetTime(until); };
  REQUIRE(StartNode(*controller, ec2, clock, sleep).ok());
  for (int i = 0; i < 10; ++i) REQUIRE(controller->AddPod(SimNode::Pod(i)).ok());
  for (int i = 0; i < 20; ++i) {
    REQUIRE(RunPoolCheck(*controller, ec2, clock, sleep).ok());
    clock.AdvanceTime(testing::kPoolCheckPeriod);
  }
  REQUIRE(controller->AddPod(SimNode::Pod(10)).ok());
  controller->SettleIfIdle(clock.Now());
  return controller->QuietUntil();
}

TEST_CASE("SettleIfIdle leaves alone a node whose policy reads the ADD signals, typed or erased") {
  const absl::Time after = absl::FromUnixSeconds(1'700'000'000);
  // The reference's rules read no signal: the node is settled at once.
  CHECK(QuietAfterAPodSettles(ReferencePolicy{}) > after);
  CHECK(QuietAfterAPodSettles(AnyWarmPoolPolicy{ReferencePolicy{}}) > after);
  CHECK(QuietAfterAPodSettles(ChecksWhileAddsFail{}) == absl::InfinitePast());
  CHECK(QuietAfterAPodSettles(AnyWarmPoolPolicy{ChecksWhileAddsFail{}}) == absl::InfinitePast());
}

TEST_CASE("NodeController numbers its requests from first_request_id, never reusing one") {
  SimNodeSpec spec = P3dn();
  SimNode node(spec);
  ControllerConfig config = testing::MakeControllerConfig(spec);
  config.first_request_id = std::uint64_t{7} << 40;  // e.g. the node's index in a cluster
  auto controller = NodeController<ManualClock>::Create(node.clock(), config);
  REQUIRE(controller.ok());
  std::vector<Ec2Request> requests = controller->Start(node.clock().Now());
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].id == config.first_request_id);
  REQUIRE(controller->OnResult(requests[0], node.ec2().Call(requests[0].call), node.clock().Now())
              .ok());
  requests = controller->Tick(node.clock().Now());
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].id == config.first_request_id + 1);
}

TEST_CASE(
    "An unschedulable node neither grows its pool nor frees ENIs until it is schedulable again") {
  SimNode node(P3dn());
  REQUIRE(node.Start() == absl::OkStatus());
  REQUIRE(node.datastore().Stats().total_ips == 49);
  node.controller().SetNodeSchedulable(false);
  REQUIRE(node.AddPods(0, 3) == 3);  // too low now
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().enis == 1);
  CHECK(node.controller().counters().enis_attached == 0);
  node.controller().SetNodeSchedulable(true);
  REQUIRE(node.Converge() == absl::OkStatus());
  CHECK(node.datastore().Stats().enis == 2);
}

TEST_CASE(
    "ReleaseOtherModeCidrs returns the other mode's free CIDRs to EC2, keeping those with pods") {
  SimNode node(M5Large(AddressMode::kPrefix));
  auto& ec2 = node.ec2();
  // The node ran on secondary IPs before: its primary holds three /32s.
  auto old_ips = ec2.AssignPrivateIpAddresses({.eni_id = node.primary().id, .count = 3});
  REQUIRE(old_ips.ok());
  auto& controller = node.controller();
  std::vector<Ec2Request> out;
  CHECK(
      controller.ReleaseOtherModeCidrs(node.clock().Now(), out).status() ==
      absl::FailedPreconditionError("ReleaseOtherModeCidrs: the controller is not started; call "
                                    "it after the startup describe, before the first pool check"));
  CHECK(out.empty());
  std::vector<Ec2Request> start = controller.Start(node.clock().Now());
  REQUIRE(controller.OnResult(start[0], ec2.Call(start[0].call), node.clock().Now()).ok());
  REQUIRE(node.datastore().EniViews()[0].secondary_ips == 3);
  // A pod restored from a checkpoint still holds the first old address.
  REQUIRE(node.datastore()
              .AssignAt({"aws-cni", "restored", "eth0"}, (*old_ips)[0], node.clock().Now())
              .ok());

  auto released = controller.ReleaseOtherModeCidrs(node.clock().Now(), out);
  REQUIRE(released.ok());
  CHECK(*released == 2);
  REQUIRE(out.size() == 1);
  const auto* unassign = std::get_if<UnassignPrivateIpAddressesRequest>(&out[0].call);
  REQUIRE(unassign != nullptr);
  CHECK(unassign->addresses.size() == 2);
  CHECK(std::find(unassign->addresses.begin(), unassign->addresses.end(), (*old_ips)[0]) ==
        unassign->addresses.end());
  REQUIRE(controller.OnResult(out[0], ec2.Call(out[0].call), node.clock().Now()).ok());
  CHECK(node.datastore().EniViews()[0].secondary_ips == 1);
  CHECK(ec2.FindEni(node.primary().id)->secondary_ips == std::vector<Ipv4Address>{(*old_ips)[0]});
  CHECK(testing::CheckNodeAgainstEc2(controller, ec2) == absl::OkStatus());
}

}  // namespace
}  // namespace enipool
