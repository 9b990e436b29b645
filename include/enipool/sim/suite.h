// -----------------------------------------------------------------------------
// File: sim/suite.h
// -----------------------------------------------------------------------------
//
// The policy suite: fixed scenarios × warm-pool configurations × seeds, run
// in parallel on worker threads, summarised as a table, a CSV (one row per
// run) and, per scenario, the points of a Pareto chart (sim/charts.h):
// x = idle address-hours, y = p95 time to IP with pods never served counted
// as censored (RunReport::TimeToIp), the median over seeds of each, with the
// range as whiskers.
//
// Determinism: every run is a pure function of (scenario, configuration,
// seed); each result goes to its own slot, in the order scenario,
// configuration, seed, whatever thread ran it. So the outputs are the same
// bytes with 1 worker or 16 (tests/suite_test.cpp checks 1 against 2).
//
// Example:
//
//   enipool::sim::SuiteOptions options;
//   options.workers = 2;
//   ENIPOOL_ASSIGN_OR_RETURN(
//       enipool::sim::SuiteResult result,
//       enipool::sim::RunSuite(enipool::sim::DefaultSuiteScenarios(enipool::sim::SuiteScale::kFull),
//                              enipool::sim::DefaultSuiteConfigurations(), options));
//   enipool::sim::PrintSuiteTable(std::cout, result);
//   enipool::sim::WriteSuiteCsv(csv_file, result);
//   svg_file << enipool::sim::RenderParetoSvg(enipool::sim::ParetoPointsOf(result, 0));

#ifndef ENIPOOL_SIM_SUITE_H_
#define ENIPOOL_SIM_SUITE_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/sim/charts.h"
#include "enipool/sim/cluster.h"
#include "enipool/sim/report.h"
#include "enipool/sim/scenario.h"
#include "enipool/status.h"

