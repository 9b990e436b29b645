#include "enipool/policy/policy.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>
#include <string>

#include "absl/time/time.h"
#include "enipool/policy/catalog.h"
#include "enipool/policy/churn_adaptive.h"
#include "enipool/policy/prefix_fallback.h"
#include "enipool/policy/warm_pool.h"
#include "enipool/sim/cluster.h"
#include "enipool/sim/scenario.h"
#include "testing/reference_policy_model.h"

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

struct GoodIgnoringAddSignals : Good {
  static constexpr bool kReadsAddSignals = false;
};

TEST_CASE("Only a policy that declares it may skip the ADD signals, and AnyWarmPoolPolicy keeps the answer") {
  // Undeclared means "reads them": the safe default for a user's policy.
  CHECK(enipool::PolicyReadsAddSignals<Good>);
  CHECK(enipool::PolicyReadsAddSignals<ChurnAdaptivePolicy>);
  CHECK_FALSE(enipool::PolicyReadsAddSignals<GoodIgnoringAddSignals>);
  CHECK_FALSE(enipool::PolicyReadsAddSignals<ReferencePolicy>);
  CHECK_FALSE(enipool::PolicyReadsAddSignals<enipool::PrefixFallbackPolicy>);
  CHECK(AnyWarmPoolPolicy(Good{}).reads_add_signals());
  CHECK(AnyWarmPoolPolicy(ChurnAdaptivePolicy{}).reads_add_signals());
  CHECK_FALSE(AnyWarmPoolPolicy(GoodIgnoringAddSignals{}).reads_add_signals());
  CHECK_FALSE(AnyWarmPoolPolicy().reads_add_signals());  // holds a ReferencePolicy
  const AnyWarmPoolPolicy copy = AnyWarmPoolPolicy(ChurnAdaptivePolicy{});
  CHECK(AnyWarmPoolPolicy(copy).reads_add_signals());
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
  top.warm_ip_target = 60;  // 1.5 W
  top.count_cooling_as_available = false;  // what a new pod can take now
  CHECK(adaptive.Plan(config, inputs) == enipool::PlanReconcile(top, inputs));
  // With W = 2 (no arrivals) the pool holds between 2 and 3 free addresses.
  const PoolSignals calm;
  PoolStats three_free{.total_ips = 9, .assigned_ips = 6, .available_ips = 3, .enis = 1};
  CHECK_FALSE(adaptive.ShouldCheck(config, three_free, calm));
  PoolStats four_free{.total_ips = 9, .assigned_ips = 5, .available_ips = 4, .enis = 1};
  CHECK(adaptive.ShouldCheck(config, four_free, calm));
  PoolStats one_free{.total_ips = 9, .assigned_ips = 8, .available_ips = 1, .enis = 1};
  CHECK(adaptive.ShouldCheck(config, one_free, calm));
  PoolStats six_free{.total_ips = 9, .assigned_ips = 3, .available_ips = 6, .enis = 1};
  CHECK(adaptive.ShouldCheck(config, six_free, calm));
}

// The adaptive policy's decisions on random secondary-IP pools, against a
// model written from the file comment of policy/churn_adaptive.h: W found
// by search (the least integer at least λR + z·√(λR), at least the peak
// batch, plus the waiting pods, clamped), the band [W, ⌈1.5 W⌉] of free
// addresses (cooling ones not free), and "slow step first". The counts come
// from the brute-force reference model (testing/reference_policy_model.h),
// which shares no code with policy/warm_pool.h.
namespace reference = enipool::testing::reference_policy;

int ModelWarmTarget(const ChurnAdaptivePolicy& p, const PoolSignals& s) {
  const double refill = absl::ToDoubleSeconds(s.refills_measured > 0 ? s.refill_latency
                                                                      : p.assumed_refill);
  const double lead_arrivals = s.add_rate * (absl::ToDoubleSeconds(p.detection) + refill);
  int w = 0;
  while (w < lead_arrivals + p.z * std::sqrt(lead_arrivals) || w < s.recent_peak_adds) ++w;
  w += s.recent_failed_adds;
  return std::min(std::max(w, p.min_warm), std::max(p.min_warm, p.max_warm));
}

