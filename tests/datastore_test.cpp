#include "enipool/datastore.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"
#include "testing/datastore_testing.h"

namespace {

using enipool::AddressMode;
using enipool::Assignment;
using enipool::CidrView;
using enipool::EniSpec;
using enipool::EniView;
using enipool::Ipv4Address;
using enipool::Ipv4Prefix;
using enipool::ManualClock;
using enipool::Placement;
using enipool::PodKey;
using enipool::PoolStats;
using enipool::testing::Address;
using enipool::testing::EniName;
using enipool::testing::Pod;
using enipool::testing::Prefix;
using enipool::testing::Snapshot;
using enipool::testing::TakeSnapshot;
using enipool::testing::Unit;
using enipool::testing::UnitSize;

using Datastore = enipool::NodeDatastore<ManualClock>;

constexpr AddressMode kModes[] = {AddressMode::kSecondaryIp, AddressMode::kPrefix};
constexpr Placement kPlacements[] = {Placement::kBestFit, Placement::kSpread, Placement::kFirstFit};

AddressMode Other(AddressMode mode) {
  return mode == AddressMode::kPrefix ? AddressMode::kSecondaryIp : AddressMode::kPrefix;
}

const char* PlacementName(Placement p) {
  switch (p) {
    case Placement::kBestFit:
      return "best fit";
    case Placement::kSpread:
      return "spread";
    case Placement::kFirstFit:
      return "first fit";
  }
  return "?";
}

absl::Status ToStatus(const absl::Status& status) { return status; }
template <typename T>
absl::Status ToStatus(const absl::StatusOr<T>& result) {
  return result.status();
}

#define EXPECT_OK(expr)                             \
  do {                                              \
    const absl::Status expect_ok_ = ToStatus(expr); \
    REQUIRE_MESSAGE(expect_ok_.ok(), expect_ok_);   \
  } while (false)

// A datastore and its clock, started at a round time so that
// absl::Time arithmetic in the tests reads plainly.
struct Node {
  explicit Node(AddressMode mode, absl::Duration cooldown = absl::Seconds(30),
                Placement placement = Placement::kBestFit)
      : clock(absl::FromUnixSeconds(1'700'000'000)), ds(mode, clock, cooldown, placement) {}

  // Adds ENI `eni` (device number `device`) with `units` CIDRs of `mode`.
  void AddEni(int eni, int device, int units, AddressMode mode, bool excluded = false) {
    EXPECT_OK(ds.AddEni({.id = EniName(eni),
                         .device_number = device,
                         .primary = device == 0,
                         .excluded = excluded}));
    for (int i = 0; i < units; ++i) EXPECT_OK(ds.AddCidr(EniName(eni), Unit(mode, eni, i)));
  }
  void AddEni(int eni, int device, int units) { AddEni(eni, device, units, ds.mode()); }

  Assignment MustAssign(const PodKey& pod) {
    auto result = ds.Assign(pod);
    REQUIRE_MESSAGE(result.ok(), result.status());
    return *result;
  }
  Assignment MustRelease(const PodKey& pod) {
    auto result = ds.Release(pod);
    REQUIRE_MESSAGE(result.ok(), result.status());
    return *result;
  }

  ManualClock clock;
  Datastore ds;
};

// Runs `call`, which must fail with `code` and a message holding every one of
// `needles`, and checks that nothing observable changed.
template <typename F>
void ExpectRejected(const Datastore& ds, F&& call, absl::StatusCode code,
                    std::initializer_list<std::string> needles) {
  const Snapshot before = TakeSnapshot(ds);
  const absl::Status status = ToStatus(call());
  CHECK_MESSAGE(status.code() == code, "want code ", absl::StatusCodeToString(code), ", got ",
                status);
  for (const std::string& needle : needles) {
    CHECK_MESSAGE(absl::StrContains(status.message(), needle), "\"", needle, "\" not in ", status);
  }
  CHECK(TakeSnapshot(ds) == before);
  CHECK(ds.CheckInvariants() == absl::OkStatus());
}

// Available (free and not cooling) addresses of an ENI's current-mode CIDRs.
std::int64_t Available(const Datastore& ds, int eni) {
  const auto view = ds.FindEni(EniName(eni));
  REQUIRE(view.ok());
  return view->total_ips - view->assigned_ips - view->cooling_ips;
}

// ---------------------------------------------------------------------------
// Idempotency and the basic contract.

TEST_CASE("NodeDatastore gives a pod the same address again when it is assigned twice") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 2);
    const Assignment first = node.MustAssign(Pod(1));
    const Snapshot before = TakeSnapshot(node.ds);
    node.clock.AdvanceTime(absl::Seconds(5));
    CHECK(node.MustAssign(Pod(1)) == first);
    node.clock.AdvanceTime(absl::Seconds(-5));  // ignored; keeps the snapshot comparable
    CHECK(node.ds.pod_count() == 1);
    CHECK(node.ds.Stats() == before.stats);
    CHECK(node.ds.Lookup(Pod(1)) == std::optional<Assignment>(first));

    // Another interface of the same sandbox is another pod key.
    const Assignment eth1 = node.MustAssign(Pod(1, "eth1"));
    CHECK(eth1.address != first.address);
    CHECK(node.ds.Stats().assigned_ips == 2);
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());
  }
}

TEST_CASE("NodeDatastore returns an assigned pod's address even when the pool is exhausted") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 1);
    std::vector<Assignment> held;
    for (int i = 0; i < UnitSize(mode); ++i) held.push_back(node.MustAssign(Pod(i)));
    ExpectRejected(node.ds, [&] { return node.ds.Assign(Pod(1000)); },
                   absl::StatusCode::kResourceExhausted,
                   {"no available IP/Prefix addresses", Pod(1000).ToString()});
    for (int i = 0; i < UnitSize(mode); ++i) {
      CHECK(node.MustAssign(Pod(i)) == held[static_cast<std::size_t>(i)]);
    }
  }
}

TEST_CASE(
    "NodeDatastore hands the base address of a fresh /28 to the first pod, then .1, .2, ...") {
  Node node(AddressMode::kPrefix);
  EXPECT_OK(node.ds.AddEni({.id = "eni-0a1b", .device_number = 0, .primary = true}));
  EXPECT_OK(node.ds.AddCidr("eni-0a1b", Prefix("10.0.0.16/28")));
  for (int i = 0; i < 16; ++i) {
    CAPTURE(i);
    const Assignment a = node.MustAssign(Pod(i));
    CHECK(a.address == Ipv4Address(10, 0, 0, static_cast<std::uint8_t>(16 + i)));
    CHECK(a.eni_id == "eni-0a1b");
    CHECK(a.device_number == 0);
    CHECK(a.route_table_id == 254);
  }
  CHECK(node.ds.Stats().assigned_ips == 16);
  CHECK(node.ds.Stats().free_prefixes == 0);
}

TEST_CASE(
    "NodeDatastore hands out a /28 at the start of the address space, base address included") {
  Node node(AddressMode::kPrefix);
  EXPECT_OK(node.ds.AddEni({.id = "eni-1"}));
  EXPECT_OK(node.ds.AddCidr("eni-1", Prefix("10.0.0.0/28")));
  CHECK(node.MustAssign(Pod(1)).address == Address("10.0.0.0"));
  CHECK(node.MustAssign(Pod(2)).address == Address("10.0.0.1"));
}

