// -----------------------------------------------------------------------------
// File: policy/warm_pool.h
// -----------------------------------------------------------------------------
//
// The warm-pool policy of the AWS VPC CNI's ipamd (docs/reference-behavior.md §4) as pure
// functions over a snapshot of the node's pool: no clock, no backend, no
// state. Timers are inputs (durations since an event), so the 30 s decrease
// throttle, the 120 s insufficient-address back-off and the 60 s minimum ENI
// age are testable without waiting.
//
// It provides:
//   * `WarmPoolConfig`: the knobs (WARM_ENI_TARGET, WARM_IP_TARGET,
//     MINIMUM_IP_TARGET, WARM_PREFIX_TARGET, MAX_ENI, IP_COOLDOWN_PERIOD,
//     ENABLE_PREFIX_DELEGATION, custom networking, ...) with the reference's
//     code defaults, read from the environment as leniently as the reference
//     does (`FromEnvironment`), and checked strictly (`Validate`,
//     `ValidateEnvironment`) for what the reference silently accepts;
//   * one function per reference rule, each citing its section of
//     docs/reference-behavior.md: `IsPoolTooLow` (docs/reference-behavior.md
//     §4.4), `ComputeTargetState` (docs/reference-behavior.md §4.5),
//     `PrefixesNeeded` (docs/reference-behavior.md §4.6), `HasRoomForEni`
//     (docs/reference-behavior.md §4.2), `IsPoolTooHigh`
//     (docs/reference-behavior.md §4.7), `ShouldRemoveExtraEnis` and
//     `FindDeletableEni` (docs/reference-behavior.md §4.8);
//   * `PlanReconcile`: one pool-check step (docs/reference-behavior.md §4.3) as data;
//   * one named alternative: `count_cooling_as_available = false`, the
//     "cooling-aware" policy, which does not count addresses in cooldown as
//     available (it fixes pitfall 1; the default reproduces the reference).
//
// Example:
//
//   enipool::WarmPoolConfig config = enipool::WarmPoolConfig::FromEnvironment(
//       [](absl::string_view name) -> std::optional<std::string> {
//         const char* value = std::getenv(std::string(name).c_str());
//         if (value == nullptr) return std::nullopt;
//         return std::string(value);
//       },
//       {.max_enis = 3, .ipv4_per_eni = 10, .max_pods = 29});   // m5.large
//   ENIPOOL_RETURN_IF_ERROR(config.Validate());
//
//   enipool::ReconcileInputs inputs;
//   inputs.stats = datastore.Stats();
//   if (enipool::IsPoolTooLow(config, inputs.stats) ||
//       enipool::IsPoolTooHigh(config, inputs.stats) ||
//       enipool::ShouldRemoveExtraEnis(config, inputs.stats, /*pod_free_eni_exists=*/true)) {
//     datastore.EniViews(inputs.enis);      // only now pay for the views
//     inputs.now = clock.Now();
//     ...                                   // timers, free_cidrs (see NeedsFreeCidrs)
//     enipool::ReconcilePlan plan = enipool::PlanReconcile(config, inputs);
//     // plan.increase: AssignPrivateIpAddresses / CreateNetworkInterface
//     // plan.releases: UnassignPrivateIpAddresses; plan.free_eni: FreeENI
//   }
//
// Units: a "CIDR" is one pool entry (a /32 in secondary-IP mode, a /28 in
// prefix mode); `S` = ipv4_per_eni − 1 is the slots per ENI (the ENI's own
// primary address is never a pod address); "addresses" are /32s (16 per
// prefix). Counts in TargetState, IncreaseStep and the decrease budget are
// IPs in secondary-IP mode and prefixes in prefix mode, as in the reference.
//
// Where the reference walks ENIs in Go map order (random), this file is
// deterministic; the orders and why are documented at `PlanReconcile` and
// `FindDeletableEni`. Where the reference's docs and its code disagree, the
// code is followed (docs/reference-behavior.md §4.10): e.g. WARM_PREFIX_TARGET counts as set
// in prefix mode even when it is 0, and WARM_ENI_TARGET is never read in
// prefix mode.
//
// Not modelled: what docs/reference-behavior.md §12 lists; for this file,
// IPv6 (one /80, no warm pool), multi-card nodes (cards > 0 behave as
// WARM_IP_TARGET=1/MINIMUM_IP_TARGET=1) and the terminating flag.
//
// Thread-safety: everything here is a pure function or a value type.

#ifndef ENIPOOL_POLICY_WARM_POOL_H_
#define ENIPOOL_POLICY_WARM_POOL_H_

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"
#include "enipool/status.h"

namespace enipool {

// Upstream constants (docs/reference-behavior.md §4.9), in seconds.
inline constexpr int kIpsPerPrefix = 16;
inline constexpr std::int64_t kDecreaseThrottleSeconds = 30;  // since the last decrease, inclusive
inline constexpr std::int64_t kInsufficientAddressBackoffSeconds = 120;  // inclusive
inline constexpr std::int64_t kMinEniAgeSeconds = 60;  // an ENI younger than this is kept

// EnvLookup
//
// Reads one environment variable: its value, or std::nullopt when unset.
using EnvLookup = absl::FunctionRef<std::optional<std::string>(absl::string_view name)>;

// WarmPoolConfig
//
// The reference's knobs with its code defaults (docs/reference-behavior.md §4.1), plus the
// instance's facts. A default-constructed config has max_enis = 0 and
// ipv4_per_eni = 0, which Validate() rejects: fill them from the instance
// type (e.g. FindInstanceLimits()).
struct WarmPoolConfig {
  AddressMode mode = AddressMode::kSecondaryIp;  // ENABLE_PREFIX_DELEGATION
  int warm_eni_target = 1;                       // WARM_ENI_TARGET
  int warm_ip_target = 0;                        // WARM_IP_TARGET (0 = not set)
  int minimum_ip_target = 0;                     // MINIMUM_IP_TARGET (0 = not set)
  int warm_prefix_target = 0;  // WARM_PREFIX_TARGET (code default 0; the manifests ship 1)
  int max_enis = 0;            // instance limit, or MAX_ENI when lower
  int ipv4_per_eni = 0;        // addresses per ENI, its own primary included
  int max_pods = 110;          // the node's max pods (growth stops when total addresses reach it)
  bool custom_networking =
      false;  // AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: primary ENI gets no pod IPs
  absl::Duration ip_cooldown = absl::Seconds(30);  // IP_COOLDOWN_PERIOD (negative behaves as 0)

  // Added by the policy:
  // The instance type supports prefix delegation (Nitro or bare metal).
  // ENABLE_PREFIX_DELEGATION on a type without it falls back to secondary
  // IPs in FromEnvironment, as the reference does; Validate() rejects
  // mode == kPrefix without it.
  bool prefix_delegation_supported = true;
  // AWS_MANAGE_ENIS_NON_SCHEDULABLE: when false, an unschedulable node
  // (ReconcileInputs::node_schedulable == false) neither grows nor frees ENIs.
  bool manage_enis_non_schedulable = false;
  // ENABLE_SUBNET_DISCOVERY (default true). Parsed by FromEnvironment and
  // checked by ValidateEnvironment; the policy does not read it. The
  // controller acts on ControllerConfig::subnet_discovery, which
  // NodeConfigFromEnvironment copies from here (docs/reference-behavior.md
  // §4.6, §7.1, subnet_selection.h).
  bool subnet_discovery = true;
  // DISABLE_NETWORK_RESOURCE_PROVISIONING (or ENABLE_IMDS_ONLY_MODE): the
  // pool is never grown or shrunk; PlanReconcile returns an empty plan.
  bool provisioning_disabled = false;
  // The reference counts addresses in cooldown as available
  // (docs/reference-behavior.md §1.5, §4.11 pitfall 1): true reproduces it. false is the "cooling-aware"
  // policy: available = total − assigned − cooling, so a pool whose free
  // addresses are all cooling grows. Not an environment variable.
  bool count_cooling_as_available = true;
  // Prefix mode only: the node may hold /32 secondary IPs next to its /28s
  // and hands out both (NodeController builds its datastore with
  // OtherKind::kHandedOut), so a policy can take /32s when the subnet has
  // no free aligned /28 (policy/prefix_fallback.h). The reference has no
  // such mode. Not an environment variable.
  bool secondary_ip_fallback = false;
  // Prefix mode only: WARM_IP_TARGET / MINIMUM_IP_TARGET's short and over
  // are converted into prefixes (ComputeTargetState()). The reference
  // converts them on network card 0 alone: on a card > 0 they stay in
  // addresses and are then used as counts of prefixes as they are
  // (docs/reference-behavior.md §4.5, §11.12). CardPoolConfig()
  // (multi_card.h) clears it for cards > 0. Not an environment variable.
  bool targets_in_prefixes = true;

