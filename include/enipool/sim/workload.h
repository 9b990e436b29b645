// -----------------------------------------------------------------------------
// File: sim/workload.h
// -----------------------------------------------------------------------------
//
// Seeded pod workloads for the cluster simulator: what pods are created and
// deleted when. Four shapes:
//
//   * BurstWorkload  — N pods created at one instant (a Deployment scaled out);
//   * ChurnWorkload  — steady churn: Poisson arrivals at a fixed rate, each
//                      pod living for a time drawn from a distribution
//                      (fixed, exponential or lognormal);
//   * DailyWorkload  — Poisson arrivals whose rate follows a 24 h cosine
//                      (quiet at night, peak in the afternoon);
//   * DeploymentsWorkload — bursty deployments: Deployments rolled out at
//                      Poisson times, each creating its pods at once;
//   * TraceWorkload  — a recorded trace replayed from CSV lines
//                      `time,node,pod,add|delete[,cpu[,memory]]`.
//
// A `WorkloadGenerator` turns a spec and a seed into a stream of `PodEvent`s
// in time order, lazily (a day of a 5,000-node cluster is millions of pods;
// nothing is generated ahead). It draws from its own std::mt19937_64, so two
// policies simulated with one seed see exactly the same pods: a comparison
// measures the policy, not the dice.
//
// Generated pods carry no node: the cluster's scheduler places them (see
// sim/cluster.h). Trace pods name their node (kubelet admits them there when
// it has room) or "-" (the scheduler places them). Every shape may give its
// pods CPU and memory requests (PodRequests, sim/scheduler.h).
//
// Example:
//
//   ENIPOOL_ASSIGN_OR_RETURN(enipool::sim::WorkloadSpec spec,
//                            enipool::sim::ParseWorkloadSpec("churn:5,10m,exponential"));
//   enipool::sim::WorkloadGenerator generator(spec, /*seed=*/1);
//   while (auto event = generator.Next()) {
//     // event->at, event->type (kAdd / kDelete), event->pod, event->lifetime_ns
//   }

#ifndef ENIPOOL_SIM_WORKLOAD_H_
#define ENIPOOL_SIM_WORKLOAD_H_

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <numbers>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "enipool/sim/scheduler.h"
#include "enipool/status.h"

namespace enipool::sim {

// -----------------------------------------------------------------------------
// Small seeded distributions (written out, so a seed means the same numbers
// with any standard library)
// -----------------------------------------------------------------------------

}  // namespace enipool::sim

namespace enipool::internal {

// A double uniform in [0, 1) from the top 53 bits.
inline double SimUniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

// Exponential with the given mean (inverse transform).
inline double SimExponential(std::mt19937_64& rng, double mean) {
  return -mean * std::log1p(-SimUniform01(rng));
}

// Standard normal (Box–Muller; one of the pair is dropped, which keeps the
// generator stateless and the stream easy to reason about).
inline double SimStandardNormal(std::mt19937_64& rng) {
  const double u1 = 1.0 - SimUniform01(rng);  // (0, 1]
  const double u2 = SimUniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

// An integer in [0, n), n > 0 (modulo: the bias, below n / 2^64, is
// irrelevant here, and the result is the same on every platform).
inline std::uint64_t SimUniformIndex(std::mt19937_64& rng, std::uint64_t n) { return rng() % n; }

// Mixes a seed with a stream number so that independent streams of one run
// (workload, scheduler, jitter, EC2) do not share numbers (SplitMix64).
inline std::uint64_t SimStreamSeed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// "12.5" (seconds) or an absl duration ("1m30s", "250ms").
inline std::optional<absl::Duration> ParseSecondsOrDuration(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds) && std::isfinite(seconds)) return absl::Seconds(seconds);
  absl::Duration d;
  if (absl::ParseDuration(std::string(text), &d) && d != absl::InfiniteDuration() &&
      d != -absl::InfiniteDuration()) {
    return d;
  }
  return std::nullopt;
}

}  // namespace enipool::internal

