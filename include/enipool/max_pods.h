// -----------------------------------------------------------------------------
// File: max_pods.h
// -----------------------------------------------------------------------------
//
// The kubelet `--max-pods` value for an instance type, as the EKS max-pods
// calculator (amazon-eks-ami max-pods-calculator.sh) and AWS's published
// eni-max-pods.txt define it (docs/reference-behavior.md §5.1), and the pod-IP capacity it is
// derived from. With L_eni ENIs of L_ip addresses each:
//
//   pod IPs       = L_eni × (L_ip − 1)          secondary IPs
//                = L_eni × (L_ip − 1) × 16     prefix delegation (/28 per slot)
//   kubelet value = pod IPs + 2, then capped at 110 (≤ 30 vCPUs) or 250
//
// The −1 is each ENI's own primary address, which is never a pod IP. The +2 is
// for the host-network pods (aws-node, kube-proxy), which need no pod IP but
// count against max pods. Custom networking leaves the primary ENI out
// (L_eni − 1); MAX_ENI lowers L_eni first (min(MAX_ENI, L_eni) − 1).
//
// Example:
//
//   const enipool::InstanceLimits m5 = *enipool::LookupInstanceLimits("m5.large");
//   enipool::ComputeMaxPods(m5, {});                           // 29: eni-max-pods.txt
//   enipool::ComputePodIpCapacity(m5, {});                     // 27: addresses for pods
//   enipool::ComputeMaxPods(m5, {.prefix_delegation = true});  // 434: uncapped
//   enipool::ComputeMaxPods(m5, {.prefix_delegation = true, .vcpus = 2});  // 110
//
// Two numbers that people confuse: the kubelet value (what `maxPods` in the
// kubelet config and `status.capacity.pods` hold) counts the two host-network
// pods; the pod-IP capacity (how many addresses ipamd can hand out) does not.
// A tutorial table that is often quoted mixes them up (docs/reference-behavior.md §5.3): it
// says "1 ENI, 5 IPs → 4 max pods; 2 ENIs, 5 IPs → 9 max pods". The formula
// gives 1 × (5 − 1) + 2 = 6 and 2 × (5 − 1) + 2 = 10 (kubelet), or 4 and 8
// (pod IPs). Its "4" is the capacity, and its "9" is neither: it would need one
// reserved address per node (2 × 5 − 1) instead of one per ENI.
//
// Which types get the prefix formula: the calculator applies it only when the
// hypervisor is Nitro, while ipamd enables prefix delegation on Nitro *or* bare
// metal (InstanceLimits::prefix_delegation_supported). Bare-metal types report
// no hypervisor, so the calculator gives them the secondary-IP value even with
// prefix delegation on. ComputeMaxPods() follows the calculator by default
// (that is what reproduces its published prefix-mode values); set
// `MaxPodsOptions::prefix_rule = PrefixDelegationRule::kIpamd` for the value
// that matches what ipamd will actually do on such a node. Where neither rule
// allows prefixes (Xen), the secondary-IP formula is used and
// `MaxPods::prefix_delegation_applied` is false, as ipamd falls back to
// secondary IPs (docs/reference-behavior.md §4.1).
//
// NOTE: ipamd itself never computes max pods; it reads the node's capacity
// (or eni-max-pods.txt) as a growth cap (docs/reference-behavior.md §4.2, §4.4). For multi-card
// types only the default card's ENIs count, as in eni-max-pods.txt;
// ComputeAllCardsPodIpCapacity() is what all cards hold with ENABLE_MULTI_NIC.

#ifndef ENIPOOL_MAX_PODS_H_
#define ENIPOOL_MAX_PODS_H_

#include <algorithm>
#include <climits>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "enipool/instance_limits.h"

