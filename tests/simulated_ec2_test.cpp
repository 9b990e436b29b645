#include "enipool/ec2/simulated_ec2.h"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/clock.h"
#include "enipool/ipv4.h"
#include "enipool/ec2/ec2_api.h"
#include "enipool/ec2/fault_plan.h"
#include "enipool/ec2/latency.h"
#include "enipool/ec2/subnet.h"
#include "enipool/ec2/throttle.h"

namespace {

using enipool::Ec2ErrorCode;
using enipool::Ipv4Address;
using enipool::Ipv4Prefix;
using enipool::ManualClock;
using enipool::NetworkInterface;
using enipool::ec2::CallKind;
using enipool::ec2::InstanceSpec;
using enipool::ec2::SimulatedEc2Options;
using Ec2 = enipool::ec2::SimulatedEc2<ManualClock>;

Ipv4Prefix P(const char* text) { return *Ipv4Prefix::Parse(text); }

Ec2ErrorCode Code(const absl::Status& status) { return enipool::ClassifyEc2Error(status); }
template <typename T>
Ec2ErrorCode Code(const absl::StatusOr<T>& result) {
  return enipool::ClassifyEc2Error(result.status());
}

// Options for tests about state: no latency, no throttling, no faults.
SimulatedEc2Options Quiet(std::uint64_t seed = 1) {
  return {.seed = seed,
          .latency = enipool::ec2::LatencyModel::Zero(),
          .throttle = enipool::ec2::ThrottleConfig::Disabled()};
}

// Everything a caller can observe through the API, to show that a failed
// call changed nothing.
struct World {
  std::vector<NetworkInterface> enis;
  std::vector<std::size_t> free_addresses;
  std::vector<std::size_t> free_prefixes;
  friend bool operator==(const World&, const World&) = default;
};
World Observe(Ec2& ec2) {
  World world;
  auto all = ec2.DescribeNetworkInterfaces({});
  REQUIRE(all.ok());
  world.enis = *all;
  for (const auto& subnet : ec2.subnets()) {
    world.free_addresses.push_back(subnet.free_address_count());
    world.free_prefixes.push_back(subnet.free_prefix_count());
  }
  return world;
}

// A /24 and one instance with 3 ENIs of 10 addresses (9 secondary slots).
struct Fixture {
  explicit Fixture(SimulatedEc2Options options = Quiet()) : ec2(clock, std::move(options)) {
    REQUIRE(ec2.AddSubnet("subnet-1", P("10.0.0.0/24")).ok());
    auto eni = ec2.AddInstance(
        {.instance_id = "i-1", .subnet_id = "subnet-1", .max_enis = 3, .ipv4_per_eni = 10});
    REQUIRE(eni.ok());
    primary = *eni;
  }
  NetworkInterface Create(int ips = 0, int prefixes = 0) {
    auto eni = ec2.CreateNetworkInterface(
        {.subnet_id = "subnet-1", .secondary_ip_count = ips, .ipv4_prefix_count = prefixes});
    REQUIRE(eni.ok());
    return *eni;
  }
  std::string Attach(const std::string& eni, int device) {
    auto attachment =
        ec2.AttachNetworkInterface({.eni_id = eni, .instance_id = "i-1", .device_index = device});
    REQUIRE(attachment.ok());
    return *attachment;
  }
  const enipool::ec2::Subnet& subnet() { return *ec2.FindSubnet("subnet-1"); }

