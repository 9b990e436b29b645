#include "enipool/ec2/aws/ec2_query.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/ec2/aws/ec2_query_server.h"

namespace {

using enipool::Ec2Call;
using enipool::Ec2ErrorCode;
using enipool::Ec2Response;
using enipool::Ipv4Address;
using enipool::Ipv4Prefix;
using enipool::NetworkInterface;
namespace aws = enipool::ec2::aws;

std::string RandomId(std::mt19937_64& rng, absl::string_view prefix) {
  return absl::StrCat(prefix, std::uniform_int_distribution<std::uint64_t>(1, 1ull << 40)(rng));
}

Ipv4Address RandomAddress(std::mt19937_64& rng) {
  return Ipv4Address(static_cast<std::uint32_t>(
      0x0A000000u + std::uniform_int_distribution<std::uint32_t>(0, 0xFFFFFF)(rng)));
}

Ipv4Prefix RandomPrefix(std::mt19937_64& rng) {
  return Ipv4Prefix::Containing(RandomAddress(rng), 28);
}

enipool::Ipv6Prefix RandomIpv6Prefix(std::mt19937_64& rng, int length) {
  return enipool::Ipv6Prefix::Containing(
      enipool::Ipv6Address(0x26001f1400000000u | (rng() & 0xFFFFFFFFu), rng()), length);
}

NetworkInterface RandomEni(std::mt19937_64& rng) {
  NetworkInterface eni;
  eni.id = RandomId(rng, "eni-");
  eni.subnet_id = RandomId(rng, "subnet-");
  eni.primary_ip = RandomAddress(rng);
  if (rng() % 2) {
    eni.instance_id = RandomId(rng, "i-");
    eni.attachment_id = RandomId(rng, "eni-attach-");
    eni.device_index = static_cast<int>(rng() % 15);
    eni.network_card_index = rng() % 2 ? 0 : static_cast<int>(rng() % 32);
    eni.delete_on_termination = rng() % 2 == 0;
  }
  const int ips = static_cast<int>(rng() % 20);
  for (int i = 0; i < ips; ++i) {
    Ipv4Address address = RandomAddress(rng);
    if (address != eni.primary_ip) eni.secondary_ips.push_back(address);
  }
  const int prefixes = static_cast<int>(rng() % 5);
  for (int i = 0; i < prefixes; ++i) eni.prefixes.push_back(RandomPrefix(rng));
  eni.created = absl::FromUnixSeconds(
      std::uniform_int_distribution<std::int64_t>(1'500'000'000, 1'900'000'000)(rng));
  if (rng() % 2) eni.description = "aws-K8S-" + RandomId(rng, "i-") + " & <co>";
  // EC2 lists createdAt among the tags (the endpoint writes one from the
  // creation time when the ENI has none; here it has one, so it round-trips).
  eni.tags.push_back({"node.k8s.amazonaws.com/createdAt",
                      absl::FormatTime(absl::RFC3339_full, eni.created, absl::UTCTimeZone())});
  if (rng() % 2) eni.tags.push_back({"node.k8s.amazonaws.com/no_manage", "true & <x>"});
  if (rng() % 2) eni.security_group_ids = {RandomId(rng, "sg-"), RandomId(rng, "sg-")};
  if (rng() % 3 == 0) eni.interface_type = rng() % 2 ? "efa-only" : "trunk";
  if (rng() % 3 == 0) eni.ipv6_prefixes = {RandomIpv6Prefix(rng, 80)};
  return eni;
}

// A random call and a response of the shape it answers with.
std::pair<Ec2Call, Ec2Response> RandomExchange(std::mt19937_64& rng) {
  const std::string eni = RandomId(rng, "eni-");
  const int count = static_cast<int>(rng() % 10) + 1;
  switch (rng() % 14) {
    case 0: {
      enipool::CreateNetworkInterfaceRequest request{.subnet_id = RandomId(rng, "subnet-"),
                                                     .description = "aws-K8S-i-0123 & <co>"};
      if (rng() % 2) request.security_group_ids = {RandomId(rng, "sg-"), RandomId(rng, "sg-")};
      if (rng() % 2) {
        request.tags = {{"node.k8s.amazonaws.com/instance_id", RandomId(rng, "i-")},
                        {"cluster.k8s.amazonaws.com/name", "prod & <eu>"}};
      }
      (rng() % 2 ? request.secondary_ip_count : request.ipv4_prefix_count) = count;
      if (rng() % 3 == 0) request.ipv6_prefix_count = 1;
      if (rng() % 2) request.private_ip_address = RandomAddress(rng);
      return {request, RandomEni(rng)};
    }
    case 1:
      return {enipool::AttachNetworkInterfaceRequest{eni, RandomId(rng, "i-"), count,
                                                     static_cast<int>(rng() % 4)},
              RandomId(rng, "eni-attach-")};
    case 2:
      return {enipool::DetachNetworkInterfaceRequest{.attachment_id = RandomId(rng, "eni-attach-")},
              std::monostate{}};
    case 3: return {enipool::DeleteNetworkInterfaceRequest{eni}, std::monostate{}};
    case 4: {
      std::vector<Ipv4Address> addresses;
      for (int i = 0; i < count; ++i) addresses.push_back(RandomAddress(rng));
      return {enipool::AssignPrivateIpAddressesRequest{eni, count}, addresses};
    }
    case 5: {
      std::vector<Ipv4Prefix> prefixes;
      for (int i = 0; i < count; ++i) prefixes.push_back(RandomPrefix(rng));
      return {enipool::AssignIpv4PrefixesRequest{eni, count}, prefixes};
    }
    case 6: {
      enipool::UnassignPrivateIpAddressesRequest request{eni, {}};
      for (int i = 0; i < count; ++i) request.addresses.push_back(RandomAddress(rng));
      return {request, std::monostate{}};
    }
    case 7: {
      enipool::UnassignIpv4PrefixesRequest request{eni, {}};
      for (int i = 0; i < count; ++i) request.prefixes.push_back(RandomPrefix(rng));
      return {request, std::monostate{}};
    }
    case 8: {
      enipool::DescribeSubnetsRequest request;
      if (rng() % 2) request.subnet_ids = {RandomId(rng, "subnet-"), RandomId(rng, "subnet-")};
      if (rng() % 2) request.vpc_id = RandomId(rng, "vpc-");
      if (rng() % 2) request.availability_zone = "us-east-1a";
      std::vector<enipool::SubnetInfo> subnets;
      for (int i = 0; i < count; ++i) {
        enipool::SubnetInfo subnet;
        subnet.id = RandomId(rng, "subnet-");
        subnet.cidr = Ipv4Prefix::Containing(RandomAddress(rng), 20 + static_cast<int>(rng() % 9));
        subnet.availability_zone = "us-east-1a";
        subnet.vpc_id = RandomId(rng, "vpc-");
        subnet.available_addresses = static_cast<std::int64_t>(rng() % 5000);
        if (rng() % 2) subnet.tags = {{"kubernetes.io/role/cni", "1"}, {"Name", "pods & <x>"}};
        if (rng() % 2) subnet.ipv6_cidr = RandomIpv6Prefix(rng, 64);
        subnets.push_back(subnet);
      }
      return {request, subnets};
    }
    case 9: {
      std::vector<enipool::Ipv6Prefix> prefixes;
      for (int i = 0; i < count; ++i) prefixes.push_back(RandomIpv6Prefix(rng, 80));
      return {enipool::AssignIpv6PrefixesRequest{eni, count}, prefixes};
    }
    case 10: {
      enipool::UnassignIpv6PrefixesRequest request{eni, {}};
      for (int i = 0; i < count; ++i) request.prefixes.push_back(RandomIpv6Prefix(rng, 80));
      return {request, std::monostate{}};
    }
    case 11: {
      enipool::CreateTagsRequest request;
      for (int i = 0; i < count; ++i) {
        request.eni_ids.push_back(RandomId(rng, "eni-"));
        request.tags.push_back({"key " + RandomId(rng, "k-") + " & <x>/=",
                                rng() % 3 == 0 ? std::string() : RandomId(rng, "v-")});
      }
      return {request, std::monostate{}};
    }
    case 12: {
      // Either attribute, both or neither: the wire carries what is given
      // (a group list, when given, is not empty: EC2's form cannot say so).
      enipool::ModifyNetworkInterfaceAttributeRequest request{.eni_id = eni};
      if (rng() % 2) {
        request.attachment = {{.attachment_id = RandomId(rng, "eni-attach-"),
                               .delete_on_termination = rng() % 2 == 0}};
      }
      if (rng() % 2) {
        request.security_group_ids.emplace();
        for (int i = 0; i < count; ++i) request.security_group_ids->push_back(RandomId(rng, "sg-"));
      }
      return {request, std::monostate{}};
    }
    default: {
      enipool::DescribeNetworkInterfacesRequest request;
      if (rng() % 2) {
        for (int i = 0; i < count; ++i) request.eni_ids.push_back(RandomId(rng, "eni-"));
      }
      if (rng() % 2) request.instance_id = RandomId(rng, "i-");
      if (rng() % 2) request.description = "aws-K8S-" + RandomId(rng, "i-");
      std::vector<NetworkInterface> enis;
      for (int i = 0; i < count; ++i) enis.push_back(RandomEni(rng));
      return {request, enis};
    }
  }
}

TEST_CASE("Every call survives form encoding and decoding, and every answer XML encoding and parsing") {
  std::mt19937_64 rng(12);
  for (int i = 0; i < 2000; ++i) {
    const auto [call, response] = RandomExchange(rng);
    CAPTURE(i);
    CAPTURE(enipool::Ec2CallName(call));
    const std::string body = aws::FormEncode(aws::ToQueryRequest(call).params);
    auto params = aws::ParseForm(body);
    REQUIRE(params.ok());
    auto decoded = aws::DecodeQueryRequest(*params);
    REQUIRE(decoded.ok());
    CHECK(*decoded == call);

    const std::string xml = aws::EncodeQueryResponse(call, response, "req-1");
    auto parsed = aws::ParseQueryResponse(call, 200, xml);
    REQUIRE(parsed.ok());
    CHECK(*parsed == response);
  }
}

TEST_CASE("AssignIpv4Prefixes travels as AssignPrivateIpAddresses with Ipv4PrefixCount") {
  const auto query = aws::ToQueryRequest(enipool::AssignIpv4PrefixesRequest{"eni-1", 2});
  CHECK(aws::FormEncode(query.params) ==
        "Action=AssignPrivateIpAddresses&Version=2016-11-15&NetworkInterfaceId=eni-1&"
        "Ipv4PrefixCount=2");
  const auto unassign = aws::ToQueryRequest(enipool::UnassignIpv4PrefixesRequest{
      "eni-1", {*Ipv4Prefix::Parse("10.0.0.16/28"), *Ipv4Prefix::Parse("10.0.0.32/28")}});
  CHECK(aws::FormEncode(unassign.params) ==
        "Action=UnassignPrivateIpAddresses&Version=2016-11-15&NetworkInterfaceId=eni-1&"
        "Ipv4Prefix.1=10.0.0.16%2F28&Ipv4Prefix.2=10.0.0.32%2F28");
}

// docs/reference-behavior.md §4.12, §7.1: in IPv6 mode the reference asks
// for one /80 with AssignIpv6Addresses(Ipv6PrefixCount=1); EC2 answers with
// AssignedIpv6Prefixes (assignedIpv6PrefixSet, one string per item), lists
// an ENI's prefixes in ipv6PrefixSet and a subnet's block in
// ipv6CidrBlockAssociationSet (botocore's EC2 service model).
TEST_CASE("AssignIpv6Addresses travels with Ipv6PrefixCount and its answer's prefixes are read") {
  const auto query = aws::ToQueryRequest(enipool::AssignIpv6PrefixesRequest{"eni-1", 1});
  CHECK(aws::FormEncode(query.params) ==
        "Action=AssignIpv6Addresses&Version=2016-11-15&NetworkInterfaceId=eni-1&"
        "Ipv6PrefixCount=1");
  const auto unassign = aws::ToQueryRequest(enipool::UnassignIpv6PrefixesRequest{
      "eni-1", {*enipool::Ipv6Prefix::Parse("2600:1f14:abc:1:2::/80")}});
  CHECK(aws::FormEncode(unassign.params) ==
        "Action=UnassignIpv6Addresses&Version=2016-11-15&NetworkInterfaceId=eni-1&"
        "Ipv6Prefix.1=2600%3A1f14%3Aabc%3A1%3A2%3A%3A%2F80");
  const std::string answer =
      "<AssignIpv6AddressesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
      "<requestId>r</requestId><networkInterfaceId>eni-1</networkInterfaceId>"
      "<assignedIpv6PrefixSet><item>2600:1f14:abc:1:2::/80</item></assignedIpv6PrefixSet>"
      "</AssignIpv6AddressesResponse>";
  const auto parsed =
      aws::ParseQueryResponse(enipool::AssignIpv6PrefixesRequest{"eni-1", 1}, 200, answer);
  REQUIRE(parsed.ok());
  CHECK(*parsed == Ec2Response(std::vector<enipool::Ipv6Prefix>{
                       *enipool::Ipv6Prefix::Parse("2600:1f14:abc:1:2::/80")}));
  const std::string bad =
      "<AssignIpv6AddressesResponse><assignedIpv6PrefixSet><item>2600::1/80</item>"
      "</assignedIpv6PrefixSet></AssignIpv6AddressesResponse>";
  const auto malformed =
      aws::ParseQueryResponse(enipool::AssignIpv6PrefixesRequest{"eni-1", 1}, 200, bad);
  REQUIRE_FALSE(malformed.ok());
  CHECK(absl::StartsWith(malformed.status().message(), "MalformedResponse: AssignIpv6Addresses: "));
  // An ENI's /80 and a subnet's /64 as EC2 lists them.
  const std::string describe =
      "<DescribeNetworkInterfacesResponse><networkInterfaceSet><item>"
      "<networkInterfaceId>eni-1</networkInterfaceId><privateIpAddress>10.0.0.4</privateIpAddress>"
      "<ipv6PrefixSet><item><ipv6Prefix>2600:1f14:abc:1:2::/80</ipv6Prefix></item></ipv6PrefixSet>"
      "</item></networkInterfaceSet></DescribeNetworkInterfacesResponse>";
  const auto enis = aws::ParseDescribeNetworkInterfaces(describe);
  REQUIRE(enis.ok());
  REQUIRE(enis->interfaces.size() == 1);
  CHECK(enis->interfaces[0].ipv6_prefixes ==
        std::vector<enipool::Ipv6Prefix>{*enipool::Ipv6Prefix::Parse("2600:1f14:abc:1:2::/80")});
  const std::string subnets =
      "<DescribeSubnetsResponse><subnetSet><item><subnetId>subnet-1</subnetId>"
      "<cidrBlock>10.0.0.0/24</cidrBlock><availableIpAddressCount>5</availableIpAddressCount>"
      "<ipv6CidrBlockAssociationSet>"
      "<item><ipv6CidrBlock>2600:1f14:abc:9::/64</ipv6CidrBlock><ipv6CidrBlockState><state>"
      "disassociated</state></ipv6CidrBlockState></item>"
      "<item><ipv6CidrBlock>2600:1f14:abc:1::/64</ipv6CidrBlock><ipv6CidrBlockState><state>"
      "associated</state></ipv6CidrBlockState></item>"
      "</ipv6CidrBlockAssociationSet></item></subnetSet></DescribeSubnetsResponse>";
  const auto page = aws::ParseDescribeSubnets(subnets);
  REQUIRE(page.ok());
  REQUIRE(page->subnets.size() == 1);
  CHECK(page->subnets[0].ipv6_cidr == *enipool::Ipv6Prefix::Parse("2600:1f14:abc:1::/64"));
}

// docs/reference-behavior.md §7.1: the reference attaches a new ENI on the
// card it manages (AttachNetworkInterface's NetworkCardIndex) and reads each
// attachment's card back (Attachment.NetworkCardIndex).
TEST_CASE("AttachNetworkInterface carries NetworkCardIndex and a describe reads the card back") {
  const auto card0 = aws::ToQueryRequest(enipool::AttachNetworkInterfaceRequest{
      .eni_id = "eni-1", .instance_id = "i-1", .device_index = 2});
  CHECK(aws::FormEncode(card0.params) ==
        "Action=AttachNetworkInterface&Version=2016-11-15&NetworkInterfaceId=eni-1&"
        "InstanceId=i-1&DeviceIndex=2");
  const auto card5 = aws::ToQueryRequest(enipool::AttachNetworkInterfaceRequest{
      .eni_id = "eni-1", .instance_id = "i-1", .device_index = 0, .network_card_index = 5});
  CHECK(aws::FormEncode(card5.params) ==
        "Action=AttachNetworkInterface&Version=2016-11-15&NetworkInterfaceId=eni-1&"
        "InstanceId=i-1&DeviceIndex=0&NetworkCardIndex=5");

  const Ec2Call describe = enipool::DescribeNetworkInterfacesRequest{};
  NetworkInterface eni{.id = "eni-1", .subnet_id = "subnet-1", .instance_id = "i-1",
                       .attachment_id = "eni-attach-1", .device_index = 1,
                       .network_card_index = 7};
  eni.primary_ip = *Ipv4Address::Parse("10.0.0.9");
  const std::string xml =
      aws::EncodeQueryResponse(describe, std::vector<NetworkInterface>{eni}, "r");
  CHECK(absl::StrContains(xml, "<networkCardIndex>7</networkCardIndex>"));
  auto parsed = aws::ParseQueryResponse(describe, 200, xml);
  REQUIRE(parsed.ok());
  CHECK(std::get<std::vector<NetworkInterface>>(*parsed).at(0).network_card_index == 7);

  // Absent (an older answer): card 0. Not a number: a malformed answer.
  std::string absent = xml;
  absent.replace(absent.find("<networkCardIndex>7</networkCardIndex>"),
                 std::string("<networkCardIndex>7</networkCardIndex>").size(), "");
  auto old = aws::ParseQueryResponse(describe, 200, absent);
  REQUIRE(old.ok());
  CHECK(std::get<std::vector<NetworkInterface>>(*old).at(0).network_card_index == 0);
  std::string bad = xml;
  bad.replace(bad.find(">7<"), 3, ">x<");
  auto refused = aws::ParseQueryResponse(describe, 200, bad);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message() ==
        "MalformedResponse: DescribeNetworkInterfaces: networkCardIndex \"x\" is not a "
        "card index");
}

