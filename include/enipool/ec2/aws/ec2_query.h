// -----------------------------------------------------------------------------
// File: ec2/aws/ec2_query.h
// -----------------------------------------------------------------------------
//
// The EC2 Query protocol, client side: each enipool::Ec2Call as the
// form-encoded parameters EC2 expects (Action, Version, and the call's
// fields, lists flattened as "Name.1", "Name.2", ...), and each answer read
// back from EC2's XML (pugixml). Part of the opt-in target enipool::aws.
//
// On the wire, prefixes are not calls of their own: AssignIpv4Prefixes is
// AssignPrivateIpAddresses with Ipv4PrefixCount, and UnassignIpv4Prefixes is
// UnassignPrivateIpAddresses with Ipv4Prefix.N.
//
// Errors: EC2's <Response><Errors><Error><Code>/<Message> becomes a status
// whose message is "<Code>: <Message>" (ClassifyEc2Error() reads the code
// back), with the canonical code of the matching Ec2ErrorCode; a code
// enipool does not know keeps its own name and gets its canonical code from
// the HTTP status. An answer that is not the XML the call expects is
// "MalformedResponse: ..." (INTERNAL). Nothing here throws or aborts on any
// input (fuzz/ec2_query_response_fuzzer.cpp).
//
// Why pugixml: a small DOM parser packaged by Debian (libpugixml-dev) that
// reports errors as values (no exceptions needed), copes with EC2's default
// XML namespace without configuration, and turns a DescribeNetworkInterfaces
// answer of 15 ENIs × 50 addresses (~70 KB) into values in under a
// millisecond (benchmarks/aws_benchmark.cpp) — small beside a round trip.
//
// Example:
//
//   enipool::Ec2Call call = enipool::AssignIpv4PrefixesRequest{.eni_id = "eni-1", .count = 1};
//   enipool::ec2::aws::QueryRequest query = enipool::ec2::aws::ToQueryRequest(call);
//   std::string body = enipool::ec2::aws::FormEncode(query.params);
//   // "Action=AssignPrivateIpAddresses&Version=2016-11-15&NetworkInterfaceId=eni-1&Ipv4PrefixCount=1"
//   ... POST it, signed, then:
//   absl::StatusOr<enipool::Ec2Response> answer =
//       enipool::ec2::aws::ParseQueryResponse(call, http_status, response_body);

#ifndef ENIPOOL_EC2_AWS_EC2_QUERY_H_
#define ENIPOOL_EC2_AWS_EC2_QUERY_H_

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <pugixml.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/ec2/aws/sigv4.h"
#include "enipool/ipv4.h"
#include "enipool/ipv6.h"
#include "enipool/status.h"

namespace enipool::ec2::aws {

// The EC2 API version enipool speaks (the one botocore's model describes).
inline constexpr absl::string_view kEc2ApiVersion = "2016-11-15";

// Tag keys the VPC CNI puts on the ENIs it creates.
inline constexpr absl::string_view kInstanceIdTag = "node.k8s.amazonaws.com/instance_id";
inline constexpr absl::string_view kCreatedAtTag = "node.k8s.amazonaws.com/createdAt";

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// QueryRequest
//
// One EC2 call as form parameters ("Action" and "Version" first).
struct QueryRequest {
  std::string action;
  QueryParams params;
};

// EniCreationOptions
//
// What CreateNetworkInterface sends beyond the call's own fields: the
// security groups of the new ENI and its tags (the VPC CNI writes
// node.k8s.amazonaws.com/instance_id and .../createdAt, and the cluster
// name when it has one).
struct EniCreationOptions {
  std::vector<std::string> security_group_ids;
  std::vector<std::pair<std::string, std::string>> tags;
};

// FormEncode()
//
// "k=v&k=v" with SigV4's encoding (which is also valid form encoding).
inline std::string FormEncode(const QueryParams& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out.push_back('&');
    absl::StrAppend(&out, UriEncode(key), "=", UriEncode(value));
  }
  return out;
}

