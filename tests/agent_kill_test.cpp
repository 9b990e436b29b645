// The kill test: a NodeAgent on the journaled controller is SIGKILLed at
// random moments while client threads churn pods and the pool grows and
// shrinks, and restarted each time. EC2 outlives it: the simulated EC2
// lives in this (the parent) process and serves the agent's calls over
// pipes (ec2/pipe_backend.h); the agent runs in a forked child.
//
// After each restart and its reconcile (the startup describe), the child
// reports every pod it holds; the parent checks, against what the child had
// acknowledged before it was killed:
//   * every acknowledged ADD (not since deleted) is present, with its address;
//   * no address is held twice;
//   * no address is handed out inside its cooldown (across restarts too)
//     while it stays on the node: the decrease path may give a cooling
//     address back to EC2, as the reference's does
//     (docs/reference-behavior.md §3.2, §4.7), and one that EC2 hands back
//     later is a new address to the node, so the parent notes each address
//     that leaves the node's ENIs in EC2;
// and after the last restart, once the pool has converged and the agent has
// stopped cleanly, that EC2's view of the node equals the journal's: the
// same ENIs attached, each with the same CIDRs (no orphaned CIDR, no ENI
// attached and unknown), and no ENI left unattached (no leaked ENI).
//
// The same test runs a node of two network cards (a MultiCardNode, one
// journal per card: "journal", "journal-nic-1"), whose ADDs fall through to
// card 1 when card 0 has no free address; and an IPv6 node (an
// Ipv6NodeController on its journal, JournaledIpv6Datastore), whose pods
// must come back in the /80 the restarted node reads from EC2, and which
// must end with the one /80 EC2 gave it.
//
// Kills: ENIPOOL_KILL_TEST_KILLS (default 25 for one card, 12 for two and
// 12 for IPv6, a few seconds each; CI runs that). By hand, for the long
// campaign:
//   ENIPOOL_KILL_TEST_KILLS=250 build/dev/tests/enipool_agent_kill_test
// ENIPOOL_KILL_TEST_SEED picks another sequence of kill moments.
//
// Time runs 100× faster than real time for everyone (FastClock), so a
// cycle of a few hundred milliseconds spans the 30 s cooldown, the 30 s
// decrease throttle and the 60 s minimum ENI age: the pool really shrinks.

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "enipool/agent.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/ec2/synchronized_backend.h"
#include "enipool/ipv4.h"
#include "enipool/ipv6.h"
#include "enipool/ipv6_node.h"
#include "enipool/multi_card.h"
#include "enipool/persist/ipv6_journal.h"
#include "enipool/persist/journal.h"
#include "testing/controller_harness.h"
#include "enipool/ec2/pipe_backend.h"

