// enipool_example_simulate: run warm-pool policies on a simulated cluster and
// compare them side by side.
//
//   enipool_example_simulate                          # a small default comparison
//   enipool_example_simulate --nodes 50 --workload churn:5,10m,exponential
//       --duration 2h --compare "eni1:--mode secondary-ip;pd1:--mode prefix"
//       --csv out.csv --svg out.svg
//   enipool_example_simulate --scenario my.scenario   # key=value lines
//
// Every setting is a flag (Abseil flags, see example_flags.h) and a key of a
// scenario file (see enipool/sim/scenario.h). The settings are applied in a
// fixed order, whatever the order on the command line: the defaults, then
// the --scenario file, then the setting flags (a flag overrides the file),
// then each --compare entry "name:settings" on top of that base.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "enipool/sim/charts.h"
#include "enipool/sim/cluster.h"
#include "enipool/sim/report.h"
#include "enipool/sim/scenario.h"
#include "example_flags.h"

// Settings: unset (std::nullopt) leaves the scenario file's or the default value.
ABSL_FLAG(std::optional<std::string>, name, std::nullopt, "label of the run");
ABSL_FLAG(std::optional<std::string>, instance_type, std::nullopt,
          "EC2 instance type, e.g. m5.large (default)");
ABSL_FLAG(std::optional<int>, nodes, std::nullopt, "node count (default 10)");
ABSL_FLAG(std::optional<std::string>, subnet, std::nullopt,
          "CIDR[,reserve=CIDR...][,occupied=N], several separated by ';' (default "
          "10.0.0.0/16); replaces the scenario file's subnets");
ABSL_FLAG(std::optional<std::string>, workload, std::nullopt,
          "burst:N[@START] | churn:RATE,LIFETIME[,DIST[,SIGMA]][;initial=N] | "
          "daily:RATE,AMPLITUDE,LIFETIME[,DIST[,SIGMA]][;initial=N] | "
          "deployments:PER_HOUR,PODS,LIFETIME[,DIST] | trace:FILE.csv "
          "(time,node,pod,add|delete). RATE in pods/s; LIFETIME a mean such as 10m, or forever; "
          "DIST fixed (the default: every pod lives exactly LIFETIME), exponential or lognormal "
          "(SIGMA, default 1); START and trace times in seconds or with a unit (90, 1m30s); "
          "a generated workload may end with ;cpu=Q;memory=Q, its pods' requests (250m, 512Mi); "
          "give --workload several times (or join workloads with +) to run them side by side; "
          "default burst:100");
ABSL_FLAG(std::optional<std::string>, node_group, std::nullopt,
          "TYPE[,count=N][,min=N][,max=N][,zone=Z...][,max-pods=N][,cpu=Q][,memory=Q][,name=S], "
          "several separated by ';'; replaces the scenario file's node groups (and then "
          "--nodes and --instance-type do not apply)");
ABSL_FLAG(std::optional<std::string>, autoscaler, std::nullopt,
          "on or off (default): launch nodes for pods that fit nowhere, drain underused ones");
ABSL_FLAG(std::optional<examples::UnitDuration>, launch_delay, std::nullopt,
          "from the autoscaler's launch to the node joining (default 90s)");
ABSL_FLAG(std::optional<examples::UnitDuration>, scale_down_unneeded, std::nullopt,
          "how long a node stays underused before the autoscaler drains it (default 10m)");
ABSL_FLAG(std::optional<std::string>, scale_down_utilization, std::nullopt,
          "the autoscaler's underused threshold, a fraction (default 0.5)");
ABSL_FLAG(std::optional<examples::UnitDuration>, autoscaler_interval, std::nullopt,
          "the autoscaler's scan interval (default 10s)");
ABSL_FLAG(std::optional<examples::UnitDuration>, drain_time, std::nullopt,
          "from a drain to the instance's termination (default 30s)");
ABSL_FLAG(std::optional<std::string>, fault, std::nullopt,
          "CALL,nth=N,CODE or CALL,from=T,until=T,CODE (an EC2 API name or any; an EC2 error "
          "code), several separated by ';'; replaces the scenario file's faults");
