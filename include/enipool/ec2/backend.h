// -----------------------------------------------------------------------------
// File: ec2/backend.h
// -----------------------------------------------------------------------------
//
// The EC2 surface enipool talks to: one value type per call the reference
// makes (docs/reference-behavior.md §7.1), the `Backend` concept a blocking implementation
// satisfies, the `Ec2Request` / `Ec2Result` values a sans-I/O controller
// emits and consumes, and the EC2 error vocabulary.
//
// Errors are `absl::Status` whose message starts with the EC2 error code
// ("InsufficientCidrBlocks: subnet-1 has no free aligned /28"); `Ec2Error()`
// builds one with the matching canonical code and `ClassifyEc2Error()` reads
// the code back, so a controller can react to the EC2 code whatever backend
// produced it.
//
// Example:
//
//   template <enipool::Backend B>
//   absl::Status AddPrefix(B& ec2, const std::string& eni) {
//     ENIPOOL_ASSIGN_OR_RETURN(auto prefixes,
//                              ec2.AssignIpv4Prefixes({.eni_id = eni, .count = 1}));
//     ...
//   }
//
//   absl::Status s = enipool::Ec2Error(enipool::Ec2ErrorCode::kInsufficientCidrBlocks,
//                                      "subnet-1 has no free aligned /28");
//   enipool::ClassifyEc2Error(s);   // Ec2ErrorCode::kInsufficientCidrBlocks

#ifndef ENIPOOL_EC2_BACKEND_H_
#define ENIPOOL_EC2_BACKEND_H_

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/ipv4.h"
#include "enipool/ipv6.h"