namespace enipool::sim {

// -----------------------------------------------------------------------------
// Specs
// -----------------------------------------------------------------------------

// Lifetime
//
// How long a generated pod lives, from creation to deletion.
//   kForever     — never deleted (a scale-out);
//   kFixed       — exactly `mean`;
//   kExponential — exponential with mean `mean` (memoryless: the natural
//                  model of independent deletions);
//   kLogNormal   — lognormal with mean `mean` and log-space standard
//                  deviation `sigma` (heavy right tail: most pods short, a
//                  few long, as batch-heavy clusters look).
struct Lifetime {
  enum class Kind { kForever, kFixed, kExponential, kLogNormal };
  Kind kind = Kind::kForever;
  absl::Duration mean = absl::ZeroDuration();
  double sigma = 1.0;
  friend bool operator==(const Lifetime&, const Lifetime&) = default;
};

// BurstWorkload
//
// `pods` pods created at `at` (from the start of the run).
struct BurstWorkload {
  int pods = 0;
  absl::Duration at = absl::ZeroDuration();
  Lifetime lifetime;
  PodRequests requests;
  friend bool operator==(const BurstWorkload&, const BurstWorkload&) = default;
};

// ChurnWorkload
//
// Poisson arrivals, `arrivals_per_second` across the whole cluster, each pod
// living for a draw of `lifetime`. `initial_pods` pods are created at time 0
// (lifetimes drawn the same way) so a run can start near steady state: by
// Little's law the steady population is rate × mean lifetime.
struct ChurnWorkload {
  double arrivals_per_second = 0;
  Lifetime lifetime{Lifetime::Kind::kExponential, absl::Minutes(10), 1.0};
  int initial_pods = 0;
  PodRequests requests;
  friend bool operator==(const ChurnWorkload&, const ChurnWorkload&) = default;
};

// DailyWorkload
//
// Poisson arrivals whose rate follows a day:
//   rate(t) = mean × (1 + amplitude × cos(2π (t − peak_at) / 24 h)),
// amplitude in [0, 1]. Sampled by thinning (Lewis–Shedler), exact for any
// amplitude.
struct DailyWorkload {
  double mean_arrivals_per_second = 0;
  double amplitude = 0.5;
  absl::Duration peak_at = absl::Hours(14);
  Lifetime lifetime{Lifetime::Kind::kExponential, absl::Minutes(30), 1.0};
  int initial_pods = 0;
  PodRequests requests;
  friend bool operator==(const DailyWorkload&, const DailyWorkload&) = default;
};

// DeploymentsWorkload
//
// Deployments rolled out at Poisson times, `per_hour` an hour on average,
// each creating `pods` pods at one instant, every pod living for a draw of
// `lifetime` (batch jobs, preview environments, CI fan-outs).
struct DeploymentsWorkload {
  double per_hour = 0;
  int pods = 0;
  Lifetime lifetime{Lifetime::Kind::kExponential, absl::Minutes(20), 1.0};
  PodRequests requests;
  friend bool operator==(const DeploymentsWorkload&, const DeploymentsWorkload&) = default;
};

// TraceRecord
//
// One line of a trace: at `at`, pod `pod` is added to or deleted from node
// `node` (a 0-based node index; -1: the scheduler places it), requesting
// `requests`. `line` is the 1-based source line.
struct TraceRecord {
  absl::Duration at;
  int node = 0;
  std::string pod;
  bool add = true;
  int line = 0;
  PodRequests requests;
  friend bool operator==(const TraceRecord&, const TraceRecord&) = default;
};

// TraceWorkload
//
// A parsed trace (see ParseTrace()).
struct TraceWorkload {
  std::vector<TraceRecord> records;
  friend bool operator==(const TraceWorkload&, const TraceWorkload&) = default;
};

using WorkloadSpec =
    std::variant<BurstWorkload, ChurnWorkload, DailyWorkload, TraceWorkload, DeploymentsWorkload>;

// -----------------------------------------------------------------------------
// Parsing
// -----------------------------------------------------------------------------

// ParseTrace()
//
// Parses CSV text, one event per line: `time,node,pod,add|delete[,cpu[,memory]]`.
//   time   — seconds ("12.5") or a duration ("1m30s"), from the run start;
//   node   — 0-based node index, or "-" (or "*"): the scheduler places the pod;
//   pod    — any name without commas; unique among running pods;
//   action — "add" or "delete" (also "del");
//   cpu    — the pod's CPU request, a Kubernetes quantity ("250m", "0.5");
//            empty or absent: none;
//   memory — its memory request ("512Mi", "1Gi"); empty or absent: none.
// Blank lines, lines starting with '#', and a first line starting with
// "time" (a header) are skipped. Times must not decrease.
// INVALID_ARGUMENT naming the line and the bad field: wrong field count, bad
// time, negative or non-numeric node, empty pod, bad action, a time before
// the previous line's, an add of a pod already running, a delete of a pod
// not running.
[[nodiscard]] inline absl::StatusOr<TraceWorkload> ParseTrace(absl::string_view text) {
  TraceWorkload trace;
  absl::flat_hash_map<std::string, bool> running;
  absl::Duration previous = absl::ZeroDuration();
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    if (trace.records.empty() && absl::StartsWithIgnoreCase(line, "time")) continue;
    const std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    const auto error = [&](auto&&... parts) {
      return absl::InvalidArgumentError(absl::StrCat("trace line ", line_number, ": ", parts...));
    };
    if (fields.size() < 4 || fields.size() > 6) {
      return error("expected 4 to 6 fields (time,node,pod,add|delete[,cpu[,memory]]), got ",
                   fields.size(), ": \"", line, "\"");
    }
    TraceRecord record;
    record.line = line_number;
    const auto at = internal::ParseSecondsOrDuration(fields[0]);
    if (!at.has_value() || *at < absl::ZeroDuration()) {
      return error("bad time \"", fields[0],
                   "\": want non-negative seconds (12.5) or a duration (1m30s)");
    }
    record.at = *at;
    if (record.at < previous) {
      return error("time ", absl::FormatDuration(record.at), " is before the previous line's ",
                   absl::FormatDuration(previous), " (traces must be in time order)");
    }
    const absl::string_view node = absl::StripAsciiWhitespace(fields[1]);
    if (node == "-" || node == "*") {
      record.node = -1;
    } else if (!absl::SimpleAtoi(node, &record.node) || record.node < 0) {
      return error("bad node \"", fields[1], "\": want a node index 0, 1, 2, ... or - (any node)");
    }
    if (fields.size() >= 5 && !absl::StripAsciiWhitespace(fields[4]).empty()) {
      const std::optional<std::int64_t> cpu = ParseCpuQuantity(fields[4]);
      if (!cpu.has_value()) return error("bad cpu request \"", fields[4], "\": want 250m or 0.5");
      record.requests.cpu_millis = *cpu;
    }
    if (fields.size() == 6 && !absl::StripAsciiWhitespace(fields[5]).empty()) {
      const std::optional<std::int64_t> memory = ParseMemoryQuantity(fields[5]);
      if (!memory.has_value()) {
        return error("bad memory request \"", fields[5], "\": want 512Mi or 1Gi");
      }
      record.requests.memory_mib = *memory;
    }
    record.pod = std::string(absl::StripAsciiWhitespace(fields[2]));
    if (record.pod.empty()) return error("empty pod name");
    const std::string action = absl::AsciiStrToLower(absl::StripAsciiWhitespace(fields[3]));
    if (action == "add") {
      record.add = true;
    } else if (action == "delete" || action == "del") {
      record.add = false;
    } else {
      return error("bad action \"", fields[3], "\": want add or delete");
    }
    bool& is_running = running[record.pod];
    if (record.add && is_running) return error("pod ", QuoteInput(record.pod), " is added twice");
    if (!record.add && !is_running) {
      return error("delete of pod ", QuoteInput(record.pod), ", which is not running");
    }
    is_running = record.add;
    previous = record.at;
    trace.records.push_back(std::move(record));
  }
  return trace;
}

