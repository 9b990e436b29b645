// Tests for NodeDatastore::generation(): it changes on every observable
// change and stays put otherwise, so a caller may skip work when it is equal.

#include <doctest/doctest.h>

#include <cstdint>

#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"

namespace enipool {
namespace {

Ipv4Prefix P(const char* text) { return *Ipv4Prefix::Parse(text); }

TEST_CASE("NodeDatastore generation changes on every observable change and only then") {
  ManualClock clock;
  NodeDatastore datastore(AddressMode::kPrefix, clock);
  std::uint64_t seen = datastore.generation();
  auto changed = [&] {
    const std::uint64_t now = datastore.generation();
    const bool moved = now != seen;
    seen = now;
    return moved;
  };

  REQUIRE(datastore.AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
  CHECK(changed());
  REQUIRE(datastore.AddCidr("eni-1", P("10.0.0.16/28")).ok());
  CHECK(changed());
  const PodKey pod{"aws-cni", "c1", "eth0"};
  REQUIRE(datastore.Assign(pod).ok());
  CHECK(changed());
  REQUIRE(datastore.Assign(pod).ok());  // idempotent: the same address again
  CHECK_FALSE(changed());
  (void)datastore.Stats();
  (void)datastore.EniViews();
  CHECK_FALSE(changed());
  REQUIRE(datastore.Release(pod).ok());
  CHECK(changed());
  clock.AdvanceTime(absl::Seconds(10));
  (void)datastore.Stats();
  CHECK_FALSE(changed());  // still cooling
  clock.AdvanceTime(absl::Seconds(21));
  (void)datastore.Stats();
  CHECK(changed());  // the cooldown ended
  // A failed call changes nothing, the generation included.
  CHECK_FALSE(datastore.AddCidr("eni-1", P("10.0.0.16/28")).ok());
  CHECK_FALSE(datastore.RemoveEni("eni-9", false).ok());
  CHECK_FALSE(changed());
  REQUIRE(datastore.RemoveCidr("eni-1", P("10.0.0.16/28"), false).ok());
  CHECK(changed());
  REQUIRE(datastore.RemoveEni("eni-1", false).ok());
  CHECK(changed());
}

}  // namespace
}  // namespace enipool
