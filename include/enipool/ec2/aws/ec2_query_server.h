// -----------------------------------------------------------------------------
// File: ec2/aws/ec2_query_server.h
// -----------------------------------------------------------------------------
//
// The EC2 Query protocol, server side, without any HTTP library: decode a
// form-encoded EC2 request into an enipool::Ec2Call, encode a result as the
// XML EC2 answers with (what botocore and the AWS CLI parse), and
// `Ec2QueryService`, which serves any enipool::Backend: it checks the SigV4
// signature, decodes, calls the backend, encodes. examples/ec2_endpoint.cpp
// puts it behind cpp-httplib to serve ec2::SimulatedEc2 on 127.0.0.1.
// Part of the opt-in target enipool::aws.
//
// Example:
//
//   enipool::ec2::aws::Ec2QueryService<Sim> service(sim, {.region = "us-east-1",
//       .credentials = {{"AKID", "secret"}}});
//   enipool::ec2::aws::HttpAnswer answer = service.Handle(received_request, absl::Now());
//   // answer.status 200 and the XML, or 400/403/503 and EC2's error XML

#ifndef ENIPOOL_EC2_AWS_EC2_QUERY_SERVER_H_
#define ENIPOOL_EC2_AWS_EC2_QUERY_SERVER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/ec2/aws/ec2_query.h"
#include "enipool/ec2/aws/sigv4.h"
#include "enipool/ec2/backend.h"
#include "enipool/ipv4.h"
#include "enipool/status.h"

namespace enipool::ec2::aws {

// ParseForm()
//
// Decodes "k=v&k=v" (percent escapes, '+' as space). INVALID_ARGUMENT for
// a bad escape.
inline absl::StatusOr<QueryParams> ParseForm(absl::string_view body) {
  auto decode = [](absl::string_view text) -> std::optional<std::string> {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '+') {
        out.push_back(' ');
      } else if (text[i] == '%') {
        if (i + 2 >= text.size()) return std::nullopt;
        const auto hex = [](char c) -> int {
          if (c >= '0' && c <= '9') return c - '0';
          if (c >= 'a' && c <= 'f') return c - 'a' + 10;
          if (c >= 'A' && c <= 'F') return c - 'A' + 10;
          return -1;
        };
        const int high = hex(text[i + 1]), low = hex(text[i + 2]);
        if (high < 0 || low < 0) return std::nullopt;
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
      } else {
        out.push_back(text[i]);
      }
    }
    return out;
  };
  QueryParams params;
  if (body.empty()) return params;
  for (absl::string_view pair : absl::StrSplit(body, '&')) {
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const absl::string_view key = pair.substr(0, eq);
    const absl::string_view value = eq == absl::string_view::npos ? "" : pair.substr(eq + 1);
    auto k = decode(key);
    auto v = decode(value);
    if (!k || !v) {
      return absl::InvalidArgumentError(
          absl::StrCat("MalformedQueryString: bad percent escape in \"", pair, "\""));
    }
    params.emplace_back(*std::move(k), *std::move(v));
  }
  return params;
}

namespace query_server_internal {

inline const std::string* Find(const QueryParams& params, absl::string_view key) {
  for (const auto& [k, v] : params) {
    if (k == key) return &v;
  }
  return nullptr;
}

inline absl::Status Missing(absl::string_view action, absl::string_view key) {
  return absl::InvalidArgumentError(absl::StrCat(
      "MissingParameter: the request must contain the parameter ", key, " (", action, ")"));
}

inline absl::Status InvalidValue(absl::string_view key, absl::string_view value,
                                 absl::string_view why) {
  return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                  absl::StrCat("invalid value '", value, "' for ", key, ": ", why));
}

inline absl::StatusOr<std::string> Required(const QueryParams& params, absl::string_view action,
                                            absl::string_view key) {
  const std::string* value = Find(params, key);
  if (value == nullptr || value->empty()) return Missing(action, key);
  return *value;
}

