#include "enipool/policy/eni_address.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/driver.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/ipv4.h"
#include "enipool/sim/cluster.h"
#include "enipool/sim/scenario.h"

namespace {

using enipool::ChooseEniPrimaryAddress;
using enipool::EniPrimaryPlacement;
using enipool::Ipv4Address;
using enipool::Ipv4Prefix;
using enipool::ManualClock;

Ipv4Prefix P(const char* text) { return *Ipv4Prefix::Parse(text); }
Ipv4Address A(const char* text) { return *Ipv4Address::Parse(text); }

TEST_CASE("ChooseEniPrimaryAddress picks a free-looking address inside a /28 the node has broken") {
  struct Case {
    const char* what;
    std::vector<Ipv4Address> used;
    std::vector<Ipv4Prefix> prefixes;
    std::optional<Ipv4Prefix> subnet;
    std::optional<Ipv4Address> want;
  };
  const std::vector<Case> cases = {
      {"nothing known: EC2 chooses", {}, {}, std::nullopt, std::nullopt},
      {"the lowest other address of the one broken block",
       {A("10.0.1.37")}, {}, P("10.0.0.0/20"), A("10.0.1.32")},
      {"the block with more known used addresses first",
       {A("10.0.1.37"), A("10.0.2.70"), A("10.0.2.64")}, {}, P("10.0.0.0/20"), A("10.0.2.65")},
      {"equal counts: the lower block", {A("10.0.2.70"), A("10.0.1.37")}, {}, std::nullopt,
       A("10.0.1.32")},
      {"the subnet's first four addresses are AWS's",
       {A("10.0.0.9")}, {}, P("10.0.0.0/20"), A("10.0.0.4")},
      {"without the subnet's CIDR the reserved ones are candidates too",
       {A("10.0.0.9")}, {}, std::nullopt, A("10.0.0.0")},
      {"the broadcast address is AWS's",
       {A("10.0.15.240"), A("10.0.15.241"), A("10.0.15.242"), A("10.0.15.243"), A("10.0.15.244"),
        A("10.0.15.245"), A("10.0.15.246"), A("10.0.15.247"), A("10.0.15.248"), A("10.0.15.249"),
        A("10.0.15.250"), A("10.0.15.251"), A("10.0.15.252"), A("10.0.15.253"),
        A("10.0.15.254")},
       {}, P("10.0.0.0/20"), std::nullopt},
      {"addresses outside the subnet are not the node's business",
       {A("192.168.0.5")}, {}, P("10.0.0.0/20"), std::nullopt},
      {"a held prefix is not a broken block", {A("10.0.1.37")}, {P("10.0.1.32/28")},
       P("10.0.0.0/20"), std::nullopt},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    CHECK(ChooseEniPrimaryAddress(c.used, c.prefixes, c.subnet) == c.want);
  }
}

TEST_CASE("ChooseEniPrimaryAddress agrees with a brute-force search over random node states") {
  std::mt19937_64 rng(42);
  const Ipv4Prefix subnet = P("10.0.0.0/24");
  for (int round = 0; round < 500; ++round) {
    CAPTURE(round);
    std::vector<Ipv4Address> used;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) used.push_back(subnet.AddressAt(rng() % 256));
    std::vector<Ipv4Prefix> prefixes;
    for (int i = 0; i < static_cast<int>(rng() % 4); ++i) {
      prefixes.push_back(Ipv4Prefix::Containing(subnet.AddressAt(rng() % 256), 28));
    }
    const std::optional<Ipv4Address> got = ChooseEniPrimaryAddress(used, prefixes, subnet);
    // Brute force: every address that is free as far as the node knows, not
    // AWS-reserved, in a block that holds a known used address and is not a
    // held prefix.
    const std::set<Ipv4Address> used_set(used.begin(), used.end());
    const auto good = [&](Ipv4Address a) {
      const Ipv4Prefix block = Ipv4Prefix::Containing(a, 28);
      const std::uint32_t offset = a.value() - subnet.network().value();
      if (used_set.contains(a) || offset < 4 || offset == 255) return false;
      if (std::find(prefixes.begin(), prefixes.end(), block) != prefixes.end()) return false;
      return std::any_of(used.begin(), used.end(),
                         [&](Ipv4Address u) { return block.Contains(u); });
    };
    bool any = false;
    for (std::uint64_t i = 0; i < 256; ++i) any |= good(subnet.AddressAt(i));
    REQUIRE(got.has_value() == any);
    if (!got.has_value()) continue;
    CHECK(good(*got));
    // No candidate in a block with more known used addresses was passed over.
    const auto count_in = [&](const Ipv4Prefix& block) {
      return std::count_if(used_set.begin(), used_set.end(),
                           [&](Ipv4Address u) { return block.Contains(u); });
    };
    const auto chosen_count = count_in(Ipv4Prefix::Containing(*got, 28));
    for (std::uint64_t i = 0; i < 256; ++i) {
      const Ipv4Address a = subnet.AddressAt(i);
      if (good(a)) CHECK(count_in(Ipv4Prefix::Containing(a, 28)) <= chosen_count);
    }
  }
}

