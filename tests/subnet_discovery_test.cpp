// Tests for subnet discovery (docs/reference-behavior.md §4.6, §7.1, §7.5):
// the tag rules of subnet_selection.h, SimulatedEc2's DescribeSubnets, and
// the controller moving past an exhausted subnet without the 120 s back-off.

#include "enipool/subnet_selection.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "enipool/controller.h"
#include "enipool/ec2/backend.h"
#include "enipool/sim/cluster.h"
#include "enipool/sim/scenario.h"
#include "testing/controller_harness.h"

namespace {

using enipool::AddressMode;
using enipool::Ec2Tag;
using enipool::SubnetInfo;
using enipool::testing::SimNode;
using enipool::testing::SimNodeSpec;

SubnetInfo Subnet(std::string id, std::int64_t free, std::vector<Ec2Tag> tags) {
  SubnetInfo subnet;
  subnet.id = std::move(id);
  subnet.available_addresses = free;
  subnet.tags = std::move(tags);
  return subnet;
}

const Ec2Tag kCni1{"kubernetes.io/role/cni", "1"};
const Ec2Tag kCni0{"kubernetes.io/role/cni", "0"};

TEST_CASE("The node's own subnet is valid for new ENIs unless tagged kubernetes.io/role/cni=0") {
  CHECK(enipool::IsSubnetValidForEniCreation(Subnet("s", 1, {}), true, ""));
  CHECK(enipool::IsSubnetValidForEniCreation(Subnet("s", 1, {kCni1}), true, ""));
  CHECK_FALSE(enipool::IsSubnetValidForEniCreation(Subnet("s", 1, {kCni0}), true, ""));
}

TEST_CASE("Another subnet is valid for new ENIs only when tagged kubernetes.io/role/cni with a value other than 0") {
  CHECK_FALSE(enipool::IsSubnetValidForEniCreation(Subnet("s", 1, {}), false, ""));
  CHECK_FALSE(enipool::IsSubnetValidForEniCreation(
      Subnet("s", 1, {{"kubernetes.io/role/cni", ""}}), false, ""));
  CHECK_FALSE(enipool::IsSubnetValidForEniCreation(Subnet("s", 1, {kCni0}), false, ""));
  CHECK(enipool::IsSubnetValidForEniCreation(Subnet("s", 1, {kCni1}), false, ""));
  CHECK(enipool::IsSubnetValidForEniCreation(
      Subnet("s", 1, {{"kubernetes.io/role/cni", "shared"}}), false, ""));
}

TEST_CASE("A subnet tagged for other clusters only is neither valid nor usable, one tagged for this cluster or none is") {
  const Ec2Tag prod{"cni.networking.k8s.aws/cluster/prod", "owned"};
  const Ec2Tag dev{"cni.networking.k8s.aws/cluster/dev", "owned"};
  CHECK(enipool::IsSubnetValidForEniCreation(Subnet("s", 1, {kCni1, prod}), false, "prod"));
  CHECK(enipool::IsSubnetValidForEniCreation(Subnet("s", 1, {kCni1, dev, prod}), false, "prod"));
  CHECK_FALSE(enipool::IsSubnetValidForEniCreation(Subnet("s", 1, {kCni1, dev}), false, "prod"));
  CHECK(enipool::IsSubnetValidForEniCreation(Subnet("s", 1, {kCni1}), false, "prod"));
  // Without CLUSTER_NAME the cluster tags are not checked.
  CHECK(enipool::IsSubnetValidForEniCreation(Subnet("s", 1, {kCni1, dev}), false, ""));
  // The node's own untagged subnet is valid whatever cluster tags it has.
  CHECK(enipool::IsSubnetValidForEniCreation(Subnet("s", 1, {dev}), true, "prod"));

  // Exclusion of an ENI's subnet follows the same tags.
  const SubnetInfo other = Subnet("s", 1, {kCni1, dev});
  CHECK(enipool::IsSubnetExcluded(&other, "prod"));
  CHECK_FALSE(enipool::IsSubnetExcluded(&other, "dev"));
  const SubnetInfo zero = Subnet("s", 1, {kCni0});
  CHECK(enipool::IsSubnetExcluded(&zero, ""));
  const SubnetInfo plain = Subnet("s", 1, {dev});
  CHECK_FALSE(enipool::IsSubnetExcluded(&plain, "prod"));  // no cni tag: never excluded
  CHECK_FALSE(enipool::IsSubnetExcluded(nullptr, "prod"));  // not listed: not excluded
}

TEST_CASE("New ENIs try the valid subnets by free addresses, most first, keeping EC2's order among equals") {
  const std::vector<SubnetInfo> subnets = {
      Subnet("subnet-own", 10, {}),         Subnet("subnet-b", 300, {kCni1}),
      Subnet("subnet-untagged", 900, {}),   Subnet("subnet-c", 300, {kCni1}),
      Subnet("subnet-zero", 5000, {kCni0}), Subnet("subnet-d", 40, {kCni1})};
  CHECK(enipool::SubnetsForEniCreation(subnets, "subnet-own", "") ==
        std::vector<std::string>{"subnet-b", "subnet-c", "subnet-d", "subnet-own"});
}

// An independent statement of the rules: validity per subnet, then a sort.
TEST_CASE("SubnetsForEniCreation agrees with a plain statement of the rules on random subnets") {
  std::mt19937_64 rng(99);
  const std::vector<std::string> roles = {"", "0", "1", "yes"};
  for (int round = 0; round < 2000; ++round) {
    CAPTURE(round);
    const int n = static_cast<int>(rng() % 7);
    const std::string cluster = rng() % 2 ? "prod" : "";
    std::vector<SubnetInfo> subnets;
    struct Row {
      std::string id;
      std::int64_t free;
      bool valid;
    };
    std::vector<Row> model;
    for (int i = 0; i < n; ++i) {
      const std::string id = "subnet-" + std::to_string(i);
      const std::string& role = roles[rng() % roles.size()];
      const int cluster_tags = static_cast<int>(rng() % 4);  // 0 none, 1 ours, 2 other, 3 both
      std::vector<Ec2Tag> tags;
      if (!role.empty() || rng() % 2) {
        if (!role.empty()) tags.push_back({"kubernetes.io/role/cni", role});
      }
      if (cluster_tags == 1 || cluster_tags == 3) {
        tags.push_back({"cni.networking.k8s.aws/cluster/prod", "x"});
      }
      if (cluster_tags == 2 || cluster_tags == 3) {
        tags.push_back({"cni.networking.k8s.aws/cluster/dev", "x"});
      }
      std::shuffle(tags.begin(), tags.end(), rng);
      const std::int64_t free = static_cast<std::int64_t>(rng() % 4) * 100;
      const bool primary = i == 0;
      bool valid;
      if (role == "0") {
        valid = false;
      } else if (role.empty()) {
        valid = primary;
      } else {
        valid = cluster.empty() || cluster_tags != 2;
      }
      subnets.push_back(Subnet(id, free, tags));
      model.push_back({id, free, valid});
    }
    std::vector<std::string> want;
    // Most free first; among equals, the answer's order.
    for (std::int64_t level = 300; level >= 0; level -= 100) {
      for (const Row& row : model) {
        if (row.valid && row.free == level) want.push_back(row.id);
      }
    }
    CHECK(enipool::SubnetsForEniCreation(subnets, "subnet-0", cluster) == want);
  }
}

TEST_CASE("SimulatedEc2 describes its subnets with their free addresses and tags") {
  enipool::ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  enipool::ec2::SimulatedEc2<enipool::ManualClock> ec2(clock);
  REQUIRE(ec2.AddSubnet("subnet-b", *enipool::Ipv4Prefix::Parse("10.0.1.0/24")).ok());
  REQUIRE(ec2.AddSubnet("subnet-a", *enipool::Ipv4Prefix::Parse("10.0.0.0/28")).ok());
  REQUIRE(ec2.SetSubnetTags("subnet-b", {kCni1}).ok());
  const auto refused = ec2.SetSubnetTags("subnet-x", {kCni1});
  CHECK(refused.code() == absl::StatusCode::kNotFound);
  auto all = ec2.DescribeSubnets({});
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].id == "subnet-a");  // by id
  CHECK((*all)[0].available_addresses == 11);  // 16 minus AWS's 5
  CHECK((*all)[0].tags.empty());
  CHECK((*all)[1].available_addresses == 251);
  CHECK((*all)[1].tags == std::vector<Ec2Tag>{kCni1});
  CHECK((*all)[1].cidr == *enipool::Ipv4Prefix::Parse("10.0.1.0/24"));
  // Filters: another VPC or zone lists nothing; an unknown id is EC2's NotFound.
  auto other_vpc = ec2.DescribeSubnets({.vpc_id = "vpc-other"});
  REQUIRE(other_vpc.ok());
  CHECK(other_vpc->empty());
  auto unknown = ec2.DescribeSubnets({.subnet_ids = {"subnet-x"}});
  REQUIRE_FALSE(unknown.ok());
  CHECK(absl::StartsWith(unknown.status().message(), "InvalidSubnetID.NotFound: "));
}