// ToQueryRequest()
//
// The form parameters of `call`.
inline QueryRequest ToQueryRequest(const Ec2Call& call, const EniCreationOptions& creation = {}) {
  QueryRequest query;
  auto start = [&query](absl::string_view action) {
    query.action = std::string(action);
    query.params.emplace_back("Action", std::string(action));
    query.params.emplace_back("Version", std::string(kEc2ApiVersion));
  };
  auto add = [&query](std::string key, std::string value) {
    query.params.emplace_back(std::move(key), std::move(value));
  };
  std::visit(
      [&](const auto& request) {
        using R = std::decay_t<decltype(request)>;
        if constexpr (std::is_same_v<R, CreateNetworkInterfaceRequest>) {
          start("CreateNetworkInterface");
          add("SubnetId", request.subnet_id);
          if (!request.description.empty()) add("Description", request.description);
          if (request.private_ip_address.has_value()) {
            add("PrivateIpAddress", request.private_ip_address->ToString());
          }
          if (request.secondary_ip_count > 0) {
            add("SecondaryPrivateIpAddressCount", absl::StrCat(request.secondary_ip_count));
          }
          if (request.ipv4_prefix_count > 0) {
            add("Ipv4PrefixCount", absl::StrCat(request.ipv4_prefix_count));
          }
          if (request.ipv6_prefix_count > 0) {
            add("Ipv6PrefixCount", absl::StrCat(request.ipv6_prefix_count));
          }
          // The request's groups and tags, then the client's (a group or a
          // tag key the request already names is not sent twice).
          std::vector<std::string> groups = request.security_group_ids;
          for (const std::string& group : creation.security_group_ids) {
            if (std::find(groups.begin(), groups.end(), group) == groups.end()) {
              groups.push_back(group);
            }
          }
          for (std::size_t i = 0; i < groups.size(); ++i) {
            add(absl::StrCat("SecurityGroupId.", i + 1), groups[i]);
          }
          std::vector<std::pair<std::string, std::string>> tags;
          for (const Ec2Tag& tag : request.tags) tags.emplace_back(tag.key, tag.value);
          for (const auto& tag : creation.tags) {
            if (FindTag(request.tags, tag.first) == nullptr) tags.push_back(tag);
          }
          if (!tags.empty()) {
            add("TagSpecification.1.ResourceType", "network-interface");
            for (std::size_t i = 0; i < tags.size(); ++i) {
              add(absl::StrCat("TagSpecification.1.Tag.", i + 1, ".Key"), tags[i].first);
              add(absl::StrCat("TagSpecification.1.Tag.", i + 1, ".Value"), tags[i].second);
            }
          }
        } else if constexpr (std::is_same_v<R, AttachNetworkInterfaceRequest>) {
          start("AttachNetworkInterface");
          add("NetworkInterfaceId", request.eni_id);
          add("InstanceId", request.instance_id);
          add("DeviceIndex", absl::StrCat(request.device_index));
          // EC2's default is card 0; sent only for another card, so a
          // single-card node's requests stay as they were.
          if (request.network_card_index != 0) {
            add("NetworkCardIndex", absl::StrCat(request.network_card_index));
          }
        } else if constexpr (std::is_same_v<R, DetachNetworkInterfaceRequest>) {
          start("DetachNetworkInterface");
          add("AttachmentId", request.attachment_id);
        } else if constexpr (std::is_same_v<R, DeleteNetworkInterfaceRequest>) {
          start("DeleteNetworkInterface");
          add("NetworkInterfaceId", request.eni_id);
        } else if constexpr (std::is_same_v<R, AssignPrivateIpAddressesRequest>) {
          start("AssignPrivateIpAddresses");
          add("NetworkInterfaceId", request.eni_id);
          add("SecondaryPrivateIpAddressCount", absl::StrCat(request.count));
        } else if constexpr (std::is_same_v<R, AssignIpv4PrefixesRequest>) {
          start("AssignPrivateIpAddresses");
          add("NetworkInterfaceId", request.eni_id);
          add("Ipv4PrefixCount", absl::StrCat(request.count));
        } else if constexpr (std::is_same_v<R, UnassignPrivateIpAddressesRequest>) {
          start("UnassignPrivateIpAddresses");
          add("NetworkInterfaceId", request.eni_id);
          for (std::size_t i = 0; i < request.addresses.size(); ++i) {
            add(absl::StrCat("PrivateIpAddress.", i + 1), request.addresses[i].ToString());
          }
        } else if constexpr (std::is_same_v<R, UnassignIpv4PrefixesRequest>) {
          start("UnassignPrivateIpAddresses");
          add("NetworkInterfaceId", request.eni_id);
          for (std::size_t i = 0; i < request.prefixes.size(); ++i) {
            add(absl::StrCat("Ipv4Prefix.", i + 1), request.prefixes[i].ToString());
          }
        } else if constexpr (std::is_same_v<R, AssignIpv6PrefixesRequest>) {
          start("AssignIpv6Addresses");
          add("NetworkInterfaceId", request.eni_id);
          add("Ipv6PrefixCount", absl::StrCat(request.count));
        } else if constexpr (std::is_same_v<R, UnassignIpv6PrefixesRequest>) {
          start("UnassignIpv6Addresses");
          add("NetworkInterfaceId", request.eni_id);
          for (std::size_t i = 0; i < request.prefixes.size(); ++i) {
            add(absl::StrCat("Ipv6Prefix.", i + 1), request.prefixes[i].ToString());
          }
        } else if constexpr (std::is_same_v<R, CreateTagsRequest>) {
          // botocore's model: Resources is the list "ResourceId", Tags the
          // list "Tag" of {Key, Value}; the EC2 protocol flattens both.
          start("CreateTags");
          for (std::size_t i = 0; i < request.eni_ids.size(); ++i) {
            add(absl::StrCat("ResourceId.", i + 1), request.eni_ids[i]);
          }
          for (std::size_t i = 0; i < request.tags.size(); ++i) {
            add(absl::StrCat("Tag.", i + 1, ".Key"), request.tags[i].key);
            add(absl::StrCat("Tag.", i + 1, ".Value"), request.tags[i].value);
          }
        } else if constexpr (std::is_same_v<R, ModifyNetworkInterfaceAttributeRequest>) {
          // botocore's model: Attachment is the structure "attachment" of
          // AttachmentId and DeleteOnTermination, Groups the list
          // "SecurityGroupId"; the EC2 protocol capitalises and flattens.
          start("ModifyNetworkInterfaceAttribute");
          add("NetworkInterfaceId", request.eni_id);
          if (request.attachment.has_value()) {
            add("Attachment.AttachmentId", request.attachment->attachment_id);
            add("Attachment.DeleteOnTermination",
                request.attachment->delete_on_termination ? "true" : "false");
          }
          if (request.security_group_ids.has_value()) {
            for (std::size_t i = 0; i < request.security_group_ids->size(); ++i) {
              add(absl::StrCat("SecurityGroupId.", i + 1), (*request.security_group_ids)[i]);
            }
          }
        } else if constexpr (std::is_same_v<R, DescribeSubnetsRequest>) {
          start("DescribeSubnets");
          for (std::size_t i = 0; i < request.subnet_ids.size(); ++i) {
            add(absl::StrCat("SubnetId.", i + 1), request.subnet_ids[i]);
          }
          int filter = 0;
          if (!request.vpc_id.empty()) {
            ++filter;
            add(absl::StrCat("Filter.", filter, ".Name"), "vpc-id");
            add(absl::StrCat("Filter.", filter, ".Value.1"), request.vpc_id);
          }
          if (!request.availability_zone.empty()) {
            ++filter;
            add(absl::StrCat("Filter.", filter, ".Name"), "availability-zone");
            add(absl::StrCat("Filter.", filter, ".Value.1"), request.availability_zone);
          }
        } else {
          static_assert(std::is_same_v<R, DescribeNetworkInterfacesRequest>);
          start("DescribeNetworkInterfaces");
          for (std::size_t i = 0; i < request.eni_ids.size(); ++i) {
            add(absl::StrCat("NetworkInterfaceId.", i + 1), request.eni_ids[i]);
          }
          int filter = 0;
          if (!request.instance_id.empty()) {
            ++filter;
            add(absl::StrCat("Filter.", filter, ".Name"), "attachment.instance-id");
            add(absl::StrCat("Filter.", filter, ".Value.1"), request.instance_id);
          }
          if (!request.description.empty()) {
            ++filter;
            add(absl::StrCat("Filter.", filter, ".Name"), "description");
            add(absl::StrCat("Filter.", filter, ".Value.1"), request.description);
          }
        }
      },
      call);
  return query;
}

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

