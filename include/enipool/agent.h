// -----------------------------------------------------------------------------
// File: agent.h
// -----------------------------------------------------------------------------
//
// `NodeAgent`: the threaded runtime of a node agent. It owns a sans-I/O
// `NodeController` (controller.h) and runs it for real:
//   * pod ADD / DEL (`AddPod`, `DeletePod`) from any number of threads, each
//     an O(1) datastore operation under one short lock: they never wait for
//     EC2, nor for a pool check in progress;
//   * a pool thread that runs the controller every `pool_check_interval`
//     (5 s, as the reference's loop) and makes its EC2 calls;
//   * an EC2 thread that makes each call on the blocking `Backend`, so that a
//     call that outlives `call_timeout` can be reported to the controller as
//     a failure while the pool thread moves on;
//   * `Snapshot()` (ipamd's /v1/enis), `Metrics()` (Prometheus text) and
//     `Stats()`, readable at any time.
//
// A node of several network cards (ENABLE_MULTI_NIC) runs the same way with
// a `MultiCardNode` (multi_card.h) in the controller's place: one store (and
// journal, OpenCardStores()) per managed card, an ADD falling through the
// cards in order, `AddMultiCardPod` taking one address per card, a DEL
// releasing the pod on every card, `Snapshot()` showing every card and
// `Metrics()` the node's totals. Its AddPod answers which card gave the
// address (CardAssignment), its DeletePod and Lookup every card's.
//
//   ENIPOOL_ASSIGN_OR_RETURN(enipool::NodeConfig node_config,
//       enipool::NodeConfigFromEnvironment(node, lookup));
//   enipool::MultiCardConfig multi =
//       enipool::MultiCardConfigFromNode(node_config, lookup, described);
//   using Node = enipool::MultiCardNode<enipool::RealClock, enipool::ReferencePolicy, Store>;
//   ENIPOOL_ASSIGN_OR_RETURN(std::vector<Store> stores, enipool::OpenCardStores<Store>(
//       "/var/lib/enipool/journal", multi.managed_cards, clock, store_options));
//   ENIPOOL_ASSIGN_OR_RETURN(Node node, Node::Create(multi, std::move(stores)));
//   ENIPOOL_ASSIGN_OR_RETURN(auto agent, (enipool::NodeAgent<enipool::RealClock, MyEc2Client,
//       Node>::Create(clock, ec2, std::move(node))));
//
// An IPv6 node (ENABLE_IPv6 with prefix delegation; IpFamilyFromEnvironment,
// node_config.h) runs the same way with an `Ipv6NodeController`
// (ipv6_node.h) in the controller's place, on its journal
// (JournaledIpv6Datastore, persist/ipv6_journal.h) for a node that must
// survive restarts: the pool thread makes its startup calls (describe, and
// AssignIpv6Addresses when the primary ENI has no /80) and nothing more;
// AddPod and DeletePod answer Ipv6Assignment, Lookup the pod's
// Ipv6Assignment, Stats() Ipv6PoolStats, Snapshot() card 0 with the /80
// under "IPv6Cidrs", Metrics() the node's ENI, /80 and pods.
//
//   ENIPOOL_ASSIGN_OR_RETURN(enipool::IpFamily family,
//       enipool::IpFamilyFromEnvironment(lookup, limits.prefix_delegation_supported));
//   if (family == enipool::IpFamily::kIpv6) {
//     using Store = enipool::JournaledIpv6Datastore<enipool::RealClock>;
//     using Node = enipool::Ipv6NodeController<enipool::RealClock, Store>;
//     ENIPOOL_ASSIGN_OR_RETURN(enipool::Ipv6NodeConfig config,
//         enipool::Ipv6NodeConfigFromEnvironment(node, lookup));
//     ENIPOOL_ASSIGN_OR_RETURN(Store store, Store::Open("/var/lib/enipool/journal", clock,
//         {.ip_cooldown = config.ip_cooldown}));
//     ENIPOOL_ASSIGN_OR_RETURN(auto agent, (enipool::NodeAgent<enipool::RealClock, MyEc2Client,
//         Node>::Create(clock, ec2, Node(clock, config, std::move(store)))));
//   }
//
// Example:
//
//   enipool::RealClock clock;
//   MyEc2Client ec2;                                      // satisfies enipool::Backend
//   ENIPOOL_ASSIGN_OR_RETURN(enipool::ControllerConfig config,
//       enipool::NodeConfigFromEnvironment(node, lookup));    // node_config.h
//   ENIPOOL_ASSIGN_OR_RETURN(auto controller,
//       enipool::NodeController<enipool::RealClock>::Create(clock, config));
//   ENIPOOL_ASSIGN_OR_RETURN(auto agent,
//       (enipool::NodeAgent<enipool::RealClock, MyEc2Client>::Create(
//           clock, ec2, std::move(controller), {.pool_check_interval = absl::Seconds(5)})));
//   ENIPOOL_RETURN_IF_ERROR(agent->Start());
//   agent->AwaitStarted(absl::Seconds(30));             // the startup describe is applied
//   // CNI front, from any thread:
//   absl::StatusOr<enipool::Assignment> a = agent->AddPod({"aws-cni", container_id, "eth0"});
//   agent->DeletePod({"aws-cni", container_id, "eth0"});
//   std::string body = enipool::ToJson(agent->Snapshot());   // /v1/enis
//   ENIPOOL_RETURN_IF_ERROR(agent->Stop());              // on SIGTERM
//
// How the pool thread keeps EC2 outside the pod lock. The controller is
// sans-I/O: Tick() turns the pool into requests and OnResult() applies an
// answer. The pool thread takes the lock for Tick (a plan: microseconds),
// releases it, makes each call through the EC2 thread with no lock held,
// then takes the lock again for OnResult (which may append follow-ups, such
// as the attach after a create, made the same way). An ADD therefore waits
// at most for one Tick or one OnResult, never for EC2. The datastore changes
// only in Tick (CIDRs and ENIs leave it before EC2 is asked to take them
// back) and OnResult (what EC2 gave joins it), so a pod never gets an
// address EC2 is being asked to remove.
//
// Per-call timeout. A Backend call cannot be interrupted, so the EC2 thread
// makes it while the pool thread waits at most `call_timeout`. A call that
// is not answered by then is answered to the controller as
// "RequestTimeout: …" (DEADLINE_EXCEEDED, an EC2 error of kind kOther, as an
// SDK timeout), which the controller handles like any failure of that call.
// The late answer is dropped when it comes (counted as
// `late_answers`); no further call is made until it has come, so the
// backend is never called twice at once. What a late success changed in EC2
// (an address assigned, an ENI created) is seen by the next describe: the
// controller's periodic reconcile (ControllerConfig::reconcile_interval) or
// its startup after a restart.
//
// Stop(). Stops the pool thread after the call in progress is answered and
// applied and the follow-ups it produced at once (the attach after a
// create, the delete after a failed attach) are made and applied: no
// sequence is left half-applied. Retries scheduled for later (a throttled
// call, the delete 2 s after a detach) are not waited for; the durable
// controller resolves them after a restart. Then, if the controller's store
// has a `Sync()` (JournaledDatastore), it is called, and its error returned.
//
// Time. `C` is the clock the controller reads; it must be safe to read from
// any thread (RealClock is; tests use a thread-safe manual clock). Pool
// checks are due by that clock; the threads sleep on condition variables
// for the clock's remaining time and wake early on Stop() or
// RequestPoolCheck(), so a test with a manual clock advances it and calls
// RequestPoolCheck(). The call timeout is real time (it bounds a real wait).
//
// Thread-safety: every public member may be called from any thread, except
// that Start() and Stop() must not race each other. The backend is called
// from the EC2 thread only, one call at a time, so it need not be
// thread-safe, but it must not be used by anyone else meanwhile (wrap a
// shared one in ec2::SynchronizedBackend). Locks, in the order they may be
// nested: `state_mu_` (pool-thread wake-ups and the agent's counters) is
// never held while taking another; `pool_mu_` (the controller) and
// `call_mu_` (the EC2 thread's hand-over) are never held together.