TEST_CASE("NodeDatastore hands out secondary IPs and reports where each lives") {
  Node node(AddressMode::kSecondaryIp);
  EXPECT_OK(node.ds.AddEni({.id = "eni-1", .device_number = 0, .primary = true}));
  EXPECT_OK(node.ds.AddCidr("eni-1", Prefix("10.0.0.5/32")));
  const Assignment a = node.MustAssign(Pod(1));
  CHECK(a.address == Address("10.0.0.5"));
  CHECK(a.eni_id == "eni-1");
  CHECK(a.ToString() == "10.0.0.5 on eni-1 (device 0, route table 254)");
  CHECK(node.ds.Stats() == PoolStats{.total_ips = 1,
                                     .assigned_ips = 1,
                                     .cooling_ips = 0,
                                     .available_ips = 0,
                                     .total_prefixes = 0,
                                     .free_prefixes = 0,
                                     .enis = 1});
}

// ---------------------------------------------------------------------------
// Duplicates.

TEST_CASE("NodeDatastore rejects a duplicate ENI with ALREADY_EXISTS and changes nothing") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 1);
    (void)node.MustAssign(Pod(1));
    ExpectRejected(node.ds, [&] { return node.ds.AddEni({.id = EniName(1), .device_number = 5}); },
                   absl::StatusCode::kAlreadyExists, {EniName(1)});
    ExpectRejected(
        node.ds,
        [&] { return node.ds.AddEni({.id = EniName(1), .device_number = 0, .excluded = true}); },
        absl::StatusCode::kAlreadyExists, {EniName(1)});
  }
}

TEST_CASE("NodeDatastore rejects a CIDR that shares an address with one it holds, on any ENI") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    EXPECT_OK(node.ds.AddEni({.id = "eni-1"}));
    EXPECT_OK(node.ds.AddEni({.id = "eni-2", .device_number = 1}));
    EXPECT_OK(node.ds.AddCidr("eni-1", Prefix("10.0.0.16/28")));
    EXPECT_OK(node.ds.AddCidr("eni-1", Prefix("10.0.1.7/32")));
    (void)node.MustAssign(Pod(1));

    struct Case {
      const char* eni;
      const char* cidr;
      const char* clash;
    };
    for (const Case& c : {Case{"eni-1", "10.0.0.16/28", "10.0.0.16/28"},  // same /28, same ENI
                          Case{"eni-2", "10.0.0.16/28", "10.0.0.16/28"},  // same /28, other ENI
                          Case{"eni-1", "10.0.1.7/32", "10.0.1.7/32"},    // same /32
                          Case{"eni-2", "10.0.1.7/32", "10.0.1.7/32"},
                          Case{"eni-2", "10.0.0.16/32", "10.0.0.16/28"},  // /32 inside a /28 (base)
                          Case{"eni-1", "10.0.0.31/32", "10.0.0.16/28"},  // /32 inside a /28 (last)
                          Case{"eni-2", "10.0.1.0/28", "10.0.1.7/32"}}) {  // /28 around a /32
      CAPTURE(c.eni);
      CAPTURE(c.cidr);
      ExpectRejected(node.ds, [&] { return node.ds.AddCidr(c.eni, Prefix(c.cidr)); },
                     absl::StatusCode::kAlreadyExists, {c.cidr, c.clash, "eni-1"});
    }
    // Neighbours that do not overlap are fine.
    EXPECT_OK(node.ds.AddCidr("eni-2", Prefix("10.0.0.32/28")));
    EXPECT_OK(node.ds.AddCidr("eni-2", Prefix("10.0.0.15/32")));
    EXPECT_OK(node.ds.AddCidr("eni-2", Prefix("10.0.1.16/28")));
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());
  }
}

// ---------------------------------------------------------------------------
// Removal and force.

TEST_CASE(
    "NodeDatastore refuses to remove a CIDR with pods unless forced, and forced drops the pods") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 2);
    node.AddEni(2, 1, 1);
    // Fill the pool so that the pods land on every CIDR.
    const int total = 3 * UnitSize(mode);
    std::vector<Assignment> held;
    for (int i = 0; i < total; ++i) held.push_back(node.MustAssign(Pod(i)));
    const Ipv4Prefix victim = Unit(mode, 1, 1);
    const std::string victim_text = victim.ToString();
    ExpectRejected(node.ds, [&] { return node.ds.RemoveCidr(EniName(1), victim, false); },
                   absl::StatusCode::kFailedPrecondition, {victim_text, EniName(1), "force"});

    EXPECT_OK(node.ds.RemoveCidr(EniName(1), victim, /*force=*/true));
    int gone = 0;
    for (int i = 0; i < total; ++i) {
      const bool in_victim = victim.Contains(held[static_cast<std::size_t>(i)].address);
      CAPTURE(i);
      CHECK(node.ds.Lookup(Pod(i)).has_value() == !in_victim);
      if (in_victim) {
        ++gone;
        CHECK(node.ds.Release(Pod(i)).status().code() == absl::StatusCode::kNotFound);
      }
    }
    CHECK(gone == UnitSize(mode));
    const PoolStats stats = node.ds.Stats();
    CHECK(stats.total_ips == 2 * UnitSize(mode));
    CHECK(stats.assigned_ips == 2 * UnitSize(mode));
    CHECK(stats.cooling_ips == 0);  // forced-out addresses do not cool: the CIDR is gone
    CHECK(node.ds.pod_count() == static_cast<std::size_t>(2 * UnitSize(mode)));
    auto cidrs = node.ds.Cidrs(EniName(1));
    REQUIRE(cidrs.ok());
    CHECK(cidrs->size() == 1u);
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());
  }
}

TEST_CASE("NodeDatastore's prefetch hints change nothing a reader can see") {
  // Two twins take the same calls; one also gets every hint, for pods it
  // holds, pods it does not, and with cooldowns over but not yet applied
  // (PrefetchPodCidr() reads the cooldown queue's oldest entry). Sanitizers
  // check the reads.
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node hinted(mode), plain(mode);
    const auto hint_all = [&] {
      const Datastore& ds = hinted.ds;
      ds.PrefetchObject();
      for (int i = 0; i < 12; ++i) {
        ds.PrefetchPod(Pod(i));
        ds.PrefetchPodCidr(Pod(i));
      }
    };
    hint_all();  // an empty datastore
    for (Node* node : {&hinted, &plain}) {
      node->AddEni(1, 0, 6);
      node->AddEni(2, 1, 6);
      for (int i = 0; i < 10; ++i) (void)node->MustAssign(Pod(i));
    }
    for (int i = 0; i < 7; ++i) {
      for (Node* node : {&hinted, &plain}) {
        (void)node->MustRelease(Pod(i));
        node->clock.AdvanceTime(absl::Seconds(6));
      }
      hint_all();
    }
    // Three of the seven cooldowns are over (released 43, 37 and 31 s ago);
    // neither twin has applied them.
    hinted.clock.AdvanceTime(absl::Seconds(1));
    plain.clock.AdvanceTime(absl::Seconds(1));
    hint_all();
    CHECK(hinted.ds.generation() == plain.ds.generation());
    const Snapshot after_hints = TakeSnapshot(hinted.ds);
    CHECK(after_hints == TakeSnapshot(plain.ds));
    CHECK(after_hints.stats.cooling_ips == 4);
    // Reading the stats applied the three ended cooldowns (generation bumps)
    // in both twins alike.
    CHECK(hinted.ds.generation() == plain.ds.generation());
    CHECK(hinted.ds.CheckInvariants() == absl::OkStatus());
  }
}