inline absl::StatusOr<int> Integer(const QueryParams& params, absl::string_view key,
                                   int if_absent) {
  const std::string* value = Find(params, key);
  if (value == nullptr) return if_absent;
  int out = 0;
  if (!absl::SimpleAtoi(*value, &out)) return InvalidValue(key, *value, "not an integer");
  return out;
}

// "Name.1", "Name.2", ... until the first gap.
inline std::vector<std::string> List(const QueryParams& params, absl::string_view name) {
  std::vector<std::string> out;
  for (int i = 1;; ++i) {
    const std::string* value = Find(params, absl::StrCat(name, ".", i));
    if (value == nullptr) return out;
    out.push_back(*value);
  }
}

inline std::string XmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

inline void AppendNetworkInterface(std::string& xml, const NetworkInterface& eni,
                                   absl::string_view tag) {
  absl::StrAppend(&xml, "<", tag, "><networkInterfaceId>", XmlEscape(eni.id),
                  "</networkInterfaceId><subnetId>", XmlEscape(eni.subnet_id),
                  "</subnetId><description>", XmlEscape(eni.description),
                  "</description><ownerId>000000000000</ownerId>"
                  "<requesterManaged>false</requesterManaged><status>",
                  eni.attached() ? "in-use" : "available", "</status><privateIpAddress>",
                  eni.primary_ip.ToString(), "</privateIpAddress>");
  if (eni.attached()) {
    absl::StrAppend(&xml, "<attachment><attachmentId>", XmlEscape(eni.attachment_id),
                    "</attachmentId><instanceId>", XmlEscape(eni.instance_id),
                    "</instanceId><deviceIndex>", eni.device_index,
                    "</deviceIndex><networkCardIndex>", eni.network_card_index,
                    "</networkCardIndex><status>attached</status><deleteOnTermination>",
                    eni.delete_on_termination ? "true" : "false",
                    "</deleteOnTermination></attachment>");
  }
  absl::StrAppend(&xml, "<interfaceType>", XmlEscape(eni.interface_type),
                  "</interfaceType><privateIpAddressesSet><item><privateIpAddress>",
                  eni.primary_ip.ToString(), "</privateIpAddress><primary>true</primary></item>");
  for (const Ipv4Address& address : eni.secondary_ips) {
    absl::StrAppend(&xml, "<item><privateIpAddress>", address.ToString(),
                    "</privateIpAddress><primary>false</primary></item>");
  }
  xml += "</privateIpAddressesSet>";
  if (!eni.prefixes.empty()) {
    xml += "<ipv4PrefixSet>";
    for (const Ipv4Prefix& prefix : eni.prefixes) {
      absl::StrAppend(&xml, "<item><ipv4Prefix>", prefix.ToString(), "</ipv4Prefix></item>");
    }
    xml += "</ipv4PrefixSet>";
  }
  if (!eni.ipv6_prefixes.empty()) {
    xml += "<ipv6PrefixSet>";
    for (const Ipv6Prefix& prefix : eni.ipv6_prefixes) {
      absl::StrAppend(&xml, "<item><ipv6Prefix>", prefix.ToString(), "</ipv6Prefix></item>");
    }
    xml += "</ipv6PrefixSet>";
  }
  if (!eni.security_group_ids.empty()) {
    xml += "<groupSet>";
    for (const std::string& group : eni.security_group_ids) {
      absl::StrAppend(&xml, "<item><groupId>", XmlEscape(group), "</groupId></item>");
    }
    xml += "</groupSet>";
  }
  // The ENI's tags, as EC2 lists them (an ENI's age reaches a client
  // through its createdAt tag, which the ENIs a node creates carry).
  xml += "<tagSet>";
  for (const Ec2Tag& t : eni.tags) {
    absl::StrAppend(&xml, "<item><key>", XmlEscape(t.key), "</key><value>", XmlEscape(t.value),
                    "</value></item>");
  }
  absl::StrAppend(&xml, "</tagSet></", tag, ">");
}

}  // namespace query_server_internal

