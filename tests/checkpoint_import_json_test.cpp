// The first start after the reference: its checkpoint imported into a
// durable controller's journal, once.

#include "enipool/persist/checkpoint_import_json.h"

#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/ec2/backend.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/multi_card.h"
#include "enipool/persist/journal.h"
#include "enipool/persist/vpc_cni_checkpoint_json.h"
#include "testing/durable_node.h"
#include "testing/memory_file_system.h"

namespace {

using enipool::AddressMode;
using enipool::CheckpointEntry;
using enipool::Ec2Request;
using enipool::Ipv4Address;
using enipool::PodKey;
using enipool::testing::DurableNode;

TEST_CASE("ImportVpcCniCheckpointOnce journals the reference's pods once and a restart keeps them") {
  DurableNode node({.mode = AddressMode::kSecondaryIp, .max_enis = 3, .ipv4_per_eni = 10});
  // The reference had given the primary ENI four addresses.
  auto ips = node.ec2().AssignPrivateIpAddresses({.eni_id = node.primary().id, .count = 4});
  REQUIRE(ips.ok());
  const PodKey a{"aws-cni", "ref-a", "eth0"};
  const PodKey b{"aws-cni", "ref-b", "eth0"};
  enipool::VpcCniCheckpoint checkpoint;
  checkpoint.allocations = {
      CheckpointEntry{.pod = a, .address = (*ips)[0], .allocated = absl::FromUnixSeconds(1'600'000'000)},
      CheckpointEntry{.pod = b, .address = (*ips)[1], .allocated = absl::FromUnixSeconds(1'600'000'100)},
      CheckpointEntry{.pod = {"aws-cni", "stale", "eth0"}, .address = *Ipv4Address::Parse("192.168.9.9")},
  };
  const std::string json = enipool::SerializeVpcCniCheckpoint(checkpoint);

  REQUIRE(node.Restart().ok());
  std::vector<Ec2Request> out;
  // Not before the startup describe has rebuilt the ENIs.
  CHECK(enipool::ImportVpcCniCheckpointOnce(node.controller(), json, node.clock().Now(), out)
            .status()
            .code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(node.Round().ok());
  REQUIRE(node.controller().started());
  REQUIRE_FALSE(node.controller().busy());
  CHECK_FALSE(node.controller().checkpoint_imported());
  auto imported =
      enipool::ImportVpcCniCheckpointOnce(node.controller(), json, node.clock().Now(), out);
  REQUIRE_MESSAGE(imported.ok(), imported.status());
  CHECK_FALSE(imported->skipped);
  CHECK(imported->report.restored == 2);
  REQUIRE(imported->report.dropped.size() == 1);
  CHECK(imported->report.dropped[0].pod.container_id == "stale");
  CHECK(node.controller().checkpoint_imported());

  // A restart: the pods come from the journal, with their allocation times,
  // and the old file is not imported again (b was deleted meanwhile).
  REQUIRE(node.controller().DeletePod(b).ok());
  REQUIRE(node.Restart().ok());
  CHECK(node.controller().pool().Lookup(a)->address == (*ips)[0]);
  CHECK_FALSE(node.controller().pool().Lookup(b).has_value());
  bool times_kept = false;
  node.controller().pool().ForEachAssignment([&](const PodKey& pod, const auto&, absl::Time at) {
    if (pod == a) times_kept = at == absl::FromUnixSeconds(1'600'000'000);
  });
  CHECK(times_kept);
  REQUIRE(node.Round().ok());
  auto again = enipool::ImportVpcCniCheckpointOnce(node.controller(), json, node.clock().Now(), out);
  REQUIRE(again.ok());
  CHECK(again->skipped);
  CHECK_FALSE(node.controller().pool().Lookup(b).has_value());
}


// docs/reference-behavior.md §1.1, §8.2: a node of several cards kept one
// checkpoint per card ("ipam-nic-1.json" for card 1); each is restored into
// its own card's store, an entry whose address is on no CIDR of that card is
// dropped as stale, a missing file starts the card empty, and a restart
// imports nothing again. A bad file changes nothing on any card.
TEST_CASE("ImportVpcCniCheckpointsOnce restores each card's checkpoint into its own card once") {
  using Store = enipool::JournaledDatastore<enipool::ManualClock>;
  using Node = enipool::MultiCardNode<enipool::ManualClock, enipool::ReferencePolicy, Store>;
  enipool::ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  enipool::ec2::SimulatedEc2Options options;
  options.latency = enipool::ec2::LatencyModel::Zero();
  options.throttle = enipool::ec2::ThrottleConfig::Disabled();
  enipool::ec2::SimulatedEc2<enipool::ManualClock> ec2(clock, options);
  REQUIRE(ec2.AddSubnet("subnet-a", *enipool::Ipv4Prefix::Parse("10.0.0.0/20")).ok());
  auto primary = ec2.AddInstance({.instance_id = "i-node", .subnet_id = "subnet-a", .max_enis = 2,
                                  .ipv4_per_eni = 10, .network_cards = 3});
  REQUIRE(primary.ok());
  // What the reference left: two addresses on card 0, an ENI on card 1.
  auto card0_ips = ec2.AssignPrivateIpAddresses({.eni_id = primary->id, .count = 2});
  REQUIRE(card0_ips.ok());
  auto card1_eni = ec2.CreateNetworkInterface(
      {.subnet_id = "subnet-a", .secondary_ip_count = 2, .description = "aws-K8S-i-node"});
  REQUIRE(card1_eni.ok());
  REQUIRE(ec2.AttachNetworkInterface({.eni_id = card1_eni->id, .instance_id = "i-node",
                                      .device_index = 0, .network_card_index = 1})
              .ok());
  std::vector<Ipv4Address> card1_ips;
  for (Ipv4Address ip : card1_eni->secondary_ips) {
    if (ip != card1_eni->primary_ip) card1_ips.push_back(ip);
  }
  REQUIRE(card1_ips.size() == 2);
  const PodKey a{"aws-cni", "ref-a", "eth0"};
  const PodKey b{"aws-cni", "ref-b", "eth0"};
  const PodKey c{"aws-cni", "ref-c", "eth0"};
  enipool::VpcCniCheckpoint nic0;
  nic0.allocations = {CheckpointEntry{.pod = a, .address = (*card0_ips)[0],
                                      .allocated = absl::FromUnixSeconds(1'600'000'000)}};
  enipool::VpcCniCheckpoint nic1;
  nic1.allocations = {
      CheckpointEntry{.pod = b, .address = card1_ips[0], .allocated = absl::FromUnixSeconds(1'600'000'100)},
      // Card 0's address in card 1's file: on no CIDR of card 1, stale.
      CheckpointEntry{.pod = c, .address = (*card0_ips)[1]}};
  const std::vector<std::optional<std::string>> files = {
      enipool::SerializeVpcCniCheckpoint(nic0), enipool::SerializeVpcCniCheckpoint(nic1),
      std::nullopt};

  enipool::MultiCardConfig config;
  config.node.instance_id = "i-node";
  config.node.subnet_id = "subnet-a";
  config.node.pool.warm_ip_target = 1;
  config.limits = {.name = "x9.3card", .max_enis = 2, .ipv4_per_eni = 10, .network_cards = 3,
                   .enis_all_cards = 6};
  config.managed_cards = {0, 1, 2};
  enipool::testing::MemoryFileSystem fs;
  Store::Options store_options;
  store_options.mode = config.node.pool.mode;
  store_options.journal.sync = enipool::SyncPolicy::kNone;
  store_options.journal.file_system = &fs;
  auto open = [&]() -> Node {
    auto stores = enipool::OpenCardStores<Store>("journal", config.managed_cards, clock, store_options);
    REQUIRE_MESSAGE(stores.ok(), stores.status());
    auto node = Node::Create(config, *std::move(stores));
    REQUIRE_MESSAGE(node.ok(), node.status());
    return *std::move(node);
  };
  // The startup describes, no pool check.
  auto start = [&](Node& node) {
    std::vector<Ec2Request> requests;
    node.Start(clock.Now(), requests);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const Ec2Request r = requests[i];
      REQUIRE(node.OnResult(r, enipool::Dispatch(ec2, r.call), clock.Now(), requests).ok());
    }
    REQUIRE(node.started());
    REQUIRE_FALSE(node.busy());
  };

  Node node = open();
  std::vector<Ec2Request> out;
  CHECK(enipool::ImportVpcCniCheckpointsOnce(node, files, clock.Now(), out).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  start(node);
  // Bad input: a wrong count, or one unreadable file, and no card imports.
  CHECK(enipool::ImportVpcCniCheckpointsOnce(node, {files[0]}, clock.Now(), out).status() ==
        absl::InvalidArgumentError("vpc-cni checkpoint import: 1 checkpoints for 3 managed cards"));
  const auto bad = enipool::ImportVpcCniCheckpointsOnce(
      node, {files[0], std::string("{\"version\":\"vpc-cni-ipam/1\",\"allocations\":[{}]}"), std::nullopt},
      clock.Now(), out);
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StartsWith(bad.status().message(), "network card 1: "));
  for (std::size_t k = 0; k < node.card_count(); ++k) {
    CHECK_FALSE(node.controller(k).checkpoint_imported());
    CHECK(node.controller(k).pool().pod_count() == 0);
  }
  CHECK(out.empty());

  auto imported = enipool::ImportVpcCniCheckpointsOnce(node, files, clock.Now(), out);
  REQUIRE_MESSAGE(imported.ok(), imported.status());
  REQUIRE(imported->size() == 3);
  CHECK((*imported)[0].report.restored == 1);
  CHECK((*imported)[1].report.restored == 1);
  REQUIRE((*imported)[1].report.dropped.size() == 1);
  CHECK((*imported)[1].report.dropped[0].pod == c);
  CHECK((*imported)[2].report.restored == 0);
  for (std::size_t k = 0; k < node.card_count(); ++k) {
    CHECK(node.controller(k).checkpoint_imported());
  }
  const auto held_a = node.Lookup(a);
  const auto held_b = node.Lookup(b);
  REQUIRE(held_a.size() == 1);
  REQUIRE(held_b.size() == 1);
  CHECK(held_a[0].network_card == 0);
  CHECK(held_a[0].assignment.address == (*card0_ips)[0]);
  CHECK(held_b[0].network_card == 1);
  CHECK(held_b[0].assignment.address == card1_ips[0]);
  CHECK(node.Lookup(c).empty());

  // A restart: the journals give the pods back; the files are not read again.
  REQUIRE(node.DeletePod(a).ok());
  Node again = open();
  CHECK(again.Lookup(b) == held_b);
  CHECK(again.Lookup(a).empty());
  start(again);
  auto second = enipool::ImportVpcCniCheckpointsOnce(again, files, clock.Now(), out);
  REQUIRE(second.ok());
  for (const enipool::CheckpointImport& i : *second) CHECK(i.skipped);
  CHECK(again.Lookup(a).empty());
  CHECK(again.Lookup(b) == held_b);
}
}  // namespace