// ReadTraceFile()
//
// ParseTrace() on a file's contents; NOT_FOUND if it cannot be read. Error
// messages start with the path.
[[nodiscard]] inline absl::StatusOr<TraceWorkload> ReadTraceFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read trace file ", QuoteInput(path)));
  std::stringstream buffer;
  buffer << in.rdbuf();
  absl::StatusOr<TraceWorkload> trace = ParseTrace(buffer.str());
  if (!trace.ok()) {
    return absl::Status(trace.status().code(), absl::StrCat(path, ": ", trace.status().message()));
  }
  return trace;
}

// ParseLifetime()
//
// "forever", "<duration>" (fixed), "<duration>,exponential" or
// "<duration>,lognormal[,sigma]"; the duration is the mean. INVALID_ARGUMENT
// naming the bad part.
[[nodiscard]] inline absl::StatusOr<Lifetime> ParseLifetime(absl::string_view text) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  Lifetime lifetime;
  if (parts.size() == 1 && absl::StripAsciiWhitespace(parts[0]) == "forever") return lifetime;
  const auto mean = internal::ParseSecondsOrDuration(parts[0]);
  if (!mean.has_value() || *mean <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad lifetime \"", parts[0], "\": want a positive duration (10m) or forever"));
  }
  lifetime.mean = *mean;
  lifetime.kind = Lifetime::Kind::kFixed;
  if (parts.size() >= 2) {
    const absl::string_view kind = absl::StripAsciiWhitespace(parts[1]);
    if (kind == "fixed") {
      lifetime.kind = Lifetime::Kind::kFixed;
    } else if (kind == "exponential" || kind == "exp") {
      lifetime.kind = Lifetime::Kind::kExponential;
    } else if (kind == "lognormal") {
      lifetime.kind = Lifetime::Kind::kLogNormal;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("bad lifetime distribution \"", kind,
                                                     "\": want fixed, exponential or lognormal"));
    }
  }
  if (parts.size() >= 3) {
    if (lifetime.kind != Lifetime::Kind::kLogNormal ||
        !absl::SimpleAtod(absl::StripAsciiWhitespace(parts[2]), &lifetime.sigma) ||
        !(lifetime.sigma > 0) || !std::isfinite(lifetime.sigma)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad lifetime sigma \"", parts[2], "\": only lognormal takes one, > 0"));
    }
  }
  if (parts.size() > 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad lifetime ", QuoteInput(text), ": too many parts"));
  }
  return lifetime;
}