namespace enipool::sim {

// SuiteScenario
//
// One fixed scenario: a name and the base settings every configuration
// runs on.
struct SuiteScenario {
  std::string name;
  ClusterConfig base;
};

// SuiteConfiguration
//
// One warm-pool configuration: a label and the settings (scenario.h keys,
// "key=value" separated by spaces) applied on top of a scenario's base.
// `reference` marks the configurations people run today, against which the
// new policies are compared.
struct SuiteConfiguration {
  std::string name;
  std::string settings;
  bool reference = true;
};

// SuiteScale
//
// kFull: the suite as documented (README); kQuick: the same scenarios
// shrunk to seconds of CPU, for CI and tests.
enum class SuiteScale { kQuick, kFull };

// DefaultSuiteScenarios()
//
// Six scenarios, every node an m5.large with max pods 29 in both modes (so
// each configuration sees the same pod capacity):
//   cold-start    50 nodes start, then 1,300 pods at once at 1 min (a scale-out)
//   daily         100 nodes, a day of arrivals following a cosine (mean
//                 0.6/s, amplitude 0.8), 30 min lifetimes, 24 h
//   high-churn    40 nodes, CI jobs: 5 pods/s living 2 min (exponential), 1 h
//   bursty        50 nodes, 12 deployments an hour of 60 pods living 20 min, 2 h
//   fragmented    20 nodes in a /21 of which 1,200 addresses are taken at
//                 random by other tenants (almost no free aligned /28),
//                 then 480 pods at 1 min
//   steady-1000   1,000 nodes, 10 pods/s living 20 min (12,000 pods), 1 h,
//                 starting at steady state
// Each has a warm-up (pods created before it are not timed) where the
// cluster starts full of pods. kQuick keeps the shapes at about a tenth of
// the nodes and time.
inline std::vector<SuiteScenario> DefaultSuiteScenarios(SuiteScale scale) {
  const bool full = scale == SuiteScale::kFull;
  const auto scaled = [&](int n) { return full ? n : std::max(2, n / 10); };
  const auto time = [&](absl::Duration d) { return full ? d : d / 10; };
  ClusterConfig common;
  common.instance_type = "m5.large";
  common.max_pods = 29;
  common.sample_interval = full ? absl::Seconds(30) : absl::Seconds(10);
  std::vector<SuiteScenario> out;
  {
    ClusterConfig c = common;
    c.nodes = scaled(50);
    c.workload = BurstWorkload{.pods = scaled(50) * 26, .at = absl::Minutes(1)};
    c.duration = absl::Minutes(full ? 10 : 4);
    out.push_back({"cold-start", c});
  }
  {
    ClusterConfig c = common;
    c.nodes = scaled(100);
    // Mean 0.6 pods/s × 30 min: 1,080 pods on average, 1,950 at the 14:00
    // peak (the 2,700 pods of capacity are never the limit), 330 at 00:00.
    c.workload = DailyWorkload{.mean_arrivals_per_second = full ? 0.6 : 0.06,
                               .amplitude = 0.8,
                               .peak_at = absl::Hours(14),
                               .lifetime = {Lifetime::Kind::kExponential, absl::Minutes(30), 1},
                               .initial_pods = full ? 330 : 33};
    c.duration = time(absl::Hours(24));
    c.sample_interval = full ? absl::Minutes(5) : absl::Minutes(1);
    c.warmup = time(absl::Minutes(30));
    out.push_back({"daily", c});
  }
  {
    ClusterConfig c = common;
    c.nodes = scaled(40);
    const double rate = full ? 5.0 : 0.5;
    c.workload = ChurnWorkload{.arrivals_per_second = rate,
                               .lifetime = {Lifetime::Kind::kExponential, absl::Minutes(2), 1},
                               .initial_pods = static_cast<int>(rate * 120)};
    c.duration = time(absl::Hours(1));
    c.warmup = absl::Minutes(2);
    out.push_back({"high-churn", c});
  }
  {
    ClusterConfig c = common;
    c.nodes = scaled(50);
    c.workload = DeploymentsWorkload{.per_hour = full ? 12.0 : 12.0,
                                     .pods = full ? 60 : 6,
                                     .lifetime = {Lifetime::Kind::kExponential, absl::Minutes(20), 1}};
    c.duration = time(absl::Hours(2));
    c.warmup = absl::Minutes(1);
    out.push_back({"bursty", c});
  }
  {
    ClusterConfig c = common;
    c.nodes = scaled(20);
    SubnetConfig subnet{*Ipv4Prefix::Parse(full ? "10.0.0.0/21" : "10.0.0.0/24"), {}, 0};
    subnet.occupied = full ? 1200 : 150;
    c.subnets = {subnet};
    c.workload = BurstWorkload{.pods = scaled(20) * 24, .at = absl::Minutes(1)};
    c.duration = absl::Minutes(full ? 10 : 4);
    out.push_back({"fragmented", c});
  }
  {
    ClusterConfig c = common;
    c.nodes = full ? 1000 : 20;
    const double rate = full ? 10.0 : 0.2;
    c.workload = ChurnWorkload{.arrivals_per_second = rate,
                               .lifetime = {Lifetime::Kind::kExponential, absl::Minutes(20), 1},
                               .initial_pods = static_cast<int>(rate * 1200)};
    c.duration = time(absl::Hours(1));
    c.warmup = time(absl::Minutes(10));
    out.push_back({full ? "steady-1000" : "steady", c});
  }
  return out;
}

// DefaultSuiteConfigurations()
//
// The configurations people run (reference = true) and the new policies:
//   WARM_ENI_TARGET=1            secondary IPs, the default
//   WARM_IP_TARGET=5,MIN=10      secondary IPs
//   WARM_IP_TARGET=1             secondary IPs
//   prefix WARM_PREFIX_TARGET=1  prefix delegation, the manifests' default
//   prefix WARM_IP_TARGET=16     prefix delegation
//   churn-adaptive               secondary IPs, policy/churn_adaptive.h
//   prefix-fallback              prefix delegation, WARM_PREFIX_TARGET=1, /32s
//                                on InsufficientCidrBlocks
//                                (policy/prefix_fallback.h)
//   prefix-fallback+frag-aware   the same, and each new ENI's primary address
//                                named inside a /28 the node already broke
//                                (policy/eni_address.h): the fallback's /32s
//                                need ENIs, and each random primary could
//                                break a free /28
inline std::vector<SuiteConfiguration> DefaultSuiteConfigurations() {
  return {
      {"WARM_ENI_TARGET=1", "mode=secondary-ip warm-eni-target=1", true},
      {"WARM_IP_TARGET=5,MIN=10", "mode=secondary-ip warm-ip-target=5 minimum-ip-target=10", true},
      {"WARM_IP_TARGET=1", "mode=secondary-ip warm-ip-target=1", true},
      {"prefix WARM_PREFIX_TARGET=1", "mode=prefix warm-prefix-target=1", true},
      {"prefix WARM_IP_TARGET=16", "mode=prefix warm-ip-target=16", true},
      {"churn-adaptive", "mode=secondary-ip policy=churn-adaptive", false},
      {"prefix-fallback", "mode=prefix warm-prefix-target=1 policy=prefix-fallback", false},
      {"prefix-fallback+frag-aware",
       "mode=prefix warm-prefix-target=1 policy=prefix-fallback eni-primary=fragmentation-aware",
       false},
  };
}

// SuiteOptions
//
// Seeds per cell, worker threads (0: one per core), and an optional progress
// callback (runs done, runs in all; called from the workers, serialised).
struct SuiteOptions {
  std::vector<std::uint64_t> seeds = {1, 2, 3, 4, 5};
  int workers = 0;
  std::function<void(int, int)> progress;
};

// SuiteRun
//
// One run's report (its time series reduced to the last sample).
struct SuiteRun {
  std::size_t scenario = 0;
  std::size_t configuration = 0;
  std::uint64_t seed = 0;
  RunReport report;
};

// SuiteResult
//
// Every run, in the order scenario, configuration, seed.
struct SuiteResult {
  std::vector<SuiteScenario> scenarios;
  std::vector<SuiteConfiguration> configurations;
  std::vector<std::uint64_t> seeds;
  std::vector<SuiteRun> runs;

