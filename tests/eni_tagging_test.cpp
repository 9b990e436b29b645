// Tagging the ENIs a node finds (docs/reference-behavior.md §4.13, §7.1):
// NodeEniTags / MissingEniTags / NeedsCreatedAtStamp (eni_class.h) and the
// controller's CreateTags at startup, at a reconcile, on failure, and in the
// leaked-ENI sweep (ControllerConfig::tag_enis).

#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "enipool/controller.h"
#include "enipool/ec2/backend.h"
#include "enipool/ec2/ec2_api.h"
#include "enipool/eni_class.h"
#include "testing/controller_harness.h"

namespace {

using enipool::AddressMode;
using enipool::CreateTagsRequest;
using enipool::Ec2Tag;
using enipool::FindTag;
using enipool::NetworkInterface;
using enipool::ec2::CallKind;
using enipool::testing::SimNode;
using enipool::testing::SimNodeSpec;

constexpr AddressMode kModes[] = {AddressMode::kSecondaryIp, AddressMode::kPrefix};

const std::vector<Ec2Tag> kAdditional = {{"team", "blue"},
                                         {"node.k8s.amazonaws.com/instance_id", "i-spoof"}};

// The node's tags with CLUSTER_NAME=prod and ADDITIONAL_ENI_TAGS team=blue.
const std::vector<Ec2Tag> kNodeTags = {{"node.k8s.amazonaws.com/instance_id", "i-node"},
                                       {"cluster.k8s.amazonaws.com/name", "prod"},
                                       {"eks:eni:owner", "amazon-vpc-cni"},
                                       {"team", "blue"}};

SimNodeSpec TaggingSpec(AddressMode mode, bool tag = true) {
  SimNodeSpec spec{.mode = mode, .max_enis = 4, .ipv4_per_eni = 4, .max_pods = 1000};
  spec.configure = [tag](enipool::ControllerConfig& config) {
    config.tag_enis = tag;
    config.cluster_name = "prod";
    config.additional_eni_tags = kAdditional;
    config.reconcile_interval = absl::Seconds(60);
  };
  return spec;
}

// An ENI another tool created and attached to i-node at `device`, holding
// two slots of the mode's kind, with `tags` and interface type `type`.
std::string AttachForeignEni(SimNode& node, int device, std::vector<Ec2Tag> tags,
                             const std::string& type = "interface") {
  enipool::CreateNetworkInterfaceRequest create{.subnet_id = "subnet-a"};
  (node.spec().mode == AddressMode::kPrefix ? create.ipv4_prefix_count
                                            : create.secondary_ip_count) = 2;
  auto eni = node.ec2().CreateNetworkInterface(create);
  REQUIRE(eni.ok());
  REQUIRE(node.ec2()
              .AttachNetworkInterface({.eni_id = eni->id, .instance_id = "i-node", .device_index = device})
              .ok());
  if (!tags.empty()) REQUIRE(node.ec2().TagEni(eni->id, tags).ok());
  REQUIRE(node.ec2().SetInterfaceType(eni->id, type).ok());
  return eni->id;
}

const std::vector<Ec2Tag>& TagsOf(SimNode& node, const std::string& id) {
  const NetworkInterface* eni = node.ec2().FindEni(id);
  REQUIRE(eni != nullptr);
  return eni->tags;
}

// Every tag of `wanted` is on the ENI with its value.
bool Carries(SimNode& node, const std::string& id, const std::vector<Ec2Tag>& wanted) {
  return enipool::MissingEniTags(TagsOf(node, id), wanted).empty();
}

std::uint64_t CreateTagsCalls(SimNode& node) {
  return node.ec2().stats().calls_of(CallKind::kCreateTags);
}

TEST_CASE("NodeEniTags are a created ENI's tags without createdAt, and MissingEniTags lists what is "
          "absent or holds another value") {
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  const std::vector<Ec2Tag> node_tags = enipool::NodeEniTags("i-node", "prod", kAdditional);
  CHECK(node_tags == kNodeTags);  // the reserved additional key is dropped
  std::vector<Ec2Tag> created = enipool::CreatedEniTags("i-node", now, "prod", kAdditional);
  REQUIRE(created.front().key == "node.k8s.amazonaws.com/createdAt");
  created.erase(created.begin());
  CHECK(created == node_tags);
  CHECK(enipool::NodeEniTags("i-node", "", {}) ==
        std::vector<Ec2Tag>{{"node.k8s.amazonaws.com/instance_id", "i-node"}});

  const std::vector<Ec2Tag> have = {{"node.k8s.amazonaws.com/instance_id", "i-node"},
                                    {"cluster.k8s.amazonaws.com/name", "staging"},
                                    {"other", "x"}};
  CHECK(enipool::MissingEniTags(have, node_tags) ==
        std::vector<Ec2Tag>{{"cluster.k8s.amazonaws.com/name", "prod"},
                            {"eks:eni:owner", "amazon-vpc-cni"},
                            {"team", "blue"}});
  CHECK(enipool::MissingEniTags(node_tags, node_tags).empty());
}

TEST_CASE("NeedsCreatedAtStamp holds for a leak-shaped ENI without a readable createdAt only") {
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  NetworkInterface eni;
  eni.id = "eni-1";
  eni.description = "aws-K8S-i-dead";
  eni.tags = {{"node.k8s.amazonaws.com/instance_id", "i-dead"},
              {"cluster.k8s.amazonaws.com/name", "prod"}};
  CHECK(enipool::NeedsCreatedAtStamp(eni, "prod"));
  CHECK(enipool::NeedsCreatedAtStamp(eni, ""));
  CHECK_FALSE(enipool::NeedsCreatedAtStamp(eni, "dev"));  // another cluster's
  NetworkInterface garbled = eni;
  garbled.tags.push_back({"node.k8s.amazonaws.com/createdAt", "yesterday"});
  CHECK(enipool::NeedsCreatedAtStamp(garbled, "prod"));
  NetworkInterface dated = eni;
  dated.tags.push_back({"node.k8s.amazonaws.com/createdAt", enipool::FormatEniTime(now)});
  CHECK_FALSE(enipool::NeedsCreatedAtStamp(dated, "prod"));
  NetworkInterface attached = eni;
  attached.attachment_id = "eni-attach-1";
  CHECK_FALSE(enipool::NeedsCreatedAtStamp(attached, "prod"));
  NetworkInterface foreign = eni;
  foreign.description = "my load balancer";
  CHECK_FALSE(enipool::NeedsCreatedAtStamp(foreign, "prod"));
  NetworkInterface untagged = eni;
  untagged.tags.clear();
  CHECK_FALSE(enipool::NeedsCreatedAtStamp(untagged, ""));
}

TEST_CASE("At startup the node tags its primary and the managed ENIs it finds with what they lack, "
          "in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNode node(TaggingSpec(mode));
    const std::string untagged = AttachForeignEni(node, 1, {});
    const std::string partly = AttachForeignEni(
        node, 2,
        {{"node.k8s.amazonaws.com/instance_id", "i-node"},
         {"cluster.k8s.amazonaws.com/name", "staging"},
         {"Name", "kept"}});
    REQUIRE(node.Start().ok());
    CHECK(node.controller().started());
    // One call per ENI: the primary, the untagged one, the partly tagged one.
    CHECK(CreateTagsCalls(node) == 3);
    CHECK(node.controller().counters().enis_tagged == 3);
    for (const std::string& id : {node.primary().id, untagged, partly}) {
      CAPTURE(id);
      CHECK(Carries(node, id, kNodeTags));
      CHECK(FindTag(TagsOf(node, id), "node.k8s.amazonaws.com/createdAt") == nullptr);
      CHECK(node.datastore().FindEni(id).ok());
    }
    CHECK(*FindTag(TagsOf(node, partly), "Name") == "kept");  // tags it did not name stay
    // The pool serves pods from all three.
    const int per_eni = (mode == AddressMode::kPrefix ? 16 : 1) * 3;
    CHECK(node.AddPodsWaiting(0, 3 * per_eni) == 3 * per_eni);
    // A restarted node finds them tagged: no call.
    auto again = enipool::NodeController<enipool::ManualClock>::Create(
        node.clock(), enipool::testing::MakeControllerConfig(TaggingSpec(mode)));
    REQUIRE(again.ok());
    REQUIRE(enipool::StartNode(*again, node.ec2(), node.clock(), node.Sleeper()).ok());
    CHECK(again->counters().enis_tagged == 0);
    CHECK(again->counters().calls_of(enipool::Ec2Call(CreateTagsRequest{}).index()) == 0);
  }
}

