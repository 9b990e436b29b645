// The first start after the reference: its checkpoint imported into a
// durable controller's journal, once.

#include "enipool/persist/checkpoint_import_json.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/persist/vpc_cni_checkpoint_json.h"
#include "testing/durable_node.h"

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

}  // namespace