// Ec2CodeStatus()
//
// A status for EC2 error `code` with EC2's `message`: "<code>: <message>",
// with the canonical code of the matching Ec2ErrorCode, or for a code
// enipool does not know, one from the code or the HTTP status (expired
// credentials or signature UNAUTHENTICATED, 400 INVALID_ARGUMENT,
// 401/403 PERMISSION_DENIED, 404 NOT_FOUND, 429/503 UNAVAILABLE, other 5xx
// INTERNAL).
inline absl::Status Ec2CodeStatus(absl::string_view code, absl::string_view message,
                                  int http_status) {
  std::string text = absl::StrCat(code, ": ", message);
  const Ec2ErrorCode known = ClassifyEc2Error(absl::UnknownError(text));
  if (known != Ec2ErrorCode::kOther) return absl::Status(Ec2ErrorStatusCode(known), text);
  absl::StatusCode canonical = absl::StatusCode::kInternal;
  if (code == "ExpiredToken" || code == "ExpiredTokenException" ||
      code == "RequestExpired") {
    canonical = absl::StatusCode::kUnauthenticated;
  } else if (http_status == 401 || http_status == 403 || code == "AuthFailure" ||
             code == "SignatureDoesNotMatch" || code == "InvalidClientTokenId") {
    canonical = absl::StatusCode::kPermissionDenied;
  } else if (http_status == 429 || http_status == 503) {
    canonical = absl::StatusCode::kUnavailable;
  } else if (http_status == 404) {
    canonical = absl::StatusCode::kNotFound;
  } else if (http_status >= 400 && http_status < 500) {
    canonical = absl::StatusCode::kInvalidArgument;
  }
  return absl::Status(canonical, text);
}