  // WarmPoolConfig::warm_ip_targets_defined()
  //
  // The reference's warmIPTargetsDefined: WARM_IP_TARGET or
  // MINIMUM_IP_TARGET is non-zero. They then override WARM_ENI_TARGET and
  // WARM_PREFIX_TARGET for growing and shrinking.
  [[nodiscard]] constexpr bool warm_ip_targets_defined() const noexcept {
    return warm_ip_target != 0 || minimum_ip_target != 0;
  }
  [[nodiscard]] constexpr bool prefix_mode() const noexcept { return mode == AddressMode::kPrefix; }

  // WarmPoolConfig::slots_per_eni()
  //
  // S = ipv4_per_eni − 1: /32s (secondary-IP mode) or /28s (prefix mode) one
  // ENI can hold; 0 when ipv4_per_eni is not set.
  [[nodiscard]] constexpr int slots_per_eni() const noexcept {
    return ipv4_per_eni > 1 ? ipv4_per_eni - 1 : 0;
  }
  // WarmPoolConfig::max_ips_per_eni()
  //
  // Addresses one full ENI holds: S, or 16·S in prefix mode.
  [[nodiscard]] constexpr std::int64_t max_ips_per_eni() const noexcept {
    return std::int64_t{slots_per_eni()} * (prefix_mode() ? kIpsPerPrefix : 1);
  }
  // Addresses per pool entry: 1, or 16 in prefix mode.
  [[nodiscard]] constexpr int ips_per_cidr() const noexcept {
    return prefix_mode() ? kIpsPerPrefix : 1;
  }

  // WarmPoolConfig::FromEnvironment()
  //
  // Reads the reference's variables through `lookup`, treating bad values
  // exactly as the reference does (never an error):
  //   WARM_ENI_TARGET     unset, not an integer, or negative ⇒ 1; 0 allowed
  //   WARM_IP_TARGET      unset, not an integer, or negative ⇒ 0 (not set)
  //   MINIMUM_IP_TARGET   unset, not an integer, or negative ⇒ 0 (not set)
  //   WARM_PREFIX_TARGET  unset, not an integer, or negative ⇒ 0
  //   MAX_ENI             not an integer or < 1 ⇒ ignored; else
  //                       max_enis = min(MAX_ENI, base.max_enis)
  //                       (MAX_ENI alone when base.max_enis is 0)
  //   IP_COOLDOWN_PERIOD  seconds; unset or not an integer ⇒ 30 s; a negative
  //                       value is kept (it behaves as 0, see NodeDatastore)
  //   ENABLE_PREFIX_DELEGATION  boolean, default false; on an instance
  //                       without prefix delegation (base.prefix_delegation_
  //                       supported false) falls back to secondary IPs
  //   AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG, AWS_MANAGE_ENIS_NON_SCHEDULABLE,
  //   DISABLE_NETWORK_RESOURCE_PROVISIONING, ENABLE_IMDS_ONLY_MODE
  //                       boolean, default false (IMDS-only mode also
  //                       disables provisioning)
  //   ENABLE_SUBNET_DISCOVERY   boolean, default true
  // Integers parse as Go's strconv.Atoi: an optional '+' or '-' and ASCII
  // digits, nothing else (" 5", "5 ", "0x5", "1_000", "5.0" and "" are not
  // integers; "+5" and "007" are). Values beyond int are clamped to int.
  // Booleans parse as Go's strconv.ParseBool: 1 t T TRUE true True and
  // 0 f F FALSE false False; anything else (including "yes", "on", "") ⇒ the
  // default.
  //
  // From `base` only the instance's facts are taken: max_enis (the instance
  // limit), ipv4_per_eni, max_pods, prefix_delegation_supported and
  // count_cooling_as_available; every knob above comes from the
  // environment (its code default when unset), not from `base`.
  [[nodiscard]] static WarmPoolConfig FromEnvironment(EnvLookup lookup, const WarmPoolConfig& base);
  [[nodiscard]] static WarmPoolConfig FromEnvironment(EnvLookup lookup);

  // WarmPoolConfig::ValidateEnvironment()
  //
  // What FromEnvironment silently accepts, as INVALID_ARGUMENT naming every
  // offending variable: values that are not integers or booleans, negative
  // values, MAX_ENI < 1, prefix delegation on an instance without it, then
  // everything Validate() finds in the resulting config. An empty value is
  // treated as unset (Kubernetes manifests often carry `value: ""`). OK when
  // there is nothing to report.
  [[nodiscard]] static absl::Status ValidateEnvironment(EnvLookup lookup,
                                                        const WarmPoolConfig& base);
  [[nodiscard]] static absl::Status ValidateEnvironment(EnvLookup lookup);

  // WarmPoolConfig::Validate()
  //
  // INVALID_ARGUMENT naming every problem (joined by "; ") for a config the
  // reference would run with but should not:
  //   * max_enis < 1 or ipv4_per_eni < 2 (instance facts not set), max_pods < 1;
  //   * a negative knob or a negative IP_COOLDOWN_PERIOD;
  //   * MINIMUM_IP_TARGET without WARM_IP_TARGET: the pool freezes at the
  //     minimum (pitfall 2);
  //   * prefix mode with WARM_PREFIX_TARGET 0 and neither IP target: prefixes
  //     flap (pitfall 5);
  //   * WARM_ENI_TARGET 0 with custom networking in secondary-IP mode: ENIs
  //     are created and freed in a loop (pitfall 4);
  //   * prefix mode on an instance without prefix delegation.
  // OK otherwise.
  [[nodiscard]] absl::Status Validate() const;

  [[nodiscard]] std::string ToString() const {
    return absl::StrCat(AddressModeName(mode), " mode, WARM_ENI_TARGET ", warm_eni_target,
                        ", WARM_IP_TARGET ", warm_ip_target, ", MINIMUM_IP_TARGET ",
                        minimum_ip_target, ", WARM_PREFIX_TARGET ", warm_prefix_target,
                        ", max ENIs ", max_enis, ", IPv4 per ENI ", ipv4_per_eni, ", max pods ",
                        max_pods, custom_networking ? ", custom networking" : "",
                        count_cooling_as_available ? "" : ", cooling-aware",
                        secondary_ip_fallback ? ", /32 fallback" : "");
  }