#ifndef ENIPOOL_AGENT_H_
#define ENIPOOL_AGENT_H_

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/datastore.h"
#include "enipool/ec2/backend.h"
#include "enipool/introspection.h"
#include "enipool/ipv6_node.h"
#include "enipool/multi_card.h"
#include "enipool/pod_key.h"
#include "enipool/synchronized_datastore.h"

namespace enipool {

// AgentOptions
//
// How the runtime runs the controller.
struct AgentOptions {
  // A pool check this often (the reference's 5 s loop).
  absl::Duration pool_check_interval = absl::Seconds(5);
  // Longest wait for one EC2 call (real time) before it is reported to the
  // controller as RequestTimeout.
  absl::Duration call_timeout = absl::Seconds(10);
  // Run a pool check at once when an ADD finds no free address, instead of
  // at the next period. Off by default: the reference waits for its loop.
  bool check_pool_when_exhausted = false;

  // AgentOptions::Validate()
  //
  // INVALID_ARGUMENT naming the option for an interval or timeout that is
  // not positive and finite.
  [[nodiscard]] absl::Status Validate() const {
    if (pool_check_interval <= absl::ZeroDuration() ||
        pool_check_interval == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("agent options: pool_check_interval is ",
                       absl::FormatDuration(pool_check_interval), "; want a positive duration"));
    }
    if (call_timeout <= absl::ZeroDuration() || call_timeout == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("agent options: call_timeout is ", absl::FormatDuration(call_timeout),
                       "; want a positive, finite duration"));
    }
    return absl::OkStatus();
  }
};

