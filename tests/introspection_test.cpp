// Tests for introspection.h: the /v1/enis snapshot and its JSON, and the
// Prometheus text exposition of the reference's metrics.

#include "enipool/introspection.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/multi_card.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"
#include "testing/controller_harness.h"

namespace enipool {
namespace {

Ipv4Prefix P(const char* text) { return *Ipv4Prefix::Parse(text); }
Ipv4Address A(const char* text) { return *Ipv4Address::Parse(text); }

TEST_CASE("SnapshotOf lists ENIs, CIDRs and the addresses in use, with pod keys blanked") {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  NodeDatastore datastore(AddressMode::kPrefix, clock);
  REQUIRE(datastore.AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
  REQUIRE(datastore.AddEni({.id = "eni-2", .device_number = 1}).ok());
  REQUIRE(datastore.AddCidr("eni-1", P("10.0.0.16/28")).ok());
  REQUIRE(datastore.AddCidr("eni-2", P("10.0.1.7/32")).ok());  // an other-mode leftover
  const absl::Time t0 = clock.Now();
  REQUIRE(datastore.Assign({"aws-cni", "container-a", "eth0"}).ok());  // 10.0.0.16
  REQUIRE(datastore.Assign({"aws-cni", "container-b", "eth0"}).ok());  // 10.0.0.17
  clock.AdvanceTime(absl::Seconds(3));
  REQUIRE(datastore.Release({"aws-cni", "container-a", "eth0"}).ok());

  const NodeSnapshot snapshot = SnapshotOf(datastore);
  CHECK(snapshot.total_ips == 17);  // raw: both kinds
  CHECK(snapshot.assigned_ips == 1);
  CHECK(snapshot.cooling_ips == 1);
  REQUIRE(snapshot.enis.size() == 2);
  const EniRecord& primary = snapshot.enis[0];
  CHECK(primary.id == "eni-1");
  CHECK(primary.primary);
  CHECK(primary.route_table_id == 254);
  REQUIRE(primary.cidrs.size() == 1);
  const CidrRecord& prefix = primary.cidrs[0];
  CHECK(prefix.cidr == P("10.0.0.16/28"));
  CHECK(prefix.is_prefix);
  CHECK(prefix.in_mode);
  CHECK(prefix.assigned == 1);
  REQUIRE(prefix.addresses.size() == 2);
  CHECK(prefix.addresses[0] == AddressRecord{.address = A("10.0.0.16"),
                                             .network_name = "",
                                             .assigned = false,
                                             .assigned_at = absl::InfinitePast(),
                                             .cooling = true,
                                             .released_at = t0 + absl::Seconds(3)});
  CHECK(prefix.addresses[1] == AddressRecord{.address = A("10.0.0.17"),
                                             .network_name = "aws-cni",
                                             .assigned = true,
                                             .assigned_at = t0,
                                             .cooling = false,
                                             .released_at = absl::InfinitePast()});
  const EniRecord& second = snapshot.enis[1];
  CHECK(second.route_table_id == 2);
  REQUIRE(second.cidrs.size() == 1);
  CHECK_FALSE(second.cidrs[0].in_mode);
  CHECK(second.cidrs[0].addresses.empty());
}

TEST_CASE("ToJson writes the snapshot in the shape of the reference's /v1/enis") {
  NodeSnapshot snapshot;
  snapshot.total_ips = 16;
  snapshot.assigned_ips = 1;
  snapshot.enis.push_back(
      EniRecord{.id = "eni-1",
                .primary = true,
                .trunk = false,
                .efa = false,
                .device_number = 0,
                .excluded = false,
                .route_table_id = 254,
                .subnet_id = "subnet-a",
                .cidrs = {CidrRecord{
                    .cidr = P("10.0.0.16/28"),
                    .is_prefix = true,
                    .in_mode = true,
                    .assigned = 1,
                    .addresses = {AddressRecord{.address = A("10.0.0.16"),
                                                .network_name = "aws-cni",
                                                .assigned = true,
                                                .assigned_at = absl::FromUnixSeconds(1'700'000'000),
                                                .cooling = false,
                                                .released_at = absl::InfinitePast()}}}}});
  CHECK(ToJson(snapshot) ==
        "{\"0\":{\"TotalIPs\":16,\"AssignedIPs\":1,\"ENIs\":{\"eni-1\":{\"ID\":\"eni-1\","
        "\"IsPrimary\":true,\"IsTrunk\":false,\"IsEFA\":false,\"DeviceNumber\":0,"
        "\"IsExcludedForPodIPs\":false,\"RouteTableID\":254,\"SubnetID\":\"subnet-a\","
        "\"AvailableIPv4Cidrs\":{\"10.0.0.16/28\":{\"Cidr\":\"10.0.0.16/28\",\"IsPrefix\":true,"
        "\"AddressFamily\":\"4\",\"IPAddresses\":{\"10.0.0.16\":{\"Address\":\"10.0.0.16\","
        "\"IPAMKey\":{\"networkName\":\"aws-cni\",\"containerID\":\"\",\"ifName\":\"\"},"
        "\"AssignedTime\":\"2023-11-14T22:13:20Z\",\"UnassignedTime\":\"0001-01-01T00:00:00Z\"}}}},"
        "\"IPv6Cidrs\":{}}}}}");
  CHECK(ToJson(NodeSnapshot{}) == "{\"0\":{\"TotalIPs\":0,\"AssignedIPs\":0,\"ENIs\":{}}}");
}

TEST_CASE("ToJson escapes quotes, backslashes and control characters in strings") {
  NodeSnapshot snapshot;
  snapshot.enis.push_back(EniRecord{
      .id = "eni-1",
      .subnet_id = "a\"b\\c\nd\x01",
      .cidrs = {CidrRecord{
          .cidr = P("10.0.0.1/32"),
          .addresses = {AddressRecord{.address = A("10.0.0.1"), .network_name = "net\t\"x\""}}}}});
  const std::string json = ToJson(snapshot);
  CHECK(absl::StrContains(json, "\"SubnetID\":\"a\\\"b\\\\c\\nd\\u0001\""));
  CHECK(absl::StrContains(json, "\"networkName\":\"net\\t\\\"x\\\"\""));
}

TEST_CASE("Prometheus label values escape backslash, quote and newline") {
  CHECK(internal::PrometheusLabel("plain") == "plain");
  CHECK(internal::PrometheusLabel("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
}

TEST_CASE("RenderPrometheus exposes the reference's metrics for a running node") {
  testing::SimNode node(testing::SimNodeSpec{
      .mode = AddressMode::kSecondaryIp, .max_enis = 3, .ipv4_per_eni = 10, .max_pods = 29});
  REQUIRE(node.Start() == absl::OkStatus());
  REQUIRE(node.AddPodsWaiting(0, 2) == 2);
  REQUIRE(node.Converge() == absl::OkStatus());
  (void)node.controller().AddPod({"aws-cni", "x", "eth0"});  // 3 pods now
  const std::string text = RenderPrometheus(node.controller());

  // Every sample line belongs to a metric announced by # HELP and # TYPE.
  std::vector<std::string> announced;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "# HELP ")) {
      announced.emplace_back(std::vector<absl::string_view>(absl::StrSplit(line, ' '))[2]);
      continue;
    }
    if (absl::StartsWith(line, "# TYPE ")) {
      CHECK((absl::EndsWith(line, " gauge") || absl::EndsWith(line, " counter")));
      continue;
    }
    REQUIRE_FALSE(announced.empty());
    const absl::string_view name = line.substr(0, line.find_first_of("{ "));
    CAPTURE(line);
    CHECK(name == announced.back());
  }
  for (const char* name :
       {"awscni_eni_allocated", "awscni_eni_max", "awscni_ip_max", "awscni_total_ip_addresses",
        "awscni_assigned_ip_addresses", "awscni_total_ipv4_prefixes", "awscni_assigned_ip_per_cidr",
        "awscni_force_removed_enis", "awscni_ec2api_req_count", "awscni_ec2api_error_count",
        "awscni_no_available_ip_addresses"}) {
    CAPTURE(name);
    CHECK(std::find(announced.begin(), announced.end(), name) != announced.end());
  }
  // 2 pods leave 7 < 9 free on the primary: a second ENI of 9 came.
  CHECK(absl::StrContains(text, "\nawscni_eni_allocated 2\n"));
  CHECK(absl::StrContains(text, "\nawscni_eni_max 3\n"));
  CHECK(absl::StrContains(text, "\nawscni_ip_max 27\n"));
  CHECK(absl::StrContains(text, "\nawscni_total_ip_addresses 18\n"));
  CHECK(absl::StrContains(text, "awscni_ec2api_req_count{fn=\"CreateNetworkInterface\"} 1\n"));
  CHECK(absl::StrContains(text, "awscni_ec2api_req_count{fn=\"AttachNetworkInterface\"} 1\n"));
  CHECK(absl::StrContains(text, "\nawscni_assigned_ip_addresses 3\n"));
  CHECK(absl::StrContains(text, "\nawscni_add_ip_req_count 3\n"));
  CHECK(absl::StrContains(text, "awscni_ec2api_req_count{fn=\"AssignPrivateIpAddresses\"} 1\n"));
  CHECK(absl::StrContains(text, "awscni_ec2api_req_count{fn=\"DescribeNetworkInterfaces\"} 1\n"));
  CHECK(absl::StrContains(text, "awscni_ec2api_error_count{fn=\"AssignPrivateIpAddresses\"} 0\n"));
}

TEST_CASE("RenderPrometheus counts EC2 errors by API and code") {
  testing::SimNode node(testing::SimNodeSpec{
      .mode = AddressMode::kSecondaryIp, .max_enis = 3, .ipv4_per_eni = 10, .max_pods = 29});
  node.ec2().fault_plan().FailNthCall(
      ec2::CallKind::kAssignPrivateIpAddresses, 1,
      Ec2Error(Ec2ErrorCode::kInsufficientFreeAddressesInSubnet, "x"));
  REQUIRE(node.Start() == absl::OkStatus());
  const std::string text = RenderPrometheus(node.controller());
  CHECK(absl::StrContains(text, "awscni_ec2api_error_count{fn=\"AssignPrivateIpAddresses\"} 1\n"));
  CHECK(absl::StrContains(text,
                          "awscni_aws_api_error_count{api=\"AssignPrivateIpAddresses\","
                          "error=\"InsufficientFreeAddressesInSubnet\"} 1\n"));
  CHECK(absl::StrContains(text, "\nawscni_no_available_ip_addresses 0\n"));
}


// docs/reference-behavior.md §9: /v1/enis is a map from network card to that
// card's pool; a node of several cards shows each.
TEST_CASE("ToJson keys each card's pool by its network card as the reference's /v1/enis does") {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  NodeDatastore card0(AddressMode::kSecondaryIp, clock, absl::Seconds(30), Placement::kBestFit,
                      OtherKind::kKept, 0);
  NodeDatastore card3(AddressMode::kSecondaryIp, clock, absl::Seconds(30), Placement::kBestFit,
                      OtherKind::kKept, 3);
  REQUIRE(card0.AddEni({.id = "eni-0", .device_number = 0, .primary = true}).ok());
  REQUIRE(card0.AddCidr("eni-0", P("10.0.0.5/32")).ok());
  REQUIRE(card3.AddEni({.id = "eni-3", .device_number = 0}).ok());
  REQUIRE(card3.AddCidr("eni-3", P("10.0.0.9/32")).ok());
  REQUIRE(card3.Assign({"aws-cni", "c1", "eth0"}).ok());
  const std::vector<NodeSnapshot> cards = {SnapshotOf(card0), SnapshotOf(card3)};
  CHECK(cards[0].network_card == 0);
  CHECK(cards[1].network_card == 3);
  const std::string json = ToJson(cards);
  CHECK(absl::StartsWith(json, "{\"0\":{\"TotalIPs\":1,\"AssignedIPs\":0,\"ENIs\":{\"eni-0\":"));
  CHECK(absl::StrContains(json, "}},\"3\":{\"TotalIPs\":1,\"AssignedIPs\":1,\"ENIs\":{\"eni-3\":"));
  CHECK(absl::StrContains(json, "\"RouteTableID\":10300"));
  // One card alone is rendered as before, keyed by its card.
  CHECK(ToJson(cards[1]) == absl::StrCat("{", json.substr(json.find("\"3\":")), ""));
  CHECK(ToJson(std::vector<NodeSnapshot>{}) == "{}");
}

TEST_CASE("RenderPrometheus exposes implausible describes and refused ENIs") {
  ControllerMetrics metrics;
  metrics.counters.implausible_describes = 4;
  metrics.counters.enis_refused = 2;
  const std::string text = RenderPrometheus(metrics);
  CHECK(absl::StrContains(text, "# TYPE enipool_implausible_describes counter\n"
                                "enipool_implausible_describes 4\n"));
  CHECK(absl::StrContains(text, "# TYPE enipool_enis_refused counter\nenipool_enis_refused 2\n"));
}

// A node of several cards is one process in the reference: one set of
// metrics, each counter the sum of the cards', checked against a field-by-
// field sum over random counters.
TEST_CASE("Summed controller counters equal the field-by-field sums over random counters") {
  std::mt19937_64 rng(5);
  for (int round = 0; round < 50; ++round) {
    ControllerCounters a;
    ControllerCounters b;
    for (ControllerCounters* k : {&a, &b}) {
      for (std::int64_t& c : k->calls) c = static_cast<std::int64_t>(rng() % 1000);
      for (auto& row : k->errors_by_call) {
        for (std::int64_t& c : row) c = static_cast<std::int64_t>(rng() % 10);
      }
      k->implausible_describes = static_cast<std::int64_t>(rng() % 100);
      k->enis_refused = static_cast<std::int64_t>(rng() % 100);
      k->leaked_enis_deleted = static_cast<std::int64_t>(rng() % 100);
      k->add_requests = static_cast<std::int64_t>(rng() % 100000);
    }
    ControllerCounters sum = a;
    internal::AddCounters(sum, b);
    for (std::size_t i = 0; i < kEc2CallCount; ++i) {
      CHECK(sum.calls[i] == a.calls[i] + b.calls[i]);
      for (std::size_t code = 0; code < kEc2ErrorCodeCount; ++code) {
        CHECK(sum.errors_by_call[i][code] == a.errors_by_call[i][code] + b.errors_by_call[i][code]);
      }
    }
    CHECK(sum.implausible_describes == a.implausible_describes + b.implausible_describes);
    CHECK(sum.enis_refused == a.enis_refused + b.enis_refused);
    CHECK(sum.leaked_enis_deleted == a.leaked_enis_deleted + b.leaked_enis_deleted);
    CHECK(sum.add_requests == a.add_requests + b.add_requests);
    CHECK(sum.pool_checks == 0);
  }
}

TEST_CASE("MetricsOf a multi-card node adds up every card's addresses and counters") {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  ec2::SimulatedEc2Options options;
  options.latency = ec2::LatencyModel::Zero();
  options.throttle = ec2::ThrottleConfig::Disabled();
  ec2::SimulatedEc2<ManualClock> sim(clock, options);
  REQUIRE(sim.AddSubnet("subnet-a", P("10.0.0.0/20")).ok());
  REQUIRE(sim.AddInstance({.instance_id = "i-node", .subnet_id = "subnet-a", .max_enis = 2,
                           .ipv4_per_eni = 10, .network_cards = 3})
              .ok());
  MultiCardConfig config;
  config.node.instance_id = "i-node";
  config.node.subnet_id = "subnet-a";
  config.node.pool.warm_ip_target = 3;
  config.limits = {.name = "x9.3card", .max_enis = 2, .ipv4_per_eni = 10, .network_cards = 3,
                   .enis_all_cards = 6};
  config.managed_cards = {0, 1, 2};
  auto node = MultiCardNode<ManualClock>::Create(clock, config);
  REQUIRE(node.ok());
  REQUIRE(StartMultiCardNode(*node, sim, clock, [&](absl::Time t) { clock.SetTime(t); }).ok());
  REQUIRE(node->AddPod({"aws-cni", "c1", "eth0"}).ok());
  const ControllerMetrics metrics = MetricsOf(*node);
  std::int64_t total = 0;
  std::int64_t describes = 0;
  std::size_t enis = 0;
  for (std::size_t k = 0; k < node->card_count(); ++k) {
    total += node->controller(k).pool().Stats().total_ips;
    describes += node->controller(k).counters().calls_of(8);
    enis += node->controller(k).pool().EniViews().size();
  }
  CHECK(total == 5);  // W = 3 on card 0, W = M = 1 on each other card
  CHECK(metrics.snapshot.total_ips == total);
  CHECK(metrics.snapshot.assigned_ips == 1);
  CHECK(metrics.snapshot.enis.size() == enis);
  CHECK(metrics.counters.calls_of(8) == describes);  // DescribeNetworkInterfaces
  CHECK(describes == 3);
  CHECK(metrics.counters.add_requests == 1);
  CHECK(metrics.pool.max_enis == 2);
  const std::string text = RenderPrometheus(*node);
  CHECK(absl::StrContains(text, "\nawscni_total_ip_addresses 5\n"));
  CHECK(absl::StrContains(text, "awscni_ec2api_req_count{fn=\"DescribeNetworkInterfaces\"} 3\n"));
}
}  // namespace
}  // namespace enipool

namespace {

// docs/reference-behavior.md §9: an IPv6 node's /v1/enis shows its ENI with
// the /80 under IPv6Cidrs, each address in use with its times (a cooling one
// with its release time), and its metrics count the pods per /80 and ENI.
TEST_CASE("An IPv6 node's snapshot shows its /80 with the addresses in use and its metrics the pods") {
  enipool::ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  enipool::Ipv6Datastore<enipool::ManualClock> store(clock);
  REQUIRE(store.AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
  const auto prefix = *enipool::Ipv6Prefix::Parse("2600:1f14:abc:1:2::/80");
  REQUIRE(store.AddPrefix("eni-1", prefix).ok());
  REQUIRE(store.Assign({"aws-cni", "a", "eth0"}).ok());
  clock.AdvanceTime(absl::Seconds(1));
  REQUIRE(store.Assign({"aws-cni", "b", "eth0"}).ok());
  clock.AdvanceTime(absl::Seconds(1));
  REQUIRE(store.Release({"aws-cni", "a", "eth0"}).ok());
  const enipool::NodeSnapshot snapshot = enipool::SnapshotOf(store);
  CHECK(snapshot.assigned_ips == 1);
  CHECK(snapshot.cooling_ips == 1);
  CHECK(snapshot.total_ips == std::int64_t{1} << 48);
  REQUIRE(snapshot.enis.size() == 1);
  CHECK(snapshot.enis[0].route_table_id == 254);
  CHECK(snapshot.enis[0].cidrs.empty());
  const std::string json = enipool::ToJson(snapshot);
  CHECK(absl::StrContains(
      json,
      "\"AvailableIPv4Cidrs\":{},\"IPv6Cidrs\":{\"2600:1f14:abc:1:2::/80\":{\"Cidr\":"
      "\"2600:1f14:abc:1:2::/80\",\"IsPrefix\":true,\"AddressFamily\":\"6\",\"IPAddresses\":{"
      "\"2600:1f14:abc:1:2::\":{\"Address\":\"2600:1f14:abc:1:2::\",\"IPAMKey\":{\"networkName\":"
      "\"\",\"containerID\":\"\",\"ifName\":\"\"},\"AssignedTime\":\"0001-01-01T00:00:00Z\","
      "\"UnassignedTime\":\"2023-11-14T22:13:22Z\"},"
      "\"2600:1f14:abc:1:2::1\":{\"Address\":\"2600:1f14:abc:1:2::1\",\"IPAMKey\":{\"networkName\":"
      "\"aws-cni\",\"containerID\":\"\",\"ifName\":\"\"},\"AssignedTime\":\"2023-11-14T22:13:21Z\","
      "\"UnassignedTime\":\"0001-01-01T00:00:00Z\"}}}}"));
  enipool::ControllerMetrics metrics;
  metrics.snapshot = snapshot;
  const std::string text = enipool::RenderPrometheus(metrics);
  CHECK(absl::StrContains(text, "awscni_assigned_ip_per_cidr{cidr=\"2600:1f14:abc:1:2::/80\"} 1\n"));
  CHECK(absl::StrContains(text, "awscni_assigned_ip_per_eni{eni=\"eni-1\"} 1\n"));
  CHECK(absl::StrContains(text, "enipool_cooling_ip_addresses 1\n"));
}

}  // namespace