// DecodeQueryRequest()
//
// The Ec2Call a decoded EC2 form asks for. Errors as EC2 words them:
// InvalidAction (an action enipool does not serve), MissingParameter,
// InvalidParameterValue, InvalidParameterCombination.
inline absl::StatusOr<Ec2Call> DecodeQueryRequest(const QueryParams& params) {
  using namespace query_server_internal;  // NOLINT(build/namespaces): local helpers
  const std::string* action = Find(params, "Action");
  if (action == nullptr) return Missing("(no action)", "Action");
  if (*action == "CreateNetworkInterface") {
    CreateNetworkInterfaceRequest request;
    ENIPOOL_ASSIGN_OR_RETURN(request.subnet_id, Required(params, *action, "SubnetId"));
    ENIPOOL_ASSIGN_OR_RETURN(request.secondary_ip_count,
                             Integer(params, "SecondaryPrivateIpAddressCount", 0));
    ENIPOOL_ASSIGN_OR_RETURN(request.ipv4_prefix_count, Integer(params, "Ipv4PrefixCount", 0));
    ENIPOOL_ASSIGN_OR_RETURN(request.ipv6_prefix_count, Integer(params, "Ipv6PrefixCount", 0));
    if (const std::string* description = Find(params, "Description")) {
      request.description = *description;
    }
    if (const std::string* primary = Find(params, "PrivateIpAddress")) {
      auto address = Ipv4Address::Parse(*primary);
      if (!address.ok()) return InvalidValue("PrivateIpAddress", *primary, address.status().message());
      request.private_ip_address = *address;
    }
    request.security_group_ids = List(params, "SecurityGroupId");
    if (const std::string* type = Find(params, "TagSpecification.1.ResourceType");
        type != nullptr && *type != "network-interface") {
      return InvalidValue("TagSpecification.1.ResourceType", *type,
                          "CreateNetworkInterface tags a network-interface");
    }
    for (int i = 1;; ++i) {
      const std::string* key = Find(params, absl::StrCat("TagSpecification.1.Tag.", i, ".Key"));
      if (key == nullptr) break;
      const std::string* value =
          Find(params, absl::StrCat("TagSpecification.1.Tag.", i, ".Value"));
      request.tags.push_back(Ec2Tag{*key, value == nullptr ? std::string() : *value});
    }
    return Ec2Call(std::move(request));
  }
  if (*action == "AttachNetworkInterface") {
    AttachNetworkInterfaceRequest request;
    ENIPOOL_ASSIGN_OR_RETURN(request.eni_id, Required(params, *action, "NetworkInterfaceId"));
    ENIPOOL_ASSIGN_OR_RETURN(request.instance_id, Required(params, *action, "InstanceId"));
    if (Find(params, "DeviceIndex") == nullptr) return Missing(*action, "DeviceIndex");
    ENIPOOL_ASSIGN_OR_RETURN(request.device_index, Integer(params, "DeviceIndex", 0));
    ENIPOOL_ASSIGN_OR_RETURN(request.network_card_index,
                             Integer(params, "NetworkCardIndex", 0));
    return Ec2Call(std::move(request));
  }
  if (*action == "DetachNetworkInterface") {
    DetachNetworkInterfaceRequest request;
    ENIPOOL_ASSIGN_OR_RETURN(request.attachment_id, Required(params, *action, "AttachmentId"));
    return Ec2Call(std::move(request));
  }
  if (*action == "DeleteNetworkInterface") {
    DeleteNetworkInterfaceRequest request;
    ENIPOOL_ASSIGN_OR_RETURN(request.eni_id, Required(params, *action, "NetworkInterfaceId"));
    return Ec2Call(std::move(request));
  }
  if (*action == "AssignPrivateIpAddresses") {
    ENIPOOL_ASSIGN_OR_RETURN(std::string eni, Required(params, *action, "NetworkInterfaceId"));
    const std::string* ips = Find(params, "SecondaryPrivateIpAddressCount");
    const std::string* prefixes = Find(params, "Ipv4PrefixCount");
    if ((ips == nullptr) == (prefixes == nullptr)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "InvalidParameterCombination: give exactly one of SecondaryPrivateIpAddressCount and "
          "Ipv4PrefixCount (this endpoint does not assign specific addresses) for ",
          eni));
    }
    if (ips != nullptr) {
      ENIPOOL_ASSIGN_OR_RETURN(int count, Integer(params, "SecondaryPrivateIpAddressCount", 0));
      return Ec2Call(AssignPrivateIpAddressesRequest{.eni_id = eni, .count = count});
    }
    ENIPOOL_ASSIGN_OR_RETURN(int count, Integer(params, "Ipv4PrefixCount", 0));
    return Ec2Call(AssignIpv4PrefixesRequest{.eni_id = eni, .count = count});
  }
  if (*action == "UnassignPrivateIpAddresses") {
    ENIPOOL_ASSIGN_OR_RETURN(std::string eni, Required(params, *action, "NetworkInterfaceId"));
    const std::vector<std::string> ips = List(params, "PrivateIpAddress");
    const std::vector<std::string> prefixes = List(params, "Ipv4Prefix");
    if (ips.empty() == prefixes.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "InvalidParameterCombination: give PrivateIpAddress.N or Ipv4Prefix.N (not both) for ",
          eni));
    }
    if (!ips.empty()) {
      UnassignPrivateIpAddressesRequest request{.eni_id = eni};
      for (const std::string& text : ips) {
        auto address = Ipv4Address::Parse(text);
        if (!address.ok()) return InvalidValue("PrivateIpAddress", text, address.status().message());
        request.addresses.push_back(*address);
      }
      return Ec2Call(std::move(request));
    }
    UnassignIpv4PrefixesRequest request{.eni_id = eni};
    for (const std::string& text : prefixes) {
      auto prefix = Ipv4Prefix::Parse(text);
      if (!prefix.ok()) return InvalidValue("Ipv4Prefix", text, prefix.status().message());
      request.prefixes.push_back(*prefix);
    }
    return Ec2Call(std::move(request));
  }
  if (*action == "AssignIpv6Addresses") {
    ENIPOOL_ASSIGN_OR_RETURN(std::string eni, Required(params, *action, "NetworkInterfaceId"));
    if (Find(params, "Ipv6PrefixCount") == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "InvalidParameterCombination: give Ipv6PrefixCount (this endpoint assigns IPv6 "
          "prefixes by count only) for ",
          eni));
    }
    ENIPOOL_ASSIGN_OR_RETURN(int count, Integer(params, "Ipv6PrefixCount", 0));
    return Ec2Call(AssignIpv6PrefixesRequest{.eni_id = eni, .count = count});
  }
  if (*action == "UnassignIpv6Addresses") {
    ENIPOOL_ASSIGN_OR_RETURN(std::string eni, Required(params, *action, "NetworkInterfaceId"));
    const std::vector<std::string> prefixes = List(params, "Ipv6Prefix");
    if (prefixes.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "InvalidParameterCombination: give Ipv6Prefix.N (this endpoint unassigns IPv6 "
          "prefixes only) for ",
          eni));
    }
    UnassignIpv6PrefixesRequest request{.eni_id = eni};
    for (const std::string& text : prefixes) {
      auto prefix = Ipv6Prefix::Parse(text);
      if (!prefix.ok()) return InvalidValue("Ipv6Prefix", text, prefix.status().message());
      request.prefixes.push_back(*prefix);
    }
    return Ec2Call(std::move(request));
  }
  if (*action == "CreateTags") {
    CreateTagsRequest request;
    request.eni_ids = List(params, "ResourceId");
    if (request.eni_ids.empty()) return Missing(*action, "ResourceId.1");
    for (int i = 1;; ++i) {
      const std::string* key = Find(params, absl::StrCat("Tag.", i, ".Key"));
      if (key == nullptr) break;
      // EC2 takes a tag without a value as the empty value.
      const std::string* value = Find(params, absl::StrCat("Tag.", i, ".Value"));
      request.tags.push_back(Ec2Tag{*key, value == nullptr ? std::string() : *value});
    }
    if (request.tags.empty()) return Missing(*action, "Tag.1.Key");
    return Ec2Call(std::move(request));
  }
  if (*action == "ModifyNetworkInterfaceAttribute") {
    ModifyNetworkInterfaceAttributeRequest request;
    ENIPOOL_ASSIGN_OR_RETURN(request.eni_id, Required(params, *action, "NetworkInterfaceId"));
    // The attributes this endpoint does not model are refused by name, so
    // a client asking for one is not told it asked for nothing.
    for (const auto& [key, value] : params) {
      for (absl::string_view other :
           {"Description.", "SourceDestCheck.", "EnaSrdSpecification.",
            "ConnectionTrackingSpecification.", "AssociatePublicIpAddress",
            "EnablePrimaryIpv6"}) {
        if (absl::StartsWith(key, other)) {
          return InvalidValue(key, value,
                              "this endpoint modifies Attachment or SecurityGroupId.N only");
        }
      }
    }
    const std::string* attachment_id = Find(params, "Attachment.AttachmentId");
    const std::string* delete_on_termination = Find(params, "Attachment.DeleteOnTermination");
    if (attachment_id != nullptr || delete_on_termination != nullptr) {
      if (attachment_id == nullptr) return Missing(*action, "Attachment.AttachmentId");
      if (delete_on_termination == nullptr) {
        return Missing(*action, "Attachment.DeleteOnTermination");
      }
      if (*delete_on_termination != "true" && *delete_on_termination != "false") {
        return InvalidValue("Attachment.DeleteOnTermination", *delete_on_termination,
                            "not a boolean");
      }
      request.attachment = ModifyNetworkInterfaceAttributeRequest::Attachment{
          .attachment_id = *attachment_id,
          .delete_on_termination = *delete_on_termination == "true"};
    }
    if (std::vector<std::string> groups = List(params, "SecurityGroupId"); !groups.empty()) {
      request.security_group_ids = std::move(groups);
    }
    // Both or neither attribute is the backend's to refuse
    // (InvalidParameterCombination), as EC2 does.
    return Ec2Call(std::move(request));
  }
  if (*action == "DescribeNetworkInterfaces") {
    DescribeNetworkInterfacesRequest request;
    request.eni_ids = List(params, "NetworkInterfaceId");
    for (int i = 1;; ++i) {
      const std::string* name = Find(params, absl::StrCat("Filter.", i, ".Name"));
      if (name == nullptr) break;
      const std::vector<std::string> values = List(params, absl::StrCat("Filter.", i, ".Value"));
      if ((*name != "attachment.instance-id" && *name != "description") || values.size() != 1) {
        return InvalidValue(absl::StrCat("Filter.", i), *name,
                            "this endpoint filters by attachment.instance-id or description, "
                            "with one value each");
      }
      (*name == "description" ? request.description : request.instance_id) = values.front();
    }
    return Ec2Call(std::move(request));
  }
  if (*action == "DescribeSubnets") {
    DescribeSubnetsRequest request;
    request.subnet_ids = List(params, "SubnetId");
    for (int i = 1;; ++i) {
      const std::string* name = Find(params, absl::StrCat("Filter.", i, ".Name"));
      if (name == nullptr) break;
      const std::vector<std::string> values = List(params, absl::StrCat("Filter.", i, ".Value"));
      if ((*name != "vpc-id" && *name != "availability-zone") || values.size() != 1) {
        return InvalidValue(absl::StrCat("Filter.", i), *name,
                            "this endpoint filters subnets by vpc-id or availability-zone, "
                            "with one value each");
      }
      (*name == "vpc-id" ? request.vpc_id : request.availability_zone) = values.front();
    }
    return Ec2Call(std::move(request));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("InvalidAction: the action ", *action, " is not valid for this web service"));
}

