// -----------------------------------------------------------------------------
// File: node_config.h
// -----------------------------------------------------------------------------
//
// One call from what a node agent knows at startup to a validated
// `ControllerConfig`: the instance type (looked up in the 1,391-type table,
// instance_limits.h), the node's identity, and the reference's environment
// variables (WarmPoolConfig::FromEnvironment, policy/warm_pool.h). It
// works out what is otherwise assembled by hand and easy to get wrong:
//   * the pool's limits from the type (ENIs, addresses per ENI, prefix
//     delegation support), lowered by MAX_ENI;
//   * the address mode: prefix delegation only on a type that has it (Nitro,
//     or bare metal, as ipamd decides); asking for it elsewhere is an error
//     here, where the reference silently falls back to secondary IPs;
//   * max pods for the mode actually chosen (max_pods.h): on m5.xlarge
//     (4 vCPUs) 58 with secondary IPs, 110 with prefixes — the 110 cap is
//     the EKS calculator's for up to 30 vCPUs, so pass `vcpus`;
//   * custom networking: new ENIs go to the ENIConfig's subnet and the
//     primary ENI holds no pods, so at least two ENIs are needed;
//   * the ENI classes and tags: MANAGE_UNTAGGED_ENI (default true),
//     CLUSTER_NAME and ADDITIONAL_ENI_TAGS (a JSON object, tags new ENIs;
//     additional_eni_tags.h), and the primary ENI's security groups for new
//     ENIs (eni_class.h, docs/reference-behavior.md §4.13, §7.1);
//   * the address family (IpFamilyFromEnvironment): ENABLE_IPv4 /
//     ENABLE_IPv6 as the reference checks them; an IPv6 node is configured
//     by Ipv6NodeConfigFromEnvironment (ipv6_node.h) instead.
// Every problem is reported at once, as INVALID_ARGUMENT naming the
// variable (or NodeFacts field) and its value; an unknown type is NOT_FOUND.
//
// Example:
//
//   enipool::NodeFacts node{.instance_type = "m5.xlarge", .instance_id = "i-0abc",
//                           .subnet_id = "subnet-1", .vcpus = 4};
//   absl::StatusOr<enipool::NodeConfig> config = enipool::NodeConfigFromEnvironment(
//       node, [](absl::string_view name) -> std::optional<std::string> {
//         const char* value = std::getenv(std::string(name).c_str());
//         if (value == nullptr) return std::nullopt;
//         return std::string(value);
//       });
//   // ENABLE_PREFIX_DELEGATION=true, WARM_PREFIX_TARGET=1:
//   //   config->controller.pool.mode == AddressMode::kPrefix, max_pods 110
//   auto controller = enipool::NodeController<enipool::RealClock>::Create(clock, config->controller);
//
// Thread-safety: pure functions.

#ifndef ENIPOOL_NODE_CONFIG_H_
#define ENIPOOL_NODE_CONFIG_H_

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "enipool/additional_eni_tags.h"
#include "enipool/controller.h"
#include "enipool/datastore.h"
#include "enipool/eni_config.h"
#include "enipool/instance_limits.h"
#include "enipool/max_pods.h"
#include "enipool/policy/warm_pool.h"
#include "enipool/status.h"

namespace enipool {

// NodeFacts
//
// What the agent knows about its node besides the environment: from IMDS
// (type, instance id, the primary ENI's subnet) and from the node object.
struct NodeFacts {
  std::string instance_type;   // e.g. "m5.xlarge"; must be in the table unless `limits` is set
  std::string instance_id;     // e.g. "i-0abc…"
  std::string subnet_id;       // the primary ENI's subnet: where new ENIs go
  std::string primary_eni_id;  // empty: the ENI at device index 0
  // The primary ENI's security groups (IMDS security-group-ids): new ENIs
  // get them (docs/reference-behavior.md §7.1).
  std::vector<std::string> security_group_ids;
  // The node's VPC and availability zone (IMDS): subnet discovery's
  // DescribeSubnets filters (empty: no filter).
  std::string vpc_id;
  std::string availability_zone;
  // With custom networking (AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true): the
  // subnet of the node's ENIConfig, where pod ENIs go instead (with the
  // primary ENI's security groups). When empty, the node's ENIConfig is
  // found in `eni_configs` by NodeEniConfigName (eni_config.h) from the
  // node's labels and annotations, and its subnet and security groups
  // (the primary's when it names none) are used.
  std::string eni_config_subnet_id;
  std::vector<EniConfig> eni_configs;
  NodeMetadata node_labels;
  NodeMetadata node_annotations;
  // The type's vCPUs, for the EKS calculator's max-pods cap (110 up to 30
  // vCPUs, else 250); 0 = no cap. The table has no vCPU counts.
  int vcpus = 0;
  // The kubelet's max pods (the node's status.capacity.pods, which ipamd
  // reads), when known; 0 = computed from the type and the mode.
  int kubelet_max_pods = 0;
  // The type's limits, for a type the table lacks (from
  // DescribeInstanceTypes, as ipamd does); std::nullopt = look it up.
  std::optional<InstanceLimits> limits;
};

// NodeConfig
//
// The result: the controller's config, and how max pods was worked out.
struct NodeConfig {
  ControllerConfig controller;
  InstanceLimits limits;
  MaxPods max_pods;  // for the mode chosen (kubelet_max_pods is what the pool uses)
  // With custom networking and NodeFacts::eni_configs: the ENIConfig used.
  std::string eni_config_name;

