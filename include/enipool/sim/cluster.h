// -----------------------------------------------------------------------------
// File: sim/cluster.h
// -----------------------------------------------------------------------------
//
// `sim::Cluster`: a deterministic discrete-event simulation of a Kubernetes
// cluster whose nodes run enipool's IP address management against one
// simulated EC2 account. It owns
//   * one ManualClock (virtual time) and one EventQueue (sim/event_queue.h);
//   * one SimulatedEc2 shared by every node, so nodes compete for the same
//     subnets (addresses and aligned /28s) and the account's API rate;
//   * nodes in node groups (sim/node_groups.h; one fixed group by default),
//     each an EC2 instance and a NodeController (which owns the node's
//     NodeDatastore). A node's pool check (NodeController::Tick) runs
//     every 5 s (docs/reference-behavior.md §4.3) from a random phase, each wake-up late by up
//     to 100 ms (a jitter hashed from the seed, the node and the check's
//     number);
//   * workloads (sim/workload.h) of pods created and deleted, side by side;
//   * optionally an autoscaler (AutoscalerConfig) that launches nodes when
//     pods fit nowhere and drains underused ones.
//
// An EC2 request the controller emits is made on the SimulatedEc2 at once
// (its effect on subnets and ENIs happens at that instant) and its answer is
// delivered to the controller at now + SampleLatency(call) as an event. A
// controller's scheduled retries (throttle back-off, detach → delete pause)
// get their own wake-up event at NextWakeup().
//
// Pods. The scheduler (sim/scheduler.h) puts a new pod on a running node
// with room for it: below its pod capacity (kubelet max pods − 2
// host-network pods) and, for a pod with CPU or memory requests, with
// those left; among them the least-loaded (fewest pods, or least allocated
// for a pod with requests), as kube-scheduler's default spreading of similar
// pods does. A pod that fits nowhere waits, unscheduled, oldest first, for a
// place to free up (a deletion, a node joining). A trace pod naming its node
// is admitted there only while the node has room (kubelet's admission
// refuses a pod beyond max pods or the node's allocatable); until then it
// waits for that node. A pod naming a node that is draining or gone is left
// to the scheduler. The CNI ADD (NodeController::AddPod) runs the moment the
// pod lands; DEL releases at once.
//
// Nodes join and leave. A node the autoscaler launches joins after the
// launch delay: its instance and primary ENI are created then, its
// controller starts cold (its first pool check at a random phase of the
// loop) and the scheduler may use it at once (pods that land before it has
// addresses fail their ADD and retry, as on a real node). A drained node is
// cordoned and its pods evicted: each leaves its node (the DEL gives its
// address back) and waits to be scheduled again, timed afresh from the
// eviction; after the drain time the instance is terminated and EC2
// deletes its ENIs, their addresses going back to the subnets. An ENI the
// node had created but not attached yet stays behind, unattached, as it
// would in EC2 (the leaked-ENI sweep, leaked-eni-sweep=on, finds it).
//
// kubelet's retry model. When the ADD finds no free address the CNI fails,
// the sandbox is not created, and kubelet retries: its pod worker re-queues a
// pod whose sync failed after `wait.Jitter(backOffPeriod, 0.5)`, i.e. a
// uniform delay in [10 s, 15 s), every time — a constant period, not an
// exponential one. NOTE: kubernetes/kubernetes pkg/kubelet/pod_workers.go
// (completeWork: `p.workQueue.Enqueue(uid, wait.Jitter(p.backOffPeriod,
// workerBackOffPeriodJitterFactor))`, workerBackOffPeriodJitterFactor = 0.5)
// and pkg/kubelet/kubelet.go (`backOffPeriod = time.Second * 10`). The
// 1 s `backOffOnTransientErrorPeriod` there applies only to the node's
// "network not ready" condition, not to a failed CNI ADD. Configurable as
// ClusterConfig::kubelet_backoff / kubelet_backoff_jitter.
//
// Determinism. The workload, the nodes' start phases, kubelet's jitter and
// EC2's addresses and latencies each draw from their own std::mt19937_64
// seeded from ClusterConfig::seed; a pool check's jitter is a hash of the
// seed, the node and the check's number, so every node's check times are
// fixed whatever else happens. Events at one instant run in scheduling
// order, pool checks first, by node (EventQueue::PushNanosOrdered()). The
// same config gives the same report, bit for bit; two policies run with
// one seed see exactly the same pods. With ClusterConfig::node_thread the
// nodes' pod ADDs and DELs run on a second thread, their answers applied
// at points the events alone fix ("The node thread" in the class): the
// same report again, bit for bit.
//
// Example:
//
//   enipool::sim::ClusterConfig config;
//   config.nodes = 10;
//   config.workload = enipool::sim::BurstWorkload{.pods = 250};
//   config.pool.mode = enipool::AddressMode::kPrefix;
//   ENIPOOL_ASSIGN_OR_RETURN(enipool::sim::RunReport report, enipool::sim::RunScenario(config));
//   enipool::sim::PrintTable(std::cout, {report});
//
// Cost: O(log pending events) per EC2 event, O(log deletions in one
// second) per pod deletion and O(log checks in one jitter window) per pool
// check (their own lanes, see EventQueue); memory is the nodes'
// datastores and controllers, the live pods (32 bytes each) and the
// pending events (32 bytes each, about one per live pod with a lifetime).
// A living cluster adds: O(nodes) to place a pod with CPU or memory
// requests (pods without stay O(1)), O(nodes) per autoscaler scan, and
// O(live pods) per drained node (its pods are found by a scan).
// Measured (benchmarks/cluster_benchmark.cpp, Release, one core of a shared
// 2-core machine): 5,000 m5.4xlarge nodes with ≈110 pods each under steady
// churn for 24 simulated hours — about 114 million events, 13.7 million
// pods — take 49–52 s of CPU with malloc on transparent huge pages (2.2–2.3
// million events a second; single runs move with the machine's load); about
// 6.5 KB of heap per node and 440 bytes per live pod. 100,000 such nodes
// for 24 hours take 18 minutes and 5.3 GiB: per event, main-memory latency,
// partly hidden by prefetching the next pod deletions' and ADD retries'
// node state (PrefetchUpcoming()) and the next arrival's deletion bucket
// and likely node (PrefetchArrival()). Pool checks are three quarters of the
// events, and most find nothing to do: a node says until when its check
// cannot change anything
// (NodeController::QuietUntil()) and such a check reads one number of the
// cluster's and, unless the policy reads the ADD signals, nothing of the
// node (ClusterConfig::skip_quiet_pool_checks; the same bytes either way).
// In the 5,000-node day 72 % of the checks are
// quiet (62.5 of 86.4 million) and the run takes 1.32× less CPU than with
// every check in full (BM_Cluster_Day/nodes:5000/hours:24/…/quiet:1 against
// quiet:0, the same run); 20,000 nodes are 72 % quiet as well. A pod's
// ADD or DEL changes the pool, so the next check would run in full; instead
// the node settles right then, while its memory is in cache, what that check
// would decide (NodeController::SettleIfIdle()), and the check is skipped
// when it would do nothing: 74.2 rather than 62.5 million quiet checks in
// the 5,000-node day. Nor does a cooldown's end make the check run in full
// when the policy's trigger cannot move with it (NodeController::
// QuietUntil()): at 20,000 nodes for 6 hours 85.4 of 86.4 million checks
// are quiet (74.1 before), 1.20× less time, the same bytes. And a node quiet
// until something reaches it queues no checks at all ("dormant",
// CheckClock): its check times are a fixed lattice, so the next pod, answer
// or retry that reaches it queues the first check after now, and the ones
// it skipped are counted as quiet checks and events, as a run with every
// check in full processes them (events(); queue_events() is what went
// through the queue). 20,000 nodes × 6 h: 46.6 s against 61.3 s (1.32×),
// the two builds side by side; the 100,000-node day: 564 M of its 2.27 G
// events queued, 18 minutes against 26. The node thread
// (ClusterConfig::node_thread) takes the nodes' ADDs and DELs, most of the
// main thread's cache misses, to a second core: the 100,000-node day in
// 10 min 29 s wall, 5.24 GiB peak RSS (with its dormant nodes' checks
// queued ahead of the answers: 810 M events through the queue).
// Not thread-safe (the node thread is the cluster's own, inside RunUntil()).

#ifndef ENIPOOL_SIM_CLUSTER_H_
#define ENIPOOL_SIM_CLUSTER_H_

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/policy/policy.h"
#include "enipool/datastore.h"
#include "enipool/pod_key.h"
#include "enipool/sim/event_queue.h"
#include "enipool/sim/node_groups.h"
#include "enipool/sim/report.h"
#include "enipool/sim/scenario.h"
#include "enipool/sim/scheduler.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/ec2/subnet.h"
#include "enipool/sim/workload.h"
#include "enipool/status.h"

namespace enipool::sim {

// SimNodeClock
//
// The clock a cluster's nodes read: the simulation's ManualClock, except on
// the cluster's node thread (ClusterConfig::node_thread), where it reads the
// time of the pod ADD or DEL that thread is running, the simulation's time
// when the call was handed over. Why not the ManualClock alone: the main
// thread moves time on while the node thread still runs calls made earlier.
class SimNodeClock {
 public:
  explicit SimNodeClock(const ManualClock& simulation) : simulation_(&simulation) {}
  SimNodeClock(const SimNodeClock&) = delete;
  SimNodeClock& operator=(const SimNodeClock&) = delete;

  [[nodiscard]] absl::Time Now() const noexcept {
    return on_node_thread_ == this ? node_thread_now_.value : simulation_->Now();
  }

 private:
  friend class Cluster;
  // Its own line: the node thread writes it for every call, and the main
  // thread's nodes read `simulation_` beside it.
  struct alignas(64) Line {
    absl::Time value;
  };
  // The clock whose node thread this is (nullptr on every other thread).
  static inline thread_local const SimNodeClock* on_node_thread_ = nullptr;
  const ManualClock* simulation_;
  Line node_thread_now_;
};

// Cluster
//
// See the file comment. Create() with a config, Run() once, read the
// report. Not copyable or movable (the nodes hold references to its clock).
class Cluster {
 public:
  // The controller keeps the policy's static type on a node; here the
  // policy is a value chosen per scenario (ClusterConfig::policy), so the
  // nodes hold it type-erased (policy/policy.h explains the trade).
  using Controller = NodeController<SimNodeClock, AnyWarmPoolPolicy>;

  // Cluster::Create()
  //
  // Builds the cluster: resolves the config (ResolveConfig()), adds the
  // subnets, registers one instance per node (its primary ENI takes an
  // address from the node's subnet), and creates each node's controller.
  // The errors of ResolveConfig(), or of EC2 setup (e.g. a subnet too small
  // for the nodes' primary ENIs), with nothing built.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Cluster>> Create(ClusterConfig config) {
    ENIPOOL_RETURN_IF_ERROR(ResolveConfig(config));
    std::unique_ptr<Cluster> cluster(new Cluster(std::move(config)));
    ENIPOOL_RETURN_IF_ERROR(cluster->Build());
    return cluster;
  }

  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Cluster::SetProgress()
  //
  // Calls `fn(simulated fraction done)` about every `every` events during
  // Run() (for a progress line on a terminal).
  void SetProgress(std::function<void(double)> fn, std::int64_t every = 1 << 20) {
    progress_ = std::move(fn);
    progress_every_ = std::max<std::int64_t>(1, every);
    next_progress_ = events_ + progress_every_;
  }