namespace enipool {

// PrefixDelegationRule
//
// Which instance types get the prefix-delegation formula when
// MaxPodsOptions::prefix_delegation is set.
enum class PrefixDelegationRule : unsigned char {
  // The EKS max-pods calculator's: hypervisor == nitro (bare metal excluded).
  kCalculator,
  // ipamd's: InstanceLimits::prefix_delegation_supported (nitro or bare metal).
  kIpamd,
};

// MaxPodsOptions
//
// The calculator's inputs besides the instance type, named after the CNI
// settings they stand for.
struct MaxPodsOptions {
  // ENABLE_PREFIX_DELEGATION (--cni-prefix-delegation-enabled).
  bool prefix_delegation = false;
  // AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG (--cni-custom-networking-enabled): the
  // primary ENI holds no pod IPs.
  bool custom_networking = false;
  // MAX_ENI (--cni-max-eni): used as min(max_enis, instance limit); 0 means the
  // instance limit. Like ipamd, values below 1 are ignored (ValidateMaxPodsOptions
  // rejects negative ones).
  int max_enis = 0;
  // The type's default vCPU count, for the recommended cap: 110 if ≤ 30, else
  // 250. 0 means no cap (--show-max-allowed), which is how eni-max-pods.txt is
  // computed. The table has no vCPU counts, so this is an input.
  int vcpus = 0;
  PrefixDelegationRule prefix_rule = PrefixDelegationRule::kCalculator;
};

// MaxPods
//
// Everything CalculateMaxPods() works out, for callers that want to show it.
struct MaxPods {
  int enis = 0;                    // ENIs holding pod IPs (after MAX_ENI and custom networking)
  int pod_ips = 0;                 // pod-IP capacity: addresses for non-host-network pods
  int uncapped_max_pods = 0;       // pod_ips + 2
  int kubelet_max_pods = 0;        // the --max-pods value: uncapped_max_pods after the cap
  bool capped = false;             // the 110/250 cap lowered the value
  bool prefix_delegation_applied = false;  // the /28 formula was used