ABSL_FLAG(std::optional<std::string>, reconcile_interval, std::nullopt,
          "how often nodes reconcile with EC2, with its unit, or never (default)");
ABSL_FLAG(std::optional<examples::UnitDuration>, pool_check_interval, std::nullopt,
          "ipamd's pool loop (default 5s)");
ABSL_FLAG(std::optional<examples::UnitDuration>, kubelet_backoff, std::nullopt,
          "kubelet's retry of a failed sandbox (default 10s)");
ABSL_FLAG(std::optional<std::string>, subnet_discovery, std::nullopt,
          "on or off (default): ENABLE_SUBNET_DISCOVERY");
ABSL_FLAG(std::optional<std::string>, leaked_eni_sweep, std::nullopt,
          "on or off (default): the leaked-ENI sweep");
ABSL_FLAG(std::optional<std::string>, node_thread, std::nullopt,
          "on or off (default): the nodes' pod ADDs and DELs on a second thread of each run "
          "(the same results; faster for thousands of nodes)");
ABSL_FLAG(std::optional<std::string>, mode, std::nullopt, "secondary-ip (default) or prefix");
ABSL_FLAG(std::optional<std::string>, policy, std::nullopt,
          "warm-pool policy: reference (default) or churn-adaptive");
ABSL_FLAG(std::optional<int>, warm_eni_target, std::nullopt, "WARM_ENI_TARGET (default 1)");
ABSL_FLAG(std::optional<int>, warm_ip_target, std::nullopt, "WARM_IP_TARGET (default 0)");
ABSL_FLAG(std::optional<int>, minimum_ip_target, std::nullopt, "MINIMUM_IP_TARGET (default 0)");
ABSL_FLAG(std::optional<int>, warm_prefix_target, std::nullopt,
          "WARM_PREFIX_TARGET (default 1)");
ABSL_FLAG(std::optional<int>, max_pods, std::nullopt,
          "kubelet max pods (default: the instance type's published value)");
ABSL_FLAG(std::optional<int>, max_eni, std::nullopt, "MAX_ENI (default: the instance limit)");
ABSL_FLAG(std::optional<examples::UnitDuration>, ip_cooldown, std::nullopt,
          "IP_COOLDOWN_PERIOD with its unit (default 30s)");
ABSL_FLAG(std::optional<std::string>, placement, std::nullopt,
          "best-fit (default), spread or first-fit");
ABSL_FLAG(std::optional<std::uint64_t>, seed, std::nullopt, "random seed (default 1)");
ABSL_FLAG(std::optional<examples::UnitDuration>, duration, std::nullopt,
          "simulated time with its unit, e.g. 30m or 2h (default 5m)");
ABSL_FLAG(std::optional<examples::UnitDuration>, warmup, std::nullopt,
          "pods created before this time are left out of time to IP (default 0s)");
ABSL_FLAG(std::optional<examples::UnitDuration>, sample_interval, std::nullopt,
          "time between samples of the series, with its unit (default 5s)");
ABSL_FLAG(std::optional<std::string>, throttle, std::nullopt,
          "on (default: the account-wide EC2 token buckets) or off");
ABSL_FLAG(std::optional<std::string>, latency, std::nullopt, "default or zero");

// Input and output.
ABSL_FLAG(std::string, scenario, "",
          "a file of key=value lines (the settings above, '#' comments), applied before the "
          "setting flags");
ABSL_FLAG(std::string, compare, "",
          "\"name:settings;name:settings\": run each entry on top of the base settings, side "
          "by side, e.g. \"a:--mode secondary-ip;b:--mode prefix --warm-prefix-target 2\"; "
          "names must differ");
ABSL_FLAG(std::string, csv, "", "write one summary row per run to this file");
ABSL_FLAG(std::string, series_csv, "", "write the time series of every run to this file");
ABSL_FLAG(std::string, svg, "", "write a chart of pods ready over time to this file");
ABSL_FLAG(std::string, idle_svg, "", "write a chart of idle addresses over time to this file");
ABSL_FLAG(bool, progress, false, "progress on stderr; without it, progress shows only when stderr is a terminal");