TEST_CASE("NodeDatastore removes a CIDR whose addresses are only cooling without force") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 1);
    (void)node.MustAssign(Pod(1));
    (void)node.MustRelease(Pod(1));
    CHECK(node.ds.Stats().cooling_ips == 1);
    EXPECT_OK(node.ds.RemoveCidr(EniName(1), Unit(mode, 1, 0), false));
    CHECK(node.ds.Stats() == PoolStats{.enis = 1});
    int cooling = 0;
    node.ds.ForEachCooling([&](Ipv4Address, absl::Time) { ++cooling; });
    CHECK(cooling == 0);
    // Added back, the CIDR is fresh: its address does not cool any more.
    EXPECT_OK(node.ds.AddCidr(EniName(1), Unit(mode, 1, 0)));
    CHECK(node.ds.Stats().cooling_ips == 0);
    CHECK(node.MustAssign(Pod(2)).address == Unit(mode, 1, 0).network());
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());
  }
}

TEST_CASE(
    "NodeDatastore refuses to remove an ENI with pods unless forced, and forced drops its pods") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 1);
    node.AddEni(2, 1, 1);
    const int total = 2 * UnitSize(mode);
    std::vector<Assignment> held;
    for (int i = 0; i < total; ++i) held.push_back(node.MustAssign(Pod(i)));
    ExpectRejected(node.ds, [&] { return node.ds.RemoveEni(EniName(2), false); },
                   absl::StatusCode::kFailedPrecondition, {EniName(2), "force"});

    EXPECT_OK(node.ds.RemoveEni(EniName(2), /*force=*/true));
    for (int i = 0; i < total; ++i) {
      CAPTURE(i);
      CHECK(node.ds.Lookup(Pod(i)).has_value() ==
            (held[static_cast<std::size_t>(i)].eni_id == EniName(1)));
    }
    CHECK(node.ds.FindEni(EniName(2)).status().code() == absl::StatusCode::kNotFound);
    const PoolStats stats = node.ds.Stats();
    CHECK(stats.enis == 1);
    CHECK(stats.total_ips == UnitSize(mode));
    CHECK(stats.assigned_ips == UnitSize(mode));
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());

    // The id and its CIDRs can be added again, fresh.
    node.AddEni(2, 1, 1);
    CHECK(node.MustAssign(Pod(5000)).address == Unit(mode, 2, 0).network());
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());
  }
}

TEST_CASE("NodeDatastore removes an ENI with no pods, cooling addresses included, without force") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 1);
    node.AddEni(2, 1, 1);
    const Assignment a = node.MustAssign(Pod(1));
    (void)node.MustRelease(Pod(1));
    EXPECT_OK(node.ds.RemoveEni(a.eni_id.view(), false));
    CHECK(node.ds.Stats().cooling_ips == 0);
    CHECK(node.ds.Stats().enis == 1);
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());
  }
}

// ---------------------------------------------------------------------------
// Cooldown.

TEST_CASE(
    "NodeDatastore cools a released address for 30 s, inclusive, and never hands it out "
    "meanwhile") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 1);
    const int size = UnitSize(mode);
    for (int i = 0; i < size; ++i) (void)node.MustAssign(Pod(i));
    const absl::Time released = node.clock.Now();
    const Assignment freed = node.MustRelease(Pod(0));
    CHECK(node.ds.Lookup(Pod(0)) == std::nullopt);

    for (absl::Duration step : {absl::ZeroDuration(), absl::Seconds(1), absl::Seconds(29),
                                absl::Seconds(30) - absl::Nanoseconds(1), absl::Seconds(30)}) {
      node.clock.SetTime(released + step);
      CAPTURE(absl::FormatDuration(step));
      const PoolStats stats = node.ds.Stats();
      CHECK(stats.cooling_ips == 1);
      CHECK(stats.assigned_ips == size - 1);
      ExpectRejected(node.ds, [&] { return node.ds.Assign(Pod(100)); },
                     absl::StatusCode::kResourceExhausted, {"cooling 1"});
    }
    node.clock.SetTime(released + absl::Seconds(30) + absl::Nanoseconds(1));
    CHECK(node.ds.Stats().cooling_ips == 0);
    CHECK(node.MustAssign(Pod(100)).address == freed.address);
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());
  }
}

TEST_CASE("NodeDatastore prefers a never-used address over a cooling one") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 2);
    const Assignment a = node.MustAssign(Pod(1));
    (void)node.MustRelease(Pod(1));
    const Assignment b = node.MustAssign(Pod(2));
    CHECK(b.address != a.address);
  }
}

TEST_CASE("NodeDatastore honours a custom cooldown, and a negative one behaves as zero") {
  struct Case {
    absl::Duration cooldown;
    absl::Duration effective;
  };
  for (const Case& c : {Case{absl::Seconds(5), absl::Seconds(5)},
                        Case{absl::Milliseconds(1), absl::Milliseconds(1)},
                        Case{absl::ZeroDuration(), absl::ZeroDuration()},
                        Case{absl::Seconds(-10), absl::ZeroDuration()}}) {
    for (AddressMode mode : kModes) {
      CAPTURE(AddressModeName(mode));
      CAPTURE(absl::FormatDuration(c.cooldown));
      Node node(mode, c.cooldown);
      CHECK(node.ds.ip_cooldown() == c.effective);
      node.AddEni(1, 0, 1);
      for (int i = 0; i < UnitSize(mode); ++i) (void)node.MustAssign(Pod(i));
      const absl::Time released = node.clock.Now();
      const Assignment freed = node.MustRelease(Pod(0));
      node.clock.SetTime(released + c.effective);  // still cooling at exactly release + cooldown
      CHECK(node.ds.Stats().cooling_ips == 1);
      CHECK(node.ds.Assign(Pod(100)).status().code() == absl::StatusCode::kResourceExhausted);
      node.clock.AdvanceTime(absl::Nanoseconds(1));  // and free 1 ns later
      CHECK(node.ds.Stats().cooling_ips == 0);
      CHECK(node.MustAssign(Pod(100)).address == freed.address);
    }
  }
}

TEST_CASE("NodeDatastore counts cooling addresses in Stats, with available = total - assigned") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 2);
    node.AddEni(2, 1, 1);
    const std::int64_t total = 3 * UnitSize(mode);
    for (int i = 0; i < 3; ++i) (void)node.MustAssign(Pod(i));
    (void)node.MustRelease(Pod(0));
    node.clock.AdvanceTime(absl::Seconds(10));
    (void)node.MustRelease(Pod(1));
    PoolStats stats = node.ds.Stats();
    CHECK(stats.total_ips == total);
    CHECK(stats.assigned_ips == 1);
    CHECK(stats.cooling_ips == 2);
    CHECK(stats.available_ips == total - 1);  // cooling counts as available
    CHECK(stats.enis == 2);

    node.clock.AdvanceTime(absl::Seconds(21));  // the first release is past its cooldown
    stats = node.ds.Stats();
    CHECK(stats.cooling_ips == 1);
    CHECK(stats.available_ips == total - 1);
    node.clock.AdvanceTime(absl::Seconds(10));
    CHECK(node.ds.Stats().cooling_ips == 0);

    if (mode == AddressMode::kPrefix) {
      CHECK(stats.total_prefixes == 3);
      CHECK(stats.free_prefixes == 2);  // a prefix with only cooling addresses counts as free
    } else {
      CHECK(stats.total_prefixes == 0);
      CHECK(stats.free_prefixes == 0);
    }
  }
}