// --- the controller names the address and recovers from refusals ----------------

using Ec2 = enipool::ec2::SimulatedEc2<ManualClock>;

TEST_CASE("A fragmentation-aware controller names new ENIs' primary addresses in its own broken "
          "/28 and moves on when EC2 says an address is in use") {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  Ec2 ec2(clock, {.seed = 3,
                  .latency = enipool::ec2::LatencyModel::Zero(),
                  .throttle = enipool::ec2::ThrottleConfig::Disabled()});
  REQUIRE(ec2.AddSubnet("subnet-a", P("10.0.0.0/20")).ok());
  auto primary = ec2.AddInstance(
      {.instance_id = "i-node", .subnet_id = "subnet-a", .max_enis = 4, .ipv4_per_eni = 2});
  REQUIRE(primary.ok());
  const Ipv4Prefix home = Ipv4Prefix::Containing(primary->primary_ip, 28);
  // Another instance holds the first free-looking address of the primary's
  // block, so the first name the node tries is refused.
  std::optional<Ipv4Address> taken;
  for (std::uint64_t i = 0; i < 16 && !taken; ++i) {
    const Ipv4Address a = home.AddressAt(i);
    const std::uint32_t offset = a.value() - 0x0A000000u;
    if (a != primary->primary_ip && offset >= 4) taken = a;
  }
  REQUIRE(taken.has_value());
  REQUIRE(ec2.AddInstance({.instance_id = "i-other", .subnet_id = "subnet-a", .max_enis = 2,
                           .ipv4_per_eni = 2})
              .ok());
  {
    auto other = ec2.CreateNetworkInterface({.subnet_id = "subnet-a", .private_ip_address = taken});
    REQUIRE(other.ok());
  }
  enipool::ControllerConfig config;
  config.pool.mode = enipool::AddressMode::kPrefix;
  config.pool.warm_prefix_target = 1;
  config.pool.max_enis = 4;
  config.pool.ipv4_per_eni = 2;  // one prefix per ENI: every 16 pods need a new ENI
  config.pool.max_pods = 110;
  config.instance_id = "i-node";
  config.subnet_id = "subnet-a";
  config.eni_primary = EniPrimaryPlacement::kFragmentationAware;
  config.subnet_cidr = P("10.0.0.0/20");
  auto made = enipool::NodeController<ManualClock>::Create(clock, config);
  REQUIRE(made.ok());
  auto& node = *made;
  const auto sleep = [&](absl::Time until) { clock.SetTime(until); };
  REQUIRE(enipool::StartNode(node, ec2, clock, sleep).ok());
  int pod = 0;
  for (int round = 0; round < 12; ++round) {
    for (int i = 0; i < 8; ++i) {
      (void)node.AddPod({"aws-cni", absl::StrCat("p", pod++), "eth0"});
    }
    REQUIRE(enipool::RunPoolCheck(node, ec2, clock, sleep).ok());
    clock.AdvanceTime(absl::Seconds(5));
  }
  REQUIRE(node.enis().size() == 4);
  CHECK(node.counters().named_primary_refused >= 1);
  CHECK(node.counters().named_primary_creates >= 3);
  for (const enipool::ManagedEni& eni : node.enis()) {
    CAPTURE(eni.id);
    CHECK(home.Contains(eni.primary_ip));  // all four in the primary's /28
    CHECK(eni.primary_ip != *taken);
  }
  CHECK(node.pool().CheckInvariants().ok());
}

// --- on a cluster: fewer free /28s broken ---------------------------------------

TEST_CASE("Fragmentation-aware ENI creation leaves more free aligned /28s than EC2's random "
          "placement on a seeded run") {
  // 30 t3.nano nodes in prefix mode (one prefix per ENI), each scaling out to
  // a second ENI: 30 ENI creations in a /20.
  const auto run = [](const char* eni_primary) {
    auto config = enipool::sim::ParseScenario(
        "instance-type=t3.nano\nnodes=30\nsubnet=10.0.0.0/20\nmode=prefix\n"
        "warm-prefix-target=1\nworkload=burst:900@30s\nduration=4m\nseed=9\n");
    REQUIRE(config.ok());
    REQUIRE(enipool::sim::ApplySetting(*config, "eni-primary", eni_primary).ok());
    auto report = enipool::sim::RunScenario(*config);
    REQUIRE_MESSAGE(report.ok(), report.status());
    return *report;
  };
  const enipool::sim::RunReport random = run("random");
  const enipool::sim::RunReport aware = run("fragmentation-aware");
  CAPTURE(random.final_sample().subnet_free_28);
  CAPTURE(aware.final_sample().subnet_free_28);
  // The same pods are served, and every second ENI is created in both runs.
  CHECK(aware.pods_never_served == random.pods_never_served);
  CHECK(aware.peak_enis == random.peak_enis);
  CHECK(aware.peak_enis == 60);
  // Each randomly placed primary breaks a free /28 with probability ~ the
  // share of free /28s; the aware ones break none.
  CHECK(aware.final_sample().subnet_free_28 > random.final_sample().subnet_free_28 + 10);
}

}  // namespace