TEST_CASE("The node does not tag unmanaged, EFA-only or trunk ENIs, and does tag an EFA ENI") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNodeSpec spec = TaggingSpec(mode);
    spec.max_enis = 6;
    SimNode node(spec);
    const std::vector<Ec2Tag> no_manage = {{"node.k8s.amazonaws.com/no_manage", "true"}};
    const std::string unmanaged = AttachForeignEni(node, 1, no_manage);
    const std::string efa_only = AttachForeignEni(node, 2, {}, "efa-only");
    const std::string trunk = AttachForeignEni(node, 3, {}, "trunk");
    const std::string efa = AttachForeignEni(node, 4, {}, "efa");
    REQUIRE(node.Start().ok());
    CHECK(TagsOf(node, unmanaged) == no_manage);
    CHECK(TagsOf(node, efa_only).empty());
    CHECK(TagsOf(node, trunk).empty());
    CHECK(Carries(node, efa, kNodeTags));
    CHECK(Carries(node, node.primary().id, kNodeTags));
    CHECK(CreateTagsCalls(node) == 2);
  }
}

TEST_CASE("Without tag_enis (no ENI provisioning) the node sends no CreateTags, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNode node(TaggingSpec(mode, /*tag=*/false));
    const std::string untagged = AttachForeignEni(node, 1, {});
    REQUIRE(node.Start().ok());
    for (int i = 0; i < 30; ++i) REQUIRE(node.Check().ok());
    CHECK(CreateTagsCalls(node) == 0);
    CHECK(TagsOf(node, untagged).empty());
    CHECK(node.datastore().FindEni(untagged).ok());
  }
}

