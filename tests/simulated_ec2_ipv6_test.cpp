// SimulatedEc2's IPv6 prefix delegation: AssignIpv6Addresses with
// Ipv6PrefixCount and UnassignIpv6Addresses (docs/reference-behavior.md
// §4.12, §7.1), /80s carved from a subnet's /64.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "enipool/clock.h"
#include "enipool/ec2/backend.h"
#include "enipool/ec2/ec2_api.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/ipv6.h"

namespace {

using enipool::Ec2ErrorCode;
using enipool::Ipv4Prefix;
using enipool::Ipv6Prefix;
using enipool::ManualClock;
using enipool::ec2::CallKind;
using Ec2 = enipool::ec2::SimulatedEc2<ManualClock>;

Ipv6Prefix P6(const char* text) { return *Ipv6Prefix::Parse(text); }

enipool::ec2::SimulatedEc2Options Quiet() {
  return {.seed = 1,
          .latency = enipool::ec2::LatencyModel::Zero(),
          .throttle = enipool::ec2::ThrottleConfig::Disabled()};
}

struct Account {
  ManualClock clock;
  Ec2 ec2{clock, Quiet()};
  std::string primary;
  explicit Account(bool with_ipv6 = true) {
    REQUIRE(ec2.AddSubnet("subnet-1", *Ipv4Prefix::Parse("10.0.0.0/24")).ok());
    if (with_ipv6) REQUIRE(ec2.AddSubnetIpv6Cidr("subnet-1", P6("2600:1f14:abc:1::/64")).ok());
    auto nic = ec2.AddInstance({.instance_id = "i-1", .subnet_id = "subnet-1"});
    REQUIRE(nic.ok());
    primary = nic->id;
  }
};

TEST_CASE("SimulatedEc2 delegates the lowest free /80 of the subnet's /64 with AssignIpv6Prefixes") {
  Account account;
  const auto first = account.ec2.AssignIpv6Prefixes({.eni_id = account.primary, .count = 1});
  REQUIRE(first.ok());
  CHECK(*first == std::vector<Ipv6Prefix>{P6("2600:1f14:abc:1::/80")});
  const auto two = account.ec2.AssignIpv6Prefixes({.eni_id = account.primary, .count = 2});
  REQUIRE(two.ok());
  CHECK(*two == std::vector<Ipv6Prefix>{P6("2600:1f14:abc:1:1::/80"), P6("2600:1f14:abc:1:2::/80")});
  const auto described = account.ec2.DescribeNetworkInterfaces({.eni_ids = {account.primary}});
  REQUIRE(described.ok());
  CHECK(described->front().ipv6_prefixes ==
        std::vector<Ipv6Prefix>{P6("2600:1f14:abc:1::/80"), P6("2600:1f14:abc:1:1::/80"),
                                P6("2600:1f14:abc:1:2::/80")});
  CHECK(described->front().prefixes.empty());  // IPv4 prefixes untouched
  const auto subnets = account.ec2.DescribeSubnets({});
  REQUIRE(subnets.ok());
  CHECK(subnets->front().ipv6_cidr == P6("2600:1f14:abc:1::/64"));
  CHECK(account.ec2.stats().calls_of(CallKind::kAssignIpv6Prefixes) == 2);
}

TEST_CASE("SimulatedEc2 answers InvalidParameterValue when the ENI's subnet has no IPv6 CIDR") {
  Account account(/*with_ipv6=*/false);
  const auto refused = account.ec2.AssignIpv6Prefixes({.eni_id = account.primary, .count = 1});
  REQUIRE_FALSE(refused.ok());
  CHECK(enipool::ClassifyEc2Error(refused.status()) == Ec2ErrorCode::kInvalidParameterValue);
  CHECK(absl::StartsWith(refused.status().message(), "InvalidParameterValue: "));
  CHECK(absl::StrContains(refused.status().message(), "subnet-1"));
  CHECK(account.ec2.DescribeNetworkInterfaces({.eni_ids = {account.primary}})
            ->front()
            .ipv6_prefixes.empty());
  CHECK_FALSE(account.ec2.DescribeSubnets({})->front().ipv6_cidr.has_value());
}

TEST_CASE("SimulatedEc2 refuses a bad IPv6 assign or unassign with EC2's codes and changes nothing") {
  Account account;
  REQUIRE(account.ec2.AssignIpv6Prefixes({.eni_id = account.primary, .count = 1}).ok());
  const auto before = account.ec2.DescribeNetworkInterfaces({.eni_ids = {account.primary}});
  CHECK(enipool::ClassifyEc2Error(
            account.ec2.AssignIpv6Prefixes({.eni_id = "eni-nope", .count = 1}).status()) ==
        Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);
  CHECK(enipool::ClassifyEc2Error(
            account.ec2.AssignIpv6Prefixes({.eni_id = account.primary, .count = 0}).status()) ==
        Ec2ErrorCode::kInvalidParameterValue);
  CHECK(enipool::ClassifyEc2Error(account.ec2.UnassignIpv6Prefixes(
            {.eni_id = account.primary, .prefixes = {P6("2600:1f14:abc:1:9::/80")}})) ==
        Ec2ErrorCode::kInvalidParameterValue);
  CHECK(enipool::ClassifyEc2Error(account.ec2.UnassignIpv6Prefixes(
            {.eni_id = account.primary,
             .prefixes = {P6("2600:1f14:abc:1::/80"), P6("2600:1f14:abc:1::/80")}})) ==
        Ec2ErrorCode::kInvalidParameterValue);
  CHECK(enipool::ClassifyEc2Error(
            account.ec2.UnassignIpv6Prefixes({.eni_id = account.primary, .prefixes = {}})) ==
        Ec2ErrorCode::kInvalidParameterValue);
  CHECK(account.ec2.DescribeNetworkInterfaces({.eni_ids = {account.primary}}) == before);
  // Setup refusals.
  CHECK(account.ec2.AddSubnetIpv6Cidr("subnet-1", P6("2600:1f14:abc:2::/64")).code() ==
        absl::StatusCode::kAlreadyExists);
  CHECK(account.ec2.AddSubnetIpv6Cidr("subnet-9", P6("2600:1f14:abc:2::/64")).code() ==
        absl::StatusCode::kNotFound);
  REQUIRE(account.ec2.AddSubnet("subnet-2", *Ipv4Prefix::Parse("10.0.1.0/24")).ok());
  CHECK(account.ec2.AddSubnetIpv6Cidr("subnet-2", P6("2600:1f14:abc::/56")).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(account.ec2.AddSubnetIpv6Cidr("subnet-2", P6("2600:1f14:abc:1::/64")).code() ==
        absl::StatusCode::kAlreadyExists);
}

TEST_CASE("SimulatedEc2 takes unassigned /80s back, hands them out again and frees them with the ENI") {
  Account account;
  REQUIRE(account.ec2.AssignIpv6Prefixes({.eni_id = account.primary, .count = 3}).ok());
  REQUIRE(account.ec2
              .UnassignIpv6Prefixes({.eni_id = account.primary,
                                     .prefixes = {P6("2600:1f14:abc:1:1::/80")}})
              .ok());
  CHECK(account.ec2.DescribeNetworkInterfaces({.eni_ids = {account.primary}})
            ->front()
            .ipv6_prefixes == std::vector<Ipv6Prefix>{P6("2600:1f14:abc:1::/80"),
                                                      P6("2600:1f14:abc:1:2::/80")});
  CHECK(*account.ec2.AssignIpv6Prefixes({.eni_id = account.primary, .count = 1}) ==
        std::vector<Ipv6Prefix>{P6("2600:1f14:abc:1:1::/80")});
  // A second instance's ENI gets the next free block; terminating the first
  // instance returns its three.
  auto other = account.ec2.AddInstance({.instance_id = "i-2", .subnet_id = "subnet-1"});
  REQUIRE(other.ok());
  CHECK(*account.ec2.AssignIpv6Prefixes({.eni_id = other->id, .count = 1}) ==
        std::vector<Ipv6Prefix>{P6("2600:1f14:abc:1:3::/80")});
  REQUIRE(account.ec2.TerminateInstance("i-1").ok());
  CHECK(*account.ec2.AssignIpv6Prefixes({.eni_id = other->id, .count = 1}) ==
        std::vector<Ipv6Prefix>{P6("2600:1f14:abc:1::/80")});
}

TEST_CASE("SimulatedEc2 answers InsufficientCidrBlocks when the /64 has no free /80 left") {
  Account account;
  // 65,536 /80s in a /64: take all but two in one call, then ask for three.
  REQUIRE(account.ec2.AssignIpv6Prefixes({.eni_id = account.primary, .count = 65'534}).ok());
  const auto refused = account.ec2.AssignIpv6Prefixes({.eni_id = account.primary, .count = 3});
  REQUIRE_FALSE(refused.ok());
  CHECK(enipool::ClassifyEc2Error(refused.status()) == Ec2ErrorCode::kInsufficientCidrBlocks);
  CHECK(absl::StrContains(refused.status().message(), "2600:1f14:abc:1::/64"));
  const auto last_two = account.ec2.AssignIpv6Prefixes({.eni_id = account.primary, .count = 2});
  REQUIRE(last_two.ok());
  CHECK(last_two->back() == P6("2600:1f14:abc:1:ffff::/80"));
}

TEST_CASE("SimulatedEc2 creates an ENI holding the lowest free /80s when asked with ipv6_prefix_count") {
  Account account;
  REQUIRE(account.ec2.AssignIpv6Prefixes({.eni_id = account.primary, .count = 1}).ok());
  const auto created = account.ec2.CreateNetworkInterface(
      {.subnet_id = "subnet-1", .ipv6_prefix_count = 2, .description = "aws-K8S-i-1"});
  REQUIRE(created.ok());
  CHECK(created->ipv6_prefixes ==
        std::vector<Ipv6Prefix>{P6("2600:1f14:abc:1:1::/80"), P6("2600:1f14:abc:1:2::/80")});
  CHECK(created->prefixes.empty());
  CHECK(created->secondary_ips.empty());
  CHECK(account.ec2.DescribeNetworkInterfaces({.eni_ids = {created->id}})->front().ipv6_prefixes ==
        created->ipv6_prefixes);
  // Without the count an ENI holds no /80, as before.
  const auto plain = account.ec2.CreateNetworkInterface({.subnet_id = "subnet-1"});
  REQUIRE(plain.ok());
  CHECK(plain->ipv6_prefixes.empty());
  // Deleting the ENI gives its /80s back to the subnet.
  REQUIRE(account.ec2.DeleteNetworkInterface({.eni_id = created->id}).ok());
  CHECK(*account.ec2.AssignIpv6Prefixes({.eni_id = account.primary, .count = 1}) ==
        std::vector<Ipv6Prefix>{P6("2600:1f14:abc:1:1::/80")});
}

TEST_CASE("SimulatedEc2 refuses IPv6 prefixes at create without an IPv6 block, below zero or past a full /64, changing nothing") {
  Account account;
  REQUIRE(account.ec2.AddSubnet("subnet-4", *Ipv4Prefix::Parse("10.0.4.0/24")).ok());
  const auto enis_before = account.ec2.DescribeNetworkInterfaces({});
  const auto subnets_before = account.ec2.DescribeSubnets({});
  const auto no_block = account.ec2.CreateNetworkInterface(
      {.subnet_id = "subnet-4", .ipv4_prefix_count = 1, .ipv6_prefix_count = 1});
  CHECK(enipool::ClassifyEc2Error(no_block.status()) == Ec2ErrorCode::kInvalidParameterValue);
  CHECK(absl::StrContains(no_block.status().message(), "subnet-4 has no IPv6 CIDR block"));
  const auto negative =
      account.ec2.CreateNetworkInterface({.subnet_id = "subnet-1", .ipv6_prefix_count = -1});
  CHECK(enipool::ClassifyEc2Error(negative.status()) == Ec2ErrorCode::kInvalidParameterValue);
  CHECK(absl::StrContains(negative.status().message(), "ipv6_prefix_count (-1)"));
  CHECK(account.ec2.DescribeNetworkInterfaces({}) == enis_before);
  CHECK(account.ec2.DescribeSubnets({}) == subnets_before);  // no IPv4 address taken either
  REQUIRE(account.ec2.AssignIpv6Prefixes({.eni_id = account.primary, .count = 65'535}).ok());
  const auto full = account.ec2.CreateNetworkInterface(
      {.subnet_id = "subnet-1", .secondary_ip_count = 2, .ipv6_prefix_count = 2});
  CHECK(enipool::ClassifyEc2Error(full.status()) == Ec2ErrorCode::kInsufficientCidrBlocks);
  CHECK(account.ec2.DescribeSubnets({}) == subnets_before);
  const auto last = account.ec2.CreateNetworkInterface({.subnet_id = "subnet-1", .ipv6_prefix_count = 1});
  REQUIRE(last.ok());
  CHECK(last->ipv6_prefixes == std::vector<Ipv6Prefix>{P6("2600:1f14:abc:1:ffff::/80")});
}

TEST_CASE("SimulatedEc2 never delegates one /80 twice under random assign, unassign, create and delete") {
  Account account;
  auto second = account.ec2.AddInstance({.instance_id = "i-2", .subnet_id = "subnet-1"});
  REQUIRE(second.ok());
  std::vector<std::string> enis = {account.primary, second->id};
  std::mt19937_64 random(64);
  std::set<Ipv6Prefix> held;  // the model: every /80 delegated now
  for (int step = 0; step < 2000; ++step) {
    const std::string eni = enis[random() % enis.size()];
    const auto roll = random() % 12;
    if (roll == 0) {  // a new ENI created with one or two /80s
      const int count = static_cast<int>(random() % 2) + 1;
      const auto created =
          account.ec2.CreateNetworkInterface({.subnet_id = "subnet-1", .ipv6_prefix_count = count});
      REQUIRE(created.ok());
      REQUIRE(created->ipv6_prefixes.size() == static_cast<std::size_t>(count));
      for (const Ipv6Prefix& prefix : created->ipv6_prefixes) REQUIRE(held.insert(prefix).second);
      enis.push_back(created->id);
    } else if (roll == 1 && enis.size() > 2) {  // a created ENI deleted: its /80s go back
      const std::size_t victim = 2 + random() % (enis.size() - 2);
      const auto nic = account.ec2.DescribeNetworkInterfaces({.eni_ids = {enis[victim]}});
      REQUIRE(nic.ok());
      REQUIRE(account.ec2.DeleteNetworkInterface({.eni_id = enis[victim]}).ok());
      for (const Ipv6Prefix& prefix : nic->front().ipv6_prefixes) REQUIRE(held.erase(prefix) == 1);
      enis.erase(enis.begin() + static_cast<std::ptrdiff_t>(victim));
    } else if (roll % 3 != 0) {
      const int count = static_cast<int>(random() % 3) + 1;
      const auto got = account.ec2.AssignIpv6Prefixes({.eni_id = eni, .count = count});
      REQUIRE(got.ok());
      REQUIRE(got->size() == static_cast<std::size_t>(count));
      for (const Ipv6Prefix& prefix : *got) {
        REQUIRE(P6("2600:1f14:abc:1::/64").Contains(prefix));
        REQUIRE(prefix.length() == 80);
        REQUIRE(held.insert(prefix).second);
      }
    } else {
      const auto nic = account.ec2.DescribeNetworkInterfaces({.eni_ids = {eni}});
      REQUIRE(nic.ok());
      if (nic->front().ipv6_prefixes.empty()) continue;
      const Ipv6Prefix victim =
          nic->front().ipv6_prefixes[random() % nic->front().ipv6_prefixes.size()];
      REQUIRE(account.ec2.UnassignIpv6Prefixes({.eni_id = eni, .prefixes = {victim}}).ok());
      REQUIRE(held.erase(victim) == 1);
    }
  }
  std::set<Ipv6Prefix> described;
  for (const std::string& eni : enis) {
    const auto nic = account.ec2.DescribeNetworkInterfaces({.eni_ids = {eni}});
    REQUIRE(nic.ok());
    for (const Ipv6Prefix& p : nic->front().ipv6_prefixes) described.insert(p);
  }
  CHECK(described == held);
}

}  // namespace
