// The reference's IPv6 mode (docs/reference-behavior.md §2.3, §4.1, §4.12):
// the configuration rules, and an IPv6 node's startup and pods on the
// simulated EC2.
#include "enipool/ipv6_node.h"

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/ec2/backend.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/instance_limits.h"
#include "enipool/node_config.h"
#include "testing/recording_backend.h"

namespace {

using enipool::Ec2Request;
using enipool::Ec2Result;
using enipool::IpFamily;
using enipool::Ipv6Address;
using enipool::Ipv6NodeController;
using enipool::Ipv6Prefix;
using enipool::ManualClock;
using enipool::NetworkInterface;
using enipool::PodKey;
using Env = std::map<std::string, std::string>;
using Ec2 = enipool::ec2::SimulatedEc2<ManualClock>;

auto Lookup(const Env& env) {
  return [&env](absl::string_view name) -> std::optional<std::string> {
    const auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

absl::StatusOr<IpFamily> Family(const Env& env, bool nitro = true) {
  return enipool::IpFamilyFromEnvironment(Lookup(env), nitro);
}

enipool::NodeFacts Facts(std::string type = "m5.xlarge") {
  return {.instance_type = std::move(type), .instance_id = "i-1", .subnet_id = "subnet-1", .vcpus = 4};
}

const Env kIpv6 = {{"ENABLE_IPv4", "false"},
                   {"ENABLE_IPv6", "true"},
                   {"ENABLE_PREFIX_DELEGATION", "true"}};

Ipv6Prefix P6(const char* text) { return *Ipv6Prefix::Parse(text); }
PodKey Pod(int n) { return PodKey{"aws-cni", absl::StrCat("sandbox-", n), "eth0"}; }

// --- configuration rules (docs/reference-behavior.md §4.1) -------------------

TEST_CASE("An unset ENABLE_IPv4 and ENABLE_IPv6 read as the shipped manifest's IPv4") {
  CHECK(*Family({}) == IpFamily::kIpv4);
  CHECK(*Family({{"ENABLE_IPv4", "true"}}) == IpFamily::kIpv4);
  CHECK(*Family(kIpv6) == IpFamily::kIpv6);
}

TEST_CASE("Both address families or neither is refused naming both variables") {
  for (const Env& env : {Env{{"ENABLE_IPv4", "true"}, {"ENABLE_IPv6", "true"},
                             {"ENABLE_PREFIX_DELEGATION", "true"}},
                         Env{{"ENABLE_IPv4", "false"}}, Env{{"ENABLE_IPv6", "true"}}}) {
    const auto family = Family(env);
    REQUIRE_FALSE(family.ok());
    CHECK(family.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(family.status().message(), "ENABLE_IPv4="));
    CHECK(absl::StrContains(family.status().message(), "ENABLE_IPv6="));
  }
}

TEST_CASE("IPv6 needs prefix delegation") {
  const auto family = Family({{"ENABLE_IPv4", "false"}, {"ENABLE_IPv6", "true"}});
  REQUIRE_FALSE(family.ok());
  CHECK(absl::StrContains(family.status().message(), "ENABLE_PREFIX_DELEGATION=true"));
}

TEST_CASE("IPv6 with prefix delegation on a type without it fails where IPv4 falls back") {
  const auto family = Family(kIpv6, /*nitro=*/false);
  REQUIRE_FALSE(family.ok());
  CHECK(absl::StrContains(family.status().message(), "not Nitro"));
  // IPv4 with the same variable is not a family problem (it falls back).
  CHECK(*Family({{"ENABLE_PREFIX_DELEGATION", "true"}}, /*nitro=*/false) == IpFamily::kIpv4);
  // And through the node config of a real Xen type.
  const auto limits = enipool::FindInstanceLimits("m4.large");
  REQUIRE(limits.ok());
  REQUIRE_FALSE(limits->prefix_delegation_supported);
  const auto config = enipool::Ipv6NodeConfigFromEnvironment(Facts("m4.large"), Lookup(kIpv6));
  REQUIRE_FALSE(config.ok());
  CHECK(absl::StrContains(config.status().message(), "ENABLE_IPv6=true"));
  CHECK(absl::StrContains(config.status().message(), "m4.large"));
}

TEST_CASE("IPv6 forbids custom networking") {
  Env env = kIpv6;
  env["AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"] = "true";
  const auto family = Family(env);
  REQUIRE_FALSE(family.ok());
  CHECK(absl::StrContains(family.status().message(), "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"));
}

TEST_CASE("A family variable that is not a boolean is refused naming it") {
  const auto family = Family({{"ENABLE_IPv6", "yes please"}});
  REQUIRE_FALSE(family.ok());
  CHECK(absl::StrContains(family.status().message(), "ENABLE_IPv6=\"yes please\""));
}

TEST_CASE("NodeConfigFromEnvironment refuses an IPv6 node and a broken family, naming the variable") {
  const auto ipv6 = enipool::NodeConfigFromEnvironment(Facts(), Lookup(kIpv6));
  REQUIRE_FALSE(ipv6.ok());
  CHECK(absl::StrContains(ipv6.status().message(), "Ipv6NodeConfigFromEnvironment"));
  const auto both = enipool::NodeConfigFromEnvironment(
      Facts(), Lookup(Env{{"ENABLE_IPv4", "true"}, {"ENABLE_IPv6", "true"}}));
  REQUIRE_FALSE(both.ok());
  CHECK(absl::StrContains(both.status().message(), "exactly one"));
  CHECK(enipool::NodeConfigFromEnvironment(Facts(), Lookup(Env{})).ok());
}

TEST_CASE("Ipv6NodeConfigFromEnvironment takes the cooldown and max pods and ignores warm targets") {
  Env env = kIpv6;
  env["IP_COOLDOWN_PERIOD"] = "10";
  env["WARM_IP_TARGET"] = "5";
  env["WARM_PREFIX_TARGET"] = "3";
  const auto config = enipool::Ipv6NodeConfigFromEnvironment(Facts(), Lookup(env));
  REQUIRE_MESSAGE(config.ok(), config.status().ToString());
  CHECK(config->instance_id == "i-1");
  CHECK(config->ip_cooldown == absl::Seconds(10));
  CHECK(config->max_pods == 110);
  const auto ipv4 = enipool::Ipv6NodeConfigFromEnvironment(Facts(), Lookup(Env{}));
  REQUIRE_FALSE(ipv4.ok());
  CHECK(absl::StrContains(ipv4.status().message(), "NodeConfigFromEnvironment"));
  enipool::NodeFacts nameless = Facts();
  nameless.instance_id.clear();
  CHECK(absl::StrContains(
      enipool::Ipv6NodeConfigFromEnvironment(nameless, Lookup(kIpv6)).status().message(),
      "instance_id"));
  CHECK(enipool::Ipv6NodeConfigFromEnvironment(Facts("no.such"), Lookup(kIpv6)).status().code() ==
        absl::StatusCode::kNotFound);
}

// --- startup (docs/reference-behavior.md §4.12) ------------------------------

NetworkInterface Primary(std::vector<Ipv6Prefix> prefixes) {
  NetworkInterface nic;
  nic.id = "eni-1";
  nic.subnet_id = "subnet-1";
  nic.instance_id = "i-1";
  nic.attachment_id = "eni-attach-1";
  nic.device_index = 0;
  nic.ipv6_prefixes = std::move(prefixes);
  return nic;
}

TEST_CASE("An IPv6 node uses the primary ENI's /80 when it has one and asks for nothing") {
  ManualClock clock;
  Ipv6NodeController<ManualClock> node(clock, {.instance_id = "i-1"});
  enipool::testing::RecordingBackend ec2;
  NetworkInterface secondary = Primary({P6("2600::9:0:0:0/80")});
  secondary.id = "eni-2";
  secondary.device_index = 1;
  ec2.Reply(Ec2Result{absl::OkStatus(), std::vector<NetworkInterface>{
                                            secondary, Primary({P6("2600:1f14:abc:1:2::/80")})}});
  REQUIRE(enipool::RunIpv6Startup(node, ec2).ok());
  REQUIRE(ec2.calls().size() == 1);
  CHECK(std::holds_alternative<enipool::DescribeNetworkInterfacesRequest>(ec2.calls()[0]));
  CHECK(std::get<enipool::DescribeNetworkInterfacesRequest>(ec2.calls()[0]).instance_id == "i-1");
  CHECK(node.ready());
  CHECK(node.primary_eni_id() == "eni-1");
  CHECK(node.prefix() == P6("2600:1f14:abc:1:2::/80"));
  CHECK(node.AddPod(Pod(1))->address == *Ipv6Address::Parse("2600:1f14:abc:1:2::"));
}

TEST_CASE("An IPv6 node with several prefixes on its primary ENI uses only the first") {
  ManualClock clock;
  Ipv6NodeController<ManualClock> node(clock, {.instance_id = "i-1"});
  enipool::testing::RecordingBackend ec2;
  ec2.Reply(Ec2Result{absl::OkStatus(),
                      std::vector<NetworkInterface>{Primary(
                          {P6("2600:1f14:abc:1:7::/80"), P6("2600:1f14:abc:1:3::/80")})}});
  REQUIRE(enipool::RunIpv6Startup(node, ec2).ok());
  CHECK(node.prefix() == P6("2600:1f14:abc:1:7::/80"));
  CHECK(node.store().Prefixes().size() == 1);
}

TEST_CASE("An IPv6 node whose primary ENI has no prefix asks for one with Ipv6PrefixCount 1") {
  ManualClock clock;
  Ipv6NodeController<ManualClock> node(clock, {.instance_id = "i-1"});
  enipool::testing::RecordingBackend ec2;
  ec2.Reply(Ec2Result{absl::OkStatus(), std::vector<NetworkInterface>{Primary({})}});
  ec2.Reply(Ec2Result{absl::OkStatus(), std::vector<Ipv6Prefix>{P6("2600:1f14:abc:1:4::/80")}});
  REQUIRE(enipool::RunIpv6Startup(node, ec2).ok());
  REQUIRE(ec2.calls().size() == 2);
  CHECK(ec2.calls()[1] ==
        enipool::Ec2Call(enipool::AssignIpv6PrefixesRequest{.eni_id = "eni-1", .count = 1}));
  CHECK(node.prefix() == P6("2600:1f14:abc:1:4::/80"));
  CHECK(node.counters().assigns == 1);
}

TEST_CASE("An IPv6 node retries a failed startup call on the 5 s loop and serves no pod before") {
  ManualClock clock;
  Ipv6NodeController<ManualClock> node(clock, {.instance_id = "i-1"});
  enipool::testing::RecordingBackend ec2;
  ec2.Reply(Ec2Result{absl::OkStatus(), std::vector<NetworkInterface>{Primary({})}});
  ec2.Fail(enipool::Ec2Error(enipool::Ec2ErrorCode::kInvalidParameterValue,
                             "subnet subnet-1 has no IPv6 CIDR block"));
  const absl::Status first = enipool::RunIpv6Startup(node, ec2);
  CHECK(first.code() == absl::StatusCode::kUnavailable);
  CHECK(absl::StrContains(first.message(), "InvalidParameterValue"));
  const auto early = node.AddPod(Pod(1));
  CHECK(early.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(early.status().message(), "no IPv6 CIDR block"));
  clock.AdvanceTime(absl::Seconds(4));
  CHECK(node.Tick().empty());
  clock.AdvanceTime(absl::Seconds(1));
  ec2.Reply(Ec2Result{absl::OkStatus(), std::vector<Ipv6Prefix>{P6("2600:1f14:abc:1:4::/80")}});
  REQUIRE(enipool::RunIpv6Startup(node, ec2).ok());
  CHECK(node.counters().failures == 1);
  CHECK(node.counters().describes == 1);  // the describe is not repeated
  CHECK(node.AddPod(Pod(1)).ok());
}

TEST_CASE("An IPv6 node refuses an answer to another request or of the wrong shape, changing nothing") {
  ManualClock clock;
  Ipv6NodeController<ManualClock> node(clock, {.instance_id = "i-1"});
  const std::vector<Ec2Request> requests = node.Tick();
  REQUIRE(requests.size() == 1);
  CHECK(node.OnResult(Ec2Request{requests[0].id + 1, requests[0].call},
                      Ec2Result{absl::OkStatus(), std::vector<NetworkInterface>{Primary({})}})
            .code() == absl::StatusCode::kInvalidArgument);
  CHECK(node.OnResult(requests[0], Ec2Result{absl::OkStatus(), std::string("eni-attach-1")})
            .code() == absl::StatusCode::kInvalidArgument);
  CHECK(node.Tick().empty());  // the describe is still in flight
  REQUIRE(node.OnResult(requests[0], Ec2Result{absl::OkStatus(),
                                               std::vector<NetworkInterface>{Primary(
                                                   {P6("2600::/80")})}})
              .ok());
  CHECK(node.ready());
}

// --- on the simulated EC2 ----------------------------------------------------

TEST_CASE("An IPv6 node on SimulatedEc2 gets its /80, serves many pods and never calls EC2 again") {
  ManualClock clock;
  clock.SetTime(absl::FromUnixSeconds(1'700'000'000));
  Ec2 ec2(clock, {.seed = 1,
                  .latency = enipool::ec2::LatencyModel::Zero(),
                  .throttle = enipool::ec2::ThrottleConfig::Disabled()});
  REQUIRE(ec2.AddSubnet("subnet-1", *enipool::Ipv4Prefix::Parse("10.0.0.0/24")).ok());
  REQUIRE(ec2.AddSubnetIpv6Cidr("subnet-1", P6("2600:1f14:abc:1::/64")).ok());
  REQUIRE(ec2.AddInstance({.instance_id = "i-1", .subnet_id = "subnet-1"}).ok());
  REQUIRE(ec2.AddInstance({.instance_id = "i-2", .subnet_id = "subnet-1"}).ok());
  Ipv6NodeController<ManualClock> a(clock, {.instance_id = "i-1"});
  Ipv6NodeController<ManualClock> b(clock, {.instance_id = "i-2"});
  REQUIRE(enipool::RunIpv6Startup(a, ec2).ok());
  REQUIRE(enipool::RunIpv6Startup(b, ec2).ok());
  REQUIRE(a.prefix().has_value());
  REQUIRE(b.prefix().has_value());
  CHECK(*a.prefix() != *b.prefix());
  const std::uint64_t calls = ec2.stats().calls;
  std::set<Ipv6Address> seen;
  // 2,000 pods on one node: more than any IPv4 node of the type could hold.
  for (int i = 0; i < 2000; ++i) {
    const auto got = a.AddPod(Pod(i));
    REQUIRE(got.ok());
    REQUIRE(a.prefix()->Contains(got->address));
    REQUIRE(seen.insert(got->address).second);
    if (i % 3 == 0) REQUIRE(a.DeletePod(Pod(i)).ok());
  }
  // Hours of pool loop: no warm pool, no ENI, no sweep.
  for (int i = 0; i < 720; ++i) {
    clock.AdvanceTime(absl::Seconds(5));
    CHECK(a.Tick().empty());
  }
  CHECK(ec2.stats().calls == calls);
  CHECK(ec2.eni_count() == 2);
  const auto described = ec2.DescribeNetworkInterfaces({.instance_id = "i-1"});
  REQUIRE(described.ok());
  CHECK(described->front().ipv6_prefixes == std::vector<Ipv6Prefix>{*a.prefix()});
  CHECK(a.store().Stats().assigned_ips == 2000 - 667);
}

}  // namespace
