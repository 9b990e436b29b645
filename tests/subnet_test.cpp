#include "enipool/ec2/subnet.h"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "enipool/ec2/backend.h"
#include "enipool/ipv4.h"

namespace {

using enipool::Ec2ErrorCode;
using enipool::Ipv4Address;
using enipool::Ipv4Prefix;
using enipool::ec2::ReservationType;
using enipool::ec2::Subnet;
using enipool::ec2::SubnetReservation;

Ipv4Prefix P(const char* text) { return *Ipv4Prefix::Parse(text); }
Ipv4Address A(const char* text) { return *Ipv4Address::Parse(text); }

Subnet MakeSubnet(const char* cidr) {
  auto subnet = Subnet::Create("subnet-1", P(cidr));
  REQUIRE(subnet.ok());
  return *std::move(subnet);
}

// A snapshot of everything a caller can observe, to show a failed call
// changed nothing.
struct Observed {
  std::size_t free_addresses;
  std::size_t free_prefixes;
  std::size_t allocated;
  std::vector<SubnetReservation> reservations;
  friend bool operator==(const Observed&, const Observed&) = default;
};
Observed Observe(const Subnet& s) {
  return {s.free_address_count(), s.free_prefix_count(), s.allocated_address_count(),
          s.reservations()};
}

// Recounts from per-address queries: what the kept counters must equal.
std::size_t RecountFreeAddresses(const Subnet& s) {
  std::size_t n = 0;
  for (std::uint64_t k = 0; k < s.cidr().size(); ++k) {
    const Ipv4Address a = s.cidr().AddressAt(k);
    bool explicit_reserved = false;
    for (const auto& r : s.reservations()) {
      if (r.type == ReservationType::kExplicit && r.cidr.Contains(a)) explicit_reserved = true;
    }
    if (!s.IsAllocated(a) && !s.IsAwsReserved(a) && !s.IsInPrefixReservation(a) &&
        !explicit_reserved) {
      ++n;
    }
  }
  return n;
}
std::size_t RecountFreePrefixes(const Subnet& s) {
  std::size_t n = 0;
  for (std::uint64_t block = 0; block < s.cidr().size(); block += 16) {
    bool free = true;
    for (std::uint64_t k = block; k < block + 16; ++k) {
      const Ipv4Address a = s.cidr().AddressAt(k);
      bool explicit_reserved = false;
      for (const auto& r : s.reservations()) {
        if (r.type == ReservationType::kExplicit && r.cidr.Contains(a)) explicit_reserved = true;
      }
      if (s.IsAllocated(a) || s.IsAwsReserved(a) || explicit_reserved) free = false;
    }
    n += free ? 1u : 0u;
  }
  return n;
}

TEST_CASE("Subnet accepts /16 to /28 and rejects other sizes and an empty id") {
  CHECK(Subnet::Create("subnet-a", P("10.0.0.0/16")).ok());
  CHECK(Subnet::Create("subnet-a", P("10.0.0.0/28")).ok());
  const auto too_big = Subnet::Create("subnet-a", P("10.0.0.0/15"));
  CHECK(too_big.status() ==
        absl::InvalidArgumentError(
            "subnet subnet-a CIDR 10.0.0.0/15 must be /16 to /28 (AWS subnet sizes)"));
  CHECK(Subnet::Create("subnet-a", P("10.0.0.0/29")).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Subnet::Create("", P("10.0.0.0/24")).status() ==
        absl::InvalidArgumentError("subnet id must not be empty"));
}

TEST_CASE("Subnet holds the five addresses AWS reserves") {
  Subnet subnet = MakeSubnet("10.0.0.0/24");
  CHECK(subnet.size() == 256);
  CHECK(subnet.free_address_count() == 251);
  // Block 0 holds .0-.3 and block 15 holds .255, so 14 of 16 /28s are free.
  CHECK(subnet.free_prefix_count() == 14);
  for (const char* a : {"10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.255"}) {
    CAPTURE(a);
    CHECK(subnet.IsAwsReserved(A(a)));
    CHECK_FALSE(subnet.IsAllocated(A(a)));
  }
  CHECK_FALSE(subnet.IsAwsReserved(A("10.0.0.4")));
  CHECK_FALSE(subnet.IsAwsReserved(A("10.0.1.0")));  // outside

  Subnet smallest = MakeSubnet("10.0.0.16/28");
  CHECK(smallest.free_address_count() == 11);
  CHECK(smallest.free_prefix_count() == 0);
}

TEST_CASE(
    "Subnet hands out every usable address exactly once, then answers "
    "InsufficientFreeAddressesInSubnet") {
  Subnet subnet = MakeSubnet("10.0.0.0/26");
  std::mt19937_64 rng(1);
  std::set<Ipv4Address> seen;
  for (int i = 0; i < 59; ++i) {
    auto a = subnet.AllocateAddress(rng);
    REQUIRE(a.ok());
    CHECK(subnet.cidr().Contains(*a));
    CHECK_FALSE(subnet.IsAwsReserved(*a));
    CHECK(subnet.IsAllocated(*a));
    CHECK(seen.insert(*a).second);
  }
  CHECK(subnet.free_address_count() == 0);
  const Observed before = Observe(subnet);
  const auto more = subnet.AllocateAddress(rng);
  CHECK(enipool::ClassifyEc2Error(more.status()) ==
        Ec2ErrorCode::kInsufficientFreeAddressesInSubnet);
  CHECK(more.status() ==
        absl::ResourceExhaustedError(
            "InsufficientFreeAddressesInSubnet: subnet subnet-1 (10.0.0.0/26) has 0 "
            "free addresses, 1 requested"));
  CHECK(Observe(subnet) == before);
}

TEST_CASE("Subnet places secondary IPs at random, not in address order") {
  Subnet subnet = MakeSubnet("10.0.0.0/24");
  std::mt19937_64 rng(5);
  auto addresses = subnet.AllocateAddresses(10, rng);
  REQUIRE(addresses.ok());
  std::vector<Ipv4Address> lowest;
  for (std::uint32_t k = 4; k < 14; ++k) lowest.push_back(subnet.cidr().AddressAt(k));
  CHECK(*addresses != lowest);
}

TEST_CASE("Subnet places prefixes only on aligned, wholly free /28 blocks") {
  Subnet subnet = MakeSubnet("10.0.0.0/24");
  std::mt19937_64 rng(3);
  for (int i = 0; i < 14; ++i) {
    auto prefix = subnet.AllocatePrefix(rng);
    REQUIRE(prefix.ok());
    CHECK(prefix->length() == 28);
    CHECK(prefix->network().value() % 16 == 0);
    CHECK(prefix->network() != A("10.0.0.0"));    // holds reserved addresses
    CHECK(prefix->network() != A("10.0.0.240"));  // holds the broadcast address
  }
  CHECK(subnet.free_prefix_count() == 0);
  CHECK(subnet.allocated_address_count() == 14 * 16);
  // The loose addresses of the first (12) and last (15) blocks still serve IPs.
  CHECK(subnet.free_address_count() == 27);
  CHECK(enipool::ClassifyEc2Error(subnet.AllocatePrefix(rng).status()) ==
        Ec2ErrorCode::kInsufficientCidrBlocks);
  CHECK(subnet.AllocateAddress(rng).ok());
}

TEST_CASE(
    "Subnet with many free IPs but no aligned free /28 answers InsufficientCidrBlocks while IPs "
    "still work") {
  Subnet subnet = MakeSubnet("10.0.0.0/24");
  std::mt19937_64 rng(11);
  // Take everything, then give back all but one address in every /28:
  // 14 × 15 + 11 free addresses, not one wholly free block.
  auto all = subnet.AllocateAddresses(static_cast<int>(subnet.free_address_count()), rng);
  REQUIRE(all.ok());
  for (Ipv4Address a : *all) {
    if (a.value() % 16 != 7) REQUIRE(subnet.ReleaseAddress(a).ok());
  }
  CHECK(subnet.free_address_count() == 251 - 16);
  CHECK(subnet.free_prefix_count() == 0);
  CHECK(subnet.free_prefix_count() == RecountFreePrefixes(subnet));

  const Observed before = Observe(subnet);
  const auto prefix = subnet.AllocatePrefix(rng);
  CHECK(prefix.status() == absl::ResourceExhaustedError(
                               "InsufficientCidrBlocks: subnet subnet-1 (10.0.0.0/24) has 0 free "
                               "aligned /28 blocks, 1 requested (235 single addresses free)"));
  CHECK(Observe(subnet) == before);
  auto ips = subnet.AllocateAddresses(100, rng);
  CHECK(ips.ok());
}

TEST_CASE("Subnet keeps a prefix reservation for prefixes and uses it first") {
  Subnet subnet = MakeSubnet("10.0.0.0/24");
  REQUIRE(subnet.AddReservation({P("10.0.0.64/26"), ReservationType::kPrefix}).ok());
  CHECK(subnet.free_address_count() == 251 - 64);
  CHECK(subnet.free_prefix_count() == 14);
  CHECK(subnet.free_reserved_prefix_count() == 4);

  std::mt19937_64 rng(2);
  SUBCASE("secondary IPs never land in the reservation") {
    auto ips = subnet.AllocateAddresses(static_cast<int>(subnet.free_address_count()), rng);
    REQUIRE(ips.ok());
    for (Ipv4Address a : *ips) CHECK_FALSE(P("10.0.0.64/26").Contains(a));
    CHECK(enipool::ClassifyEc2Error(subnet.AllocateAddress(rng).status()) ==
          Ec2ErrorCode::kInsufficientFreeAddressesInSubnet);
    // ... so the four reserved /28s survive a subnet full of IPs.
    CHECK(subnet.free_prefix_count() == 4);
    auto prefixes = subnet.AllocatePrefixes(4, rng);
    CHECK(prefixes.ok());
  }
  SUBCASE("the first prefixes come from the reservation") {
    auto prefixes = subnet.AllocatePrefixes(4, rng);
    REQUIRE(prefixes.ok());
    for (const Ipv4Prefix& p : *prefixes) CHECK(P("10.0.0.64/26").Contains(p));
    CHECK(subnet.free_reserved_prefix_count() == 0);
    auto fifth = subnet.AllocatePrefix(rng);
    REQUIRE(fifth.ok());
    CHECK_FALSE(P("10.0.0.64/26").Contains(*fifth));
    // A released reserved prefix goes back to the reservation, not to IPs.
    REQUIRE(subnet.ReleasePrefix(prefixes->front()).ok());
    CHECK(subnet.free_reserved_prefix_count() == 1);
    CHECK(subnet.free_address_count() == 251 - 64 - 16);
  }
}

TEST_CASE("Subnet never hands out an explicit reservation") {
  Subnet subnet = MakeSubnet("10.0.0.0/26");
  REQUIRE(subnet.AddReservation({P("10.0.0.32/27"), ReservationType::kExplicit}).ok());
  CHECK(subnet.free_address_count() == 59 - 31);  // .63 (broadcast) was already held
  CHECK(subnet.free_prefix_count() == 1);         // only 10.0.0.16/28
  std::mt19937_64 rng(9);
  auto ips = subnet.AllocateAddresses(static_cast<int>(subnet.free_address_count()), rng);
  REQUIRE(ips.ok());
  for (Ipv4Address a : *ips) CHECK_FALSE(P("10.0.0.32/27").Contains(a));
  CHECK(subnet.free_prefix_count() == 0);
}

TEST_CASE("Subnet rejects a bad reservation and keeps its state") {
  Subnet subnet = MakeSubnet("10.0.0.0/24");
  REQUIRE(subnet.AddReservation({P("10.0.0.64/28"), ReservationType::kPrefix}).ok());
  std::mt19937_64 rng(4);
  auto prefix = subnet.AllocatePrefix(rng);  // lands in 10.0.0.64/28, the reservation
  REQUIRE(prefix.ok());
  REQUIRE(*prefix == P("10.0.0.64/28"));
  auto ip = subnet.AllocateAddress(rng);
  REQUIRE(ip.ok());
  const Observed before = Observe(subnet);

  CHECK(subnet.AddReservation({P("10.0.1.0/28"), ReservationType::kPrefix}) ==
        absl::InvalidArgumentError(
            "reservation 10.0.1.0/28 is not inside subnet subnet-1 (10.0.0.0/24)"));
  CHECK(subnet.AddReservation({P("10.0.0.64/27"), ReservationType::kExplicit}) ==
        absl::InvalidArgumentError(
            "reservation 10.0.0.64/27 in subnet-1 overlaps another reservation"));
  CHECK(subnet.AddReservation({P("10.0.0.128/29"), ReservationType::kPrefix}) ==
        absl::InvalidArgumentError(
            "prefix reservation 10.0.0.128/29 in subnet-1 is smaller than a /28"));
  const Ipv4Prefix around_ip = Ipv4Prefix::Containing(*ip, 28);
  CHECK(subnet.AddReservation({around_ip, ReservationType::kExplicit}) ==
        absl::InvalidArgumentError("reservation " + around_ip.ToString() +
                                   " in subnet-1 covers allocated address " + ip->ToString()));
  CHECK(Observe(subnet) == before);
}

TEST_CASE("Subnet rejects releasing what it did not hand out and keeps its state") {
  Subnet subnet = MakeSubnet("10.0.0.0/24");
  std::mt19937_64 rng(6);
  auto ip = subnet.AllocateAddress(rng);
  REQUIRE(ip.ok());
  auto prefix = subnet.AllocatePrefix(rng);
  REQUIRE(prefix.ok());
  const Observed before = Observe(subnet);

  CHECK(subnet.ReleaseAddress(A("10.0.0.1")) ==
        absl::InvalidArgumentError("InvalidParameterValue: address 10.0.0.1 is not allocated in "
                                   "subnet subnet-1 (10.0.0.0/24)"));
  CHECK(subnet.ReleaseAddress(A("10.9.0.9")).code() == absl::StatusCode::kInvalidArgument);
  CHECK(enipool::ClassifyEc2Error(subnet.ReleasePrefix(P("10.0.0.0/28"))) ==
        Ec2ErrorCode::kInvalidParameterValue);
  CHECK(enipool::ClassifyEc2Error(subnet.ReleasePrefix(Ipv4Prefix::Containing(
            prefix->network(), 27))) == Ec2ErrorCode::kInvalidParameterValue);
  CHECK(Observe(subnet) == before);

  REQUIRE(subnet.ReleaseAddress(*ip).ok());
  CHECK(subnet.ReleaseAddress(*ip).code() == absl::StatusCode::kInvalidArgument);  // twice
  REQUIRE(subnet.ReleasePrefix(*prefix).ok());
  CHECK(subnet.free_address_count() == 251);
  CHECK(subnet.free_prefix_count() == 14);
}

TEST_CASE("Subnet allocates several addresses or prefixes all or nothing") {
  Subnet subnet = MakeSubnet("10.0.0.0/26");  // 59 usable, 2 free /28s
  std::mt19937_64 rng(8);
  const Observed before = Observe(subnet);
  CHECK(enipool::ClassifyEc2Error(subnet.AllocateAddresses(60, rng).status()) ==
        Ec2ErrorCode::kInsufficientFreeAddressesInSubnet);
  CHECK(enipool::ClassifyEc2Error(subnet.AllocatePrefixes(3, rng).status()) ==
        Ec2ErrorCode::kInsufficientCidrBlocks);
  CHECK(subnet.AllocateAddresses(0, rng).status() ==
        absl::InvalidArgumentError(
            "InvalidParameterValue: address count 0 for subnet subnet-1 must be >= 1"));
  CHECK(enipool::ClassifyEc2Error(subnet.AllocatePrefixes(-1, rng).status()) ==
        Ec2ErrorCode::kInvalidParameterValue);
  CHECK(Observe(subnet) == before);
  CHECK(subnet.AllocatePrefixes(2, rng).ok());
}

TEST_CASE("Subnet gives the same addresses for the same seed and different ones for another") {
  auto run = [](std::uint64_t seed) {
    Subnet subnet = MakeSubnet("10.0.0.0/20");
    std::mt19937_64 rng(seed);
    std::vector<std::string> out;
    for (int i = 0; i < 20; ++i) {
      out.push_back(subnet.AllocateAddress(rng)->ToString());
      out.push_back(subnet.AllocatePrefix(rng)->ToString());
    }
    return out;
  };
  CHECK(run(42) == run(42));
  CHECK(run(42) != run(43));
}

TEST_CASE(
    "Subnet counts equal a recount and no address is handed out twice under random operations") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    Subnet subnet = MakeSubnet("10.0.0.0/23");
    REQUIRE(subnet.AddReservation({P("10.0.1.0/26"), ReservationType::kPrefix}).ok());
    REQUIRE(subnet.AddReservation({P("10.0.1.192/28"), ReservationType::kExplicit}).ok());
    std::mt19937_64 rng(seed);
    std::mt19937_64 ops(seed + 100);
    std::set<Ipv4Address> ips;      // the model: what is out, as IPs
    std::set<Ipv4Prefix> prefixes;  // ... and as prefixes
    // Addresses a secondary IP may take: the /23's 512 less AWS's 5 (.0.0 to
    // .0.3, .1.255), the /26 prefix reservation (64) and the explicit /28 (16);
    // less what is out, where a prefix inside the prefix reservation takes
    // none of them.
    auto model_free_addresses = [&] {
      std::size_t prefixes_outside = 0;
      for (const Ipv4Prefix& p : prefixes) if (!P("10.0.1.0/26").Contains(p)) ++prefixes_outside;
      return std::size_t{512 - 5 - 64 - 16} - ips.size() - 16 * prefixes_outside;
    };
    int address_grants = 0;
    int address_refusals = 0;
    for (int step = 0; step < 1500; ++step) {
      const auto op = ops() % 4;
      if (op == 0) {
        const int count = static_cast<int>(ops() % 5) + 1;
        CAPTURE(count);
        const std::size_t free_before = model_free_addresses();
        auto got = subnet.AllocateAddresses(count, rng);
        // Refused exactly when fewer than `count` addresses are free.
        REQUIRE(got.ok() == (free_before >= static_cast<std::size_t>(count)));
        (got.ok() ? address_grants : address_refusals) += 1;
        if (got.ok()) {
          REQUIRE(got->size() == static_cast<std::size_t>(count));
          for (Ipv4Address a : *got) {
            REQUIRE(ips.insert(a).second);
            for (const auto& p : prefixes) REQUIRE_FALSE(p.Contains(a));
            REQUIRE_FALSE(P("10.0.1.0/26").Contains(a));
            REQUIRE_FALSE(P("10.0.1.192/28").Contains(a));
          }
        } else {
          REQUIRE(enipool::ClassifyEc2Error(got.status()) ==
                  Ec2ErrorCode::kInsufficientFreeAddressesInSubnet);
        }
      } else if (op == 1) {
        auto got = subnet.AllocatePrefix(rng);
        if (got.ok()) {
          REQUIRE(prefixes.insert(*got).second);
          for (Ipv4Address a : ips) REQUIRE_FALSE(got->Contains(a));
          REQUIRE_FALSE(got->Contains(A("10.0.1.192")));
        } else {
          REQUIRE(enipool::ClassifyEc2Error(got.status()) == Ec2ErrorCode::kInsufficientCidrBlocks);
          REQUIRE(RecountFreePrefixes(subnet) == 0);
        }
      } else if (op == 2 && !ips.empty()) {
        auto it = ips.begin();
        std::advance(it, static_cast<long>(ops() % ips.size()));
        REQUIRE(subnet.ReleaseAddress(*it).ok());
        ips.erase(it);
      } else if (op == 3 && !prefixes.empty()) {
        auto it = prefixes.begin();
        std::advance(it, static_cast<long>(ops() % prefixes.size()));
        REQUIRE(subnet.ReleasePrefix(*it).ok());
        prefixes.erase(it);
      }
      if (step % 50 == 0) {
        REQUIRE(subnet.free_address_count() == RecountFreeAddresses(subnet));
        REQUIRE(subnet.free_prefix_count() == RecountFreePrefixes(subnet));
      }
      REQUIRE(subnet.allocated_address_count() == ips.size() + 16 * prefixes.size());
      REQUIRE(subnet.free_address_count() == model_free_addresses());
    }
    // Both outcomes happened: the subnet filled up and refused.
    CHECK(address_grants > 0);
    CHECK(address_refusals > 0);
  }
}

}  // namespace