namespace {

namespace sim = enipool::sim;

constexpr const char* kUsage =
    R"(usage: enipool_example_simulate [settings] [--scenario FILE] [--compare "name:settings;..."]
                                [--csv FILE] [--series-csv FILE] [--svg FILE] [--idle-svg FILE]
                                [--progress]

Runs warm-pool policies on a simulated cluster of nodes sharing one simulated
EC2 account, in virtual time, and prints a table of the runs. Run bare, it
compares three policies under churn.

The settings are applied in this order, whatever their order on the command
line: the defaults, then the --scenario file, then the setting flags (a flag
overrides the same key of the file), then each --compare entry on top of that
base. Durations need their unit (30s, 5m, 2h). The exit status is 0 on
success and 1 on a bad argument or a failed run.
)";

struct Options {
  sim::ClusterConfig base;
  std::vector<std::pair<std::string, std::string>> compare;  // name, settings
  std::string csv, series_csv, svg, idle_svg;
  bool progress = false;
};

// Splits "--key value", "--key=value" and "key=value" tokens (one --compare
// entry) into settings applied to `config`.
absl::Status ApplyTokens(const std::vector<std::string>& tokens, sim::ClusterConfig& config) {
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    absl::string_view token = tokens[i];
    const bool flag = absl::ConsumePrefix(&token, "--");
    const auto eq = token.find('=');
    if (eq != absl::string_view::npos) {
      ENIPOOL_RETURN_IF_ERROR(sim::ApplySetting(config, token.substr(0, eq), token.substr(eq + 1)));
    } else if (flag && i + 1 < tokens.size()) {
      ENIPOOL_RETURN_IF_ERROR(sim::ApplySetting(config, token, tokens[++i]));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", tokens[i], "\" needs a value (--key value or key=value)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyScenarioFile(const std::string& path, sim::ClusterConfig& config) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--scenario \"", path, "\" is a directory; want a file of key=value lines"));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) {
    return absl::NotFoundError(
        absl::StrCat("cannot read scenario file \"", path, "\": ", std::strerror(errno)));
  }
  absl::StatusOr<sim::ClusterConfig> parsed = sim::ParseScenario(text.str(), config);
  if (!parsed.ok())
    return absl::Status(parsed.status().code(),
                        absl::StrCat(path, ": ", parsed.status().message()));
  config = *std::move(parsed);
  return absl::OkStatus();
}

template <typename T>
std::optional<std::string> FlagText(const absl::Flag<std::optional<T>>& flag) {
  const std::optional<T> value = absl::GetFlag(flag);
  if (!value.has_value()) return std::nullopt;
  if constexpr (std::is_same_v<T, examples::UnitDuration>) {
    return absl::FormatDuration(value->value);
  } else {
    return absl::StrCat(*value);
  }
}

// The setting flags that were given, as (scenario key, value) pairs.
std::vector<std::pair<std::string, std::string>> GivenSettings() {
  const std::pair<const char*, std::optional<std::string>> all[] = {
      {"name", FlagText(FLAGS_name)},
      {"instance-type", FlagText(FLAGS_instance_type)},
      {"nodes", FlagText(FLAGS_nodes)},
      {"workload", FlagText(FLAGS_workload)},
      {"mode", FlagText(FLAGS_mode)},
      {"policy", FlagText(FLAGS_policy)},
      {"warm-eni-target", FlagText(FLAGS_warm_eni_target)},
      {"warm-ip-target", FlagText(FLAGS_warm_ip_target)},
      {"minimum-ip-target", FlagText(FLAGS_minimum_ip_target)},
      {"warm-prefix-target", FlagText(FLAGS_warm_prefix_target)},
      {"max-pods", FlagText(FLAGS_max_pods)},
      {"max-eni", FlagText(FLAGS_max_eni)},
      {"ip-cooldown", FlagText(FLAGS_ip_cooldown)},
      {"placement", FlagText(FLAGS_placement)},
      {"seed", FlagText(FLAGS_seed)},
      {"duration", FlagText(FLAGS_duration)},
      {"warmup", FlagText(FLAGS_warmup)},
      {"sample-interval", FlagText(FLAGS_sample_interval)},
      {"throttle", FlagText(FLAGS_throttle)},
      {"latency", FlagText(FLAGS_latency)},
      {"autoscaler", FlagText(FLAGS_autoscaler)},
      {"launch-delay", FlagText(FLAGS_launch_delay)},
      {"scale-down-unneeded", FlagText(FLAGS_scale_down_unneeded)},
      {"scale-down-utilization", FlagText(FLAGS_scale_down_utilization)},
      {"autoscaler-interval", FlagText(FLAGS_autoscaler_interval)},
      {"drain-time", FlagText(FLAGS_drain_time)},
      {"reconcile-interval", FlagText(FLAGS_reconcile_interval)},
      {"pool-check-interval", FlagText(FLAGS_pool_check_interval)},
      {"kubelet-backoff", FlagText(FLAGS_kubelet_backoff)},
      {"subnet-discovery", FlagText(FLAGS_subnet_discovery)},
      {"leaked-eni-sweep", FlagText(FLAGS_leaked_eni_sweep)},
      {"node-thread", FlagText(FLAGS_node_thread)},
  };
  std::vector<std::pair<std::string, std::string>> given;
  for (const auto& [key, value] : all) {
    if (value.has_value()) given.emplace_back(key, *value);
  }
  return given;
}

