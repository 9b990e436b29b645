// The controller's ModifyNetworkInterfaceAttribute (docs/reference-behavior.md
// §7.1): DeleteOnTermination set after each attach, a new ENI freed when
// that fails (ControllerConfig::set_delete_on_termination), and the
// security-group refresh that carries the primary ENI's groups to every ENI
// of the pool at startup and whenever they change, read every 30 s
// (ControllerConfig::refresh_security_groups).

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "enipool/controller.h"
#include "enipool/ec2/backend.h"
#include "enipool/ec2/ec2_api.h"
#include "testing/controller_harness.h"

namespace {

using enipool::AddressMode;
using enipool::Ec2ErrorCode;
using enipool::EniView;
using enipool::NetworkInterface;
using enipool::ec2::CallKind;
using enipool::testing::SimNode;
using enipool::testing::SimNodeSpec;

constexpr AddressMode kModes[] = {AddressMode::kSecondaryIp, AddressMode::kPrefix};

SimNodeSpec Spec(AddressMode mode, bool delete_on_termination, bool refresh,
                 bool custom_networking = false) {
  SimNodeSpec spec{.mode = mode, .max_enis = 4, .ipv4_per_eni = 4, .max_pods = 1000};
  spec.configure = [=](enipool::ControllerConfig& config) {
    config.set_delete_on_termination = delete_on_termination;
    config.refresh_security_groups = refresh;
    config.security_group_ids = {"sg-config"};
    if (custom_networking) {
      config.pool.custom_networking = true;
      config.subnet_id = "subnet-pods";
    }
  };
  return spec;
}

std::uint64_t ModifyCalls(SimNode& node) {
  return node.ec2().stats().calls_of(CallKind::kModifyNetworkInterfaceAttribute);
}

std::uint64_t DescribeCalls(SimNode& node) {
  return node.ec2().stats().calls_of(CallKind::kDescribeNetworkInterfaces);
}

// Sets the primary ENI's groups behind the node's back (as a user editing
// the instance would); not a call of the node's.
void SetPrimaryGroups(SimNode& node, std::vector<std::string> groups) {
  REQUIRE(node.ec2()
              .ModifyNetworkInterfaceAttribute(
                  {.eni_id = node.primary().id, .security_group_ids = std::move(groups)})
              .ok());
}

// An ENI another tool created and attached to i-node at `device` (managed:
// MANAGE_UNTAGGED_ENI is on by default), in groups sg-foreign.
std::string AttachForeignEni(SimNode& node, int device) {
  auto eni = node.ec2().CreateNetworkInterface(
      {.subnet_id = "subnet-a", .security_group_ids = {"sg-foreign"}});
  REQUIRE(eni.ok());
  REQUIRE(node.ec2()
              .AttachNetworkInterface({.eni_id = eni->id, .instance_id = "i-node", .device_index = device})
              .ok());
  return eni->id;
}

// Pods enough to fill the primary ENI (3 slots of 4 addresses, or 3 /28s),
// so the node must attach more.
int MorePodsThanThePrimaryHolds(AddressMode mode) { return mode == AddressMode::kPrefix ? 50 : 5; }

std::vector<std::string> PoolEnis(SimNode& node) {
  std::vector<std::string> ids;
  for (const EniView& view : node.datastore().EniViews()) ids.push_back(view.id.ToString());
  return ids;
}

const NetworkInterface& Ec2Eni(SimNode& node, const std::string& id) {
  const NetworkInterface* eni = node.ec2().FindEni(id);
  REQUIRE(eni != nullptr);
  return *eni;
}

// Mutation caught: letting a new ENI join the pool straight after the
// attach (no ModifyNetworkInterfaceAttribute) leaves its flag false.
TEST_CASE("After each attach the node sets the new attachment's DeleteOnTermination before the ENI "
          "joins the pool, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNode node(Spec(mode, /*delete_on_termination=*/true, /*refresh=*/false));
    REQUIRE(node.Start().ok());
    const int pods = MorePodsThanThePrimaryHolds(mode);
    CHECK(node.AddPodsWaiting(0, pods) == pods);
    REQUIRE(node.Converge().ok());
    const auto& counters = node.controller().counters();
    REQUIRE(counters.enis_created >= 1);
    CHECK(ModifyCalls(node) == static_cast<std::uint64_t>(counters.enis_created));
    CHECK(counters.delete_on_termination_failures == 0);
    for (const std::string& id : PoolEnis(node)) {
      CAPTURE(id);
      CHECK(Ec2Eni(node, id).delete_on_termination);  // the primary's is EC2's own
    }
    CHECK(node.controller().enis().size() == PoolEnis(node).size());
  }
}

