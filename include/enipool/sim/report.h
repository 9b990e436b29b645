// -----------------------------------------------------------------------------
// File: sim/report.h
// -----------------------------------------------------------------------------
//
// What one simulated run measured, and two ways to show it: an aligned text
// table (one column per run, so policies read side by side) and CSV (a
// summary row per run, and the time series). SVG charts of the same reports
// are in sim/charts.h.
//
// `RunReport` holds:
//   * pods: created, ready (holding an IP), still pending, deleted, deleted
//     before they ever got an IP, never served (pending at the end or deleted
//     while waiting), how many had to wait (their first CNI ADD found no
//     address), failed ADDs, and time to all-ready;
//   * time from pod creation to IP: p50, p95, p99, max (a log-linear
//     histogram, exact below 128 µs and within 0.8 % above; the max is
//     exact). Every pod counts: a pod never served enters the percentiles
//     censored — as a lower bound, its wait so far at the run's end (or at
//     its deletion) — and a percentile that a censored value decides is
//     printed "≥ X" (see CensoredQuantile()). Pods created during the
//     warm-up window (ClusterConfig::warmup) are left out of both;
//   * EC2: calls by API, throttled calls, errors by code, ENI attachments;
//   * idle address-seconds: addresses held on nodes but not assigned to a pod
//     (warm or cooling), integrated over time;
//   * a time series sampled at a fixed interval: pods ready and pending,
//     ENIs, prefixes, addresses held, assigned and cooling, the spread over
//     nodes (fewest / median / most idle addresses on one node, most pods
//     waiting on one node), subnet addresses used and free aligned /28
//     blocks (fragmentation), EC2 calls and throttled calls so far.
// Everything is a pure function of the run, so equal runs print equal bytes.
//
// Example:
//
//   std::vector<enipool::sim::RunReport> runs = {secondary_ip_run, prefix_run};
//   enipool::sim::PrintTable(std::cout, runs);
//   enipool::sim::WriteSummaryCsv(csv_file, runs);
//   enipool::sim::WriteSamplesCsv(series_file, runs);

#ifndef ENIPOOL_SIM_REPORT_H_
#define ENIPOOL_SIM_REPORT_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace enipool::sim {

// -----------------------------------------------------------------------------
// DurationHistogram
// -----------------------------------------------------------------------------

// DurationHistogram
//
// Non-negative durations in microseconds, bucketed log-linearly: values below
// 128 µs each get their own bucket; above, every power of two is split in
// 128 equal buckets (relative width < 0.8 %). Fixed 35 KB, O(1) Record, so a
// day of a 5,000-node cluster (tens of millions of pods) costs nothing.
// Quantiles are nearest-rank and report the bucket's upper end, clamped to
// the exact maximum. Not thread-safe.
class DurationHistogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr std::int64_t kSub = std::int64_t{1} << kSubBits;
  static constexpr int kBuckets = static_cast<int>(kSub) * (64 - kSubBits + 1);

  DurationHistogram() : counts_(static_cast<std::size_t>(kBuckets), 0) {}

  // DurationHistogram::Record()
  //
  // Adds one value; negative values count as zero.
  void Record(absl::Duration d) {
    const std::int64_t us = std::max<std::int64_t>(0, absl::ToInt64Microseconds(d));
    ++counts_[static_cast<std::size_t>(BucketOf(us))];
    ++count_;
    max_us_ = std::max(max_us_, us);
    sum_us_ += static_cast<double>(us);
  }

  [[nodiscard]] std::int64_t count() const noexcept { return count_; }
  [[nodiscard]] absl::Duration max() const noexcept { return absl::Microseconds(max_us_); }
  [[nodiscard]] absl::Duration mean() const noexcept {
    return count_ == 0 ? absl::ZeroDuration()
                       : absl::Microseconds(
                             static_cast<std::int64_t>(sum_us_ / static_cast<double>(count_)));
  }

  // DurationHistogram::Quantile()
  //
  // The smallest bucket end with at least ceil(q × count) values at or below
  // it; zero when empty. q is clamped to [0, 1].
  [[nodiscard]] absl::Duration Quantile(double q) const {
    if (count_ == 0) return absl::ZeroDuration();
    q = std::clamp(q, 0.0, 1.0);
    const auto rank = std::max<std::int64_t>(
        1, static_cast<std::int64_t>(std::ceil(q * static_cast<double>(count_))));
    std::int64_t seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
      seen += counts_[static_cast<std::size_t>(b)];
      if (seen >= rank) return absl::Microseconds(std::min(UpperOf(b), max_us_));
    }
    return max();
  }

  friend bool operator==(const DurationHistogram&, const DurationHistogram&) = default;

  // Bucket internals, for quantiles over two histograms (CensoredQuantile()).
  [[nodiscard]] std::int64_t bucket_count(int bucket) const {
    return counts_[static_cast<std::size_t>(bucket)];
  }
  [[nodiscard]] static std::int64_t BucketUpperMicros(int bucket) noexcept {
    return UpperOf(bucket);
  }

 private:
  static int BucketOf(std::int64_t us) noexcept {
    if (us < kSub) return static_cast<int>(us);
    const int exponent =
        static_cast<int>(std::bit_width(static_cast<std::uint64_t>(us))) - 1;  // >= kSubBits
    const int shift = exponent - kSubBits;
    const auto mantissa = static_cast<int>((us >> shift) - kSub);  // 0..kSub-1
    return static_cast<int>(kSub) * (shift + 1) + mantissa;
  }
  static std::int64_t UpperOf(int bucket) noexcept {
    if (bucket < kSub) return bucket;
    const int shift = bucket / static_cast<int>(kSub) - 1;
    const std::int64_t mantissa = bucket % kSub;
    return ((kSub + mantissa + 1) << shift) - 1;
  }

  std::vector<std::int64_t> counts_;
  std::int64_t count_ = 0;
  std::int64_t max_us_ = 0;
  double sum_us_ = 0;
};

