// NodeDatastore's pod ADD/DEL hot path on three node sizes, and its floor: an
// absl::flat_hash_map insert + erase of the same pod key, in the same binary
// so that figures are read as ratios of one run.
//
//   enipool_datastore_benchmark --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Every pair runs at 90% occupancy with a 64-character container id, and the
// ManualClock moves past the 30 s cooldown each iteration, so the released
// address really cools and comes back. `allocs_per_pair` counts heap
// allocations (operator new is replaced in this file).

#include <benchmark/benchmark.h>
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"
#include "testing/counting_allocator.h"

namespace {

using enipool::testing::allocations;  // every operator new in this binary

using enipool::AddressMode;
using enipool::ManualClock;
using enipool::PodKey;

struct Shape {
  AddressMode mode;
  int enis;
  int cidrs_per_eni;  // /32s or /28s
};

constexpr Shape kSmall{AddressMode::kSecondaryIp, 3, 9};    // 27 addresses
constexpr Shape kLarge{AddressMode::kSecondaryIp, 15, 49};  // 735 addresses
constexpr Shape kPrefix{AddressMode::kPrefix, 15, 49};      // 11,760 addresses

std::string EniName(int e) { return absl::StrFormat("eni-%017x", e); }

enipool::Ipv4Prefix CidrOf(AddressMode mode, int eni, int i) {
  const auto e = static_cast<std::uint32_t>(eni);
  const auto n = static_cast<std::uint32_t>(i);
  if (mode == AddressMode::kPrefix) {
    return enipool::Ipv4Prefix::Containing(enipool::Ipv4Address((10u << 24) | (e << 16) | (n << 4)),
                                           28);
  }
  return enipool::Ipv4Prefix::FromAddress(enipool::Ipv4Address((10u << 24) | (e << 16) | n));
}

PodKey Key(int i) { return PodKey{"aws-cni", absl::StrFormat("%064x", i), "eth0"}; }

void Build(enipool::NodeDatastore<ManualClock>& ds, const Shape& shape) {
  for (int e = 0; e < shape.enis; ++e) {
    if (!ds.AddEni({.id = EniName(e), .device_number = e, .primary = e == 0}).ok()) std::abort();
    for (int c = 0; c < shape.cidrs_per_eni; ++c) {
      if (!ds.AddCidr(EniName(e), CidrOf(shape.mode, e, c)).ok()) std::abort();
    }
  }
}

std::int64_t TotalOf(const Shape& shape) {
  return std::int64_t{shape.enis} * shape.cidrs_per_eni *
         (shape.mode == AddressMode::kPrefix ? 16 : 1);
}

std::int64_t ResidentOf(const Shape& shape) { return TotalOf(shape) * 9 / 10; }

// Fresh pod keys for the churning pod, rotated so that the index sees new
// keys, as a node does.
std::vector<PodKey> ChurnKeys() {
  std::vector<PodKey> keys;
  for (int i = 0; i < 4096; ++i) keys.push_back(Key(10'000'000 + i));
  return keys;
}

void BM_NodeDatastore_AssignReleasePair(benchmark::State& state, Shape shape,
                                        enipool::Placement placement) {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  enipool::NodeDatastore<ManualClock> ds(shape.mode, clock, absl::Seconds(30), placement);
  Build(ds, shape);
  const std::int64_t resident = ResidentOf(shape);
  for (std::int64_t i = 0; i < resident; ++i) {
    if (!ds.Assign(Key(static_cast<int>(i))).ok()) std::abort();
  }
  const std::vector<PodKey> keys = ChurnKeys();
  std::size_t next = 0;
  for (int i = 0; i < 8192; ++i) {  // warm up: the index and cooldown queue reach steady state
    const PodKey& pod = keys[static_cast<std::size_t>(i) & 4095];
    if (!ds.Assign(pod).ok() || !ds.Release(pod).ok()) std::abort();
    clock.AdvanceTime(absl::Seconds(31));
  }
  const std::int64_t allocations_before = allocations;
  for (auto _ : state) {
    const PodKey& pod = keys[next];
    next = (next + 1) & 4095;
    auto assigned = ds.Assign(pod);
    benchmark::DoNotOptimize(assigned);
    auto released = ds.Release(pod);
    benchmark::DoNotOptimize(released);
    clock.AdvanceTime(absl::Seconds(31));
  }
  state.counters["allocs_per_pair"] = benchmark::Counter(
      static_cast<double>(allocations - allocations_before), benchmark::Counter::kAvgIterations);
  state.counters["addresses"] = static_cast<double>(TotalOf(shape));
  if (ds.Stats().assigned_ips != resident) state.SkipWithError("pool drifted");
}
BENCHMARK_CAPTURE(BM_NodeDatastore_AssignReleasePair, sip_3x9, kSmall,
                  enipool::Placement::kBestFit);
BENCHMARK_CAPTURE(BM_NodeDatastore_AssignReleasePair, sip_15x49, kLarge,
                  enipool::Placement::kBestFit);
BENCHMARK_CAPTURE(BM_NodeDatastore_AssignReleasePair, prefix_15x49, kPrefix,
                  enipool::Placement::kBestFit);
BENCHMARK_CAPTURE(BM_NodeDatastore_AssignReleasePair, prefix_15x49_spread, kPrefix,
                  enipool::Placement::kSpread);
BENCHMARK_CAPTURE(BM_NodeDatastore_AssignReleasePair, prefix_15x49_first_fit, kPrefix,
                  enipool::Placement::kFirstFit);

// Thread CPU time: the machine is shared, and wall time would count the
// moments another process held the core.
double ThreadSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Every address of an empty node handed out, one Assign each. The node is
// built outside the timed region (manual time, in thread CPU seconds), so
// items/s is Assign alone.
void BM_NodeDatastore_FillFromEmpty(benchmark::State& state, Shape shape) {
  const std::int64_t total = TotalOf(shape);
  std::vector<PodKey> keys;
  for (std::int64_t i = 0; i < total; ++i) keys.push_back(Key(static_cast<int>(i)));
  for (auto _ : state) {
    ManualClock clock;
    enipool::NodeDatastore<ManualClock> ds(shape.mode, clock);
    Build(ds, shape);
    const double start = ThreadSeconds();
    for (const PodKey& key : keys) {
      auto assigned = ds.Assign(key);
      benchmark::DoNotOptimize(assigned);
    }
    state.SetIterationTime(ThreadSeconds() - start);
    if (ds.Stats().assigned_ips != total) state.SkipWithError("fill fell short");
  }
  state.SetItemsProcessed(state.iterations() * total);
}
BENCHMARK_CAPTURE(BM_NodeDatastore_FillFromEmpty, sip_3x9, kSmall)->UseManualTime();
BENCHMARK_CAPTURE(BM_NodeDatastore_FillFromEmpty, sip_15x49, kLarge)->UseManualTime();
BENCHMARK_CAPTURE(BM_NodeDatastore_FillFromEmpty, prefix_15x49, kPrefix)->UseManualTime();

// The floor: what any pod-keyed index must pay, an insert + erase of the same
// PodKey in an absl::flat_hash_map holding as many pods as the node.
struct Slot {
  std::uint32_t group = 0;
  std::uint8_t slot = 0;
  std::int64_t assigned_ns = 0;
};

// The baseline of BM_NodeDatastore_FillFromEmpty: the same keys inserted
// into an empty absl::flat_hash_map<PodKey, Slot>, timed the same way (the
// pod-key index alone, which any fill must build).
void BM_FlatHashMap_FillFromEmpty_Baseline(benchmark::State& state, Shape shape) {
  const std::int64_t total = TotalOf(shape);
  std::vector<PodKey> keys;
  for (std::int64_t i = 0; i < total; ++i) keys.push_back(Key(static_cast<int>(i)));
  for (auto _ : state) {
    absl::flat_hash_map<PodKey, Slot> map;
    const double start = ThreadSeconds();
    std::uint32_t n = 0;
    for (const PodKey& key : keys) {
      auto inserted = map.try_emplace(key, Slot{n / 16, static_cast<std::uint8_t>(n % 16), n});
      benchmark::DoNotOptimize(inserted);
      ++n;
    }
    state.SetIterationTime(ThreadSeconds() - start);
    if (static_cast<std::int64_t>(map.size()) != total) state.SkipWithError("fill fell short");
  }
  state.SetItemsProcessed(state.iterations() * total);
}
BENCHMARK_CAPTURE(BM_FlatHashMap_FillFromEmpty_Baseline, sip_3x9, kSmall)->UseManualTime();
BENCHMARK_CAPTURE(BM_FlatHashMap_FillFromEmpty_Baseline, sip_15x49, kLarge)->UseManualTime();
BENCHMARK_CAPTURE(BM_FlatHashMap_FillFromEmpty_Baseline, prefix_15x49, kPrefix)->UseManualTime();

void BM_FlatHashMap_InsertErasePair(benchmark::State& state, Shape shape) {
  absl::flat_hash_map<PodKey, Slot> map;
  const std::int64_t resident = ResidentOf(shape);
  for (std::int64_t i = 0; i < resident; ++i) map.try_emplace(Key(static_cast<int>(i)), Slot{});
  const std::vector<PodKey> keys = ChurnKeys();
  std::size_t next = 0;
  for (const PodKey& pod : keys) {  // the same warm-up as the datastore gets
    map.try_emplace(pod, Slot{});
    map.erase(pod);
  }
  const std::int64_t allocations_before = allocations;
  for (auto _ : state) {
    const PodKey& pod = keys[next];
    next = (next + 1) & 4095;
    auto inserted = map.try_emplace(pod, Slot{1, 2, 3});
    benchmark::DoNotOptimize(inserted);
    benchmark::DoNotOptimize(map.erase(pod));
  }
  state.counters["allocs_per_pair"] = benchmark::Counter(
      static_cast<double>(allocations - allocations_before), benchmark::Counter::kAvgIterations);
}
BENCHMARK_CAPTURE(BM_FlatHashMap_InsertErasePair, sip_3x9, kSmall);
BENCHMARK_CAPTURE(BM_FlatHashMap_InsertErasePair, sip_15x49, kLarge);
BENCHMARK_CAPTURE(BM_FlatHashMap_InsertErasePair, prefix_15x49, kPrefix);

}  // namespace
