#include "enipool/max_pods.h"

#include <doctest/doctest.h>

#include <climits>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "enipool/instance_limits.h"
#include "testing/instance_limits_csv.h"

namespace {

using enipool::CalculateMaxPods;
using enipool::ComputeMaxPods;
using enipool::ComputePodIpCapacity;
using enipool::InstanceLimits;
using enipool::MaxPods;
using enipool::MaxPodsOptions;
using enipool::PrefixDelegationRule;

InstanceLimits Limits(std::string_view type) {
  const std::optional<InstanceLimits> limits = enipool::LookupInstanceLimits(type);
  REQUIRE_MESSAGE(limits.has_value(), type);
  return *limits;
}

// The calculator is constexpr, end to end.
static_assert(ComputeMaxPods(*enipool::LookupInstanceLimits("m5.large"), {}) == 29);
static_assert(ComputePodIpCapacity(*enipool::LookupInstanceLimits("m5.large"), {}) == 27);
static_assert(ComputeMaxPods(*enipool::LookupInstanceLimits("m5.large"),
                             {.prefix_delegation = true, .vcpus = 2}) == 110);

// AWS's published values: data/eni-max-pods.txt, "<type> <max pods>" per line
// after a '#' comment header, copied from the VPC CNI repository (provenance
// in data/README.md). Parsed here so the test's oracle is AWS's own numbers,
// not the formula under test.
struct PublishedMaxPods {
  std::map<std::string, int, std::less<>> by_type;
  std::string error;  // empty when every line parsed
};

PublishedMaxPods ReadPublishedMaxPods() {
  const char* path = ENIPOOL_SOURCE_DIR "/data/eni-max-pods.txt";
  PublishedMaxPods published;
  std::ifstream in(path);
  if (!in) {
    published.error = std::string("cannot open ") + path;
    return published;
  }
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    std::istringstream fields(line);
    std::string type;
    int max_pods = 0;
    std::string rest;
    if (!(fields >> type >> max_pods) || (fields >> rest) ||
        !published.by_type.emplace(type, max_pods).second) {
      published.error = std::string(path) + ":" + std::to_string(line_number) +
                        ": bad or repeated line: " + line;
      return published;
    }
  }
  return published;
}

TEST_CASE("ComputeMaxPods gives AWS's published eni-max-pods.txt value for all 1,391 types") {
  const PublishedMaxPods published = ReadPublishedMaxPods();
  REQUIRE_MESSAGE(published.error.empty(), published.error);
  // The published file and the table list the same types: every published
  // type is known, and (same count, no repeats) none is missing.
  REQUIRE(published.by_type.size() == 1391);
  int checked = 0;
  for (const auto& [type, max_pods] : published.by_type) {
    CAPTURE(type);
    const absl::StatusOr<InstanceLimits> limits = enipool::FindInstanceLimits(type);
    REQUIRE_MESSAGE(limits.ok(), limits.status().ToString());
    CHECK(ComputeMaxPods(*limits, {}) == max_pods);
    // The pod-IP capacity is the published value without the two host-network pods.
    CHECK(ComputePodIpCapacity(*limits, {}) == max_pods - enipool::kHostNetworkPods);
    ++checked;
  }
  CHECK(checked == 1391);
}

TEST_CASE("ComputeMaxPods gives the EKS calculator's prefix and custom-networking values for every type") {
  // max-pods-calculator.sh with --show-max-allowed: the /28 formula only on
  // Nitro; custom networking drops one ENI in either formula.
  const enipool::testing::InstanceLimitsCsv csv = enipool::testing::ReadInstanceLimitsCsv();
  REQUIRE_MESSAGE(csv.error.empty(), csv.error);
  for (const enipool::testing::CsvInstanceLimits& row : csv.rows) {
    CAPTURE(row.instance_type);
    const InstanceLimits limits = Limits(row.instance_type);
    const int slots = row.ipv4_per_eni - 1;
    const int per_slot = row.hypervisor == "nitro" ? 16 : 1;
    CHECK(ComputeMaxPods(limits, {.custom_networking = true}) == (row.max_enis - 1) * slots + 2);
    CHECK(ComputeMaxPods(limits, {.prefix_delegation = true}) == row.max_enis * slots * per_slot + 2);
    CHECK(ComputeMaxPods(limits, {.prefix_delegation = true, .custom_networking = true}) ==
          (row.max_enis - 1) * slots * per_slot + 2);
    CHECK(CalculateMaxPods(limits, {.prefix_delegation = true}).prefix_delegation_applied ==
          (row.hypervisor == "nitro"));
  }
}

