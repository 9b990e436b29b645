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
//   * N nodes, each an EC2 instance and a NodeController (which owns the
//     node's NodeDatastore). A node's pool check (NodeController::Tick) runs
//     every 5 s (docs/reference-behavior.md §4.3) from a random phase, each wake-up late by up
//     to 100 ms (seeded jitter);
//   * a workload (sim/workload.h) of pods created and deleted.
//
// An EC2 request the controller emits is made on the SimulatedEc2 at once
// (its effect on subnets and ENIs happens at that instant) and its answer is
// delivered to the controller at now + SampleLatency(call) as an event. A
// controller's scheduled retries (throttle back-off, detach → delete pause)
// get their own wake-up event at NextWakeup().
//
// Pods. The scheduler puts a new pod on the least-loaded node (fewest pods
// placed) that is below its pod capacity (kubelet max pods − 2 host-network
// pods), as kube-scheduler's default spreading of similar pods does; a pod
// that fits nowhere waits, unscheduled, for the first deletion. Trace pods
// go where the trace says. The CNI ADD (NodeController::AddPod) runs the
// moment the pod lands; DEL releases at once.
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
// Determinism. The workload, the pool-check jitter, kubelet's jitter and
// EC2's addresses and latencies each draw from their own std::mt19937_64
// seeded from ClusterConfig::seed; events at one instant run in scheduling
// order. The same config gives the same report, bit for bit; two policies
// run with one seed see exactly the same pods.
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
// Cost: O(log pending events) per pod or EC2 event, O(1) amortized per
// pool check (their own sorted lane, see EventQueue); memory is the nodes'
// datastores and controllers, the live pods (32 bytes each) and the
// pending events (32 bytes each, about one per live pod with a lifetime).
// Measured (benchmarks/cluster_benchmark.cpp, Release, one core of a shared
// 2-core machine): 5,000 m5.4xlarge nodes with ≈110 pods each under steady
// churn for 24 simulated hours — about 114 million events, 13.7 million
// pods — take 57–66 s of CPU (1.7–2.0 million events a second; the spread
// is the machine's load); about 3.8 KB of heap per node and 530–640 bytes
// per live pod. Not thread-safe.

#ifndef ENIPOOL_SIM_CLUSTER_H_
#define ENIPOOL_SIM_CLUSTER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
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
#include "enipool/sim/report.h"
#include "enipool/sim/scenario.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/ec2/subnet.h"
#include "enipool/sim/workload.h"
#include "enipool/status.h"

namespace enipool::sim {}  // namespace enipool::sim

namespace enipool::internal {

// LeastLoadedScheduler
//
// Nodes bucketed by pod count, so "a node with the fewest pods, below the
// capacity" is O(1) to find and to update (counts move by one). Within a
// bucket the node that entered last is taken; the initial order makes node
// 0 the first choice.
class LeastLoadedScheduler {
 public:
  LeastLoadedScheduler(int nodes, int capacity)
      : capacity_(capacity),
        count_(static_cast<std::size_t>(nodes), 0),
        pos_(static_cast<std::size_t>(nodes), 0) {
    buckets_.resize(static_cast<std::size_t>(capacity) + 1);
    for (int n = nodes - 1; n >= 0; --n) Insert(n, 0);
  }

  // A node below capacity with the fewest pods, or -1 when all are full.
  int Pick() {
    while (min_ < capacity_ && buckets_[static_cast<std::size_t>(min_)].empty()) ++min_;
    if (min_ >= capacity_) return -1;
    return buckets_[static_cast<std::size_t>(min_)].back();
  }
  void Increment(int node) { Move(node, +1); }
  void Decrement(int node) {
    Move(node, -1);
    min_ = std::min(min_, count_[static_cast<std::size_t>(node)]);
  }
  [[nodiscard]] int count(int node) const { return count_[static_cast<std::size_t>(node)]; }

