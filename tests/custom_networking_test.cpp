// Tests for custom networking (docs/reference-behavior.md §4.13): which
// ENIConfig a node uses (eni_config.h), what NodeConfigFromEnvironment makes
// of it, and a custom-networking node converging on a simulated EC2.

#include "enipool/eni_config.h"

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "enipool/controller.h"
#include "enipool/node_config.h"
#include "testing/controller_harness.h"

namespace {

using enipool::AddressMode;
using enipool::EniConfig;
using enipool::NodeEniConfigName;
using enipool::testing::SimNode;
using enipool::testing::SimNodeSpec;

using Env = std::map<std::string, std::string>;

auto Lookup(const Env& env) {
  return [&env](absl::string_view name) -> std::optional<std::string> {
    const auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

TEST_CASE("The node's ENIConfig is named by the external label, then the annotation, then the label, then default") {
  const Env none;
  CHECK(NodeEniConfigName({}, {}, Lookup(none)) == "default");
  CHECK(NodeEniConfigName({{"k8s.amazonaws.com/eniConfig", "by-label"}}, {}, Lookup(none)) ==
        "by-label");
  CHECK(NodeEniConfigName({{"k8s.amazonaws.com/eniConfig", "by-label"}},
                          {{"k8s.amazonaws.com/eniConfig", "by-annotation"}},
                          Lookup(none)) == "by-annotation");
  CHECK(NodeEniConfigName({{"k8s.amazonaws.com/eniConfig", "by-label"},
                           {"vpc.amazonaws.com/externalEniConfig", "external"}},
                          {{"k8s.amazonaws.com/eniConfig", "by-annotation"}},
                          Lookup(none)) == "external");
}

TEST_CASE("ENI_CONFIG_LABEL_DEF set to the zone label picks the ENIConfig named after the node's availability zone") {
  const Env by_zone = {{"ENI_CONFIG_LABEL_DEF", "topology.kubernetes.io/zone"}};
  CHECK(NodeEniConfigName({{"topology.kubernetes.io/zone", "us-east-1a"}}, {}, Lookup(by_zone)) ==
        "us-east-1a");
  // An empty variable is the default key.
  const Env empty = {{"ENI_CONFIG_LABEL_DEF", ""}, {"ENI_CONFIG_ANNOTATION_DEF", ""}};
  CHECK(NodeEniConfigName({{"k8s.amazonaws.com/eniConfig", "x"}}, {}, Lookup(empty)) == "x");
  const Env annotation = {{"ENI_CONFIG_ANNOTATION_DEF", "example.com/eni"}};
  CHECK(NodeEniConfigName({}, {{"example.com/eni", "y"}}, Lookup(annotation)) == "y");
}

TEST_CASE("A missing ENIConfig or one without a subnet is refused, naming it") {
  const std::vector<EniConfig> configs = {{"us-east-1a", "subnet-a", {"sg-1"}},
                                          {"broken", "", {}}};
  auto found = enipool::FindEniConfig("us-east-1a", configs);
  REQUIRE(found.ok());
  CHECK(found->subnet_id == "subnet-a");
  auto missing = enipool::FindEniConfig("us-east-1b", configs);
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(missing.status().message(), "\"us-east-1b\""));
  auto broken = enipool::FindEniConfig("broken", configs);
  CHECK(broken.status().code() == absl::StatusCode::kInvalidArgument);
}

enipool::NodeFacts CustomNode() {
  enipool::NodeFacts node;
  node.instance_type = "m5.xlarge";
  node.instance_id = "i-0abc";
  node.subnet_id = "subnet-node";
  node.vcpus = 4;
  node.security_group_ids = {"sg-node"};
  node.eni_configs = {{"us-east-1a", "subnet-pods-a", {"sg-pods"}},
                      {"us-east-1b", "subnet-pods-b", {}}};
  return node;
}

TEST_CASE("NodeConfigFromEnvironment takes the ENIConfig's subnet and security groups, the primary's when it names none") {
  const Env env = {{"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "true"},
                   {"ENI_CONFIG_LABEL_DEF", "topology.kubernetes.io/zone"}};
  enipool::NodeFacts node = CustomNode();
  node.node_labels = {{"topology.kubernetes.io/zone", "us-east-1a"}};
  auto config = enipool::NodeConfigFromEnvironment(node, Lookup(env));
  REQUIRE_MESSAGE(config.ok(), config.status());
  CHECK(config->eni_config_name == "us-east-1a");
  CHECK(config->controller.subnet_id == "subnet-pods-a");
  CHECK(config->controller.security_group_ids == std::vector<std::string>{"sg-pods"});
  CHECK(config->controller.pool.custom_networking);

  node.node_labels = {{"topology.kubernetes.io/zone", "us-east-1b"}};
  config = enipool::NodeConfigFromEnvironment(node, Lookup(env));
  REQUIRE_MESSAGE(config.ok(), config.status());
  CHECK(config->controller.subnet_id == "subnet-pods-b");
  CHECK(config->controller.security_group_ids == std::vector<std::string>{"sg-node"});

  node.node_labels = {{"topology.kubernetes.io/zone", "us-east-1c"}};
  config = enipool::NodeConfigFromEnvironment(node, Lookup(env));
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_MESSAGE(absl::StrContains(config.status().message(), "ENIConfig \"us-east-1c\""),
                config.status());
}

constexpr AddressMode kModes[] = {AddressMode::kSecondaryIp, AddressMode::kPrefix};

TEST_CASE("A custom-networking node puts pod ENIs in the ENIConfig subnet with its security groups, never gives the primary addresses, and holds (ENIs - 1) x slots, in both modes") {
  for (AddressMode mode : kModes) {
    CAPTURE(enipool::AddressModeName(mode));
    SimNodeSpec spec{.mode = mode, .max_enis = 3, .ipv4_per_eni = 4, .max_pods = 1000};
    spec.configure = [](enipool::ControllerConfig& config) {
      config.pool.custom_networking = true;
      config.subnet_id = "subnet-pods";
      config.security_group_ids = {"sg-pods"};
      // Discovery never applies under custom networking.
      config.subnet_discovery = true;
    };
    SimNode node(spec);
    REQUIRE(node.ec2().AddSubnet("subnet-pods", *enipool::Ipv4Prefix::Parse("10.0.64.0/20")).ok());
    REQUIRE(node.Start().ok());
    const int unit = mode == AddressMode::kPrefix ? 16 : 1;
    const int capacity = (3 - 1) * 3 * unit;
    CHECK(node.AddPodsWaiting(0, capacity + 5, 6) == capacity);
    CHECK(node.datastore().FindEni(node.primary().id)->cidrs == 0);
    int pod_enis = 0;
    for (const enipool::ManagedEni& record : node.controller().enis()) {
      if (record.id == node.primary().id) continue;
      ++pod_enis;
      const enipool::NetworkInterface* eni = node.ec2().FindEni(record.id);
      REQUIRE(eni != nullptr);
      CHECK(eni->subnet_id == "subnet-pods");
      CHECK(eni->security_group_ids == std::vector<std::string>{"sg-pods"});
    }
    CHECK(pod_enis == 2);
    // One DescribeSubnets, the startup's exclusion check; none before creates.
    CHECK(node.controller().counters().calls_of(9) == 1);
    CHECK(node.ec2().FindEni(node.primary().id)->secondary_ips.empty());
    CHECK(node.ec2().FindEni(node.primary().id)->prefixes.empty());
    const absl::Status consistent =
        enipool::testing::CheckNodeAgainstEc2(node.controller(), node.ec2());
    CHECK_MESSAGE(consistent.ok(), consistent.ToString());
  }
}

}  // namespace
