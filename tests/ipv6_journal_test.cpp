// The IPv6 node's journal (persist/ipv6_journal.h) and the durable IPv6
// node on it (ipv6_node.h, docs/reference-behavior.md §4.12, §8.1, §11.3):
// every acknowledged ADD and DEL survives a restart, cooldowns included; a
// crash at any byte of the journal restarts with the state acknowledged
// before it; the /80 is read back from EC2, and pods whose /80 EC2 no
// longer shows are dropped as stale; bad files are refused unchanged.

#include "enipool/persist/ipv6_journal.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/ec2/backend.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/ipv6.h"
#include "enipool/ipv6_node.h"
#include "enipool/persist/journal.h"
#include "testing/memory_file_system.h"

namespace {

using enipool::Ipv6Address;
using enipool::Ipv6Prefix;
using enipool::ManualClock;
using enipool::PodKey;
using enipool::testing::MemoryFileSystem;
using Store = enipool::JournaledIpv6Datastore<ManualClock>;
using Node = enipool::Ipv6NodeController<ManualClock, Store>;
using Ec2 = enipool::ec2::SimulatedEc2<ManualClock>;

constexpr char kPath[] = "/var/lib/enipool/journal";
constexpr absl::Duration kCooldown = absl::Seconds(30);

static_assert(enipool::Ipv6PoolStore<Store>);
static_assert(enipool::Ipv6PoolStore<enipool::Ipv6Datastore<ManualClock>>);

Ipv6Prefix P6(const char* text) { return *Ipv6Prefix::Parse(text); }
PodKey Pod(int n) { return PodKey{"aws-cni", absl::StrCat("sandbox-", n), "eth0"}; }

absl::StatusOr<Store> OpenStore(MemoryFileSystem& fs, const ManualClock& clock,
                                enipool::SyncPolicy sync = enipool::SyncPolicy::kEveryRecord) {
  Store::Options options;
  options.ip_cooldown = kCooldown;
  options.journal.file_system = &fs;
  options.journal.sync = sync;
  return Store::Open(kPath, clock, options);
}

std::map<PodKey, Ipv6Address> PodsOf(const enipool::Ipv6Datastore<ManualClock>& ds) {
  std::map<PodKey, Ipv6Address> pods;
  ds.ForEachAssignment([&](const PodKey& pod, const enipool::Ipv6Assignment& a, absl::Time) {
    pods[pod] = a.address;
  });
  return pods;
}

struct Ec2Fixture {
  ManualClock clock{absl::FromUnixSeconds(1'700'000'000)};
  Ec2 ec2{clock, {.seed = 1,
                  .latency = enipool::ec2::LatencyModel::Zero(),
                  .throttle = enipool::ec2::ThrottleConfig::Disabled()}};
  Ec2Fixture() {
    REQUIRE(ec2.AddSubnet("subnet-1", *enipool::Ipv4Prefix::Parse("10.0.0.0/24")).ok());
    REQUIRE(ec2.AddSubnetIpv6Cidr("subnet-1", P6("2600:1f14:abc:1::/64")).ok());
    REQUIRE(ec2.AddInstance({.instance_id = "i-1", .subnet_id = "subnet-1"}).ok());
  }
  // A node process: its store opened from `fs`, started on EC2.
  std::optional<Node> Start(MemoryFileSystem& fs) {
    auto store = OpenStore(fs, clock);
    REQUIRE_MESSAGE(store.ok(), store.status());
    std::optional<Node> node;
    node.emplace(clock, enipool::Ipv6NodeConfig{.instance_id = "i-1"}, *std::move(store));
    const absl::Status started = enipool::RunIpv6Startup(*node, ec2);
    REQUIRE_MESSAGE(started.ok(), started);
    return node;
  }
};

// --- the store -------------------------------------------------------------------

TEST_CASE("JournaledIpv6Datastore keeps every acknowledged pod and cooldown across random reopens") {
  // Against a model: the pods acknowledged and when each address was released.
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  MemoryFileSystem fs;
  std::optional<Store> store;
  store.emplace(*OpenStore(fs, clock));
  REQUIRE(store->AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
  // A /124: 16 addresses, so cooldowns and exhaustion really bite.
  REQUIRE(store->AddPrefix("eni-1", P6("2600:1f14:abc:1:2::/124")).ok());
  std::map<PodKey, Ipv6Address> model;
  std::map<Ipv6Address, absl::Time> released;
  std::mt19937_64 rng(11);
  int next_pod = 0;
  int reopens = 0;
  int exhausted = 0;
  for (int step = 0; step < 3000; ++step) {
    CAPTURE(step);
    clock.AdvanceTime(absl::Milliseconds(static_cast<std::int64_t>(rng() % 4000)));
    const auto roll = rng() % 100;
    if (roll < 55) {
      const PodKey pod = Pod(next_pod++);
      const auto got = store->Assign(pod);
      if (!got.ok()) {
        REQUIRE(got.status().code() == absl::StatusCode::kResourceExhausted);
        ++exhausted;
        continue;
      }
      for (const auto& [other, address] : model) REQUIRE_MESSAGE(address != got->address, other.ToString());
      if (auto it = released.find(got->address); it != released.end()) {
        REQUIRE_MESSAGE(clock.Now() - it->second > kCooldown, got->address.ToString(),
                        " handed out inside its cooldown");
      }
      model[pod] = got->address;
    } else if (roll < 92) {
      if (model.empty()) continue;
      auto it = model.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(rng() % model.size()));
      const auto freed = store->Release(it->first);
      REQUIRE(freed.ok());
      REQUIRE(freed->address == it->second);
      released[it->second] = clock.Now();
      model.erase(it);
    } else if (roll < 97) {
      const enipool::Ipv6PoolStats before = store->Stats();
      store.reset();  // the process dies; the file stays
      auto reopened = OpenStore(fs, clock);
      REQUIRE_MESSAGE(reopened.ok(), reopened.status());
      store.emplace(*std::move(reopened));
      ++reopens;
      CHECK(store->Stats() == before);
      REQUIRE(PodsOf(store->datastore()) == model);
    } else {
      REQUIRE(store->Snapshot().ok());
    }
  }
  CHECK(reopens > 50);
  CHECK(exhausted > 0);
  CHECK(PodsOf(store->datastore()) == model);
}

TEST_CASE("An IPv6 ADD whose journal record cannot be written is refused and its address stays free") {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  MemoryFileSystem fs;
  auto store = OpenStore(fs, clock);
  REQUIRE(store.ok());
  REQUIRE(store->AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
  REQUIRE(store->AddPrefix("eni-1", P6("2600:1f14:abc:1:2::/80")).ok());
  const auto first = store->Assign(Pod(1));
  REQUIRE(first.ok());
  fs.fail_appends_after = 0;
  const auto refused = store->Assign(Pod(2));
  CHECK(refused.status().code() == absl::StatusCode::kResourceExhausted);  // the file's error
  CHECK_FALSE(store->Lookup(Pod(2)).has_value());
  CHECK(store->Stats().assigned_ips == 1);
  fs.fail_appends_after = -1;
  const auto second = store->Assign(Pod(3));
  REQUIRE(second.ok());
  CHECK(second->address == P6("2600:1f14:abc:1:2::/80").AddressAt(1));  // the refused ADD's address
  auto reopened = OpenStore(fs, clock);
  REQUIRE(reopened.ok());
  CHECK(PodsOf(reopened->datastore()) == PodsOf(store->datastore()));
}

TEST_CASE("A damaged IPv6 journal is DATA_LOSS naming the offset and is left unchanged") {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  MemoryFileSystem fs;
  {
    auto store = OpenStore(fs, clock);
    REQUIRE(store.ok());
    REQUIRE(store->AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
    REQUIRE(store->AddPrefix("eni-1", P6("2600:1f14:abc:1:2::/80")).ok());
    for (int i = 0; i < 5; ++i) REQUIRE(store->Assign(Pod(i)).ok());
  }
  std::string& bytes = fs.files[kPath].data;
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5A);
  const std::string damaged = bytes;
  const auto refused = OpenStore(fs, clock);
  CHECK(refused.status().code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(refused.status().message(), kPath));
  CHECK(absl::StrContains(refused.status().message(), "byte offset"));
  CHECK(fs.files[kPath].data == damaged);
}

TEST_CASE("An IPv4 journal opened as an IPv6 one, and the reverse, is DATA_LOSS and left unchanged") {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  MemoryFileSystem fs;
  using V4 = enipool::JournaledDatastore<ManualClock>;
  V4::Options v4_options;
  v4_options.journal.file_system = &fs;
  {
    auto v4 = V4::Open("/v4", clock, v4_options);
    REQUIRE(v4.ok());
    REQUIRE(v4->AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
    REQUIRE(v4->AddCidr("eni-1", *enipool::Ipv4Prefix::Parse("10.0.0.16/28")).ok());
    REQUIRE(v4->Assign(Pod(1)).ok());
  }
  {
    auto store = OpenStore(fs, clock);  // kPath: the IPv6 one
    REQUIRE(store.ok());
    REQUIRE(store->AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
    REQUIRE(store->AddPrefix("eni-1", P6("2600:1f14:abc:1:2::/80")).ok());
    REQUIRE(store->Assign(Pod(1)).ok());
  }
  const std::string v4_bytes = fs.files["/v4"].data;
  const std::string v6_bytes = fs.files[kPath].data;
  Store::Options options;
  options.journal.file_system = &fs;
  const auto v4_as_v6 = Store::Open("/v4", clock, options);
  CHECK(v4_as_v6.status().code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(v4_as_v6.status().message(), "IPv4 node's journal"));
  const auto v6_as_v4 = V4::Open(kPath, clock, v4_options);
  CHECK(v6_as_v4.status().code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(v6_as_v4.status().message(), "IPv6 node's journal"));
  CHECK(fs.files["/v4"].data == v4_bytes);
  CHECK(fs.files[kPath].data == v6_bytes);
}

TEST_CASE("JournaledIpv6Datastore::Clear empties the journal durably") {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  MemoryFileSystem fs;
  auto store = OpenStore(fs, clock);
  REQUIRE(store.ok());
  REQUIRE(store->AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
  REQUIRE(store->AddPrefix("eni-1", P6("2600:1f14:abc:1:2::/80")).ok());
  REQUIRE(store->Assign(Pod(1)).ok());
  fs.fail_atomic_writes_after = 0;
  CHECK_FALSE(store->Clear().ok());
  CHECK(store->datastore().pod_count() == 1);  // the file was not replaced: nothing changed
  fs.fail_atomic_writes_after = -1;
  REQUIRE(store->Clear().ok());
  CHECK(store->datastore().eni_count() == 0);
  REQUIRE(store->AddEni({.id = "eni-2", .device_number = 0, .primary = true}).ok());
  auto reopened = OpenStore(fs, clock);
  REQUIRE_MESSAGE(reopened.ok(), reopened.status());
  CHECK(reopened->datastore().HasEni("eni-2"));
  CHECK_FALSE(reopened->datastore().HasEni("eni-1"));
  CHECK(reopened->datastore().pod_count() == 0);
}

// --- the durable IPv6 node ----------------------------------------------------------

TEST_CASE("A durable IPv6 node restarted restores its acknowledged pods into the /80 EC2 still shows") {
  Ec2Fixture f;
  MemoryFileSystem fs;
  std::map<PodKey, Ipv6Address> acknowledged;
  std::optional<Ipv6Prefix> prefix;
  {
    std::optional<Node> node = f.Start(fs);
    prefix = node->prefix();
    for (int i = 0; i < 40; ++i) {
      const auto got = node->AddPod(Pod(i));
      REQUIRE(got.ok());
      acknowledged[Pod(i)] = got->address;
      if (i % 4 == 0) {
        REQUIRE(node->DeletePod(Pod(i)).ok());
        acknowledged.erase(Pod(i));
      }
    }
  }
  fs.PowerLoss();  // kEveryRecord: nothing acknowledged was unsynced
  const std::uint64_t assigns_before = f.ec2.stats().calls_of(enipool::ec2::CallKind::kAssignIpv6Prefixes);
  std::optional<Node> node = f.Start(fs);
  CHECK(node->prefix() == prefix);
  CHECK(PodsOf(node->pool()) == acknowledged);
  CHECK(node->counters().stale_pods_dropped == 0);
  CHECK(f.ec2.stats().calls_of(enipool::ec2::CallKind::kAssignIpv6Prefixes) == assigns_before);
  // A new pod gets none of the held addresses, nor one still cooling.
  f.clock.AdvanceTime(absl::Seconds(1));
  const auto fresh = node->AddPod(Pod(1000));
  REQUIRE(fresh.ok());
  for (const auto& [pod, address] : acknowledged) CHECK(address != fresh->address);
  CHECK(fresh->address == prefix->AddressAt(40));  // past the 40 used, all held or cooling
}

TEST_CASE("A durable IPv6 node whose saved /80 EC2 no longer shows drops its pods as stale") {
  Ec2Fixture f;
  MemoryFileSystem fs;
  Ipv6Prefix old_prefix;
  std::string eni;
  {
    std::optional<Node> node = f.Start(fs);
    old_prefix = *node->prefix();
    eni = node->primary_eni_id();
    for (int i = 0; i < 5; ++i) REQUIRE(node->AddPod(Pod(i)).ok());
  }
  REQUIRE(f.ec2.UnassignIpv6Prefixes({.eni_id = eni, .prefixes = {old_prefix}}).ok());
  // The restart finds no /80 on the ENI and asks for one (EC2 may hand the
  // same one back: the pods are stale all the same).
  std::optional<Node> node = f.Start(fs);
  REQUIRE(node->prefix().has_value());
  CHECK(node->counters().assigns == 1);
  CHECK(node->counters().stale_pods_dropped == 5);
  CHECK(node->pool().pod_count() == 0);
  const auto got = node->AddPod(Pod(0));
  REQUIRE(got.ok());
  CHECK(node->prefix()->Contains(got->address));
  // The journal now says the same.
  auto reopened = OpenStore(fs, f.clock);
  REQUIRE(reopened.ok());
  CHECK(PodsOf(reopened->datastore()) == PodsOf(node->pool()));
  CHECK(reopened->datastore().Prefixes().size() == 1);
}

TEST_CASE("A durable IPv6 node keeps its saved /80 when EC2 lists it after another one") {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  MemoryFileSystem fs;
  const Ipv6Prefix saved = P6("2600:1f14:abc:1:2::/80");
  const Ipv6Prefix other = P6("2600:1f14:abc:1:1::/80");
  {
    auto store = OpenStore(fs, clock);
    REQUIRE(store.ok());
    REQUIRE(store->AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
    REQUIRE(store->AddPrefix("eni-1", saved).ok());
    REQUIRE(store->Assign(Pod(1)).ok());
  }
  Node node(clock, {.instance_id = "i-1"}, *OpenStore(fs, clock));
  CHECK(node.DeletePod(Pod(7)).status().code() == absl::StatusCode::kNotFound);
  const std::vector<enipool::Ec2Request> requests = node.Tick();
  REQUIRE(requests.size() == 1);
  std::vector<enipool::NetworkInterface> described(1);
  described[0].id = "eni-1";
  described[0].instance_id = "i-1";
  described[0].attachment_id = "eni-attach-1";
  described[0].device_index = 0;
  described[0].ipv6_prefixes = {other, saved};
  REQUIRE(node.OnResult(requests[0], enipool::Ec2Result{absl::OkStatus(), described}).ok());
  REQUIRE(node.ready());
  CHECK(node.prefix() == saved);
  CHECK(node.pool().Lookup(Pod(1)).has_value());
  CHECK(node.counters().stale_pods_dropped == 0);
}

TEST_CASE("A durable IPv6 node crashed at any byte of its journal restarts with what was acknowledged") {
  // One run writes the journal while recording, after each acknowledged
  // change, the file's length and the pods held; then each prefix of the
  // file (a crash in the middle of any write) is restarted on EC2.
  Ec2Fixture f;
  MemoryFileSystem fs;
  std::vector<std::pair<std::size_t, std::map<PodKey, Ipv6Address>>> acknowledged;
  Ipv6Prefix prefix;
  {
    std::optional<Node> node = f.Start(fs);
    prefix = *node->prefix();
    acknowledged.emplace_back(fs.files[kPath].data.size(), PodsOf(node->pool()));
    std::mt19937_64 rng(5);
    std::vector<int> live;
    for (int i = 0; i < 40; ++i) {
      f.clock.AdvanceTime(absl::Seconds(2));
      if (live.empty() || rng() % 3 != 0) {
        REQUIRE(node->AddPod(Pod(i)).ok());
        live.push_back(i);
      } else {
        const std::size_t k = rng() % live.size();
        REQUIRE(node->DeletePod(Pod(live[k])).ok());
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
      }
      acknowledged.emplace_back(fs.files[kPath].data.size(), PodsOf(node->pool()));
    }
  }
  const std::string full = fs.files[kPath].data;
  int restarts = 0;
  for (std::size_t cut = 0; cut <= full.size(); ++cut) {
    CAPTURE(cut);
    MemoryFileSystem crashed;
    crashed.files[kPath].data = full.substr(0, cut);
    crashed.files[kPath].synced = cut;
    std::optional<Node> node = f.Start(crashed);
    REQUIRE(node->prefix() == prefix);  // the /80 read back from EC2
    std::map<PodKey, Ipv6Address> want;  // the last change acknowledged within the cut
    for (const auto& [length, pods] : acknowledged) {
      if (length <= cut) want = pods;
    }
    REQUIRE(PodsOf(node->pool()) == want);
    // A new ADD never gets an address a restored pod holds.
    const auto fresh = node->AddPod(Pod(9999));
    REQUIRE(fresh.ok());
    for (const auto& [pod, address] : want) REQUIRE(address != fresh->address);
    ++restarts;
  }
  CHECK(restarts == static_cast<int>(full.size()) + 1);
}

}  // namespace