// EncodeQueryResponse()
//
// The XML EC2 answers a successful `call` with.
inline std::string EncodeQueryResponse(const Ec2Call& call, const Ec2Response& response,
                                       absl::string_view request_id) {
  using namespace query_server_internal;  // NOLINT(build/namespaces): local helpers
  const std::string action = ToQueryRequest(call).action;
  std::string xml = absl::StrCat("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<", action,
                                 "Response xmlns=\"http://ec2.amazonaws.com/doc/", kEc2ApiVersion,
                                 "/\"><requestId>", XmlEscape(request_id), "</requestId>");
  std::visit(
      [&](const auto& request) {
        using R = std::decay_t<decltype(request)>;
        if constexpr (std::is_same_v<R, CreateNetworkInterfaceRequest>) {
          if (const auto* eni = std::get_if<NetworkInterface>(&response)) {
            AppendNetworkInterface(xml, *eni, "networkInterface");
          }
        } else if constexpr (std::is_same_v<R, AttachNetworkInterfaceRequest>) {
          if (const auto* id = std::get_if<std::string>(&response)) {
            absl::StrAppend(&xml, "<attachmentId>", XmlEscape(*id),
                            "</attachmentId><networkCardIndex>0</networkCardIndex>");
          }
        } else if constexpr (std::is_same_v<R, AssignPrivateIpAddressesRequest>) {
          absl::StrAppend(&xml, "<networkInterfaceId>", XmlEscape(request.eni_id),
                          "</networkInterfaceId><assignedPrivateIpAddressesSet>");
          if (const auto* addresses = std::get_if<std::vector<Ipv4Address>>(&response)) {
            for (const Ipv4Address& address : *addresses) {
              absl::StrAppend(&xml, "<item><privateIpAddress>", address.ToString(),
                              "</privateIpAddress></item>");
            }
          }
          xml += "</assignedPrivateIpAddressesSet>";
        } else if constexpr (std::is_same_v<R, AssignIpv4PrefixesRequest>) {
          absl::StrAppend(&xml, "<networkInterfaceId>", XmlEscape(request.eni_id),
                          "</networkInterfaceId><assignedIpv4PrefixSet>");
          if (const auto* prefixes = std::get_if<std::vector<Ipv4Prefix>>(&response)) {
            for (const Ipv4Prefix& prefix : *prefixes) {
              absl::StrAppend(&xml, "<item><ipv4Prefix>", prefix.ToString(),
                              "</ipv4Prefix></item>");
            }
          }
          xml += "</assignedIpv4PrefixSet>";
        } else if constexpr (std::is_same_v<R, AssignIpv6PrefixesRequest>) {
          absl::StrAppend(&xml, "<networkInterfaceId>", XmlEscape(request.eni_id),
                          "</networkInterfaceId><assignedIpv6PrefixSet>");
          if (const auto* prefixes = std::get_if<std::vector<Ipv6Prefix>>(&response)) {
            for (const Ipv6Prefix& prefix : *prefixes) {
              absl::StrAppend(&xml, "<item>", prefix.ToString(), "</item>");
            }
          }
          xml += "</assignedIpv6PrefixSet>";
        } else if constexpr (std::is_same_v<R, UnassignIpv6PrefixesRequest>) {
          absl::StrAppend(&xml, "<networkInterfaceId>", XmlEscape(request.eni_id),
                          "</networkInterfaceId><unassignedIpv6PrefixSet>");
          for (const Ipv6Prefix& prefix : request.prefixes) {
            absl::StrAppend(&xml, "<item>", prefix.ToString(), "</item>");
          }
          xml += "</unassignedIpv6PrefixSet>";
        } else if constexpr (std::is_same_v<R, DescribeNetworkInterfacesRequest>) {
          xml += "<networkInterfaceSet>";
          if (const auto* enis = std::get_if<std::vector<NetworkInterface>>(&response)) {
            for (const NetworkInterface& eni : *enis) AppendNetworkInterface(xml, eni, "item");
          }
          xml += "</networkInterfaceSet>";
        } else if constexpr (std::is_same_v<R, DescribeSubnetsRequest>) {
          xml += "<subnetSet>";
          if (const auto* subnets = std::get_if<std::vector<SubnetInfo>>(&response)) {
            for (const SubnetInfo& subnet : *subnets) {
              absl::StrAppend(&xml, "<item><subnetId>", XmlEscape(subnet.id),
                              "</subnetId><cidrBlock>", subnet.cidr.ToString(),
                              "</cidrBlock><availableIpAddressCount>",
                              subnet.available_addresses,
                              "</availableIpAddressCount><availabilityZone>",
                              XmlEscape(subnet.availability_zone), "</availabilityZone><vpcId>",
                              XmlEscape(subnet.vpc_id), "</vpcId><state>available</state>",
                              "<tagSet>");
              for (const Ec2Tag& t : subnet.tags) {
                absl::StrAppend(&xml, "<item><key>", XmlEscape(t.key), "</key><value>",
                                XmlEscape(t.value), "</value></item>");
              }
              xml += "</tagSet>";
              if (subnet.ipv6_cidr.has_value()) {
                absl::StrAppend(&xml,
                                "<ipv6CidrBlockAssociationSet><item><associationId>subnet-cidr-"
                                "assoc-",
                                XmlEscape(subnet.id), "</associationId><ipv6CidrBlock>",
                                subnet.ipv6_cidr->ToString(),
                                "</ipv6CidrBlock><ipv6CidrBlockState><state>associated</state>"
                                "</ipv6CidrBlockState></item></ipv6CidrBlockAssociationSet>");
              }
              xml += "</item>";
            }
          }
          xml += "</subnetSet>";
        } else {
          xml += "<return>true</return>";
        }
      },
      call);
  absl::StrAppend(&xml, "</", action, "Response>");
  return xml;
}