  ManualClock clock;
  Ec2 ec2;
  NetworkInterface primary;
};

TEST_CASE("SimulatedEc2 gives each instance a primary ENI at device 0 with a primary IP") {
  Fixture f;
  CHECK(f.primary.instance_id == "i-1");
  CHECK(f.primary.device_index == 0);
  CHECK(f.primary.attached());
  CHECK(f.primary.subnet_id == "subnet-1");
  CHECK(f.subnet().IsAllocated(f.primary.primary_ip));
  CHECK(f.primary.secondary_ips.empty());
  CHECK(f.subnet().free_address_count() == 250);
  auto described = f.ec2.DescribeNetworkInterfaces({.instance_id = "i-1"});
  REQUIRE(described.ok());
  CHECK(*described == std::vector<NetworkInterface>{f.primary});
}

TEST_CASE("SimulatedEc2 rejects bad setup and keeps its state") {
  Fixture f;
  const World before = Observe(f.ec2);
  CHECK(f.ec2.AddSubnet("subnet-1", P("10.1.0.0/24")) ==
        absl::AlreadyExistsError("subnet subnet-1 already exists"));
  CHECK(f.ec2.AddSubnet("subnet-2", P("10.0.0.128/25")) ==
        absl::AlreadyExistsError(
            "subnet subnet-2 CIDR 10.0.0.128/25 overlaps subnet subnet-1 (10.0.0.0/24)"));
  CHECK(f.ec2.AddSubnet("subnet-2", P("10.1.0.0/29")).code() == absl::StatusCode::kInvalidArgument);
  CHECK(f.ec2.AddSubnet("subnet-2", P("10.1.0.0/24"), {{P("10.2.0.0/28")}}).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(f.ec2.FindSubnet("subnet-2") == nullptr);

  CHECK(f.ec2.AddInstance({.instance_id = "i-1", .subnet_id = "subnet-1"}).status() ==
        absl::AlreadyExistsError("instance i-1 already exists"));
  CHECK(f.ec2.AddInstance({.instance_id = "i-2", .subnet_id = "subnet-9"}).status() ==
        absl::NotFoundError("subnet subnet-9 of instance i-2 does not exist"));
  CHECK(f.ec2.AddInstance({.instance_id = "i-2", .subnet_id = "subnet-1", .max_enis = 0})
            .status()
            .code() == absl::StatusCode::kInvalidArgument);
  CHECK(f.ec2.AddInstance({.instance_id = "", .subnet_id = "subnet-1"}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(f.ec2.instance_count() == 1);
  CHECK(Observe(f.ec2) == before);
  CHECK(f.ec2.stats().calls == 2 * 1);  // only the two describes of Observe() count
}

TEST_CASE("SimulatedEc2 creates an unattached ENI with its addresses, then attaches it") {
  Fixture f;
  const NetworkInterface eni = f.Create(3);
  CHECK_FALSE(eni.attached());
  CHECK(eni.device_index == -1);
  CHECK(eni.secondary_ips.size() == 3);
  CHECK(eni.created == f.clock.Now());
  CHECK(f.subnet().free_address_count() == 250 - 4);
  for (Ipv4Address a : eni.secondary_ips) CHECK(f.subnet().IsAllocated(a));

  const std::string attachment = f.Attach(eni.id, 1);
  auto described = f.ec2.DescribeNetworkInterfaces({.eni_ids = {eni.id}});
  REQUIRE(described.ok());
  REQUIRE(described->size() == 1);
  const NetworkInterface& now = described->front();
  CHECK(now.attachment_id == attachment);
  CHECK(now.instance_id == "i-1");
  CHECK(now.device_index == 1);
  CHECK(now.secondary_ips == eni.secondary_ips);
  CHECK(f.ec2.SlotLimit(eni.id) == 9);

  const NetworkInterface prefix_eni = f.Create(0, 2);
  CHECK(prefix_eni.prefixes.size() == 2);
  CHECK(prefix_eni.secondary_ips.empty());
  CHECK(f.subnet().free_address_count() == 250 - 4 - 1 - 32);
}

TEST_CASE("SimulatedEc2 refuses a bad create with the EC2 code and changes nothing") {
  Fixture f;
  const World before = Observe(f.ec2);
  CHECK(f.ec2.CreateNetworkInterface({.subnet_id = "subnet-9"}).status() ==
        absl::InvalidArgumentError("InvalidParameterValue: subnet subnet-9 does not exist"));
  CHECK(Code(f.ec2.CreateNetworkInterface(
            {.subnet_id = "subnet-1", .secondary_ip_count = 1, .ipv4_prefix_count = 1})) ==
        Ec2ErrorCode::kInvalidParameterValue);
  CHECK(Code(f.ec2.CreateNetworkInterface({.subnet_id = "subnet-1", .secondary_ip_count = -1})) ==
        Ec2ErrorCode::kInvalidParameterValue);
  CHECK(Code(f.ec2.CreateNetworkInterface({.subnet_id = "subnet-1", .secondary_ip_count = 50})) ==
        Ec2ErrorCode::kPrivateIpAddressLimitExceeded);
  CHECK(Observe(f.ec2) == before);
}

TEST_CASE("SimulatedEc2 gives a created ENI the primary address the request names") {
  Fixture f;
  const Ipv4Address named = *Ipv4Address::Parse("10.0.0.77");
  REQUIRE_FALSE(f.subnet().IsAllocated(named));
  const std::size_t free_before = f.subnet().free_address_count();
  auto eni = f.ec2.CreateNetworkInterface(
      {.subnet_id = "subnet-1", .secondary_ip_count = 3, .private_ip_address = named});
  REQUIRE(eni.ok());
  CHECK(eni->primary_ip == named);
  CHECK(eni->secondary_ips.size() == 3);
  for (Ipv4Address a : eni->secondary_ips) CHECK(a != named);
  CHECK(f.subnet().IsAllocated(named));
  CHECK(f.subnet().free_address_count() == free_before - 4);
  // With prefixes: the named address is taken first, so no prefix covers it.
  const Ipv4Address second = *Ipv4Address::Parse("10.0.0.130");
  auto prefix_eni = f.ec2.CreateNetworkInterface(
      {.subnet_id = "subnet-1", .ipv4_prefix_count = 2, .private_ip_address = second});
  REQUIRE(prefix_eni.ok());
  CHECK(prefix_eni->primary_ip == second);
  for (const Ipv4Prefix& p : prefix_eni->prefixes) CHECK_FALSE(p.Contains(second));
}

TEST_CASE("SimulatedEc2 refuses a named primary address that is taken, reserved or outside the "
          "subnet, and changes nothing") {
  Fixture f;
  const World before = Observe(f.ec2);
  const auto create = [&](const char* address, int ips = 0, int prefixes = 0) {
    return f.ec2.CreateNetworkInterface({.subnet_id = "subnet-1",
                                         .secondary_ip_count = ips,
                                         .ipv4_prefix_count = prefixes,
                                         .private_ip_address = *Ipv4Address::Parse(address)});
  };
  // The instance's own primary address is in use.
  auto taken = create(f.primary.primary_ip.ToString().c_str());
  CHECK(taken.status() ==
        absl::AlreadyExistsError(absl::StrCat("InvalidIPAddress.InUse: address ",
                                              f.primary.primary_ip.ToString(),
                                              " of subnet subnet-1 is already in use")));
  CHECK(Code(create("10.0.1.5")) == Ec2ErrorCode::kInvalidParameterValue);
  CHECK(create("10.0.1.5").status().message() ==
        "InvalidParameterValue: address 10.0.1.5 is not in subnet subnet-1 (10.0.0.0/24)");
  CHECK(Code(create("10.0.0.2")) == Ec2ErrorCode::kInvalidParameterValue);    // AWS DNS
  CHECK(Code(create("10.0.0.255")) == Ec2ErrorCode::kInvalidParameterValue);  // broadcast
  // A good address, but the rest of the request fails: the address is given back.
  CHECK(Code(create("10.0.0.90", 50)) == Ec2ErrorCode::kPrivateIpAddressLimitExceeded);
  CHECK(Observe(f.ec2) == before);
  CHECK_FALSE(f.subnet().IsAllocated(*Ipv4Address::Parse("10.0.0.90")));
}

TEST_CASE("SimulatedEc2 gives a named primary address back when the rest of the create fails") {
  ManualClock clock;
  Ec2 ec2(clock, Quiet());
  REQUIRE(ec2.AddSubnet("subnet-s", P("10.0.0.0/27")).ok());  // 27 usable, no free /28
  REQUIRE(ec2.AddInstance(
                 {.instance_id = "i-1", .subnet_id = "subnet-s", .max_enis = 2, .ipv4_per_eni = 50})
              .ok());
  const World before = Observe(ec2);
  const Ipv4Address named = *Ipv4Address::Parse("10.0.0.9");
  const bool was_taken = ec2.FindSubnet("subnet-s")->IsAllocated(named);
  REQUIRE_FALSE(was_taken);
  CHECK(Code(ec2.CreateNetworkInterface({.subnet_id = "subnet-s",
                                         .ipv4_prefix_count = 1,
                                         .private_ip_address = named})) ==
        Ec2ErrorCode::kInsufficientCidrBlocks);
  CHECK(Code(ec2.CreateNetworkInterface({.subnet_id = "subnet-s",
                                         .secondary_ip_count = 26,
                                         .private_ip_address = named})) ==
        Ec2ErrorCode::kInsufficientFreeAddressesInSubnet);
  CHECK(Observe(ec2) == before);
  CHECK_FALSE(ec2.FindSubnet("subnet-s")->IsAllocated(named));
}

TEST_CASE(
    "SimulatedEc2 answers InsufficientFreeAddressesInSubnet and InsufficientCidrBlocks from the "
    "address space") {
  ManualClock clock;
  Ec2 ec2(clock, Quiet());
  REQUIRE(ec2.AddSubnet("subnet-s", P("10.0.0.0/27"))
              .ok());  // 27 usable, 0 free /28 (.0-.3 and .31 held)
  auto primary = ec2.AddInstance(
      {.instance_id = "i-1", .subnet_id = "subnet-s", .max_enis = 2, .ipv4_per_eni = 50});
  REQUIRE(primary.ok());
  const World before = Observe(ec2);
  auto prefix = ec2.AssignIpv4Prefixes({.eni_id = primary->id, .count = 1});
  CHECK(prefix.status() ==
        absl::ResourceExhaustedError(
            "InsufficientCidrBlocks: subnet subnet-s (10.0.0.0/27) has 0 free aligned "
            "/28 blocks, 1 requested (26 single addresses free)"));
  CHECK(Code(ec2.CreateNetworkInterface({.subnet_id = "subnet-s", .ipv4_prefix_count = 1})) ==
        Ec2ErrorCode::kInsufficientCidrBlocks);
  CHECK(Code(ec2.AssignPrivateIpAddresses({.eni_id = primary->id, .count = 27})) ==
        Ec2ErrorCode::kInsufficientFreeAddressesInSubnet);
  CHECK(Code(ec2.CreateNetworkInterface({.subnet_id = "subnet-s", .secondary_ip_count = 26})) ==
        Ec2ErrorCode::kInsufficientFreeAddressesInSubnet);
  CHECK(Observe(ec2) == before);
  CHECK(ec2.AssignPrivateIpAddresses({.eni_id = primary->id, .count = 26}).ok());
}

TEST_CASE("SimulatedEc2 in a fragmented subnet refuses prefixes while secondary IPs still work") {
  ManualClock clock;
  Ec2 ec2(clock, Quiet(3));
  REQUIRE(ec2.AddSubnet("subnet-1", P("10.0.0.0/24")).ok());
  REQUIRE(ec2.AddInstance(
                 {.instance_id = "i-1", .subnet_id = "subnet-1", .max_enis = 8, .ipv4_per_eni = 50})
              .ok());
  // Fill the subnet: 250 addresses (the primary took the 251st) on five full ENIs.
  std::vector<NetworkInterface> enis;
  for (int i = 0; i < 5; ++i) {
    auto eni = ec2.CreateNetworkInterface({.subnet_id = "subnet-1", .secondary_ip_count = 49});
    REQUIRE(eni.ok());
    enis.push_back(*eni);
  }
  const enipool::ec2::Subnet& subnet = *ec2.FindSubnet("subnet-1");
  REQUIRE(subnet.free_address_count() == 0);
  // Give back every secondary IP except one per /28 (offset 7), the way
  // churn of single IPs leaves a subnet: many holes, no aligned block.
  for (const NetworkInterface& eni : enis) {
    std::vector<Ipv4Address> give_back;
    for (Ipv4Address a : eni.secondary_ips) {
      if (a.value() % 16 != 7) give_back.push_back(a);
    }
    REQUIRE(ec2.UnassignPrivateIpAddresses({.eni_id = eni.id, .addresses = give_back}).ok());
  }
  CHECK(subnet.free_address_count() > 200);
  CHECK(subnet.free_prefix_count() == 0);

  const NetworkInterface& target = enis.front();
  auto prefix = ec2.AssignIpv4Prefixes({.eni_id = target.id, .count = 1});
  CHECK(Code(prefix) == Ec2ErrorCode::kInsufficientCidrBlocks);
  CHECK(prefix.status().code() == absl::StatusCode::kResourceExhausted);
  auto ips = ec2.AssignPrivateIpAddresses({.eni_id = target.id, .count = 10});
  CHECK(ips.ok());
}

TEST_CASE("SimulatedEc2 keeps /28s for prefixes in a prefix CIDR reservation") {
  ManualClock clock;
  Ec2 ec2(clock, Quiet());
  REQUIRE(ec2.AddSubnet("subnet-1", P("10.0.0.0/26"),
                        {{P("10.0.0.32/28"), enipool::ec2::ReservationType::kPrefix}})
              .ok());
  auto primary = ec2.AddInstance(
      {.instance_id = "i-1", .subnet_id = "subnet-1", .max_enis = 3, .ipv4_per_eni = 50});
  REQUIRE(primary.ok());
  // 59 usable, 16 reserved for prefixes: IPs run out at 43 (one is the primary).
  CHECK(ec2.AssignPrivateIpAddresses({.eni_id = primary->id, .count = 42}).ok());
  CHECK(Code(ec2.AssignPrivateIpAddresses({.eni_id = primary->id, .count = 1})) ==
        Ec2ErrorCode::kInsufficientFreeAddressesInSubnet);
  auto prefix = ec2.AssignIpv4Prefixes({.eni_id = primary->id, .count = 1});
  REQUIRE(prefix.ok());
  CHECK(prefix->front() == P("10.0.0.32/28"));
}

TEST_CASE("SimulatedEc2 enforces the instance's ENI limit and device indexes on attach") {
  Fixture f;  // max 3 ENIs
  const NetworkInterface second = f.Create();
  const NetworkInterface third = f.Create();
  const NetworkInterface fourth = f.Create();
  f.Attach(second.id, 1);
  const World before = Observe(f.ec2);

  CHECK(f.ec2.AttachNetworkInterface({.eni_id = third.id, .instance_id = "i-1", .device_index = 1})
            .status() ==
        absl::InvalidArgumentError("InvalidParameterValue: device index 1 on network card 0 of i-1 is in use by " +
                                   second.id));
  CHECK(Code(f.ec2.AttachNetworkInterface(
            {.eni_id = third.id, .instance_id = "i-1", .device_index = 100})) ==
        Ec2ErrorCode::kInvalidParameterValue);
  CHECK(Code(f.ec2.AttachNetworkInterface(
            {.eni_id = third.id, .instance_id = "i-9", .device_index = 2})) ==
        Ec2ErrorCode::kInvalidParameterValue);
  CHECK(Code(f.ec2.AttachNetworkInterface(
            {.eni_id = second.id, .instance_id = "i-1", .device_index = 2})) ==
        Ec2ErrorCode::kInvalidParameterValue);  // already attached
  CHECK(
      f.ec2.AttachNetworkInterface({.eni_id = "eni-nope", .instance_id = "i-1", .device_index = 2})
          .status() ==
      absl::NotFoundError(
          "InvalidNetworkInterfaceID.NotFound: the network interface 'eni-nope' does not exist"));
  CHECK(Observe(f.ec2) == before);

  f.Attach(third.id, 7);  // any free index up to 99
  const World full = Observe(f.ec2);
  auto over =
      f.ec2.AttachNetworkInterface({.eni_id = fourth.id, .instance_id = "i-1", .device_index = 2});
  CHECK(over.status() ==
        absl::ResourceExhaustedError(
            "AttachmentLimitExceeded: network card 0 of instance i-1 already has 3 of 3 network "
            "interfaces"));
  CHECK(Observe(f.ec2) == full);
}

// docs/reference-behavior.md §1.1, §7.1: device indexes count per network
// card, each card takes its own ENI limit, and EC2's error code leads every
// refusal (a card the instance lacks, a full card).
TEST_CASE("SimulatedEc2 attaches on the network card the request names, with per-card limits") {
  ManualClock clock;
  Ec2 ec2(clock, Quiet());
  REQUIRE(ec2.AddSubnet("subnet-1", P("10.0.0.0/24")).ok());
  auto primary = ec2.AddInstance({.instance_id = "i-1", .subnet_id = "subnet-1", .max_enis = 2,
                                  .ipv4_per_eni = 10, .network_cards = 3});
  REQUIRE(primary.ok());
  CHECK(primary->network_card_index == 0);
  std::vector<NetworkInterface> enis;
  for (int i = 0; i < 6; ++i) {
    auto eni = ec2.CreateNetworkInterface({.subnet_id = "subnet-1"});
    REQUIRE(eni.ok());
    enis.push_back(*eni);
  }
  // Device 0 is free on card 1 (only card 0's device 0 is the primary's).
  auto on_card_1 = ec2.AttachNetworkInterface(
      {.eni_id = enis[0].id, .instance_id = "i-1", .device_index = 0, .network_card_index = 1});
  REQUIRE(on_card_1.ok());
  CHECK(ec2.FindEni(enis[0].id)->network_card_index == 1);
  CHECK(ec2.FindEni(enis[0].id)->device_index == 0);
  const World before = Observe(ec2);
  CHECK(ec2.AttachNetworkInterface({.eni_id = enis[1].id, .instance_id = "i-1",
                                    .device_index = 0, .network_card_index = 3})
            .status() ==
        absl::InvalidArgumentError(
            "InvalidParameterValue: network card index 3 for " + enis[1].id +
            " is not a card of i-1 (it has 3: 0..2)"));
  CHECK(Code(ec2.AttachNetworkInterface({.eni_id = enis[1].id, .instance_id = "i-1",
                                         .device_index = 1, .network_card_index = -1})) ==
        Ec2ErrorCode::kInvalidParameterValue);
  CHECK(ec2.AttachNetworkInterface({.eni_id = enis[1].id, .instance_id = "i-1",
                                    .device_index = 0, .network_card_index = 1})
            .status() ==
        absl::InvalidArgumentError("InvalidParameterValue: device index 0 on network card 1 of "
                                   "i-1 is in use by " + enis[0].id));
  CHECK(Observe(ec2) == before);
  REQUIRE(ec2.AttachNetworkInterface({.eni_id = enis[1].id, .instance_id = "i-1",
                                      .device_index = 1, .network_card_index = 1})
              .ok());
  // Card 1 is full (2 of 2) while cards 0 and 2 still take one and two.
  CHECK(ec2.AttachNetworkInterface({.eni_id = enis[2].id, .instance_id = "i-1",
                                    .device_index = 2, .network_card_index = 1})
            .status() ==
        absl::ResourceExhaustedError("AttachmentLimitExceeded: network card 1 of instance i-1 "
                                     "already has 2 of 2 network interfaces"));
  CHECK(ec2.AttachNetworkInterface({.eni_id = enis[2].id, .instance_id = "i-1",
                                    .device_index = 1, .network_card_index = 0})
            .ok());
  CHECK(ec2.AttachNetworkInterface({.eni_id = enis[3].id, .instance_id = "i-1",
                                    .device_index = 0, .network_card_index = 2})
            .ok());
  // Described by card, then device; a detach frees the card's slot.
  auto described = ec2.DescribeNetworkInterfaces({.eni_ids = {}, .instance_id = "i-1"});
  REQUIRE(described.ok());
  std::vector<std::pair<int, int>> order;
  for (const NetworkInterface& ni : *described) order.emplace_back(ni.network_card_index, ni.device_index);
  CHECK(order == std::vector<std::pair<int, int>>{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {2, 0}});
  REQUIRE(ec2.DetachNetworkInterface({.attachment_id = *on_card_1, .eni_id = enis[0].id}).ok());
  CHECK(ec2.FindEni(enis[0].id)->network_card_index == 0);
  CHECK(ec2.AttachNetworkInterface({.eni_id = enis[4].id, .instance_id = "i-1",
                                    .device_index = 0, .network_card_index = 1})
            .ok());
  // Only card 0's device 0 is the undetachable primary.
  CHECK(ec2.DetachNetworkInterface({.attachment_id = {}, .eni_id = enis[3].id}).ok());
  CHECK(Code(ec2.DetachNetworkInterface({.attachment_id = {}, .eni_id = primary->id})) ==
        Ec2ErrorCode::kInvalidParameterValue);
  CHECK(ec2.AddInstance({.instance_id = "i-2", .subnet_id = "subnet-1", .network_cards = 0})
            .status()
            .code() == absl::StatusCode::kInvalidArgument);
  CHECK(ec2.AddInstance({.instance_id = "i-2", .subnet_id = "subnet-1", .network_cards = 33})
            .status()
            .code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE(
    "SimulatedEc2 refuses to attach an ENI holding more addresses than the instance type allows") {
  Fixture f;  // 10 addresses per ENI
  const NetworkInterface big = f.Create(12);
  const World before = Observe(f.ec2);
  CHECK(Code(f.ec2.AttachNetworkInterface(
            {.eni_id = big.id, .instance_id = "i-1", .device_index = 1})) ==
        Ec2ErrorCode::kPrivateIpAddressLimitExceeded);
  CHECK(Observe(f.ec2) == before);
  REQUIRE(f.ec2
              .UnassignPrivateIpAddresses(
                  {.eni_id = big.id,
                   .addresses = {big.secondary_ips[0], big.secondary_ips[1], big.secondary_ips[2]}})
              .ok());
  f.Attach(big.id, 1);
}

TEST_CASE("SimulatedEc2 shares ipv4_per_eni - 1 slots between secondary IPs and prefixes") {
  Fixture f;  // 9 secondary slots per ENI
  REQUIRE(f.ec2.AssignPrivateIpAddresses({.eni_id = f.primary.id, .count = 5}).ok());
  REQUIRE(f.ec2.AssignIpv4Prefixes({.eni_id = f.primary.id, .count = 3}).ok());
  REQUIRE(f.ec2.AssignIpv4Prefixes({.eni_id = f.primary.id, .count = 1}).ok());
  const World full = Observe(f.ec2);
  CHECK(f.ec2.AssignPrivateIpAddresses({.eni_id = f.primary.id, .count = 1}).status() ==
        absl::ResourceExhaustedError(
            "PrivateIpAddressLimitExceeded: " + f.primary.id +
            " has 9 of 9 secondary slots in use; 1 more secondary IPs do not fit"));
  CHECK(Code(f.ec2.AssignIpv4Prefixes({.eni_id = f.primary.id, .count = 1})) ==
        Ec2ErrorCode::kPrivateIpAddressLimitExceeded);
  CHECK(Code(f.ec2.AssignIpv4Prefixes({.eni_id = f.primary.id, .count = 0})) ==
        Ec2ErrorCode::kInvalidParameterValue);
  CHECK(Code(f.ec2.AssignPrivateIpAddresses({.eni_id = "eni-nope", .count = 1})) ==
        Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);
  CHECK(Code(f.ec2.AssignIpv4Prefixes({.eni_id = "eni-nope", .count = 1})) ==
        Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);
  CHECK(Observe(f.ec2) == full);
}

TEST_CASE("SimulatedEc2 returns unassigned, detached-and-deleted addresses to the subnet") {
  Fixture f;
  const std::size_t free_ips = f.subnet().free_address_count();
  const std::size_t free_blocks = f.subnet().free_prefix_count();
  auto ips = f.ec2.AssignPrivateIpAddresses({.eni_id = f.primary.id, .count = 3});
  REQUIRE(ips.ok());
  auto prefixes = f.ec2.AssignIpv4Prefixes({.eni_id = f.primary.id, .count = 2});
  REQUIRE(prefixes.ok());
  REQUIRE(f.ec2.UnassignPrivateIpAddresses({.eni_id = f.primary.id, .addresses = *ips}).ok());
  REQUIRE(f.ec2.UnassignIpv4Prefixes({.eni_id = f.primary.id, .prefixes = *prefixes}).ok());
  CHECK(f.subnet().free_address_count() == free_ips);
  CHECK(f.subnet().free_prefix_count() == free_blocks);
  CHECK(f.ec2.FindEni(f.primary.id)->secondary_ips.empty());
  CHECK(f.ec2.FindEni(f.primary.id)->prefixes.empty());

  const NetworkInterface eni = f.Create(4);
  const std::string attachment = f.Attach(eni.id, 1);
  REQUIRE(f.ec2.AssignIpv4Prefixes({.eni_id = eni.id, .count = 1}).ok());
  REQUIRE(f.ec2.DetachNetworkInterface({.attachment_id = attachment, .eni_id = eni.id}).ok());
  CHECK_FALSE(f.ec2.FindEni(eni.id)->attached());
  REQUIRE(f.ec2.DeleteNetworkInterface({.eni_id = eni.id}).ok());
  CHECK(f.ec2.FindEni(eni.id) == nullptr);
  CHECK(f.subnet().free_address_count() == free_ips);
  CHECK(f.subnet().free_prefix_count() == free_blocks);
  CHECK(Code(f.ec2.DeleteNetworkInterface({.eni_id = eni.id})) ==
        Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);
}

TEST_CASE("SimulatedEc2 refuses bad unassign, detach and delete calls and changes nothing") {
  Fixture f;
  auto ips = f.ec2.AssignPrivateIpAddresses({.eni_id = f.primary.id, .count = 2});
  REQUIRE(ips.ok());
  auto prefixes = f.ec2.AssignIpv4Prefixes({.eni_id = f.primary.id, .count = 1});
  REQUIRE(prefixes.ok());
  const NetworkInterface other = f.Create(1);
  const std::string attachment = f.Attach(other.id, 1);
  const World before = Observe(f.ec2);

  SUBCASE("unassign") {
    CHECK(f.ec2.UnassignPrivateIpAddresses(
              {.eni_id = f.primary.id, .addresses = {f.primary.primary_ip}}) ==
          absl::InvalidArgumentError("InvalidParameterValue: " + f.primary.primary_ip.ToString() +
                                     " is not a secondary IP of " + f.primary.id));
    CHECK(Code(f.ec2.UnassignPrivateIpAddresses(
              {.eni_id = f.primary.id, .addresses = {(*ips)[0], other.secondary_ips[0]}})) ==
          Ec2ErrorCode::kInvalidParameterValue);  // one belongs to another ENI: nothing is removed
    CHECK(Code(f.ec2.UnassignPrivateIpAddresses(
              {.eni_id = f.primary.id, .addresses = {(*ips)[0], (*ips)[0]}})) ==
          Ec2ErrorCode::kInvalidParameterValue);
    CHECK(Code(f.ec2.UnassignPrivateIpAddresses({.eni_id = f.primary.id, .addresses = {}})) ==
          Ec2ErrorCode::kInvalidParameterValue);
    CHECK(Code(f.ec2.UnassignPrivateIpAddresses({.eni_id = "eni-nope", .addresses = *ips})) ==
          Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);
    CHECK(Code(f.ec2.UnassignIpv4Prefixes(
              {.eni_id = f.primary.id, .prefixes = {P("10.9.0.0/28")}})) ==
          Ec2ErrorCode::kInvalidParameterValue);
    CHECK(Code(f.ec2.UnassignIpv4Prefixes({.eni_id = other.id, .prefixes = *prefixes})) ==
          Ec2ErrorCode::kInvalidParameterValue);
    CHECK(Code(f.ec2.UnassignIpv4Prefixes({.eni_id = "eni-nope", .prefixes = *prefixes})) ==
          Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);
  }
  SUBCASE("detach") {
    CHECK(f.ec2.DetachNetworkInterface({.attachment_id = f.primary.attachment_id}) ==
          absl::InvalidArgumentError(
              "InvalidParameterValue: cannot detach the primary network interface " + f.primary.id +
              " (device 0) of i-1"));
    CHECK(Code(f.ec2.DetachNetworkInterface({.attachment_id = "eni-attach-nope"})) ==
          Ec2ErrorCode::kInvalidParameterValue);
    CHECK(Code(f.ec2.DetachNetworkInterface(
              {.attachment_id = "eni-attach-nope", .eni_id = "eni-nope"})) ==
          Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);
    CHECK(
        Code(f.ec2.DetachNetworkInterface({.attachment_id = attachment, .eni_id = f.primary.id})) ==
        Ec2ErrorCode::kInvalidParameterValue);  // ids do not match
    CHECK(Code(f.ec2.DetachNetworkInterface({.eni_id = "eni-nope"})) ==
          Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);
  }
  SUBCASE("delete") {
    CHECK(f.ec2.DeleteNetworkInterface({.eni_id = other.id}) ==
          absl::InvalidArgumentError("InvalidParameterValue: network interface " + other.id +
                                     " is currently in use (attached to i-1)"));
    CHECK(Code(f.ec2.DeleteNetworkInterface({.eni_id = f.primary.id})) ==
          Ec2ErrorCode::kInvalidParameterValue);
    CHECK(Code(f.ec2.DeleteNetworkInterface({.eni_id = "eni-nope"})) ==
          Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);
  }
  CHECK(Observe(f.ec2) == before);
}

TEST_CASE("SimulatedEc2 detaches by ENI id when no attachment id is given") {
  Fixture f;
  const NetworkInterface eni = f.Create();
  f.Attach(eni.id, 2);
  REQUIRE(f.ec2.DetachNetworkInterface({.eni_id = eni.id}).ok());
  CHECK(Code(f.ec2.DetachNetworkInterface({.eni_id = eni.id})) ==
        Ec2ErrorCode::kInvalidParameterValue);
  f.Attach(eni.id, 2);  // the device index is free again
}

TEST_CASE("SimulatedEc2 describes by ids, by instance, or everything") {
  Fixture f;
  const NetworkInterface a = f.Create(1);
  const NetworkInterface b = f.Create(0, 1);
  f.Attach(b.id, 5);

  auto by_ids = f.ec2.DescribeNetworkInterfaces({.eni_ids = {b.id, a.id}});
  REQUIRE(by_ids.ok());
  REQUIRE(by_ids->size() == 2);
  CHECK((*by_ids)[0].id == b.id);  // request order
  CHECK((*by_ids)[1] == a);

  auto narrowed = f.ec2.DescribeNetworkInterfaces({.eni_ids = {b.id, a.id}, .instance_id = "i-1"});
  REQUIRE(narrowed.ok());
  REQUIRE(narrowed->size() == 1);
  CHECK(narrowed->front().id == b.id);

  auto missing = f.ec2.DescribeNetworkInterfaces({.eni_ids = {a.id, "eni-gone"}});
  CHECK(missing.status() ==
        absl::NotFoundError(
            "InvalidNetworkInterfaceID.NotFound: the network interface 'eni-gone' does not exist"));

  auto by_instance = f.ec2.DescribeNetworkInterfaces({.instance_id = "i-1"});
  REQUIRE(by_instance.ok());
  REQUIRE(by_instance->size() == 2);
  CHECK((*by_instance)[0].id == f.primary.id);  // device 0 first
  CHECK((*by_instance)[1].id == b.id);
  CHECK((*by_instance)[1].prefixes == b.prefixes);
  CHECK(f.ec2.DescribeNetworkInterfaces({.instance_id = "i-unknown"})->empty());

  auto all = f.ec2.DescribeNetworkInterfaces({});
  REQUIRE(all.ok());
  REQUIRE(all->size() == 3);  // the unattached one too
  CHECK((*all)[0].id == f.primary.id);
  CHECK((*all)[1].id == a.id);
  CHECK((*all)[2].id == b.id);
}

TEST_CASE("SimulatedEc2 shows leaked ENIs in describe-all and collects them once old enough") {
  Fixture f;
  const std::size_t free_before = f.subnet().free_address_count();
  const NetworkInterface never_attached = f.Create(2);
  const NetworkInterface detached = f.Create(0, 1);
  const std::string attachment = f.Attach(detached.id, 1);
  const NetworkInterface kept = f.Create(1);
  f.Attach(kept.id, 2);
  REQUIRE(f.ec2.DetachNetworkInterface({.attachment_id = attachment}).ok());

  CHECK(f.ec2.unattached_eni_count() == 2);
  CHECK(f.ec2.UnattachedEnis(absl::Minutes(5)).empty());
  CHECK(f.ec2.CollectLeakedEnis(absl::Minutes(5)) == 0);

  f.clock.AdvanceTime(absl::Minutes(5));
  const auto leaked = f.ec2.UnattachedEnis(absl::Minutes(5));
  REQUIRE(leaked.size() == 2);
  CHECK(leaked[0].id == never_attached.id);
  CHECK(leaked[1].id == detached.id);
  auto all = f.ec2.DescribeNetworkInterfaces({});
  REQUIRE(all.ok());
  CHECK(all->size() == 4);

  CHECK(f.ec2.CollectLeakedEnis(absl::Minutes(5)) == 2);
  CHECK(f.ec2.FindEni(never_attached.id) == nullptr);
  CHECK(f.ec2.FindEni(detached.id) == nullptr);
  CHECK(f.ec2.FindEni(kept.id) != nullptr);
  CHECK(f.ec2.unattached_eni_count() == 0);
  CHECK(f.subnet().free_address_count() == free_before - 2);  // only `kept` remains
}

TEST_CASE("SimulatedEc2 deletes an instance's ENIs when it terminates") {
  Fixture f;
  const std::size_t free_before = f.subnet().free_address_count();
  const NetworkInterface attached = f.Create(3);
  f.Attach(attached.id, 1);
  const NetworkInterface loose = f.Create(1);
  REQUIRE(f.ec2.TerminateInstance("i-1").ok());
  CHECK(f.ec2.FindEni(f.primary.id) == nullptr);
  CHECK(f.ec2.FindEni(attached.id) == nullptr);
  CHECK(f.ec2.FindEni(loose.id) != nullptr);
  CHECK(f.subnet().free_address_count() == free_before + 1 - 2);
  CHECK(f.ec2.TerminateInstance("i-1") == absl::NotFoundError("instance i-1 does not exist"));
}

TEST_CASE(
    "SimulatedEc2 throttles each action on its own account-wide bucket and refills with time") {
  Fixture f(SimulatedEc2Options{.seed = 1,
                                .latency = enipool::ec2::LatencyModel::Zero()});  // AWS defaults
  // Attach: 50 tokens, 5 a second. Calls that fail validation still take a token.
  for (int i = 0; i < 50; ++i) {
    CAPTURE(i);
    REQUIRE(Code(f.ec2.AttachNetworkInterface(
                {.eni_id = "eni-nope", .instance_id = "i-1", .device_index = 1})) ==
            Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);
  }
  auto throttled =
      f.ec2.AttachNetworkInterface({.eni_id = "eni-nope", .instance_id = "i-1", .device_index = 1});
  CHECK(throttled.status() ==
        absl::UnavailableError(
            "RequestLimitExceeded: request limit exceeded for AttachNetworkInterface "
            "(AttachNetworkInterface)"));
  CHECK(f.ec2.stats().throttled == 1);
  // Other actions have their own buckets.
  CHECK(f.ec2.DescribeNetworkInterfaces({}).ok());
  CHECK(f.ec2.AssignPrivateIpAddresses({.eni_id = f.primary.id, .count = 1}).ok());

  // 200 ms later one token is back: one call passes, the next is throttled.
  f.clock.AdvanceTime(absl::Milliseconds(200));
  CHECK(Code(f.ec2.AttachNetworkInterface(
            {.eni_id = "eni-nope", .instance_id = "i-1", .device_index = 1})) ==
        Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);
  CHECK(Code(f.ec2.AttachNetworkInterface(
            {.eni_id = "eni-nope", .instance_id = "i-1", .device_index = 1})) ==
        Ec2ErrorCode::kRequestLimitExceeded);
  // After 10 s the bucket is full again (50 / 5 per second), and no fuller.
  f.clock.AdvanceTime(absl::Seconds(60));
  CHECK(f.ec2.throttle().Available(enipool::ec2::Ec2Action::kAttachNetworkInterface,
                                   f.clock.Now()) == 50.0);
}

TEST_CASE(
    "SimulatedEc2 bills IP and prefix assignment to the same AssignPrivateIpAddresses bucket") {
  Fixture f(SimulatedEc2Options{.seed = 1, .latency = enipool::ec2::LatencyModel::Zero()});
  for (int i = 0; i < 100; ++i) {
    REQUIRE(Code(f.ec2.AssignPrivateIpAddresses({.eni_id = "eni-nope", .count = 1})) ==
            Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);
  }
  const World before = Observe(f.ec2);
  CHECK(Code(f.ec2.AssignIpv4Prefixes({.eni_id = f.primary.id, .count = 1})) ==
        Ec2ErrorCode::kRequestLimitExceeded);
  CHECK(Observe(f.ec2) == before);
  CHECK(
      f.ec2.UnassignIpv4Prefixes({.eni_id = "eni-nope", .prefixes = {P("10.0.0.16/28")}}).code() ==
      absl::StatusCode::kNotFound);  // the unassign bucket is separate
}

TEST_CASE("SimulatedEc2 applies the fault plan exactly") {
  ManualClock clock;
  const absl::Time start = clock.Now();
  SimulatedEc2Options options = Quiet();
  const absl::Status scripted =
      enipool::Ec2Error(Ec2ErrorCode::kInsufficientCidrBlocks, "scripted");
  options.faults.FailNthCall(CallKind::kAssignIpv4Prefixes, 3, scripted)
      .ThrottleBetween(CallKind::kDescribeNetworkInterfaces, start + absl::Seconds(10),
                       start + absl::Seconds(20))
      .CrashAfterCall(9);
  Ec2 ec2(clock, options);
  REQUIRE(ec2.AddSubnet("subnet-1", P("10.0.0.0/24")).ok());
  auto primary = ec2.AddInstance(
      {.instance_id = "i-1", .subnet_id = "subnet-1", .max_enis = 3, .ipv4_per_eni = 10});
  REQUIRE(primary.ok());
  const std::string eni = primary->id;

  CHECK(ec2.AssignIpv4Prefixes({.eni_id = eni, .count = 1}).ok());  // call 1
  CHECK(ec2.AssignIpv4Prefixes({.eni_id = eni, .count = 1}).ok());  // call 2
  const World before = Observe(ec2);                                // call 3 (describe)
  CHECK(ec2.AssignIpv4Prefixes({.eni_id = eni, .count = 1}).status() ==
        scripted);                                                  // call 4, 3rd prefix call
  CHECK(Observe(ec2) == before);                                    // call 5
  CHECK(ec2.AssignIpv4Prefixes({.eni_id = eni, .count = 1}).ok());  // call 6
  CHECK(ec2.stats().injected_faults == 1);

  clock.AdvanceTime(absl::Seconds(10));
  CHECK(Code(ec2.DescribeNetworkInterfaces({})) == Ec2ErrorCode::kRequestLimitExceeded);  // call 7
  CHECK(
      ec2.AssignPrivateIpAddresses({.eni_id = eni, .count = 1}).ok());  // call 8: other kinds pass
  CHECK_FALSE(ec2.ShouldCrash());
  clock.AdvanceTime(absl::Seconds(10));           // the window is [10 s, 20 s)
  CHECK(ec2.DescribeNetworkInterfaces({}).ok());  // call 9
  CHECK(ec2.ShouldCrash());
  CHECK(ec2.stats().calls == 9);
  CHECK(ec2.stats().calls_of(CallKind::kAssignIpv4Prefixes) == 4);
  CHECK(ec2.stats().injected_faults == 2);

  ec2.fault_plan().Clear();
  CHECK_FALSE(ec2.ShouldCrash());
}

TEST_CASE(
    "SimulatedEc2 samples latency from its model, never below zero, without moving addresses") {
  SUBCASE("defaults stay within their documented caps") {
    ManualClock clock;
    Ec2 ec2(clock, {.seed = 5});
    absl::Duration create_attach_max = absl::ZeroDuration();
    for (int i = 0; i < 500; ++i) {
      const absl::Duration create = ec2.SampleLatency(enipool::CreateNetworkInterfaceRequest{});
      const absl::Duration attach = ec2.SampleLatency(enipool::AttachNetworkInterfaceRequest{});
      const absl::Duration assign = ec2.SampleLatency(enipool::AssignIpv4PrefixesRequest{});
      CHECK(create > absl::ZeroDuration());
      CHECK(assign > absl::ZeroDuration());
      CHECK(assign <= absl::Seconds(1));
      create_attach_max = std::max(create_attach_max, create + attach);
    }
    CHECK(create_attach_max <= absl::Seconds(10));  // the reference's "up to 10 seconds"
  }
  SUBCASE("a configured distribution is used for its call kind") {
    ManualClock clock;
    SimulatedEc2Options options = Quiet();
    options.latency.Set(CallKind::kAttachNetworkInterface,
                        enipool::ec2::LatencyDistribution::Fixed(absl::Seconds(2)));
    Ec2 ec2(clock, options);
    CHECK(ec2.SampleLatency(enipool::AttachNetworkInterfaceRequest{}) == absl::Seconds(2));
    CHECK(ec2.SampleLatency(enipool::DetachNetworkInterfaceRequest{}) == absl::ZeroDuration());
  }
  SUBCASE("sampling latency leaves the address sequence alone") {
    auto addresses = [](bool sample) {
      ManualClock clock;
      Ec2 ec2(clock, {.seed = 9});
      REQUIRE(ec2.AddSubnet("subnet-1", P("10.0.0.0/22")).ok());
      auto primary = ec2.AddInstance(
          {.instance_id = "i-1", .subnet_id = "subnet-1", .max_enis = 3, .ipv4_per_eni = 50});
      std::vector<Ipv4Address> out;
      for (int i = 0; i < 10; ++i) {
        if (sample) (void)ec2.SampleLatency(enipool::AssignPrivateIpAddressesRequest{});
        auto ip = ec2.AssignPrivateIpAddresses({.eni_id = primary->id, .count = 1});
        REQUIRE(ip.ok());
        out.push_back(ip->front());
      }
      return out;
    };
    CHECK(addresses(true) == addresses(false));
  }
}

// A scripted session: the same calls against a fresh simulator.
std::vector<NetworkInterface> RunSession(std::uint64_t seed,
                                         std::vector<absl::Duration>* latencies) {
  ManualClock clock;
  Ec2 ec2(clock, {.seed = seed});
  REQUIRE(ec2.AddSubnet("subnet-1", P("10.0.0.0/20")).ok());
  REQUIRE(ec2.AddInstance(
                 {.instance_id = "i-1", .subnet_id = "subnet-1", .max_enis = 4, .ipv4_per_eni = 30})
              .ok());
  for (int i = 0; i < 3; ++i) {
    const enipool::Ec2Call create =
        enipool::CreateNetworkInterfaceRequest{.subnet_id = "subnet-1",
                                               .secondary_ip_count = i == 1 ? 0 : 5,
                                               .ipv4_prefix_count = i == 1 ? 3 : 0};
    latencies->push_back(ec2.SampleLatency(create));
    const enipool::Ec2Result created = ec2.Call(create);
    REQUIRE(created.ok());
    const auto& eni = std::get<NetworkInterface>(created.response);
    clock.AdvanceTime(absl::Seconds(1));
    REQUIRE(
        ec2.AttachNetworkInterface({.eni_id = eni.id, .instance_id = "i-1", .device_index = i + 1})
            .ok());
    REQUIRE(ec2.AssignPrivateIpAddresses({.eni_id = eni.id, .count = 2}).ok());
  }
  return *ec2.DescribeNetworkInterfaces({});
}

TEST_CASE("SimulatedEc2 gives the same addresses and latencies for the same seed") {
  std::vector<absl::Duration> latencies_a, latencies_b, latencies_c;
  const auto a = RunSession(17, &latencies_a);
  const auto b = RunSession(17, &latencies_b);
  const auto c = RunSession(18, &latencies_c);
  CHECK(a == b);
  CHECK(latencies_a == latencies_b);
  CHECK(a != c);
  CHECK(latencies_a != latencies_c);
}

// The randomized invariant test: many instances share subnets; random calls
// (with random faults) keep the account consistent.
TEST_CASE(
    "SimulatedEc2 never hands an address to two ENIs and keeps subnet counts equal to a recount") {
  for (std::uint64_t seed : {1u, 2u}) {
    CAPTURE(seed);
    ManualClock clock;
    SimulatedEc2Options options{.seed = seed, .latency = enipool::ec2::LatencyModel::Zero()};
    options.faults.FailCallsBetween(CallKind::kAssignIpv4Prefixes, clock.Now() + absl::Seconds(100),
                                    clock.Now() + absl::Seconds(200),
                                    enipool::Ec2Error(Ec2ErrorCode::kOther, "scripted outage"));
    Ec2 ec2(clock, options);
    REQUIRE(ec2.AddSubnet("subnet-a", P("10.0.0.0/23")).ok());
    REQUIRE(ec2.AddSubnet("subnet-b", P("10.0.8.0/25"),
                          {{P("10.0.8.64/27"), enipool::ec2::ReservationType::kPrefix}})
                .ok());
    const char* subnets[] = {"subnet-a", "subnet-b"};
    absl::flat_hash_map<std::string, InstanceSpec> instances;
    for (int i = 0; i < 6; ++i) {
      InstanceSpec spec{.instance_id = "i-" + std::to_string(i),
                        .subnet_id = subnets[i % 2],
                        .max_enis = 2 + i % 3,
                        .ipv4_per_eni = 6 + 4 * (i % 3)};
      REQUIRE(ec2.AddInstance(spec).ok());
      instances[spec.instance_id] = spec;
    }
    std::mt19937_64 ops(seed * 7 + 1);
    auto pick = [&ops](std::size_t n) { return static_cast<std::size_t>(ops() % n); };

    std::vector<std::string> ids;
    for (int step = 0; step < 3000; ++step) {
      clock.AdvanceTime(absl::Milliseconds(static_cast<std::int64_t>(pick(200))));
      // Known ids: refreshed from describe-all now and then (stale ids are
      // fine: they exercise NotFound).
      if (step % 20 == 0) {
        auto all = ec2.DescribeNetworkInterfaces({});
        if (all.ok()) {
          ids.clear();
          for (const NetworkInterface& nic : *all) ids.push_back(nic.id);
        }
      }
      const std::string instance = "i-" + std::to_string(pick(6));
      const NetworkInterface* eni = ids.empty() ? nullptr : ec2.FindEni(ids[pick(ids.size())]);
      switch (pick(9)) {
        case 0:
          if (auto nic = ec2.CreateNetworkInterface(
                  {.subnet_id = subnets[pick(2)], .secondary_ip_count = static_cast<int>(pick(6))});
              nic.ok()) {
            ids.push_back(nic->id);
          }
          break;
        case 1:
          if (auto nic = ec2.CreateNetworkInterface(
                  {.subnet_id = subnets[pick(2)], .ipv4_prefix_count = static_cast<int>(pick(3))});
              nic.ok()) {
            ids.push_back(nic->id);
          }
          break;
        case 2:
          if (eni)
            (void)ec2.AttachNetworkInterface({.eni_id = eni->id,
                                              .instance_id = instance,
                                              .device_index = static_cast<int>(pick(5))});
          break;
        case 3:
          if (eni)
            (void)ec2.DetachNetworkInterface(
                {.attachment_id = eni->attachment_id, .eni_id = eni->id});
          break;
        case 4:
          if (eni) (void)ec2.DeleteNetworkInterface({.eni_id = eni->id});
          break;
        case 5:
          if (eni)
            (void)ec2.AssignPrivateIpAddresses(
                {.eni_id = eni->id, .count = static_cast<int>(pick(4)) + 1});
          break;
        case 6:
          if (eni)
            (void)ec2.AssignIpv4Prefixes(
                {.eni_id = eni->id, .count = static_cast<int>(pick(2)) + 1});
          break;
        case 7:
          if (eni && !eni->secondary_ips.empty()) {
            (void)ec2.UnassignPrivateIpAddresses(
                {.eni_id = eni->id,
                 .addresses = {eni->secondary_ips[pick(eni->secondary_ips.size())]}});
          }
          break;
        case 8:
          if (eni && !eni->prefixes.empty()) {
            (void)ec2.UnassignIpv4Prefixes(
                {.eni_id = eni->id, .prefixes = {eni->prefixes[pick(eni->prefixes.size())]}});
          }
          break;
      }
      if (step % 25 != 0) continue;
      // Invariants, from what describe-all tells (skipped if it is throttled).
      auto described = ec2.DescribeNetworkInterfaces({});
      if (!described.ok()) continue;
      const std::vector<NetworkInterface>& enis = *described;
      std::set<std::uint32_t> seen;
      absl::flat_hash_map<std::string, std::size_t> used_in_subnet;
      absl::flat_hash_map<std::string, int> enis_on_instance;
      for (const NetworkInterface& nic : enis) {
        const enipool::ec2::Subnet& subnet = *ec2.FindSubnet(nic.subnet_id);
        auto claim = [&](Ipv4Address a) {
          REQUIRE(subnet.Contains(a));
          REQUIRE(subnet.IsAllocated(a));
          REQUIRE(seen.insert(a.value()).second);  // on no other ENI
        };
        claim(nic.primary_ip);
        for (Ipv4Address a : nic.secondary_ips) claim(a);
        for (const Ipv4Prefix& p : nic.prefixes) {
          REQUIRE(p.length() == 28);
          for (std::uint64_t k = 0; k < 16; ++k) claim(p.AddressAt(k));
        }
        used_in_subnet[nic.subnet_id] += 1 + nic.secondary_ips.size() + 16 * nic.prefixes.size();
        if (nic.attached()) {
          ++enis_on_instance[nic.instance_id];
          const InstanceSpec& spec = instances.at(nic.instance_id);
          REQUIRE(static_cast<int>(nic.secondary_ips.size() + nic.prefixes.size()) <=
                  spec.ipv4_per_eni - 1);
        }
      }
      for (const auto& [id, count] : enis_on_instance) REQUIRE(count <= instances.at(id).max_enis);
      for (const auto& subnet : ec2.subnets()) {
        CAPTURE(subnet.id());
        REQUIRE(subnet.allocated_address_count() == used_in_subnet[subnet.id()]);
        std::size_t free_ips = 0;
        std::size_t free_blocks = 0;
        for (std::uint64_t k = 0; k < subnet.size(); ++k) {
          const Ipv4Address a = subnet.cidr().AddressAt(k);
          if (!subnet.IsAllocated(a) && !subnet.IsAwsReserved(a) &&
              !subnet.IsInPrefixReservation(a))
            ++free_ips;
        }
        for (std::uint64_t b = 0; b < subnet.size(); b += 16) {
          bool free = true;
          for (std::uint64_t k = b; k < b + 16; ++k) {
            const Ipv4Address a = subnet.cidr().AddressAt(k);
            free = free && !subnet.IsAllocated(a) && !subnet.IsAwsReserved(a);
          }
          free_blocks += free ? 1u : 0u;
        }
        REQUIRE(subnet.free_address_count() == free_ips);
        REQUIRE(subnet.free_prefix_count() == free_blocks);
      }
    }
    CHECK(ec2.stats().calls > 2000);
    CHECK(ec2.eni_count() > 6);
    CHECK(ec2.stats().injected_faults > 0);
  }
}

TEST_CASE("SimulatedEc2 serves an Ec2Call through Call() as Dispatch does") {
  Fixture f;
  const enipool::Ec2Result result =
      f.ec2.Call(enipool::AssignIpv4PrefixesRequest{.eni_id = f.primary.id, .count = 2});
  REQUIRE(result.ok());
  const auto& prefixes = std::get<std::vector<Ipv4Prefix>>(result.response);
  CHECK(prefixes.size() == 2);
  CHECK(f.ec2.FindEni(f.primary.id)->prefixes == prefixes);
  const enipool::Ec2Result missing =
      f.ec2.Call(enipool::DeleteNetworkInterfaceRequest{.eni_id = "eni-x"});
  CHECK(missing.error_code() == Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);
}

}  // namespace
