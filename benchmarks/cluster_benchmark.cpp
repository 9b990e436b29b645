// Benchmarks of the cluster simulator.
//
//   * BM_EventQueue_PushPop / BM_ActionQueue_PushPop: one pop and one push at
//     a steady queue depth — the POD event heap sim::EventQueue uses, against
//     a heap of absl::AnyInvocable<void()> actions (the textbook shape of a
//     discrete-event queue) as the baseline; /depth:N is the queue depth.
//     items/s = events/s of the bare queue. (A 4-ary heap was tried: 1.9x
//     faster at 1,024 events, 1.5x slower at 600,000; std::push_heap /
//     std::pop_heap stayed.)
//   * BM_Cluster_SteadyChurn/nodes:N/hours:H/prefix:0|1/throttle:0|1/quiet:0|1: a whole
//     cluster under steady churn (≈110 pods per node, exponential lifetimes
//     with a mean of 1 h, starting at steady state) on m5.4xlarge nodes;
//     prefix 0 = secondary IPs (WARM_ENI_TARGET=1), 1 = prefixes
//     (WARM_PREFIX_TARGET=1, max pods 234 like secondary IPs); throttle 1 =
//     AWS's default account-wide API buckets; quiet 0 = every pool check
//     in full (ClusterConfig::skip_quiet_pool_checks off: the same results,
//     the baseline of quiet 1). The 5,000-node headline runs
//     with throttle 0: with AWS's default buckets (5 ENI creations a second
//     for the whole account) a cold 5,000-node cluster spends hours warming
//     up — realistic, but then pod retries, not churn, are what is measured. Counters: events/s
//     (items_per_second), simulated seconds per wall second, heap bytes per node (the empty
//     cluster) and per live pod (what the pods add), pods created, pods still
//     waiting at the end, throttled EC2 calls, quiet pool checks (counted as
//     events) and the events that went through the queue (a node that is
//     quiet until something reaches it queues no checks).
//   * BM_Cluster_SteadyChurn_QueueOnly_Baseline: its baseline, the same
//     number of events through the bare event queue at the run's depth.
//
// The CTest smoke run registers only a small cluster. The headline, 5,000
// nodes for 24 simulated hours, runs when ENIPOOL_BENCHMARK_FULL is set:
//
//   ENIPOOL_BENCHMARK_FULL=1 enipool_cluster_benchmark --benchmark_filter=SteadyChurn/5000
//
// The 100,000-node day (BM_Cluster_Day, the same cluster as SteadyChurn)
// with its 5,000-node baselines (quiet checks run in full, and skipped) and
// a 20,000-node point, wall time and peak
// RSS of the whole run from /usr/bin/time:
//
//   ENIPOOL_BENCHMARK_100K=1 /usr/bin/time -v enipool_cluster_benchmark
//       --benchmark_filter=BM_Cluster_Day      (one command line)

#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/strings/str_cat.h"
#include "enipool/sim/cluster.h"
#include "enipool/sim/event_queue.h"