  [[nodiscard]] std::string ToString() const {
    const std::string_view name = limits.name;
    const std::string_view hypervisor = HypervisorName(limits.hypervisor);
    return absl::StrCat(absl::string_view(name.data(), name.size()), " (",
                        absl::string_view(hypervisor.data(), hypervisor.size()), "): ",
                        controller.pool.ToString(), "; max pods ", max_pods.kubelet_max_pods,
                        max_pods.capped ? " (capped)" : "");
  }
};

// IpFamily
//
// The pods' address family: a node runs one (docs/reference-behavior.md §4.1).
enum class IpFamily { kIpv4, kIpv6 };

// IpFamilyFromEnvironment()
//
// ENABLE_IPv4 and ENABLE_IPv6 with the reference's startup checks
// (docs/reference-behavior.md §4.1, §4.12): exactly one is true; IPv6
// needs ENABLE_PREFIX_DELEGATION=true, on an instance type with prefix
// delegation (`prefix_delegation_supported`; elsewhere the reference fails
// to start in IPv6 mode, where IPv4 falls back to secondary IPs), and
// forbids custom networking (AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG). An unset
// ENABLE_IPv4 reads as true and an unset ENABLE_IPv6 as false, the shipped
// manifest's values (the reference's code defaults, both false, would not
// start). INVALID_ARGUMENT naming every broken rule and its variables.
[[nodiscard]] inline absl::StatusOr<IpFamily> IpFamilyFromEnvironment(
    EnvLookup lookup, bool prefix_delegation_supported) {
  std::vector<std::string> problems;
  auto read = [&](absl::string_view name, bool fallback) {
    const std::optional<std::string> text = lookup(name);
    if (!text.has_value() || text->empty()) return fallback;
    const std::optional<bool> parsed = internal::ParseGoBool(*text);
    if (!parsed.has_value()) {
      problems.push_back(absl::StrCat(name, "=", QuoteInput(*text),
                                      " is not a boolean (want true or false)"));
      return fallback;
    }
    return *parsed;
  };
  const bool ipv4 = read("ENABLE_IPv4", true);
  const bool ipv6 = read("ENABLE_IPv6", false);
  const bool prefix_delegation = read("ENABLE_PREFIX_DELEGATION", false);
  const bool custom_networking = read("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", false);
  if (ipv4 == ipv6) {
    problems.push_back(absl::StrCat(
        "ENABLE_IPv4=", ipv4 ? "true" : "false", " and ENABLE_IPv6=", ipv6 ? "true" : "false",
        ": exactly one must be true (the reference does not start with ", ipv4 ? "both" : "neither",
        ")"));
  }
  if (ipv6 && !ipv4) {
    if (!prefix_delegation) {
      problems.emplace_back(
          "ENABLE_IPv6=true needs ENABLE_PREFIX_DELEGATION=true (pods take their addresses from "
          "a delegated /80; the reference does not start without it)");
    } else if (!prefix_delegation_supported) {
      problems.emplace_back(
          "ENABLE_IPv6=true with ENABLE_PREFIX_DELEGATION=true on an instance type without "
          "prefix delegation (not Nitro, not bare metal): the reference does not start");
    }
    if (custom_networking) {
      problems.emplace_back(
          "ENABLE_IPv6=true forbids AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true (the reference does "
          "not start)");
    }
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("address family: ", absl::StrJoin(problems, "; ")));
  }
  return ipv6 ? IpFamily::kIpv6 : IpFamily::kIpv4;
}

