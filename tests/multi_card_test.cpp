#include "enipool/multi_card.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/datastore.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/instance_limits.h"
#include "enipool/persist/journal.h"
#include "testing/controller_harness.h"
#include "testing/memory_file_system.h"
#include "testing/multi_card_add_model.h"

namespace {

using enipool::AddressMode;
using enipool::CardAssignment;
using enipool::ControllerConfig;
using enipool::InstanceLimits;
using enipool::Ipv4Prefix;
using enipool::ManualClock;
using enipool::MultiCardConfig;
using enipool::NetworkInterface;
using enipool::PodKey;
using Ec2 = enipool::ec2::SimulatedEc2<ManualClock>;
using Node = enipool::MultiCardNode<ManualClock>;

PodKey Pod(int i) { return PodKey{"aws-cni", absl::StrCat("pod-", i), "eth0"}; }

InstanceLimits P5() {
  const auto p5 = enipool::LookupInstanceLimits("p5.48xlarge");
  REQUIRE(p5.has_value());
  return *p5;
}

// docs/reference-behavior.md §1.1: card n > 0 keeps its checkpoint next to
// card 0's, "-nic-<n>" before the extension; a journal path without one
// gets it at the end.
TEST_CASE("CardStorePath names each card's checkpoint and journal as the reference names them") {
  CHECK(enipool::CardStorePath("/var/run/aws-node/ipam.json", 0) == "/var/run/aws-node/ipam.json");
  CHECK(enipool::CardStorePath("/var/run/aws-node/ipam.json", 2) ==
        "/var/run/aws-node/ipam-nic-2.json");
  CHECK(enipool::CardStorePath("/var/lib/enipool/journal", 31) ==
        "/var/lib/enipool/journal-nic-31");
  CHECK(enipool::CardStorePath("/var/lib/enipool.d/journal", 1) ==
        "/var/lib/enipool.d/journal-nic-1");
  CHECK(enipool::CardStorePath("/var/lib/.journal", 1) == "/var/lib/.journal-nic-1");
  CHECK(enipool::CardStorePath("ipam.json", 3) == "ipam-nic-3.json");
}

// docs/reference-behavior.md §1.2: CalculateRouteTableId.
TEST_CASE("Route tables are 254 and d + 1 on card 0 and 10000 + d + 100n on card n") {
  CHECK(enipool::RouteTableId(0, 0) == 254);
  CHECK(enipool::RouteTableId(0, 3) == 4);
  CHECK(enipool::RouteTableId(1, 0) == 10100);
  CHECK(enipool::RouteTableId(31, 1) == 13101);
  // The datastore of card n hands them out with each address.
  ManualClock clock;
  enipool::NodeDatastore<ManualClock> card5(AddressMode::kSecondaryIp, clock, absl::Seconds(30),
                                            enipool::Placement::kBestFit,
                                            enipool::OtherKind::kKept, 5);
  REQUIRE(card5.AddEni({.id = "eni-0a", .device_number = 1}).ok());
  REQUIRE(card5.AddCidr("eni-0a", *Ipv4Prefix::Parse("10.0.0.9/32")).ok());
  auto a = card5.Assign(Pod(1));
  REQUIRE(a.ok());
  CHECK(a->route_table_id == 10501);
  CHECK(card5.EniViews().front().route_table_id == 10501);
}

NetworkInterface Attached(std::string id, int card, int device, std::string type = "interface") {
  NetworkInterface ni;
  ni.id = std::move(id);
  ni.instance_id = "i-1";
  ni.attachment_id = "eni-attach-" + ni.id;
  ni.device_index = device;
  ni.network_card_index = card;
  ni.interface_type = std::move(type);
  return ni;
}

// docs/reference-behavior.md §1.1: markUnmanagedNetworkCards.
TEST_CASE("ManagedNetworkCards keeps card 0 alone without ENABLE_MULTI_NIC and skips EFA-only cards") {
  const std::vector<NetworkInterface> described = {
      Attached("eni-0", 0, 0),          Attached("eni-1", 1, 0, "efa-only"),
      Attached("eni-2", 2, 0, "efa-only"), Attached("eni-3", 2, 1, "interface"),
      Attached("eni-4", 3, 0, "efa")};
  CHECK(enipool::ManagedNetworkCards(5, false, "i-1", described) == std::vector<int>{0});
  // Card 1 only carries an EFA-only interface; card 2 has an ENA one too;
  // card 3's EFA (not EFA-only) interface and card 4's nothing leave them managed.
  CHECK(enipool::ManagedNetworkCards(5, true, "i-1", described) == std::vector<int>{0, 2, 3, 4});
  // Another instance's interfaces do not count.
  CHECK(enipool::ManagedNetworkCards(5, true, "i-2", described) ==
        std::vector<int>{0, 1, 2, 3, 4});
  CHECK(enipool::ManagedNetworkCards(1, true, "i-1", described) == std::vector<int>{0});
}

TEST_CASE("ENABLE_MULTI_NIC reads as Go's ParseBool and is off when unset or not a boolean") {
  auto with = [](std::optional<std::string> value) {
    return enipool::EnableMultiNicFromEnvironment(
        [&](absl::string_view name) -> std::optional<std::string> {
          return name == "ENABLE_MULTI_NIC" ? value : std::nullopt;
        });
  };
  CHECK(with("true"));
  CHECK(with("1"));
  CHECK(with("T"));
  CHECK_FALSE(with(std::nullopt));
  CHECK_FALSE(with("yes"));
  CHECK_FALSE(with("false"));
}

// docs/reference-behavior.md §4.1, §4.5, §4.8: cards above 0 behave as
// WARM_IP_TARGET = MINIMUM_IP_TARGET = 1 whatever the environment says; each
// card's ENI limit is the table's (docs/reference-behavior.md §6.2), lowered
// by MAX_ENI.
TEST_CASE("CardPoolConfig holds cards above 0 at WARM_IP_TARGET 1 and MINIMUM_IP_TARGET 1") {
  enipool::WarmPoolConfig node{.mode = AddressMode::kSecondaryIp, .warm_eni_target = 2,
                               .warm_ip_target = 0, .minimum_ip_target = 30};
  node.max_enis = 0;
  const InstanceLimits p5 = P5();
  const enipool::WarmPoolConfig card0 = enipool::CardPoolConfig(node, p5, 0);
  CHECK(card0.warm_eni_target == 2);
  CHECK(card0.warm_ip_target == 0);
  CHECK(card0.minimum_ip_target == 30);
  CHECK(card0.max_enis == 2);
  const enipool::WarmPoolConfig card7 = enipool::CardPoolConfig(node, p5, 7);
  CHECK(card7.warm_ip_target == 1);
  CHECK(card7.minimum_ip_target == 1);
  CHECK(card7.max_enis == 2);
  node.max_enis = 1;  // MAX_ENI=1
  CHECK(enipool::CardPoolConfig(node, p5, 7).max_enis == 1);
  CHECK(enipool::CardPoolConfig(node, p5, 32).max_enis == 0);  // not a card of p5
}

TEST_CASE("MultiCardNode refuses cards the instance type lacks, out of order, or without card 0, and stores that do not match them") {
  ManualClock clock;
  MultiCardConfig config;
  config.node.instance_id = "i-1";
  config.node.subnet_id = "subnet-1";
  config.node.pool.max_enis = 0;
  config.limits = P5();
  config.managed_cards = {0, 32};
  CHECK(Node::Create(clock, config).status() ==
        absl::InvalidArgumentError(
            "multi-card node: card 32 is not a card of p5.48xlarge (it has 32)"));
  config.managed_cards = {0, 2, 1};
  CHECK(Node::Create(clock, config).status().code() == absl::StatusCode::kInvalidArgument);
  config.managed_cards = {1};
  CHECK(Node::Create(clock, config).status().code() == absl::StatusCode::kInvalidArgument);
  // Over stores: one per managed card.
  config.managed_cards = {0, 1};
  std::vector<enipool::NodeDatastore<ManualClock>> stores;
  stores.emplace_back(enipool::AddressMode::kSecondaryIp, clock);
  CHECK(Node::Create(config, std::move(stores)).status() ==
        absl::InvalidArgumentError("multi-card node: 1 stores for 2 managed cards"));
  config.node.instance_id = "";
  CHECK(Node::Create(clock, config).status() ==
        absl::InvalidArgumentError("network card 0: controller config: instance_id is empty"));
}

// The simulated instance of a p5.48xlarge: 32 cards of 2 ENIs, 50 addresses
// each (its row of data/instance-limits.csv).
struct P5Node {
  explicit P5Node(int managed_cards, int max_pods = 100) : ec2(clock, Options()) {
    const InstanceLimits p5 = P5();
    REQUIRE(ec2.AddSubnet("subnet-a", *Ipv4Prefix::Parse("10.0.0.0/16")).ok());
    auto primary = ec2.AddInstance({.instance_id = "i-node", .subnet_id = "subnet-a",
                                    .max_enis = p5.max_enis, .ipv4_per_eni = p5.ipv4_per_eni,
                                    .network_cards = p5.network_cards});
    REQUIRE(primary.ok());
    config.node.pool.mode = AddressMode::kSecondaryIp;
    config.node.pool.max_enis = 0;
    config.node.pool.ipv4_per_eni = p5.ipv4_per_eni;
    config.node.pool.max_pods = max_pods;
    config.node.pool.warm_ip_target = 5;
    config.node.pool.minimum_ip_target = 10;
    config.node.instance_id = "i-node";
    config.node.subnet_id = "subnet-a";
    config.limits = p5;
    auto described = ec2.DescribeNetworkInterfaces({.eni_ids = {}, .instance_id = "i-node"});
    REQUIRE(described.ok());
    config.managed_cards = enipool::ManagedNetworkCards(managed_cards, true, "i-node", *described);
  }
  static enipool::ec2::SimulatedEc2Options Options() {
    enipool::ec2::SimulatedEc2Options options;
    options.latency = enipool::ec2::LatencyModel::Zero();
    options.throttle = enipool::ec2::ThrottleConfig::Disabled();
    return options;
  }
  auto Sleeper() {
    return [this](absl::Time until) { clock.SetTime(until); };
  }