TEST_CASE("ComputeMaxPods matches the worked examples of reference section 5.2") {
  struct Case {
    std::string_view type;
    int sip;
    int sip_cn;
    std::optional<int> pd_raw;  // n/a: the type gets no prefix formula
    std::optional<int> pd_cn_raw;
  };
  // Values copied from the reference's table, not computed here.
  const Case cases[] = {
      {"t3.nano", 4, 3, 34, 18},
      {"t3.micro", 4, 3, 34, 18},
      {"t3.small", 11, 8, 146, 98},
      {"m5.large", 29, 20, 434, 290},
      {"m4.4xlarge", 234, 205, std::nullopt, std::nullopt},
      {"c5.18xlarge", 737, 688, 11762, 10978},
      {"p5.48xlarge", 100, 51, 1570, 786},
  };
  for (const Case& c : cases) {
    CAPTURE(c.type);
    const InstanceLimits limits = Limits(c.type);
    CHECK(ComputeMaxPods(limits, {}) == c.sip);
    CHECK(ComputeMaxPods(limits, {.custom_networking = true}) == c.sip_cn);
    const MaxPods pd = CalculateMaxPods(limits, {.prefix_delegation = true});
    const MaxPods pd_cn =
        CalculateMaxPods(limits, {.prefix_delegation = true, .custom_networking = true});
    if (c.pd_raw.has_value()) {
      CHECK(pd.prefix_delegation_applied);
      CHECK(pd.kubelet_max_pods == *c.pd_raw);
      CHECK(pd_cn.kubelet_max_pods == *c.pd_cn_raw);
    } else {
      // m4.4xlarge is Xen: prefix delegation falls back to secondary IPs.
      CHECK_FALSE(pd.prefix_delegation_applied);
      CHECK(pd.kubelet_max_pods == c.sip);
      CHECK(pd_cn.kubelet_max_pods == c.sip_cn);
    }
    // Pod IPs are always the kubelet value minus the two host-network pods
    // when nothing caps it.
    CHECK(pd.pod_ips == pd.kubelet_max_pods - 2);
    CHECK(pd_cn.pod_ips == pd_cn.kubelet_max_pods - 2);
  }
}

TEST_CASE("ComputeMaxPods caps at 110 up to 30 vCPUs and at 250 above, only when vCPUs are given") {
  CHECK(enipool::MaxPodsCap(0) == 0);
  CHECK(enipool::MaxPodsCap(-4) == 0);
  CHECK(enipool::MaxPodsCap(1) == 110);
  CHECK(enipool::MaxPodsCap(30) == 110);
  CHECK(enipool::MaxPodsCap(31) == 250);
  CHECK(enipool::MaxPodsCap(192) == 250);

  const InstanceLimits m5 = Limits("m5.large");  // 2 vCPUs
  CHECK(CalculateMaxPods(m5, {.prefix_delegation = true, .vcpus = 2}) ==
        MaxPods{.enis = 3,
                .pod_ips = 432,
                .uncapped_max_pods = 434,
                .kubelet_max_pods = 110,
                .capped = true,
                .prefix_delegation_applied = true});
  // Below the cap nothing changes, and `capped` says so.
  const MaxPods small = CalculateMaxPods(Limits("t3.small"), {.vcpus = 2});
  CHECK(small.kubelet_max_pods == 11);
  CHECK_FALSE(small.capped);
  // The cap applies to the secondary-IP value too (the calculator caps both).
  const InstanceLimits c5 = Limits("c5.18xlarge");  // 72 vCPUs
  CHECK(ComputeMaxPods(c5, {.vcpus = 72}) == 250);
  CHECK(ComputeMaxPods(c5, {.vcpus = 30}) == 110);
  CHECK(ComputeMaxPods(c5, {.vcpus = 31}) == 250);
  CHECK(ComputeMaxPods(c5, {}) == 737);
  // The pod-IP capacity ignores the cap.
  CHECK(ComputePodIpCapacity(c5, {.vcpus = 72}) == 735);
  CHECK(ComputePodIpCapacity(m5, {.prefix_delegation = true, .vcpus = 2}) == 432);
}

