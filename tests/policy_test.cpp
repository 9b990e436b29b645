#include "enipool/policy/policy.h"

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>

#include "absl/time/time.h"
#include "enipool/policy/catalog.h"
#include "enipool/policy/churn_adaptive.h"
#include "enipool/policy/warm_pool.h"
#include "enipool/sim/cluster.h"
#include "enipool/sim/scenario.h"

namespace {

using enipool::AnyWarmPoolPolicy;
using enipool::ChurnAdaptivePolicy;
using enipool::PoolSignals;
using enipool::PoolStats;
using enipool::ReconcileInputs;
using enipool::ReconcilePlan;
using enipool::ReferencePolicy;
using enipool::WarmPoolConfig;
using enipool::WarmPoolPolicy;

// --- concept accept / reject (one type per missing or mistyped member) -------

struct Good {
  absl::string_view name() const { return "good"; }
  bool ShouldCheck(const WarmPoolConfig&, const PoolStats&, const PoolSignals&) const {
    return false;
  }
  bool NeedsFreeCidrs(const WarmPoolConfig&, const ReconcileInputs&) const { return false; }
  ReconcilePlan Plan(const WarmPoolConfig&, const ReconcileInputs&) const { return {}; }
};
struct MissingPlan {
  absl::string_view name() const { return "x"; }
  bool ShouldCheck(const WarmPoolConfig&, const PoolStats&, const PoolSignals&) const {
    return false;
  }
  bool NeedsFreeCidrs(const WarmPoolConfig&, const ReconcileInputs&) const { return false; }
};
struct PlanReturnsBool : Good {
  bool Plan(const WarmPoolConfig&, const ReconcileInputs&) const { return true; }
};
struct MutatingShouldCheck {  // not const: a policy is pure
  absl::string_view name() const { return "x"; }
  bool ShouldCheck(const WarmPoolConfig&, const PoolStats&, const PoolSignals&) { return false; }
  bool NeedsFreeCidrs(const WarmPoolConfig&, const ReconcileInputs&) const { return false; }
  ReconcilePlan Plan(const WarmPoolConfig&, const ReconcileInputs&) const { return {}; }
};
struct MissingName {
  bool ShouldCheck(const WarmPoolConfig&, const PoolStats&, const PoolSignals&) const {
    return false;
  }
  bool NeedsFreeCidrs(const WarmPoolConfig&, const ReconcileInputs&) const { return false; }
  ReconcilePlan Plan(const WarmPoolConfig&, const ReconcileInputs&) const { return {}; }
};
struct NotCopyable : Good {
  NotCopyable() = default;
  NotCopyable(const NotCopyable&) = delete;
};

static_assert(WarmPoolPolicy<Good>);
static_assert(WarmPoolPolicy<ReferencePolicy>);
static_assert(WarmPoolPolicy<ChurnAdaptivePolicy>);
static_assert(WarmPoolPolicy<AnyWarmPoolPolicy>);
static_assert(!WarmPoolPolicy<MissingPlan>);
static_assert(!WarmPoolPolicy<PlanReturnsBool>);
static_assert(!WarmPoolPolicy<MutatingShouldCheck>);
static_assert(!WarmPoolPolicy<MissingName>);
static_assert(!WarmPoolPolicy<NotCopyable>);
static_assert(enipool::AssertWarmPoolPolicy<Good>());

TEST_CASE("The policy concept accepts the shipped policies and rejects each broken shape") {
  // The static_asserts above are the test; this case checks the erased
  // wrapper forwards to what it holds.
  const AnyWarmPoolPolicy any{Good{}};
  CHECK(any.name() == "good");
  CHECK(any.get_if<Good>() != nullptr);
  CHECK(any.get_if<ReferencePolicy>() == nullptr);
  CHECK(AnyWarmPoolPolicy{}.name() == "reference");
}

// --- ReferencePolicy is the reference's rules --------------------------------

WarmPoolConfig RandomConfig(std::mt19937_64& rng) {
  WarmPoolConfig c;
  c.mode = rng() % 2 == 0 ? enipool::AddressMode::kPrefix : enipool::AddressMode::kSecondaryIp;
  c.warm_eni_target = static_cast<int>(rng() % 3);
  c.warm_ip_target = static_cast<int>(rng() % 4 == 0 ? 0 : rng() % 20);
  c.minimum_ip_target = static_cast<int>(rng() % 3 == 0 ? 0 : rng() % 30);
  c.warm_prefix_target = static_cast<int>(rng() % 3);
  c.max_enis = 3;
  c.ipv4_per_eni = 10;
  c.max_pods = 110;
  return c;
}

PoolStats RandomStats(std::mt19937_64& rng) {
  PoolStats s;
  s.enis = 1 + static_cast<int>(rng() % 3);
  s.total_prefixes = static_cast<std::int64_t>(rng() % 10);
  s.total_ips = static_cast<std::int64_t>(rng() % 100);
  s.assigned_ips = s.total_ips == 0 ? 0 : static_cast<std::int64_t>(rng()) % (s.total_ips + 1);
  s.cooling_ips = (s.total_ips - s.assigned_ips) / 3;
  s.available_ips = s.total_ips - s.assigned_ips;
  s.free_prefixes = s.total_prefixes / 2;
  return s;
}

TEST_CASE("ReferencePolicy plans exactly what PlanReconcile plans and triggers on its predicates") {
  std::mt19937_64 rng(5);
  const ReferencePolicy reference;
  for (int i = 0; i < 2000; ++i) {
    CAPTURE(i);
    const WarmPoolConfig config = RandomConfig(rng);
    ReconcileInputs inputs;
    inputs.stats = RandomStats(rng);
    inputs.since_last_decrease = absl::Seconds(static_cast<double>(rng() % 60));
    CHECK(reference.Plan(config, inputs) == enipool::PlanReconcile(config, inputs));
    CHECK(reference.NeedsFreeCidrs(config, inputs) ==
          enipool::NeedsFreeCidrs(config, inputs.stats, inputs.since_last_decrease));
    const bool low_or_high = enipool::IsPoolTooLow(config, inputs.stats) ||
                             enipool::IsPoolTooHigh(config, inputs.stats);
    // The trigger is never quieter than the grow / shrink predicates.
    if (low_or_high) CHECK(reference.ShouldCheck(config, inputs.stats, inputs.signals));
  }
}

// --- ChurnAdaptivePolicy -----------------------------------------------------

TEST_CASE("ChurnAdaptivePolicy sizes the pool as arrivals during the refill plus two deviations") {
  const ChurnAdaptivePolicy adaptive{.min_warm = 2, .max_warm = 40};
  PoolSignals signals;
  CHECK(adaptive.WarmTarget(signals) == 2);  // no arrivals: the floor
  signals.add_rate = 1;                       // 1 pod/s
  signals.refill_latency = absl::Seconds(1);
  signals.refills_measured = 1;
  // Lead time 5 s + 1 s: L = 6, W = ceil(6 + 2 * sqrt(6)) = ceil(10.9) = 11.
  CHECK(adaptive.WarmTarget(signals) == 11);
  signals.recent_failed_adds = 5;  // pods already waiting add to it
  CHECK(adaptive.WarmTarget(signals) == 16);
  signals.recent_failed_adds = 0;
  signals.recent_peak_adds = 14.2;  // batches of 15 pods: at least one batch
  CHECK(adaptive.WarmTarget(signals) == 15);
  signals.recent_peak_adds = 0;
  signals.refills_measured = 0;  // unmeasured: the assumed 2 s
  CHECK(adaptive.WarmTarget(signals) ==
        static_cast<int>(std::ceil(7 + 2 * std::sqrt(7.0))));
  signals.add_rate = 100;  // a storm: the ceiling
  CHECK(adaptive.WarmTarget(signals) == 40);
  // Below W the plan is the reference's growing to the top of the band,
  // 2 W, cooling-aware.
  WarmPoolConfig config;
  config.max_enis = 3;
  config.ipv4_per_eni = 10;
  ReconcileInputs inputs;
  inputs.signals = signals;
  inputs.stats.enis = 1;
  WarmPoolConfig top = config;
  top.warm_ip_target = 80;
  top.count_cooling_as_available = false;  // what a new pod can take now
  CHECK(adaptive.Plan(config, inputs) == enipool::PlanReconcile(top, inputs));
  // With W = 2 (no arrivals) the pool holds between 2 and 4 free addresses.
  const PoolSignals calm;
  PoolStats three_free{.total_ips = 9, .assigned_ips = 6, .available_ips = 3, .enis = 1};
  CHECK_FALSE(adaptive.ShouldCheck(config, three_free, calm));
  PoolStats one_free{.total_ips = 9, .assigned_ips = 8, .available_ips = 1, .enis = 1};
  CHECK(adaptive.ShouldCheck(config, one_free, calm));
  PoolStats six_free{.total_ips = 9, .assigned_ips = 3, .available_ips = 6, .enis = 1};
  CHECK(adaptive.ShouldCheck(config, six_free, calm));
}

TEST_CASE("The controller measures the ADD rate and refill latency an adaptive policy reads") {
  enipool::sim::ClusterConfig config;
  config.nodes = 4;
  config.workload = enipool::sim::ChurnWorkload{
      .arrivals_per_second = 2,  // 60 pods on average: well below the 4 x 27 pods capacity
      .lifetime = {enipool::sim::Lifetime::Kind::kExponential, absl::Seconds(30), 1},
      .initial_pods = 0};
  config.duration = absl::Minutes(10);
  config.policy = ChurnAdaptivePolicy{};
  auto cluster = enipool::sim::Cluster::Create(config);
  REQUIRE_MESSAGE(cluster.ok(), cluster.status());
  const auto report = (*cluster)->Run();
  REQUIRE_MESSAGE(report.ok(), report.status());
  double rate = 0;
  for (int n = 0; n < config.nodes; ++n) {
    const PoolSignals& s = (*cluster)->node(n).signals();
    CHECK(s.refills_measured > 0);
    CHECK(s.refill_latency > absl::ZeroDuration());
    CHECK(s.refill_latency < absl::Seconds(30));
    rate += s.add_rate;
  }
  // About 2 ADDs a second over the cluster (an exponentially weighted
  // estimate of a Poisson stream: loose bounds).
  CHECK(rate > 1.0);
  CHECK(rate < 4.0);
  CHECK((*cluster)->CheckConsistency().ok());
  CHECK(report->description.find("churn-adaptive policy") != std::string::npos);
}

TEST_CASE("PolicyByName knows the shipped policies and names them when it does not") {
  for (const std::string& name : enipool::PolicyNames()) {
    const auto policy = enipool::PolicyByName(name);
    REQUIRE_MESSAGE(policy.ok(), policy.status());
    CHECK(policy->name() == name);
  }
  const auto unknown = enipool::PolicyByName("magic");
  CHECK(unknown.status().code() == absl::StatusCode::kNotFound);
  CHECK(unknown.status().message().find("churn-adaptive") != absl::string_view::npos);
  enipool::sim::ClusterConfig config;
  CHECK(enipool::sim::ApplySetting(config, "policy", "churn-adaptive").ok());
  CHECK(config.policy.name() == "churn-adaptive");
  CHECK_FALSE(enipool::sim::ApplySetting(config, "policy", "magic").ok());
  CHECK(config.policy.name() == "churn-adaptive");  // unchanged
}

}  // namespace