// HttpAnswer
struct HttpAnswer {
  int status = 200;
  std::string content_type = "text/xml;charset=UTF-8";
  std::string body;
};

// EncodeErrorResponse()
//
// EC2's error answer for `status` (its message "<Code>: <text>"): HTTP 503
// for throttling, 500 for INTERNAL and UNKNOWN, 401/403 for
// authentication, else 400.
inline HttpAnswer EncodeErrorResponse(const absl::Status& status, absl::string_view request_id) {
  using query_server_internal::XmlEscape;
  absl::string_view message = status.message();
  absl::string_view code = "InternalError";
  const auto colon = message.find(": ");
  if (colon != absl::string_view::npos && message.substr(0, colon).find(' ') == absl::string_view::npos) {
    code = message.substr(0, colon);
    message.remove_prefix(colon + 2);
  }
  HttpAnswer answer;
  switch (status.code()) {
    case absl::StatusCode::kUnavailable: answer.status = 503; break;
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown: answer.status = 500; break;
    case absl::StatusCode::kUnauthenticated: answer.status = 401; break;
    case absl::StatusCode::kPermissionDenied: answer.status = 403; break;
    default: answer.status = 400;
  }
  answer.body = absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>",
      XmlEscape(code), "</Code><Message>", XmlEscape(message),
      "</Message></Error></Errors><RequestID>", XmlEscape(request_id), "</RequestID></Response>");
  return answer;
}

