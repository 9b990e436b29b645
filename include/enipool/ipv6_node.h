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
//   * `Ipv6NodeController<Clock>`: the startup of one network card's
//     pods, sans-I/O like NodeController: describe the instance's ENIs; tag
//     the card's managed ENIs that lack the node's tags (tag_enis, as an
//     IPv4 node); take the card's ENI's first IPv6 prefix, or ask for one
//     with AssignIpv6Addresses (Ipv6PrefixCount=1) when it has none; then
//     serve pods from that /80 (Ipv6Datastore). Card 0's ENI is the
//     primary; an extra card (network_card > 0, run by Ipv6MultiCardNode,
//     ipv6_multi_card.h) with no ENI gets one created with one /80 and
//     attached on that card (docs/reference-behavior.md §4.12). A failed
//     call is retried on the reference's 5 s loop. There is nothing else: no
//     warm pool, no increase or decrease, no ENI freed, no leaked-ENI sweep
//     (the reference turns all of them off in IPv6 mode);
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
#include <type_traits>
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
#include "enipool/eni_class.h"
#include "enipool/instance_limits.h"
#include "enipool/ipv6.h"
#include "enipool/ipv6_datastore.h"
#include "enipool/max_pods.h"
#include "enipool/node_config.h"
#include "enipool/pod_key.h"
#include "enipool/policy/warm_pool.h"
#include "enipool/restart_recovery.h"
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
  // The network card served (docs/reference-behavior.md §1.1, §4.12): card
  // 0 serves pods from the primary ENI's /80; a card n > 0 from the /80 of
  // its own ENI (its managed ENI of lowest device index), created when the
  // card has none: CreateNetworkInterface with Ipv6PrefixCount=1 in the
  // primary ENI's subnet, with its security groups and CreatedEniTags(),
  // then attached at the card's lowest free device index.
  int network_card = 0;
  // The first request id (Ipv6MultiCardNode gives each card its own range).
  std::uint64_t first_request_id = 1;
  // Tagging as ControllerConfig::tag_enis (docs/reference-behavior.md
  // §4.13): every managed ENI of the card but a trunk that lacks the node's
  // tags (NodeEniTags()) gets a CreateTags of what it lacks before the /80
  // is taken; a failed one is tried again retry_interval later.
  bool tag_enis = false;
  std::string cluster_name;                 // CLUSTER_NAME
  std::vector<Ec2Tag> additional_eni_tags;  // ADDITIONAL_ENI_TAGS
  bool manage_untagged_enis = true;         // MANAGE_UNTAGGED_ENI
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
  internal::EniTagEnvironment eni_tags = internal::EniTagEnvironmentOf(lookup, problems);
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
  // As an IPv4 node: the found ENIs are tagged unless the node provisions
  // no ENIs (docs/reference-behavior.md §4.13).
  config.tag_enis = !pool.provisioning_disabled;
  config.cluster_name = std::move(eni_tags.cluster_name);
  config.additional_eni_tags = std::move(eni_tags.additional_tags);
  config.manage_untagged_enis = eni_tags.manage_untagged;
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
  std::uint64_t tags = 0;               // CreateTags of a found ENI lacking the node's tags
  std::uint64_t enis_tagged = 0;        // ... answered OK
  std::uint64_t creates = 0;            // CreateNetworkInterface of a card's ENI (card > 0)
  std::uint64_t enis_created = 0;       // ... answered OK
  std::uint64_t attaches = 0;           // AttachNetworkInterface of the created ENI
  std::uint64_t deletes = 0;            // DeleteNetworkInterface of one whose attach failed
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
// kept when the describe shows that ENI as the card's (the primary on card
// 0) and still holding that /80 — even if it is not the first of several,
// since the pods live there; the first /80 is taken only when the store
// has none. Otherwise
// the held addresses are stale and the store is cleared before the /80
// EC2 shows is taken (counted in Ipv6NodeCounters::stale_pods_dropped).
template <Clock C, Ipv6PoolStore Store = Ipv6Datastore<C>>
class Ipv6NodeController {
 public:
  using store_type = Store;

  // A controller with an empty in-memory store.
  Ipv6NodeController(const C& clock, Ipv6NodeConfig config)
    requires std::same_as<Store, Ipv6Datastore<C>>
      : clock_(&clock),
        config_(std::move(config)),
        store_(clock, config_.ip_cooldown),
        next_id_(std::max<std::uint64_t>(config_.first_request_id, 1)) {}

  // A controller over `store` (opened by the caller: its cooldown is the
  // store's, config.ip_cooldown is not used).
  Ipv6NodeController(const C& clock, Ipv6NodeConfig config, Store store)
      : clock_(&clock),
        config_(std::move(config)),
        store_(std::move(store)),
        next_id_(std::max<std::uint64_t>(config_.first_request_id, 1)) {}