// AgentCounters
//
// What the runtime itself did (the controller's counters are separate).
struct AgentCounters {
  std::int64_t pool_rounds = 0;       // pool-thread rounds that ran the controller
  std::int64_t calls = 0;             // EC2 calls made
  std::int64_t call_timeouts = 0;     // calls answered to the controller as RequestTimeout
  std::int64_t late_answers = 0;      // answers that came after their timeout (dropped)
  std::int64_t rejected_answers = 0;  // answers the controller refused (a backend bug)
  absl::Duration longest_call = absl::ZeroDuration();  // by the clock
};

namespace internal {

// absl::CondVar::WaitWithTimeout / WaitWithDeadline, visible to
// ThreadSanitizer the way SanitizerVisibleLock is: the wait unlocks and
// relocks `mu` inside Abseil, which TSan does not see. True on timeout.
inline bool SanitizerVisibleWait(absl::CondVar& cv, absl::Mutex* mu, absl::Duration timeout) {
#ifdef ENIPOOL_INTERNAL_TSAN
  __tsan_release(mu);
#endif
  const bool timed_out = cv.WaitWithTimeout(mu, timeout);
#ifdef ENIPOOL_INTERNAL_TSAN
  __tsan_acquire(mu);
#endif
  return timed_out;
}
inline bool SanitizerVisibleWaitUntil(absl::CondVar& cv, absl::Mutex* mu, absl::Time deadline) {
#ifdef ENIPOOL_INTERNAL_TSAN
  __tsan_release(mu);
#endif
  const bool timed_out = cv.WaitWithDeadline(mu, deadline);
#ifdef ENIPOOL_INTERNAL_TSAN
  __tsan_acquire(mu);
#endif
  return timed_out;
}

}  // namespace internal

// NodeAgent
//
// See the file comment. `Controller` is a NodeController<C, Policy, Store> (the
// in-memory store by default, or JournaledDatastore<C>), a MultiCardNode<C,
// Policy, Store>, an Ipv6NodeController<C, Store> (Ipv6Datastore<C> or
// JournaledIpv6Datastore<C>), or any type with NodeController's surface
// (Tick, OnResult, NextWakeup, busy, started, AddPod, DeletePod, pool,
// datastore, counters, config, enis, in_flight).
template <Clock C, Backend B, typename Controller = NodeController<C>>
class NodeAgent {
  static constexpr bool kMultiCard = kIsMultiCardNode<Controller>;
  static constexpr bool kIpv6 = kIsIpv6Node<Controller>;

