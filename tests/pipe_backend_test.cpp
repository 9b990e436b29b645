// ec2::PipeBackend and ec2::ServeCalls: the encoding round-trips every call
// and every kind of answer, and a Backend over a pipe answers as the backend
// behind it does.

#include "enipool/ec2/pipe_backend.h"

#include <signal.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/ec2/backend.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/ipv4.h"

namespace {

using enipool::Ec2Call;
using enipool::Ec2Result;
using enipool::Ipv4Address;
using enipool::Ipv4Prefix;
using enipool::NetworkInterface;

Ipv4Prefix P(const char* text) { return *Ipv4Prefix::Parse(text); }

TEST_CASE("PipeBackend's encoding round-trips every EC2 call") {
  const std::vector<Ec2Call> calls = {
      enipool::CreateNetworkInterfaceRequest{.subnet_id = "subnet-1", .secondary_ip_count = 3,
                                             .ipv4_prefix_count = 0, .description = "aws-K8S-i-1"},
      enipool::CreateNetworkInterfaceRequest{.subnet_id = "subnet-1", .ipv4_prefix_count = 2,
                                             .private_ip_address = Ipv4Address(10, 0, 0, 7)},
      enipool::AttachNetworkInterfaceRequest{.eni_id = "eni-1", .instance_id = "i-1",
                                             .device_index = 2},
      enipool::AttachNetworkInterfaceRequest{.eni_id = "eni-1", .instance_id = "i-1",
                                             .device_index = 0, .network_card_index = 3},
      enipool::DetachNetworkInterfaceRequest{.attachment_id = "eni-attach-1", .eni_id = "eni-1"},
      enipool::DeleteNetworkInterfaceRequest{.eni_id = "eni-1"},
      enipool::AssignPrivateIpAddressesRequest{.eni_id = "eni-1", .count = 5},
      enipool::AssignIpv4PrefixesRequest{.eni_id = "eni-1", .count = 2},
      enipool::UnassignPrivateIpAddressesRequest{
          .eni_id = "eni-1", .addresses = {Ipv4Address(10, 0, 0, 5), Ipv4Address(10, 0, 0, 9)}},
      enipool::UnassignIpv4PrefixesRequest{.eni_id = "eni-1",
                                           .prefixes = {P("10.0.0.16/28"), P("10.0.1.0/28")}},
      enipool::DescribeNetworkInterfacesRequest{.eni_ids = {"eni-1", "eni-2"}, .instance_id = ""},
      enipool::DescribeNetworkInterfacesRequest{.eni_ids = {}, .instance_id = "i-1"},
      enipool::CreateNetworkInterfaceRequest{.subnet_id = "subnet-1",
                                             .secondary_ip_count = 1,
                                             .security_group_ids = {"sg-1", "sg-2"},
                                             .tags = {{"node.k8s.amazonaws.com/instance_id", "i-1"}}},
      enipool::CreateNetworkInterfaceRequest{.subnet_id = "subnet-2", .ipv6_prefix_count = 1,
                                             .description = "aws-K8S-i-1"},
      enipool::DescribeSubnetsRequest{.subnet_ids = {"subnet-1"}, .vpc_id = "vpc-1",
                                      .availability_zone = "us-east-1a"},
      enipool::AssignIpv6PrefixesRequest{.eni_id = "eni-1", .count = 1},
      enipool::UnassignIpv6PrefixesRequest{
          .eni_id = "eni-1", .prefixes = {*enipool::Ipv6Prefix::Parse("2600:1f14:abc:1:2::/80")}},
      enipool::CreateTagsRequest{.eni_ids = {"eni-1", "eni-2"},
                                 .tags = {{"node.k8s.amazonaws.com/instance_id", "i-1"},
                                          {"empty", ""}}},
      enipool::ModifyNetworkInterfaceAttributeRequest{
          .eni_id = "eni-1",
          .attachment = {{.attachment_id = "eni-attach-1", .delete_on_termination = true}}},
      enipool::ModifyNetworkInterfaceAttributeRequest{
          .eni_id = "eni-1", .security_group_ids = {{"sg-1", "sg-2"}}},
      // Both and neither cross the pipe as given: the backend refuses them.
      enipool::ModifyNetworkInterfaceAttributeRequest{
          .eni_id = "eni-1",
          .attachment = {{.attachment_id = "eni-attach-1", .delete_on_termination = false}},
          .security_group_ids = {{}}},
      enipool::ModifyNetworkInterfaceAttributeRequest{.eni_id = "eni-1"},
  };
  for (const Ec2Call& call : calls) {
    CAPTURE(enipool::Ec2CallName(call));
    const auto decoded = enipool::ec2::DecodeCall(enipool::ec2::EncodeCall(call));
    REQUIRE(decoded.has_value());
    CHECK(*decoded == call);
  }
  CHECK_FALSE(enipool::ec2::DecodeCall("").has_value());
  CHECK_FALSE(enipool::ec2::DecodeCall(std::string(1, '\x09')).has_value());
  const std::string truncated = enipool::ec2::EncodeCall(calls[7]);
  CHECK_FALSE(enipool::ec2::DecodeCall(truncated.substr(0, truncated.size() - 1)).has_value());
}

TEST_CASE("PipeBackend's encoding round-trips every kind of answer, errors included") {
  NetworkInterface nic{.id = "eni-1", .subnet_id = "subnet-1", .instance_id = "i-1",
                       .attachment_id = "eni-attach-1", .device_index = 1,
                       .network_card_index = 2, .interface_type = "interface", .primary_ip = Ipv4Address(10, 0, 0, 4),
                       .secondary_ips = {Ipv4Address(10, 0, 0, 5)},
                       .prefixes = {P("10.0.0.16/28")},
                       .created = absl::FromUnixSeconds(1'700'000'000)};
  const std::vector<Ec2Result> results = {
      {absl::OkStatus(), std::monostate{}},
      {absl::OkStatus(), nic},
      {absl::OkStatus(), std::string("eni-attach-9")},
      {absl::OkStatus(), std::vector<Ipv4Address>{Ipv4Address(10, 0, 0, 7)}},
      {absl::OkStatus(), std::vector<Ipv4Prefix>{P("10.0.0.32/28")}},
      {absl::OkStatus(), std::vector<NetworkInterface>{nic, nic}},
      {absl::OkStatus(), [&] {
         NetworkInterface tagged = nic;
         tagged.tags = {{"node.k8s.amazonaws.com/no_manage", "true"}};
         tagged.security_group_ids = {"sg-1"};
         tagged.interface_type = "efa-only";
         tagged.delete_on_termination = true;
         return tagged;
       }()},
      {absl::OkStatus(),
       std::vector<enipool::SubnetInfo>{{.id = "subnet-1",
                                         .cidr = P("10.0.0.0/24"),
                                         .availability_zone = "us-east-1a",
                                         .vpc_id = "vpc-1",
                                         .available_addresses = 250,
                                         .tags = {{"kubernetes.io/role/cni", "1"}}}}},
      {absl::OkStatus(),
       std::vector<enipool::SubnetInfo>{
           {.id = "subnet-6",
            .cidr = P("10.0.0.0/24"),
            .ipv6_cidr = *enipool::Ipv6Prefix::Parse("2600:1f14:abc:1::/64")}}},
      {absl::OkStatus(),
       std::vector<enipool::Ipv6Prefix>{*enipool::Ipv6Prefix::Parse("2600:1f14:abc:1:2::/80")}},
      {absl::OkStatus(), [&] {
         NetworkInterface ipv6 = nic;
         ipv6.ipv6_prefixes = {*enipool::Ipv6Prefix::Parse("2600:1f14:abc:1:2::/80")};
         return ipv6;
       }()},
      {enipool::Ec2Error(enipool::Ec2ErrorCode::kInsufficientCidrBlocks, "subnet-1 is full"),
       std::monostate{}},
  };
  for (const Ec2Result& result : results) {
    const auto decoded = enipool::ec2::DecodeResult(enipool::ec2::EncodeResult(result));
    REQUIRE(decoded.has_value());
    CHECK(decoded->status == result.status);
    CHECK(decoded->response == result.response);
  }
}

TEST_CASE("PipeBackend answers as the backend served behind the pipe, and UNAVAILABLE once it "
          "is gone") {
  signal(SIGPIPE, SIG_IGN);
  enipool::ManualClock clock;
  enipool::ec2::SimulatedEc2<enipool::ManualClock> sim(
      clock, {.latency = enipool::ec2::LatencyModel::Zero(),
              .throttle = enipool::ec2::ThrottleConfig::Disabled()});
  REQUIRE(sim.AddSubnet("subnet-1", P("10.0.0.0/24")).ok());
  const auto primary = sim.AddInstance({.instance_id = "i-1", .subnet_id = "subnet-1"});
  REQUIRE(primary.ok());

  int calls[2], answers[2];
  REQUIRE(pipe(calls) == 0);
  REQUIRE(pipe(answers) == 0);
  std::int64_t served = 0;
  std::thread server([&] { served = enipool::ec2::ServeCalls(sim, calls[0], answers[1]); });
  {
    enipool::ec2::PipeBackend ec2(answers[0], calls[1]);
    static_assert(enipool::Backend<enipool::ec2::PipeBackend>);
    const auto prefixes = ec2.AssignIpv4Prefixes({.eni_id = primary->id, .count = 2});
    REQUIRE_MESSAGE(prefixes.ok(), prefixes.status());
    CHECK(prefixes->size() == 2);
    const auto described = ec2.DescribeNetworkInterfaces({.eni_ids = {primary->id}});
    REQUIRE(described.ok());
    CHECK(described->at(0).prefixes == *prefixes);
    const auto missing = ec2.DeleteNetworkInterface({.eni_id = "eni-nope"});
    CHECK(enipool::ClassifyEc2Error(missing) ==
          enipool::Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);
    // CreateTags crosses the pipe both ways: tags set, and an unknown ENI
    // refused with EC2's code.
    REQUIRE(ec2.CreateTags({.eni_ids = {primary->id}, .tags = {{"team", "blue"}}}).ok());
    CHECK(sim.FindEni(primary->id)->tags == std::vector<enipool::Ec2Tag>{{"team", "blue"}});
    CHECK(enipool::ClassifyEc2Error(
              ec2.CreateTags({.eni_ids = {"eni-nope"}, .tags = {{"team", "red"}}})) ==
          enipool::Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);
    // ModifyNetworkInterfaceAttribute crosses it too: the groups replaced,
    // and a refusal led by EC2's code.
    REQUIRE(ec2.ModifyNetworkInterfaceAttribute(
                   {.eni_id = primary->id, .security_group_ids = {{"sg-1", "sg-2"}}})
                .ok());
    CHECK(sim.FindEni(primary->id)->security_group_ids ==
          std::vector<std::string>{"sg-1", "sg-2"});
    CHECK(absl::StartsWith(ec2.ModifyNetworkInterfaceAttribute({.eni_id = primary->id}).message(),
                           "InvalidParameterCombination: "));
  }
  close(calls[1]);  // the client goes away: the server returns
  server.join();
  CHECK(served == 7);
  close(answers[0]);
  close(calls[0]);
  close(answers[1]);

  // A server that is gone: the call cannot be written (EPIPE).
  int dead[2];
  REQUIRE(pipe(dead) == 0);
  close(dead[0]);
  enipool::ec2::PipeBackend orphan(dead[0], dead[1]);
  CHECK(orphan.DeleteNetworkInterface({.eni_id = "eni-1"}).code() ==
        absl::StatusCode::kUnavailable);
  close(dead[1]);
}

}  // namespace