 private:
  void Insert(int node, int c) {
    if (static_cast<std::size_t>(c) >= buckets_.size())
      buckets_.resize(static_cast<std::size_t>(c) + 1);
    auto& bucket = buckets_[static_cast<std::size_t>(c)];
    pos_[static_cast<std::size_t>(node)] = static_cast<int>(bucket.size());
    bucket.push_back(node);
    count_[static_cast<std::size_t>(node)] = c;
  }
  void Move(int node, int delta) {
    const int c = count_[static_cast<std::size_t>(node)];
    auto& bucket = buckets_[static_cast<std::size_t>(c)];
    const int p = pos_[static_cast<std::size_t>(node)];
    const int last = bucket.back();
    bucket[static_cast<std::size_t>(p)] = last;
    pos_[static_cast<std::size_t>(last)] = p;
    bucket.pop_back();
    Insert(node, std::max(0, c + delta));
  }

  int capacity_;
  int min_ = 0;
  std::vector<int> count_;
  std::vector<int> pos_;
  std::vector<std::vector<int>> buckets_;
};

}  // namespace enipool::internal

namespace enipool::sim {

// Cluster
//
// See the file comment. Create() with a config, Run() once, read the
// report. Not copyable or movable (the nodes hold references to its clock).
class Cluster {
 public:
  // The controller keeps the policy's static type on a node; here the
  // policy is a value chosen per scenario (ClusterConfig::policy), so the
  // nodes hold it type-erased (policy/policy.h explains the trade).
  using Controller = NodeController<ManualClock, AnyWarmPoolPolicy>;

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
    while (const std::optional<Event> next = queue_.PopUntil(until_ns)) {
      const Event& event = *next;
      SetNow(event.when_ns);
      ++events_;
      Handle(event);
      if (progress_ && events_ % progress_every_ == 0) {
        progress_(static_cast<double>(event.when_ns - start_ns_) / span);
      }
    }
    SetNow(until_ns);
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
    std::int64_t in_datastores = 0;
    absl::flat_hash_set<std::uint32_t> addresses;
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      const Controller& node = nodes_[n];
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

  [[nodiscard]] const ClusterConfig& config() const noexcept { return config_; }
  [[nodiscard]] int node_count() const noexcept { return static_cast<int>(nodes_.size()); }
  [[nodiscard]] const Controller& node(int i) const { return nodes_[static_cast<std::size_t>(i)]; }
  [[nodiscard]] const ec2::SimulatedEc2<ManualClock>& ec2() const noexcept { return *ec2_; }
  [[nodiscard]] absl::Time now() const noexcept { return clock_.Now(); }
  [[nodiscard]] std::int64_t events() const noexcept { return events_; }
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
    kSample
  };
  enum class PodState : std::uint8_t { kFree, kUnscheduled, kPending, kReady };

  struct Pod {
    std::int64_t created_ns = 0;
    std::uint64_t id = 0;  // the workload's pod id (container id "p<id>")
    std::int32_t node = -1;
    std::uint32_t generation = 0;
    PodState state = PodState::kFree;
    bool waited = false;
  };

  struct InFlight {
    std::uint32_t node = 0;
    Ec2Request request;
    Ec2Result result;
  };

  explicit Cluster(ClusterConfig config)
      : config_(std::move(config)),
        clock_(absl::UnixEpoch()),
        workload_(config_.workload, config_.seed),
        jitter_rng_(internal::SimStreamSeed(config_.seed, 2)),
        kubelet_rng_(internal::SimStreamSeed(config_.seed, 3)),
        scheduler_(config_.nodes, std::max(1, config_.pool.max_pods - kHostNetworkPods)) {}

