// Ipv6Datastore against the reference's IPv6 pod-address rules
// (docs/reference-behavior.md §2.2, §2.3, §3.1, §3.2).
#include "enipool/ipv6_datastore.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"

namespace {

using enipool::Ipv6Address;
using enipool::Ipv6Datastore;
using enipool::Ipv6Prefix;
using enipool::ManualClock;
using enipool::PodKey;

PodKey Pod(int n) { return PodKey{"aws-cni", absl::StrCat("sandbox-", n), "eth0"}; }
Ipv6Prefix P(const char* text) { return *Ipv6Prefix::Parse(text); }
Ipv6Address A(const char* text) { return *Ipv6Address::Parse(text); }

struct Node {
  ManualClock clock;
  Ipv6Datastore<ManualClock> store{clock};
  Node() {
    clock.SetTime(absl::FromUnixSeconds(1'700'000'000));
    REQUIRE(store.AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
    REQUIRE(store.AddPrefix("eni-1", P("2600:1f14:abc:1:2::/80")).ok());
  }
};

TEST_CASE("Ipv6Datastore gives the first pod the base address of the /80, then the next ones") {
  Node node;
  const auto first = node.store.Assign(Pod(1));
  REQUIRE(first.ok());
  CHECK(first->address == A("2600:1f14:abc:1:2::"));
  CHECK(first->eni_id == "eni-1");
  CHECK(first->device_number == 0);
  CHECK(first->route_table_id == 254);
  CHECK(node.store.Assign(Pod(2))->address == A("2600:1f14:abc:1:2::1"));
  CHECK(node.store.Assign(Pod(3))->address == A("2600:1f14:abc:1:2::2"));
  CHECK(node.store.Stats() == enipool::Ipv6PoolStats{.prefixes = 1, .assigned_ips = 3, .cooling_ips = 0});
}

TEST_CASE("Ipv6Datastore returns the same address for a repeated ADD of the same pod key") {
  Node node;
  const auto first = node.store.Assign(Pod(1));
  REQUIRE(first.ok());
  node.clock.AdvanceTime(absl::Minutes(1));
  const auto again = node.store.Assign(Pod(1));
  REQUIRE(again.ok());
  CHECK(*again == *first);
  CHECK(node.store.pod_count() == 1);
  CHECK(node.store.Assign(Pod(2))->address == A("2600:1f14:abc:1:2::1"));
}

TEST_CASE("Ipv6Datastore keeps a released address cooling for the cooldown, then hands it out before a never-used one") {
  Node node;
  REQUIRE(node.store.Assign(Pod(1)).ok());
  REQUIRE(node.store.Assign(Pod(2)).ok());
  const auto released = node.store.Release(Pod(1));
  REQUIRE(released.ok());
  CHECK(released->address == A("2600:1f14:abc:1:2::"));
  CHECK(node.store.Stats().cooling_ips == 1);
  // Cooling while now − released ≤ 30 s (inclusive): a never-used address instead.
  node.clock.AdvanceTime(absl::Seconds(30));
  CHECK(node.store.Assign(Pod(3))->address == A("2600:1f14:abc:1:2::2"));
  CHECK(node.store.Stats().cooling_ips == 1);
  node.clock.AdvanceTime(absl::Nanoseconds(1));
  CHECK(node.store.Stats().cooling_ips == 0);
  CHECK(node.store.Assign(Pod(4))->address == A("2600:1f14:abc:1:2::"));
  CHECK(node.store.Assign(Pod(5))->address == A("2600:1f14:abc:1:2::3"));
}

TEST_CASE("Ipv6Datastore drops the records of other ended cooldowns, which then go lowest first") {
  Node node;
  for (int i = 0; i < 6; ++i) REQUIRE(node.store.Assign(Pod(i)).ok());
  // Release ::4, then ::1, then ::3: all three cooldowns end.
  REQUIRE(node.store.Release(Pod(4)).ok());
  node.clock.AdvanceTime(absl::Seconds(1));
  REQUIRE(node.store.Release(Pod(1)).ok());
  REQUIRE(node.store.Release(Pod(3)).ok());
  node.clock.AdvanceTime(absl::Minutes(1));
  // The one released first, then the dropped ones lowest first, then ::6.
  CHECK(node.store.Assign(Pod(10))->address == A("2600:1f14:abc:1:2::4"));
  CHECK(node.store.Assign(Pod(11))->address == A("2600:1f14:abc:1:2::1"));
  CHECK(node.store.Assign(Pod(12))->address == A("2600:1f14:abc:1:2::3"));
  CHECK(node.store.Assign(Pod(13))->address == A("2600:1f14:abc:1:2::6"));
}

TEST_CASE("Ipv6Datastore takes the reference's legacy key on release and NOT_FOUND for an unknown pod") {
  Node node;
  const PodKey legacy{"_migrated-from-cri", "sandbox-7", "unknown"};
  REQUIRE(node.store.AssignAt(legacy, A("2600:1f14:abc:1:2::9"), node.clock.Now()).ok());
  const auto released = node.store.Release(Pod(7));
  REQUIRE(released.ok());
  CHECK(released->address == A("2600:1f14:abc:1:2::9"));
  const auto unknown = node.store.Release(Pod(7));
  CHECK(unknown.status().code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(unknown.status().message(), "sandbox-7"));
}

TEST_CASE("Ipv6Datastore refuses bad input and changes nothing") {
  Node node;
  REQUIRE(node.store.Assign(Pod(1)).ok());
  const auto before = node.store.Stats();
  CHECK(node.store.Assign(PodKey{"aws-cni", "", "eth0"}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(node.store.AddEni({.id = "eni-1"}).code() == absl::StatusCode::kAlreadyExists);
  CHECK(node.store.AddEni({.id = "eni 2"}).code() == absl::StatusCode::kInvalidArgument);
  CHECK(node.store.AddPrefix("eni-9", P("2600::/80")).code() == absl::StatusCode::kNotFound);
  const auto overlap = node.store.AddPrefix("eni-1", P("2600:1f14:abc:1::/72"));
  CHECK(overlap.code() == absl::StatusCode::kAlreadyExists);  // the /72 holds the /80
  const auto same = node.store.AddPrefix("eni-1", P("2600:1f14:abc:1:2::/96"));
  CHECK(same.code() == absl::StatusCode::kAlreadyExists);
  CHECK(absl::StrContains(same.message(), "2600:1f14:abc:1:2::/80"));
  CHECK(node.store.AddPrefix("eni-1", P("2600::/64")).code() == absl::StatusCode::kInvalidArgument);
  // Restoring onto a held address, a second address for a pod, outside every prefix.
  CHECK(node.store.AssignAt(Pod(2), A("2600:1f14:abc:1:2::"), node.clock.Now()).status().code() ==
        absl::StatusCode::kAlreadyExists);
  CHECK(node.store.AssignAt(Pod(1), A("2600:1f14:abc:1:2::5"), node.clock.Now()).status().code() ==
        absl::StatusCode::kAlreadyExists);
  CHECK(node.store.AssignAt(Pod(3), A("2600::1"), node.clock.Now()).status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(node.store.CoolAt(A("2600:1f14:abc:1:2::"), node.clock.Now()).code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(node.store.CoolAt(A("2600::1"), node.clock.Now()).code() == absl::StatusCode::kNotFound);
  CHECK(node.store.Stats() == before);
  CHECK(node.store.Prefixes().size() == 1);
  CHECK(node.store.Assign(Pod(2))->address == A("2600:1f14:abc:1:2::1"));
}

TEST_CASE("Ipv6Datastore restores assignments and cooldowns anywhere in the /80") {
  Node node;
  const absl::Time earlier = node.clock.Now() - absl::Seconds(10);
  REQUIRE(node.store.AssignAt(Pod(1), A("2600:1f14:abc:1:2::"), earlier).ok());
  REQUIRE(node.store.AssignAt(Pod(2), A("2600:1f14:abc:1:2:0:1:0"), earlier).ok());
  REQUIRE(node.store.AssignAt(Pod(2), A("2600:1f14:abc:1:2:0:1:0"), earlier).ok());  // same: no change
  REQUIRE(node.store.CoolAt(A("2600:1f14:abc:1:2::1"), node.clock.Now()).ok());
  CHECK(node.store.Stats() == enipool::Ipv6PoolStats{.prefixes = 1, .assigned_ips = 2, .cooling_ips = 1});
  // ::1 cools, so the next is ::2; the restored far address is skipped when reached.
  CHECK(node.store.Assign(Pod(3))->address == A("2600:1f14:abc:1:2::2"));
  int seen = 0;
  node.store.ForEachAssignment([&](const PodKey& pod, const enipool::Ipv6Assignment& a, absl::Time at) {
    if (pod == Pod(2)) {
      CHECK(a.address == A("2600:1f14:abc:1:2:0:1:0"));
      CHECK(at == earlier);
    }
    ++seen;
  });
  CHECK(seen == 3);
  // A cooling address taken by a restore stops cooling.
  REQUIRE(node.store.AssignAt(Pod(4), A("2600:1f14:abc:1:2::1"), node.clock.Now()).ok());
  CHECK(node.store.Stats().cooling_ips == 0);
}

TEST_CASE("Ipv6Datastore says RESOURCE_EXHAUSTED when every prefix is used, and moves to the next prefix") {
  ManualClock clock;
  Ipv6Datastore<ManualClock> store(clock, absl::Seconds(30));
  REQUIRE(store.AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
  REQUIRE(store.AddEni({.id = "eni-2", .device_number = 1}).ok());
  REQUIRE(store.AddPrefix("eni-1", P("2600::/127")).ok());
  REQUIRE(store.AddPrefix("eni-2", P("2600::10/128")).ok());
  CHECK(store.Assign(Pod(1))->address == A("2600::"));
  CHECK(store.Assign(Pod(2))->address == A("2600::1"));
  const auto third = store.Assign(Pod(3));
  REQUIRE(third.ok());
  CHECK(third->address == A("2600::10"));
  CHECK(third->eni_id == "eni-2");
  CHECK(third->route_table_id == 2);
  const auto none = store.Assign(Pod(4));
  CHECK(none.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(absl::StrContains(none.status().message(), "no available IP/Prefix addresses"));
  REQUIRE(store.Release(Pod(1)).ok());
  CHECK(store.Assign(Pod(4)).status().code() == absl::StatusCode::kResourceExhausted);
  clock.AdvanceTime(absl::Seconds(31));
  CHECK(store.Assign(Pod(4))->address == A("2600::"));
}

// The model: the reference's picker, literally (docs/reference-behavior.md
// §2.2): one record per used address; on ADD, drop every unassigned record
// whose cooldown has ended and take the one released first, else walk from
// the base to the first address without a record.
struct ModelRecord {
  std::optional<PodKey> pod;
  std::int64_t released_ns = 0;
  std::uint64_t sequence = 0;
};
struct Model {
  std::int64_t cooldown_ns = 0;
  std::uint64_t size = 0;
  std::map<std::uint64_t, ModelRecord> records;
  std::map<PodKey, std::uint64_t> pods;
  std::uint64_t sequence = 0;

  std::optional<std::uint64_t> Assign(const PodKey& pod, std::int64_t now) {
    if (auto it = pods.find(pod); it != pods.end()) return it->second;
    std::optional<std::uint64_t> best;
    std::pair<std::int64_t, std::uint64_t> best_key{0, 0};
    for (auto it = records.begin(); it != records.end();) {
      const ModelRecord& r = it->second;
      if (!r.pod.has_value() && now - r.released_ns > cooldown_ns) {
        const std::pair<std::int64_t, std::uint64_t> key{r.released_ns, r.sequence};
        if (!best.has_value() || key < best_key) {
          best = it->first;
          best_key = key;
        }
        it = records.erase(it);
      } else {
        ++it;
      }
    }
    if (!best.has_value()) {
      for (std::uint64_t offset = 0; offset < size; ++offset) {
        if (!records.contains(offset)) {
          best = offset;
          break;
        }
      }
    }
    if (!best.has_value()) return std::nullopt;
    records[*best] = ModelRecord{pod, 0, 0};
    pods[pod] = *best;
    return best;
  }
  std::optional<std::uint64_t> Release(const PodKey& pod, std::int64_t now) {
    auto it = pods.find(pod);
    if (it == pods.end()) return std::nullopt;
    const std::uint64_t offset = it->second;
    pods.erase(it);
    records[offset] = ModelRecord{std::nullopt, now, ++sequence};
    return offset;
  }
  std::int64_t Cooling(std::int64_t now) const {
    std::int64_t n = 0;
    for (const auto& [offset, r] : records) n += (!r.pod.has_value() && now - r.released_ns <= cooldown_ns);
    return n;
  }
};

TEST_CASE("Ipv6Datastore matches a literal model of the reference's address picker under random churn") {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 random(seed);
    ManualClock clock;
    clock.SetTime(absl::FromUnixSeconds(1'000'000));
    const absl::Duration cooldown = absl::Seconds(static_cast<std::int64_t>(random() % 5));
    Ipv6Datastore<ManualClock> store(clock, cooldown);
    REQUIRE(store.AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
    const Ipv6Prefix prefix = P("2600:1f14::/122");  // 64 addresses: exhaustion happens
    REQUIRE(store.AddPrefix("eni-1", prefix).ok());
    Model model{absl::ToInt64Nanoseconds(cooldown), 64, {}, {}, 0};
    for (int step = 0; step < 3000; ++step) {
      CAPTURE(step);
      const std::int64_t now = absl::ToUnixNanos(clock.Now());
      const PodKey pod = Pod(static_cast<int>(random() % 90));
      switch (random() % 4) {
        case 0:
        case 1: {
          const auto got = store.Assign(pod);
          const auto want = model.Assign(pod, now);
          REQUIRE(got.ok() == want.has_value());
          if (want.has_value()) REQUIRE(got->address == prefix.AddressAt(*want));
          break;
        }
        case 2: {
          const auto got = store.Release(pod);
          const auto want = model.Release(pod, now);
          REQUIRE(got.ok() == want.has_value());
          if (want.has_value()) REQUIRE(got->address == prefix.AddressAt(*want));
          break;
        }
        default:
          clock.AdvanceTime(absl::Milliseconds(static_cast<std::int64_t>(random() % 1500)));
          break;
      }
      const auto stats = store.Stats();
      REQUIRE(stats.assigned_ips == static_cast<std::int64_t>(model.pods.size()));
      REQUIRE(stats.cooling_ips == model.Cooling(absl::ToUnixNanos(clock.Now())));
    }
  }
}

}  // namespace