// HttpStatusErrorCode()
//
// The code to report for an error answer that carries no EC2 error XML.
inline absl::string_view HttpStatusErrorCode(int http_status) {
  switch (http_status) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "AccessDenied";
    case 404: return "NotFound";
    case 429: return "TooManyRequestsException";
    case 500: return "InternalError";
    case 502: return "BadGateway";
    case 503: return "ServiceUnavailable";
    case 504: return "GatewayTimeout";
    default: return http_status >= 500 ? "InternalError" : "HttpError";
  }
}

namespace query_internal {

inline absl::Status Malformed(absl::string_view action, absl::string_view why) {
  return absl::InternalError(absl::StrCat("MalformedResponse: ", action, ": ", why));
}

inline absl::string_view Text(const pugi::xml_node& node, const char* child) {
  return node.child(child).text().get();
}

inline absl::StatusOr<Ipv4Address> ParseAddress(absl::string_view action, absl::string_view text) {
  auto address = Ipv4Address::Parse(text);
  if (!address.ok()) return Malformed(action, address.status().message());
  return *address;
}

inline absl::StatusOr<Ipv4Prefix> ParsePrefix(absl::string_view action, absl::string_view text) {
  auto prefix = Ipv4Prefix::Parse(text);
  if (!prefix.ok()) return Malformed(action, prefix.status().message());
  return *prefix;
}

inline absl::StatusOr<Ipv6Prefix> ParseIpv6Prefix(absl::string_view action,
                                                  absl::string_view text) {
  auto prefix = Ipv6Prefix::Parse(text);
  if (!prefix.ok()) return Malformed(action, prefix.status().message());
  return *prefix;
}

inline absl::StatusOr<NetworkInterface> ParseNetworkInterface(absl::string_view action,
                                                              const pugi::xml_node& node) {
  NetworkInterface eni;
  eni.id = std::string(Text(node, "networkInterfaceId"));
  if (eni.id.empty()) return Malformed(action, "a network interface has no networkInterfaceId");
  eni.subnet_id = std::string(Text(node, "subnetId"));
  eni.description = std::string(Text(node, "description"));
  const absl::string_view type = Text(node, "interfaceType");
  if (!type.empty()) eni.interface_type = std::string(type);
  ENIPOOL_ASSIGN_OR_RETURN(eni.primary_ip, ParseAddress(action, Text(node, "privateIpAddress")));
  // An attachment without an id (not something EC2 sends) counts as none.
  if (const pugi::xml_node attachment = node.child("attachment");
      attachment && !Text(attachment, "attachmentId").empty()) {
    eni.attachment_id = std::string(Text(attachment, "attachmentId"));
    eni.instance_id = std::string(Text(attachment, "instanceId"));
    const absl::string_view device = Text(attachment, "deviceIndex");
    if (!device.empty() && !absl::SimpleAtoi(device, &eni.device_index)) {
      return Malformed(action, absl::StrCat("deviceIndex \"", device, "\" is not a number"));
    }
    eni.delete_on_termination = Text(attachment, "deleteOnTermination") == "true";
    // Absent on older answers and single-card types: card 0.
    const absl::string_view card = Text(attachment, "networkCardIndex");
    if (!card.empty() &&
        (!absl::SimpleAtoi(card, &eni.network_card_index) || eni.network_card_index < 0)) {
      return Malformed(action, absl::StrCat("networkCardIndex ", QuoteInput(card),
                                            " is not a card index"));
    }
  }
  for (const pugi::xml_node item : node.child("privateIpAddressesSet").children("item")) {
    ENIPOOL_ASSIGN_OR_RETURN(Ipv4Address address,
                             ParseAddress(action, Text(item, "privateIpAddress")));
    if (address == eni.primary_ip || absl::string_view(Text(item, "primary")) == "true") continue;
    eni.secondary_ips.push_back(address);
  }
  for (const pugi::xml_node item : node.child("ipv4PrefixSet").children("item")) {
    ENIPOOL_ASSIGN_OR_RETURN(Ipv4Prefix prefix, ParsePrefix(action, Text(item, "ipv4Prefix")));
    eni.prefixes.push_back(prefix);
  }
  for (const pugi::xml_node item : node.child("ipv6PrefixSet").children("item")) {
    ENIPOOL_ASSIGN_OR_RETURN(Ipv6Prefix prefix, ParseIpv6Prefix(action, Text(item, "ipv6Prefix")));
    eni.ipv6_prefixes.push_back(prefix);
  }
  for (const pugi::xml_node item : node.child("groupSet").children("item")) {
    eni.security_group_ids.emplace_back(Text(item, "groupId"));
  }
  for (const pugi::xml_node item : node.child("tagSet").children("item")) {
    eni.tags.push_back(Ec2Tag{std::string(Text(item, "key")), std::string(Text(item, "value"))});
    if (eni.tags.back().key != kCreatedAtTag) continue;
    absl::Time created;
    std::string error;
    if (absl::ParseTime(absl::RFC3339_full, eni.tags.back().value, &created, &error)) {
      eni.created = created;
    }
  }
  return eni;
}

// The document's root element, which must be `<action>Response`.
inline absl::StatusOr<pugi::xml_node> ResponseRoot(const pugi::xml_document& document,
                                                   absl::string_view action) {
  const pugi::xml_node root = document.document_element();
  const std::string want = absl::StrCat(action, "Response");
  if (want != root.name()) {
    return Malformed(action, absl::StrCat("the root element is <", root.name(), ">, not <", want,
                                          ">"));
  }
  return root;
}

}  // namespace query_internal

