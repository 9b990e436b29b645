// Tests of the living cluster: the scheduler's admission and resource
// packing, several workloads in one run, node groups in availability zones,
// the autoscaler, fault plans and controller settings from a scenario, and
// the conservation of pods, addresses and nodes while nodes join and leave.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/sim/cluster.h"
#include "enipool/sim/node_groups.h"
#include "enipool/sim/scenario.h"
#include "enipool/sim/scheduler.h"
#include "enipool/sim/workload.h"

namespace {

namespace sim = enipool::sim;
using sim::Cluster;
using sim::ClusterConfig;

std::unique_ptr<Cluster> MustCreate(const ClusterConfig& config) {
  absl::StatusOr<std::unique_ptr<Cluster>> cluster = Cluster::Create(config);
  REQUIRE_MESSAGE(cluster.ok(), cluster.status().ToString());
  return *std::move(cluster);
}

ClusterConfig MustParse(const std::string& text) {
  absl::StatusOr<ClusterConfig> config = sim::ParseScenario(text);
  REQUIRE_MESSAGE(config.ok(), config.status().ToString());
  return *config;
}

std::int64_t Ns(absl::Duration d) { return absl::ToInt64Nanoseconds(d); }

// A trace of `pods` adds on node 0 at t = 0 (then nothing).
std::string TraceOnNodeZero(int pods) {
  std::string text = "time,node,pod,action\n";
  for (int i = 0; i < pods; ++i) absl::StrAppend(&text, "0,0,pod-", i, ",add\n");
  return text;
}

ClusterConfig OneNodeTrace(int pods) {
  ClusterConfig config;
  config.nodes = 1;
  config.instance_type = "m5.large";
  config.duration = absl::Minutes(3);
  absl::StatusOr<sim::TraceWorkload> trace = sim::ParseTrace(TraceOnNodeZero(pods));
  REQUIRE(trace.ok());
  config.workload = *trace;
  return config;
}

TEST_CASE("Trace pods beyond a full m5.large's max pods stay pending and never fail an ADD") {
  // m5.large: 3 ENIs x 10 addresses, max pods 29, 27 of them for pods.
  const absl::StatusOr<sim::RunReport> fits = sim::RunScenario(OneNodeTrace(27));
  const absl::StatusOr<sim::RunReport> beyond = sim::RunScenario(OneNodeTrace(40));
  REQUIRE(fits.ok());
  REQUIRE(beyond.ok());
  CHECK(fits->pods_ready == 27);
  CHECK(beyond->pods_ready == 27);
  CHECK(beyond->pods_pending == 13);
  // The 13 kubelet would not admit never reach the CNI: the failed ADDs are
  // those of the 27 admitted pods while the node warmed up, no more.
  CHECK(beyond->failed_adds == fits->failed_adds);
}

TEST_CASE("A trace pod waiting for its full node is admitted when a pod there is deleted") {
  std::string text = TraceOnNodeZero(28);
  absl::StrAppend(&text, "120,0,pod-3,delete\n");
  ClusterConfig config = OneNodeTrace(0);
  absl::StatusOr<sim::TraceWorkload> trace = sim::ParseTrace(text);
  REQUIRE(trace.ok());
  config.workload = *trace;
  std::unique_ptr<Cluster> cluster = MustCreate(config);
  cluster->RunUntil(Ns(absl::Seconds(119)));
  CHECK(cluster->pods_pending() == 1);
  CHECK(cluster->pods_on_node(0) == 27);
  cluster->RunUntil(Ns(absl::Seconds(200)));  // the freed address cools for 30 s first
  CHECK(cluster->pods_pending() == 0);
  CHECK(cluster->pods_ready() == 27);
  CHECK(cluster->CheckConsistency().ok());
}

TEST_CASE("A trace pod without a node is placed by the scheduler on the least-loaded node") {
  absl::StatusOr<sim::TraceWorkload> trace =
      sim::ParseTrace("0,0,a,add\n0,0,b,add\n0,-,c,add\n0,*,d,add\n");
  REQUIRE(trace.ok());
  CHECK(trace->records[2].node == -1);
  ClusterConfig config;
  config.nodes = 2;
  config.workload = *trace;
  std::unique_ptr<Cluster> cluster = MustCreate(config);
  cluster->RunUntil(Ns(absl::Seconds(1)));
  CHECK(cluster->pods_on_node(0) == 2);
  CHECK(cluster->pods_on_node(1) == 2);
}

TEST_CASE("A trace line may give CPU and memory requests and bad ones are named") {
  absl::StatusOr<sim::TraceWorkload> trace = sim::ParseTrace("0,-,a,add,250m,1Gi\n1,-,a,delete\n");
  REQUIRE(trace.ok());
  CHECK(trace->records[0].requests == sim::PodRequests{250, 1024});
  CHECK(trace->records[1].requests == sim::PodRequests{});
  const absl::StatusOr<sim::TraceWorkload> bad = sim::ParseTrace("0,-,a,add,lots\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "trace line 1: bad cpu request \"lots\": want 250m or 0.5");
  CHECK_FALSE(sim::ParseTrace("0,-,a,add,1,2Zi\n").ok());
  CHECK_FALSE(sim::ParseTrace("0,-,a,add,1,2Gi,3\n").ok());
}

TEST_CASE("Kubernetes quantities convert to millicores and MiB") {
  CHECK(sim::ParseCpuQuantity("250m") == 250);
  CHECK(sim::ParseCpuQuantity("1.5") == 1500);
  CHECK(sim::ParseCpuQuantity("2") == 2000);
  CHECK_FALSE(sim::ParseCpuQuantity("-1").has_value());
  CHECK(sim::ParseMemoryQuantity("512Mi") == 512);
  CHECK(sim::ParseMemoryQuantity("2Gi") == 2048);
  CHECK(sim::ParseMemoryQuantity("1G") == 954);  // 10^9 bytes, rounded up to whole MiB
  CHECK(sim::ParseMemoryQuantity("1048576") == 1);
  CHECK_FALSE(sim::ParseMemoryQuantity("lots").has_value());
}

TEST_CASE("Instance resources follow the family rule and kubelet keeps its reserve") {
  const auto m5 = sim::InstanceResources("m5.large");
  REQUIRE(m5.has_value());
  CHECK(m5->vcpus == 2);
  CHECK(m5->memory_mib == 8192);
  CHECK(sim::InstanceResources("c5.18xlarge")->vcpus == 72);
  CHECK(sim::InstanceResources("c5.18xlarge")->memory_mib == 72 * 2 * 1024);
  CHECK(sim::InstanceResources("r6i.2xlarge")->memory_mib == 64 * 1024);
  CHECK(sim::InstanceResources("t3.medium")->memory_mib == 4096);
  CHECK_FALSE(sim::InstanceResources("p5.48xlarge").has_value());
  CHECK_FALSE(sim::InstanceResources("m5.metal").has_value());
  CHECK_FALSE(sim::InstanceResources("m3.large").has_value());
  // 2 cores: 60 + 10 millicores; 29 pods: 11 x 29 + 255 MiB, and 100 MiB eviction.
  const sim::NodeCapacity allocatable = sim::EksAllocatable(*m5, 29);
  CHECK(allocatable.cpu_millis == 1930);
  CHECK(allocatable.memory_mib == 8192 - (11 * 29 + 255 + 100));
  // 8 cores: 60 + 10 + 5 + 5 + 4 x 2.5 = 90 millicores.
  CHECK(sim::EksAllocatable(sim::InstanceCpuMemory{8, 32768}, 58).cpu_millis == 8000 - 90);
}

TEST_CASE("The scheduler packs pods by CPU and memory and picks the least allocated node") {
  sim::Scheduler scheduler;
  const int small = scheduler.AddNode({.pods = 10, .cpu_millis = 2000, .memory_mib = 4096});
  const int large = scheduler.AddNode({.pods = 10, .cpu_millis = 4000, .memory_mib = 8192});
  scheduler.SetSchedulable(small, true);
  scheduler.SetSchedulable(large, true);
  const sim::PodRequests pod{1500, 1024};
  CHECK(scheduler.Pick(pod) == large);  // 62.5 % free after vs 37.5 %
  scheduler.Bind(large, pod);
  scheduler.Bind(large, pod);
  CHECK(scheduler.Pick(pod) == small);  // large: 1000m left, too little
  scheduler.Bind(small, pod);
  CHECK(scheduler.Pick(pod) == -1);
  // A pod without requests still fits: only its pod slot counts.
  CHECK(scheduler.Pick({}) == small);
  CHECK(scheduler.Utilization(large) == doctest::Approx(0.75));
  scheduler.Unbind(large, pod);
  CHECK(scheduler.Pick(pod) == large);
  scheduler.SetSchedulable(large, false);
  CHECK(scheduler.Pick(pod) == -1);
  CHECK_FALSE(scheduler.Fits(large, {}));
}

TEST_CASE("Pods with CPU requests fill each node to its allocatable and the rest wait") {
  // m5.large: 1930m allocatable, so three 500m pods a node.
  ClusterConfig config = MustParse("nodes=3\nworkload=burst:10;cpu=500m\nduration=2m\n");
  std::unique_ptr<Cluster> cluster = MustCreate(config);
  cluster->RunUntil(Ns(absl::Seconds(1)));
  for (int n = 0; n < 3; ++n) CHECK(cluster->pods_on_node(n) == 3);
  CHECK(cluster->pods_created() == 10);
  CHECK(cluster->pods_pending() >= 1);
  cluster->RunUntil(Ns(absl::Minutes(2)));
  CHECK(cluster->pods_ready() == 9);
  CHECK(cluster->pods_pending() == 1);
}

TEST_CASE("Pods requesting memory pack by memory") {
  ClusterConfig config = MustParse("nodes=2\nworkload=burst:5;memory=3Gi\nduration=1m\n");
  std::unique_ptr<Cluster> cluster = MustCreate(config);
  cluster->RunUntil(Ns(absl::Seconds(1)));
  CHECK(cluster->pods_on_node(0) == 2);  // 7,518 MiB allocatable: two 3 GiB pods
  CHECK(cluster->pods_on_node(1) == 2);
}

TEST_CASE("Requests on a type the simulator has no resources for need the group's cpu and memory") {
  ClusterConfig config;
  REQUIRE(sim::ApplySetting(config, "node-group", "p5.48xlarge,count=1").ok());
  REQUIRE(sim::ApplySetting(config, "workload", "burst:5;cpu=1").ok());
  const absl::Status unknown = sim::ResolveConfig(config);
  CHECK(unknown.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(unknown.message(), "give the group cpu= and memory="));
  ClusterConfig given;
  REQUIRE(sim::ApplySetting(given, "node-group", "p5.48xlarge,count=1,cpu=190,memory=2000Gi").ok());
  REQUIRE(sim::ApplySetting(given, "workload", "burst:5;cpu=1").ok());
  CHECK(sim::ResolveConfig(given).ok());
}

TEST_CASE("Several workloads run side by side and the first keeps its own pods") {
  ClusterConfig alone = MustParse("nodes=4\nworkload=churn:1,1m;initial=20\nduration=3m\n");
  ClusterConfig both =
      MustParse("nodes=4\nworkload=churn:1,1m;initial=20\nworkload=burst:15@30s\nduration=3m\n");
  REQUIRE(both.extra_workloads.size() == 1);
  ClusterConfig joined = MustParse("nodes=4\nworkload=churn:1,1m;initial=20 + burst:15@30s\nduration=3m\n");
  CHECK(joined.extra_workloads == both.extra_workloads);
  CHECK(joined.workload == both.workload);
  const absl::StatusOr<sim::RunReport> a = sim::RunScenario(alone);
  const absl::StatusOr<sim::RunReport> b = sim::RunScenario(both);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(b->pods_created == a->pods_created + 15);
  CHECK(absl::StrContains(b->description, "churn:1/s,1m + burst:15"));
  // ApplySetting replaces every workload.
  REQUIRE(sim::ApplySetting(both, "workload", "burst:3").ok());
  CHECK(both.extra_workloads.empty());
}

TEST_CASE("Node groups place nodes by zone and their ENIs in their zone's subnets") {
  ClusterConfig config = MustParse(
      "subnet=10.0.0.0/20,zone=a\n"
      "subnet=10.0.16.0/20,zone=b\n"
      "subnet=10.0.32.0/20,zone=b\n"
      "node-group=m5.large,count=4,zone=a,zone=b\n"
      "node-group=c5.xlarge,count=2,zone=b\n"
      "workload=burst:150\n"
      "duration=3m\n");
  REQUIRE(sim::ResolveConfig(config).ok());
  CHECK(config.nodes == 6);
  std::unique_ptr<Cluster> cluster = MustCreate(config);
  cluster->RunUntil(Ns(absl::Minutes(3)));
  CHECK(cluster->pods_ready() == 150);
  std::map<std::string, std::string> zone_of_subnet{
      {"subnet-0", "a"}, {"subnet-1", "b"}, {"subnet-2", "b"}};
  const std::vector<std::string> want_zone{"a", "b", "a", "b", "b", "b"};
  for (int n = 0; n < cluster->node_count(); ++n) {
    CAPTURE(n);
    CHECK(cluster->node_group(n) == (n < 4 ? 0 : 1));
    const auto enis = cluster->ec2().AttachedEnis(cluster->node(n).config().instance_id);
    CHECK(enis.size() >= 2);
    for (const enipool::NetworkInterface& eni : enis) {
      CHECK(zone_of_subnet[eni.subnet_id] == want_zone[static_cast<std::size_t>(n)]);
    }
  }
  // The c5.xlarge nodes (4 ENIs x 15) take more pods than the m5.large ones.
  CHECK(cluster->node(4).config().pool.max_pods == 58);
  CHECK(cluster->node(0).config().pool.max_pods == 29);
}

TEST_CASE("Node group settings are parsed and bad ones named") {
  const auto group = sim::ParseNodeGroup("m5.xlarge,count=2,min=1,max=6,zone=a,max-pods=50,name=web");
  REQUIRE(group.ok());
  CHECK(group->count == 2);
  CHECK(group->min_nodes() == 1);
  CHECK(group->max_nodes() == 6);
  CHECK(group->zones == std::vector<std::string>{"a"});
  CHECK(group->max_pods == 50);
  CHECK(group->name == "web");
  CHECK(sim::ParseNodeGroup("zz.large").status().code() == absl::StatusCode::kNotFound);
  CHECK(sim::ParseNodeGroup("m5.large,count=3,max=2").status().message() ==
        "node-group \"m5.large,count=3,max=2\": want min (3) <= count (3) <= max (2)");
  CHECK(absl::StrContains(sim::ParseNodeGroup("m5.large,colour=red").status().message(),
                          "want count, min, max, zone"));
  ClusterConfig config;
  REQUIRE(sim::ApplySetting(config, "node-group", "m5.large,zone=nowhere").ok());
  CHECK(absl::StrContains(sim::ResolveConfig(config).message(), "zone \"nowhere\" has no subnet"));
  ClusterConfig empty;
  REQUIRE(sim::ApplySetting(empty, "node-group", "m5.large,count=0,min=0").ok());
  CHECK_FALSE(sim::ResolveConfig(empty).ok());
}

ClusterConfig AutoscaledBurst() {
  return MustParse(
      "node-group=m5.large,count=1,max=5\n"
      "autoscaler=on\n"
      "autoscaler-interval=10s\n"
      "launch-delay=60s\n"
      "workload=burst:100\n"
      "duration=5m\n");
}

TEST_CASE("The autoscaler launches nodes for unschedulable pods and they join after the launch delay") {
  std::unique_ptr<Cluster> cluster = MustCreate(AutoscaledBurst());
  cluster->RunUntil(Ns(absl::Seconds(9)));
  CHECK(cluster->node_counts().launching == 0);
  CHECK(cluster->pods_on_node(0) == 27);
  // The first scan at 10 s: 73 pods fit nowhere, 27 a node: 3 nodes.
  cluster->RunUntil(Ns(absl::Seconds(10)));
  CHECK(cluster->node_counts().launching == 3);
  cluster->RunUntil(Ns(absl::Seconds(69)));
  CHECK(cluster->node_counts().launching == 3);
  CHECK(cluster->node_counts().running == 1);
  CHECK(cluster->ec2().instance_count() == 1);
  cluster->RunUntil(Ns(absl::Seconds(70)));
  CHECK(cluster->node_counts().launching == 0);
  CHECK(cluster->node_counts().running == 4);
  CHECK(cluster->ec2().instance_count() == 4);
  // Placed at once on the new nodes, served once their cold controllers have addresses.
  CHECK(cluster->pods_on_node(3) > 0);
  cluster->RunUntil(Ns(absl::Minutes(5)));
  CHECK(cluster->pods_ready() == 100);
  CHECK(cluster->nodes_launched() == 3);
  CHECK(cluster->CheckConsistency().ok());
}

TEST_CASE("The autoscaler stops at the group's max") {
  ClusterConfig config = AutoscaledBurst();
  config.node_groups[0].max = 2;
  std::unique_ptr<Cluster> cluster = MustCreate(config);
  cluster->RunUntil(Ns(absl::Minutes(5)));
  CHECK(cluster->nodes_launched() == 1);
  CHECK(cluster->pods_ready() == 54);
  CHECK(cluster->pods_pending() == 46);
}

TEST_CASE("The autoscaler drains underused nodes down to the group's min and returns their addresses") {
  ClusterConfig config = MustParse(
      "subnet=10.0.0.0/24\n"
      "node-group=m5.large,count=3,min=1\n"
      "autoscaler=on\n"
      "scale-down-unneeded=2m\n"
      "drain-time=30s\n"
      "workload=burst:12\n"
      "duration=10m\n");
  std::unique_ptr<Cluster> cluster = MustCreate(config);
  cluster->RunUntil(Ns(absl::Minutes(2)));
  CHECK(cluster->node_counts().running == 3);
  const std::size_t used_by_three = cluster->ec2().subnets()[0].allocated_address_count();
  cluster->RunUntil(Ns(absl::Minutes(10)));
  const Cluster::NodeCounts counts = cluster->node_counts();
  CHECK(counts.running == 1);
  CHECK(counts.gone == 2);
  CHECK(counts.draining == 0);
  CHECK(cluster->nodes_drained() == 2);
  CHECK(cluster->ec2().instance_count() == 1);
  CHECK(cluster->pods_evicted() > 0);
  // Every pod was scheduled again and served on the one node left.
  CHECK(cluster->pods_ready() == 12);
  CHECK(cluster->pods_pending() == 0);
  int survivor = -1;
  for (int n = 0; n < cluster->node_count(); ++n) {
    if (cluster->node_running(n)) survivor = n;
  }
  REQUIRE(survivor >= 0);
  CHECK(cluster->pods_on_node(survivor) == 12);
  // The drained nodes' ENIs are deleted: the subnet holds the survivor's only.
  std::size_t held = 0;
  for (const enipool::NetworkInterface& eni :
       cluster->ec2().AttachedEnis(cluster->node(survivor).config().instance_id)) {
    held += 1 + eni.secondary_ips.size() + 16 * eni.prefixes.size();
  }
  CHECK(cluster->ec2().subnets()[0].allocated_address_count() == held);
  CHECK(held < used_by_three);
  CHECK(cluster->CheckConsistency().ok());
}

TEST_CASE("Fault plans and controller settings come from the scenario file") {
  ClusterConfig config = MustParse(
      "nodes=2\n"
      "fault=AttachNetworkInterface,from=0s,until=1m,RequestLimitExceeded\n"
      "fault=CreateNetworkInterface,nth=1,InsufficientFreeAddressesInSubnet\n"
      "fault=any,nth=1000000,UnauthorizedOperation\n"
      "reconcile-interval=1m\n"
      "pool-check-interval=10s\n"
      "kubelet-backoff=5s\n"
      "subnet-discovery=on\n"
      "leaked-eni-sweep=on\n"
      "workload=burst:40\n"
      "duration=4m\n");
  REQUIRE(config.faults.rules().size() == 3);
  CHECK(config.faults.rules()[0].kind == enipool::ec2::CallKind::kAttachNetworkInterface);
  CHECK(config.faults.rules()[0].until == absl::UnixEpoch() + absl::Minutes(1));
  CHECK(config.faults.rules()[1].kind == enipool::ec2::CallKind::kCreateNetworkInterface);
  CHECK(config.faults.rules()[1].nth == 1);
  CHECK_FALSE(config.faults.rules()[2].kind.has_value());
  CHECK(config.faults.rules()[2].nth == 1000000);
  CHECK(config.reconcile_interval == absl::Minutes(1));
  CHECK(config.pool_check_interval == absl::Seconds(10));
  CHECK(config.kubelet_backoff == absl::Seconds(5));
  CHECK(config.subnet_discovery);
  CHECK(config.leaked_eni_sweep);
  const absl::StatusOr<sim::RunReport> report = sim::RunScenario(config);
  REQUIRE(report.ok());
  CHECK(report->errors_by_code.at("RequestLimitExceeded") > 0);
  CHECK(report->errors_by_code.at("InsufficientFreeAddressesInSubnet") == 1);
  CHECK(report->pods_ready == 40);
}

TEST_CASE("A bad fault or controller setting is named and changes nothing") {
  ClusterConfig config;
  const auto rejects = [&](const char* key, const char* value, const char* part) {
    CAPTURE(key);
    CAPTURE(value);
    const absl::Status status = sim::ApplySetting(config, key, value);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(status.message(), part));
    CHECK(config.faults.empty());
  };
  rejects("fault", "AttachNetworkInterface,RequestLimitExceeded", "want CALL,nth=N,CODE");
  rejects("fault", "Attach,nth=1,RequestLimitExceeded", "an EC2 API name");
  rejects("fault", "any,nth=0,RequestLimitExceeded", "nth=N with N >= 1");
  rejects("fault", "any,nth=1,Nope", "an EC2 error code");
  rejects("fault", "any,from=20s,until=10s,RequestLimitExceeded", "until= after from=");
  rejects("fault", "any,from=x,until=10s,RequestLimitExceeded", "from=T");
  rejects("autoscaler", "maybe", "on or off");
  rejects("scale-down-utilization", "1.5", "a fraction in [0, 1]");
  rejects("pool-check-interval", "0s", "a positive duration");
  rejects("subnet", "10.0.0.0/24,zone=", "a zone name");
}