  friend constexpr bool operator==(const MaxPods&, const MaxPods&) = default;
};

// kHostNetworkPods
//
// The +2 of the formula: aws-node and kube-proxy run in the host network.
inline constexpr int kHostNetworkPods = 2;

// kAddressesPerPrefix
//
// A delegated /28 gives 16 pod addresses per ENI slot.
inline constexpr int kAddressesPerPrefix = 16;

// MaxPodsCap()
//
// The calculator's recommended cap for a type with `vcpus` default vCPUs: 110
// for up to 30 vCPUs, 250 above; 0 (no cap) when vcpus ≤ 0.
constexpr int MaxPodsCap(int vcpus) noexcept {
  if (vcpus <= 0) return 0;
  return vcpus <= 30 ? 110 : 250;
}

// CalculatorAppliesPrefixDelegation()
//
// Whether the EKS max-pods calculator uses the prefix formula for this type:
// only on Nitro. Compare InstanceLimits::prefix_delegation_supported (ipamd's
// rule, which also admits bare metal).
constexpr bool CalculatorAppliesPrefixDelegation(const InstanceLimits& limits) noexcept {
  return limits.hypervisor == Hypervisor::kNitro;
}

// CalculateMaxPods()
//
// The whole calculation (see the file comment). Total: negative or absurd
// inputs are clamped (ENIs and slots at 0, results at INT_MAX) rather than
// trusted; use ValidateMaxPodsOptions() to reject bad options with a message.
constexpr MaxPods CalculateMaxPods(const InstanceLimits& limits,
                                   const MaxPodsOptions& options) noexcept {
  MaxPods result;
  int enis = std::max(limits.max_enis, 0);
  if (options.max_enis >= 1) enis = std::min(enis, options.max_enis);
  if (options.custom_networking) enis = std::max(enis - 1, 0);
  result.enis = enis;

  const bool prefix_capable = options.prefix_rule == PrefixDelegationRule::kIpamd
                                  ? limits.prefix_delegation_supported
                                  : CalculatorAppliesPrefixDelegation(limits);
  result.prefix_delegation_applied = options.prefix_delegation && prefix_capable;

  const std::int64_t slots = std::max(limits.ipv4_per_eni - 1, 0);
  const std::int64_t per_slot = result.prefix_delegation_applied ? kAddressesPerPrefix : 1;
  // enis × slots < 2^62; clamping it before the × 16 keeps the product in range.
  const std::int64_t eni_slots = std::min<std::int64_t>(enis * slots, INT_MAX);
  const std::int64_t pod_ips =
      std::min<std::int64_t>(eni_slots * per_slot, INT_MAX - kHostNetworkPods);
  result.pod_ips = static_cast<int>(pod_ips);
  result.uncapped_max_pods = result.pod_ips + kHostNetworkPods;

  const int cap = MaxPodsCap(options.vcpus);
  result.capped = cap > 0 && result.uncapped_max_pods > cap;
  result.kubelet_max_pods = result.capped ? cap : result.uncapped_max_pods;
  return result;
}

// ComputeMaxPods()
//
// The kubelet --max-pods value: CalculateMaxPods().kubelet_max_pods. With
// default options this is the type's line in AWS's eni-max-pods.txt,
// max_enis × (ipv4_per_eni − 1) + 2.
constexpr int ComputeMaxPods(const InstanceLimits& limits, const MaxPodsOptions& options) noexcept {
  return CalculateMaxPods(limits, options).kubelet_max_pods;
}

// ComputePodIpCapacity()
//
// How many pod IPs the node's ENIs can hold under these options: the kubelet
// value's formula without the +2 and without the 110/250 cap (options.vcpus is
// ignored). m5.large: 27 (secondary IPs), 432 (prefixes).
constexpr int ComputePodIpCapacity(const InstanceLimits& limits,
                                   const MaxPodsOptions& options) noexcept {
  return CalculateMaxPods(limits, options).pod_ips;
}

// ComputeAllCardsPodIpCapacity()
//
// How many pod IPs a node of this type can hold on all its network cards
// with ENABLE_MULTI_NIC (docs/reference-behavior.md §1.1, §5.1): the
// default card's ComputePodIpCapacity() plus, for every other card, the same
// without custom networking (only card 0 has the primary ENI it leaves out);
// every card takes MaxEnisOnCard() ENIs, lowered by MAX_ENI. Max pods stays
// the default card's (ComputeMaxPods()). p5.48xlarge: 98 on card 0, 3,136 on
// its 32 cards.
constexpr std::int64_t ComputeAllCardsPodIpCapacity(const InstanceLimits& limits,
                                                    const MaxPodsOptions& options) noexcept {
  MaxPodsOptions other = options;
  other.custom_networking = false;
  const std::int64_t cards = std::max(limits.network_cards, 1);
  return std::int64_t{ComputePodIpCapacity(limits, options)} +
         (cards - 1) * std::int64_t{ComputePodIpCapacity(limits, other)};
}

// ValidateMaxPodsOptions()
//
// INVALID_ARGUMENT naming the field for what CalculateMaxPods() would silently
// clamp: a negative max_enis (MAX_ENI) or vcpus.
[[nodiscard]] inline absl::Status ValidateMaxPodsOptions(const MaxPodsOptions& options) {
  if (options.max_enis < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_enis (MAX_ENI) is ", options.max_enis, "; want 0 (the instance limit) or more"));
  }
  if (options.vcpus < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("vcpus is ", options.vcpus, "; want 0 (no 110/250 cap) or more"));
  }
  return absl::OkStatus();
}

// FindMaxPods()
//
// CalculateMaxPods() for an instance type by name: NOT_FOUND naming the type
// if the table lacks it, INVALID_ARGUMENT from ValidateMaxPodsOptions().
[[nodiscard]] inline absl::StatusOr<MaxPods> FindMaxPods(absl::string_view type,
                                                         const MaxPodsOptions& options) {
  if (absl::Status valid = ValidateMaxPodsOptions(options); !valid.ok()) return valid;
  absl::StatusOr<InstanceLimits> limits = FindInstanceLimits(type);
  if (!limits.ok()) return limits.status();
  return CalculateMaxPods(*limits, options);
}

}  // namespace enipool

#endif  // ENIPOOL_MAX_PODS_H_
