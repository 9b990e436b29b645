#include "enipool/ipv4.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/match.h"

namespace {

using enipool::Ipv4Address;
using enipool::Ipv4Prefix;

TEST_CASE("Ipv4Address parses dotted quads and prints them back") {
  for (const char* text :
       {"0.0.0.0", "10.0.0.5", "192.168.1.254", "255.255.255.255", "1.20.100.9"}) {
    CAPTURE(text);
    const auto address = Ipv4Address::Parse(text);
    REQUIRE(address.ok());
    CHECK(address->ToString() == text);
  }
  CHECK(Ipv4Address::Parse("10.1.2.3")->value() == 0x0A010203u);
  CHECK(Ipv4Address(10, 1, 2, 3) == Ipv4Address(0x0A010203u));
}

TEST_CASE("Ipv4Address rejects malformed text with INVALID_ARGUMENT naming the text") {
  for (const char* text : {"", "10.0.0", "10.0.0.0.0", "10.0.0.256", "10.0.0.-1", "10..0.1",
                           " 10.0.0.1", "10.0.0.1 ", "10.0.0.01", "010.0.0.1", "10.0.0.1000",
                           "a.b.c.d", "10.0.0.1/32", ".10.0.0.1", "10.0.0.1.", "1.2.3.0004"}) {
    CAPTURE(text);
    const auto address = Ipv4Address::Parse(text);
    REQUIRE_FALSE(address.ok());
    CHECK_MESSAGE(address.status().code() == absl::StatusCode::kInvalidArgument,
                  address.status().ToString());
    CHECK_MESSAGE(absl::StrContains(address.status().message(), absl::StrCat("\"", text, "\"")),
                  address.status().ToString());
  }
}

TEST_CASE("Ipv4Address is regular: ordered by value and hashable") {
  const Ipv4Address low(10, 0, 0, 1);
  const Ipv4Address high(10, 0, 1, 0);
  CHECK(low < high);
  CHECK(high > low);
  CHECK(low != high);
  CHECK(Ipv4Address() == Ipv4Address(0u));
  CHECK(absl::Hash<Ipv4Address>{}(low) == absl::Hash<Ipv4Address>{}(Ipv4Address(10, 0, 0, 1)));
  const absl::flat_hash_set<Ipv4Address> set = {low, high, Ipv4Address(10, 0, 0, 1)};
  CHECK(set.size() == 2);
  CHECK(set.contains(Ipv4Address(10, 0, 1, 0)));
  CHECK_FALSE(set.contains(Ipv4Address(10, 0, 0, 2)));
}

TEST_CASE("Ipv4Prefix parses aligned prefixes and reports size, first, last and AddressAt") {
  const auto prefix = Ipv4Prefix::Parse("10.0.0.16/28");
  REQUIRE(prefix.ok());
  CHECK(prefix->ToString() == "10.0.0.16/28");
  CHECK(prefix->length() == 28);
  CHECK(prefix->size() == 16u);
  CHECK(prefix->first() == Ipv4Address(10, 0, 0, 16));
  CHECK(prefix->last() == Ipv4Address(10, 0, 0, 31));
  CHECK(prefix->AddressAt(3) == Ipv4Address(10, 0, 0, 19));

  CHECK(Ipv4Prefix::Parse("10.0.0.7/32")->size() == 1u);
  CHECK(Ipv4Prefix::Parse("0.0.0.0/0")->size() == (std::uint64_t{1} << 32));
  CHECK(Ipv4Prefix::Parse("0.0.0.0/0")->last() == Ipv4Address(255, 255, 255, 255));
  CHECK(Ipv4Prefix::Parse("10.0.0.0/8")->ToString() == "10.0.0.0/8");
}

TEST_CASE("Ipv4Prefix contains its addresses and the prefixes nested in it") {
  const Ipv4Prefix p28 = *Ipv4Prefix::Parse("10.0.0.16/28");
  CHECK(p28.Contains(Ipv4Address(10, 0, 0, 16)));
  CHECK(p28.Contains(Ipv4Address(10, 0, 0, 31)));
  CHECK_FALSE(p28.Contains(Ipv4Address(10, 0, 0, 15)));
  CHECK_FALSE(p28.Contains(Ipv4Address(10, 0, 0, 32)));
  CHECK(p28.Contains(*Ipv4Prefix::Parse("10.0.0.20/32")));
  CHECK(p28.Contains(p28));
  CHECK_FALSE(p28.Contains(*Ipv4Prefix::Parse("10.0.0.0/24")));
  CHECK(Ipv4Prefix::Parse("10.0.0.0/24")->Contains(p28));
  CHECK(Ipv4Prefix::Parse("0.0.0.0/0")->Contains(Ipv4Address(1, 2, 3, 4)));
}

TEST_CASE("Ipv4Prefix::Containing and FromAddress build the aligned block around an address") {
  const Ipv4Address address(10, 0, 0, 37);
  CHECK(Ipv4Prefix::Containing(address, 28).ToString() == "10.0.0.32/28");
  CHECK(Ipv4Prefix::Containing(address, 32).ToString() == "10.0.0.37/32");
  CHECK(Ipv4Prefix::Containing(address, 0).ToString() == "0.0.0.0/0");
  CHECK(Ipv4Prefix::FromAddress(address) == Ipv4Prefix::Containing(address, 32));
}

TEST_CASE("Ipv4Prefix::Create rejects unaligned networks and bad lengths, naming the input") {
  const auto unaligned = Ipv4Prefix::Create(Ipv4Address(10, 0, 0, 17), 28);
  REQUIRE_FALSE(unaligned.ok());
  CHECK_MESSAGE(unaligned.status().code() == absl::StatusCode::kInvalidArgument,
                unaligned.status().ToString());
  CHECK(absl::StrContains(unaligned.status().message(), "10.0.0.17/28"));
  CHECK(absl::StrContains(unaligned.status().message(), "10.0.0.16/28"));  // the aligned block

  for (int length : {-1, 33, 100}) {
    CAPTURE(length);
    const auto bad = Ipv4Prefix::Create(Ipv4Address(10, 0, 0, 0), length);
    REQUIRE_FALSE(bad.ok());
    CHECK_MESSAGE(bad.status().code() == absl::StatusCode::kInvalidArgument,
                  bad.status().ToString());
    CHECK(absl::StrContains(bad.status().message(), absl::StrCat("10.0.0.0/", length)));
  }
  CHECK(Ipv4Prefix::Create(Ipv4Address(10, 0, 0, 16), 28).ok());
}

TEST_CASE("Ipv4Prefix::Parse rejects malformed or unaligned text with INVALID_ARGUMENT naming it") {
  for (const char* text : {"10.0.0.17/28", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1",
                           "10.0.0.0/028", "10.0.0.0/2a", "10.0.0.0/100", "10.0.0/28", "/28",
                           "10.0.0.256/32", "10.0.0.0/28/1", "10.0.0.0 /28"}) {
    CAPTURE(text);
    const auto prefix = Ipv4Prefix::Parse(text);
    REQUIRE_FALSE(prefix.ok());
    CHECK_MESSAGE(prefix.status().code() == absl::StatusCode::kInvalidArgument,
                  prefix.status().ToString());
    CHECK_MESSAGE(absl::StrContains(prefix.status().message(), absl::StrCat("\"", text, "\"")),
                  prefix.status().ToString());
  }
}

TEST_CASE("Ipv4Prefix is regular: equal by network and length, ordered, hashable") {
  const Ipv4Prefix a = *Ipv4Prefix::Parse("10.0.0.16/28");
  const Ipv4Prefix b = *Ipv4Prefix::Parse("10.0.0.16/32");
  const Ipv4Prefix c = *Ipv4Prefix::Parse("10.0.0.32/28");
  CHECK(a != b);
  CHECK(a < c);
  CHECK(a < b);  // same network, shorter length first
  CHECK(a == *Ipv4Prefix::Create(Ipv4Address(10, 0, 0, 16), 28));
  CHECK(absl::Hash<Ipv4Prefix>{}(a) ==
        absl::Hash<Ipv4Prefix>{}(*Ipv4Prefix::Parse("10.0.0.16/28")));
  const absl::flat_hash_set<Ipv4Prefix> set = {a, b, c, *Ipv4Prefix::Parse("10.0.0.16/28")};
  CHECK(set.size() == 3);  // a /28 and the /32 at its base are different keys
  CHECK(set.contains(*Ipv4Prefix::Parse("10.0.0.32/28")));
  CHECK_FALSE(set.contains(*Ipv4Prefix::Parse("10.0.0.32/32")));
}

TEST_CASE("Ipv4Address and Ipv4Prefix work in constant expressions") {
  constexpr Ipv4Prefix prefix = Ipv4Prefix::Containing(Ipv4Address(10, 0, 0, 40), 28);
  static_assert(prefix.network() == Ipv4Address(10, 0, 0, 32));
  static_assert(prefix.size() == 16);
  static_assert(prefix.Contains(Ipv4Address(10, 0, 0, 47)));
  static_assert(!prefix.Contains(Ipv4Address(10, 0, 0, 48)));
  CHECK(prefix.ToString() == "10.0.0.32/28");
}

}  // namespace
