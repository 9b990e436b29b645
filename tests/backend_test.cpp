#include "enipool/ec2/backend.h"

#include <doctest/doctest.h>

#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "enipool/clock.h"
#include "enipool/ipv4.h"
#include "enipool/ec2/simulated_ec2.h"
#include "testing/recording_backend.h"

namespace {

using enipool::AssignIpv4PrefixesRequest;
using enipool::AssignPrivateIpAddressesRequest;
using enipool::AttachNetworkInterfaceRequest;
using enipool::Backend;
using enipool::CreateNetworkInterfaceRequest;
using enipool::DeleteNetworkInterfaceRequest;
using enipool::DescribeNetworkInterfacesRequest;
using enipool::DetachNetworkInterfaceRequest;
using enipool::Ec2Call;
using enipool::Ec2ErrorCode;
using enipool::Ec2Result;
using enipool::Ipv4Address;
using enipool::Ipv4Prefix;
using enipool::NetworkInterface;
using enipool::UnassignIpv4PrefixesRequest;
using enipool::UnassignPrivateIpAddressesRequest;

// -----------------------------------------------------------------------------
// Concept accept/reject types (oneTBB's concepts_common.h style): one member
// per building block, one Correct type, one type per missing or mistyped
// member.
// -----------------------------------------------------------------------------
namespace concept_types {

struct HasCreate {
  absl::StatusOr<NetworkInterface> CreateNetworkInterface(const CreateNetworkInterfaceRequest&);
};
struct HasAttach {
  absl::StatusOr<std::string> AttachNetworkInterface(const AttachNetworkInterfaceRequest&);
};
struct HasDetach {
  absl::Status DetachNetworkInterface(const DetachNetworkInterfaceRequest&);
};
struct HasDelete {
  absl::Status DeleteNetworkInterface(const DeleteNetworkInterfaceRequest&);
};
struct HasAssignIps {
  absl::StatusOr<std::vector<Ipv4Address>> AssignPrivateIpAddresses(
      const AssignPrivateIpAddressesRequest&);
};
struct HasAssignPrefixes {
  absl::StatusOr<std::vector<Ipv4Prefix>> AssignIpv4Prefixes(const AssignIpv4PrefixesRequest&);
};
struct HasUnassignIps {
  absl::Status UnassignPrivateIpAddresses(const UnassignPrivateIpAddressesRequest&);
};
struct HasUnassignPrefixes {
  absl::Status UnassignIpv4Prefixes(const UnassignIpv4PrefixesRequest&);
};
struct HasDescribe {
  absl::StatusOr<std::vector<NetworkInterface>> DescribeNetworkInterfaces(
      const DescribeNetworkInterfacesRequest&);
};
struct HasDescribeSubnets {
  absl::StatusOr<std::vector<enipool::SubnetInfo>> DescribeSubnets(
      const enipool::DescribeSubnetsRequest&);
};
struct HasAssignIpv6 {
  absl::StatusOr<std::vector<enipool::Ipv6Prefix>> AssignIpv6Prefixes(
      const enipool::AssignIpv6PrefixesRequest&);
};
struct HasUnassignIpv6 {
  absl::Status UnassignIpv6Prefixes(const enipool::UnassignIpv6PrefixesRequest&);
};
struct HasIpv6 : HasAssignIpv6, HasUnassignIpv6 {};
struct HasCreateTags {
  absl::Status CreateTags(const enipool::CreateTagsRequest&);
};
struct HasModify {
  absl::Status ModifyNetworkInterfaceAttribute(
      const enipool::ModifyNetworkInterfaceAttributeRequest&);
};

// One base list per type, kept on few lines so the table reads at a glance.
// clang-format off
struct MissingAssignIpv6 : HasDescribeSubnets, HasCreateTags, HasModify, HasUnassignIpv6, HasCreate, HasAttach, HasDetach, HasDelete,
                           HasAssignIps, HasAssignPrefixes, HasUnassignIps, HasUnassignPrefixes, HasDescribe {};
struct MissingUnassignIpv6 : HasDescribeSubnets, HasCreateTags, HasModify, HasAssignIpv6, HasCreate, HasAttach, HasDetach, HasDelete,
                             HasAssignIps, HasAssignPrefixes, HasUnassignIps, HasUnassignPrefixes, HasDescribe {};
struct Correct : HasDescribeSubnets, HasCreateTags, HasModify, HasIpv6, HasCreate, HasAttach, HasDetach, HasDelete, HasAssignIps, HasAssignPrefixes,
                 HasUnassignIps, HasUnassignPrefixes, HasDescribe {};

struct MissingCreate : HasDescribeSubnets, HasCreateTags, HasModify, HasAttach, HasDetach, HasDelete, HasAssignIps, HasAssignPrefixes,
                       HasUnassignIps, HasUnassignPrefixes, HasDescribe {};
struct MissingAttach : HasDescribeSubnets, HasCreateTags, HasModify, HasIpv6, HasCreate, HasDetach, HasDelete, HasAssignIps, HasAssignPrefixes,
                       HasUnassignIps, HasUnassignPrefixes, HasDescribe {};
struct MissingDetach : HasDescribeSubnets, HasCreateTags, HasModify, HasIpv6, HasCreate, HasAttach, HasDelete, HasAssignIps, HasAssignPrefixes,
                       HasUnassignIps, HasUnassignPrefixes, HasDescribe {};
struct MissingDelete : HasDescribeSubnets, HasCreateTags, HasModify, HasIpv6, HasCreate, HasAttach, HasDetach, HasAssignIps, HasAssignPrefixes,
                       HasUnassignIps, HasUnassignPrefixes, HasDescribe {};
struct MissingAssignIps : HasDescribeSubnets, HasCreateTags, HasModify, HasIpv6, HasCreate, HasAttach, HasDetach, HasDelete, HasAssignPrefixes,
                          HasUnassignIps, HasUnassignPrefixes, HasDescribe {};
struct MissingAssignPrefixes : HasDescribeSubnets, HasCreateTags, HasModify, HasIpv6, HasCreate, HasAttach, HasDetach, HasDelete, HasAssignIps,
                               HasUnassignIps, HasUnassignPrefixes, HasDescribe {};
struct MissingUnassignIps : HasDescribeSubnets, HasCreateTags, HasModify, HasIpv6, HasCreate, HasAttach, HasDetach, HasDelete, HasAssignIps,
                            HasAssignPrefixes, HasUnassignPrefixes, HasDescribe {};
struct MissingUnassignPrefixes : HasDescribeSubnets, HasCreateTags, HasModify, HasIpv6, HasCreate, HasAttach, HasDetach, HasDelete, HasAssignIps,
                                 HasAssignPrefixes, HasUnassignIps, HasDescribe {};
struct MissingDescribe : HasDescribeSubnets, HasCreateTags, HasModify, HasIpv6, HasCreate, HasAttach, HasDetach, HasDelete, HasAssignIps,
                         HasAssignPrefixes, HasUnassignIps, HasUnassignPrefixes {};

struct MissingCreateTags : HasDescribeSubnets, HasModify, HasIpv6, HasCreate, HasAttach, HasDetach, HasDelete, HasAssignIps,
                           HasAssignPrefixes, HasUnassignIps, HasUnassignPrefixes, HasDescribe {};
struct MissingDescribeSubnets : HasCreateTags, HasModify, HasIpv6, HasCreate, HasAttach, HasDetach, HasDelete, HasAssignIps,
                                HasAssignPrefixes, HasUnassignIps, HasUnassignPrefixes,
                                HasDescribe {};
struct MissingModify : HasDescribeSubnets, HasCreateTags, HasIpv6, HasCreate, HasAttach, HasDetach, HasDelete,
                       HasAssignIps, HasAssignPrefixes, HasUnassignIps, HasUnassignPrefixes, HasDescribe {};

// clang-format on

// Attach answers a bare status: the attachment id is lost.
struct WrongReturnAttach : HasDescribeSubnets, HasCreateTags, HasModify, HasIpv6, HasCreate,
                           HasDetach,
                           HasDelete,
                           HasAssignIps,
                           HasAssignPrefixes,
                           HasUnassignIps,
                           HasUnassignPrefixes,
                           HasDescribe {
  absl::Status AttachNetworkInterface(const AttachNetworkInterfaceRequest&);
};
// Assign IPs answers prefixes (the two assign calls mixed up).
struct WrongReturnAssignIps : HasDescribeSubnets, HasCreateTags, HasModify, HasIpv6, HasCreate,
                              HasAttach,
                              HasDetach,
                              HasDelete,
                              HasAssignPrefixes,
                              HasUnassignIps,
                              HasUnassignPrefixes,
                              HasDescribe {
  absl::StatusOr<std::vector<Ipv4Prefix>> AssignPrivateIpAddresses(
      const AssignPrivateIpAddressesRequest&);
};
// Describe cannot fail.
struct WrongReturnDescribe : HasDescribeSubnets, HasCreateTags, HasModify, HasIpv6, HasCreate,
                             HasAttach,
                             HasDetach,
                             HasDelete,
                             HasAssignIps,
                             HasAssignPrefixes,
                             HasUnassignIps,
                             HasUnassignPrefixes {
  std::vector<NetworkInterface> DescribeNetworkInterfaces(const DescribeNetworkInterfacesRequest&);
};
// Delete answers bool instead of a status.
struct WrongReturnDelete : HasDescribeSubnets, HasCreateTags, HasModify, HasIpv6, HasCreate,
                           HasAttach,
                           HasDetach,
                           HasAssignIps,
                           HasAssignPrefixes,
                           HasUnassignIps,
                           HasUnassignPrefixes,
                           HasDescribe {
  bool DeleteNetworkInterface(const DeleteNetworkInterfaceRequest&);
};
// Delete wants a mutable request: a const request does not bind.
struct NonConstRequestDelete : HasDescribeSubnets, HasCreateTags, HasModify, HasIpv6, HasCreate,
                               HasAttach,
                               HasDetach,
                               HasAssignIps,
                               HasAssignPrefixes,
                               HasUnassignIps,
                               HasUnassignPrefixes,
                               HasDescribe {
  absl::Status DeleteNetworkInterface(DeleteNetworkInterfaceRequest&);
};
// Assign prefixes takes the wrong request type.
struct WrongRequestAssignPrefixes : HasDescribeSubnets, HasCreateTags, HasModify, HasIpv6, HasCreate,
                                    HasAttach,
                                    HasDetach,
                                    HasDelete,
                                    HasAssignIps,
                                    HasUnassignIps,
                                    HasUnassignPrefixes,
                                    HasDescribe {
  absl::StatusOr<std::vector<Ipv4Prefix>> AssignIpv4Prefixes(
      const AssignPrivateIpAddressesRequest&);
};
// Both requirements met with by-value requests: accepted (a copy is fine).
struct ByValueRequests : HasDescribeSubnets, HasCreateTags, HasModify, HasIpv6, HasCreate,
                         HasAttach,
                         HasDetach,
                         HasDelete,
                         HasAssignIps,
                         HasAssignPrefixes,
                         HasUnassignIps,
                         HasDescribe {
  absl::Status UnassignIpv4Prefixes(UnassignIpv4PrefixesRequest);
};
// Members that are const: accepted (they are callable on a B&).
struct ConstMembers {
  absl::StatusOr<NetworkInterface> CreateNetworkInterface(
      const CreateNetworkInterfaceRequest&) const;
  absl::StatusOr<std::string> AttachNetworkInterface(const AttachNetworkInterfaceRequest&) const;
  absl::Status DetachNetworkInterface(const DetachNetworkInterfaceRequest&) const;
  absl::Status DeleteNetworkInterface(const DeleteNetworkInterfaceRequest&) const;
  absl::StatusOr<std::vector<Ipv4Address>> AssignPrivateIpAddresses(
      const AssignPrivateIpAddressesRequest&) const;
  absl::StatusOr<std::vector<Ipv4Prefix>> AssignIpv4Prefixes(
      const AssignIpv4PrefixesRequest&) const;
  absl::Status UnassignPrivateIpAddresses(const UnassignPrivateIpAddressesRequest&) const;
  absl::Status UnassignIpv4Prefixes(const UnassignIpv4PrefixesRequest&) const;
  absl::StatusOr<std::vector<NetworkInterface>> DescribeNetworkInterfaces(
      const DescribeNetworkInterfacesRequest&) const;
  absl::StatusOr<std::vector<enipool::SubnetInfo>> DescribeSubnets(
      const enipool::DescribeSubnetsRequest&) const;
  absl::StatusOr<std::vector<enipool::Ipv6Prefix>> AssignIpv6Prefixes(
      const enipool::AssignIpv6PrefixesRequest&) const;
  absl::Status UnassignIpv6Prefixes(const enipool::UnassignIpv6PrefixesRequest&) const;
  absl::Status CreateTags(const enipool::CreateTagsRequest&) const;
  absl::Status ModifyNetworkInterfaceAttribute(
      const enipool::ModifyNetworkInterfaceAttributeRequest&) const;
};

}  // namespace concept_types

TEST_CASE("Backend accepts a type with every call and rejects one missing or mistyping any call") {
  namespace t = concept_types;
  static_assert(Backend<t::Correct>);
  static_assert(Backend<t::ByValueRequests>);
  static_assert(Backend<t::ConstMembers>);
  static_assert(Backend<enipool::testing::RecordingBackend>);
  static_assert(Backend<enipool::ec2::SimulatedEc2<enipool::ManualClock>>);

  static_assert(!Backend<t::MissingCreate>);
  static_assert(!Backend<t::MissingDescribeSubnets>);
  static_assert(!Backend<t::MissingCreateTags>);
  static_assert(!Backend<t::MissingModify>);
  static_assert(!Backend<t::MissingAssignIpv6>);
  static_assert(!Backend<t::MissingUnassignIpv6>);
  static_assert(!Backend<t::MissingAttach>);
  static_assert(!Backend<t::MissingDetach>);
  static_assert(!Backend<t::MissingDelete>);
  static_assert(!Backend<t::MissingAssignIps>);
  static_assert(!Backend<t::MissingAssignPrefixes>);
  static_assert(!Backend<t::MissingUnassignIps>);
  static_assert(!Backend<t::MissingUnassignPrefixes>);
  static_assert(!Backend<t::MissingDescribe>);
  static_assert(!Backend<t::WrongReturnAttach>);
  static_assert(!Backend<t::WrongReturnAssignIps>);
  static_assert(!Backend<t::WrongReturnDescribe>);
  static_assert(!Backend<t::WrongReturnDelete>);
  static_assert(!Backend<t::NonConstRequestDelete>);
  static_assert(!Backend<t::WrongRequestAssignPrefixes>);
  static_assert(!Backend<int>);

  // The same verdicts at run time, so the test case reports something.
  CHECK(Backend<t::Correct>);
  CHECK_FALSE(Backend<t::MissingDelete>);
}

// -----------------------------------------------------------------------------
// Error vocabulary
// -----------------------------------------------------------------------------

constexpr Ec2ErrorCode kAllCodes[] = {
    Ec2ErrorCode::kNone,
    Ec2ErrorCode::kInsufficientCidrBlocks,
    Ec2ErrorCode::kInsufficientFreeAddressesInSubnet,
    Ec2ErrorCode::kPrivateIpAddressLimitExceeded,
    Ec2ErrorCode::kAttachmentLimitExceeded,
    Ec2ErrorCode::kRequestLimitExceeded,
    Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound,
    Ec2ErrorCode::kInvalidParameterValue,
    Ec2ErrorCode::kUnauthorizedOperation,
    Ec2ErrorCode::kInvalidIpAddressInUse,
    Ec2ErrorCode::kOther,
};

TEST_CASE("Ec2Error leads with the EC2 code and ClassifyEc2Error reads every code back") {
  for (Ec2ErrorCode code : kAllCodes) {
    const std::string name(enipool::Ec2ErrorCodeName(code));
    CAPTURE(name);
    const absl::Status status = enipool::Ec2Error(code, "detail about eni-1");
    CHECK(enipool::ClassifyEc2Error(status) == code);
    CHECK(status.code() == enipool::Ec2ErrorStatusCode(code));
    if (code == Ec2ErrorCode::kNone) {
      CHECK(status.ok());  // an OK status carries no message
    } else {
      CHECK(std::string(status.message()) == name + ": detail about eni-1");
    }
  }
}

TEST_CASE("Ec2Error maps each code to the canonical absl code a caller can branch on") {
  CHECK(enipool::Ec2Error(Ec2ErrorCode::kInsufficientCidrBlocks,
                          "subnet-1 has no free aligned /28") ==
        absl::ResourceExhaustedError("InsufficientCidrBlocks: subnet-1 has no free aligned /28"));
  CHECK(enipool::Ec2Error(Ec2ErrorCode::kInsufficientFreeAddressesInSubnet, "x") ==
        absl::ResourceExhaustedError("InsufficientFreeAddressesInSubnet: x"));
  CHECK(enipool::Ec2Error(Ec2ErrorCode::kPrivateIpAddressLimitExceeded, "x") ==
        absl::ResourceExhaustedError("PrivateIpAddressLimitExceeded: x"));
  CHECK(enipool::Ec2Error(Ec2ErrorCode::kAttachmentLimitExceeded, "x") ==
        absl::ResourceExhaustedError("AttachmentLimitExceeded: x"));
  CHECK(enipool::Ec2Error(Ec2ErrorCode::kRequestLimitExceeded, "x") ==
        absl::UnavailableError("RequestLimitExceeded: x"));
  CHECK(enipool::Ec2Error(Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound, "x") ==
        absl::NotFoundError("InvalidNetworkInterfaceID.NotFound: x"));
  CHECK(enipool::Ec2Error(Ec2ErrorCode::kInvalidParameterValue, "x") ==
        absl::InvalidArgumentError("InvalidParameterValue: x"));
  CHECK(enipool::Ec2Error(Ec2ErrorCode::kUnauthorizedOperation, "x") ==
        absl::PermissionDeniedError("UnauthorizedOperation: x"));
  CHECK(enipool::Ec2Error(Ec2ErrorCode::kInvalidIpAddressInUse, "x") ==
        absl::AlreadyExistsError("InvalidIPAddress.InUse: x"));
  CHECK(enipool::Ec2Error(Ec2ErrorCode::kOther, "x") == absl::InternalError("InternalError: x"));
}

TEST_CASE("ClassifyEc2Error reads codes from any backend's status, whatever its canonical code") {
  struct Case {
    absl::Status status;
    Ec2ErrorCode want;
  };
  const Case cases[] = {
      {absl::OkStatus(), Ec2ErrorCode::kNone},
      // The AWS SDK's other throttling spellings count as RequestLimitExceeded.
      {absl::UnavailableError("Throttling: Rate exceeded"), Ec2ErrorCode::kRequestLimitExceeded},
      {absl::InternalError("ThrottlingException: slow down"), Ec2ErrorCode::kRequestLimitExceeded},
      // The code alone, without a colon or detail.
      {absl::UnknownError("RequestLimitExceeded"), Ec2ErrorCode::kRequestLimitExceeded},
      {absl::UnknownError("InsufficientCidrBlocks"), Ec2ErrorCode::kInsufficientCidrBlocks},
      // The canonical code does not matter, the message does.
      {absl::InternalError("AttachmentLimitExceeded: 4 of 4"),
       Ec2ErrorCode::kAttachmentLimitExceeded},
      {absl::NotFoundError("InvalidNetworkInterfaceID.NotFound: eni-9"),
       Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound},
      // Unknown or absent codes are kOther.
      {absl::UnavailableError("Rate exceeded"), Ec2ErrorCode::kOther},
      {absl::InternalError("InvalidSubnetID.NotFound: subnet-9"), Ec2ErrorCode::kOther},
      {absl::UnknownError(""), Ec2ErrorCode::kOther},
      {absl::UnknownError("insufficientcidrblocks: lower case"), Ec2ErrorCode::kOther},
      {absl::UnknownError(" InsufficientCidrBlocks: leading space"), Ec2ErrorCode::kOther},
      {absl::UnknownError("InvalidNetworkInterfaceID: truncated"), Ec2ErrorCode::kOther},
  };
  for (const Case& c : cases) {
    CAPTURE(c.status);
    CHECK(enipool::ClassifyEc2Error(c.status) == c.want);
  }
}

TEST_CASE("IsInsufficientAddressError is true for exactly the two subnet-exhaustion codes") {
  for (Ec2ErrorCode code : kAllCodes) {
    CAPTURE(enipool::Ec2ErrorCodeName(code));
    CHECK(enipool::IsInsufficientAddressError(code) ==
          (code == Ec2ErrorCode::kInsufficientCidrBlocks ||
           code == Ec2ErrorCode::kInsufficientFreeAddressesInSubnet));
  }
}

TEST_CASE("Ec2Result::error_code classifies its status") {
  const Ec2Result throttled{enipool::Ec2Error(Ec2ErrorCode::kRequestLimitExceeded, "x"),
                            std::monostate{}};
  CHECK_FALSE(throttled.ok());
  CHECK(throttled.error_code() == Ec2ErrorCode::kRequestLimitExceeded);
  const Ec2Result ok{absl::OkStatus(), std::string("eni-attach-1")};
  CHECK(ok.ok());
  CHECK(ok.error_code() == Ec2ErrorCode::kNone);
}

// -----------------------------------------------------------------------------
// Calls and Dispatch
// -----------------------------------------------------------------------------

Ipv4Address A(const char* text) { return *Ipv4Address::Parse(text); }
Ipv4Prefix P(const char* text) { return *Ipv4Prefix::Parse(text); }

NetworkInterface SampleEni() {
  NetworkInterface eni;
  eni.id = "eni-1";
  eni.subnet_id = "subnet-1";
  eni.primary_ip = A("10.0.0.10");
  eni.secondary_ips = {A("10.0.0.11")};
  return eni;
}

// One row per call kind: the call, the reply the double is scripted with,
// and the EC2 name.
struct DispatchCase {
  Ec2Call call;
  enipool::Ec2Response reply;
  const char* name;
};

std::vector<DispatchCase> AllCalls() {
  return {
      {CreateNetworkInterfaceRequest{.subnet_id = "subnet-1", .secondary_ip_count = 1}, SampleEni(),
       "CreateNetworkInterface"},
      {AttachNetworkInterfaceRequest{.eni_id = "eni-1", .instance_id = "i-1", .device_index = 1},
       std::string("eni-attach-1"), "AttachNetworkInterface"},
      {DetachNetworkInterfaceRequest{.attachment_id = "eni-attach-1", .eni_id = "eni-1"},
       std::monostate{}, "DetachNetworkInterface"},
      {DeleteNetworkInterfaceRequest{.eni_id = "eni-1"}, std::monostate{},
       "DeleteNetworkInterface"},
      {AssignPrivateIpAddressesRequest{.eni_id = "eni-1", .count = 2},
       std::vector<Ipv4Address>{A("10.0.0.12"), A("10.0.0.13")}, "AssignPrivateIpAddresses"},
      {AssignIpv4PrefixesRequest{.eni_id = "eni-1", .count = 1},
       std::vector<Ipv4Prefix>{P("10.0.0.32/28")}, "AssignIpv4Prefixes"},
      {UnassignPrivateIpAddressesRequest{.eni_id = "eni-1", .addresses = {A("10.0.0.12")}},
       std::monostate{}, "UnassignPrivateIpAddresses"},
      {UnassignIpv4PrefixesRequest{.eni_id = "eni-1", .prefixes = {P("10.0.0.32/28")}},
       std::monostate{}, "UnassignIpv4Prefixes"},
      {DescribeNetworkInterfacesRequest{.eni_ids = {"eni-1"}},
       std::vector<NetworkInterface>{SampleEni()}, "DescribeNetworkInterfaces"},
      {enipool::DescribeSubnetsRequest{.subnet_ids = {}, .vpc_id = "vpc-1"},
       std::vector<enipool::SubnetInfo>{{.id = "subnet-1",
                                         .cidr = P("10.0.0.0/24"),
                                         .available_addresses = 250,
                                         .tags = {{"kubernetes.io/role/cni", "1"}},
                                         .ipv6_cidr = *enipool::Ipv6Prefix::Parse("2600:1f14:abc:1::/64")}},
       "DescribeSubnets"},
      {enipool::AssignIpv6PrefixesRequest{.eni_id = "eni-1", .count = 1},
       std::vector<enipool::Ipv6Prefix>{*enipool::Ipv6Prefix::Parse("2600:1f14:abc:1:2::/80")},
       "AssignIpv6Prefixes"},
      {enipool::UnassignIpv6PrefixesRequest{
           .eni_id = "eni-1", .prefixes = {*enipool::Ipv6Prefix::Parse("2600:1f14:abc:1:2::/80")}},
       std::monostate{}, "UnassignIpv6Prefixes"},
      {enipool::CreateTagsRequest{.eni_ids = {"eni-1"},
                                  .tags = {{"node.k8s.amazonaws.com/instance_id", "i-1"}}},
       std::monostate{}, "CreateTags"},
      {enipool::ModifyNetworkInterfaceAttributeRequest{
           .eni_id = "eni-1",
           .attachment = {{.attachment_id = "eni-attach-1", .delete_on_termination = true}}},
       std::monostate{}, "ModifyNetworkInterfaceAttribute"},
  };
}

TEST_CASE("Ec2CallName names every call as EC2 does") {
  const auto cases = AllCalls();
  REQUIRE(cases.size() == std::variant_size_v<Ec2Call>);
  for (const DispatchCase& c : cases) CHECK(enipool::Ec2CallName(c.call) == c.name);
}

TEST_CASE("Dispatch makes each call on the backend and wraps its value") {
  for (const DispatchCase& c : AllCalls()) {
    CAPTURE(c.name);
    enipool::testing::RecordingBackend backend;
    backend.Reply(Ec2Result{absl::OkStatus(), c.reply});
    const Ec2Result result = enipool::Dispatch(backend, c.call);
    CHECK(result.ok());
    CHECK(result.response == c.reply);
    REQUIRE(backend.calls().size() == 1);
    CHECK(backend.calls()[0] == c.call);
    CHECK(backend.pending_replies() == 0);
  }
}

TEST_CASE("Dispatch passes a failure through with no response") {
  for (const DispatchCase& c : AllCalls()) {
    CAPTURE(c.name);
    enipool::testing::RecordingBackend backend;
    const absl::Status throttled =
        enipool::Ec2Error(Ec2ErrorCode::kRequestLimitExceeded, "scripted");
    backend.Fail(throttled);
    const Ec2Result result = enipool::Dispatch(backend, c.call);
    CHECK(result.status == throttled);
    CHECK(std::holds_alternative<std::monostate>(result.response));
    CHECK(result.error_code() == Ec2ErrorCode::kRequestLimitExceeded);
  }
}

TEST_CASE("Dispatch answers with the response alternative of the call's type") {
  // With nothing scripted the double answers empty values; Dispatch must
  // still pick the alternative that matches the call.
  enipool::testing::RecordingBackend backend;
  const auto cases = AllCalls();
  for (const DispatchCase& c : cases) {
    CAPTURE(c.name);
    const Ec2Result result = enipool::Dispatch(backend, c.call);
    REQUIRE(result.ok());
    CHECK(result.response.index() == c.reply.index());
  }
  CHECK(backend.calls().size() == cases.size());
}

TEST_CASE("RecordingBackend reports a scripted reply of the wrong type as INTERNAL") {
  enipool::testing::RecordingBackend backend;
  backend.Reply(Ec2Result{absl::OkStatus(), std::vector<Ipv4Address>{A("10.0.0.5")}});
  const auto got = backend.AssignIpv4Prefixes({.eni_id = "eni-1", .count = 1});
  CHECK(got.status().code() == absl::StatusCode::kInternal);
  CHECK(backend.calls().size() == 1);
}

}  // namespace