TEST_CASE("A reconcile tags an ENI new to the pool before adopting it, and leaves the pool's ENIs "
          "alone, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNode node(TaggingSpec(mode));
    REQUIRE(node.Start().ok());
    REQUIRE(CreateTagsCalls(node) == 1);  // the primary
    // Someone changes a tag on the primary, and attaches an untagged ENI.
    REQUIRE(node.ec2().TagEni(node.primary().id, {{"team", "red"}}).ok());
    const std::string late = AttachForeignEni(node, 2, {});
    for (int i = 0; i < 20 && node.controller().counters().reconciles == 0; ++i) {
      REQUIRE(node.Check().ok());
    }
    REQUIRE(node.controller().counters().reconciles >= 1);
    CHECK(Carries(node, late, kNodeTags));
    CHECK(node.datastore().FindEni(late).ok());
    // Only at startup does the reference re-tag an ENI it already holds.
    CHECK(*FindTag(TagsOf(node, node.primary().id), "team") == "red");
    CHECK(CreateTagsCalls(node) == 2);
  }
}

TEST_CASE("A CreateTags that keeps failing is tried 5 times, 500 ms apart and doubling, then the "
          "startup fails and starts over start_retry later") {
  enipool::ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  enipool::ControllerConfig config;
  config.pool = {.mode = AddressMode::kPrefix, .warm_prefix_target = 1, .max_enis = 3,
                 .ipv4_per_eni = 10};
  config.instance_id = "i-node";
  config.subnet_id = "subnet-a";
  config.tag_enis = true;
  auto controller = enipool::NodeController<enipool::ManualClock>::Create(clock, config);
  REQUIRE(controller.ok());
  NetworkInterface primary;
  primary.id = "eni-primary";
  primary.subnet_id = "subnet-a";
  primary.instance_id = "i-node";
  primary.attachment_id = "eni-attach-1";
  primary.device_index = 0;
  primary.primary_ip = *enipool::Ipv4Address::Parse("10.0.0.10");
  const enipool::Ec2Result described{absl::OkStatus(), std::vector<NetworkInterface>{primary}};
  const enipool::Ec2Result refused{
      enipool::Ec2Error(enipool::Ec2ErrorCode::kUnauthorizedOperation, "no ec2:CreateTags"),
      std::monostate{}};

  // Answers the describe and returns the CreateTags it leads to.
  auto describe_then_tag = [&]() {
    std::vector<enipool::Ec2Request> requests = controller->Start(clock.Now());
    REQUIRE(requests.size() == 1);
    auto follow = controller->OnResult(requests[0], described, clock.Now());
    REQUIRE(follow.ok());
    REQUIRE(follow->size() == 1);
    const auto* tag = std::get_if<CreateTagsRequest>(&follow->at(0).call);
    REQUIRE(tag != nullptr);
    CHECK(tag->eni_ids == std::vector<std::string>{"eni-primary"});
    CHECK(tag->tags == std::vector<Ec2Tag>{{"node.k8s.amazonaws.com/instance_id", "i-node"}});
    return follow->at(0);
  };

  enipool::Ec2Request tag = describe_then_tag();
  const absl::Duration waits[] = {absl::Milliseconds(500), absl::Seconds(1), absl::Seconds(2),
                                  absl::Seconds(4)};
  for (absl::Duration wait : waits) {
    CAPTURE(wait);
    REQUIRE(controller->OnResult(tag, refused, clock.Now()).ok());
    CHECK_FALSE(controller->started());
    CHECK(controller->NextWakeup() == clock.Now() + wait);
    CHECK(controller->Tick(clock.Now()).empty());  // not before it is due
    clock.AdvanceTime(wait);
    std::vector<enipool::Ec2Request> again = controller->Tick(clock.Now());
    REQUIRE(again.size() == 1);
    CHECK(again[0].call == tag.call);
    tag = again[0];
  }
  // The fifth failure ends the startup; it starts over start_retry later.
  REQUIRE(controller->OnResult(tag, refused, clock.Now()).ok());
  CHECK_FALSE(controller->started());
  CHECK_FALSE(controller->busy());
  CHECK(controller->counters().tag_failures == 1);
  CHECK(controller->datastore().Stats().enis == 0);
  CHECK(controller->NextWakeup() == clock.Now() + config.start_retry);
  clock.AdvanceTime(config.start_retry);
  tag = describe_then_tag();
  REQUIRE(controller->OnResult(tag, enipool::Ec2Result{absl::OkStatus(), std::monostate{}},
                               clock.Now())
              .ok());
  CHECK(controller->started());
  CHECK(controller->datastore().FindEni("eni-primary").ok());
  CHECK(controller->counters().enis_tagged == 1);
}

