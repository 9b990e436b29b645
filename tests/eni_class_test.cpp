// Tests for eni_class.h and the controller's handling of ENI classes: the
// reference's unmanaged, EFA, EFA-only and trunk ENIs
// (docs/reference-behavior.md §1.2, §4.13) and the tags of the ENIs a node
// creates (docs/reference-behavior.md §7.1).

#include "enipool/eni_class.h"

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/controller.h"
#include "enipool/ec2/backend.h"
#include "testing/controller_harness.h"

namespace {

using enipool::AddressMode;
using enipool::ClassifyEni;
using enipool::Ec2Tag;
using enipool::EniClass;
using enipool::EniClassOptions;
using enipool::NetworkInterface;
using enipool::testing::SimNode;
using enipool::testing::SimNodeSpec;

NetworkInterface Eni(std::vector<Ec2Tag> tags, std::string type = "interface") {
  NetworkInterface eni;
  eni.id = "eni-x";
  eni.tags = std::move(tags);
  eni.interface_type = std::move(type);
  return eni;
}

const EniClassOptions kManageUntagged{.instance_id = "i-node", .manage_untagged = true};
const EniClassOptions kIgnoreUntagged{.instance_id = "i-node", .manage_untagged = false};

TEST_CASE("An ENI tagged no_manage=true is unmanaged, and no_manage with another value is managed") {
  CHECK(ClassifyEni(Eni({{"node.k8s.amazonaws.com/no_manage", "true"}}), false, kManageUntagged) ==
        EniClass::kUnmanaged);
  CHECK(ClassifyEni(Eni({{"node.k8s.amazonaws.com/no_manage", "false"}}), false,
                    kIgnoreUntagged) == EniClass::kManaged);
  CHECK(ClassifyEni(Eni({{"node.k8s.amazonaws.com/no_manage", "True"}}), false,
                    kManageUntagged) == EniClass::kManaged);
  // This node's own ENI tagged no_manage=true is still set aside.
  CHECK(ClassifyEni(Eni({{"node.k8s.amazonaws.com/instance_id", "i-node"},
                         {"node.k8s.amazonaws.com/no_manage", "true"}}),
                    false, kManageUntagged) == EniClass::kUnmanaged);
}

TEST_CASE("The primary ENI is never unmanaged, whatever its tags") {
  CHECK(ClassifyEni(Eni({{"node.k8s.amazonaws.com/no_manage", "true"}}), true, kManageUntagged) ==
        EniClass::kManaged);
  CHECK(ClassifyEni(Eni({}), true, kIgnoreUntagged) == EniClass::kManaged);
  CHECK(ClassifyEni(Eni({}, "trunk"), true, kIgnoreUntagged) == EniClass::kTrunk);
}

TEST_CASE("With MANAGE_UNTAGGED_ENI=false only ENIs tagged with this node's instance id are managed") {
  CHECK(ClassifyEni(Eni({}), false, kIgnoreUntagged) == EniClass::kUnmanaged);
  CHECK(ClassifyEni(Eni({{"node.k8s.amazonaws.com/instance_id", "i-other"}}), false,
                    kIgnoreUntagged) == EniClass::kUnmanaged);
  CHECK(ClassifyEni(Eni({{"node.k8s.amazonaws.com/instance_id", "i-node"}}), false,
                    kIgnoreUntagged) == EniClass::kManaged);
  // The default manages them.
  CHECK(ClassifyEni(Eni({}), false, kManageUntagged) == EniClass::kManaged);
  CHECK(ClassifyEni(Eni({{"node.k8s.amazonaws.com/instance_id", "i-other"}}), false,
                    kManageUntagged) == EniClass::kManaged);
}

TEST_CASE("Interface types make trunk, EFA and EFA-only ENIs, and only EFA-only ones stay out of the pool") {
  CHECK(ClassifyEni(Eni({}, "trunk"), false, kManageUntagged) == EniClass::kTrunk);
  CHECK(ClassifyEni(Eni({}, "efa"), false, kManageUntagged) == EniClass::kEfa);
  CHECK(ClassifyEni(Eni({}, "efa-only"), false, kManageUntagged) == EniClass::kEfaOnly);
  // An untagged trunk (the resource controller's) is unmanaged without
  // MANAGE_UNTAGGED_ENI, as the reference notes.
  CHECK(ClassifyEni(Eni({}, "trunk"), false, kIgnoreUntagged) == EniClass::kUnmanaged);
  CHECK(enipool::EniInPool(EniClass::kManaged));
  CHECK(enipool::EniInPool(EniClass::kTrunk));
  CHECK(enipool::EniInPool(EniClass::kEfa));
  CHECK_FALSE(enipool::EniInPool(EniClass::kUnmanaged));
  CHECK_FALSE(enipool::EniInPool(EniClass::kEfaOnly));
}

// An independent statement of the reference's rules over a few fields, for
// the randomized comparison below.
EniClass ModelClass(bool primary, int no_manage /*0 none, 1 "true", 2 other*/, int owner /*0 none, 1 us, 2 other*/,
                    const std::string& type, bool manage_untagged) {
  bool unmanaged = false;
  if (!primary) {
    if (no_manage == 1) unmanaged = true;
    if (no_manage == 0 && owner != 1 && !manage_untagged) unmanaged = true;
  }
  if (unmanaged) return EniClass::kUnmanaged;
  if (!primary && type == "efa-only") return EniClass::kEfaOnly;
  if (type == "trunk") return EniClass::kTrunk;
  if (type == "efa") return EniClass::kEfa;
  return EniClass::kManaged;
}

TEST_CASE("ClassifyEni agrees with a plain statement of the rules on random tag sets") {
  std::mt19937_64 rng(2024);
  const std::vector<std::string> types = {"interface", "trunk", "efa", "efa-only"};
  for (int i = 0; i < 5000; ++i) {
    const bool primary = rng() % 4 == 0;
    const int no_manage = static_cast<int>(rng() % 3);
    const int owner = static_cast<int>(rng() % 3);
    const std::string& type = types[rng() % types.size()];
    const bool manage_untagged = rng() % 2 == 0;
    std::vector<Ec2Tag> tags;
    if (rng() % 2) tags.push_back({"team", "payments"});
    if (no_manage == 1) tags.push_back({"node.k8s.amazonaws.com/no_manage", "true"});
    if (no_manage == 2) tags.push_back({"node.k8s.amazonaws.com/no_manage", "no"});
    if (owner == 1) tags.push_back({"node.k8s.amazonaws.com/instance_id", "i-node"});
    if (owner == 2) tags.push_back({"node.k8s.amazonaws.com/instance_id", "i-else"});
    std::shuffle(tags.begin(), tags.end(), rng);
    CAPTURE(i);
    CHECK(ClassifyEni(Eni(tags, type), primary,
                      {.instance_id = "i-node", .manage_untagged = manage_untagged}) ==
          ModelClass(primary, no_manage, owner, type, manage_untagged));
  }
}

TEST_CASE("A created ENI's tags are createdAt, the instance id, the cluster and owner, then the additional tags without reserved keys") {
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  const std::vector<Ec2Tag> plain = enipool::CreatedEniTags("i-node", now, "", {});
  CHECK(plain == std::vector<Ec2Tag>{{"node.k8s.amazonaws.com/createdAt", "2023-11-14T22:13:20Z"},
                                     {"node.k8s.amazonaws.com/instance_id", "i-node"}});
  const std::vector<Ec2Tag> full = enipool::CreatedEniTags(
      "i-node", now, "prod",
      {{"team", "payments"},
       {"node.k8s.amazonaws.com/no_manage", "true"},  // reserved: dropped
       {"x.k8s.amazonaws.com.y", "z"},                // reserved: dropped
       {"team", "search"}});                          // a repeated key keeps its last value
  CHECK(full == std::vector<Ec2Tag>{{"node.k8s.amazonaws.com/createdAt", "2023-11-14T22:13:20Z"},
                                    {"node.k8s.amazonaws.com/instance_id", "i-node"},
                                    {"cluster.k8s.amazonaws.com/name", "prod"},
                                    {"eks:eni:owner", "amazon-vpc-cni"},
                                    {"team", "search"}});
}

TEST_CASE("SimulatedEc2 refuses an unknown interface type or ENI and changes nothing") {
  enipool::ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  enipool::ec2::SimulatedEc2<enipool::ManualClock> ec2(clock);
  REQUIRE(ec2.AddSubnet("subnet-a", *enipool::Ipv4Prefix::Parse("10.0.0.0/24")).ok());
  auto eni = ec2.CreateNetworkInterface({.subnet_id = "subnet-a"});
  REQUIRE(eni.ok());
  const absl::Status bad = ec2.SetInterfaceType(eni->id, "branch");
  CHECK(bad.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(bad.message(), "\"branch\""));
  CHECK(ec2.FindEni(eni->id)->interface_type == "interface");
  CHECK(ec2.SetInterfaceType("eni-missing", "efa").code() == absl::StatusCode::kNotFound);
  CHECK(ec2.TagEni("eni-missing", {{"k", "v"}}).code() == absl::StatusCode::kNotFound);
  CHECK(ec2.FindEni(eni->id)->tags.empty());
}

// --- the controller on a simulated EC2 ---------------------------------------------

constexpr AddressMode kModes[] = {AddressMode::kSecondaryIp, AddressMode::kPrefix};

int Unit(AddressMode mode) { return mode == AddressMode::kPrefix ? 16 : 1; }

// Creates an ENI in subnet-a holding `slots` secondary IPs (or prefixes in
// prefix mode), attaches it to i-node at `device`, gives it `tags` and
// `type`, and returns its id.
std::string AttachForeignEni(SimNode& node, int device, int slots, std::vector<Ec2Tag> tags,
                             const std::string& type = "interface") {
  enipool::CreateNetworkInterfaceRequest create{.subnet_id = "subnet-a"};
  (node.spec().mode == AddressMode::kPrefix ? create.ipv4_prefix_count
                                            : create.secondary_ip_count) = slots;
  auto eni = node.ec2().CreateNetworkInterface(create);
  REQUIRE(eni.ok());
  REQUIRE(node.ec2()
              .AttachNetworkInterface(
                  {.eni_id = eni->id, .instance_id = "i-node", .device_index = device})
              .ok());
  REQUIRE(node.ec2().TagEni(eni->id, tags).ok());
  REQUIRE(node.ec2().SetInterfaceType(eni->id, type).ok());
  return eni->id;
}

const enipool::ManagedEni* Record(SimNode& node, const std::string& id) {
  for (const enipool::ManagedEni& record : node.controller().enis()) {
    if (record.id == id) return &record;
  }
  return nullptr;
}

// What EC2 shows of an ENI that must stay untouched.
struct Ec2View {
  std::string attachment_id;
  std::vector<enipool::Ipv4Address> ips;
  std::vector<enipool::Ipv4Prefix> prefixes;
  friend bool operator==(const Ec2View&, const Ec2View&) = default;
};
Ec2View ViewOf(SimNode& node, const std::string& id) {
  const NetworkInterface* eni = node.ec2().FindEni(id);
  REQUIRE(eni != nullptr);
  return {eni->attachment_id, eni->secondary_ips, eni->prefixes};
}

TEST_CASE("An attached ENI tagged no_manage=true is ignored and counts against the ENI limit, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNodeSpec spec{.mode = mode, .max_enis = 3, .ipv4_per_eni = 4, .max_pods = 1000};
    SimNode node(spec);
    const std::string foreign =
        AttachForeignEni(node, 1, 2, {{"node.k8s.amazonaws.com/no_manage", "true"}});
    const Ec2View before = ViewOf(node, foreign);
    REQUIRE(node.Start().ok());
    // Ask for more than the node can hold: 3 ENIs × 3 slots.
    const int slots = 3 * Unit(mode);
    const int served = node.AddPodsWaiting(0, 3 * slots);
    // Only the primary and one new ENI serve pods: the third slot of the
    // limit is the unmanaged ENI's.
    CHECK(served == 2 * slots);
    CHECK_FALSE(node.datastore().FindEni(foreign).ok());
    CHECK(node.datastore().Stats().enis == 2);
    const enipool::ManagedEni* record = Record(node, foreign);
    REQUIRE(record != nullptr);
    CHECK(record->eni_class == EniClass::kUnmanaged);
    CHECK_FALSE(record->in_pool);
    // The node never tried a fourth attach, and left the ENI as it was.
    CHECK(node.controller().counters().attach_failures == 0);
    CHECK(ViewOf(node, foreign) == before);
    node.DeletePods(0, 3 * slots);
    node.clock().AdvanceTime(absl::Minutes(10));
    REQUIRE(node.Converge().ok());
    CHECK(ViewOf(node, foreign) == before);
  }
}