  // Ipv6NodeController::Tick()
  //
  // The EC2 call the startup needs now, if any: DescribeNetworkInterfaces
  // of the instance; a CreateTags for each of the card's managed ENIs
  // lacking the node's tags (tag_enis); on a card n > 0 without an ENI,
  // CreateNetworkInterface (Ipv6PrefixCount=1) then AttachNetworkInterface
  // on card n (an attach that fails has the ENI deleted, then the describe
  // again); then AssignIpv6Prefixes(count 1) on the card's ENI if it
  // holds no IPv6 prefix. One call at a time; nothing while a call is out,
  // while a failed call waits for its retry, or once ready().
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
    Ec2Call call;
    switch (state_) {
      case State::kDescribe:
        ++counters_.describes;
        call = DescribeNetworkInterfacesRequest{
            .eni_ids = {}, .instance_id = config_.instance_id, .description = {}};
        break;
      case State::kTag:
        ++counters_.tags;
        call = pending_tags_.front();
        break;
      case State::kCreate:
        ++counters_.creates;
        call = CreateNetworkInterfaceRequest{
            .subnet_id = subnet_id_,
            .ipv6_prefix_count = 1,
            .description = CreatedEniDescription(config_.instance_id),
            .security_group_ids = security_group_ids_,
            .tags = CreatedEniTags(config_.instance_id, now, config_.cluster_name,
                                   config_.additional_eni_tags)};
        break;
      case State::kAttach:
        ++counters_.attaches;
        call = AttachNetworkInterfaceRequest{.eni_id = eni_,
                                             .instance_id = config_.instance_id,
                                             .device_index = device_index_,
                                             .network_card_index = config_.network_card};
        break;
      case State::kDiscard:
        ++counters_.deletes;
        call = DeleteNetworkInterfaceRequest{.eni_id = eni_};
        break;
      case State::kAssign:
        ++counters_.assigns;
        call = AssignIpv6PrefixesRequest{.eni_id = eni_, .count = 1};
        break;
      case State::kReady: break;
    }
    out.push_back(Ec2Request{in_flight_, std::move(call)});
  }

  // Ipv6NodeController::OnResult()
  //
  // Applies the answer to the request Tick() made. A failed call (or a
  // describe without the primary ENI, or a store that cannot be written)
  // is retried retry_interval later and kept as last_error(): the same
  // call, or for a failed describe the describe.
  // INVALID_ARGUMENT, changing nothing, for an answer to another request or
  // of the wrong shape.
  absl::Status OnResult(const Ec2Request& request, const Ec2Result& result) {
    if (request.id == 0 || request.id != in_flight_) {
      return absl::InvalidArgumentError(absl::StrCat("IPv6 node: request ", request.id,
                                                     " is not the call in flight (", in_flight_,
                                                     ")"));
    }
    if (!AnswerFits(request.call, result)) {
      return absl::InvalidArgumentError(absl::StrCat("IPv6 node: answer to request ", request.id,
                                                     " (", Ec2CallName(request.call),
                                                     ") has the wrong shape"));
    }
    in_flight_ = 0;
    const bool discard = std::holds_alternative<DeleteNetworkInterfaceRequest>(request.call);
    if (!result.ok() && !(discard && result.error_code() ==
                                         Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound)) {
      if (std::holds_alternative<DescribeNetworkInterfacesRequest>(request.call)) {
        ++counters_.describe_failures;
      } else if (std::holds_alternative<AssignIpv6PrefixesRequest>(request.call)) {
        ++counters_.assign_failures;
      } else if (std::holds_alternative<AttachNetworkInterfaceRequest>(request.call)) {
        // As the reference's AllocENI: an ENI that cannot be attached is
        // deleted (then the card is looked at afresh).
        state_ = State::kDiscard;
      }
      return Failed(result.status);
    }
    if (discard) {  // deleted (or already gone): the describe again
      state_ = State::kDescribe;
      return absl::OkStatus();
    }
    return std::visit(
        [&](const auto& call) -> absl::Status {
          using R = std::decay_t<decltype(call)>;
          if constexpr (std::is_same_v<R, DescribeNetworkInterfacesRequest>) {
            return OnDescribe(std::get<std::vector<NetworkInterface>>(result.response));
          } else if constexpr (std::is_same_v<R, CreateTagsRequest>) {
            counters_.enis_tagged += 1;
            pending_tags_.erase(pending_tags_.begin());
            return pending_tags_.empty() ? Adopt() : absl::OkStatus();
          } else if constexpr (std::is_same_v<R, CreateNetworkInterfaceRequest>) {
            // The new ENI: attached next; its /80 (if the create gave one)
            // is used once it is.
            const auto& created = std::get<NetworkInterface>(result.response);
            ++counters_.enis_created;
            eni_ = created.id;
            found_ = created;
            state_ = State::kAttach;
            return absl::OkStatus();
          } else if constexpr (std::is_same_v<R, AttachNetworkInterfaceRequest>) {
            found_.attachment_id = std::get<std::string>(result.response);
            found_.device_index = device_index_;
            found_.network_card_index = config_.network_card;
            return Adopt();
          } else {
            const auto& prefixes = std::get<std::vector<Ipv6Prefix>>(result.response);
            if (prefixes.empty()) {
              return Failed(absl::InternalError("IPv6 node: AssignIpv6Addresses answered no prefix"));
            }
            return UsePrefix(prefixes.front());
          }
        },
        request.call);
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
  // The ENI whose /80 serves the pods: the primary ENI on card 0, the
  // card's own ENI on a card n > 0 (eni_id() and primary_eni_id() alike).
  [[nodiscard]] const std::string& eni_id() const noexcept { return eni_; }
  [[nodiscard]] const std::string& primary_eni_id() const noexcept { return eni_; }
  [[nodiscard]] int network_card() const noexcept { return config_.network_card; }
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
  enum class State { kDescribe, kTag, kCreate, kAttach, kDiscard, kAssign, kReady };

  // Whether `result` is an answer `call` can have: an error, or the
  // response shape of that call.
  static bool AnswerFits(const Ec2Call& call, const Ec2Result& result) {
    return std::visit(
        [&](const auto& request) {
          using R = std::decay_t<decltype(request)>;
          if (!result.ok()) {
            return std::is_same_v<R, DescribeNetworkInterfacesRequest> ||
                   std::is_same_v<R, CreateTagsRequest> ||
                   std::is_same_v<R, CreateNetworkInterfaceRequest> ||
                   std::is_same_v<R, AttachNetworkInterfaceRequest> ||
                   std::is_same_v<R, DeleteNetworkInterfaceRequest> ||
                   std::is_same_v<R, AssignIpv6PrefixesRequest>;
          }
          if constexpr (std::is_same_v<R, DescribeNetworkInterfacesRequest>) {
            return std::holds_alternative<std::vector<NetworkInterface>>(result.response);
          } else if constexpr (std::is_same_v<R, CreateTagsRequest> ||
                               std::is_same_v<R, DeleteNetworkInterfaceRequest>) {
            return true;
          } else if constexpr (std::is_same_v<R, CreateNetworkInterfaceRequest>) {
            return std::holds_alternative<NetworkInterface>(result.response);
          } else if constexpr (std::is_same_v<R, AttachNetworkInterfaceRequest>) {
            return std::holds_alternative<std::string>(result.response);
          } else if constexpr (std::is_same_v<R, AssignIpv6PrefixesRequest>) {
            return std::holds_alternative<std::vector<Ipv6Prefix>>(result.response);
          } else {
            return false;
          }
        },
        call);
  }

  [[nodiscard]] bool IsPrimary(const NetworkInterface& eni) const {
    return config_.primary_eni_id.empty()
               ? eni.device_index == 0 && eni.network_card_index == 0
               : eni.id == config_.primary_eni_id;
  }

  // The instance's describe: the primary ENI (its subnet and groups are
  // where a card's new ENI goes), then the card's ENI: the primary on card
  // 0, else the card's managed ENI of lowest device index — or none, and
  // one is created. The card's managed ENIs lacking the node's tags are
  // tagged first (tag_enis).
  absl::Status OnDescribe(const std::vector<NetworkInterface>& enis) {
    const NetworkInterface* primary = nullptr;
    for (const NetworkInterface& eni : enis) {
      if (IsPrimary(eni)) primary = &eni;
    }
    if (primary == nullptr) {
      return Failed(absl::NotFoundError(absl::StrCat(
          "IPv6 node: the describe of instance ", config_.instance_id, " has no primary ENI",
          config_.primary_eni_id.empty() ? std::string()
                                         : absl::StrCat(" ", config_.primary_eni_id))));
    }
    subnet_id_ = primary->subnet_id;
    security_group_ids_ = primary->security_group_ids;
    const EniClassOptions class_options{.instance_id = config_.instance_id,
                                        .manage_untagged = config_.manage_untagged_enis};
    const std::vector<Ec2Tag> wanted =
        NodeEniTags(config_.instance_id, config_.cluster_name, config_.additional_eni_tags);
    const NetworkInterface* mine = config_.network_card == 0 ? primary : nullptr;
    std::vector<bool> device_used;
    pending_tags_.clear();
    for (const NetworkInterface& eni : enis) {
      if (!eni.attached() || eni.instance_id != config_.instance_id ||
          eni.network_card_index != config_.network_card) {
        continue;
      }
      if (eni.device_index >= 0) {
        if (device_used.size() <= static_cast<std::size_t>(eni.device_index)) {
          device_used.resize(static_cast<std::size_t>(eni.device_index) + 1, false);
        }
        device_used[static_cast<std::size_t>(eni.device_index)] = true;
      }
      const bool primary_eni = IsPrimary(eni);
      if (config_.tag_enis) {
        if (std::optional<CreateTagsRequest> call =
                EniTagCall(eni, primary_eni, class_options, wanted)) {
          pending_tags_.push_back(*std::move(call));
        }
      }
      const EniClass eni_class = ClassifyEni(eni, primary_eni, class_options);
      if (config_.network_card != 0 && EniInPool(eni_class) && eni_class != EniClass::kTrunk &&
          (mine == nullptr || eni.device_index < mine->device_index)) {
        mine = &eni;
      }
    }
    if (mine == nullptr) {
      // The card has no ENI: the reference creates one with a /80 (it
      // carries the node's tags from its create).
      pending_tags_.clear();
      if (store_.datastore().eni_count() > 0) {
        const auto stale = static_cast<std::int64_t>(store_.datastore().pod_count());
        if (absl::Status cleared = store_.Clear(); !cleared.ok()) return Failed(cleared);
        counters_.stale_pods_dropped += stale;
      }
      device_index_ = static_cast<int>(
          std::find(device_used.begin(), device_used.end(), false) - device_used.begin());
      state_ = State::kCreate;
      return absl::OkStatus();
    }
    eni_ = mine->id;
    found_ = *mine;
    if (!pending_tags_.empty()) {
      state_ = State::kTag;
      return absl::OkStatus();
    }
    return Adopt();
  }

  // The card's ENI (found_) is known, tagged and attached: what the store
  // holds from before (a replayed journal) is kept if EC2 still shows it on
  // that ENI, else dropped as stale; then the ENI's first /80 is taken, or
  // one asked for.
  absl::Status Adopt() {
    const NetworkInterface& eni = found_;
    const Ipv6Datastore<C>& held = store_.datastore();
    const std::vector<std::pair<EniId, Ipv6Prefix>> held_prefixes = held.Prefixes();
    const bool same_eni = held.eni_count() == 1 && held.HasEni(eni.id);
    if (same_eni && held_prefixes.size() == 1 &&
        std::find(eni.ipv6_prefixes.begin(), eni.ipv6_prefixes.end(),
                  held_prefixes.front().second) != eni.ipv6_prefixes.end()) {
      return Ready(held_prefixes.front().second);
    }
    if (held.eni_count() > 0 && !(same_eni && held_prefixes.empty())) {
      const auto stale = static_cast<std::int64_t>(held.pod_count());
      if (absl::Status cleared = store_.Clear(); !cleared.ok()) return Failed(cleared);
      counters_.stale_pods_dropped += stale;
    }
    if (store_.datastore().eni_count() == 0) {
      if (absl::Status added = store_.AddEni(EniSpec{.id = eni.id,
                                                     .device_number = eni.device_index,
                                                     .primary = IsPrimary(eni),
                                                     .subnet_id = eni.subnet_id});
          !added.ok()) {
        return Failed(added);
      }
    }
    if (eni.ipv6_prefixes.empty()) {
      state_ = State::kAssign;  // ask for one /80
      return absl::OkStatus();
    }
    // Several: only the first is used (docs/reference-behavior.md §4.12).
    return UsePrefix(eni.ipv6_prefixes.front());
  }

  absl::Status UsePrefix(const Ipv6Prefix& prefix) {
    if (absl::Status added = store_.AddPrefix(eni_, prefix); !added.ok()) {
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
  std::string eni_;        // the card's ENI: the primary on card 0
  NetworkInterface found_;  // what EC2 showed of it (describe, or create + attach)
  int device_index_ = 0;   // where a created ENI is attached
  std::vector<CreateTagsRequest> pending_tags_;
  std::vector<std::string> security_group_ids_;  // the primary ENI's
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
// UNAVAILABLE carrying the failure. `node` is an Ipv6NodeController or an
// Ipv6MultiCardNode (ipv6_multi_card.h): every card's calls are made.
template <Backend B, typename Node>
  requires requires(Node& node, const Ec2Request& request, const Ec2Result& result) {
    { node.ready() } -> std::convertible_to<bool>;
    { node.Tick() } -> std::same_as<std::vector<Ec2Request>>;
    { node.OnResult(request, result) } -> std::same_as<absl::Status>;
    node.last_error().message();
  }
[[nodiscard]] absl::Status RunIpv6Startup(Node& node, B& backend) {
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
