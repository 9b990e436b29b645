// An IPv6 node on several network cards (ENABLE_IPv6 + ENABLE_MULTI_NIC;
// docs/reference-behavior.md §1.1, §4.12, §4.13): each extra managed card
// gets an ENI created with one /80 and attached on that card, a
// multi-NIC pod one address per card, the found ENIs the node's tags, and
// the per-card journals bring every pod back at a restart.
#include "enipool/ipv6_multi_card.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/ec2/backend.h"
#include "enipool/ec2/ec2_api.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/eni_class.h"
#include "enipool/instance_limits.h"
#include "enipool/ipv6.h"
#include "enipool/ipv6_node.h"
#include "enipool/multi_card.h"
#include "enipool/persist/ipv6_journal.h"
#include "testing/memory_file_system.h"

namespace {

using enipool::Ec2Tag;
using enipool::Ipv6Address;
using enipool::Ipv6Prefix;
using enipool::ManualClock;
using enipool::NetworkInterface;
using enipool::PodKey;
using enipool::ec2::CallKind;
using enipool::testing::MemoryFileSystem;
using Ec2 = enipool::ec2::SimulatedEc2<ManualClock>;
using Node = enipool::Ipv6MultiCardNode<ManualClock>;
using Store = enipool::JournaledIpv6Datastore<ManualClock>;
using DurableNode = enipool::Ipv6MultiCardNode<ManualClock, Store>;

constexpr char kPath[] = "/var/lib/enipool/journal";
const Ipv6Prefix kSubnetBlock = *Ipv6Prefix::Parse("2600:1f14:abc:1::/64");

PodKey Pod(int n) { return PodKey{"aws-cni", absl::StrCat("sandbox-", n), "eth0"}; }

// An account with one dual-stack subnet and one instance of `type`, its
// primary ENI carrying a security group.
struct Account {
  ManualClock clock{absl::FromUnixSeconds(1'700'000'000)};
  Ec2 ec2{clock, {.seed = 7,
                  .latency = enipool::ec2::LatencyModel::Zero(),
                  .throttle = enipool::ec2::ThrottleConfig::Disabled()}};
  enipool::InstanceLimits limits;
  std::string primary;

  explicit Account(const char* type) : limits(*enipool::FindInstanceLimits(type)) {
    REQUIRE(ec2.AddSubnet("subnet-1", *enipool::Ipv4Prefix::Parse("10.0.0.0/20")).ok());
    REQUIRE(ec2.AddSubnetIpv6Cidr("subnet-1", kSubnetBlock).ok());
    auto nic = ec2.AddInstance({.instance_id = "i-1",
                                .subnet_id = "subnet-1",
                                .max_enis = enipool::MaxEnisOnCard(limits, 0),
                                .ipv4_per_eni = limits.ipv4_per_eni,
                                .network_cards = limits.network_cards});
    REQUIRE(nic.ok());
    primary = nic->id;
  }

  enipool::Ipv6MultiCardConfig Config(bool every_card = true) const {
    enipool::Ipv6MultiCardConfig config;
    config.node = {.instance_id = "i-1"};
    config.node.tag_enis = true;
    config.node.cluster_name = "prod";
    config.limits = limits;
    if (every_card) {
      config.managed_cards =
          enipool::ManagedNetworkCards(limits.network_cards, /*enable_multi_nic=*/true, "i-1", {});
    }
    return config;
  }

  std::vector<NetworkInterface> Attached() {
    auto described = ec2.DescribeNetworkInterfaces({.instance_id = "i-1"});
    REQUIRE(described.ok());
    return *described;
  }
};

std::optional<NetworkInterface> OnCard(const std::vector<NetworkInterface>& enis, int card) {
  for (const NetworkInterface& eni : enis) {
    if (eni.network_card_index == card) return eni;
  }
  return std::nullopt;
}

TEST_CASE("An IPv6 node on a p5.48xlarge creates one ENI with one /80 on each extra card and gives a multi-NIC pod an address on all 32") {
  Account account("p5.48xlarge");
  auto node = Node::Create(account.clock, account.Config());
  REQUIRE(node.ok());
  REQUIRE(node->card_count() == 32);
  const absl::Status started = enipool::RunIpv6Startup(*node, account.ec2);
  REQUIRE_MESSAGE(started.ok(), started);
  CHECK(account.ec2.stats().calls_of(CallKind::kCreateNetworkInterface) == 31);
  CHECK(account.ec2.stats().calls_of(CallKind::kAttachNetworkInterface) == 31);
  // Card 0 had no /80: one AssignIpv6Addresses; the created ENIs came with theirs.
  CHECK(account.ec2.stats().calls_of(CallKind::kAssignIpv6Prefixes) == 1);
  const std::vector<NetworkInterface> enis = account.Attached();
  REQUIRE(enis.size() == 32);
  std::set<Ipv6Prefix> prefixes;
  for (int card = 0; card < 32; ++card) {
    const std::optional<NetworkInterface> eni = OnCard(enis, card);
    REQUIRE(eni.has_value());
    CHECK(eni->device_index == 0);
    REQUIRE(eni->ipv6_prefixes.size() == 1);  // exactly one /80 on each managed ENI
    CHECK(kSubnetBlock.Contains(eni->ipv6_prefixes.front()));
    prefixes.insert(eni->ipv6_prefixes.front());
    CHECK(node->controller(static_cast<std::size_t>(card)).prefix() == eni->ipv6_prefixes.front());
    CHECK(node->controller(static_cast<std::size_t>(card)).eni_id() == eni->id);
    if (card == 0) continue;
    // The reference's AllocENI: the primary's subnet and groups, its
    // description and tags.
    CHECK(eni->subnet_id == "subnet-1");
    CHECK(eni->description == "aws-K8S-i-1");
    CHECK(enipool::MissingEniTags(eni->tags, enipool::NodeEniTags("i-1", "prod", {})).empty());
    CHECK(enipool::FindTag(eni->tags, enipool::kEniCreatedAtTag) != nullptr);
  }
  CHECK(prefixes.size() == 32);
  const auto addresses = node->AddMultiCardPod(Pod(1));
  REQUIRE(addresses.ok());
  REQUIRE(addresses->size() == 32);
  for (std::size_t k = 0; k < 32; ++k) {
    CHECK(addresses->at(k).network_card == static_cast<int>(k));
    CHECK(node->controller(k).prefix()->Contains(addresses->at(k).assignment.address));
  }
  // A single-address pod takes card 0's /80.
  const auto single = node->AddPod(Pod(2));
  REQUIRE(single.ok());
  CHECK(single->network_card == 0);
  CHECK(node->Lookup(Pod(1)) == *addresses);
  // Nothing more once ready: no warm pool, no ENI growth.
  CHECK(node->Tick().empty());
}

TEST_CASE("An IPv6 node on card 1 asks for its ENI as the reference's AllocENI does: one /80, the primary's subnet and groups, on card 1, deleted if the attach fails") {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  enipool::Ipv6NodeConfig config{.instance_id = "i-1"};
  config.network_card = 1;
  config.first_request_id = 100;
  config.cluster_name = "prod";
  enipool::Ipv6NodeController<ManualClock> card(clock, config);
  const auto describe = card.Tick();
  REQUIRE(describe.size() == 1);
  CHECK(describe.front().id == 100);
  NetworkInterface primary{.id = "eni-p", .subnet_id = "subnet-9", .instance_id = "i-1",
                           .attachment_id = "attach-p", .device_index = 0};
  primary.security_group_ids = {"sg-a", "sg-b"};
  // An EFA-only interface holds device 0 of card 1: the new ENI goes to 1.
  NetworkInterface efa_only{.id = "eni-e", .subnet_id = "subnet-9", .instance_id = "i-1",
                            .attachment_id = "attach-e", .device_index = 0,
                            .network_card_index = 1, .interface_type = "efa-only"};
  REQUIRE(card.OnResult(describe.front(),
                        enipool::Ec2Result{absl::OkStatus(),
                                           std::vector<NetworkInterface>{primary, efa_only}})
              .ok());
  const auto create = card.Tick();
  REQUIRE(create.size() == 1);
  const auto& request = std::get<enipool::CreateNetworkInterfaceRequest>(create.front().call);
  CHECK(request.subnet_id == "subnet-9");
  CHECK(request.ipv6_prefix_count == 1);
  CHECK(request.secondary_ip_count == 0);
  CHECK(request.ipv4_prefix_count == 0);
  CHECK(request.security_group_ids == std::vector<std::string>{"sg-a", "sg-b"});
  CHECK(request.description == "aws-K8S-i-1");
  CHECK(request.tags == enipool::CreatedEniTags("i-1", clock.Now(), "prod", {}));
  NetworkInterface created{.id = "eni-new", .subnet_id = "subnet-9"};
  created.ipv6_prefixes = {*Ipv6Prefix::Parse("2600:1f14:abc:1:7::/80")};
  REQUIRE(card.OnResult(create.front(), enipool::Ec2Result{absl::OkStatus(), created}).ok());
  const auto attach = card.Tick();
  REQUIRE(attach.size() == 1);
  CHECK(std::get<enipool::AttachNetworkInterfaceRequest>(attach.front().call) ==
        enipool::AttachNetworkInterfaceRequest{.eni_id = "eni-new", .instance_id = "i-1",
                                               .device_index = 1, .network_card_index = 1});
  REQUIRE(card.OnResult(attach.front(), enipool::Ec2Result{absl::OkStatus(), std::string("attach-n")})
              .ok());
  CHECK(card.ready());
  CHECK(card.prefix() == created.ipv6_prefixes.front());
  CHECK(card.Tick().empty());
  // An attach that fails has the new ENI deleted (as the reference's
  // AllocENI does) 5 s later, then the card is described afresh.
  enipool::Ipv6NodeController<ManualClock> unlucky(clock, config);
  const auto describe2 = unlucky.Tick();
  REQUIRE(unlucky.OnResult(describe2.front(),
                           enipool::Ec2Result{absl::OkStatus(),
                                              std::vector<NetworkInterface>{primary}})
              .ok());
  const auto create2 = unlucky.Tick();
  REQUIRE(unlucky.OnResult(create2.front(), enipool::Ec2Result{absl::OkStatus(), created}).ok());
  const auto attach2 = unlucky.Tick();
  CHECK(std::get<enipool::AttachNetworkInterfaceRequest>(attach2.front().call).device_index == 0);
  REQUIRE(unlucky.OnResult(attach2.front(),
                           enipool::Ec2Result{enipool::Ec2Error(
                                                  enipool::Ec2ErrorCode::kAttachmentLimitExceeded,
                                                  "card 1 is full"),
                                              std::monostate{}})
              .ok());
  CHECK(unlucky.Tick().empty());
  clock.AdvanceTime(absl::Seconds(5));
  const auto discard = unlucky.Tick();
  REQUIRE(discard.size() == 1);
  CHECK(std::get<enipool::DeleteNetworkInterfaceRequest>(discard.front().call).eni_id == "eni-new");
  REQUIRE(unlucky.OnResult(discard.front(), enipool::Ec2Result{}).ok());
  const auto again_describe = unlucky.Tick();
  REQUIRE(again_describe.size() == 1);
  CHECK(std::holds_alternative<enipool::DescribeNetworkInterfacesRequest>(again_describe.front().call));
  CHECK(unlucky.counters().deletes == 1);
  // An answer of the wrong shape is refused.
  enipool::Ipv6NodeController<ManualClock> other(clock, config);
  const auto again = other.Tick();
  CHECK(other.OnResult(again.front(), enipool::Ec2Result{absl::OkStatus(), std::string("x")})
            .code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("An IPv6 card that already has an ENI takes its first /80 or asks for one, and creates nothing") {
  Account account("c6in.32xlarge");
  // Card 1 holds an ENI with two /80s (the first is used), so nothing is
  // created; card 0's primary holds none (one is assigned).
  auto extra = account.ec2.CreateNetworkInterface(
      {.subnet_id = "subnet-1", .ipv6_prefix_count = 2,
       .tags = {{std::string(enipool::kEniInstanceIdTag), "i-1"}}});
  REQUIRE(extra.ok());
  REQUIRE(account.ec2
              .AttachNetworkInterface({.eni_id = extra->id, .instance_id = "i-1",
                                       .device_index = 0, .network_card_index = 1})
              .ok());
  auto node = Node::Create(account.clock, account.Config());
  REQUIRE(node.ok());
  REQUIRE(enipool::RunIpv6Startup(*node, account.ec2).ok());
  CHECK(account.ec2.stats().calls_of(CallKind::kCreateNetworkInterface) == 1);  // the setup's own
  CHECK(node->controller(1).eni_id() == extra->id);
  CHECK(node->controller(1).prefix() == extra->ipv6_prefixes.front());
  CHECK(node->controller(0).counters().assigns == 1);
  CHECK(node->controller(1).counters().assigns == 0);
  CHECK(node->controller(1).counters().creates == 0);
}

TEST_CASE("An IPv6 node tags the ENIs it finds lacking its tags, as an IPv4 node does, and leaves unmanaged ones alone") {
  Account account("c6in.32xlarge");
  auto unmanaged = account.ec2.CreateNetworkInterface(
      {.subnet_id = "subnet-1", .tags = {{std::string(enipool::kEniNoManageTag), "true"}}});
  REQUIRE(unmanaged.ok());
  REQUIRE(account.ec2
              .AttachNetworkInterface({.eni_id = unmanaged->id, .instance_id = "i-1",
                                       .device_index = 1, .network_card_index = 0})
              .ok());
  enipool::Ipv6MultiCardConfig config = account.Config(/*every_card=*/false);
  config.node.additional_eni_tags = {{"team", "net"}};
  auto node = Node::Create(account.clock, config);
  REQUIRE(node.ok());
  REQUIRE(enipool::RunIpv6Startup(*node, account.ec2).ok());
  const std::vector<Ec2Tag> wanted = enipool::NodeEniTags("i-1", "prod", {{"team", "net"}});
  for (const NetworkInterface& eni : account.Attached()) {
    if (eni.id == account.primary) {
      CHECK(enipool::MissingEniTags(eni.tags, wanted).empty());
    } else {
      CHECK(enipool::FindTag(eni.tags, enipool::kEniInstanceIdTag) == nullptr);
    }
  }
  CHECK(account.ec2.stats().calls_of(CallKind::kCreateTags) == 1);
  CHECK(node->controller(0).counters().enis_tagged == 1);
  // Tagging off (a hand-built config's default): no CreateTags.
  Account quiet("c6in.32xlarge");
  enipool::Ipv6MultiCardConfig off = quiet.Config(/*every_card=*/false);
  off.node.tag_enis = false;
  auto untagging = Node::Create(quiet.clock, off);
  REQUIRE(untagging.ok());
  REQUIRE(enipool::RunIpv6Startup(*untagging, quiet.ec2).ok());
  CHECK(quiet.ec2.stats().calls_of(CallKind::kCreateTags) == 0);
}

TEST_CASE("An IPv6 card whose create fails tries again 5 s later while card 0 already serves pods") {
  Account account("c6in.32xlarge");
  // The primary holds every /80 of the /64: card 1's create finds none.
  REQUIRE(account.ec2.AssignIpv6Prefixes({.eni_id = account.primary, .count = 65'536}).ok());
  auto node = Node::Create(account.clock, account.Config());
  REQUIRE(node.ok());
  const absl::Status started = enipool::RunIpv6Startup(*node, account.ec2);
  CHECK(started.code() == absl::StatusCode::kUnavailable);
  CHECK(absl::StrContains(started.message(), "InsufficientCidrBlocks"));
  CHECK(node->controller(0).ready());
  CHECK_FALSE(node->controller(1).ready());
  CHECK(absl::StrContains(node->last_error().message(), "network card 1"));
  CHECK(node->AddPod(Pod(1))->network_card == 0);
  const auto multi = node->AddMultiCardPod(Pod(2));
  CHECK(multi.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(node->Lookup(Pod(2)).empty());  // card 0's address given back
  account.clock.AdvanceTime(absl::Seconds(4));
  CHECK(node->Tick().empty());
  // A /80 frees up; the retry creates the card's ENI.
  const auto held = account.Attached().front().ipv6_prefixes;
  REQUIRE(account.ec2.UnassignIpv6Prefixes({.eni_id = account.primary, .prefixes = {held.back()}}).ok());
  account.clock.AdvanceTime(absl::Seconds(1));
  REQUIRE(enipool::RunIpv6Startup(*node, account.ec2).ok());
  CHECK(node->controller(1).prefix() == held.back());
  CHECK(node->AddMultiCardPod(Pod(2)).ok());
  CHECK(account.ec2.stats().calls_of(CallKind::kCreateNetworkInterface) == 2);
}

// The model: every pod's addresses, card by card. A pod holds one address on
// card 0 (single) or one on every card (multi).
using Model = std::map<PodKey, std::map<int, Ipv6Address>>;

template <typename N>
Model PodsOf(const N& node, const std::vector<PodKey>& pods) {
  Model out;
  for (const PodKey& pod : pods) {
    for (const auto& held : node.Lookup(pod)) out[pod][held.network_card] = held.assignment.address;
  }
  return out;
}

absl::StatusOr<std::vector<Store>> OpenStores(MemoryFileSystem& fs, const ManualClock& clock,
                                              const std::vector<int>& cards) {
  std::vector<Store> stores;
  for (int card : cards) {
    Store::Options options;
    options.journal.file_system = &fs;
    auto store = Store::Open(enipool::CardStorePath(kPath, card), clock, options);
    if (!store.ok()) return store.status();
    stores.push_back(*std::move(store));
  }
  return stores;
}

TEST_CASE("A multi-card IPv6 node on the simulated EC2 keeps every pod on every card across random restarts") {
  Account account("p4d.24xlarge");
  MemoryFileSystem fs;
  const enipool::Ipv6MultiCardConfig config = account.Config();
  REQUIRE(config.managed_cards == std::vector<int>{0, 1, 2, 3});
  auto start = [&]() -> std::optional<DurableNode> {
    auto stores = OpenStores(fs, account.clock, config.managed_cards);
    REQUIRE_MESSAGE(stores.ok(), stores.status());
    auto node = DurableNode::Create(account.clock, config, *std::move(stores));
    REQUIRE(node.ok());
    const absl::Status started = enipool::RunIpv6Startup(*node, account.ec2);
    REQUIRE_MESSAGE(started.ok(), started);
    return std::move(*node);
  };
  std::optional<DurableNode> node = start();
  const std::vector<NetworkInterface> first_enis = account.Attached();
  REQUIRE(first_enis.size() == 4);
  std::mt19937_64 random(0x1b6);
  Model model;
  std::vector<PodKey> known;
  int restarts = 0;
  for (int step = 0; step < 600; ++step) {
    const auto roll = random() % 20;
    if (roll == 0) {
      node.reset();  // the agent dies; its journals stay
      node = start();
      ++restarts;
      const std::vector<NetworkInterface> enis = account.Attached();
      REQUIRE(enis.size() == 4);  // nothing created again
      for (std::size_t k = 0; k < 4; ++k) {
        CHECK(node->controller(k).counters().stale_pods_dropped == 0);
        REQUIRE(OnCard(enis, static_cast<int>(k))->ipv6_prefixes.size() == 1);
        CHECK(node->controller(k).prefix() == OnCard(enis, static_cast<int>(k))->ipv6_prefixes.front());
      }
    } else if (roll < 12) {
      const PodKey pod = Pod(static_cast<int>(random() % 150));
      if (model.count(pod) == 0) known.push_back(pod);
      if (roll % 2 == 0) {
        const auto got = node->AddMultiCardPod(pod);
        REQUIRE(got.ok());
        REQUIRE(got->size() == 4);
        // A pod that holds card 0's address keeps it and gains the others.
        for (const auto& held : *got) {
          auto [it, fresh] = model[pod].emplace(held.network_card, held.assignment.address);
          CHECK(it->second == held.assignment.address);
        }
      } else {
        const auto got = node->AddPod(pod);
        REQUIRE(got.ok());
        if (!model.count(pod)) model[pod][got->network_card] = got->assignment.address;
        CHECK(got->network_card == model[pod].begin()->first);
      }
    } else {
      if (model.empty()) continue;
      auto victim = model.begin();
      std::advance(victim, static_cast<std::ptrdiff_t>(random() % model.size()));
      const auto released = node->DeletePod(victim->first);
      REQUIRE(released.ok());
      CHECK(released->size() == victim->second.size());
      model.erase(victim);
    }
    account.clock.AdvanceTime(absl::Seconds(1));
  }
  CHECK(restarts > 10);
  CHECK(PodsOf(*node, known) == model);
  // No address is held twice on a card, and each lies in its card's /80.
  for (std::size_t k = 0; k < 4; ++k) {
    std::set<Ipv6Address> seen;
    for (const auto& [pod, by_card] : model) {
      const auto it = by_card.find(static_cast<int>(k));
      if (it == by_card.end()) continue;
      CHECK(seen.insert(it->second).second);
      CHECK(node->controller(k).prefix()->Contains(it->second));
    }
  }
  CHECK(account.ec2.stats().calls_of(CallKind::kCreateNetworkInterface) == 3);
}

TEST_CASE("Ipv6MultiCardNode refuses cards the instance type lacks or stores that do not match them, and answers for no other request") {
  Account account("c6in.32xlarge");
  enipool::Ipv6MultiCardConfig config = account.Config();
  config.managed_cards = {0, 2};
  CHECK(Node::Create(account.clock, config).status().code() == absl::StatusCode::kInvalidArgument);
  config.managed_cards = {1};
  CHECK(Node::Create(account.clock, config).status().code() == absl::StatusCode::kInvalidArgument);
  config.managed_cards = {0, 1};
  auto node = Node::Create(account.clock, config);
  REQUIRE(node.ok());
  const enipool::Ec2Request stray{enipool::kCardRequestIdStride * 5,
                                  enipool::DescribeNetworkInterfacesRequest{}};
  CHECK(node->OnResult(stray, enipool::Ec2Result{}).code() == absl::StatusCode::kNotFound);
  // Over stores: one per managed card.
  MemoryFileSystem fs;
  auto stores = OpenStores(fs, account.clock, {0});
  REQUIRE(stores.ok());
  CHECK(DurableNode::Create(account.clock, config, *std::move(stores)).status() ==
        absl::InvalidArgumentError("IPv6 multi-card node: 1 stores for 2 managed cards"));
}

TEST_CASE("Ipv6NodeConfigFromEnvironment tags unless provisioning is off and reads the tag variables") {
  const enipool::NodeFacts facts{.instance_type = "p5.48xlarge", .instance_id = "i-1"};
  std::map<std::string, std::string> env = {{"ENABLE_IPv6", "true"},
                                            {"ENABLE_IPv4", "false"},
                                            {"ENABLE_PREFIX_DELEGATION", "true"},
                                            {"WARM_PREFIX_TARGET", "1"},
                                            {"CLUSTER_NAME", "prod"},
                                            {"ADDITIONAL_ENI_TAGS", R"({"team":"net"})"},
                                            {"MANAGE_UNTAGGED_ENI", "false"}};
  auto lookup = [&env](absl::string_view name) -> std::optional<std::string> {
    const auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  auto config = enipool::Ipv6NodeConfigFromEnvironment(facts, lookup);
  REQUIRE_MESSAGE(config.ok(), config.status());
  CHECK(config->tag_enis);
  CHECK(config->cluster_name == "prod");
  CHECK(config->additional_eni_tags == std::vector<Ec2Tag>{{"team", "net"}});
  CHECK_FALSE(config->manage_untagged_enis);
  // ENABLE_MULTI_NIC: every card of the type but one carrying only an
  // EFA-only interface; without it card 0 alone.
  const enipool::InstanceLimits p5 = *enipool::FindInstanceLimits("p5.48xlarge");
  const std::vector<NetworkInterface> described = {
      NetworkInterface{.id = "eni-e", .instance_id = "i-1", .attachment_id = "a-e",
                       .device_index = 0, .network_card_index = 3, .interface_type = "efa-only"}};
  CHECK(enipool::Ipv6MultiCardConfigFromNode(*config, p5, lookup, described).managed_cards ==
        std::vector<int>{0});
  env["ENABLE_MULTI_NIC"] = "true";
  const enipool::Ipv6MultiCardConfig multi =
      enipool::Ipv6MultiCardConfigFromNode(*config, p5, lookup, described);
  CHECK(multi.managed_cards.size() == 31);
  CHECK(std::find(multi.managed_cards.begin(), multi.managed_cards.end(), 3) ==
        multi.managed_cards.end());
  CHECK(multi.node.cluster_name == "prod");
  env["DISABLE_NETWORK_RESOURCE_PROVISIONING"] = "true";
  CHECK_FALSE(enipool::Ipv6NodeConfigFromEnvironment(facts, lookup)->tag_enis);
  env["ADDITIONAL_ENI_TAGS"] = "not json";
  const auto refused = enipool::Ipv6NodeConfigFromEnvironment(facts, lookup);
  CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
