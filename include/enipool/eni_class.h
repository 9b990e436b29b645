// -----------------------------------------------------------------------------
// File: eni_class.h
// -----------------------------------------------------------------------------
//
// Which of a node's ENIs the pool may use, and the tags that decide it: the
// reference's ENI classes (docs/reference-behavior.md §1.2, §4.13) and the
// tags it writes on the ENIs it creates (docs/reference-behavior.md §7.1).
//
//   * `ClassifyEni` sorts one attached ENI, as the reference does when it
//     reads its ENIs: unmanaged (tagged node.k8s.amazonaws.com/no_manage=true,
//     or, with MANAGE_UNTAGGED_ENI=false, carrying no tag of this node),
//     EFA-only, trunk, EFA, or an ordinary managed ENI. The primary ENI is
//     never unmanaged. Unmanaged and EFA-only ENIs stay out of the pool and
//     count against the node's ENI limit; trunk ENIs join the pool with
//     what EC2 shows on them but are never grown or freed; EFA ENIs may be
//     grown but are never freed.
//   * `CreatedEniTags` is the tag set of a new ENI: the instance id, the
//     creation time (RFC 3339), the cluster name and owner when the node
//     knows its cluster, and ADDITIONAL_ENI_TAGS (keys naming
//     k8s.amazonaws.com dropped); `NodeEniTags` the same without the
//     creation time: what every managed ENI the node finds should carry,
//     and `MissingEniTags` what of it an ENI lacks (the CreateTags the
//     reference sends, docs/reference-behavior.md §4.13).
//   * `IsLeakedEniCandidate` is the leaked-ENI sweep's test (docs/reference-behavior.md §4.9, §7.1):
//     unattached, created by a VPC CNI node (instance-id tag and the
//     "aws-K8S-" description), of this cluster when the node has one, and
//     at least 5 minutes old by its createdAt tag; `NeedsCreatedAtStamp`
//     the one the sweep stamps with a createdAt instead.
//
// Example:
//
//   enipool::EniClassOptions options{.instance_id = "i-0abc", .manage_untagged = false};
//   enipool::EniClass c = enipool::ClassifyEni(described_eni, /*primary=*/false, options);
//   if (!enipool::EniInPool(c)) { /* set aside, counted against max ENIs */ }
//   std::vector<enipool::Ec2Tag> tags =
//       enipool::CreatedEniTags("i-0abc", clock.Now(), /*cluster_name=*/"prod", {});
//
// Thread-safety: pure functions.

#ifndef ENIPOOL_ENI_CLASS_H_
#define ENIPOOL_ENI_CLASS_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"

