// The reference's warm-pool rules (docs/reference-behavior.md §4.2, §4.4–§4.8,
// and §11.2 for the deterministic choices) written out a second time, by
// brute force, as the oracle of the randomized policy tests. A pool here is
// plain ENIs holding plain CIDR counts; every number is counted from them
// (never read from PoolStats), and "short", "over" and the prefix
// conversions are found by searching for the smallest or largest count that
// meets the targets rather than by the closed formulas. Nothing here calls
// policy/warm_pool.h: a mistake there cannot hide in here.
//
//   namespace model = enipool::testing::reference_policy;
//   const model::Config config = model::ConfigOf(warm_pool_config);
//   const model::Pool pool = model::PoolOf(datastore, clock.Now());
//   model::TooLow(config, pool);       // docs/reference-behavior.md §4.4
//   model::Short(config, pool);        // docs/reference-behavior.md §4.5
//   model::IncreaseAmount(config, pool);
//   model::EniToFree(config, pool, pool);  // docs/reference-behavior.md §4.8, §11.2

#ifndef ENIPOOL_TESTS_TESTING_REFERENCE_POLICY_MODEL_H_
#define ENIPOOL_TESTS_TESTING_REFERENCE_POLICY_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "enipool/datastore.h"
#include "enipool/policy/warm_pool.h"  // for the WarmPoolConfig struct only

