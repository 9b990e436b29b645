// -----------------------------------------------------------------------------
// File: sim/report.h
// -----------------------------------------------------------------------------
//
// What one simulated run measured, and three ways to show it: an aligned text
// table (one column per run, so policies read side by side), CSV (a summary
// row per run, and the time series), and an SVG chart of pods ready over
// time, one line per run, drawn by hand (axes, ticks, labels, legend) with no
// plotting tool.
//
// `RunReport` holds:
//   * pods: created, ready (holding an IP), still pending, deleted, deleted
//     before they ever got an IP, how many had to wait (their first CNI ADD
//     found no address), failed ADDs, and time to all-ready;
//   * time from pod creation to IP: p50, p95, p99, max (a log-linear
//     histogram, exact below 128 µs and within 0.8 % above; the max is exact);
//   * EC2: calls by API, throttled calls, errors by code, ENI attachments;
//   * idle address-seconds: addresses held on nodes but not assigned to a pod
//     (warm or cooling), integrated over time;
//   * a time series sampled at a fixed interval: pods ready and pending,
//     ENIs, prefixes, addresses held and assigned, subnet addresses used and
//     free aligned /28 blocks (fragmentation).
// Everything is a pure function of the run, so equal runs print equal bytes.
//
// Example:
//
//   std::vector<enipool::sim::RunReport> runs = {secondary_ip_run, prefix_run};
//   enipool::sim::PrintTable(std::cout, runs);
//   enipool::sim::WriteSummaryCsv(csv_file, runs);
//   svg_file << enipool::sim::RenderReadyPodsSvg(runs);

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
  std::int64_t pods_waited = 0;           // first ADD failed; got an IP later (or never)
  std::int64_t failed_adds = 0;           // CNI ADDs that found no address
  // When the last pod that was created became ready, if every pod created is
  // ready by the end (the "scale-out finished" time) of a burst or trace;
  // -1 s otherwise, and always for churn and daily workloads (never done).
  absl::Duration all_ready_at = absl::Seconds(-1);
  DurationHistogram time_to_ip;

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
  row("pods that had to wait", [&](const sim::RunReport& r) { return num(r.pods_waited); });
  row("failed CNI ADDs (retried)", [&](const sim::RunReport& r) { return num(r.failed_adds); });
  row("time to all-ready",
      [](const sim::RunReport& r) { return FormatDurationShort(r.all_ready_at); });
  row("time to IP p50",
      [](const sim::RunReport& r) { return FormatDurationShort(r.time_to_ip.Quantile(0.5)); });
  row("time to IP p95",
      [](const sim::RunReport& r) { return FormatDurationShort(r.time_to_ip.Quantile(0.95)); });
  row("time to IP p99",
      [](const sim::RunReport& r) { return FormatDurationShort(r.time_to_ip.Quantile(0.99)); });
  row("time to IP max",
      [](const sim::RunReport& r) { return FormatDurationShort(r.time_to_ip.max()); });
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
  row("idle address-hours", [](const sim::RunReport& r) {
    return absl::StrFormat("%.1f", r.idle_address_seconds / 3600);
  });
  row("subnet addresses used",
      [&](const sim::RunReport& r) { return num(r.final_sample().subnet_used); });
  row("subnet free aligned /28s",
      [&](const sim::RunReport& r) { return num(r.final_sample().subnet_free_28); });
  return rows;
}

// "Nice" axis ticks (1, 2, 5 × 10^k) covering [0, max].
inline double NiceStep(double max, int target_ticks) {
  if (!(max > 0)) return 1;
  const double raw = max / target_ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * magnitude >= raw) return m * magnitude;
  }
  return 10 * magnitude;
}