TEST_CASE("NodeDatastore::ReleaseAt starts the cooldown at the given time") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 1);
    for (int i = 0; i < UnitSize(mode); ++i) (void)node.MustAssign(Pod(i));
    const absl::Time deleted = node.clock.Now();
    node.clock.AdvanceTime(absl::Seconds(20));  // replayed 20 s after the pod was deleted
    const auto released = node.ds.ReleaseAt(Pod(0), deleted);
    REQUIRE(released.ok());
    std::vector<absl::Time> times;
    node.ds.ForEachCooling([&](Ipv4Address address, absl::Time t) {
      CHECK(address == released->address);
      times.push_back(t);
    });
    CHECK(times == std::vector<absl::Time>{deleted});
    node.clock.SetTime(deleted + absl::Seconds(30));
    CHECK(node.ds.Assign(Pod(100)).status().code() == absl::StatusCode::kResourceExhausted);
    node.clock.AdvanceTime(absl::Nanoseconds(1));
    CHECK(node.MustAssign(Pod(100)).address == released->address);

    // A release replayed from long ago does not cool at all.
    for (int i = 1; i < UnitSize(mode); ++i) (void)node.MustRelease(Pod(i));
    const auto old = node.ds.ReleaseAt(Pod(100), deleted - absl::Hours(1));
    REQUIRE(old.ok());
    CHECK(node.ds.Stats().cooling_ips == UnitSize(mode) - 1);
    CHECK(node.MustAssign(Pod(200)).address == old->address);
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());
  }
}

TEST_CASE("NodeDatastore::ForEachCooling lists cooling addresses oldest release first") {
  Node node(AddressMode::kPrefix);
  node.AddEni(1, 0, 1);
  for (int i = 0; i < 4; ++i) (void)node.MustAssign(Pod(i));
  const absl::Time t0 = node.clock.Now();
  const Assignment a = node.MustRelease(Pod(0));
  node.clock.AdvanceTime(absl::Seconds(1));
  const Assignment b = node.MustRelease(Pod(1));
  const auto c = node.ds.ReleaseAt(Pod(2), t0 - absl::Seconds(5));  // replayed, older
  REQUIRE(c.ok());
  std::vector<std::pair<Ipv4Address, absl::Time>> got;
  node.ds.ForEachCooling([&](Ipv4Address address, absl::Time t) { got.emplace_back(address, t); });
  CHECK(got == std::vector<std::pair<Ipv4Address, absl::Time>>{{c->address, t0 - absl::Seconds(5)},
                                                               {a.address, t0},
                                                               {b.address, t0 + absl::Seconds(1)}});
  node.clock.SetTime(t0 + absl::Seconds(26));  // c's cooldown is over
  got.clear();
  node.ds.ForEachCooling([&](Ipv4Address address, absl::Time t) { got.emplace_back(address, t); });
  CHECK(got.size() == 2u);
  CHECK(node.ds.CheckInvariants() == absl::OkStatus());
}

TEST_CASE("NodeDatastore keeps a new cooldown when an old one for a removed address expires") {
  // The cooldown queue may hold entries for addresses that were removed; one
  // such entry must not end the cooldown of whatever now sits in its place.
  Node node(AddressMode::kSecondaryIp);
  EXPECT_OK(node.ds.AddEni({.id = "eni-1"}));
  EXPECT_OK(node.ds.AddCidr("eni-1", Prefix("10.0.0.1/32")));
  const absl::Time t0 = node.clock.Now();
  (void)node.MustAssign(Pod(1));
  (void)node.MustRelease(Pod(1));  // 10.0.0.1 cools until t0 + 30 s
  EXPECT_OK(node.ds.RemoveCidr("eni-1", Prefix("10.0.0.1/32"), false));
  EXPECT_OK(node.ds.AddCidr("eni-1", Prefix("10.0.0.2/32")));
  node.clock.AdvanceTime(absl::Seconds(10));
  CHECK(node.MustAssign(Pod(2)).address == Address("10.0.0.2"));
  (void)node.MustRelease(Pod(2));  // 10.0.0.2 cools until t0 + 40 s
  node.clock.SetTime(t0 + absl::Seconds(35));
  CHECK(node.ds.Stats().cooling_ips == 1);
  CHECK(node.ds.Assign(Pod(3)).status().code() == absl::StatusCode::kResourceExhausted);
  node.clock.SetTime(t0 + absl::Seconds(41));
  CHECK(node.MustAssign(Pod(3)).address == Address("10.0.0.2"));
  CHECK(node.ds.CheckInvariants() == absl::OkStatus());
}

// ---------------------------------------------------------------------------
// Mixed modes and excluded ENIs.

TEST_CASE(
    "NodeDatastore keeps CIDRs of the other mode on the ENI but neither hands them out nor counts "
    "them") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    EXPECT_OK(node.ds.AddEni({.id = EniName(1), .device_number = 0}));
    for (int i = 0; i < 3; ++i) EXPECT_OK(node.ds.AddCidr(EniName(1), Unit(Other(mode), 1, i)));
    const int other_size = UnitSize(Other(mode));
    const PoolStats empty = node.ds.Stats();
    CHECK(empty.total_ips == 0);
    CHECK(empty.enis == 1);
    if (mode == AddressMode::kSecondaryIp) {
      // Leftover /28s from an earlier prefix mode still show as prefixes.
      CHECK(empty.total_prefixes == 3);
      CHECK(empty.free_prefixes == 3);
    } else {
      CHECK(empty.total_prefixes == 0);
    }
    ExpectRejected(node.ds, [&] { return node.ds.Assign(Pod(1)); },
                   absl::StatusCode::kResourceExhausted, {std::string(AddressModeName(mode))});

    auto cidrs = node.ds.Cidrs(EniName(1));
    REQUIRE(cidrs.ok());
    REQUIRE(cidrs->size() == 3u);
    for (const CidrView& view : *cidrs) {
      CHECK_FALSE(view.in_mode);
      CHECK(view.total == other_size);
    }
    auto view = node.ds.FindEni(EniName(1));
    REQUIRE(view.ok());
    CHECK(view->cidrs == 3);
    CHECK(view->total_ips == 0);
    CHECK(view->free_cidrs == 0);
    CHECK(view->free_cidrs_all == 3);
    CHECK((mode == AddressMode::kPrefix ? view->secondary_ips : view->prefixes) == 3);

    // A pod restored onto one (a checkpoint from before the mode switch) can be released.
    const Ipv4Address restored = Unit(Other(mode), 1, 1).network();
    const auto a = node.ds.AssignAt(Pod(7), restored, node.clock.Now());
    REQUIRE_MESSAGE(a.ok(), a.status());
    CHECK(a->address == restored);
    CHECK(node.ds.Stats().assigned_ips == 0);
    CHECK(node.ds.Stats().total_ips == 0);
    CHECK(node.ds.FindEni(EniName(1))->pods == 1);
    CHECK(node.MustAssign(Pod(7)) == *a);  // idempotent on the restored address too
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());
    CHECK(node.MustRelease(Pod(7)) == *a);
    CHECK(node.ds.Stats().cooling_ips == 0);
    CHECK(node.ds.FindEni(EniName(1))->cooling_all == 1);  // it cools, uncounted
    CHECK(node.ds.Stats() == empty);
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());

    // Now add a CIDR of the mode: only that one is used and counted.
    EXPECT_OK(node.ds.AddCidr(EniName(1), Unit(mode, 1, 0)));
    CHECK(node.ds.Stats().total_ips == UnitSize(mode));
    for (int i = 0; i < UnitSize(mode); ++i) {
      CHECK(Unit(mode, 1, 0).Contains(node.MustAssign(Pod(100 + i)).address));
    }
    CHECK(node.ds.Assign(Pod(99)).status().code() == absl::StatusCode::kResourceExhausted);
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());
  }
}