  ManualClock clock{absl::FromUnixSeconds(1'700'000'000)};
  Ec2 ec2;
  MultiCardConfig config;
};

template <typename N>
absl::Status Converge(N& node, P5Node& world, int max_checks = 100) {
  for (int i = 0; i < max_checks; ++i) {
    auto calls = enipool::RunMultiCardPoolCheck(node, world.ec2, world.clock, world.Sleeper());
    if (!calls.ok()) return calls.status();
    world.clock.AdvanceTime(absl::Seconds(5));
    if (*calls == 0) return absl::OkStatus();
  }
  return absl::DeadlineExceededError("no convergence");
}

// What every card of a node must satisfy against EC2: its datastore holds
// exactly the node's ENIs on its card (so nothing leaked and nothing is
// held twice), each on its card's route tables.
template <typename N>
void CheckCardsAgainstEc2(N& node, const Ec2& ec2) {
  std::map<int, std::set<std::string>> attached;
  for (const NetworkInterface& ni : ec2.AttachedEnis("i-node")) {
    attached[ni.network_card_index].insert(ni.id);
  }
  for (std::size_t k = 0; k < node.card_count(); ++k) {
    const int card = node.cards()[k];
    CAPTURE(card);
    REQUIRE(enipool::testing::CheckNodeAgainstEc2(node.controller(k), ec2).ok());
    std::set<std::string> held;
    for (const enipool::EniView& view : node.controller(k).pool().EniViews()) {
      held.insert(view.id.ToString());
      const NetworkInterface* ni = ec2.FindEni(view.id.view());
      REQUIRE(ni != nullptr);
      CHECK(ni->network_card_index == card);
      CHECK(view.route_table_id == enipool::RouteTableId(card, ni->device_index));
    }
    CHECK(held == attached[card]);
  }
}

// docs/reference-behavior.md §1.1, §2.1, §4.1, §6.2: a p5.48xlarge-like
// node with ENABLE_MULTI_NIC converges with every card > 0 at W = M = 1,
// card 0 at the node's knobs, each card's ENIs on its own card, and pods
// spilling to card 1 once card 0 is full.
TEST_CASE("A p5.48xlarge-like multi-card node converges on SimulatedEc2 with per-card pools") {
  P5Node world(32);
  REQUIRE(world.config.managed_cards.size() == 32);
  auto node = Node::Create(world.clock, world.config);
  REQUIRE(node.ok());
  REQUIRE(enipool::StartMultiCardNode(*node, world.ec2, world.clock, world.Sleeper()).ok());
  REQUIRE(Converge(*node, world).ok());
  CheckCardsAgainstEc2(*node, world.ec2);
  // Card 0: MINIMUM_IP_TARGET 10; every other card: one ENI with W = M = 1.
  CHECK(node->controller(0).pool().Stats().total_ips >= 10);
  for (std::size_t k = 1; k < node->card_count(); ++k) {
    CAPTURE(k);
    const enipool::PoolStats stats = node->controller(k).pool().Stats();
    CHECK(stats.enis == 1);
    CHECK(stats.total_ips == 1);
    const enipool::EniView eni = node->controller(k).pool().EniViews().front();
    CHECK(eni.device_number == 0);  // device 0 is free on cards > 0
    CHECK(eni.route_table_id == 10000 + 100 * static_cast<int>(k));
  }
  // Pods come faster than card 0 refills: an ADD that finds card 0 empty
  // falls through to card 1, and so on (kubelet retries a failed ADD after
  // a pool check). Every pod lands on the first card that had a free
  // address when it came.
  int placed = 0;
  std::map<int, int> per_card;
  for (int i = 0; i < 100; ++i) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      std::optional<int> first_free;
      for (std::size_t k = 0; k < node->card_count() && !first_free; ++k) {
        const enipool::PoolStats s = node->controller(k).pool().Stats();
        if (s.total_ips - s.assigned_ips - s.cooling_ips > 0) first_free = node->cards()[k];
      }
      auto a = node->AddPod(Pod(i));
      REQUIRE(a.ok() == first_free.has_value());
      if (a.ok()) {
        CHECK(a->network_card == *first_free);
        ++placed;
        per_card[a->network_card] += 1;
        break;
      }
      REQUIRE(a.status().code() == absl::StatusCode::kResourceExhausted);
      REQUIRE(enipool::RunMultiCardPoolCheck(*node, world.ec2, world.clock, world.Sleeper()).ok());
      world.clock.AdvanceTime(absl::Seconds(5));
    }
  }
  CHECK(placed == 100);
  CHECK(per_card[0] > 0);
  CHECK(per_card[1] > 0);
  REQUIRE(Converge(*node, world).ok());
  CheckCardsAgainstEc2(*node, world.ec2);
  // Converged again: card 0 keeps its 5 warm addresses (WARM_IP_TARGET=5);
  // every other card keeps one free (W = M = 1), whatever its pods.
  const enipool::PoolStats card0 = node->controller(0).pool().Stats();
  CHECK(card0.available_ips >= 5);
  for (std::size_t k = 1; k < node->card_count(); ++k) {
    CAPTURE(k);
    const enipool::PoolStats stats = node->controller(k).pool().Stats();
    CHECK(stats.available_ips >= 1);
    CHECK(stats.total_ips >= 1);
  }
  // A multi-address pod takes one address on every managed card.
  auto multi = node->AddMultiCardPod(Pod(1000));
  REQUIRE(multi.ok());
  REQUIRE(multi->size() == 32);
  for (std::size_t k = 0; k < 32; ++k) CHECK((*multi)[k].network_card == static_cast<int>(k));
}

// docs/reference-behavior.md §4.9: one insufficient-address back-off for
// every card.
TEST_CASE("An insufficient-address answer on one card holds every card's increases") {
  P5Node world(3);
  auto node = Node::Create(world.clock, world.config);
  REQUIRE(node.ok());
  REQUIRE(enipool::StartMultiCardNode(*node, world.ec2, world.clock, world.Sleeper()).ok());
  REQUIRE(Converge(*node, world).ok());
  const absl::Time at = world.clock.Now();
  node->controller(1).HoldIncreasesSince(at);
  std::vector<enipool::Ec2Request> requests;
  // Card 2's pool runs low; its increase waits 120 s like card 1's.
  auto taken = node->controller(2).AddPod(Pod(2));
  REQUIRE(taken.ok());
  node->Tick(world.clock.Now(), requests);
  CHECK(node->controller(2).last_insufficient_addresses() == at);
  CHECK(node->controller(0).last_insufficient_addresses() == at);
  for (const enipool::Ec2Request& r : requests) {
    CHECK_FALSE(std::holds_alternative<enipool::CreateNetworkInterfaceRequest>(r.call));
    CHECK_FALSE(std::holds_alternative<enipool::AssignPrivateIpAddressesRequest>(r.call));
  }
}

TEST_CASE("MultiCardNode's ADD falls through the cards as a simple model says, over random runs") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
    const int cards = 2 + static_cast<int>(rng() % 4);
    MultiCardConfig config;
    config.node.instance_id = "i-1";
    config.node.subnet_id = "subnet-1";
    config.node.pool.mode = AddressMode::kSecondaryIp;
    config.node.pool.ip_cooldown = absl::ZeroDuration();
    config.node.pool.max_enis = 0;
    config.limits = {.name = "x9.multi", .max_enis = 2, .ipv4_per_eni = 10,
                     .network_cards = cards, .enis_all_cards = 2 * cards};
    for (int c = 0; c < cards; ++c) config.managed_cards.push_back(c);
    auto node = Node::Create(clock, config);
    REQUIRE_MESSAGE(node.ok(), node.status().ToString());
    enipool::testing::MultiCardAddModel model;
    std::uint32_t next_address = 0x0A000001;
    for (int c = 0; c < cards; ++c) {
      const int capacity = static_cast<int>(rng() % 6);
      model.capacity.push_back(capacity);
      model.used.push_back(0);
      auto& store = node->controller(static_cast<std::size_t>(c)).datastore();
      const std::string eni = absl::StrCat("eni-", c);
      REQUIRE(store.AddEni({.id = eni, .device_number = c == 0 ? 0 : 1}).ok());
      for (int i = 0; i < capacity; ++i) {
        REQUIRE(store.AddCidr(eni, Ipv4Prefix::FromAddress(enipool::Ipv4Address(next_address++)))
                    .ok());
      }
    }
    for (int step = 0; step < 400; ++step) {
      clock.AdvanceTime(absl::Seconds(1));  // released addresses are free again
      const int pod = static_cast<int>(rng() % 24);
      CAPTURE(step);
      CAPTURE(pod);
      const bool multi_pod = pod >= 16;
      switch (rng() % 3) {
        case 0:
        case 1:
          if (multi_pod) {
            auto got = node->AddMultiCardPod(Pod(pod));
            const bool want = model.AddMulti(pod);
            REQUIRE(got.ok() == want);
            if (got.ok()) CHECK(got->size() == static_cast<std::size_t>(cards));
            if (!got.ok()) CHECK(got.status().code() == absl::StatusCode::kResourceExhausted);
          } else {
            auto got = node->AddPod(Pod(pod));
            const std::optional<int> want = model.Add(pod);
            REQUIRE(got.ok() == want.has_value());
            if (got.ok()) CHECK(got->network_card == *want);
            if (!got.ok()) CHECK(got.status().code() == absl::StatusCode::kResourceExhausted);
          }
          break;
        default: {
          auto got = node->DeletePod(Pod(pod));
          const bool want = model.Delete(pod) > 0;
          REQUIRE(got.ok() == want);
          if (got.ok()) CHECK(got->size() == (multi_pod ? static_cast<std::size_t>(cards) : 1u));
          break;
        }
      }
      for (int c = 0; c < cards; ++c) {
        CHECK(node->controller(static_cast<std::size_t>(c)).pool().Stats().assigned_ips ==
              model.used[static_cast<std::size_t>(c)]);
      }
    }
  }
}