namespace enipool {

// Tag keys (docs/reference-behavior.md §4.13, §7.1).
inline constexpr absl::string_view kEniNoManageTag = "node.k8s.amazonaws.com/no_manage";
inline constexpr absl::string_view kEniInstanceIdTag = "node.k8s.amazonaws.com/instance_id";
inline constexpr absl::string_view kEniCreatedAtTag = "node.k8s.amazonaws.com/createdAt";
inline constexpr absl::string_view kEniClusterNameTag = "cluster.k8s.amazonaws.com/name";
inline constexpr absl::string_view kEniOwnerTag = "eks:eni:owner";
inline constexpr absl::string_view kEniOwnerValue = "amazon-vpc-cni";
// ADDITIONAL_ENI_TAGS keys containing this are dropped: the node's own.
inline constexpr absl::string_view kReservedTagKeyPart = "k8s.amazonaws.com";
// The description of every ENI a node creates starts with this.
inline constexpr absl::string_view kCreatedEniDescriptionPrefix = "aws-K8S-";
// The leaked-ENI sweep leaves younger ENIs alone (docs/reference-behavior.md §4.9).
inline constexpr absl::Duration kLeakedEniMinAge = absl::Minutes(5);

// EniClass
//
// What the node may do with one attached ENI (docs/reference-behavior.md §1.2, §4.13).
enum class EniClass {
  kManaged,    // an ordinary pool ENI: grown, shrunk, freed
  kTrunk,      // interface type "trunk": in the pool, never given addresses, never freed
  kEfa,        // interface type "efa": in the pool, may be grown, never freed
  kUnmanaged,  // no_manage=true, or untagged with MANAGE_UNTAGGED_ENI=false: ignored
  kEfaOnly,    // interface type "efa-only": ignored
};

inline absl::string_view EniClassName(EniClass c) {
  switch (c) {
    case EniClass::kManaged: return "managed";
    case EniClass::kTrunk: return "trunk";
    case EniClass::kEfa: return "efa";
    case EniClass::kUnmanaged: return "unmanaged";
    case EniClass::kEfaOnly: return "efa-only";
  }
  return "managed";
}

// EniInPool()
//
// Whether an ENI of this class joins the pool. The others stay out of it
// and count against the ENI limit (HasRoomForEni's `unmanaged`).
constexpr bool EniInPool(EniClass c) noexcept {
  return c != EniClass::kUnmanaged && c != EniClass::kEfaOnly;
}

// EniClassOptions
struct EniClassOptions {
  std::string instance_id;  // this node: its own ENIs carry it in kEniInstanceIdTag
  bool manage_untagged = true;  // MANAGE_UNTAGGED_ENI (default true)
};

// ClassifyEni()
//
// The class of an ENI attached to this node (docs/reference-behavior.md §4.13; upstream
// IPAMD :: setUnmanagedENIs, filterUnmanagedENIs):
//   1. not the primary, and tagged no_manage with the value "true" ⇒ unmanaged
//      (a no_manage tag with any other value makes it managed);
//   2. not the primary, no no_manage tag, no instance-id tag naming this
//      node, and manage_untagged false ⇒ unmanaged;
//   3. not the primary, interface type "efa-only" ⇒ EFA-only;
//   4. else by interface type: trunk, EFA, or managed.
[[nodiscard]] inline EniClass ClassifyEni(const NetworkInterface& eni, bool primary,
                                          const EniClassOptions& options) {
  if (!primary) {
    if (const std::string* no_manage = FindTag(eni.tags, kEniNoManageTag)) {
      if (*no_manage == "true") return EniClass::kUnmanaged;
    } else {
      const std::string* owner = FindTag(eni.tags, kEniInstanceIdTag);
      const bool ours = owner != nullptr && *owner == options.instance_id;
      if (!ours && !options.manage_untagged) return EniClass::kUnmanaged;
    }
    if (eni.interface_type == "efa-only") return EniClass::kEfaOnly;
  }
  if (eni.interface_type == "trunk") return EniClass::kTrunk;
  if (eni.interface_type == "efa") return EniClass::kEfa;
  return EniClass::kManaged;
}

// FormatEniTime()
//
// RFC 3339 in UTC to the second, as the reference writes createdAt.
[[nodiscard]] inline std::string FormatEniTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

namespace eni_class_internal {
// The node's tags after `tags`: the instance id, the cluster name and owner
// when `cluster_name` is set, then `additional` except keys containing
// "k8s.amazonaws.com". A key given twice keeps its last value, in its first
// position.
inline std::vector<Ec2Tag> AppendNodeTags(std::vector<Ec2Tag> tags, absl::string_view instance_id,
                                          absl::string_view cluster_name,
                                          const std::vector<Ec2Tag>& additional) {
  auto put = [&tags](absl::string_view key, absl::string_view value) {
    for (Ec2Tag& tag : tags) {
      if (tag.key == key) {
        tag.value = std::string(value);
        return;
      }
    }
    tags.push_back(Ec2Tag{std::string(key), std::string(value)});
  };
  put(kEniInstanceIdTag, instance_id);
  if (!cluster_name.empty()) {
    put(kEniClusterNameTag, cluster_name);
    put(kEniOwnerTag, kEniOwnerValue);
  }
  for (const Ec2Tag& tag : additional) {
    if (absl::StrContains(tag.key, kReservedTagKeyPart)) continue;
    put(tag.key, tag.value);
  }
  return tags;
}
}  // namespace eni_class_internal

// CreatedEniTags()
//
// The tags of an ENI this node creates (docs/reference-behavior.md §7.1; upstream AWSU ::
// createENITags, buildENITags): createdAt, then NodeEniTags(): the
// instance id, the cluster name and owner when `cluster_name` is set, and
// `additional` (ADDITIONAL_ENI_TAGS) except keys containing
// "k8s.amazonaws.com". A key given twice keeps its last value, in its
// first position.
[[nodiscard]] inline std::vector<Ec2Tag> CreatedEniTags(absl::string_view instance_id,
                                                        absl::Time now,
                                                        absl::string_view cluster_name,
                                                        const std::vector<Ec2Tag>& additional) {
  return eni_class_internal::AppendNodeTags({Ec2Tag{std::string(kEniCreatedAtTag), FormatEniTime(now)}},
                                            instance_id, cluster_name, additional);
}

// NodeEniTags()
//
// The tags the node wants on every managed ENI it finds (docs/reference-behavior.md
// §4.13, §7.1; upstream AWSU :: buildENITags, TagENI): those of
// CreatedEniTags() without createdAt.
[[nodiscard]] inline std::vector<Ec2Tag> NodeEniTags(absl::string_view instance_id,
                                                     absl::string_view cluster_name,
                                                     const std::vector<Ec2Tag>& additional) {
  return eni_class_internal::AppendNodeTags({}, instance_id, cluster_name, additional);
}

// MissingEniTags()
//
// The tags of `wanted` that `have` lacks or carries with another value, in
// `wanted`'s order: what the reference's TagENI sends with CreateTags (none:
// no call).
[[nodiscard]] inline std::vector<Ec2Tag> MissingEniTags(const std::vector<Ec2Tag>& have,
                                                        const std::vector<Ec2Tag>& wanted) {
  std::vector<Ec2Tag> missing;
  for (const Ec2Tag& tag : wanted) {
    const std::string* value = FindTag(have, tag.key);
    if (value == nullptr || *value != tag.value) missing.push_back(tag);
  }
  return missing;
}

// EniTagCall()
//
// The CreateTags a node sends for an ENI it finds (docs/reference-behavior.md
// §4.13; upstream IPAMD :: nodeInit's TagENI): the tags of `wanted`
// (NodeEniTags()) the ENI lacks or holds with another value, on that ENI
// alone. nullopt when the node does not tag it (unmanaged, EFA-only or
// trunk, by ClassifyEni() with `primary` and `options`) or nothing differs.
// The IPv4 controller (controller.h) and the IPv6 node (ipv6_node.h) both
// ask it.
[[nodiscard]] inline std::optional<CreateTagsRequest> EniTagCall(
    const NetworkInterface& eni, bool primary, const EniClassOptions& options,
    const std::vector<Ec2Tag>& wanted) {
  const EniClass eni_class = ClassifyEni(eni, primary, options);
  if (!EniInPool(eni_class) || eni_class == EniClass::kTrunk) return std::nullopt;
  std::vector<Ec2Tag> missing = MissingEniTags(eni.tags, wanted);
  if (missing.empty()) return std::nullopt;
  return CreateTagsRequest{.eni_ids = {eni.id}, .tags = std::move(missing)};
}

namespace internal {

// What IsLeakedEniCandidate() and NeedsCreatedAtStamp() both ask first: an
// unattached ENI that a node of this cluster created (instance-id tag,
// "aws-K8S-" description, the cluster-name tag when `cluster_name` is set).
[[nodiscard]] inline bool IsUnattachedNodeCreatedEni(const NetworkInterface& eni,
                                                     absl::string_view cluster_name) {
  if (eni.attached()) return false;
  if (FindTag(eni.tags, kEniInstanceIdTag) == nullptr) return false;
  if (!absl::StartsWith(eni.description, kCreatedEniDescriptionPrefix)) return false;
  if (!cluster_name.empty()) {
    const std::string* cluster = FindTag(eni.tags, kEniClusterNameTag);
    if (cluster == nullptr || *cluster != cluster_name) return false;
  }
  return true;
}

// The ENI's createdAt tag as a time; nullopt when it lacks one or it does
// not parse as RFC 3339.
[[nodiscard]] inline std::optional<absl::Time> CreatedAtTag(const NetworkInterface& eni) {
  const std::string* created = FindTag(eni.tags, kEniCreatedAtTag);
  if (created == nullptr) return std::nullopt;
  absl::Time created_at;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, *created, &created_at, &error)) return std::nullopt;
  return created_at;
}

}  // namespace internal