// ParseErrorResponse()
//
// The error in an EC2 error answer (<Response><Errors><Error>...). When
// `body` holds no such XML, the error is named after the HTTP status
// ("ServiceUnavailable: HTTP 503 ...").
inline absl::Status ParseErrorResponse(int http_status, absl::string_view body) {
  pugi::xml_document document;
  const pugi::xml_parse_result parsed = document.load_buffer(body.data(), body.size());
  if (parsed) {
    const pugi::xml_node error = document.child("Response").child("Errors").child("Error");
    const absl::string_view code = query_internal::Text(error, "Code");
    if (!code.empty()) {
      return Ec2CodeStatus(code, query_internal::Text(error, "Message"), http_status);
    }
    // Some AWS front ends answer <ErrorResponse><Error><Code>.
    const pugi::xml_node other = document.child("ErrorResponse").child("Error");
    const absl::string_view other_code = query_internal::Text(other, "Code");
    if (!other_code.empty()) {
      return Ec2CodeStatus(other_code, query_internal::Text(other, "Message"), http_status);
    }
  }
  constexpr std::size_t kQuoted = 120;
  return Ec2CodeStatus(HttpStatusErrorCode(http_status),
                       absl::StrCat("HTTP ", http_status, " with no EC2 error in the body (\"",
                                    absl::CHexEscape(body.substr(0, kQuoted)),
                                    body.size() > kQuoted ? "...\")" : "\")"),
                       http_status);
}

// DescribePage
//
// One page of DescribeNetworkInterfaces: the interfaces and the token of
// the next page (empty on the last).
struct DescribePage {
  std::vector<NetworkInterface> interfaces;
  std::string next_token;
};

