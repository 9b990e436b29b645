// -----------------------------------------------------------------------------
// File: policy/prefix_fallback.h
// -----------------------------------------------------------------------------
//
// `PrefixFallbackPolicy`: prefix delegation that keeps serving pods when the
// subnet has free addresses but no free aligned /28. The reference answers
// `InsufficientCidrBlocks` with a 120 s pause in which the pool does not
// grow at all (docs/reference-behavior.md §4.6, §7.5), so in a fragmented
// subnet a prefix-mode node never gets an address while a secondary-IP node
// next to it gets all it needs. This policy takes /32 secondary IPs
// instead, and asks for /28s again once the subnet may have them back.
//
// The model, on a prefix-mode node whose datastore hands out both kinds
// (WarmPoolConfig::secondary_ip_fallback, which NodeController turns into
// OtherKind::kHandedOut):
//   * Normal: the reference's prefix rules over the whole pool (its free
//     /32s count as free addresses; only free /28s are given back).
//   * Fallback, for `probe_after` after the last InsufficientCidrBlocks
//     answer (PoolSignals::since_insufficient_cidr_blocks): the pool is
//     sized in addresses — WARM_IP_TARGET / MINIMUM_IP_TARGET as set, or
//     WARM_PREFIX_TARGET × 16 free addresses when no IP target is — and
//     grows by /32s, on an existing ENI or on a new one created with
//     SecondaryPrivateIpAddressCount; only free /32s are given back. The
//     ENI rules are the reference's, on the same address counts.
//   * No back-off for InsufficientCidrBlocks: when the node's latest
//     insufficient-address answer was InsufficientCidrBlocks, the 120 s
//     no-increase pause does not apply (the fallback replaces it). After
//     InsufficientFreeAddressesInSubnet (no address at all) it applies as
//     in the reference, /32s included.
//   * Back to prefixes: once `probe_after` has passed, the next increase
//     asks for a /28 again. That request is the probe: if the subnet has a
//     free aligned /28 by then, the node is back on prefixes; if not, the
//     answer is InsufficientCidrBlocks again and the node falls back for
//     another `probe_after`. Each probe costs the failed assign and the
//     controller's retry with a count of 1: two calls a probe period at
//     most, and none while the pool needs nothing.
// The /32s a node took stay in its pool and serve pods; they leave it as
// the reference's rules give free addresses back (a free /32 is given back
// while falling back, a whole ENI when it is empty).
//
// What it reads is what a real node learns: the error codes EC2 answers its
// own calls with, and its own pool. Nothing about the subnet's free space.
//
// Example:
//
//   enipool::ControllerConfig config;
//   config.pool = {.mode = enipool::AddressMode::kPrefix, .warm_prefix_target = 1,
//                  .max_enis = 3, .ipv4_per_eni = 10, .secondary_ip_fallback = true};
//   auto controller = enipool::NodeController<enipool::RealClock,
//                                             enipool::PrefixFallbackPolicy>::Create(
//       clock, config, enipool::PrefixFallbackPolicy{.probe_after = absl::Seconds(60)});
//
// Thread-safety: a value type with const members only.

#ifndef ENIPOOL_POLICY_PREFIX_FALLBACK_H_
#define ENIPOOL_POLICY_PREFIX_FALLBACK_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/policy/policy.h"
#include "enipool/policy/warm_pool.h"

namespace enipool {

// PrefixFallbackPolicy
//
// See the file comment.
struct PrefixFallbackPolicy {
  // How long after an InsufficientCidrBlocks answer increases take /32s
  // before a /28 is asked for again.
  absl::Duration probe_after = absl::Seconds(60);

  [[nodiscard]] static constexpr absl::string_view name() noexcept { return "prefix-fallback"; }
  // Reads since_insufficient_cidr_blocks only (PolicyReadsAddSignals).
  static constexpr bool kReadsAddSignals = false;

