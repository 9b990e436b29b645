// -----------------------------------------------------------------------------
// File: policy/policy.h
// -----------------------------------------------------------------------------
//
// The `WarmPoolPolicy` concept: what a warm-pool policy is to the node
// controller (controller.h) and the cluster simulator (sim/cluster.h). A
// policy is pure — the pool's state, the node's timers and its measured
// signals in, a plan out — so the same type is tested as a function, run in
// thousands of simulated nodes, and run on a real node.
//
// It provides:
//   * `WarmPoolPolicy<P>`: P has
//       absl::string_view name() const;
//       bool ShouldCheck(const WarmPoolConfig&, const PoolStats&,
//                        const PoolSignals&) const;           // O(1), no views
//       bool NeedsFreeCidrs(const WarmPoolConfig&, const ReconcileInputs&) const;
//       ReconcilePlan Plan(const WarmPoolConfig&, const ReconcileInputs&) const;
//     and is copy-constructible. ShouldCheck is the cheap trigger: when it
//     says false, the controller builds no per-ENI views and calls nothing
//     else (until the pool changes or a timer runs out). NeedsFreeCidrs says
//     whether Plan will read ReconcileInputs::free_cidrs (costly to build);
//     the controller fills every other field of the inputs before asking.
//   * `AssertWarmPoolPolicy<P>()`: the same requirements as static_asserts,
//     one readable message per missing member, for class templates that
//     take a policy (NodeController does).
//   * `ReferencePolicy`: the reference's rules (policy/warm_pool.h,
//     PlanReconcile), one model of the concept.
//   * `AnyWarmPoolPolicy`: any policy behind one type (type erasure, shared
//     and immutable), so a simulator can pick a policy by name at run time
//     while the controller that runs it stays a class template. It models
//     the concept too; the cost is one indirect call per pool check.
//
// Why two forms: on a node the policy is known when the agent is built, so
// `NodeController<Clock, MyPolicy>` inlines it. A policy *lab* compares
// policies chosen from a scenario file or a command line, so the simulator
// stores `AnyWarmPoolPolicy` values; a user's policy type runs there
// unchanged (examples/custom_policy.cpp does both).
//
// Example:
//
//   struct AlwaysTwoFree {   // keep 2 addresses free, never release
//     absl::string_view name() const { return "always-two-free"; }
//     bool ShouldCheck(const enipool::WarmPoolConfig&, const enipool::PoolStats& s,
//                      const enipool::PoolSignals&) const {
//       return s.total_ips - s.assigned_ips < 2;
//     }
//     bool NeedsFreeCidrs(const enipool::WarmPoolConfig&,
//                         const enipool::ReconcileInputs&) const { return false; }
//     enipool::ReconcilePlan Plan(const enipool::WarmPoolConfig& c,
//                                 const enipool::ReconcileInputs& in) const {
//       enipool::WarmPoolConfig two = c;
//       two.warm_ip_target = 2;
//       return enipool::PlanReconcile(two, in);
//     }
//   };
//   static_assert(enipool::WarmPoolPolicy<AlwaysTwoFree>);
//   enipool::AnyWarmPoolPolicy any{AlwaysTwoFree{}};
//
// Thread-safety: policies are values with const members; an
// AnyWarmPoolPolicy may be shared by threads (it only reads).

#ifndef ENIPOOL_POLICY_POLICY_H_
#define ENIPOOL_POLICY_POLICY_H_

#include <concepts>
#include <memory>
#include <type_traits>
#include <utility>

#include "absl/strings/string_view.h"
#include "enipool/datastore.h"
#include "enipool/policy/warm_pool.h"