TEST_CASE("A reconcile whose CreateTags gives up leaves the new ENI out of the pool until a later "
          "reconcile tags it, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNode node(TaggingSpec(mode));
    REQUIRE(node.Start().ok());
    REQUIRE(CreateTagsCalls(node) == 1);
    // The next five CreateTags fail: the reconcile's whole set of tries.
    for (std::uint64_t nth = 2; nth <= 6; ++nth) {
      node.ec2().fault_plan().FailNthCall(
          CallKind::kCreateTags, nth,
          enipool::Ec2Error(enipool::Ec2ErrorCode::kUnauthorizedOperation, "no ec2:CreateTags"));
    }
    const std::string late = AttachForeignEni(node, 2, {});
    for (int i = 0; i < 20 && node.controller().counters().reconciles == 0; ++i) {
      REQUIRE(node.Check().ok());
    }
    REQUIRE(node.controller().counters().reconciles == 1);
    CHECK(CreateTagsCalls(node) == 6);
    CHECK(node.controller().counters().tag_failures == 1);
    CHECK_FALSE(node.datastore().FindEni(late).ok());
    CHECK(TagsOf(node, late).empty());
    // The ENI is attached all the same: it counts against the ENI limit.
    bool recorded_out = false;
    for (const enipool::ManagedEni& record : node.controller().enis()) {
      if (record.id == late) recorded_out = !record.in_pool;
    }
    CHECK(recorded_out);
    for (int i = 0; i < 20 && node.controller().counters().reconciles == 1; ++i) {
      REQUIRE(node.Check().ok());
    }
    REQUIRE(node.controller().counters().reconciles == 2);
    CHECK(Carries(node, late, kNodeTags));
    CHECK(node.datastore().FindEni(late).ok());
  }
}

TEST_CASE("The leaked-ENI sweep stamps a createdAt on a candidate without a readable one, and a "
          "later sweep deletes it") {
  for (bool tag : {true, false}) {
    CAPTURE(tag);
    SimNodeSpec spec = TaggingSpec(AddressMode::kSecondaryIp, tag);
    spec.configure = [tag](enipool::ControllerConfig& config) {
      config.tag_enis = tag;
      config.leaked_eni_sweep = true;
      config.sweep_seed = 5;
    };
    SimNode node(spec);
    auto undated = node.ec2().CreateNetworkInterface(
        {.subnet_id = "subnet-a",
         .description = "aws-K8S-i-dead",
         .tags = {{"node.k8s.amazonaws.com/instance_id", "i-dead"}}});
    REQUIRE(undated.ok());
    auto garbled = node.ec2().CreateNetworkInterface(
        {.subnet_id = "subnet-a",
         .description = "aws-K8S-i-dead",
         .tags = {{"node.k8s.amazonaws.com/instance_id", "i-dead"},
                  {"node.k8s.amazonaws.com/createdAt", "not a time"}}});
    REQUIRE(garbled.ok());
    REQUIRE(node.Start().ok());
    node.clock().SetTime(node.controller().next_leak_sweep());
    REQUIRE(node.Check().ok());
    REQUIRE(node.controller().counters().leak_sweeps == 1);
    const absl::Time first_sweep = node.clock().Now() - enipool::testing::kPoolCheckPeriod;
    for (const std::string& id : {undated->id, garbled->id}) {
      CAPTURE(id);
      REQUIRE(node.ec2().FindEni(id) != nullptr);
      const std::string* created = FindTag(TagsOf(node, id), "node.k8s.amazonaws.com/createdAt");
      if (tag) {
        REQUIRE(created != nullptr);
        CHECK(*created == enipool::FormatEniTime(first_sweep));
      }
    }
    CHECK(node.controller().counters().created_at_stamps == (tag ? 2 : 0));
    node.clock().SetTime(node.controller().next_leak_sweep());
    REQUIRE(node.Check().ok());
    REQUIRE(node.controller().counters().leak_sweeps == 2);
    // Stamped an hour ago: old enough now. Never stamped: never judged.
    CHECK((node.ec2().FindEni(undated->id) == nullptr) == tag);
    CHECK((node.ec2().FindEni(garbled->id) == nullptr) == tag);
  }
}

}  // namespace