using Store = enipool::JournaledDatastore<ManualClock>;
using DurableMultiCardNode = enipool::MultiCardNode<ManualClock, enipool::ReferencePolicy, Store>;

// Opens every managed card's journal (CardStorePath()) and builds the node.
absl::StatusOr<DurableMultiCardNode> OpenDurable(P5Node& world,
                                                 enipool::testing::MemoryFileSystem& fs,
                                                 const std::string& base) {
  std::vector<Store> stores;
  for (std::size_t k = 0; k < world.config.managed_cards.size(); ++k) {
    Store::Options options;
    options.mode = world.config.node.pool.mode;
    options.journal.sync = enipool::SyncPolicy::kNone;
    options.journal.file_system = &fs;
    options.journal.salt_seed = k;
    options.network_card = world.config.managed_cards[k];
    ENIPOOL_ASSIGN_OR_RETURN(
        Store store, Store::Open(enipool::CardStorePath(base, options.network_card),
                                 world.clock, options));
    stores.push_back(std::move(store));
  }
  return DurableMultiCardNode::Create(world.config, std::move(stores));
}

// docs/reference-behavior.md §1.1, §8.1: each card keeps its own journal
// (CardStorePath()); a node that stops at any point comes back from them
// with every pod's addresses on every card and every cooldown, and adopts
// nothing twice.
TEST_CASE("A multi-card node's journals bring every card back after a restart") {
  P5Node world(4);
  enipool::testing::MemoryFileSystem fs;
  const std::string base = "/var/lib/enipool/journal";
  auto open = [&] { return OpenDurable(world, fs, base); };
  std::map<std::string, std::vector<CardAssignment>> before;
  std::vector<std::int64_t> cooling_before;
  {
    auto node = open();
    REQUIRE(node.ok());
    REQUIRE(enipool::StartMultiCardNode(*node, world.ec2, world.clock, world.Sleeper()).ok());
    REQUIRE(Converge(*node, world).ok());
    for (int i = 0; i < 12; ++i) {
      // Cards > 0 keep one free address (W = M = 1): a multi-card pod often
      // waits for a pool check, as kubelet retries its ADD.
      absl::StatusOr<std::vector<CardAssignment>> a;
      for (int attempt = 0; attempt < 30; ++attempt) {
        a = node->AddMultiCardPod(Pod(i));
        if (a.ok()) break;
        REQUIRE(enipool::RunMultiCardPoolCheck(*node, world.ec2, world.clock, world.Sleeper())
                    .ok());
        world.clock.AdvanceTime(absl::Seconds(5));
      }
      REQUIRE_MESSAGE(a.ok(), a.status().ToString());
    }
    for (int i = 0; i < 12; i += 3) REQUIRE(node->DeletePod(Pod(i)).ok());  // cooling now
    absl::StatusOr<CardAssignment> single;
    for (int attempt = 0; attempt < 30 && !single.ok(); ++attempt) {
      single = node->AddPod(Pod(100));
      if (single.ok()) break;
      REQUIRE(enipool::RunMultiCardPoolCheck(*node, world.ec2, world.clock, world.Sleeper()).ok());
      world.clock.AdvanceTime(absl::Seconds(5));
    }
    REQUIRE_MESSAGE(single.ok(), single.status().ToString());
    for (int i = 0; i < 12; ++i) before[Pod(i).ToString()] = node->Lookup(Pod(i));
    before[Pod(100).ToString()] = node->Lookup(Pod(100));
    for (std::size_t k = 0; k < node->card_count(); ++k) {
      cooling_before.push_back(node->controller(k).pool().Stats().cooling_ips);
    }
  }  // the node stops here: only its journals and EC2 remain
  for (int card : world.config.managed_cards) {
    CHECK(fs.ReadFile(enipool::CardStorePath(base, card)).ok());
  }
  CHECK(fs.ReadFile("/var/lib/enipool/journal-nic-1").ok());
  auto node = open();
  REQUIRE(node.ok());
  for (std::size_t k = 0; k < node->card_count(); ++k) {
    CAPTURE(k);
    CHECK(node->controller(k).pool().Stats().cooling_ips == cooling_before[k]);
    CHECK(cooling_before[k] > 0);
  }
  for (const auto& [key, held] : before) {
    CAPTURE(key);
    const int i = key == Pod(100).ToString() ? 100 : std::stoi(key.substr(key.find("pod-") + 4));
    CHECK(node->Lookup(Pod(i)) == held);
  }
  REQUIRE(enipool::StartMultiCardNode(*node, world.ec2, world.clock, world.Sleeper()).ok());
  REQUIRE(Converge(*node, world).ok());
  CheckCardsAgainstEc2(*node, world.ec2);
  CHECK(node->TakeLostPods().empty());
  for (const auto& [key, held] : before) {
    const int i = key == Pod(100).ToString() ? 100 : std::stoi(key.substr(key.find("pod-") + 4));
    CHECK(node->Lookup(Pod(i)) == held);
  }
}

}  // namespace

