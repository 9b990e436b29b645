// -----------------------------------------------------------------------------
// File: ec2/ec2_api.h
// -----------------------------------------------------------------------------
//
// Names for the kinds of EC2 call the simulator distinguishes: `CallKind`,
// one per alternative of `enipool::Ec2Call` (what latency and fault rules are
// keyed by), and `Ec2Action`, the EC2 API action a call is billed to for
// throttling. The two differ because EC2 serves IPs and prefixes through the
// same action: AssignIpv4Prefixes is AssignPrivateIpAddresses with
// Ipv4PrefixCount, and draws from the same token bucket.
//
// Example:
//
//   enipool::Ec2Call call = enipool::AssignIpv4PrefixesRequest{.eni_id = "eni-1", .count = 1};
//   enipool::ec2::CallKindOf(call);                       // CallKind::kAssignIpv4Prefixes
//   enipool::ec2::ActionOf(enipool::ec2::CallKindOf(call)); // Ec2Action::kAssignPrivateIpAddresses

#ifndef ENIPOOL_EC2_EC2_API_H_
#define ENIPOOL_EC2_EC2_API_H_

#include <cstddef>
#include <type_traits>
#include <variant>

#include "absl/strings/string_view.h"
#include "enipool/ec2/backend.h"

namespace enipool::ec2 {

// CallKind
//
// One value per alternative of enipool::Ec2Call, in the variant's order, so
// that `static_cast<CallKind>(call.index())` is the call's kind.
enum class CallKind {
  kCreateNetworkInterface,
  kAttachNetworkInterface,
  kDetachNetworkInterface,
  kDeleteNetworkInterface,
  kAssignPrivateIpAddresses,
  kAssignIpv4Prefixes,
  kUnassignPrivateIpAddresses,
  kUnassignIpv4Prefixes,
  kDescribeNetworkInterfaces,
  kDescribeSubnets,
  kAssignIpv6Prefixes,
  kUnassignIpv6Prefixes,
  kCreateTags,
  kModifyNetworkInterfaceAttribute,
};
inline constexpr std::size_t kCallKindCount = std::variant_size_v<Ec2Call>;
static_assert(kCallKindCount == 14, "a new Ec2Call alternative needs a CallKind");
static_assert(std::is_same_v<std::variant_alternative_t<13, Ec2Call>,
                             ModifyNetworkInterfaceAttributeRequest>);
static_assert(std::is_same_v<std::variant_alternative_t<12, Ec2Call>, CreateTagsRequest>);
static_assert(
    std::is_same_v<std::variant_alternative_t<11, Ec2Call>, UnassignIpv6PrefixesRequest>);
static_assert(std::is_same_v<std::variant_alternative_t<5, Ec2Call>, AssignIpv4PrefixesRequest>);
static_assert(
    std::is_same_v<std::variant_alternative_t<8, Ec2Call>, DescribeNetworkInterfacesRequest>);

// CallKindOf()
//
// The kind of `call`.
[[nodiscard]] inline CallKind CallKindOf(const Ec2Call& call) noexcept {
  return static_cast<CallKind>(call.index());
}

// CallKindName()
//
// The name of the call ("AssignIpv4Prefixes"), as Ec2CallName() spells it.
[[nodiscard]] inline absl::string_view CallKindName(CallKind kind) noexcept {
  switch (kind) {
    case CallKind::kCreateNetworkInterface: return "CreateNetworkInterface";
    case CallKind::kAttachNetworkInterface: return "AttachNetworkInterface";
    case CallKind::kDetachNetworkInterface: return "DetachNetworkInterface";
    case CallKind::kDeleteNetworkInterface: return "DeleteNetworkInterface";
    case CallKind::kAssignPrivateIpAddresses: return "AssignPrivateIpAddresses";
    case CallKind::kAssignIpv4Prefixes: return "AssignIpv4Prefixes";
    case CallKind::kUnassignPrivateIpAddresses: return "UnassignPrivateIpAddresses";
    case CallKind::kUnassignIpv4Prefixes: return "UnassignIpv4Prefixes";
    case CallKind::kDescribeNetworkInterfaces: return "DescribeNetworkInterfaces";
    case CallKind::kDescribeSubnets: return "DescribeSubnets";
    case CallKind::kAssignIpv6Prefixes: return "AssignIpv6Prefixes";
    case CallKind::kUnassignIpv6Prefixes: return "UnassignIpv6Prefixes";
    case CallKind::kCreateTags: return "CreateTags";
    case CallKind::kModifyNetworkInterfaceAttribute: return "ModifyNetworkInterfaceAttribute";
  }
  return "Unknown";
}

// Ec2Action
//
// The EC2 API actions behind the calls: what EC2 throttles by.
enum class Ec2Action {
  kCreateNetworkInterface,
  kAttachNetworkInterface,
  kDetachNetworkInterface,
  kDeleteNetworkInterface,
  kAssignPrivateIpAddresses,    // secondary IPs and IPv4 prefixes
  kUnassignPrivateIpAddresses,  // secondary IPs and IPv4 prefixes
  kDescribeNetworkInterfaces,
  kDescribeSubnets,
  kAssignIpv6Addresses,    // IPv6 prefixes (Ipv6PrefixCount)
  kUnassignIpv6Addresses,  // IPv6 prefixes (Ipv6Prefix.N)
  kCreateTags,
  kModifyNetworkInterfaceAttribute,
};
inline constexpr std::size_t kEc2ActionCount = 12;

// ActionOf()
//
// The EC2 action a call of `kind` is made with.
[[nodiscard]] inline Ec2Action ActionOf(CallKind kind) noexcept {
  switch (kind) {
    case CallKind::kCreateNetworkInterface: return Ec2Action::kCreateNetworkInterface;
    case CallKind::kAttachNetworkInterface: return Ec2Action::kAttachNetworkInterface;
    case CallKind::kDetachNetworkInterface: return Ec2Action::kDetachNetworkInterface;
    case CallKind::kDeleteNetworkInterface: return Ec2Action::kDeleteNetworkInterface;
    case CallKind::kAssignPrivateIpAddresses:
    case CallKind::kAssignIpv4Prefixes: return Ec2Action::kAssignPrivateIpAddresses;
    case CallKind::kUnassignPrivateIpAddresses:
    case CallKind::kUnassignIpv4Prefixes: return Ec2Action::kUnassignPrivateIpAddresses;
    case CallKind::kDescribeNetworkInterfaces: return Ec2Action::kDescribeNetworkInterfaces;
    case CallKind::kDescribeSubnets: return Ec2Action::kDescribeSubnets;
    case CallKind::kAssignIpv6Prefixes: return Ec2Action::kAssignIpv6Addresses;
    case CallKind::kUnassignIpv6Prefixes: return Ec2Action::kUnassignIpv6Addresses;
    case CallKind::kCreateTags: return Ec2Action::kCreateTags;
    case CallKind::kModifyNetworkInterfaceAttribute:
      return Ec2Action::kModifyNetworkInterfaceAttribute;
  }
  return Ec2Action::kDescribeNetworkInterfaces;
}

// Ec2ActionName()
//
// The action as EC2 spells it ("AssignPrivateIpAddresses").
[[nodiscard]] inline absl::string_view Ec2ActionName(Ec2Action action) noexcept {
  switch (action) {
    case Ec2Action::kCreateNetworkInterface: return "CreateNetworkInterface";
    case Ec2Action::kAttachNetworkInterface: return "AttachNetworkInterface";
    case Ec2Action::kDetachNetworkInterface: return "DetachNetworkInterface";
    case Ec2Action::kDeleteNetworkInterface: return "DeleteNetworkInterface";
    case Ec2Action::kAssignPrivateIpAddresses: return "AssignPrivateIpAddresses";
    case Ec2Action::kUnassignPrivateIpAddresses: return "UnassignPrivateIpAddresses";
    case Ec2Action::kDescribeNetworkInterfaces: return "DescribeNetworkInterfaces";
    case Ec2Action::kDescribeSubnets: return "DescribeSubnets";
    case Ec2Action::kAssignIpv6Addresses: return "AssignIpv6Addresses";
    case Ec2Action::kUnassignIpv6Addresses: return "UnassignIpv6Addresses";
    case Ec2Action::kCreateTags: return "CreateTags";
    case Ec2Action::kModifyNetworkInterfaceAttribute: return "ModifyNetworkInterfaceAttribute";
  }
  return "Unknown";
}

}  // namespace enipool::ec2

#endif  // ENIPOOL_EC2_EC2_API_H_