TEST_CASE("CreateNetworkInterface carries the security groups and the tags") {
  const auto query = aws::ToQueryRequest(
      enipool::CreateNetworkInterfaceRequest{.subnet_id = "subnet-1", .ipv4_prefix_count = 1,
                                             .description = "aws-K8S-i-1"},
      {.security_group_ids = {"sg-1", "sg-2"},
       .tags = {{std::string(aws::kInstanceIdTag), "i-1"}}});
  CHECK(aws::FormEncode(query.params) ==
        "Action=CreateNetworkInterface&Version=2016-11-15&SubnetId=subnet-1&Description=aws-K8S-"
        "i-1&Ipv4PrefixCount=1&SecurityGroupId.1=sg-1&SecurityGroupId.2=sg-2&"
        "TagSpecification.1.ResourceType=network-interface&TagSpecification.1.Tag.1.Key=node.k8s."
        "amazonaws.com%2Finstance_id&TagSpecification.1.Tag.1.Value=i-1");
}

// docs/reference-behavior.md §4.12: an extra card's ENI in IPv6 mode is
// created with one /80; botocore's EC2 model names the field
// Ipv6PrefixCount (no locationName), beside Ipv4PrefixCount.
TEST_CASE("CreateNetworkInterface asks for delegated /80s as Ipv6PrefixCount and the endpoint reads it back") {
  const enipool::CreateNetworkInterfaceRequest request{
      .subnet_id = "subnet-1", .ipv6_prefix_count = 1, .description = "aws-K8S-i-1"};
  const auto query = aws::ToQueryRequest(request);
  CHECK(aws::FormEncode(query.params) ==
        "Action=CreateNetworkInterface&Version=2016-11-15&SubnetId=subnet-1&Description=aws-K8S-"
        "i-1&Ipv6PrefixCount=1");
  const auto decoded = aws::DecodeQueryRequest(query.params);
  REQUIRE(decoded.ok());
  CHECK(std::get<enipool::CreateNetworkInterfaceRequest>(*decoded) == request);
  // Without the count no Ipv6PrefixCount travels; a count that is not a
  // number is refused naming the field.
  CHECK(aws::FormEncode(aws::ToQueryRequest(enipool::CreateNetworkInterfaceRequest{
                                                .subnet_id = "subnet-1"})
                            .params)
            .find("Ipv6") == std::string::npos);
  const auto bad = aws::DecodeQueryRequest(
      {{"Action", "CreateNetworkInterface"}, {"SubnetId", "subnet-1"}, {"Ipv6PrefixCount", "one"}});
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(bad.status().message(), "Ipv6PrefixCount"));
}