// --- Conservation while nodes join and leave --------------------------------

// Pods the workloads create by `now_ns` and delete by their lifetime, counted
// from the workload generators alone (a trace's deletes are not used here).
struct PodModel {
  std::vector<std::int64_t> add_ns;     // creation times, from the run start
  std::vector<std::int64_t> delete_ns;  // creation + lifetime, or -1
  [[nodiscard]] std::int64_t CreatedBy(std::int64_t now_ns) const {
    return std::count_if(add_ns.begin(), add_ns.end(), [&](std::int64_t t) { return t <= now_ns; });
  }
  [[nodiscard]] std::int64_t DeletedBy(std::int64_t now_ns) const {
    return std::count_if(delete_ns.begin(), delete_ns.end(),
                         [&](std::int64_t t) { return t >= 0 && t <= now_ns; });
  }
};

PodModel ModelPods(const ClusterConfig& config, std::int64_t end_ns) {
  PodModel model;
  std::vector<const sim::WorkloadSpec*> specs{&config.workload};
  for (const sim::WorkloadSpec& spec : config.extra_workloads) specs.push_back(&spec);
  for (std::size_t k = 0; k < specs.size(); ++k) {
    // The seeds Cluster documents: the first workload's is the run's.
    const std::uint64_t seed =
        k == 0 ? config.seed : enipool::internal::SimStreamSeed(config.seed, 100 + k - 1);
    sim::WorkloadGenerator generator(*specs[k], seed);
    while (const std::optional<sim::PodEvent> event = generator.Next()) {
      if (event->at_ns > end_ns) break;
      model.add_ns.push_back(event->at_ns);
      model.delete_ns.push_back(event->lifetime_ns < 0 ? -1 : event->at_ns + event->lifetime_ns);
    }
  }
  return model;
}

