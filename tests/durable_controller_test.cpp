// NodeController on a JournaledDatastore across crashes: every step of the
// multi-call EC2 sequences, and random crashes against a simple model.
//
// ENIPOOL_RESTART_SEEDS=<n> runs the randomized test over n seeds (default 4).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/ec2/backend.h"
#include "enipool/ec2/ec2_api.h"
#include "enipool/persist/journal.h"
#include "enipool/pool_store.h"
#include "enipool/restart_recovery.h"
#include "testing/controller_harness.h"
#include "testing/durable_node.h"

namespace {

using enipool::AddressMode;
using enipool::Ipv4Address;
using enipool::Ipv4Prefix;
using enipool::ManualClock;
using enipool::NetworkInterface;
using enipool::PodKey;
using enipool::PoolIntent;
using enipool::PoolIntentKind;
using enipool::testing::DurableNode;
using enipool::testing::SimNodeSpec;

PodKey Pod(int i) { return {"aws-cni", absl::StrCat("c-", i), "eth0"}; }

// The model: what the CNI was told. Pods acknowledged (with their address)
// and, per address, when it was last released.
struct Model {
  std::map<PodKey, Ipv4Address> pods;
  std::map<Ipv4Address, absl::Time> released;
};

// Everything that must hold once a restarted node has reconciled with EC2.
void CheckConverged(DurableNode& node, const Model& model) {
  auto& controller = node.controller();
  const auto& pool = controller.pool();
  REQUIRE_MESSAGE(pool.CheckInvariants().ok(), pool.CheckInvariants());
  const absl::Status against = enipool::testing::CheckNodeAgainstEc2(controller, node.ec2());
  CHECK_MESSAGE(against.ok(), against);
  // Every acknowledged pod holds its address; nobody else holds one.
  CHECK(pool.pod_count() == model.pods.size());
  for (const auto& [pod, address] : model.pods) {
    const auto held = pool.Lookup(pod);
    CHECK_MESSAGE(held.has_value(), pod.ToString());
    if (held.has_value()) CHECK_MESSAGE(held->address == address, pod.ToString());
  }
  CHECK(controller.lost_pods().empty());
  // No leaked ENI: nothing unattached is left in the account (the node is
  // the account's only user).
  CHECK(node.ec2().UnattachedEnis(absl::ZeroDuration()).empty());
  // EC2's view is the journal's: the same ENIs, the same CIDRs on each.
  auto described = node.ec2().DescribeNetworkInterfaces({.eni_ids = {}, .instance_id = "i-node"});
  REQUIRE(described.ok());
  CHECK(described->size() == pool.EniViews().size());
  for (const NetworkInterface& ni : *described) {
    auto cidrs = pool.Cidrs(ni.id);
    REQUIRE_MESSAGE(cidrs.ok(), ni.id);
    CHECK_MESSAGE(cidrs->size() == ni.secondary_ips.size() + ni.prefixes.size(), ni.id);
  }
  // And the journal, reopened, says the same as memory.
  CHECK(controller.datastore().intents().empty());
}

// Applies one ADD through the controller and checks it against the model:
// an address held by no other pod and not inside its cooldown.
void Add(DurableNode& node, Model& model, const PodKey& pod) {
  auto assignment = node.controller().AddPod(pod);
  if (!assignment.ok()) return;  // no free address: kubelet retries later
  const Ipv4Address address = assignment->address;
  for (const auto& [other, held] : model.pods) {
    if (other != pod) REQUIRE_MESSAGE(held != address, address.ToString(), " given twice");
  }
  if (const auto it = model.released.find(address); it != model.released.end()) {
    CHECK_MESSAGE(node.clock().Now() - it->second >= node.config().pool.ip_cooldown,
                  address.ToString(), " handed out inside its cooldown");
  }
  model.pods[pod] = address;
}
void Delete(DurableNode& node, Model& model, const PodKey& pod) {
  if (!node.controller().DeletePod(pod).ok()) return;
  model.released[model.pods.at(pod)] = node.clock().Now();
  model.pods.erase(pod);
}

// One round; after a crash (the crash point may fall anywhere, recovery
// calls included), a restart. True if it crashed.
bool RoundRestarting(DurableNode& node) {
  if (!node.running()) REQUIRE(node.Restart().ok());
  auto crashed = node.Round();
  REQUIRE_MESSAGE(crashed.ok(), crashed.status());
  if (*crashed) REQUIRE(node.Restart().ok());
  return *crashed;
}

// Restarts if needed and runs rounds until the startup describe and the
// recovery are done.
void RestartAndStart(DurableNode& node) {
  if (!node.running()) REQUIRE(node.Restart().ok());
  for (int i = 0; i < 10 && !(node.controller().started() && !node.controller().busy()); ++i) {
    RoundRestarting(node);
  }
  REQUIRE(node.controller().started());
}

// Rounds every 5 s until one makes no call.
void Converge(DurableNode& node) {
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t before = node.calls();
    const bool crashed = RoundRestarting(node);
    node.clock().AdvanceTime(absl::Seconds(5));
    if (!crashed && node.calls() == before && !node.controller().busy()) return;
  }
  FAIL("no convergence");
}