// ParseDescribeNetworkInterfaces()
//
// One page of a DescribeNetworkInterfaces answer (HTTP 200).
inline absl::StatusOr<DescribePage> ParseDescribeNetworkInterfaces(absl::string_view body) {
  constexpr absl::string_view kAction = "DescribeNetworkInterfaces";
  pugi::xml_document document;
  const pugi::xml_parse_result parsed = document.load_buffer(body.data(), body.size());
  if (!parsed) return query_internal::Malformed(kAction, parsed.description());
  ENIPOOL_ASSIGN_OR_RETURN(pugi::xml_node root, query_internal::ResponseRoot(document, kAction));
  DescribePage page;
  for (const pugi::xml_node item : root.child("networkInterfaceSet").children("item")) {
    ENIPOOL_ASSIGN_OR_RETURN(NetworkInterface eni,
                             query_internal::ParseNetworkInterface(kAction, item));
    page.interfaces.push_back(std::move(eni));
  }
  page.next_token = std::string(query_internal::Text(root, "nextToken"));
  return page;
}

// DescribeSubnetsPage
//
// One page of a DescribeSubnets answer.
struct DescribeSubnetsPage {
  std::vector<SubnetInfo> subnets;
  std::string next_token;
};

// ParseDescribeSubnets()
//
// One page of a DescribeSubnets answer (HTTP 200): each subnet's id, CIDR,
// zone, VPC, free addresses (availableIpAddressCount) and tags. A subnet
// without an id, with a CIDR that does not parse or a count that is not a
// non-negative number is a malformed answer, never a value.
inline absl::StatusOr<DescribeSubnetsPage> ParseDescribeSubnets(absl::string_view body) {
  constexpr absl::string_view kAction = "DescribeSubnets";
  using query_internal::Malformed;
  using query_internal::Text;
  pugi::xml_document document;
  const pugi::xml_parse_result parsed = document.load_buffer(body.data(), body.size());
  if (!parsed) return Malformed(kAction, parsed.description());
  ENIPOOL_ASSIGN_OR_RETURN(pugi::xml_node root, query_internal::ResponseRoot(document, kAction));
  DescribeSubnetsPage page;
  for (const pugi::xml_node item : root.child("subnetSet").children("item")) {
    SubnetInfo subnet;
    subnet.id = std::string(Text(item, "subnetId"));
    if (subnet.id.empty()) return Malformed(kAction, "a subnet has no subnetId");
    auto cidr = Ipv4Prefix::Parse(Text(item, "cidrBlock"));
    if (!cidr.ok()) return Malformed(kAction, cidr.status().message());
    subnet.cidr = *cidr;
    subnet.availability_zone = std::string(Text(item, "availabilityZone"));
    subnet.vpc_id = std::string(Text(item, "vpcId"));
    const absl::string_view count = Text(item, "availableIpAddressCount");
    if (!absl::SimpleAtoi(count, &subnet.available_addresses) || subnet.available_addresses < 0) {
      return Malformed(kAction, absl::StrCat("availableIpAddressCount ", QuoteInput(count),
                                             " of ", QuoteInput(subnet.id),
                                             " is not a non-negative number"));
    }
    for (const pugi::xml_node tag : item.child("tagSet").children("item")) {
      subnet.tags.push_back(Ec2Tag{std::string(Text(tag, "key")), std::string(Text(tag, "value"))});
    }
    // The first associated IPv6 block (a disassociated one is history).
    for (const pugi::xml_node block : item.child("ipv6CidrBlockAssociationSet").children("item")) {
      const absl::string_view state = Text(block.child("ipv6CidrBlockState"), "state");
      if (!state.empty() && state != "associated") continue;
      ENIPOOL_ASSIGN_OR_RETURN(Ipv6Prefix ipv6_cidr, query_internal::ParseIpv6Prefix(
                                                    kAction, Text(block, "ipv6CidrBlock")));
      subnet.ipv6_cidr = ipv6_cidr;
      break;
    }
    page.subnets.push_back(std::move(subnet));
  }
  page.next_token = std::string(Text(root, "nextToken"));
  return page;
}

