// NodeAgent: pod ADD + DEL through the threaded runtime, next to the bare
// NodeDatastore pair as the baseline of the same run, on the largest node
// (15 ENIs × 49 prefixes = 11,760 addresses, half of them held by resident
// pods), with the agent's pool thread and EC2 thread running.
//
//   enipool_agent_benchmark --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
//
// * BM_NodeDatastore_AddDelPair: the baseline, no lock, no controller.
// * BM_NodeAgent_AddDelPair/threads:N: the same pair through
//   NodeAgent::AddPod / DeletePod from 1, 2 and 8 client threads (one
//   agent shared by all; items_per_second is pairs per wall second across
//   the threads).
// * BM_NodeAgent_AddDelPair_Journaled/sync:{0,1,2}/threads:N: the same on
//   the journaled store (JournaledDatastore on a file in /tmp): sync 0 =
//   SyncPolicy::kNone, 1 = kBatched, 2 = kEveryRecord (an fdatasync per
//   record, under the pod lock: the disk's sync latency per ADD and DEL).
// * BM_NodeAgent_AddLatency/idle and /ec2_call_in_flight: one client thread
//   timing each ADD (counters p50_ns, p99_ns, p999_ns). In the second, the
//   pool thread is inside a DescribeNetworkInterfaces that takes 3 s for the
//   whole measurement (the EC2 backend sleeps; `in_call` reports 1 if the
//   call was still in flight when the measurement ended). ADD never waits
//   for EC2, so the two p99s should match.
//
// The clock is RealClock with a zero cooldown, so a released address comes
// back at once. On the 2-core machine, 8 client threads plus the agent's two
// cannot add throughput: the figure shows what the lock costs under
// contention.

#include <algorithm>
#include <cstdlib>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "enipool/agent.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/datastore.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/ec2/synchronized_backend.h"
#include "enipool/persist/journal.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"