namespace {

TEST_CASE("NodeController refuses a store that keeps another network card than its config") {
  ManualClock clock;
  ControllerConfig config;
  config.instance_id = "i-1";
  config.subnet_id = "subnet-1";
  config.pool.max_enis = 3;
  config.pool.ipv4_per_eni = 10;
  config.network_card = 2;
  enipool::NodeDatastore<ManualClock> card1(config.pool.mode, clock, config.pool.ip_cooldown,
                                            config.placement, enipool::OtherKind::kKept, 1);
  CHECK(enipool::NodeController<ManualClock>::Create(config, std::move(card1)).status() ==
        absl::InvalidArgumentError(
            "controller config: the store keeps network card 1, the config names card 2"));
  config.network_card = 32;
  CHECK(enipool::NodeController<ManualClock>::Create(clock, config).status() ==
        absl::InvalidArgumentError("controller config: network_card 32 is not in 0..31"));
  config.network_card = 2;
  auto controller = enipool::NodeController<ManualClock>::Create(clock, config);
  REQUIRE(controller.ok());
  CHECK(controller->pool().network_card() == 2);
}

}  // namespace

namespace {


// ENIPOOL_MULTI_CARD_RESTART_SEEDS=<n> runs the crash test over n seeds
// (default 3, for CI).
int MultiCardSeedCount() {
  const char* text = std::getenv("ENIPOOL_MULTI_CARD_RESTART_SEEDS");
  return text == nullptr ? 3 : std::max(1, std::atoi(text));
}


// docs/reference-behavior.md §1.1, §8.1: the process may stop after any EC2
// call (the answer lost); each restart replays every card's journal, and
// the node keeps every pod's addresses on every card, leaks no ENI, and
// holds no ENI of another card.
TEST_CASE("A multi-card node stopped after random EC2 calls keeps its pods on every card") {
  int total_restarts = 0;
  for (int seed = 1; seed <= MultiCardSeedCount(); ++seed) {
    CAPTURE(seed);
    std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
    auto uniform = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
    P5Node world(3);
    world.config.node.pool.warm_ip_target = 1 + uniform(3);
    world.config.node.pool.minimum_ip_target = uniform(6);
    enipool::testing::MemoryFileSystem fs;
    std::optional<DurableMultiCardNode> node;
    std::map<int, std::vector<CardAssignment>> model;  // pod → its addresses, card order
    int restarts = 0;
    auto restart = [&] {
      auto opened = OpenDurable(world, fs, "journal");
      REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
      node.emplace(*std::move(opened));
      // The journals alone give back every pod on every card.
      for (const auto& [pod, held] : model) CHECK(node->Lookup(Pod(pod)) == held);
      REQUIRE(enipool::StartMultiCardNode(*node, world.ec2, world.clock, world.Sleeper()).ok());
      CHECK(node->TakeLostPods().empty());
    };
    restart();
    for (int step = 0; step < 160; ++step) {
      CAPTURE(step);
      if (!node.has_value()) {
        restart();
        ++restarts;
      }
      const int what = uniform(10);
      const int pod = uniform(20);
      if (what < 3) {
        absl::StatusOr<std::vector<CardAssignment>> a;
        if (pod < 14) {
          absl::StatusOr<CardAssignment> single = node->AddPod(Pod(pod));
          a = single.ok() ? absl::StatusOr<std::vector<CardAssignment>>(
                                std::vector<CardAssignment>{*single})
                          : absl::StatusOr<std::vector<CardAssignment>>(single.status());
        } else {
          a = node->AddMultiCardPod(Pod(pod));
        }
        if (a.ok()) {
          if (model.contains(pod)) CHECK(*a == model[pod]);
          model[pod] = *a;
        }
      } else if (what < 5) {
        auto released = node->DeletePod(Pod(pod));
        CHECK(released.ok() == model.contains(pod));
        if (released.ok()) {
          CHECK(*released == model[pod]);
          model.erase(pod);
        }
      } else {
        // One pool round; the process may stop right after a call.
        const std::uint64_t stop_after =
            uniform(3) == 0 ? world.ec2.stats().calls + 1 + static_cast<std::uint64_t>(uniform(4))
                            : ~std::uint64_t{0};
        std::vector<enipool::Ec2Request> requests;
        node->Tick(world.clock.Now(), requests);
        for (std::size_t i = 0; i < requests.size() && node.has_value(); ++i) {
          const enipool::Ec2Request request = requests[i];
          const enipool::Ec2Result result = enipool::Dispatch(world.ec2, request.call);
          if (world.ec2.stats().calls >= stop_after) {
            node.reset();  // stopped: the answer is lost, the journals stay
            break;
          }
          REQUIRE(node->OnResult(request, result, world.clock.Now(), requests).ok());
        }
      }
      world.clock.AdvanceTime(absl::Seconds(uniform(12)));
    }
    if (!node.has_value()) {
      restart();
      ++restarts;
    }
    // Rounds with scheduled steps (a delete 2 s after its detach) run out.
    REQUIRE(Converge(*node, world).ok());
    world.clock.AdvanceTime(absl::Seconds(120));
    REQUIRE(Converge(*node, world).ok());
    CheckCardsAgainstEc2(*node, world.ec2);
    for (const auto& [pod, held] : model) CHECK(node->Lookup(Pod(pod)) == held);
    CHECK(world.ec2.unattached_eni_count() == 0);
    total_restarts += restarts;
  }
  CHECK(total_restarts >= MultiCardSeedCount());
}

}  // namespace