  friend bool operator==(const WarmPoolConfig&, const WarmPoolConfig&) = default;
};

// TargetState
//
// The reference's datastoreTargetState: how far the pool is below (short) or
// above (over) the WARM_IP_TARGET / MINIMUM_IP_TARGET band, in IPs
// (secondary-IP mode) or prefixes (prefix mode); `defined` is false when
// neither target is set.
struct TargetState {
  int short_count = 0;
  int over_count = 0;
  bool defined = false;
  friend bool operator==(const TargetState&, const TargetState&) = default;
};

// PoolSignals
//
// What a node measures about its own pool, for policies that adapt to it
// (the reference's rules read none of it). Only what a real node observes:
// its own CNI ADDs and the EC2 answers to its own calls. NodeController
// keeps them (ControllerConfig::signal_time_constant).
struct PoolSignals {
  // CNI ADDs that got an address, a second, exponentially weighted over
  // time (ControllerConfig::signal_time_constant).
  double add_rate = 0;
  // CNI ADDs that found no address in the last 10–20 s: about the pods now
  // waiting, since kubelet retries a failed ADD every 10–15 s.
  int recent_failed_adds = 0;
  // The most successful ADDs seen between two pool checks, decaying with a
  // 10 min time constant: the size of the batches pods arrive in (a
  // Deployment's pods land on a node together).
  double recent_peak_adds = 0;
  // Time from an increase request (assign or create) to its addresses being
  // usable, exponentially weighted over increases; zero before the first.
  absl::Duration refill_latency = absl::ZeroDuration();
  int refills_measured = 0;
  // Since the last InsufficientCidrBlocks answer (the subnet has free
  // addresses but no free aligned /28), InfiniteDuration() if none.
  absl::Duration since_insufficient_cidr_blocks = absl::InfiniteDuration();
  friend bool operator==(const PoolSignals&, const PoolSignals&) = default;
};

// ReconcileInputs
//
// Everything one pool-check step looks at besides the config: the pool
// (NodeDatastore::Stats() and EniViews()) and the timers, as durations since
// the event (absl::InfiniteDuration() when it never happened).
struct ReconcileInputs {
  PoolStats stats;
  std::vector<EniView> enis;  // NodeDatastore::EniViews()
  // Parallel to `enis`: each ENI's CIDRs with no assigned address (either
  // kind, cooling or not), from NodeDatastore::Cidrs(). Only the decrease
  // step reads them, so a caller may leave them empty unless
  // NeedsFreeCidrs() says otherwise (the simulator runs millions of pool
  // checks and must not build them every time). If its size differs from
  // `enis`, no CIDR is released.
  std::vector<std::vector<Ipv4Prefix>> free_cidrs;
  absl::Time now;  // for ENI ages
  absl::Duration since_last_decrease = absl::InfiniteDuration();
  absl::Duration since_insufficient_addresses =
      absl::InfiniteDuration();  // last InsufficientCidrBlocks / ...FreeAddressesInSubnet
  int unmanaged_enis = 0;        // attached ENIs the node must not use

  // Added by the policy:
  // False while the node has the node.kubernetes.io/unschedulable:NoSchedule
  // taint (see WarmPoolConfig::manage_enis_non_schedulable).
  bool node_schedulable = true;
  // Security groups for pods is on, the type supports trunking and no trunk
  // ENI is attached yet: one ENI slot stays reserved for it (docs/reference-behavior.md §4.2).
  bool trunk_eni_expected = false;
  // Measured by the node (policies that adapt read it; the reference does not).
  PoolSignals signals;
};

// IncreaseStep
//
// Grow the pool: give `count` IPs (secondary-IP mode) or /28 prefixes
// (prefix mode) to the existing ENI `eni`, or, when `eni` is empty, create
// and attach a new ENI carrying `count` of them. `kind`, when set, asks for
// that kind instead of the config's mode (a prefix-mode node falling back
// to /32s, WarmPoolConfig::secondary_ip_fallback).
struct IncreaseStep {
  std::optional<EniId> eni;
  int count = 0;
  std::optional<AddressMode> kind = std::nullopt;
  friend bool operator==(const IncreaseStep&, const IncreaseStep&) = default;
};

// CidrRelease
//
// Shrink the pool: return these CIDRs (all with no assigned address) of one
// ENI to EC2.
struct CidrRelease {
  EniId eni;
  std::vector<Ipv4Prefix> cidrs;
  friend bool operator==(const CidrRelease&, const CidrRelease&) = default;
};

// ReconcilePlan
//
// One pool-check step of the reference (docs/reference-behavior.md §4.3) as data: at most one
// of `increase` / `releases` (increase when too low; else decrease when too
// high and the 30 s throttle allows), and independently at most one ENI to
// free. The diagnostic fields say why.
struct ReconcilePlan {
  std::optional<IncreaseStep> increase;
  std::vector<CidrRelease> releases;
  std::optional<EniId> free_eni;

  bool too_low = false;
  bool too_high = false;
  bool decrease_throttled = false;  // too high, but within 30 s of the last decrease
  bool in_backoff = false;          // too low, but within 120 s of an insufficient-address error
  // NOTE: when too_high && !decrease_throttled the step counts as a decrease:
  // the caller sets its last-decrease time (the reference does so even when
  // nothing could be released).

  TargetState target;

  // Added by the policy:
  // Too low, no existing ENI has a free slot and the node is at its ENI
  // limit (max_enis − unmanaged − trunk reservation): nothing can grow.
  bool eni_limit_reached = false;
  // The node is unschedulable and AWS_MANAGE_ENIS_NON_SCHEDULABLE is false:
  // the increase (too_low) or ENI freeing this step would have done is
  // skipped.
  bool unschedulable = false;

  // ReconcilePlan::empty()
  //
  // True when the step asks for no EC2 call.
  [[nodiscard]] bool empty() const noexcept {
    return !increase.has_value() && releases.empty() && !free_eni.has_value();
  }

  [[nodiscard]] std::string ToString() const;

