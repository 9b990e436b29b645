// -----------------------------------------------------------------------------
// File: ipv6_node.h
// -----------------------------------------------------------------------------
//
// A node in the reference's IPv6 mode (ENABLE_IPv6=true with prefix
// delegation; docs/reference-behavior.md §2.3, §4.1, §4.12):
//   * `Ipv6NodeConfigFromEnvironment`: the configuration rules — IPv6 needs
//     ENABLE_PREFIX_DELEGATION and a type with prefix delegation (Nitro or
//     bare metal; elsewhere the reference fails to start), forbids custom
//     networking, and exactly one of ENABLE_IPv4 / ENABLE_IPv6 is true
//     (IpFamilyFromEnvironment, node_config.h);
//   * `Ipv6NodeController<Clock>`: the startup, sans-I/O like
//     NodeController: describe the instance's ENIs; take the primary ENI's
//     first IPv6 prefix, or ask for one with AssignIpv6Addresses
//     (Ipv6PrefixCount=1) when it has none; then serve pods from that /80
//     (Ipv6Datastore). A failed call is retried on the reference's 5 s loop.
//     There is nothing else: no warm pool, no increase or decrease, no ENI
//     created or freed, no leaked-ENI sweep (the reference turns all of
//     them off in IPv6 mode);
//   * `RunIpv6Startup`: the startup over a blocking Backend.
// Durability: with a JournaledIpv6Datastore (persist/ipv6_journal.h) as its
// store, every ADD and DEL is journaled before it is acknowledged; at a
// restart the journal is replayed, the /80 read back from EC2, and the pods
// kept when EC2 still shows that /80 on the primary ENI. The reference's
// vpc-cni-ipam/1 checkpoint with `ipv6` entries can be exported and
// restored too (persist/vpc_cni_checkpoint_json.h, ExportVpcCniCheckpoint
// and RestoreVpcCniIpv6Checkpoint).
//
// Example:
//
//   ENIPOOL_ASSIGN_OR_RETURN(enipool::Ipv6NodeConfig config,
//                            enipool::Ipv6NodeConfigFromEnvironment(facts, lookup));
//   enipool::Ipv6NodeController<enipool::RealClock> node(clock, config);
//   ENIPOOL_RETURN_IF_ERROR(enipool::RunIpv6Startup(node, ec2));  // describe (+ assign)
//   auto address = node.AddPod({"aws-cni", sandbox_id, "eth0"});   // e.g. 2600:…:2:: on eni-…
//
// Thread-safety: not thread-safe; one per node.

#ifndef ENIPOOL_IPV6_NODE_H_
#define ENIPOOL_IPV6_NODE_H_

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ec2/backend.h"
#include "enipool/instance_limits.h"
#include "enipool/ipv6.h"
#include "enipool/ipv6_datastore.h"
#include "enipool/max_pods.h"
#include "enipool/node_config.h"
#include "enipool/pod_key.h"
#include "enipool/policy/warm_pool.h"
#include "enipool/status.h"