// CensoredValue
//
// A quantile over observed and censored durations: `value`, and whether it
// is only a lower bound (`at_least`) because censored values decide it.
struct CensoredValue {
  absl::Duration value = absl::ZeroDuration();
  bool at_least = false;
  friend bool operator==(const CensoredValue&, const CensoredValue&) = default;
};

// CensoredQuantile()
//
// The q-quantile (nearest rank, as DurationHistogram::Quantile) of all the
// values of `observed` and `censored` together, where each censored value is
// a lower bound of the true one (a pod still waiting when the run ended).
// Censored values enter at their bound, so the result is a lower bound of
// the true quantile; it is exact (`at_least` false) when at least
// rank = ceil(q × n) *observed* values lie at or below it — then no censored
// value, however large in truth, can move it. With no censored value it is
// DurationHistogram::Quantile() of `observed`. Zero when both are empty.
inline CensoredValue CensoredQuantile(const DurationHistogram& observed,
                                      const DurationHistogram& censored, double q) {
  const std::int64_t n = observed.count() + censored.count();
  if (n == 0) return {};
  if (censored.count() == 0) return {observed.Quantile(q), false};
  q = std::clamp(q, 0.0, 1.0);
  const auto rank =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(q * static_cast<double>(n))));
  const std::int64_t max_us =
      std::max(absl::ToInt64Microseconds(observed.max()), absl::ToInt64Microseconds(censored.max()));
  std::int64_t seen = 0, seen_observed = 0;
  for (int b = 0; b < DurationHistogram::kBuckets; ++b) {
    seen_observed += observed.bucket_count(b);
    seen += observed.bucket_count(b) + censored.bucket_count(b);
    if (seen >= rank) {
      return {absl::Microseconds(std::min(DurationHistogram::BucketUpperMicros(b), max_us)),
              seen_observed < rank};
    }
  }
  return {absl::Microseconds(max_us), true};
}

// -----------------------------------------------------------------------------
// RunReport
// -----------------------------------------------------------------------------

