// -----------------------------------------------------------------------------
// File: policy/catalog.h
// -----------------------------------------------------------------------------
//
// The named warm-pool policies enipool ships, by name, as AnyWarmPoolPolicy
// values: what a scenario file's `policy=NAME` or a command line picks.
//   reference        the reference's rules (policy/warm_pool.h)
//   churn-adaptive   WARM_IP_TARGET from the node's ADD rate and refill
//                    latency (policy/churn_adaptive.h)
//   prefix-fallback  prefix delegation that takes /32s on
//                    InsufficientCidrBlocks and probes for /28s again
//                    (policy/prefix_fallback.h; set
//                    WarmPoolConfig::secondary_ip_fallback with it)
//
// Example:
//
//   ENIPOOL_ASSIGN_OR_RETURN(enipool::AnyWarmPoolPolicy policy,
//                            enipool::PolicyByName("churn-adaptive"));
//
// Thread-safety: pure functions.

#ifndef ENIPOOL_POLICY_CATALOG_H_
#define ENIPOOL_POLICY_CATALOG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "enipool/policy/churn_adaptive.h"
#include "enipool/policy/policy.h"
#include "enipool/policy/prefix_fallback.h"
#include "enipool/status.h"

namespace enipool {

// PolicyNames()
//
// The names PolicyByName() knows, in the order above.
inline std::vector<std::string> PolicyNames() {
  return {"reference", "churn-adaptive", "prefix-fallback"};
}

// PolicyByName()
//
// The named policy with its default parameters. NOT_FOUND naming the known
// ones for any other name.
[[nodiscard]] inline absl::StatusOr<AnyWarmPoolPolicy> PolicyByName(absl::string_view name) {
  if (name == ReferencePolicy::name()) return AnyWarmPoolPolicy(ReferencePolicy{});
  if (name == ChurnAdaptivePolicy::name()) return AnyWarmPoolPolicy(ChurnAdaptivePolicy{});
  if (name == PrefixFallbackPolicy::name()) return AnyWarmPoolPolicy(PrefixFallbackPolicy{});
  return absl::NotFoundError(absl::StrCat("unknown policy ", QuoteInput(name), ": want one of ",
                                          absl::StrJoin(PolicyNames(), ", ")));
}

}  // namespace enipool

#endif  // ENIPOOL_POLICY_CATALOG_H_