namespace {

// The reference's datastoreTargetState for network card `card`, written out
// from docs/reference-behavior.md §4.5 as a model: cards > 0 run W = M = 1
// and keep short and over in addresses; card 0 in prefix mode converts them.
enipool::TargetState ReferenceTargetState(int card, int w, int m, bool pd,
                                          const enipool::PoolStats& s) {
  if (card > 0) {
    w = 1;
    m = 1;
  } else if (w == 0 && m == 0) {
    return {};
  }
  const std::int64_t available = s.total_ips - s.assigned_ips;
  std::int64_t short_ips = std::max<std::int64_t>(w - available, 0);
  short_ips = std::max<std::int64_t>(short_ips, m - s.total_ips);
  std::int64_t over = std::max<std::int64_t>(available - w, 0);
  over = std::max<std::int64_t>(std::min<std::int64_t>(over, s.total_ips - m), 0);
  if (card == 0 && pd) {
    const auto ceil16 = [](std::int64_t x) { return x <= 0 ? 0 : (x + 15) / 16; };
    std::int64_t over_prefixes = std::max<std::int64_t>(
        std::min<std::int64_t>(s.free_prefixes, s.total_prefixes - ceil16(s.assigned_ips + w)), 0);
    over_prefixes =
        std::max<std::int64_t>(std::min<std::int64_t>(over_prefixes, s.total_prefixes - ceil16(m)), 0);
    return {static_cast<int>(ceil16(short_ips)), static_cast<int>(over_prefixes), true};
  }
  return {static_cast<int>(short_ips), static_cast<int>(over), true};
}

// docs/reference-behavior.md §4.5: "PD mode (NIC 0 only): converted to
// prefixes". One pod-free /28 on card 1 is 15 addresses over W = 1, so the
// reference's card 1 releases it (and takes one again when it is short);
// the same /28 on card 0 at W = M = 1 is what the targets need.
TEST_CASE("Cards above 0 keep the warm targets in addresses in prefix mode as the reference does") {
  enipool::WarmPoolConfig node;
  node.mode = AddressMode::kPrefix;
  node.warm_ip_target = 1;
  node.minimum_ip_target = 1;
  node.warm_prefix_target = 1;
  const InstanceLimits p5 = P5();
  const enipool::WarmPoolConfig card0 = enipool::CardPoolConfig(node, p5, 0);
  const enipool::WarmPoolConfig card1 = enipool::CardPoolConfig(node, p5, 1);
  CHECK(card0.targets_in_prefixes);
  CHECK_FALSE(card1.targets_in_prefixes);
  enipool::PoolStats one_free_prefix;
  one_free_prefix.total_ips = 16;
  one_free_prefix.available_ips = 16;
  one_free_prefix.enis = 1;
  one_free_prefix.total_prefixes = 1;
  one_free_prefix.free_prefixes = 1;
  CHECK(enipool::ComputeTargetState(card0, one_free_prefix) == enipool::TargetState{0, 0, true});
  CHECK(enipool::ComputeTargetState(card1, one_free_prefix) == enipool::TargetState{0, 15, true});
  CHECK_FALSE(enipool::IsPoolTooHigh(card0, one_free_prefix));
  CHECK(enipool::IsPoolTooHigh(card1, one_free_prefix));
  // Short by one address: one prefix asked for on either card.
  const enipool::PoolStats empty{};
  CHECK(enipool::PrefixesNeeded(card0, empty) == 1);
  CHECK(enipool::PrefixesNeeded(card1, empty) == 1);
}

TEST_CASE("Each card's warm targets follow the reference's datastoreTargetState over random pools") {
  std::mt19937_64 rng(11);
  const InstanceLimits p5 = P5();
  for (int round = 0; round < 2000; ++round) {
    CAPTURE(round);
    enipool::WarmPoolConfig node;
    const bool pd = rng() % 2 == 0;
    node.mode = pd ? AddressMode::kPrefix : AddressMode::kSecondaryIp;
    node.warm_ip_target = static_cast<int>(rng() % 40);
    node.minimum_ip_target = static_cast<int>(rng() % 40);
    const int card = static_cast<int>(rng() % 3);
    const enipool::WarmPoolConfig config = enipool::CardPoolConfig(node, p5, card);
    enipool::PoolStats s;
    const std::int64_t cidrs = static_cast<std::int64_t>(rng() % 8);
    s.total_ips = cidrs * (pd ? 16 : 1);
    s.assigned_ips = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(s.total_ips + 1));
    s.available_ips = s.total_ips - s.assigned_ips;
    if (pd) {
      s.total_prefixes = cidrs;
      // Fully free prefixes: at most those the pods leave untouched.
      const std::int64_t untouched = (s.total_ips - s.assigned_ips) / 16;
      s.free_prefixes =
          static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(untouched + 1));
    }
    CAPTURE(card);
    CAPTURE(pd);
    CHECK(enipool::ComputeTargetState(config, s) ==
          ReferenceTargetState(card, node.warm_ip_target, node.minimum_ip_target, pd, s));
  }
}