// ReportSample
//
// The cluster at one sampling instant (`at` from the run start).
struct ReportSample {
  absl::Duration at;
  std::int64_t pods_ready = 0;      // pods holding an IP
  std::int64_t pods_pending = 0;    // created, no IP yet, not deleted
  std::int64_t enis = 0;            // attached ENIs, all nodes
  std::int64_t prefixes = 0;        // /28 prefixes held, all nodes
  std::int64_t addresses = 0;       // pod addresses held (warm + assigned + cooling)
  std::int64_t assigned = 0;        // addresses assigned to pods
  std::int64_t subnet_used = 0;     // subnet addresses allocated (ENI primaries included)
  std::int64_t subnet_free_28 = 0;  // aligned /28 blocks still wholly free in the subnets
  std::int64_t ec2_calls = 0;       // cumulative
  std::int64_t cooling = 0;         // addresses in IP_COOLDOWN_PERIOD, all nodes
  std::int64_t throttled_calls = 0; // cumulative EC2 calls refused with RequestLimitExceeded
  // Spread over the nodes: idle addresses (held, not assigned to a pod) on
  // the node with the fewest, the median node and the node with the most;
  // and the most pods placed on one node still waiting for an address.
  std::int64_t node_idle_min = 0;
  std::int64_t node_idle_median = 0;
  std::int64_t node_idle_max = 0;
  std::int64_t node_pending_max = 0;
  friend bool operator==(const ReportSample&, const ReportSample&) = default;
};

// RunReport
//
// One run's results. See the file comment.
struct RunReport {
  std::string name;         // the policy or run label
  std::string description;  // e.g. "10 × m5.large, prefix, WARM_PREFIX_TARGET=1, burst:250"
  absl::Duration simulated = absl::ZeroDuration();
  std::int64_t events = 0;  // discrete events processed

  std::int64_t pods_created = 0;
  std::int64_t pods_ready = 0;    // holding an IP at the end
  std::int64_t pods_pending = 0;  // still waiting at the end
  std::int64_t pods_deleted = 0;
  std::int64_t pods_deleted_pending = 0;  // deleted before they got an IP
  // Ready pods whose node force-removed their address (EC2 no longer had the
  // CIDR or ENI it was on): in all, and those still running at the end.
  // pods_created = pods_ready + pods_pending + pods_deleted + pods_without_address.
  std::int64_t pods_force_removed = 0;
  std::int64_t pods_without_address = 0;
  std::int64_t pods_waited = 0;           // first ADD failed; got an IP later (or never)
  // A living cluster (sim/node_groups.h): nodes the autoscaler launched, of
  // those the ones that failed to start (no address for the primary ENI),
  // nodes it drained, and pods evicted from them to be scheduled again.
  std::int64_t nodes_launched = 0;
  std::int64_t node_launch_failures = 0;
  std::int64_t nodes_drained = 0;
  std::int64_t pods_evicted = 0;
  std::int64_t failed_adds = 0;           // CNI ADDs that found no address
  // Pods that never got an address: still pending at the end, or deleted
  // while waiting (pods_pending + pods_deleted_pending).
  std::int64_t pods_never_served = 0;
  // Pods created before the warm-up window ended: not in the time-to-IP
  // figures (served or censored).
  absl::Duration warmup = absl::ZeroDuration();
  std::int64_t pods_in_warmup = 0;
  // Time to all-ready, the one definition every tool prints: from the first
  // pod's creation to the moment the last pod created got its address, when
  // at the end no pod is waiting (the "scale-out finished" time of a burst or
  // a trace); -1 s otherwise, and always for churn and daily workloads
  // (never done).
  absl::Duration time_to_all_ready = absl::Seconds(-1);
  // Time from creation to IP of the pods served (created after the warm-up).
  DurationHistogram time_to_ip;
  // The pods never served (created after the warm-up), each at its wait so
  // far: until the run's end, or until it was deleted. Lower bounds.
  DurationHistogram time_to_ip_censored;

  // RunReport::TimeToIp()
  //
  // The q-quantile of time to IP over every pod after the warm-up, served or
  // not (CensoredQuantile()).
  [[nodiscard]] CensoredValue TimeToIp(double q) const {
    return CensoredQuantile(time_to_ip, time_to_ip_censored, q);
  }

