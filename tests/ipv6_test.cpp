#include "enipool/ipv6.h"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace {

using enipool::Ipv6Address;
using enipool::Ipv6Prefix;
using Groups = std::array<std::uint16_t, 8>;

// The model: an address is eight 16-bit groups. Its canonical text (RFC 5952,
// section 4) is found by brute force over every (start, length) run, longest first.
std::string ModelCanonical(const Groups& g) {
  int best_start = -1;
  int best_length = 0;
  for (int length = 8; length >= 2 && best_start < 0; --length) {
    for (int start = 0; start + length <= 8; ++start) {
      bool zeros = true;
      for (int k = start; k < start + length; ++k) zeros = zeros && g[static_cast<std::size_t>(k)] == 0;
      if (zeros) {
        best_start = start;
        best_length = length;
        break;
      }
    }
  }
  std::vector<std::string> parts;
  for (int k = 0; k < 8; ++k) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "%x", g[static_cast<std::size_t>(k)]);
    parts.emplace_back(buffer);
  }
  if (best_start < 0) return absl::StrJoin(parts, ":");
  std::vector<std::string> head(parts.begin(), parts.begin() + best_start);
  std::vector<std::string> tail(parts.begin() + best_start + best_length, parts.end());
  return absl::StrCat(absl::StrJoin(head, ":"), "::", absl::StrJoin(tail, ":"));
}

// Another text of the same groups, as RFC 4291 allows: upper or lower case,
// leading zeros, any run of zeros (maybe none) compressed, a dotted tail.
std::string ModelVariant(const Groups& g, std::mt19937_64& random) {
  std::vector<std::string> parts;
  const bool upper = random() % 2 == 0;
  for (int k = 0; k < 8; ++k) {
    char buffer[8];
    const int width = static_cast<int>(random() % 5);  // 0: as short as possible
    std::snprintf(buffer, sizeof buffer, upper ? "%0*X" : "%0*x", width,
                  g[static_cast<std::size_t>(k)]);
    parts.emplace_back(buffer);
  }
  const bool dotted = random() % 4 == 0;
  if (dotted) {
    parts.resize(6);
    parts.push_back(absl::StrCat(g[6] >> 8, ".", g[6] & 0xFF, ".", g[7] >> 8, ".", g[7] & 0xFF));
  }
  // Pick a run of zero groups (never splitting the dotted tail) to write as "::".
  std::vector<std::pair<int, int>> runs;
  const int groups_written = dotted ? 6 : 8;
  for (int start = 0; start < groups_written; ++start) {
    for (int end = start + 1; end <= groups_written; ++end) {
      bool zeros = true;
      for (int k = start; k < end; ++k) zeros = zeros && g[static_cast<std::size_t>(k)] == 0;
      if (zeros) runs.emplace_back(start, end);
    }
  }
  if (runs.empty() || random() % 3 == 0) return absl::StrJoin(parts, ":");
  const auto [start, end] = runs[random() % runs.size()];
  std::vector<std::string> head(parts.begin(), parts.begin() + start);
  std::vector<std::string> tail(parts.begin() + end, parts.end());
  return absl::StrCat(absl::StrJoin(head, ":"), "::", absl::StrJoin(tail, ":"));
}

Groups RandomGroups(std::mt19937_64& random) {
  Groups g{};
  for (auto& group : g) {
    switch (random() % 4) {
      case 0:
      case 1: group = 0; break;  // zero runs are what canonical text is about
      case 2: group = static_cast<std::uint16_t>(random() % 16); break;
      default: group = static_cast<std::uint16_t>(random()); break;
    }
  }
  return g;
}

