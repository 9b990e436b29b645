#include "enipool/sim/suite.h"

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "enipool/sim/charts.h"

namespace {

using enipool::sim::SuiteConfiguration;
using enipool::sim::SuiteOptions;
using enipool::sim::SuiteScenario;

// Two tiny scenarios (a burst and churn) so the test runs in seconds.
std::vector<SuiteScenario> TinyScenarios() {
  std::vector<SuiteScenario> scenarios;
  enipool::sim::ClusterConfig burst;
  burst.nodes = 3;
  burst.max_pods = 29;
  burst.workload = enipool::sim::BurstWorkload{.pods = 60, .at = absl::Seconds(30)};
  burst.duration = absl::Minutes(2);
  burst.sample_interval = absl::Seconds(10);
  scenarios.push_back({"burst", burst});
  enipool::sim::ClusterConfig churn = burst;
  churn.workload = enipool::sim::ChurnWorkload{
      .arrivals_per_second = 0.5,
      .lifetime = {enipool::sim::Lifetime::Kind::kExponential, absl::Minutes(1), 1},
      .initial_pods = 20};
  churn.warmup = absl::Seconds(30);
  scenarios.push_back({"churn", churn});
  return scenarios;
}

std::string Outputs(const enipool::sim::SuiteResult& result) {
  std::ostringstream out;
  enipool::sim::PrintSuiteTable(out, result);
  enipool::sim::WriteSuiteCsv(out, result);
  for (std::size_t s = 0; s < result.scenarios.size(); ++s) {
    out << enipool::sim::RenderParetoSvg(enipool::sim::ParetoPointsOf(result, s));
  }
  return out.str();
}

TEST_CASE("The suite writes the same bytes with one worker thread or two") {
  const std::vector<SuiteConfiguration> configurations = {
      {"eni1", "mode=secondary-ip warm-eni-target=1", true},
      {"pd1", "mode=prefix warm-prefix-target=1", true},
      {"adaptive", "mode=secondary-ip policy=churn-adaptive", false}};
  SuiteOptions one;
  one.seeds = {1, 2};
  one.workers = 1;
  SuiteOptions two = one;
  two.workers = 2;
  const auto a = enipool::sim::RunSuite(TinyScenarios(), configurations, one);
  const auto b = enipool::sim::RunSuite(TinyScenarios(), configurations, two);
  REQUIRE_MESSAGE(a.ok(), a.status());
  REQUIRE_MESSAGE(b.ok(), b.status());
  REQUIRE(a->runs.size() == 2 * 3 * 2);
  CHECK(Outputs(*a) == Outputs(*b));
  // Each run is the run RunScenario gives alone: the cell order is fixed.
  enipool::sim::ClusterConfig alone = TinyScenarios()[1].base;
  REQUIRE(enipool::sim::ApplySettings(alone, configurations[1].settings).ok());
  alone.name = "pd1";
  alone.seed = 2;
  const auto solo = enipool::sim::RunScenario(alone);
  REQUIRE_MESSAGE(solo.ok(), solo.status());
  const enipool::sim::RunReport& in_suite = a->Cell(1, 1)[1]->report;
  CHECK(in_suite.pods_created == solo->pods_created);
  CHECK(in_suite.idle_address_seconds == solo->idle_address_seconds);
  CHECK(in_suite.time_to_ip == solo->time_to_ip);
}

TEST_CASE("The suite rejects a bad configuration before running anything") {
  const auto result = enipool::sim::RunSuite(TinyScenarios(), {{"bad", "warm-ip-target=-1", true}});
  CHECK(result.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(result.status().message().find("burst / bad") != std::string::npos);
}

TEST_CASE("Dominance: no worse on both axes and better on one, censored delays never better") {
  using enipool::sim::Dominates;
  using enipool::sim::ParetoPoint;
  const ParetoPoint a{.label = "a", .x = 1, .y = 1};
  const ParetoPoint b{.label = "b", .x = 2, .y = 1};
  const ParetoPoint c{.label = "c", .x = 1, .y = 1};
  CHECK(Dominates(a, b));
  CHECK_FALSE(Dominates(b, a));
  CHECK_FALSE(Dominates(a, c));  // equal is not dominance
  ParetoPoint censored = a;
  censored.y_at_least = true;  // its true delay may be anything above 1
  CHECK_FALSE(Dominates(censored, ParetoPoint{.label = "d", .x = 1, .y = 5}));
  CHECK(Dominates(a, ParetoPoint{.label = "e", .x = 1, .y = 1, .y_at_least = true}));
}

}  // namespace
