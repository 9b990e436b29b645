// Table tests of the warm-pool rules (docs/reference-behavior.md §4.2–§4.8), one function at a
// time, in both modes. The expected values are worked out by hand from the
// reference's formulas; each row says how.

#include "enipool/policy/warm_pool.h"

#include <doctest/doctest.h>

#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "testing/reference_policy_model.h"

namespace enipool {
inline std::ostream& operator<<(std::ostream& os, const TargetState& t) {
  return os << "{short " << t.short_count << ", over " << t.over_count
            << (t.defined ? "" : ", undefined") << "}";
}
inline std::ostream& operator<<(std::ostream& os, const ReconcilePlan& plan) {
  return os << plan.ToString();
}
inline std::ostream& operator<<(std::ostream& os, const EniId& id) { return os << id.view(); }
}  // namespace enipool

namespace {

namespace reference = enipool::testing::reference_policy;
using enipool::AddressMode;
using enipool::EniId;
using enipool::EniView;
using enipool::Ipv4Prefix;
using enipool::PoolStats;
using enipool::ReconcileInputs;
using enipool::ReconcilePlan;
using enipool::TargetState;
using enipool::WarmPoolConfig;

constexpr AddressMode kSip = AddressMode::kSecondaryIp;
constexpr AddressMode kPd = AddressMode::kPrefix;

// A pool in the current mode: `total` addresses, `assigned` of them to pods,
// `cooling` of the rest in cooldown; prefix counts for prefix mode.
constexpr PoolStats Stats(std::int64_t total, std::int64_t assigned, std::int64_t cooling = 0,
                          std::int64_t prefixes = 0, std::int64_t free_prefixes = 0, int enis = 1) {
  PoolStats s;
  s.total_ips = total;
  s.assigned_ips = assigned;
  s.cooling_ips = cooling;
  s.available_ips = total - assigned;
  s.total_prefixes = prefixes;
  s.free_prefixes = free_prefixes;
  s.enis = enis;
  return s;
}

// p3dn.24xlarge: 15 ENIs × 50 addresses (S = 49); m5.large: 3 × 10 (S = 9).
constexpr WarmPoolConfig P3dn(AddressMode mode = kSip) {
  return WarmPoolConfig{.mode = mode, .max_enis = 15, .ipv4_per_eni = 50, .max_pods = 737};
}
constexpr WarmPoolConfig M5Large(AddressMode mode = kSip) {
  return WarmPoolConfig{.mode = mode, .max_enis = 3, .ipv4_per_eni = 10, .max_pods = 110};
}
constexpr WarmPoolConfig With(WarmPoolConfig c, int wet, int w, int m, int wpt) {
  c.warm_eni_target = wet;
  c.warm_ip_target = w;
  c.minimum_ip_target = m;
  c.warm_prefix_target = wpt;
  return c;
}

EniId Id(const char* text) { return *EniId::Create(text); }
Ipv4Prefix Cidr(const char* text) { return *Ipv4Prefix::Parse(text); }

// The rules are constexpr: the defaults decide at compile time.
static_assert(enipool::IsPoolTooLow(P3dn(), Stats(0, 0)));
static_assert(!enipool::IsPoolTooLow(P3dn(), Stats(49, 0)));
static_assert(enipool::ComputeTargetState(P3dn(), Stats(10, 3)) == TargetState{});
static_assert(enipool::ComputeTargetState(With(P3dn(), 1, 5, 0, 0), Stats(10, 8)) ==
              TargetState{3, 0, true});
static_assert(!enipool::IsPoolTooHigh(P3dn(), Stats(1000, 0)));
static_assert(enipool::PrefixesNeeded(With(M5Large(kPd), 1, 0, 0, 3), Stats(16, 0, 0, 1, 1)) == 2);
static_assert(enipool::HasRoomForEni(M5Large(), Stats(0, 0, 0, 0, 0, 2), 0, false));
static_assert(!enipool::HasRoomForEni(M5Large(), Stats(0, 0, 0, 0, 0, 2), 0, true));
static_assert(enipool::ShouldRemoveExtraEnis(M5Large(), Stats(18, 0), false));

// ---------------------------------------------------------------------------
// ComputeTargetState (docs/reference-behavior.md §4.5)
// ---------------------------------------------------------------------------

struct TargetCase {
  const char* name;
  WarmPoolConfig config;
  PoolStats stats;
  TargetState want;
};

PoolStats WithExcludedPrefixes(PoolStats s, std::int64_t prefixes, std::int64_t free) {
  s.excluded_prefixes = prefixes;
  s.excluded_free_prefixes = free;
  return s;
}

WarmPoolConfig CoolingAware(WarmPoolConfig c) {
  c.count_cooling_as_available = false;
  return c;
}

TEST_CASE(
    "ComputeTargetState gives short and over in IPs (secondary IPs) and prefixes (prefix mode)") {
  const TargetCase cases[] = {
      {"no IP targets: not defined", With(M5Large(), 1, 0, 0, 0), Stats(10, 3), {}},
      {"W=5, 2 available: short 5-2 = 3", With(M5Large(), 1, 5, 0, 0), Stats(10, 8), {3, 0, true}},
      {"W=5, 12 available: over 12-5 = 7", With(M5Large(), 1, 5, 0, 0), Stats(20, 8), {0, 7, true}},
      {"M=10 W=2, total 4: short M-T = 6, over clamped to 0",
       With(M5Large(), 1, 2, 10, 0),
       Stats(4, 0),
       {6, 0, true}},
      {"M=10 W=2, total 20, 5 available: over 5-2 = 3",
       With(M5Large(), 1, 2, 10, 0),
       Stats(20, 15),
       {0, 3, true}},
      {"M=10 W=2, 12 free: over capped by T-M = 2",
       With(M5Large(), 1, 2, 10, 0),
       Stats(12, 0),
       {0, 2, true}},
      {"pitfall 2: M=10 alone, 10 all assigned: short max(0-0, 10-10) = 0",
       With(M5Large(), 1, 0, 10, 0),
       Stats(10, 10),
       {0, 0, true}},
      {"pitfall 1: W=2, 18 total, 16 assigned, 2 cooling: short 0 (cooling counts as available)",
       With(M5Large(), 1, 2, 0, 0),
       Stats(18, 16, 2),
       {0, 0, true}},
      {"cooling-aware policy: the same pool is short 2",
       CoolingAware(With(M5Large(), 1, 2, 0, 0)),
       Stats(18, 16, 2),
       {2, 0, true}},
      {"pitfall 3: W=0 and M=0 set explicitly are not defined",
       With(M5Large(), 1, 0, 0, 0),
       Stats(0, 0),
       {}},
      {"PD, W=5, 2 free in the only prefix: short 3 IPs = ceil(3/16) = 1 prefix",
       With(M5Large(kPd), 1, 5, 0, 0),
       Stats(16, 14, 0, 1, 0),
       {1, 0, true}},
      {"PD, W=16, 3 prefixes, 1 pod, 2 free prefixes: over min(2, 3 - ceil(17/16)) = 1",
       With(M5Large(kPd), 1, 16, 0, 0),
       Stats(48, 1, 0, 3, 2),
       {0, 1, true}},
      {"PD, M=20 on an empty pool: short ceil(20/16) = 2 prefixes (asking for 20 is like asking "
       "for 32)",
       With(M5Large(kPd), 1, 0, 20, 0),
       Stats(0, 0),
       {2, 0, true}},
      {"PD, M=20, 2 free prefixes: over min(2, 2 - ceil(20/16)) = 0 although 12 IPs are over",
       With(M5Large(kPd), 1, 0, 20, 0),
       Stats(32, 0, 0, 2, 2),
       {0, 0, true}},
      {"PD, the two clamps: W=1 M=40, 4 free prefixes: min(4, 4-1) = 3, then min(3, 4-3) = 1",
       With(M5Large(kPd), 1, 1, 40, 0),
       Stats(64, 0, 0, 4, 4),
       {0, 1, true}},
      {"PD, pitfall 8: a free prefix on an excluded ENI counts in F and P: over min(2, 2-1) = 1",
       With(M5Large(kPd), 1, 16, 0, 0),
       WithExcludedPrefixes(Stats(16, 0, 0, 1, 1), 1, 1),
       {0, 1, true}},
      {"PD, the same pool without the excluded prefix: over min(1, 1-1) = 0",
       With(M5Large(kPd), 1, 16, 0, 0),
       Stats(16, 0, 0, 1, 1),
       {0, 0, true}},
      {"PD, WARM_PREFIX_TARGET alone is not an IP target",
       With(M5Large(kPd), 1, 0, 0, 1),
       Stats(16, 0, 0, 1, 1),
       {}},
  };
  for (const TargetCase& c : cases) {
    CAPTURE(c.name);
    CHECK(enipool::ComputeTargetState(c.config, c.stats) == c.want);
  }
}

// ---------------------------------------------------------------------------
// IsPoolTooLow (docs/reference-behavior.md §4.4), IsPoolTooHigh (docs/reference-behavior.md §4.7)
// ---------------------------------------------------------------------------

struct PredicateCase {
  const char* name;
  WarmPoolConfig config;
  PoolStats stats;
  bool want;
};

WarmPoolConfig MaxPods(WarmPoolConfig c, int max_pods) {
  c.max_pods = max_pods;
  return c;
}

TEST_CASE(
    "IsPoolTooLow follows WARM_ENI_TARGET, the IP targets or WARM_PREFIX_TARGET, capped by max "
    "pods") {
  const PredicateCase cases[] = {
      {"default WARM_ENI_TARGET=1 (S=49): 48 free < 49 is low", P3dn(), Stats(49, 1), true},
      {"default: 49 free is not low", P3dn(), Stats(98, 49), false},
      {"WARM_ENI_TARGET=2: 97 free < 98 is low", With(P3dn(), 2, 0, 0, 0), Stats(98, 1), true},
      {"WARM_ENI_TARGET=2: 98 free is not low", With(P3dn(), 2, 0, 0, 0), Stats(147, 49), false},
      {"pitfall 4: WARM_ENI_TARGET=0 is low only with nothing free", With(P3dn(), 0, 0, 0, 0),
       Stats(0, 0), true},
      {"pitfall 4: WARM_ENI_TARGET=0 with 1 free is not low", With(P3dn(), 0, 0, 0, 0),
       Stats(49, 48), false},
      {"pitfall 6: total >= max pods stops growth with nothing free", MaxPods(P3dn(), 110),
       Stats(110, 110), false},
      {"pitfall 6: one address below max pods grows", MaxPods(P3dn(), 110), Stats(109, 109), true},
      {"W=2 overrides WARM_ENI_TARGET: 1 free is low", With(P3dn(), 1, 2, 0, 0), Stats(10, 9),
       true},
      {"W=2 overrides WARM_ENI_TARGET: 2 free is not low though < S", With(P3dn(), 1, 2, 0, 0),
       Stats(10, 8), false},
      {"pitfall 3: W=0 M=0 fall back to WARM_ENI_TARGET (1 free < 49)", With(P3dn(), 1, 0, 0, 0),
       Stats(10, 9), true},
      {"pitfall 2: MINIMUM_IP_TARGET=10 alone: 10 all assigned is not low (the pool freezes)",
       With(P3dn(), 1, 0, 10, 0), Stats(10, 10), false},
      {"MINIMUM_IP_TARGET=10 alone: 5 total is low", With(P3dn(), 1, 0, 10, 0), Stats(5, 0), true},
      {"pitfall 1: W=2, 18 total, 16 assigned, 2 cooling is not low", With(P3dn(), 1, 2, 0, 0),
       Stats(18, 16, 2), false},
      {"cooling-aware policy: the same pool is low", CoolingAware(With(P3dn(), 1, 2, 0, 0)),
       Stats(18, 16, 2), true},
      {"cooling-aware policy on WARM_ENI_TARGET: 49 free of which 1 cooling is low",
       CoolingAware(P3dn()), Stats(98, 49, 1), true},
      {"PD WARM_PREFIX_TARGET=1: one prefix with one pod (15 free) is low",
       With(M5Large(kPd), 1, 0, 0, 1), Stats(16, 1, 0, 1, 0), true},
      {"PD WARM_PREFIX_TARGET=1: one free prefix is not low", With(M5Large(kPd), 1, 0, 0, 1),
       Stats(16, 0, 0, 1, 1), false},
      {"PD WARM_PREFIX_TARGET=2: 31 free is low", With(M5Large(kPd), 1, 0, 0, 2),
       Stats(32, 1, 0, 2, 1), true},
      {"pitfall 5: PD WARM_PREFIX_TARGET=0 is low with nothing free",
       With(M5Large(kPd), 1, 0, 0, 0), Stats(16, 16, 0, 1, 0), true},
      {"pitfall 5: PD WARM_PREFIX_TARGET=0 with 1 free is not low", With(M5Large(kPd), 1, 0, 0, 0),
       Stats(16, 15, 0, 1, 0), false},
      {"PD never reads WARM_ENI_TARGET", With(M5Large(kPd), 3, 0, 0, 1), Stats(16, 0, 0, 1, 1),
       false},
      {"pitfall 6: PD 7 prefixes = 112 addresses >= 110 max pods is not low",
       With(M5Large(kPd), 1, 0, 0, 1), Stats(112, 112, 0, 7, 0), false},
      {"PD W=5 overrides WARM_PREFIX_TARGET: 4 free is low", With(M5Large(kPd), 1, 5, 0, 1),
       Stats(16, 12, 0, 1, 0), true},
      {"PD W=5: 5 free is not low though WARM_PREFIX_TARGET=1 would be",
       With(M5Large(kPd), 1, 5, 0, 1), Stats(16, 11, 0, 1, 0), false},
  };
  for (const PredicateCase& c : cases) {
    CAPTURE(c.name);
    CHECK(enipool::IsPoolTooLow(c.config, c.stats) == c.want);
  }
}

TEST_CASE(
    "IsPoolTooHigh: over > 0 with IP targets, free prefixes > WARM_PREFIX_TARGET in PD, never on "
    "WARM_ENI_TARGET") {
  const PredicateCase cases[] = {
      {"SIP on WARM_ENI_TARGET never releases single IPs", P3dn(), Stats(735, 0), false},
      {"SIP W=2: 5 free is high", With(P3dn(), 1, 2, 0, 0), Stats(5, 0), true},
      {"SIP W=2: 2 free is not high", With(P3dn(), 1, 2, 0, 0), Stats(5, 3), false},
      {"SIP M=10 W=2: 12 free is high (over 2)", With(P3dn(), 1, 2, 10, 0), Stats(12, 0), true},
      {"SIP M=10 W=2: 10 free is not high (the minimum holds them)", With(P3dn(), 1, 2, 10, 0),
       Stats(10, 0), false},
      {"PD WARM_PREFIX_TARGET=1: two free prefixes is high", With(M5Large(kPd), 1, 0, 0, 1),
       Stats(32, 0, 0, 2, 2), true},
      {"PD WARM_PREFIX_TARGET=1: one free prefix is not high", With(M5Large(kPd), 1, 0, 0, 1),
       Stats(32, 1, 0, 2, 1), false},
      {"pitfall 5: PD WARM_PREFIX_TARGET=0: any free prefix is high",
       With(M5Large(kPd), 1, 0, 0, 0), Stats(16, 0, 0, 1, 1), true},
      {"PD W=16 overrides WARM_PREFIX_TARGET=5: two free prefixes is high",
       With(M5Large(kPd), 1, 16, 0, 5), Stats(32, 0, 0, 2, 2), true},
      {"pitfall 8: PD WARM_PREFIX_TARGET=1, one free prefix plus one on an excluded ENI is high",
       With(M5Large(kPd), 1, 0, 0, 1), WithExcludedPrefixes(Stats(16, 0, 0, 1, 1), 1, 1), true},
      {"pitfall 1: cooling addresses count as free: W=2, 4 free all cooling is high",
       With(P3dn(), 1, 2, 0, 0), Stats(4, 0, 4), true},
      {"cooling-aware policy: the same pool is not high", CoolingAware(With(P3dn(), 1, 2, 0, 0)),
       Stats(4, 0, 4), false},
  };
  for (const PredicateCase& c : cases) {
    CAPTURE(c.name);
    CHECK(enipool::IsPoolTooHigh(c.config, c.stats) == c.want);
  }
}

TEST_CASE(
    "PrefixesNeeded is max(1, short) with IP targets, else max(1, WARM_PREFIX_TARGET - free "
    "prefixes)") {
  struct Case {
    const char* name;
    WarmPoolConfig config;
    PoolStats stats;
    int want;
  };
  const Case cases[] = {
      {"WPT=3 with 1 free prefix: 3-1 = 2", With(M5Large(kPd), 1, 0, 0, 3), Stats(16, 0, 0, 1, 1),
       2},
      {"WPT=1 with 5 free prefixes: at least 1", With(M5Large(kPd), 1, 0, 0, 1),
       Stats(80, 0, 0, 5, 5), 1},
      {"WPT=0: 1", With(M5Large(kPd), 1, 0, 0, 0), Stats(0, 0), 1},
      {"WPT=3, a free prefix on an excluded ENI counts (pitfall 8): 3-2 = 1",
       With(M5Large(kPd), 1, 0, 0, 3), WithExcludedPrefixes(Stats(16, 0, 0, 1, 1), 1, 1), 1},
      {"W=40 on an empty pool: ceil(40/16) = 3", With(M5Large(kPd), 1, 40, 0, 0), Stats(0, 0), 3},
      {"W=5 with 4 free: ceil(1/16) = 1", With(M5Large(kPd), 1, 5, 0, 0), Stats(16, 12, 0, 1, 0),
       1},
      {"W=40 overrides WPT=10: 3", With(M5Large(kPd), 1, 40, 0, 10), Stats(0, 0), 3},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CHECK(enipool::PrefixesNeeded(c.config, c.stats) == c.want);
  }
}

TEST_CASE(
    "ShouldRemoveExtraEnis: always with IP targets, else free addresses >= (target + 1) full "
    "ENIs") {
  struct Case {
    const char* name;
    WarmPoolConfig config;
    PoolStats stats;
    bool pod_free_eni_exists;
    bool want;
  };
  const Case cases[] = {
      {"SIP WET=1 (S=9): 17 free is not two ENIs' worth", M5Large(), Stats(18, 1), false, false},
      {"SIP WET=1: 18 free = (1+1)*9", M5Large(), Stats(18, 0), false, true},
      {"SIP WET=0: 9 free = 1*9 (pitfall 4's free half)", With(M5Large(), 0, 0, 0, 0), Stats(9, 0),
       false, true},
      {"IP targets defined: always", With(M5Large(), 1, 1, 0, 0), Stats(0, 0), false, true},
      {"PD WPT=1 (S=9): 288 free = 2*144", With(M5Large(kPd), 1, 0, 0, 1), Stats(288, 0, 0, 18, 18),
       false, true},
      {"PD WPT=1: 287 free, no pod-free ENI", With(M5Large(kPd), 1, 0, 0, 1),
       Stats(288, 1, 0, 18, 17), false, false},
      {"PD WPT=1: 287 free, but a pod-free ENI exists", With(M5Large(kPd), 1, 0, 0, 1),
       Stats(288, 1, 0, 18, 17), true, true},
      {"SIP never asks about pod-free ENIs", M5Large(), Stats(17, 0), true, false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CHECK(enipool::ShouldRemoveExtraEnis(c.config, c.stats, c.pod_free_eni_exists) == c.want);
  }
}

TEST_CASE(
    "HasRoomForEni counts excluded and unmanaged ENIs and the trunk reservation against max ENIs") {
  struct Case {
    const char* name;
    int enis;
    int excluded;
    int unmanaged;
    bool trunk_expected;
    bool want;
  };
  const Case cases[] = {
      {"2 of 3", 2, 0, 0, false, true},
      {"3 of 3", 3, 0, 0, false, false},
      {"2 + 1 excluded of 3", 2, 1, 0, false, false},
      {"2 + 1 unmanaged of 3", 2, 0, 1, false, false},
      {"2 + a trunk still expected of 3", 2, 0, 0, true, false},
      {"1 + trunk of 3", 1, 0, 0, true, true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    PoolStats stats;
    stats.enis = c.enis;
    stats.excluded_enis = c.excluded;
    CHECK(enipool::HasRoomForEni(M5Large(), stats, c.unmanaged, c.trunk_expected) == c.want);
  }
}

// ---------------------------------------------------------------------------
// FindDeletableEni (docs/reference-behavior.md §4.8)
// ---------------------------------------------------------------------------

const absl::Time kNow = absl::UnixEpoch() + absl::Hours(1);

// An ENI with `cidrs` CIDRs of the mode (each `unit` addresses), `assigned`
// addresses on them (packed), attached an hour ago.
EniView Eni(const char* id, int device, int cidrs = 0, int assigned = 0, int unit = 1) {
  EniView v;
  v.id = Id(id);
  v.device_number = device;
  v.primary = device == 0;
  v.created = kNow - absl::Hours(1);
  v.cidrs = cidrs;
  (unit == 1 ? v.secondary_ips : v.prefixes) = cidrs;
  v.total_ips = std::int64_t{cidrs} * unit;
  v.assigned_ips = assigned;
  v.pods = assigned;
  const int used_cidrs = (assigned + unit - 1) / unit;
  v.free_cidrs = v.free_cidrs_all = cidrs - used_cidrs;
  return v;
}

TEST_CASE("FindDeletableEni applies the nine checks and prefers the highest device number") {
  const WarmPoolConfig sip = M5Large();
  const EniView primary = Eni("eni-0", 0, 9, 5);
  const EniView one = Eni("eni-1", 1);
  const EniView two = Eni("eni-2", 2);
  using Views = std::vector<EniView>;
  SUBCASE("two old empty ENIs: the highest device goes first") {
    CHECK(enipool::FindDeletableEni(sip, Views{primary, one, two}, kNow) == Id("eni-2"));
  }
  SUBCASE("check 1: the primary is never freed") {
    CHECK_FALSE(enipool::FindDeletableEni(sip, Views{Eni("eni-0", 0)}, kNow).has_value());
  }
  SUBCASE("check 2: younger than 60 s is kept, exactly 60 s is freed") {
    EniView young = two;
    young.created = kNow - absl::Seconds(60) + absl::Nanoseconds(1);
    CHECK(enipool::FindDeletableEni(sip, Views{primary, one, young}, kNow) == Id("eni-1"));
    young.created = kNow - absl::Seconds(60);
    CHECK(enipool::FindDeletableEni(sip, Views{primary, one, young}, kNow) == Id("eni-2"));
  }
  SUBCASE("check 3: an address cooling (of either kind) keeps it") {
    EniView cooling = two;
    cooling.cooling_all = 1;
    CHECK(enipool::FindDeletableEni(sip, Views{primary, one, cooling}, kNow) == Id("eni-1"));
  }
  SUBCASE("check 4: a pod (of either kind) keeps it") {
    EniView busy = two;
    busy.pods = 1;
    CHECK(enipool::FindDeletableEni(sip, Views{primary, one, busy}, kNow) == Id("eni-1"));
  }
  SUBCASE("checks 8 and 9: trunk and EFA ENIs are kept") {
    EniView trunk = two;
    trunk.trunk = true;
    EniView efa = one;
    efa.efa = true;
    CHECK_FALSE(enipool::FindDeletableEni(sip, Views{primary, efa, trunk}, kNow).has_value());
  }
  SUBCASE("an excluded ENI with no pod is freed like any other") {
    EniView excluded = two;
    excluded.excluded = true;
    CHECK(enipool::FindDeletableEni(sip, Views{primary, excluded}, kNow) == Id("eni-2"));
  }
  SUBCASE("check 5: WARM_IP_TARGET needs the other ENIs' free addresses") {
    // primary 4 free, eni-1 9 free, eni-2 empty; W=5.
    const WarmPoolConfig w = With(sip, 1, 5, 0, 0);
    const EniView full_one = Eni("eni-1", 1, 9, 0);
    CHECK(enipool::FindDeletableEni(w, Views{primary, full_one, two}, kNow) == Id("eni-2"));
    EniView young = two;
    young.created = kNow;
    // eni-1 is required: without it only the primary's 4 < 5 are free.
    CHECK_FALSE(enipool::FindDeletableEni(w, Views{primary, full_one, young}, kNow).has_value());
    // An excluded ENI's free addresses do not count for the others.
    EniView excluded_one = full_one;
    excluded_one.excluded = true;
    CHECK_FALSE(enipool::FindDeletableEni(w, Views{primary, excluded_one, two}, kNow).has_value());
  }
  SUBCASE("check 5 in prefix mode rounds WARM_IP_TARGET up to 16") {
    const WarmPoolConfig pd = With(M5Large(kPd), 1, 5, 0, 0);
    const EniView pd_primary = Eni("eni-0", 0, 1, 10, 16);  // 6 free
    const EniView pd_one = Eni("eni-1", 1, 1, 0, 16);       // 16 free
    CHECK_FALSE(enipool::FindDeletableEni(pd, Views{pd_primary, pd_one}, kNow).has_value());
    // The same numbers in secondary-IP units: 6 >= 5, so it goes.
    CHECK(enipool::FindDeletableEni(With(sip, 1, 5, 0, 0),
                                    Views{Eni("eni-0", 0, 16, 10), Eni("eni-1", 1, 9, 0)},
                                    kNow) == Id("eni-1"));
  }
  SUBCASE("check 6: MINIMUM_IP_TARGET needs the other ENIs' addresses") {
    const WarmPoolConfig m = With(sip, 1, 0, 18, 0);
    const EniView full_one = Eni("eni-1", 1, 9, 0);
    CHECK(enipool::FindDeletableEni(m, Views{primary, full_one, two}, kNow) == Id("eni-2"));
    EniView young = two;
    young.created = kNow;
    CHECK_FALSE(enipool::FindDeletableEni(m, Views{primary, full_one, young}, kNow).has_value());
  }
  SUBCASE("check 7: WARM_PREFIX_TARGET needs the other ENIs' free CIDRs, of either kind") {
    const WarmPoolConfig pd = With(M5Large(kPd), 1, 0, 0, 1);
    const EniView pd_primary = Eni("eni-0", 0, 1, 3, 16);  // its prefix has pods
    const EniView pd_one = Eni("eni-1", 1, 1, 0, 16);      // one free prefix
    CHECK(enipool::FindDeletableEni(pd, Views{pd_primary, pd_one, two}, kNow) == Id("eni-2"));
    EniView young = two;
    young.created = kNow;
    CHECK_FALSE(enipool::FindDeletableEni(pd, Views{pd_primary, pd_one, young}, kNow).has_value());
    // A leftover /32 with no pod on the primary is a free CIDR too.
    EniView leftover = pd_primary;
    leftover.free_cidrs_all += 1;
    CHECK(enipool::FindDeletableEni(pd, Views{leftover, pd_one, young}, kNow) == Id("eni-1"));
    // In secondary-IP mode WARM_PREFIX_TARGET is not looked at.
    CHECK(enipool::FindDeletableEni(With(sip, 1, 0, 0, 5), Views{primary, two}, kNow) ==
          Id("eni-2"));
  }
}

// ---------------------------------------------------------------------------
// PlanReconcile on hand-built snapshots
// ---------------------------------------------------------------------------

// Inputs whose stats are recomputed from the views (current mode, exclusion).
ReconcileInputs Inputs(const WarmPoolConfig& config, std::vector<EniView> enis) {
  ReconcileInputs in;
  in.now = kNow;
  for (const EniView& e : enis) {
    PoolStats& s = in.stats;
    if (e.excluded) {
      s.excluded_enis += 1;
      if (config.mode == kPd) {
        s.excluded_prefixes += e.prefixes;
        s.excluded_free_prefixes += e.free_cidrs;
      }
      continue;
    }
    s.enis += 1;
    s.total_ips += e.total_ips;
    s.assigned_ips += e.assigned_ips;
    s.cooling_ips += e.cooling_ips;
    if (config.mode == kPd) {
      s.total_prefixes += e.prefixes;
      s.free_prefixes += e.free_cidrs;
    }
  }
  in.stats.available_ips = in.stats.total_ips - in.stats.assigned_ips;
  in.enis = std::move(enis);
  return in;
}

TEST_CASE(
    "PlanReconcile grows the lowest-numbered ENI with a free slot, by the reference's amounts") {
  SUBCASE("WARM_ENI_TARGET: min(S - CIDRs, S) on the primary") {
    const WarmPoolConfig config = M5Large();
    const ReconcilePlan plan =
        enipool::PlanReconcile(config, Inputs(config, {Eni("eni-0", 0, 4, 4)}));
    CHECK(plan.too_low);
    CHECK(plan.increase == enipool::IncreaseStep{Id("eni-0"), 5});
  }
  SUBCASE("WARM_IP_TARGET: the shortfall only") {
    const WarmPoolConfig config = With(M5Large(), 1, 3, 0, 0);
    const ReconcilePlan plan =
        enipool::PlanReconcile(config, Inputs(config, {Eni("eni-0", 0, 4, 3)}));
    CHECK(plan.increase == enipool::IncreaseStep{Id("eni-0"), 2});
  }
  SUBCASE("the lowest device number among candidates; trunk, excluded and full ENIs are skipped") {
    const WarmPoolConfig config = With(M5Large(), 1, 3, 0, 0);
    EniView trunk = Eni("eni-1", 1);
    trunk.trunk = true;
    EniView excluded = Eni("eni-2", 2);
    excluded.excluded = true;
    const ReconcilePlan plan =
        enipool::PlanReconcile(config, Inputs(config, {Eni("eni-0", 0, 9, 9), Eni("eni-4", 4, 1, 1),
                                                       trunk, excluded, Eni("eni-3", 3, 2, 2)}));
    CHECK(plan.increase == enipool::IncreaseStep{Id("eni-3"), 3});
  }
  SUBCASE("custom networking never grows the primary: a new ENI instead") {
    WarmPoolConfig config = M5Large();
    config.custom_networking = true;
    const ReconcilePlan plan = enipool::PlanReconcile(config, Inputs(config, {Eni("eni-0", 0)}));
    CHECK(plan.increase == enipool::IncreaseStep{std::nullopt, 9});
  }
  SUBCASE("a new ENI carries min(short, S) with IP targets") {
    const WarmPoolConfig config = With(M5Large(), 1, 20, 0, 0);
    ReconcilePlan plan = enipool::PlanReconcile(config, Inputs(config, {Eni("eni-0", 0, 9, 5)}));
    CHECK(plan.increase == enipool::IncreaseStep{std::nullopt, 9});
    // W=6 with 4 free: short 2.
    plan = enipool::PlanReconcile(With(M5Large(), 1, 6, 0, 0),
                                  Inputs(config, {Eni("eni-0", 0, 9, 5)}));
    CHECK(plan.increase == enipool::IncreaseStep{std::nullopt, 2});
  }
  SUBCASE(
      "prefix mode: PrefixesNeeded, capped by the free slots, then min(PrefixesNeeded, S) on a new "
      "ENI") {
    // max pods 250, so that 7 or 9 full prefixes (112, 144 addresses) do not cap growth.
    const WarmPoolConfig config = MaxPods(With(M5Large(kPd), 1, 0, 0, 4), 250);
    ReconcilePlan plan =
        enipool::PlanReconcile(config, Inputs(config, {Eni("eni-0", 0, 7, 7 * 16, 16)}));
    CHECK(plan.increase == enipool::IncreaseStep{Id("eni-0"), 2});
    plan = enipool::PlanReconcile(config, Inputs(config, {Eni("eni-0", 0, 9, 9 * 16, 16)}));
    CHECK(plan.increase == enipool::IncreaseStep{std::nullopt, 4});
  }
  SUBCASE("at the ENI limit nothing grows") {
    const WarmPoolConfig config = M5Large();
    ReconcileInputs in = Inputs(config, {Eni("eni-0", 0, 9, 9), Eni("eni-1", 1, 9, 9)});
    CHECK(enipool::PlanReconcile(config, in).increase == enipool::IncreaseStep{std::nullopt, 9});
    in.unmanaged_enis = 1;
    ReconcilePlan plan = enipool::PlanReconcile(config, in);
    CHECK_FALSE(plan.increase.has_value());
    CHECK(plan.eni_limit_reached);
    in.unmanaged_enis = 0;
    in.trunk_eni_expected = true;
    CHECK(enipool::PlanReconcile(config, in).eni_limit_reached);
  }
}

TEST_CASE("PlanReconcile waits 120 s (inclusive) after an insufficient-address error") {
  const WarmPoolConfig config = M5Large();
  ReconcileInputs in = Inputs(config, {Eni("eni-0", 0)});
  in.since_insufficient_addresses = absl::Seconds(120);
  ReconcilePlan plan = enipool::PlanReconcile(config, in);
  CHECK(plan.too_low);
  CHECK(plan.in_backoff);
  CHECK_FALSE(plan.increase.has_value());
  in.since_insufficient_addresses = absl::Seconds(120) + absl::Nanoseconds(1);
  plan = enipool::PlanReconcile(config, in);
  CHECK_FALSE(plan.in_backoff);
  CHECK(plan.increase.has_value());
}

TEST_CASE("PlanReconcile decreases at most once per 30 s (inclusive)") {
  const WarmPoolConfig config = With(M5Large(), 1, 2, 0, 0);
  ReconcileInputs in = Inputs(config, {Eni("eni-0", 0, 4, 0)});
  in.free_cidrs = {
      {Cidr("10.0.0.1/32"), Cidr("10.0.0.2/32"), Cidr("10.0.0.3/32"), Cidr("10.0.0.4/32")}};
  in.since_last_decrease = absl::Seconds(30);
  ReconcilePlan plan = enipool::PlanReconcile(config, in);
  CHECK(plan.too_high);
  CHECK(plan.decrease_throttled);
  CHECK(plan.releases.empty());
  in.since_last_decrease = absl::Seconds(30) + absl::Nanoseconds(1);
  plan = enipool::PlanReconcile(config, in);
  CHECK_FALSE(plan.decrease_throttled);
  REQUIRE(plan.releases.size() == 1);
  CHECK(plan.releases[0] ==
        enipool::CidrRelease{Id("eni-0"), {Cidr("10.0.0.1/32"), Cidr("10.0.0.2/32")}});
}

TEST_CASE(
    "PlanReconcile releases from pod-free ENIs first, highest device first, so the ENI can go "
    "next") {
  // W=5: primary 9 CIDRs with 4 pods (5 free); eni-1 and eni-2 pod-free with
  // 3 free /32s each. A = 11, over = 6.
  const WarmPoolConfig config = With(M5Large(), 1, 5, 0, 0);
  ReconcileInputs in =
      Inputs(config, {Eni("eni-0", 0, 9, 4), Eni("eni-1", 1, 3, 0), Eni("eni-2", 2, 3, 0)});
  in.free_cidrs = {{Cidr("10.0.0.5/32"), Cidr("10.0.0.6/32"), Cidr("10.0.0.7/32"),
                    Cidr("10.0.0.8/32"), Cidr("10.0.0.9/32")},
                   {Cidr("10.0.1.1/32"), Cidr("10.0.1.2/32"), Cidr("10.0.1.3/32")},
                   {Cidr("10.0.2.1/32"), Cidr("10.0.2.2/32"), Cidr("10.0.2.3/32")}};
  const ReconcilePlan plan = enipool::PlanReconcile(config, in);
  CHECK(plan.target == TargetState{0, 6, true});
  REQUIRE(plan.releases.size() == 2);
  CHECK(plan.releases[0].eni == Id("eni-2"));
  CHECK(plan.releases[0].cidrs.size() == 3);
  CHECK(plan.releases[1].eni == Id("eni-1"));
  CHECK(plan.releases[1].cidrs.size() == 3);
  // After the release the primary still holds 5 free: eni-2 (now empty) can
  // be freed in the same step, as the reference's tryFreeENI would.
  CHECK(plan.free_eni == Id("eni-2"));

  SUBCASE("without free_cidrs nothing is released, but the step still counts as a decrease") {
    in.free_cidrs.clear();
    const ReconcilePlan bare = enipool::PlanReconcile(config, in);
    CHECK(bare.too_high);
    CHECK_FALSE(bare.decrease_throttled);
    CHECK(bare.releases.empty());
  }
}

TEST_CASE("PlanReconcile frees an ENI on the pool as it is after this step's increase") {
  // W=5: the primary holds 3 addresses, all assigned; eni-1 is old and empty.
  // The increase gives the primary 5 more, after which eni-1 is not needed.
  const WarmPoolConfig config = With(M5Large(), 1, 5, 0, 0);
  const ReconcilePlan plan =
      enipool::PlanReconcile(config, Inputs(config, {Eni("eni-0", 0, 3, 3), Eni("eni-1", 1)}));
  CHECK(plan.increase == enipool::IncreaseStep{Id("eni-0"), 5});
  CHECK(plan.free_eni == Id("eni-1"));
  // Before the increase eni-1 was required (0 < 5 free elsewhere).
  CHECK_FALSE(enipool::FindDeletableEni(
                  config, std::vector<EniView>{Eni("eni-0", 0, 3, 3), Eni("eni-1", 1)}, kNow)
                  .has_value());
}

TEST_CASE(
    "PlanReconcile never frees the ENI it is filling (the reference would, with PD "
    "WARM_PREFIX_TARGET=0)") {
  WarmPoolConfig config = With(M5Large(kPd), 1, 0, 0, 0);
  config.custom_networking = true;
  const ReconcilePlan plan =
      enipool::PlanReconcile(config, Inputs(config, {Eni("eni-0", 0), Eni("eni-1", 1)}));
  CHECK(plan.increase == enipool::IncreaseStep{Id("eni-1"), 1});
  CHECK_FALSE(plan.free_eni.has_value());
}

TEST_CASE(
    "PlanReconcile on an unschedulable node neither grows nor frees, unless "
    "AWS_MANAGE_ENIS_NON_SCHEDULABLE") {
  WarmPoolConfig config = With(M5Large(), 1, 5, 0, 0);
  ReconcileInputs in = Inputs(config, {Eni("eni-0", 0, 3, 3), Eni("eni-1", 1)});
  in.node_schedulable = false;
  ReconcilePlan plan = enipool::PlanReconcile(config, in);
  CHECK(plan.too_low);
  CHECK(plan.unschedulable);
  CHECK(plan.empty());
  config.manage_enis_non_schedulable = true;
  plan = enipool::PlanReconcile(config, in);
  CHECK_FALSE(plan.unschedulable);
  CHECK(plan.increase.has_value());
}

TEST_CASE("PlanReconcile does nothing with DISABLE_NETWORK_RESOURCE_PROVISIONING") {
  WarmPoolConfig config = M5Large();
  config.provisioning_disabled = true;
  CHECK(enipool::PlanReconcile(config, Inputs(config, {Eni("eni-0", 0)})) == ReconcilePlan{});
}

TEST_CASE("PlanReconcile on a settled pool asks for nothing") {
  const WarmPoolConfig config = M5Large();
  const ReconcilePlan plan =
      enipool::PlanReconcile(config, Inputs(config, {Eni("eni-0", 0, 9, 0)}));
  CHECK(plan.empty());
  CHECK_FALSE(plan.too_low);
  CHECK_FALSE(plan.too_high);
  CHECK_FALSE(enipool::NeedsFreeCidrs(config, Inputs(config, {Eni("eni-0", 0, 9, 0)}).stats,
                                      absl::InfiniteDuration()));
}

// ---------------------------------------------------------------------------
// Randomized: PlanReconcile against a brute-force model of the reference
// ---------------------------------------------------------------------------

// A pool as the reference holds it: ENIs with CIDRs and per-CIDR counts.
struct ModelCidr {
  Ipv4Prefix cidr;
  int assigned = 0;
  int cooling = 0;
};
struct ModelEni {
  EniView flags;  // id, device, primary/trunk/efa/excluded, created
  std::vector<ModelCidr> cidrs;
};

EniView ViewOf(const WarmPoolConfig& config, const ModelEni& m) {
  EniView v = m.flags;
  v.cidrs = v.prefixes = v.secondary_ips = 0;
  v.total_ips = v.assigned_ips = v.cooling_ips = v.pods = v.cooling_all = 0;
  v.free_cidrs = v.free_cidrs_all = 0;
  const int mode_length = config.mode == kPd ? 28 : 32;
  for (const ModelCidr& c : m.cidrs) {
    ++v.cidrs;
    ++(c.cidr.length() == 28 ? v.prefixes : v.secondary_ips);
    v.pods += c.assigned;
    v.cooling_all += c.cooling;
    if (c.assigned == 0) ++v.free_cidrs_all;
    if (c.cidr.length() == mode_length) {
      v.total_ips += static_cast<std::int64_t>(c.cidr.size());
      v.assigned_ips += c.assigned;
      v.cooling_ips += c.cooling;
      if (c.assigned == 0) ++v.free_cidrs;
    }
  }
  return v;
}

ReconcileInputs InputsOf(const WarmPoolConfig& config, const std::vector<ModelEni>& model) {
  std::vector<EniView> views;
  for (const ModelEni& m : model) views.push_back(ViewOf(config, m));
  ReconcileInputs in = Inputs(config, views);
  // Inputs() counts prefixes from the views' mode counts; the reference's
  // prefix counters see /28s whatever the mode, so recount them here.
  in.stats.total_prefixes = in.stats.free_prefixes = in.stats.excluded_prefixes =
      in.stats.excluded_free_prefixes = 0;
  for (const ModelEni& m : model) {
    for (const ModelCidr& c : m.cidrs) {
      if (c.cidr.length() != 28) continue;
      (m.flags.excluded ? in.stats.excluded_prefixes : in.stats.total_prefixes) += 1;
      if (c.assigned == 0)
        (m.flags.excluded ? in.stats.excluded_free_prefixes : in.stats.free_prefixes) += 1;
    }
  }
  for (const ModelEni& m : model) {
    std::vector<Ipv4Prefix> free;
    for (const ModelCidr& c : m.cidrs) {
      if (c.assigned == 0) free.push_back(c.cidr);
    }
    in.free_cidrs.push_back(free);
  }
  return in;
}

// The model's view of a test pool (tests/testing/reference_policy_model.h).
reference::Pool ReferencePoolOf(const std::vector<ModelEni>& enis) {
  reference::Pool pool;
  for (const ModelEni& m : enis) {
    reference::Eni e{.id = m.flags.id.ToString(), .device = m.flags.device_number,
                     .primary = m.flags.primary, .trunk = m.flags.trunk, .efa = m.flags.efa,
                     .excluded = m.flags.excluded, .age = kNow - m.flags.created};
    for (const ModelCidr& c : m.cidrs) e.cidrs.push_back({c.cidr.length(), c.assigned, c.cooling});
    pool.push_back(e);
  }
  return pool;
}

TEST_CASE("PlanReconcile agrees with a brute-force model of the reference on random pools") {
  std::mt19937_64 rng(0x5eed2026);
  const auto uniform = [&](int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng);
  };
  const auto chance = [&](double p) { return std::bernoulli_distribution(p)(rng); };
  int increases = 0, creations = 0, releases = 0, frees = 0;
  for (int round = 0; round < 3000; ++round) {
    CAPTURE(round);
    WarmPoolConfig config;
    config.mode = chance(0.5) ? kPd : kSip;
    config.warm_eni_target = uniform(0, 2);
    config.warm_ip_target = chance(0.5) ? 0 : uniform(1, 40);
    config.minimum_ip_target = chance(0.6) ? 0 : uniform(1, 60);
    config.warm_prefix_target = uniform(0, 3);
    config.max_enis = uniform(2, 6);
    config.ipv4_per_eni = uniform(3, 12);
    config.max_pods = uniform(20, 400);
    config.custom_networking = chance(0.2);
    config.count_cooling_as_available = chance(0.8);
    const int slots = config.slots_per_eni();
    const int mode_length = config.mode == kPd ? 28 : 32;
    std::uint32_t next_address = 0x0A000000u;
    std::vector<ModelEni> model;
    const int enis = uniform(1, config.max_enis);
    for (int d = 0; d < enis; ++d) {
      ModelEni m;
      m.flags.id = *EniId::Create("eni-" + std::to_string(d));
      m.flags.device_number = d;
      m.flags.primary = d == 0;
      m.flags.trunk = d > 0 && chance(0.05);
      m.flags.efa = d > 0 && chance(0.05);
      m.flags.excluded = d > 0 && chance(0.1);
      m.flags.created = kNow - absl::Seconds(uniform(0, 120));
      const int cidrs = uniform(0, slots);
      for (int c = 0; c < cidrs; ++c) {
        // Mostly CIDRs of the mode, sometimes a leftover of the other one.
        const int length = chance(0.9) ? mode_length : 60 - mode_length;
        const int size = length == 28 ? 16 : 1;
        ModelCidr mc{Ipv4Prefix::Containing(enipool::Ipv4Address(next_address), length), 0, 0};
        next_address += 16;
        mc.assigned = chance(0.4) ? 0 : uniform(0, size);
        mc.cooling = chance(0.7) ? 0 : uniform(0, size - mc.assigned);
        m.cidrs.push_back(mc);
      }
      model.push_back(m);
    }
    ReconcileInputs in = InputsOf(config, model);
    in.unmanaged_enis = chance(0.2) ? 1 : 0;
    in.trunk_eni_expected = chance(0.1);
    in.since_last_decrease = absl::Seconds(chance(0.2) ? 10 : 100);
    const ReconcilePlan plan = enipool::PlanReconcile(config, in);
    CAPTURE(plan);
    CAPTURE(config.ToString());

    // Every number the plan rests on, from the model of the reference.
    const reference::Config ref = reference::ConfigOf(config);
    const reference::Pool pool = ReferencePoolOf(model);
    const bool too_low = reference::TooLow(ref, pool);
    const TargetState want_target{static_cast<int>(reference::Short(ref, pool)),
                             static_cast<int>(reference::Over(ref, pool)),
                             reference::TargetsDefined(ref)};
    CHECK(plan.too_low == too_low);
    CHECK(plan.target == want_target);
    CHECK(plan.too_high == (!too_low && reference::TooHigh(ref, pool)));
    CHECK_FALSE((plan.increase.has_value() && !plan.releases.empty()));

    // The increase: the lowest-numbered candidate, or a new ENI when none.
    const reference::Eni* candidate = reference::IncreaseCandidate(ref, pool);
    const std::int64_t amount = reference::IncreaseAmount(ref, pool);
    if (too_low && amount > 0) {
      if (candidate != nullptr) {
        REQUIRE(plan.increase.has_value());
        REQUIRE(plan.increase->eni.has_value());
        CHECK(plan.increase->eni->ToString() == candidate->id);
        CHECK(plan.increase->count ==
              std::min<std::int64_t>(slots - static_cast<std::int64_t>(candidate->cidrs.size()),
                                     amount));
      } else if (reference::HasRoomForEni(ref, pool, in.unmanaged_enis, in.trunk_eni_expected)) {
        REQUIRE(plan.increase.has_value());
        CHECK_FALSE(plan.increase->eni.has_value());
        CHECK(plan.increase->count == std::min<std::int64_t>(amount, slots));
      } else {
        CHECK(plan.eni_limit_reached);
      }
    } else {
      CHECK_FALSE(plan.increase.has_value());
    }

    // The decrease: free CIDRs only, as many as the budget and the pool allow.
    std::int64_t released = 0;
    for (const enipool::CidrRelease& r : plan.releases) {
      const auto it = std::find_if(in.enis.begin(), in.enis.end(),
                                   [&](const EniView& e) { return e.id == r.eni; });
      REQUIRE(it != in.enis.end());
      const auto& free = in.free_cidrs[static_cast<std::size_t>(it - in.enis.begin())];
      for (const Ipv4Prefix& c : r.cidrs)
        CHECK(std::find(free.begin(), free.end(), c) != free.end());
      released += static_cast<std::int64_t>(r.cidrs.size());
    }
    if (!too_low && reference::TooHigh(ref, pool) && in.since_last_decrease > absl::Seconds(30)) {
      const std::int64_t budget = reference::DecreaseBudget(ref, pool);
      std::int64_t all_free = 0;
      for (const auto& f : in.free_cidrs) all_free += static_cast<std::int64_t>(f.size());
      CHECK(released == std::min(budget, all_free));
    } else {
      CHECK(released == 0);
    }

    // The free ENI: the highest-numbered ENI the reference's loop would accept
    // on the pool after this step's increase or release.
    std::vector<ModelEni> after = model;
    std::optional<EniId> filled;
    if (plan.increase.has_value()) {
      ModelEni* target = nullptr;
      if (plan.increase->eni.has_value()) {
        filled = plan.increase->eni;
        for (ModelEni& m : after) {
          if (m.flags.id == *filled) target = &m;
        }
      } else {
        ModelEni fresh;
        fresh.flags.id = *EniId::Create("eni-new");
        fresh.flags.device_number = 99;
        fresh.flags.created = kNow;
        after.push_back(fresh);
        target = &after.back();
      }
      REQUIRE(target != nullptr);
      for (int i = 0; i < plan.increase->count; ++i) {
        target->cidrs.push_back(
            {Ipv4Prefix::Containing(enipool::Ipv4Address(next_address), mode_length), 0, 0});
        next_address += 16;
      }
    }
    for (const enipool::CidrRelease& r : plan.releases) {
      for (ModelEni& m : after) {
        if (m.flags.id != r.eni) continue;
        for (const Ipv4Prefix& c : r.cidrs) {
          m.cidrs.erase(std::find_if(m.cidrs.begin(), m.cidrs.end(),
                                     [&](const ModelCidr& mc) { return mc.cidr == c; }));
        }
      }
    }
    reference::Pool after_pool = ReferencePoolOf(after);
    for (std::size_t i = 0; i < model.size(); ++i) {
      // free_cidrs carries no per-CIDR cooling, so PlanReconcile keeps the
      // cooling of an ENI that is only partly released (documented there);
      // the model does the same. An ENI released completely cools no more.
      if (after[i].cidrs.size() == model[i].cidrs.size() || after[i].cidrs.empty()) continue;
      const reference::Eni& before = pool[i];
      reference::Eni& now = after_pool[i];
      for (const reference::Cidr& c : before.cidrs) {
        now.kept_cooling_all += c.cooling;
        if (reference::InMode(ref, c)) now.kept_cooling_in_mode += c.cooling;
      }
      for (const reference::Cidr& c : now.cidrs) {
        now.kept_cooling_all -= c.cooling;
        if (reference::InMode(ref, c)) now.kept_cooling_in_mode -= c.cooling;
      }
    }
    std::optional<std::string> skip;
    if (filled.has_value()) skip = filled->ToString();
    const std::optional<std::string> want_free = reference::EniToFree(ref, pool, after_pool, skip);
    const std::string got_free = plan.free_eni.has_value() ? plan.free_eni->ToString() : "none";
    const std::string want_free_text = want_free.value_or("none");
    CAPTURE(got_free);
    CAPTURE(want_free_text);
    CHECK(got_free == want_free_text);

    increases += plan.increase.has_value() && plan.increase->eni.has_value() ? 1 : 0;
    creations += plan.increase.has_value() && !plan.increase->eni.has_value() ? 1 : 0;
    releases += plan.releases.empty() ? 0 : 1;
    frees += plan.free_eni.has_value() ? 1 : 0;
  }
  // The random pools exercise every kind of step.
  CHECK(increases > 100);
  CHECK(creations > 50);
  CHECK(releases > 100);
  CHECK(frees > 100);
}

TEST_CASE(
    "ReconcilePlan::ToString and WarmPoolConfig::ToString say what a step does and how the pool is "
    "set") {
  WarmPoolConfig config = With(M5Large(), 1, 5, 0, 0);
  const ReconcilePlan plan =
      enipool::PlanReconcile(config, Inputs(config, {Eni("eni-0", 0, 3, 3), Eni("eni-1", 1)}));
  CHECK(plan.ToString() == "increase 5 on eni-0; free eni-1; short 5, over 0, too low");
  CHECK(ReconcilePlan{}.ToString() == "short 0, over 0 (no IP targets)");
  config.count_cooling_as_available = false;
  CHECK(config.ToString() ==
        "secondary-ip mode, WARM_ENI_TARGET 1, WARM_IP_TARGET 5, MINIMUM_IP_TARGET 0, "
        "WARM_PREFIX_TARGET 0, "
        "max ENIs 3, IPv4 per ENI 10, max pods 110, cooling-aware");
}

}  // namespace