TEST_CASE("ChurnAdaptivePolicy keeps free addresses in its band and creates ENIs first on random pools") {
  std::mt19937_64 rng(0xada97);
  const auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const auto chance = [&](double p) { return std::bernoulli_distribution(p)(rng); };
  const ChurnAdaptivePolicy adaptive{.min_warm = 2, .max_warm = 48};
  int grew = 0, created_first = 0, released_any = 0, in_band = 0;
  for (int round = 0; round < 2000; ++round) {
    CAPTURE(round);
    WarmPoolConfig config;  // secondary IPs, WARM_ENI_TARGET unused by the policy
    config.max_enis = uniform(2, 4);
    config.ipv4_per_eni = uniform(4, 12);
    config.max_pods = 110;
    const int slots = config.slots_per_eni();
    PoolSignals signals;
    signals.add_rate = chance(0.3) ? 0 : std::uniform_real_distribution<double>(0, 3)(rng);
    signals.refills_measured = uniform(0, 3);
    signals.refill_latency = absl::Milliseconds(uniform(100, 8000));
    signals.recent_peak_adds = chance(0.5) ? 0 : uniform(0, 120) / 10.0;
    signals.recent_failed_adds = chance(0.7) ? 0 : uniform(1, 20);

    // A pool of /32s: each assigned, cooling or free.
    reference::Pool pool;
    ReconcileInputs in;
    in.now = absl::UnixEpoch() + absl::Hours(1);
    in.since_last_decrease = absl::Seconds(chance(0.2) ? 10 : 100);
    in.signals = signals;
    const int enis = uniform(1, config.max_enis);
    std::uint32_t next = 0x0A000000u;
    for (int d = 0; d < enis; ++d) {
      reference::Eni e{.id = "eni-" + std::to_string(d), .device = d, .primary = d == 0,
                       .age = absl::Minutes(5)};
      enipool::EniView v;
      v.id = *enipool::EniId::Create(e.id);
      v.device_number = d;
      v.primary = d == 0;
      v.created = in.now - e.age;
      std::vector<enipool::Ipv4Prefix> free;
      const int cidrs = uniform(0, slots);
      for (int c = 0; c < cidrs; ++c) {
        const int state = uniform(0, 2);  // 0 free, 1 assigned, 2 cooling
        e.cidrs.push_back({32, state == 1 ? 1 : 0, state == 2 ? 1 : 0});
        const auto cidr = enipool::Ipv4Prefix::FromAddress(enipool::Ipv4Address(next++));
        ++v.cidrs;
        ++v.secondary_ips;
        ++v.total_ips;
        v.assigned_ips += state == 1 ? 1 : 0;
        v.pods += state == 1 ? 1 : 0;
        v.cooling_ips += state == 2 ? 1 : 0;
        v.cooling_all += state == 2 ? 1 : 0;
        if (state != 1) {
          ++v.free_cidrs;
          ++v.free_cidrs_all;
          free.push_back(cidr);
        }
        in.stats.total_ips += 1;
        in.stats.assigned_ips += state == 1 ? 1 : 0;
        in.stats.cooling_ips += state == 2 ? 1 : 0;
      }
      pool.push_back(e);
      in.enis.push_back(v);
      in.free_cidrs.push_back(free);
    }
    in.stats.available_ips = in.stats.total_ips - in.stats.assigned_ips;
    in.stats.enis = enis;

    const int w = ModelWarmTarget(adaptive, signals);
    const int top = static_cast<int>(std::ceil(1.5 * w));
    CHECK(adaptive.WarmTarget(signals) == w);
    reference::Config low = reference::ConfigOf(config), high = low;
    low.warm_ip_target = w;
    high.warm_ip_target = top;
    low.count_cooling_as_available = high.count_cooling_as_available = false;
    const reference::Counts counts = reference::CountsOf(low, pool);
    const bool too_low = reference::TooLow(low, pool);
    CHECK(too_low == (counts.available < w && counts.total < config.max_pods));

    const ReconcilePlan plan = adaptive.Plan(config, in);
    CAPTURE(plan);
    CHECK(adaptive.ShouldCheck(config, in.stats, signals) ==
          (too_low || counts.available > top ||
           (enis > 1 && reference::ShouldRemoveExtraEnis(high, pool))));
    if (too_low) {
      ++grew;
      const std::int64_t shortfall = reference::Short(high, pool);  // up to the band's top
      std::int64_t free_slots = 0;
      for (const reference::Eni& e : pool) free_slots += slots - static_cast<std::int64_t>(e.cidrs.size());
      const reference::Eni* candidate = reference::IncreaseCandidate(high, pool);
      const bool room = reference::HasRoomForEni(high, pool, 0, false);
      REQUIRE(shortfall > 0);
      if (room && (candidate == nullptr || shortfall > free_slots)) {
        REQUIRE(plan.increase.has_value());
        CHECK_FALSE(plan.increase->eni.has_value());
        CHECK(plan.increase->count == std::min<std::int64_t>(shortfall, slots));
        if (candidate != nullptr) ++created_first;
      } else if (candidate != nullptr) {
        REQUIRE(plan.increase.has_value());
        REQUIRE(plan.increase->eni.has_value());
        CHECK(plan.increase->eni->ToString() == candidate->id);
        CHECK(plan.increase->count ==
              std::min<std::int64_t>(slots - static_cast<std::int64_t>(candidate->cidrs.size()),
                                     shortfall));
      } else {
        CHECK_FALSE(plan.increase.has_value());
        CHECK(plan.eni_limit_reached);
      }
      CHECK(plan.releases.empty());
    } else {
      CHECK_FALSE(plan.increase.has_value());
      std::int64_t released = 0;
      for (const enipool::CidrRelease& r : plan.releases) released += static_cast<std::int64_t>(r.cidrs.size());
      if (counts.available > top && in.since_last_decrease > absl::Seconds(30)) {
        // Back to the band's top: the free /32s beyond it, as far as free
        // (unassigned) CIDRs allow.
        std::int64_t unassigned = 0;
        for (const auto& f : in.free_cidrs) unassigned += static_cast<std::int64_t>(f.size());
        CHECK(released == std::min<std::int64_t>(counts.available - top, unassigned));
        released_any += released > 0 ? 1 : 0;
      } else {
        CHECK(released == 0);
        in_band += counts.available <= top ? 1 : 0;
      }
    }
  }
  // Every branch was exercised.
  CHECK(grew > 100);
  CHECK(created_first > 10);
  CHECK(released_any > 50);
  CHECK(in_band > 50);
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
