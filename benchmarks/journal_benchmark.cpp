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
//
// Opening: BM_Journal_OpenDamagedTail opens a small journal followed by a
// crafted damaged tail of 1, 2 or 4 MiB (testing/journal_damage.h: a
// record-like header claiming ~256 KiB every 8th byte), next to
// BM_Journal_OpenUndamaged, a journal of valid records of the same size
// replayed into the datastore, and BM_Journal_Crc32c, reading the same bytes
// once. Time should grow linearly with the size in all three; the ratio
// damaged / undamaged is the figure to quote.

#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark_main.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/internal/crc32c.h"
#include "enipool/ipv4.h"
#include "enipool/persist/journal.h"
#include "enipool/pod_key.h"
#include "enipool/status.h"
#include "testing/journal_damage.h"
#include "testing/memory_file_system.h"

namespace {

using enipool::AddressMode;
using enipool::PodKey;
using enipool::RealClock;
using enipool::SyncPolicy;
using enipool::benchmarks::Ok;

const RealClock kClock;

template <typename Store>
absl::Status AddNode(Store& ds) {
  for (int e = 0; e < 3; ++e) {
    const std::string id = absl::StrCat("eni-", e);
    ENIPOOL_RETURN_IF_ERROR(ds.AddEni({.id = id, .device_number = e, .primary = e == 0}));
    for (int p = 0; p < 16; ++p) {
      const std::uint32_t base = (10u << 24) | (static_cast<std::uint32_t>(e) << 16) |
                                 (static_cast<std::uint32_t>(p) << 4);
      ENIPOOL_RETURN_IF_ERROR(
          ds.AddCidr(id, *enipool::Ipv4Prefix::Create(enipool::Ipv4Address(base), 28)));
    }
  }
  return absl::OkStatus();
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
  if (!Ok(state, AddNode(ds), "setup")) return;
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
    if (!Ok(state, AddNode(*store), "setup")) {
      std::filesystem::remove_all(dir);
      return;
    }
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

using MemoryStore = enipool::JournaledDatastore<enipool::ManualClock>;
constexpr char kMemoryPath[] = "/journal";

MemoryStore::Options MemoryOptions(enipool::testing::MemoryFileSystem& fs) {
  MemoryStore::Options options;
  options.mode = AddressMode::kPrefix;
  options.ip_cooldown = absl::ZeroDuration();
  options.journal.sync = SyncPolicy::kNone;
  options.journal.compact_after_bytes = 0;
  options.journal.file_system = &fs;
  return options;
}

// A journal of the node's setup and then assign/release records, of at least
// `bytes` bytes (JournalOf(0): the setup alone).
std::string JournalOf(std::size_t bytes) {
  enipool::testing::MemoryFileSystem fs;
  enipool::ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  auto store = MemoryStore::Open(kMemoryPath, clock, MemoryOptions(fs));
  if (!store.ok() || !AddNode(*store).ok()) return {};
  const auto pods = Pods();
  for (std::size_t i = 0; fs.files[kMemoryPath].data.size() < bytes; ++i) {
    const PodKey& pod = pods[i % pods.size()];
    if (!store->Assign(pod).ok() || !store->Release(pod).ok()) return {};
    clock.AdvanceTime(absl::Nanoseconds(1));
  }
  return fs.files[kMemoryPath].data;
}

void OpenLoop(benchmark::State& state, const std::string& file, std::uint64_t want_torn) {
  enipool::testing::MemoryFileSystem fs;
  const enipool::ManualClock clock(absl::FromUnixSeconds(1'800'000'000));
  for (auto _ : state) {
    fs.files[kMemoryPath].data = file;  // Open cuts a torn tail: start from the same bytes
    auto store = MemoryStore::Open(kMemoryPath, clock, MemoryOptions(fs));
    if (!store.ok() || store->replay_report().torn_bytes != want_torn) {
      state.SkipWithError("the journal did not open as expected");
      break;
    }
    benchmark::DoNotOptimize(store);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(file.size()));
}

void BM_Journal_OpenUndamaged(benchmark::State& state) {
  const std::string file = JournalOf(static_cast<std::size_t>(state.range(0)) << 20);
  OpenLoop(state, file, 0);
}
BENCHMARK(BM_Journal_OpenUndamaged)->ArgName("mib")->Arg(1)->Arg(2)->Arg(4)->Unit(benchmark::kMillisecond);

void BM_Journal_OpenDamagedTail(benchmark::State& state) {
  const std::string damage =
      enipool::testing::CraftedDamage(static_cast<std::size_t>(state.range(0)) << 20, /*seed=*/1);
  const std::string file = JournalOf(0) + damage;
  OpenLoop(state, file, damage.size());
}
BENCHMARK(BM_Journal_OpenDamagedTail)->ArgName("mib")->Arg(1)->Arg(2)->Arg(4)->Unit(benchmark::kMillisecond);

void BM_Journal_Crc32c(benchmark::State& state) {
  const std::string bytes =
      enipool::testing::CraftedDamage(static_cast<std::size_t>(state.range(0)) << 20, /*seed=*/1);
  for (auto _ : state) benchmark::DoNotOptimize(enipool::internal::Crc32c(bytes));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}
BENCHMARK(BM_Journal_Crc32c)->ArgName("mib")->Arg(1)->Arg(2)->Arg(4)->Unit(benchmark::kMillisecond);

}  // namespace