namespace enipool {

// -----------------------------------------------------------------------------
// Error vocabulary
// -----------------------------------------------------------------------------

// Ec2ErrorCode
//
// The EC2 error codes the reference reacts to (docs/reference-behavior.md §7.5), plus kOther
// for any other failure and kNone for OK.
enum class Ec2ErrorCode {
  kNone,
  kInsufficientCidrBlocks,             // no aligned free /28 left in the subnet
  kInsufficientFreeAddressesInSubnet,  // no address left in the subnet
  kPrivateIpAddressLimitExceeded,      // the ENI has no free slot
  kAttachmentLimitExceeded,            // the instance has its maximum ENIs
  kRequestLimitExceeded,               // throttled
  kInvalidNetworkInterfaceIdNotFound,  // InvalidNetworkInterfaceID.NotFound
  kInvalidParameterValue,              // malformed request
  kUnauthorizedOperation,              // missing IAM permission
  kInvalidIpAddressInUse,              // InvalidIPAddress.InUse: an explicit address is taken
  kOther,
};

// Ec2ErrorCodeName()
//
// The code as EC2 spells it ("InvalidNetworkInterfaceID.NotFound").
inline absl::string_view Ec2ErrorCodeName(Ec2ErrorCode code) {
  switch (code) {
    case Ec2ErrorCode::kNone: return "OK";
    case Ec2ErrorCode::kInsufficientCidrBlocks: return "InsufficientCidrBlocks";
    case Ec2ErrorCode::kInsufficientFreeAddressesInSubnet: return "InsufficientFreeAddressesInSubnet";
    case Ec2ErrorCode::kPrivateIpAddressLimitExceeded: return "PrivateIpAddressLimitExceeded";
    case Ec2ErrorCode::kAttachmentLimitExceeded: return "AttachmentLimitExceeded";
    case Ec2ErrorCode::kRequestLimitExceeded: return "RequestLimitExceeded";
    case Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound: return "InvalidNetworkInterfaceID.NotFound";
    case Ec2ErrorCode::kInvalidParameterValue: return "InvalidParameterValue";
    case Ec2ErrorCode::kUnauthorizedOperation: return "UnauthorizedOperation";
    case Ec2ErrorCode::kInvalidIpAddressInUse: return "InvalidIPAddress.InUse";
    case Ec2ErrorCode::kOther: return "InternalError";
  }
  return "InternalError";
}

// Ec2ErrorStatusCode()
//
// The canonical absl code for an EC2 error: exhaustion of a subnet, an ENI
// or an instance is RESOURCE_EXHAUSTED; throttling is UNAVAILABLE (retry with
// back-off, as absl/status/status.h advises); an unknown ENI is NOT_FOUND;
// an explicit address someone else holds is ALREADY_EXISTS.
inline absl::StatusCode Ec2ErrorStatusCode(Ec2ErrorCode code) {
  switch (code) {
    case Ec2ErrorCode::kNone: return absl::StatusCode::kOk;
    case Ec2ErrorCode::kInsufficientCidrBlocks:
    case Ec2ErrorCode::kInsufficientFreeAddressesInSubnet:
    case Ec2ErrorCode::kPrivateIpAddressLimitExceeded:
    case Ec2ErrorCode::kAttachmentLimitExceeded: return absl::StatusCode::kResourceExhausted;
    case Ec2ErrorCode::kRequestLimitExceeded: return absl::StatusCode::kUnavailable;
    case Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound: return absl::StatusCode::kNotFound;
    case Ec2ErrorCode::kInvalidParameterValue: return absl::StatusCode::kInvalidArgument;
    case Ec2ErrorCode::kUnauthorizedOperation: return absl::StatusCode::kPermissionDenied;
    case Ec2ErrorCode::kInvalidIpAddressInUse: return absl::StatusCode::kAlreadyExists;
    case Ec2ErrorCode::kOther: return absl::StatusCode::kInternal;
  }
  return absl::StatusCode::kInternal;
}

// Ec2Error()
//
// A status for an EC2 failure: "<Code>: <detail>" with the matching
// canonical code.
inline absl::Status Ec2Error(Ec2ErrorCode code, absl::string_view detail) {
  return absl::Status(Ec2ErrorStatusCode(code), absl::StrCat(Ec2ErrorCodeName(code), ": ", detail));
}

// ClassifyEc2Error()
//
// Reads the EC2 code that leads a status message. OK → kNone; a message
// with no known code → kOther. Throttling codes other than
// RequestLimitExceeded ("Throttling", "ThrottlingException") count as
// kRequestLimitExceeded, as the AWS SDK's retryer treats them alike.
inline Ec2ErrorCode ClassifyEc2Error(const absl::Status& status) {
  if (status.ok()) return Ec2ErrorCode::kNone;
  const absl::string_view message = status.message();
  const auto colon = message.find(':');
  const absl::string_view code = colon == absl::string_view::npos ? message : message.substr(0, colon);
  for (Ec2ErrorCode candidate :
       {Ec2ErrorCode::kInsufficientCidrBlocks, Ec2ErrorCode::kInsufficientFreeAddressesInSubnet,
        Ec2ErrorCode::kPrivateIpAddressLimitExceeded, Ec2ErrorCode::kAttachmentLimitExceeded,
        Ec2ErrorCode::kRequestLimitExceeded, Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound,
        Ec2ErrorCode::kInvalidParameterValue, Ec2ErrorCode::kUnauthorizedOperation,
        Ec2ErrorCode::kInvalidIpAddressInUse}) {
    if (code == Ec2ErrorCodeName(candidate)) return candidate;
  }
  if (code == "Throttling" || code == "ThrottlingException") {
    return Ec2ErrorCode::kRequestLimitExceeded;
  }
  return Ec2ErrorCode::kOther;
}

// IsInsufficientAddressError()
//
// The two errors that start the reference's 120 s "no increase" back-off.
inline bool IsInsufficientAddressError(Ec2ErrorCode code) {
  return code == Ec2ErrorCode::kInsufficientCidrBlocks ||
         code == Ec2ErrorCode::kInsufficientFreeAddressesInSubnet;
}

// -----------------------------------------------------------------------------
// Requests and responses (docs/reference-behavior.md §7.1)
// -----------------------------------------------------------------------------

// Ec2Tag
//
// One EC2 resource tag (TagSet / TagSpecification entries).
struct Ec2Tag {
  std::string key;
  std::string value;
  friend bool operator==(const Ec2Tag&, const Ec2Tag&) = default;
};

// FindTag()
//
// The value of tag `key`, or nullptr when the tags lack it.
inline const std::string* FindTag(const std::vector<Ec2Tag>& tags, absl::string_view key) {
  for (const Ec2Tag& tag : tags) {
    if (tag.key == key) return &tag.value;
  }
  return nullptr;
}

// What EC2 reports about one network interface.
struct NetworkInterface {
  std::string id;
  std::string subnet_id;
  std::string instance_id;    // empty when not attached
  std::string attachment_id;  // empty when not attached
  int device_index = -1;      // -1 when not attached
  // The network card the attachment is on (EC2's Attachment.NetworkCardIndex):
  // 0 for the primary and for every ENI of a single-card type; meaningless
  // when not attached. Device indexes count per card
  // (docs/reference-behavior.md §1.1, §7.1).
  int network_card_index = 0;
  // Whether EC2 deletes the ENI when the instance terminates (EC2's
  // Attachment.DeleteOnTermination): true for the primary ENI, false for an
  // ENI attached later until ModifyNetworkInterfaceAttribute sets it (the
  // reference sets it after each attach, docs/reference-behavior.md §7.1);
  // meaningless when not attached.
  bool delete_on_termination = false;
  std::string interface_type = "interface";  // "interface", "trunk", "efa", "efa-only"
  Ipv4Address primary_ip;
  std::vector<Ipv4Address> secondary_ips;
  std::vector<Ipv4Prefix> prefixes;
  absl::Time created;
  std::string description;  // as given at create ("aws-K8S-<instance-id>" for the node's own)
  std::vector<Ec2Tag> tags;                     // TagSet
  std::vector<std::string> security_group_ids;  // groupSet
  // The delegated IPv6 prefixes (ipv6PrefixSet): in the reference's IPv6
  // mode one /80 on each managed ENI (docs/reference-behavior.md §4.12).
  std::vector<Ipv6Prefix> ipv6_prefixes;