TEST_CASE("Ipv6Address prints the RFC 5952 canonical text") {
  struct Case {
    const char* in;
    const char* want;
  };
  for (const Case& c : {
           Case{"::", "::"},
           Case{"::1", "::1"},
           Case{"1::", "1::"},
           Case{"2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
           Case{"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},  // first of equal runs
           Case{"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // one zero group stays
           Case{"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},  // the longest run
           Case{"2600:1f14:0abc:0001:0002::", "2600:1f14:abc:1:2::"},
           Case{"::ffff:10.0.0.5", "::ffff:a00:5"},
           Case{"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
           Case{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
       }) {
    CAPTURE(c.in);
    const auto address = Ipv6Address::Parse(c.in);
    REQUIRE_MESSAGE(address.ok(), address.status().ToString());
    CHECK(address->ToString() == c.want);
  }
  CHECK(Ipv6Address::Parse("2001:db8::1")->high() == 0x20010db800000000u);
  CHECK(Ipv6Address::Parse("2001:db8::1")->low() == 1u);
}

TEST_CASE("Ipv6Address rejects malformed text with INVALID_ARGUMENT naming the text") {
  for (const char* text :
       {"", ":", ":::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", ":1::2", "1::2:",
        "12345::", "g::1", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", " ::1", "::1 ", "::1%eth0",
        "[::1]", "::1.2.3", "::1.2.3.4:5", "1:2:3:4:5:6:7:1.2.3.4", "::256.0.0.1", "1:2",
        "2001:db8::/64", "-1::"}) {
    CAPTURE(text);
    const auto address = Ipv6Address::Parse(text);
    REQUIRE_FALSE(address.ok());
    CHECK_MESSAGE(address.status().code() == absl::StatusCode::kInvalidArgument,
                  address.status().ToString());
    CHECK_MESSAGE(absl::StrContains(address.status().message(), absl::StrCat("\"", text, "\"")),
                  address.status().ToString());
  }
}

TEST_CASE("Ipv6Address round-trips random addresses against an eight-group model") {
  std::mt19937_64 random(0x1f6);
  for (int trial = 0; trial < 20000; ++trial) {
    const Groups g = RandomGroups(random);
    const Ipv6Address address = Ipv6Address::FromGroups(g);
    REQUIRE(address.groups() == g);
    const std::string canonical = ModelCanonical(g);
    CAPTURE(canonical);
    REQUIRE(address.ToString() == canonical);
    const std::string variant = ModelVariant(g, random);
    CAPTURE(variant);
    const auto parsed = Ipv6Address::Parse(variant);
    REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
    REQUIRE(parsed->groups() == g);
    // Ordering is the numeric order of the groups, first group most significant.
    const Groups other = RandomGroups(random);
    REQUIRE((Ipv6Address::FromGroups(other) < address) == (other < g));
    REQUIRE((Ipv6Address::FromGroups(other) == address) == (other == g));
  }
}

TEST_CASE("Ipv6Address is regular: ordered by value and hashable") {
  const Ipv6Address low = *Ipv6Address::Parse("2600::1");
  const Ipv6Address high = *Ipv6Address::Parse("2600::1:0");
  CHECK(low < high);
  CHECK(Ipv6Address(0, 1) < Ipv6Address(1, 0));
  CHECK(Ipv6Address() == *Ipv6Address::Parse("::"));
  CHECK(absl::Hash<Ipv6Address>{}(low) == absl::Hash<Ipv6Address>{}(*Ipv6Address::Parse("2600:0::1")));
  const absl::flat_hash_set<Ipv6Address> set = {low, high, *Ipv6Address::Parse("2600:0:0::1")};
  CHECK(set.size() == 2);
  CHECK(set.contains(high));
}

TEST_CASE("Ipv6Prefix parses aligned prefixes and addresses inside a /80") {
  const auto prefix = Ipv6Prefix::Parse("2600:1f14:0abc:0001:0002::/80");
  REQUIRE(prefix.ok());
  CHECK(prefix->ToString() == "2600:1f14:abc:1:2::/80");
  CHECK(prefix->length() == 80);
  CHECK(prefix->host_bits() == 48);
  CHECK(prefix->AddressAt(0).ToString() == "2600:1f14:abc:1:2::");
  CHECK(prefix->AddressAt(5).ToString() == "2600:1f14:abc:1:2::5");
  CHECK(prefix->AddressAt((std::uint64_t{1} << 48) - 1).ToString() ==
        "2600:1f14:abc:1:2:ffff:ffff:ffff");
  CHECK(prefix->Contains(prefix->AddressAt((std::uint64_t{1} << 48) - 1)));
  CHECK_FALSE(prefix->Contains(prefix->AddressAt(std::uint64_t{1} << 48)));
  CHECK(prefix->OffsetOf(*Ipv6Address::Parse("2600:1f14:abc:1:2::1:0")) == 0x10000u);
  CHECK(Ipv6Prefix::Parse("::/0")->Contains(*Ipv6Address::Parse("ffff::")));
  CHECK(Ipv6Prefix::Parse("2600::1/128")->Contains(*Ipv6Address::Parse("2600::1")));
  CHECK_FALSE(Ipv6Prefix::Parse("2600::1/128")->Contains(*Ipv6Address::Parse("2600::2")));
  CHECK(Ipv6Prefix::Parse("2600:1f14:abc:1::/64")->Contains(*prefix));
  CHECK_FALSE(prefix->Contains(*Ipv6Prefix::Parse("2600:1f14:abc:1::/64")));
}

TEST_CASE("Ipv6Prefix rejects malformed or misaligned text with INVALID_ARGUMENT naming the text") {
  for (const char* text : {"", "2600::", "2600::/", "2600::/129", "2600::/080", "2600::/8a",
                           "2600::/-1", "2600::1/80", "2600:1f14:abc:1:2::/64", "zz::/80",
                           "2600::/80/1", "2600::/ 80"}) {
    CAPTURE(text);
    const auto prefix = Ipv6Prefix::Parse(text);
    REQUIRE_FALSE(prefix.ok());
    CHECK_MESSAGE(prefix.status().code() == absl::StatusCode::kInvalidArgument,
                  prefix.status().ToString());
    CHECK_MESSAGE(absl::StrContains(prefix.status().message(), absl::StrCat("\"", text, "\"")),
                  prefix.status().ToString());
  }
  const auto misaligned = Ipv6Prefix::Parse("2600:1f14:abc:1:2::1/80");
  REQUIRE_FALSE(misaligned.ok());
  CHECK(absl::StrContains(misaligned.status().message(), "2600:1f14:abc:1:2::/80"));
  CHECK_FALSE(Ipv6Prefix::Create(*Ipv6Address::Parse("2600::1"), 64).ok());
  CHECK_FALSE(Ipv6Prefix::Create(Ipv6Address(), 129).ok());
  CHECK(Ipv6Prefix::Create(*Ipv6Address::Parse("2600::"), 64).ok());
}

TEST_CASE("Ipv6Prefix carves the /80s of a subnet's /64 in order") {
  const Ipv6Prefix subnet = *Ipv6Prefix::Parse("2600:1f14:abc:1::/64");
  CHECK(subnet.Subprefix(80, 0)->ToString() == "2600:1f14:abc:1::/80");
  CHECK(subnet.Subprefix(80, 1)->ToString() == "2600:1f14:abc:1:1::/80");
  CHECK(subnet.Subprefix(80, 0xffff)->ToString() == "2600:1f14:abc:1:ffff::/80");
  const auto past = subnet.Subprefix(80, 0x10000);
  REQUIRE_FALSE(past.ok());
  CHECK(absl::StrContains(past.status().message(), "2600:1f14:abc:1::/64"));
  CHECK_FALSE(subnet.Subprefix(48, 0).ok());
  CHECK_FALSE(subnet.Subprefix(129, 0).ok());
  // Across the 64-bit halves: /56 → /72 and /32 → /48.
  CHECK(Ipv6Prefix::Parse("2600:0:0:100::/56")->Subprefix(72, 0x1ff)->ToString() ==
        "2600:0:0:101:ff00::/72");
  CHECK(Ipv6Prefix::Parse("2600::/32")->Subprefix(48, 7)->ToString() == "2600:0:7::/48");
  CHECK(Ipv6Prefix::Parse("2600::/120")->Subprefix(128, 255)->ToString() == "2600::ff/128");
  // Every carved block is inside the parent, aligned, and distinct from its neighbour.
  std::mt19937_64 random(80);
  for (int trial = 0; trial < 1000; ++trial) {
    const std::uint64_t index = random() % 0x10000;
    const auto block = subnet.Subprefix(80, index);
    REQUIRE(block.ok());
    CHECK(subnet.Contains(*block));
    CHECK(Ipv6Prefix::Create(block->network(), 80).ok());
    CHECK(block->network().groups()[4] == index);
  }
}

TEST_CASE("Ipv6Prefix is regular: ordered by network then length and hashable") {
  const Ipv6Prefix a = *Ipv6Prefix::Parse("2600::/80");
  const Ipv6Prefix b = *Ipv6Prefix::Parse("2600:0:0:0:1::/80");
  CHECK(a < b);
  CHECK(a != *Ipv6Prefix::Parse("2600::/64"));
  const absl::flat_hash_set<Ipv6Prefix> set = {a, b, *Ipv6Prefix::Parse("2600:0::/80")};
  CHECK(set.size() == 2);
  CHECK(absl::Hash<Ipv6Prefix>{}(a) == absl::Hash<Ipv6Prefix>{}(*Ipv6Prefix::Parse("2600::0/80")));
}

}  // namespace
