// Benchmarks for NodeController::Tick, the call a cluster simulation makes
// ~10^8 times (5,000 nodes × every 5 s × 24 h). Baseline: one
// NodeDatastore::Stats() call, which every Tick makes; read Tick as a ratio
// to it.
//
//   BM_DatastoreStats            the baseline
//   BM_TickIdle                  a converged node, nothing changes: the fast path
//   BM_PodChurnOnly              a pod leaves and another comes (no Tick): the
//                                baseline for the two below
//   BM_TickAfterPodChurn         a pod leaves and another comes between ticks:
//                                the generation changes, the O(1) predicates run
//   BM_TickAfterPodChurnWarmIp   the same with WARM_IP_TARGET / MINIMUM_IP_TARGET,
//                                whose free-ENI trigger is always on: each
//                                change costs a full PlanReconcile
// Each runs in both address modes: <name>/secondary_ip and <name>/prefix.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "benchmark_main.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/driver.h"
#include "enipool/ec2/simulated_ec2.h"

namespace {

using enipool::AddressMode;
using enipool::benchmarks::Ok;
using enipool::ManualClock;
using enipool::NodeController;

// A node of m5.large-like limits on a zero-latency, unthrottled EC2, with
// `pods` pods and its pool converged.
struct Node {
  explicit Node(AddressMode mode, int pods, bool warm_ip_targets)
      : clock(absl::FromUnixSeconds(1'700'000'000)),
        ec2(clock, {.seed = 1,
                    .latency = enipool::ec2::LatencyModel::Zero(),
                    .throttle = enipool::ec2::ThrottleConfig::Disabled()}) {
    Note(ec2.AddSubnet("subnet-a", *enipool::Ipv4Prefix::Parse("10.0.0.0/20")));
    Note(ec2.AddInstance(
                {.instance_id = "i-1", .subnet_id = "subnet-a", .max_enis = 3, .ipv4_per_eni = 10})
             .status());
    enipool::ControllerConfig config;
    config.pool.mode = mode;
    config.pool.max_enis = 3;
    config.pool.ipv4_per_eni = 10;
    config.pool.max_pods = mode == AddressMode::kPrefix ? 110 : 29;
    config.pool.warm_prefix_target = 1;
    if (warm_ip_targets) {
      config.pool.warm_ip_target = 10;  // more than the addresses a 30 s cooldown holds here
      config.pool.minimum_ip_target = 10;
    }
    config.instance_id = "i-1";
    config.subnet_id = "subnet-a";
    auto made = NodeController<ManualClock>::Create(clock, config);
    Note(made.status());
    if (!setup.ok()) return;
    controller.emplace(*std::move(made));
    auto sleep_until = [this](absl::Time t) { clock.SetTime(t); };
    Note(enipool::StartNode(*controller, ec2, clock, sleep_until));
    for (int i = 0; i < pods && setup.ok(); ++i) {
      for (int check = 0; !controller->AddPod(Pod(i)).ok(); ++check) {
        if (check == 100) Note(absl::InternalError(absl::StrCat("pod ", i, " got no address")));
        if (!setup.ok()) return;
        Note(enipool::RunPoolCheck(*controller, ec2, clock, sleep_until).status());
        clock.AdvanceTime(absl::Seconds(5));
      }
    }
    for (int i = 0; i < 40; ++i) {
      Note(enipool::RunPoolCheck(*controller, ec2, clock, sleep_until).status());
      clock.AdvanceTime(absl::Seconds(5));
    }
  }
  // Keeps the first failure of the setup (benchmarks check `setup`).
  void Note(const absl::Status& status) {
    if (setup.ok()) setup = status;
  }
  static enipool::PodKey Pod(int i) { return {"aws-cni", absl::StrCat("pod-", i), "eth0"}; }

  ManualClock clock;
  enipool::ec2::SimulatedEc2<ManualClock> ec2;
  std::optional<NodeController<ManualClock>> controller;
  absl::Status setup;
};

void BM_DatastoreStats(benchmark::State& state, AddressMode mode) {
  Node node(mode, 10, false);
  if (!Ok(state, node.setup, "setup")) return;
  for (auto _ : state) {
    node.clock.AdvanceTime(absl::Seconds(5));
    benchmark::DoNotOptimize(node.controller->datastore().Stats());
  }
}
BENCHMARK_CAPTURE(BM_DatastoreStats, secondary_ip, AddressMode::kSecondaryIp);
BENCHMARK_CAPTURE(BM_DatastoreStats, prefix, AddressMode::kPrefix);

void BM_TickIdle(benchmark::State& state, AddressMode mode) {
  Node node(mode, 10, false);
  if (!Ok(state, node.setup, "setup")) return;
  std::vector<enipool::Ec2Request> out;
  for (auto _ : state) {
    node.clock.AdvanceTime(absl::Seconds(5));
    node.controller->Tick(node.clock.Now(), out);
    benchmark::DoNotOptimize(out.data());
  }
  if (!out.empty()) state.SkipWithError("an idle node asked for EC2 calls");
}
BENCHMARK_CAPTURE(BM_TickIdle, secondary_ip, AddressMode::kSecondaryIp);
BENCHMARK_CAPTURE(BM_TickIdle, prefix, AddressMode::kPrefix);

// One pod out, one pod in, then (if `tick`) a Tick: the pool changes every
// tick but stays inside its band, so no EC2 call is due. Without `tick` it
// is the churn's own cost, the baseline for the two below.
void TickAfterChurn(benchmark::State& state, AddressMode mode, bool warm_ip_targets,
                    bool tick = true) {
  Node node(mode, 10, warm_ip_targets);
  if (!Ok(state, node.setup, "setup")) return;
  std::vector<enipool::Ec2Request> out;
  const std::int64_t checks_before = node.controller->counters().pool_checks;
  int next = 10;
  int oldest = 0;
  for (auto _ : state) {
    node.clock.AdvanceTime(absl::Seconds(5));
    if (!Ok(state, node.controller->DeletePod(Node::Pod(oldest++)).status(), "DeletePod") ||
        !Ok(state, node.controller->AddPod(Node::Pod(next++)).status(), "AddPod")) {
      break;
    }
    if (tick) node.controller->Tick(node.clock.Now(), out);
    benchmark::DoNotOptimize(out.data());
    if (!out.empty()) {
      state.SkipWithError("churn inside the band asked for EC2 calls");
      break;
    }
  }
  if (!tick) return;
  state.counters["pool_checks_per_tick"] = benchmark::Counter(
      static_cast<double>(node.controller->counters().pool_checks - checks_before),
      benchmark::Counter::kAvgIterations);
}

void BM_PodChurnOnly(benchmark::State& state, AddressMode mode) {
  TickAfterChurn(state, mode, false, /*tick=*/false);
}
BENCHMARK_CAPTURE(BM_PodChurnOnly, secondary_ip, AddressMode::kSecondaryIp);
BENCHMARK_CAPTURE(BM_PodChurnOnly, prefix, AddressMode::kPrefix);

void BM_TickAfterPodChurn(benchmark::State& state, AddressMode mode) {
  TickAfterChurn(state, mode, false);
}
BENCHMARK_CAPTURE(BM_TickAfterPodChurn, secondary_ip, AddressMode::kSecondaryIp);
BENCHMARK_CAPTURE(BM_TickAfterPodChurn, prefix, AddressMode::kPrefix);

void BM_TickAfterPodChurnWarmIp(benchmark::State& state, AddressMode mode) {
  TickAfterChurn(state, mode, true);
}
BENCHMARK_CAPTURE(BM_TickAfterPodChurnWarmIp, secondary_ip, AddressMode::kSecondaryIp);
BENCHMARK_CAPTURE(BM_TickAfterPodChurnWarmIp, prefix, AddressMode::kPrefix);

}  // namespace