  // PrefixFallbackPolicy::Applies()
  //
  // Whether `config` is one this policy changes anything for: prefix mode
  // with a datastore that hands out /32s too. Otherwise it plans exactly as
  // ReferencePolicy.
  [[nodiscard]] static constexpr bool Applies(const WarmPoolConfig& config) noexcept {
    return config.prefix_mode() && config.secondary_ip_fallback;
  }

  // PrefixFallbackPolicy::FallingBack()
  //
  // Whether increases take /32s now: within probe_after of the last
  // InsufficientCidrBlocks answer.
  [[nodiscard]] bool FallingBack(const WarmPoolConfig& config,
                                 const PoolSignals& signals) const noexcept {
    return Applies(config) && signals.since_insufficient_cidr_blocks <= probe_after;
  }

  // PrefixFallbackPolicy::SecondaryIpConfig()
  //
  // The rules while falling back: `config` in secondary-IP mode, sized in
  // addresses (the IP targets as set, else WARM_PREFIX_TARGET × 16 warm
  // addresses, at least 1).
  [[nodiscard]] static WarmPoolConfig SecondaryIpConfig(const WarmPoolConfig& config) noexcept {
    WarmPoolConfig secondary = config;
    secondary.mode = AddressMode::kSecondaryIp;
    if (!config.warm_ip_targets_defined()) {
      secondary.warm_ip_target = config.warm_prefix_target > 0
                                     ? config.warm_prefix_target * kIpsPerPrefix
                                     : 1;
    }
    return secondary;
  }

  [[nodiscard]] bool ShouldCheck(const WarmPoolConfig& config, const PoolStats& stats,
                                 const PoolSignals& signals) const noexcept {
    const WarmPoolConfig rules = FallingBack(config, signals) ? SecondaryIpConfig(config) : config;
    return ReferencePolicy{}.ShouldCheck(rules, stats, signals);
  }
  [[nodiscard]] bool NeedsFreeCidrs(const WarmPoolConfig& config,
                                    const ReconcileInputs& inputs) const noexcept {
    const WarmPoolConfig rules =
        FallingBack(config, inputs.signals) ? SecondaryIpConfig(config) : config;
    return enipool::NeedsFreeCidrs(rules, inputs.stats, inputs.since_last_decrease);
  }
  [[nodiscard]] ReconcilePlan Plan(const WarmPoolConfig& config,
                                   const ReconcileInputs& inputs) const {
    if (!Applies(config)) return PlanReconcile(config, inputs);
    const bool falling_back = FallingBack(config, inputs.signals);
    const WarmPoolConfig rules = falling_back ? SecondaryIpConfig(config) : config;
    ReconcileInputs adjusted = inputs;
    // The latest insufficient-address answer was InsufficientCidrBlocks (the
    // controller stamps both timers with the same answer): no back-off,
    // the fallback (or, after probe_after, the probe) takes its place.
    if (inputs.signals.since_insufficient_cidr_blocks <= inputs.since_insufficient_addresses) {
      adjusted.since_insufficient_addresses = absl::InfiniteDuration();
    }
    // Give back only CIDRs of the kind the rules count in: each release
    // counts one unit of the budget (an address, or a prefix).
    const int kept_length = falling_back ? 32 : 28;
    for (std::vector<Ipv4Prefix>& free : adjusted.free_cidrs) {
      std::erase_if(free, [&](const Ipv4Prefix& cidr) { return cidr.length() != kept_length; });
    }
    ReconcilePlan plan = PlanReconcile(rules, adjusted);
    if (plan.increase.has_value()) {
      plan.increase->kind = falling_back ? AddressMode::kSecondaryIp : AddressMode::kPrefix;
    }
    return plan;
  }
};

static_assert(WarmPoolPolicy<PrefixFallbackPolicy>);

}  // namespace enipool

#endif  // ENIPOOL_POLICY_PREFIX_FALLBACK_H_
