// Proves that NodeDatastore's hot path does not touch the heap: once warmed
// up, an Assign + Release pair with realistic pod keys performs zero heap
// allocations, in both modes and for every placement. The global operator
// new/delete of this executable are replaced by counting versions
// (testing/counting_allocator.h); the count is deterministic, not a timing.

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"
#include "testing/counting_allocator.h"
#include "testing/datastore_testing.h"

namespace {

// Counted only while `counting` is set, so doctest's own bookkeeping between
// measurements does not show up.
bool& counting = enipool::testing::allocation_counting;
std::int64_t& allocations = enipool::testing::allocations;

}  // namespace

namespace {

using enipool::AddressMode;
using enipool::ManualClock;
using enipool::Placement;
using enipool::PodKey;

struct Shape {
  AddressMode mode;
  int enis;
  int units_per_eni;  // /32s or /28s
};

// Builds a node of `shape` at 90% occupancy, then runs `pairs` Assign +
// Release pairs of fresh pods (the clock moves past the cooldown each time,
// so the released address cools and comes back). Returns the heap
// allocations made by the last `measured` pairs.
std::int64_t AllocationsPerSteadyState(const Shape& shape, Placement placement, int warmup,
                                       int measured) {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  enipool::NodeDatastore<ManualClock> ds(shape.mode, clock, absl::Seconds(30), placement);
  for (int e = 0; e < shape.enis; ++e) {
    REQUIRE(ds.AddEni({.id = enipool::testing::EniName(e), .device_number = e}).ok());
    for (int u = 0; u < shape.units_per_eni; ++u) {
      REQUIRE(
          ds.AddCidr(enipool::testing::EniName(e), enipool::testing::Unit(shape.mode, e, u)).ok());
    }
  }
  const auto total = ds.Stats().total_ips;
  const auto resident = static_cast<int>(total * 9 / 10);
  // The CNI's keys at their largest kept inline (internal/stored_pod_key.h):
  // network "aws-cni", a 64-digit hex container id and a 10-character
  // interface name. Longer names are kept on the heap (see the test below).
  auto key = [](int i) {
    return PodKey{"aws-cni", absl::StrFormat("%064x", i), "eth0-vlan9"};
  };
  for (int i = 0; i < resident; ++i) REQUIRE(ds.Assign(key(i)).ok());
  std::vector<PodKey> churn;
  for (int i = 0; i < 1000; ++i) churn.push_back(key(1'000'000 + i));

  std::int64_t failures = 0;
  auto run = [&](int pairs, int offset) {
    for (int i = 0; i < pairs; ++i) {
      const PodKey& pod = churn[static_cast<std::size_t>((offset + i) % 1000)];
      failures += ds.Assign(pod).ok() ? 0 : 1;
      failures += ds.Release(pod).ok() ? 0 : 1;
      clock.AdvanceTime(absl::Seconds(31));
    }
  };
  run(warmup, 0);
  allocations = 0;
  counting = true;
  run(measured, warmup);
  counting = false;
  CHECK(failures == 0);
  CHECK(ds.Stats().assigned_ips == resident);
  CHECK(ds.CheckInvariants() == absl::OkStatus());
  return allocations;
}

std::string* volatile sink = nullptr;  // keeps the optimizer from eliding the pair

TEST_CASE("The counting operator new sees the allocations it should") {
  allocations = 0;
  counting = true;
  sink = new std::string(100, 'x');  // the object and its buffer
  counting = false;
  delete sink;
  CHECK(allocations == 2);
}

TEST_CASE(
    "NodeDatastore Assign + Release allocates nothing in steady state, for every mode and "
    "placement") {
  const Shape shapes[] = {{AddressMode::kSecondaryIp, 3, 9},
                          {AddressMode::kSecondaryIp, 15, 49},
                          {AddressMode::kPrefix, 3, 2},
                          {AddressMode::kPrefix, 15, 49}};
  for (const Shape& shape : shapes) {
    for (Placement placement : {Placement::kBestFit, Placement::kSpread, Placement::kFirstFit}) {
      CAPTURE(AddressModeName(shape.mode));
      CAPTURE(shape.enis);
      CAPTURE(shape.units_per_eni);
      CAPTURE(static_cast<int>(placement));
      CHECK(AllocationsPerSteadyState(shape, placement, /*warmup=*/3000, /*measured=*/5000) == 0);
    }
  }
}

// The price of a key past the inline buffer: one allocation where it is
// stored and one per lookup (a 15-character network name and interface, as
// another CNI might use). Everything else stays as for the CNI's keys.
TEST_CASE("NodeDatastore Assign + Release of keys past the inline buffer allocates once each") {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  enipool::NodeDatastore<ManualClock> ds(AddressMode::kSecondaryIp, clock);
  REQUIRE(ds.AddEni({.id = "eni-1"}).ok());
  for (int u = 0; u < 9; ++u) {
    REQUIRE(ds.AddCidr("eni-1", enipool::testing::Unit(AddressMode::kSecondaryIp, 1, u)).ok());
  }
  std::vector<PodKey> pods;
  for (int i = 0; i < 64; ++i) {
    pods.push_back(PodKey{"aws-cni-network", absl::StrFormat("%064x", i), "eth0-with15char"});
  }
  auto run = [&](int pairs) {
    for (int i = 0; i < pairs; ++i) {
      const PodKey& pod = pods[static_cast<std::size_t>(i % 64)];
      REQUIRE(ds.Assign(pod).ok());
      REQUIRE(ds.Release(pod).ok());
      clock.AdvanceTime(absl::Seconds(31));
    }
  };
  run(1000);
  allocations = 0;
  counting = true;
  run(1000);
  counting = false;
  CHECK(allocations == 2 * 1000);  // the stored key, and the lookup's in Release
}

TEST_CASE("NodeDatastore hot path allocates nothing while cooling addresses pile up and expire") {
  // A slower clock: releases cool for several pairs before they come back,
  // so the cooldown queue holds many entries at once.
  for (AddressMode mode : {AddressMode::kSecondaryIp, AddressMode::kPrefix}) {
    CAPTURE(AddressModeName(mode));
    ManualClock clock;
    enipool::NodeDatastore<ManualClock> ds(mode, clock);
    REQUIRE(ds.AddEni({.id = "eni-1"}).ok());
    for (int u = 0; u < 16; ++u)
      REQUIRE(ds.AddCidr("eni-1", enipool::testing::Unit(mode, 1, u)).ok());
    std::vector<PodKey> pods;
    for (int i = 0; i < 256; ++i) pods.push_back(enipool::testing::Pod(i));
    std::int64_t failures = 0;
    auto run = [&](int pairs) {
      for (int i = 0; i < pairs; ++i) {
        const PodKey& pod = pods[static_cast<std::size_t>(i % 256)];
        failures += ds.Assign(pod).ok() ? 0 : 1;
        failures += ds.Release(pod).ok() ? 0 : 1;
        clock.AdvanceTime(absl::Seconds(3));  // ten pairs per cooldown
      }
    };
    run(5000);
    allocations = 0;
    counting = true;
    run(5000);
    counting = false;
    CHECK(failures == 0);
    CHECK(allocations == 0);
  }
}

}  // namespace