// The call an endpoint decodes from a form body (which must parse).
absl::StatusOr<Ec2Call> DecodeForm(absl::string_view body) {
  auto params = aws::ParseForm(body);
  REQUIRE(params.ok());
  return aws::DecodeQueryRequest(*params);
}

// An answer of nothing but <return>true</return>: the endpoint writes it
// under the action's name and the client reads it as no value.
void CheckReturnTrueAnswer(const Ec2Call& call, absl::string_view action) {
  const std::string xml = aws::EncodeQueryResponse(call, std::monostate{}, "req-7");
  CHECK(absl::StrContains(xml, absl::StrCat("<", action, "Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">")));
  CHECK(absl::StrContains(xml, "<return>true</return>"));
  auto parsed = aws::ParseQueryResponse(call, 200, xml);
  REQUIRE(parsed.ok());
  CHECK(std::holds_alternative<std::monostate>(*parsed));
}

// docs/reference-behavior.md §7.1: the reference tags an ENI it finds
// lacking its tags with CreateTags; botocore's EC2 model names the lists
// ResourceId and Tag (of Key and Value), flattened by the EC2 protocol.
TEST_CASE("CreateTags travels as ResourceId.N and Tag.N.Key / Tag.N.Value and answers return true") {
  const enipool::CreateTagsRequest request{
      .eni_ids = {"eni-1", "eni-2"},
      .tags = {{"node.k8s.amazonaws.com/instance_id", "i-1"}, {"eks:eni:owner", "amazon-vpc-cni"}}};
  const auto query = aws::ToQueryRequest(request);
  CHECK(query.action == "CreateTags");
  CHECK(aws::FormEncode(query.params) ==
        "Action=CreateTags&Version=2016-11-15&ResourceId.1=eni-1&ResourceId.2=eni-2&"
        "Tag.1.Key=node.k8s.amazonaws.com%2Finstance_id&Tag.1.Value=i-1&"
        "Tag.2.Key=eks%3Aeni%3Aowner&Tag.2.Value=amazon-vpc-cni");
  CheckReturnTrueAnswer(request, "CreateTags");
  // EC2 refusing it reaches the caller as a status led by EC2's code.
  auto refused = aws::ParseQueryResponse(
      request, 400,
      "<Response><Errors><Error><Code>InvalidNetworkInterfaceID.NotFound</Code><Message>The "
      "networkInterface ID 'eni-2' does not exist</Message></Error></Errors></Response>");
  CHECK(enipool::ClassifyEc2Error(refused.status()) ==
        Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);
}

TEST_CASE("A CreateTags without a resource or a tag is refused as MissingParameter, and a tag "
          "without a value is the empty value") {
  CHECK(absl::StartsWith(DecodeForm("Action=CreateTags&Tag.1.Key=k&Tag.1.Value=v").status().message(),
                         "MissingParameter: "));
  CHECK(absl::StartsWith(DecodeForm("Action=CreateTags&ResourceId.1=eni-1").status().message(),
                         "MissingParameter: "));
  auto no_value = DecodeForm("Action=CreateTags&ResourceId.1=eni-1&Tag.1.Key=k");
  REQUIRE(no_value.ok());
  CHECK(*no_value == enipool::Ec2Call(enipool::CreateTagsRequest{.eni_ids = {"eni-1"},
                                                                 .tags = {{"k", ""}}}));
}

// docs/reference-behavior.md §7.1: the reference sets DeleteOnTermination
// after each attach and pushes changed security groups to its ENIs with
// ModifyNetworkInterfaceAttribute; botocore's EC2 model names the members
// Attachment (attachmentId, deleteOnTermination) and Groups
// (SecurityGroupId), capitalised and flattened by the EC2 protocol.
TEST_CASE("ModifyNetworkInterfaceAttribute travels as Attachment.AttachmentId and "
          "Attachment.DeleteOnTermination, or SecurityGroupId.N, and answers return true") {
  const enipool::ModifyNetworkInterfaceAttributeRequest flag{
      .eni_id = "eni-1",
      .attachment = {{.attachment_id = "eni-attach-7", .delete_on_termination = true}}};
  const auto query = aws::ToQueryRequest(flag);
  CHECK(query.action == "ModifyNetworkInterfaceAttribute");
  CHECK(aws::FormEncode(query.params) ==
        "Action=ModifyNetworkInterfaceAttribute&Version=2016-11-15&NetworkInterfaceId=eni-1&"
        "Attachment.AttachmentId=eni-attach-7&Attachment.DeleteOnTermination=true");
  const enipool::ModifyNetworkInterfaceAttributeRequest groups{
      .eni_id = "eni-1", .security_group_ids = {{"sg-a", "sg-b"}}};
  CHECK(aws::FormEncode(aws::ToQueryRequest(groups).params) ==
        "Action=ModifyNetworkInterfaceAttribute&Version=2016-11-15&NetworkInterfaceId=eni-1&"
        "SecurityGroupId.1=sg-a&SecurityGroupId.2=sg-b");
  CheckReturnTrueAnswer(flag, "ModifyNetworkInterfaceAttribute");
  auto refused = aws::ParseQueryResponse(
      flag, 400,
      "<Response><Errors><Error><Code>InvalidAttachmentID.NotFound</Code><Message>The "
      "attachment ID 'eni-attach-7' does not exist</Message></Error></Errors></Response>");
  CHECK(absl::StartsWith(refused.status().message(), "InvalidAttachmentID.NotFound: "));
}

TEST_CASE("The endpoint refuses a ModifyNetworkInterfaceAttribute with half an attachment, a "
          "flag that is not a boolean or an attribute it does not model") {
  const std::string base = "Action=ModifyNetworkInterfaceAttribute&NetworkInterfaceId=eni-1&";
  CHECK(absl::StartsWith(DecodeForm(base + "Attachment.DeleteOnTermination=true").status().message(),
                         "MissingParameter: "));
  CHECK(absl::StartsWith(DecodeForm(base + "Attachment.AttachmentId=eni-attach-1").status().message(),
                         "MissingParameter: "));
  CHECK(absl::StartsWith(
      DecodeForm(base + "Attachment.AttachmentId=eni-attach-1&Attachment.DeleteOnTermination=yes")
          .status()
          .message(),
      "InvalidParameterValue: "));
  CHECK(absl::StartsWith(DecodeForm(base + "Description.Value=x").status().message(),
                         "InvalidParameterValue: "));
  CHECK(absl::StartsWith(
      DecodeForm("Action=ModifyNetworkInterfaceAttribute&SecurityGroupId.1=sg-1").status().message(),
      "MissingParameter: "));
  auto off = DecodeForm(base + "Attachment.AttachmentId=eni-attach-1&Attachment.DeleteOnTermination=false");
  REQUIRE(off.ok());
  CHECK(*off == enipool::Ec2Call(enipool::ModifyNetworkInterfaceAttributeRequest{
                    .eni_id = "eni-1",
                    .attachment = {{.attachment_id = "eni-attach-1",
                                    .delete_on_termination = false}}}));
}

TEST_CASE("CreateNetworkInterface names the primary address as PrivateIpAddress") {
  const auto query = aws::ToQueryRequest(enipool::CreateNetworkInterfaceRequest{
      .subnet_id = "subnet-1",
      .secondary_ip_count = 2,
      .description = "aws-K8S-i-1",
      .private_ip_address = *Ipv4Address::Parse("10.0.3.17")});
  CHECK(aws::FormEncode(query.params) ==
        "Action=CreateNetworkInterface&Version=2016-11-15&SubnetId=subnet-1&Description=aws-K8S-"
        "i-1&PrivateIpAddress=10.0.3.17&SecondaryPrivateIpAddressCount=2");
  auto params = aws::ParseForm(aws::FormEncode(query.params));
  REQUIRE(params.ok());
  auto decoded = aws::DecodeQueryRequest(*params);
  REQUIRE(decoded.ok());
  const auto& create = std::get<enipool::CreateNetworkInterfaceRequest>(*decoded);
  CHECK(create.private_ip_address == Ipv4Address::Parse("10.0.3.17").value());
  // A malformed address is refused naming the parameter.
  auto bad = aws::ParseForm(
      "Action=CreateNetworkInterface&Version=2016-11-15&SubnetId=subnet-1&PrivateIpAddress=10.0.3");
  REQUIRE(bad.ok());
  const auto refused = aws::DecodeQueryRequest(*bad);
  REQUIRE_FALSE(refused.ok());
  CHECK(enipool::ClassifyEc2Error(refused.status()) == Ec2ErrorCode::kInvalidParameterValue);
  CHECK(absl::StrContains(refused.status().message(), "PrivateIpAddress"));
}

TEST_CASE("A create's own security groups and tags come first and the client's only add what they lack") {
  const auto query = aws::ToQueryRequest(
      enipool::CreateNetworkInterfaceRequest{
          .subnet_id = "subnet-1",
          .secondary_ip_count = 2,
          .security_group_ids = {"sg-2"},
          .tags = {{"node.k8s.amazonaws.com/instance_id", "i-1"}, {"team", "a"}}},
      {.security_group_ids = {"sg-1", "sg-2"},
       .tags = {{"team", "b"}, {"cost-center", "7"}}});
  CHECK(aws::FormEncode(query.params) ==
        "Action=CreateNetworkInterface&Version=2016-11-15&SubnetId=subnet-1&"
        "SecondaryPrivateIpAddressCount=2&SecurityGroupId.1=sg-2&SecurityGroupId.2=sg-1&"
        "TagSpecification.1.ResourceType=network-interface&TagSpecification.1.Tag.1.Key=node.k8s."
        "amazonaws.com%2Finstance_id&TagSpecification.1.Tag.1.Value=i-1&"
        "TagSpecification.1.Tag.2.Key=team&TagSpecification.1.Tag.2.Value=a&"
        "TagSpecification.1.Tag.3.Key=cost-center&TagSpecification.1.Tag.3.Value=7");
}

TEST_CASE("A described ENI's tags, security groups and interface type are read from EC2's XML") {
  const std::string xml =
      "<DescribeNetworkInterfacesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
      "<requestId>r</requestId><networkInterfaceSet><item>"
      "<networkInterfaceId>eni-1</networkInterfaceId><subnetId>subnet-1</subnetId>"
      "<interfaceType>efa-only</interfaceType><privateIpAddress>10.0.0.5</privateIpAddress>"
      "<groupSet><item><groupId>sg-1</groupId><groupName>default</groupName></item></groupSet>"
      "<tagSet><item><key>node.k8s.amazonaws.com/no_manage</key><value>true</value></item>"
      "<item><key>node.k8s.amazonaws.com/createdAt</key><value>2023-11-14T22:13:20Z</value></item>"
      "</tagSet></item></networkInterfaceSet></DescribeNetworkInterfacesResponse>";
  auto page = aws::ParseDescribeNetworkInterfaces(xml);
  REQUIRE(page.ok());
  REQUIRE(page->interfaces.size() == 1);
  const enipool::NetworkInterface& eni = page->interfaces.front();
  CHECK(eni.interface_type == "efa-only");
  CHECK(eni.security_group_ids == std::vector<std::string>{"sg-1"});
  CHECK(eni.tags == std::vector<enipool::Ec2Tag>{
                        {"node.k8s.amazonaws.com/no_manage", "true"},
                        {"node.k8s.amazonaws.com/createdAt", "2023-11-14T22:13:20Z"}});
  CHECK(eni.created == absl::FromUnixSeconds(1'700'000'000));
}

TEST_CASE("DescribeSubnets travels with SubnetId.N and the vpc-id and availability-zone filters, and other filters are refused") {
  const auto query = aws::ToQueryRequest(enipool::DescribeSubnetsRequest{
      .subnet_ids = {}, .vpc_id = "vpc-1", .availability_zone = "us-east-1a"});
  CHECK(aws::FormEncode(query.params) ==
        "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&"
        "Filter.2.Name=availability-zone&Filter.2.Value.1=us-east-1a");
  auto bad = aws::ParseForm(
      "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=tag-key&Filter.1.Value.1=x");
  REQUIRE(bad.ok());
  const auto refused = aws::DecodeQueryRequest(*bad);
  REQUIRE_FALSE(refused.ok());
  CHECK(enipool::ClassifyEc2Error(refused.status()) == Ec2ErrorCode::kInvalidParameterValue);
  CHECK(absl::StrContains(refused.status().message(), "tag-key"));
}

TEST_CASE("A create tagging another resource type is refused in EC2's words") {
  auto params = aws::ParseForm(
      "Action=CreateNetworkInterface&Version=2016-11-15&SubnetId=subnet-1&"
      "TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=a&"
      "TagSpecification.1.Tag.1.Value=b");
  REQUIRE(params.ok());
  const auto refused = aws::DecodeQueryRequest(*params);
  REQUIRE_FALSE(refused.ok());
  CHECK(enipool::ClassifyEc2Error(refused.status()) == Ec2ErrorCode::kInvalidParameterValue);
  CHECK(absl::StrContains(refused.status().message(), "TagSpecification.1.ResourceType"));
}

TEST_CASE("A DescribeSubnets answer with a bad CIDR or count is a malformed answer, never a value") {
  const std::string head =
      "<DescribeSubnetsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
      "<requestId>r</requestId><subnetSet><item><subnetId>subnet-1</subnetId>";
  const std::string tail = "</item></subnetSet></DescribeSubnetsResponse>";
  for (const std::string& body :
       {head + "<cidrBlock>10.0.0.0/33</cidrBlock><availableIpAddressCount>5</availableIpAddressCount>" + tail,
        head + "<cidrBlock>10.0.0.0/24</cidrBlock><availableIpAddressCount>-1</availableIpAddressCount>" + tail,
        head + "<cidrBlock>10.0.0.0/24</cidrBlock><availableIpAddressCount>many</availableIpAddressCount>" + tail,
        std::string("<DescribeSubnetsResponse><subnetSet><item><cidrBlock>10.0.0.0/24</cidrBlock>"
                    "</item></subnetSet></DescribeSubnetsResponse>")}) {
    CAPTURE(body);
    const auto parsed = aws::ParseDescribeSubnets(body);
    REQUIRE_FALSE(parsed.ok());
    CHECK(absl::StartsWith(parsed.status().message(), "MalformedResponse: DescribeSubnets: "));
  }
}

TEST_CASE("EC2 error answers become statuses led by EC2's code and message") {
  struct Case {
    absl::Status sent;
    Ec2ErrorCode code;
  };
  const std::vector<Case> cases = {
      {enipool::Ec2Error(Ec2ErrorCode::kInsufficientCidrBlocks, "subnet-1 has no free /28"),
       Ec2ErrorCode::kInsufficientCidrBlocks},
      {enipool::Ec2Error(Ec2ErrorCode::kPrivateIpAddressLimitExceeded, "eni-1 is full"),
       Ec2ErrorCode::kPrivateIpAddressLimitExceeded},
      {enipool::Ec2Error(Ec2ErrorCode::kRequestLimitExceeded, "Request limit exceeded."),
       Ec2ErrorCode::kRequestLimitExceeded},
      {enipool::Ec2Error(Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound, "eni-9 <missing>"),
       Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound},
      {enipool::Ec2Error(Ec2ErrorCode::kUnauthorizedOperation, "not allowed"),
       Ec2ErrorCode::kUnauthorizedOperation},
  };
  for (const Case& c : cases) {
    CAPTURE(c.sent);
    const aws::HttpAnswer answer = aws::EncodeErrorResponse(c.sent, "req-1");
    const absl::Status received = aws::ParseErrorResponse(answer.status, answer.body);
    CHECK(received == c.sent);
    CHECK(enipool::ClassifyEc2Error(received) == c.code);
  }
  CHECK(aws::EncodeErrorResponse(cases[2].sent, "r").status == 503);
  CHECK(aws::EncodeErrorResponse(cases[0].sent, "r").status == 400);
}

TEST_CASE("An unknown EC2 code keeps its name and takes its canonical code from the HTTP status") {
  const std::string xml =
      "<Response><Errors><Error><Code>ExpiredToken</Code><Message>The security token included in "
      "the request is expired</Message></Error></Errors><RequestID>1</RequestID></Response>";
  const absl::Status expired = aws::ParseErrorResponse(400, xml);
  CHECK(expired.code() == absl::StatusCode::kUnauthenticated);
  CHECK(expired.message() == "ExpiredToken: The security token included in the request is expired");
  CHECK(enipool::ClassifyEc2Error(expired) == Ec2ErrorCode::kOther);
}

TEST_CASE("Answers that are not EC2's XML give a clear error and never a value") {
  const Ec2Call describe = enipool::DescribeNetworkInterfacesRequest{};
  const Ec2Call assign = enipool::AssignIpv4PrefixesRequest{"eni-1", 1};
  const std::string good = aws::EncodeQueryResponse(
      assign, std::vector<Ipv4Prefix>{*Ipv4Prefix::Parse("10.0.0.16/28")}, "r");
  SUBCASE("truncated XML") {
    for (std::size_t cut = 0; cut + 1 < good.size(); cut += 7) {
      CAPTURE(cut);
      auto parsed = aws::ParseQueryResponse(assign, 200, good.substr(0, cut));
      REQUIRE_FALSE(parsed.ok());
      CHECK(parsed.status().code() == absl::StatusCode::kInternal);
      CHECK(absl::StartsWith(parsed.status().message(), "MalformedResponse: "));
    }
  }
  SUBCASE("the wrong root element") {
    auto parsed = aws::ParseQueryResponse(describe, 200, good);
    REQUIRE_FALSE(parsed.ok());
    CHECK(absl::StrContains(parsed.status().message(), "AssignPrivateIpAddressesResponse"));
  }
  SUBCASE("a bad prefix inside good XML") {
    std::string bad = good;
    bad.replace(bad.find("10.0.0.16/28"), 12, "10.0.0.17/28");
    auto parsed = aws::ParseQueryResponse(assign, 200, bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(absl::StartsWith(parsed.status().message(), "MalformedResponse: "));
  }
  SUBCASE("HTTP errors without EC2 XML") {
    struct Case {
      int http;
      absl::StatusCode code;
      absl::string_view name;
    };
    for (const Case& c : {Case{400, absl::StatusCode::kInvalidArgument, "BadRequest"},
                          Case{403, absl::StatusCode::kPermissionDenied, "AccessDenied"},
                          Case{500, absl::StatusCode::kInternal, "InternalError"},
                          Case{503, absl::StatusCode::kUnavailable, "ServiceUnavailable"}}) {
      CAPTURE(c.http);
      auto parsed = aws::ParseQueryResponse(assign, c.http, "<html>Service Unavailable</html>");
      REQUIRE_FALSE(parsed.ok());
      CHECK(parsed.status().code() == c.code);
      CHECK(absl::StartsWith(parsed.status().message(), absl::StrCat(c.name, ": HTTP ")));
    }
  }
}

TEST_CASE("DecodeQueryRequest rejects what EC2 rejects, in EC2's words") {
  auto decode = [](absl::string_view body) {
    auto params = aws::ParseForm(body);
    REQUIRE(params.ok());
    return aws::DecodeQueryRequest(*params).status();
  };
  CHECK(absl::StartsWith(decode("Action=RunInstances").message(), "InvalidAction: "));
  CHECK(absl::StartsWith(decode("Action=DeleteNetworkInterface").message(), "MissingParameter: "));
  CHECK(absl::StartsWith(
      decode("Action=AssignPrivateIpAddresses&NetworkInterfaceId=eni-1").message(),
      "InvalidParameterCombination: "));
  CHECK(enipool::ClassifyEc2Error(decode("Action=UnassignPrivateIpAddresses&NetworkInterfaceId=e&"
                                         "PrivateIpAddress.1=10.0.0.300")) ==
        Ec2ErrorCode::kInvalidParameterValue);
  CHECK_FALSE(aws::ParseForm("Action=%zz").ok());
  CHECK_FALSE(aws::ParseForm("Action=%4").ok());
}

}  // namespace