 public:
  // What AddPod and DeletePod answer: Assignment-based for a controller of
  // one card; CardAssignment-based (the card named) for a MultiCardNode.
  using AddResult = decltype(std::declval<Controller&>().AddPod(std::declval<const PodKey&>()));
  using DeleteResult =
      decltype(std::declval<Controller&>().DeletePod(std::declval<const PodKey&>()));

  // NodeAgent::Create()
  //
  // An agent over `controller` and `backend` (not owned; it must outlive the
  // agent). Nothing runs until Start(). INVALID_ARGUMENT (from
  // AgentOptions::Validate) for bad options.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<NodeAgent>> Create(
      const C& clock, B& backend, Controller controller, AgentOptions options = {}) {
    if (absl::Status valid = options.Validate(); !valid.ok()) return valid;
    return std::unique_ptr<NodeAgent>(
        new NodeAgent(clock, backend, std::move(controller), options));
  }

  NodeAgent(const NodeAgent&) = delete;
  NodeAgent& operator=(const NodeAgent&) = delete;

  // Stops the threads (see Stop()); a sync error is lost here, so call
  // Stop() first to see it.
  ~NodeAgent() { (void)Stop(); }

  // NodeAgent::Start()
  //
  // Starts the pool thread and the EC2 thread. The pool thread sends the
  // controller's startup describe at once (retried every
  // ControllerConfig::start_retry) and runs the first pool check when it
  // is applied. FAILED_PRECONDITION if already started (or stopped).
  [[nodiscard]] absl::Status Start() ABSL_LOCKS_EXCLUDED(state_mu_) {
    {
      internal::SanitizerVisibleLock lock(&state_mu_);
      if (stop_requested_) {
        return absl::FailedPreconditionError(
            "NodeAgent::Start: the agent was stopped; create a new one");
      }
      if (threads_started_) return absl::FailedPreconditionError("NodeAgent::Start: already started");
      threads_started_ = true;
    }
    call_thread_ = std::thread([this] { CallLoop(); });
    pool_thread_ = std::thread([this] { PoolLoop(); });
    return absl::OkStatus();
  }

  // NodeAgent::AwaitStarted()
  //
  // Waits (real time, at most `timeout`) until the controller's startup
  // describe has been applied. True if it has.
  [[nodiscard]] bool AwaitStarted(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(state_mu_) {
    const absl::Time deadline = absl::Now() + timeout;  // a real wait: real time
    internal::SanitizerVisibleLock lock(&state_mu_);
    while (!controller_started_ && !pool_thread_done_) {
      if (internal::SanitizerVisibleWaitUntil(state_cv_, &state_mu_, deadline)) break;
    }
    return controller_started_;
  }

  // NodeAgent::AddPod() / DeletePod()
  //
  // CNI ADD and DEL: the controller's AddPod / DeletePod under the pod lock.
  // RESOURCE_EXHAUSTED when no address is free (the CNI plugin retries);
  // NOT_FOUND on a DEL of an unknown pod. On a MultiCardNode the ADD falls
  // through the cards in order and the DEL releases the pod on every card
  // that holds it.
  [[nodiscard]] AddResult AddPod(const PodKey& pod) ABSL_LOCKS_EXCLUDED(pool_mu_, state_mu_) {
    AddResult assigned;
    {
      internal::SanitizerVisibleLock lock(&pool_mu_);
      assigned = controller_.AddPod(pod);
    }
    RequestCheckIfExhausted(assigned.status());
    return assigned;
  }
  [[nodiscard]] DeleteResult DeletePod(const PodKey& pod) ABSL_LOCKS_EXCLUDED(pool_mu_) {
    internal::SanitizerVisibleLock lock(&pool_mu_);
    return controller_.DeletePod(pod);
  }

  // NodeAgent::AddMultiCardPod()
  //
  // A MultiCardNode's ADD of a pod that wants an address on every managed
  // card (MultiCardNode::AddMultiCardPod()): all of them or none.
  [[nodiscard]] absl::StatusOr<std::vector<CardAssignment>> AddMultiCardPod(const PodKey& pod)
      ABSL_LOCKS_EXCLUDED(pool_mu_, state_mu_)
    requires kMultiCard
  {
    absl::StatusOr<std::vector<CardAssignment>> assigned;
    {
      internal::SanitizerVisibleLock lock(&pool_mu_);
      assigned = controller_.AddMultiCardPod(pod);
    }
    RequestCheckIfExhausted(assigned.status());
    return assigned;
  }

  // NodeAgent::Lookup()
  //
  // The pod's assignment, or std::nullopt; on a MultiCardNode every address
  // it holds, card order (empty when none).
  [[nodiscard]] auto Lookup(const PodKey& pod) const ABSL_LOCKS_EXCLUDED(pool_mu_) {
    internal::SanitizerVisibleLock lock(&pool_mu_);
    if constexpr (kMultiCard) {
      return controller_.Lookup(pod);
    } else {
      return controller_.pool().Lookup(pod);
    }
  }

  // NodeAgent::Stats()
  //
  // The pool's counters (NodeDatastore::Stats), consistent with each other;
  // on a MultiCardNode, summed over its cards; on an IPv6 node, its
  // Ipv6PoolStats.
  [[nodiscard]] auto Stats() const ABSL_LOCKS_EXCLUDED(pool_mu_) {
    internal::SanitizerVisibleLock lock(&pool_mu_);
    if constexpr (kMultiCard) {
      PoolStats sum;
      for (std::size_t k = 0; k < controller_.card_count(); ++k) {
        const PoolStats card = controller_.controller(k).pool().Stats();
        sum.total_ips += card.total_ips;
        sum.assigned_ips += card.assigned_ips;
        sum.cooling_ips += card.cooling_ips;
        sum.available_ips += card.available_ips;
        sum.total_prefixes += card.total_prefixes;
        sum.free_prefixes += card.free_prefixes;
        sum.enis += card.enis;
        sum.excluded_enis += card.excluded_enis;
        sum.excluded_prefixes += card.excluded_prefixes;
        sum.excluded_free_prefixes += card.excluded_free_prefixes;
      }
      return sum;
    } else if constexpr (kIpv6) {
      return controller_.pool().Stats();
    } else {
      return PoolStats(controller_.pool().Stats());
    }
  }

  // NodeAgent::Snapshot()
  //
  // The node's pool as /v1/enis shows it (render with ToJson()): a
  // NodeSnapshot (an IPv6 node's /80 in its ENI's ipv6_cidrs), or on a
  // MultiCardNode one per managed card. The lock is
  // held while the snapshot is built: O(ENIs + CIDRs + pods), a few
  // microseconds for a full node; see benchmarks/agent_benchmark.cpp.
  [[nodiscard]] auto Snapshot() const ABSL_LOCKS_EXCLUDED(pool_mu_) {
    internal::SanitizerVisibleLock lock(&pool_mu_);
    return SnapshotOf(controller_);
  }

  // NodeAgent::Metrics()
  //
  // The reference's Prometheus metrics (RenderPrometheus) plus the
  // runtime's own (enipool_agent_*). The values are copied under the lock;
  // the text is rendered after it is released.
  [[nodiscard]] std::string Metrics() const ABSL_LOCKS_EXCLUDED(pool_mu_, state_mu_) {
    ControllerMetrics metrics;
    {
      internal::SanitizerVisibleLock lock(&pool_mu_);
      metrics = MetricsOf(controller_);
    }
    const AgentCounters agent = counters();
    std::string out = RenderPrometheus(metrics);
    auto counter = [&](absl::string_view name, absl::string_view help, std::int64_t value) {
      absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " counter\n", name, " ",
                      value, "\n");
    };
    counter("enipool_agent_pool_rounds", "Pool-thread rounds that ran the controller",
            agent.pool_rounds);
    counter("enipool_agent_ec2_calls", "EC2 calls made by the agent", agent.calls);
    counter("enipool_agent_ec2_call_timeouts",
            "EC2 calls reported to the controller as RequestTimeout", agent.call_timeouts);
    counter("enipool_agent_ec2_late_answers", "EC2 answers that came after their timeout",
            agent.late_answers);
    counter("enipool_agent_rejected_answers", "EC2 answers the controller refused",
            agent.rejected_answers);
    return out;
  }

  // NodeAgent::counters()
  //
  // The runtime's own counters.
  [[nodiscard]] AgentCounters counters() const ABSL_LOCKS_EXCLUDED(state_mu_) {
    internal::SanitizerVisibleLock lock(&state_mu_);
    return counters_;
  }

  // NodeAgent::WithController()
  //
  // Runs `fn(Controller&)` under the pod lock and returns its result: for
  // what the agent does not wrap (SetNodeSchedulable, the counters, the
  // datastore's views). Keep it short: every ADD and DEL waits for it. Do
  // not make EC2 calls from it, nor call back into the agent.
  template <typename Fn>
  decltype(auto) WithController(Fn&& fn) ABSL_LOCKS_EXCLUDED(pool_mu_) {
    internal::SanitizerVisibleLock lock(&pool_mu_);
    return std::forward<Fn>(fn)(controller_);
  }

  // NodeAgent::RequestPoolCheck()
  //
  // Asks the pool thread for a pool check now rather than at the next
  // period. Returns a ticket for AwaitPoolCheck().
  std::uint64_t RequestPoolCheck() ABSL_LOCKS_EXCLUDED(state_mu_) {
    internal::SanitizerVisibleLock lock(&state_mu_);
    const std::uint64_t ticket = ++checks_requested_;
    state_cv_.SignalAll();
    return ticket;
  }

  // NodeAgent::AwaitPoolCheck()
  //
  // Waits (real time, at most `timeout`) until a pool round that began after
  // RequestPoolCheck() returned `ticket` has finished: its Tick made, and
  // every call it issued at once answered and applied. True if so.
  [[nodiscard]] bool AwaitPoolCheck(std::uint64_t ticket, absl::Duration timeout)
      ABSL_LOCKS_EXCLUDED(state_mu_) {
    const absl::Time deadline = absl::Now() + timeout;  // a real wait: real time
    internal::SanitizerVisibleLock lock(&state_mu_);
    while (checks_served_ < ticket && !pool_thread_done_) {
      if (internal::SanitizerVisibleWaitUntil(state_cv_, &state_mu_, deadline)) break;
    }
    return checks_served_ >= ticket;
  }

  // NodeAgent::Stop()
  //
  // See the file comment. Idempotent; OK when never started. Returns the
  // store's Sync() error, if any.
  [[nodiscard]] absl::Status Stop() ABSL_LOCKS_EXCLUDED(state_mu_, call_mu_, pool_mu_) {
    {
      internal::SanitizerVisibleLock lock(&state_mu_);
      if (stop_requested_) return absl::OkStatus();
      stop_requested_ = true;
      state_cv_.SignalAll();
    }
    if (pool_thread_.joinable()) pool_thread_.join();
    {
      internal::SanitizerVisibleLock lock(&call_mu_);
      call_thread_exit_ = true;
      call_cv_.SignalAll();
    }
    // Waits for a call the backend is still making (one that timed out):
    // the backend's own deadline bounds it.
    if (call_thread_.joinable()) call_thread_.join();
    internal::SanitizerVisibleLock lock(&pool_mu_);
    if constexpr (kMultiCard) {
      // Every card's store; the first error is returned, each is tried.
      absl::Status first;
      for (std::size_t k = 0; k < controller_.card_count(); ++k) {
        absl::Status synced = SyncStore(controller_.controller(k));
        if (first.ok() && !synced.ok()) first = std::move(synced);
      }
      return first;
    } else {
      return SyncStore(controller_);
    }
  }

 private:
  template <typename Single>
  static absl::Status SyncStore(Single& controller) {
    if constexpr (requires(Single& c) {
                    { c.datastore().Sync() } -> std::same_as<absl::Status>;
                  }) {
      return controller.datastore().Sync();  // a journaled store
    } else {
      return absl::OkStatus();
    }
  }

  void RequestCheckIfExhausted(const absl::Status& status) ABSL_LOCKS_EXCLUDED(state_mu_) {
    if (options_.check_pool_when_exhausted &&
        status.code() == absl::StatusCode::kResourceExhausted) {
      (void)RequestPoolCheck();
    }
  }

  NodeAgent(const C& clock, B& backend, Controller controller, AgentOptions options)
      : clock_(clock),
        backend_(&backend),
        options_(options),
        controller_(std::move(controller)) {}

  // --- the pool thread -------------------------------------------------------

  void PoolLoop() ABSL_LOCKS_EXCLUDED(state_mu_, pool_mu_, call_mu_) {
    std::vector<Ec2Request> requests;
    absl::Time next_check = clock_.Now();  // the startup describe, then the first check
    absl::Time controller_wakeup = absl::InfiniteFuture();
    bool busy = false;
    bool started = false;
    for (;;) {
      std::uint64_t serving = 0;
      bool requested = false;
      {
        internal::SanitizerVisibleLock lock(&state_mu_);
        for (;;) {
          if (stop_requested_) {
            pool_thread_done_ = true;
            state_cv_.SignalAll();
            return;
          }
          requested = checks_requested_ > checks_served_;
          const absl::Time now = clock_.Now();
          const absl::Time wake = std::min(next_check, controller_wakeup);
          if (requested || now >= wake) break;
          // Sleep for the clock's remaining time, at most one period (a
          // manual clock may jump meanwhile).
          (void)internal::SanitizerVisibleWait(
              state_cv_, &state_mu_, std::min(wake - now, options_.pool_check_interval));
        }
        serving = checks_requested_;
      }
      const absl::Time now = clock_.Now();
      const bool check_due = requested || now >= next_check;
      if (check_due) next_check = now + options_.pool_check_interval;
      // While busy, Tick only sends what is scheduled and due; before the
      // startup describe is applied it (re)sends that describe when due.
      if (check_due || busy || !started) {
        {
          internal::SanitizerVisibleLock lock(&pool_mu_);
          controller_.Tick(now, requests);
        }
        DriveRequests(requests);
        requests.clear();
      }
      {
        internal::SanitizerVisibleLock lock(&pool_mu_);
        controller_wakeup = controller_.NextWakeup();
        busy = controller_.busy();
        started = controller_.started();
      }
      internal::SanitizerVisibleLock lock(&state_mu_);
      counters_.pool_rounds += 1;
      controller_started_ = started;
      checks_served_ = std::max(checks_served_, serving);
      state_cv_.SignalAll();
    }
  }

  // Makes every request, first to last, applying each answer before the
  // next call; follow-ups the answers produce are appended and made too.
  void DriveRequests(std::vector<Ec2Request>& requests)
      ABSL_LOCKS_EXCLUDED(pool_mu_, call_mu_, state_mu_) {
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const Ec2Request request = requests[i];  // a copy: OnResult may grow the vector
      const Ec2Result result = Call(request);
      absl::Status applied;
      {
        internal::SanitizerVisibleLock lock(&pool_mu_);
        applied = controller_.OnResult(request, result, clock_.Now(), requests);
      }
      if (!applied.ok()) {
        internal::SanitizerVisibleLock lock(&state_mu_);
        counters_.rejected_answers += 1;
      }
    }
  }

  // --- the EC2 thread --------------------------------------------------------

  // Hands `request` to the EC2 thread and waits for its answer, at most
  // call_timeout (real time) in all, including the wait for a late previous
  // call to end.
  Ec2Result Call(const Ec2Request& request) ABSL_LOCKS_EXCLUDED(call_mu_, state_mu_) {
    const absl::Time started = clock_.Now();
    const absl::Time deadline = absl::Now() + options_.call_timeout;  // a real wait: real time
    std::optional<Ec2Result> answer;
    bool handed_over = false;
    {
      internal::SanitizerVisibleLock lock(&call_mu_);
      bool expired = false;
      // A call that timed out earlier may still be running: the backend is
      // never called twice at once.
      while (call_busy_ && !expired) {
        expired = internal::SanitizerVisibleWaitUntil(call_cv_, &call_mu_, deadline);
      }
      if (!call_busy_) {
        pending_ = request;
        call_busy_ = true;
        handed_over = true;
        call_cv_.SignalAll();
        while (!answer_.has_value() && !expired) {
          expired = internal::SanitizerVisibleWaitUntil(call_cv_, &call_mu_, deadline);
        }
        if (answer_.has_value()) {
          answer.emplace(*std::move(answer_));
          answer_.reset();
        } else {
          abandoned_id_ = request.id;  // the EC2 thread drops its answer
        }
      }
    }
    {
      internal::SanitizerVisibleLock lock(&state_mu_);
      if (handed_over) counters_.calls += 1;
      if (!answer.has_value()) counters_.call_timeouts += 1;
      counters_.longest_call = std::max(counters_.longest_call, clock_.Now() - started);
    }
    if (answer.has_value()) return *std::move(answer);
    return Ec2Result{
        absl::DeadlineExceededError(absl::StrCat(
            "RequestTimeout: ", Ec2CallName(request.call), " (request ", request.id, ") ",
            handed_over ? "not answered" : "not sent: the previous call had not returned",
            " within ", absl::FormatDuration(options_.call_timeout))),
        std::monostate{}};
  }

  void CallLoop() ABSL_LOCKS_EXCLUDED(call_mu_, state_mu_) {
    for (;;) {
      Ec2Request request;
      {
        internal::SanitizerVisibleLock lock(&call_mu_);
        while (!pending_.has_value() && !call_thread_exit_) {
          (void)internal::SanitizerVisibleWait(call_cv_, &call_mu_, absl::Seconds(1));
        }
        if (!pending_.has_value()) return;  // exit requested, nothing left to make
        request = *std::move(pending_);
        pending_.reset();
      }
      Ec2Result result = Dispatch(*backend_, request.call);  // no lock held
      bool late = false;
      {
        internal::SanitizerVisibleLock lock(&call_mu_);
        call_busy_ = false;
        if (abandoned_id_ == request.id) {
          abandoned_id_ = 0;
          late = true;
        } else {
          answer_.emplace(std::move(result));
        }
        call_cv_.SignalAll();
      }
      if (late) {
        internal::SanitizerVisibleLock lock(&state_mu_);
        counters_.late_answers += 1;
      }
    }
  }

  const C& clock_;
  B* const backend_;
  const AgentOptions options_;

  // The controller: pod calls, ticks and answers. Never held across an EC2
  // call.
  mutable absl::Mutex pool_mu_;
  Controller controller_ ABSL_GUARDED_BY(pool_mu_);

  // The pool thread's wake-ups, Start/Stop, and the agent's counters.
  mutable absl::Mutex state_mu_;
  absl::CondVar state_cv_;
  bool threads_started_ ABSL_GUARDED_BY(state_mu_) = false;
  bool stop_requested_ ABSL_GUARDED_BY(state_mu_) = false;
  bool pool_thread_done_ ABSL_GUARDED_BY(state_mu_) = false;
  bool controller_started_ ABSL_GUARDED_BY(state_mu_) = false;
  std::uint64_t checks_requested_ ABSL_GUARDED_BY(state_mu_) = 0;
  std::uint64_t checks_served_ ABSL_GUARDED_BY(state_mu_) = 0;
  AgentCounters counters_ ABSL_GUARDED_BY(state_mu_);

  // Hand-over between the pool thread and the EC2 thread.
  absl::Mutex call_mu_;
  absl::CondVar call_cv_;
  std::optional<Ec2Request> pending_ ABSL_GUARDED_BY(call_mu_);
  std::optional<Ec2Result> answer_ ABSL_GUARDED_BY(call_mu_);
  bool call_busy_ ABSL_GUARDED_BY(call_mu_) = false;
  std::uint64_t abandoned_id_ ABSL_GUARDED_BY(call_mu_) = 0;
  bool call_thread_exit_ ABSL_GUARDED_BY(call_mu_) = false;

  std::thread pool_thread_;
  std::thread call_thread_;
};

}  // namespace enipool

#endif  // ENIPOOL_AGENT_H_