  friend bool operator==(const ReconcilePlan&, const ReconcilePlan&) = default;
};

// -----------------------------------------------------------------------------
// The rules. Each one names the inputs it reads. A, T, U below are
// PoolStats::available_ips (or total − assigned − cooling when
// count_cooling_as_available is false), total_ips and assigned_ips; F and P
// are the reference's GetFreePrefixes and TotalPrefixes, which include
// prefixes on excluded ENIs (pitfall 8): free_prefixes +
// excluded_free_prefixes and total_prefixes + excluded_prefixes.
// -----------------------------------------------------------------------------

namespace internal {

constexpr std::int64_t DivCeil(std::int64_t x, std::int64_t y) noexcept { return (x + y - 1) / y; }

constexpr std::int64_t ClampToInt(std::int64_t v) noexcept {
  return std::clamp<std::int64_t>(v, std::numeric_limits<int>::min(),
                                  std::numeric_limits<int>::max());
}

}  // namespace internal

// Available()
//
// A as the policy counts it. Reads stats.available_ips, and
// stats.cooling_ips when config.count_cooling_as_available is false. O(1).
constexpr std::int64_t Available(const WarmPoolConfig& config, const PoolStats& stats) noexcept {
  return config.count_cooling_as_available ? stats.available_ips
                                           : stats.available_ips - stats.cooling_ips;
}

// FreePrefixesAll() / TotalPrefixesAll()
//
// F and P of the reference: prefix counts including excluded ENIs. O(1).
constexpr std::int64_t FreePrefixesAll(const PoolStats& stats) noexcept {
  return stats.free_prefixes + stats.excluded_free_prefixes;
}
constexpr std::int64_t TotalPrefixesAll(const PoolStats& stats) noexcept {
  return stats.total_prefixes + stats.excluded_prefixes;
}

// ComputeTargetState()
//
// docs/reference-behavior.md §4.5 (datastoreTargetState). With W = WARM_IP_TARGET,
// M = MINIMUM_IP_TARGET, in IPs:
//   short = max(W − A, 0, M − T),   over = max(min(max(A − W, 0), T − M), 0).
// Secondary-IP mode returns them as they are. Prefix mode converts: short
// becomes ceil(short / 16) prefixes; over becomes
//   max(min(F, P − ceil((U + W) / 16)), 0), then max(min(that, P − ceil(M / 16)), 0)
// (the reference's two successive clamps), so MINIMUM_IP_TARGET is in effect
// rounded up to a multiple of 16. {0, 0, false} when neither W nor M is set.
// With targets_in_prefixes false (the reference's cards > 0) prefix mode
// returns them in addresses, as secondary-IP mode does.
// Reads W, M, mode, count_cooling_as_available, targets_in_prefixes; T, U,
// A, F, P. O(1).
constexpr TargetState ComputeTargetState(const WarmPoolConfig& config,
                                         const PoolStats& stats) noexcept {
  if (!config.warm_ip_targets_defined()) return TargetState{};
  const std::int64_t w = config.warm_ip_target;
  const std::int64_t m = config.minimum_ip_target;
  const std::int64_t available = Available(config, stats);
  const std::int64_t total = stats.total_ips;
  std::int64_t short_ips = std::max<std::int64_t>(w - available, 0);
  short_ips = std::max(short_ips, m - total);
  std::int64_t over_ips = std::max<std::int64_t>(available - w, 0);
  over_ips = std::max<std::int64_t>(std::min(over_ips, total - m), 0);
  if (!config.prefix_mode() || !config.targets_in_prefixes) {
    return TargetState{static_cast<int>(internal::ClampToInt(short_ips)),
                       static_cast<int>(internal::ClampToInt(over_ips)), true};
  }
  const std::int64_t short_prefixes = internal::DivCeil(short_ips, kIpsPerPrefix);
  const std::int64_t need_for_warm = internal::DivCeil(stats.assigned_ips + w, kIpsPerPrefix);
  const std::int64_t need_for_min = internal::DivCeil(m, kIpsPerPrefix);
  const std::int64_t prefixes = TotalPrefixesAll(stats);
  std::int64_t over_prefixes =
      std::max<std::int64_t>(std::min(FreePrefixesAll(stats), prefixes - need_for_warm), 0);
  over_prefixes = std::max<std::int64_t>(std::min(over_prefixes, prefixes - need_for_min), 0);
  return TargetState{static_cast<int>(internal::ClampToInt(short_prefixes)),
                     static_cast<int>(internal::ClampToInt(over_prefixes)), true};
}

// IsPoolTooLow()
//
// docs/reference-behavior.md §4.4 (isDatastorePoolTooLow):
//   1. T ≥ max_pods ⇒ false (a hard cap on addresses, not pods);
//   2. warm-IP targets defined ⇒ short > 0;
//   3. secondary-IP mode ⇒ A < WARM_ENI_TARGET · S, or WARM_ENI_TARGET = 0 and A = 0;
//   4. prefix mode ⇒ A < WARM_PREFIX_TARGET · 16, or WARM_PREFIX_TARGET = 0 and A = 0
//      (free addresses, not free prefixes: one prefix with one pod is "low"
//      for WARM_PREFIX_TARGET=1).
// Reads max_pods, the targets, mode, ipv4_per_eni; T, U, A, F, P. O(1).
constexpr bool IsPoolTooLow(const WarmPoolConfig& config, const PoolStats& stats) noexcept {
  if (stats.total_ips >= config.max_pods) return false;
  if (config.warm_ip_targets_defined()) return ComputeTargetState(config, stats).short_count > 0;
  const std::int64_t available = Available(config, stats);
  const std::int64_t target =
      config.prefix_mode() ? config.warm_prefix_target : config.warm_eni_target;
  const std::int64_t per_unit = config.prefix_mode() ? kIpsPerPrefix : config.max_ips_per_eni();
  return available < target * per_unit || (target == 0 && available == 0);
}

// IsPoolTooHigh()
//
// docs/reference-behavior.md §4.7 (isDatastorePoolTooHigh): warm-IP targets defined ⇒
// over > 0; else prefix mode ⇒ F > WARM_PREFIX_TARGET (WARM_PREFIX_TARGET
// counts as defined in prefix mode even at 0, pitfall 5); else (secondary-IP
// mode on WARM_ENI_TARGET) never: single IPs are never released there, only
// whole ENIs. Max pods is not consulted. Reads the targets, mode; T, U, A, F,
// P. O(1).
constexpr bool IsPoolTooHigh(const WarmPoolConfig& config, const PoolStats& stats) noexcept {
  if (config.warm_ip_targets_defined()) return ComputeTargetState(config, stats).over_count > 0;
  if (config.prefix_mode()) return FreePrefixesAll(stats) > config.warm_prefix_target;
  return false;
}

// PrefixesNeeded()
//
// docs/reference-behavior.md §4.6 (getPrefixesNeeded): how many prefixes one increase asks
// for: max(1, short) when warm-IP targets are defined (short in prefixes),
// else max(1, WARM_PREFIX_TARGET − F) in prefix mode, else 1. Meaningful in
// prefix mode. Reads the targets, mode; T, U, A, F, P. O(1).
constexpr int PrefixesNeeded(const WarmPoolConfig& config, const PoolStats& stats) noexcept {
  if (config.warm_ip_targets_defined()) {
    return std::max(1, ComputeTargetState(config, stats).short_count);
  }
  if (config.prefix_mode()) {
    const std::int64_t short_prefixes =
        std::max<std::int64_t>(config.warm_prefix_target - FreePrefixesAll(stats), 0);
    return static_cast<int>(internal::ClampToInt(std::max<std::int64_t>(1, short_prefixes)));
  }
  return 1;
}

// HasRoomForEni()
//
// docs/reference-behavior.md §4.2 (hasRoomForEni): another ENI may be attached when
// ENIs + excluded ENIs < max_enis − unmanaged − (1 if a trunk ENI is still
// expected). Reads max_enis; stats.enis, stats.excluded_enis. O(1).
constexpr bool HasRoomForEni(const WarmPoolConfig& config, const PoolStats& stats,
                             int unmanaged_enis, bool trunk_eni_expected) noexcept {
  return std::int64_t{stats.enis} + stats.excluded_enis <
         std::int64_t{config.max_enis} - unmanaged_enis - (trunk_eni_expected ? 1 : 0);
}

// ShouldRemoveExtraEnis()
//
// docs/reference-behavior.md §4.8 trigger (shouldRemoveExtraENIs): whether this step looks
// for an ENI to free at all.
//   * warm-IP targets defined ⇒ always (FindDeletableEni does the checks);
//   * secondary-IP mode ⇒ A ≥ (WARM_ENI_TARGET + 1) · S;
//   * prefix mode ⇒ A ≥ (WARM_PREFIX_TARGET + 1) · 16 · S, or else
//     `pod_free_eni_exists` (the reference's CheckFreeableENIexists: some
//     non-primary, non-trunk, non-EFA ENI has no pod; see PodFreeEniExists).
// `pod_free_eni_exists` is read only in that last case, so a caller that
// only has stats can pass true to get a conservative answer. Reads the
// targets, mode, ipv4_per_eni; A. O(1).
constexpr bool ShouldRemoveExtraEnis(const WarmPoolConfig& config, const PoolStats& stats,
                                     bool pod_free_eni_exists) noexcept {
  if (config.warm_ip_targets_defined()) return true;
  const std::int64_t target =
      config.prefix_mode() ? config.warm_prefix_target : config.warm_eni_target;
  if (Available(config, stats) >= (target + 1) * config.max_ips_per_eni()) return true;
  return config.prefix_mode() && pod_free_eni_exists;
}

// PodFreeEniExists()
//
// The reference's CheckFreeableENIexists: some ENI is not primary, not
// trunk, not EFA and has no assigned address (of either kind). Age, cooling
// and exclusion are not looked at. O(ENIs).
inline bool PodFreeEniExists(absl::Span<const EniView> enis) noexcept {
  return std::any_of(enis.begin(), enis.end(), [](const EniView& eni) {
    return !eni.primary && !eni.trunk && !eni.efa && eni.pods == 0;
  });
}

// ShouldRemoveExtraEnis()
//
// The same trigger, computing `pod_free_eni_exists` from the views only when
// it is needed. O(1), or O(ENIs) in prefix mode below the address threshold.
inline bool ShouldRemoveExtraEnis(const WarmPoolConfig& config, const PoolStats& stats,
                                  absl::Span<const EniView> enis) noexcept {
  return ShouldRemoveExtraEnis(config, stats, false) ||
         (config.prefix_mode() && !config.warm_ip_targets_defined() && PodFreeEniExists(enis));
}

namespace internal {

// How the plan being built changes an ENI's counts, so that the free-ENI
// step sees the pool as the reference's tryFreeENI does: after this step's
// increase or decrease has been applied.
struct EniDelta {
  std::int64_t total_ips = 0;  // addresses of the current mode
  std::int64_t free_ips = 0;   // of the current mode
  std::int64_t free_cidrs_all = 0;
  bool emptied = false;  // every CIDR of the ENI is released: nothing left cools
};

struct PlanAdjustments {
  std::ptrdiff_t filled = -1;  // the ENI receiving addresses: never freed in the same step
  EniDelta filled_delta;
  EniDelta new_eni;  // a new ENI being created (an "other" ENI for all)
  const std::vector<EniDelta>* released = nullptr;  // parallel to the ENIs, or null

