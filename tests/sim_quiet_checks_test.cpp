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

namespace {

namespace sim = enipool::sim;
using sim::Cluster;
using sim::ClusterConfig;

// What one run leaves behind, as bytes: its report's table row, summary
// and samples CSV, and each node's counters and signals.
struct RunBytes {
  std::string report;
  std::string nodes;
  std::int64_t events = 0;
  std::int64_t quiet = 0;
};

std::string NodeBytes(const Cluster& cluster, bool add_signals) {
  std::string out;
  for (int n = 0; n < cluster.node_count(); ++n) {
    const auto& node = cluster.node(n);
    const enipool::ControllerCounters& c = node.counters();
    const enipool::PoolSignals& s = node.signals();
    absl::StrAppend(&out, n, ": checks ", c.pool_checks, " adds ", c.add_requests, " dels ",
                    c.del_requests, " no-ip ", c.no_available_ip, " increases ", c.increases,
                    " decreases ", c.decreases, " cidrs ", c.cidrs_added, "/", c.cidrs_released,
                    " enis ", c.enis_created, "/", c.enis_attached, "/", c.enis_freed,
                    " throttle retries ", c.throttle_retries);
    for (const std::int64_t calls : c.calls) absl::StrAppend(&out, " ", calls);
    for (const std::int64_t errors : c.errors) absl::StrAppend(&out, " ", errors);
    if (add_signals) {
      // To the last bit (%a): UpdateSignals must fold exactly as Tick does.
      absl::StrAppend(&out, " rate ", absl::StrFormat("%a", s.add_rate), " peak ",
                      absl::StrFormat("%a", s.recent_peak_adds), " failed ",
                      s.recent_failed_adds);
    }
    // The pool as of the run's end: Stats() first applies the cooldowns
    // that have ended, which readers do lazily — a node left quiet through
    // its last cooldown ends has not applied them yet, one checked in full
    // has (the generation counts them).
    const enipool::PoolStats pool = node.datastore().Stats();
    absl::StrAppend(&out, " refill ", absl::FormatDuration(s.refill_latency), " refills ",
                    s.refills_measured, " since ",
                    absl::FormatDuration(s.since_insufficient_cidr_blocks), " pool ",
                    pool.ToString(), " generation ", node.datastore().generation(), "\n");
  }
  return out;
}

RunBytes Run(ClusterConfig config, bool skip) {
  config.skip_quiet_pool_checks = skip;
  absl::StatusOr<std::unique_ptr<Cluster>> cluster = Cluster::Create(config);
  REQUIRE_MESSAGE(cluster.ok(), cluster.status().ToString());
  absl::StatusOr<sim::RunReport> report = (*cluster)->Run();
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  REQUIRE((*cluster)->CheckConsistency().ok());
  std::ostringstream bytes;
  sim::PrintTable(bytes, {*report});
  sim::WriteSummaryCsv(bytes, {*report});
  sim::WriteSamplesCsv(bytes, {*report});
  return RunBytes{bytes.str(), NodeBytes(**cluster, config.policy.reads_add_signals()),
                  report->events,
                  (*cluster)->quiet_pool_checks()};
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
        ClusterConfig config = MustParse(absl::StrCat(
            "subnet=10.0.0.0/22,zone=a,occupied=40\n"
            "subnet=10.0.4.0/22,zone=b\n"
            "node-group=m5.large,count=2,min=1,max=6,zone=a,zone=b\n"
            "node-group=c5.xlarge,count=1,min=0,max=3,zone=b\n"
            "autoscaler=on\n"
            "launch-delay=40s\n"
            "scale-down-unneeded=90s\n"
            "drain-time=20s\n"
            "workload=deployments:40,30,4m,exponential;cpu=300m\n"
            "workload=churn:0.3,3m,exponential;initial=20\n"
            "fault=AssignPrivateIpAddresses,from=5m,until=8m,InsufficientFreeAddressesInSubnet\n"
            "fault=AssignIpv4Prefixes,from=5m,until=8m,InsufficientCidrBlocks\n"
            "fault=CreateNetworkInterface,from=5m,until=8m,InsufficientFreeAddressesInSubnet\n"
            "fault=AttachNetworkInterface,from=10m,until=11m,RequestLimitExceeded\n"
            "reconcile-interval=2m\n"
            "leaked-eni-sweep=on\n"
            "mode=", mode, "\n",
            policy == "reference" ? "" : absl::StrCat("policy=", policy, "\n"),
            "duration=15m\n"));
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