TEST_CASE("An ENI tagged no_manage with another value than true joins the pool, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNode node(SimNodeSpec{.mode = mode, .max_enis = 3, .ipv4_per_eni = 4, .max_pods = 1000});
    const std::string foreign =
        AttachForeignEni(node, 1, 2, {{"node.k8s.amazonaws.com/no_manage", "false"}});
    REQUIRE(node.Start().ok());
    CHECK(node.datastore().FindEni(foreign).ok());
    const int slots = 3 * Unit(mode);
    CHECK(node.AddPodsWaiting(0, 3 * slots) == 3 * slots);  // all three ENIs serve pods
  }
}

TEST_CASE("MANAGE_UNTAGGED_ENI=false sets aside a foreign untagged ENI but keeps the primary and the ENIs the node creates, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNodeSpec spec{.mode = mode, .max_enis = 4, .ipv4_per_eni = 4, .max_pods = 1000};
    spec.configure = [](enipool::ControllerConfig& config) {
      config.manage_untagged_enis = false;
      config.reconcile_interval = absl::Seconds(60);
    };
    SimNode node(spec);
    const std::string foreign = AttachForeignEni(node, 1, 1, {});
    const Ec2View before = ViewOf(node, foreign);
    REQUIRE(node.Start().ok());
    CHECK(node.datastore().FindEni(node.primary().id).ok());  // untagged, but the primary
    CHECK_FALSE(node.datastore().FindEni(foreign).ok());
    const int slots = 3 * Unit(mode);
    CHECK(node.AddPodsWaiting(0, 2 * slots) == 2 * slots);
    std::vector<std::string> created;
    for (const enipool::ManagedEni& record : node.controller().enis()) {
      if (record.id != node.primary().id && record.id != foreign) created.push_back(record.id);
    }
    CHECK_FALSE(created.empty());
    // The new ENIs carry this node's tag, so the reconciles keep them.
    for (int i = 0; i < 40; ++i) REQUIRE(node.Check().ok());
    CHECK(node.controller().counters().reconciles > 0);
    for (const std::string& id : created) CHECK(node.datastore().FindEni(id).ok());
    CHECK(node.controller().counters().force_removed_enis == 0);
    CHECK(ViewOf(node, foreign) == before);
  }
}