// The scripted life of a node that grows to three ENIs and shrinks back:
// new ENIs (create → attach), IPs assigned, IPs unassigned by decreases
// and ENIs freed (detach → delete). Returns the model.
struct Script {
  SimNodeSpec spec;
  std::vector<std::pair<char, int>> steps;  // ('a', pod) add, ('d', pod) delete, ('r', 0) round
};

Script GrowAndShrink(AddressMode mode) {
  Script script;
  int pods = 12;
  if (mode == AddressMode::kSecondaryIp) {
    script.spec = {.mode = mode, .max_enis = 3, .ipv4_per_eni = 5, .warm_eni_target = 0,
                   .warm_ip_target = 2, .warm_prefix_target = 0};
  } else {
    // Two /28s per ENI: 40 pods need the three ENIs.
    script.spec = {.mode = mode, .max_enis = 3, .ipv4_per_eni = 3, .warm_eni_target = 0,
                   .warm_ip_target = 0, .warm_prefix_target = 1};
    pods = 40;
  }
  auto round = [&] { script.steps.emplace_back('r', 0); };
  round();  // startup
  for (int i = 0; i < pods; ++i) {
    script.steps.emplace_back('a', i);
    if (i % 2 == 1) round();
  }
  for (int i = 0; i < pods; ++i) {
    script.steps.emplace_back('d', i);
    if (i % 4 == 3) round();
  }
  for (int i = 0; i < 30; ++i) round();  // decreases every 30 s, ENIs freed after 60 s
  return script;
}

// Runs `script` on a fresh node, crashing at `crash` (if reached); after a
// crash the node restarts and the script goes on. Returns the calls made
// and whether the crash point was reached.
struct RunResult {
  std::uint64_t calls = 0;
  int crashes = 0;
  std::array<std::uint64_t, enipool::ec2::kCallKindCount> calls_by_kind{};
};
RunResult Run(const Script& script, DurableNode::CrashPoint crash) {
  DurableNode node(script.spec);
  REQUIRE(node.Restart().ok());
  node.set_crash_point(crash);
  Model model;
  RunResult out;
  for (const auto& [kind, pod] : script.steps) {
    if (!node.running()) RestartAndStart(node);
    switch (kind) {
      case 'a':
        if (node.controller().started()) Add(node, model, Pod(pod));
        break;
      case 'd':
        if (model.pods.contains(Pod(pod))) Delete(node, model, Pod(pod));
        break;
      default:
        (void)node.Round();  // a crash: the next step restarts
        node.clock().AdvanceTime(absl::Seconds(5));
    }
  }
  if (!node.running()) RestartAndStart(node);
  Converge(node);
  CheckConverged(node, model);
  // One more restart with nothing in flight changes nothing.
  REQUIRE(node.Restart().ok());
  RestartAndStart(node);
  Converge(node);
  CheckConverged(node, model);
  out.calls = node.calls();
  out.crashes = node.crashes();
  out.calls_by_kind = node.ec2().stats().calls_by_kind;
  return out;
}