// docs/reference-behavior.md §7.5: the SDK's retryer belongs to the one EC2
// client of the node, so its retry quota is spent by every card's throttled
// calls together.
TEST_CASE("The cards of a node share one throttle retry quota as the reference's one EC2 client does") {
  P5Node world(3);
  world.config.node.throttle.retry_quota = 10;
  world.config.node.throttle.retry_cost = 5;
  auto node = Node::Create(world.clock, world.config);
  REQUIRE(node.ok());
  CHECK(node->throttle_retry_tokens() == 10);
  std::vector<enipool::Ec2Request> requests;
  node->Start(world.clock.Now(), requests);
  REQUIRE(requests.size() == 3);  // every card's startup describe
  const enipool::Ec2Result throttled{
      enipool::Ec2Error(enipool::Ec2ErrorCode::kRequestLimitExceeded, "Rate exceeded"), {}};
  std::vector<enipool::Ec2Request> follow;
  for (const enipool::Ec2Request& r : requests) {
    REQUIRE(node->OnResult(r, throttled, world.clock.Now(), follow).ok());
  }
  // Cards 0 and 1 took the quota's two re-sends; card 2 found it empty.
  CHECK(node->throttle_retry_tokens() == 0);
  CHECK(node->controller(0).counters().throttle_retries == 1);
  CHECK(node->controller(1).counters().throttle_retries == 1);
  CHECK(node->controller(2).counters().throttle_retries == 0);
  CHECK(node->controller(2).counters().throttle_quota_refusals == 1);
  // Successes refund the node's quota, whichever card answers.
  REQUIRE(enipool::StartMultiCardNode(*node, world.ec2, world.clock, world.Sleeper()).ok());
  CHECK(node->throttle_retry_tokens() > 0);
}