TEST_CASE("An ENI tagged no_manage=true while in the pool leaves it at the next reconcile and stays attached, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNodeSpec spec{.mode = mode, .max_enis = 3, .ipv4_per_eni = 4, .max_pods = 1000};
    spec.configure = [](enipool::ControllerConfig& config) {
      config.reconcile_interval = absl::Seconds(60);
    };
    SimNode node(spec);
    const std::string foreign = AttachForeignEni(node, 1, 2, {});
    REQUIRE(node.Start().ok());
    REQUIRE(node.datastore().FindEni(foreign).ok());
    REQUIRE(node.Converge().ok());
    REQUIRE(node.ec2().TagEni(foreign, {{"node.k8s.amazonaws.com/no_manage", "true"}}).ok());
    const Ec2View before = ViewOf(node, foreign);
    for (int i = 0; i < 40; ++i) REQUIRE(node.Check().ok());
    CHECK(node.controller().counters().reconciles > 0);
    CHECK_FALSE(node.datastore().FindEni(foreign).ok());
    const enipool::ManagedEni* record = Record(node, foreign);
    REQUIRE(record != nullptr);
    CHECK(record->eni_class == EniClass::kUnmanaged);
    CHECK(ViewOf(node, foreign) == before);
  }
}

TEST_CASE("An EFA-only ENI is ignored and counted, an EFA ENI may be grown but is never freed, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    // Four ENIs: the primary, an EFA-only one, an EFA one, one more.
    SimNode node(SimNodeSpec{.mode = mode, .max_enis = 4, .ipv4_per_eni = 3, .max_pods = 1000});
    const std::string efa_only = AttachForeignEni(node, 1, 0, {}, "efa-only");
    const std::string efa = AttachForeignEni(node, 2, 0, {}, "efa");
    const Ec2View efa_only_before = ViewOf(node, efa_only);
    REQUIRE(node.Start().ok());
    CHECK_FALSE(node.datastore().FindEni(efa_only).ok());
    REQUIRE(node.datastore().FindEni(efa).ok());
    CHECK(node.datastore().FindEni(efa)->efa);
    // The primary's two slots, then the EFA ENI's (the lowest device with a
    // free slot), then one new ENI: the EFA-only ENI took the fourth.
    const int slots = 2 * Unit(mode);
    CHECK(node.AddPodsWaiting(0, 4 * slots) == 3 * slots);
    CHECK(node.datastore().FindEni(efa)->cidrs == 2);
    node.DeletePods(0, 4 * slots);
    node.clock().AdvanceTime(absl::Minutes(10));
    REQUIRE(node.Converge().ok());
    // The pod-free new ENI went; the EFA ENI stays, attached.
    CHECK(node.controller().counters().enis_freed == 1);
    CHECK(node.datastore().FindEni(efa).ok());
    CHECK(node.ec2().FindEni(efa)->attached());
    CHECK(ViewOf(node, efa_only) == efa_only_before);
  }
}