namespace {

namespace ec2 = enipool::ec2;
namespace sim = enipool::sim;

// ---------------------------------------------------------------------------
// The queue alone
// ---------------------------------------------------------------------------

void BM_EventQueue_PushPop(benchmark::State& state) {
  const auto depth = static_cast<std::size_t>(state.range(0));
  sim::EventQueue queue;
  std::mt19937_64 rng(1);
  for (std::size_t i = 0; i < depth; ++i) {
    queue.PushNanos(static_cast<std::int64_t>(rng() % 1'000'000'000), 1, 0, i);
  }
  std::uint64_t sum = 0;
  for (auto _ : state) {
    const sim::Event event = queue.Pop();
    sum += event.payload;
    queue.PushNanos(event.when_ns + static_cast<std::int64_t>(rng() % 1'000'000'000), event.kind,
                    event.node, event.payload);
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EventQueue_PushPop)->ArgName("depth")->Arg(1 << 10)->Arg(600'000);

// The baseline: the same heap discipline over type-erased actions.
class ActionQueue {
 public:
  void Push(std::int64_t when, absl::AnyInvocable<void()> action) {
    heap_.push_back(Entry{when, seq_++, std::move(action)});
    std::push_heap(heap_.begin(), heap_.end(), std::greater<>{});
  }
  std::pair<std::int64_t, absl::AnyInvocable<void()>> Pop() {
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
    Entry entry = std::move(heap_.back());
    heap_.pop_back();
    return {entry.when, std::move(entry.action)};
  }

 private:
  struct Entry {
    std::int64_t when;
    std::uint64_t seq;
    absl::AnyInvocable<void()> action;
    bool operator>(const Entry& other) const {
      return when != other.when ? when > other.when : seq > other.seq;
    }
  };
  std::vector<Entry> heap_;
  std::uint64_t seq_ = 0;
};

void BM_ActionQueue_PushPop(benchmark::State& state) {
  const auto depth = static_cast<std::size_t>(state.range(0));
  ActionQueue queue;
  std::mt19937_64 rng(1);
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < depth; ++i) {
    queue.Push(static_cast<std::int64_t>(rng() % 1'000'000'000), [&sum, i] { sum += i; });
  }
  for (auto _ : state) {
    auto [when, action] = queue.Pop();
    action();
    queue.Push(when + static_cast<std::int64_t>(rng() % 1'000'000'000), std::move(action));
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ActionQueue_PushPop)->ArgName("depth")->Arg(1 << 10)->Arg(600'000);

// ---------------------------------------------------------------------------
// A whole cluster
// ---------------------------------------------------------------------------

// Bytes the allocator has handed out: small chunks (uordblks) plus the large
// blocks glibc serves with mmap (hblkhd), such as the vectors of nodes, pods
// and events in a big cluster.
std::size_t HeapInUse() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

sim::ClusterConfig SteadyChurnConfig(int nodes, int hours, bool prefix, bool throttle) {
  constexpr int kPodsPerNode = 110;
  const absl::Duration mean_lifetime = absl::Hours(1);
  sim::ClusterConfig config;
  config.name = prefix ? "prefix" : "secondary-ip";
  config.instance_type = "m5.4xlarge";  // 8 ENIs x 30 addresses: max pods 234
  config.nodes = nodes;
  config.pool.mode = prefix ? enipool::AddressMode::kPrefix : enipool::AddressMode::kSecondaryIp;
  config.max_pods = 234;
  // Little's law: population = rate x mean lifetime.
  config.workload = sim::ChurnWorkload{
      .arrivals_per_second = nodes * kPodsPerNode / absl::ToDoubleSeconds(mean_lifetime),
      .lifetime = {sim::Lifetime::Kind::kExponential, mean_lifetime, 1},
      .initial_pods = nodes * kPodsPerNode};
  // /16 subnets, at most 312 nodes each (≈170 addresses a node, 53,000 of
  // 65,536): 16 up to 5,000 nodes, 320 for 100,000; node i lives in subnet
  // i mod S. Past 10.255/16 they continue in 11.0/16 and on (the simulated
  // VPC does not care that those are not private ranges).
  config.subnets.clear();
  const int subnets = std::max(16, nodes / 312);
  for (int s = 0; s < subnets; ++s) {
    config.subnets.push_back(
        *sim::ParseSubnet(absl::StrCat(10 + s / 256, ".", s % 256, ".0.0/16")));
  }
  config.duration = absl::Hours(hours);
  config.sample_interval = absl::Minutes(1);
  config.seed = 1;
  if (!throttle) config.throttle = ec2::ThrottleConfig::Disabled();
  return config;
}

void BM_Cluster_SteadyChurn(benchmark::State& state) {
  const auto nodes = static_cast<int>(state.range(0));
  const auto hours = static_cast<int>(state.range(1));
  const bool prefix = state.range(2) != 0;
  const bool throttle = state.range(3) != 0;
  sim::ClusterConfig config = SteadyChurnConfig(nodes, hours, prefix, throttle);
  // Optional 5th argument: quiet pool checks skipped (1, the default) or run
  // in full (0, the baseline; the same results, see ClusterConfig).
  if (state.range(4) == 0) config.skip_quiet_pool_checks = false;
  // 6th: the nodes' ADDs and DELs on a thread of their own (1) or not (0,
  // the default; the same results, see ClusterConfig::node_thread).
  config.node_thread = state.range(5) != 0;
  std::int64_t events = 0, quiet = 0, queued = 0;
  double heap_per_node = 0, heap_per_pod = 0;
  sim::RunReport last;
  for (auto _ : state) {
    const std::size_t heap0 = HeapInUse();
    auto cluster = sim::Cluster::Create(config);
    if (!cluster.ok()) {
      state.SkipWithError(std::string(cluster.status().message()).c_str());
      return;
    }
    const std::size_t heap1 = HeapInUse();
    (*cluster)->RunUntil(absl::ToUnixNanos(absl::UnixEpoch() + config.duration));
    const std::size_t heap2 = HeapInUse();
    const std::int64_t live = (*cluster)->pods_ready() + (*cluster)->pods_pending();
    absl::StatusOr<sim::RunReport> report = (*cluster)->Run();
    if (!report.ok()) {
      state.SkipWithError(std::string(report.status().message()).c_str());
      return;
    }
    events += report->events;
    quiet += (*cluster)->quiet_pool_checks();
    queued += (*cluster)->queue_events();
    heap_per_node = static_cast<double>(heap1 - heap0) / nodes;
    heap_per_pod = live > 0 ? static_cast<double>(heap2 - heap1) / static_cast<double>(live) : 0;
    last = *std::move(report);
  }
  state.SetItemsProcessed(events);
  state.counters["sim_s_per_wall_s"] = benchmark::Counter(
      absl::ToDoubleSeconds(config.duration) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
  state.counters["bytes_per_node"] = heap_per_node;
  state.counters["bytes_per_pod"] = heap_per_pod;
  state.counters["pods_created"] = static_cast<double>(last.pods_created);
  state.counters["pods_waiting_end"] = static_cast<double>(last.pods_pending);
  state.counters["pods_waited"] = static_cast<double>(last.pods_waited);
  state.counters["throttled"] = static_cast<double>(last.throttled_calls);
  state.counters["ec2_calls"] = static_cast<double>(last.ec2_calls);
  state.counters["quiet_checks"] = static_cast<double>(quiet);
  // Events that went through the queue (a dormant node's quiet checks do not).
  state.counters["queue_events"] = static_cast<double>(queued);
}

// The baseline of BM_Cluster_SteadyChurn, same arguments: the event queue
// alone doing the run's work — as many events as that run processes (learnt
// from one untimed run of it), popped and pushed at the depth of its live
// pods. items/s here against items/s there is what simulating costs on top
// of ordering the events.
void BM_Cluster_SteadyChurn_QueueOnly_Baseline(benchmark::State& state) {
  const auto nodes = static_cast<int>(state.range(0));
  const sim::ClusterConfig config = SteadyChurnConfig(nodes, static_cast<int>(state.range(1)),
                                                      state.range(2) != 0, state.range(3) != 0);
  auto cluster = sim::Cluster::Create(config);
  if (!cluster.ok()) {
    state.SkipWithError(std::string(cluster.status().message()).c_str());
    return;
  }
  absl::StatusOr<sim::RunReport> report = (*cluster)->Run();
  if (!report.ok()) {
    state.SkipWithError(std::string(report.status().message()).c_str());
    return;
  }
  const std::int64_t events = report->events;
  const auto depth = static_cast<std::size_t>(std::max<std::int64_t>(1, report->pods_ready));
  const std::int64_t span_ns = absl::ToInt64Nanoseconds(config.duration);
  for (auto _ : state) {
    sim::EventQueue queue;
    std::mt19937_64 rng(1);
    for (std::size_t i = 0; i < depth; ++i) {
      queue.PushNanos(static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(span_ns)), 1, 0,
                      i);
    }
    std::uint64_t sum = 0;
    for (std::int64_t i = 0; i < events; ++i) {
      const sim::Event event = queue.Pop();
      sum += event.payload;
      queue.PushNanos(event.when_ns + static_cast<std::int64_t>(rng() % 1'000'000'000),
                      event.kind, event.node, event.payload);
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * events);
}

// The smoke size always; the headline only on request (see the file comment).
void ClusterSizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"nodes", "hours", "prefix", "throttle", "quiet", "thread"});
  b->Args({50, 1, 0, 1, 1, 0})->Args({50, 1, 1, 1, 1, 0})->Args({50, 1, 0, 1, 1, 1});
  if (std::getenv("ENIPOOL_BENCHMARK_FULL") != nullptr) {
    b->Args({500, 24, 0, 1, 1, 0})->Args({1000, 2, 0, 0, 1, 0})->Args({5000, 24, 0, 0, 1, 0});
    b->Args({5000, 24, 1, 0, 1, 0})->Args({5000, 24, 0, 0, 1, 1});
  }
  b->Unit(benchmark::kMillisecond)->Iterations(1);
}
BENCHMARK(BM_Cluster_SteadyChurn_QueueOnly_Baseline)->Apply(ClusterSizes);
BENCHMARK(BM_Cluster_SteadyChurn)->Apply(ClusterSizes);

// The largest EKS clusters' size, on request (ENIPOOL_BENCHMARK_100K=1): a
// 100,000-node day after its baseline in the same run, the 5,000-node day
// (per-event cost and heap per node and per pod are compared between the
// two), with 20,000 nodes between them for the scaling curve. No queue-only
// baseline here: it would run each cluster twice.
//
// ENIPOOL_BENCHMARK_100K_HOURS=H simulates H hours instead of 24 (a steady
// cluster's memory is reached within the first hour; the per-event figures
// of a shorter run hold more of the start, where every node fills).
void HugeClusterSizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"nodes", "hours", "prefix", "throttle", "quiet", "thread"});
  if (std::getenv("ENIPOOL_BENCHMARK_100K") != nullptr) {
    const char* hours_env = std::getenv("ENIPOOL_BENCHMARK_100K_HOURS");
    const int hours = hours_env != nullptr ? std::max(1, std::atoi(hours_env)) : 24;
    b->Args({5000, hours, 0, 0, 0, 0})->Args({5000, hours, 0, 0, 1, 0})->Args({5000, hours, 0, 0, 1, 1});
    b->Args({20000, hours, 0, 0, 1, 0})->Args({20000, hours, 0, 0, 1, 1});
    b->Args({100000, hours, 0, 0, 1, 0})->Args({100000, hours, 0, 0, 1, 1});
  }
  b->Unit(benchmark::kSecond)->Iterations(1);
}
BENCHMARK(BM_Cluster_SteadyChurn)->Name("BM_Cluster_Day")->Apply(HugeClusterSizes);

}  // namespace