inline std::string XmlEscape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
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
// (three decimals; -1 = never).
inline void WriteSummaryCsv(std::ostream& out, const std::vector<RunReport>& runs) {
  std::map<std::string, bool> apis, codes;
  for (const RunReport& run : runs) {
    for (const auto& [api, n] : run.calls_by_api) apis[api] = true;
    for (const auto& [code, n] : run.errors_by_code) codes[code] = true;
  }
  out << "run,description,simulated_s,events,pods_created,pods_ready,pods_pending,pods_deleted,"
         "pods_deleted_pending,pods_waited,failed_adds,all_ready_s,time_to_ip_p50_s,"
         "time_to_ip_p95_s,time_to_ip_p99_s,time_to_ip_max_s,ec2_calls,throttled_calls,"
         "eni_attachments,peak_enis,peak_prefixes,idle_address_seconds,final_enis,final_prefixes,"
         "final_addresses,final_assigned,final_subnet_used,final_subnet_free_28";
  for (const auto& [api, unused] : apis) out << ",calls_" << api;
  for (const auto& [code, unused] : codes) out << ",errors_" << code;
  out << '\n';
  for (const RunReport& r : runs) {
    const ReportSample last = r.final_sample();
    const auto all_ready = r.all_ready_at < absl::ZeroDuration()
                               ? std::string("-1")
                               : internal::FormatSeconds(r.all_ready_at);
    out << absl::StrCat(internal::CsvField(r.name), ",", internal::CsvField(r.description), ",",
                        internal::FormatSeconds(r.simulated), ",", r.events, ",", r.pods_created,
                        ",", r.pods_ready, ",", r.pods_pending, ",", r.pods_deleted, ",",
                        r.pods_deleted_pending, ",", r.pods_waited, ",", r.failed_adds, ",",
                        all_ready, ",", internal::FormatSeconds(r.time_to_ip.Quantile(0.5)), ",",
                        internal::FormatSeconds(r.time_to_ip.Quantile(0.95)), ",",
                        internal::FormatSeconds(r.time_to_ip.Quantile(0.99)), ",",
                        internal::FormatSeconds(r.time_to_ip.max()), ",", r.ec2_calls, ",",
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
  out << "run,t_s,pods_ready,pods_pending,enis,prefixes,addresses,assigned,subnet_used,"
         "subnet_free_28,ec2_calls\n";
  for (const RunReport& r : runs) {
    const std::string name = internal::CsvField(r.name);
    for (const ReportSample& s : r.samples) {
      out << absl::StrCat(name, ",", internal::FormatSeconds(s.at), ",", s.pods_ready, ",",
                          s.pods_pending, ",", s.enis, ",", s.prefixes, ",", s.addresses, ",",
                          s.assigned, ",", s.subnet_used, ",", s.subnet_free_28, ",", s.ec2_calls)
          << '\n';
    }
  }
}

// SvgOptions
//
// Size and labels of the chart.
struct SvgOptions {
  int width = 760;
  int height = 420;
  std::string title = "Pods ready over time";
};

// RenderReadyPodsSvg()
//
// A standalone SVG document: pods ready (holding an IP) against simulated
// time, one step line per run, with axes, tick labels, axis titles and a
// legend. Time is shown in seconds, minutes or hours, whichever suits the
// longest run.
inline std::string RenderReadyPodsSvg(const std::vector<RunReport>& runs,
                                      const SvgOptions& options = {}) {
  static constexpr std::array<const char*, 8> kColors = {
      "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  const double left = 70, right = 20, top = 40, bottom = 56;
  const double plot_w = options.width - left - right;
  const double plot_h = options.height - top - bottom;

  double max_t = 0, max_y = 0;
  for (const RunReport& r : runs) {
    for (const ReportSample& s : r.samples) {
      max_t = std::max(max_t, absl::ToDoubleSeconds(s.at));
      max_y = std::max(max_y, static_cast<double>(s.pods_ready));
    }
  }
  double unit = 1;
  const char* unit_name = "s";
  if (max_t > 3 * 3600) {
    unit = 3600;
    unit_name = "h";
  } else if (max_t > 300) {
    unit = 60;
    unit_name = "min";
  }
  const double x_step = internal::NiceStep(max_t / unit, 6);
  const double y_step = internal::NiceStep(max_y, 5);
  const double x_max = std::max(x_step, std::ceil(max_t / unit / x_step) * x_step);
  const double y_max = std::max(y_step, std::ceil(max_y / y_step) * y_step);
  const auto x_of = [&](double t_s) { return left + plot_w * (t_s / unit) / x_max; };
  const auto y_of = [&](double v) { return top + plot_h * (1 - v / y_max); };
  const auto num = [](double v) { return absl::StrFormat("%.1f", v); };
  const auto label = [](double v) {
    return v == std::floor(v) ? absl::StrFormat("%.0f", v) : absl::StrFormat("%g", v);
  };

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%s\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" "
      "font-weight=\"bold\">%s</text>\n",
      options.width, options.height, options.width, options.height, num(options.width / 2.0),
      internal::XmlEscape(options.title));
  // Grid and ticks.
  for (double v = 0; v <= y_max + y_step / 2; v += y_step) {
    const std::string y = num(y_of(v));
    absl::StrAppend(&svg, "<line x1=\"", num(left), "\" y1=\"", y, "\" x2=\"", num(left + plot_w),
                    "\" y2=\"", y, "\" stroke=\"#dddddd\"/>\n", "<text x=\"", num(left - 6),
                    "\" y=\"", num(y_of(v) + 4), "\" text-anchor=\"end\">", label(v), "</text>\n");
  }
  for (double v = 0; v <= x_max + x_step / 2; v += x_step) {
    const std::string x = num(x_of(v * unit));
    absl::StrAppend(&svg, "<line x1=\"", x, "\" y1=\"", num(top), "\" x2=\"", x, "\" y2=\"",
                    num(top + plot_h), "\" stroke=\"#eeeeee\"/>\n", "<text x=\"", x, "\" y=\"",
                    num(top + plot_h + 16), "\" text-anchor=\"middle\">", label(v), "</text>\n");
  }
  // Axes and their titles.
  absl::StrAppend(&svg, "<line x1=\"", num(left), "\" y1=\"", num(top + plot_h), "\" x2=\"",
                  num(left + plot_w), "\" y2=\"", num(top + plot_h), "\" stroke=\"black\"/>\n",
                  "<line x1=\"", num(left), "\" y1=\"", num(top), "\" x2=\"", num(left), "\" y2=\"",
                  num(top + plot_h), "\" stroke=\"black\"/>\n");
  absl::StrAppend(&svg, "<text x=\"", num(left + plot_w / 2), "\" y=\"", num(options.height - 14.0),
                  "\" text-anchor=\"middle\">simulated time (", unit_name, ")</text>\n");
  absl::StrAppend(&svg, "<text x=\"16\" y=\"", num(top + plot_h / 2),
                  "\" text-anchor=\"middle\" transform=\"rotate(-90 16 ", num(top + plot_h / 2),
                  ")\">pods ready (holding an IP)</text>\n");
  // One step line per run: the count holds until the next sample.
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunReport& r = runs[i];
    if (r.samples.empty()) continue;
    std::string points;
    double previous_y = y_of(static_cast<double>(r.samples.front().pods_ready));
    for (std::size_t k = 0; k < r.samples.size(); ++k) {
      const ReportSample& s = r.samples[k];
      const double x = x_of(absl::ToDoubleSeconds(s.at));
      const double y = y_of(static_cast<double>(s.pods_ready));
      if (k > 0) absl::StrAppend(&points, " ", num(x), ",", num(previous_y));
      absl::StrAppend(&points, k == 0 ? "" : " ", num(x), ",", num(y));
      previous_y = y;
    }
    absl::StrAppend(&svg, "<polyline fill=\"none\" stroke=\"", kColors[i % kColors.size()],
                    "\" stroke-width=\"2\" points=\"", points, "\"/>\n");
  }
  // Legend, bottom right inside the plot.
  const double legend_w = 200, line_h = 18;
  const double legend_x = left + plot_w - legend_w - 8;
  const double legend_y = top + plot_h - line_h * static_cast<double>(runs.size()) - 14;
  absl::StrAppend(&svg, "<rect x=\"", num(legend_x), "\" y=\"", num(legend_y), "\" width=\"",
                  num(legend_w), "\" height=\"", num(line_h * static_cast<double>(runs.size()) + 8),
                  "\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#999999\"/>\n");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const double y = legend_y + 4 + line_h * static_cast<double>(i) + line_h / 2;
    absl::StrAppend(&svg, "<line x1=\"", num(legend_x + 8), "\" y1=\"", num(y), "\" x2=\"",
                    num(legend_x + 32), "\" y2=\"", num(y), "\" stroke=\"",
                    kColors[i % kColors.size()], "\" stroke-width=\"3\"/>\n", "<text x=\"",
                    num(legend_x + 40), "\" y=\"", num(y + 4), "\">",
                    internal::XmlEscape(runs[i].name), "</text>\n");
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace enipool::sim

#endif  // ENIPOOL_SIM_REPORT_H_