TEST_CASE("A trunk ENI keeps what EC2 shows on it, is never given addresses and is never freed, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNode node(SimNodeSpec{.mode = mode, .max_enis = 3, .ipv4_per_eni = 4, .max_pods = 1000});
    const std::string trunk = AttachForeignEni(node, 1, 1, {}, "trunk");
    const Ec2View before = ViewOf(node, trunk);
    REQUIRE(node.Start().ok());
    auto held = node.datastore().FindEni(trunk);
    REQUIRE(held.ok());
    CHECK(held->trunk);
    CHECK(held->cidrs == 1);  // loaded from EC2's answer
    const int slots = 3 * Unit(mode);
    node.AddPodsWaiting(0, 2 * slots + Unit(mode));
    // Growth went to the primary and a new ENI, never to the trunk.
    CHECK(node.ec2().FindEni(trunk)->secondary_ips.size() == before.ips.size());
    CHECK(node.ec2().FindEni(trunk)->prefixes.size() == before.prefixes.size());
    CHECK(node.datastore().Stats().enis == 3);
    node.DeletePods(0, 2 * slots + Unit(mode));
    node.clock().AdvanceTime(absl::Minutes(10));
    REQUIRE(node.Converge().ok());
    CHECK(node.datastore().FindEni(trunk).ok());
    CHECK(node.ec2().FindEni(trunk)->attachment_id == before.attachment_id);
  }
}