// Subnet addresses held by ENIs, recounted from EC2's ENIs.
std::map<std::string, std::size_t> AddressesHeldByEnis(const Cluster& cluster) {
  std::map<std::string, std::size_t> held;
  const auto count = [&](const enipool::NetworkInterface& eni) {
    held[eni.subnet_id] += 1 + eni.secondary_ips.size() + 16 * eni.prefixes.size();
  };
  for (int n = 0; n < cluster.node_count(); ++n) {
    if (cluster.node_gone(n)) continue;
    for (const auto& eni : cluster.ec2().AttachedEnis(cluster.node(n).config().instance_id)) {
      count(eni);
    }
  }
  for (const auto& eni : cluster.ec2().UnattachedEnis(absl::ZeroDuration())) count(eni);
  return held;
}

TEST_CASE("Pods, addresses and nodes are conserved while nodes join and leave, over several seeds") {
  for (const std::uint64_t seed : {3u, 11u, 29u}) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    ClusterConfig config = MustParse(
        "subnet=10.0.0.0/22,zone=a,occupied=40\n"
        "subnet=10.0.4.0/22,zone=b\n"
        "node-group=m5.large,count=2,min=1,max=6,zone=a,zone=b\n"
        "node-group=c5.xlarge,count=1,min=0,max=3,zone=b\n"
        "autoscaler=on\n"
        "launch-delay=40s\n"
        "scale-down-unneeded=90s\n"
        "drain-time=20s\n"
        "workload=deployments:40,30,4m,exponential;cpu=300m\n"
        "workload=churn:0.3,3m,exponential;initial=20\n"
        // Windows in which no node can grow its pool: pods wait for
        // addresses on nodes the autoscaler may drain meanwhile.
        "fault=AssignPrivateIpAddresses,from=5m,until=9m,InsufficientFreeAddressesInSubnet\n"
        "fault=AssignIpv4Prefixes,from=5m,until=9m,InsufficientCidrBlocks\n"
        "fault=CreateNetworkInterface,from=5m,until=9m,InsufficientFreeAddressesInSubnet\n"
        "fault=AssignPrivateIpAddresses,from=13m,until=16m,InsufficientFreeAddressesInSubnet\n"
        "fault=AssignIpv4Prefixes,from=13m,until=16m,InsufficientCidrBlocks\n"
        "fault=CreateNetworkInterface,from=13m,until=16m,InsufficientFreeAddressesInSubnet\n"
        "duration=20m\n");
    config.seed = seed;
    config.pool.mode = rng() % 2 == 0 ? enipool::AddressMode::kPrefix : enipool::AddressMode::kSecondaryIp;
    const std::int64_t end_ns = Ns(config.duration);
    const PodModel model = ModelPods(config, end_ns);
    std::unique_ptr<Cluster> cluster = MustCreate(config);
    const int initial_nodes = cluster->node_count();
    std::map<std::string, int> occupied{{"subnet-0", 40}, {"subnet-1", 0}};
    int checks = 0;
    for (std::int64_t t = 0; t < end_ns;) {
      t = std::min(end_ns, t + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(Ns(absl::Seconds(20)))) + 1);
      cluster->RunUntil(t);
      CAPTURE(t);
      ++checks;
      // Pods: created = running (ready or without an address) + pending + finished.
      REQUIRE(cluster->pods_created() == model.CreatedBy(t));
      REQUIRE(cluster->pods_deleted() == model.DeletedBy(t));
      REQUIRE(cluster->pods_created() == cluster->pods_ready() + cluster->pods_without_address() +
                                             cluster->pods_pending() + cluster->pods_deleted());
      std::int64_t placed = 0;
      for (int n = 0; n < cluster->node_count(); ++n) placed += cluster->pods_on_node(n);
      REQUIRE(placed <= cluster->pods_ready() + cluster->pods_without_address() + cluster->pods_pending());
      REQUIRE(placed >= cluster->pods_ready() + cluster->pods_without_address());
      // Addresses: each subnet's allocated = other tenants' + what ENIs hold.
      const std::map<std::string, std::size_t> held = AddressesHeldByEnis(*cluster);
      for (const enipool::ec2::Subnet& subnet : cluster->ec2().subnets()) {
        CAPTURE(subnet.id());
        const auto it = held.find(subnet.id());
        REQUIRE(subnet.allocated_address_count() ==
                static_cast<std::size_t>(occupied[subnet.id()]) + (it == held.end() ? 0 : it->second));
      }
      // Nodes: every node the run ever had is launching, running, draining or gone.
      const Cluster::NodeCounts counts = cluster->node_counts();
      REQUIRE(counts.total() == initial_nodes + cluster->nodes_launched());
      REQUIRE(counts.running + counts.draining ==
              static_cast<std::int64_t>(cluster->ec2().instance_count()));
      std::int64_t running = 0, gone = 0;
      for (int n = 0; n < cluster->node_count(); ++n) {
        running += cluster->node_running(n) ? 1 : 0;
        gone += cluster->node_gone(n) ? 1 : 0;
        REQUIRE(cluster->scheduler().schedulable(n) == cluster->node_running(n));
      }
      REQUIRE(counts.running == running);
      REQUIRE(counts.gone == gone);
      const absl::Status consistent = cluster->CheckConsistency();
      REQUIRE_MESSAGE(consistent.ok(), consistent.ToString());
    }
    CHECK(checks > 50);
    // The run did what the test is about: nodes joined and left.
    CHECK(cluster->nodes_launched() > 0);
    CHECK(cluster->nodes_drained() > 0);
    CHECK(cluster->pods_evicted() > 0);
  }
}

}  // namespace
