// The shared main() of the benchmark executables: see benchmark_main.h.

#include "benchmark_main.h"

#include <benchmark/benchmark.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <string>

namespace {

// The display reporter --benchmark_format asks for (1.7.1 offers no public
// factory for it; its csv format is deprecated and not offered here).
std::unique_ptr<benchmark::BenchmarkReporter> DisplayReporter(int argc, char** argv) {
  std::string format = "console";
  for (int i = 1; i < argc; ++i) {
    constexpr const char kFlag[] = "--benchmark_format=";
    if (std::strncmp(argv[i], kFlag, sizeof(kFlag) - 1) == 0) format = argv[i] + sizeof(kFlag) - 1;
  }
  if (format == "json") return std::make_unique<benchmark::JSONReporter>();
  return std::make_unique<benchmark::ConsoleReporter>();
}

}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<benchmark::BenchmarkReporter> display = DisplayReporter(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  enipool::benchmarks::ErrorTrackingReporter reporter(std::move(display));
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (!reporter.failed().empty()) {
    std::cerr << reporter.failed().size() << " benchmark(s) failed:\n";
    for (const std::string& failure : reporter.failed()) std::cerr << "  " << failure << "\n";
    return 1;
  }
  return 0;
}
