// -----------------------------------------------------------------------------
// File: policy/warm_pool.h
// -----------------------------------------------------------------------------
//
// The warm-pool policy of the reference (reference §4) as pure functions over
// a snapshot of the pool: no clock, no backend, no state. Timers are inputs.
//
// STATUS: the types below are the agreed interface between the policy and the
// controller; the rule functions (IsPoolTooLow, ComputeTargetState,
// PrefixesNeeded, IsPoolTooHigh, ShouldRemoveExtraEnis, FindDeletableEni,
// PlanReconcile) are being added next to them.

#ifndef ENIPOOL_POLICY_WARM_POOL_H_
#define ENIPOOL_POLICY_WARM_POOL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"

namespace enipool {

// WarmPoolConfig
//
// The reference's knobs with its code defaults (reference §4.1), plus the
// instance's limits.
struct WarmPoolConfig {
  AddressMode mode = AddressMode::kSecondaryIp;  // ENABLE_PREFIX_DELEGATION
  int warm_eni_target = 1;                       // WARM_ENI_TARGET
  int warm_ip_target = 0;                        // WARM_IP_TARGET (0 = not set)
  int minimum_ip_target = 0;                     // MINIMUM_IP_TARGET (0 = not set)
  int warm_prefix_target = 0;                    // WARM_PREFIX_TARGET (code default 0; manifests ship 1)
  int max_enis = 0;      // instance limit, or MAX_ENI when lower
  int ipv4_per_eni = 0;  // addresses per ENI, its own primary included
  int max_pods = 110;    // the node's max pods (growth stops when total addresses reach it)
  bool custom_networking = false;  // AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: primary ENI gets no pod IPs
  absl::Duration ip_cooldown = absl::Seconds(30);  // IP_COOLDOWN_PERIOD
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
  // step reads them, so a caller may leave them empty unless the pool is too
  // high (the simulator runs millions of pool checks and must not build them
  // every time).
  std::vector<std::vector<Ipv4Prefix>> free_cidrs;
  absl::Time now;                                              // for ENI ages
  absl::Duration since_last_decrease = absl::InfiniteDuration();
  absl::Duration since_insufficient_addresses = absl::InfiniteDuration();  // last InsufficientCidrBlocks / ...FreeAddressesInSubnet
  int unmanaged_enis = 0;  // attached ENIs the node must not use
};

// IncreaseStep
//
// Grow the pool: give `count` IPs (secondary-IP mode) or /28 prefixes
// (prefix mode) to the existing ENI `eni`, or, when `eni` is empty, create
// and attach a new ENI carrying `count` of them.
struct IncreaseStep {
  std::optional<EniId> eni;
  int count = 0;
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
// One pool-check step of the reference (reference §4.3) as data: at most one
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
  TargetState target;

  friend bool operator==(const ReconcilePlan&, const ReconcilePlan&) = default;
};

}  // namespace enipool

#endif  // ENIPOOL_POLICY_WARM_POOL_H_