namespace {

using enipool::AddressMode;
using enipool::PodKey;
using enipool::RealClock;

constexpr int kEnis = 15;
constexpr int kPrefixesPerEni = 49;
constexpr int kPodsPerThread = 64;
constexpr int kResidents = kEnis * kPrefixesPerEni * 8;  // half the node

const RealClock kClock;

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

PodKey Resident(int i) { return {"aws-cni", absl::StrCat("resident-", i), "eth0"}; }

// --- the baseline ------------------------------------------------------------

void BM_NodeDatastore_AddDelPair(benchmark::State& state) {
  enipool::NodeDatastore<RealClock> ds(AddressMode::kPrefix, kClock, absl::ZeroDuration());
  for (int e = 0; e < kEnis; ++e) {
    const std::string id = absl::StrCat("eni-", e);
    (void)ds.AddEni({.id = id, .device_number = e, .primary = e == 0});
    for (int p = 0; p < kPrefixesPerEni; ++p) {
      const std::uint32_t base = (10u << 24) | (static_cast<std::uint32_t>(e) << 16) |
                                 (static_cast<std::uint32_t>(p) << 4);
      (void)ds.AddCidr(id, *enipool::Ipv4Prefix::Create(enipool::Ipv4Address(base), 28));
    }
  }
  for (int i = 0; i < kResidents; ++i) (void)ds.Assign(Resident(i));
  const std::vector<PodKey> pods = PodsOf(0);
  std::size_t i = 0;
  for (auto _ : state) {
    const PodKey& pod = pods[i++ % pods.size()];
    benchmark::DoNotOptimize(ds.Assign(pod));
    benchmark::DoNotOptimize(ds.Release(pod));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NodeDatastore_AddDelPair)->UseRealTime();

// --- the agent ---------------------------------------------------------------

using Sim = enipool::ec2::SimulatedEc2<RealClock>;
using SyncEc2 = enipool::ec2::SynchronizedBackend<Sim>;

// The simulated EC2, each call delayed by `delay` (real sleep, outside the
// simulator's lock); `calls_entered` / `in_call` let a benchmark wait for a
// call to be in flight.
class SlowEc2 {
 public:
  explicit SlowEc2(SyncEc2& ec2) : ec2_(ec2) {}
  std::atomic<std::int64_t> delay_ns{0};
  std::atomic<std::int64_t> calls_entered{0};
  std::atomic<bool> in_call{false};

  absl::StatusOr<enipool::NetworkInterface> CreateNetworkInterface(
      const enipool::CreateNetworkInterfaceRequest& r) {
    Delay d(*this);
    return ec2_.CreateNetworkInterface(r);
  }
  absl::StatusOr<std::string> AttachNetworkInterface(
      const enipool::AttachNetworkInterfaceRequest& r) {
    Delay d(*this);
    return ec2_.AttachNetworkInterface(r);
  }
  absl::Status DetachNetworkInterface(const enipool::DetachNetworkInterfaceRequest& r) {
    Delay d(*this);
    return ec2_.DetachNetworkInterface(r);
  }
  absl::Status DeleteNetworkInterface(const enipool::DeleteNetworkInterfaceRequest& r) {
    Delay d(*this);
    return ec2_.DeleteNetworkInterface(r);
  }
  absl::StatusOr<std::vector<enipool::Ipv4Address>> AssignPrivateIpAddresses(
      const enipool::AssignPrivateIpAddressesRequest& r) {
    Delay d(*this);
    return ec2_.AssignPrivateIpAddresses(r);
  }
  absl::StatusOr<std::vector<enipool::Ipv4Prefix>> AssignIpv4Prefixes(
      const enipool::AssignIpv4PrefixesRequest& r) {
    Delay d(*this);
    return ec2_.AssignIpv4Prefixes(r);
  }
  absl::Status UnassignPrivateIpAddresses(const enipool::UnassignPrivateIpAddressesRequest& r) {
    Delay d(*this);
    return ec2_.UnassignPrivateIpAddresses(r);
  }
  absl::Status UnassignIpv4Prefixes(const enipool::UnassignIpv4PrefixesRequest& r) {
    Delay d(*this);
    return ec2_.UnassignIpv4Prefixes(r);
  }
  absl::StatusOr<std::vector<enipool::NetworkInterface>> DescribeNetworkInterfaces(
      const enipool::DescribeNetworkInterfacesRequest& r) {
    Delay d(*this);
    return ec2_.DescribeNetworkInterfaces(r);
  }
  absl::StatusOr<std::vector<enipool::SubnetInfo>> DescribeSubnets(
      const enipool::DescribeSubnetsRequest& r) {
    Delay d(*this);
    return ec2_.DescribeSubnets(r);
  }
  absl::StatusOr<std::vector<enipool::Ipv6Prefix>> AssignIpv6Prefixes(
      const enipool::AssignIpv6PrefixesRequest& r) {
    Delay d(*this);
    return ec2_.AssignIpv6Prefixes(r);
  }
  absl::Status UnassignIpv6Prefixes(const enipool::UnassignIpv6PrefixesRequest& r) {
    Delay d(*this);
    return ec2_.UnassignIpv6Prefixes(r);
  }
  absl::Status CreateTags(const enipool::CreateTagsRequest& r) {
    Delay d(*this);
    return ec2_.CreateTags(r);
  }
  absl::Status ModifyNetworkInterfaceAttribute(
      const enipool::ModifyNetworkInterfaceAttributeRequest& r) {
    Delay d(*this);
    return ec2_.ModifyNetworkInterfaceAttribute(r);
  }

 private:
  struct Delay {
    explicit Delay(SlowEc2& e) : ec2(e) {
      ec2.calls_entered.fetch_add(1);
      ec2.in_call = true;
      const std::int64_t ns = ec2.delay_ns.load();
      if (ns > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
    }
    ~Delay() { ec2.in_call = false; }
    SlowEc2& ec2;
  };
  SyncEc2& ec2_;
};

using Agent = enipool::NodeAgent<RealClock, SlowEc2>;

// A largest node in the simulated EC2 (its ENIs and prefixes made there
// first), adopted by the agent's startup describe, half of it held by
// resident pods. Provisioning is disabled, so the pool thread plans nothing;
// with `reconcile`, every pool round (every 10 ms) makes a describe.
struct AgentNode {
  explicit AgentNode(bool reconcile)
      : ec2(kClock, enipool::ec2::SimulatedEc2Options{
                        .seed = 7,
                        .latency = enipool::ec2::LatencyModel::Zero(),
                        .throttle = enipool::ec2::ThrottleConfig::Disabled()}),
        slow(ec2) {
    ec2.WithLock([](Sim& sim) {
      (void)sim.AddSubnet("subnet-1", *enipool::Ipv4Prefix::Parse("10.0.0.0/16"));
      auto primary = sim.AddInstance(
          {.instance_id = "i-1", .subnet_id = "subnet-1", .max_enis = kEnis, .ipv4_per_eni = 50});
      (void)sim.AssignIpv4Prefixes({.eni_id = primary->id, .count = kPrefixesPerEni});
      for (int e = 1; e < kEnis; ++e) {
        auto eni = sim.CreateNetworkInterface(
            {.subnet_id = "subnet-1", .ipv4_prefix_count = kPrefixesPerEni});
        (void)sim.AttachNetworkInterface(
            {.eni_id = eni->id, .instance_id = "i-1", .device_index = e});
      }
    });
    enipool::ControllerConfig config;
    config.pool = {.mode = AddressMode::kPrefix, .warm_prefix_target = 1, .max_enis = kEnis,
                   .ipv4_per_eni = 50, .max_pods = 250, .ip_cooldown = absl::ZeroDuration(),
                   .provisioning_disabled = true};
    config.instance_id = "i-1";
    config.subnet_id = "subnet-1";
    if (reconcile) config.reconcile_interval = absl::Nanoseconds(1);
    auto controller = enipool::NodeController<RealClock>::Create(kClock, config);
    auto created = Agent::Create(
        kClock, slow, *std::move(controller),
        {.pool_check_interval = reconcile ? absl::Milliseconds(10) : absl::Seconds(5),
         .call_timeout = absl::Seconds(30)});
    agent = *std::move(created);
    (void)agent->Start();
    (void)agent->AwaitStarted(absl::Seconds(30));
    for (int i = 0; i < kResidents; ++i) (void)agent->AddPod(Resident(i));
  }

  SyncEc2 ec2;
  SlowEc2 slow;
  std::unique_ptr<Agent> agent;
};

AgentNode& SharedNode() {
  static AgentNode node(/*reconcile=*/false);  // stopped at exit by its destructor
  return node;
}

using JournaledStore = enipool::JournaledDatastore<RealClock>;
using JournaledController = enipool::NodeController<RealClock, enipool::ReferencePolicy, JournaledStore>;
using JournaledAgent = enipool::NodeAgent<RealClock, SlowEc2, JournaledController>;

// The largest node on a journal with sync policy `sync`: the journal is
// filled (ENIs, prefixes, residents) without syncs, then reopened with
// `sync`, so that setting up an every-record journal does not take 20,000
// fdatasyncs.
struct JournaledNode {
  explicit JournaledNode(enipool::SyncPolicy sync) : node(/*reconcile=*/false) {
    node.agent.reset();  // only its EC2 is used
    char dir[] = "/tmp/enipool-agent-bench-XXXXXX";
    path = absl::StrCat(mkdtemp(dir), "/journal");
    enipool::ControllerConfig config = Config();
    {
      auto filling = MakeAgent(config, enipool::SyncPolicy::kNone);
      for (int i = 0; i < kResidents; ++i) (void)filling->AddPod(Resident(i));
      (void)filling->Stop();
    }
    agent = MakeAgent(config, sync);
  }
  ~JournaledNode() {
    if (agent != nullptr) (void)agent->Stop();
    (void)std::system(absl::StrCat("rm -rf ", path.substr(0, path.rfind('/'))).c_str());
  }

  static enipool::ControllerConfig Config() {
    enipool::ControllerConfig config;
    config.pool = {.mode = AddressMode::kPrefix, .warm_prefix_target = 1, .max_enis = kEnis,
                   .ipv4_per_eni = 50, .max_pods = 250, .ip_cooldown = absl::ZeroDuration(),
                   .provisioning_disabled = true};
    config.instance_id = "i-1";
    config.subnet_id = "subnet-1";
    return config;
  }

  std::unique_ptr<JournaledAgent> MakeAgent(const enipool::ControllerConfig& config,
                                            enipool::SyncPolicy sync) {
    JournaledStore::Options options;
    options.mode = config.pool.mode;
    options.ip_cooldown = config.pool.ip_cooldown;
    options.journal.sync = sync;
    auto store = JournaledStore::Open(path, kClock, options);
    auto controller = JournaledController::Create(config, *std::move(store));
    auto created = JournaledAgent::Create(kClock, node.slow, *std::move(controller),
                                          {.call_timeout = absl::Seconds(30)});
    std::unique_ptr<JournaledAgent> made = *std::move(created);
    (void)made->Start();
    (void)made->AwaitStarted(absl::Seconds(30));
    return made;
  }

  AgentNode node;
  std::string path;
  std::unique_ptr<JournaledAgent> agent;
};

void BM_NodeAgent_AddDelPair_Journaled(benchmark::State& state) {
  static std::once_flag once[3];
  static std::unique_ptr<JournaledNode> nodes[3];
  const auto policy = static_cast<std::size_t>(state.range(0));
  std::call_once(once[policy], [policy] {
    constexpr enipool::SyncPolicy kPolicies[] = {
        enipool::SyncPolicy::kNone, enipool::SyncPolicy::kBatched, enipool::SyncPolicy::kEveryRecord};
    nodes[policy] = std::make_unique<JournaledNode>(kPolicies[policy]);
  });
  JournaledAgent& agent = *nodes[policy]->agent;
  const std::vector<PodKey> pods = PodsOf(state.thread_index());
  std::size_t i = 0;
  for (auto _ : state) {
    const PodKey& pod = pods[i++ % pods.size()];
    benchmark::DoNotOptimize(agent.AddPod(pod));
    benchmark::DoNotOptimize(agent.DeletePod(pod));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NodeAgent_AddDelPair_Journaled)
    ->ArgName("sync")
    ->DenseRange(0, 2)
    ->Threads(1)
    ->Threads(2)
    ->Threads(8)
    ->UseRealTime();

void BM_NodeAgent_AddDelPair(benchmark::State& state) {
  static std::once_flag once;
  std::call_once(once, [] { (void)SharedNode(); });
  Agent& agent = *SharedNode().agent;
  const std::vector<PodKey> pods = PodsOf(state.thread_index());
  std::size_t i = 0;
  for (auto _ : state) {
    const PodKey& pod = pods[i++ % pods.size()];
    benchmark::DoNotOptimize(agent.AddPod(pod));
    benchmark::DoNotOptimize(agent.DeletePod(pod));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NodeAgent_AddDelPair)->Threads(1)->Threads(2)->Threads(8)->UseRealTime();

// Each iteration is one ADD + DEL pair; only the ADD is timed into the
// percentiles.
void MeasureAddLatency(benchmark::State& state, Agent& agent) {
  const std::vector<PodKey> pods = PodsOf(0);
  std::vector<std::int64_t> latencies;
  latencies.reserve(1 << 20);
  std::size_t i = 0;
  for (auto _ : state) {
    const PodKey& pod = pods[i++ % pods.size()];
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(agent.AddPod(pod));
    const auto end = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(agent.DeletePod(pod));
    if (latencies.size() < latencies.capacity()) {
      latencies.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
    }
  }
  std::sort(latencies.begin(), latencies.end());
  auto percentile = [&](double p) {
    if (latencies.empty()) return 0.0;
    const auto index = static_cast<std::size_t>(p * static_cast<double>(latencies.size() - 1));
    return static_cast<double>(latencies[index]);
  };
  state.counters["p50_ns"] = percentile(0.50);
  state.counters["p99_ns"] = percentile(0.99);
  state.counters["p999_ns"] = percentile(0.999);
  state.SetItemsProcessed(state.iterations());
}

void BM_NodeAgent_AddLatency_Idle(benchmark::State& state) {
  MeasureAddLatency(state, *SharedNode().agent);
}
BENCHMARK(BM_NodeAgent_AddLatency_Idle)->UseRealTime();

void BM_NodeAgent_AddLatency_Ec2CallInFlight(benchmark::State& state) {
  static AgentNode slow_node(/*reconcile=*/true);  // its Stop() at exit waits out the call
  static AgentNode* node = [] {
    slow_node.slow.delay_ns = absl::ToInt64Nanoseconds(absl::Seconds(3));
    return &slow_node;
  }();
  // Start measuring when a fresh 3 s call has just begun, so the whole run
  // (well under 3 s) overlaps it.
  const std::int64_t before = node->slow.calls_entered.load();
  while (node->slow.calls_entered.load() == before) absl::SleepFor(absl::Milliseconds(1));
  MeasureAddLatency(state, *node->agent);
  state.counters["in_call"] = node->slow.in_call.load() ? 1 : 0;
}
BENCHMARK(BM_NodeAgent_AddLatency_Ec2CallInFlight)->UseRealTime();

}  // namespace