  [[nodiscard]] EniDelta Of(std::size_t i) const noexcept {
    EniDelta d;
    if (released != nullptr)
      d = (*released)[i];  // never the filled ENI: no increase with a release
    if (static_cast<std::ptrdiff_t>(i) == filled) {
      d.total_ips += filled_delta.total_ips;
      d.free_ips += filled_delta.free_ips;
      d.free_cidrs_all += filled_delta.free_cidrs_all;
    }
    return d;
  }
};

// The free addresses check 5 counts: size − assigned, minus cooling in the
// cooling-aware policy.
inline std::int64_t FreeIpsOf(const WarmPoolConfig& config, const EniView& eni) noexcept {
  return eni.total_ips - eni.assigned_ips -
         (config.count_cooling_as_available ? 0 : eni.cooling_ips);
}

inline std::optional<EniId> FindDeletableEni(const WarmPoolConfig& config,
                                             absl::Span<const EniView> enis, absl::Time now,
                                             const PlanAdjustments& adjust) {
  const bool pd = config.prefix_mode();
  // W and M are rounded up to whole prefixes in prefix mode.
  const std::int64_t unit = pd ? kIpsPerPrefix : 1;
  const std::int64_t w = DivCeil(config.warm_ip_target, unit) * unit;
  const std::int64_t m = DivCeil(config.minimum_ip_target, unit) * unit;
  const std::int64_t wpt = pd ? config.warm_prefix_target : 0;
  // Sums over all ENIs; each candidate subtracts its own share, so the scan
  // is O(ENIs) instead of the reference's O(ENIs²).
  std::int64_t free_ips = adjust.new_eni.free_ips;
  std::int64_t total_ips = adjust.new_eni.total_ips;
  std::int64_t free_cidrs = adjust.new_eni.free_cidrs_all;
  for (std::size_t i = 0; i < enis.size(); ++i) {
    const EniView& eni = enis[i];
    const EniDelta d = adjust.Of(i);
    if (!eni.excluded) {
      free_ips += FreeIpsOf(config, eni) + d.free_ips;
      total_ips += eni.total_ips + d.total_ips;
    }
    free_cidrs += eni.free_cidrs_all + d.free_cidrs_all;
  }
  const EniView* best = nullptr;
  for (std::size_t i = 0; i < enis.size(); ++i) {
    const EniView& eni = enis[i];
    if (eni.primary || eni.trunk || eni.efa || eni.pods != 0) continue;
    if (static_cast<std::ptrdiff_t>(i) == adjust.filled) continue;
    if (now - eni.created < absl::Seconds(kMinEniAgeSeconds)) continue;
    const EniDelta d = adjust.Of(i);
    if (eni.cooling_all != 0 && !d.emptied) continue;
    const std::int64_t own_free = eni.excluded ? 0 : FreeIpsOf(config, eni) + d.free_ips;
    const std::int64_t own_total = eni.excluded ? 0 : eni.total_ips + d.total_ips;
    if (w != 0 && free_ips - own_free < w) continue;
    if (m != 0 && total_ips - own_total < m) continue;
    if (wpt != 0 && free_cidrs - (eni.free_cidrs_all + d.free_cidrs_all) < wpt) continue;
    if (best == nullptr ||
        std::tie(eni.device_number, eni.id) > std::tie(best->device_number, best->id)) {
      best = &eni;
    }
  }
  if (best == nullptr) return std::nullopt;
  return best->id;
}

}  // namespace internal

// FindDeletableEni()
//
// docs/reference-behavior.md §4.8 (getDeletableENI): the ENI to free, or std::nullopt. An
// ENI qualifies when
//   1. it is not primary;  2. it is at least 60 s old (now − created);
//   3. no address of either kind is cooling (cooling_all);
//   4. no address of either kind is assigned (pods);
//   5. WARM_IP_TARGET ≠ 0: the other non-excluded ENIs' free addresses of the
//      current mode (size − assigned; cooling counts as free) ≥ W, W rounded
//      up to a multiple of 16 in prefix mode;
//   6. MINIMUM_IP_TARGET ≠ 0: the other non-excluded ENIs' addresses of the
//      current mode ≥ M (rounded up likewise);
//   7. prefix mode and WARM_PREFIX_TARGET ≠ 0: the other ENIs' CIDRs (of
//      either kind, excluded ENIs included) with no assigned address ≥
//      WARM_PREFIX_TARGET;
//   8. it is not trunk;  9. it is not EFA.
// Checks 5–7 apply whatever the mode's trigger was, so in secondary-IP mode
// on WARM_ENI_TARGET only the trigger guards. An excluded ENI qualifies like
// any other (it is left out of the sums in 5 and 6, as the stats leave it
// out).
// Order: the reference takes the first qualifying ENI in Go map order
// (random); this takes the one with the highest device number (then the
// greatest id): the most recently attached ENI goes first, which mirrors
// PlanReconcile filling the lowest device number first, keeps device numbers
// (and route tables) compact, and never frees an ENI the increase just chose.
// Reads warm_ip_target, minimum_ip_target, warm_prefix_target, mode,
// count_cooling_as_available, and each view's flags, created, pods,
// cooling_all, total_ips, assigned_ips, (cooling_ips), free_cidrs_all.
// O(ENIs), no allocation.
inline std::optional<EniId> FindDeletableEni(const WarmPoolConfig& config,
                                             absl::Span<const EniView> enis, absl::Time now) {
  return internal::FindDeletableEni(config, enis, now, internal::PlanAdjustments{});
}

// NeedsFreeCidrs()
//
// Whether PlanReconcile will read ReconcileInputs::free_cidrs: the pool is
// not too low, it is too high and the decrease throttle has passed. Reads
// what IsPoolTooLow and IsPoolTooHigh read, and provisioning_disabled. O(1).
constexpr bool NeedsFreeCidrs(const WarmPoolConfig& config, const PoolStats& stats,
                              absl::Duration since_last_decrease) noexcept {
  return !config.provisioning_disabled && !IsPoolTooLow(config, stats) &&
         IsPoolTooHigh(config, stats) &&
         since_last_decrease > absl::Seconds(kDecreaseThrottleSeconds);
}

// FreeCidrsOf()
//
// ReconcileInputs::free_cidrs for `enis` (normally datastore.EniViews()):
// each ENI's CIDRs of either kind with no assigned address, ascending. An
// ENI the datastore no longer knows gets an empty list. O(CIDRs of `enis`).
template <Clock C>
std::vector<std::vector<Ipv4Prefix>> FreeCidrsOf(const NodeDatastore<C>& datastore,
                                                 absl::Span<const EniView> enis) {
  std::vector<std::vector<Ipv4Prefix>> free(enis.size());
  for (std::size_t i = 0; i < enis.size(); ++i) {
    const absl::StatusOr<std::vector<CidrView>> cidrs = datastore.Cidrs(enis[i].id.view());
    if (!cidrs.ok()) continue;
    for (const CidrView& cidr : *cidrs) {
      if (cidr.assigned == 0) free[i].push_back(cidr.cidr);
    }
  }
  return free;
}

// PlanReconcile()
//
// One pool check of the reference (docs/reference-behavior.md §4.3, updateIPPoolIfRequired)
// as data, assuming every call it plans succeeds:
//   1. too low (IsPoolTooLow) ⇒ increase, unless the node is unschedulable
//      and manage_enis_non_schedulable is false (`unschedulable`), or an
//      insufficient-address error happened ≤ 120 s ago (`in_backoff`):
//      a. the candidate ENIs are those not trunk, not excluded, not the
//         primary under custom networking, with fewer than S CIDRs (of
//         either kind); the chosen one gets min(S − its CIDRs, amount),
//         amount = short (secondary IPs, targets defined), S (secondary IPs,
//         WARM_ENI_TARGET), or PrefixesNeeded (prefix mode);
//      b. with no candidate, if HasRoomForEni: a new ENI carrying
//         min(short, S) or S (secondary IPs) or min(PrefixesNeeded, S)
//         (prefix mode); nothing when that is 0; without room,
//         `eni_limit_reached`;
//   2. else too high (IsPoolTooHigh) ⇒ decrease, unless the last decrease
//      was ≤ 30 s ago (`decrease_throttled`): the budget is `over`, or
//      F − WARM_PREFIX_TARGET in prefix mode without warm-IP targets;
//      CIDRs are taken from `free_cidrs` (no assigned address; cooling is
//      ignored and the kind is not filtered, as the reference) until the
//      budget is spent;
//   3. then, independently, if ShouldRemoveExtraEnis (on the step's input
//      stats, as the reference) and the node may manage ENIs:
//      FindDeletableEni on the pool as it will be after step 1 or 2 (the
//      reference runs it after they have been applied); the ENI chosen in
//      1a is never freed in the same step. NOTE: `free_cidrs` has no
//      per-CIDR cooling count, so an ENI whose CIDRs are only partly
//      released still counts as cooling in this step (the reference, which
//      re-reads its datastore, might free it one step earlier).
//
// Orders (the reference uses Go map order, i.e. random):
//   * increase: the candidate with the lowest device number (then the
//     smallest id). Filling the primary and low-numbered ENIs first packs
//     addresses where they stay (the primary is never freed) and leaves the
//     highest-numbered ENIs empty, which is exactly the order free-ENI takes
//     them in; it also matches the reference's docs ("fill the current ENI,
//     then a new one").
//   * decrease: first the ENIs that can never keep a pod-free ENI alive —
//     non-primary, non-trunk, non-EFA ENIs with no pod, highest device
//     number first — then the others, highest device number first; within
//     an ENI, in the order of `free_cidrs` (ascending from
//     NodeDatastore::Cidrs()). Releasing a pod-free ENI's CIDRs does not
//     lower the free addresses the *other* ENIs hold, so free-ENI checks 5–7
//     keep passing and the whole ENI can go next; releasing from the ENIs
//     with pods first could make the pod-free ENI "required" and strand it.
//   * free ENI: see FindDeletableEni (highest device number first).
//
// Cost: O(1) plus O(ENIs) scans; no heap allocation unless CIDRs are
// released (the plan's `releases` and a per-ENI scratch vector). Reads
// everything in `config` except subnet_discovery, and every field of
// `inputs` (free_cidrs only for the decrease).
inline ReconcilePlan PlanReconcile(const WarmPoolConfig& config, const ReconcileInputs& inputs) {
  ReconcilePlan plan;
  if (config.provisioning_disabled) return plan;
  const PoolStats& stats = inputs.stats;
  const absl::Span<const EniView> enis(inputs.enis);
  const bool pd = config.prefix_mode();
  const bool may_manage = inputs.node_schedulable || config.manage_enis_non_schedulable;
  const int slots = config.slots_per_eni();
  const std::int64_t unit = config.ips_per_cidr();
  plan.target = ComputeTargetState(config, stats);
  plan.too_low = IsPoolTooLow(config, stats);

  internal::PlanAdjustments adjust;
  std::vector<internal::EniDelta> released;
  if (plan.too_low) {
    if (!may_manage) {
      plan.unschedulable = true;
    } else if (inputs.since_insufficient_addresses <=
               absl::Seconds(kInsufficientAddressBackoffSeconds)) {
      plan.in_backoff = true;
    } else {
      const bool defined = plan.target.defined;
      // Secondary IPs with targets and nothing short: the reference skips the
      // fill and then creates no ENI (its count would be 0).
      const std::int64_t amount =
          pd ? PrefixesNeeded(config, stats) : (defined ? plan.target.short_count : slots);
      std::ptrdiff_t chosen = -1;
      if (amount > 0) {
        for (std::size_t i = 0; i < enis.size(); ++i) {
          const EniView& eni = enis[i];
          if (eni.trunk || eni.excluded || (config.custom_networking && eni.primary) ||
              eni.cidrs >= slots) {
            continue;
          }
          if (chosen < 0 || std::tie(eni.device_number, eni.id) <
                                std::tie(enis[static_cast<std::size_t>(chosen)].device_number,
                                         enis[static_cast<std::size_t>(chosen)].id)) {
            chosen = static_cast<std::ptrdiff_t>(i);
          }
        }
      }
      if (chosen >= 0) {
        const EniView& eni = enis[static_cast<std::size_t>(chosen)];
        const std::int64_t n = std::min<std::int64_t>(slots - eni.cidrs, amount);
        plan.increase = IncreaseStep{eni.id, static_cast<int>(n)};
        adjust.filled = chosen;
        adjust.filled_delta = {n * unit, n * unit, n};
      } else if (HasRoomForEni(config, stats, inputs.unmanaged_enis, inputs.trunk_eni_expected)) {
        const std::int64_t n = std::min<std::int64_t>(amount, slots);
        if (n > 0) {
          plan.increase = IncreaseStep{std::nullopt, static_cast<int>(n)};
          adjust.new_eni = {n * unit, n * unit, n};
        }
      } else {
        plan.eni_limit_reached = true;
      }
    }
  } else {
    plan.too_high = IsPoolTooHigh(config, stats);
    if (plan.too_high) {
      if (inputs.since_last_decrease <= absl::Seconds(kDecreaseThrottleSeconds)) {
        plan.decrease_throttled = true;
      } else {
        std::int64_t budget =
            plan.target.defined
                ? plan.target.over_count
                : std::max<std::int64_t>(FreePrefixesAll(stats) - config.warm_prefix_target, 0);
        if (budget > 0 && inputs.free_cidrs.size() == enis.size()) {
          std::vector<std::size_t> order;
          order.reserve(enis.size());
          for (std::size_t i = 0; i < enis.size(); ++i) {
            if (!inputs.free_cidrs[i].empty()) order.push_back(i);
          }
          const auto pod_free = [&](std::size_t i) {
            const EniView& eni = enis[i];
            return !eni.primary && !eni.trunk && !eni.efa && eni.pods == 0;
          };
          std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            const bool free_a = pod_free(a), free_b = pod_free(b);
            if (free_a != free_b) return free_a;
            return std::tie(enis[a].device_number, enis[a].id) >
                   std::tie(enis[b].device_number, enis[b].id);
          });
          released.assign(enis.size(), internal::EniDelta{});
          const int mode_length = pd ? 28 : 32;
          for (std::size_t i : order) {
            const auto& cidrs = inputs.free_cidrs[i];
            const std::size_t take = static_cast<std::size_t>(
                std::min<std::int64_t>(budget, static_cast<std::int64_t>(cidrs.size())));
            CidrRelease release{
                enis[i].id, std::vector<Ipv4Prefix>(
                                cidrs.begin(), cidrs.begin() + static_cast<std::ptrdiff_t>(take))};
            internal::EniDelta& d = released[i];
            if (static_cast<int>(take) == enis[i].cidrs) {
              // All its CIDRs go (so it had no pod): nothing of it is left.
              d = {-enis[i].total_ips, -internal::FreeIpsOf(config, enis[i]),
                   -enis[i].free_cidrs_all, true};
            } else {
              // The free_cidrs lists carry no per-CIDR cooling count, so a
              // released CIDR's cooling addresses are assumed to stay: the
              // ENI still counts as cooling, and in the cooling-aware policy
              // its free addresses are undercounted. Both err on keeping an
              // ENI one step longer than the reference would.
              for (const Ipv4Prefix& cidr : release.cidrs) {
                d.free_cidrs_all -= 1;
                if (cidr.length() == mode_length) {
                  const auto size = static_cast<std::int64_t>(cidr.size());
                  d.total_ips -= size;
                  d.free_ips -= size;
                }
              }
            }
            plan.releases.push_back(std::move(release));
            budget -= static_cast<std::int64_t>(take);
            if (budget <= 0) break;
          }
          adjust.released = &released;
        }
      }
    }
  }

  if (ShouldRemoveExtraEnis(config, stats, enis)) {
    if (!may_manage) {
      plan.unschedulable = true;
    } else {
      plan.free_eni = internal::FindDeletableEni(config, enis, inputs.now, adjust);
    }
  }
  return plan;
}