// NodeDatastore::SetEniExcluded against a plain model: random assigns,
// releases, time and exclusion toggles on three ENIs; after each step the
// datastore's own recount (CheckInvariants) agrees with its running
// counters, no pod is ever placed on an excluded ENI, the model's count of
// pods per ENI matches, and Stats() counts only non-excluded ENIs.
TEST_CASE("Excluding and re-admitting ENIs at random keeps every pool counter exact and never places a pod on an excluded ENI") {
  for (AddressMode mode : {AddressMode::kSecondaryIp, AddressMode::kPrefix}) {
    CAPTURE(enipool::AddressModeName(mode));
    enipool::ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
    enipool::NodeDatastore<enipool::ManualClock> datastore(mode, clock);
    const std::vector<std::string> enis = {"eni-a", "eni-b", "eni-c"};
    std::map<std::string, bool> excluded;
    std::map<std::string, int> pods_on;
    for (std::size_t e = 0; e < enis.size(); ++e) {
      REQUIRE(datastore.AddEni({.id = enis[e], .device_number = static_cast<int>(e),
                                .primary = e == 0}).ok());
      excluded[enis[e]] = false;
      for (int c = 0; c < 2; ++c) {
        const std::uint32_t base = 0x0A000000u + static_cast<std::uint32_t>(e) * 256u +
                                   static_cast<std::uint32_t>(c) * 16u;
        const enipool::Ipv4Prefix cidr =
            mode == AddressMode::kPrefix
                ? enipool::Ipv4Prefix::Containing(enipool::Ipv4Address(base), 28)
                : enipool::Ipv4Prefix::FromAddress(enipool::Ipv4Address(base));
        REQUIRE(datastore.AddCidr(enis[e], cidr).ok());
      }
    }
    std::mt19937_64 rng(mode == AddressMode::kPrefix ? 11 : 12);
    std::map<int, std::string> live;  // pod → ENI
    int next = 0;
    for (int step = 0; step < 3000; ++step) {
      CAPTURE(step);
      const int what = static_cast<int>(rng() % 10);
      if (what < 5) {
        const enipool::PodKey pod{"aws-cni", "p" + std::to_string(next), "eth0"};
        auto assigned = datastore.Assign(pod);
        if (assigned.ok()) {
          const std::string eni(assigned->eni_id.view());
          CHECK_FALSE(excluded[eni]);
          live[next] = eni;
          pods_on[eni] += 1;
        }
        ++next;
      } else if (what < 8 && !live.empty()) {
        auto it = live.begin();
        std::advance(it, static_cast<std::ptrdiff_t>(rng() % live.size()));
        REQUIRE(datastore.Release({"aws-cni", "p" + std::to_string(it->first), "eth0"}).ok());
        pods_on[it->second] -= 1;
        live.erase(it);
      } else if (what == 8) {
        clock.AdvanceTime(absl::Seconds(static_cast<int>(rng() % 40)));
      } else {
        const std::string& eni = enis[rng() % enis.size()];
        excluded[eni] = !excluded[eni];
        REQUIRE(datastore.SetEniExcluded(eni, excluded[eni]).ok());
      }
      const absl::Status invariants = datastore.CheckInvariants();
      REQUIRE_MESSAGE(invariants.ok(), invariants.ToString());
      int in_pool = 0;
      for (const std::string& eni : enis) {
        auto view = datastore.FindEni(eni);
        REQUIRE(view.ok());
        CHECK(view->excluded == excluded[eni]);
        CHECK(view->pods == pods_on[eni]);
        if (!excluded[eni]) ++in_pool;
      }
      CHECK(datastore.Stats().enis == in_pool);
      CHECK(datastore.Stats().excluded_enis == 3 - in_pool);
    }
  }
  enipool::ManualClock clock;
  enipool::NodeDatastore<enipool::ManualClock> empty(AddressMode::kPrefix, clock);
  CHECK(empty.SetEniExcluded("eni-x", true).code() == absl::StatusCode::kNotFound);
}