// ParseWorkloadSpec()
//
// The command-line form of a workload:
//   burst:N[@start]                      N pods at once (at `start`, default 0)
//   churn:RATE,LIFETIME[,DIST[,SIGMA]][;initial=N]
//                                        RATE pods/s cluster-wide
//   daily:RATE,AMPLITUDE,LIFETIME[,DIST[,SIGMA]][;initial=N]
//                                        mean RATE pods/s, peak at 14:00
//   deployments:PER_HOUR,PODS,LIFETIME[,DIST[,SIGMA]]
//                                        PODS at once, PER_HOUR times an hour
//   trace:FILE.csv                       replay (see ParseTrace())
// A generated workload may end with ";cpu=Q" and ";memory=Q", the
// requests of each of its pods (Kubernetes quantities: 250m, 0.5; 512Mi,
// 1Gi); a trace gives them per line.
// INVALID_ARGUMENT naming the bad part.
[[nodiscard]] inline absl::StatusOr<WorkloadSpec> ParseWorkloadSpec(absl::string_view text) {
  const auto colon = text.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad workload \"", text,
        "\": want burst:N, churn:RATE,LIFETIME, daily:RATE,AMPLITUDE,LIFETIME or trace:FILE"));
  }
  const absl::string_view kind = text.substr(0, colon);
  absl::string_view args = text.substr(colon + 1);
  int initial = 0;
  PodRequests requests;
  if (kind != "trace") {
    const std::vector<absl::string_view> options = absl::StrSplit(args, ';');
    args = options[0];
    for (std::size_t i = 1; i < options.size(); ++i) {
      absl::string_view option = absl::StripAsciiWhitespace(options[i]);
      if (absl::ConsumePrefix(&option, "initial=")) {
        if (!absl::SimpleAtoi(option, &initial) || initial < 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              "bad initial pod count in ", QuoteInput(text), ": want ;initial=N with N >= 0"));
        }
      } else if (absl::ConsumePrefix(&option, "cpu=")) {
        const std::optional<std::int64_t> cpu = ParseCpuQuantity(option);
        if (!cpu.has_value()) {
          return absl::InvalidArgumentError(
              absl::StrCat("bad cpu request in ", QuoteInput(text), ": want ;cpu=250m or ;cpu=0.5"));
        }
        requests.cpu_millis = *cpu;
      } else if (absl::ConsumePrefix(&option, "memory=")) {
        const std::optional<std::int64_t> memory = ParseMemoryQuantity(option);
        if (!memory.has_value()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "bad memory request in ", QuoteInput(text), ": want ;memory=512Mi or ;memory=1Gi"));
        }
        requests.memory_mib = *memory;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("bad workload option ", QuoteInput(options[i]), " in ", QuoteInput(text),
                         ": want initial=N, cpu=Q or memory=Q"));
      }
    }
  }
  if (kind == "burst") {
    BurstWorkload burst;
    absl::string_view count = args;
    if (const auto at = args.find('@'); at != absl::string_view::npos) {
      const auto start = internal::ParseSecondsOrDuration(args.substr(at + 1));
      if (!start.has_value() || *start < absl::ZeroDuration()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "bad burst start \"", args.substr(at + 1),
            "\": want burst:N@START with START >= 0, in seconds (90) or a duration (1m30s)"));
      }
      burst.at = *start;
      count = args.substr(0, at);
    }
    if (!absl::SimpleAtoi(count, &burst.pods) || burst.pods < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad burst size ", QuoteInput(count), ": want burst:N with N >= 0"));
    }
    burst.requests = requests;
    return WorkloadSpec(burst);
  }
  if (kind == "churn" || kind == "daily") {
    const std::vector<absl::string_view> parts =
        absl::StrSplit(args, absl::MaxSplits(',', kind == "churn" ? 1 : 2));
    const std::size_t want = kind == "churn" ? 2 : 3;
    if (parts.size() != want) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad ", kind, " workload ", QuoteInput(text), ": want ",
          kind == "churn" ? "churn:RATE,LIFETIME[,DIST]" : "daily:RATE,AMPLITUDE,LIFETIME[,DIST]"));
    }
    double rate = 0;
    if (!absl::SimpleAtod(parts[0], &rate) || !(rate >= 0) || !std::isfinite(rate)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad arrival rate \"", parts[0], "\": want pods per second >= 0"));
    }
    absl::StatusOr<Lifetime> lifetime = ParseLifetime(parts.back());
    if (!lifetime.ok()) return lifetime.status();
    if (kind == "churn") {
      return WorkloadSpec(ChurnWorkload{rate, *lifetime, initial, requests});
    }
    double amplitude = 0;
    if (!absl::SimpleAtod(parts[1], &amplitude) || !(amplitude >= 0 && amplitude <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad daily amplitude \"", parts[1], "\": want a number in [0, 1]"));
    }
    return WorkloadSpec(
        DailyWorkload{rate, amplitude, absl::Hours(14), *lifetime, initial, requests});
  }
  if (kind == "deployments") {
    const std::vector<absl::string_view> parts = absl::StrSplit(args, absl::MaxSplits(',', 2));
    DeploymentsWorkload d;
    if (parts.size() != 3 || !absl::SimpleAtod(parts[0], &d.per_hour) || !(d.per_hour >= 0) ||
        !std::isfinite(d.per_hour) || !absl::SimpleAtoi(parts[1], &d.pods) || d.pods < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad deployments workload \"", text,
                       "\": want deployments:PER_HOUR,PODS,LIFETIME[,DIST] (numbers >= 0)"));
    }
    absl::StatusOr<Lifetime> lifetime = ParseLifetime(parts[2]);
    if (!lifetime.ok()) return lifetime.status();
    d.lifetime = *lifetime;
    d.requests = requests;
    return WorkloadSpec(d);
  }
  if (kind == "trace") {
    absl::StatusOr<TraceWorkload> trace = ReadTraceFile(std::string(args));
    if (!trace.ok()) return trace.status();
    return WorkloadSpec(*std::move(trace));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("bad workload kind \"", kind,
                   "\": want burst, churn, daily, deployments or trace"));
}

