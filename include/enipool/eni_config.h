// -----------------------------------------------------------------------------
// File: eni_config.h
// -----------------------------------------------------------------------------
//
// Custom networking's ENIConfig (docs/reference-behavior.md §4.13): which
// ENIConfig object a node uses, and what it says (the subnet and security
// groups of the node's pod ENIs).
//
//   * `NodeEniConfigName` names the node's ENIConfig as the reference does:
//     the node's vpc.amazonaws.com/externalEniConfig label, else its
//     annotation ENI_CONFIG_ANNOTATION_DEF (default k8s.amazonaws.com/eniConfig),
//     else its label ENI_CONFIG_LABEL_DEF (default k8s.amazonaws.com/eniConfig),
//     else "default". Setting ENI_CONFIG_LABEL_DEF=topology.kubernetes.io/zone
//     picks ENIConfigs by availability zone: one named after each zone.
//   * `FindEniConfig` picks it out of the cluster's ENIConfigs; a missing
//     one is NOT_FOUND naming it (the reference's ipamd then fails to grow).
//
// Example:
//
//   std::string name = enipool::NodeEniConfigName(
//       {{"topology.kubernetes.io/zone", "us-east-1a"}}, /*annotations=*/{}, lookup);
//   // with ENI_CONFIG_LABEL_DEF=topology.kubernetes.io/zone: "us-east-1a"
//   absl::StatusOr<enipool::EniConfig> config = enipool::FindEniConfig(name, configs);
//
// Thread-safety: pure functions.

#ifndef ENIPOOL_ENI_CONFIG_H_
#define ENIPOOL_ENI_CONFIG_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "enipool/policy/warm_pool.h"
#include "enipool/status.h"

namespace enipool {

// EniConfig
//
// One ENIConfig object (crd.k8s.amazonaws.com/v1alpha1): its name and spec.
struct EniConfig {
  std::string name;
  std::string subnet_id;                        // spec.subnet
  std::vector<std::string> security_group_ids;  // spec.securityGroups; empty: the primary ENI's
  friend bool operator==(const EniConfig&, const EniConfig&) = default;
};

// A node's labels or annotations, as key/value pairs.
using NodeMetadata = std::vector<std::pair<std::string, std::string>>;

inline constexpr absl::string_view kExternalEniConfigLabel = "vpc.amazonaws.com/externalEniConfig";
inline constexpr absl::string_view kDefaultEniConfigKey = "k8s.amazonaws.com/eniConfig";
inline constexpr absl::string_view kDefaultEniConfigName = "default";

namespace internal {
inline const std::string* FindMetadata(const NodeMetadata& items, absl::string_view key) {
  for (const auto& [k, v] : items) {
    if (k == key) return &v;
  }
  return nullptr;
}
// The variable's value, or `fallback` when it is unset or empty.
inline std::string KeyFromEnv(EnvLookup lookup, absl::string_view name,
                              absl::string_view fallback) {
  const std::optional<std::string> value = lookup(name);
  return value.has_value() && !value->empty() ? *value : std::string(fallback);
}
}  // namespace internal

// NodeEniConfigName()
//
// See the file comment. Upstream `pkg/eniconfig/eniconfig.go` ::
// GetNodeSpecificENIConfigName, getEniConfigAnnotationDef,
// getEniConfigLabelDef.
[[nodiscard]] inline std::string NodeEniConfigName(const NodeMetadata& labels,
                                                   const NodeMetadata& annotations,
                                                   EnvLookup lookup) {
  if (const std::string* name = internal::FindMetadata(labels, kExternalEniConfigLabel)) {
    return *name;
  }
  const std::string annotation =
      internal::KeyFromEnv(lookup, "ENI_CONFIG_ANNOTATION_DEF", kDefaultEniConfigKey);
  if (const std::string* name = internal::FindMetadata(annotations, annotation)) return *name;
  const std::string label =
      internal::KeyFromEnv(lookup, "ENI_CONFIG_LABEL_DEF", kDefaultEniConfigKey);
  if (const std::string* name = internal::FindMetadata(labels, label)) return *name;
  return std::string(kDefaultEniConfigName);
}

// FindEniConfig()
//
// The ENIConfig named `name`. NOT_FOUND naming it when there is none;
// INVALID_ARGUMENT when it names no subnet (the reference cannot create
// ENIs with it). Upstream `pkg/eniconfig/eniconfig.go` :: MyENIConfig.
[[nodiscard]] inline absl::StatusOr<EniConfig> FindEniConfig(absl::string_view name,
                                                            const std::vector<EniConfig>& configs) {
  for (const EniConfig& config : configs) {
    if (config.name != name) continue;
    if (config.subnet_id.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ENIConfig ", QuoteInput(name), " names no subnet"));
    }
    return config;
  }
  return absl::NotFoundError(absl::StrCat("ENIConfig ", QuoteInput(name),
                                          " does not exist (", configs.size(),
                                          " ENIConfigs known)"));
}

}  // namespace enipool

#endif  // ENIPOOL_ENI_CONFIG_H_
