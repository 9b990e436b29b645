// NodeConfigFromEnvironment: instance type + the reference's environment
// variables → a validated ControllerConfig.

#include "enipool/node_config.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/instance_limits.h"
#include "enipool/max_pods.h"

namespace {

using enipool::AddressMode;
using enipool::NodeConfigFromEnvironment;
using enipool::NodeFacts;

using Env = std::map<std::string, std::string>;

absl::StatusOr<enipool::NodeConfig> Configure(const NodeFacts& node, const Env& env) {
  return NodeConfigFromEnvironment(node, [&](absl::string_view name) -> std::optional<std::string> {
    const auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
}

NodeFacts Node(std::string type, int vcpus = 0) {
  return NodeFacts{.instance_type = std::move(type),
                   .instance_id = "i-0abc",
                   .subnet_id = "subnet-1",
                   .vcpus = vcpus};
}

TEST_CASE("NodeConfigFromEnvironment gives m5.xlarge 110 max pods in prefix mode and 58 with "
          "secondary IPs") {
  const auto prefix = Configure(Node("m5.xlarge", 4),
                                {{"ENABLE_PREFIX_DELEGATION", "true"}, {"WARM_PREFIX_TARGET", "1"}});
  REQUIRE_MESSAGE(prefix.ok(), prefix.status());
  CHECK(prefix->controller.pool.mode == AddressMode::kPrefix);
  CHECK(prefix->controller.pool.max_pods == 110);
  CHECK(prefix->max_pods.capped);
  CHECK(prefix->max_pods.uncapped_max_pods == 4 * 14 * 16 + 2);
  CHECK(prefix->controller.pool.max_enis == 4);
  CHECK(prefix->controller.pool.ipv4_per_eni == 15);
  CHECK(prefix->controller.pool.warm_prefix_target == 1);
  CHECK(prefix->controller.instance_id == "i-0abc");
  CHECK(prefix->controller.subnet_id == "subnet-1");

  const auto secondary = Configure(Node("m5.xlarge", 4), {});
  REQUIRE_MESSAGE(secondary.ok(), secondary.status());
  CHECK(secondary->controller.pool.mode == AddressMode::kSecondaryIp);
  CHECK(secondary->controller.pool.max_pods == 58);
  CHECK(secondary->controller.pool.warm_eni_target == 1);

  // The kubelet's own value, when the agent knows it, wins.
  NodeFacts known = Node("m5.xlarge", 4);
  known.kubelet_max_pods = 80;
  const auto given = Configure(known, {{"ENABLE_PREFIX_DELEGATION", "true"},
                                       {"WARM_PREFIX_TARGET", "1"}});
  REQUIRE_MESSAGE(given.ok(), given.status());
  CHECK(given->controller.pool.max_pods == 80);
}

TEST_CASE("NodeConfigFromEnvironment applies MAX_ENI to the ENIs and to max pods") {
  const auto config = Configure(Node("m5.xlarge"), {{"MAX_ENI", "2"}});
  REQUIRE_MESSAGE(config.ok(), config.status());
  CHECK(config->controller.pool.max_enis == 2);
  CHECK(config->controller.pool.max_pods == 2 * 14 + 2);
  // Above the instance limit it changes nothing, as in the reference.
  const auto high = Configure(Node("m5.xlarge"), {{"MAX_ENI", "9"}});
  REQUIRE_MESSAGE(high.ok(), high.status());
  CHECK(high->controller.pool.max_enis == 4);
}

TEST_CASE("NodeConfigFromEnvironment refuses prefix delegation on a type without it, naming "
          "the variable and the type") {
  const auto xen = Configure(Node("t2.medium"),
                             {{"ENABLE_PREFIX_DELEGATION", "true"}, {"WARM_PREFIX_TARGET", "1"}});
  REQUIRE_FALSE(xen.ok());
  CHECK(xen.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_MESSAGE(absl::StrContains(xen.status().message(), "ENABLE_PREFIX_DELEGATION=true"),
                xen.status());
  CHECK_MESSAGE(absl::StrContains(xen.status().message(), "t2.medium (xen)"), xen.status());

  // Bare metal has prefix delegation in ipamd's rule (no hypervisor reported).
  const enipool::InstanceLimits metal = *enipool::LookupInstanceLimits("m5.metal");
  REQUIRE(metal.is_bare_metal);
  const auto bare = Configure(Node("m5.metal", 96),
                              {{"ENABLE_PREFIX_DELEGATION", "true"}, {"WARM_PREFIX_TARGET", "1"}});
  REQUIRE_MESSAGE(bare.ok(), bare.status());
  CHECK(bare->controller.pool.mode == AddressMode::kPrefix);
  CHECK(bare->controller.pool.max_pods == 250);
}

TEST_CASE("NodeConfigFromEnvironment names each bad variable with its value, all at once") {
  const auto bad = Configure(Node("m5.large"), {{"MAX_ENI", "abc"},
                                                {"WARM_IP_TARGET", "-3"},
                                                {"ENABLE_PREFIX_DELEGATION", "yes"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  const absl::string_view message = bad.status().message();
  CHECK_MESSAGE(absl::StrContains(message, "MAX_ENI=\"abc\""), message);
  CHECK_MESSAGE(absl::StrContains(message, "WARM_IP_TARGET=-3"), message);
  CHECK_MESSAGE(absl::StrContains(message, "ENABLE_PREFIX_DELEGATION=\"yes\""), message);
  CHECK_MESSAGE(absl::StrContains(message, "m5.large"), message);

  // The pitfall combinations WarmPoolConfig::Validate() rejects.
  const auto frozen = Configure(Node("m5.large"), {{"MINIMUM_IP_TARGET", "10"}});
  REQUIRE_FALSE(frozen.ok());
  CHECK_MESSAGE(absl::StrContains(frozen.status().message(), "MINIMUM_IP_TARGET=10"),
                frozen.status());
}

TEST_CASE("NodeConfigFromEnvironment reports an unknown type as NOT_FOUND and missing facts by "
          "name") {
  const auto unknown = Configure(Node("m5.huge"), {});
  CHECK(unknown.status().code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(unknown.status().message(), "m5.huge"));

  NodeFacts blank{.instance_type = "m5.large"};
  blank.vcpus = -1;
  const auto missing = Configure(blank, {});
  REQUIRE_FALSE(missing.ok());
  const absl::string_view message = missing.status().message();
  CHECK_MESSAGE(absl::StrContains(message, "NodeFacts::instance_id is empty"), message);
  CHECK_MESSAGE(absl::StrContains(message, "NodeFacts::subnet_id"), message);
  CHECK_MESSAGE(absl::StrContains(message, "NodeFacts::vcpus is -1"), message);

  // A type the table lacks, described by the caller.
  NodeFacts custom = Node("x9.large", 2);
  custom.limits = enipool::InstanceLimits{.name = "x9.large",
                                          .max_enis = 3,
                                          .ipv4_per_eni = 10,
                                          .prefix_delegation_supported = true,
                                          .hypervisor = enipool::Hypervisor::kNitro};
  const auto described = Configure(custom, {});
  REQUIRE_MESSAGE(described.ok(), described.status());
  CHECK(described->controller.pool.max_pods == 29);
}

TEST_CASE("NodeConfigFromEnvironment with custom networking uses the ENIConfig subnet and "
          "leaves the primary ENI out") {
  NodeFacts node = Node("m5.xlarge", 4);
  const Env env = {{"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "true"}};
  const auto missing = Configure(node, env);
  REQUIRE_FALSE(missing.ok());
  CHECK_MESSAGE(absl::StrContains(missing.status().message(),
                                  "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true but "
                                  "NodeFacts::eni_config_subnet_id is empty"),
                missing.status());

  node.eni_config_subnet_id = "subnet-pods";
  const auto config = Configure(node, env);
  REQUIRE_MESSAGE(config.ok(), config.status());
  CHECK(config->controller.subnet_id == "subnet-pods");
  CHECK(config->controller.pool.custom_networking);
  CHECK(config->controller.pool.max_pods == 3 * 14 + 2);

  Env one = env;
  one["MAX_ENI"] = "1";
  const auto none = Configure(node, one);
  REQUIRE_FALSE(none.ok());
  CHECK_MESSAGE(absl::StrContains(none.status().message(), "MAX_ENI=1 allows 1 ENI"),
                none.status());
}

TEST_CASE("NodeConfigFromEnvironment agrees with the max-pods calculator on every type of the "
          "table") {
  for (const enipool::InstanceLimits& limits : enipool::AllInstanceLimits()) {
    for (const bool prefix : {false, true}) {
      CAPTURE(limits.name);
      CAPTURE(prefix);
      Env env;
      if (prefix) env = {{"ENABLE_PREFIX_DELEGATION", "true"}, {"WARM_PREFIX_TARGET", "1"}};
      const auto config = Configure(Node(std::string(limits.name), 8), env);
      if (prefix && !limits.prefix_delegation_supported) {
        CHECK(config.status().code() == absl::StatusCode::kInvalidArgument);
        continue;
      }
      REQUIRE_MESSAGE(config.ok(), config.status());
      const int want = enipool::ComputeMaxPods(
          limits, {.prefix_delegation = prefix, .vcpus = 8,
                   .prefix_rule = enipool::PrefixDelegationRule::kIpamd});
      CHECK(config->controller.pool.max_pods == want);
      CHECK((config->controller.pool.mode == AddressMode::kPrefix) == prefix);
      // What it produces, the controller accepts.
      enipool::ManualClock clock;
      CHECK(enipool::NodeController<enipool::ManualClock>::Create(clock, config->controller).ok());
    }
  }
}

TEST_CASE("NodeController::Create refuses a pool config it cannot run, naming the field") {
  enipool::ManualClock clock;
  enipool::ControllerConfig config;
  config.instance_id = "i-1";
  config.subnet_id = "subnet-1";
  config.pool = {.mode = AddressMode::kPrefix, .warm_prefix_target = 1, .max_enis = 3,
                 .ipv4_per_eni = 10};
  CHECK(enipool::NodeController<enipool::ManualClock>::Create(clock, config).ok());

  config.pool.warm_ip_target = -1;
  const auto negative = enipool::NodeController<enipool::ManualClock>::Create(clock, config);
  CHECK(negative.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_MESSAGE(absl::StrContains(negative.status().message(), "WARM_IP_TARGET is -1"),
                negative.status());

  config.pool.warm_ip_target = 0;
  config.pool.max_pods = 0;
  const auto no_pods = enipool::NodeController<enipool::ManualClock>::Create(clock, config);
  CHECK_MESSAGE(absl::StrContains(no_pods.status().message(), "max_pods 0"), no_pods.status());

  config.pool.max_pods = 110;
  config.pool.prefix_delegation_supported = false;
  const auto xen = enipool::NodeController<enipool::ManualClock>::Create(clock, config);
  CHECK_MESSAGE(absl::StrContains(xen.status().message(), "ENABLE_PREFIX_DELEGATION"),
                xen.status());
}


TEST_CASE("NodeController::Create accepts the pitfall combinations, which simulations reproduce") {
  enipool::ManualClock clock;
  enipool::ControllerConfig config;
  config.instance_id = "i-1";
  config.subnet_id = "subnet-1";
  config.pool = {.mode = AddressMode::kPrefix, .warm_prefix_target = 0, .max_enis = 3,
                 .ipv4_per_eni = 10};
  REQUIRE_FALSE(config.pool.Validate().ok());  // pitfall 5
  CHECK(enipool::NodeController<enipool::ManualClock>::Create(clock, config).ok());
}

}  // namespace

TEST_CASE("NodeConfigFromEnvironment reads MANAGE_UNTAGGED_ENI and CLUSTER_NAME and passes the primary's security groups on") {
  NodeFacts node = Node("m5.large");
  node.security_group_ids = {"sg-a", "sg-b"};
  const auto defaults = Configure(node, {});
  REQUIRE(defaults.ok());
  CHECK(defaults->controller.manage_untagged_enis);  // the reference's default
  CHECK(defaults->controller.cluster_name.empty());
  CHECK(defaults->controller.security_group_ids == std::vector<std::string>{"sg-a", "sg-b"});

  const auto set = Configure(node, {{"MANAGE_UNTAGGED_ENI", "false"}, {"CLUSTER_NAME", "prod"}});
  REQUIRE(set.ok());
  CHECK_FALSE(set->controller.manage_untagged_enis);
  CHECK(set->controller.cluster_name == "prod");

  // A value Go's ParseBool refuses is refused here, naming it.
  const auto bad = Configure(node, {{"MANAGE_UNTAGGED_ENI", "no"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_MESSAGE(absl::StrContains(bad.status().message(), "MANAGE_UNTAGGED_ENI=\"no\""),
                bad.status());
}

TEST_CASE("NodeConfigFromEnvironment turns subnet discovery and the leaked-ENI sweep on as the reference does, and off on request") {
  const NodeFacts node = Node("m5.large");
  const auto defaults = Configure(node, {});
  REQUIRE(defaults.ok());
  CHECK(defaults->controller.subnet_discovery);
  CHECK(defaults->controller.leaked_eni_sweep);
  const auto off = Configure(node, {{"ENABLE_SUBNET_DISCOVERY", "false"},
                                    {"DISABLE_LEAKED_ENI_CLEANUP", "true"}});
  REQUIRE(off.ok());
  CHECK_FALSE(off->controller.subnet_discovery);
  CHECK_FALSE(off->controller.leaked_eni_sweep);
  const auto imds_only = Configure(node, {{"ENABLE_IMDS_ONLY_MODE", "true"}});
  REQUIRE(imds_only.ok());
  CHECK_FALSE(imds_only->controller.leaked_eni_sweep);  // no provisioning, no sweep
  const auto bad = Configure(node, {{"DISABLE_LEAKED_ENI_CLEANUP", "maybe"}});
  REQUIRE_FALSE(bad.ok());
  CHECK_MESSAGE(absl::StrContains(bad.status().message(), "DISABLE_LEAKED_ENI_CLEANUP=\"maybe\""),
                bad.status());
}

// docs/reference-behavior.md §4.13: the reference tags the ENIs it finds
// unless it provisions no ENIs.
TEST_CASE("NodeConfigFromEnvironment tags the ENIs a node finds unless ENI provisioning is off") {
  const NodeFacts node = Node("m5.large");
  const auto defaults = Configure(node, {});
  REQUIRE(defaults.ok());
  CHECK(defaults->controller.tag_enis);
  for (const char* variable : {"DISABLE_NETWORK_RESOURCE_PROVISIONING", "ENABLE_IMDS_ONLY_MODE"}) {
    CAPTURE(variable);
    const auto off = Configure(node, {{variable, "true"}});
    REQUIRE(off.ok());
    CHECK_FALSE(off->controller.tag_enis);
  }
  // A hand-built config leaves it off (docs/reference-behavior.md §11.11).
  CHECK_FALSE(enipool::ControllerConfig{}.tag_enis);
}

// docs/reference-behavior.md §7.1: the reference sets DeleteOnTermination on
// the ENIs it attaches and refreshes their security groups unless it
// provisions no ENIs.
TEST_CASE("NodeConfigFromEnvironment sets DeleteOnTermination and refreshes security groups unless "
          "ENI provisioning is off") {
  const NodeFacts node = Node("m5.large");
  const auto defaults = Configure(node, {});
  REQUIRE(defaults.ok());
  CHECK(defaults->controller.set_delete_on_termination);
  CHECK(defaults->controller.refresh_security_groups);
  CHECK(defaults->controller.security_group_refresh == absl::Seconds(30));
  for (const char* variable : {"DISABLE_NETWORK_RESOURCE_PROVISIONING", "ENABLE_IMDS_ONLY_MODE"}) {
    CAPTURE(variable);
    const auto off = Configure(node, {{variable, "true"}});
    REQUIRE(off.ok());
    CHECK_FALSE(off->controller.set_delete_on_termination);
    CHECK_FALSE(off->controller.refresh_security_groups);
  }
  // A hand-built config leaves both off (docs/reference-behavior.md §11.11).
  CHECK_FALSE(enipool::ControllerConfig{}.set_delete_on_termination);
  CHECK_FALSE(enipool::ControllerConfig{}.refresh_security_groups);
}

namespace {

// docs/reference-behavior.md §7.1: ADDITIONAL_ENI_TAGS tags new ENIs, keys
// containing k8s.amazonaws.com dropped; text that is not a JSON object of
// strings is refused naming the variable, with the other bad variables.
TEST_CASE("NodeConfigFromEnvironment reads ADDITIONAL_ENI_TAGS as JSON and refuses bad JSON naming it") {
  const NodeFacts node = Node("m5.large");
  const auto none = Configure(node, {});
  REQUIRE(none.ok());
  CHECK(none->controller.additional_eni_tags.empty());
  const auto set = Configure(
      node, {{"ADDITIONAL_ENI_TAGS", R"({"team":"payments","k8s.amazonaws.com/x":"y"})"}});
  REQUIRE_MESSAGE(set.ok(), set.status());
  CHECK(set->controller.additional_eni_tags ==
        std::vector<enipool::Ec2Tag>{enipool::Ec2Tag{"team", "payments"}});
  const auto bad = Configure(node, {{"ADDITIONAL_ENI_TAGS", "team=payments"},
                                    {"MANAGE_UNTAGGED_ENI", "no"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_MESSAGE(absl::StrContains(bad.status().message(),
                                  "ADDITIONAL_ENI_TAGS is not a JSON object of string values"),
                bad.status());
  CHECK(absl::StrContains(bad.status().message(), "MANAGE_UNTAGGED_ENI"));
}

}  // namespace