// ParseWorkloadSpecs()
//
// Several workloads run side by side, joined by '+' ("burst:200 +
// churn:2,10m"): each part as ParseWorkloadSpec() reads it. INVALID_ARGUMENT
// naming the bad part.
[[nodiscard]] inline absl::StatusOr<std::vector<WorkloadSpec>> ParseWorkloadSpecs(
    absl::string_view text) {
  std::vector<WorkloadSpec> specs;
  for (absl::string_view part : absl::StrSplit(text, '+')) {
    part = absl::StripAsciiWhitespace(part);
    absl::StatusOr<WorkloadSpec> spec = ParseWorkloadSpec(part);
    if (!spec.ok()) return spec.status();
    specs.push_back(*std::move(spec));
  }
  return specs;
}

// -----------------------------------------------------------------------------
// Generation
// -----------------------------------------------------------------------------

// PodEvent
//
// One workload happening, `at_ns` nanoseconds after the run start. For kAdd,
// `node` is the trace's node or -1 (the scheduler picks), `lifetime_ns`
// the time until the pod is deleted, or -1 (never, or the trace says when),
// and `requests` the pod's CPU and memory requests.
// `pod` is a dense id: 0, 1, 2, ... in order of first appearance.
struct PodEvent {
  enum class Type { kAdd, kDelete };
  std::int64_t at_ns = 0;
  Type type = Type::kAdd;
  std::uint64_t pod = 0;
  int node = -1;
  std::int64_t lifetime_ns = -1;
  PodRequests requests;
  friend bool operator==(const PodEvent&, const PodEvent&) = default;
};