// --- the controller ---------------------------------------------------------------

constexpr AddressMode kModes[] = {AddressMode::kSecondaryIp, AddressMode::kPrefix};

// A node whose own subnet (subnet-a, a /27) is nearly full, next to a pod
// subnet (subnet-b, tagged kubernetes.io/role/cni=1).
SimNodeSpec DryNodeSpec(AddressMode mode, bool discovery) {
  SimNodeSpec spec{.mode = mode, .max_enis = 8, .ipv4_per_eni = 10, .max_pods = 1000,
                   .warm_prefix_target = 1, .subnet_cidr = "10.0.0.0/27"};
  spec.configure = [discovery](enipool::ControllerConfig& config) {
    config.subnet_discovery = discovery;
  };
  return spec;
}

void AddPodSubnet(SimNode& node) {
  REQUIRE(node.ec2().AddSubnet("subnet-b", *enipool::Ipv4Prefix::Parse("10.0.64.0/20")).ok());
  REQUIRE(node.ec2().SetSubnetTags("subnet-b", {kCni1}).ok());
  // subnet-a keeps 3 free addresses and no free aligned /28.
  const auto* a = node.ec2().FindSubnet("subnet-a");
  REQUIRE(a != nullptr);
  REQUIRE(node.ec2().OccupyAddresses("subnet-a", static_cast<int>(a->free_address_count()) - 3).ok());
}