  // The runs of one (scenario, configuration) cell, one per seed.
  [[nodiscard]] std::vector<const SuiteRun*> Cell(std::size_t scenario,
                                                  std::size_t configuration) const {
    std::vector<const SuiteRun*> cell;
    const std::size_t first = (scenario * configurations.size() + configuration) * seeds.size();
    for (std::size_t i = 0; i < seeds.size(); ++i) cell.push_back(&runs[first + i]);
    return cell;
  }
};

// ApplySettings()
//
// Applies "key=value key=value ..." (scenario.h keys) to `config`.
// INVALID_ARGUMENT naming the bad setting; `config` unchanged then.
[[nodiscard]] inline absl::Status ApplySettings(ClusterConfig& config, absl::string_view settings) {
  ClusterConfig c = config;
  for (absl::string_view setting : absl::StrSplit(settings, ' ', absl::SkipWhitespace())) {
    const auto eq = setting.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("setting ", QuoteInput(setting), ": want key=value"));
    }
    ENIPOOL_RETURN_IF_ERROR(ApplySetting(c, setting.substr(0, eq), setting.substr(eq + 1)));
  }
  config = std::move(c);
  return absl::OkStatus();
}

// RunSuite()
//
// Runs every scenario × configuration × seed on `options.workers` threads.
// Each configuration's settings are checked (ResolveConfig) before anything
// runs: INVALID_ARGUMENT naming the scenario and configuration. The first
// failed run's status otherwise.
[[nodiscard]] inline absl::StatusOr<SuiteResult> RunSuite(
    std::vector<SuiteScenario> scenarios, std::vector<SuiteConfiguration> configurations,
    const SuiteOptions& options = {}) {
  SuiteResult result;
  result.seeds = options.seeds.empty() ? std::vector<std::uint64_t>{1} : options.seeds;
  std::vector<ClusterConfig> jobs;
  for (std::size_t s = 0; s < scenarios.size(); ++s) {
    for (std::size_t c = 0; c < configurations.size(); ++c) {
      ClusterConfig config = scenarios[s].base;
      if (absl::Status applied = ApplySettings(config, configurations[c].settings); !applied.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            scenarios[s].name, " / ", configurations[c].name, ": ", applied.message()));
      }
      config.name = configurations[c].name;
      ClusterConfig checked = config;
      if (absl::Status resolved = ResolveConfig(checked); !resolved.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            scenarios[s].name, " / ", configurations[c].name, ": ", resolved.message()));
      }
      for (std::uint64_t seed : result.seeds) {
        config.seed = seed;
        jobs.push_back(config);
        result.runs.push_back(SuiteRun{s, c, seed, {}});
      }
    }
  }
  result.scenarios = std::move(scenarios);
  result.configurations = std::move(configurations);

  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int workers = std::clamp(options.workers > 0 ? options.workers : cores, 1,
                                 static_cast<int>(std::max<std::size_t>(1, jobs.size())));
  std::atomic<std::size_t> next{0};
  std::mutex mutex;  // guards `failure`, `done` and the progress callback
  absl::Status failure;
  int done = 0;
  const auto work = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= jobs.size()) return;
      absl::StatusOr<RunReport> report = RunScenario(std::move(jobs[i]));
      std::lock_guard<std::mutex> lock(mutex);
      if (!report.ok()) {
        if (failure.ok()) failure = report.status();
        continue;
      }
      // Keep the last sample only: the suite reads end-of-run figures.
      if (report->samples.size() > 1) {
        report->samples.erase(report->samples.begin(), report->samples.end() - 1);
      }
      result.runs[i].report = *std::move(report);
      ++done;
      if (options.progress) options.progress(done, static_cast<int>(jobs.size()));
    }
  };
  std::vector<std::thread> threads;
  for (int w = 1; w < workers; ++w) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  if (!failure.ok()) return failure;
  return result;
}

}  // namespace enipool::sim