TEST_CASE("PlanRestartRecovery ends what the journal still holds and finishes what left it") {
  ManualClock clock;
  enipool::NodeDatastore<ManualClock> pool(AddressMode::kPrefix, clock);
  REQUIRE(pool.AddEni({.id = "eni-a", .device_number = 0, .primary = true}).ok());
  REQUIRE(pool.AddEni({.id = "eni-b", .device_number = 1}).ok());
  const Ipv4Prefix kept = *Ipv4Prefix::Parse("10.0.0.16/28");
  const Ipv4Prefix gone = *Ipv4Prefix::Parse("10.0.0.32/28");
  const Ipv4Prefix unassigned = *Ipv4Prefix::Parse("10.0.0.48/28");
  REQUIRE(pool.AddCidr("eni-a", kept).ok());
  auto attached = [](std::string id, int device) {
    NetworkInterface ni;
    ni.id = std::move(id);
    ni.instance_id = "i-1";
    ni.attachment_id = "attach-" + ni.id;
    ni.device_index = device;
    return ni;
  };
  std::vector<NetworkInterface> ec2 = {attached("eni-a", 0), attached("eni-b", 1),
                                       attached("eni-c", 2), attached("eni-d", 3)};
  ec2[0].prefixes = {kept, gone};  // `unassigned` already left EC2

  const std::vector<PoolIntent> intents = {
      {.id = 1, .kind = PoolIntentKind::kCreateEni},
      {.id = 2, .kind = PoolIntentKind::kAttachEni, .eni_id = "eni-c"},  // attached: adopted
      {.id = 3, .kind = PoolIntentKind::kAttachEni, .eni_id = "eni-x"},  // never attached
      {.id = 4, .kind = PoolIntentKind::kFreeEni, .eni_id = "eni-b"},    // still in the pool
      {.id = 5, .kind = PoolIntentKind::kFreeEni, .eni_id = "eni-d"},    // left, still attached
      {.id = 6, .kind = PoolIntentKind::kFreeEni, .eni_id = "eni-y"},    // left, detached
      {.id = 7, .kind = PoolIntentKind::kUnassign, .eni_id = "eni-a", .cidrs = {kept, gone, unassigned}},
      {.id = 8, .kind = PoolIntentKind::kUnassign, .eni_id = "eni-a", .cidrs = {kept}},
  };
  const enipool::RecoveryPlan plan = enipool::PlanRestartRecovery(intents, pool, ec2, "i-1");
  CHECK(plan.sweep == std::vector<std::uint64_t>{1});
  CHECK(plan.done == std::vector<std::uint64_t>{2, 4, 8});
  REQUIRE(plan.deletes.size() == 2);
  CHECK(plan.deletes[0].intent == 3);
  CHECK(plan.deletes[0].eni_id == "eni-x");
  CHECK(plan.deletes[1].intent == 6);
  REQUIRE(plan.detaches.size() == 1);
  CHECK(plan.detaches[0].eni_id == "eni-d");
  CHECK(plan.detaches[0].attachment_id == "attach-eni-d");
  CHECK(plan.keep_out_enis.contains("eni-d"));
  REQUIRE(plan.unassigns.size() == 1);
  CHECK(plan.unassigns[0].intent == 7);
  CHECK(plan.unassigns[0].cidrs == std::vector<Ipv4Prefix>{gone});
  CHECK(plan.keep_out_cidrs.contains(gone));
  CHECK_FALSE(plan.keep_out_cidrs.contains(kept));
}

TEST_CASE("A durable controller crashed at any EC2 call of a grow-and-shrink day leaks nothing and keeps every pod") {
  for (AddressMode mode : {AddressMode::kSecondaryIp, AddressMode::kPrefix}) {
    CAPTURE(static_cast<int>(mode));
    const Script script = GrowAndShrink(mode);
    const RunResult clean = Run(script, {});
    REQUIRE(clean.crashes == 0);
    // The day has every multi-call sequence in it.
    for (auto kind : {enipool::ec2::CallKind::kCreateNetworkInterface,
                      enipool::ec2::CallKind::kAttachNetworkInterface,
                      enipool::ec2::CallKind::kDetachNetworkInterface,
                      enipool::ec2::CallKind::kDeleteNetworkInterface}) {
      CHECK(clean.calls_by_kind[static_cast<std::size_t>(kind)] > 0);
    }
    const auto unassigns =
        clean.calls_by_kind[static_cast<std::size_t>(enipool::ec2::CallKind::kUnassignPrivateIpAddresses)] +
        clean.calls_by_kind[static_cast<std::size_t>(enipool::ec2::CallKind::kUnassignIpv4Prefixes)];
    CHECK(unassigns > 0);
    int crashes = 0;
    for (std::uint64_t call = 1; call <= clean.calls; ++call) {
      for (bool after_ec2 : {false, true}) {
        CAPTURE(call);
        CAPTURE(after_ec2);
        crashes += Run(script, {.call = call, .after_ec2 = after_ec2}).crashes;
      }
    }
    // The run is the clean one up to its crash point: every call is reached.
    CHECK(crashes == static_cast<int>(2 * clean.calls));
  }
}