namespace internal {

// What the node tags its ENIs with and which it manages, as the reference
// reads it (docs/reference-behavior.md §4.13, §7.1): MANAGE_UNTAGGED_ENI
// (default true, Go's strconv.ParseBool), CLUSTER_NAME, and
// ADDITIONAL_ENI_TAGS (a JSON object of strings). A variable that does not
// parse is named in `problems` (the reference would manage untagged ENIs,
// or warn and add no tag). NodeConfigFromEnvironment and
// Ipv6NodeConfigFromEnvironment (ipv6_node.h) both read it.
struct EniTagEnvironment {
  bool manage_untagged = true;
  std::string cluster_name;
  std::vector<Ec2Tag> additional_tags;
};
inline EniTagEnvironment EniTagEnvironmentOf(EnvLookup lookup, std::vector<std::string>& problems) {
  EniTagEnvironment out;
  if (const std::optional<std::string> text = lookup("MANAGE_UNTAGGED_ENI");
      text.has_value() && !text->empty()) {
    const std::optional<bool> parsed = ParseGoBool(*text);
    if (parsed.has_value()) {
      out.manage_untagged = *parsed;
    } else {
      problems.push_back(absl::StrCat("MANAGE_UNTAGGED_ENI=", QuoteInput(*text),
                                      " is not a boolean (the reference would manage untagged "
                                      "ENIs)"));
    }
  }
  out.cluster_name = lookup("CLUSTER_NAME").value_or("");
  if (const std::optional<std::string> text = lookup("ADDITIONAL_ENI_TAGS"); text.has_value()) {
    absl::StatusOr<std::vector<Ec2Tag>> parsed = ParseAdditionalEniTags(*text);
    if (parsed.ok()) {
      out.additional_tags = *std::move(parsed);
    } else {
      problems.emplace_back(parsed.status().message());
    }
  }
  return out;
}

}  // namespace internal

