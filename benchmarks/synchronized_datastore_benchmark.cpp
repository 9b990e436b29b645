// SynchronizedDatastore throughput: pod ADD + DEL pairs from 1, 2 and 4
// threads on the largest node (15 ENIs × 49 prefixes = 11,760 addresses),
// next to the unsynchronized pair as the baseline, in one binary so that
// figures are read as ratios of one run.
//
//   enipool_synchronized_datastore_benchmark --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
//
// `items_per_second` is pairs per wall-clock second across all threads
// (UseRealTime). Each thread cycles through its own 64 pods, keeping half
// the node assigned (so placement works on a realistic pool). The clock is
// RealClock (thread-safe) with a zero cooldown, so a released address comes
// back at once and the pool never runs dry.
//
// On the 2-core CI machine, more threads cannot add throughput: the figure
// shows what the lock costs when CNI calls collide, not parallel speed-up.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"
#include "enipool/synchronized_datastore.h"

namespace {

using enipool::AddressMode;
using enipool::NodeDatastore;
using enipool::PodKey;
using enipool::RealClock;

constexpr int kEnis = 15;
constexpr int kPrefixesPerEni = 49;
constexpr int kPodsPerThread = 64;

const RealClock kClock;

template <typename Store>
void AddLargestNode(Store& ds) {
  for (int e = 0; e < kEnis; ++e) {
    const std::string id = absl::StrCat("eni-", e);
    (void)ds.AddEni({.id = id, .device_number = e, .primary = e == 0});
    for (int p = 0; p < kPrefixesPerEni; ++p) {
      const std::uint32_t base = (10u << 24) | (static_cast<std::uint32_t>(e) << 16) |
                                 (static_cast<std::uint32_t>(p) << 4);
      (void)ds.AddCidr(id, *enipool::Ipv4Prefix::Create(enipool::Ipv4Address(base), 28));
    }
  }
  // Half the node is taken by long-lived pods.
  for (int i = 0; i < kEnis * kPrefixesPerEni * 8; ++i) {
    (void)ds.Assign({"aws-cni", absl::StrCat("resident-", i), "eth0"});
  }
}

std::vector<PodKey> PodsOf(int thread) {
  std::vector<PodKey> pods;
  for (int i = 0; i < kPodsPerThread; ++i) {
    // 64-character container ids, as containerd makes them.
    std::string id = absl::StrCat("t", thread, "-", i, "-");
    id.resize(64, 'f');
    pods.push_back({"aws-cni", id, "eth0"});
  }
  return pods;
}

void BM_NodeDatastore_AssignRelease_Unsynchronized(benchmark::State& state) {
  NodeDatastore<RealClock> ds(AddressMode::kPrefix, kClock, absl::ZeroDuration());
  AddLargestNode(ds);
  const std::vector<PodKey> pods = PodsOf(0);
  std::size_t i = 0;
  for (auto _ : state) {
    const PodKey& pod = pods[i++ % pods.size()];
    benchmark::DoNotOptimize(ds.Assign(pod));
    benchmark::DoNotOptimize(ds.Release(pod));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NodeDatastore_AssignRelease_Unsynchronized)->UseRealTime();

using Pool = enipool::SynchronizedDatastore<NodeDatastore<RealClock>>;
std::unique_ptr<Pool> shared_pool;
std::once_flag shared_pool_once;

void BM_SynchronizedDatastore_AssignRelease(benchmark::State& state) {
  // One pool for every thread count; built by whichever thread comes first.
  std::call_once(shared_pool_once, [] {
    shared_pool = std::make_unique<Pool>(AddressMode::kPrefix, kClock, absl::ZeroDuration());
    shared_pool->WithLock([](auto& ds) { AddLargestNode(ds); });
  });
  const std::vector<PodKey> pods = PodsOf(state.thread_index());
  std::size_t i = 0;
  for (auto _ : state) {
    const PodKey& pod = pods[i++ % pods.size()];
    benchmark::DoNotOptimize(shared_pool->Assign(pod));
    benchmark::DoNotOptimize(shared_pool->Release(pod));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SynchronizedDatastore_AssignRelease)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

}  // namespace