// WorkloadGenerator
//
// Streams a WorkloadSpec's events in non-decreasing time, lazily. O(1) per
// event and O(1) memory, except a trace, which it walks in place (the
// spec must outlive the generator). Not thread-safe.
class WorkloadGenerator {
 public:
  WorkloadGenerator(const WorkloadSpec& spec, std::uint64_t seed)
      : spec_(&spec), rng_(internal::SimStreamSeed(seed, /*stream=*/1)) {
    if (const auto* trace = std::get_if<TraceWorkload>(spec_)) {
      trace_ids_.reserve(trace->records.size());
    }
  }

  // WorkloadGenerator::Next()
  //
  // The next event, or std::nullopt when the workload has no more (burst,
  // trace) — churn and daily never end; the caller stops at its horizon.
  std::optional<PodEvent> Next() {
    return std::visit([this](const auto& w) { return NextOf(w); }, *spec_);
  }

  // WorkloadGenerator::SampleLifetime()
  //
  // One draw of `lifetime` in nanoseconds (-1 for kForever).
  static std::int64_t SampleLifetime(const Lifetime& lifetime, std::mt19937_64& rng) {
    const double mean = absl::ToDoubleSeconds(lifetime.mean);
    double seconds = 0;
    switch (lifetime.kind) {
      case Lifetime::Kind::kForever:
        return -1;
      case Lifetime::Kind::kFixed:
        return absl::ToInt64Nanoseconds(lifetime.mean);
      case Lifetime::Kind::kExponential:
        seconds = internal::SimExponential(rng, mean);
        break;
      case Lifetime::Kind::kLogNormal: {
        // E[X] = exp(mu + sigma^2 / 2) = mean.
        const double mu = std::log(mean) - lifetime.sigma * lifetime.sigma / 2;
        seconds = std::exp(mu + lifetime.sigma * internal::SimStandardNormal(rng));
        break;
      }
    }
    return static_cast<std::int64_t>(seconds * 1e9);
  }

 private:
  std::optional<PodEvent> NextOf(const BurstWorkload& w) {
    if (next_pod_ >= static_cast<std::uint64_t>(w.pods)) return std::nullopt;
    return PodEvent{absl::ToInt64Nanoseconds(w.at), PodEvent::Type::kAdd, next_pod_++, -1,
                    SampleLifetime(w.lifetime, rng_), w.requests};
  }

  std::optional<PodEvent> NextOf(const ChurnWorkload& w) {
    if (next_pod_ < static_cast<std::uint64_t>(w.initial_pods)) {
      return PodEvent{0, PodEvent::Type::kAdd, next_pod_++, -1, SampleLifetime(w.lifetime, rng_),
                      w.requests};
    }
    if (!(w.arrivals_per_second > 0)) return std::nullopt;
    clock_s_ += internal::SimExponential(rng_, 1.0 / w.arrivals_per_second);
    return PodEvent{static_cast<std::int64_t>(clock_s_ * 1e9), PodEvent::Type::kAdd, next_pod_++,
                    -1, SampleLifetime(w.lifetime, rng_), w.requests};
  }

