// Tests for the leaked-ENI sweep (docs/reference-behavior.md §4.9, §7.1):
// which ENIs count as leaked (IsLeakedEniCandidate, eni_class.h) and the
// controller's sweep schedule on a simulated EC2.

#include <doctest/doctest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "enipool/controller.h"
#include "enipool/eni_class.h"
#include "testing/controller_harness.h"

namespace {

using enipool::Ec2Tag;
using enipool::IsLeakedEniCandidate;
using enipool::NetworkInterface;
using enipool::testing::SimNode;
using enipool::testing::SimNodeSpec;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

NetworkInterface Leaked(absl::Duration age) {
  NetworkInterface eni;
  eni.id = "eni-leak";
  eni.description = "aws-K8S-i-dead";
  eni.tags = {{"node.k8s.amazonaws.com/instance_id", "i-dead"},
              {"node.k8s.amazonaws.com/createdAt", enipool::FormatEniTime(kNow - age)}};
  return eni;
}

TEST_CASE("An unattached ENI a VPC CNI node created at least 5 minutes ago is leaked, a younger one is not") {
  CHECK(IsLeakedEniCandidate(Leaked(absl::Minutes(5)), "", kNow));
  CHECK(IsLeakedEniCandidate(Leaked(absl::Hours(30)), "", kNow));
  CHECK_FALSE(IsLeakedEniCandidate(Leaked(absl::Minutes(4) + absl::Seconds(59)), "", kNow));
}

TEST_CASE("An ENI that is attached, untagged, otherwise described, of another cluster or without a readable createdAt is not leaked") {
  NetworkInterface attached = Leaked(absl::Hours(1));
  attached.attachment_id = "eni-attach-1";
  CHECK_FALSE(IsLeakedEniCandidate(attached, "", kNow));
  NetworkInterface untagged = Leaked(absl::Hours(1));
  untagged.tags.erase(untagged.tags.begin());
  CHECK_FALSE(IsLeakedEniCandidate(untagged, "", kNow));
  NetworkInterface described = Leaked(absl::Hours(1));
  described.description = "my load balancer";
  CHECK_FALSE(IsLeakedEniCandidate(described, "", kNow));
  NetworkInterface no_time = Leaked(absl::Hours(1));
  no_time.tags.pop_back();
  CHECK_FALSE(IsLeakedEniCandidate(no_time, "", kNow));
  NetworkInterface bad_time = Leaked(absl::Hours(1));
  bad_time.tags.back().value = "yesterday";
  CHECK_FALSE(IsLeakedEniCandidate(bad_time, "", kNow));
  // With CLUSTER_NAME, only ENIs tagged with this cluster.
  NetworkInterface ours = Leaked(absl::Hours(1));
  ours.tags.push_back({"cluster.k8s.amazonaws.com/name", "prod"});
  CHECK(IsLeakedEniCandidate(ours, "prod", kNow));
  CHECK_FALSE(IsLeakedEniCandidate(ours, "dev", kNow));
  CHECK_FALSE(IsLeakedEniCandidate(Leaked(absl::Hours(1)), "prod", kNow));
}

// Makes an unattached ENI in subnet-a, as a node that died after the create
// would leave it: `age` old, tagged by `node` (none when empty).
std::string LeaveEni(SimNode& node, const std::string& creator, absl::Duration age,
                     const std::string& description = "") {
  std::vector<Ec2Tag> tags;
  if (!creator.empty()) {
    tags = enipool::CreatedEniTags(creator, node.clock().Now() - age, "", {});
  }
  auto eni = node.ec2().CreateNetworkInterface(
      {.subnet_id = "subnet-a",
       .description = description.empty() ? "aws-K8S-" + creator : description,
       .tags = tags});
  REQUIRE(eni.ok());
  return eni->id;
}

SimNodeSpec SweepingSpec(bool sweep) {
  SimNodeSpec spec;
  spec.configure = [sweep](enipool::ControllerConfig& config) {
    config.leaked_eni_sweep = sweep;
    config.sweep_seed = 3;
  };
  return spec;
}

TEST_CASE("The sweep deletes leaked ENIs within 300 s of startup, then an hour later those that were too young") {
  SimNode node(SweepingSpec(true));
  const std::string old_leak = LeaveEni(node, "i-dead", absl::Hours(2));
  const std::string young_leak = LeaveEni(node, "i-dead", absl::Minutes(1));
  const std::string foreign = LeaveEni(node, "", absl::Hours(2), "someone else's");
  REQUIRE(node.Start().ok());
  const absl::Time started = node.clock().Now();
  const absl::Time first = node.controller().next_leak_sweep();
  CHECK(first >= started - absl::Seconds(5));
  CHECK(first < started + absl::Seconds(300));
  for (int i = 0; i < 70; ++i) REQUIRE(node.Check().ok());  // 350 s
  CHECK(node.controller().counters().leak_sweeps == 1);
  CHECK(node.ec2().FindEni(old_leak) == nullptr);
  CHECK(node.ec2().FindEni(young_leak) != nullptr);
  CHECK(node.ec2().FindEni(foreign) != nullptr);
  const absl::Time second = node.controller().next_leak_sweep();
  CHECK(second - first >= absl::Hours(1));
  CHECK(second - first < absl::Hours(1) + absl::Seconds(300) + absl::Seconds(10));
  node.clock().SetTime(second);
  for (int i = 0; i < 3; ++i) REQUIRE(node.Check().ok());
  CHECK(node.controller().counters().leak_sweeps == 2);
  CHECK(node.ec2().FindEni(young_leak) == nullptr);
  CHECK(node.ec2().FindEni(foreign) != nullptr);
  CHECK(node.controller().counters().leaked_enis_deleted == 2);
}

TEST_CASE("Without the sweep (DISABLE_LEAKED_ENI_CLEANUP) no leaked ENI is deleted and no account-wide describe is sent") {
  SimNode node(SweepingSpec(false));
  const std::string old_leak = LeaveEni(node, "i-dead", absl::Hours(2));
  REQUIRE(node.Start().ok());
  for (int i = 0; i < 100; ++i) REQUIRE(node.Check().ok());
  CHECK(node.ec2().FindEni(old_leak) != nullptr);
  CHECK(node.controller().counters().leak_sweeps == 0);
  CHECK(node.controller().next_leak_sweep() == absl::InfiniteFuture());
}

TEST_CASE("Random sets of unattached and attached ENIs: a sweep deletes exactly the ones a plain model calls leaked") {
  std::mt19937_64 rng(4242);
  for (int round = 0; round < 10; ++round) {
    CAPTURE(round);
    SimNode node(SweepingSpec(true));
    struct Made {
      std::string id;
      bool leak_shaped;  // tagged by a node and described as the node's creates are
      absl::Duration age;
    };
    std::vector<Made> made;
    std::vector<std::string> all;
    const absl::Time created = node.clock().Now();
    const int count = static_cast<int>(rng() % 8);
    for (int i = 0; i < count; ++i) {
      const bool tagged = rng() % 3 != 0;
      const bool ours_description = rng() % 4 != 0;
      const absl::Duration age = absl::Seconds(static_cast<int>(rng() % 900));
      const std::string id = LeaveEni(node, tagged ? "i-gone" : "", age,
                                      ours_description ? "aws-K8S-i-gone" : "elb");
      all.push_back(id);
      made.push_back({id, tagged && ours_description, age});
    }
    REQUIRE(node.Start().ok());
    // Pool checks until the sweep has run; the clock at that check is the
    // sweep's time (answers take no time here).
    absl::Time swept_at = node.clock().Now();
    while (node.controller().counters().leak_sweeps == 0) {
      swept_at = node.clock().Now();
      REQUIRE(node.Check().ok());
    }
    std::set<std::string> want_deleted;
    for (const Made& m : made) {
      // createdAt is stamped to the second.
      const absl::Duration age_then =
          m.age + (swept_at - absl::FromUnixSeconds(absl::ToUnixSeconds(created)));
      if (m.leak_shaped && age_then >= absl::Minutes(5)) want_deleted.insert(m.id);
    }
    for (int i = 0; i < 3; ++i) REQUIRE(node.Check().ok());
    for (const std::string& id : all) {
      CAPTURE(id);
      CHECK((node.ec2().FindEni(id) == nullptr) == (want_deleted.count(id) == 1));
    }
    // The node's own attached ENIs are never touched.
    for (const enipool::ManagedEni& record : node.controller().enis()) {
      CHECK(node.ec2().FindEni(record.id) != nullptr);
    }
  }
}

}  // namespace