TEST_CASE("ComputeMaxPods applies MAX_ENI as min(MAX_ENI, limit) before custom networking drops one") {
  const InstanceLimits m5 = Limits("m5.large");  // 3 ENIs × 9 slots
  CHECK(ComputeMaxPods(m5, {.max_enis = 2}) == 2 * 9 + 2);
  CHECK(ComputeMaxPods(m5, {.max_enis = 3}) == 3 * 9 + 2);
  CHECK(ComputeMaxPods(m5, {.max_enis = 10}) == 3 * 9 + 2);  // above the limit: no effect
  CHECK(ComputeMaxPods(m5, {.max_enis = 0}) == 3 * 9 + 2);   // 0: the instance limit
  CHECK(ComputeMaxPods(m5, {.custom_networking = true, .max_enis = 2}) == 1 * 9 + 2);
  CHECK(ComputeMaxPods(m5, {.custom_networking = true, .max_enis = 1}) == 0 * 9 + 2);
  CHECK(ComputeMaxPods(m5, {.prefix_delegation = true, .max_enis = 1}) == 1 * 9 * 16 + 2);
  CHECK(CalculateMaxPods(m5, {.custom_networking = true, .max_enis = 2}).enis == 1);
}

TEST_CASE("ComputeMaxPods follows the calculator on bare metal unless asked for ipamd's rule") {
  const InstanceLimits metal = Limits("m5.metal");  // bare metal, hypervisor unknown
  REQUIRE(metal.prefix_delegation_supported);       // ipamd would use prefixes
  REQUIRE_FALSE(enipool::CalculatorAppliesPrefixDelegation(metal));

  const MaxPods calculator = CalculateMaxPods(metal, {.prefix_delegation = true});
  CHECK_FALSE(calculator.prefix_delegation_applied);
  CHECK(calculator.kubelet_max_pods == 15 * 49 + 2);

  const MaxPods ipamd =
      CalculateMaxPods(metal, {.prefix_delegation = true, .prefix_rule = PrefixDelegationRule::kIpamd});
  CHECK(ipamd.prefix_delegation_applied);
  CHECK(ipamd.kubelet_max_pods == 15 * 49 * 16 + 2);

  // Xen gets no prefixes under either rule.
  const InstanceLimits m4 = Limits("m4.4xlarge");
  CHECK_FALSE(CalculateMaxPods(m4, {.prefix_delegation = true,
                                    .prefix_rule = PrefixDelegationRule::kIpamd})
                  .prefix_delegation_applied);
}

TEST_CASE("The tutorial table of reference section 5.3 reads 4 to 8 pod IPs, 6 to 10 max pods") {
  // "1 ENI, 5 IPs → 4 max pods; 2 ENIs, 5 IPs → 9 max pods" is wrong: 4 is the
  // pod-IP capacity, and 9 is neither number.
  const InstanceLimits one_eni{.name = "tutorial.one", .max_enis = 1, .ipv4_per_eni = 5};
  const InstanceLimits two_enis{.name = "tutorial.two", .max_enis = 2, .ipv4_per_eni = 5};
  CHECK(ComputePodIpCapacity(one_eni, {}) == 4);
  CHECK(ComputeMaxPods(one_eni, {}) == 6);
  CHECK(ComputePodIpCapacity(two_enis, {}) == 8);
  CHECK(ComputeMaxPods(two_enis, {}) == 10);
  CHECK(ComputePodIpCapacity(two_enis, {}) != 9);
  CHECK(ComputeMaxPods(two_enis, {}) != 9);
}

TEST_CASE("CalculateMaxPods clamps nonsense limits instead of overflowing") {
  const InstanceLimits negative{.name = "bad", .max_enis = -3, .ipv4_per_eni = -1};
  CHECK(CalculateMaxPods(negative, {}) ==
        MaxPods{.enis = 0, .pod_ips = 0, .uncapped_max_pods = 2, .kubelet_max_pods = 2});
  const InstanceLimits huge{.name = "huge",
                            .max_enis = INT_MAX,
                            .ipv4_per_eni = INT_MAX,
                            .hypervisor = enipool::Hypervisor::kNitro};
  const MaxPods result = CalculateMaxPods(huge, {.prefix_delegation = true});
  CHECK(result.pod_ips == INT_MAX - 2);
  CHECK(result.kubelet_max_pods == INT_MAX);
}