  std::optional<PodEvent> NextOf(const DailyWorkload& w) {
    if (next_pod_ < static_cast<std::uint64_t>(w.initial_pods)) {
      return PodEvent{0, PodEvent::Type::kAdd, next_pod_++, -1, SampleLifetime(w.lifetime, rng_),
                      w.requests};
    }
    const double peak_rate = w.mean_arrivals_per_second * (1 + w.amplitude);
    if (!(peak_rate > 0)) return std::nullopt;
    const double peak_s = absl::ToDoubleSeconds(w.peak_at);
    constexpr double kDay = 86400.0;
    for (;;) {  // thinning: candidates at the peak rate, kept with rate(t) / peak
      clock_s_ += internal::SimExponential(rng_, 1.0 / peak_rate);
      const double rate =
          w.mean_arrivals_per_second *
          (1 + w.amplitude * std::cos(2 * std::numbers::pi * (clock_s_ - peak_s) / kDay));
      if (internal::SimUniform01(rng_) * peak_rate < rate) break;
    }
    return PodEvent{static_cast<std::int64_t>(clock_s_ * 1e9), PodEvent::Type::kAdd, next_pod_++,
                    -1, SampleLifetime(w.lifetime, rng_), w.requests};
  }

  std::optional<PodEvent> NextOf(const DeploymentsWorkload& w) {
    if (w.pods <= 0 || !(w.per_hour > 0)) return std::nullopt;
    if (left_in_burst_ == 0) {
      clock_s_ += internal::SimExponential(rng_, 3600.0 / w.per_hour);
      left_in_burst_ = w.pods;
    }
    --left_in_burst_;
    return PodEvent{static_cast<std::int64_t>(clock_s_ * 1e9), PodEvent::Type::kAdd, next_pod_++,
                    -1, SampleLifetime(w.lifetime, rng_), w.requests};
  }

  std::optional<PodEvent> NextOf(const TraceWorkload& w) {
    if (trace_index_ >= w.records.size()) return std::nullopt;
    const TraceRecord& record = w.records[trace_index_++];
    PodEvent event;
    event.at_ns = absl::ToInt64Nanoseconds(record.at);
    event.node = record.node;
    if (record.add) {
      event.type = PodEvent::Type::kAdd;
      event.pod = next_pod_++;
      event.requests = record.requests;
      trace_ids_[record.pod] = event.pod;
    } else {
      event.type = PodEvent::Type::kDelete;
      // ParseTrace() guarantees the pod is running.
      const auto it = trace_ids_.find(record.pod);
      event.pod = it == trace_ids_.end() ? 0 : it->second;
    }
    return event;
  }

  const WorkloadSpec* spec_;
  std::mt19937_64 rng_;
  std::uint64_t next_pod_ = 0;
  double clock_s_ = 0;
  int left_in_burst_ = 0;  // DeploymentsWorkload: pods of the current rollout still to create
  std::size_t trace_index_ = 0;
  absl::flat_hash_map<std::string, std::uint64_t> trace_ids_;
};

// WorkloadName()
//
// A short description for reports: "burst:300", "churn:5/s", ...
inline std::string WorkloadName(const WorkloadSpec& spec) {
  struct Namer {
    std::string operator()(const BurstWorkload& w) const { return absl::StrCat("burst:", w.pods); }
    std::string operator()(const ChurnWorkload& w) const {
      return absl::StrCat("churn:", w.arrivals_per_second, "/s,",
                          absl::FormatDuration(w.lifetime.mean));
    }
    std::string operator()(const DailyWorkload& w) const {
      return absl::StrCat("daily:", w.mean_arrivals_per_second, "/s,", w.amplitude);
    }
    std::string operator()(const DeploymentsWorkload& w) const {
      return absl::StrCat("deployments:", w.per_hour, "/h x ", w.pods);
    }
    std::string operator()(const TraceWorkload& w) const {
      return absl::StrCat("trace:", w.records.size(), " lines");
    }
  };
  return std::visit(Namer{}, spec);
}

}  // namespace enipool::sim

#endif  // ENIPOOL_SIM_WORKLOAD_H_