// IsLeakedEniCandidate()
//
// The leaked-ENI sweep's test (docs/reference-behavior.md §4.9, §7.1; upstream AWSU ::
// getLeakedENIs): the ENI is unattached, carries the instance-id tag (of any
// node: a terminated node's leak is swept by the others), has a description
// starting "aws-K8S-", carries the cluster-name tag with `cluster_name` when
// that is set, and its createdAt tag parses and is at least 5 minutes
// before `now`. An ENI without a parsable createdAt is not deleted (the
// reference stamps one, so a later sweep can age it).
[[nodiscard]] inline bool IsLeakedEniCandidate(const NetworkInterface& eni,
                                               absl::string_view cluster_name, absl::Time now) {
  if (!internal::IsUnattachedNodeCreatedEni(eni, cluster_name)) return false;
  const std::optional<absl::Time> created_at = internal::CreatedAtTag(eni);
  return created_at.has_value() && now - *created_at >= kLeakedEniMinAge;
}

// NeedsCreatedAtStamp()
//
// True for an ENI the leaked-ENI sweep would delete (IsLeakedEniCandidate())
// but for its createdAt tag, which it lacks or which does not parse: the
// reference stamps such an ENI with the current time instead (upstream AWSU
// :: getLeakedENIs, tagENIcreateTS), so that a later sweep can age it.
[[nodiscard]] inline bool NeedsCreatedAtStamp(const NetworkInterface& eni,
                                              absl::string_view cluster_name) {
  return internal::IsUnattachedNodeCreatedEni(eni, cluster_name) &&
         !internal::CreatedAtTag(eni).has_value();
}

}  // namespace enipool

#endif  // ENIPOOL_ENI_CLASS_H_