  absl::Status Build() {
    ec2::SimulatedEc2Options options;
    options.seed = internal::SimStreamSeed(config_.seed, 4);
    options.latency = config_.latency;
    options.throttle = config_.throttle;
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
    nodes_.reserve(static_cast<std::size_t>(config_.nodes));
    wakeup_ns_.assign(static_cast<std::size_t>(config_.nodes), INT64_MAX);
    pending_on_node_.assign(static_cast<std::size_t>(config_.nodes), 0);
    for (int n = 0; n < config_.nodes; ++n) {
      if (node_subnets_.empty()) {
        return absl::InvalidArgumentError("every subnet is pod-only: nodes need a subnet of their own");
      }
      const std::string subnet =
          SubnetId(node_subnets_[static_cast<std::size_t>(n) % node_subnets_.size()]);
      const std::string instance = absl::StrFormat("i-%08x", n);
      absl::StatusOr<NetworkInterface> primary =
          ec2_->AddInstance({.instance_id = instance,
                             .subnet_id = subnet,
                             .max_enis = config_.pool.max_enis,
                             .ipv4_per_eni = config_.pool.ipv4_per_eni});
      if (!primary.ok()) {
        return absl::Status(primary.status().code(),
                            absl::StrCat("node ", n, ": ", primary.status().message()));
      }
      ControllerConfig cc;
      cc.pool = config_.pool;
      cc.instance_id = instance;
      cc.subnet_id = subnet;
      cc.primary_eni_id = primary->id;
      cc.placement = config_.placement;
      cc.eni_primary = config_.eni_primary;
      cc.subnet_cidr = config_.subnets[static_cast<std::size_t>(n) % config_.subnets.size()].cidr;
      cc.reconcile_interval = config_.reconcile_interval;
      cc.subnet_discovery = config_.subnet_discovery;
      // Each node's SDK retryer draws its own jitter.
      cc.throttle.jitter_seed =
          internal::SimStreamSeed(internal::SimStreamSeed(config_.seed, 5), static_cast<std::uint64_t>(n));
      ENIPOOL_ASSIGN_OR_RETURN(Controller controller,
                               Controller::Create(clock_, std::move(cc), config_.policy));
      nodes_.push_back(std::move(controller));
    }
    start_ns_ = absl::ToUnixNanos(clock_.Now());
    now_ns_ = start_ns_;
    end_ns_ = start_ns_ + absl::ToInt64Nanoseconds(config_.duration);
    warmup_end_ns_ = start_ns_ + absl::ToInt64Nanoseconds(config_.warmup);
    sample_ns_ = absl::ToInt64Nanoseconds(config_.sample_interval);
    check_interval_ns_ = absl::ToInt64Nanoseconds(config_.pool_check_interval);
    check_jitter_ns_ = absl::ToInt64Nanoseconds(config_.pool_check_jitter);
    check_jittered_ = config_.pool_check_jitter > absl::ZeroDuration();
    kubelet_backoff_ns_ = absl::ToInt64Nanoseconds(config_.kubelet_backoff);
    // Each node boots (startup describe) at a random phase of the 5 s loop.
    const auto period =
        static_cast<std::uint64_t>(absl::ToInt64Nanoseconds(config_.pool_check_interval));
    for (int n = 0; n < config_.nodes; ++n) {
      const auto phase = static_cast<std::int64_t>(
          internal::SimUniformIndex(jitter_rng_, std::max<std::uint64_t>(1, period)));
      queue_.PushNanos(start_ns_ + phase, kPoolCheck, static_cast<std::uint32_t>(n), 0);
    }
    queue_.PushNanos(start_ns_, kSample, 0, 0);
    PullWorkload();
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

  // --- Event handlers -------------------------------------------------------

  void Handle(const Event& event) {
    switch (event.kind) {
      case kWorkload:
        OnWorkload();
        break;
      case kPodAttempt:
        OnPodAttempt(event.payload);
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
      default:
        break;
    }
  }

  void PullWorkload() {
    next_workload_ = workload_.Next();
    if (next_workload_.has_value() && start_ns_ + next_workload_->at_ns <= end_ns_) {
      queue_.PushNanos(start_ns_ + next_workload_->at_ns, kWorkload, 0, 0);
    }
  }

  void OnWorkload() {
    const PodEvent event = *next_workload_;
    const std::int64_t now = now_ns_;
    if (event.type == PodEvent::Type::kAdd) {
      const std::uint32_t slot = NewPod(event.pod, now);
      if (trace_) trace_slots_[event.pod] = slot;
      if (event.lifetime_ns >= 0) {
        queue_.PushNanos(now + event.lifetime_ns, kPodDelete, 0, PodHandle(slot),
                         EventQueue::Lane::kFar);
      }
      if (event.node >= 0) {
        Place(slot, event.node);
      } else {
        const int node = scheduler_.Pick();
        if (node < 0) {
          pods_[slot].state = PodState::kUnscheduled;
          ++unscheduled_;
          unscheduled_fifo_.push_back(PodHandle(slot));
        } else {
          Place(slot, node);
        }
      }
    } else {
      const auto it = trace_slots_.find(event.pod);
      if (it != trace_slots_.end()) {
        const std::uint32_t slot = it->second;
        trace_slots_.erase(it);
        DeletePod(slot);
      }
    }
    PullWorkload();
  }

  std::uint32_t NewPod(std::uint64_t id, std::int64_t now) {
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
    if (created_ == 0) first_created_ns_ = now;
    ++created_;
    if (now < warmup_end_ns_) ++in_warmup_;
    return slot;
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
  const PodKey& KeyOf(const Pod& pod) {
    char digits[20];
    char* const end = digits + sizeof(digits);
    char* first = end;
    std::uint64_t id = pod.id;
    do {
      *--first = static_cast<char>('0' + id % 10);
      id /= 10;
    } while (id != 0);
    std::string& container = pod_key_.container_id;
    container.resize(1);  // the "p"
    container.append(first, end);
    return pod_key_;
  }

  void Place(std::uint32_t slot, int node) {
    Pod& pod = pods_[slot];
    pod.node = node;
    pod.state = PodState::kPending;
    ++pending_;
    ++pending_on_node_[static_cast<std::size_t>(node)];
    scheduler_.Increment(node);
    TryAdd(slot);
  }

  void TryAdd(std::uint32_t slot) {
    Pod& pod = pods_[slot];
    Controller& node = nodes_[static_cast<std::size_t>(pod.node)];
    const absl::StatusOr<Assignment> assignment = node.AddPod(KeyOf(pod));
    const std::int64_t now = now_ns_;
    if (assignment.ok()) {
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
    queue_.PushNanos(now + delay, kPodAttempt, 0, PodHandle(slot), EventQueue::Lane::kFar);
  }

  void OnPodAttempt(std::uint64_t handle) {
    Pod* pod = Resolve(handle);
    if (pod == nullptr || pod->state != PodState::kPending) return;
    TryAdd(static_cast<std::uint32_t>(handle & 0xffffffffu));
  }

  void OnPodDelete(std::uint64_t handle) {
    if (Resolve(handle) == nullptr) return;
    DeletePod(static_cast<std::uint32_t>(handle & 0xffffffffu));
  }

  void DeletePod(std::uint32_t slot) {
    Pod& pod = pods_[slot];
    switch (pod.state) {
      case PodState::kReady: {
        Controller& node = nodes_[static_cast<std::size_t>(pod.node)];
        const absl::Status deleted = node.DeletePod(KeyOf(pod)).status();
        if (deleted.ok()) {
          --ready_;
        } else if (deleted.code() == absl::StatusCode::kNotFound && without_address_ > 0) {
          // The node force-removed it earlier (counted then, see
          // CountForceRemoved()); it leaves the pods without an address.
          --without_address_;
        } else if (internal_error_.ok()) {
          internal_error_ = absl::InternalError(absl::StrCat(
              "node ", pod.node, " refused to delete ready pod ", KeyOf(pod).ToString(), ": ",
              deleted.ToString()));
        }
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
        break;
      case PodState::kFree:
        return;
    }
    ++deleted_;
    const int node = pod.node;
    pod.state = PodState::kFree;
    ++pod.generation;
    free_slots_.push_back(slot);
    if (node >= 0) {
      scheduler_.Decrement(node);
      // A place freed up: the oldest unscheduled pod takes it.
      while (!unscheduled_fifo_.empty()) {
        const std::uint64_t waiting = unscheduled_fifo_.front();
        unscheduled_fifo_.pop_front();
        Pod* p = Resolve(waiting);
        if (p == nullptr || p->state != PodState::kUnscheduled) continue;
        const int target = scheduler_.Pick();
        if (target < 0) {
          unscheduled_fifo_.push_front(waiting);
          break;
        }
        --unscheduled_;
        Place(static_cast<std::uint32_t>(waiting & 0xffffffffu), target);
        break;
      }
    }
  }

  // A pod that leaves without an address enters time to IP censored: it
  // waited at least this long.
  void CensorWait(const Pod& pod) {
    if (pod.created_ns >= warmup_end_ns_) {
      time_to_ip_censored_.Record(absl::Nanoseconds(now_ns_ - pod.created_ns));
    }
  }

  void OnPoolCheck(std::uint32_t n) {
    Controller& node = nodes_[n];
    const absl::Time now = clock_.Now();
    requests_.clear();
    if (!node.started()) {
      node.Start(now, requests_);
    }
    node.Tick(now, requests_);
    Send(n);
    // Next check: 5 s later, late by up to the jitter.
    const std::int64_t jitter =
        check_jittered_ ? static_cast<std::int64_t>(internal::SimUniformIndex(
                              jitter_rng_, static_cast<std::uint64_t>(check_jitter_ns_)))
                        : 0;
    queue_.PushNanos(now_ns_ + check_interval_ns_ + jitter, kPoolCheck, n, 0,
                     EventQueue::Lane::kPeriodic);
  }

  void OnEc2Done(std::uint64_t index) {
    InFlight& flight = in_flight_[index];
    const std::uint32_t n = flight.node;
    const absl::Time now = clock_.Now();
    requests_.clear();
    const std::size_t pods_before = nodes_[n].datastore().pod_count();
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
    Controller& node = nodes_[n];
    if (!node.busy()) return;  // pool checks keep their 5 s cadence
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

  void OnSample(std::int64_t when_ns) {
    ReportSample sample;
    sample.at = absl::Nanoseconds(when_ns - start_ns_);
    sample.pods_ready = ready_;
    sample.pods_pending = pending_ + unscheduled_;
    node_idle_.clear();
    for (const Controller& node : nodes_) {
      const PoolStats stats = node.datastore().Stats();
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
    report.pods_never_served = pending_ + unscheduled_ + deleted_pending_;
    report.warmup = config_.warmup;
    report.pods_in_warmup = in_warmup_;
    // Churn and daily workloads never finish, so "all ready" means nothing there.
    const bool finite = std::holds_alternative<BurstWorkload>(config_.workload) ||
                        std::holds_alternative<TraceWorkload>(config_.workload);
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
  EventQueue queue_;
  std::unique_ptr<ec2::SimulatedEc2<ManualClock>> ec2_;
  std::vector<std::size_t> node_subnets_;  // subnets that are not pod-only, by index
  std::vector<Controller> nodes_;
  std::vector<std::int64_t> wakeup_ns_;
  WorkloadGenerator workload_;
  std::optional<PodEvent> next_workload_;
  bool trace_ = std::holds_alternative<TraceWorkload>(config_.workload);
  absl::flat_hash_map<std::uint64_t, std::uint32_t> trace_slots_;
  std::mt19937_64 jitter_rng_;
  std::mt19937_64 kubelet_rng_;
  internal::LeastLoadedScheduler scheduler_;

  std::vector<Pod> pods_;
  std::vector<std::uint32_t> free_slots_;
  std::deque<std::uint64_t> unscheduled_fifo_;
  std::vector<InFlight> in_flight_;
  std::vector<std::uint64_t> free_flights_;
  std::vector<Ec2Request> requests_;

  PodKey pod_key_{"aws-cni", "p", "eth0"};  // see KeyOf()
  std::int64_t start_ns_ = 0;
  std::int64_t now_ns_ = 0;  // the clock's time, in Unix nanoseconds
  std::int64_t end_ns_ = 0;
  std::int64_t sample_ns_ = 0;
  std::int64_t check_interval_ns_ = 0;
  std::int64_t check_jitter_ns_ = 0;
  bool check_jittered_ = false;
  std::int64_t kubelet_backoff_ns_ = 0;
  std::int64_t events_ = 0;
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