// Builds the options from the parsed flags (see the file comment for the order).
absl::StatusOr<Options> OptionsFromFlags() {
  Options options;
  if (const std::string path = absl::GetFlag(FLAGS_scenario); !path.empty()) {
    ENIPOOL_RETURN_IF_ERROR(ApplyScenarioFile(path, options.base));
  }
  for (const auto& [key, value] : GivenSettings()) {
    if (absl::Status s = sim::ApplySetting(options.base, key, value); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("--", key, ": ", s.message()));
    }
  }
  // The repeatable settings, ';'-separated in one flag: a flag replaces the
  // scenario file's list.
  const auto apply_list = [&](const std::optional<std::string>& list, const char* key,
                              const std::function<void()>& clear) -> absl::Status {
    if (!list.has_value()) return absl::OkStatus();
    clear();
    for (absl::string_view item : absl::StrSplit(*list, ';', absl::SkipWhitespace())) {
      if (absl::Status s = sim::ApplySetting(options.base, key, item); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("--", key, ": ", s.message()));
      }
    }
    return absl::OkStatus();
  };
  ENIPOOL_RETURN_IF_ERROR(apply_list(absl::GetFlag(FLAGS_subnet), "subnet",
                                     [&] { options.base.subnets.clear(); }));
  ENIPOOL_RETURN_IF_ERROR(apply_list(absl::GetFlag(FLAGS_node_group), "node-group",
                                     [&] { options.base.node_groups.clear(); }));
  ENIPOOL_RETURN_IF_ERROR(apply_list(absl::GetFlag(FLAGS_fault), "fault",
                                     [&] { options.base.faults.Clear(); }));
  absl::flat_hash_set<std::string> names;
  for (absl::string_view entry :
       absl::StrSplit(absl::GetFlag(FLAGS_compare), ';', absl::SkipWhitespace())) {
    const auto colon = entry.find(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad --compare entry \"", entry, "\": want name:settings, e.g. pd:--mode prefix"));
    }
    const std::string name(absl::StripAsciiWhitespace(entry.substr(0, colon)));
    if (!names.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--compare names \"", name, "\" twice: each run needs its own name"));
    }
    options.compare.emplace_back(name, std::string(entry.substr(colon + 1)));
  }
  options.csv = absl::GetFlag(FLAGS_csv);
  options.series_csv = absl::GetFlag(FLAGS_series_csv);
  options.svg = absl::GetFlag(FLAGS_svg);
  options.idle_svg = absl::GetFlag(FLAGS_idle_svg);
  options.progress = absl::GetFlag(FLAGS_progress);
  return options;
}

// The bare run: a small comparison of three policies under churn.
Options DefaultComparison() {
  Options options;
  options.base.nodes = 20;
  options.base.duration = absl::Minutes(30);
  options.base.sample_interval = absl::Seconds(10);
  (void)sim::ApplySetting(options.base, "workload", "churn:1,5m,exponential;initial=300");
  options.compare = {
      {"WARM_ENI_TARGET=1", "--mode secondary-ip"},
      {"WARM_IP_TARGET=5", "--mode secondary-ip --warm-ip-target 5 --minimum-ip-target 10"},
      {"WARM_PREFIX_TARGET=1", "--mode prefix"}};
  return options;
}

