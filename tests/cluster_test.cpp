#include "enipool/sim/cluster.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/ipv4.h"
#include "enipool/sim/report.h"
#include "enipool/sim/scenario.h"

namespace {

using enipool::AddressMode;
using enipool::sim::ApplySetting;
using enipool::sim::BurstWorkload;
using enipool::sim::ChurnWorkload;
using enipool::sim::Cluster;
using enipool::sim::ClusterConfig;
using enipool::sim::Lifetime;
using enipool::sim::ParseScenario;
using enipool::sim::ResolveConfig;
using enipool::sim::RunReport;
using enipool::sim::RunScenario;

std::string Csv(const std::vector<RunReport>& runs) {
  std::ostringstream out;
  enipool::sim::WriteSummaryCsv(out, runs);
  enipool::sim::WriteSamplesCsv(out, runs);
  return out.str();
}

// A small cluster under churn with a tight subnet, throttling on: pods wait,
// EC2 says no, and the bookkeeping must still balance.
ClusterConfig ChurnConfig(AddressMode mode) {
  ClusterConfig config;
  config.name = mode == AddressMode::kPrefix ? "prefix" : "secondary-ip";
  config.instance_type = "m5.large";
  config.nodes = 6;
  config.pool.mode = mode;
  config.workload = ChurnWorkload{.arrivals_per_second = 0.4,
                                  .lifetime = {Lifetime::Kind::kExponential, absl::Minutes(4), 1},
                                  .initial_pods = 60};
  config.subnets = {*enipool::sim::ParseSubnet("10.1.0.0/24")};
  config.duration = absl::Minutes(30);
  config.sample_interval = absl::Seconds(30);
  config.seed = 17;
  return config;
}

// The tour's scenario: nodes warm up, then a Deployment scales out.
ClusterConfig TourConfig(AddressMode mode) {
  ClusterConfig config;
  config.name = mode == AddressMode::kPrefix ? "prefix" : "secondary-ip";
  config.instance_type = "m5.large";
  config.nodes = 10;
  config.pool.mode = mode;
  config.workload = BurstWorkload{.pods = 250, .at = absl::Minutes(1)};
  config.duration = absl::Minutes(4);
  config.sample_interval = absl::Seconds(1);
  config.seed = 1;
  return config;
}

TEST_CASE("A cluster run is deterministic: the same seed gives byte-identical CSV") {
  for (AddressMode mode : {AddressMode::kSecondaryIp, AddressMode::kPrefix}) {
    const auto first = RunScenario(ChurnConfig(mode));
    const auto second = RunScenario(ChurnConfig(mode));
    REQUIRE_MESSAGE(first.ok(), first.status());
    REQUIRE_MESSAGE(second.ok(), second.status());
    CHECK(Csv({*first}) == Csv({*second}));
    CHECK(first->pods_created > 60);
    ClusterConfig other = ChurnConfig(mode);
    other.seed = 18;
    const auto third = RunScenario(other);
    REQUIRE_MESSAGE(third.ok(), third.status());
    CHECK(Csv({*first}) != Csv({*third}));
  }
}

TEST_CASE("No pod is lost and no address is held twice, checked throughout a churning run") {
  for (AddressMode mode : {AddressMode::kSecondaryIp, AddressMode::kPrefix}) {
    auto cluster = Cluster::Create(ChurnConfig(mode));
    REQUIRE_MESSAGE(cluster.ok(), cluster.status());
    const std::int64_t start = absl::ToUnixNanos((*cluster)->now());
    for (int minute = 1; minute <= 30; ++minute) {
      (*cluster)->RunUntil(start + absl::ToInt64Nanoseconds(absl::Minutes(minute)));
      const absl::Status consistent = (*cluster)->CheckConsistency();
      REQUIRE_MESSAGE(consistent.ok(), "minute ", minute, ": ", consistent);
    }
    CHECK((*cluster)->pods_created() > 100);
  }
}

TEST_CASE(
    "Pods whose prefix is taken away in EC2 are counted as force-removed and the books stay exact") {
  // Someone unassigns a /28 holding pods on node 0; the node's next reconcile
  // finds it gone and force-removes those pods. From then on they are not
  // ready (the datastores no longer hold them) but still exist until their
  // delete, which finds them gone.
  ClusterConfig config = ChurnConfig(AddressMode::kPrefix);
  config.reconcile_interval = absl::Seconds(20);
  auto created = Cluster::Create(config);
  REQUIRE_MESSAGE(created.ok(), created.status());
  Cluster& cluster = **created;
  const std::int64_t start = absl::ToUnixNanos(cluster.now());
  auto at_minute = [&](int minute) {
    return start + absl::ToInt64Nanoseconds(absl::Minutes(minute));
  };
  cluster.RunUntil(at_minute(3));
  REQUIRE(cluster.CheckConsistency() == absl::OkStatus());
  REQUIRE(cluster.pods_force_removed() == 0);

  // The /28 on node 0 holding the most pods.
  std::map<std::pair<std::string, enipool::Ipv4Prefix>, int> pods_in_prefix;
  cluster.node(0).datastore().ForEachAssignment(
      [&](const enipool::PodKey&, const enipool::Assignment& a, absl::Time) {
        pods_in_prefix[{a.eni_id.ToString(), enipool::Ipv4Prefix::Containing(a.address, 28)}] += 1;
      });
  REQUIRE_FALSE(pods_in_prefix.empty());
  const auto taken =
      std::max_element(pods_in_prefix.begin(), pods_in_prefix.end(),
                       [](const auto& a, const auto& b) { return a.second < b.second; });
  const int pods_taken = taken->second;
  CAPTURE(taken->first.second.ToString());
  REQUIRE(pods_taken > 0);
  const std::int64_t ready_before = cluster.pods_ready();
  const enipool::Ec2Result unassigned = cluster.mutable_ec2().Call(
      enipool::UnassignIpv4PrefixesRequest{.eni_id = taken->first.first,
                                           .prefixes = {taken->first.second}});
  REQUIRE_MESSAGE(unassigned.ok(), unassigned.status);

  for (int minute = 4; minute <= 30; ++minute) {
    cluster.RunUntil(at_minute(minute));
    const absl::Status consistent = cluster.CheckConsistency();
    REQUIRE_MESSAGE(consistent.ok(), "minute ", minute, ": ", consistent);
    if (minute == 4) {
      // Within a minute the reconcile has run: exactly those pods went.
      CHECK(cluster.pods_force_removed() == pods_taken);
      CHECK(cluster.pods_ready() < ready_before);
    }
  }
  CHECK(cluster.pods_force_removed() == pods_taken);
  // Pods live ~4 minutes: by the end every force-removed pod was deleted.
  CHECK(cluster.pods_without_address() == 0);
  CHECK(cluster.pods_created() > 100);
}

TEST_CASE("The report balances: every pod created is ready, pending or deleted") {
  const auto report = RunScenario(ChurnConfig(AddressMode::kSecondaryIp));
  REQUIRE_MESSAGE(report.ok(), report.status());
  CHECK(report->pods_created == report->pods_ready + report->pods_pending + report->pods_deleted);
  CHECK(report->time_to_ip.count() ==
        report->pods_created - report->pods_pending - report->pods_deleted_pending);
  CHECK(report->pods_waited <= report->failed_adds);
  CHECK(report->final_sample().pods_ready == report->pods_ready);
  CHECK(report->final_sample().at == absl::Minutes(30));
  CHECK(report->time_to_all_ready < absl::ZeroDuration());  // churn never finishes
}

TEST_CASE(
    "Prefix delegation scales a burst out with fewer ENI attachments and reaches all-ready "
    "sooner") {
  const auto secondary = RunScenario(TourConfig(AddressMode::kSecondaryIp));
  const auto prefix = RunScenario(TourConfig(AddressMode::kPrefix));
  REQUIRE_MESSAGE(secondary.ok(), secondary.status());
  REQUIRE_MESSAGE(prefix.ok(), prefix.status());
  REQUIRE(secondary->pods_ready == 250);
  REQUIRE(prefix->pods_ready == 250);
  CHECK(prefix->eni_attachments < secondary->eni_attachments);
  CHECK(prefix->time_to_all_ready >= absl::ZeroDuration());
  CHECK(prefix->time_to_all_ready < secondary->time_to_all_ready);
  // The price: prefixes hold whole /28s, so more of the subnet is taken.
  CHECK(prefix->final_sample().addresses > secondary->final_sample().addresses);
}

TEST_CASE("The scheduler spreads a burst evenly over the least-loaded nodes") {
  ClusterConfig config = TourConfig(AddressMode::kPrefix);
  config.workload = BurstWorkload{.pods = 95, .at = absl::Seconds(30)};
  config.duration = absl::Minutes(2);
  auto cluster = Cluster::Create(config);
  REQUIRE_MESSAGE(cluster.ok(), cluster.status());
  REQUIRE((*cluster)->Run().ok());
  for (int n = 0; n < 10; ++n) {
    const auto pods = (*cluster)->node(n).datastore().pod_count();
    CHECK_MESSAGE((pods == 9 || pods == 10), "node ", n, " has ", pods);
  }
}

TEST_CASE("Pods beyond the cluster's pod capacity wait unscheduled until a pod is deleted") {
  ClusterConfig config;
  config.instance_type = "t3.small";  // 3 ENIs x 4 IPs: max pods 11, so 9 pods per node
  config.nodes = 1;
  config.workload = ChurnWorkload{.arrivals_per_second = 0,
                                  .lifetime = {Lifetime::Kind::kExponential, absl::Minutes(3), 1},
                                  .initial_pods = 12};
  config.duration = absl::Minutes(40);
  auto cluster = Cluster::Create(config);
  REQUIRE_MESSAGE(cluster.ok(), cluster.status());
  const std::int64_t start = absl::ToUnixNanos((*cluster)->now());
  (*cluster)->RunUntil(start + 1);
  CHECK((*cluster)->pods_created() == 12);
  CHECK((*cluster)->pods_pending() ==
        12);  // 9 placed (no IP yet: the node is booting), 3 unscheduled
  for (int minute = 1; minute <= 40; ++minute) {
    (*cluster)->RunUntil(start + absl::ToInt64Nanoseconds(absl::Minutes(minute)));
    CHECK((*cluster)->node(0).datastore().pod_count() <= 9);
    REQUIRE((*cluster)->CheckConsistency().ok());
  }
  const auto report = (*cluster)->Run();
  REQUIRE_MESSAGE(report.ok(), report.status());
  CHECK(report->pods_deleted == 12);  // every lifetime ended (seeded draws)
  // The 3 that waited were placed as others left, and most got an address.
  CHECK(report->time_to_ip.count() + report->pods_deleted_pending == 12);
  CHECK(report->time_to_ip.count() > 9);
}

TEST_CASE("Pods a starved cluster never serves are reported and enter time to IP censored") {
  // The problem as a user met it, scaled down: a /26 cannot hold the burst,
  // so most pods never get an address. They must not vanish from the figures.
  ClusterConfig config;
  config.instance_type = "m5.large";
  config.nodes = 4;
  config.subnets = {*enipool::sim::ParseSubnet("10.0.0.0/26")};
  config.workload = BurstWorkload{.pods = 100, .at = absl::Minutes(1)};
  config.duration = absl::Minutes(3);
  const auto report = RunScenario(config);
  REQUIRE_MESSAGE(report.ok(), report.status());
  CHECK(report->pods_pending > 0);
  CHECK(report->pods_never_served == report->pods_pending + report->pods_deleted_pending);
  // Every pod counts: served ones with their time, the others censored.
  CHECK(report->time_to_ip.count() + report->time_to_ip_censored.count() == report->pods_created);
  CHECK(report->time_to_ip_censored.count() == report->pods_never_served);
  // Each unserved pod waited the 2 minutes from the burst to the end.
  const enipool::sim::CensoredValue p95 = report->TimeToIp(0.95);
  CHECK(p95.at_least);
  CHECK(p95.value >= absl::Minutes(2) * (1 - 1.0 / 128));
  CHECK(report->TimeToIp(1.0).at_least);
  CHECK(report->time_to_all_ready < absl::ZeroDuration());  // never all ready
  // The most pods waiting on one node is at least an even share of them.
  std::int64_t peak = 0;
  for (const auto& sample : report->samples) peak = std::max(peak, sample.node_pending_max);
  CHECK(peak * config.nodes >= report->pods_pending);
}

TEST_CASE("Time to all-ready counts from the first pod and the warm-up leaves early pods out") {
  ClusterConfig config = TourConfig(AddressMode::kPrefix);
  const auto burst = RunScenario(config);
  REQUIRE_MESSAGE(burst.ok(), burst.status());
  REQUIRE(burst->time_to_all_ready >= absl::ZeroDuration());
  // One burst: the last pod ready is the slowest one, timed from the burst.
  CHECK(absl::Trunc(burst->time_to_all_ready, absl::Microseconds(1)) == burst->time_to_ip.max());

  ClusterConfig churn = ChurnConfig(AddressMode::kSecondaryIp);
  churn.warmup = absl::Minutes(5);
  const auto warm = RunScenario(churn);
  REQUIRE_MESSAGE(warm.ok(), warm.status());
  CHECK(warm->pods_in_warmup >= 60);  // the initial pods at t = 0, and more
  CHECK(warm->time_to_ip.count() + warm->time_to_ip_censored.count() ==
        warm->pods_created - warm->pods_in_warmup);
  // The idle spread is ordered, and cooling addresses are sampled.
  for (const auto& s : warm->samples) {
    CHECK(s.node_idle_min <= s.node_idle_median);
    CHECK(s.node_idle_median <= s.node_idle_max);
    CHECK(s.node_idle_max <= s.addresses - s.assigned);
    CHECK(s.cooling <= s.addresses - s.assigned);
  }
}

TEST_CASE("A trace is replayed on the nodes it names") {
  auto trace = enipool::sim::ParseTrace(
      "time,node,pod,action\n"
      "10,0,a,add\n"
      "10,2,b,add\n"
      "20,2,c,add\n"
      "40,0,a,delete\n");
  REQUIRE_MESSAGE(trace.ok(), trace.status());
  ClusterConfig config;
  config.nodes = 3;
  config.workload = *trace;
  config.duration = absl::Minutes(1);
  auto cluster = Cluster::Create(config);
  REQUIRE_MESSAGE(cluster.ok(), cluster.status());
  const auto report = (*cluster)->Run();
  REQUIRE_MESSAGE(report.ok(), report.status());
  CHECK(report->pods_created == 3);
  CHECK(report->pods_deleted == 1);
  CHECK((*cluster)->node(0).datastore().pod_count() == 0);
  CHECK((*cluster)->node(1).datastore().pod_count() == 0);
  CHECK((*cluster)->node(2).datastore().pod_count() == 2);
  CHECK((*cluster)->CheckConsistency().ok());
}

TEST_CASE("Cluster::Run may be called only once") {
  ClusterConfig config;
  config.nodes = 1;
  config.workload = BurstWorkload{.pods = 1};
  config.duration = absl::Seconds(30);
  auto cluster = Cluster::Create(config);
  REQUIRE_MESSAGE(cluster.ok(), cluster.status());
  CHECK((*cluster)->Run().ok());
  CHECK((*cluster)->Run().status() ==
        absl::FailedPreconditionError("Cluster::Run() may be called once"));
}

TEST_CASE("ApplySetting sets each key and rejects a bad value without changing the config") {
  ClusterConfig config;
  CHECK(ApplySetting(config, "mode", "prefix").ok());
  CHECK(config.pool.mode == AddressMode::kPrefix);
  CHECK(ApplySetting(config, "nodes", "25").ok());
  CHECK(config.nodes == 25);
  CHECK(ApplySetting(config, "duration", "10m").ok());
  CHECK(config.duration == absl::Minutes(10));
  CHECK(ApplySetting(config, "subnet", "10.2.0.0/20,reserve=10.2.8.0/21").ok());
  REQUIRE(config.subnets.size() == 1);
  CHECK(config.subnets[0].prefix_reservations.size() == 1);

  const ClusterConfig before = config;
  CHECK(ApplySetting(config, "nodes", "0") ==
        absl::InvalidArgumentError("bad nodes \"0\": want an integer >= 1"));
  CHECK(ApplySetting(config, "mode", "ipv6") ==
        absl::InvalidArgumentError("bad mode \"ipv6\": want secondary-ip or prefix"));
  CHECK(ApplySetting(config, "duration", "soon") ==
        absl::InvalidArgumentError(
            "bad duration \"soon\": want a positive duration with its unit, such as 30s or 5m"));
  CHECK(ApplySetting(config, "instance-type", "m5.huge").code() == absl::StatusCode::kNotFound);
  CHECK(ApplySetting(config, "subnet", "10.0.0.0/8") ==
        absl::InvalidArgumentError(
            "bad subnet \"10.0.0.0/8\": want a CIDR from /16 to /28, as AWS allows"));
  CHECK(ApplySetting(config, "colour", "blue").code() == absl::StatusCode::kInvalidArgument);
  CHECK(ApplySetting(config, "workload", "burst:x").code() == absl::StatusCode::kInvalidArgument);
  CHECK(config.nodes == before.nodes);
  CHECK(config.pool.mode == before.pool.mode);
  CHECK(config.duration == before.duration);
  CHECK(config.subnets == before.subnets);
  CHECK(config.instance_type == before.instance_type);
}

TEST_CASE("ApplySetting wants durations with their unit and takes keys spelled with underscores") {
  ClusterConfig config;
  const ClusterConfig before = config;
  CHECK(ApplySetting(config, "duration", "5") ==
        absl::InvalidArgumentError(
            "bad duration \"5\": want a positive duration with its unit, such as 30s or 5m"));
  CHECK(ApplySetting(config, "ip-cooldown", "30") ==
        absl::InvalidArgumentError(
            "bad ip-cooldown \"30\": want a duration with its unit, such as 30s or 5m"));
  CHECK(config.duration == before.duration);
  CHECK(config.pool.ip_cooldown == before.pool.ip_cooldown);
  CHECK(ApplySetting(config, "ip-cooldown", "0").ok());  // zero needs no unit
  CHECK(config.pool.ip_cooldown == absl::ZeroDuration());
  CHECK(ApplySetting(config, "warm_ip_target", "7").ok());
  CHECK(config.pool.warm_ip_target == 7);
}

TEST_CASE("ResolveConfig rejects a burst that starts at or after the end of the run") {
  ClusterConfig config;
  config.duration = absl::Minutes(5);
  config.workload = BurstWorkload{.pods = 10, .at = absl::Minutes(10)};
  CHECK(ResolveConfig(config) ==
        absl::InvalidArgumentError("the burst starts at 10m, not before the run ends (duration "
                                   "5m): it would create no pod"));
  config.workload = BurstWorkload{.pods = 10, .at = absl::Minutes(5)};
  CHECK(ResolveConfig(config).code() == absl::StatusCode::kInvalidArgument);
  config.workload = BurstWorkload{.pods = 10, .at = absl::Minutes(4)};
  CHECK(ResolveConfig(config).ok());
}

TEST_CASE("ParseScenario reads key=value lines and names the bad line") {
  const auto config = ParseScenario(
      "# a scenario\n"
      "name = pd\n"
      "mode=prefix\n"
      "\n"
      "workload=churn:2,5m,exponential\n");
  REQUIRE_MESSAGE(config.ok(), config.status());
  CHECK(config->name == "pd");
  CHECK(config->pool.mode == AddressMode::kPrefix);
  CHECK(std::holds_alternative<ChurnWorkload>(config->workload));

  CHECK(ParseScenario("nodes=3\nmode prefix\n").status() ==
        absl::InvalidArgumentError("scenario line 2: expected key=value, got \"mode prefix\""));
  CHECK(ParseScenario("nodes=3\n\nwarm-prefix-target=-1\n").status() ==
        absl::InvalidArgumentError(
            "scenario line 3: bad warm-prefix-target \"-1\": want an integer >= 0"));
}

TEST_CASE("ResolveConfig fills limits from the instance type and rejects impossible scenarios") {
  ClusterConfig config;
  REQUIRE(ResolveConfig(config).ok());
  CHECK(config.pool.max_enis == 3);
  CHECK(config.pool.ipv4_per_eni == 10);
  CHECK(config.pool.max_pods == 29);  // eni-max-pods.txt for m5.large
  CHECK(config.subnets.size() == 1);

  ClusterConfig prefix;
  prefix.pool.mode = AddressMode::kPrefix;
  REQUIRE(ResolveConfig(prefix).ok());
  CHECK(prefix.pool.max_pods == 110);

  ClusterConfig xen;
  xen.instance_type = "m4.large";
  xen.pool.mode = AddressMode::kPrefix;
  const ClusterConfig xen_before = xen;
  CHECK(ResolveConfig(xen).message() ==
        "instance type m4.large does not support prefix delegation (not Nitro or bare metal): use "
        "mode=secondary-ip");
  CHECK(xen.pool.max_enis == xen_before.pool.max_enis);

  ClusterConfig traced;
  traced.nodes = 2;
  traced.workload = *enipool::sim::ParseTrace("0,5,a,add\n");
  CHECK(ResolveConfig(traced).message() ==
        "trace line 1: node 5 but the scenario has 2 nodes (0 to 1)");

  ClusterConfig sampled;
  sampled.duration = absl::Seconds(10);
  sampled.sample_interval = absl::Minutes(1);
  CHECK(ResolveConfig(sampled).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Cluster::Create reports a subnet too small for the nodes' primary ENIs") {
  ClusterConfig config;
  config.nodes = 20;
  config.subnets = {*enipool::sim::ParseSubnet("10.3.0.0/28")};  // 11 usable addresses
  const auto cluster = Cluster::Create(config);
  CHECK(cluster.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(
      std::string(cluster.status().message()).find("node 11: InsufficientFreeAddressesInSubnet") ==
      0);
}

}  // namespace

namespace {

// docs/reference-behavior.md §7.1: a scenario can name pod-only subnets and
// turn subnet discovery on, as the simulator supports both; a bad value
// changes nothing.
TEST_CASE("ParseScenario accepts pod-only subnets and subnet discovery and rejects bad values") {
  auto config = ParseScenario(
      "subnet=10.0.0.0/24\nsubnet=10.1.0.0/20,pod-only,occupied=3\nsubnet-discovery=on\n",
      enipool::sim::ClusterConfig{});
  REQUIRE_MESSAGE(config.ok(), config.status());
  REQUIRE(config->subnets.size() == 2);
  CHECK_FALSE(config->subnets[0].pod_only);
  CHECK(config->subnets[1].pod_only);
  CHECK(config->subnets[1].occupied == 3);
  CHECK(config->subnet_discovery);
  enipool::sim::ClusterConfig before = *config;
  CHECK(ApplySetting(*config, "subnet_discovery", "off").ok());
  CHECK_FALSE(config->subnet_discovery);
  before = *config;
  CHECK(ApplySetting(*config, "subnet-discovery", "yes").code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(ApplySetting(*config, "subnet", "10.2.0.0/24,podonly").code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(config->subnets == before.subnets);
  CHECK(config->subnet_discovery == before.subnet_discovery);
}

}  // namespace
