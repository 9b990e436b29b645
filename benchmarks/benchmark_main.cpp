// The shared main() of the benchmark executables: see benchmark_main.h.

#include "benchmark_main.h"

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
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

// A large simulated cluster is bound by address translation as much as by
// the cache: 100,000 nodes' state is ~6 GB touched at random, a TLB miss
// per access with 4 KiB pages. glibc (2.35 and later) can back malloc's
// memory with transparent huge pages, but only through the
// glibc.malloc.hugetlb tunable, which it reads at start-up; so the process
// runs itself again once with it set, if the kernel hands out huge pages
// on request ("[madvise]" or "[always]"). ENIPOOL_BENCHMARK_HUGE_PAGES=0
// runs with 4 KiB pages (for the comparison); baselines run in the same
// process either way, so ratios compare like with like.
constexpr const char kHugePagesTunable[] = "glibc.malloc.hugetlb=1";

// Whether this process's malloc was started with the tunable.
bool MallocOnHugePages() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables != nullptr && std::strstr(tunables, kHugePagesTunable) != nullptr;
}

void RerunWithHugePages(char** argv) {
  if (std::getenv("ENIPOOL_BENCHMARK_HUGE_PAGES") != nullptr) return;  // chosen, or done
  if (MallocOnHugePages()) return;  // set by whoever started us
  std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(thp, modes);
  if (modes.find("[madvise]") == std::string::npos && modes.find("[always]") == std::string::npos) {
    return;
  }
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  std::string value = tunables != nullptr && *tunables != '\0' ? std::string(tunables) + ":" : "";
  value += kHugePagesTunable;
  if (setenv("GLIBC_TUNABLES", value.c_str(), 1) != 0 ||
      setenv("ENIPOOL_BENCHMARK_HUGE_PAGES", "1", 1) != 0) {
    return;
  }
  execv("/proc/self/exe", argv);  // returns only on failure: run on as we are
}

}  // namespace

int main(int argc, char** argv) {
  RerunWithHugePages(argv);
  benchmark::AddCustomContext("malloc_huge_pages", MallocOnHugePages() ? "yes" : "no");
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