// docs/reference-behavior.md §4.3: the reference stamps one last-decrease
// time after a pool check in which any card decreased; no card decreases
// within 30 s of it.
TEST_CASE("A decrease on one card holds every card's decreases for 30 s") {
  P5Node world(3);
  auto node = Node::Create(world.clock, world.config);
  REQUIRE(node.ok());
  REQUIRE(enipool::StartMultiCardNode(*node, world.ec2, world.clock, world.Sleeper()).ok());
  REQUIRE(Converge(*node, world).ok());
  // Card 0 grows for 30 pods, which then leave: it is too high once their
  // cooldown has passed.
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<CardAssignment> a = node->AddPod(Pod(i));
    for (int attempt = 0; attempt < 20 && !a.ok(); ++attempt) {
      REQUIRE(enipool::RunMultiCardPoolCheck(*node, world.ec2, world.clock, world.Sleeper()).ok());
      world.clock.AdvanceTime(absl::Seconds(5));
      a = node->AddPod(Pod(i));
    }
    REQUIRE(a.ok());
  }
  REQUIRE(Converge(*node, world).ok());
  for (int i = 0; i < 30; ++i) REQUIRE(node->DeletePod(Pod(i)).ok());
  world.clock.AdvanceTime(absl::Seconds(31));
  // Card 2 has just decreased.
  const absl::Time at = world.clock.Now();
  node->controller(2).HoldDecreasesSince(at);
  auto unassigns = [](const std::vector<enipool::Ec2Request>& rs) {
    return std::count_if(rs.begin(), rs.end(), [](const enipool::Ec2Request& r) {
      return std::holds_alternative<enipool::UnassignPrivateIpAddressesRequest>(r.call);
    });
  };
  for (int s = 0; s <= 30; s += 5) {
    std::vector<enipool::Ec2Request> requests;
    node->Tick(at + absl::Seconds(s), requests);
    CHECK(unassigns(requests) == 0);
    CHECK(node->controller(0).last_decrease() == at);
    CHECK(node->controller(1).last_decrease() == at);
  }
  std::vector<enipool::Ec2Request> requests;
  node->Tick(at + absl::Seconds(31), requests);
  CHECK(unassigns(requests) > 0);
}