  std::map<std::string, std::int64_t> calls_by_api;  // EC2 API name → calls made
  std::int64_t ec2_calls = 0;
  std::int64_t throttled_calls = 0;
  std::map<std::string, std::int64_t> errors_by_code;  // EC2 error code → failed calls
  std::int64_t eni_attachments = 0;                    // successful AttachNetworkInterface
  std::int64_t peak_enis = 0;
  std::int64_t peak_prefixes = 0;
  double idle_address_seconds = 0;

  std::vector<ReportSample> samples;

  // Convenience: the last sample (zeros when there is none).
  [[nodiscard]] ReportSample final_sample() const {
    return samples.empty() ? ReportSample{} : samples.back();
  }
};

}  // namespace enipool::sim

namespace enipool::internal {

inline std::string FormatSeconds(absl::Duration d) {
  if (d < absl::ZeroDuration()) return "-";
  return absl::StrFormat("%.3f", absl::ToDoubleSeconds(d));
}

inline std::string FormatDurationShort(absl::Duration d) {
  if (d < absl::ZeroDuration()) return "-";  // not reached, or not applicable
  const double s = absl::ToDoubleSeconds(d);
  if (s == 0) return "0";
  if (s < 1) return absl::StrFormat("%.0f ms", s * 1000);
  if (s < 120) return absl::StrFormat("%.1f s", s);
  if (s < 7200) return absl::StrFormat("%.1f min", s / 60);
  return absl::StrFormat("%.2f h", s / 3600);
}

// "≥ 1.5 min" when censoring decides the value, else "1.5 min".
inline std::string FormatCensored(const sim::CensoredValue& v) {
  return v.at_least ? absl::StrCat("\u2265 ", FormatDurationShort(v.value))
                    : FormatDurationShort(v.value);
}

// Rows of the comparison table: label, then one cell per run.
inline std::vector<std::vector<std::string>> TableRows(const std::vector<sim::RunReport>& runs) {
  std::vector<std::vector<std::string>> rows;
  const auto row = [&](std::string label, auto cell) {
    std::vector<std::string> r{std::move(label)};
    for (const sim::RunReport& run : runs) r.push_back(cell(run));
    rows.push_back(std::move(r));
  };
  const auto num = [](std::int64_t v) { return absl::StrCat(v); };
  row("", [](const sim::RunReport& r) { return r.name; });
  row("pods created", [&](const sim::RunReport& r) { return num(r.pods_created); });
  row("pods ready at end", [&](const sim::RunReport& r) { return num(r.pods_ready); });
  row("pods pending at end", [&](const sim::RunReport& r) { return num(r.pods_pending); });
  row("pods never served", [&](const sim::RunReport& r) { return num(r.pods_never_served); });
  if (std::any_of(runs.begin(), runs.end(),
                  [](const sim::RunReport& r) { return r.pods_force_removed > 0; })) {
    row("pods that lost their address", [&](const sim::RunReport& r) {
      return absl::StrCat(num(r.pods_force_removed), " (", num(r.pods_without_address),
                          " still running)");
    });
  }
  if (std::any_of(runs.begin(), runs.end(), [](const sim::RunReport& r) {
        return r.nodes_launched > 0 || r.nodes_drained > 0;
      })) {
    row("nodes launched / drained", [&](const sim::RunReport& r) {
      return absl::StrCat(num(r.nodes_launched), " / ", num(r.nodes_drained));
    });
    row("pods evicted (rescheduled)", [&](const sim::RunReport& r) { return num(r.pods_evicted); });
  }
  row("pods that had to wait", [&](const sim::RunReport& r) { return num(r.pods_waited); });
  row("failed CNI ADDs (retried)", [&](const sim::RunReport& r) { return num(r.failed_adds); });
  if (std::any_of(runs.begin(), runs.end(),
                  [](const sim::RunReport& r) { return r.warmup > absl::ZeroDuration(); })) {
    row("pods in warm-up (not timed)", [&](const sim::RunReport& r) {
      return absl::StrCat(num(r.pods_in_warmup), " (", FormatDurationShort(r.warmup), ")");
    });
  }
  row("time to all-ready (from 1st pod)",
      [](const sim::RunReport& r) { return FormatDurationShort(r.time_to_all_ready); });
  row("time to IP p50", [](const sim::RunReport& r) { return FormatCensored(r.TimeToIp(0.5)); });
  row("time to IP p95", [](const sim::RunReport& r) { return FormatCensored(r.TimeToIp(0.95)); });
  row("time to IP p99", [](const sim::RunReport& r) { return FormatCensored(r.TimeToIp(0.99)); });
  row("time to IP max", [](const sim::RunReport& r) { return FormatCensored(r.TimeToIp(1.0)); });
  row("EC2 calls", [&](const sim::RunReport& r) { return num(r.ec2_calls); });
  std::map<std::string, bool> apis, codes;
  for (const sim::RunReport& run : runs) {
    for (const auto& [api, n] : run.calls_by_api) apis[api] = true;
    for (const auto& [code, n] : run.errors_by_code) codes[code] = true;
  }
  for (const auto& [api, unused] : apis) {
    row(absl::StrCat("  ", api), [&, api = api](const sim::RunReport& r) {
      const auto it = r.calls_by_api.find(api);
      return num(it == r.calls_by_api.end() ? 0 : it->second);
    });
  }
  row("ENI attachments", [&](const sim::RunReport& r) { return num(r.eni_attachments); });
  row("throttled calls", [&](const sim::RunReport& r) { return num(r.throttled_calls); });
  for (const auto& [code, unused] : codes) {
    row(absl::StrCat("errors: ", code), [&, code = code](const sim::RunReport& r) {
      const auto it = r.errors_by_code.find(code);
      return num(it == r.errors_by_code.end() ? 0 : it->second);
    });
  }
  row("ENIs at end (peak)", [&](const sim::RunReport& r) {
    return absl::StrCat(r.final_sample().enis, " (", r.peak_enis, ")");
  });
  row("prefixes at end (peak)", [&](const sim::RunReport& r) {
    return absl::StrCat(r.final_sample().prefixes, " (", r.peak_prefixes, ")");
  });
  row("addresses held / assigned", [&](const sim::RunReport& r) {
    return absl::StrCat(r.final_sample().addresses, " / ", r.final_sample().assigned);
  });
  row("idle per node min/median/max", [&](const sim::RunReport& r) {
    const sim::ReportSample last = r.final_sample();
    return absl::StrCat(last.node_idle_min, " / ", last.node_idle_median, " / ",
                        last.node_idle_max);
  });
  row("most pods waiting on a node (peak)", [&](const sim::RunReport& r) {
    std::int64_t peak = 0;
    for (const sim::ReportSample& s : r.samples) peak = std::max(peak, s.node_pending_max);
    return num(peak);
  });
  row("idle address-hours", [](const sim::RunReport& r) {
    return absl::StrFormat("%.1f", r.idle_address_seconds / 3600);
  });
  row("subnet addresses used",
      [&](const sim::RunReport& r) { return num(r.final_sample().subnet_used); });
  row("subnet free aligned /28s",
      [&](const sim::RunReport& r) { return num(r.final_sample().subnet_free_28); });
  return rows;
}

inline std::string CsvField(absl::string_view text) {
  if (text.find_first_of(",\"\n") == absl::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace enipool::internal

namespace enipool::sim {

// PrintTable()
//
// The runs side by side, one column each, columns aligned (labels left,
// values right).
inline void PrintTable(std::ostream& out, const std::vector<RunReport>& runs) {
  const auto rows = internal::TableRows(runs);
  std::vector<std::size_t> widths(runs.size() + 1, 0);
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line = r[0] + std::string(widths[0] - r[0].size(), ' ');
    for (std::size_t i = 1; i < r.size(); ++i) {
      line += "  " + std::string(widths[i] - r[i].size(), ' ') + r[i];
    }
    out << line << '\n';
  }
}

// WriteSummaryCsv()
//
// A header and one row per run: the scalar results. Durations in seconds
// (three decimals; -1 = never). Each time-to-IP quantile has a companion
// column `..._at_least`: 1 when censored pods decide it (the value is a
// lower bound), else 0.
inline void WriteSummaryCsv(std::ostream& out, const std::vector<RunReport>& runs) {
  std::map<std::string, bool> apis, codes;
  for (const RunReport& run : runs) {
    for (const auto& [api, n] : run.calls_by_api) apis[api] = true;
    for (const auto& [code, n] : run.errors_by_code) codes[code] = true;
  }
  out << "run,description,simulated_s,events,pods_created,pods_ready,pods_pending,pods_deleted,"
         "pods_deleted_pending,pods_never_served,pods_waited,failed_adds,warmup_s,pods_in_warmup,"
         "time_to_all_ready_s,time_to_ip_p50_s,time_to_ip_p50_at_least,time_to_ip_p95_s,"
         "time_to_ip_p95_at_least,time_to_ip_p99_s,time_to_ip_p99_at_least,time_to_ip_max_s,"
         "time_to_ip_max_at_least,ec2_calls,throttled_calls,"
         "eni_attachments,peak_enis,peak_prefixes,idle_address_seconds,final_enis,final_prefixes,"
         "final_addresses,final_assigned,final_subnet_used,final_subnet_free_28";
  for (const auto& [api, unused] : apis) out << ",calls_" << api;
  for (const auto& [code, unused] : codes) out << ",errors_" << code;
  out << '\n';
  for (const RunReport& r : runs) {
    const ReportSample last = r.final_sample();
    const auto all_ready = r.time_to_all_ready < absl::ZeroDuration()
                               ? std::string("-1")
                               : internal::FormatSeconds(r.time_to_all_ready);
    std::string quantiles;
    for (double q : {0.5, 0.95, 0.99, 1.0}) {
      const CensoredValue v = r.TimeToIp(q);
      absl::StrAppend(&quantiles, ",", internal::FormatSeconds(v.value), ",", v.at_least ? 1 : 0);
    }
    out << absl::StrCat(internal::CsvField(r.name), ",", internal::CsvField(r.description), ",",
                        internal::FormatSeconds(r.simulated), ",", r.events, ",", r.pods_created,
                        ",", r.pods_ready, ",", r.pods_pending, ",", r.pods_deleted, ",",
                        r.pods_deleted_pending, ",", r.pods_never_served, ",", r.pods_waited, ",",
                        r.failed_adds, ",", internal::FormatSeconds(r.warmup), ",",
                        r.pods_in_warmup, ",", all_ready, quantiles, ",", r.ec2_calls, ",",
                        r.throttled_calls, ",", r.eni_attachments, ",", r.peak_enis, ",",
                        r.peak_prefixes, ",", absl::StrFormat("%.3f", r.idle_address_seconds), ",",
                        last.enis, ",", last.prefixes, ",", last.addresses, ",", last.assigned, ",",
                        last.subnet_used, ",", last.subnet_free_28);
    for (const auto& [api, unused] : apis) {
      const auto it = r.calls_by_api.find(api);
      out << ',' << (it == r.calls_by_api.end() ? 0 : it->second);
    }
    for (const auto& [code, unused] : codes) {
      const auto it = r.errors_by_code.find(code);
      out << ',' << (it == r.errors_by_code.end() ? 0 : it->second);
    }
    out << '\n';
  }
}

// WriteSamplesCsv()
//
// The time series of every run, long format: one row per (run, sample).
inline void WriteSamplesCsv(std::ostream& out, const std::vector<RunReport>& runs) {
  out << "run,t_s,pods_ready,pods_pending,enis,prefixes,addresses,assigned,cooling,"
         "node_idle_min,node_idle_median,node_idle_max,node_pending_max,subnet_used,"
         "subnet_free_28,ec2_calls,throttled_calls\n";
  for (const RunReport& r : runs) {
    const std::string name = internal::CsvField(r.name);
    for (const ReportSample& s : r.samples) {
      out << absl::StrCat(name, ",", internal::FormatSeconds(s.at), ",", s.pods_ready, ",",
                          s.pods_pending, ",", s.enis, ",", s.prefixes, ",", s.addresses, ",",
                          s.assigned, ",", s.cooling, ",", s.node_idle_min, ",",
                          s.node_idle_median, ",", s.node_idle_max, ",", s.node_pending_max, ",",
                          s.subnet_used, ",", s.subnet_free_28, ",", s.ec2_calls, ",",
                          s.throttled_calls)
          << '\n';
    }
  }
}

}  // namespace enipool::sim

#endif  // ENIPOOL_SIM_REPORT_H_
