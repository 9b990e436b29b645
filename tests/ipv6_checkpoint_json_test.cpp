// An IPv6 node's durability: the vpc-cni-ipam/1 checkpoint's `ipv6` entries
// (docs/reference-behavior.md §8.1, §8.2, §4.12), and an IPv6 node on the
// simulated EC2 that restarts from its checkpoint and keeps every pod's
// address.

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/ipv6.h"
#include "enipool/ipv6_datastore.h"
#include "enipool/ipv6_node.h"
#include "enipool/persist/vpc_cni_checkpoint_json.h"

namespace {

using enipool::Ipv6Address;
using enipool::Ipv6Datastore;
using enipool::Ipv6NodeController;
using enipool::Ipv6Prefix;
using enipool::ManualClock;
using enipool::PodKey;
using enipool::VpcCniCheckpoint;

Ipv6Prefix P6(const char* text) { return *Ipv6Prefix::Parse(text); }
Ipv6Address A6(const char* text) { return *Ipv6Address::Parse(text); }
PodKey Pod(int n) { return PodKey{"aws-cni", absl::StrCat("sandbox-", n), "eth0"}; }

struct Store {
  ManualClock clock;
  Ipv6Datastore<ManualClock> store{clock};
  Store() {
    clock.SetTime(absl::FromUnixSeconds(1'700'000'000));
    REQUIRE(store.AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
    REQUIRE(store.AddPrefix("eni-1", P6("2600:1f14:abc:1:2::/80")).ok());
  }
};

TEST_CASE("An IPv6 node's checkpoint has one ipv6 entry per pod, in canonical text, and parses back") {
  Store node;
  REQUIRE(node.store.Assign(Pod(1)).ok());
  node.clock.AdvanceTime(absl::Seconds(1));
  REQUIRE(node.store.Assign(Pod(2)).ok());
  const VpcCniCheckpoint checkpoint = enipool::ExportVpcCniCheckpoint(
      node.store, {{Pod(2), enipool::PodMetadata{.pod_namespace = "default", .pod_name = "web"}}});
  const std::string json = enipool::SerializeVpcCniCheckpoint(checkpoint);
  CHECK(json ==
        R"({"version":"vpc-cni-ipam/1","allocations":[)"
        R"({"networkName":"aws-cni","containerID":"sandbox-1","ifName":"eth0","ipv6":"2600:1f14:abc:1:2::","allocationTimestamp":1700000000000000000,"metadata":{}},)"
        R"({"networkName":"aws-cni","containerID":"sandbox-2","ifName":"eth0","ipv6":"2600:1f14:abc:1:2::1","allocationTimestamp":1700000001000000000,"metadata":{"k8sPodNamespace":"default","k8sPodName":"web"}}]})");
  const auto parsed = enipool::ParseVpcCniCheckpoint(json);
  REQUIRE(parsed.ok());
  CHECK(*parsed == checkpoint);
}

TEST_CASE("A checkpoint entry whose ipv6 is not an IPv6 address is refused naming the field") {
  const auto parsed = enipool::ParseVpcCniCheckpoint(
      R"({"version":"vpc-cni-ipam/1","allocations":[{"networkName":"n","containerID":"c","ifName":"eth0","ipv6":"2600::zz"}]})");
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(parsed.status().message(), "allocations[0].ipv6"));
  CHECK(absl::StrContains(parsed.status().message(), "2600::zz"));
  // Non-canonical text is IPv6 all the same, and kept as written.
  const auto loose = enipool::ParseVpcCniCheckpoint(
      R"({"version":"vpc-cni-ipam/1","allocations":[{"networkName":"n","containerID":"c","ifName":"eth0","ipv6":"2600:1F14:0ABC:1:2:0:0:5"}]})");
  REQUIRE(loose.ok());
  CHECK(loose->allocations[0].ipv6 == "2600:1F14:0ABC:1:2:0:0:5");
}

TEST_CASE("Restoring an IPv6 checkpoint gives pods their addresses and drops IPv4 and outside entries") {
  Store node;
  const auto checkpoint = enipool::ParseVpcCniCheckpoint(
      R"({"version":"vpc-cni-ipam/1","allocations":[)"
      R"({"networkName":"aws-cni","containerID":"a","ifName":"eth0","ipv6":"2600:1F14:abc:1:2::7","allocationTimestamp":5},)"
      R"({"networkName":"aws-cni","containerID":"b","ifName":"eth0","ipv4":"10.0.0.5"},)"
      R"({"networkName":"aws-cni","containerID":"c","ifName":"eth0","ipv6":"2600:1f14:abc:1:3::1"}]})");
  REQUIRE(checkpoint.ok());
  const auto report = enipool::RestoreVpcCniIpv6Checkpoint(node.store, *checkpoint);
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  CHECK(report->restored == 1);
  REQUIRE(report->dropped.size() == 2);
  CHECK(report->dropped[0].pod.container_id == "b");
  CHECK(report->dropped[1].pod.container_id == "c");
  const auto a = node.store.Lookup({"aws-cni", "a", "eth0"});
  REQUIRE(a.has_value());
  CHECK(a->address == A6("2600:1f14:abc:1:2::7"));
  // Restoring the same file again is accepted as is.
  CHECK(enipool::RestoreVpcCniIpv6Checkpoint(node.store, *checkpoint)->restored == 1);
}

TEST_CASE("A conflicting IPv6 checkpoint fails the whole restore and changes nothing") {
  Store node;
  REQUIRE(node.store.Assign(Pod(1)).ok());  // holds 2600:1f14:abc:1:2::
  const auto before = node.store.Stats();
  for (const char* text : {
           R"({"version":"vpc-cni-ipam/1","allocations":[{"networkName":"aws-cni","containerID":"x","ifName":"eth0","ipv6":"2600:1f14:abc:1:2::9"},{"networkName":"aws-cni","containerID":"y","ifName":"eth0","ipv6":"2600:1f14:abc:1:2::"}]})",
           R"({"version":"vpc-cni-ipam/1","allocations":[{"networkName":"aws-cni","containerID":"x","ifName":"eth0","ipv6":"2600:1f14:abc:1:2::9"},{"networkName":"aws-cni","containerID":"y","ifName":"eth0","ipv6":"2600:1f14:abc:1:2::9"}]})",
           R"({"version":"vpc-cni-ipam/1","allocations":[{"networkName":"aws-cni","containerID":"x","ifName":"eth0","ipv6":"2600:1f14:abc:1:2::9"},{"networkName":"aws-cni","containerID":"sandbox-1","ifName":"eth0","ipv6":"2600:1f14:abc:1:2::8"}]})",
       }) {
    CAPTURE(text);
    const auto checkpoint = enipool::ParseVpcCniCheckpoint(text);
    REQUIRE(checkpoint.ok());
    const auto report = enipool::RestoreVpcCniIpv6Checkpoint(node.store, *checkpoint);
    CHECK(report.status().code() == absl::StatusCode::kAlreadyExists);
    CHECK(node.store.Stats() == before);
    CHECK_FALSE(node.store.Lookup({"aws-cni", "x", "eth0"}).has_value());
  }
}

// The convergence test: an IPv6 node starts on the simulated EC2, gets its
// /80, serves and deletes pods at random, is stopped at random moments (its
// checkpoint rewritten after every change, as the reference does) and
// restarts from EC2 and the checkpoint, keeping every pod's address.
TEST_CASE("An IPv6 node on SimulatedEc2 restarts from its checkpoint and keeps every pod's address") {
  ManualClock clock;
  clock.SetTime(absl::FromUnixSeconds(1'700'000'000));
  enipool::ec2::SimulatedEc2<ManualClock> ec2(
      clock, {.seed = 6,
              .latency = enipool::ec2::LatencyModel::Zero(),
              .throttle = enipool::ec2::ThrottleConfig::Disabled()});
  REQUIRE(ec2.AddSubnet("subnet-1", *enipool::Ipv4Prefix::Parse("10.0.0.0/24")).ok());
  REQUIRE(ec2.AddSubnetIpv6Cidr("subnet-1", P6("2600:1f14:abc:1::/64")).ok());
  REQUIRE(ec2.AddInstance({.instance_id = "i-1", .subnet_id = "subnet-1"}).ok());
  std::mt19937_64 random(6);
  std::map<PodKey, Ipv6Address> model;  // every pod the node acknowledged, and its address
  std::string file;                     // the checkpoint on disk
  std::optional<Ipv6Prefix> first_prefix;
  for (int life = 0; life < 6; ++life) {
    CAPTURE(life);
    Ipv6NodeController<ManualClock> node(clock, {.instance_id = "i-1"});
    REQUIRE(enipool::RunIpv6Startup(node, ec2).ok());
    if (!first_prefix.has_value()) first_prefix = node.prefix();
    CHECK(node.prefix() == first_prefix);  // the same /80, read back from EC2
    if (!file.empty()) {
      const auto checkpoint = enipool::ParseVpcCniCheckpoint(file);
      REQUIRE(checkpoint.ok());
      const auto report = enipool::RestoreVpcCniIpv6Checkpoint(node.store(), *checkpoint);
      REQUIRE(report.ok());
      CHECK(report->dropped.empty());
    }
    for (const auto& [pod, address] : model) {
      const auto held = node.store().Lookup(pod);
      REQUIRE(held.has_value());
      CHECK(held->address == address);
      CHECK(node.AddPod(pod)->address == address);  // a repeated ADD after the restart
    }
    CHECK(node.store().pod_count() == model.size());
    const int steps = 50 + static_cast<int>(random() % 200);
    for (int step = 0; step < steps; ++step) {
      const PodKey pod = Pod(static_cast<int>(random() % 300));
      if (random() % 3 != 0) {
        const auto got = node.AddPod(pod);
        REQUIRE(got.ok());
        if (const auto it = model.find(pod); it != model.end()) REQUIRE(it->second == got->address);
        for (const auto& [other, address] : model) {
          if (other != pod) REQUIRE(address != got->address);
        }
        model[pod] = got->address;
      } else if (node.DeletePod(pod).ok()) {
        model.erase(pod);
      }
      clock.AdvanceTime(absl::Milliseconds(static_cast<std::int64_t>(random() % 3000)));
      file = enipool::SerializeVpcCniCheckpoint(enipool::ExportVpcCniCheckpoint(node.store()));
    }
  }
  const auto nic = ec2.DescribeNetworkInterfaces({.instance_id = "i-1"});
  REQUIRE(nic.ok());
  CHECK(nic->front().ipv6_prefixes == std::vector<Ipv6Prefix>{*first_prefix});
  CHECK(ec2.stats().calls_of(enipool::ec2::CallKind::kAssignIpv6Prefixes) == 1);
}

}  // namespace