namespace enipool::testing::reference_policy {

// The settings the rules read (docs/reference-behavior.md §4.1, §4.2;
// count_cooling_as_available is docs/reference-behavior.md §11.5).
struct Config {
  bool prefix_mode = false;
  std::int64_t warm_eni_target = 1;
  std::int64_t warm_ip_target = 0;      // W
  std::int64_t minimum_ip_target = 0;   // M
  std::int64_t warm_prefix_target = 0;
  std::int64_t max_enis = 0;
  std::int64_t ipv4_per_eni = 0;        // L_ip
  std::int64_t max_pods = 110;
  bool custom_networking = false;
  bool count_cooling_as_available = true;
};

// Reads the struct's fields, none of its helpers.
inline Config ConfigOf(const WarmPoolConfig& c) {
  return Config{.prefix_mode = c.mode == AddressMode::kPrefix,
                .warm_eni_target = c.warm_eni_target,
                .warm_ip_target = c.warm_ip_target,
                .minimum_ip_target = c.minimum_ip_target,
                .warm_prefix_target = c.warm_prefix_target,
                .max_enis = c.max_enis,
                .ipv4_per_eni = c.ipv4_per_eni,
                .max_pods = c.max_pods,
                .custom_networking = c.custom_networking,
                .count_cooling_as_available = c.count_cooling_as_available};
}

struct Cidr {
  int length = 32;  // 32: a secondary IP; 28: a prefix of 16 addresses
  int assigned = 0;
  int cooling = 0;
};
struct Eni {
  std::string id;
  int device = 0;
  bool primary = false, trunk = false, efa = false, excluded = false;
  absl::Duration age;  // since it was added to the datastore
  std::vector<Cidr> cidrs;
  // Cooling addresses counted for the ENI beyond those of its CIDRs (all
  // kinds, and of the mode): a plan that takes part of an ENI's CIDRs knows
  // no per-CIDR cooling and keeps the ENI's (PlanReconcile documents it).
  std::int64_t kept_cooling_all = 0;
  std::int64_t kept_cooling_in_mode = 0;
};
using Pool = std::vector<Eni>;

// The pool of a real datastore, read through its views.
template <typename Datastore>
Pool PoolOf(const Datastore& datastore, absl::Time now) {
  Pool pool;
  for (const EniView& v : datastore.EniViews()) {
    Eni eni{.id = v.id.ToString(), .device = v.device_number, .primary = v.primary,
            .trunk = v.trunk, .efa = v.efa, .excluded = v.excluded, .age = now - v.created};
    const auto cidrs = datastore.Cidrs(v.id.view());  // alive across the loop
    for (const CidrView& c : *cidrs) {
      eni.cidrs.push_back({c.cidr.length(), c.assigned, c.cooling});
    }
    pool.push_back(eni);
  }
  return pool;
}

inline int SizeOf(const Cidr& c) { return c.length == 28 ? 16 : 1; }
inline bool InMode(const Config& config, const Cidr& c) { return (c.length == 28) == config.prefix_mode; }
// S: the ENI's own primary address is never a pod's (docs/reference-behavior.md §4.2).
inline std::int64_t Slots(const Config& config) {
  return config.ipv4_per_eni > 1 ? config.ipv4_per_eni - 1 : 0;
}
inline bool TargetsDefined(const Config& config) {
  return config.warm_ip_target != 0 || config.minimum_ip_target != 0;
}

// The numbers of docs/reference-behavior.md §1.5, counted CIDR by CIDR.
struct Counts {
  std::int64_t total = 0;     // T: addresses of the mode on non-excluded ENIs
  std::int64_t assigned = 0;  // U
  std::int64_t cooling = 0;
  std::int64_t available = 0;  // A = T − U (− cooling, when cooling is not counted as available)
  std::int64_t prefixes = 0;       // P: every /28, excluded ENIs and the other mode too
  std::int64_t free_prefixes = 0;  // F: /28s with no assigned address, on every ENI
  std::int64_t enis = 0;           // in the datastore, excluded ones too
};
inline Counts CountsOf(const Config& config, const Pool& pool) {
  Counts n;
  for (const Eni& e : pool) {
    ++n.enis;
    for (const Cidr& c : e.cidrs) {
      if (c.length == 28) {
        ++n.prefixes;
        if (c.assigned == 0) ++n.free_prefixes;
      }
      if (e.excluded || !InMode(config, c)) continue;
      n.total += SizeOf(c);
      n.assigned += c.assigned;
      n.cooling += c.cooling;
    }
  }
  n.available = n.total - n.assigned - (config.count_cooling_as_available ? 0 : n.cooling);
  return n;
}

// The fewest prefixes that hold `addresses` addresses.
inline std::int64_t PrefixesFor(std::int64_t addresses) {
  std::int64_t n = 0;
  while (16 * n < addresses) ++n;
  return n;
}

// Short (docs/reference-behavior.md §4.5): the fewest addresses which, added,
// bring A up to W and T up to M; in prefix mode the fewest prefixes that hold
// them. 0 without warm-IP targets.
inline std::int64_t Short(const Config& config, const Pool& pool) {
  if (!TargetsDefined(config)) return 0;
  const Counts n = CountsOf(config, pool);
  std::int64_t k = 0;
  while (n.available + k < config.warm_ip_target || n.total + k < config.minimum_ip_target) ++k;
  return config.prefix_mode ? PrefixesFor(k) : k;
}

// Over (docs/reference-behavior.md §4.5): the most free addresses that can go
// while A stays at least W and T at least M. In prefix mode, the most wholly
// free prefixes (at most F) that can go while the prefixes left still hold U +
// W addresses and M addresses. 0 without warm-IP targets.
inline std::int64_t Over(const Config& config, const Pool& pool) {
  if (!TargetsDefined(config)) return 0;
  const Counts n = CountsOf(config, pool);
  const std::int64_t w = config.warm_ip_target, m = config.minimum_ip_target;
  std::int64_t k = 0;
  if (!config.prefix_mode) {
    while (n.available - (k + 1) >= w && n.total - (k + 1) >= m) ++k;
    return k;
  }
  while (k + 1 <= n.free_prefixes && 16 * (n.prefixes - (k + 1)) >= n.assigned + w &&
         16 * (n.prefixes - (k + 1)) >= m) {
    ++k;
  }
  return k;
}

// docs/reference-behavior.md §4.4.
inline bool TooLow(const Config& config, const Pool& pool) {
  const Counts n = CountsOf(config, pool);
  if (n.total >= config.max_pods) return false;
  if (TargetsDefined(config)) return Short(config, pool) > 0;
  if (!config.prefix_mode) {
    return n.available < config.warm_eni_target * Slots(config) ||
           (config.warm_eni_target == 0 && n.available == 0);
  }
  return n.available < config.warm_prefix_target * 16 ||
         (config.warm_prefix_target == 0 && n.available == 0);
}

// docs/reference-behavior.md §4.7.
inline bool TooHigh(const Config& config, const Pool& pool) {
  if (TargetsDefined(config)) return Over(config, pool) > 0;
  if (config.prefix_mode) return CountsOf(config, pool).free_prefixes > config.warm_prefix_target;
  return false;
}

// docs/reference-behavior.md §4.7: how many CIDRs one decrease may take.
inline std::int64_t DecreaseBudget(const Config& config, const Pool& pool) {
  if (TargetsDefined(config)) return Over(config, pool);
  if (!config.prefix_mode) return 0;
  const std::int64_t extra = CountsOf(config, pool).free_prefixes - config.warm_prefix_target;
  return extra > 0 ? extra : 0;
}

// What one increase asks for (docs/reference-behavior.md §4.6), addresses
// or prefixes, before the cap at the receiving ENI's free slots.
inline std::int64_t IncreaseAmount(const Config& config, const Pool& pool) {
  if (!config.prefix_mode) return TargetsDefined(config) ? Short(config, pool) : Slots(config);
  const std::int64_t wanted =
      TargetsDefined(config)
          ? Short(config, pool)
          : config.warm_prefix_target - CountsOf(config, pool).free_prefixes;
  return wanted > 1 ? wanted : 1;
}

// The ENI an increase fills (step 1 of docs/reference-behavior.md §4.6; the
// order is docs/reference-behavior.md §11.2): the lowest device number among
// those not trunk, not excluded, not the primary under custom networking,
// with fewer than S CIDRs of both kinds.
inline const Eni* IncreaseCandidate(const Config& config, const Pool& pool) {
  const Eni* best = nullptr;
  for (const Eni& e : pool) {
    if (e.trunk || e.excluded || (config.custom_networking && e.primary)) continue;
    if (static_cast<std::int64_t>(e.cidrs.size()) >= Slots(config)) continue;
    if (best == nullptr || e.device < best->device) best = &e;
  }
  return best;
}

// docs/reference-behavior.md §4.2: another ENI may be attached.
inline bool HasRoomForEni(const Config& config, const Pool& pool, int unmanaged_enis,
                          bool trunk_eni_expected) {
  return CountsOf(config, pool).enis <
         config.max_enis - unmanaged_enis - (trunk_eni_expected ? 1 : 0);
}

inline std::int64_t PodsOn(const Eni& e) {
  std::int64_t pods = 0;
  for (const Cidr& c : e.cidrs) pods += c.assigned;
  return pods;
}
inline std::int64_t CoolingOn(const Eni& e) {
  std::int64_t cooling = e.kept_cooling_all;
  for (const Cidr& c : e.cidrs) cooling += c.cooling;
  return cooling;
}

// The trigger of docs/reference-behavior.md §4.8: whether a check looks for
// an ENI to free at all.
inline bool ShouldRemoveExtraEnis(const Config& config, const Pool& pool) {
  if (TargetsDefined(config)) return true;
  const std::int64_t available = CountsOf(config, pool).available;
  if (!config.prefix_mode) return available >= (config.warm_eni_target + 1) * Slots(config);
  if (available >= (config.warm_prefix_target + 1) * 16 * Slots(config)) return true;
  for (const Eni& e : pool) {
    if (!e.primary && !e.trunk && !e.efa && PodsOn(e) == 0) return true;
  }
  return false;
}

// Checks 1–9 of docs/reference-behavior.md §4.8 as the reference's
// getDeletableENI writes them: for each ENI, a loop over all the others. Every
// ENI that passes (`skip`, the ENI this check just grew, is left out).
inline std::vector<std::string> Deletable(const Config& config, const Pool& pool,
                                          const std::optional<std::string>& skip = std::nullopt) {
  const std::int64_t unit = config.prefix_mode ? 16 : 1;
  std::int64_t w = 0, m = 0;  // rounded up to whole units
  while (w < config.warm_ip_target) w += unit;
  while (m < config.minimum_ip_target) m += unit;
  std::vector<std::string> out;
  for (const Eni& e : pool) {
    if (e.primary || e.age < absl::Seconds(60) || CoolingOn(e) > 0 || PodsOn(e) > 0) continue;
    if (skip.has_value() && e.id == *skip) continue;
    std::int64_t other_free = 0, other_total = 0, other_free_cidrs = 0;
    for (const Eni& o : pool) {
      if (o.id == e.id) continue;
      if (!o.excluded && !config.count_cooling_as_available) other_free -= o.kept_cooling_in_mode;
      for (const Cidr& c : o.cidrs) {
        if (c.assigned == 0) ++other_free_cidrs;
        if (o.excluded || !InMode(config, c)) continue;
        other_total += SizeOf(c);
        other_free += SizeOf(c) - c.assigned - (config.count_cooling_as_available ? 0 : c.cooling);
      }
    }
    if (w != 0 && other_free < w) continue;
    if (m != 0 && other_total < m) continue;
    if (config.prefix_mode && config.warm_prefix_target != 0 &&
        other_free_cidrs < config.warm_prefix_target) {
      continue;
    }
    if (e.trunk || e.efa) continue;
    out.push_back(e.id);
  }
  return out;
}

// The ENI a check frees, if any (docs/reference-behavior.md §4.8 and §11.2):
// the trigger reads the pool the check started from, the checks read the pool
// after this check's increase or release (as the reference's tryFreeENI runs
// after them), and of the deletable ENIs the one with the highest device number
// goes.
inline std::optional<std::string> EniToFree(const Config& config, const Pool& before,
                                            const Pool& after,
                                            const std::optional<std::string>& skip = std::nullopt) {
  if (!ShouldRemoveExtraEnis(config, before)) return std::nullopt;
  std::optional<std::string> best;
  int best_device = -1;
  for (const std::string& id : Deletable(config, after, skip)) {
    for (const Eni& e : after) {
      if (e.id == id && e.device > best_device) {
        best = id;
        best_device = e.device;
      }
    }
  }
  return best;
}

}  // namespace enipool::testing::reference_policy

#endif  // ENIPOOL_TESTS_TESTING_REFERENCE_POLICY_MODEL_H_
