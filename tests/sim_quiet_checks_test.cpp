// Skipping quiet pool checks (ClusterConfig::skip_quiet_pool_checks,
// NodeController::QuietUntil()) changes no result: the same scenarios run
// with it on and off give the same bytes — table, summary CSV, samples CSV —
// and leave every node with the same counters, pool generation and signals
// (the ADD signals only where the policy reads them: PolicyReadsAddSignals),
// while a good share of the checks is skipped.

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "enipool/sim/cluster.h"
#include "enipool/sim/report.h"
#include "enipool/sim/scenario.h"
#include "enipool/sim/suite.h"
#include "sim_run_bytes.h"

namespace {

namespace sim = enipool::sim;
using sim::ClusterConfig;
using enipool::testing::RunBytes;
using enipool::testing::RunToBytes;

RunBytes Run(ClusterConfig config, bool skip) {
  config.skip_quiet_pool_checks = skip;
  return RunToBytes(config);
}

// Runs `config` both ways and requires the same bytes; returns the share
// of pool checks skipped.
std::int64_t RequireSameBothWays(const ClusterConfig& config) {
  const RunBytes off = Run(config, false);
  const RunBytes on = Run(config, true);
  CHECK(off.quiet == 0);
  REQUIRE(on.report == off.report);
  REQUIRE(on.nodes == off.nodes);
  REQUIRE(on.events == off.events);  // a skipped check is still an event
  return on.quiet;
}

ClusterConfig MustParse(const std::string& text) {
  absl::StatusOr<ClusterConfig> config = sim::ParseScenario(text);
  REQUIRE_MESSAGE(config.ok(), config.status().ToString());
  return *config;
}

TEST_CASE("Every quick suite scenario and configuration gives the same bytes with quiet checks skipped") {
  std::int64_t skipped = 0;
  for (const sim::SuiteScenario& scenario : sim::DefaultSuiteScenarios(sim::SuiteScale::kQuick)) {
    for (const sim::SuiteConfiguration& configuration : sim::DefaultSuiteConfigurations()) {
      for (const std::uint64_t seed : {1u, 7u}) {
        CAPTURE(scenario.name);
        CAPTURE(configuration.name);
        CAPTURE(seed);
        ClusterConfig config = scenario.base;
        REQUIRE(sim::ApplySettings(config, configuration.settings).ok());
        config.seed = seed;
        skipped += RequireSameBothWays(config);
      }
    }
  }
  CHECK(skipped > 0);
}

TEST_CASE("A living cluster with faults, throttling, reconciles and sweeps gives the same bytes with quiet checks skipped") {
  for (const std::string mode : {"secondary-ip", "prefix"}) {
    for (const std::string policy : {"reference", "churn-adaptive", "prefix-fallback"}) {
      if (policy == "churn-adaptive" && mode == "prefix") continue;
      if (policy == "prefix-fallback" && mode != "prefix") continue;
      for (const std::uint64_t seed : {3u, 11u}) {
        CAPTURE(mode);
        CAPTURE(policy);
        CAPTURE(seed);
        ClusterConfig config = MustParse(enipool::testing::FaultyLivingCluster(mode, policy));
        config.seed = seed;
        // The adaptive policy's ADD signals are compared to the last bit.
        CHECK(config.policy.reads_add_signals() == (policy == "churn-adaptive"));
        CHECK(RequireSameBothWays(config) > 0);
      }
    }
  }
}

TEST_CASE("A steady cluster under AWS's API throttling gives the same bytes with quiet checks skipped") {
  ClusterConfig config;
  config.nodes = 30;
  config.instance_type = "m5.xlarge";
  config.workload = sim::ChurnWorkload{
      .arrivals_per_second = 0.5,
      .lifetime = {sim::Lifetime::Kind::kExponential, absl::Minutes(10), 1},
      .initial_pods = 300};
  config.duration = absl::Minutes(20);
  config.sample_interval = absl::Seconds(30);
  for (const std::uint64_t seed : {1u, 2u}) {
    CAPTURE(seed);
    config.seed = seed;
    // Most checks of a steady pool have nothing to do.
    const std::int64_t quiet = RequireSameBothWays(config);
    CHECK(quiet > 30 * 20 * 12 / 2);
  }
}

}  // namespace