TEST_CASE("The ENIs a node creates carry the reference's tags and the configured security groups") {
  SimNodeSpec spec{.mode = AddressMode::kPrefix, .max_enis = 3, .ipv4_per_eni = 2,
                   .max_pods = 1000};
  spec.configure = [](enipool::ControllerConfig& config) {
    config.cluster_name = "prod";
    config.additional_eni_tags = {{"team", "payments"}};
    config.security_group_ids = {"sg-1", "sg-2"};
  };
  SimNode node(spec);
  REQUIRE(node.Start().ok());
  const absl::Time created = node.clock().Now();
  REQUIRE(node.AddPodsWaiting(0, 17) == 17);  // the primary's one /28, then a new ENI
  std::string made;
  for (const enipool::ManagedEni& record : node.controller().enis()) {
    if (record.id != node.primary().id) made = record.id;
  }
  REQUIRE_FALSE(made.empty());
  const NetworkInterface* eni = node.ec2().FindEni(made);
  REQUIRE(eni != nullptr);
  CHECK(eni->security_group_ids == std::vector<std::string>{"sg-1", "sg-2"});
  CHECK(eni->description == "aws-K8S-i-node");
  CHECK(*enipool::FindTag(eni->tags, enipool::kEniInstanceIdTag) == "i-node");
  CHECK(*enipool::FindTag(eni->tags, enipool::kEniClusterNameTag) == "prod");
  CHECK(*enipool::FindTag(eni->tags, enipool::kEniOwnerTag) == "amazon-vpc-cni");
  CHECK(*enipool::FindTag(eni->tags, "team") == "payments");
  absl::Time stamped;
  std::string error;
  REQUIRE(absl::ParseTime(absl::RFC3339_full,
                          *enipool::FindTag(eni->tags, enipool::kEniCreatedAtTag), &stamped,
                          &error));
  CHECK(stamped >= created - absl::Seconds(1));
  CHECK(stamped <= node.clock().Now());
}

