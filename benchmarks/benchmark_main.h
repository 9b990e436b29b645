// A main() for the benchmark executables that fails the run when a benchmark
// fails. Google Benchmark 1.7.1's BENCHMARK_MAIN exits 0 even after
// State::SkipWithError(), so a broken result check or a failed setup would
// pass the CTest smoke runs unseen. Here every run passes through a reporter
// that notes errors before handing the run to the reporter the flags ask for
// (console or json); main() exits 1 if any benchmark reported one.
//
// Benchmarks report a failed check or setup with SkipWithError() (which stops
// their loop) and return; they do not discard a setup status.
//
// main() also runs the process again, once, with glibc's malloc backing its
// memory with transparent huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1)
// when the kernel offers them on request: a simulated cluster of 100,000
// nodes is bound by TLB misses otherwise. The run's context says which
// ("malloc_huge_pages"); ENIPOOL_BENCHMARK_HUGE_PAGES=0 turns it off.

#ifndef ENIPOOL_BENCHMARKS_BENCHMARK_MAIN_H_
#define ENIPOOL_BENCHMARKS_BENCHMARK_MAIN_H_

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace enipool::benchmarks {

// Ok()
//
// True if `status` is OK; otherwise fails the benchmark with "<what>: <status>"
// (SkipWithError: its loop stops) and returns false, so callers return.
inline bool Ok(benchmark::State& state, const absl::Status& status, const char* what) {
  if (status.ok()) return true;
  state.SkipWithError(absl::StrCat(what, ": ", status.ToString()).c_str());
  return false;
}

// ErrorTrackingReporter
//
// Forwards everything to `inner` and remembers which benchmarks reported an
// error.
class ErrorTrackingReporter : public benchmark::BenchmarkReporter {
 public:
  explicit ErrorTrackingReporter(std::unique_ptr<benchmark::BenchmarkReporter> inner)
      : inner_(std::move(inner)) {}

  bool ReportContext(const Context& context) override { return inner_->ReportContext(context); }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) failed_.push_back(run.benchmark_name() + ": " + run.error_message);
    }
    inner_->ReportRuns(runs);
  }
  void Finalize() override { inner_->Finalize(); }

  [[nodiscard]] const std::vector<std::string>& failed() const { return failed_; }

 private:
  std::unique_ptr<benchmark::BenchmarkReporter> inner_;
  std::vector<std::string> failed_;
};

}  // namespace enipool::benchmarks

#endif  // ENIPOOL_BENCHMARKS_BENCHMARK_MAIN_H_
