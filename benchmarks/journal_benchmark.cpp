// The journal's cost per event: pod ADD + DEL pairs on a JournaledDatastore
// under each sync policy, next to the in-memory pair, in one run. The
// journal is a real file in a fresh directory under /tmp (removed after
// each benchmark), written with write() and, per policy, fdatasync().
//
//   enipool_journal_benchmark --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Time is per pair (an ADD and a DEL: two records); items are events, so
// ns per event = 1e9 / items_per_second = half the time of a pair. Automatic compaction is on (its
// default threshold, 8 MiB), so its amortized cost is included. The clock
// is RealClock with a zero cooldown, so released addresses come back at
// once. Under kEveryRecord the figure is the disk's fdatasync latency; on a
// VM it says more about the virtual disk than about enipool.

#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/persist/journal.h"
#include "enipool/pod_key.h"

namespace {

using enipool::AddressMode;
using enipool::PodKey;
using enipool::RealClock;
using enipool::SyncPolicy;

const RealClock kClock;

template <typename Store>
void AddNode(Store& ds) {
  for (int e = 0; e < 3; ++e) {
    const std::string id = absl::StrCat("eni-", e);
    (void)ds.AddEni({.id = id, .device_number = e, .primary = e == 0});
    for (int p = 0; p < 16; ++p) {
      const std::uint32_t base = (10u << 24) | (static_cast<std::uint32_t>(e) << 16) |
                                 (static_cast<std::uint32_t>(p) << 4);
      (void)ds.AddCidr(id, *enipool::Ipv4Prefix::Create(enipool::Ipv4Address(base), 28));
    }
  }
}

std::vector<PodKey> Pods() {
  std::vector<PodKey> pods;
  for (int i = 0; i < 64; ++i) {
    std::string id = absl::StrCat("c", i, "-");
    id.resize(64, 'f');  // 64-character container ids, as containerd makes them
    pods.push_back({"aws-cni", id, "eth0"});
  }
  return pods;
}

void BM_InMemory_AssignRelease(benchmark::State& state) {
  enipool::NodeDatastore<RealClock> ds(AddressMode::kPrefix, kClock, absl::ZeroDuration());
  AddNode(ds);
  const auto pods = Pods();
  std::size_t i = 0;
  for (auto _ : state) {
    const PodKey& pod = pods[i++ % pods.size()];
    benchmark::DoNotOptimize(ds.Assign(pod));
    benchmark::DoNotOptimize(ds.Release(pod));
  }
  state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(BM_InMemory_AssignRelease)->UseRealTime();

void BM_Journaled_AssignRelease(benchmark::State& state, SyncPolicy policy) {
  char dir_template[] = "/tmp/enipool-journal-bench-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  const std::string dir = dir_template;
  {
    using Store = enipool::JournaledDatastore<RealClock>;
    Store::Options options;
    options.mode = AddressMode::kPrefix;
    options.ip_cooldown = absl::ZeroDuration();
    options.journal.sync = policy;
    auto store = Store::Open(dir + "/journal", kClock, options);
    if (!store.ok()) {
      state.SkipWithError(std::string(store.status().message()).c_str());
      std::filesystem::remove_all(dir);
      return;
    }
    AddNode(*store);
    const auto pods = Pods();
    std::size_t i = 0;
    for (auto _ : state) {
      const PodKey& pod = pods[i++ % pods.size()];
      if (!store->Assign(pod).ok() || !store->Release(pod).ok()) {
        state.SkipWithError("journaled assign/release failed");
        break;
      }
    }
    const auto stats = store->journal_stats();
    state.counters["syncs_per_event"] =
        static_cast<double>(stats.syncs) / static_cast<double>(std::max<std::uint64_t>(1, stats.records));
    state.counters["compactions"] = static_cast<double>(stats.compactions);
  }
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK_CAPTURE(BM_Journaled_AssignRelease, sync_none, SyncPolicy::kNone)->UseRealTime();
BENCHMARK_CAPTURE(BM_Journaled_AssignRelease, sync_batched, SyncPolicy::kBatched)->UseRealTime();
BENCHMARK_CAPTURE(BM_Journaled_AssignRelease, sync_every_record, SyncPolicy::kEveryRecord)
    ->UseRealTime();

}  // namespace