TEST_CASE("Under subnet discovery a node whose subnet runs dry keeps getting addresses from a tagged subnet with no 120 s back-off, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNode node(DryNodeSpec(mode, /*discovery=*/true));
    AddPodSubnet(node);
    REQUIRE(node.Start().ok());
    const absl::Time first = node.clock().Now();
    // 60 pods, each retried at most twice (10 s of pool checks): a 120 s
    // back-off would leave pods unserved.
    const int pods = 60;
    CHECK(node.AddPodsWaiting(0, pods, /*max_checks_per_pod=*/2) == pods);
    CHECK(node.controller().counters().insufficient_backoffs == 0);
    CHECK(node.controller().last_insufficient_addresses() == absl::InfinitePast());
    CHECK(node.clock().Now() - first < absl::Seconds(120));
    // Every ENI the node made went to the pod subnet.
    int made = 0;
    for (const enipool::ManagedEni& record : node.controller().enis()) {
      if (record.id == node.primary().id) continue;
      ++made;
      CHECK(record.subnet_id == "subnet-b");
    }
    CHECK(made >= 1);
    {
      const absl::Status consistent = enipool::testing::CheckNodeAgainstEc2(node.controller(), node.ec2());
      CHECK_MESSAGE(consistent.ok(), consistent.ToString());
    }
  }
}

TEST_CASE("Without subnet discovery the same dry subnet stops the node for 120 s, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNode node(DryNodeSpec(mode, /*discovery=*/false));
    AddPodSubnet(node);
    REQUIRE(node.Start().ok());
    CHECK(node.AddPodsWaiting(0, 60, /*max_checks_per_pod=*/2) < 60);
    CHECK(node.controller().counters().insufficient_backoffs > 0);
    CHECK(node.controller().counters().calls_of(9) == 0);  // no DescribeSubnets
  }
}