namespace enipool {

// The concept's parts, one per member, so that a failure names the member.
template <typename P>
concept HasPolicyName = requires(const P& policy) {
  { policy.name() } -> std::convertible_to<absl::string_view>;
};
template <typename P>
concept HasPolicyShouldCheck = requires(const P& policy, const WarmPoolConfig& config,
                                        const PoolStats& stats, const PoolSignals& signals) {
  { policy.ShouldCheck(config, stats, signals) } -> std::same_as<bool>;
};
template <typename P>
concept HasPolicyNeedsFreeCidrs = requires(const P& policy, const WarmPoolConfig& config,
                                           const ReconcileInputs& inputs) {
  { policy.NeedsFreeCidrs(config, inputs) } -> std::same_as<bool>;
};
template <typename P>
concept HasPolicyPlan = requires(const P& policy, const WarmPoolConfig& config,
                                 const ReconcileInputs& inputs) {
  { policy.Plan(config, inputs) } -> std::same_as<ReconcilePlan>;
};

// WarmPoolPolicy
//
// See the file comment.
template <typename P>
concept WarmPoolPolicy = std::copy_constructible<P> && HasPolicyName<P> &&
    HasPolicyShouldCheck<P> && HasPolicyNeedsFreeCidrs<P> && HasPolicyPlan<P>;

// PolicyReadsAddSignals
//
// Whether a policy may read the ADD signals — PoolSignals::add_rate,
// recent_peak_adds, recent_failed_adds, which every Tick updates. True
// unless the policy declares `static constexpr bool kReadsAddSignals =
// false`; a simulator of many nodes then leaves them alone in a pool check
// that has nothing else to do (sim/cluster.h), as nothing would read them.
template <typename P>
inline constexpr bool PolicyReadsAddSignals = true;
template <typename P>
requires requires { P::kReadsAddSignals; }
inline constexpr bool PolicyReadsAddSignals<P> = static_cast<bool>(P::kReadsAddSignals);

// AssertWarmPoolPolicy()
//
// `static_assert(AssertWarmPoolPolicy<P>())` in a template that takes a
// policy: each missing or mistyped member fails with its own message, which
// reads better than a concept's nested diagnostic. Returns true otherwise.
template <typename P>
constexpr bool AssertWarmPoolPolicy() {
  static_assert(std::copy_constructible<P>,
                "enipool::WarmPoolPolicy: the policy must be copy-constructible (a value type)");
  static_assert(HasPolicyName<P>,
                "enipool::WarmPoolPolicy: the policy needs `absl::string_view name() const`");
  static_assert(HasPolicyShouldCheck<P>,
                "enipool::WarmPoolPolicy: the policy needs `bool ShouldCheck(const "
                "WarmPoolConfig&, const PoolStats&, const PoolSignals&) const`");
  static_assert(HasPolicyNeedsFreeCidrs<P>,
                "enipool::WarmPoolPolicy: the policy needs `bool NeedsFreeCidrs(const "
                "WarmPoolConfig&, const ReconcileInputs&) const`");
  static_assert(HasPolicyPlan<P>,
                "enipool::WarmPoolPolicy: the policy needs `ReconcilePlan Plan(const "
                "WarmPoolConfig&, const ReconcileInputs&) const`");
  return WarmPoolPolicy<P>;
}

// ReferencePolicy
//
// The reference's rules, as in policy/warm_pool.h: the trigger is
// IsPoolTooLow || IsPoolTooHigh || (more than the primary ENI &&
// ShouldRemoveExtraEnis on stats alone, which is conservative: Plan looks at
// the views); the plan is PlanReconcile. Reads nothing of PoolSignals.
struct ReferencePolicy {
  [[nodiscard]] static constexpr absl::string_view name() noexcept { return "reference"; }
  static constexpr bool kReadsAddSignals = false;  // see PolicyReadsAddSignals