namespace enipool {

// Ipv6NodeConfig
//
// What an IPv6 node needs: its instance, which ENI holds the /80, the
// pod-address cooldown and how often a failed startup call is retried.
struct Ipv6NodeConfig {
  std::string instance_id;
  std::string primary_eni_id;  // empty: the ENI at card 0, device 0
  absl::Duration ip_cooldown = absl::Seconds(30);  // IP_COOLDOWN_PERIOD
  int max_pods = 110;
  // The reference's pool loop runs every 5 s (docs/reference-behavior.md §4.3).
  absl::Duration retry_interval = absl::Seconds(5);
};

// Ipv6NodeConfigFromEnvironment()
//
// The IPv6 node's config from its facts and the reference's variables.
// NOT_FOUND for an instance type the table lacks (and no NodeFacts::limits);
// INVALID_ARGUMENT naming every problem: the family rules of
// IpFamilyFromEnvironment (IPv4 chosen, both or neither family, IPv6
// without prefix delegation, with custom networking, or on a type without
// prefix delegation), an unreadable variable, an empty instance id, a
// negative kubelet_max_pods. WARM_* and MINIMUM_IP_TARGET are read by the
// reference and ignored in this mode; so they are here.
[[nodiscard]] inline absl::StatusOr<Ipv6NodeConfig> Ipv6NodeConfigFromEnvironment(
    const NodeFacts& node, EnvLookup lookup) {
  InstanceLimits limits;
  if (node.limits.has_value()) {
    limits = *node.limits;
  } else {
    absl::StatusOr<InstanceLimits> found = FindInstanceLimits(node.instance_type);
    if (!found.ok()) return found.status();
    limits = *found;
  }
  std::vector<std::string> problems;
  const absl::StatusOr<IpFamily> family =
      IpFamilyFromEnvironment(lookup, limits.prefix_delegation_supported);
  if (!family.ok()) {
    problems.emplace_back(family.status().message());
  } else if (*family != IpFamily::kIpv6) {
    problems.emplace_back(
        "ENABLE_IPv6 is not true: an IPv4 node is configured by NodeConfigFromEnvironment "
        "(node_config.h)");
  }
  WarmPoolConfig base;
  base.max_enis = limits.max_enis;
  base.ipv4_per_eni = limits.ipv4_per_eni;
  base.prefix_delegation_supported = limits.prefix_delegation_supported;
  base.max_pods = 110;
  if (absl::Status env = WarmPoolConfig::ValidateEnvironment(lookup, base); !env.ok()) {
    // The family rules above already speak for prefix delegation.
    constexpr absl::string_view kPdFallback = "ENABLE_PREFIX_DELEGATION=true on an instance type";
    if (env.message().find(kPdFallback) == absl::string_view::npos) {
      problems.emplace_back(env.message());
    }
  }
  if (node.instance_id.empty()) problems.emplace_back("NodeFacts::instance_id is empty");
  if (node.kubelet_max_pods < 0) {
    problems.push_back(absl::StrCat("NodeFacts::kubelet_max_pods is ", node.kubelet_max_pods));
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("IPv6 node config for instance type ",
                                                   node.instance_type, ": ",
                                                   absl::StrJoin(problems, "; ")));
  }
  const WarmPoolConfig pool = WarmPoolConfig::FromEnvironment(lookup, base);
  Ipv6NodeConfig config;
  config.instance_id = node.instance_id;
  config.primary_eni_id = node.primary_eni_id;
  config.ip_cooldown = std::max(pool.ip_cooldown, absl::ZeroDuration());
  const MaxPods max_pods = CalculateMaxPods(
      limits, MaxPodsOptions{.prefix_delegation = true,
                             .custom_networking = false,
                             .max_enis = pool.max_enis,
                             .vcpus = std::max(node.vcpus, 0),
                             .prefix_rule = PrefixDelegationRule::kIpamd});
  config.max_pods =
      node.kubelet_max_pods > 0 ? node.kubelet_max_pods : std::max(max_pods.kubelet_max_pods, 1);
  return config;
}

// Ipv6NodeCounters
//
// The EC2 calls the node made and how the startup went.
struct Ipv6NodeCounters {
  std::uint64_t describes = 0;
  std::uint64_t assigns = 0;
  std::uint64_t failures = 0;  // calls answered with an error, and store writes that failed
  std::uint64_t describe_failures = 0;  // describes answered with an error
  std::uint64_t assign_failures = 0;    // AssignIpv6Addresses answered with an error
  std::int64_t add_requests = 0;
  std::int64_t del_requests = 0;
  std::int64_t no_available_ip = 0;  // ADDs answered RESOURCE_EXHAUSTED
  // Pods a restarted store held on a /80 (or ENI) EC2 no longer shows.
  std::int64_t stale_pods_dropped = 0;
};

// Ipv6NodeController
//
// See the file comment. `C` is any Clock; the controller and its store keep
// a reference to it. `Store` is where the pods live: the in-memory
// Ipv6Datastore by default, or JournaledIpv6Datastore
// (persist/ipv6_journal.h), where each ADD and DEL is durable before it is
// acknowledged and a restarted node gets its pods back.
//
// A store that already holds an ENI and its /80 (a replayed journal) is
// kept when the describe shows that ENI as the primary and still holding
// that /80 — even if it is not the first of several, since the pods live
// there; the first /80 is taken only when the store has none. Otherwise
// the held addresses are stale and the store is cleared before the /80
// EC2 shows is taken (counted in Ipv6NodeCounters::stale_pods_dropped).
template <Clock C, Ipv6PoolStore Store = Ipv6Datastore<C>>
class Ipv6NodeController {
 public:
  using store_type = Store;