TEST_CASE("NodeDatastore skips an excluded ENI for pods and leaves it out of Stats") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 1);
    node.AddEni(2, 1, 2, mode, /*excluded=*/true);
    PoolStats stats = node.ds.Stats();
    CHECK(stats.enis == 1);
    CHECK(stats.excluded_enis == 1);
    CHECK(stats.total_ips == UnitSize(mode));
    if (mode == AddressMode::kPrefix) {
      CHECK(stats.total_prefixes == 1);
      CHECK(stats.free_prefixes == 1);
      CHECK(stats.excluded_prefixes == 2);
      CHECK(stats.excluded_free_prefixes == 2);
    } else {
      CHECK(stats.excluded_prefixes == 0);
    }
    for (int i = 0; i < UnitSize(mode); ++i) CHECK(node.MustAssign(Pod(i)).eni_id == EniName(1));
    ExpectRejected(node.ds, [&] { return node.ds.Assign(Pod(1000)); },
                   absl::StatusCode::kResourceExhausted, {Pod(1000).ToString()});

    // A restored pod on the excluded ENI is kept and can be released, uncounted.
    const Ipv4Address restored = Unit(mode, 2, 1).network();
    const auto a = node.ds.AssignAt(Pod(500), restored, node.clock.Now());
    REQUIRE_MESSAGE(a.ok(), a.status());
    CHECK(a->eni_id == EniName(2));
    CHECK(a->route_table_id == 2);
    stats = node.ds.Stats();
    CHECK(stats.assigned_ips == UnitSize(mode));
    if (mode == AddressMode::kPrefix) CHECK(stats.excluded_free_prefixes == 1);
    CHECK(node.ds.FindEni(EniName(2))->excluded);
    CHECK(node.ds.FindEni(EniName(2))->pods == 1);
    CHECK(node.MustRelease(Pod(500)) == *a);
    CHECK(node.ds.Stats().cooling_ips == 0);
    CHECK(node.ds.FindEni(EniName(2))->cooling_ips == 1);
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());
  }
}

// ---------------------------------------------------------------------------
// Route tables and the legacy key.

TEST_CASE("NodeDatastore reports route table 254 for device 0 and d + 1 for device d") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode, absl::Seconds(30), Placement::kFirstFit);
    const int devices[] = {0, 1, 2, 7, 14};
    for (int d : devices) node.AddEni(d + 1, d, 1);
    for (const EniView& view : node.ds.EniViews()) {
      CAPTURE(view.device_number);
      CHECK(view.route_table_id == (view.device_number == 0 ? 254 : view.device_number + 1));
    }
    int pod = 0;
    for (int d : devices) {
      for (int i = 0; i < UnitSize(mode); ++i) {
        const Assignment a = node.MustAssign(Pod(pod++));
        CAPTURE(a.ToString());
        CHECK(a.device_number == d);
        CHECK(a.eni_id == EniName(d + 1));
        CHECK(a.route_table_id == (d == 0 ? 254 : d + 1));
      }
    }
  }
}

TEST_CASE("NodeDatastore::Release falls back to the legacy _migrated-from-cri/unknown key") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 2);
    const std::string sandbox = Pod(42).container_id;
    const PodKey legacy{"_migrated-from-cri", sandbox, "unknown"};
    const Ipv4Address address = Unit(mode, 1, 1).network();
    const auto restored = node.ds.AssignAt(legacy, address, node.clock.Now());
    REQUIRE_MESSAGE(restored.ok(), restored.status());

    // A DEL with the real key finds the legacy record.
    const auto released = node.ds.Release(PodKey{"aws-cni", sandbox, "eth0"});
    REQUIRE_MESSAGE(released.ok(), released.status());
    CHECK(released->address == address);
    CHECK(node.ds.Lookup(legacy) == std::nullopt);
    CHECK(node.ds.Stats().cooling_ips == 1);

    // The exact key wins over the legacy one when both exist. (The legacy
    // record goes back on the cooling address: AssignAt may take one.)
    const Assignment exact = node.MustAssign(PodKey{"aws-cni", sandbox, "eth0"});
    REQUIRE(exact.address != address);
    REQUIRE(node.ds.AssignAt(legacy, address, node.clock.Now()).ok());
    CHECK(node.MustRelease(PodKey{"aws-cni", sandbox, "eth0"}) == exact);
    CHECK(node.ds.Lookup(legacy).has_value());
    CHECK(node.MustRelease(PodKey{"aws-cni", sandbox, "eth0"}).address == address);
    CHECK(node.ds.pod_count() == 0);

    // Only the container id carries over: another sandbox's DEL does not match.
    REQUIRE(node.ds.AssignAt(legacy, address, node.clock.Now() + absl::Seconds(31)).ok());
    ExpectRejected(node.ds, [&] { return node.ds.Release(Pod(43)); }, absl::StatusCode::kNotFound,
                   {Pod(43).ToString()});
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());
  }
}

// ---------------------------------------------------------------------------
// Placement.

// Three groups of 16 addresses, one per ENI (a /28, or 16 /32s), with 4, 10
// and 0 of them taken by restored pods, oldest group first.
void BuildThreeGroups(Node& node) {
  const AddressMode mode = node.ds.mode();
  const int per_eni = 16 / UnitSize(mode);
  for (int e = 0; e < 3; ++e) node.AddEni(e + 1, e, per_eni);
  const int taken[] = {4, 10, 0};
  int pod = 10000;
  for (int e = 0; e < 3; ++e) {
    for (int i = 0; i < taken[e]; ++i) {
      const Ipv4Address address =
          mode == AddressMode::kPrefix
              ? Unit(mode, e + 1, 0).AddressAt(static_cast<std::uint64_t>(i))
              : Unit(mode, e + 1, i).network();
      REQUIRE(node.ds.AssignAt(Pod(pod++), address, node.clock.Now()).ok());
    }
  }
}

int GroupOf(const Assignment& a) {
  for (int e = 1; e <= 3; ++e) {
    if (a.eni_id == EniName(e)) return e;
  }
  return 0;
}