  [[nodiscard]] bool ShouldCheck(const WarmPoolConfig& config, const PoolStats& stats,
                                 const PoolSignals& /*signals*/) const noexcept {
    // The primary ENI is never freed, so a node with one ENI has none to
    // free whatever the trigger says (it is always on with warm-IP targets).
    const bool other_enis = stats.enis + stats.excluded_enis > 1;
    return IsPoolTooLow(config, stats) || IsPoolTooHigh(config, stats) ||
           (other_enis && ShouldRemoveExtraEnis(config, stats, /*pod_free_eni_exists=*/true));
  }
  [[nodiscard]] bool NeedsFreeCidrs(const WarmPoolConfig& config,
                                    const ReconcileInputs& inputs) const noexcept {
    return enipool::NeedsFreeCidrs(config, inputs.stats, inputs.since_last_decrease);
  }
  [[nodiscard]] ReconcilePlan Plan(const WarmPoolConfig& config,
                                   const ReconcileInputs& inputs) const {
    return PlanReconcile(config, inputs);
  }
};

// AnyWarmPoolPolicy
//
// Holds any WarmPoolPolicy (see the file comment). Copies share the held
// policy, which is never changed. Default-constructed, it holds a
// ReferencePolicy.
class AnyWarmPoolPolicy {
 public:
  AnyWarmPoolPolicy() : AnyWarmPoolPolicy(ReferencePolicy{}) {}

  template <typename P>
  requires(!std::same_as<std::remove_cvref_t<P>, AnyWarmPoolPolicy> &&
           WarmPoolPolicy<std::remove_cvref_t<P>>)
      AnyWarmPoolPolicy(P&& policy)  // NOLINT: implicit, any policy converts
      : held_(std::make_shared<const Model<std::remove_cvref_t<P>>>(std::forward<P>(policy))),
        reads_add_signals_(PolicyReadsAddSignals<std::remove_cvref_t<P>>) {}

  [[nodiscard]] absl::string_view name() const { return held_->Name(); }
  // PolicyReadsAddSignals of the held policy.
  [[nodiscard]] bool reads_add_signals() const noexcept { return reads_add_signals_; }
  [[nodiscard]] bool ShouldCheck(const WarmPoolConfig& config, const PoolStats& stats,
                                 const PoolSignals& signals) const {
    return held_->ShouldCheck(config, stats, signals);
  }
  [[nodiscard]] bool NeedsFreeCidrs(const WarmPoolConfig& config,
                                    const ReconcileInputs& inputs) const {
    return held_->NeedsFreeCidrs(config, inputs);
  }
  [[nodiscard]] ReconcilePlan Plan(const WarmPoolConfig& config,
                                   const ReconcileInputs& inputs) const {
    return held_->Plan(config, inputs);
  }

  // The held policy when it is a `P`, else nullptr.
  template <typename P>
  [[nodiscard]] const P* get_if() const noexcept {
    const auto* model = dynamic_cast<const Model<P>*>(held_.get());
    return model == nullptr ? nullptr : &model->policy;
  }

 private:
  struct Interface {
    virtual ~Interface() = default;
    virtual absl::string_view Name() const = 0;
    virtual bool ShouldCheck(const WarmPoolConfig&, const PoolStats&, const PoolSignals&) const = 0;
    virtual bool NeedsFreeCidrs(const WarmPoolConfig&, const ReconcileInputs&) const = 0;
    virtual ReconcilePlan Plan(const WarmPoolConfig&, const ReconcileInputs&) const = 0;
  };
  template <typename P>
  struct Model final : Interface {
    explicit Model(P p) : policy(std::move(p)) {}
    absl::string_view Name() const override { return policy.name(); }
    bool ShouldCheck(const WarmPoolConfig& config, const PoolStats& stats,
                     const PoolSignals& signals) const override {
      return policy.ShouldCheck(config, stats, signals);
    }
    bool NeedsFreeCidrs(const WarmPoolConfig& config,
                        const ReconcileInputs& inputs) const override {
      return policy.NeedsFreeCidrs(config, inputs);
    }
    ReconcilePlan Plan(const WarmPoolConfig& config, const ReconcileInputs& inputs) const override {
      return policy.Plan(config, inputs);
    }
    P policy;
  };

  std::shared_ptr<const Interface> held_;
  bool reads_add_signals_ = true;
};

static_assert(WarmPoolPolicy<ReferencePolicy>);
static_assert(WarmPoolPolicy<AnyWarmPoolPolicy>);

}  // namespace enipool

#endif  // ENIPOOL_POLICY_POLICY_H_
