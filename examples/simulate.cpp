// enipool_example_simulate: run warm-pool policies on a simulated cluster and
// compare them side by side.
//
//   enipool_example_simulate                          # a small default comparison
//   enipool_example_simulate --nodes 50 --workload churn:5,10m,exponential
//       --duration 2h --compare "eni1:--mode secondary-ip;pd1:--mode prefix"
//       --csv out.csv --svg out.svg
//   enipool_example_simulate --scenario my.scenario   # key=value lines
//
// Every flag is a scenario setting (see enipool/sim/scenario.h): `--key value`
// or `--key=value` on the command line, `key=value` in a scenario file. The
// flags before --compare make the base scenario; each comparison entry
// "name:settings" is applied on top of it.

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "enipool/sim/charts.h"
#include "enipool/sim/cluster.h"
#include "enipool/sim/report.h"
#include "enipool/sim/scenario.h"

namespace {

namespace sim = enipool::sim;

constexpr const char* kUsage =
    R"(usage: enipool_example_simulate [settings] [--compare "name:settings;..."]
                                [--scenario FILE] [--csv FILE] [--series-csv FILE] [--svg FILE]
                                [--progress]

Settings (--key value, --key=value, or key=value lines in a scenario file):
  --name LABEL              label of the run
  --instance-type TYPE      e.g. m5.large (default)
  --nodes N                 node count (default 10)
  --subnet CIDR[,reserve=CIDR]   repeat for several subnets (default 10.0.0.0/16)
  --workload SPEC           burst:N[@start] | churn:RATE,LIFETIME[,exponential|lognormal[,sigma]][;initial=N]
                            | daily:RATE,AMPLITUDE,LIFETIME[,DIST] | trace:FILE.csv (time,node,pod,add|delete)
  --mode secondary-ip|prefix
  --warm-eni-target N  --warm-ip-target N  --minimum-ip-target N  --warm-prefix-target N
  --max-pods N  --max-eni N  --ip-cooldown 30s  --placement best-fit|spread|first-fit
  --seed N  --duration 5m  --sample-interval 5s  --throttle on|off  --latency default|zero

Output:
  --compare "a:--mode secondary-ip;b:--mode prefix --warm-prefix-target 2"
                            run each entry on top of the base settings, side by side
  --csv FILE                one summary row per run
  --series-csv FILE         the time series of every run
  --svg FILE                pods ready over time, one line per run
  --progress                progress on stderr (default: only when stderr is a terminal)
)";

struct Options {
  sim::ClusterConfig base;
  std::vector<std::pair<std::string, std::string>> compare;  // name, settings
  std::string csv, series_csv, svg;
  bool progress = false;
  bool help = false;
};

// Splits "--key value", "--key=value" and "key=value" tokens into settings
// applied to `config`.
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
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read scenario file \"", path, "\""));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<sim::ClusterConfig> parsed = sim::ParseScenario(text.str(), config);
  if (!parsed.ok())
    return absl::Status(parsed.status().code(),
                        absl::StrCat(path, ": ", parsed.status().message()));
  config = *std::move(parsed);
  return absl::OkStatus();
}

absl::StatusOr<Options> ParseArgs(int argc, char** argv) {
  Options options;
  std::vector<std::string> settings;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&](absl::string_view name) -> absl::StatusOr<std::string> {
      if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat(name, " needs a value"));
      return std::string(argv[++i]);
    };
    if (arg == "--help" || arg == "-h") {
      options.help = true;
    } else if (arg == "--progress") {
      options.progress = true;
    } else if (arg == "--compare") {
      ENIPOOL_ASSIGN_OR_RETURN(const std::string spec, value(arg));
      for (absl::string_view entry : absl::StrSplit(spec, ';', absl::SkipWhitespace())) {
        const auto colon = entry.find(':');
        if (colon == absl::string_view::npos || colon == 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              "bad --compare entry \"", entry, "\": want name:settings, e.g. pd:--mode prefix"));
        }
        options.compare.emplace_back(std::string(entry.substr(0, colon)),
                                     std::string(entry.substr(colon + 1)));
      }
    } else if (arg == "--scenario") {
      ENIPOOL_ASSIGN_OR_RETURN(const std::string path, value(arg));
      ENIPOOL_RETURN_IF_ERROR(ApplyTokens(settings, options.base));  // earlier flags first
      settings.clear();
      ENIPOOL_RETURN_IF_ERROR(ApplyScenarioFile(path, options.base));
    } else if (arg == "--csv") {
      ENIPOOL_ASSIGN_OR_RETURN(options.csv, value(arg));
    } else if (arg == "--series-csv") {
      ENIPOOL_ASSIGN_OR_RETURN(options.series_csv, value(arg));
    } else if (arg == "--svg") {
      ENIPOOL_ASSIGN_OR_RETURN(options.svg, value(arg));
    } else {
      settings.push_back(arg);
    }
  }
  ENIPOOL_RETURN_IF_ERROR(ApplyTokens(settings, options.base));
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

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write \"", path, "\""));
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  absl::StatusOr<Options> parsed =
      argc == 1 ? absl::StatusOr<Options>(DefaultComparison()) : ParseArgs(argc, argv);
  if (!parsed.ok()) {
    std::cerr << "simulate: " << parsed.status().message() << "\n(--help for usage)\n";
    return 2;
  }
  Options& options = *parsed;
  if (options.help) {
    std::cout << kUsage;
    return 0;
  }
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
        return 2;
      }
      configs.push_back(std::move(config));
    }
  }
  const bool show_progress = options.progress || isatty(STDERR_FILENO) != 0;
  std::vector<sim::RunReport> reports;
  for (const sim::ClusterConfig& config : configs) {
    auto cluster = sim::Cluster::Create(config);
    if (!cluster.ok()) {
      std::cerr << "simulate: scenario \"" << config.name << "\": " << cluster.status().message()
                << "\n";
      return 2;
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
  std::ostringstream csv, series;
  sim::WriteSummaryCsv(csv, reports);
  sim::WriteSamplesCsv(series, reports);
  for (const auto& [path, text] :
       {std::pair{options.csv, csv.str()}, std::pair{options.series_csv, series.str()},
        std::pair{options.svg, sim::RenderReadyPodsSvg(reports)}}) {
    if (path.empty()) continue;
    if (absl::Status s = WriteFile(path, text); !s.ok()) {
      std::cerr << "simulate: " << s.message() << "\n";
      return 1;
    }
    std::cout << "wrote " << path << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