// docs/reference-behavior.md §4.9, §7.1: the leaked-ENI sweep describes
// every ENI of the account, whatever its card; the reference runs it once
// per node, not once per datastore.
TEST_CASE("A multi-card node runs the leaked-ENI sweep once per node") {
  P5Node world(4);
  world.config.node.leaked_eni_sweep = true;
  auto node = Node::Create(world.clock, world.config);
  REQUIRE(node.ok());
  REQUIRE(enipool::StartMultiCardNode(*node, world.ec2, world.clock, world.Sleeper()).ok());
  CHECK(node->controller(0).next_leak_sweep() != absl::InfiniteFuture());
  for (std::size_t k = 1; k < node->card_count(); ++k) {
    CHECK(node->controller(k).next_leak_sweep() == absl::InfiniteFuture());
  }
  // Three hours of pool checks: the sweep runs about hourly, on card 0 only.
  for (int minute = 0; minute < 180; ++minute) {
    REQUIRE(enipool::RunMultiCardPoolCheck(*node, world.ec2, world.clock, world.Sleeper()).ok());
    world.clock.AdvanceTime(absl::Minutes(1));
  }
  CHECK(node->controller(0).counters().leak_sweeps >= 2);
  CHECK(node->controller(0).counters().leak_sweeps <= 4);
  for (std::size_t k = 1; k < node->card_count(); ++k) {
    CHECK(node->controller(k).counters().leak_sweeps == 0);
  }
}

// docs/reference-behavior.md §8.3: the reference finishes its startup on
// every card before its pool loop begins. A restart's sweep deletes every
// unattached ENI with the node's description, so no card may be creating
// one meanwhile: no card starts a pool check while any card's sweep is
// outstanding, and the ENI the crash left is deleted.
TEST_CASE("No card starts a pool check while another card's restart sweep is outstanding") {
  P5Node world(2);
  enipool::testing::MemoryFileSystem fs;
  {
    auto node = OpenDurable(world, fs, "journal");
    REQUIRE(node.ok());
    std::vector<enipool::Ec2Request> requests;
    node->Start(world.clock.Now(), requests);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const enipool::Ec2Request r = requests[i];
      REQUIRE(node->OnResult(r, enipool::Dispatch(world.ec2, r.call), world.clock.Now(), requests)
                  .ok());
    }
    REQUIRE(node->started());
    requests.clear();
    node->Tick(world.clock.Now(), requests);
    // Card 1 has no ENI yet: it creates one. The process stops right after
    // EC2 made it, before the answer was applied.
    bool created = false;
    for (const enipool::Ec2Request& r : requests) {
      if (!std::holds_alternative<enipool::CreateNetworkInterfaceRequest>(r.call)) continue;
      REQUIRE(enipool::Dispatch(world.ec2, r.call).ok());
      created = true;
    }
    REQUIRE(created);
  }
  REQUIRE(world.ec2.unattached_eni_count() == 1);
  auto node = OpenDurable(world, fs, "journal");
  REQUIRE(node.ok());
  std::vector<enipool::Ec2Request> requests;
  node->Start(world.clock.Now(), requests);
  std::vector<enipool::Ec2Request> sweeps;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const enipool::Ec2Request r = requests[i];
    const auto* describe = std::get_if<enipool::DescribeNetworkInterfacesRequest>(&r.call);
    if (describe != nullptr && !describe->description.empty()) {
      sweeps.push_back(r);  // held back for now
      continue;
    }
    REQUIRE(node->OnResult(r, enipool::Dispatch(world.ec2, r.call), world.clock.Now(), requests)
                .ok());
  }
  REQUIRE(sweeps.size() == 1);
  REQUIRE(node->started());
  CHECK(node->controller(1).sweeping());
  CHECK(node->holding_pool_checks());
  // Card 0 is started, idle and short of its targets, yet asks nothing.
  CHECK(enipool::IsPoolTooLow(node->controller(0).config().pool,
                              node->controller(0).pool().Stats()));
  for (int s = 0; s < 30; s += 5) {
    std::vector<enipool::Ec2Request> held;
    node->Tick(world.clock.Now() + absl::Seconds(s), held);
    CHECK(held.empty());
  }
  requests.clear();
  REQUIRE(node->OnResult(sweeps.front(), enipool::Dispatch(world.ec2, sweeps.front().call),
                         world.clock.Now(), requests)
              .ok());
  CHECK_FALSE(node->holding_pool_checks());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const enipool::Ec2Request r = requests[i];
    REQUIRE(node->OnResult(r, enipool::Dispatch(world.ec2, r.call), world.clock.Now(), requests)
                .ok());
  }
  CHECK(world.ec2.unattached_eni_count() == 0);
  REQUIRE(Converge(*node, world).ok());
  CheckCardsAgainstEc2(*node, world.ec2);
  CHECK(world.ec2.unattached_eni_count() == 0);
  CHECK(node->controller(0).pool().Stats().total_ips >= 10);
}

}  // namespace