// Random nodes with random foreign ENIs: whatever the mix, the pool never
// holds a set-aside ENI, never uses more ENIs than the limit minus the
// set-aside ones, never changes a set-aside ENI in EC2, and never frees a
// trunk or EFA ENI.
TEST_CASE("Random mixes of foreign ENIs never let the pool touch set-aside ENIs or free trunk and EFA ones") {
  std::mt19937_64 rng(77);
  const std::vector<std::string> types = {"interface", "trunk", "efa", "efa-only"};
  for (int round = 0; round < 24; ++round) {
    CAPTURE(round);
    const AddressMode mode = kModes[rng() % 2];
    const bool manage_untagged = rng() % 2 == 0;
    SimNodeSpec spec{.mode = mode, .max_enis = 6, .ipv4_per_eni = 3, .max_pods = 1000,
                     .seed = rng()};
    spec.configure = [manage_untagged](enipool::ControllerConfig& config) {
      config.manage_untagged_enis = manage_untagged;
      config.reconcile_interval = absl::Seconds(60);
    };
    SimNode node(spec);
    const int foreign_count = static_cast<int>(rng() % 4);
    std::map<std::string, EniClass> expected;
    for (int i = 0; i < foreign_count; ++i) {
      const int no_manage = static_cast<int>(rng() % 3);
      const std::string& type = types[rng() % types.size()];
      std::vector<Ec2Tag> tags;
      if (no_manage == 1) tags.push_back({"node.k8s.amazonaws.com/no_manage", "true"});
      if (no_manage == 2) tags.push_back({"node.k8s.amazonaws.com/no_manage", "no"});
      const std::string id = AttachForeignEni(node, i + 1, static_cast<int>(rng() % 2), tags, type);
      expected[id] = ModelClass(false, no_manage, 0, type, manage_untagged);
    }
    std::map<std::string, Ec2View> before;
    int set_aside = 0;
    for (const auto& [id, c] : expected) {
      before[id] = ViewOf(node, id);
      if (!enipool::EniInPool(c)) ++set_aside;
    }
    REQUIRE(node.Start().ok());
    int next_pod = 0;
    std::vector<int> live;
    for (int step = 0; step < 30; ++step) {
      if (rng() % 3 != 0 || live.empty()) {
        const int n = static_cast<int>(rng() % 8) + 1;
        for (int k = 0; k < n; ++k) {
          if (node.controller().AddPod(SimNode::Pod(next_pod)).ok()) live.push_back(next_pod);
          ++next_pod;
        }
      } else {
        const std::size_t k = rng() % live.size();
        node.DeletePods(live[k], 1);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
      }
      node.clock().AdvanceTime(absl::Seconds(static_cast<int>(rng() % 40)));
      REQUIRE(node.Check().ok());
      CHECK(node.datastore().Stats().enis + node.datastore().Stats().excluded_enis <=
            spec.max_enis - set_aside);
      for (const auto& [id, c] : expected) {
        CAPTURE(id);
        CAPTURE(enipool::EniClassName(c));
        if (!enipool::EniInPool(c)) {
          CHECK_FALSE(node.datastore().FindEni(id).ok());
          CHECK(ViewOf(node, id) == before[id]);
        } else if (c != EniClass::kManaged) {
          CHECK(node.datastore().FindEni(id).ok());  // trunk and EFA are never freed
          CHECK(node.ec2().FindEni(id)->attachment_id == before[id].attachment_id);
        }
        if (c == EniClass::kTrunk) {
          CHECK(node.ec2().FindEni(id)->secondary_ips.size() == before[id].ips.size());
          CHECK(node.ec2().FindEni(id)->prefixes.size() == before[id].prefixes.size());
        }
      }
    }
  }
}

}  // namespace
