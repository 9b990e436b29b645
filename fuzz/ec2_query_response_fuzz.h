// Fuzz target: the EC2 Query response parser (ec2/aws/ec2_query.h) on
// arbitrary bytes. The first byte picks the call the answer is for (low
// nibble) and the HTTP status (high nibble: 200, 400, 403, 500, 503, ...);
// the rest is the body.
// Properties: no crash, hang or UB; an error is never OK and always leads
// with a code ("Code: ..."); a successful answer has the alternative the
// call answers with, and encoding it as EC2 would (ec2_query_server.h) and
// parsing that again gives the same value.

#ifndef ENIPOOL_FUZZ_EC2_QUERY_RESPONSE_FUZZ_H_
#define ENIPOOL_FUZZ_EC2_QUERY_RESPONSE_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "enipool/ec2/aws/ec2_query.h"
#include "enipool/ec2/aws/ec2_query_server.h"
#include "enipool/ec2/backend.h"
#include "fuzz_check.h"

namespace enipool::fuzz {

inline int FuzzEc2QueryResponse(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const Ec2Call kCalls[] = {
      CreateNetworkInterfaceRequest{.subnet_id = "subnet-1", .ipv4_prefix_count = 1},
      AttachNetworkInterfaceRequest{"eni-1", "i-1", 1, 0},
      DetachNetworkInterfaceRequest{.attachment_id = "eni-attach-1"},
      DeleteNetworkInterfaceRequest{"eni-1"},
      AssignPrivateIpAddressesRequest{"eni-1", 2},
      AssignIpv4PrefixesRequest{"eni-1", 2},
      UnassignPrivateIpAddressesRequest{"eni-1", {Ipv4Address(10, 0, 0, 5)}},
      UnassignIpv4PrefixesRequest{"eni-1", {}},
      DescribeNetworkInterfacesRequest{},
      DescribeSubnetsRequest{},
      AssignIpv6PrefixesRequest{"eni-1", 1},
      UnassignIpv6PrefixesRequest{"eni-1", {}},
      CreateTagsRequest{{"eni-1"}, {{"node.k8s.amazonaws.com/instance_id", "i-1"}}},
      ModifyNetworkInterfaceAttributeRequest{.eni_id = "eni-1",
                                             .security_group_ids = {{"sg-1", "sg-2"}}},
  };
  static const int kStatuses[] = {200, 200, 200, 200, 400, 401, 403, 404,
                                  429, 500, 502, 503, 504, 204, 302, 299};
  const Ec2Call& call = kCalls[(data[0] & 0x0F) % std::size(kCalls)];
  const int http_status = kStatuses[data[0] >> 4];
  const absl::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  absl::StatusOr<Ec2Response> parsed = ec2::aws::ParseQueryResponse(call, http_status, body);
  if (!parsed.ok()) {
    ENIPOOL_FUZZ_CHECK(parsed.status().message().find(": ") != absl::string_view::npos,
                       "error without a leading code: ", parsed.status().ToString());
    return 0;
  }
  ENIPOOL_FUZZ_CHECK(http_status >= 200 && http_status <= 299, "a value from HTTP ", http_status);
  const std::size_t want = std::visit(
      [](const auto& request) -> std::size_t {
        using R = std::decay_t<decltype(request)>;
        if constexpr (std::is_same_v<R, CreateNetworkInterfaceRequest>) return 1;
        if constexpr (std::is_same_v<R, AttachNetworkInterfaceRequest>) return 2;
        if constexpr (std::is_same_v<R, AssignPrivateIpAddressesRequest>) return 3;
        if constexpr (std::is_same_v<R, AssignIpv4PrefixesRequest>) return 4;
        if constexpr (std::is_same_v<R, DescribeNetworkInterfacesRequest>) return 5;
        if constexpr (std::is_same_v<R, DescribeSubnetsRequest>) return 6;
        if constexpr (std::is_same_v<R, AssignIpv6PrefixesRequest>) return 7;
        return 0;
      },
      call);
  ENIPOOL_FUZZ_CHECK(parsed->index() == want, "answer alternative ", parsed->index(), " for ",
                     Ec2CallName(call), ", want ", want);
  const std::string again_xml = ec2::aws::EncodeQueryResponse(call, *parsed, "fuzz");
  absl::StatusOr<Ec2Response> again = ec2::aws::ParseQueryResponse(call, 200, again_xml);
  ENIPOOL_FUZZ_CHECK(again.ok(), "re-encoded answer does not parse: ", again.status().ToString());
  ENIPOOL_FUZZ_CHECK(*again == *parsed, "re-encoded answer parses differently for ",
                     Ec2CallName(call));
  return 0;
}

}  // namespace enipool::fuzz

#endif  // ENIPOOL_FUZZ_EC2_QUERY_RESPONSE_FUZZ_H_