// -----------------------------------------------------------------------------
// Implementation details of WarmPoolConfig.
// -----------------------------------------------------------------------------

namespace internal {

// Go's strconv.Atoi on a 64-bit platform: an optional sign, then one or more
// ASCII digits, within int64. No spaces, underscores or base prefixes.
inline std::optional<std::int64_t> ParseGoInt(absl::string_view text) noexcept {
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  std::uint64_t magnitude = 0;
  const std::uint64_t limit =
      negative ? std::uint64_t{1} << 63
               : static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (magnitude > (limit - digit) / 10) return std::nullopt;  // ErrRange
    magnitude = magnitude * 10 + digit;
  }
  if (negative) {
    return magnitude == (std::uint64_t{1} << 63) ? std::numeric_limits<std::int64_t>::min()
                                                 : -static_cast<std::int64_t>(magnitude);
  }
  return static_cast<std::int64_t>(magnitude);
}

// Go's strconv.ParseBool.
inline std::optional<bool> ParseGoBool(absl::string_view text) noexcept {
  if (text == "1" || text == "t" || text == "T" || text == "TRUE" || text == "true" ||
      text == "True") {
    return true;
  }
  if (text == "0" || text == "f" || text == "F" || text == "FALSE" || text == "false" ||
      text == "False") {
    return false;
  }
  return std::nullopt;
}