int SeedCount() {
  const char* text = std::getenv("ENIPOOL_RESTART_SEEDS");
  return text == nullptr ? 4 : std::max(1, std::atoi(text));
}

TEST_CASE("A durable controller crashed at random moments agrees with a simple model after every restart") {
  int total_restarts = 0;
  for (int seed = 1; seed <= SeedCount(); ++seed) {
    CAPTURE(seed);
    std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
    auto uniform = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
    SimNodeSpec spec{.mode = uniform(2) == 0 ? AddressMode::kSecondaryIp : AddressMode::kPrefix,
                     .max_enis = 3, .ipv4_per_eni = 6, .warm_eni_target = uniform(2),
                     .warm_ip_target = uniform(3), .warm_prefix_target = 1,
                     .seed = static_cast<std::uint64_t>(seed)};
    if (spec.warm_eni_target == 0 && spec.warm_ip_target == 0) spec.warm_ip_target = 1;
    DurableNode node(spec);
    REQUIRE(node.Restart().ok());
    Model model;
    int restarts = 0;
    std::uint64_t crash_at = 0;
    for (int step = 0; step < 600; ++step) {
      if (!node.running()) {
        REQUIRE(node.Restart().ok());
        ++restarts;
        // Before any EC2 call, the journal alone gives back every pod and
        // every running cooldown.
        const auto& pool = node.controller().pool();
        CHECK(pool.pod_count() == model.pods.size());
        for (const auto& [pod, address] : model.pods) {
          const auto held = pool.Lookup(pod);
          CHECK_MESSAGE((held.has_value() && held->address == address), pod.ToString());
        }
        std::set<Ipv4Address> cooling;
        pool.ForEachCooling([&](Ipv4Address a, absl::Time) { cooling.insert(a); });
        for (const auto& [address, when] : model.released) {
          const bool held = std::any_of(model.pods.begin(), model.pods.end(),
                                        [&](const auto& p) { return p.second == address; });
          if (held || node.clock().Now() - when >= node.config().pool.ip_cooldown) continue;
          if (!cooling.contains(address)) {
            // The address may have left the pool with its CIDR (a decrease).
            bool in_pool = false;
            for (const auto& view : pool.EniViews()) {
              // Keep the StatusOr alive: a range-for over `*pool.Cidrs(...)` would
              // iterate a vector destroyed with its temporary.
              const auto cidrs = pool.Cidrs(view.id.view());
              REQUIRE(cidrs.ok());
              for (const auto& c : *cidrs) in_pool |= c.cidr.Contains(address);
            }
            CHECK_MESSAGE(!in_pool, address.ToString(), " lost its cooldown in the restart");
          }
        }
      }
      // Pods come and go in bursts (so the pool grows and shrinks), with
      // pool rounds in between.
      const int what = uniform(10);
      const int burst = uniform(4) == 0 ? 1 + uniform(6) : 1;
      if (what < 4) {
        for (int i = 0; i < burst && node.controller().started(); ++i) {
          Add(node, model, Pod(uniform(24)));
        }
      } else if (what < 6) {
        for (int i = 0; i < burst && !model.pods.empty(); ++i) {
          auto it = model.pods.begin();
          std::advance(it, uniform(static_cast<int>(model.pods.size())));
          Delete(node, model, it->first);
        }
      } else {
        // A crash somewhere in the next few calls, armed one round in two
        // and kept until it is reached.
        if (crash_at <= node.calls() && uniform(2) == 0) {
          crash_at = node.calls() + 1 + static_cast<std::uint64_t>(uniform(3));
          node.set_crash_point({.call = crash_at, .after_ec2 = uniform(2) == 0});
        }
        auto crashed = node.Round();
        REQUIRE_MESSAGE(crashed.ok(), crashed.status());
      }
      node.clock().AdvanceTime(absl::Seconds(uniform(12)));
    }
    node.set_crash_point({});
    if (!node.running()) RestartAndStart(node);
    Converge(node);
    CheckConverged(node, model);
    total_restarts += restarts;
  }
  CHECK(total_restarts >= 2 * SeedCount());
}

}  // namespace
