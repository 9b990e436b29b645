// PlanReconcile (one pool check of the warm-pool policy) on a 15-ENI node in
// both modes — nothing to do, too low, too high — plus the stats-only
// pre-check a caller can run before building the ENI views, and two
// baselines in the same binary (copying a PoolStats; copying the 15 EniViews
// a caller builds for each full check), so figures are read as ratios.
//
//   enipool_warm_pool_benchmark --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// The node is a real NodeDatastore: p3dn.24xlarge-like, 15 ENIs × 50
// addresses (S = 49). Secondary-IP mode: 49 /32s per ENI; prefix mode: 2 /28s
// per ENI. The inputs are built once, outside the timed loop.
// `allocs_per_call` counts heap allocations (operator new is replaced here).

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"
#include "enipool/policy/warm_pool.h"
#include "testing/counting_allocator.h"

namespace {

using enipool::testing::allocations;  // every operator new in this binary

using enipool::AddressMode;
using enipool::ReconcileInputs;
using enipool::WarmPoolConfig;

constexpr int kEnis = 15;

WarmPoolConfig Config(AddressMode mode) {
  WarmPoolConfig c;
  c.mode = mode;
  c.max_enis = kEnis;
  c.ipv4_per_eni = 50;
  c.max_pods = 3000;  // no max-pods cap in the way
  if (mode == AddressMode::kPrefix) c.warm_prefix_target = 1;
  return c;
}

// A 15-ENI node with `cidrs_per_eni` CIDRs of the mode on each ENI (the last
// ENI gets `last_eni_cidrs`), and the pool's total less `free` addresses
// assigned to pods (best fit). Returns the inputs of one pool check, with the
// free CIDRs filled in.
ReconcileInputs MakeNode(AddressMode mode, int cidrs_per_eni, int last_eni_cidrs,
                         std::int64_t free) {
  enipool::ManualClock clock(absl::UnixEpoch() + absl::Hours(1));
  enipool::NodeDatastore<enipool::ManualClock> datastore(mode, clock);
  std::uint32_t next = 0;
  for (int d = 0; d < kEnis; ++d) {
    const std::string id = absl::StrCat("eni-", d);
    if (!datastore.AddEni({.id = id, .device_number = d, .primary = d == 0}).ok()) std::abort();
    const int cidrs = d == kEnis - 1 ? last_eni_cidrs : cidrs_per_eni;
    for (int c = 0; c < cidrs; ++c) {
      const enipool::Ipv4Prefix cidr =
          mode == AddressMode::kPrefix
              ? enipool::Ipv4Prefix::Containing(enipool::Ipv4Address(0x0A400000u + 16u * next++),
                                                28)
              : enipool::Ipv4Prefix::FromAddress(enipool::Ipv4Address(0x0A000001u + next++));
      if (!datastore.AddCidr(id, cidr).ok()) std::abort();
    }
  }
  const std::int64_t pods = datastore.Stats().total_ips - free;
  for (std::int64_t p = 0; p < pods; ++p) {
    if (!datastore.Assign({"aws-cni", absl::StrCat("sandbox-", p), "eth0"}).ok()) std::abort();
  }
  clock.AdvanceTime(absl::Minutes(5));
  ReconcileInputs inputs;
  inputs.stats = datastore.Stats();
  inputs.enis = datastore.EniViews();
  inputs.free_cidrs = enipool::FreeCidrsOf(datastore, inputs.enis);
  inputs.now = clock.Now();
  return inputs;
}

void Run(benchmark::State& state, const WarmPoolConfig& config, const ReconcileInputs& inputs) {
  const enipool::ReconcilePlan check = enipool::PlanReconcile(config, inputs);
  state.SetLabel(check.ToString());
  const std::int64_t before = allocations;
  for (auto _ : state) {
    enipool::ReconcilePlan plan = enipool::PlanReconcile(config, inputs);
    benchmark::DoNotOptimize(plan);
  }
  state.counters["allocs_per_call"] = benchmark::Counter(static_cast<double>(allocations - before) /
                                                         static_cast<double>(state.iterations()));
  state.SetItemsProcessed(state.iterations());
}

// Secondary IPs, WARM_ENI_TARGET=1: 15 × 49 = 735 addresses, 60 free (≥ 49,
// < 98): nothing to do, and the free-ENI trigger is off.
void BM_PlanReconcile_Sip_NothingToDo(benchmark::State& state) {
  static const ReconcileInputs inputs = MakeNode(AddressMode::kSecondaryIp, 49, 49, 60);
  Run(state, Config(AddressMode::kSecondaryIp), inputs);
}
BENCHMARK(BM_PlanReconcile_Sip_NothingToDo);

// Secondary IPs with WARM_IP_TARGET=5, 5 free: nothing to do, but the
// free-ENI trigger is always on with IP targets, so every ENI is scanned.
void BM_PlanReconcile_SipWarmIp_NothingToDo(benchmark::State& state) {
  static const ReconcileInputs inputs = MakeNode(AddressMode::kSecondaryIp, 49, 49, 5);
  WarmPoolConfig config = Config(AddressMode::kSecondaryIp);
  config.warm_ip_target = 5;
  Run(state, config, inputs);
}
BENCHMARK(BM_PlanReconcile_SipWarmIp_NothingToDo);

// Secondary IPs, the last ENI holds 40 of 49: 10 free < 49 ⇒ grow it by 9.
void BM_PlanReconcile_Sip_TooLow(benchmark::State& state) {
  static const ReconcileInputs inputs = MakeNode(AddressMode::kSecondaryIp, 49, 40, 10);
  Run(state, Config(AddressMode::kSecondaryIp), inputs);
}
BENCHMARK(BM_PlanReconcile_Sip_TooLow);

// Secondary IPs with WARM_IP_TARGET=5 and 60 free: release 55 /32s.
void BM_PlanReconcile_SipWarmIp_TooHigh(benchmark::State& state) {
  static const ReconcileInputs inputs = MakeNode(AddressMode::kSecondaryIp, 49, 49, 60);
  WarmPoolConfig config = Config(AddressMode::kSecondaryIp);
  config.warm_ip_target = 5;
  Run(state, config, inputs);
}
BENCHMARK(BM_PlanReconcile_SipWarmIp_TooHigh);

// Prefixes, WARM_PREFIX_TARGET=1: 30 /28s = 480 addresses, 20 free (one
// free prefix): nothing to do, no pod-free ENI.
void BM_PlanReconcile_Pd_NothingToDo(benchmark::State& state) {
  static const ReconcileInputs inputs = MakeNode(AddressMode::kPrefix, 2, 2, 20);
  Run(state, Config(AddressMode::kPrefix), inputs);
}
BENCHMARK(BM_PlanReconcile_Pd_NothingToDo);

// Prefixes: 10 free < 16 ⇒ one more prefix on the primary.
void BM_PlanReconcile_Pd_TooLow(benchmark::State& state) {
  static const ReconcileInputs inputs = MakeNode(AddressMode::kPrefix, 2, 2, 10);
  Run(state, Config(AddressMode::kPrefix), inputs);
}
BENCHMARK(BM_PlanReconcile_Pd_TooLow);

// Prefixes: 64 free = 4 free prefixes > 1 ⇒ release 3.
void BM_PlanReconcile_Pd_TooHigh(benchmark::State& state) {
  static const ReconcileInputs inputs = MakeNode(AddressMode::kPrefix, 2, 2, 64);
  Run(state, Config(AddressMode::kPrefix), inputs);
}
BENCHMARK(BM_PlanReconcile_Pd_TooHigh);

// The stats-only pre-check (O(1)) a caller runs before building views.
void BM_PreCheck_Sip_NothingToDo(benchmark::State& state) {
  static const ReconcileInputs inputs = MakeNode(AddressMode::kSecondaryIp, 49, 49, 60);
  const WarmPoolConfig config = Config(AddressMode::kSecondaryIp);
  for (auto _ : state) {
    benchmark::DoNotOptimize(inputs.stats);
    const bool act =
        enipool::IsPoolTooLow(config, inputs.stats) ||
        enipool::IsPoolTooHigh(config, inputs.stats) ||
        enipool::ShouldRemoveExtraEnis(config, inputs.stats, /*pod_free_eni_exists=*/true);
    benchmark::DoNotOptimize(act);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PreCheck_Sip_NothingToDo);

// Baseline: copying one PoolStats.
void BM_Baseline_CopyPoolStats(benchmark::State& state) {
  static const ReconcileInputs inputs = MakeNode(AddressMode::kSecondaryIp, 49, 49, 60);
  for (auto _ : state) {
    enipool::PoolStats copy = inputs.stats;
    benchmark::DoNotOptimize(copy);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Baseline_CopyPoolStats);

// Baseline: copying the 15 EniViews (what a caller pays per full check if it
// rebuilds the views into a fresh vector).
void BM_Baseline_CopyEniViews(benchmark::State& state) {
  static const ReconcileInputs inputs = MakeNode(AddressMode::kSecondaryIp, 49, 49, 60);
  for (auto _ : state) {
    std::vector<enipool::EniView> copy = inputs.enis;
    benchmark::DoNotOptimize(copy.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Baseline_CopyEniViews);

}  // namespace
