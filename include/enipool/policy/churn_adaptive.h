// -----------------------------------------------------------------------------
// File: policy/churn_adaptive.h
// -----------------------------------------------------------------------------
//
// `ChurnAdaptivePolicy`: a warm pool sized from the node's own pod churn. A
// fixed WARM_IP_TARGET is either too small for a burst or wastes addresses
// at night; this policy keeps free the addresses the node will consume
// while a refill is under way, as measured on the node itself.
//
// The model (a reorder point from inventory theory). Pods arrive at rate λ
// (PoolSignals::add_rate, the node's CNI ADDs a second). Once the pool runs
// low, new addresses arrive after the lead time
//     R = pool-check period (the loop notices a low pool up to 5 s late)
//       + measured refill latency (PoolSignals::refill_latency: the EC2
//         assign, or create + attach, until the addresses are usable).
// By Little's law the pods that arrive during R number L = λ·R on average;
// with Poisson arrivals their count has standard deviation √L, so keeping
//     W = ⌈L + z·√L⌉   addresses free   (z = 2: ≈ 98 % of refills in time)
// covers the lead time — when pods arrive one by one. They often arrive in
// batches (a Deployment's pods land on a node together), and a batch must
// be served from the pool at once, so W is at least the largest batch seen
// lately (PoolSignals::recent_peak_adds, the most ADDs between two pool
// checks, decaying over 10 min). Pods already waiting (PoolSignals::
// recent_failed_adds: ADDs that found no address in the last 10–20 s) are
// demand the rate has not seen yet, so they are added to W — this is what
// lets the pool catch up with a burst in one step. W is clamped to
// [min_warm, max_warm], and the pool grows when fewer than W addresses are
// free, up to S = ⌈release_factor × W⌉ (1.5 W), and shrinks back to S when
// more are free: an (s, S) inventory band, so each growth is one larger
// call and nothing is assigned and released around a single line every
// 30 s. The band is narrow because an idle address costs all the time and
// the band's width is paid on every node, while a wider band saves only EC2
// calls (measured in the policy suite, docs/policy-lab.md: 1.5 W holds
// 15–18 % fewer idle address-hours than 2 W in the daily, bursty and
// 1,000-node scenarios at the same p95; bursty's p99 went from 0 to 11 s).
// The growing
// and shrinking are the reference's rules with WARM_IP_TARGET = S
// (MINIMUM_IP_TARGET, the decrease throttle and the ENI rules are the
// configured ones), with one change of order:
//
// Slow step first. When the shortfall (S − free) is more than every free
// slot of the attached ENIs together, a new ENI is needed anyway, and its
// create + attach is the long lead time (seconds, against ~150 ms for an
// assign); the reference would fill the existing slots first and create the
// ENI one pool check (5 s) later. The policy creates the ENI first, carrying
// min(shortfall, slots per ENI) addresses, and fills the slots at the next
// check. After a burst onto a quiet node this makes the new ENIs usable
// before kubelet's first retry (10–15 s) instead of after it.
//
// Before the first refill is measured, `assumed_refill` stands in.
//
// Cooling addresses are not counted as free (the reference counts them,
// docs/reference-behavior.md §1.5): under churn every deleted pod's
// address cools for IP_COOLDOWN_PERIOD, and a pool of W "available"
// addresses that are all cooling serves nobody. W is what a new pod can
// take now.
//
// It reads only what a real node sees: its own CNI ADDs and the timing of
// its own EC2 calls. It is pure: the same config, stats and signals give
// the same plan.
//
// Example:
//
//   enipool::ChurnAdaptivePolicy adaptive{.min_warm = 2, .max_warm = 48};
//   auto controller = enipool::NodeController<enipool::RealClock,
//                                             enipool::ChurnAdaptivePolicy>::Create(
//       clock, config, adaptive);
//
// Thread-safety: a value type with const members only.

#ifndef ENIPOOL_POLICY_CHURN_ADAPTIVE_H_
#define ENIPOOL_POLICY_CHURN_ADAPTIVE_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/datastore.h"
#include "enipool/policy/policy.h"
#include "enipool/policy/warm_pool.h"

namespace enipool {

// ChurnAdaptivePolicy
//
// See the file comment.
struct ChurnAdaptivePolicy {
  int min_warm = 2;    // addresses kept free at the least (also at night)
  int max_warm = 64;   // and at the most
  double z = 2.0;      // safety stock in standard deviations of the arrivals
  absl::Duration detection = absl::Seconds(5);        // the pool check's period
  absl::Duration assumed_refill = absl::Seconds(2);   // until one is measured
  double release_factor = 1.5;  // shrink only above this × W (a band, not a line)