  [[nodiscard]] bool attached() const noexcept { return !attachment_id.empty(); }
  friend bool operator==(const NetworkInterface&, const NetworkInterface&) = default;
};

// CreateNetworkInterface, with SecondaryPrivateIpAddressCount (secondary-IP
// mode) or Ipv4PrefixCount (prefix mode); at most one of the two is
// non-zero. Ipv6PrefixCount asks for delegated /80s out of the subnet's
// IPv6 block as well: the reference's IPv6 mode creates an extra card's
// ENI with one (docs/reference-behavior.md §4.12, §7.1).
// `private_ip_address` (EC2's PrivateIpAddress) names the ENI's primary
// address; without it EC2 picks one anywhere in the subnet (the reference
// never names one, so its ENIs can break a free aligned /28).
struct CreateNetworkInterfaceRequest {
  std::string subnet_id;
  int secondary_ip_count = 0;
  int ipv4_prefix_count = 0;
  int ipv6_prefix_count = 0;
  std::string description;  // the reference writes "aws-K8S-<instance-id>"
  std::optional<Ipv4Address> private_ip_address = std::nullopt;
  // SecurityGroupId.N: the primary ENI's groups, or the ENIConfig's under
  // custom networking (docs/reference-behavior.md §4.13); empty: the VPC's default.
  std::vector<std::string> security_group_ids;
  // TagSpecification.1 (network-interface): the reference's tags
  // (CreatedEniTags(), eni_class.h; docs/reference-behavior.md §7.1).
  std::vector<Ec2Tag> tags;
  friend bool operator==(const CreateNetworkInterfaceRequest&,
                         const CreateNetworkInterfaceRequest&) = default;
};

// AttachNetworkInterface at a device index of one of the instance's network
// cards (NetworkCardIndex; EC2's default, and the only card of most types,
// is 0). Device indexes are per card: the lowest free one on the target card
// is what the reference asks for (docs/reference-behavior.md §7.1).
struct AttachNetworkInterfaceRequest {
  std::string eni_id;
  std::string instance_id;
  int device_index = 0;
  int network_card_index = 0;
  friend bool operator==(const AttachNetworkInterfaceRequest&,
                         const AttachNetworkInterfaceRequest&) = default;
};

struct DetachNetworkInterfaceRequest {
  std::string attachment_id;
  std::string eni_id;  // for messages and simulators that key on the ENI
  friend bool operator==(const DetachNetworkInterfaceRequest&,
                         const DetachNetworkInterfaceRequest&) = default;
};

struct DeleteNetworkInterfaceRequest {
  std::string eni_id;
  friend bool operator==(const DeleteNetworkInterfaceRequest&,
                         const DeleteNetworkInterfaceRequest&) = default;
};

// AssignPrivateIpAddresses with SecondaryPrivateIpAddressCount (count form
// only, as the reference).
struct AssignPrivateIpAddressesRequest {
  std::string eni_id;
  int count = 0;
  friend bool operator==(const AssignPrivateIpAddressesRequest&,
                         const AssignPrivateIpAddressesRequest&) = default;
};

// AssignPrivateIpAddresses with Ipv4PrefixCount.
struct AssignIpv4PrefixesRequest {
  std::string eni_id;
  int count = 0;
  friend bool operator==(const AssignIpv4PrefixesRequest&,
                         const AssignIpv4PrefixesRequest&) = default;
};

struct UnassignPrivateIpAddressesRequest {
  std::string eni_id;
  std::vector<Ipv4Address> addresses;
  friend bool operator==(const UnassignPrivateIpAddressesRequest&,
                         const UnassignPrivateIpAddressesRequest&) = default;
};

// UnassignPrivateIpAddresses with Ipv4Prefixes.
struct UnassignIpv4PrefixesRequest {
  std::string eni_id;
  std::vector<Ipv4Prefix> prefixes;
  friend bool operator==(const UnassignIpv4PrefixesRequest&,
                         const UnassignIpv4PrefixesRequest&) = default;
};

// AssignIpv6Addresses with Ipv6PrefixCount: `count` more delegated /80s
// out of the subnet's IPv6 /64. The reference asks for one, once, at
// startup in IPv6 mode (docs/reference-behavior.md §4.12, §7.1).
struct AssignIpv6PrefixesRequest {
  std::string eni_id;
  int count = 1;
  friend bool operator==(const AssignIpv6PrefixesRequest&,
                         const AssignIpv6PrefixesRequest&) = default;
};

// UnassignIpv6Addresses with Ipv6Prefix.N.
struct UnassignIpv6PrefixesRequest {
  std::string eni_id;
  std::vector<Ipv6Prefix> prefixes;
  friend bool operator==(const UnassignIpv6PrefixesRequest&,
                         const UnassignIpv6PrefixesRequest&) = default;
};

// DescribeNetworkInterfaces by id, or (ids empty) every interface attached
// to `instance_id`, or (both empty) every interface in the account/VPC —
// what the leaked-ENI sweep reads. A non-empty `description` keeps only
// the interfaces with exactly that description (EC2's "description"
// filter): how a restarted node finds an ENI whose create answer it lost.
struct DescribeNetworkInterfacesRequest {
  std::vector<std::string> eni_ids;
  std::string instance_id;
  std::string description;
  friend bool operator==(const DescribeNetworkInterfacesRequest&,
                         const DescribeNetworkInterfacesRequest&) = default;
};

// What EC2 reports about one subnet (DescribeSubnets).
struct SubnetInfo {
  std::string id;
  Ipv4Prefix cidr;
  std::string availability_zone;
  std::string vpc_id;
  std::int64_t available_addresses = 0;  // AvailableIpAddressCount
  std::vector<Ec2Tag> tags;
  // The subnet's IPv6 block (ipv6CidrBlockAssociationSet), when it has one:
  // a /64 in EC2, the source of the /80s AssignIpv6Addresses delegates.
  std::optional<Ipv6Prefix> ipv6_cidr = std::nullopt;
  friend bool operator==(const SubnetInfo&, const SubnetInfo&) = default;
};

// DescribeSubnets: those named by `subnet_ids`, else every subnet of
// `vpc_id` in `availability_zone` (an empty field filters nothing) — what
// the reference's subnet discovery reads (docs/reference-behavior.md §7.1).
struct DescribeSubnetsRequest {
  std::vector<std::string> subnet_ids;
  std::string vpc_id;
  std::string availability_zone;
  friend bool operator==(const DescribeSubnetsRequest&, const DescribeSubnetsRequest&) = default;
};

// CreateTags on network interfaces: every tag of `tags` is set on every ENI
// of `eni_ids` (EC2's ResourceId.N and Tag.N.Key / Tag.N.Value); a key an
// ENI already has takes the new value, other tags stay. The reference tags
// the managed ENIs it finds lacking its tags, one ENI per call
// (docs/reference-behavior.md §4.13, §7.1).
struct CreateTagsRequest {
  std::vector<std::string> eni_ids;
  std::vector<Ec2Tag> tags;
  friend bool operator==(const CreateTagsRequest&, const CreateTagsRequest&) = default;
};

// ModifyNetworkInterfaceAttribute on one ENI, changing exactly one of two
// attributes (EC2 takes one attribute per call): the delete-on-termination
// flag of its attachment (Attachment.AttachmentId and
// Attachment.DeleteOnTermination), or its security groups (SecurityGroupId.N,
// the new set replacing the old). The reference sets DeleteOnTermination
// after each attach, and pushes the primary ENI's groups to every managed ENI
// when they change (docs/reference-behavior.md §7.1).
struct ModifyNetworkInterfaceAttributeRequest {
  // The attachment change: which attachment, and the flag's new value.
  struct Attachment {
    std::string attachment_id;
    bool delete_on_termination = true;
    friend bool operator==(const Attachment&, const Attachment&) = default;
  };
  std::string eni_id;
  std::optional<Attachment> attachment = std::nullopt;
  std::optional<std::vector<std::string>> security_group_ids = std::nullopt;
  friend bool operator==(const ModifyNetworkInterfaceAttributeRequest&,
                         const ModifyNetworkInterfaceAttributeRequest&) = default;
};

// Ec2Call
//
// Any one of the calls above.
using Ec2Call =
    std::variant<CreateNetworkInterfaceRequest, AttachNetworkInterfaceRequest,
                 DetachNetworkInterfaceRequest, DeleteNetworkInterfaceRequest,
                 AssignPrivateIpAddressesRequest, AssignIpv4PrefixesRequest,
                 UnassignPrivateIpAddressesRequest, UnassignIpv4PrefixesRequest,
                 DescribeNetworkInterfacesRequest, DescribeSubnetsRequest,
                 AssignIpv6PrefixesRequest, UnassignIpv6PrefixesRequest, CreateTagsRequest,
                 ModifyNetworkInterfaceAttributeRequest>;

// Ec2CallName()
//
// The EC2 API name of a call, for metrics and reports.
inline absl::string_view Ec2CallName(const Ec2Call& call) {
  struct Namer {
    absl::string_view operator()(const CreateNetworkInterfaceRequest&) const { return "CreateNetworkInterface"; }
    absl::string_view operator()(const AttachNetworkInterfaceRequest&) const { return "AttachNetworkInterface"; }
    absl::string_view operator()(const DetachNetworkInterfaceRequest&) const { return "DetachNetworkInterface"; }
    absl::string_view operator()(const DeleteNetworkInterfaceRequest&) const { return "DeleteNetworkInterface"; }
    absl::string_view operator()(const AssignPrivateIpAddressesRequest&) const { return "AssignPrivateIpAddresses"; }
    absl::string_view operator()(const AssignIpv4PrefixesRequest&) const { return "AssignIpv4Prefixes"; }
    absl::string_view operator()(const UnassignPrivateIpAddressesRequest&) const { return "UnassignPrivateIpAddresses"; }
    absl::string_view operator()(const UnassignIpv4PrefixesRequest&) const { return "UnassignIpv4Prefixes"; }
    absl::string_view operator()(const DescribeNetworkInterfacesRequest&) const { return "DescribeNetworkInterfaces"; }
    absl::string_view operator()(const DescribeSubnetsRequest&) const { return "DescribeSubnets"; }
    absl::string_view operator()(const AssignIpv6PrefixesRequest&) const { return "AssignIpv6Prefixes"; }
    absl::string_view operator()(const UnassignIpv6PrefixesRequest&) const { return "UnassignIpv6Prefixes"; }
    absl::string_view operator()(const CreateTagsRequest&) const { return "CreateTags"; }
    absl::string_view operator()(const ModifyNetworkInterfaceAttributeRequest&) const {
      return "ModifyNetworkInterfaceAttribute";
    }
  };
  return std::visit(Namer{}, call);
}

// Ec2Request
//
// A call a sans-I/O controller wants made, with the id it will match the
// answer by.
struct Ec2Request {
  std::uint64_t id = 0;
  Ec2Call call;
  friend bool operator==(const Ec2Request&, const Ec2Request&) = default;
};

// Ec2Response
//
// The value of a successful call: the new interface (create), the
// attachment id (attach), the addresses or prefixes assigned, the
// interfaces or subnets described, the IPv6 prefixes assigned, or nothing
// (detach, delete, unassign, create tags, modify attribute).
using Ec2Response = std::variant<std::monostate, NetworkInterface, std::string,
                                 std::vector<Ipv4Address>, std::vector<Ipv4Prefix>,
                                 std::vector<NetworkInterface>, std::vector<SubnetInfo>,
                                 std::vector<Ipv6Prefix>>;

// Ec2Result
//
// The answer to one Ec2Request: a status and, when OK, the response.
struct Ec2Result {
  absl::Status status;
  Ec2Response response;