struct IntVariable {
  absl::string_view name;
  std::int64_t fallback;   // what the reference uses for a bad value
  std::int64_t minimum;    // below it the reference uses the fallback
  absl::string_view what;  // how the reference treats a bad value
};

inline constexpr IntVariable kIntVariables[] = {
    {"WARM_ENI_TARGET", 1, 0, "uses 1"},
    {"WARM_IP_TARGET", 0, 0, "treats it as not set"},
    {"MINIMUM_IP_TARGET", 0, 0, "treats it as not set"},
    {"WARM_PREFIX_TARGET", 0, 0, "uses 0"},
    {"MAX_ENI", 0, 1, "ignores it and uses the instance limit"},
    {"IP_COOLDOWN_PERIOD", 30, std::numeric_limits<std::int64_t>::min(), "uses 30 seconds"},
};

struct BoolVariable {
  absl::string_view name;
  bool fallback;
};

inline constexpr BoolVariable kBoolVariables[] = {
    {"ENABLE_PREFIX_DELEGATION", false},        {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", false},
    {"AWS_MANAGE_ENIS_NON_SCHEDULABLE", false}, {"DISABLE_NETWORK_RESOURCE_PROVISIONING", false},
    {"ENABLE_IMDS_ONLY_MODE", false},           {"ENABLE_SUBNET_DISCOVERY", true},
};

// The reference's reading of an integer variable: the value if set, an
// integer and ≥ minimum; else the fallback.
inline std::int64_t ReadInt(EnvLookup lookup, const IntVariable& v) {
  const std::optional<std::string> text = lookup(v.name);
  if (!text.has_value()) return v.fallback;
  const std::optional<std::int64_t> value = ParseGoInt(*text);
  if (!value.has_value() || *value < v.minimum) return v.fallback;
  return *value;
}

inline bool ReadBool(EnvLookup lookup, const BoolVariable& v) {
  const std::optional<std::string> text = lookup(v.name);
  if (!text.has_value()) return v.fallback;
  return ParseGoBool(*text).value_or(v.fallback);
}

inline absl::Status InvalidConfig(const std::vector<std::string>& problems) {
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid warm-pool configuration: ", absl::StrJoin(problems, "; ")));
}

}  // namespace internal

inline WarmPoolConfig WarmPoolConfig::FromEnvironment(EnvLookup lookup,
                                                      const WarmPoolConfig& base) {
  using internal::ClampToInt;
  using internal::kBoolVariables;
  using internal::kIntVariables;
  WarmPoolConfig config;
  config.max_enis = base.max_enis;
  config.ipv4_per_eni = base.ipv4_per_eni;
  config.max_pods = base.max_pods;
  config.prefix_delegation_supported = base.prefix_delegation_supported;
  config.count_cooling_as_available = base.count_cooling_as_available;

  config.warm_eni_target =
      static_cast<int>(ClampToInt(internal::ReadInt(lookup, kIntVariables[0])));
  config.warm_ip_target = static_cast<int>(ClampToInt(internal::ReadInt(lookup, kIntVariables[1])));
  config.minimum_ip_target =
      static_cast<int>(ClampToInt(internal::ReadInt(lookup, kIntVariables[2])));
  config.warm_prefix_target =
      static_cast<int>(ClampToInt(internal::ReadInt(lookup, kIntVariables[3])));
  if (const std::int64_t max_eni = internal::ReadInt(lookup, kIntVariables[4]); max_eni >= 1) {
    config.max_enis = static_cast<int>(
        ClampToInt(base.max_enis > 0 ? std::min<std::int64_t>(max_eni, base.max_enis) : max_eni));
  }
  // absl::Seconds saturates instead of wrapping as Go's Duration would.
  config.ip_cooldown = absl::Seconds(internal::ReadInt(lookup, kIntVariables[5]));

  const bool prefix_delegation = internal::ReadBool(lookup, kBoolVariables[0]);
  config.mode = prefix_delegation && base.prefix_delegation_supported ? AddressMode::kPrefix
                                                                      : AddressMode::kSecondaryIp;
  config.custom_networking = internal::ReadBool(lookup, kBoolVariables[1]);
  config.manage_enis_non_schedulable = internal::ReadBool(lookup, kBoolVariables[2]);
  config.provisioning_disabled = internal::ReadBool(lookup, kBoolVariables[3]) ||
                                 internal::ReadBool(lookup, kBoolVariables[4]);
  config.subnet_discovery = internal::ReadBool(lookup, kBoolVariables[5]);
  return config;
}

