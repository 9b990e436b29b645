// NodeDatastore::CoolAt(): restoring a cooldown from a snapshot.

#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"

namespace {

using enipool::Ipv4Address;
using enipool::Ipv4Prefix;

struct Fixture {
  enipool::ManualClock clock{absl::FromUnixSeconds(1'000'000)};
  enipool::NodeDatastore<enipool::ManualClock> ds{enipool::AddressMode::kPrefix, clock};

  Fixture() {
    REQUIRE(ds.AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
    REQUIRE(ds.AddCidr("eni-1", *Ipv4Prefix::Parse("10.0.0.16/28")).ok());
  }
};

TEST_CASE("NodeDatastore::CoolAt keeps a restored address out of reach until its cooldown ends") {
  Fixture f;
  const Ipv4Address base(10, 0, 0, 16);
  // Released 10 s ago: 20 s of the 30 s cooldown are left.
  REQUIRE(f.ds.CoolAt(base, f.clock.Now() - absl::Seconds(10)).ok());
  CHECK(f.ds.CheckInvariants().ok());
  CHECK(f.ds.Stats().cooling_ips == 1);
  std::vector<std::pair<Ipv4Address, absl::Time>> cooling;
  f.ds.ForEachCooling([&](Ipv4Address a, absl::Time t) { cooling.emplace_back(a, t); });
  REQUIRE(cooling.size() == 1);
  CHECK(cooling[0].first == base);
  CHECK(cooling[0].second == f.clock.Now() - absl::Seconds(10));

  auto first = f.ds.Assign({"net", "c1", "eth0"});
  REQUIRE(first.ok());
  CHECK(first->address != base);

  f.clock.AdvanceTime(absl::Seconds(21));
  CHECK(f.ds.Stats().cooling_ips == 0);
  CHECK(f.ds.CheckInvariants().ok());
}

TEST_CASE("NodeDatastore::CoolAt with a long-past release time frees the address at the next read") {
  Fixture f;
  REQUIRE(f.ds.CoolAt(Ipv4Address(10, 0, 0, 20), absl::InfinitePast()).ok());
  CHECK(f.ds.Stats().cooling_ips == 0);
  CHECK(f.ds.CheckInvariants().ok());
}

TEST_CASE("NodeDatastore::CoolAt gives an already cooling address its new release time") {
  Fixture f;
  const Ipv4Address a(10, 0, 0, 20);
  REQUIRE(f.ds.CoolAt(a, f.clock.Now() - absl::Seconds(25)).ok());
  REQUIRE(f.ds.CoolAt(a, f.clock.Now()).ok());
  CHECK(f.ds.CheckInvariants().ok());
  f.clock.AdvanceTime(absl::Seconds(10));  // past the first expiry, not the second
  CHECK(f.ds.Stats().cooling_ips == 1);
  CHECK(f.ds.CheckInvariants().ok());
}

TEST_CASE("NodeDatastore::CoolAt rejects unknown and assigned addresses and changes nothing") {
  Fixture f;
  auto pod = f.ds.Assign({"net", "c1", "eth0"});
  REQUIRE(pod.ok());
  const auto before = f.ds.Stats();

  const absl::Status unknown = f.ds.CoolAt(Ipv4Address(192, 168, 0, 1), f.clock.Now());
  CHECK_MESSAGE(unknown.code() == absl::StatusCode::kNotFound, unknown);
  const absl::Status assigned = f.ds.CoolAt(pod->address, f.clock.Now());
  CHECK_MESSAGE(assigned.code() == absl::StatusCode::kFailedPrecondition, assigned);

  CHECK(f.ds.Stats() == before);
  CHECK(f.ds.Lookup({"net", "c1", "eth0"}) == pod.value());
  CHECK(f.ds.CheckInvariants().ok());
}

}  // namespace