// Mutation caught: sending the Modify regardless of the option.
TEST_CASE("Without set_delete_on_termination the node sends no ModifyNetworkInterfaceAttribute and "
          "its new ENIs keep EC2's false") {
  SimNode node(Spec(AddressMode::kSecondaryIp, false, false));
  REQUIRE(node.Start().ok());
  CHECK(node.AddPodsWaiting(0, 5) == 5);
  REQUIRE(node.Converge().ok());
  REQUIRE(node.controller().counters().enis_created >= 1);
  CHECK(ModifyCalls(node) == 0);
  for (const std::string& id : PoolEnis(node)) {
    if (id != node.primary().id) CHECK_FALSE(Ec2Eni(node, id).delete_on_termination);
  }
}

// Mutations caught: a failed Modify that lets the ENI join the pool anyway
// (it is in the datastore and in EC2), or that drops it without freeing it
// (it stays attached in EC2, leaked), or counts nothing.
TEST_CASE("A new ENI whose DeleteOnTermination cannot be set is detached and deleted and never "
          "joins the pool, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNode node(Spec(mode, true, false));
    node.ec2().fault_plan().FailNthCall(
        CallKind::kModifyNetworkInterfaceAttribute, 1,
        enipool::Ec2Error(Ec2ErrorCode::kUnauthorizedOperation,
                          "not allowed to ec2:ModifyNetworkInterfaceAttribute"));
    REQUIRE(node.Start().ok());
    const int pods = MorePodsThanThePrimaryHolds(mode);
    CHECK(node.AddPodsWaiting(0, pods) == pods);  // its replacement serves them
    REQUIRE(node.Converge().ok());
    const auto& counters = node.controller().counters();
    CHECK(counters.delete_on_termination_failures == 1);
    CHECK(counters.enis_freed == 0);  // not a pool ENI freed by the policy
    const std::vector<std::string> pool = PoolEnis(node);
    REQUIRE(pool.size() >= 2);
    // Every ENI created joined the pool but the one freed again.
    CHECK(counters.enis_created == static_cast<std::int64_t>(pool.size()));
    // It is gone from EC2: EC2 holds the pool's ENIs and nothing else.
    auto all = node.ec2().DescribeNetworkInterfaces({});
    REQUIRE(all.ok());
    CHECK(all->size() == pool.size());
    CHECK(node.ec2().unattached_eni_count() == 0);
    for (const std::string& id : pool) CHECK(Ec2Eni(node, id).delete_on_termination);
    CHECK(node.controller().enis().size() == pool.size());
  }
}

// Mutation caught: a startup that reads the groups but modifies no ENI,
// or creates new ENIs with the config's groups instead of the primary's.
TEST_CASE("At startup the node gives every ENI of its pool the primary ENI's groups once, and new "
          "ENIs are created with them, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNode node(Spec(mode, false, true));
    SetPrimaryGroups(node, {"sg-b", "sg-a"});
    const std::string first = AttachForeignEni(node, 1);
    const std::string second = AttachForeignEni(node, 2);
    const std::uint64_t before = ModifyCalls(node);
    REQUIRE(node.Start().ok());
    // Primary and the two found ENIs, once each, before any new ENI.
    CHECK(node.controller().counters().security_group_updates == 3);
    CHECK(node.controller().counters().security_group_changes == 1);
    const int pods = MorePodsThanThePrimaryHolds(mode) + 2 * (mode == AddressMode::kPrefix ? 48 : 3);
    CHECK(node.AddPodsWaiting(0, pods) == pods);
    REQUIRE(node.Converge().ok());
    CHECK(ModifyCalls(node) - before == 3);
    for (const std::string& id : {first, second}) {
      CAPTURE(id);
      CHECK(Ec2Eni(node, id).security_group_ids == std::vector<std::string>{"sg-b", "sg-a"});
    }
    REQUIRE(node.controller().security_groups().has_value());
    CHECK(*node.controller().security_groups() == std::vector<std::string>{"sg-a", "sg-b"});
    // The warm ENI the first pool check created carries the primary's set.
    REQUIRE(node.controller().counters().enis_created >= 1);
    for (const std::string& id : PoolEnis(node)) {
      if (id == node.primary().id || id == first || id == second) continue;
      CHECK(Ec2Eni(node, id).security_group_ids == std::vector<std::string>{"sg-a", "sg-b"});
    }
  }
}

