// WarmPoolConfig: reading the environment as leniently as the reference
// (FromEnvironment), and saying clearly what the reference silently accepts
// (Validate, ValidateEnvironment).

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/policy/warm_pool.h"

namespace {

using enipool::AddressMode;
using enipool::WarmPoolConfig;

// An environment as a map; a lookup reads it.
class Env {
 public:
  Env(std::initializer_list<std::pair<const std::string, std::string>> vars) : vars_(vars) {}
  std::optional<std::string> operator()(absl::string_view name) const {
    const auto it = vars_.find(std::string(name));
    if (it == vars_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, std::string> vars_;
};

WarmPoolConfig Instance(int max_enis = 3, int ipv4_per_eni = 10, bool pd_supported = true) {
  WarmPoolConfig c;
  c.max_enis = max_enis;
  c.ipv4_per_eni = ipv4_per_eni;
  c.max_pods = 29;
  c.prefix_delegation_supported = pd_supported;
  return c;
}

TEST_CASE("WarmPoolConfig::FromEnvironment with nothing set gives the reference's code defaults") {
  const WarmPoolConfig config = WarmPoolConfig::FromEnvironment(Env{}, Instance());
  CHECK(config.mode == AddressMode::kSecondaryIp);
  CHECK(config.warm_eni_target == 1);
  CHECK(config.warm_ip_target == 0);
  CHECK(config.minimum_ip_target == 0);
  CHECK(config.warm_prefix_target == 0);
  CHECK(config.max_enis == 3);
  CHECK(config.ipv4_per_eni == 10);
  CHECK(config.max_pods == 29);
  CHECK(config.ip_cooldown == absl::Seconds(30));
  CHECK_FALSE(config.custom_networking);
  CHECK_FALSE(config.manage_enis_non_schedulable);
  CHECK_FALSE(config.provisioning_disabled);
  CHECK(config.subnet_discovery);
  CHECK(config.count_cooling_as_available);
}

TEST_CASE(
    "WarmPoolConfig::FromEnvironment treats bad values as the reference does (Go Atoi and "
    "ParseBool)") {
  struct Case {
    const char* name;
    const char* variable;
    const char* value;
    int want;  // the field the variable sets
  };
  const Case cases[] = {
      {"a plain integer", "WARM_ENI_TARGET", "3", 3},
      {"zero is allowed", "WARM_ENI_TARGET", "0", 0},
      {"a leading + is accepted by Atoi", "WARM_ENI_TARGET", "+2", 2},
      {"leading zeros are accepted", "WARM_ENI_TARGET", "007", 7},
      {"negative ⇒ 1", "WARM_ENI_TARGET", "-1", 1},
      {"not an integer ⇒ 1", "WARM_ENI_TARGET", "two", 1},
      {"a leading space is not an integer ⇒ 1", "WARM_ENI_TARGET", " 2", 1},
      {"a trailing space is not an integer ⇒ 1", "WARM_ENI_TARGET", "2 ", 1},
      {"a decimal point is not an integer ⇒ 1", "WARM_ENI_TARGET", "2.0", 1},
      {"hex is not an integer ⇒ 1", "WARM_ENI_TARGET", "0x2", 1},
      {"underscores are not an integer ⇒ 1", "WARM_ENI_TARGET", "1_0", 1},
      {"a lone sign is not an integer ⇒ 1", "WARM_ENI_TARGET", "+", 1},
      {"empty ⇒ 1", "WARM_ENI_TARGET", "", 1},
      {"beyond int64 is a range error ⇒ 1", "WARM_ENI_TARGET", "9223372036854775808", 1},
      {"beyond int is clamped", "WARM_ENI_TARGET", "9223372036854775807", 2147483647},
      {"WARM_IP_TARGET", "WARM_IP_TARGET", "5", 5},
      {"WARM_IP_TARGET negative ⇒ 0", "WARM_IP_TARGET", "-5", 0},
      {"WARM_IP_TARGET not an integer ⇒ 0", "WARM_IP_TARGET", "5x", 0},
      {"MINIMUM_IP_TARGET", "MINIMUM_IP_TARGET", "10", 10},
      {"MINIMUM_IP_TARGET negative ⇒ 0", "MINIMUM_IP_TARGET", "-10", 0},
      {"WARM_PREFIX_TARGET", "WARM_PREFIX_TARGET", "1", 1},
      {"WARM_PREFIX_TARGET not an integer ⇒ 0", "WARM_PREFIX_TARGET", "one", 0},
      {"MAX_ENI below the instance limit", "MAX_ENI", "2", 2},
      {"MAX_ENI above the instance limit ⇒ the limit", "MAX_ENI", "5", 3},
      {"MAX_ENI 0 ⇒ ignored", "MAX_ENI", "0", 3},
      {"MAX_ENI negative ⇒ ignored", "MAX_ENI", "-1", 3},
      {"MAX_ENI not an integer ⇒ ignored", "MAX_ENI", "two", 3},
      {"IP_COOLDOWN_PERIOD in seconds", "IP_COOLDOWN_PERIOD", "+7", 7},
      {"IP_COOLDOWN_PERIOD not an integer ⇒ 30", "IP_COOLDOWN_PERIOD", "7s", 30},
      {"IP_COOLDOWN_PERIOD negative is kept (it behaves as 0)", "IP_COOLDOWN_PERIOD", "-5", -5},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const WarmPoolConfig config =
        WarmPoolConfig::FromEnvironment(Env{{c.variable, c.value}}, Instance());
    const std::string variable = c.variable;
    if (variable == "WARM_ENI_TARGET") CHECK(config.warm_eni_target == c.want);
    if (variable == "WARM_IP_TARGET") CHECK(config.warm_ip_target == c.want);
    if (variable == "MINIMUM_IP_TARGET") CHECK(config.minimum_ip_target == c.want);
    if (variable == "WARM_PREFIX_TARGET") CHECK(config.warm_prefix_target == c.want);
    if (variable == "MAX_ENI") CHECK(config.max_enis == c.want);
    if (variable == "IP_COOLDOWN_PERIOD") CHECK(config.ip_cooldown == absl::Seconds(c.want));
  }
}

TEST_CASE(
    "WarmPoolConfig::FromEnvironment reads booleans as Go's ParseBool, bad values giving the "
    "default") {
  struct Case {
    const char* value;
    bool want_prefix;  // ENABLE_PREFIX_DELEGATION (default false)
  };
  const Case cases[] = {{"true", true},   {"True", true}, {"TRUE", true},   {"t", true},
                        {"T", true},      {"1", true},    {"false", false}, {"0", false},
                        {"f", false},     {"yes", false}, {"on", false},    {"TrUe", false},
                        {" true", false}, {"", false}};
  for (const Case& c : cases) {
    CAPTURE(c.value);
    const WarmPoolConfig config =
        WarmPoolConfig::FromEnvironment(Env{{"ENABLE_PREFIX_DELEGATION", c.value}}, Instance());
    CHECK((config.mode == AddressMode::kPrefix) == c.want_prefix);
  }
  // ENABLE_SUBNET_DISCOVERY defaults to true, so a bad value keeps it on.
  CHECK(WarmPoolConfig::FromEnvironment(Env{{"ENABLE_SUBNET_DISCOVERY", "nope"}}, Instance())
            .subnet_discovery);
  CHECK_FALSE(WarmPoolConfig::FromEnvironment(Env{{"ENABLE_SUBNET_DISCOVERY", "F"}}, Instance())
                  .subnet_discovery);
}

TEST_CASE("WarmPoolConfig::FromEnvironment reads the other switches") {
  const WarmPoolConfig config =
      WarmPoolConfig::FromEnvironment(Env{{"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "true"},
                                          {"AWS_MANAGE_ENIS_NON_SCHEDULABLE", "1"},
                                          {"ENABLE_IMDS_ONLY_MODE", "true"}},
                                      Instance());
  CHECK(config.custom_networking);
  CHECK(config.manage_enis_non_schedulable);
  CHECK(config.provisioning_disabled);  // IMDS-only mode disables provisioning
  CHECK(WarmPoolConfig::FromEnvironment(Env{{"DISABLE_NETWORK_RESOURCE_PROVISIONING", "true"}},
                                        Instance())
            .provisioning_disabled);
}

TEST_CASE(
    "WarmPoolConfig::FromEnvironment falls back to secondary IPs when the instance has no prefix "
    "delegation") {
  const Env env{{"ENABLE_PREFIX_DELEGATION", "true"}, {"WARM_PREFIX_TARGET", "1"}};
  CHECK(WarmPoolConfig::FromEnvironment(env, Instance(8, 30, /*pd_supported=*/true)).mode ==
        AddressMode::kPrefix);
  const WarmPoolConfig xen =
      WarmPoolConfig::FromEnvironment(env, Instance(8, 30, /*pd_supported=*/false));
  CHECK(xen.mode == AddressMode::kSecondaryIp);
  CHECK(xen.Validate().ok());  // the fallback config itself is fine ...
  // ... but the environment asked for something the instance cannot do.
  CHECK(WarmPoolConfig::ValidateEnvironment(env, Instance(8, 30, false)) ==
        absl::InvalidArgumentError(
            "invalid warm-pool configuration: ENABLE_PREFIX_DELEGATION=true on an instance type "
            "without "
            "prefix delegation (not Nitro): the reference silently falls back to secondary IPs"));
}

TEST_CASE("WarmPoolConfig::FromEnvironment takes only the instance facts from its base") {
  WarmPoolConfig base = Instance();
  base.warm_eni_target = 7;  // not an instance fact: the environment (unset ⇒ 1) wins
  base.count_cooling_as_available = false;
  const WarmPoolConfig config = WarmPoolConfig::FromEnvironment(Env{}, base);
  CHECK(config.warm_eni_target == 1);
  CHECK_FALSE(config.count_cooling_as_available);
  // With no instance limit known, MAX_ENI is taken as it is.
  CHECK(WarmPoolConfig::FromEnvironment(Env{{"MAX_ENI", "4"}}).max_enis == 4);
}

TEST_CASE("WarmPoolConfig::Validate accepts the shipped manifests' settings") {
  CHECK(WarmPoolConfig::FromEnvironment(Env{{"WARM_ENI_TARGET", "1"}}, Instance()).Validate().ok());
  CHECK(WarmPoolConfig::FromEnvironment(
            Env{{"ENABLE_PREFIX_DELEGATION", "true"}, {"WARM_PREFIX_TARGET", "1"}}, Instance())
            .Validate()
            .ok());
  CHECK(WarmPoolConfig::FromEnvironment(Env{{"WARM_IP_TARGET", "5"}, {"MINIMUM_IP_TARGET", "10"}},
                                        Instance())
            .Validate()
            .ok());
  CHECK(WarmPoolConfig::ValidateEnvironment(
            Env{{"WARM_ENI_TARGET", "1"}, {"WARM_PREFIX_TARGET", ""}}, Instance())
            .ok());
}

TEST_CASE("WarmPoolConfig::Validate names what the reference runs with but should not") {
  struct Case {
    const char* name;
    WarmPoolConfig config;
    const char* message;
  };
  const auto with = [](auto change) {
    WarmPoolConfig c = Instance();
    change(c);
    return c;
  };
  const Case cases[] = {
      {"instance facts not set", WarmPoolConfig{},
       "max_enis is 0: set the instance type's ENI limit (or MAX_ENI); ipv4_per_eni is 0: set the "
       "instance "
       "type's IPv4 addresses per ENI (at least 2)"},
      {"max pods 0", with([](WarmPoolConfig& c) { c.max_pods = 0; }),
       "max_pods is 0: the pool would never grow"},
      {"a negative knob", with([](WarmPoolConfig& c) { c.warm_ip_target = -2; }),
       "WARM_IP_TARGET is -2: must not be negative"},
      {"a negative cooldown", with([](WarmPoolConfig& c) { c.ip_cooldown = absl::Seconds(-5); }),
       "IP_COOLDOWN_PERIOD is -5s: negative behaves as 0 (released addresses are reused at once)"},
      {"pitfall 2: MINIMUM_IP_TARGET without WARM_IP_TARGET",
       with([](WarmPoolConfig& c) { c.minimum_ip_target = 10; }),
       "MINIMUM_IP_TARGET=10 without WARM_IP_TARGET: once 10 addresses are attached the pool never "
       "grows again "
       "and further pods fail (set WARM_IP_TARGET as well)"},
      {"pitfall 5: prefix mode with WARM_PREFIX_TARGET 0 and no IP targets",
       with([](WarmPoolConfig& c) { c.mode = AddressMode::kPrefix; }),
       "WARM_PREFIX_TARGET=0 with prefix delegation and neither WARM_IP_TARGET nor "
       "MINIMUM_IP_TARGET: a prefix "
       "is attached only when no address is free and every fully free prefix is released, so "
       "prefixes flap "
       "every 30 s (set WARM_PREFIX_TARGET=1)"},
      {"pitfall 4: WARM_ENI_TARGET 0 with custom networking", with([](WarmPoolConfig& c) {
         c.warm_eni_target = 0;
         c.custom_networking = true;
       }),
       "WARM_ENI_TARGET=0 with custom networking and neither WARM_IP_TARGET nor MINIMUM_IP_TARGET: "
       "ENIs are "
       "created and freed in a loop (set WARM_ENI_TARGET=1 or the IP targets)"},
      {"prefix mode without prefix delegation", with([](WarmPoolConfig& c) {
         c.mode = AddressMode::kPrefix;
         c.warm_prefix_target = 1;
         c.prefix_delegation_supported = false;
       }),
       "ENABLE_PREFIX_DELEGATION: prefix mode on an instance type without prefix delegation (not "
       "Nitro)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CHECK(c.config.Validate() ==
          absl::InvalidArgumentError(std::string("invalid warm-pool configuration: ") + c.message));
  }
}

TEST_CASE(
    "WarmPoolConfig::ValidateEnvironment names every variable the reference would silently "
    "reinterpret") {
  const Env env{{"WARM_ENI_TARGET", "-1"},
                {"WARM_IP_TARGET", "five"},
                {"MAX_ENI", "0"},
                {"IP_COOLDOWN_PERIOD", "-3"},
                {"ENABLE_PREFIX_DELEGATION", "yes"},
                {"MINIMUM_IP_TARGET", "99999999999"}};
  CHECK(
      WarmPoolConfig::ValidateEnvironment(env, Instance()) ==
      absl::InvalidArgumentError(
          "invalid warm-pool configuration: WARM_ENI_TARGET=-1 is negative (the reference uses 1); "
          "WARM_IP_TARGET=\"five\" is not an integer (the reference treats it as not set); "
          "MINIMUM_IP_TARGET=99999999999 is too large (at most 2147483647); "
          "MAX_ENI=0 is below 1 (the reference ignores it and uses the instance limit); "
          "IP_COOLDOWN_PERIOD=-3 is negative (the reference treats it as 0: released addresses are "
          "reused at "
          "once); "
          "ENABLE_PREFIX_DELEGATION=\"yes\" is not a boolean (want true or false; the reference "
          "uses false); "
          "MINIMUM_IP_TARGET=2147483647 without WARM_IP_TARGET: once 2147483647 addresses are "
          "attached the pool "
          "never grows again and further pods fail (set WARM_IP_TARGET as well)"));
  CHECK(WarmPoolConfig::ValidateEnvironment(Env{}, Instance()).ok());
}

}  // namespace
