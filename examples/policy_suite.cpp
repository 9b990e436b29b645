// The policy suite: six fixed scenarios (cold-start scale-out, a daily
// cycle, high churn, bursty deployments, a fragmented subnet, a 1,000-node
// steady state) × the warm-pool configurations people run and enipool's new
// policies × 5 seeds, in parallel on every core. Writes a table (stdout), a
// CSV (one row per run) and per scenario an SVG Pareto chart of idle
// address-hours against p95 time to IP (pods never served counted as
// censored).
//
//   enipool_example_policy_suite                 # the quick suite (seconds; CI runs it)
//   enipool_example_policy_suite --full --out DIR [--workers N] [--seeds N] [--scenario NAME]
//                                [--configuration NAME]   # repeatable: run only these
//
// The README's table and chart come from `--full` on a Release build.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "enipool/sim/charts.h"
#include "enipool/sim/suite.h"

int main(int argc, char** argv) {
  namespace sim = enipool::sim;
  bool full = false;
  std::string out_dir;
  std::string only;  // --scenario NAME: run that scenario alone
  std::vector<std::string> only_configurations;  // --configuration NAME (repeatable)
  sim::SuiteOptions options;
  options.seeds = {1};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    int n = 0;
    if (arg == "--full") {
      full = true;
      options.seeds = {1, 2, 3, 4, 5};
    } else if (arg == "--scenario" && has_value) {
      only = argv[++i];
    } else if (arg == "--configuration" && has_value) {
      only_configurations.push_back(argv[++i]);
    } else if (arg == "--out" && has_value) {
      out_dir = argv[++i];
    } else if (arg == "--workers" && has_value && absl::SimpleAtoi(argv[i + 1], &n) && n >= 1) {
      options.workers = n;
      ++i;
    } else if (arg == "--seeds" && has_value && absl::SimpleAtoi(argv[i + 1], &n) && n >= 1) {
      options.seeds.clear();
      for (int s = 1; s <= n; ++s) options.seeds.push_back(static_cast<std::uint64_t>(s));
      ++i;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--full] [--scenario NAME] [--configuration NAME]... [--out DIR] "
                   "[--workers N] [--seeds N]\n"
                   "  bare: the quick suite (small clusters, 1 seed); --full: the documented one\n",
                   argv[0]);
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }
  if (full) {
    options.progress = [](int done, int total) {
      std::fprintf(stderr, "\r%d / %d runs", done, total);
      if (done == total) std::fprintf(stderr, "\n");
    };
  }
  std::vector<sim::SuiteScenario> scenarios =
      sim::DefaultSuiteScenarios(full ? sim::SuiteScale::kFull : sim::SuiteScale::kQuick);
  if (!only.empty()) {
    std::erase_if(scenarios, [&](const sim::SuiteScenario& s) { return s.name != only; });
    if (scenarios.empty()) {
      std::fprintf(stderr, "no scenario named %s\n", only.c_str());
      return 2;
    }
  }
  std::vector<sim::SuiteConfiguration> configurations = sim::DefaultSuiteConfigurations();
  if (!only_configurations.empty()) {
    std::erase_if(configurations, [&](const sim::SuiteConfiguration& c) {
      return std::find(only_configurations.begin(), only_configurations.end(), c.name) ==
             only_configurations.end();
    });
    if (configurations.size() != only_configurations.size()) {
      std::fprintf(stderr, "unknown configuration among --configuration; known:");
      for (const sim::SuiteConfiguration& c : sim::DefaultSuiteConfigurations()) {
        std::fprintf(stderr, " \"%s\"", c.name.c_str());
      }
      std::fprintf(stderr, "\n");
      return 2;
    }
  }
  const auto result = sim::RunSuite(std::move(scenarios), std::move(configurations), options);
  if (!result.ok()) {
    std::cerr << "policy suite: " << result.status() << "\n";
    return 1;
  }
  sim::PrintSuiteTable(std::cout, *result);
  if (out_dir.empty()) return 0;
  std::ofstream csv(absl::StrCat(out_dir, "/suite.csv"));
  sim::WriteSuiteCsv(csv, *result);
  for (std::size_t s = 0; s < result->scenarios.size(); ++s) {
    const std::string name = result->scenarios[s].name;
    std::ofstream svg(absl::StrCat(out_dir, "/pareto-", name, ".svg"));
    svg << sim::RenderParetoSvg(sim::ParetoPointsOf(*result, s),
                                {.title = absl::StrCat("Policy suite: ", name)});
  }
  if (!csv) {
    std::cerr << "policy suite: cannot write to " << out_dir << "\n";
    return 1;
  }
  std::cerr << "wrote " << out_dir << "/suite.csv and " << result->scenarios.size()
            << " Pareto charts\n";
  return 0;
}