// ParseQueryResponse()
//
// The answer to `call`: on HTTP 2xx the call's value as Ec2Response
// (NetworkInterface for create, the attachment id for attach, the assigned
// addresses or prefixes, one page of interfaces for describe — see
// ParseDescribeNetworkInterfaces() for the next-page token — or monostate);
// otherwise the EC2 error.
inline absl::StatusOr<Ec2Response> ParseQueryResponse(const Ec2Call& call, int http_status,
                                                      absl::string_view body) {
  if (http_status < 200 || http_status > 299) return ParseErrorResponse(http_status, body);
  const std::string action = ToQueryRequest(call).action;
  if (std::holds_alternative<DescribeNetworkInterfacesRequest>(call)) {
    ENIPOOL_ASSIGN_OR_RETURN(DescribePage page, ParseDescribeNetworkInterfaces(body));
    return Ec2Response(std::move(page.interfaces));
  }
  if (std::holds_alternative<DescribeSubnetsRequest>(call)) {
    ENIPOOL_ASSIGN_OR_RETURN(DescribeSubnetsPage page, ParseDescribeSubnets(body));
    return Ec2Response(std::move(page.subnets));
  }
  pugi::xml_document document;
  const pugi::xml_parse_result parsed = document.load_buffer(body.data(), body.size());
  if (!parsed) return query_internal::Malformed(action, parsed.description());
  ENIPOOL_ASSIGN_OR_RETURN(pugi::xml_node root, query_internal::ResponseRoot(document, action));
  return std::visit(
      [&](const auto& request) -> absl::StatusOr<Ec2Response> {
        using R = std::decay_t<decltype(request)>;
        if constexpr (std::is_same_v<R, CreateNetworkInterfaceRequest>) {
          const pugi::xml_node node = root.child("networkInterface");
          if (!node) return query_internal::Malformed(action, "no <networkInterface>");
          ENIPOOL_ASSIGN_OR_RETURN(NetworkInterface eni,
                                   query_internal::ParseNetworkInterface(action, node));
          return Ec2Response(std::move(eni));
        } else if constexpr (std::is_same_v<R, AttachNetworkInterfaceRequest>) {
          std::string attachment(query_internal::Text(root, "attachmentId"));
          if (attachment.empty()) return query_internal::Malformed(action, "no <attachmentId>");
          return Ec2Response(std::move(attachment));
        } else if constexpr (std::is_same_v<R, AssignPrivateIpAddressesRequest>) {
          std::vector<Ipv4Address> addresses;
          for (const pugi::xml_node item :
               root.child("assignedPrivateIpAddressesSet").children("item")) {
            ENIPOOL_ASSIGN_OR_RETURN(Ipv4Address address,
                                     query_internal::ParseAddress(
                                         action, query_internal::Text(item, "privateIpAddress")));
            addresses.push_back(address);
          }
          return Ec2Response(std::move(addresses));
        } else if constexpr (std::is_same_v<R, AssignIpv4PrefixesRequest>) {
          std::vector<Ipv4Prefix> prefixes;
          for (const pugi::xml_node item : root.child("assignedIpv4PrefixSet").children("item")) {
            ENIPOOL_ASSIGN_OR_RETURN(
                Ipv4Prefix prefix,
                query_internal::ParsePrefix(action, query_internal::Text(item, "ipv4Prefix")));
            prefixes.push_back(prefix);
          }
          return Ec2Response(std::move(prefixes));
        } else if constexpr (std::is_same_v<R, AssignIpv6PrefixesRequest>) {
          // AssignedIpv6Prefixes: a list of strings, each in <item>.
          std::vector<Ipv6Prefix> prefixes;
          for (const pugi::xml_node item : root.child("assignedIpv6PrefixSet").children("item")) {
            ENIPOOL_ASSIGN_OR_RETURN(Ipv6Prefix prefix,
                                     query_internal::ParseIpv6Prefix(action, item.text().get()));
            prefixes.push_back(prefix);
          }
          return Ec2Response(std::move(prefixes));
        } else {
          // Detach, delete, unassign, create tags, modify attribute:
          // <return>true</return>.
          if (query_internal::Text(root, "return") == "false") {
            return Ec2CodeStatus("InternalError", absl::StrCat(action, " returned false"),
                                 http_status);
          }
          return Ec2Response(std::monostate{});
        }
      },
      call);
}

}  // namespace enipool::ec2::aws

#endif  // ENIPOOL_EC2_AWS_EC2_QUERY_H_