TEST_CASE("An assign that finds its ENI's subnet exhausted moves on to a new ENI in the same pool check under subnet discovery, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNode node(DryNodeSpec(mode, /*discovery=*/true));
    AddPodSubnet(node);
    // Nothing at all left in the node's own subnet.
    REQUIRE(node.ec2().OccupyAddresses("subnet-a", 3).ok());
    // Start() ends with one pool check: the primary's assign fails twice
    // (the count, then 1), and the same check creates an ENI in subnet-b.
    REQUIRE(node.Start().ok());
    const auto& counters = node.controller().counters();
    CHECK(counters.exhausted_eni_skips == 1);
    CHECK(counters.retries_with_one == 1);
    CHECK(counters.enis_created == 1);
    CHECK(counters.insufficient_backoffs == 0);
    CHECK(counters.pool_checks == 1);
    CHECK(node.datastore().Stats().total_ips > 0);
  }
}

TEST_CASE("A create that fails in the subnet with most free addresses moves on to the next valid one") {
  SimNodeSpec spec{.mode = AddressMode::kPrefix, .max_enis = 3, .ipv4_per_eni = 2,
                   .max_pods = 1000, .subnet_cidr = "10.0.0.0/24"};
  spec.configure = [](enipool::ControllerConfig& config) { config.subnet_discovery = true; };
  SimNode node(spec);
  REQUIRE(node.ec2().AddSubnet("subnet-b", *enipool::Ipv4Prefix::Parse("10.0.64.0/22")).ok());
  REQUIRE(node.ec2().AddSubnet("subnet-c", *enipool::Ipv4Prefix::Parse("10.0.32.0/23")).ok());
  REQUIRE(node.ec2().SetSubnetTags("subnet-b", {kCni1}).ok());
  REQUIRE(node.ec2().SetSubnetTags("subnet-c", {kCni1}).ok());
  // The node's first create (in subnet-b, the most free addresses) fails.
  node.ec2().fault_plan().FailNthCall(
      enipool::ec2::CallKind::kCreateNetworkInterface, 1,
      enipool::Ec2Error(enipool::Ec2ErrorCode::kInsufficientCidrBlocks, "subnet-b is fragmented"));
  REQUIRE(node.Start().ok());
  REQUIRE(node.AddPodsWaiting(0, 17, 4) == 17);  // the primary's /28, then a new ENI
  CHECK(node.controller().counters().create_subnet_fallbacks == 1);
  bool in_c = false;
  for (const enipool::ManagedEni& record : node.controller().enis()) {
    if (record.subnet_id == "subnet-c") in_c = true;
  }
  CHECK(in_c);
  CHECK(node.controller().counters().insufficient_backoffs == 0);
}

TEST_CASE("An ENI in a subnet tagged kubernetes.io/role/cni=0 is kept from pods and gives back its free addresses, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNodeSpec spec{.mode = mode, .max_enis = 4, .ipv4_per_eni = 4, .max_pods = 1000};
    spec.configure = [](enipool::ControllerConfig& config) { config.subnet_discovery = true; };
    SimNode node(spec);
    REQUIRE(node.ec2().AddSubnet("subnet-x", *enipool::Ipv4Prefix::Parse("10.0.96.0/24")).ok());
    REQUIRE(node.ec2().SetSubnetTags("subnet-x", {kCni0}).ok());
    enipool::CreateNetworkInterfaceRequest create{.subnet_id = "subnet-x"};
    (mode == AddressMode::kPrefix ? create.ipv4_prefix_count : create.secondary_ip_count) = 2;
    auto excluded = node.ec2().CreateNetworkInterface(create);
    REQUIRE(excluded.ok());
    REQUIRE(node.ec2()
                .AttachNetworkInterface(
                    {.eni_id = excluded->id, .instance_id = "i-node", .device_index = 1})
                .ok());
    // The startup describe, without the pre-scaling pool check.
    std::vector<enipool::Ec2Request> requests;
    node.controller().Start(node.clock().Now(), requests);
    REQUIRE(enipool::DriveRequests(node.controller(), node.ec2(), node.clock(),
                                   std::move(requests))
                .ok());
    REQUIRE(node.controller().started());
    auto held = node.datastore().FindEni(excluded->id);
    REQUIRE(held.ok());
    CHECK(held->excluded);
    CHECK(node.datastore().Stats().excluded_enis == 1);
    // The startup clean-up gives back what no pod uses.
    std::vector<enipool::Ec2Request> release;
    auto released = node.controller().ReleaseOtherModeCidrs(node.clock().Now(), release);
    REQUIRE(released.ok());
    CHECK(*released == 2);
    REQUIRE(enipool::DriveRequests(node.controller(), node.ec2(), node.clock(), std::move(release))
                .ok());
    CHECK(node.ec2().FindEni(excluded->id)->secondary_ips.empty());
    CHECK(node.ec2().FindEni(excluded->id)->prefixes.empty());
    // Pods never land on it.
    REQUIRE(node.Converge().ok());
    node.AddPodsWaiting(0, 20, 6);
    CHECK(node.datastore().FindEni(excluded->id)->pods == 0);
  }
}