int Main(int argc, char** argv) {
  absl::StatusOr<Options> parsed;
  if (argc == 1) {
    parsed = DefaultComparison();
  } else {
    if (!examples::ParseFlagsOrExit(argc, argv, kUsage, "simulate.cpp", {{"workload", " + "}})) {
      return 1;
    }
    parsed = OptionsFromFlags();
  }
  if (!parsed.ok()) {
    std::cerr << "simulate: " << parsed.status().message() << "\n(--help for usage)\n";
    return 1;
  }
  Options& options = *parsed;
  std::vector<sim::ClusterConfig> configs;
  if (options.compare.empty()) {
    configs.push_back(options.base);
  } else {
    for (const auto& [name, settings] : options.compare) {
      sim::ClusterConfig config = options.base;
      config.name = name;
      const std::vector<std::string> tokens = absl::StrSplit(settings, ' ', absl::SkipWhitespace());
      if (absl::Status s = ApplyTokens(tokens, config); !s.ok()) {
        std::cerr << "simulate: --compare entry \"" << name << "\": " << s.message() << "\n";
        return 1;
      }
      configs.push_back(std::move(config));
    }
  }
  // Check every run's scenario and open every output before the first run.
  for (sim::ClusterConfig config : configs) {
    if (absl::Status s = sim::ResolveConfig(config); !s.ok()) {
      std::cerr << "simulate: scenario \"" << config.name << "\": " << s.message() << "\n";
      return 1;
    }
  }
  std::vector<std::pair<examples::OutputFile, int>> outputs;  // file, which text
  for (const auto& [path, which] :
       {std::pair{options.csv, 0}, std::pair{options.series_csv, 1}, std::pair{options.svg, 2},
        std::pair{options.idle_svg, 3}}) {
    if (path.empty()) continue;
    absl::StatusOr<examples::OutputFile> file = examples::OutputFile::Open(path);
    if (!file.ok()) {
      std::cerr << "simulate: " << file.status().message() << "\n";
      return 1;
    }
    outputs.emplace_back(*std::move(file), which);
  }
  const bool show_progress = options.progress || isatty(STDERR_FILENO) != 0;
  std::vector<sim::RunReport> reports;
  for (const sim::ClusterConfig& config : configs) {
    auto cluster = sim::Cluster::Create(config);
    if (!cluster.ok()) {
      std::cerr << "simulate: scenario \"" << config.name << "\": " << cluster.status().message()
                << "\n";
      return 1;
    }
    if (show_progress) {
      const std::string name = config.name;
      (*cluster)->SetProgress(
          [name](double done) {
            std::fprintf(stderr, "\r%s: %3.0f%% simulated", name.c_str(), done * 100);
            std::fflush(stderr);
          },
          1 << 18);
    }
    absl::StatusOr<sim::RunReport> report = (*cluster)->Run();
    if (show_progress) std::fprintf(stderr, "\r%s: done          \n", config.name.c_str());
    if (!report.ok()) {
      std::cerr << "simulate: scenario \"" << config.name << "\" failed: " << report.status()
                << "\n";
      return 1;
    }
    reports.push_back(*std::move(report));
  }
  for (const sim::RunReport& report : reports)
    std::cout << report.name << ": " << report.description << "\n";
  std::cout << "\n";
  sim::PrintTable(std::cout, reports);
  for (auto& [file, which] : outputs) {
    std::ostringstream text;
    if (which == 0) sim::WriteSummaryCsv(text, reports);
    if (which == 1) sim::WriteSamplesCsv(text, reports);
    if (which == 2) text << sim::RenderReadyPodsSvg(reports);
    if (which == 3) text << sim::RenderIdleAddressesSvg(reports);
    if (absl::Status s = file.WriteAndClose(text.str()); !s.ok()) {
      std::cerr << "simulate: " << s.message() << "\n";
      return 1;
    }
    std::cout << "wrote " << file.path() << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