namespace enipool::internal {

inline double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

inline double IdleAddressHours(const sim::RunReport& r) { return r.idle_address_seconds / 3600; }

}  // namespace enipool::internal

namespace enipool::sim {

// ParetoPointsOf()
//
// One point per configuration of `scenario`: medians over seeds of idle
// address-hours and of p95 time to IP (seconds, censored pods included),
// ranges as whiskers; `y_at_least` when censoring decides the p95 of at
// least half the seeds.
inline std::vector<ParetoPoint> ParetoPointsOf(const SuiteResult& result, std::size_t scenario) {
  std::vector<ParetoPoint> points;
  for (std::size_t c = 0; c < result.configurations.size(); ++c) {
    std::vector<double> xs, ys;
    std::size_t censored = 0;
    for (const SuiteRun* run : result.Cell(scenario, c)) {
      xs.push_back(internal::IdleAddressHours(run->report));
      const CensoredValue p95 = run->report.TimeToIp(0.95);
      ys.push_back(absl::ToDoubleSeconds(p95.value));
      if (p95.at_least) ++censored;
    }
    ParetoPoint p;
    p.label = result.configurations[c].name;
    p.x = internal::Median(xs);
    p.y = internal::Median(ys);
    p.y_at_least = 2 * censored >= xs.size() && censored > 0;
    if (xs.size() > 1) {
      p.x_low = *std::min_element(xs.begin(), xs.end());
      p.x_high = *std::max_element(xs.begin(), xs.end());
      p.y_low = *std::min_element(ys.begin(), ys.end());
      p.y_high = *std::max_element(ys.begin(), ys.end());
    }
    points.push_back(std::move(p));
  }
  return points;
}

// DominatedReferences()
//
// The reference configurations (SuiteConfiguration::reference) of
// `scenario` that configuration `configuration` dominates on the Pareto
// chart (Dominates(): no worse on both axes, better on one).
inline std::vector<std::string> DominatedReferences(const SuiteResult& result,
                                                    std::size_t scenario,
                                                    std::size_t configuration) {
  const std::vector<ParetoPoint> points = ParetoPointsOf(result, scenario);
  std::vector<std::string> out;
  for (std::size_t c = 0; c < points.size(); ++c) {
    if (c != configuration && result.configurations[c].reference &&
        Dominates(points[configuration], points[c])) {
      out.push_back(points[c].label);
    }
  }
  return out;
}

// PrintSuiteTable()
//
// Per scenario, one row per configuration: medians over seeds of idle
// address-hours, p95 and p99 time to IP ("≥" when censored pods decide it
// in half the seeds or more), pods never served (summed over seeds), EC2
// calls, throttled calls and the aligned /28s left wholly free in the
// subnets at the end; then, for each new policy, the reference
// configurations it dominates.
inline void PrintSuiteTable(std::ostream& out, const SuiteResult& result) {
  std::size_t width = 10;
  for (const SuiteConfiguration& c : result.configurations) width = std::max(width, c.name.size());
  for (std::size_t s = 0; s < result.scenarios.size(); ++s) {
    const SuiteScenario& scenario = result.scenarios[s];
    out << "## " << scenario.name << ": " << scenario.base.nodes << " x "
        << scenario.base.instance_type << ", " << WorkloadName(scenario.base.workload) << ", "
        << absl::FormatDuration(scenario.base.duration)
        << " (" << result.seeds.size() << " seeds)\n";
    out << absl::StrFormat("%-*s %12s %12s %12s %8s %10s %9s %8s\n", static_cast<int>(width),
                           "configuration", "idle addr-h", "p95 to IP", "p99 to IP", "unserved",
                           "EC2 calls", "throttled", "free /28");
    for (std::size_t c = 0; c < result.configurations.size(); ++c) {
      std::vector<double> idle, p95, p99, calls, throttled, free_28;
      std::size_t p95_censored = 0, p99_censored = 0;
      std::int64_t never = 0;
      for (const SuiteRun* run : result.Cell(s, c)) {
        const RunReport& r = run->report;
        idle.push_back(internal::IdleAddressHours(r));
        const CensoredValue v95 = r.TimeToIp(0.95), v99 = r.TimeToIp(0.99);
        p95.push_back(absl::ToDoubleSeconds(v95.value));
        p99.push_back(absl::ToDoubleSeconds(v99.value));
        p95_censored += v95.at_least ? 1 : 0;
        p99_censored += v99.at_least ? 1 : 0;
        never += r.pods_never_served;
        calls.push_back(static_cast<double>(r.ec2_calls));
        throttled.push_back(static_cast<double>(r.throttled_calls));
        free_28.push_back(static_cast<double>(r.final_sample().subnet_free_28));
      }
      const std::size_t n = result.seeds.size();
      const auto seconds = [&](double v, std::size_t censored) {
        const std::string text = internal::FormatDurationShort(absl::Seconds(v));
        return 2 * censored >= n && censored > 0 ? absl::StrCat(">= ", text) : text;
      };
      out << absl::StrFormat("%-*s %12.1f %12s %12s %8d %10.0f %9.0f %8.0f\n",
                             static_cast<int>(width), result.configurations[c].name,
                             internal::Median(idle), seconds(internal::Median(p95), p95_censored),
                             seconds(internal::Median(p99), p99_censored), never,
                             internal::Median(calls), internal::Median(throttled),
                             internal::Median(free_28));
    }
    for (std::size_t c = 0; c < result.configurations.size(); ++c) {
      if (result.configurations[c].reference) continue;
      const std::vector<std::string> dominated = DominatedReferences(result, s, c);
      out << "  " << result.configurations[c].name << " dominates: "
          << (dominated.empty() ? std::string("none") : absl::StrJoin(dominated, ", ")) << "\n";
    }
    out << "\n";
  }
}

// WriteSuiteCsv()
//
// A header and one row per run: scenario, configuration, seed, then the
// run's figures (durations in seconds; `_at_least` = 1 when censored pods
// decide the quantile).
inline void WriteSuiteCsv(std::ostream& out, const SuiteResult& result) {
  out << "scenario,configuration,seed,pods_created,pods_never_served,idle_address_hours,"
         "time_to_ip_p50_s,time_to_ip_p95_s,time_to_ip_p95_at_least,time_to_ip_p99_s,"
         "time_to_ip_p99_at_least,time_to_all_ready_s,ec2_calls,throttled_calls,peak_enis,"
         "final_subnet_free_28\n";
  for (const SuiteRun& run : result.runs) {
    const RunReport& r = run.report;
    const CensoredValue p50 = r.TimeToIp(0.5), p95 = r.TimeToIp(0.95), p99 = r.TimeToIp(0.99);
    out << absl::StrCat(
               internal::CsvField(result.scenarios[run.scenario].name), ",",
               internal::CsvField(result.configurations[run.configuration].name), ",", run.seed,
               ",", r.pods_created, ",", r.pods_never_served, ",",
               absl::StrFormat("%.3f", internal::IdleAddressHours(r)), ",",
               internal::FormatSeconds(p50.value), ",", internal::FormatSeconds(p95.value), ",",
               p95.at_least ? 1 : 0, ",", internal::FormatSeconds(p99.value), ",",
               p99.at_least ? 1 : 0, ",",
               r.time_to_all_ready < absl::ZeroDuration()
                   ? std::string("-1")
                   : internal::FormatSeconds(r.time_to_all_ready),
               ",", r.ec2_calls, ",", r.throttled_calls, ",", r.peak_enis, ",",
               r.final_sample().subnet_free_28)
        << '\n';
  }
}

}  // namespace enipool::sim

#endif  // ENIPOOL_SIM_SUITE_H_