  // Cluster::Run()
  //
  // Runs the simulation to `duration` and returns the report. Call once;
  // FAILED_PRECONDITION on a second call. INTERNAL if a controller rejected
  // an answer (a bug; the message names the node and request).
  [[nodiscard]] absl::StatusOr<RunReport> Run() {
    if (ran_) return absl::FailedPreconditionError("Cluster::Run() may be called once");
    ran_ = true;
    RunUntil(end_ns_);
    if (!internal_error_.ok()) return internal_error_;
    return MakeReport();
  }

  // Cluster::RunUntil()
  //
  // Processes every event up to `until_ns` (Unix nanoseconds of virtual
  // time, capped at the run's end); for tests that look inside mid-run.
  void RunUntil(std::int64_t until_ns) {
    until_ns = std::min(until_ns, end_ns_);
    const double span = static_cast<double>(end_ns_ - start_ns_);
    StartNodeThread();
    while (true) {
      // Nothing at or after apply_by_ns_ may run before the node calls
      // still out are applied (they may queue events from that time on).
      std::optional<Event> next = queue_.PopUntil(std::min(until_ns, apply_by_ns_ - 1));
      if (!next.has_value()) {
        if (apply_by_ns_ > until_ns) break;
        ApplyNodeCalls(calls_issued_);
        continue;
      }
      const Event& event = *next;
      SetNow(event.when_ns);
      ++events_;
      ++queue_events_;
      Handle(event);
      if (progress_ && events_ >= next_progress_) {
        next_progress_ = events_ + progress_every_;
        progress_(static_cast<double>(event.when_ns - start_ns_) / span);
      }
    }
    StopNodeThread();
    SetNow(until_ns);
    CountDormantChecks(until_ns);
  }