// Mutations caught: no re-read after 30 s (a change is never carried), a
// re-read that compares the groups in order (the reordered set would be
// sent again), a Modify per ENI sent more than once, a read before 30 s,
// and a QuietUntil that ignores the refresh (a simulator would skip it).
TEST_CASE("Every 30 s the node reads the primary ENI's groups and, only when the set changed, "
          "modifies every ENI of its pool once, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNode node(Spec(mode, false, true));
    SetPrimaryGroups(node, {"sg-a"});
    REQUIRE(node.Start().ok());
    const int pods = MorePodsThanThePrimaryHolds(mode);
    CHECK(node.AddPodsWaiting(0, pods) == pods);
    REQUIRE(node.Converge().ok());
    const std::vector<std::string> pool = PoolEnis(node);
    REQUIRE(pool.size() >= 2);
    // The next read is due within 30 s, and a simulator that skips quiet
    // ticks does not skip it.
    const absl::Time next_read = node.controller().next_security_group_read();
    CHECK(next_read > node.clock().Now() - absl::Seconds(5));
    CHECK(next_read <= node.clock().Now() + absl::Seconds(30));
    CHECK(node.controller().QuietUntil() > absl::InfinitePast());
    CHECK(node.controller().QuietUntil() <= next_read);

    // Changed: within 30 s, one describe and one Modify per pool ENI.
    SetPrimaryGroups(node, {"sg-c", "sg-d"});
    std::uint64_t modifies = ModifyCalls(node);
    for (int i = 0; i < 7; ++i) REQUIRE(node.Check().ok());  // 35 s of pool checks
    CHECK(ModifyCalls(node) - modifies == pool.size());
    for (const std::string& id : pool) {
      CAPTURE(id);
      CHECK(Ec2Eni(node, id).security_group_ids == std::vector<std::string>{"sg-c", "sg-d"});
    }
    CHECK(node.controller().counters().security_group_changes == 2);

    // Unchanged (the same set in another order): reads, no Modify.
    SetPrimaryGroups(node, {"sg-d", "sg-c"});
    modifies = ModifyCalls(node);
    const std::uint64_t describes = DescribeCalls(node);
    for (int i = 0; i < 12; ++i) REQUIRE(node.Check().ok());  // 60 s: two reads
    CHECK(ModifyCalls(node) == modifies);
    CHECK(DescribeCalls(node) - describes == 2);
    CHECK(node.controller().counters().security_group_changes == 2);

    // No read sooner than 30 s after the last.
    const std::uint64_t quiet = DescribeCalls(node);
    for (int i = 0; i < 5; ++i) REQUIRE(node.Check().ok());  // 25 s
    CHECK(DescribeCalls(node) - quiet <= 1);
  }
}

// Mutation caught: modifying ENIs under custom networking.
TEST_CASE("Under custom networking the node reads the primary ENI's groups but modifies no ENI, "
          "and new ENIs keep the ENIConfig's groups") {
  SimNode node(Spec(AddressMode::kSecondaryIp, false, true, /*custom_networking=*/true));
  REQUIRE(node.ec2().AddSubnet("subnet-pods", *enipool::Ipv4Prefix::Parse("10.0.64.0/20")).ok());
  SetPrimaryGroups(node, {"sg-a"});
  const std::uint64_t before = ModifyCalls(node);
  REQUIRE(node.Start().ok());
  CHECK(node.AddPodsWaiting(0, 5) == 5);
  REQUIRE(node.Converge().ok());
  SetPrimaryGroups(node, {"sg-b"});
  for (int i = 0; i < 7; ++i) REQUIRE(node.Check().ok());
  CHECK(ModifyCalls(node) == before + 1);  // the test's own change only
  CHECK(node.controller().counters().security_group_changes == 2);
  CHECK(node.controller().counters().security_group_updates == 0);
  REQUIRE(node.controller().counters().enis_created >= 1);
  for (const enipool::ManagedEni& record : node.controller().enis()) {
    if (record.id == node.primary().id) continue;
    CHECK(Ec2Eni(node, record.id).security_group_ids == std::vector<std::string>{"sg-config"});
  }
}

// Mutations caught: a failed Modify that fails the startup or stops the
// others, and a failed read that stops the refresh for good.
TEST_CASE("A failed group Modify or a failed read is only counted: the startup goes on and the "
          "next read comes 30 s later") {
  SimNode node(Spec(AddressMode::kSecondaryIp, false, true));
  SetPrimaryGroups(node, {"sg-a"});
  const std::string found = AttachForeignEni(node, 1);
  node.ec2().fault_plan().FailNthCall(CallKind::kModifyNetworkInterfaceAttribute, 2,
                                      enipool::Ec2Error(Ec2ErrorCode::kOther, "scripted"));
  REQUIRE(node.Start().ok());
  CHECK(node.controller().started());
  const auto& counters = node.controller().counters();
  CHECK(counters.security_group_update_failures == 1);
  CHECK(counters.security_group_updates == 1);  // the primary and `found`: one of each
  REQUIRE(node.Converge().ok());

  // The next read fails; the one after it carries the change.
  SetPrimaryGroups(node, {"sg-b"});
  const std::uint64_t describes = node.ec2().stats().calls_of(CallKind::kDescribeNetworkInterfaces);
  node.ec2().fault_plan().FailNthCall(CallKind::kDescribeNetworkInterfaces, describes + 1,
                                      enipool::Ec2Error(Ec2ErrorCode::kOther, "scripted"));
  for (int i = 0; i < 7; ++i) REQUIRE(node.Check().ok());
  CHECK(counters.security_group_read_failures == 1);
  CHECK(Ec2Eni(node, found).security_group_ids != std::vector<std::string>{"sg-b"});
  for (int i = 0; i < 6; ++i) REQUIRE(node.Check().ok());
  CHECK(Ec2Eni(node, found).security_group_ids == std::vector<std::string>{"sg-b"});
  CHECK(counters.security_group_changes == 2);
}

}  // namespace
