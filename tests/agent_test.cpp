// NodeAgent: the threaded runtime over a simulated EC2. Client threads churn
// pods while the pool thread grows and shrinks the pool; EC2 calls are held
// at a gate to show that ADD, DEL, snapshots and metrics never wait for
// them; timeouts, Stop() and bad options. Run under ThreadSanitizer by the
// `tsan` preset.

#include "enipool/agent.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "enipool/controller.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/ec2/synchronized_backend.h"
#include "enipool/introspection.h"
#include "enipool/ipv6.h"
#include "enipool/ipv6_node.h"
#include "enipool/multi_card.h"
#include "enipool/node_config.h"
#include "testing/atomic_manual_clock.h"
#include "testing/controller_harness.h"
#include "testing/gated_backend.h"
#include "testing/multi_card_add_model.h"

namespace {

using enipool::AddressMode;
using enipool::AgentOptions;
using enipool::Assignment;
using enipool::ControllerConfig;
using enipool::Ipv4Address;
using enipool::NodeController;
using enipool::PodKey;
using enipool::testing::AtomicManualClock;
using enipool::testing::GatedBackend;
using enipool::testing::SimNodeSpec;

using Sim = enipool::ec2::SimulatedEc2<AtomicManualClock>;
using SyncEc2 = enipool::ec2::SynchronizedBackend<Sim>;
using Gated = GatedBackend<SyncEc2>;
using Controller = NodeController<AtomicManualClock>;
using Agent = enipool::NodeAgent<AtomicManualClock, Gated>;

// Generous bounds for waits that only fail if something deadlocks.
constexpr absl::Duration kLiveness = absl::Seconds(60);

// One node: a simulated EC2 with its subnet and instance, behind a mutex and
// a gate, and a clock every thread may read.
struct Node {
  explicit Node(const SimNodeSpec& node_spec)
      : spec(node_spec),
        clock(absl::FromUnixSeconds(1'700'000'000)),
        ec2(clock, enipool::testing::MakeEc2Options(node_spec)),
        gated(ec2) {
    ec2.WithLock([&](Sim& sim) {
      REQUIRE(enipool::testing::AddSpecNode(sim, spec).ok());
    });
  }

  std::unique_ptr<Agent> MakeAgent(ControllerConfig config, AgentOptions options = {}) {
    auto controller = Controller::Create(clock, std::move(config));
    REQUIRE_MESSAGE(controller.ok(), controller.status());
    auto agent = Agent::Create(clock, gated, *std::move(controller), options);
    REQUIRE_MESSAGE(agent.ok(), agent.status());
    return *std::move(agent);
  }

  SimNodeSpec spec;
  AtomicManualClock clock;
  SyncEc2 ec2;
  Gated gated;
};

// Runs one pool round now and waits for it.
void PoolCheck(Agent& agent) {
  const std::uint64_t ticket = agent.RequestPoolCheck();
  REQUIRE(agent.AwaitPoolCheck(ticket, kLiveness));
}

// EC2's view of the node equals the datastore's: the same ENIs attached to
// the instance, each with the same CIDRs (checked both ways).
absl::Status CheckEc2EqualsNode(Agent& agent, SyncEc2& ec2) {
  return agent.WithController([&](const Controller& controller) {
    return ec2.WithLock([&](const Sim& sim) -> absl::Status {
      if (absl::Status s = enipool::testing::CheckNodeAgainstEc2(controller, sim); !s.ok()) {
        return s;
      }
      auto described = const_cast<Sim&>(sim).DescribeNetworkInterfaces(
          {.eni_ids = {}, .instance_id = "i-node"});
      if (!described.ok()) return described.status();
      const auto& datastore = controller.pool();
      for (const enipool::NetworkInterface& ni : *described) {
        auto cidrs = datastore.Cidrs(ni.id);
        if (!cidrs.ok()) return absl::InternalError(absl::StrCat("EC2 ENI ", ni.id, " is not in the datastore"));
        std::size_t want = ni.prefixes.size();
        for (Ipv4Address ip : ni.secondary_ips) want += ip != ni.primary_ip ? 1u : 0u;
        if (cidrs->size() != want) {
          return absl::InternalError(absl::StrCat("EC2 gives ", ni.id, " ", want,
                                                  " CIDRs, the datastore holds ", cidrs->size()));
        }
      }
      return absl::OkStatus();
    });
  });
}

// ---------------------------------------------------------------------------
// Many client threads and the pool thread.
// ---------------------------------------------------------------------------

// The pods the clients hold, as they were acknowledged, and when each
// address was last released: the model the agent is checked against.
struct Model {
  std::mutex mu;
  std::map<PodKey, Ipv4Address> held;
  absl::flat_hash_map<std::uint32_t, PodKey> holder;          // address → pod
  absl::flat_hash_map<std::uint32_t, absl::Time> released;    // address → clock before its DEL
  std::vector<std::string> errors;
  std::int64_t adds = 0;
  std::int64_t exhausted = 0;
};

void Client(Agent& agent, AtomicManualClock& clock, Model& model, absl::Duration cooldown,
            int thread, int ops) {
  std::mt19937_64 rng(0x5eed + static_cast<std::uint64_t>(thread));
  std::vector<PodKey> live;
  for (int i = 0; i < ops; ++i) {
    clock.AdvanceTime(absl::Milliseconds(5));
    const bool add = live.empty() || (live.size() < 12 && rng() % 3 != 0);
    if (add) {
      PodKey pod{"aws-cni", absl::StrCat("t", thread, "-", i), "eth0"};
      auto assigned = agent.AddPod(pod);
      const absl::Time after = clock.Now();
      std::lock_guard<std::mutex> lock(model.mu);
      if (!assigned.ok()) {
        if (assigned.status().code() != absl::StatusCode::kResourceExhausted) {
          model.errors.push_back(assigned.status().ToString());
        }
        ++model.exhausted;
        continue;
      }
      ++model.adds;
      const std::uint32_t address = assigned->address.value();
      // DEL and the model's update happen under one lock (below), so a pod
      // still in `holder` really holds its address.
      if (auto it = model.holder.find(address); it != model.holder.end()) {
        model.errors.push_back(absl::StrCat(assigned->address.ToString(), " handed to ",
                                            pod.container_id, " while ",
                                            it->second.container_id, " holds it"));
      }
      if (auto it = model.released.find(address);
          it != model.released.end() && after < it->second + cooldown) {
        model.errors.push_back(absl::StrCat(assigned->address.ToString(),
                                            " handed out inside its cooldown"));
      }
      model.holder[address] = pod;
      model.held[pod] = assigned->address;
      live.push_back(pod);
    } else {
      const std::size_t index = rng() % live.size();
      const PodKey pod = live[index];
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(index));
      std::lock_guard<std::mutex> lock(model.mu);
      const absl::Time before = clock.Now();
      auto released = agent.DeletePod(pod);
      if (!released.ok()) {
        model.errors.push_back(absl::StrCat("DEL ", pod.container_id, ": ",
                                            released.status().ToString()));
        continue;
      }
      if (released->address != model.held[pod]) {
        model.errors.push_back(absl::StrCat("DEL ", pod.container_id, " released ",
                                            released->address.ToString(), ", ADD gave ",
                                            model.held[pod].ToString()));
      }
      model.holder.erase(released->address.value());
      model.released[released->address.value()] = before;
      model.held.erase(pod);
    }
  }
}

TEST_CASE("NodeAgent serves ADD and DEL from 8 threads while its pool thread grows and shrinks "
          "the pool") {
  SimNodeSpec spec{.mode = AddressMode::kPrefix, .max_enis = 3, .ipv4_per_eni = 4};
  Node node(spec);
  ControllerConfig config = enipool::testing::MakeControllerConfig(spec);
  config.pool.ip_cooldown = absl::Seconds(2);
  // The cooling-aware policy: with the reference's (cooling addresses count
  // as available) a pool whose free addresses are all cooling may not grow,
  // depending on when the pool thread looks.
  config.pool.count_cooling_as_available = false;
  auto agent = node.MakeAgent(config, {.pool_check_interval = absl::Seconds(1)});
  REQUIRE(agent->Start().ok());
  REQUIRE(agent->AwaitStarted(kLiveness));
  PoolCheck(*agent);

  constexpr int kClients = 8;
  constexpr int kOps = 400;
  Model model;
  std::atomic<bool> clients_done{false};
  // The pool thread runs on its own schedule (the clock moves with the
  // clients) and also when poked, as a busy node's loop would.
  std::thread poker([&] {
    while (!clients_done.load()) (void)agent->AwaitPoolCheck(agent->RequestPoolCheck(), kLiveness);
  });
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back(
        [&, t] { Client(*agent, node.clock, model, config.pool.ip_cooldown, t, kOps); });
  }
  for (std::thread& c : clients) c.join();
  clients_done = true;
  poker.join();