TEST_CASE("An ENI whose subnet is tagged out at run time stops serving pods and keeps the ones it has, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNodeSpec spec{.mode = mode, .max_enis = 4, .ipv4_per_eni = 3, .max_pods = 1000};
    spec.configure = [](enipool::ControllerConfig& config) {
      config.subnet_discovery = true;
      config.reconcile_interval = absl::Seconds(60);
    };
    SimNode node(spec);
    REQUIRE(node.ec2().AddSubnet("subnet-b", *enipool::Ipv4Prefix::Parse("10.0.64.0/20")).ok());
    REQUIRE(node.ec2().SetSubnetTags("subnet-b", {kCni1}).ok());
    REQUIRE(node.Start().ok());
    const int unit = mode == AddressMode::kPrefix ? 16 : 1;
    REQUIRE(node.AddPodsWaiting(0, 3 * unit, 6) == 3 * unit);
    std::string in_b;
    for (const enipool::ManagedEni& record : node.controller().enis()) {
      if (record.subnet_id == "subnet-b" && node.datastore().FindEni(record.id)->pods > 0) {
        in_b = record.id;
      }
    }
    REQUIRE_FALSE(in_b.empty());
    const auto pods_on_b = node.datastore().FindEni(in_b)->pods;
    REQUIRE(node.ec2().SetSubnetTags("subnet-b", {kCni0}).ok());
    for (int i = 0; i < 20; ++i) REQUIRE(node.Check().ok());
    CHECK(node.controller().counters().exclusion_changes >= 1);
    auto held = node.datastore().FindEni(in_b);
    REQUIRE(held.ok());
    CHECK(held->excluded);
    CHECK(held->pods == pods_on_b);  // its pods keep their addresses
    // New pods go elsewhere.
    node.AddPodsWaiting(100, 2 * unit, 6);
    CHECK(node.datastore().FindEni(in_b)->pods == pods_on_b);
    {
      const absl::Status consistent = enipool::testing::CheckNodeAgainstEc2(node.controller(), node.ec2());
      CHECK_MESSAGE(consistent.ok(), consistent.ToString());
    }
  }
}

// A cluster whose nodes share a small subnet that runs dry, next to a pod
// subnet: with subnet discovery the burst is served from the pod subnet and
// no node backs off; without it, nodes back off and pods go unserved.
enipool::sim::ClusterConfig DryClusterConfig(AddressMode mode, bool discovery) {
  enipool::sim::ClusterConfig config;
  config.name = discovery ? "discovery" : "no-discovery";
  config.instance_type = "m5.large";
  config.nodes = 4;
  config.pool.mode = mode;
  config.pool.warm_prefix_target = 1;
  config.workload = enipool::sim::BurstWorkload{.pods = 100, .at = absl::Seconds(30)};
  enipool::sim::SubnetConfig node_subnet{.cidr = *enipool::Ipv4Prefix::Parse("10.1.0.0/26")};
  enipool::sim::SubnetConfig pod_subnet{.cidr = *enipool::Ipv4Prefix::Parse("10.2.0.0/20"),
                                        .pod_only = true};
  config.subnets = {node_subnet, pod_subnet};
  config.subnet_discovery = discovery;
  config.duration = absl::Minutes(3);
  config.sample_interval = absl::Seconds(10);
  config.seed = 5;
  return config;
}

