// -----------------------------------------------------------------------------
// File: subnet_selection.h
// -----------------------------------------------------------------------------
//
// The reference's subnet discovery rules (ENABLE_SUBNET_DISCOVERY,
// docs/reference-behavior.md §4.6, §7.1, §7.5) over DescribeSubnets answers:
//
//   * `IsSubnetValidForEniCreation`: may a new ENI go there? The node's own
//     (primary) subnet may unless tagged kubernetes.io/role/cni=0; any other
//     subnet only when tagged kubernetes.io/role/cni with a value other than
//     "0"; either way, a subnet carrying cni.networking.k8s.aws/cluster/<name>
//     tags must carry this cluster's (when the node knows its cluster).
//   * `SubnetsForEniCreation`: the valid subnets, most free addresses
//     first (ties keep EC2's order): the order creates are tried in.
//   * `IsSubnetExcluded`: is an ENI in this subnet kept from pods? Tagged
//     kubernetes.io/role/cni=0, or tagged with another value but for other
//     clusters only. A subnet the answer does not list is not excluded.
//
// Example:
//
//   std::vector<std::string> order = enipool::SubnetsForEniCreation(
//       described_subnets, /*primary_subnet_id=*/"subnet-a", /*cluster_name=*/"prod");
//   // try CreateNetworkInterface in order[0], then order[1], ...
//
// Thread-safety: pure functions.

#ifndef ENIPOOL_SUBNET_SELECTION_H_
#define ENIPOOL_SUBNET_SELECTION_H_

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "enipool/ec2/backend.h"

namespace enipool {

// Subnet tags of subnet discovery (docs/reference-behavior.md §7.1).
inline constexpr absl::string_view kSubnetCniRoleTag = "kubernetes.io/role/cni";
inline constexpr absl::string_view kSubnetClusterTagPrefix = "cni.networking.k8s.aws/cluster/";

// SubnetMatchesCluster()
//
// True when `cluster_name` is empty (the reference skips the check without
// CLUSTER_NAME), when the tags name no cluster, or when they name this one.
// Upstream AWSU :: ValidSubnetTagsMatchingClusterName, checkClusterTags.
[[nodiscard]] inline bool SubnetMatchesCluster(const std::vector<Ec2Tag>& tags,
                                               absl::string_view cluster_name) {
  if (cluster_name.empty()) return true;
  const std::string ours = absl::StrCat(kSubnetClusterTagPrefix, cluster_name);
  bool has_cluster_tags = false;
  for (const Ec2Tag& tag : tags) {
    if (!absl::StartsWith(tag.key, kSubnetClusterTagPrefix)) continue;
    has_cluster_tags = true;
    if (tag.key == ours) return true;
  }
  return !has_cluster_tags;
}

// IsSubnetValidForEniCreation()
//
// See the file comment. Upstream AWSU :: isSubnetValidForENICreation.
[[nodiscard]] inline bool IsSubnetValidForEniCreation(const SubnetInfo& subnet, bool primary_subnet,
                                                      absl::string_view cluster_name) {
  const std::string* role = FindTag(subnet.tags, kSubnetCniRoleTag);
  if (role != nullptr && *role == "0") return false;
  if (role == nullptr || role->empty()) return primary_subnet;
  return SubnetMatchesCluster(subnet.tags, cluster_name);
}

// IsSubnetExcluded()
//
// Whether ENIs in `subnet` are kept from pod addresses (`nullptr`: the
// answer did not list the subnet, which the reference treats as not
// excluded). Upstream AWSU :: IsSubnetExcluded.
[[nodiscard]] inline bool IsSubnetExcluded(const SubnetInfo* subnet,
                                           absl::string_view cluster_name) {
  if (subnet == nullptr) return false;
  const std::string* role = FindTag(subnet->tags, kSubnetCniRoleTag);
  if (role == nullptr || role->empty()) return false;
  if (*role == "0") return true;
  return !SubnetMatchesCluster(subnet->tags, cluster_name);
}

// FindSubnet()
//
// The subnet with id `id` in a DescribeSubnets answer, or nullptr.
[[nodiscard]] inline const SubnetInfo* FindSubnet(const std::vector<SubnetInfo>& subnets,
                                                  absl::string_view id) {
  for (const SubnetInfo& subnet : subnets) {
    if (subnet.id == id) return &subnet;
  }
  return nullptr;
}

// SubnetsForEniCreation()
//
// The ids of the subnets a new ENI may go to, in the order the reference
// tries them: most free addresses first, EC2's order among equals.
// Upstream AWSU :: GetVpcSubnets (a stable sort, descending), createENI.
[[nodiscard]] inline std::vector<std::string> SubnetsForEniCreation(
    std::vector<SubnetInfo> subnets, absl::string_view primary_subnet_id,
    absl::string_view cluster_name) {
  std::stable_sort(subnets.begin(), subnets.end(), [](const SubnetInfo& a, const SubnetInfo& b) {
    return a.available_addresses > b.available_addresses;
  });
  std::vector<std::string> out;
  for (const SubnetInfo& subnet : subnets) {
    if (IsSubnetValidForEniCreation(subnet, subnet.id == primary_subnet_id, cluster_name)) {
      out.push_back(subnet.id);
    }
  }
  return out;
}

}  // namespace enipool

#endif  // ENIPOOL_SUBNET_SELECTION_H_