// Ec2QueryServiceOptions
struct Ec2QueryServiceOptions {
  std::string region = "us-east-1";
  // Accepted access key id → secret access key.
  std::vector<std::pair<std::string, std::string>> credentials;
  // Temporary credentials (an instance role's, from ImdsService) by access
  // key id, or nullopt; requests signed with them must carry their session
  // token and are refused with ExpiredToken once they expire.
  std::function<std::optional<Credentials>(absl::string_view)> find_temporary_credentials;
  absl::Duration max_clock_skew = absl::Minutes(15);
};

// Ec2QueryService
//
// Serves `Backend` calls over the EC2 Query protocol: one Handle() per HTTP
// request. Not thread-safe (the backend is not): serialize calls.
template <Backend B>
class Ec2QueryService {
 public:
  Ec2QueryService(B& backend, Ec2QueryServiceOptions options)
      : backend_(backend), options_(std::move(options)) {}

  // Ec2QueryService::Handle()
  //
  // `request` as received: method, Host, path, query, every header, body.
  // Checks the signature (service "ec2", the configured region and keys),
  // decodes the form (body for POST, query string for GET), calls the
  // backend and answers.
  HttpAnswer Handle(const SignableRequest& request, absl::Time now) {
    const std::string request_id = absl::StrFormat("%08x-0000-4000-8000-%012x",
                                                   static_cast<std::uint32_t>(next_request_ >> 32),
                                                   next_request_ & 0xFFFFFFFFFFFFull);
    ++next_request_;
    absl::Status key_error;
    auto secret_for = [&](absl::string_view key) -> std::string {
      for (const auto& [id, secret] : options_.credentials) {
        if (id == key) return secret;
      }
      if (!options_.find_temporary_credentials) return std::string();
      const std::optional<Credentials> temporary = options_.find_temporary_credentials(key);
      if (!temporary.has_value()) return std::string();
      std::string token;
      for (const HttpHeader& header : request.headers) {
        if (absl::EqualsIgnoreCase(header.name, "x-amz-security-token")) token = header.value;
      }
      if (token != temporary->session_token) {
        key_error = absl::PermissionDeniedError(
            "InvalidClientTokenId: the security token included in the request is invalid");
        return std::string();
      }
      if (temporary->expiration <= now) {
        key_error = absl::UnauthenticatedError(
            "ExpiredToken: the security token included in the request is expired");
        return std::string();
      }
      return temporary->secret_access_key;
    };
    if (absl::Status verified = VerifySigV4(request, options_.region, "ec2", secret_for, now,
                                            options_.max_clock_skew);
        !verified.ok()) {
      ++rejected_signatures_;
      return EncodeErrorResponse(key_error.ok() ? verified : key_error, request_id);
    }
    absl::StatusOr<QueryParams> params =
        request.method == "GET" ? absl::StatusOr<QueryParams>(request.query) : ParseForm(request.body);
    if (!params.ok()) return EncodeErrorResponse(params.status(), request_id);
    absl::StatusOr<Ec2Call> call = DecodeQueryRequest(*params);
    if (!call.ok()) return EncodeErrorResponse(call.status(), request_id);
    Ec2Result result = Dispatch(backend_, *call);
    if (!result.ok()) return EncodeErrorResponse(result.status, request_id);
    return HttpAnswer{200, "text/xml;charset=UTF-8",
                      EncodeQueryResponse(*call, result.response, request_id)};
  }

  [[nodiscard]] std::uint64_t rejected_signatures() const noexcept { return rejected_signatures_; }

 private:
  B& backend_;
  Ec2QueryServiceOptions options_;
  std::uint64_t next_request_ = 1;
  std::uint64_t rejected_signatures_ = 0;
};

}  // namespace enipool::ec2::aws

#endif  // ENIPOOL_EC2_AWS_EC2_QUERY_SERVER_H_