  [[nodiscard]] bool ok() const noexcept { return status.ok(); }
  [[nodiscard]] Ec2ErrorCode error_code() const { return ClassifyEc2Error(status); }
};

// -----------------------------------------------------------------------------
// The Backend concept
// -----------------------------------------------------------------------------

// Backend
//
// A blocking EC2 client: one member function per call, each returning a
// status or the call's value. enipool ships ec2::SimulatedEc2; an embedder
// writes one over the AWS SDK or a recorded trace. Requirements:
//   CreateNetworkInterface(const CreateNetworkInterfaceRequest&)  -> absl::StatusOr<NetworkInterface>
//   AttachNetworkInterface(const AttachNetworkInterfaceRequest&)  -> absl::StatusOr<std::string>  (attachment id)
//   DetachNetworkInterface(const DetachNetworkInterfaceRequest&)  -> absl::Status
//   DeleteNetworkInterface(const DeleteNetworkInterfaceRequest&)  -> absl::Status
//   AssignPrivateIpAddresses(const AssignPrivateIpAddressesRequest&) -> absl::StatusOr<std::vector<Ipv4Address>>
//   AssignIpv4Prefixes(const AssignIpv4PrefixesRequest&)          -> absl::StatusOr<std::vector<Ipv4Prefix>>
//   UnassignPrivateIpAddresses(const UnassignPrivateIpAddressesRequest&) -> absl::Status
//   UnassignIpv4Prefixes(const UnassignIpv4PrefixesRequest&)      -> absl::Status
//   DescribeNetworkInterfaces(const DescribeNetworkInterfacesRequest&) -> absl::StatusOr<std::vector<NetworkInterface>>
//   DescribeSubnets(const DescribeSubnetsRequest&)                -> absl::StatusOr<std::vector<SubnetInfo>>
//   AssignIpv6Prefixes(const AssignIpv6PrefixesRequest&)          -> absl::StatusOr<std::vector<Ipv6Prefix>>
//   UnassignIpv6Prefixes(const UnassignIpv6PrefixesRequest&)      -> absl::Status
//   CreateTags(const CreateTagsRequest&)                          -> absl::Status
//   ModifyNetworkInterfaceAttribute(const ModifyNetworkInterfaceAttributeRequest&) -> absl::Status
// Failures carry the EC2 code first in the message (see Ec2Error()).
template <typename B>
concept Backend = requires(B& backend, const CreateNetworkInterfaceRequest& create,
                           const AttachNetworkInterfaceRequest& attach,
                           const DetachNetworkInterfaceRequest& detach,
                           const DeleteNetworkInterfaceRequest& remove,
                           const AssignPrivateIpAddressesRequest& assign_ips,
                           const AssignIpv4PrefixesRequest& assign_prefixes,
                           const UnassignPrivateIpAddressesRequest& unassign_ips,
                           const UnassignIpv4PrefixesRequest& unassign_prefixes,
                           const DescribeNetworkInterfacesRequest& describe,
                           const DescribeSubnetsRequest& describe_subnets,
                           const AssignIpv6PrefixesRequest& assign_ipv6_prefixes,
                           const UnassignIpv6PrefixesRequest& unassign_ipv6_prefixes,
                           const CreateTagsRequest& create_tags,
                           const ModifyNetworkInterfaceAttributeRequest& modify) {
  { backend.CreateNetworkInterface(create) } -> std::same_as<absl::StatusOr<NetworkInterface>>;
  { backend.AttachNetworkInterface(attach) } -> std::same_as<absl::StatusOr<std::string>>;
  { backend.DetachNetworkInterface(detach) } -> std::same_as<absl::Status>;
  { backend.DeleteNetworkInterface(remove) } -> std::same_as<absl::Status>;
  { backend.AssignPrivateIpAddresses(assign_ips) } -> std::same_as<absl::StatusOr<std::vector<Ipv4Address>>>;
  { backend.AssignIpv4Prefixes(assign_prefixes) } -> std::same_as<absl::StatusOr<std::vector<Ipv4Prefix>>>;
  { backend.UnassignPrivateIpAddresses(unassign_ips) } -> std::same_as<absl::Status>;
  { backend.UnassignIpv4Prefixes(unassign_prefixes) } -> std::same_as<absl::Status>;
  { backend.DescribeNetworkInterfaces(describe) } -> std::same_as<absl::StatusOr<std::vector<NetworkInterface>>>;
  { backend.DescribeSubnets(describe_subnets) } -> std::same_as<absl::StatusOr<std::vector<SubnetInfo>>>;
  { backend.AssignIpv6Prefixes(assign_ipv6_prefixes) } -> std::same_as<absl::StatusOr<std::vector<Ipv6Prefix>>>;
  { backend.UnassignIpv6Prefixes(unassign_ipv6_prefixes) } -> std::same_as<absl::Status>;
  { backend.CreateTags(create_tags) } -> std::same_as<absl::Status>;
  { backend.ModifyNetworkInterfaceAttribute(modify) } -> std::same_as<absl::Status>;
};

namespace internal {
template <typename T>
Ec2Result ToEc2Result(absl::StatusOr<T> result) {
  if (!result.ok()) return Ec2Result{result.status(), std::monostate{}};
  return Ec2Result{absl::OkStatus(), Ec2Response(*std::move(result))};
}
inline Ec2Result ToEc2Result(absl::Status status) { return Ec2Result{std::move(status), std::monostate{}}; }
}  // namespace internal

// Dispatch()
//
// Makes one Ec2Call on a blocking backend and wraps the answer as an
// Ec2Result: how a driver (or the simulator) serves a sans-I/O controller.
template <Backend B>
Ec2Result Dispatch(B& backend, const Ec2Call& call) {
  return std::visit(
      [&backend](const auto& request) -> Ec2Result {
        using R = std::decay_t<decltype(request)>;
        if constexpr (std::is_same_v<R, CreateNetworkInterfaceRequest>) {
          return internal::ToEc2Result(backend.CreateNetworkInterface(request));
        } else if constexpr (std::is_same_v<R, AttachNetworkInterfaceRequest>) {
          return internal::ToEc2Result(backend.AttachNetworkInterface(request));
        } else if constexpr (std::is_same_v<R, DetachNetworkInterfaceRequest>) {
          return internal::ToEc2Result(backend.DetachNetworkInterface(request));
        } else if constexpr (std::is_same_v<R, DeleteNetworkInterfaceRequest>) {
          return internal::ToEc2Result(backend.DeleteNetworkInterface(request));
        } else if constexpr (std::is_same_v<R, AssignPrivateIpAddressesRequest>) {
          return internal::ToEc2Result(backend.AssignPrivateIpAddresses(request));
        } else if constexpr (std::is_same_v<R, AssignIpv4PrefixesRequest>) {
          return internal::ToEc2Result(backend.AssignIpv4Prefixes(request));
        } else if constexpr (std::is_same_v<R, UnassignPrivateIpAddressesRequest>) {
          return internal::ToEc2Result(backend.UnassignPrivateIpAddresses(request));
        } else if constexpr (std::is_same_v<R, UnassignIpv4PrefixesRequest>) {
          return internal::ToEc2Result(backend.UnassignIpv4Prefixes(request));
        } else if constexpr (std::is_same_v<R, DescribeNetworkInterfacesRequest>) {
          return internal::ToEc2Result(backend.DescribeNetworkInterfaces(request));
        } else if constexpr (std::is_same_v<R, DescribeSubnetsRequest>) {
          return internal::ToEc2Result(backend.DescribeSubnets(request));
        } else if constexpr (std::is_same_v<R, AssignIpv6PrefixesRequest>) {
          return internal::ToEc2Result(backend.AssignIpv6Prefixes(request));
        } else if constexpr (std::is_same_v<R, UnassignIpv6PrefixesRequest>) {
          return internal::ToEc2Result(backend.UnassignIpv6Prefixes(request));
        } else if constexpr (std::is_same_v<R, CreateTagsRequest>) {
          return internal::ToEc2Result(backend.CreateTags(request));
        } else {
          static_assert(std::is_same_v<R, ModifyNetworkInterfaceAttributeRequest>);
          return internal::ToEc2Result(backend.ModifyNetworkInterfaceAttribute(request));
        }
      },
      call);
}

}  // namespace enipool

#endif  // ENIPOOL_EC2_BACKEND_H_