  [[nodiscard]] static constexpr absl::string_view name() noexcept { return "churn-adaptive"; }

  // ChurnAdaptivePolicy::WarmTarget()
  //
  // W (see the file comment) for these signals.
  [[nodiscard]] int WarmTarget(const PoolSignals& signals) const noexcept {
    const absl::Duration refill =
        signals.refills_measured > 0 ? signals.refill_latency : assumed_refill;
    const double lead = absl::ToDoubleSeconds(detection + refill);
    const double arrivals = std::max(0.0, signals.add_rate) * lead;
    const double want =
        std::max(std::ceil(arrivals + z * std::sqrt(arrivals)), std::ceil(signals.recent_peak_adds)) +
        static_cast<double>(std::max(0, signals.recent_failed_adds));
    const double bounded =
        std::clamp(want, static_cast<double>(min_warm), static_cast<double>(std::max(min_warm, max_warm)));
    return static_cast<int>(bounded);
  }

  // ChurnAdaptivePolicy::Effective()
  //
  // `config` with WARM_IP_TARGET = WarmTarget(signals) (`for_release`
  // false: the reorder point, below which the pool grows), or with
  // WARM_IP_TARGET = ⌈release_factor × WarmTarget(signals)⌉ (`for_release`
  // true: the level above which it shrinks). Cooling addresses are not
  // counted as free either way.
  [[nodiscard]] WarmPoolConfig Effective(const WarmPoolConfig& config, const PoolSignals& signals,
                                         bool for_release = false) const noexcept {
    WarmPoolConfig effective = config;
    const int target = WarmTarget(signals);
    effective.warm_ip_target =
        for_release ? static_cast<int>(std::ceil(release_factor * target)) : target;
    effective.count_cooling_as_available = false;
    return effective;
  }

  // Below W it grows to the top of the band (S), above S it shrinks to S;
  // in between only the ENI rules act. The band keeps a pool whose need
  // wobbles from assigning and releasing every 30 s, and each growth is one
  // bigger call instead of several small ones (each an EC2 call, and the
  // account's API rate is shared by every node).
  [[nodiscard]] bool ShouldCheck(const WarmPoolConfig& config, const PoolStats& stats,
                                 const PoolSignals& signals) const noexcept {
    if (IsPoolTooLow(Effective(config, signals), stats)) return true;
    const WarmPoolConfig top = Effective(config, signals, true);
    const bool other_enis = stats.enis + stats.excluded_enis > 1;
    return IsPoolTooHigh(top, stats) ||
           (other_enis && ShouldRemoveExtraEnis(top, stats, /*pod_free_eni_exists=*/true));
  }
  [[nodiscard]] bool NeedsFreeCidrs(const WarmPoolConfig& config,
                                    const ReconcileInputs& inputs) const noexcept {
    if (IsPoolTooLow(Effective(config, inputs.signals), inputs.stats)) return false;
    return ReferencePolicy{}.NeedsFreeCidrs(Effective(config, inputs.signals, true), inputs);
  }
  [[nodiscard]] ReconcilePlan Plan(const WarmPoolConfig& config,
                                   const ReconcileInputs& inputs) const {
    const WarmPoolConfig top = Effective(config, inputs.signals, true);
    ReconcilePlan plan = PlanReconcile(top, inputs);
    if (plan.increase.has_value() && plan.increase->eni.has_value() && !top.prefix_mode()) {
      // Slow step first: when the shortfall exceeds every free slot of the
      // attached ENIs, an ENI must be created anyway, and its create +
      // attach (seconds) is the long lead time; filling a slot (one
      // assign, ~150 ms) can wait for the next check.
      const int slots = top.slots_per_eni();
      std::int64_t free_slots = 0;
      for (const EniView& eni : inputs.enis) {
        if (eni.trunk || eni.excluded || (top.custom_networking && eni.primary)) continue;
        free_slots += std::max(0, slots - eni.cidrs);
      }
      if (plan.target.short_count > free_slots &&
          HasRoomForEni(top, inputs.stats, inputs.unmanaged_enis, inputs.trunk_eni_expected)) {
        plan.increase = IncreaseStep{std::nullopt, std::min(plan.target.short_count, slots)};
      }
    }
    if (!IsPoolTooLow(Effective(config, inputs.signals), inputs.stats)) {
      // Within the band: no growth (the top's rules would grow to it).
      plan.increase.reset();
      plan.too_low = false;
      plan.in_backoff = false;
      plan.eni_limit_reached = false;
    }
    return plan;
  }
};

static_assert(WarmPoolPolicy<ChurnAdaptivePolicy>);

}  // namespace enipool

#endif  // ENIPOOL_POLICY_CHURN_ADAPTIVE_H_