TEST_CASE("FindMaxPods reports an unknown type as NOT_FOUND naming it") {
  const absl::StatusOr<MaxPods> found = enipool::FindMaxPods("m5.huge", {});
  REQUIRE_FALSE(found.ok());
  CHECK_MESSAGE(found.status().code() == absl::StatusCode::kNotFound, found.status().ToString());
  CHECK(found.status() == enipool::FindInstanceLimits("m5.huge").status());
  CHECK(std::string(found.status().message()).find("\"m5.huge\"") != std::string::npos);

  const absl::StatusOr<MaxPods> m5 = enipool::FindMaxPods("m5.large", {.prefix_delegation = true});
  REQUIRE(m5.ok());
  CHECK(*m5 == CalculateMaxPods(Limits("m5.large"), {.prefix_delegation = true}));
}

TEST_CASE("ValidateMaxPodsOptions rejects negative MAX_ENI and vCPUs that ComputeMaxPods would ignore") {
  CHECK(enipool::ValidateMaxPodsOptions({}).ok());
  CHECK(enipool::ValidateMaxPodsOptions({.max_enis = 4, .vcpus = 8}).ok());
  CHECK(enipool::ValidateMaxPodsOptions({.max_enis = -1}) ==
        absl::InvalidArgumentError("max_enis (MAX_ENI) is -1; want 0 (the instance limit) or more"));
  CHECK(enipool::ValidateMaxPodsOptions({.vcpus = -2}) ==
        absl::InvalidArgumentError("vcpus is -2; want 0 (no 110/250 cap) or more"));
  // FindMaxPods validates first, so a bad option is reported even for a good type.
  CHECK(enipool::FindMaxPods("m5.large", {.max_enis = -1}).status() ==
        enipool::ValidateMaxPodsOptions({.max_enis = -1}));
  // What the lenient calculation does with them: ignored, as ipamd ignores MAX_ENI < 1.
  CHECK(ComputeMaxPods(Limits("m5.large"), {.max_enis = -1, .vcpus = -2}) == 29);
}

}  // namespace

namespace {

// docs/reference-behavior.md §5.1, §6.2: with ENABLE_MULTI_NIC every card
// holds pod IPs, each as many ENIs as the CSV's per_card_max_enis gives it;
// max pods stays the default card's. The CSV column is the oracle here, not
// the table's uniform-card rule.
TEST_CASE("ComputeAllCardsPodIpCapacity adds every card's ENIs from per_card_max_enis") {
  const enipool::testing::InstanceLimitsCsv csv = enipool::testing::ReadInstanceLimitsCsv();
  REQUIRE_MESSAGE(csv.error.empty(), csv.error);
  int multi_card_types = 0;
  for (const enipool::testing::CsvInstanceLimits& row : csv.rows) {
    CAPTURE(row.instance_type);
    const InstanceLimits limits = Limits(row.instance_type);
    std::int64_t enis = 0;
    for (const auto& [card, max] : row.per_card_max_enis) enis += max;
    const std::int64_t slots = row.ipv4_per_eni - 1;
    CHECK(enipool::ComputeAllCardsPodIpCapacity(limits, {}) == enis * slots);
    if (limits.prefix_delegation_supported) {
      CHECK(enipool::ComputeAllCardsPodIpCapacity(
                limits, {.prefix_delegation = true,
                         .prefix_rule = enipool::PrefixDelegationRule::kIpamd}) ==
            enis * slots * 16);
    }
    // Custom networking leaves out card 0's primary ENI only.
    CHECK(enipool::ComputeAllCardsPodIpCapacity(limits, {.custom_networking = true}) ==
          (enis - 1) * slots);
    if (row.network_cards > 1) ++multi_card_types;
  }
  CHECK(multi_card_types == 67);
  const InstanceLimits p5 = Limits("p5.48xlarge");
  CHECK(ComputeMaxPods(p5, {}) == 100);
  CHECK(ComputePodIpCapacity(p5, {}) == 98);
  CHECK(enipool::ComputeAllCardsPodIpCapacity(p5, {}) == 3136);
}

}  // namespace