TEST_CASE(
    "NodeDatastore places pods by strategy: best fit the fullest group, spread the emptiest, first "
    "fit the oldest") {
  for (AddressMode mode : kModes) {
    for (Placement placement : kPlacements) {
      CAPTURE(AddressModeName(mode));
      CAPTURE(PlacementName(placement));
      Node node(mode, absl::Seconds(30), placement);
      CHECK(node.ds.placement() == placement);
      BuildThreeGroups(node);
      // Fill the node completely, checking every choice against the rule.
      for (int i = 0; i < 34; ++i) {
        CAPTURE(i);
        std::int64_t available[4] = {0, Available(node.ds, 1), Available(node.ds, 2),
                                     Available(node.ds, 3)};
        const Assignment a = node.MustAssign(Pod(i));
        const int group = GroupOf(a);
        REQUIRE(group != 0);
        std::int64_t best = 100, most = 0;
        int oldest = 0;
        for (int e = 3; e >= 1; --e) {
          if (available[e] == 0) continue;
          best = std::min(best, available[e]);
          most = std::max(most, available[e]);
          oldest = e;
        }
        switch (placement) {
          case Placement::kBestFit:
            CHECK(available[group] == best);
            break;
          case Placement::kSpread:
            CHECK(available[group] == most);
            break;
          case Placement::kFirstFit:
            CHECK(group == oldest);
            break;
        }
        // Inside the group, the lowest free address.
        auto cidrs = node.ds.Cidrs(a.eni_id.view());
        REQUIRE(cidrs.ok());
        for (const CidrView& view : *cidrs) {
          if (mode == AddressMode::kSecondaryIp && view.cidr.network() < a.address) {
            CHECK(view.assigned == 1);
          }
        }
        if (mode == AddressMode::kPrefix) {
          CHECK(a.address ==
                Unit(mode, group, 0).AddressAt(static_cast<std::uint64_t>(16 - available[group])));
        }
      }
      CHECK(node.ds.Assign(Pod(99)).status().code() == absl::StatusCode::kResourceExhausted);
      CHECK(node.ds.CheckInvariants() == absl::OkStatus());
    }
  }
}

TEST_CASE("NodeDatastore best fit fills the fullest group first, so a lightly used prefix drains") {
  for (Placement placement : kPlacements) {
    CAPTURE(PlacementName(placement));
    Node node(AddressMode::kPrefix, absl::Seconds(30), placement);
    EXPECT_OK(node.ds.AddEni({.id = "eni-1"}));
    EXPECT_OK(node.ds.AddCidr("eni-1", Prefix("10.0.0.0/28")));
    EXPECT_OK(node.ds.AddCidr("eni-1", Prefix("10.0.0.16/28")));
    // 12 pods on the first prefix, 4 on the second.
    for (int i = 0; i < 16; ++i) {
      const PodKey pod = i < 12 ? Pod(i) : Pod(100 + i - 12);
      const Ipv4Address address(10, 0, 0, static_cast<std::uint8_t>(i < 12 ? i : 16 + i - 12));
      REQUIRE(node.ds.AssignAt(pod, address, node.clock.Now()).ok());
    }
    // Four new pods arrive, then the four on the second prefix leave.
    std::vector<Assignment> placed;
    for (int i = 0; i < 4; ++i) placed.push_back(node.MustAssign(Pod(200 + i)));
    for (int i = 0; i < 4; ++i) (void)node.MustRelease(Pod(100 + i));
    const PoolStats stats = node.ds.Stats();
    const bool first_prefix = std::all_of(placed.begin(), placed.end(), [](const Assignment& a) {
      return Prefix("10.0.0.0/28").Contains(a.address);
    });
    if (placement == Placement::kSpread) {
      CHECK_FALSE(first_prefix);
      CHECK(stats.free_prefixes == 0);
    } else {
      CHECK(first_prefix);              // best fit: the fuller one; first fit: the older one
      CHECK(stats.free_prefixes == 1);  // the second prefix has drained and could be returned
    }
  }
}

TEST_CASE(
    "NodeDatastore best fit in secondary-IP mode packs pods onto the ENI with the fewest free "
    "addresses") {
  Node node(AddressMode::kSecondaryIp);
  node.AddEni(1, 0, 5);
  node.AddEni(2, 1, 3);
  for (int i = 0; i < 3; ++i) CHECK(node.MustAssign(Pod(i)).eni_id == EniName(2));
  for (int i = 3; i < 8; ++i) CHECK(node.MustAssign(Pod(i)).eni_id == EniName(1));
  for (int i = 0; i < 3; ++i) (void)node.MustRelease(Pod(i));
  node.clock.AdvanceTime(absl::Seconds(31));
  CHECK(node.ds.FindEni(EniName(2))->pods == 0);  // ENI 2 is empty and could be detached
  CHECK(node.ds.FindEni(EniName(2))->free_cidrs == 3);
}

// ---------------------------------------------------------------------------
// Views and restore.

TEST_CASE("NodeDatastore::EniViews lists every ENI by device number then id, with its counts") {
  Node node(AddressMode::kPrefix);
  const absl::Time t0 = node.clock.Now();
  EXPECT_OK(node.ds.AddEni({.id = "eni-b", .device_number = 2, .subnet_id = "subnet-1"}));
  node.clock.AdvanceTime(absl::Seconds(1));
  EXPECT_OK(node.ds.AddEni({.id = "eni-z", .device_number = 0, .primary = true}));
  EXPECT_OK(node.ds.AddEni({.id = "eni-a", .device_number = 2, .trunk = true, .efa = true}));
  EXPECT_OK(node.ds.AddCidr("eni-z", Prefix("10.0.0.0/28")));
  for (int i = 0; i < 3; ++i) (void)node.MustAssign(Pod(i));
  (void)node.MustRelease(Pod(2));
  EXPECT_OK(node.ds.AddCidr("eni-z", Prefix("10.0.0.16/28")));
  EXPECT_OK(node.ds.AddCidr("eni-z", Prefix("10.0.9.9/32")));
  REQUIRE(node.ds.AssignAt(Pod(50), Address("10.0.9.9"), t0).ok());

  const std::vector<EniView> views = node.ds.EniViews();
  REQUIRE(views.size() == 3u);
  CHECK(views[0].id == "eni-z");
  CHECK(views[1].id == "eni-a");
  CHECK(views[2].id == "eni-b");
  const EniView& z = views[0];
  CHECK(z.device_number == 0);
  CHECK(z.route_table_id == 254);
  CHECK(z.primary);
  CHECK_FALSE(z.trunk);
  CHECK(z.created == t0 + absl::Seconds(1));
  CHECK(z.cidrs == 3);
  CHECK(z.prefixes == 2);
  CHECK(z.secondary_ips == 1);
  CHECK(z.total_ips == 32);
  CHECK(z.assigned_ips == 2);
  CHECK(z.cooling_ips == 1);
  CHECK(z.free_cidrs == 1);      // the second /28
  CHECK(z.free_cidrs_all == 1);  // the /32 is taken by a restored pod
  CHECK(z.pods == 3);
  CHECK(z.cooling_all == 1);
  CHECK(views[1].trunk);
  CHECK(views[1].efa);
  CHECK(views[1].route_table_id == 3);
  CHECK(views[2].created == t0);
  CHECK(node.ds.FindEni("eni-z").value() == z);

  auto cidrs = node.ds.Cidrs("eni-z");
  REQUIRE(cidrs.ok());
  CHECK(*cidrs == std::vector<CidrView>{{Prefix("10.0.0.0/28"), true, 16, 2, 1},
                                        {Prefix("10.0.0.16/28"), true, 16, 0, 0},
                                        {Prefix("10.0.9.9/32"), false, 1, 1, 0}});
  CHECK(node.ds.Cidrs("eni-a")->empty());
}