  for (const std::string& e : model.errors) FAIL_CHECK(e);
  CHECK(model.adds > 0);
  // Every acknowledged ADD is there, with its address.
  for (const auto& [pod, address] : model.held) {
    const auto found = agent->Lookup(pod);
    REQUIRE_MESSAGE(found.has_value(), pod.container_id);
    CHECK(found->address == address);
  }
  CHECK(agent->WithController([](const Controller& c) { return c.pool().pod_count(); }) ==
        model.held.size());

  // Everyone leaves; after the cooldown and the decrease throttle the pool
  // shrinks back, and EC2 agrees with the datastore.
  for (const auto& [pod, address] : model.held) CHECK(agent->DeletePod(pod).ok());
  for (int i = 0; i < 20; ++i) {
    node.clock.AdvanceTime(absl::Seconds(31));
    PoolCheck(*agent);
  }
  const auto counters = agent->WithController([](const Controller& c) { return c.counters(); });
  CHECK(counters.cidrs_added > 1);  // it grew beyond the first prefix
  // It shrank: free prefixes released, or whole ENIs freed (whichever the
  // timing of the last pods' departures made the policy choose).
  CHECK(counters.decreases + counters.enis_freed > 0);
  CHECK(agent->Stats().assigned_ips == 0);
  CHECK(agent->Stop().ok());
  const absl::Status converged = CheckEc2EqualsNode(*agent, node.ec2);
  CHECK_MESSAGE(converged.ok(), converged);
  CHECK(agent->counters().call_timeouts == 0);
}

// ---------------------------------------------------------------------------
// EC2 calls held in flight.
// ---------------------------------------------------------------------------

TEST_CASE("NodeAgent completes ADD, DEL, snapshots and metrics while its pool thread waits on "
          "EC2") {
  SimNodeSpec spec{.mode = AddressMode::kPrefix, .max_enis = 3, .ipv4_per_eni = 10};
  Node node(spec);
  auto agent = node.MakeAgent(enipool::testing::MakeControllerConfig(spec));
  REQUIRE(agent->Start().ok());
  REQUIRE(agent->AwaitStarted(kLiveness));
  PoolCheck(*agent);
  REQUIRE(agent->Stats().total_ips == 16);  // the warm prefix

  // Take every address: the pool is too low, the next check assigns a
  // prefix, and that call is held.
  for (int i = 0; i < 16; ++i) {
    REQUIRE(agent->AddPod({"aws-cni", absl::StrCat("c", i), "eth0"}).ok());
  }
  node.gated.Hold(enipool::testing::kAssignIpv4Prefixes);
  const std::uint64_t ticket = agent->RequestPoolCheck();
  REQUIRE(node.gated.AwaitHeld(kLiveness));

  // Meanwhile, from another thread (a hang here would be the bug).
  auto meanwhile = std::async(std::launch::async, [&] {
    const auto exhausted = agent->AddPod({"aws-cni", "extra", "eth0"});
    const auto released = agent->DeletePod({"aws-cni", "c0", "eth0"});
    const enipool::NodeSnapshot snapshot = agent->Snapshot();
    const std::string metrics = agent->Metrics();
    return std::make_tuple(exhausted.status().code(), released.ok(), snapshot.assigned_ips,
                           absl::StrContains(metrics, "awscni_add_ip_req_count 17"));
  });
  REQUIRE(meanwhile.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  const auto [exhausted, released, assigned, metrics_ok] = meanwhile.get();
  CHECK(exhausted == absl::StatusCode::kResourceExhausted);
  CHECK(released);
  CHECK(assigned == 15);
  CHECK(metrics_ok);
  CHECK_FALSE(agent->AwaitPoolCheck(ticket, absl::ZeroDuration()));  // still waiting on EC2

  node.gated.Release();
  REQUIRE(agent->AwaitPoolCheck(ticket, kLiveness));
  CHECK(agent->Stats().total_ips == 32);
  CHECK(agent->Stop().ok());
}

TEST_CASE("NodeAgent reports a call that outlives its timeout as RequestTimeout and recovers "
          "what it did from a reconcile") {
  SimNodeSpec spec{.mode = AddressMode::kPrefix, .max_enis = 3, .ipv4_per_eni = 10};
  Node node(spec);
  ControllerConfig config = enipool::testing::MakeControllerConfig(spec);
  config.reconcile_interval = absl::Minutes(1);
  auto agent = node.MakeAgent(config, {.call_timeout = absl::Milliseconds(50)});
  REQUIRE(agent->Start().ok());
  REQUIRE(agent->AwaitStarted(kLiveness));

  // The first pool check's assign is held past its timeout: the controller
  // sees RequestTimeout, retries with a count of 1, and that retry cannot
  // be sent while the first call is still out.
  node.gated.Hold(enipool::testing::kAssignIpv4Prefixes);
  PoolCheck(*agent);
  auto counters = agent->counters();
  CHECK(counters.calls == 2);  // the describe, the held assign
  CHECK(counters.call_timeouts == 2);
  const auto failures = agent->WithController([](const Controller& c) {
    return c.counters().failures[enipool::testing::kAssignIpv4Prefixes];
  });
  CHECK(failures == 2);
  CHECK(agent->Stats().total_ips == 0);

  // The held call completes late: EC2 assigned a prefix the datastore does
  // not know. Its answer is dropped.
  node.gated.Release();
  for (int i = 0; i < 6000 && agent->counters().late_answers == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  CHECK(agent->counters().late_answers == 1);

  // The next check assigns another prefix; the reconcile (a minute after
  // the last pool action) adopts the late one.
  node.clock.AdvanceTime(absl::Seconds(5));
  PoolCheck(*agent);
  CHECK(agent->Stats().total_ips == 16);
  for (int i = 0; i < 3; ++i) {
    node.clock.AdvanceTime(absl::Seconds(61));
    PoolCheck(*agent);
  }
  CHECK(agent->WithController([](const Controller& c) { return c.counters().reconciles; }) > 0);
  CHECK(agent->Stop().ok());
  const absl::Status converged = CheckEc2EqualsNode(*agent, node.ec2);
  CHECK_MESSAGE(converged.ok(), converged);
}

TEST_CASE("NodeAgent::Stop finishes the EC2 sequence in progress before it returns") {
  SimNodeSpec spec{.mode = AddressMode::kSecondaryIp, .max_enis = 3, .ipv4_per_eni = 10};
  Node node(spec);
  auto agent = node.MakeAgent(enipool::testing::MakeControllerConfig(spec));
  REQUIRE(agent->Start().ok());
  REQUIRE(agent->AwaitStarted(kLiveness));

  // The primary ENI fills up with 9 IPs; with pods on it, WARM_ENI_TARGET=1
  // wants a second ENI. Hold its create.
  PoolCheck(*agent);
  REQUIRE(agent->Stats().total_ips == 9);
  for (int i = 0; i < 5; ++i) REQUIRE(agent->AddPod({"aws-cni", absl::StrCat("c", i), "eth0"}).ok());
  node.gated.Hold(enipool::testing::kCreateNetworkInterface);
  bool held = false;
  for (int i = 0; i < 10 && !held; ++i) {
    node.clock.AdvanceTime(absl::Seconds(5));
    (void)agent->RequestPoolCheck();
    held = node.gated.AwaitHeld(absl::Seconds(2));
  }
  REQUIRE(held);
  auto stopped = std::async(std::launch::async, [&] { return agent->Stop(); });
  node.gated.Release();
  REQUIRE(stopped.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  CHECK(stopped.get().ok());

  // The create's attach was made and applied: the new ENI is in EC2,
  // attached, and in the datastore.
  const auto counters = agent->WithController([](const Controller& c) { return c.counters(); });
  CHECK(counters.enis_created == 1);
  CHECK(counters.enis_attached == 1);
  CHECK(agent->WithController([](const Controller& c) { return c.pool().EniViews().size(); }) ==
        2);
  const absl::Status converged = CheckEc2EqualsNode(*agent, node.ec2);
  CHECK_MESSAGE(converged.ok(), converged);
  // Stopped for good.
  CHECK(agent->Start().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(agent->Stop().ok());
}

// ---------------------------------------------------------------------------
// Bad options.
// ---------------------------------------------------------------------------

TEST_CASE("NodeAgent::Create rejects bad options with a message naming them and starts nothing") {
  SimNodeSpec spec{.mode = AddressMode::kPrefix};
  Node node(spec);
  struct Case {
    AgentOptions options;
    const char* names;
  };
  const Case cases[] = {
      {{.pool_check_interval = absl::ZeroDuration()}, "pool_check_interval is 0"},
      {{.pool_check_interval = absl::InfiniteDuration()}, "pool_check_interval is inf"},
      {{.call_timeout = absl::Seconds(-1)}, "call_timeout is -1s"},
      {{.call_timeout = absl::InfiniteDuration()}, "call_timeout is inf"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.names);
    auto controller = Controller::Create(node.clock, enipool::testing::MakeControllerConfig(spec));
    REQUIRE(controller.ok());
    auto agent = Agent::Create(node.clock, node.gated, *std::move(controller), c.options);
    REQUIRE_FALSE(agent.ok());
    CHECK(agent.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_MESSAGE(absl::StrContains(agent.status().message(), c.names), agent.status());
  }
  CHECK(node.gated.calls() == 0);
}

TEST_CASE("NodeAgent::Start runs once and Stop is idempotent") {
  SimNodeSpec spec{.mode = AddressMode::kPrefix};
  Node node(spec);
  auto agent = node.MakeAgent(enipool::testing::MakeControllerConfig(spec));
  CHECK(agent->Stop().ok());  // never started
  CHECK(agent->Start().code() == absl::StatusCode::kFailedPrecondition);

  auto second = node.MakeAgent(enipool::testing::MakeControllerConfig(spec));
  REQUIRE(second->Start().ok());
  CHECK(second->Start().code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(second->AwaitStarted(kLiveness));
  CHECK(second->Stop().ok());
  CHECK(second->Stop().ok());
}

}  // namespace

// ---------------------------------------------------------------------------
// A node of several network cards (ENABLE_MULTI_NIC).
// ---------------------------------------------------------------------------

namespace {
namespace multi {

using enipool::CardAssignment;
using MultiNode = enipool::MultiCardNode<AtomicManualClock>;
using MultiAgent = enipool::NodeAgent<AtomicManualClock, Gated, MultiNode>;

// A 3-card instance type of 2 ENIs per card and 10 addresses per ENI.
enipool::InstanceLimits ThreeCards() {
  return {.name = "x9.3card", .max_enis = 2, .ipv4_per_eni = 10, .network_cards = 3,
          .enis_all_cards = 6};
}

struct MultiCardWorld {
  MultiCardWorld()
      : clock(absl::FromUnixSeconds(1'700'000'000)),
        ec2(clock, enipool::testing::MakeEc2Options(SimNodeSpec{})),
        gated(ec2) {
    ec2.WithLock([&](Sim& sim) {
      REQUIRE(sim.AddSubnet("subnet-a", *enipool::Ipv4Prefix::Parse("10.0.0.0/20")).ok());
      REQUIRE(sim.AddInstance({.instance_id = "i-node", .subnet_id = "subnet-a",
                               .max_enis = 2, .ipv4_per_eni = 10, .network_cards = 3})
                  .ok());
    });
  }

  // The node as an agent builds it from its environment.
  std::unique_ptr<MultiAgent> MakeAgent(const std::map<std::string, std::string>& env) {
    const auto lookup = [&](absl::string_view name) -> std::optional<std::string> {
      const auto it = env.find(std::string(name));
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    auto node_config = enipool::NodeConfigFromEnvironment(
        {.instance_type = "x9.3card", .instance_id = "i-node", .subnet_id = "subnet-a",
         .limits = ThreeCards()},
        lookup);
    REQUIRE_MESSAGE(node_config.ok(), node_config.status());
    auto described = ec2.WithLock([](Sim& sim) {
      return sim.DescribeNetworkInterfaces({.eni_ids = {}, .instance_id = "i-node"});
    });
    REQUIRE(described.ok());
    const enipool::MultiCardConfig config =
        enipool::MultiCardConfigFromNode(*node_config, lookup, *described);
    auto node = MultiNode::Create(clock, config);
    REQUIRE_MESSAGE(node.ok(), node.status());
    auto agent = MultiAgent::Create(clock, gated, *std::move(node));
    REQUIRE_MESSAGE(agent.ok(), agent.status());
    return *std::move(agent);
  }

  AtomicManualClock clock;
  SyncEc2 ec2;
  Gated gated;
};

void PoolCheck(MultiAgent& agent) {
  const std::uint64_t ticket = agent.RequestPoolCheck();
  REQUIRE(agent.AwaitPoolCheck(ticket, kLiveness));
}

PodKey Pod(int i) { return PodKey{"aws-cni", absl::StrCat("pod-", i), "eth0"}; }

// docs/reference-behavior.md §1.1, §2.1, §4.1, §9: with ENABLE_MULTI_NIC the
// agent keeps one pool per card (cards > 0 at W = M = 1), an ADD falls
// through the cards in order, a multi-address pod takes one address per
// card, a DEL releases the pod on every card, and /v1/enis shows every card.
TEST_CASE("NodeAgent runs a multi-card node when ENABLE_MULTI_NIC is set") {
  MultiCardWorld world;
  auto agent = world.MakeAgent({{"ENABLE_MULTI_NIC", "true"},
                                {"WARM_IP_TARGET", "2"},
                                {"MINIMUM_IP_TARGET", "4"},
                                {"IP_COOLDOWN_PERIOD", "0"}});
  REQUIRE(agent->Start().ok());
  REQUIRE(agent->AwaitStarted(kLiveness));
  for (int i = 0; i < 4; ++i) PoolCheck(*agent);
  const std::vector<enipool::NodeSnapshot> cards = agent->Snapshot();
  REQUIRE(cards.size() == 3);
  for (int c = 0; c < 3; ++c) CHECK(cards[static_cast<std::size_t>(c)].network_card == c);
  CHECK(cards[0].total_ips == 4);  // MINIMUM_IP_TARGET
  CHECK(cards[1].total_ips == 1);  // W = M = 1 on cards > 0
  CHECK(cards[2].total_ips == 1);
  CHECK(agent->Stats().total_ips == 6);
  const std::string json = enipool::ToJson(cards);
  CHECK(absl::StrContains(json, "{\"0\":{\"TotalIPs\":4,"));
  CHECK(absl::StrContains(json, ",\"1\":{\"TotalIPs\":1,"));
  CHECK(absl::StrContains(json, ",\"2\":{\"TotalIPs\":1,"));
  CHECK(absl::StrContains(json, "\"RouteTableID\":10100"));  // card 1, device 0
  CHECK(absl::StrContains(json, "\"RouteTableID\":10200"));

  // The clock moves a millisecond a step (a released address cools while
  // the clock stands still, even with a zero cooldown) and no pool check
  // runs: ADD and DEL against a model of fixed capacities, over random
  // operations.
  enipool::testing::MultiCardAddModel model{.capacity = {4, 1, 1}, .used = {0, 0, 0}};
  std::mt19937_64 rng(31);
  for (int step = 0; step < 300; ++step) {
    CAPTURE(step);
    world.clock.AdvanceTime(absl::Milliseconds(1));
    const int pod = static_cast<int>(rng() % 8);
    const int what = static_cast<int>(rng() % 3);
    if (what == 0) {
      if (model.multi.contains(pod)) {
        // A multi-address pod asked again for one address: card 0's.
        absl::StatusOr<CardAssignment> again = agent->AddPod(Pod(pod));
        REQUIRE(again.ok());
        CHECK(again->network_card == 0);
        continue;
      }
      const std::optional<int> want = model.Add(pod);
      absl::StatusOr<CardAssignment> got = agent->AddPod(Pod(pod));
      REQUIRE(got.ok() == want.has_value());
      if (got.ok()) CHECK(got->network_card == *want);
      if (!got.ok()) CHECK(got.status().code() == absl::StatusCode::kResourceExhausted);
    } else if (what == 1) {
      if (model.single.contains(pod)) continue;  // a single-address pod stays one
      const bool want = model.AddMulti(pod);
      absl::StatusOr<std::vector<CardAssignment>> got = agent->AddMultiCardPod(Pod(pod));
      REQUIRE(got.ok() == want);
      if (got.ok()) CHECK(got->size() == 3);
    } else {
      const std::size_t want = model.Delete(pod);
      auto got = agent->DeletePod(Pod(pod));
      REQUIRE(got.ok() == (want > 0));
      if (got.ok()) CHECK(got->size() == want);
    }
    CHECK(agent->Lookup(Pod(pod)).size() ==
          (model.single.contains(pod) ? 1u : model.multi.contains(pod) ? 3u : 0u));
    const std::vector<enipool::NodeSnapshot> now = agent->Snapshot();
    for (std::size_t c = 0; c < 3; ++c) CHECK(now[c].assigned_ips == model.used[c]);
  }
  // Metrics are the node's: every card's addresses and requests together.
  const std::string metrics = agent->Metrics();
  CHECK(absl::StrContains(metrics, "awscni_total_ip_addresses 6\n"));
  CHECK(absl::StrContains(
      metrics, absl::StrCat("awscni_assigned_ip_addresses ",
                            model.used[0] + model.used[1] + model.used[2], "\n")));
  CHECK(agent->Stop().ok());
}

// docs/reference-behavior.md §1.1: without ENABLE_MULTI_NIC only card 0 is
// managed; the other cards' pools are never created.
TEST_CASE("NodeAgent keeps card 0 alone when ENABLE_MULTI_NIC is unset or not a boolean") {
  for (const char* value : {"", "false", "yes"}) {
    CAPTURE(value);
    MultiCardWorld world;
    std::map<std::string, std::string> env = {{"WARM_IP_TARGET", "2"}};
    if (*value != '\0') env["ENABLE_MULTI_NIC"] = value;
    auto agent = world.MakeAgent(env);
    REQUIRE(agent->Start().ok());
    REQUIRE(agent->AwaitStarted(kLiveness));
    PoolCheck(*agent);
    const std::vector<enipool::NodeSnapshot> cards = agent->Snapshot();
    REQUIRE(cards.size() == 1);
    CHECK(cards[0].network_card == 0);
    CHECK(enipool::ToJson(cards).rfind("{\"0\":", 0) == 0);
    CHECK(world.ec2.WithLock([](Sim& sim) {
      for (const enipool::NetworkInterface& ni : sim.AttachedEnis("i-node")) {
        if (ni.network_card_index != 0) return false;
      }
      return true;
    }));
    CHECK(agent->Stop().ok());
  }
}

}  // namespace multi
}  // namespace

// ---------------------------------------------------------------------------
// An IPv6 node (ENABLE_IPv6 with prefix delegation).
// ---------------------------------------------------------------------------

namespace {
namespace ipv6 {

using enipool::Ipv6Address;
using enipool::Ipv6Assignment;
using enipool::Ipv6Prefix;
using Ipv6Node = enipool::Ipv6NodeController<AtomicManualClock>;
using Ipv6Agent = enipool::NodeAgent<AtomicManualClock, Gated, Ipv6Node>;

PodKey Pod(int i) { return PodKey{"aws-cni", absl::StrCat("pod6-", i), "eth0"}; }

struct Ipv6World {
  Ipv6World()
      : clock(absl::FromUnixSeconds(1'700'000'000)),
        ec2(clock, enipool::testing::MakeEc2Options(SimNodeSpec{})),
        gated(ec2) {
    ec2.WithLock([&](Sim& sim) {
      REQUIRE(sim.AddSubnet("subnet-a", *enipool::Ipv4Prefix::Parse("10.0.0.0/20")).ok());
      REQUIRE(sim.AddSubnetIpv6Cidr("subnet-a", *Ipv6Prefix::Parse("2600:1f14:abc:1::/64")).ok());
      REQUIRE(sim.AddInstance({.instance_id = "i-node", .subnet_id = "subnet-a"}).ok());
    });
  }

  // The node as an agent builds it from its environment: the family first.
  std::unique_ptr<Ipv6Agent> MakeAgent(const std::map<std::string, std::string>& env) {
    const auto lookup = [&](absl::string_view name) -> std::optional<std::string> {
      const auto it = env.find(std::string(name));
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    const auto family = enipool::IpFamilyFromEnvironment(lookup, /*prefix_delegation_supported=*/true);
    REQUIRE(family.ok());
    REQUIRE(*family == enipool::IpFamily::kIpv6);
    auto config = enipool::Ipv6NodeConfigFromEnvironment(
        {.instance_type = "m5.xlarge", .instance_id = "i-node", .subnet_id = "subnet-a", .vcpus = 4},
        lookup);
    REQUIRE_MESSAGE(config.ok(), config.status());
    auto agent = Ipv6Agent::Create(clock, gated, Ipv6Node(clock, *config));
    REQUIRE_MESSAGE(agent.ok(), agent.status());
    return *std::move(agent);
  }

  AtomicManualClock clock;
  SyncEc2 ec2;
  Gated gated;
};

// docs/reference-behavior.md §2.3, §4.12, §9: with ENABLE_IPv6 the agent
// starts the node (describe, then one AssignIpv6Addresses since the primary
// ENI has no /80), refuses ADDs until the /80 is known, then serves ADD,
// DEL and Lookup out of the /80 with the cooldown; /v1/enis shows the /80
// and its addresses, the metrics the pods; EC2 is never called again.
TEST_CASE("NodeAgent runs an IPv6 node when ENABLE_IPv6 is set") {
  Ipv6World world;
  auto agent = world.MakeAgent({{"ENABLE_IPv4", "false"},
                                {"ENABLE_IPv6", "true"},
                                {"ENABLE_PREFIX_DELEGATION", "true"},
                                {"WARM_IP_TARGET", "5"},  // read and ignored in IPv6 mode
                                {"IP_COOLDOWN_PERIOD", "30"}});
  world.gated.Hold(enipool::testing::kDescribeNetworkInterfaces);
  REQUIRE(agent->Start().ok());
  REQUIRE(world.gated.AwaitHeld(kLiveness));
  CHECK(agent->AddPod(Pod(0)).status().code() == absl::StatusCode::kFailedPrecondition);
  world.gated.Release();
  REQUIRE(agent->AwaitStarted(kLiveness));
  const std::optional<Ipv6Prefix> prefix =
      agent->WithController([](const Ipv6Node& node) { return node.prefix(); });
  REQUIRE(prefix.has_value());
  CHECK(prefix->length() == 80);

  // Random ADD, DEL and Lookup against a model: the pods held, and when each
  // address was released (no address twice, none inside its cooldown).
  std::map<int, Ipv6Address> model;
  std::map<Ipv6Address, absl::Time> released;
  std::mt19937_64 rng(61);
  for (int step = 0; step < 400; ++step) {
    CAPTURE(step);
    world.clock.AdvanceTime(absl::Milliseconds(static_cast<std::int64_t>(rng() % 2000)));
    const int pod = static_cast<int>(rng() % 24);
    if (rng() % 2 == 0) {
      const absl::StatusOr<Ipv6Assignment> got = agent->AddPod(Pod(pod));
      REQUIRE_MESSAGE(got.ok(), got.status());
      REQUIRE(prefix->Contains(got->address));
      if (const auto held = model.find(pod); held != model.end()) {
        CHECK(got->address == held->second);  // a repeated ADD: the same address
      } else {
        for (const auto& [other, address] : model) REQUIRE(address != got->address);
        if (const auto it = released.find(got->address); it != released.end()) {
          REQUIRE(world.clock.Now() - it->second > absl::Seconds(30));
        }
        model[pod] = got->address;
      }
    } else {
      const absl::StatusOr<Ipv6Assignment> got = agent->DeletePod(Pod(pod));
      if (const auto held = model.find(pod); held != model.end()) {
        REQUIRE(got.ok());
        CHECK(got->address == held->second);
        released[held->second] = world.clock.Now();
        model.erase(held);
      } else {
        CHECK(got.status().code() == absl::StatusCode::kNotFound);
      }
    }
    const std::optional<Ipv6Assignment> looked = agent->Lookup(Pod(pod));
    CHECK(looked.has_value() == model.contains(pod));
    if (looked.has_value()) CHECK(looked->address == model[pod]);
    CHECK(agent->Stats().assigned_ips == static_cast<std::int64_t>(model.size()));
  }

  // Client threads at once: each its own pods; no address twice.
  std::vector<std::thread> clients;
  std::vector<std::vector<Ipv6Address>> held(4);
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const PodKey pod{"aws-cni", absl::StrCat("thread-", t, "-", i), "eth0"};
        auto got = agent->AddPod(pod);
        if (got.ok()) held[static_cast<std::size_t>(t)].push_back(got->address);
        if (i % 3 == 0 && agent->DeletePod(pod).ok()) held[static_cast<std::size_t>(t)].pop_back();
      }
    });
  }
  for (std::thread& c : clients) c.join();
  std::set<Ipv6Address> all;
  for (const auto& [pod, address] : model) all.insert(address);
  std::size_t total = model.size();
  for (const auto& addresses : held) {
    total += addresses.size();
    all.insert(addresses.begin(), addresses.end());
  }
  CHECK(all.size() == total);
  CHECK(agent->Stats().assigned_ips == static_cast<std::int64_t>(total));

  // /v1/enis and the metrics.
  const enipool::NodeSnapshot snapshot = agent->Snapshot();
  REQUIRE(snapshot.enis.size() == 1);
  CHECK(snapshot.enis[0].primary);
  CHECK(snapshot.enis[0].subnet_id == "subnet-a");
  REQUIRE(snapshot.enis[0].ipv6_cidrs.size() == 1);
  CHECK(snapshot.enis[0].ipv6_cidrs[0].cidr == *prefix);
  CHECK(snapshot.enis[0].ipv6_cidrs[0].assigned == static_cast<int>(total));
  CHECK(snapshot.assigned_ips == static_cast<std::int64_t>(total));
  CHECK(snapshot.total_ips == std::int64_t{1} << 48);
  const std::string json = enipool::ToJson(snapshot);
  CHECK(absl::StrContains(json, absl::StrCat("\"IPv6Cidrs\":{\"", prefix->ToString(), "\":{\"Cidr\":\"",
                                             prefix->ToString(), "\",\"IsPrefix\":true,\"AddressFamily\":\"6\"")));
  CHECK(absl::StrContains(json, absl::StrCat("\"", prefix->AddressAt(0).ToString(), "\":{\"Address\"")));
  const std::string metrics = agent->Metrics();
  CHECK(absl::StrContains(metrics, absl::StrCat("awscni_assigned_ip_addresses ", total, "\n")));
  CHECK(absl::StrContains(metrics, absl::StrCat("awscni_assigned_ip_per_cidr{cidr=\"",
                                                prefix->ToString(), "\"} ", total, "\n")));
  CHECK(absl::StrContains(metrics, "awscni_eni_allocated 1\n"));
  CHECK(absl::StrContains(metrics, "awscni_ec2api_req_count{fn=\"DescribeNetworkInterfaces\"} 1\n"));

  // Pool rounds call EC2 no more.
  const auto calls = world.ec2.WithLock([](const Sim& sim) { return sim.stats().calls; });
  for (int i = 0; i < 5; ++i) {
    world.clock.AdvanceTime(absl::Seconds(5));
    const std::uint64_t ticket = agent->RequestPoolCheck();
    REQUIRE(agent->AwaitPoolCheck(ticket, kLiveness));
  }
  CHECK(world.ec2.WithLock([](const Sim& sim) { return sim.stats().calls; }) == calls);
  CHECK(agent->Stop().ok());
}

}  // namespace ipv6
}  // namespace