inline WarmPoolConfig WarmPoolConfig::FromEnvironment(EnvLookup lookup) {
  return FromEnvironment(lookup, WarmPoolConfig{});
}

inline absl::Status WarmPoolConfig::ValidateEnvironment(EnvLookup lookup) {
  return ValidateEnvironment(lookup, WarmPoolConfig{});
}

inline absl::Status WarmPoolConfig::ValidateEnvironment(EnvLookup lookup,
                                                        const WarmPoolConfig& base) {
  std::vector<std::string> problems;
  for (const internal::IntVariable& v : internal::kIntVariables) {
    const std::optional<std::string> text = lookup(v.name);
    if (!text.has_value() || text->empty()) continue;
    const std::optional<std::int64_t> value = internal::ParseGoInt(*text);
    if (!value.has_value()) {
      problems.push_back(absl::StrCat(v.name, "=", QuoteInput(*text),
                                      " is not an integer (the reference ", v.what, ")"));
    } else if (*value < v.minimum && v.minimum == 1) {
      problems.push_back(
          absl::StrCat(v.name, "=", *value, " is below 1 (the reference ", v.what, ")"));
    } else if (*value < 0) {
      problems.push_back(absl::StrCat(v.name, "=", *value, " is negative (the reference ",
                                      v.name == "IP_COOLDOWN_PERIOD"
                                          ? "treats it as 0: released addresses are reused at once"
                                          : v.what,
                                      ")"));
    } else if (*value > std::numeric_limits<int>::max()) {
      problems.push_back(absl::StrCat(v.name, "=", *value, " is too large (at most ",
                                      std::numeric_limits<int>::max(), ")"));
    }
  }
  for (const internal::BoolVariable& v : internal::kBoolVariables) {
    const std::optional<std::string> text = lookup(v.name);
    if (!text.has_value() || text->empty()) continue;
    if (!internal::ParseGoBool(*text).has_value()) {
      problems.push_back(absl::StrCat(v.name, "=", QuoteInput(*text),
                                      " is not a boolean (want true or false; the reference uses ",
                                      v.fallback ? "true" : "false", ")"));
    }
  }
  WarmPoolConfig config = FromEnvironment(lookup, base);
  // A negative IP_COOLDOWN_PERIOD was named above already.
  config.ip_cooldown = std::max(config.ip_cooldown, absl::ZeroDuration());
  if (internal::ReadBool(lookup, internal::kBoolVariables[0]) &&
      !base.prefix_delegation_supported) {
    problems.push_back(
        "ENABLE_PREFIX_DELEGATION=true on an instance type without prefix delegation (not Nitro): "
        "the reference silently falls back to secondary IPs");
  }
  const absl::Status semantic = config.Validate();
  if (!semantic.ok()) {
    constexpr absl::string_view kPrefix = "invalid warm-pool configuration: ";
    absl::string_view message = semantic.message();
    if (message.substr(0, kPrefix.size()) == kPrefix) message.remove_prefix(kPrefix.size());
    problems.emplace_back(message);
  }
  return internal::InvalidConfig(problems);
}

inline absl::Status WarmPoolConfig::Validate() const {
  std::vector<std::string> problems;
  if (max_enis < 1) {
    problems.push_back(
        absl::StrCat("max_enis is ", max_enis, ": set the instance type's ENI limit (or MAX_ENI)"));
  }
  if (ipv4_per_eni < 2) {
    problems.push_back(
        absl::StrCat("ipv4_per_eni is ", ipv4_per_eni,
                     ": set the instance type's IPv4 addresses per ENI (at least 2)"));
  }
  if (max_pods < 1) {
    problems.push_back(absl::StrCat("max_pods is ", max_pods, ": the pool would never grow"));
  }
  const std::pair<absl::string_view, int> knobs[] = {{"WARM_ENI_TARGET", warm_eni_target},
                                                     {"WARM_IP_TARGET", warm_ip_target},
                                                     {"MINIMUM_IP_TARGET", minimum_ip_target},
                                                     {"WARM_PREFIX_TARGET", warm_prefix_target}};
  for (const auto& [name, value] : knobs) {
    if (value < 0) problems.push_back(absl::StrCat(name, " is ", value, ": must not be negative"));
  }
  if (ip_cooldown < absl::ZeroDuration()) {
    problems.push_back(
        absl::StrCat("IP_COOLDOWN_PERIOD is ", absl::FormatDuration(ip_cooldown),
                     ": negative behaves as 0 (released addresses are reused at once)"));
  }
  if (minimum_ip_target > 0 && warm_ip_target == 0) {
    problems.push_back(
        absl::StrCat("MINIMUM_IP_TARGET=", minimum_ip_target, " without WARM_IP_TARGET: once ",
                     minimum_ip_target,
                     " addresses are attached the pool never grows again and further pods fail "
                     "(set WARM_IP_TARGET as well)"));
  }
  if (prefix_mode() && warm_prefix_target == 0 && !warm_ip_targets_defined()) {
    problems.push_back(
        "WARM_PREFIX_TARGET=0 with prefix delegation and neither WARM_IP_TARGET nor "
        "MINIMUM_IP_TARGET: a prefix is attached only when no address is free and every fully "
        "free prefix is released, so prefixes flap every 30 s (set WARM_PREFIX_TARGET=1)");
  }
  if (!prefix_mode() && warm_eni_target == 0 && !warm_ip_targets_defined() && custom_networking) {
    problems.push_back(
        "WARM_ENI_TARGET=0 with custom networking and neither WARM_IP_TARGET nor "
        "MINIMUM_IP_TARGET: ENIs are created and freed in a loop (set WARM_ENI_TARGET=1 or the IP "
        "targets)");
  }
  if (prefix_mode() && !prefix_delegation_supported) {
    problems.push_back(
        "ENABLE_PREFIX_DELEGATION: prefix mode on an instance type without prefix delegation "
        "(not Nitro)");
  }
  return internal::InvalidConfig(problems);
}

inline std::string ReconcilePlan::ToString() const {
  std::string out;
  if (increase.has_value()) {
    absl::StrAppend(&out, "increase ", increase->count,
                    increase->kind.has_value()
                        ? (*increase->kind == AddressMode::kPrefix ? " prefixes" : " /32s")
                        : "",
                    " on ", increase->eni.has_value() ? increase->eni->view() : "a new ENI", "; ");
  }
  for (const CidrRelease& release : releases) {
    absl::StrAppend(&out, "release ", release.cidrs.size(), " from ", release.eni.view(), "; ");
  }
  if (free_eni.has_value()) absl::StrAppend(&out, "free ", free_eni->view(), "; ");
  absl::StrAppend(&out, "short ", target.short_count, ", over ", target.over_count,
                  target.defined ? "" : " (no IP targets)", too_low ? ", too low" : "",
                  too_high ? ", too high" : "", decrease_throttled ? ", decrease throttled" : "",
                  in_backoff ? ", in back-off" : "", eni_limit_reached ? ", ENI limit reached" : "",
                  unschedulable ? ", unschedulable" : "");
  return out;
}

}  // namespace enipool

#endif  // ENIPOOL_POLICY_WARM_POOL_H_