// NodeConfigFromEnvironment()
//
// See the file comment. NOT_FOUND for an instance type the table lacks
// (with no NodeFacts::limits); INVALID_ARGUMENT naming every bad variable or
// fact: unparsable or negative values (WarmPoolConfig::ValidateEnvironment),
// ENABLE_PREFIX_DELEGATION on a type without prefix delegation, custom
// networking without an ENIConfig subnet or with fewer than two ENIs, the
// pitfall combinations WarmPoolConfig::Validate() rejects, an empty
// instance id or subnet, negative vcpus or kubelet_max_pods, and the
// address-family rules of IpFamilyFromEnvironment (an IPv6 node included:
// it is configured by Ipv6NodeConfigFromEnvironment, ipv6_node.h).
[[nodiscard]] inline absl::StatusOr<NodeConfig> NodeConfigFromEnvironment(const NodeFacts& node,
                                                                          EnvLookup lookup) {
  InstanceLimits limits;
  if (node.limits.has_value()) {
    limits = *node.limits;
    if (limits.max_enis < 1 || limits.ipv4_per_eni < 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "node config: NodeFacts::limits for ", QuoteInput(node.instance_type), " has max_enis ",
          limits.max_enis, " and ipv4_per_eni ", limits.ipv4_per_eni, "; want at least 1 and 2"));
    }
  } else {
    absl::StatusOr<InstanceLimits> found = FindInstanceLimits(node.instance_type);
    if (!found.ok()) return found.status();
    limits = *found;
  }
  const std::string_view hypervisor = HypervisorName(limits.hypervisor);
  const std::string type_text =
      absl::StrCat("instance type ", node.instance_type, " (",
                   absl::string_view(hypervisor.data(), hypervisor.size()),
                   limits.is_bare_metal ? ", bare metal" : "", ")");

  std::vector<std::string> problems;
  WarmPoolConfig base;
  base.max_enis = limits.max_enis;
  base.ipv4_per_eni = limits.ipv4_per_eni;
  base.prefix_delegation_supported = limits.prefix_delegation_supported;
  base.max_pods = 110;  // replaced below; keeps ValidateEnvironment's max_pods check quiet
  if (absl::Status env = WarmPoolConfig::ValidateEnvironment(lookup, base); !env.ok()) {
    problems.emplace_back(env.message());
  }
  WarmPoolConfig pool = WarmPoolConfig::FromEnvironment(lookup, base);

  if (node.instance_id.empty()) problems.emplace_back("NodeFacts::instance_id is empty");
  if (const absl::StatusOr<IpFamily> family =
          IpFamilyFromEnvironment(lookup, limits.prefix_delegation_supported);
      !family.ok()) {
    problems.emplace_back(family.status().message());
  } else if (*family == IpFamily::kIpv6) {
    problems.emplace_back(
        "ENABLE_IPv6=true: an IPv6 node has no warm pool and is configured by "
        "Ipv6NodeConfigFromEnvironment (ipv6_node.h)");
  }
  internal::EniTagEnvironment eni_tags = internal::EniTagEnvironmentOf(lookup, problems);
  // DISABLE_LEAKED_ENI_CLEANUP (default false; docs/reference-behavior.md §4.9).
  bool sweep = true;
  if (const std::optional<std::string> text = lookup("DISABLE_LEAKED_ENI_CLEANUP");
      text.has_value() && !text->empty()) {
    const std::optional<bool> parsed = internal::ParseGoBool(*text);
    if (parsed.has_value()) {
      sweep = !*parsed;
    } else {
      problems.push_back(absl::StrCat("DISABLE_LEAKED_ENI_CLEANUP=", QuoteInput(*text),
                                      " is not a boolean (the reference would sweep)"));
    }
  }
  if (node.vcpus < 0) problems.push_back(absl::StrCat("NodeFacts::vcpus is ", node.vcpus));
  if (node.kubelet_max_pods < 0) {
    problems.push_back(absl::StrCat("NodeFacts::kubelet_max_pods is ", node.kubelet_max_pods));
  }
  std::string subnet = node.subnet_id;
  std::vector<std::string> security_groups = node.security_group_ids;
  std::string eni_config_name;
  if (pool.custom_networking) {
    subnet = node.eni_config_subnet_id;
    if (subnet.empty() && !node.eni_configs.empty()) {
      eni_config_name = NodeEniConfigName(node.node_labels, node.node_annotations, lookup);
      absl::StatusOr<EniConfig> found = FindEniConfig(eni_config_name, node.eni_configs);
      if (found.ok()) {
        subnet = found->subnet_id;
        if (!found->security_group_ids.empty()) security_groups = found->security_group_ids;
      } else {
        problems.emplace_back(found.status().message());
      }
    } else if (subnet.empty()) {
      problems.emplace_back(
          "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true but NodeFacts::eni_config_subnet_id is empty "
          "and no ENIConfig is given: custom networking puts pod ENIs in the ENIConfig's subnet");
    }
    if (pool.max_enis < 2) {
      const std::optional<std::string> max_eni = lookup("MAX_ENI");
      problems.push_back(absl::StrCat(
          "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true leaves no ENI for pods: the primary ENI holds "
          "none and ",
          max_eni.has_value() && pool.max_enis < limits.max_enis
              ? absl::StrCat("MAX_ENI=", *max_eni, " allows ")
              : absl::StrCat(type_text, " takes "),
          pool.max_enis, " ENI"));
    }
  } else if (subnet.empty()) {
    problems.emplace_back("NodeFacts::subnet_id (where new ENIs go) is empty");
  }

  MaxPodsOptions options{.prefix_delegation = pool.mode == AddressMode::kPrefix,
                         .custom_networking = pool.custom_networking,
                         .max_enis = pool.max_enis,
                         .vcpus = std::max(node.vcpus, 0),
                         .prefix_rule = PrefixDelegationRule::kIpamd};
  const MaxPods max_pods = CalculateMaxPods(limits, options);
  pool.max_pods =
      node.kubelet_max_pods > 0 ? node.kubelet_max_pods : std::max(max_pods.kubelet_max_pods, 1);

  if (!problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("node config for ", type_text, ": ", absl::StrJoin(problems, "; ")));
  }
  NodeConfig config;
  config.limits = limits;
  config.max_pods = max_pods;
  config.controller.pool = pool;
  config.controller.instance_id = node.instance_id;
  config.controller.subnet_id = std::move(subnet);
  config.controller.primary_eni_id = node.primary_eni_id;
  config.controller.manage_untagged_enis = eni_tags.manage_untagged;
  config.controller.cluster_name = std::move(eni_tags.cluster_name);
  config.controller.additional_eni_tags = std::move(eni_tags.additional_tags);
  config.controller.security_group_ids = std::move(security_groups);
  config.eni_config_name = std::move(eni_config_name);
  config.controller.subnet_discovery = pool.subnet_discovery;
  // The reference never sweeps when it does not provision ENIs
  // (DISABLE_NETWORK_RESOURCE_PROVISIONING, ENABLE_IMDS_ONLY_MODE).
  config.controller.leaked_eni_sweep = sweep && !pool.provisioning_disabled;
  // Nor does it tag the ENIs it finds (docs/reference-behavior.md §4.13).
  config.controller.tag_enis = !pool.provisioning_disabled;
  // Nor does it set DeleteOnTermination or refresh security groups (it
  // creates no ENIs; docs/reference-behavior.md §7.1).
  config.controller.set_delete_on_termination = !pool.provisioning_disabled;
  config.controller.refresh_security_groups = !pool.provisioning_disabled;
  config.controller.vpc_id = node.vpc_id;
  config.controller.availability_zone = node.availability_zone;
  return config;
}

}  // namespace enipool

#endif  // ENIPOOL_NODE_CONFIG_H_