  // A controller with an empty in-memory store.
  Ipv6NodeController(const C& clock, Ipv6NodeConfig config)
    requires std::same_as<Store, Ipv6Datastore<C>>
      : clock_(&clock), config_(std::move(config)), store_(clock, config_.ip_cooldown) {}

  // A controller over `store` (opened by the caller: its cooldown is the
  // store's, config.ip_cooldown is not used).
  Ipv6NodeController(const C& clock, Ipv6NodeConfig config, Store store)
      : clock_(&clock), config_(std::move(config)), store_(std::move(store)) {}

  // Ipv6NodeController::Tick()
  //
  // The EC2 call the startup needs now, if any: DescribeNetworkInterfaces
  // of the instance, then AssignIpv6Prefixes(count 1) on the primary ENI if
  // it holds no IPv6 prefix. Nothing while a call is out, while a failed
  // call waits for its retry, or once ready().
  [[nodiscard]] std::vector<Ec2Request> Tick() {
    std::vector<Ec2Request> out;
    Tick(clock_->Now(), out);
    return out;
  }

  // Ipv6NodeController::Tick(now, out)
  //
  // Tick() as a NodeAgent (agent.h) calls it: the calls due at `now` are
  // appended to `out`.
  void Tick(absl::Time now, std::vector<Ec2Request>& out) {
    if (state_ == State::kReady || in_flight_ != 0 || now < next_try_) return;
    in_flight_ = next_id_++;
    if (state_ == State::kDescribe) {
      ++counters_.describes;
      out.push_back(Ec2Request{in_flight_, DescribeNetworkInterfacesRequest{
                                               .eni_ids = {}, .instance_id = config_.instance_id,
                                               .description = {}}});
    } else {
      ++counters_.assigns;
      out.push_back(Ec2Request{in_flight_, AssignIpv6PrefixesRequest{.eni_id = primary_, .count = 1}});
    }
  }

  // Ipv6NodeController::OnResult()
  //
  // Applies the answer to the request Tick() made. A failed call (or a
  // describe without the primary ENI, or a store that cannot be written)
  // is retried retry_interval later and kept as last_error().
  // INVALID_ARGUMENT, changing nothing, for an answer to another request or
  // of the wrong shape.
  absl::Status OnResult(const Ec2Request& request, const Ec2Result& result) {
    if (request.id == 0 || request.id != in_flight_) {
      return absl::InvalidArgumentError(absl::StrCat("IPv6 node: request ", request.id,
                                                     " is not the call in flight (", in_flight_,
                                                     ")"));
    }
    const bool describe = std::holds_alternative<DescribeNetworkInterfacesRequest>(request.call);
    const bool assign = std::holds_alternative<AssignIpv6PrefixesRequest>(request.call);
    if ((!describe && !assign) ||
        (result.ok() &&
         (describe ? !std::holds_alternative<std::vector<NetworkInterface>>(result.response)
                   : !std::holds_alternative<std::vector<Ipv6Prefix>>(result.response)))) {
      return absl::InvalidArgumentError(absl::StrCat("IPv6 node: answer to request ", request.id,
                                                     " (", Ec2CallName(request.call),
                                                     ") has the wrong shape"));
    }
    in_flight_ = 0;
    if (!result.ok()) {
      ++(describe ? counters_.describe_failures : counters_.assign_failures);
      return Failed(result.status);
    }
    if (describe) {
      const auto& enis = std::get<std::vector<NetworkInterface>>(result.response);
      const NetworkInterface* primary = nullptr;
      for (const NetworkInterface& eni : enis) {
        const bool wanted = config_.primary_eni_id.empty()
                                ? eni.device_index == 0 && eni.network_card_index == 0
                                : eni.id == config_.primary_eni_id;
        if (wanted) primary = &eni;
      }
      if (primary == nullptr) {
        return Failed(absl::NotFoundError(absl::StrCat(
            "IPv6 node: the describe of instance ", config_.instance_id, " has no primary ENI",
            config_.primary_eni_id.empty() ? std::string()
                                           : absl::StrCat(" ", config_.primary_eni_id))));
      }
      primary_ = primary->id;
      subnet_id_ = primary->subnet_id;
      // What the store holds from before (a replayed journal): kept if EC2
      // still shows it, else stale.
      const Ipv6Datastore<C>& held = store_.datastore();
      const std::vector<std::pair<EniId, Ipv6Prefix>> held_prefixes = held.Prefixes();
      const bool same_eni = held.eni_count() == 1 && held.HasEni(primary->id);
      if (same_eni && held_prefixes.size() == 1 &&
          std::find(primary->ipv6_prefixes.begin(), primary->ipv6_prefixes.end(),
                    held_prefixes.front().second) != primary->ipv6_prefixes.end()) {
        return Ready(held_prefixes.front().second);
      }
      if (held.eni_count() > 0 && !(same_eni && held_prefixes.empty())) {
        const auto stale = static_cast<std::int64_t>(held.pod_count());
        if (absl::Status cleared = store_.Clear(); !cleared.ok()) return Failed(cleared);
        counters_.stale_pods_dropped += stale;
      }
      if (store_.datastore().eni_count() == 0) {
        if (absl::Status added = store_.AddEni(EniSpec{.id = primary->id,
                                                       .device_number = primary->device_index,
                                                       .primary = true,
                                                       .subnet_id = primary->subnet_id});
            !added.ok()) {
          return Failed(added);
        }
      }
      if (primary->ipv6_prefixes.empty()) {
        state_ = State::kAssign;  // ask for one /80
        return absl::OkStatus();
      }
      // Several: only the first is used (docs/reference-behavior.md §4.12).
      return UsePrefix(primary->ipv6_prefixes.front());
    }
    const auto& prefixes = std::get<std::vector<Ipv6Prefix>>(result.response);
    if (prefixes.empty()) {
      return Failed(absl::InternalError("IPv6 node: AssignIpv6Addresses answered no prefix"));
    }
    return UsePrefix(prefixes.front());
  }

