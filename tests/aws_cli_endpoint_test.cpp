// The loopback EC2 endpoint (examples/ec2_endpoint.cpp) driven by AWS's own
// command-line client (Debian's awscli, /usr/bin/aws): what it sends is
// accepted, what the endpoint answers parses into the AWS CLI's model
// (--query reads fields out of it), and failures carry AWS's error codes.
// Traffic goes to 127.0.0.1 only.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "enipool/ipv4.h"
#include "testing/ec2_endpoint_process.h"
#include "testing/subprocess.h"

namespace {

using enipool::testing::CommandResult;
using enipool::testing::Ec2EndpointProcess;
using enipool::testing::RunCommand;

// Runs `aws ec2 <arguments>` against the endpoint; standard error is
// folded into the output (that is where the CLI reports an error code).
CommandResult AwsEc2(const Ec2EndpointProcess& endpoint, const std::string& arguments,
                     const std::string& secret = enipool::testing::kEndpointSecretKey) {
  return RunCommand(absl::StrCat(
      "env -i PATH=/usr/bin:/bin HOME=/tmp AWS_CONFIG_FILE=/dev/null "
      "AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true AWS_PAGER= "
      "AWS_ACCESS_KEY_ID=", enipool::testing::kEndpointAccessKey,
      " AWS_SECRET_ACCESS_KEY=", secret, " AWS_REGION=", enipool::testing::kEndpointRegion,
      " /usr/bin/aws --endpoint-url ", endpoint.url(), " --output text ec2 ", arguments, " 2>&1"));
}

std::string Trimmed(const CommandResult& result) {
  return std::string(absl::StripAsciiWhitespace(result.output));
}

// Eight CLI runs: each call the controller makes, once.
TEST_CASE("The AWS CLI creates, attaches, fills, drains, detaches and deletes an ENI on the endpoint") {
  Ec2EndpointProcess endpoint;
  REQUIRE(endpoint.Start({"--subnet=10.0.0.0/24", "--instance=i-1:c5.large"}));
  const std::string subnet = endpoint.subnets().front();

  const CommandResult created = AwsEc2(
      endpoint, absl::StrCat("create-network-interface --subnet-id ", subnet,
                             " --description aws-K8S-i-1 --query NetworkInterface.NetworkInterfaceId"));
  INFO(created.output);
  REQUIRE(created.exit_code == 0);
  const std::string eni = Trimmed(created);
  REQUIRE(absl::StartsWith(eni, "eni-"));

  const CommandResult attached = AwsEc2(
      endpoint, absl::StrCat("attach-network-interface --network-interface-id ", eni,
                             " --instance-id i-1 --device-index 1 --query AttachmentId"));
  INFO(attached.output);
  REQUIRE(attached.exit_code == 0);
  const std::string attachment = Trimmed(attached);
  REQUIRE(absl::StartsWith(attachment, "eni-attach-"));

  const CommandResult ips = AwsEc2(
      endpoint, absl::StrCat("assign-private-ip-addresses --network-interface-id ", eni,
                             " --secondary-private-ip-address-count 2",
                             " --query 'AssignedPrivateIpAddresses[].PrivateIpAddress'"));
  INFO(ips.output);
  REQUIRE(ips.exit_code == 0);
  const std::vector<std::string> addresses = absl::StrSplit(Trimmed(ips), '\t');
  REQUIRE(addresses.size() == 2);
  for (const std::string& address : addresses) {
    auto parsed = enipool::Ipv4Address::Parse(address);
    REQUIRE(parsed.ok());
    CHECK(enipool::Ipv4Prefix::Parse("10.0.0.0/24")->Contains(*parsed));
  }

  const CommandResult prefixes = AwsEc2(
      endpoint, absl::StrCat("assign-private-ip-addresses --network-interface-id ", eni,
                             " --ipv4-prefix-count 1 --query 'AssignedIpv4Prefixes[].Ipv4Prefix'"));
  INFO(prefixes.output);
  REQUIRE(prefixes.exit_code == 0);
  auto prefix = enipool::Ipv4Prefix::Parse(Trimmed(prefixes));
  REQUIRE(prefix.ok());
  CHECK(prefix->length() == 28);

  // What describe reports is what was assigned.
  const CommandResult described = AwsEc2(
      endpoint, absl::StrCat("describe-network-interfaces --filters Name=attachment.instance-id,",
                             "Values=i-1 --query ",
                             enipool::testing::ShellQuote(absl::StrCat(
                                 "NetworkInterfaces[?NetworkInterfaceId=='", eni,
                                 "'].[Attachment.DeviceIndex,length(PrivateIpAddresses),",
                                 "Ipv4Prefixes[0].Ipv4Prefix]"))));
  INFO(described.output);
  REQUIRE(described.exit_code == 0);
  CHECK(Trimmed(described) == absl::StrCat("1\t3\t", prefix->ToString()));

  CHECK(AwsEc2(endpoint, absl::StrCat("unassign-private-ip-addresses --network-interface-id ", eni,
                                      " --ipv4-prefixes ", prefix->ToString()))
            .exit_code == 0);
  CHECK(AwsEc2(endpoint, absl::StrCat("detach-network-interface --attachment-id ", attachment))
            .exit_code == 0);
  CHECK(AwsEc2(endpoint, absl::StrCat("delete-network-interface --network-interface-id ", eni))
            .exit_code == 0);
  CHECK(endpoint.Stop() == 0);
}

// docs/reference-behavior.md §4.13, §7.1: the reference tags a managed ENI
// lacking its tags with CreateTags; AWS's CLI sends it (ResourceId.N,
// Tag.N.Key/Value) and reads the tags back from a describe.
TEST_CASE("The AWS CLI tags an ENI on the endpoint, reads the tags back and hears NotFound for an "
          "unknown ENI") {
  Ec2EndpointProcess endpoint;
  REQUIRE(endpoint.Start({"--subnet=10.0.0.0/24", "--instance=i-1:c5.large"}));
  const std::string eni = endpoint.primary_eni("i-1");
  const CommandResult tagged = AwsEc2(
      endpoint, absl::StrCat("create-tags --resources ", eni,
                             " --tags Key=node.k8s.amazonaws.com/instance_id,Value=i-1",
                             " Key=cluster.k8s.amazonaws.com/name,Value=prod"));
  INFO(tagged.output);
  REQUIRE(tagged.exit_code == 0);
  const CommandResult described = AwsEc2(
      endpoint,
      absl::StrCat("describe-network-interfaces --network-interface-ids ", eni, " --query ",
                   enipool::testing::ShellQuote(
                       "NetworkInterfaces[0].TagSet[?Key=='cluster.k8s.amazonaws.com/name'].Value")));
  INFO(described.output);
  REQUIRE(described.exit_code == 0);
  CHECK(Trimmed(described) == "prod");
  const CommandResult missing =
      AwsEc2(endpoint, "create-tags --resources eni-0000000000000dead --tags Key=k,Value=v");
  CHECK(missing.exit_code != 0);
  CHECK(absl::StrContains(missing.output, "InvalidNetworkInterfaceID.NotFound"));
  CHECK(endpoint.Stop() == 0);
}

// docs/reference-behavior.md §7.1: after an attach the reference sets the
// attachment's DeleteOnTermination, and it pushes the primary ENI's groups
// to its ENIs, both with ModifyNetworkInterfaceAttribute; AWS's CLI sends
// each (--attachment, --groups) and reads the result back from a describe.
TEST_CASE("The AWS CLI sets DeleteOnTermination and the groups of an ENI on the endpoint and hears "
          "InvalidParameterCombination for both at once") {
  Ec2EndpointProcess endpoint;
  REQUIRE(endpoint.Start({"--subnet=10.0.0.0/24", "--instance=i-1:c5.large"}));
  const std::string subnet = endpoint.subnets().front();
  const CommandResult created = AwsEc2(
      endpoint, absl::StrCat("create-network-interface --subnet-id ", subnet,
                             " --query NetworkInterface.NetworkInterfaceId"));
  REQUIRE(created.exit_code == 0);
  const std::string eni = Trimmed(created);
  const CommandResult attached = AwsEc2(
      endpoint, absl::StrCat("attach-network-interface --network-interface-id ", eni,
                             " --instance-id i-1 --device-index 1 --query AttachmentId"));
  REQUIRE(attached.exit_code == 0);
  const std::string attachment = Trimmed(attached);
  const CommandResult flagged = AwsEc2(
      endpoint, absl::StrCat("modify-network-interface-attribute --network-interface-id ", eni,
                             " --attachment AttachmentId=", attachment,
                             ",DeleteOnTermination=true"));
  INFO(flagged.output);
  REQUIRE(flagged.exit_code == 0);
  const CommandResult grouped = AwsEc2(
      endpoint, absl::StrCat("modify-network-interface-attribute --network-interface-id ", eni,
                             " --groups sg-0a sg-0b"));
  INFO(grouped.output);
  REQUIRE(grouped.exit_code == 0);
  const CommandResult described = AwsEc2(
      endpoint, absl::StrCat("describe-network-interfaces --network-interface-ids ", eni,
                             " --query ",
                             enipool::testing::ShellQuote(
                                 "NetworkInterfaces[0].[Attachment.DeleteOnTermination,"
                                 "join(',',Groups[].GroupId)]")));
  INFO(described.output);
  REQUIRE(described.exit_code == 0);
  CHECK(Trimmed(described) == "True\tsg-0a,sg-0b");
  const CommandResult both = AwsEc2(
      endpoint, absl::StrCat("modify-network-interface-attribute --network-interface-id ", eni,
                             " --groups sg-0c --attachment AttachmentId=", attachment,
                             ",DeleteOnTermination=false"));
  CHECK(both.exit_code != 0);
  CHECK(absl::StrContains(both.output, "InvalidParameterCombination"));
  CHECK(endpoint.Stop() == 0);
}

// docs/reference-behavior.md §4.12, §7.1: the IPv6 node's one call,
// AssignIpv6Addresses with Ipv6PrefixCount=1, as AWS's CLI sends it and
// reads the answer (AssignedIpv6Prefixes, then the ENI's Ipv6Prefixes).
TEST_CASE("The AWS CLI assigns, describes and unassigns an IPv6 /80 on the endpoint") {
  Ec2EndpointProcess endpoint;
  REQUIRE(endpoint.Start({"--subnet=10.0.0.0/24+2600:1f14:abc:1::/64",
                          "--subnet=subnet-v4only=10.1.0.0/24", "--instance=i-1:c5.large",
                          "--instance=i-2:c5.large:subnet-v4only"}));
  const CommandResult primary = AwsEc2(
      endpoint, "describe-network-interfaces --filters Name=attachment.instance-id,Values=i-1 "
                "--query 'NetworkInterfaces[0].NetworkInterfaceId'");
  REQUIRE(primary.exit_code == 0);
  const std::string eni = Trimmed(primary);
  const CommandResult assigned = AwsEc2(
      endpoint, absl::StrCat("assign-ipv6-addresses --network-interface-id ", eni,
                             " --ipv6-prefix-count 1 --query 'AssignedIpv6Prefixes'"));
  INFO(assigned.output);
  REQUIRE(assigned.exit_code == 0);
  CHECK(Trimmed(assigned) == "2600:1f14:abc:1::/80");
  const CommandResult described = AwsEc2(
      endpoint, absl::StrCat("describe-network-interfaces --network-interface-ids ", eni,
                             " --query 'NetworkInterfaces[0].Ipv6Prefixes[0].Ipv6Prefix'"));
  INFO(described.output);
  REQUIRE(described.exit_code == 0);
  CHECK(Trimmed(described) == "2600:1f14:abc:1::/80");
  const CommandResult subnets = AwsEc2(
      endpoint, absl::StrCat("describe-subnets --subnet-ids ", endpoint.subnets().front(),
                             " --query 'Subnets[0].Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock'"));
  REQUIRE(subnets.exit_code == 0);
  CHECK(Trimmed(subnets) == "2600:1f14:abc:1::/64");
  CHECK(AwsEc2(endpoint, absl::StrCat("unassign-ipv6-addresses --network-interface-id ", eni,
                                      " --ipv6-prefixes 2600:1f14:abc:1::/80"))
            .exit_code == 0);
  // An extra card's ENI in IPv6 mode is created with one /80
  // (Ipv6PrefixCount on CreateNetworkInterface): the /80 just given back.
  const CommandResult created = AwsEc2(
      endpoint, absl::StrCat("create-network-interface --subnet-id ", endpoint.subnets().front(),
                             " --ipv6-prefix-count 1",
                             " --query 'NetworkInterface.Ipv6Prefixes[0].Ipv6Prefix'"));
  INFO(created.output);
  REQUIRE(created.exit_code == 0);
  CHECK(Trimmed(created) == "2600:1f14:abc:1::/80");
  // An instance in a subnet without an IPv6 block hears EC2's code.
  const CommandResult other = AwsEc2(
      endpoint, "describe-network-interfaces --filters Name=attachment.instance-id,Values=i-2 "
                "--query 'NetworkInterfaces[0].NetworkInterfaceId'");
  REQUIRE(other.exit_code == 0);
  const CommandResult refused = AwsEc2(
      endpoint, absl::StrCat("assign-ipv6-addresses --network-interface-id ", Trimmed(other),
                             " --ipv6-prefix-count 1"));
  CHECK(refused.exit_code != 0);
  CHECK(absl::StrContains(refused.output, "InvalidParameterValue"));
  const CommandResult refused_create =
      AwsEc2(endpoint, "create-network-interface --subnet-id subnet-v4only --ipv6-prefix-count 1");
  CHECK(refused_create.exit_code != 0);
  CHECK(absl::StrContains(refused_create.output, "InvalidParameterValue"));
  CHECK(endpoint.Stop() == 0);
}

TEST_CASE("The AWS CLI names an ENI's primary address and hears InvalidIPAddress.InUse when it "
          "is taken") {
  Ec2EndpointProcess endpoint;
  REQUIRE(endpoint.Start({"--subnet=10.0.0.0/24", "--instance=i-1:c5.large"}));
  const std::string subnet = endpoint.subnets().front();
  const std::string create = absl::StrCat("create-network-interface --subnet-id ", subnet,
                                          " --private-ip-address 10.0.0.77"
                                          " --query NetworkInterface.PrivateIpAddress");
  const CommandResult named = AwsEc2(endpoint, create);
  INFO(named.output);
  REQUIRE(named.exit_code == 0);
  CHECK(Trimmed(named) == "10.0.0.77");
  const CommandResult again = AwsEc2(endpoint, create);
  INFO(again.output);
  CHECK(again.exit_code != 0);
  CHECK(absl::StrContains(again.output, "(InvalidIPAddress.InUse)"));
  CHECK(endpoint.Stop() == 0);
}

TEST_CASE("The endpoint's failures reach the AWS CLI with AWS's error codes") {
  Ec2EndpointProcess endpoint;
  // A /28 subnet whose only aligned /28 holds the primary IP (and AWS's
  // reserved addresses): no prefix can ever be delegated from it.
  REQUIRE(endpoint.Start({"--subnet=10.0.0.0/24", "--subnet=small=10.9.0.0/28",
                          "--instance=i-1:c5.large"}));
  const std::string primary = endpoint.primary_eni("i-1");
  REQUIRE(!primary.empty());

  const CommandResult fragmented = AwsEc2(
      endpoint, "create-network-interface --subnet-id small --ipv4-prefix-count 1");
  INFO(fragmented.output);
  CHECK(fragmented.exit_code != 0);
  CHECK(absl::StrContains(fragmented.output, "(InsufficientCidrBlocks)"));

  // c5.large: 10 IPv4 addresses per ENI, the primary's included.
  const CommandResult full = AwsEc2(
      endpoint, absl::StrCat("assign-private-ip-addresses --network-interface-id ", primary,
                             " --secondary-private-ip-address-count 10"));
  INFO(full.output);
  CHECK(full.exit_code != 0);
  CHECK(absl::StrContains(full.output, "(PrivateIpAddressLimitExceeded)"));

  const CommandResult wrong_key =
      AwsEc2(endpoint, "describe-network-interfaces", "not-the-secret");
  INFO(wrong_key.output);
  CHECK(wrong_key.exit_code != 0);
  CHECK(absl::StrContains(wrong_key.output, "(SignatureDoesNotMatch)"));
  CHECK(endpoint.Stop() == 0);
}

}  // namespace