TEST_CASE(
    "NodeDatastore::ForEachAssignment and Lookup report every pod with its address and time") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 4);
    node.AddEni(2, 3, 4);
    std::map<PodKey, Assignment> want;
    std::map<PodKey, absl::Time> when;
    for (int i = 0; i < 6; ++i) {
      want[Pod(i)] = node.MustAssign(Pod(i));
      when[Pod(i)] = node.clock.Now();
      node.clock.AdvanceTime(absl::Seconds(1));
    }
    (void)node.MustRelease(Pod(3));
    want.erase(Pod(3));
    std::map<PodKey, Assignment> got;
    node.ds.ForEachAssignment([&](const PodKey& key, const Assignment& a, absl::Time t) {
      CHECK(t == when[key]);
      got[key] = a;
    });
    CHECK(got == want);
    for (const auto& [key, a] : want) CHECK(node.ds.Lookup(key) == std::optional<Assignment>(a));
    CHECK(node.ds.Lookup(Pod(3)) == std::nullopt);
  }
}

TEST_CASE(
    "NodeDatastore::AssignAt restores a pod on a given address, and a cooling address stops "
    "cooling") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 2);
    const Assignment a = node.MustAssign(Pod(1));
    (void)node.MustRelease(Pod(1));
    CHECK(node.ds.Stats().cooling_ips == 1);

    const absl::Time then = node.clock.Now() - absl::Hours(2);
    const auto restored = node.ds.AssignAt(Pod(2), a.address, then);
    REQUIRE_MESSAGE(restored.ok(), restored.status());
    CHECK(restored->address == a.address);
    CHECK(restored->eni_id == EniName(1));
    CHECK(node.ds.Stats().cooling_ips == 0);
    CHECK(node.ds.Stats().assigned_ips == 1);
    int cooling = 0;
    node.ds.ForEachCooling([&](Ipv4Address, absl::Time) { ++cooling; });
    CHECK(cooling == 0);
    node.ds.ForEachAssignment([&](const PodKey& key, const Assignment&, absl::Time t) {
      CHECK(key == Pod(2));
      CHECK(t == then);
    });

    // The same pod on the same address again: nothing changes.
    const Snapshot before = TakeSnapshot(node.ds);
    CHECK(node.ds.AssignAt(Pod(2), a.address, node.clock.Now()).value() == *restored);
    CHECK(TakeSnapshot(node.ds) == before);

    // A later cooldown expiry of the old release must not disturb the restored pod.
    node.clock.AdvanceTime(absl::Seconds(31));
    CHECK(node.ds.Stats().assigned_ips == 1);
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());
    CHECK(node.MustRelease(Pod(2)).address == a.address);
    CHECK(node.ds.Stats().cooling_ips == 1);
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());
  }
}

// ---------------------------------------------------------------------------
// Bad input: the right code, a message naming the input, no change.

TEST_CASE(
    "NodeDatastore rejects pod keys with an empty part with INVALID_ARGUMENT and changes nothing") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 1);
    (void)node.MustAssign(Pod(1));
    const Ipv4Address free_address = Unit(mode, 1, 0).last();
    for (const PodKey& key : {PodKey{"", "c1", "eth0"}, PodKey{"aws-cni", "", "eth0"},
                              PodKey{"aws-cni", "c1", ""}, PodKey{}}) {
      CAPTURE(key.ToString());
      ExpectRejected(node.ds, [&] { return node.ds.Assign(key); },
                     absl::StatusCode::kInvalidArgument,
                     {absl::StrCat("\"", key.ToString(), "\"")});
      ExpectRejected(node.ds, [&] { return node.ds.AssignAt(key, free_address, node.clock.Now()); },
                     absl::StatusCode::kInvalidArgument,
                     {absl::StrCat("\"", key.ToString(), "\"")});
      // A DEL for a key that cannot exist is an unknown pod (the CNI takes that as done).
      ExpectRejected(node.ds, [&] { return node.ds.Release(key); }, absl::StatusCode::kNotFound,
                     {key.ToString()});
    }
  }
}

TEST_CASE(
    "NodeDatastore rejects bad ENIs with the right code, naming the input, and changes nothing") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 1);
    (void)node.MustAssign(Pod(1));
    for (const std::string& id :
         {std::string(), std::string("eni 1"), std::string(40, 'e'), std::string("eni-1;rm")}) {
      CAPTURE(id);
      ExpectRejected(node.ds, [&] { return node.ds.AddEni({.id = id}); },
                     absl::StatusCode::kInvalidArgument, {absl::StrCat("\"", id, "\"")});
    }
    ExpectRejected(node.ds, [&] { return node.ds.AddEni({.id = "eni-9", .device_number = -1}); },
                   absl::StatusCode::kInvalidArgument, {"eni-9", "-1"});
    for (const std::string& id : {std::string("eni-404"), std::string("bad id!"), std::string()}) {
      CAPTURE(id);
      ExpectRejected(node.ds, [&] { return node.ds.RemoveEni(id, true); },
                     absl::StatusCode::kNotFound, {absl::StrCat("ENI ", id, " ")});
      ExpectRejected(node.ds, [&] { return node.ds.AddCidr(id, Unit(mode, 7, 0)); },
                     absl::StatusCode::kNotFound, {absl::StrCat("ENI ", id, " ")});
      ExpectRejected(node.ds, [&] { return node.ds.RemoveCidr(id, Unit(mode, 1, 0), true); },
                     absl::StatusCode::kNotFound, {absl::StrCat("ENI ", id, " ")});
      ExpectRejected(node.ds, [&] { return node.ds.FindEni(id); }, absl::StatusCode::kNotFound,
                     {absl::StrCat("ENI ", id, " ")});
      ExpectRejected(node.ds, [&] { return node.ds.Cidrs(id); }, absl::StatusCode::kNotFound,
                     {absl::StrCat("ENI ", id, " ")});
    }
  }
}

TEST_CASE(
    "NodeDatastore rejects CIDRs that are neither /32 nor /28 with INVALID_ARGUMENT and changes "
    "nothing") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 1);
    (void)node.MustAssign(Pod(1));
    for (const char* text :
         {"10.1.0.0/27", "10.1.0.0/30", "10.1.0.0/24", "10.1.0.0/31", "0.0.0.0/0", "10.1.0.0/29"}) {
      CAPTURE(text);
      ExpectRejected(node.ds, [&] { return node.ds.AddCidr(EniName(1), Prefix(text)); },
                     absl::StatusCode::kInvalidArgument, {text});
      ExpectRejected(node.ds, [&] { return node.ds.RemoveCidr(EniName(1), Prefix(text), true); },
                     absl::StatusCode::kInvalidArgument, {text});
    }
    // An unknown ENI with a bad CIDR: the CIDR is the first complaint.
    ExpectRejected(node.ds, [&] { return node.ds.AddCidr("eni-404", Prefix("10.1.0.0/27")); },
                   absl::StatusCode::kInvalidArgument, {"10.1.0.0/27"});
  }
}

