// The node thread (ClusterConfig::node_thread, sim/cluster.h "The node
// thread") changes no result: the same scenarios run with the nodes' ADDs
// and DELs on a thread of their own and without give the same bytes —
// table, summary CSV, samples CSV — and leave every node with the same
// counters, signals and pool, in runs that make many calls to the thread.
// The cases reach each point where an answer must be applied before the
// run goes on: pool checks, EC2 answers, evictions, samples, the
// autoscaler, nodes joining and leaving, a dormant node's first check, a
// kubelet retry due within moments, and the end of each RunUntil().

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/sim/cluster.h"
#include "enipool/sim/scenario.h"
#include "enipool/sim/suite.h"
#include "enipool/sim/workload.h"
#include "sim_run_bytes.h"

namespace {

namespace sim = enipool::sim;
using sim::ClusterConfig;
using enipool::testing::RunBytes;
using enipool::testing::RunToBytes;

// Runs `config` without and with the node thread (in RunUntil() steps of
// `step`, when one is given) and requires the same bytes; returns the calls
// the thread ran.
std::uint64_t RequireSameWithNodeThread(ClusterConfig config,
                                        absl::Duration step = absl::ZeroDuration()) {
  config.node_thread = false;
  const RunBytes alone = RunToBytes(config, step);
  config.node_thread = true;
  const RunBytes threaded = RunToBytes(config, step);
  CHECK(alone.node_thread_calls == 0);
  REQUIRE(threaded.report == alone.report);
  REQUIRE(threaded.nodes == alone.nodes);
  REQUIRE(threaded.events == alone.events);
  REQUIRE(threaded.quiet == alone.quiet);
  return threaded.node_thread_calls;
}

ClusterConfig MustParse(const std::string& text) {
  absl::StatusOr<ClusterConfig> config = sim::ParseScenario(text);
  REQUIRE_MESSAGE(config.ok(), config.status().ToString());
  return *config;
}

TEST_CASE("Every quick suite scenario and configuration gives the same bytes with the node thread") {
  for (const sim::SuiteScenario& scenario : sim::DefaultSuiteScenarios(sim::SuiteScale::kQuick)) {
    for (const sim::SuiteConfiguration& configuration : sim::DefaultSuiteConfigurations()) {
      CAPTURE(scenario.name);
      CAPTURE(configuration.name);
      ClusterConfig config = scenario.base;
      REQUIRE(sim::ApplySettings(config, configuration.settings).ok());
      config.seed = 5;
      CHECK(RequireSameWithNodeThread(config) > 0);
    }
  }
}

TEST_CASE("A living cluster with faults, throttling, reconciles and sweeps gives the same bytes with the node thread") {
  for (const std::string mode : {"secondary-ip", "prefix"}) {
    for (const std::string policy : {"reference", "churn-adaptive", "prefix-fallback"}) {
      if (policy == "churn-adaptive" && mode == "prefix") continue;
      if (policy == "prefix-fallback" && mode != "prefix") continue;
      CAPTURE(mode);
      CAPTURE(policy);
      ClusterConfig config = MustParse(enipool::testing::FaultyLivingCluster(mode, policy));
      config.seed = 3;
      CHECK_FALSE(config.node_thread);
      CHECK(sim::ApplySettings(config, "node-thread=on").ok());
      CHECK(config.node_thread);
      CHECK(RequireSameWithNodeThread(config) > 100);
    }
  }
}

TEST_CASE("Kubelet retries due within a millisecond and trace pods give the same bytes with the node thread") {
  // A burst far beyond a small node's addresses: most ADDs fail and retry
  // a millisecond later, before most answers would otherwise be applied.
  ClusterConfig config;
  config.nodes = 4;
  config.instance_type = "m5.large";
  config.subnets = {*sim::ParseSubnet("10.0.0.0/26")};
  config.workload = sim::BurstWorkload{.pods = 120, .at = absl::Seconds(1)};
  config.kubelet_backoff = absl::Milliseconds(1);
  config.kubelet_backoff_jitter = 0;
  config.duration = absl::Minutes(2);
  config.sample_interval = absl::Seconds(5);
  for (const std::uint64_t seed : {1u, 2u}) {
    CAPTURE(seed);
    config.seed = seed;
    CHECK(RequireSameWithNodeThread(config) > 1000);
  }
  // Pods a trace places on named nodes (more than fit: some wait for
  // room), and deletes by name, while the scheduler places a churn
  // workload's.
  std::string lines;
  for (int pod = 0; pod < 40; ++pod) {
    absl::StrAppend(&lines, pod, ",", pod % 2, ",t", pod, ",add\n");
  }
  for (int pod = 0; pod < 40; pod += 3) absl::StrAppend(&lines, 60 + pod, ",0,t", pod, ",delete\n");
  absl::StatusOr<sim::TraceWorkload> parsed = sim::ParseTrace(lines);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
  ClusterConfig trace;
  trace.nodes = 3;
  trace.instance_type = "m5.large";
  trace.workload = *parsed;
  trace.extra_workloads = {sim::ChurnWorkload{
      .arrivals_per_second = 2,
      .lifetime = {sim::Lifetime::Kind::kExponential, absl::Seconds(30), 1},
      .initial_pods = 10}};
  trace.duration = absl::Minutes(3);
  CHECK(RequireSameWithNodeThread(trace) > 100);
}

TEST_CASE("A run in RunUntil steps, and one with every pool check in full, give the same bytes with the node thread") {
  ClusterConfig config;
  config.nodes = 20;
  config.instance_type = "m5.xlarge";
  config.workload = sim::ChurnWorkload{
      .arrivals_per_second = 2,
      .lifetime = {sim::Lifetime::Kind::kExponential, absl::Minutes(3), 1},
      .initial_pods = 200};
  config.duration = absl::Minutes(10);
  config.sample_interval = absl::Seconds(30);
  config.seed = 9;
  CHECK(RequireSameWithNodeThread(config, absl::Seconds(7)) > 1000);
  config.skip_quiet_pool_checks = false;
  CHECK(RequireSameWithNodeThread(config) > 1000);
}

}  // namespace