TEST_CASE("The cluster simulator runs nodes whose own subnet runs dry, served from a pod subnet under subnet discovery, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    auto with = enipool::sim::Cluster::Create(DryClusterConfig(mode, true));
    REQUIRE_MESSAGE(with.ok(), with.status());
    const auto served = (*with)->Run();
    REQUIRE_MESSAGE(served.ok(), served.status());
    REQUIRE((*with)->CheckConsistency().ok());
    std::int64_t backoffs = 0;
    for (int n = 0; n < 4; ++n) backoffs += (*with)->node(n).counters().insufficient_backoffs;
    CHECK(backoffs == 0);
    CHECK(served->pods_never_served == 0);
    CHECK(served->pods_ready == 100);

    auto without = enipool::sim::Cluster::Create(DryClusterConfig(mode, false));
    REQUIRE_MESSAGE(without.ok(), without.status());
    const auto stalled_run = (*without)->Run();
    REQUIRE_MESSAGE(stalled_run.ok(), stalled_run.status());
    std::int64_t stalled = 0;
    for (int n = 0; n < 4; ++n) stalled += (*without)->node(n).counters().insufficient_backoffs;
    CHECK(stalled > 0);
    CHECK(stalled_run->pods_ready < 100);
  }
}


// docs/reference-behavior.md §7.1: when the DescribeSubnets before a create
// fails, the reference describes the subnets again to learn whether its own
// subnet is tagged kubernetes.io/role/cni=0; if not, it creates the ENI
// there; if that describe fails too, or the subnet is tagged out, it
// creates nothing in that check.
TEST_CASE("A failed DescribeSubnets before a create falls back to the node's own subnet unless it is tagged out") {
  for (int scenario = 0; scenario < 3; ++scenario) {
    CAPTURE(scenario);
    SimNodeSpec spec{.mode = AddressMode::kSecondaryIp, .max_enis = 3, .ipv4_per_eni = 4,
                     .warm_eni_target = 0};
    spec.configure = [](enipool::ControllerConfig& config) { config.subnet_discovery = true; };
    SimNode node(spec);
    REQUIRE(node.ec2().AddSubnet("subnet-b", *enipool::Ipv4Prefix::Parse("10.0.64.0/22")).ok());
    REQUIRE(node.ec2().SetSubnetTags("subnet-b", {kCni1}).ok());
    REQUIRE(node.Start().ok());
    REQUIRE(node.AddPodsWaiting(0, 3) == 3);  // the primary's three slots
    const std::uint64_t describes =
        node.ec2().stats().calls_of(enipool::ec2::CallKind::kDescribeSubnets);
    const absl::Status down =
        enipool::Ec2Error(enipool::Ec2ErrorCode::kOther, "InternalError: try again");
    node.ec2().fault_plan().FailNthCall(enipool::ec2::CallKind::kDescribeSubnets, describes + 1,
                                        down);
    if (scenario == 1) {
      node.ec2().fault_plan().FailNthCall(enipool::ec2::CallKind::kDescribeSubnets,
                                          describes + 2, down);
    }
    if (scenario == 2) REQUIRE(node.ec2().SetSubnetTags("subnet-a", {kCni0}).ok());
    const std::uint64_t creates =
        node.ec2().stats().calls_of(enipool::ec2::CallKind::kCreateNetworkInterface);
    REQUIRE(node.Check().ok());  // the pool is empty: a new ENI is wanted
    const std::uint64_t created =
        node.ec2().stats().calls_of(enipool::ec2::CallKind::kCreateNetworkInterface) - creates;
    CHECK(node.ec2().stats().calls_of(enipool::ec2::CallKind::kDescribeSubnets) ==
          describes + 2);
    if (scenario == 0) {
      // Created in subnet-a, the node's own, not subnet-b (the describe
      // that would have named it failed).
      CHECK(created == 1);
      CHECK(node.controller().counters().own_subnet_fallbacks == 1);
      bool in_a = false;
      for (const enipool::ManagedEni& record : node.controller().enis()) {
        if (record.device_index > 0) in_a = record.subnet_id == "subnet-a";
      }
      CHECK(in_a);
    } else {
      CHECK(created == 0);
      CHECK(node.controller().counters().own_subnet_fallbacks == 0);
      CHECK(node.controller().counters().no_valid_subnet == (scenario == 2 ? 1 : 0));
    }
    CHECK(node.controller().counters().insufficient_backoffs == 0);
  }
}
}  // namespace