TEST_CASE(
    "NodeDatastore::RemoveCidr of a CIDR the ENI does not hold is NOT_FOUND and changes nothing") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 1);
    node.AddEni(2, 1, 1);
    (void)node.MustAssign(Pod(1));
    // Held by the other ENI.
    ExpectRejected(node.ds, [&] { return node.ds.RemoveCidr(EniName(1), Unit(mode, 2, 0), true); },
                   absl::StatusCode::kNotFound, {Unit(mode, 2, 0).ToString(), EniName(1)});
    // Held by nobody.
    ExpectRejected(node.ds, [&] { return node.ds.RemoveCidr(EniName(1), Unit(mode, 1, 5), false); },
                   absl::StatusCode::kNotFound, {Unit(mode, 1, 5).ToString(), EniName(1)});
    // A /32 inside a held /28, or the /28 around a held /32: not the CIDR that is held.
    const Ipv4Prefix other_shape = mode == AddressMode::kPrefix
                                       ? Ipv4Prefix::FromAddress(Unit(mode, 1, 0).AddressAt(3))
                                       : Ipv4Prefix::Containing(Unit(mode, 1, 0).network(), 28);
    ExpectRejected(node.ds, [&] { return node.ds.RemoveCidr(EniName(1), other_shape, true); },
                   absl::StatusCode::kNotFound, {other_shape.ToString()});
  }
}

TEST_CASE("NodeDatastore::Release of an unknown pod is NOT_FOUND naming it and changes nothing") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 1);
    (void)node.MustAssign(Pod(1));
    ExpectRejected(node.ds, [&] { return node.ds.Release(Pod(2)); }, absl::StatusCode::kNotFound,
                   {Pod(2).ToString()});
    ExpectRejected(node.ds, [&] { return node.ds.ReleaseAt(Pod(2), node.clock.Now()); },
                   absl::StatusCode::kNotFound, {Pod(2).ToString()});
    (void)node.MustRelease(Pod(1));
    // A second DEL of the same pod.
    ExpectRejected(node.ds, [&] { return node.ds.Release(Pod(1)); }, absl::StatusCode::kNotFound,
                   {Pod(1).ToString()});
  }
}

TEST_CASE(
    "NodeDatastore::AssignAt rejects foreign and taken addresses, naming them, and changes "
    "nothing") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 2);
    const Assignment a = node.MustAssign(Pod(1));
    const Ipv4Address foreign(192, 168, 0, 1);
    ExpectRejected(node.ds, [&] { return node.ds.AssignAt(Pod(2), foreign, node.clock.Now()); },
                   absl::StatusCode::kNotFound, {"192.168.0.1"});
    // Another pod holds the address.
    ExpectRejected(node.ds, [&] { return node.ds.AssignAt(Pod(2), a.address, node.clock.Now()); },
                   absl::StatusCode::kAlreadyExists, {a.address.ToString()});
    // The pod already holds another address.
    const Ipv4Address other = Unit(mode, 1, 0).network() == a.address ? Unit(mode, 1, 1).network()
                                                                      : Unit(mode, 1, 0).network();
    ExpectRejected(node.ds, [&] { return node.ds.AssignAt(Pod(1), other, node.clock.Now()); },
                   absl::StatusCode::kAlreadyExists, {Pod(1).ToString(), a.address.ToString()});
  }
}

TEST_CASE(
    "NodeDatastore::Assign on an empty or exhausted pool is RESOURCE_EXHAUSTED naming the pod and "
    "mode") {
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    ExpectRejected(node.ds, [&] { return node.ds.Assign(Pod(1)); },
                   absl::StatusCode::kResourceExhausted,
                   {Pod(1).ToString(), std::string(AddressModeName(mode))});
    node.AddEni(1, 0, 0);
    ExpectRejected(node.ds, [&] { return node.ds.Assign(Pod(1)); },
                   absl::StatusCode::kResourceExhausted, {Pod(1).ToString()});
    CHECK(node.ds.Lookup(Pod(1)) == std::nullopt);
    CHECK(node.ds.pod_count() == 0);
  }
}

TEST_CASE("NodeDatastore keeps ENI and group slots straight when ENIs and CIDRs come and go") {
  // Remove and re-add so that internal slots are reused, then check all views.
  for (AddressMode mode : kModes) {
    CAPTURE(AddressModeName(mode));
    Node node(mode);
    node.AddEni(1, 0, 3);
    node.AddEni(2, 1, 3);
    node.AddEni(3, 2, 3);
    for (int i = 0; i < 5; ++i) (void)node.MustAssign(Pod(i));
    EXPECT_OK(node.ds.RemoveEni(EniName(2), true));
    EXPECT_OK(node.ds.RemoveCidr(EniName(3), Unit(mode, 3, 1), true));
    node.AddEni(4, 5, 2);
    EXPECT_OK(node.ds.AddCidr(EniName(3), Unit(mode, 3, 7)));
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());
    const std::vector<EniView> views = node.ds.EniViews();
    REQUIRE(views.size() == 3u);
    CHECK(views[0].id == EniName(1));
    CHECK(views[1].id == EniName(3));
    CHECK(views[1].cidrs == 3);
    CHECK(views[2].id == EniName(4));
    CHECK(views[2].route_table_id == 6);
    CHECK(node.ds.Stats().total_ips == 8 * UnitSize(mode));
    for (int i = 0; i < 8 * UnitSize(mode); ++i) (void)node.ds.Assign(Pod(100 + i));
    CHECK(node.ds.Stats().assigned_ips == 8 * UnitSize(mode));
    CHECK(node.ds.CheckInvariants() == absl::OkStatus());
  }
}

TEST_CASE("NodeDatastore::CheckAssignAt predicts AssignAt's answer and changes nothing") {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  enipool::NodeDatastore<ManualClock> ds(AddressMode::kPrefix, clock);
  REQUIRE(ds.AddEni({.id = "eni-1", .primary = true}).ok());
  REQUIRE(ds.AddCidr("eni-1", *Ipv4Prefix::Parse("10.0.0.0/28")).ok());
  REQUIRE(ds.AddCidr("eni-1", *Ipv4Prefix::Parse("10.0.1.7/32")).ok());
  std::mt19937_64 rng(20261129);
  int accepted = 0;
  int refused = 0;
  for (int step = 0; step < 2000; ++step) {
    CAPTURE(step);
    // Pods c0..c19 (and one with an empty part) on 10.0.0.0-19 and 10.0.1.7:
    // some addresses are in no CIDR, some held, some pods hold another.
    const int pod_number = static_cast<int>(rng() % 21);
    const PodKey pod{"aws-cni", pod_number == 20 ? "" : absl::StrCat("c", pod_number), "eth0"};
    const Ipv4Address address = rng() % 10 == 0 ? Ipv4Address(10, 0, 1, 7)
                                                : Ipv4Address(10, 0, 0, static_cast<std::uint8_t>(rng() % 20));
    if (rng() % 3 == 0) {
      (void)ds.Release(pod);
      continue;
    }
    const PoolStats before = ds.Stats();
    const absl::Status predicted = ds.CheckAssignAt(pod, address);
    CHECK(ds.Stats() == before);
    const absl::Status actual = ds.AssignAt(pod, address, clock.Now()).status();
    CHECK_MESSAGE(predicted == actual, predicted, " vs ", actual);
    (actual.ok() ? accepted : refused) += 1;
    clock.AdvanceTime(absl::Seconds(1));
  }
  CHECK(accepted > 100);
  CHECK(refused > 100);
  CHECK(ds.CheckInvariants().ok());
}

}  // namespace