  // Cluster::CheckConsistency()
  //
  // The conservation invariants, checked from scratch (O(pods + ENIs)):
  //   * every pod created is ready, pending, unscheduled, deleted, or
  //     without an address (its node force-removed it: EC2 no longer had the
  //     CIDR or ENI it was on);
  //   * the datastores hold exactly the ready pods;
  //   * no address is held by two pods anywhere in the cluster;
  //   * every pod's address is on an ENI that EC2 has attached to that
  //     pod's node, as a secondary IP or inside a prefix;
  //   * every datastore's own invariants (NodeDatastore::CheckInvariants()).
  // OK, or INTERNAL naming the first violation.
  [[nodiscard]] absl::Status CheckConsistency() const {
    if (!internal_error_.ok()) return internal_error_;
    if (created_ != ready_ + pending_ + unscheduled_ + deleted_ + without_address_) {
      return absl::InternalError(absl::StrCat(
          "pods lost: created ", created_, " != ready ", ready_, " + pending ", pending_,
          " + unscheduled ", unscheduled_, " + deleted ", deleted_, " + without address ",
          without_address_));
    }
    std::size_t named = 0;
    for (const auto& waiting : waiting_for_node_) named += waiting.size();
    if (named != waiting_for_nodes_) {
      return absl::InternalError(absl::StrCat("pods waiting for a named node: counted ",
                                              waiting_for_nodes_, ", queued ", named));
    }
    for (std::size_t n = 0; n < checks_.size(); ++n) {
      const CheckClock& clock = checks_[n];
      if (!clock.armed && (clock.quiet_until_ns != INT64_MAX || quiet_updates_signals_)) {
        return absl::InternalError(absl::StrCat("node ", n,
                                                " has no pool check queued but is not quiet"));
      }
    }
    std::int64_t in_datastores = 0;
    absl::flat_hash_set<std::uint32_t> addresses;
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      const Controller& node = nodes_[n];
      if (node_slots_[n].state == NodeState::kGone) {
        // Its instance is terminated; its pods were evicted when it drained.
        if (node.datastore().pod_count() != 0) {
          return absl::InternalError(absl::StrCat("node ", n, " is gone but its datastore holds ",
                                                  node.datastore().pod_count(), " pods"));
        }
        continue;
      }
      ENIPOOL_RETURN_IF_ERROR(node.datastore().CheckInvariants());
      in_datastores += static_cast<std::int64_t>(node.datastore().pod_count());
      absl::Status problem;
      node.datastore().ForEachAssignment([&](const PodKey& pod, const Assignment& a, absl::Time) {
        if (!problem.ok()) return;
        if (!addresses.insert(a.address.value()).second) {
          problem = absl::InternalError(absl::StrCat("address ", a.address.ToString(),
                                                     " is held by two pods (one is ",
                                                     pod.ToString(), ")"));
          return;
        }
        const NetworkInterface* eni = ec2_->FindEni(a.eni_id.view());
        if (eni == nullptr || eni->instance_id != node.config().instance_id) {
          problem = absl::InternalError(
              absl::StrCat("pod ", pod.ToString(), " on node ", n, " holds ", a.ToString(),
                           " but EC2 does not attach that ENI to ", node.config().instance_id));
          return;
        }
        const bool on_eni = std::find(eni->secondary_ips.begin(), eni->secondary_ips.end(),
                                      a.address) != eni->secondary_ips.end() ||
                            std::any_of(eni->prefixes.begin(), eni->prefixes.end(),
                                        [&](const Ipv4Prefix& p) { return p.Contains(a.address); });
        if (!on_eni) {
          problem =
              absl::InternalError(absl::StrCat("pod ", pod.ToString(), " holds ", a.ToString(),
                                               ", which EC2 has not assigned to that ENI"));
        }
      });
      ENIPOOL_RETURN_IF_ERROR(problem);
    }
    if (in_datastores != ready_) {
      return absl::InternalError(absl::StrCat("the datastores hold ", in_datastores,
                                              " pods but the cluster counts ", ready_, " ready"));
    }
    return absl::OkStatus();
  }

  // NodeCounts
  //
  // Nodes by life stage: launching (asked for, not joined yet), running,
  // draining (cordoned, pods evicted, instance not terminated yet), gone,
  // and failed to launch (no address left for the primary ENI). Every node
  // the run ever had or asked for is in exactly one.
  struct NodeCounts {
    std::int64_t launching = 0, running = 0, draining = 0, gone = 0, failed_to_launch = 0;
    [[nodiscard]] std::int64_t total() const noexcept {
      return launching + running + draining + gone + failed_to_launch;
    }
  };
  [[nodiscard]] NodeCounts node_counts() const noexcept {
    NodeCounts counts;
    for (const std::int32_t l : launching_) counts.launching += l;
    counts.running = static_cast<std::int64_t>(nodes_.size()) - draining_ - gone_;
    counts.draining = draining_;
    counts.gone = gone_;
    counts.failed_to_launch = launch_failures_;
    return counts;
  }
  // Nodes the autoscaler launched and nodes it drained, over the run.
  [[nodiscard]] std::int64_t nodes_launched() const noexcept { return nodes_launched_; }
  [[nodiscard]] std::int64_t nodes_drained() const noexcept { return nodes_drained_; }
  [[nodiscard]] std::int64_t pods_evicted() const noexcept { return evicted_; }
  // Pods deleted over the run (pods_created() = ready + pending + deleted +
  // without address, at every instant).
  [[nodiscard]] std::int64_t pods_deleted() const noexcept { return deleted_; }
  // The node's group index (into ResolveNodeGroups()) and whether it is
  // running (not draining or gone).
  [[nodiscard]] int node_group(int i) const { return node_slots_[static_cast<std::size_t>(i)].group; }
  [[nodiscard]] bool node_running(int i) const {
    return node_slots_[static_cast<std::size_t>(i)].state == NodeState::kRunning;
  }
  [[nodiscard]] bool node_gone(int i) const {
    return node_slots_[static_cast<std::size_t>(i)].state == NodeState::kGone;
  }
  // Pods placed on node `i` (waiting for an address or ready) and the
  // scheduler's view of it.
  [[nodiscard]] int pods_on_node(int i) const { return scheduler_.pods(i); }
  [[nodiscard]] const Scheduler& scheduler() const noexcept { return scheduler_; }

  [[nodiscard]] const ClusterConfig& config() const noexcept { return config_; }
  // Nodes the run has had so far (running, draining and gone; launching
  // ones are not created yet).
  [[nodiscard]] int node_count() const noexcept { return static_cast<int>(nodes_.size()); }
  [[nodiscard]] const Controller& node(int i) const { return nodes_[static_cast<std::size_t>(i)]; }
  [[nodiscard]] const ec2::SimulatedEc2<ManualClock>& ec2() const noexcept { return *ec2_; }
  [[nodiscard]] absl::Time now() const noexcept { return clock_.Now(); }
  // The events simulated so far: those a run with every pool check in full
  // processes, the same with quiet checks skipped (ClusterConfig::
  // skip_quiet_pool_checks), though a dormant node's skipped checks are
  // never queued (queue_events()).
  [[nodiscard]] std::int64_t events() const noexcept { return events_; }
  // The events that went through the event queue.
  [[nodiscard]] std::int64_t queue_events() const noexcept { return queue_events_; }
  // Pool checks that only updated the node's signals, the rest being known
  // to do nothing (ClusterConfig::skip_quiet_pool_checks); events all the
  // same.
  [[nodiscard]] std::int64_t quiet_pool_checks() const noexcept { return quiet_pool_checks_; }
  // The pod ADDs and DELs handed to the node thread (ClusterConfig::
  // node_thread; 0 without it).
  [[nodiscard]] std::uint64_t node_thread_calls() const noexcept { return calls_issued_; }
  [[nodiscard]] std::int64_t pods_ready() const noexcept { return ready_; }
  [[nodiscard]] std::int64_t pods_pending() const noexcept { return pending_ + unscheduled_; }
  [[nodiscard]] std::int64_t pods_created() const noexcept { return created_; }
  // Pods whose node force-removed their address (EC2 no longer had the CIDR
  // or ENI): in all, and those not deleted yet.
  [[nodiscard]] std::int64_t pods_force_removed() const noexcept { return force_removed_; }
  [[nodiscard]] std::int64_t pods_without_address() const noexcept { return without_address_; }

  // Cluster::mutable_ec2()
  //
  // The shared EC2, for changes made from outside the nodes (an operator
  // unassigning a prefix or deleting an ENI). The nodes learn of them as
  // they would in a real cluster: from an answer or their next reconcile.
  [[nodiscard]] ec2::SimulatedEc2<ManualClock>& mutable_ec2() noexcept { return *ec2_; }
  [[nodiscard]] std::size_t pending_events() const noexcept { return queue_.size(); }

 private:
  enum Kind : std::uint32_t {
    kWorkload,
    kPodAttempt,
    kPodDelete,
    kPoolCheck,
    kEc2Done,
    kWakeup,
    kSample,
    kAutoscale,
    kNodeJoin,
    kNodeRemove
  };
  enum class PodState : std::uint8_t { kFree, kUnscheduled, kPending, kReady };
  enum class NodeState : std::uint8_t { kRunning, kDraining, kGone };

  struct Pod {
    std::int64_t created_ns = 0;
    std::uint64_t id = 0;  // the workload's pod id (container id "p<id>")
    // Placed (pending or ready): its node. Unscheduled: the node it waits
    // for (a trace pod naming a full node), or -1.
    std::int32_t node = -1;
    std::uint32_t generation = 0;
    PodState state = PodState::kFree;
    bool waited = false;
    std::uint16_t requests = 0;  // index into request_shapes_ (0: none)
  };

  struct NodeSlot {
    std::int32_t group = 0;
    NodeState state = NodeState::kRunning;
    std::int64_t underused_since_ns = -1;  // the autoscaler's clock; -1: not underused
  };

  // A node's pool checks fall on a fixed lattice: the first at a random
  // phase of the loop, each next one the check interval plus a jitter
  // later. The jitter of check k is a hash of (seed, node, k), not a draw
  // from a shared stream, so a node can skip checks that would find nothing
  // to do without an event per check and without moving anyone else's
  // numbers: a node quiet until something reaches it (quiet_until_ns ==
  // INT64_MAX) has no check queued ("dormant"), and the next thing to reach
  // it queues the first check after now (ArmCheck()). One cache line.
  struct alignas(32) CheckClock {
    // A check before this time (Unix ns) is quiet (OnPoolCheck()); INT64_MIN
    // once anything has reached the node since its last full check;
    // INT64_MAX while only something reaching it can end the quiet.
    std::int64_t quiet_until_ns = INT64_MIN;
    std::int64_t next_ns = 0;       // the next check's time; queued if armed
    std::uint64_t jitter_seed = 0;  // the node's jitter stream
    std::uint32_t number = 0;       // the next check's number
    bool armed = false;             // the next check is in the queue
    // With a node thread: 1 + the index of the last call handed to it for
    // this node (0: none yet); the node is the main thread's again once
    // every call up to it is applied.
    std::uint64_t last_call = 0;
  };

  struct InFlight {
    std::uint32_t node = 0;
    Ec2Request request;
    Ec2Result result;
  };

  explicit Cluster(ClusterConfig config)
      : config_(std::move(config)),
        clock_(absl::UnixEpoch()),
        jitter_rng_(internal::SimStreamSeed(config_.seed, 2)),
        kubelet_rng_(internal::SimStreamSeed(config_.seed, 3)) {
    // The first workload keeps the random stream it has alone; the others
    // draw from streams of their own.
    workloads_.emplace_back(config_.workload, config_.seed);
    for (std::size_t k = 0; k < config_.extra_workloads.size(); ++k) {
      workloads_.emplace_back(config_.extra_workloads[k],
                              internal::SimStreamSeed(config_.seed, 100 + k));
    }
    next_workload_.resize(workloads_.size());
    request_shapes_.push_back(PodRequests{});
  }

  absl::Status Build() {
    ec2::SimulatedEc2Options options;
    options.seed = internal::SimStreamSeed(config_.seed, 4);
    options.latency = config_.latency;
    options.throttle = config_.throttle;
    options.faults = config_.faults;
    ec2_ = std::make_unique<ec2::SimulatedEc2<ManualClock>>(clock_, std::move(options));
    for (std::size_t s = 0; s < config_.subnets.size(); ++s) {
      std::vector<ec2::SubnetReservation> reservations;
      for (const Ipv4Prefix& r : config_.subnets[s].prefix_reservations) {
        reservations.push_back(ec2::SubnetReservation{r, ec2::ReservationType::kPrefix});
      }
      ENIPOOL_RETURN_IF_ERROR(
          ec2_->AddSubnet(SubnetId(s), config_.subnets[s].cidr, std::move(reservations)));
      if (config_.subnets[s].pod_only) {
        ENIPOOL_RETURN_IF_ERROR(ec2_->SetSubnetTags(SubnetId(s), {{"kubernetes.io/role/cni", "1"}}));
      } else {
        node_subnets_.push_back(s);
      }
      if (absl::Status occupied = ec2_->OccupyAddresses(SubnetId(s), config_.subnets[s].occupied);
          !occupied.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("subnet ", config_.subnets[s].cidr.ToString(),
                                                       " occupied=", config_.subnets[s].occupied,
                                                       ": ", occupied.message()));
      }
    }
    if (node_subnets_.empty()) {
      return absl::InvalidArgumentError("every subnet is pod-only: nodes need a subnet of their own");
    }
    ENIPOOL_ASSIGN_OR_RETURN(groups_, ResolveNodeGroups(config_));
    launching_.assign(groups_.size(), 0);
    nodes_in_group_.assign(groups_.size(), 0);
    created_in_group_.assign(groups_.size(), 0);
    nodes_.reserve(static_cast<std::size_t>(config_.nodes));
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      for (int k = 0; k < groups_[g].config.count; ++k) {
        ENIPOOL_RETURN_IF_ERROR(AddNode(static_cast<int>(g)));
      }
    }
    // Made schedulable last to first, so that node 0 is the first choice.
    for (int n = node_count() - 1; n >= 0; --n) scheduler_.SetSchedulable(n, true);
    start_ns_ = absl::ToUnixNanos(clock_.Now());
    now_ns_ = start_ns_;
    end_ns_ = start_ns_ + absl::ToInt64Nanoseconds(config_.duration);
    warmup_end_ns_ = start_ns_ + absl::ToInt64Nanoseconds(config_.warmup);
    sample_ns_ = absl::ToInt64Nanoseconds(config_.sample_interval);
    check_interval_ns_ = absl::ToInt64Nanoseconds(config_.pool_check_interval);
    check_jitter_ns_ = absl::ToInt64Nanoseconds(config_.pool_check_jitter);
    check_jittered_ = config_.pool_check_jitter > absl::ZeroDuration();
    quiet_updates_signals_ = config_.policy.reads_add_signals();
    kubelet_backoff_ns_ = absl::ToInt64Nanoseconds(config_.kubelet_backoff);
    // FinishAdd()'s delay with no jitter, or the most a negative one takes
    // off; one less against rounding.
    min_retry_delay_ns_ =
        std::max<std::int64_t>(0, static_cast<std::int64_t>(
                                      static_cast<double>(kubelet_backoff_ns_) *
                                      (1 + std::min(0.0, config_.kubelet_backoff_jitter))) -
                                      1);
    // Each node boots (startup describe) at a random phase of the 5 s loop.
    const auto period =
        static_cast<std::uint64_t>(absl::ToInt64Nanoseconds(config_.pool_check_interval));
    for (int n = 0; n < node_count(); ++n) {
      const auto phase = static_cast<std::int64_t>(
          internal::SimUniformIndex(jitter_rng_, std::max<std::uint64_t>(1, period)));
      StartChecks(static_cast<std::uint32_t>(n), start_ns_ + phase);
    }
    queue_.PushNanos(start_ns_, kSample, 0, 0);
    for (std::size_t k = 0; k < workloads_.size(); ++k) PullWorkload(k);
    if (config_.autoscaler.enabled) {
      autoscale_ns_ = absl::ToInt64Nanoseconds(config_.autoscaler.scan_interval);
      queue_.PushNanos(start_ns_ + autoscale_ns_, kAutoscale, 0, 0, EventQueue::Lane::kPeriodic);
    }
    return absl::OkStatus();
  }

  // Creates node `nodes_.size()` of group `g`: its instance (the primary ENI
  // in a subnet of the node's zone) and its controller, not schedulable yet.
  absl::Status AddNode(int g) {
    const ResolvedNodeGroup& group = groups_[static_cast<std::size_t>(g)];
    const int n = node_count();
    const int k = created_in_group_[static_cast<std::size_t>(g)]++;
    // The group's k-th node: its zones in turn, the zone's subnets in turn.
    std::size_t subnet_index = 0;
    if (group.config.zones.empty()) {
      subnet_index = node_subnets_[static_cast<std::size_t>(k) % node_subnets_.size()];
    } else {
      const std::size_t zones = group.config.zones.size();
      const std::string& zone = group.config.zones[static_cast<std::size_t>(k) % zones];
      std::vector<std::size_t> in_zone;
      for (const std::size_t s : node_subnets_) {
        if (config_.subnets[s].zone == zone) in_zone.push_back(s);
      }
      subnet_index = in_zone[(static_cast<std::size_t>(k) / zones) % in_zone.size()];
    }
    const std::string subnet = SubnetId(subnet_index);
    const std::string instance = absl::StrFormat("i-%08x", n);
    absl::StatusOr<NetworkInterface> primary =
        ec2_->AddInstance({.instance_id = instance,
                           .subnet_id = subnet,
                           .max_enis = group.pool.max_enis,
                           .ipv4_per_eni = group.pool.ipv4_per_eni});
    if (!primary.ok()) {
      return absl::Status(primary.status().code(),
                          absl::StrCat("node ", n, ": ", primary.status().message()));
    }
    ControllerConfig cc;
    cc.pool = group.pool;
    cc.instance_id = instance;
    cc.subnet_id = subnet;
    cc.primary_eni_id = primary->id;
    cc.placement = config_.placement;
    cc.eni_primary = config_.eni_primary;
    cc.subnet_cidr = config_.subnets[subnet_index].cidr;
    cc.reconcile_interval = config_.reconcile_interval;
    cc.subnet_discovery = config_.subnet_discovery;
    cc.leaked_eni_sweep = config_.leaked_eni_sweep;
    cc.sweep_seed =
        internal::SimStreamSeed(internal::SimStreamSeed(config_.seed, 6), static_cast<std::uint64_t>(n));
    // Each node's SDK retryer draws its own jitter.
    cc.throttle.jitter_seed =
        internal::SimStreamSeed(internal::SimStreamSeed(config_.seed, 5), static_cast<std::uint64_t>(n));
    ENIPOOL_ASSIGN_OR_RETURN(Controller controller,
                             Controller::Create(node_clock_, std::move(cc), config_.policy));
    nodes_.push_back(std::move(controller));
    wakeup_ns_.push_back(INT64_MAX);
    checks_.push_back(CheckClock{
        .jitter_seed = internal::SimStreamSeed(internal::SimStreamSeed(config_.seed, 7),
                                               static_cast<std::uint64_t>(n))});
    pending_on_node_.push_back(0);
    waiting_for_node_.emplace_back();
    node_slots_.push_back(NodeSlot{g, NodeState::kRunning, -1});
    ++nodes_in_group_[static_cast<std::size_t>(g)];
    scheduler_.AddNode(group.capacity);
    return absl::OkStatus();
  }

  static std::string SubnetId(std::size_t index) { return absl::StrCat("subnet-", index); }

  // The clock and its value in Unix nanoseconds, kept side by side so that
  // the handlers need no absl::Time conversions (library calls) per event.
  void SetNow(std::int64_t when_ns) {
    if (when_ns <= now_ns_) return;  // as ManualClock::SetTime: never backwards
    now_ns_ = when_ns;
    clock_.SetTime(absl::FromUnixNanos(when_ns));
  }

  // Something is about to reach node `n` (a pod, an EC2 answer, a retry):
  // its next pool check runs in full.
  void Disturb(std::uint32_t n) {
    CheckClock& clock = checks_[n];
    clock.quiet_until_ns = INT64_MIN;
    if (!clock.armed) ArmCheck(n, EventQueue::Lane::kNear);
  }
  void Disturb(std::int32_t n) { Disturb(static_cast<std::uint32_t>(n)); }

  // --- The node thread (ClusterConfig::node_thread) ---------------------------
  //
  // The main thread keeps the queue, the scheduler, the pods and the
  // workloads; a pod's ADD or DEL on its node (the node's datastore and
  // controller, plus the settle after it) is handed to the node thread as a
  // NodeCall, which runs the calls in the order they were made, each at the
  // time it was made. The main thread applies each answer later, in the same
  // order, at points fixed by the events alone, never by how far the node
  // thread has got (it waits for it there): the results are those of a run
  // without the thread, bit for bit. An answer is applied
  //   * once kMaxCallsOut newer calls have been made;
  //   * before anything else reaches its node (a pool check, an EC2 answer,
  //     a wake-up, an eviction, a deletion of one of its pods): SyncNode();
  //   * before an event that reads the whole cluster (a sample, the
  //     autoscaler, a node joining or leaving: InStep), and within those,
  //     at once;
  //   * before the first event at or after the earliest time its answer
  //     could queue something (apply_by_ns_: a failed ADD's kubelet retry;
  //     a dormant node's first check after the call is queued when the
  //     call is made, see IssueNodeCall());
  // and a failed ADD's retry takes the place in the queue's order its
  // push would have had when the call was made (EventQueue::
  // ReserveSequence()). Between those points nothing reads what an answer
  // changes. What each thread may touch: the node thread, the nodes named
  // by calls not yet applied and its own scratch; the main thread,
  // everything else.

  struct alignas(64) NodeCall {
    enum Kind : std::uint8_t { kAdd, kDelete };
    // Made by the main thread:
    std::int64_t now_ns = 0;
    std::uint64_t pod_id = 0;
    std::uint64_t retry_sequence = 0;  // kAdd: its retry's place in the order
    std::uint32_t node = 0;
    std::uint32_t slot = 0;
    Kind kind = kAdd;
    // The node thread's answer:
    absl::Status status;
    absl::Time quiet_until;  // the node's QuietUntil() after the call and settle
  };
  static constexpr std::uint64_t kCallRing = 1024;  // a power of two
  static constexpr std::uint64_t kMaxCallsOut = 64;
  static_assert(kMaxCallsOut < kCallRing);

  void IssueNodeCall(NodeCall::Kind kind, std::uint32_t slot, const Pod& pod) {
    if (calls_issued_ - calls_applied_ >= kMaxCallsOut) ApplyNodeCalls(calls_applied_ + 1);
    NodeCall& call = calls_[calls_issued_ & (kCallRing - 1)];
    const auto n = static_cast<std::uint32_t>(pod.node);
    call.now_ns = now_ns_;
    call.pod_id = pod.id;
    call.node = n;
    call.slot = slot;
    call.kind = kind;
    if (kind == NodeCall::kAdd) {
      call.retry_sequence = queue_.ReserveSequence();
      apply_by_ns_ = std::min(apply_by_ns_, now_ns_ + min_retry_delay_ns_);
    }
    CheckClock& clock = checks_[n];
    if (config_.skip_quiet_pool_checks && !clock.armed) {
      // A dormant node: its answer may arm the node's first check after
      // now (NoteQuietUntil()), so that check is queued now, as if it did.
      // If the answer leaves the node quiet until something reaches it,
      // the check finds it so, counts itself quiet and queues no other —
      // what it would have been, skipped (SkipQuietChecks()): the same
      // results, one more event through the queue (queue_events()).
      ArmCheck(n, EventQueue::Lane::kNear);
    }
    clock.last_call = ++calls_issued_;
    calls_made_.store(calls_issued_, std::memory_order_release);
    if (in_step_) ApplyNodeCalls(calls_issued_);
  }

  // Applies the answers to the calls before index `through` (waiting for
  // the node thread where it has not answered yet).
  void ApplyNodeCalls(std::uint64_t through) {
    while (calls_applied_ < through) {
      if (calls_answered_.load(std::memory_order_acquire) <= calls_applied_) {
        do {
          Pause();
        } while (calls_answered_.load(std::memory_order_acquire) <= calls_applied_);
      }
      NodeCall& call = calls_[calls_applied_ & (kCallRing - 1)];
      ++calls_applied_;
      if (config_.skip_quiet_pool_checks) {
        NoteQuietUntil(call.node, call.quiet_until, absl::FromUnixNanos(call.now_ns), call.now_ns);
      }
      if (call.kind == NodeCall::kAdd) {
        FinishAdd(call.slot, call.status.ok(), call.now_ns, call.retry_sequence);
      } else {
        FinishDelete(static_cast<std::int32_t>(call.node), call.pod_id, call.status);
      }
    }
    if (calls_applied_ == calls_issued_) apply_by_ns_ = INT64_MAX;
  }

  // Makes node n the main thread's: every call made to it answered and
  // applied.
  void SyncNode(std::int32_t n) { SyncNode(static_cast<std::uint32_t>(n)); }
  void SyncNode(std::uint32_t n) {
    const std::uint64_t last = checks_[n].last_call;
    if (last > calls_applied_) ApplyNodeCalls(last);
  }

  // An event that reads or changes the whole cluster: every call applied
  // before it, and its own at once.
  class InStep {
   public:
    explicit InStep(Cluster& cluster) : cluster_(cluster) {
      cluster_.ApplyNodeCalls(cluster_.calls_issued_);
      cluster_.in_step_ = true;
    }
    ~InStep() { cluster_.in_step_ = false; }
    InStep(const InStep&) = delete;
    InStep& operator=(const InStep&) = delete;

   private:
    Cluster& cluster_;
  };

  static void Pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  void StartNodeThread() {
    if (!config_.node_thread || node_thread_running_) return;
    if (calls_.empty()) calls_.resize(kCallRing);
    node_thread_stop_.store(false, std::memory_order_relaxed);
    node_thread_ = std::thread([this] { NodeThreadLoop(); });
    node_thread_running_ = true;
  }

  void StopNodeThread() {
    if (!node_thread_running_) return;
    ApplyNodeCalls(calls_issued_);
    node_thread_stop_.store(true, std::memory_order_release);
    node_thread_.join();
    node_thread_running_ = false;
  }

  void NodeThreadLoop() {
    SimNodeClock::on_node_thread_ = &node_clock_;
    std::uint64_t next = calls_answered_.load(std::memory_order_relaxed);
    int idle_spins = 0;
    while (true) {
      const std::uint64_t made = calls_made_.load(std::memory_order_acquire);
      if (next == made) {
        if (node_thread_stop_.load(std::memory_order_acquire) &&
            calls_made_.load(std::memory_order_acquire) == next) {
          break;
        }
        if (++idle_spins < 4096) {
          Pause();
        } else {
          std::this_thread::yield();
        }
        continue;
      }
      idle_spins = 0;
      for (; next < made; ++next) {
        PrefetchForCall(next, made);
        RunNodeCall(calls_[next & (kCallRing - 1)]);
        calls_answered_.store(next + 1, std::memory_order_release);
      }
    }
    SimNodeClock::on_node_thread_ = nullptr;
  }

  // On the node thread: the node state the calls a few places behind call
  // `i` will read, one stage per place, as PrefetchUpcoming() does for a
  // run without the thread. Hints only.
  void PrefetchForCall(std::uint64_t i, std::uint64_t made) {
    static constexpr std::uint64_t kObjectAhead = 6, kIndexAhead = 3, kCidrAhead = 1;
    const auto call = [&](std::uint64_t ahead) -> const NodeCall* {
      return i + ahead < made ? &calls_[(i + ahead) & (kCallRing - 1)] : nullptr;
    };
    if (const NodeCall* c = call(kObjectAhead)) nodes_[c->node].pool().PrefetchObject();
    if (const NodeCall* c = call(kIndexAhead)) {
      nodes_[c->node].pool().PrefetchPod(WriteKey(prefetch_key_, c->pod_id));
    }
    if (const NodeCall* c = call(kCidrAhead)) {
      nodes_[c->node].pool().PrefetchPodCidr(WriteKey(prefetch_key_, c->pod_id));
    }
  }

  // On the node thread: the ADD or DEL, then the settle after it
  // (SettleAfterPodChange()), at the time the call was made.
  void RunNodeCall(NodeCall& call) {
    const absl::Time now = absl::FromUnixNanos(call.now_ns);
    node_clock_.node_thread_now_.value = now;
    Controller& node = nodes_[call.node];
    const PodKey& key = WriteKey(node_thread_key_, call.pod_id);
    call.status =
        call.kind == NodeCall::kAdd ? node.AddPod(key).status() : node.DeletePod(key).status();
    if (config_.skip_quiet_pool_checks) {
      node.SettleIfIdle(now);
      call.quiet_until = node.QuietUntil();
    }
  }

  // --- Event handlers -------------------------------------------------------

  void Handle(const Event& event) {
    switch (event.kind) {
      case kWorkload:
        OnWorkload(event.node);
        break;
      case kPodAttempt:
        OnPodAttempt(event.node, event.payload);
        break;
      case kPodDelete:
        OnPodDelete(event.payload);
        break;
      case kPoolCheck:
        OnPoolCheck(event.node);
        break;
      case kEc2Done:
        OnEc2Done(event.payload);
        break;
      case kWakeup:
        OnWakeup(event.node, event.when_ns);
        break;
      case kSample:
        OnSample(event.when_ns);
        break;
      case kAutoscale:
        OnAutoscale();
        break;
      case kNodeJoin:
        OnNodeJoin(static_cast<int>(event.node));
        break;
      case kNodeRemove:
        OnNodeRemove(event.node);
        break;
      default:
        break;
    }
  }

  void PullWorkload(std::size_t k) {
    std::optional<PodEvent>& next = next_workload_[k];
    next = workloads_[k].Next();
    if (next.has_value() && start_ns_ + next->at_ns <= end_ns_) {
      queue_.PushNanos(start_ns_ + next->at_ns, kWorkload, static_cast<std::uint32_t>(k), 0);
      PrefetchArrival(*next);
    }
  }

  void OnWorkload(std::uint32_t k) {
    const PodEvent& event = *next_workload_[k];
    const std::int64_t now = now_ns_;
    // Pod ids of the first workload are its own (so a run with one workload
    // names its pods as before); the others' carry their index above bit 40.
    const std::uint64_t id = (static_cast<std::uint64_t>(k) << 40) | event.pod;
    const bool trace = std::holds_alternative<TraceWorkload>(
        k == 0 ? config_.workload : config_.extra_workloads[k - 1]);
    if (event.type == PodEvent::Type::kAdd) {
      const std::uint32_t slot = NewPod(id, now, event.requests);
      if (trace) trace_slots_[id] = slot;
      if (event.lifetime_ns >= 0) {
        queue_.PushNanos(now + event.lifetime_ns, kPodDelete, 0, PodHandle(slot),
                         EventQueue::Lane::kFar);
      }
      Schedule(slot, event.node);
    } else {
      const auto it = trace_slots_.find(id);
      if (it != trace_slots_.end()) {
        const std::uint32_t slot = it->second;
        trace_slots_.erase(it);
        DeletePod(slot);
      }
    }
    PullWorkload(k);
  }

  // A new (or evicted) pod: onto the node it names while that node runs
  // and has room (kubelet admission), else waiting for it; without one,
  // where the scheduler picks, else unscheduled.
  void Schedule(std::uint32_t slot, int named_node) {
    const PodRequests& requests = request_shapes_[pods_[slot].requests];
    if (named_node >= 0 && named_node < node_count() &&
        node_slots_[static_cast<std::size_t>(named_node)].state == NodeState::kRunning) {
      if (scheduler_.Fits(named_node, requests)) {
        Place(slot, named_node);
      } else {
        Unschedule(slot, named_node);
      }
      return;
    }
    const int node = scheduler_.Pick(requests);
    if (node < 0) {
      Unschedule(slot, -1);
    } else {
      Place(slot, node);
    }
  }

  void Unschedule(std::uint32_t slot, int waits_for) {
    Pod& pod = pods_[slot];
    pod.state = PodState::kUnscheduled;
    pod.node = waits_for;
    ++unscheduled_;
    if (waits_for >= 0) {
      waiting_for_node_[static_cast<std::size_t>(waits_for)].push_back(PodHandle(slot));
      ++waiting_for_nodes_;
    } else {
      unscheduled_fifo_.push_back(PodHandle(slot));
      CountUnschedulable(pod, +1);
    }
  }

  // The autoscaler's view of the pods that fit nowhere (not those waiting
  // for a named node): their number and requests, leaving out a pod no
  // group's node could take.
  void CountUnschedulable(const Pod& pod, int sign) {
    const PodRequests& r = request_shapes_[pod.requests];
    const bool fits_some_group = std::any_of(groups_.begin(), groups_.end(), [&](const ResolvedNodeGroup& g) {
      return (g.capacity.cpu_millis == 0 || r.cpu_millis <= g.capacity.cpu_millis) &&
             (g.capacity.memory_mib == 0 || r.memory_mib <= g.capacity.memory_mib);
    });
    if (!fits_some_group) return;
    unschedulable_.cpu_millis += sign * r.cpu_millis;
    unschedulable_.memory_mib += sign * r.memory_mib;
    unschedulable_pods_ += sign;
  }

  // Takes unscheduled pods off their queues (those waiting for `freed`
  // first, then the oldest others) while they fit somewhere.
  void PlaceWaiting(int freed) {
    // The count spares every pod deletion a read of its node's queue, cold
    // in a large cluster, when no pod names a node.
    if (freed >= 0 && waiting_for_nodes_ > 0) {
      auto& waiting = waiting_for_node_[static_cast<std::size_t>(freed)];
      while (!waiting.empty()) {
        const std::uint64_t handle = waiting.front();
        Pod* p = Resolve(handle);
        if (p == nullptr || p->state != PodState::kUnscheduled || p->node != freed) {
          waiting.pop_front();
          --waiting_for_nodes_;
          continue;
        }
        if (!scheduler_.Fits(freed, request_shapes_[p->requests])) break;
        waiting.pop_front();
        --waiting_for_nodes_;
        --unscheduled_;
        Place(static_cast<std::uint32_t>(handle & 0xffffffffu), freed);
      }
    }
    // Pods with requests that fit nowhere are passed over (a few at a time,
    // kept in order); a pod without requests that fits nowhere means none
    // does.
    constexpr int kMaxPassedOver = 32;
    int passed_over = 0;
    std::vector<std::uint64_t>& kept = passed_over_;
    kept.clear();
    while (!unscheduled_fifo_.empty()) {
      const std::uint64_t handle = unscheduled_fifo_.front();
      Pod* p = Resolve(handle);
      if (p == nullptr || p->state != PodState::kUnscheduled || p->node >= 0) {
        unscheduled_fifo_.pop_front();
        continue;
      }
      const PodRequests& requests = request_shapes_[p->requests];
      const int target = scheduler_.Pick(requests);
      if (target < 0) {
        if (requests.empty() || ++passed_over > kMaxPassedOver) break;
        unscheduled_fifo_.pop_front();
        kept.push_back(handle);
        continue;
      }
      unscheduled_fifo_.pop_front();
      --unscheduled_;
      CountUnschedulable(*p, -1);
      Place(static_cast<std::uint32_t>(handle & 0xffffffffu), target);
    }
    for (auto it = kept.rbegin(); it != kept.rend(); ++it) unscheduled_fifo_.push_front(*it);
  }

  std::uint32_t NewPod(std::uint64_t id, std::int64_t now, const PodRequests& requests) {
    std::uint32_t slot;
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
    } else {
      slot = static_cast<std::uint32_t>(pods_.size());
      pods_.emplace_back();
    }
    Pod& pod = pods_[slot];
    pod.created_ns = now;
    pod.id = id;
    pod.node = -1;
    pod.waited = false;
    pod.requests = RequestShape(requests);
    if (created_ == 0) first_created_ns_ = now;
    ++created_;
    if (now < warmup_end_ns_) ++in_warmup_;
    return slot;
  }

  // The index of `requests` among the shapes seen (a pod keeps 2 bytes,
  // not 16).
  std::uint16_t RequestShape(const PodRequests& requests) {
    if (requests.empty()) return 0;
    const auto [it, inserted] =
        request_index_.try_emplace(std::make_pair(requests.cpu_millis, requests.memory_mib),
                                   static_cast<std::uint16_t>(request_shapes_.size()));
    if (inserted) {
      if (request_shapes_.size() > UINT16_MAX) {
        if (internal_error_.ok()) {
          internal_error_ = absl::ResourceExhaustedError(
              "more than 65,535 distinct pod requests: the simulator keeps a 16-bit index");
        }
        request_index_.erase(it);
        return 0;
      }
      request_shapes_.push_back(requests);
    }
    return it->second;
  }

  std::uint64_t PodHandle(std::uint32_t slot) const {
    return (static_cast<std::uint64_t>(pods_[slot].generation) << 32) | slot;
  }
  Pod* Resolve(std::uint64_t handle) {
    const auto slot = static_cast<std::uint32_t>(handle & 0xffffffffu);
    const auto generation = static_cast<std::uint32_t>(handle >> 32);
    if (slot >= pods_.size()) return nullptr;
    Pod& pod = pods_[slot];
    if (pod.generation != generation || pod.state == PodState::kFree) return nullptr;
    return &pod;
  }

  // The pod's key {"aws-cni", "p<id>", "eth0"}, written into a kept PodKey:
  // no StrCat and no strings built per call (the id fits the short-string
  // buffer). Valid until the next call.
  const PodKey& KeyOf(const Pod& pod) { return WriteKey(pod_key_, pod.id); }

  // Writes pod `id`'s key into `key` (made as pod_key_ is) and returns it.
  static const PodKey& WriteKey(PodKey& key, std::uint64_t id) {
    char digits[20];
    char* const end = digits + sizeof(digits);
    char* first = end;
    do {
      *--first = static_cast<char>('0' + id % 10);
      id /= 10;
    } while (id != 0);
    std::string& container = key.container_id;
    container.resize(1);  // the "p"
    container.append(first, end);
    return key;
  }

  void Place(std::uint32_t slot, int node) {
    Pod& pod = pods_[slot];
    pod.node = node;
    pod.state = PodState::kPending;
    ++pending_;
    ++pending_on_node_[static_cast<std::size_t>(node)];
    scheduler_.Bind(node, request_shapes_[pod.requests]);
    TryAdd(slot);
  }

  void TryAdd(std::uint32_t slot) {
    Pod& pod = pods_[slot];
    if (node_thread_running_) {
      IssueNodeCall(NodeCall::kAdd, slot, pod);
      return;
    }
    Controller& node = nodes_[static_cast<std::size_t>(pod.node)];
    const bool added = node.AddPod(KeyOf(pod)).ok();
    SettleAfterPodChange(pod.node);
    FinishAdd(slot, added, now_ns_, added ? 0 : queue_.ReserveSequence());
  }

  // The rest of a pod's ADD, once its node answered (`added`) at `now`:
  // ready, or a kubelet retry queued with `retry_sequence`
  // (EventQueue::ReserveSequence(), taken when the ADD was made).
  void FinishAdd(std::uint32_t slot, bool added, std::int64_t now, std::uint64_t retry_sequence) {
    Pod& pod = pods_[slot];
    if (added) {
      pod.state = PodState::kReady;
      --pending_;
      --pending_on_node_[static_cast<std::size_t>(pod.node)];
      ++ready_;
      if (pod.created_ns >= warmup_end_ns_) {
        time_to_ip_.Record(absl::Nanoseconds(now - pod.created_ns));
      }
      last_ready_ns_ = now;
      return;
    }
    ++failed_adds_;
    if (!pod.waited) {
      pod.waited = true;
      ++waited_;
    }
    // kubelet: retry after wait.Jitter(10 s, 0.5) (see the file comment).
    const double jitter = internal::SimUniform01(kubelet_rng_) * config_.kubelet_backoff_jitter;
    const auto delay = static_cast<std::int64_t>(
        static_cast<double>(kubelet_backoff_ns_) * (1 + jitter));
    queue_.PushNanosReserved(now + delay, retry_sequence, kPodAttempt,
                             static_cast<std::uint32_t>(pod.node), PodHandle(slot),
                             EventQueue::Lane::kFar);
  }

  void OnPodAttempt(std::uint32_t node, std::uint64_t handle) {
    PrefetchUpcoming();
    Pod* pod = Resolve(handle);
    // An attempt on a node the pod was evicted from is void.
    if (pod == nullptr || pod->state != PodState::kPending ||
        pod->node != static_cast<std::int32_t>(node)) {
      return;
    }
    TryAdd(static_cast<std::uint32_t>(handle & 0xffffffffu));
  }

  void OnPodDelete(std::uint64_t handle) {
    PrefetchUpcoming();
    if (Resolve(handle) == nullptr) return;
    DeletePod(static_cast<std::uint32_t>(handle & 0xffffffffu));
  }

  // In a large cluster every pod deletion, and every kubelet retry of an
  // ADD, reads a node's state that left the cache long ago: the pod's
  // record, then its node's datastore, the index lines its key hashes to,
  // its CIDR group and the cooldown queue — each load waiting for the one
  // before. The next such events are known (the far lane's sorted bucket,
  // EventQueue::PeekFar()), so each one starts those loads for the ones a
  // few places behind it, one stage per place (a stage reads what the
  // stage before loaded), and the waits of several events overlap. Hints
  // only: the results do not change (a pod resolved here may be gone by its
  // turn; then its loads were wasted).
  void PrefetchUpcoming() {
    static constexpr std::size_t kRecordAhead = 8, kObjectAhead = 5, kIndexAhead = 3,
                                 kCidrAhead = 1;
    const auto is_pod_event = [](const Event* e) {
      return e != nullptr && (e->kind == kPodDelete || e->kind == kPodAttempt);
    };
    if (const Event* e = queue_.PeekFar(kRecordAhead); is_pod_event(e)) {
      const auto slot = static_cast<std::uint32_t>(e->payload & 0xffffffffu);
      if (slot < pods_.size()) __builtin_prefetch(&pods_[slot]);
    }
    // The pod of the event `ahead` places on, if it will reach its node's
    // datastore: a ready pod's deletion, or a retry of a pod still pending
    // on the node the event names.
    const auto upcoming = [&](std::size_t ahead) -> const Pod* {
      const Event* e = queue_.PeekFar(ahead);
      if (!is_pod_event(e)) return nullptr;
      const Pod* pod = Resolve(e->payload);
      if (pod == nullptr) return nullptr;
      const bool reaches_node =
          e->kind == kPodDelete ? pod->state == PodState::kReady
                                : pod->state == PodState::kPending &&
                                      pod->node == static_cast<std::int32_t>(e->node);
      return reaches_node ? pod : nullptr;
    };
    const auto pool_of = [&](const Pod* pod) -> const auto& {
      return nodes_[static_cast<std::size_t>(pod->node)].pool();
    };
    if (const Pod* pod = upcoming(kObjectAhead)) PrefetchNodeObject(pod->node);
    // The node thread reads the nodes (PrefetchForCall()).
    if (node_thread_running_) return;
    if (const Pod* pod = upcoming(kIndexAhead)) pool_of(pod).PrefetchPod(KeyOf(*pod));
    if (const Pod* pod = upcoming(kCidrAhead)) pool_of(pod).PrefetchPodCidr(KeyOf(*pod));
  }

  // The next pod to arrive is known several events ahead: start loading
  // the end of the far-lane bucket its deletion goes to and, when the
  // scheduler will pick its node, the state of the node it would pick now
  // (a guess: deletions may change the pick meanwhile). Hints only.
  void PrefetchArrival(const PodEvent& next) {
    if (next.type != PodEvent::Type::kAdd) return;
    if (next.lifetime_ns >= 0) queue_.PrefetchFarPush(start_ns_ + next.at_ns + next.lifetime_ns);
    if (next.node >= 0 || !next.requests.empty()) return;
    const int node = scheduler_.PeekPick();
    if (node >= 0) PrefetchNodeObject(node);
  }

  // The first stage of a pod's ADD or DEL on `node`: its datastore object
  // and its quiet time (the settle after the change writes it).
  void PrefetchNodeObject(int node) const {
    __builtin_prefetch(&checks_[static_cast<std::size_t>(node)], 1);
    if (node_thread_running_) return;  // the node thread's (PrefetchForCall())
    nodes_[static_cast<std::size_t>(node)].pool().PrefetchObject();
  }

  void DeletePod(std::uint32_t slot) {
    Pod& pod = pods_[slot];
    // An ADD of this pod still with the node thread decides its state.
    if (pod.node >= 0 && pod.state != PodState::kUnscheduled) SyncNode(pod.node);
    switch (pod.state) {
      case PodState::kReady: {
        if (node_thread_running_) {
          IssueNodeCall(NodeCall::kDelete, slot, pod);
          break;
        }
        Controller& node = nodes_[static_cast<std::size_t>(pod.node)];
        const absl::Status deleted = node.DeletePod(KeyOf(pod)).status();
        SettleAfterPodChange(pod.node);
        FinishDelete(pod.node, pod.id, deleted);
        break;
      }
      case PodState::kPending:
        --pending_;
        --pending_on_node_[static_cast<std::size_t>(pod.node)];
        ++deleted_pending_;
        CensorWait(pod);
        break;
      case PodState::kUnscheduled:
        --unscheduled_;
        ++deleted_pending_;
        CensorWait(pod);
        if (pod.node < 0) CountUnschedulable(pod, -1);
        break;
      case PodState::kFree:
        return;
    }
    ++deleted_;
    const bool placed = pod.state != PodState::kUnscheduled;
    const int node = pod.node;
    pod.state = PodState::kFree;
    ++pod.generation;
    free_slots_.push_back(slot);
    if (placed) {
      scheduler_.Unbind(node, request_shapes_[pod.requests]);
      // A place freed up: the pods waiting for it take it.
      PlaceWaiting(node);
    }
  }

  // The rest of a ready pod's DEL (pod `id` on `node`), once the node
  // answered.
  void FinishDelete(std::int32_t node, std::uint64_t id, const absl::Status& deleted) {
    if (deleted.ok()) {
      --ready_;
    } else if (deleted.code() == absl::StatusCode::kNotFound && without_address_ > 0) {
      // The node force-removed it earlier (counted then, see
      // CountForceRemoved()); it leaves the pods without an address.
      --without_address_;
    } else if (internal_error_.ok()) {
      PodKey key{"aws-cni", "p", "eth0"};
      internal_error_ = absl::InternalError(absl::StrCat("node ", node, " refused to delete ready pod ",
                                                         WriteKey(key, id).ToString(), ": ",
                                                         deleted.ToString()));
    }
  }

  // A pod that leaves without an address enters time to IP censored: it
  // waited at least this long.
  void CensorWait(const Pod& pod) {
    if (pod.created_ns >= warmup_end_ns_) {
      time_to_ip_censored_.Record(absl::Nanoseconds(now_ns_ - pod.created_ns));
    }
  }

  // Until when node n's pool checks only update its signals
  // (NodeController::QuietUntil()), as seen at `now`.
  // `quiet` is the node's QuietUntil() at `now` (`now_ns`), when the node
  // was last reached: the simulation's now, or with a node thread, the time
  // of the call that thread ran.
  void NoteQuietUntil(std::uint32_t n, absl::Time quiet, absl::Time now, std::int64_t now_ns) {
    // Rounded down: a check at the very instant runs in full.
    CheckClock& clock = checks_[n];
    clock.quiet_until_ns = quiet <= now                       ? INT64_MIN
                           : quiet == absl::InfiniteFuture() ? INT64_MAX
                                                              : absl::ToUnixNanos(quiet);
    if (!clock.armed && clock.quiet_until_ns != INT64_MAX) {
      ArmCheck(n, EventQueue::Lane::kNear, now_ns);
    }
  }

  // After a pod came or went on node n, while the node's state is in cache:
  // the node decides now what its next pool check would
  // (NodeController::SettleIfIdle), so that check is skipped when it would
  // find nothing to do, instead of reading the node cold seconds later.
  // It stands for Disturb(): the quiet time it notes is the node's after the
  // change (with quiet checks run in full, every check runs anyway). The
  // results are the same (sim_quiet_checks_test).
  void SettleAfterPodChange(std::int32_t node_index) {
    if (!config_.skip_quiet_pool_checks) return;
    const auto n = static_cast<std::uint32_t>(node_index);
    Controller& node = nodes_[n];
    const absl::Time now = clock_.Now();
    node.SettleIfIdle(now);
    NoteQuietUntil(n, node.QuietUntil(), now, now_ns_);
  }

  void OnPoolCheck(std::uint32_t n) {
    SyncNode(n);  // its quiet time, and the node itself
    Controller& node = nodes_[n];
    CheckClock& clock = checks_[n];
    const absl::Time now = clock_.Now();
    // `armed` stays set while the check runs: it queues its successor.
    AdvanceCheck(clock);
    if (now_ns_ < clock.quiet_until_ns) {  // never for a gone node (OnNodeRemove())
      // Nothing has reached the node since a check that found nothing to do
      // and none of its timers has run out: this check would only update
      // its signals (NodeController::QuietUntil()), which a policy that does
      // not read them never looks at (PolicyReadsAddSignals): then the node's
      // memory is not touched at all.
      if (quiet_updates_signals_) node.UpdateSignals(now);
      ++quiet_pool_checks_;
    } else {
      // Its loop stopped with it; `armed` stays set, so nothing queues a
      // check again.
      if (node_slots_[n].state == NodeState::kGone) return;
      requests_.clear();
      if (!node.started()) {
        node.Start(now, requests_);
      }
      node.Tick(now, requests_);
      Send(n);
      if (config_.skip_quiet_pool_checks) NoteQuietUntil(n, node.QuietUntil(), now, now_ns_);
    }
    // Dormant until something reaches the node, unless its checks still
    // update signals the policy reads.
    clock.armed = false;
    if (clock.quiet_until_ns == INT64_MAX && !quiet_updates_signals_) return;
    ArmCheck(n, EventQueue::Lane::kPeriodic);
  }

  // Node n's first pool check, at `first_ns`.
  void StartChecks(std::uint32_t n, std::int64_t first_ns) {
    CheckClock& clock = checks_[n];
    clock.next_ns = first_ns;
    clock.number = 0;
    clock.armed = true;
    // Near: the first lead is anything up to a whole period, which would
    // keep the periodic lane from settling the others (EventQueue).
    queue_.PushNanosOrdered(first_ns, n, kPoolCheck, n, 0, EventQueue::Lane::kNear);
  }

  // Moves the node's clock to its next check: the check interval plus the
  // jitter of this check's number later.
  void AdvanceCheck(CheckClock& clock) const {
    const std::int64_t jitter =
        check_jittered_ ? static_cast<std::int64_t>(
                              internal::SimStreamSeed(clock.jitter_seed, clock.number) %
                              static_cast<std::uint64_t>(check_jitter_ns_))
                        : 0;
    clock.next_ns += check_interval_ns_ + jitter;
    ++clock.number;
  }

  // Queues node n's next check, the first one after now; the checks it
  // skipped while dormant, at or before now, were quiet (nothing had reached
  // the node, and a check at the very instant of this event comes before it:
  // EventQueue::PushNanosOrdered()), and count as quiet checks and events,
  // as they would be with every check run. Periodic for a check queued by
  // the one before it (a lead of about one interval), near otherwise.
  // `now_ns`: when the node was reached (NoteQuietUntil()).
  void ArmCheck(std::uint32_t n, EventQueue::Lane lane) { ArmCheck(n, lane, now_ns_); }
  void ArmCheck(std::uint32_t n, EventQueue::Lane lane, std::int64_t now_ns) {
    CheckClock& clock = checks_[n];
    assert(!clock.armed);
    SkipQuietChecks(clock, now_ns);
    clock.armed = true;
    queue_.PushNanosOrdered(clock.next_ns, n, kPoolCheck, n, 0, lane);
  }

  // Counts the dormant nodes' checks at or before `until_ns` as quiet
  // checks and events, as RunUntil() would have run them.
  void CountDormantChecks(std::int64_t until_ns) {
    for (CheckClock& clock : checks_) {
      if (!clock.armed) SkipQuietChecks(clock, until_ns);
    }
  }

  // Moves a dormant node's clock past `through_ns`, counting each check it
  // skips as a quiet check and an event.
  void SkipQuietChecks(CheckClock& clock, std::int64_t through_ns) {
    while (clock.next_ns <= through_ns) {
      ++quiet_pool_checks_;
      ++events_;
      AdvanceCheck(clock);
    }
  }

  void OnEc2Done(std::uint64_t index) {
    InFlight& flight = in_flight_[index];
    const std::uint32_t n = flight.node;
    if (node_slots_[n].state == NodeState::kGone) {  // nobody is left to hear the answer
      flight = InFlight{};
      free_flights_.push_back(index);
      return;
    }
    SyncNode(n);
    const absl::Time now = clock_.Now();
    requests_.clear();
    const std::size_t pods_before = nodes_[n].datastore().pod_count();
    Disturb(n);
    const absl::Status status = nodes_[n].OnResult(flight.request, flight.result, now, requests_);
    CountForceRemoved(pods_before, nodes_[n].datastore().pod_count());
    if (!status.ok() && internal_error_.ok()) {
      internal_error_ =
          absl::InternalError(absl::StrCat("node ", n, " rejected the answer to request ",
                                           flight.request.id, ": ", status.message()));
    }
    flight = InFlight{};
    free_flights_.push_back(index);
    Send(n);
  }

  // An answer can make a node force-remove pods (a reconcile or resync finds
  // a CIDR or ENI gone from EC2): they stop being ready at once, so the
  // books stay exact between consistency checks. Which pods they were is
  // learnt when each one's delete finds it gone (DeletePod()).
  void CountForceRemoved(std::size_t pods_before, std::size_t pods_after) {
    if (pods_after >= pods_before) return;  // answers never add pods
    const auto removed = static_cast<std::int64_t>(pods_before - pods_after);
    ready_ -= removed;
    without_address_ += removed;
    force_removed_ += removed;
  }

  void OnWakeup(std::uint32_t n, std::int64_t when_ns) {
    if (wakeup_ns_[n] != when_ns) return;  // superseded
    wakeup_ns_[n] = INT64_MAX;
    if (node_slots_[n].state == NodeState::kGone) return;
    SyncNode(n);
    Controller& node = nodes_[n];
    if (!node.busy()) return;  // pool checks keep their 5 s cadence
    Disturb(n);
    requests_.clear();
    node.Tick(clock_.Now(), requests_);
    Send(n);
  }

  // Makes the node's new requests on EC2 now and schedules each answer at
  // now + its latency; then arranges a wake-up for the node's next retry.
  void Send(std::uint32_t n) {
    const std::int64_t now_ns = now_ns_;
    for (Ec2Request& request : requests_) {
      Ec2Result result = ec2_->Call(request.call);
      const absl::Duration latency = ec2_->SampleLatency(request.call);
      std::uint64_t index;
      if (!free_flights_.empty()) {
        index = free_flights_.back();
        free_flights_.pop_back();
      } else {
        index = in_flight_.size();
        in_flight_.emplace_back();
      }
      in_flight_[index] = InFlight{n, std::move(request), std::move(result)};
      queue_.PushNanos(now_ns + absl::ToInt64Nanoseconds(latency), kEc2Done, n, index);
    }
    requests_.clear();
    const absl::Time wake = nodes_[n].NextWakeup();
    if (wake != absl::InfiniteFuture()) {
      // Rounded up: a wake-up before `wake` would find nothing due yet.
      std::int64_t wake_ns = absl::ToUnixNanos(wake);
      if (absl::FromUnixNanos(wake_ns) < wake) ++wake_ns;
      wake_ns = std::max(now_ns, wake_ns);
      if (wake_ns < wakeup_ns_[n]) {
        wakeup_ns_[n] = wake_ns;
        queue_.PushNanos(wake_ns, kWakeup, n, 0);
      }
    }
  }

  // --- Nodes joining and leaving ---------------------------------------------

  std::int64_t LaunchDelayNs() const {
    return absl::ToInt64Nanoseconds(config_.autoscaler.launch_delay);
  }

  void OnAutoscale() {
    const InStep in_step(*this);
    if (!ScaleOut()) ScaleIn();
    queue_.PushNanos(now_ns_ + autoscale_ns_, kAutoscale, 0, 0, EventQueue::Lane::kPeriodic);
  }

  // Launches nodes for the pods that fit nowhere (see AutoscalerConfig);
  // true if it launched any.
  bool ScaleOut() {
    if (unschedulable_pods_ <= 0) return false;
    // What is still to find room for, less the nodes already on their way.
    std::int64_t pods = unschedulable_pods_;
    std::int64_t cpu = unschedulable_.cpu_millis;
    std::int64_t memory = unschedulable_.memory_mib;
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      const NodeCapacity& c = groups_[g].capacity;
      pods -= launching_[g] * static_cast<std::int64_t>(c.pods);
      cpu -= launching_[g] * c.cpu_millis;
      memory -= launching_[g] * c.memory_mib;
    }
    bool launched = false;
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      if (pods <= 0 && cpu <= 0 && memory <= 0) break;
      const NodeCapacity& c = groups_[g].capacity;
      const std::int64_t room =
          groups_[g].config.max_nodes() - nodes_in_group_[g] - launching_[g];
      if (room <= 0) continue;
      const auto nodes_for = [](std::int64_t need, std::int64_t per_node) -> std::int64_t {
        return need <= 0 || per_node <= 0 ? 0 : (need + per_node - 1) / per_node;
      };
      const std::int64_t want = std::min(
          room, std::max({nodes_for(pods, c.pods), nodes_for(cpu, c.cpu_millis),
                          nodes_for(memory, c.memory_mib), std::int64_t{1}}));
      for (std::int64_t i = 0; i < want; ++i) {
        queue_.PushNanos(now_ns_ + LaunchDelayNs(), kNodeJoin, static_cast<std::uint32_t>(g), 0);
        ++launching_[g];
        ++nodes_launched_;
      }
      launched = true;
      pods -= want * c.pods;
      cpu -= want * c.cpu_millis;
      memory -= want * c.memory_mib;
    }
    return launched;
  }

  // Drains one running node that has stayed underused for the unneeded
  // time, if its group may shrink and the other nodes can take its pods.
  void ScaleIn() {
    const bool quiet = unschedulable_pods_ == 0 &&
                       std::all_of(launching_.begin(), launching_.end(),
                                   [](std::int32_t l) { return l == 0; });
    const std::int64_t unneeded = absl::ToInt64Nanoseconds(config_.autoscaler.scale_down_unneeded);
    int candidate = -1;
    double candidate_use = 0;
    std::int64_t free_pods = 0, free_cpu = 0, free_memory = 0;
    for (int n = 0; n < node_count(); ++n) {
      NodeSlot& slot = node_slots_[static_cast<std::size_t>(n)];
      if (slot.state != NodeState::kRunning) continue;
      const NodeCapacity& c = scheduler_.capacity(n);
      const PodRequests& used = scheduler_.used(n);
      free_pods += c.pods - scheduler_.pods(n);
      free_cpu += c.cpu_millis - used.cpu_millis;
      free_memory += c.memory_mib - used.memory_mib;
      const double use = scheduler_.Utilization(n);
      if (use >= config_.autoscaler.scale_down_utilization) {
        slot.underused_since_ns = -1;
        continue;
      }
      if (slot.underused_since_ns < 0) slot.underused_since_ns = now_ns_;
      const ResolvedNodeGroup& group = groups_[static_cast<std::size_t>(slot.group)];
      if (!quiet || now_ns_ - slot.underused_since_ns < unneeded ||
          RunningInGroup(slot.group) <= group.config.min_nodes()) {
        continue;
      }
      if (candidate < 0 || use <= candidate_use) {
        candidate = n;
        candidate_use = use;
      }
    }
    if (candidate < 0) return;
    // The others' room must cover its pods.
    const NodeCapacity& c = scheduler_.capacity(candidate);
    const PodRequests& used = scheduler_.used(candidate);
    const int pods = scheduler_.pods(candidate);
    if (free_pods - (c.pods - pods) < pods ||
        free_cpu - (c.cpu_millis - used.cpu_millis) < used.cpu_millis ||
        free_memory - (c.memory_mib - used.memory_mib) < used.memory_mib) {
      return;
    }
    Drain(candidate);
  }

  int RunningInGroup(int g) const {
    int running = 0;
    for (const NodeSlot& slot : node_slots_) {
      running += slot.group == g && slot.state == NodeState::kRunning ? 1 : 0;
    }
    return running;
  }

  void OnNodeJoin(int g) {
    const InStep in_step(*this);
    --launching_[static_cast<std::size_t>(g)];
    if (absl::Status added = AddNode(g); !added.ok()) {
      // No address left for its primary ENI, say: the instance fails to
      // launch, as EC2's RunInstances would.
      ++launch_failures_;
      return;
    }
    const int n = node_count() - 1;
    scheduler_.SetSchedulable(n, true);
    // Cold: its pool loop starts at a random phase, like a booting ipamd.
    const auto period = static_cast<std::uint64_t>(check_interval_ns_);
    const auto phase = static_cast<std::int64_t>(
        internal::SimUniformIndex(jitter_rng_, std::max<std::uint64_t>(1, period)));
    StartChecks(static_cast<std::uint32_t>(n), now_ns_ + phase);
    PlaceWaiting(n);
  }

  // Cordons node `n`, evicts its pods (each to be scheduled again) and
  // terminates its instance after the drain time.
  void Drain(int n) {
    NodeSlot& slot = node_slots_[static_cast<std::size_t>(n)];
    slot.state = NodeState::kDraining;
    ++draining_;
    ++nodes_drained_;
    scheduler_.SetSchedulable(n, false);
    for (std::uint32_t i = 0; i < pods_.size(); ++i) {
      Pod& pod = pods_[i];
      if (pod.node != n) continue;
      if (pod.state == PodState::kReady || pod.state == PodState::kPending) {
        Evict(i);
      } else if (pod.state == PodState::kUnscheduled) {
        // It waited for this node: the scheduler finds it another.
        pod.node = -1;
        unscheduled_fifo_.push_back(PodHandle(i));
        CountUnschedulable(pod, +1);
      }
    }
    waiting_for_nodes_ -= waiting_for_node_[static_cast<std::size_t>(n)].size();
    waiting_for_node_[static_cast<std::size_t>(n)].clear();
    PlaceWaiting(-1);
    queue_.PushNanos(now_ns_ + absl::ToInt64Nanoseconds(config_.autoscaler.drain_time), kNodeRemove,
                     static_cast<std::uint32_t>(n), 0);
  }

  void Evict(std::uint32_t i) {
    Pod& pod = pods_[i];
    const int n = pod.node;
    SyncNode(n);
    if (pod.state == PodState::kReady) {
      Disturb(n);
      const absl::Status deleted = nodes_[static_cast<std::size_t>(n)].DeletePod(KeyOf(pod)).status();
      if (deleted.ok()) {
        --ready_;
      } else if (deleted.code() == absl::StatusCode::kNotFound && without_address_ > 0) {
        --without_address_;  // force-removed earlier (CountForceRemoved())
      } else if (internal_error_.ok()) {
        internal_error_ = absl::InternalError(absl::StrCat("node ", n, " refused to evict pod ",
                                                           KeyOf(pod).ToString(), ": ",
                                                           deleted.ToString()));
      }
    } else {
      --pending_;
      --pending_on_node_[static_cast<std::size_t>(n)];
      CensorWait(pod);  // it leaves without an address; its next wait is timed afresh
    }
    scheduler_.Unbind(n, request_shapes_[pod.requests]);
    ++evicted_;
    pod.created_ns = now_ns_;
    pod.waited = false;
    Unschedule(i, -1);
  }

  void OnNodeRemove(std::uint32_t n) {
    const InStep in_step(*this);
    NodeSlot& slot = node_slots_[n];
    const absl::Status terminated = ec2_->TerminateInstance(nodes_[n].config().instance_id);
    if (!terminated.ok() && internal_error_.ok()) {
      internal_error_ = absl::InternalError(
          absl::StrCat("terminating node ", n, ": ", terminated.message()));
    }
    slot.state = NodeState::kGone;
    Disturb(n);  // its next pool check finds it gone
    --draining_;
    ++gone_;
    --nodes_in_group_[static_cast<std::size_t>(slot.group)];
  }

  void OnSample(std::int64_t when_ns) {
    const InStep in_step(*this);
    ReportSample sample;
    sample.at = absl::Nanoseconds(when_ns - start_ns_);
    sample.pods_ready = ready_;
    sample.pods_pending = pending_ + unscheduled_;
    node_idle_.clear();
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      if (node_slots_[n].state == NodeState::kGone) continue;
      const PoolStats stats = nodes_[n].datastore().Stats();
      sample.enis += stats.enis + stats.excluded_enis;
      sample.prefixes += stats.total_prefixes + stats.excluded_prefixes;
      sample.addresses += stats.total_ips;
      sample.assigned += stats.assigned_ips;
      sample.cooling += stats.cooling_ips;
      node_idle_.push_back(stats.total_ips - stats.assigned_ips);
    }
    if (!node_idle_.empty()) {
      const auto [low, high] = std::minmax_element(node_idle_.begin(), node_idle_.end());
      sample.node_idle_min = *low;
      sample.node_idle_max = *high;
      const auto middle = node_idle_.begin() + static_cast<std::ptrdiff_t>(node_idle_.size() / 2);
      std::nth_element(node_idle_.begin(), middle, node_idle_.end());
      sample.node_idle_median = *middle;
    }
    for (const std::int32_t waiting : pending_on_node_) {
      sample.node_pending_max = std::max<std::int64_t>(sample.node_pending_max, waiting);
    }
    for (const ec2::Subnet& subnet : ec2_->subnets()) {
      sample.subnet_used += static_cast<std::int64_t>(subnet.allocated_address_count());
      sample.subnet_free_28 += static_cast<std::int64_t>(subnet.free_prefix_count());
    }
    sample.ec2_calls = static_cast<std::int64_t>(ec2_->stats().calls);
    sample.throttled_calls = static_cast<std::int64_t>(ec2_->stats().throttled);
    if (!samples_.empty()) {
      const ReportSample& previous = samples_.back();
      idle_address_seconds_ += static_cast<double>(previous.addresses - previous.assigned) *
                               absl::ToDoubleSeconds(sample.at - previous.at);
    }
    samples_.push_back(sample);
    const std::int64_t next = when_ns + sample_ns_;
    if (next <= end_ns_) {
      queue_.PushNanos(next, kSample, 0, 0);
    } else if (when_ns < end_ns_) {
      queue_.PushNanos(end_ns_, kSample, 0, 0);  // the last sample is at the very end
    }
  }

  RunReport MakeReport() const {
    RunReport report;
    report.name = config_.name;
    report.description = DescribeConfig(config_);
    report.simulated = config_.duration;
    report.events = events_;
    report.pods_created = created_;
    report.pods_ready = ready_;
    report.pods_pending = pending_ + unscheduled_;
    report.pods_deleted = deleted_;
    report.pods_deleted_pending = deleted_pending_;
    report.pods_force_removed = force_removed_;
    report.pods_without_address = without_address_;
    report.pods_waited = waited_;
    report.failed_adds = failed_adds_;
    report.nodes_launched = nodes_launched_;
    report.node_launch_failures = launch_failures_;
    report.nodes_drained = nodes_drained_;
    report.pods_evicted = evicted_;
    report.pods_never_served = pending_ + unscheduled_ + deleted_pending_;
    report.warmup = config_.warmup;
    report.pods_in_warmup = in_warmup_;
    // Churn and daily workloads never finish, so "all ready" means nothing there.
    const auto ends = [](const WorkloadSpec& w) {
      return std::holds_alternative<BurstWorkload>(w) || std::holds_alternative<TraceWorkload>(w);
    };
    const bool finite = ends(config_.workload) &&
                        std::all_of(config_.extra_workloads.begin(), config_.extra_workloads.end(), ends);
    if (finite && created_ > 0 && pending_ + unscheduled_ == 0) {
      report.time_to_all_ready = absl::Nanoseconds(last_ready_ns_ - first_created_ns_);
    }
    report.time_to_ip = time_to_ip_;
    // Pods still waiting at the end enter censored at their wait so far.
    report.time_to_ip_censored = time_to_ip_censored_;
    for (const Pod& pod : pods_) {
      if ((pod.state == PodState::kPending || pod.state == PodState::kUnscheduled) &&
          pod.created_ns >= warmup_end_ns_) {
        report.time_to_ip_censored.Record(absl::Nanoseconds(end_ns_ - pod.created_ns));
      }
    }
    std::array<std::int64_t, kEc2CallCount> calls{};
    std::array<std::int64_t, kEc2ErrorCodeCount> errors{};
    for (const Controller& node : nodes_) {
      const ControllerCounters& c = node.counters();
      for (std::size_t i = 0; i < kEc2CallCount; ++i) calls[i] += c.calls[i];
      for (std::size_t i = 0; i < kEc2ErrorCodeCount; ++i) errors[i] += c.errors[i];
      report.eni_attachments += c.enis_attached;
    }
    for (std::size_t i = 0; i < kEc2CallCount; ++i) {
      if (calls[i] != 0) report.calls_by_api[std::string(Ec2CallNameAt(i))] = calls[i];
    }
    for (std::size_t i = 1; i < kEc2ErrorCodeCount; ++i) {
      if (errors[i] != 0) {
        report.errors_by_code[std::string(Ec2ErrorCodeName(static_cast<Ec2ErrorCode>(i)))] =
            errors[i];
      }
    }
    report.ec2_calls = static_cast<std::int64_t>(ec2_->stats().calls);
    report.throttled_calls = static_cast<std::int64_t>(ec2_->stats().throttled);
    report.idle_address_seconds = idle_address_seconds_;
    for (const ReportSample& s : samples_) {
      report.peak_enis = std::max(report.peak_enis, s.enis);
      report.peak_prefixes = std::max(report.peak_prefixes, s.prefixes);
    }
    report.samples = samples_;
    return report;
  }

  ClusterConfig config_;
  ManualClock clock_;
  SimNodeClock node_clock_{clock_};  // what the nodes read
  EventQueue queue_;
  std::unique_ptr<ec2::SimulatedEc2<ManualClock>> ec2_;
  std::vector<std::size_t> node_subnets_;  // subnets that are not pod-only, by index
  std::vector<Controller> nodes_;
  std::vector<std::int64_t> wakeup_ns_;
  // By node: its pool checks' clock and quiet time (CheckClock).
  std::vector<CheckClock> checks_;
  std::vector<WorkloadGenerator> workloads_;
  std::vector<std::optional<PodEvent>> next_workload_;
  absl::flat_hash_map<std::uint64_t, std::uint32_t> trace_slots_;
  std::mt19937_64 jitter_rng_;
  std::mt19937_64 kubelet_rng_;
  Scheduler scheduler_;
  std::vector<ResolvedNodeGroup> groups_;
  std::vector<NodeSlot> node_slots_;
  std::vector<std::int32_t> launching_;         // by group: launched, not joined yet
  std::vector<std::int32_t> nodes_in_group_;    // by group: running or draining
  std::vector<std::int32_t> created_in_group_;  // by group: nodes ever created (zone turns)
  std::int64_t draining_ = 0, gone_ = 0;
  std::int64_t nodes_launched_ = 0, nodes_drained_ = 0, launch_failures_ = 0, evicted_ = 0;
  std::int64_t autoscale_ns_ = 0;
  // Unscheduled pods no named node holds, as the autoscaler counts them.
  std::int64_t unschedulable_pods_ = 0;
  PodRequests unschedulable_;
  std::vector<PodRequests> request_shapes_;  // [0] is "no requests"
  absl::flat_hash_map<std::pair<std::int64_t, std::int64_t>, std::uint16_t> request_index_;
  std::vector<std::deque<std::uint64_t>> waiting_for_node_;  // trace pods naming a full node
  std::size_t waiting_for_nodes_ = 0;                        // entries in all of them
  std::vector<std::uint64_t> passed_over_;                   // PlaceWaiting()'s scratch

  std::vector<Pod> pods_;
  std::vector<std::uint32_t> free_slots_;
  std::deque<std::uint64_t> unscheduled_fifo_;
  std::vector<InFlight> in_flight_;
  std::vector<std::uint64_t> free_flights_;
  std::vector<Ec2Request> requests_;

  PodKey pod_key_{"aws-cni", "p", "eth0"};  // see KeyOf()

  // The node thread (see "The node thread" above). Calls [calls_applied_,
  // calls_issued_) are out; the node thread has answered those below
  // calls_answered_.
  std::vector<NodeCall> calls_;  // a ring of kCallRing
  std::uint64_t calls_issued_ = 0, calls_applied_ = 0;
  std::int64_t apply_by_ns_ = INT64_MAX;
  std::int64_t min_retry_delay_ns_ = 0;  // the shortest kubelet retry delay
  bool in_step_ = false;
  bool node_thread_running_ = false;
  std::thread node_thread_;
  alignas(64) std::atomic<std::uint64_t> calls_made_{0};
  alignas(64) std::atomic<std::uint64_t> calls_answered_{0};
  std::atomic<bool> node_thread_stop_{false};
  alignas(64) PodKey node_thread_key_{"aws-cni", "p", "eth0"};  // the node thread's
  PodKey prefetch_key_{"aws-cni", "p", "eth0"};                 // the node thread's
  std::int64_t start_ns_ = 0;
  std::int64_t now_ns_ = 0;  // the clock's time, in Unix nanoseconds
  std::int64_t end_ns_ = 0;
  std::int64_t sample_ns_ = 0;
  std::int64_t check_interval_ns_ = 0;
  std::int64_t check_jitter_ns_ = 0;
  bool check_jittered_ = false;
  std::int64_t kubelet_backoff_ns_ = 0;
  std::int64_t events_ = 0;
  std::int64_t queue_events_ = 0;
  std::int64_t quiet_pool_checks_ = 0;
  bool quiet_updates_signals_ = true;  // the policy reads the ADD signals
  std::int64_t created_ = 0, ready_ = 0, pending_ = 0, unscheduled_ = 0, deleted_ = 0;
  std::int64_t without_address_ = 0;  // force-removed by their node, not deleted yet
  std::int64_t force_removed_ = 0;
  std::int64_t deleted_pending_ = 0, waited_ = 0, failed_adds_ = 0;
  std::int64_t last_ready_ns_ = 0;
  std::int64_t first_created_ns_ = 0;
  std::int64_t warmup_end_ns_ = 0;  // pods created before this are not timed
  std::int64_t in_warmup_ = 0;
  std::vector<std::int32_t> pending_on_node_;  // pods placed on the node, waiting for an IP
  std::vector<std::int64_t> node_idle_;        // OnSample's scratch
  DurationHistogram time_to_ip_;
  DurationHistogram time_to_ip_censored_;  // deleted before they got an IP
  std::vector<ReportSample> samples_;
  double idle_address_seconds_ = 0;
  absl::Status internal_error_;
  bool ran_ = false;
  std::function<void(double)> progress_;
  std::int64_t progress_every_ = 1 << 20;
  std::int64_t next_progress_ = 1 << 20;
};

// RunScenario()
//
// Cluster::Create(config) then Run(): the report of one scenario.
[[nodiscard]] inline absl::StatusOr<RunReport> RunScenario(ClusterConfig config) {
  ENIPOOL_ASSIGN_OR_RETURN(std::unique_ptr<Cluster> cluster, Cluster::Create(std::move(config)));
  return cluster->Run();
}

}  // namespace enipool::sim

#endif  // ENIPOOL_SIM_CLUSTER_H_