  // Ipv6NodeController::OnResult(request, result, now, follow_ups)
  //
  // OnResult() as a NodeAgent calls it: the next call of the startup (the
  // assign after a describe that found no /80) is appended to `follow_ups`
  // at once rather than at the next pool round.
  absl::Status OnResult(const Ec2Request& request, const Ec2Result& result, absl::Time now,
                        std::vector<Ec2Request>& follow_ups) {
    ENIPOOL_RETURN_IF_ERROR(OnResult(request, result));
    Tick(now, follow_ups);
    return absl::OkStatus();
  }

  // Ipv6NodeController::NextWakeup() / busy() / started()
  //
  // For a NodeAgent: when the controller next has a call to make
  // (InfiniteFuture once ready), whether the startup is still under way,
  // and whether pods can be served (ready()).
  [[nodiscard]] absl::Time NextWakeup() const noexcept {
    if (state_ == State::kReady || in_flight_ != 0) return absl::InfiniteFuture();
    return next_try_;
  }
  [[nodiscard]] bool busy() const noexcept { return state_ != State::kReady || in_flight_ != 0; }
  [[nodiscard]] bool started() const noexcept { return ready(); }

  // Ipv6NodeController::ready()
  //
  // True once the /80 is known: pods can be served.
  [[nodiscard]] bool ready() const noexcept { return state_ == State::kReady; }
  [[nodiscard]] std::optional<Ipv6Prefix> prefix() const noexcept { return prefix_; }
  [[nodiscard]] const std::string& primary_eni_id() const noexcept { return primary_; }
  [[nodiscard]] const std::string& subnet_id() const noexcept { return subnet_id_; }
  [[nodiscard]] const absl::Status& last_error() const noexcept { return last_error_; }
  [[nodiscard]] const Ipv6NodeCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] const Ipv6NodeConfig& config() const noexcept { return config_; }
  [[nodiscard]] std::int64_t in_flight() const noexcept { return in_flight_ != 0 ? 1 : 0; }

  // Ipv6NodeController::AddPod()
  //
  // The pod's address (the same one for a repeated ADD).
  // FAILED_PRECONDITION before ready(); otherwise as Ipv6Datastore::Assign
  // (and the store's I/O error, nothing assigned).
  [[nodiscard]] absl::StatusOr<Ipv6Assignment> AddPod(const PodKey& pod) {
    ++counters_.add_requests;
    if (!ready()) return NotReady(pod);
    absl::StatusOr<Ipv6Assignment> assigned = store_.Assign(pod);
    if (assigned.status().code() == absl::StatusCode::kResourceExhausted) {
      ++counters_.no_available_ip;
    }
    return assigned;
  }

  // Ipv6NodeController::DeletePod()
  //
  // As Ipv6Datastore::Release (NOT_FOUND for an unknown pod: the CNI treats
  // that DEL as done). Served before ready() too: a restarted node's
  // replayed pods can leave before EC2 has answered.
  [[nodiscard]] absl::StatusOr<Ipv6Assignment> DeletePod(const PodKey& pod) {
    ++counters_.del_requests;
    return store_.Release(pod);
  }

  // Ipv6NodeController::store() / datastore() / pool()
  //
  // The store (to restore a checkpoint into, to Sync), by either name;
  // pool() is the Ipv6Datastore it reads from.
  [[nodiscard]] Store& store() noexcept { return store_; }
  [[nodiscard]] const Store& store() const noexcept { return store_; }
  [[nodiscard]] Store& datastore() noexcept { return store_; }
  [[nodiscard]] const Store& datastore() const noexcept { return store_; }
  [[nodiscard]] const Ipv6Datastore<C>& pool() const noexcept { return store_.datastore(); }

 private:
  enum class State { kDescribe, kAssign, kReady };

  absl::Status UsePrefix(const Ipv6Prefix& prefix) {
    if (absl::Status added = store_.AddPrefix(primary_, prefix); !added.ok()) {
      // A store that cannot be written is retried; a prefix it refuses
      // (shorter than /65, overlapping) is EC2's answer's fault.
      if (added.code() == absl::StatusCode::kInvalidArgument ||
          added.code() == absl::StatusCode::kAlreadyExists) {
        return added;
      }
      return Failed(added);
    }
    return Ready(prefix);
  }

  absl::Status Ready(const Ipv6Prefix& prefix) {
    prefix_ = prefix;
    state_ = State::kReady;
    last_error_ = absl::OkStatus();
    return absl::OkStatus();
  }

  // A failed step: the same step again after retry_interval. OK: the
  // failure is the call's, not the caller's.
  absl::Status Failed(absl::Status error) {
    ++counters_.failures;
    last_error_ = std::move(error);
    next_try_ = clock_->Now() + config_.retry_interval;
    return absl::OkStatus();
  }

  [[gnu::cold]] absl::Status NotReady(const PodKey& pod) const {
    return absl::FailedPreconditionError(absl::StrCat(
        "IPv6 node has no /80 yet for pod ", pod.ToString(),
        last_error_.ok() ? std::string() : absl::StrCat(" (last error: ", last_error_.message(), ")")));
  }

  const C* clock_;
  Ipv6NodeConfig config_;
  Store store_;
  State state_ = State::kDescribe;
  std::uint64_t next_id_ = 1;
  std::uint64_t in_flight_ = 0;
  absl::Time next_try_ = absl::InfinitePast();
  std::string primary_;
  std::string subnet_id_;  // the primary ENI's, from the describe
  std::optional<Ipv6Prefix> prefix_;
  absl::Status last_error_;
  Ipv6NodeCounters counters_;
};

// kIsIpv6Node
//
// True for an Ipv6NodeController (NodeAgent runs one: agent.h).
template <typename T>
inline constexpr bool kIsIpv6Node = false;
template <Clock C, typename Store>
inline constexpr bool kIsIpv6Node<Ipv6NodeController<C, Store>> = true;

// RunIpv6Startup()
//
// Runs `node`'s startup on a blocking backend until it is ready, or until
// a call fails (the node then waits for its retry): OK when ready, else
// UNAVAILABLE carrying the failure.
template <Backend B, Clock C, typename Store>
[[nodiscard]] absl::Status RunIpv6Startup(Ipv6NodeController<C, Store>& node, B& backend) {
  while (!node.ready()) {
    const std::vector<Ec2Request> requests = node.Tick();
    if (requests.empty()) {
      return absl::UnavailableError(absl::StrCat("IPv6 node startup waits for a retry: ",
                                                 node.last_error().message()));
    }
    for (const Ec2Request& request : requests) {
      ENIPOOL_RETURN_IF_ERROR(node.OnResult(request, Dispatch(backend, request.call)));
    }
  }
  return absl::OkStatus();
}

}  // namespace enipool

#endif  // ENIPOOL_IPV6_NODE_H_