namespace {

using enipool::AddressMode;
using enipool::Ipv4Address;
using enipool::Ipv6Address;
using enipool::PodKey;
using enipool::ec2::PipeBackend;
using enipool::ec2::WireReader;
using enipool::ec2::WireWriter;

// --- a clock 100× faster than the wall, the same in every process -----------

constexpr std::int64_t kSpeed = 100;
const absl::Time kClockBase = absl::FromUnixSeconds(1'700'000'000);
absl::Time g_wall_base;  // set before the first fork; children inherit it

class FastClock {
 public:
  [[nodiscard]] absl::Time Now() const { return kClockBase + (absl::Now() - g_wall_base) * kSpeed; }
};
static_assert(enipool::Clock<FastClock>);
const FastClock kClock;

using Store = enipool::JournaledDatastore<FastClock>;
using Controller = enipool::NodeController<FastClock, enipool::ReferencePolicy, Store>;
using Agent = enipool::NodeAgent<FastClock, PipeBackend, Controller>;
using MultiNode = enipool::MultiCardNode<FastClock, enipool::ReferencePolicy, Store>;
using MultiAgent = enipool::NodeAgent<FastClock, PipeBackend, MultiNode>;
using Store6 = enipool::JournaledIpv6Datastore<FastClock>;
using Ipv6Node = enipool::Ipv6NodeController<FastClock, Store6>;
using Ipv6Agent = enipool::NodeAgent<FastClock, PipeBackend, Ipv6Node>;
using Sim = enipool::ec2::SimulatedEc2<FastClock>;
using SyncEc2 = enipool::ec2::SynchronizedBackend<Sim>;

constexpr int kClients = 4;
constexpr absl::Duration kCooldown = absl::Seconds(30);  // clock time: 0.3 s real

enipool::testing::SimNodeSpec NodeSpec() {
  return {.mode = AddressMode::kSecondaryIp,
          .max_enis = 4,
          .ipv4_per_eni = 6,
          .warm_eni_target = 0,
          .warm_ip_target = 2,
          .minimum_ip_target = 2,
          .subnet_cidr = "10.0.0.0/22"};
}

enipool::ControllerConfig NodeConfig() {
  enipool::ControllerConfig config = enipool::testing::MakeControllerConfig(NodeSpec());
  config.pool.ip_cooldown = kCooldown;
  return config;
}

Store::Options StoreOptions() {
  Store::Options options;
  options.mode = NodeConfig().pool.mode;
  options.ip_cooldown = kCooldown;
  options.journal.sync = enipool::SyncPolicy::kNone;  // a process crash loses nothing
  return options;
}

// The two-card node: card 0 as the one-card node, card 1 at W = M = 1.
constexpr int kMultiCards = 2;
enipool::MultiCardConfig MultiConfig() {
  const enipool::testing::SimNodeSpec spec = NodeSpec();
  enipool::MultiCardConfig config;
  config.node = NodeConfig();
  config.node.pool.max_enis = 0;  // each card's from the limits
  config.limits = {.name = "x9.2card", .max_enis = spec.max_enis,
                   .ipv4_per_eni = spec.ipv4_per_eni, .network_cards = kMultiCards,
                   .enis_all_cards = spec.max_enis * kMultiCards};
  for (int card = 0; card < kMultiCards; ++card) config.managed_cards.push_back(card);
  return config;
}

// --- what the child tells the parent ------------------------------------------

enum Ack : std::uint8_t {
  kHeld = 'P',       // after a restart: pod, address (one per pod held)
  kDumpEnd = 'E',    // the dump is complete
  kAdded = 'A',      // pod, address, clock after AddPod returned
  kDeleting = 'B',   // pod, clock before DeletePod was called
  kDeleted = 'D',    // pod, address
  kConverged = 'F',  // final run: converged and stopped cleanly
};

// The address travels as its text, so that one protocol serves both
// families.
template <typename Address>
void SendAck(int fd, Ack kind, const std::string& pod, Address address, absl::Time at) {
  WireWriter w;
  w.U8(kind);
  w.Str(pod);
  w.Str(address.ToString());
  w.Time(at);
  (void)enipool::ec2::WriteFrame(fd, w.Take());
}

PodKey Pod(const std::string& id) { return {"aws-cni", id, "eth0"}; }

// --- the child: the agent ------------------------------------------------------

// The agent's controller: one card's, or a MultiCardNode over each card's
// journal (CardStorePath()).
template <bool kMulti>
auto OpenController(const std::string& journal, int generation) {
  const std::uint64_t first_id = static_cast<std::uint64_t>(generation) * 1'000'000;
  if constexpr (kMulti) {
    enipool::MultiCardConfig config = MultiConfig();
    config.node.first_request_id = first_id;
    auto stores =
        enipool::OpenCardStores<Store>(journal, config.managed_cards, kClock, StoreOptions());
    if (!stores.ok()) _exit(10);
    return MultiNode::Create(std::move(config), *std::move(stores));
  } else {
    auto store = Store::Open(journal, kClock, StoreOptions());
    if (!store.ok()) _exit(10);
    enipool::ControllerConfig config = NodeConfig();
    config.first_request_id = first_id;
    return Controller::Create(std::move(config), *std::move(store));
  }
}

// The address an ADD or a DEL answered (a single-address pod: one card).
Ipv4Address AddressOf(const enipool::Assignment& a) { return a.address; }
Ipv4Address AddressOf(const enipool::CardAssignment& a) { return a.assignment.address; }
Ipv4Address AddressOf(const std::vector<enipool::CardAssignment>& released) {
  return released.size() == 1 ? released.front().assignment.address : Ipv4Address();
}

Ipv6Address AddressOf(const enipool::Ipv6Assignment& a) { return a.address; }

// The child's client threads, for every kind of node: the pods `held` after
// the restart are split among them by hash, so they leave too and the pool
// can shrink; each acknowledges its ADDs and DELs on `acks_fd` until the
// parent kills the child.
template <typename AgentHandle, typename Address>
[[noreturn]] void RunClientsForever(AgentHandle& agent,
                                    const std::vector<std::pair<std::string, Address>>& held,
                                    int acks_fd, int generation) {
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    std::vector<std::string> live;
    for (const auto& [pod, address] : held) {
      if (std::hash<std::string>{}(pod) % kClients == static_cast<std::size_t>(t)) live.push_back(pod);
    }
    clients.emplace_back([&, t, live]() mutable {
      std::mt19937_64 rng(static_cast<std::uint64_t>(generation * 131 + t));
      for (int i = 0;; ++i) {
        // Phases of growth and shrinkage, so that ENIs come and go.
        const std::size_t target = (i / 40) % 2 == 0 ? 7 : 1;
        if (live.size() < target || (live.size() == target && rng() % 2 == 0)) {
          const std::string pod = absl::StrCat("g", generation, "-t", t, "-", i);
          auto added = (*agent)->AddPod(Pod(pod));
          if (added.ok()) {
            SendAck(acks_fd, kAdded, pod, AddressOf(*added), kClock.Now());
            live.push_back(pod);
          }
        } else if (!live.empty()) {
          const std::size_t index = rng() % live.size();
          const std::string pod = live[index];
          live.erase(live.begin() + static_cast<std::ptrdiff_t>(index));
          SendAck(acks_fd, kDeleting, pod, Address(), kClock.Now());
          auto deleted = (*agent)->DeletePod(Pod(pod));
          if (deleted.ok()) SendAck(acks_fd, kDeleted, pod, AddressOf(*deleted), kClock.Now());
        }
        absl::SleepFor(absl::Milliseconds(2));
      }
    });
  }
  for (std::thread& c : clients) c.join();  // never: the parent kills us
  _exit(0);
}

template <bool kMulti>
[[noreturn]] void ChildMain(const std::string& journal, int calls_fd, int answers_fd, int acks_fd,
                            int generation, bool final_run) {
  using Node = std::conditional_t<kMulti, MultiNode, Controller>;
  using NodeAgentType = std::conditional_t<kMulti, MultiAgent, Agent>;
  PipeBackend ec2(answers_fd, calls_fd);
  auto controller = OpenController<kMulti>(journal, generation);
  if (!controller.ok()) _exit(11);
  auto agent = NodeAgentType::Create(kClock, ec2, *std::move(controller),
                                     {.pool_check_interval = absl::Milliseconds(50),
                                      .call_timeout = absl::Seconds(30)});
  if (!agent.ok() || !(*agent)->Start().ok()) _exit(12);
  if (!(*agent)->AwaitStarted(absl::Seconds(60))) _exit(13);

  // The pods held after the restart and its reconcile, on every card.
  std::vector<std::pair<std::string, Ipv4Address>> held;
  (*agent)->WithController([&](const Node& node) {
    auto dump = [&](const Controller& c) {
      c.pool().ForEachAssignment([&](const PodKey& pod, const enipool::Assignment& a, absl::Time) {
        held.emplace_back(pod.container_id, a.address);
      });
    };
    if constexpr (kMulti) {
      for (std::size_t k = 0; k < node.card_count(); ++k) dump(node.controller(k));
    } else {
      dump(node);
    }
  });
  for (const auto& [pod, address] : held) SendAck(acks_fd, kHeld, pod, address, kClock.Now());
  SendAck(acks_fd, kDumpEnd, "", Ipv4Address(), kClock.Now());

  if (final_run) {
    // Everyone leaves; the pool shrinks to its targets and settles.
    for (const auto& [pod, address] : held) {
      SendAck(acks_fd, kDeleting, pod, Ipv4Address(), kClock.Now());
      if ((*agent)->DeletePod(Pod(pod)).ok()) SendAck(acks_fd, kDeleted, pod, address, kClock.Now());
    }
    const absl::Time settle = kClock.Now() + absl::Minutes(5);
    while (kClock.Now() < settle) {
      (void)(*agent)->AwaitPoolCheck((*agent)->RequestPoolCheck(), absl::Seconds(30));
      absl::SleepFor(absl::Milliseconds(20));
    }
    // Quiet: nothing in flight or scheduled.
    for (int i = 0; i < 500; ++i) {
      const bool busy = (*agent)->WithController([](const Node& c) { return c.busy(); });
      if (!busy) break;
      (void)(*agent)->AwaitPoolCheck((*agent)->RequestPoolCheck(), absl::Seconds(30));
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (!(*agent)->Stop().ok()) _exit(14);
    SendAck(acks_fd, kConverged, "", Ipv4Address(), kClock.Now());
    _exit(0);
  }

  RunClientsForever(agent, held, acks_fd, generation);
}

// The IPv6 node's child: the same clients and final run, on an
// Ipv6NodeController over its journal.
[[noreturn]] void Ipv6ChildMain(const std::string& journal, int calls_fd, int answers_fd,
                                int acks_fd, int generation, bool final_run) {
  PipeBackend ec2(answers_fd, calls_fd);
  Store6::Options options;
  options.ip_cooldown = kCooldown;
  options.journal.sync = enipool::SyncPolicy::kNone;  // a process crash loses nothing
  auto store = Store6::Open(journal, kClock, options);
  if (!store.ok()) _exit(10);
  auto agent = Ipv6Agent::Create(
      kClock, ec2, Ipv6Node(kClock, {.instance_id = "i-node"}, *std::move(store)),
      {.pool_check_interval = absl::Milliseconds(50), .call_timeout = absl::Seconds(30)});
  if (!agent.ok() || !(*agent)->Start().ok()) _exit(12);
  if (!(*agent)->AwaitStarted(absl::Seconds(60))) _exit(13);

  std::vector<std::pair<std::string, Ipv6Address>> held;
  (*agent)->WithController([&](const Ipv6Node& node) {
    node.pool().ForEachAssignment(
        [&](const PodKey& pod, const enipool::Ipv6Assignment& a, absl::Time) {
          held.emplace_back(pod.container_id, a.address);
        });
  });
  for (const auto& [pod, address] : held) SendAck(acks_fd, kHeld, pod, address, kClock.Now());
  SendAck(acks_fd, kDumpEnd, "", Ipv6Address(), kClock.Now());

  if (final_run) {
    for (const auto& [pod, address] : held) {
      SendAck(acks_fd, kDeleting, pod, Ipv6Address(), kClock.Now());
      if ((*agent)->DeletePod(Pod(pod)).ok()) SendAck(acks_fd, kDeleted, pod, address, kClock.Now());
    }
    if (!(*agent)->Stop().ok()) _exit(14);
    SendAck(acks_fd, kConverged, "", Ipv6Address(), kClock.Now());
    _exit(0);
  }

  RunClientsForever(agent, held, acks_fd, generation);
}

// --- the parent: EC2 and the model ----------------------------------------------

template <typename Address>
struct Model {
  std::map<std::string, Address> live;           // acknowledged ADDs not since deleted
  std::map<std::string, absl::Time> deleting;    // DEL sent, not acknowledged: since when
  absl::flat_hash_map<Address, absl::Time> released;  // address → no earlier than
  // When each address left the node's ENIs in EC2 (unassigned, or its ENI
  // detached): its cooldown ends there.
  absl::flat_hash_map<Address, std::vector<absl::Time>> left_node;
  std::vector<std::string> errors;
  std::int64_t checked_restarts = 0;
  std::int64_t adds = 0;
  std::int64_t deletes = 0;
  // Addresses handed out inside their cooldown after they had left the node
  // and come back from EC2.
  std::int64_t came_back_from_ec2 = 0;

  void Error(std::string e) {
    if (errors.size() < 20) errors.push_back(std::move(e));
  }

  // After a restart: the pods the agent holds.
  void CheckDump(const std::vector<std::pair<std::string, Address>>& dump) {
    ++checked_restarts;
    std::map<std::string, Address> held;
    absl::flat_hash_set<Address> addresses;
    for (const auto& [pod, address] : dump) {
      held[pod] = address;
      if (!addresses.insert(address).second) {
        Error(absl::StrCat("after restart ", checked_restarts, ": ", address.ToString(),
                           " is held twice"));
      }
    }
    for (const auto& [pod, address] : live) {
      const auto it = held.find(pod);
      if (deleting.contains(pod)) {
        if (it == held.end()) {
          released[address] = deleting[pod];  // the DEL took effect
        } else if (it->second != address) {
          Error(absl::StrCat("after restart ", checked_restarts, ": ", pod, " holds ",
                             it->second.ToString(), ", ADD gave ", address.ToString()));
        }
        continue;
      }
      if (it == held.end()) {
        Error(absl::StrCat("after restart ", checked_restarts, ": acknowledged pod ", pod, " (",
                           address.ToString(), ") is gone"));
      } else if (it->second != address) {
        Error(absl::StrCat("after restart ", checked_restarts, ": ", pod, " holds ",
                           it->second.ToString(), ", ADD gave ", address.ToString()));
      }
    }
    // Pods whose ADD was in flight at the kill may be there too: the agent
    // has them now.
    live = std::move(held);
    deleting.clear();
  }

  // Whether `address` left the node in EC2 in [from, to].
  bool LeftNodeBetween(Address address, absl::Time from, absl::Time to) const {
    const auto it = left_node.find(address);
    if (it == left_node.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(),
                       [&](absl::Time t) { return from <= t && t <= to; });
  }

  // Handing `address` out at `at` breaks a release at `released_at`: inside
  // the cooldown, with the address on the node all along.
  bool InsideCooldown(Address address, absl::Time released_at, absl::Time at) {
    if (at >= released_at + kCooldown) return false;
    if (!LeftNodeBetween(address, released_at, at)) return true;
    ++came_back_from_ec2;
    return false;
  }

  void OnAdded(const std::string& pod, Address address, absl::Time at) {
    ++adds;
    for (const auto& [other, held] : live) {
      if (held == address && !deleting.contains(other)) {
        Error(absl::StrCat(address.ToString(), " handed to ", pod, " while ", other, " holds it"));
      }
      if (held == address && deleting.contains(other) &&
          InsideCooldown(address, deleting[other], at)) {
        Error(absl::StrCat(address.ToString(), " handed to ", pod, " inside its cooldown"));
      }
    }
    if (auto it = released.find(address);
        it != released.end() && InsideCooldown(address, it->second, at)) {
      Error(absl::StrCat(address.ToString(), " handed to ", pod, " ",
                         absl::FormatDuration(at - it->second), " after its release"));
    }
    live[pod] = address;
  }

  void OnDeleted(const std::string& pod, Address address) {
    ++deletes;
    const auto it = live.find(pod);
    if (it == live.end()) {
      Error(absl::StrCat("DEL of ", pod, " released ", address.ToString(), " but it held nothing"));
    } else if (it->second != address) {
      Error(absl::StrCat("DEL of ", pod, " released ", address.ToString(), ", ADD gave ",
                         it->second.ToString()));
    } else {
      live.erase(it);
    }
    if (auto d = deleting.find(pod); d != deleting.end()) {
      released[address] = d->second;
      deleting.erase(d);
    }
  }
};

// Reads acknowledgements until the child's end closes; signals when the
// post-restart dump is complete.
struct AckReader {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> frames;
  bool dump_done = false;
  bool closed = false;

  void Run(int fd) {
    for (;;) {
      std::optional<std::string> frame = enipool::ec2::ReadFrame(fd);
      std::lock_guard<std::mutex> lock(mu);
      if (!frame.has_value()) {
        closed = true;
        cv.notify_all();
        return;
      }
      if (!frame->empty() && (*frame)[0] == kDumpEnd) dump_done = true;
      frames.push_back(*std::move(frame));
      cv.notify_all();
    }
  }
};

struct Cycle {
  bool dump_seen = false;
  bool converged = false;
  int exit_status = 0;
};

enum class NodeKind { kOneCard, kTwoCards, kIpv6 };

// The IPv4 pod addresses EC2 gives the node: every ENI attached to it, its
// secondary addresses and the addresses of its /28s.
absl::flat_hash_set<Ipv4Address> NodeAddresses(Sim& sim) {
  absl::flat_hash_set<Ipv4Address> addresses;
  for (const enipool::NetworkInterface& ni : sim.AttachedEnis("i-node")) {
    for (Ipv4Address ip : ni.secondary_ips) {
      if (ip != ni.primary_ip) addresses.insert(ip);
    }
    for (const enipool::Ipv4Prefix& prefix : ni.prefixes) {
      for (std::uint64_t i = 0; i < prefix.size(); ++i) {
        addresses.insert(prefix.AddressAt(i));
      }
    }
  }
  return addresses;
}

// ServeCalls(), noting after each call, in `left`, every address that left
// the node and when (before the answer goes back, so before the child can
// make its next call).
void ServeNotingDepartures(SyncEc2& ec2, int calls_fd, int answers_fd,
                           std::vector<std::pair<Ipv4Address, absl::Time>>& left) {
  absl::flat_hash_set<Ipv4Address> before = ec2.WithLock(NodeAddresses);
  for (;;) {
    const std::optional<std::string> frame = enipool::ec2::ReadFrame(calls_fd);
    if (!frame.has_value()) return;
    const std::optional<enipool::Ec2Call> call = enipool::ec2::DecodeCall(*frame);
    const enipool::Ec2Result result =
        call.has_value() ? enipool::Dispatch(ec2, *call)
                         : enipool::Ec2Result{absl::InvalidArgumentError("bad frame"),
                                                   std::monostate{}};
    absl::flat_hash_set<Ipv4Address> after = ec2.WithLock(NodeAddresses);
    const absl::Time now = kClock.Now();
    for (Ipv4Address address : before) {
      if (!after.contains(address)) left.emplace_back(address, now);
    }
    before = std::move(after);
    if (!enipool::ec2::WriteFrame(answers_fd, enipool::ec2::EncodeResult(result))) return;
  }
}

Ipv4Address ParseAddress(const std::string& text, Ipv4Address*) {
  return enipool::Ipv4Address::Parse(text).value_or(Ipv4Address());
}
Ipv6Address ParseAddress(const std::string& text, Ipv6Address*) {
  return enipool::Ipv6Address::Parse(text).value_or(Ipv6Address());
}

// One run of the child: forked, served, killed after `kill_after` (from the
// end of its post-restart dump, or from its start), or left to finish.
template <typename Address>
Cycle RunChild(SyncEc2& ec2, Model<Address>& model, const std::string& journal, int generation,
               std::optional<absl::Duration> kill_after, bool from_start, NodeKind kind) {
  int calls[2], answers[2], acks[2];
  REQUIRE(pipe(calls) == 0);
  REQUIRE(pipe(answers) == 0);
  REQUIRE(pipe(acks) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(calls[0]);
    close(answers[1]);
    close(acks[0]);
    const bool final_run = !kill_after.has_value();
    switch (kind) {
      case NodeKind::kTwoCards:
        ChildMain<true>(journal, calls[1], answers[0], acks[1], generation, final_run);
      case NodeKind::kIpv6:
        Ipv6ChildMain(journal, calls[1], answers[0], acks[1], generation, final_run);
      case NodeKind::kOneCard:
        break;
    }
    ChildMain<false>(journal, calls[1], answers[0], acks[1], generation, final_run);
  }
  close(calls[1]);
  close(answers[0]);
  close(acks[1]);
  std::vector<std::pair<Ipv4Address, absl::Time>> left;
  std::thread server([&] { ServeNotingDepartures(ec2, calls[0], answers[1], left); });
  AckReader reader;
  std::thread reading([&] { reader.Run(acks[0]); });

  if (kill_after.has_value()) {
    if (!from_start) {
      std::unique_lock<std::mutex> lock(reader.mu);
      reader.cv.wait_for(lock, std::chrono::seconds(60),
                         [&] { return reader.dump_done || reader.closed; });
    }
    absl::SleepFor(*kill_after);
    kill(pid, SIGKILL);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  reading.join();
  server.join();  // EOF on the calls pipe, or EPIPE answering the dead child
  close(calls[0]);
  close(answers[1]);
  close(acks[0]);

  if constexpr (std::is_same_v<Address, Ipv4Address>) {
    for (const auto& [address, at] : left) model.left_node[address].push_back(at);
  }

  Cycle cycle;
  cycle.exit_status = status;
  std::vector<std::pair<std::string, Address>> dump;
  for (const std::string& frame : reader.frames) {
    WireReader r(frame);
    const auto ack = static_cast<Ack>(r.U8());
    const std::string pod = r.Str();
    const Address address = ParseAddress(r.Str(), static_cast<Address*>(nullptr));
    const absl::Time at = r.Time();
    switch (ack) {
      case kHeld:
        dump.emplace_back(pod, address);
        break;
      case kDumpEnd:
        model.CheckDump(dump);
        cycle.dump_seen = true;
        break;
      case kAdded:
        model.OnAdded(pod, address, at);
        break;
      case kDeleting:
        model.deleting[pod] = at;
        break;
      case kDeleted:
        model.OnDeleted(pod, address);
        break;
      case kConverged:
        cycle.converged = true;
        break;
    }
  }
  return cycle;
}

// EC2's view of the instance's card `card` equals that card's journal: the
// same ENIs attached, each with the same CIDRs (unattached ENIs are counted
// separately).
absl::Status CheckEc2EqualsJournal(SyncEc2& ec2, const std::string& journal, int card = 0) {
  Store::Options options = StoreOptions();
  options.network_card = card;
  auto store = Store::Open(enipool::CardStorePath(journal, card), kClock, options);
  if (!store.ok()) return store.status();
  const auto& pool = store->datastore();
  return ec2.WithLock([&](Sim& sim) -> absl::Status {
    auto described = sim.DescribeNetworkInterfaces({.eni_ids = {}, .instance_id = "i-node"});
    if (!described.ok()) return described.status();
    std::erase_if(*described, [&](const enipool::NetworkInterface& ni) {
      return ni.network_card_index != card;
    });
    if (described->size() != pool.EniViews().size()) {
      return absl::InternalError(absl::StrCat("EC2 attaches ", described->size(),
                                              " ENIs to the node's card ", card,
                                              ", the journal holds ",
                                              pool.EniViews().size()));
    }
    for (const enipool::NetworkInterface& ni : *described) {
      auto cidrs = pool.Cidrs(ni.id);
      if (!cidrs.ok()) return absl::InternalError(absl::StrCat("EC2 ENI ", ni.id, " is not in the journal"));
      std::vector<enipool::Ipv4Prefix> want;
      for (Ipv4Address ip : ni.secondary_ips) {
        if (ip != ni.primary_ip) want.push_back(enipool::Ipv4Prefix::FromAddress(ip));
      }
      want.insert(want.end(), ni.prefixes.begin(), ni.prefixes.end());
      std::vector<enipool::Ipv4Prefix> have;
      for (const enipool::CidrView& c : *cidrs) have.push_back(c.cidr);
      std::sort(want.begin(), want.end());
      std::sort(have.begin(), have.end());
      if (want != have) {
        return absl::InternalError(absl::StrCat("ENI ", ni.id, ": EC2 gives it ", want.size(),
                                                " CIDRs, the journal holds ", have.size()));
      }
    }
    return absl::OkStatus();
  });
}

int EnvInt(const char* name, int fallback) {
  const char* text = std::getenv(name);
  return text == nullptr ? fallback : std::atoi(text);
}

// The kill campaign on a node of `cards` network cards (1: a NodeController;
// more: a MultiCardNode).
void RunKillCampaign(int cards, int default_kills) {
  const bool multi = cards > 1;
  const int kills = EnvInt("ENIPOOL_KILL_TEST_KILLS", default_kills);
  const int seed = EnvInt("ENIPOOL_KILL_TEST_SEED", 1);
  signal(SIGPIPE, SIG_IGN);  // EC2 writing to a killed agent
  g_wall_base = absl::Now();

  char dir_template[] = "/tmp/enipool-kill-XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string journal = absl::StrCat(dir_template, "/journal");

  const enipool::testing::SimNodeSpec spec = NodeSpec();
  SyncEc2 ec2(kClock, enipool::testing::MakeEc2Options(spec));
  ec2.WithLock([&](Sim& sim) {
    REQUIRE(sim.AddSubnet("subnet-a", *enipool::Ipv4Prefix::Parse(spec.subnet_cidr)).ok());
    REQUIRE(sim.AddInstance({.instance_id = "i-node",
                             .subnet_id = "subnet-a",
                             .max_enis = spec.max_enis,
                             .ipv4_per_eni = spec.ipv4_per_eni,
                             .network_cards = cards})
                .ok());
  });

  Model<Ipv4Address> model;
  const NodeKind kind = multi ? NodeKind::kTwoCards : NodeKind::kOneCard;
  std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
  int generation = 0;
  for (int k = 0; k < kills; ++k) {
    // Mostly while pods churn; one kill in five during startup and reconcile.
    const bool from_start = rng() % 5 == 0;
    const auto after = absl::Milliseconds(static_cast<std::int64_t>(rng() % (from_start ? 150 : 600)));
    (void)RunChild(ec2, model, journal, ++generation, after, from_start, kind);
    if (model.errors.size() >= 20) break;
  }
  const Cycle last = RunChild(ec2, model, journal, ++generation, std::nullopt, false, kind);
  for (const std::string& e : model.errors) FAIL_CHECK(e);
  REQUIRE_MESSAGE(last.converged, "the final run did not converge and stop (exit status ",
                  last.exit_status, ")");
  MESSAGE("kills: ", kills, ", restarts checked: ", model.checked_restarts,
          ", acknowledged ADDs: ", model.adds, ", DELs: ", model.deletes,
          ", handed out again inside the cooldown after leaving the node: ",
          model.came_back_from_ec2);
  CHECK(model.checked_restarts >= kills / 2);
  CHECK(model.adds > 0);
  const auto stats = ec2.WithLock([](const Sim& sim) { return sim.stats(); });
  CHECK(stats.calls_of(enipool::ec2::CallKind::kCreateNetworkInterface) > 0);
  CHECK(stats.calls_of(enipool::ec2::CallKind::kDeleteNetworkInterface) > 0);
  CHECK(stats.calls_of(enipool::ec2::CallKind::kUnassignPrivateIpAddresses) > 0);
  for (int card = 0; card < cards; ++card) {
    CAPTURE(card);
    const absl::Status converged = CheckEc2EqualsJournal(ec2, journal, card);
    CHECK_MESSAGE(converged.ok(), converged);
  }
  if (multi) {
    // Card 1 keeps its own pool (W = M = 1), on its own ENI, in its journal.
    CHECK(ec2.WithLock([](Sim& sim) {
      for (const enipool::NetworkInterface& ni : sim.AttachedEnis("i-node")) {
        if (ni.network_card_index == 1) return true;
      }
      return false;
    }));
  }
  // No ENI left unattached: a kill between CreateNetworkInterface and its
  // attach, or between a detach and its delete, is finished by the restarted
  // controller (it journals each sequence before it starts).
  const std::size_t leaked = ec2.WithLock([](const Sim& sim) { return sim.unattached_eni_count(); });
  CHECK_MESSAGE(leaked == 0, leaked, " ENI(s) left unattached in EC2 (leaked across kills)");
  std::string cleanup = absl::StrCat("rm -rf ", dir_template);
  (void)std::system(cleanup.c_str());
}

// The IPv6 campaign: an Ipv6NodeController on its journal, killed at random
// moments (one in five during its startup: between the describe, the
// AssignIpv6Addresses and the journal's ENI and /80 records), restarted
// each time against the same EC2.
void RunIpv6KillCampaign(int default_kills) {
  const int kills = EnvInt("ENIPOOL_KILL_TEST_KILLS", default_kills);
  const int seed = EnvInt("ENIPOOL_KILL_TEST_SEED", 1);
  signal(SIGPIPE, SIG_IGN);
  g_wall_base = absl::Now();

  char dir_template[] = "/tmp/enipool-kill6-XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string journal = absl::StrCat(dir_template, "/journal");
  SyncEc2 ec2(kClock, enipool::testing::MakeEc2Options(NodeSpec()));
  ec2.WithLock([&](Sim& sim) {
    REQUIRE(sim.AddSubnet("subnet-a", *enipool::Ipv4Prefix::Parse("10.0.0.0/22")).ok());
    REQUIRE(sim.AddSubnetIpv6Cidr("subnet-a", *enipool::Ipv6Prefix::Parse("2600:1f14:abc:1::/64")).ok());
    REQUIRE(sim.AddInstance({.instance_id = "i-node", .subnet_id = "subnet-a"}).ok());
  });

  Model<Ipv6Address> model;
  std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
  int generation = 0;
  for (int k = 0; k < kills; ++k) {
    const bool from_start = rng() % 5 == 0;
    const auto after = absl::Milliseconds(static_cast<std::int64_t>(rng() % (from_start ? 150 : 600)));
    (void)RunChild(ec2, model, journal, ++generation, after, from_start, NodeKind::kIpv6);
    if (model.errors.size() >= 20) break;
  }
  const Cycle last = RunChild(ec2, model, journal, ++generation, std::nullopt, false, NodeKind::kIpv6);
  for (const std::string& e : model.errors) FAIL_CHECK(e);
  REQUIRE_MESSAGE(last.converged, "the final run did not stop cleanly (exit status ",
                  last.exit_status, ")");
  MESSAGE("IPv6 kills: ", kills, ", restarts checked: ", model.checked_restarts,
          ", acknowledged ADDs: ", model.adds, ", DELs: ", model.deletes);
  CHECK(model.checked_restarts >= kills / 2);
  CHECK(model.adds > 0);
  // EC2 gave the node one /80, once, whatever the kills; the journal holds it.
  const auto described = ec2.WithLock([](Sim& sim) {
    return sim.DescribeNetworkInterfaces({.eni_ids = {}, .instance_id = "i-node"});
  });
  REQUIRE(described.ok());
  REQUIRE(described->size() == 1);
  REQUIRE(described->front().ipv6_prefixes.size() == 1);
  Store6::Options options;
  options.ip_cooldown = kCooldown;
  auto store = Store6::Open(journal, kClock, options);
  REQUIRE_MESSAGE(store.ok(), store.status());
  const auto prefixes = store->datastore().Prefixes();
  REQUIRE(prefixes.size() == 1);
  CHECK(prefixes.front().second == described->front().ipv6_prefixes.front());
  CHECK(store->datastore().pod_count() == 0);  // the final run deleted every pod
  std::string cleanup = absl::StrCat("rm -rf ", dir_template);
  (void)std::system(cleanup.c_str());
}

TEST_CASE("NodeAgent on the journal survives SIGKILL at random moments with every acknowledged "
          "pod and no leaked ENI") {
  RunKillCampaign(1, 25);
}

// docs/reference-behavior.md §1.1, §2.1, §8.1: each card keeps its own
// journal; an ADD falls through to card 1 when card 0 has no free address.
TEST_CASE("A multi-card NodeAgent on per-card journals survives SIGKILL at random moments with "
          "every acknowledged pod and no leaked ENI") {
  RunKillCampaign(kMultiCards, 12);
}

// docs/reference-behavior.md §4.12: an IPv6 node's pods come back in the
// /80 it reads from EC2 at each restart; nothing acknowledged is lost, no
// address is handed out twice or inside its cooldown.
TEST_CASE("An IPv6 NodeAgent on its journal survives SIGKILL at random moments with every "
          "acknowledged pod and one /80") {
  RunIpv6KillCampaign(12);
}

}  // namespace
