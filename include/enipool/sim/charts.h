// -----------------------------------------------------------------------------
// File: sim/charts.h
// -----------------------------------------------------------------------------
//
// SVG charts of simulated runs (sim/report.h), drawn by hand — axes, ticks,
// labels, legend — with no plotting tool, so equal reports give equal bytes:
//   * `RenderSeriesSvg`: one time series of every run (pods ready, pods
//     pending, idle addresses, cooling addresses, throttled calls), one line
//     per run. Lines differ in colour, dash pattern *and* marker shape, so
//     runs whose lines coincide stay visible, and the legend sits below the
//     plot, as wide as the longest name needs: it never clips and never
//     covers a line.
//   * `RenderParetoSvg`: a policy comparison, one labelled marker per policy
//     at (x: a cost, y: a delay), optional whiskers for the spread over
//     seeds, and the Pareto frontier (the points no other point dominates)
//     joined by a dotted line. A y value that censored pods decide (a lower
//     bound, CensoredQuantile()) is drawn hollow with an upward arrow.
//
// Example:
//
//   std::vector<enipool::sim::RunReport> runs = {secondary_ip_run, prefix_run};
//   svg_file << enipool::sim::RenderSeriesSvg(runs, enipool::sim::SeriesMetric::kIdleAddresses);
//   std::vector<enipool::sim::ParetoPoint> points = {
//       {.label = "WARM_ENI_TARGET=1", .x = 1200.5, .y = 14.2},
//       {.label = "adaptive", .x = 310.0, .y = 12.9}};
//   pareto_file << enipool::sim::RenderParetoSvg(points, {.title = "bursty deployments"});

#ifndef ENIPOOL_SIM_CHARTS_H_
#define ENIPOOL_SIM_CHARTS_H_

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/sim/report.h"

namespace enipool::sim {

// SeriesMetric
//
// Which time series of ReportSample a line chart shows.
enum class SeriesMetric {
  kPodsReady,         // pods holding an IP
  kPodsPending,       // pods created and still waiting for an IP
  kIdleAddresses,     // addresses held on nodes and not assigned (warm + cooling)
  kCoolingAddresses,  // addresses in IP_COOLDOWN_PERIOD
  kThrottledCalls,    // EC2 calls refused with RequestLimitExceeded so far
};

// SvgOptions
//
// The plot's size (the legend adds height below it, and the width grows
// when a name needs it) and title; an empty title takes the metric's name.
struct SvgOptions {
  int width = 760;
  int height = 420;
  std::string title;
};

}  // namespace enipool::sim

namespace enipool::internal {

// "Nice" axis ticks (1, 2, 2.5, 5 × 10^k) covering [0, max].
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

inline constexpr std::array<const char*, 10> kChartColors = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};
// Dash patterns: solid, dashed, dotted, dash-dot, long dash. With 10 colours
// and 8 markers the (colour, dash, marker) triple repeats only after 40 runs.
inline constexpr std::array<const char*, 5> kChartDashes = {"", "7 4", "2 3", "9 3 2 3", "14 5"};
inline constexpr int kChartMarkers = 8;

// The color, dash and marker of series `i`.
inline const char* ChartColor(std::size_t i) { return kChartColors[i % kChartColors.size()]; }
inline const char* ChartDash(std::size_t i) { return kChartDashes[i % kChartDashes.size()]; }

inline std::string ChartNum(double v) { return absl::StrFormat("%.1f", v); }

inline std::string TickLabel(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return absl::StrFormat("%.0f", v);
  return absl::StrFormat("%g", v);
}

// Marker `shape` (0..7: circle, square, triangle up, diamond, triangle down,
// plus, cross, star) centred on (x, y); `hollow` draws the outline only.
inline std::string ChartMarker(int shape, double x, double y, const char* color,
                               bool hollow = false) {
  const double r = 4.5;
  const std::string fill = hollow ? "white" : color;
  const std::string style =
      absl::StrCat(" fill=\"", fill, "\" stroke=\"", color, "\" stroke-width=\"1.5\"");
  const auto pts = [&](std::initializer_list<std::pair<double, double>> offsets) {
    std::string points;
    for (const auto& [dx, dy] : offsets) {
      absl::StrAppend(&points, points.empty() ? "" : " ", ChartNum(x + dx * r), ",",
                      ChartNum(y + dy * r));
    }
    return absl::StrCat("<polygon points=\"", points, "\"", style, "/>\n");
  };
  switch (shape % kChartMarkers) {
    case 0:
      return absl::StrCat("<circle cx=\"", ChartNum(x), "\" cy=\"", ChartNum(y), "\" r=\"",
                          ChartNum(r), "\"", style, "/>\n");
    case 1:
      return pts({{-0.9, -0.9}, {0.9, -0.9}, {0.9, 0.9}, {-0.9, 0.9}});
    case 2:
      return pts({{0, -1.2}, {1.1, 0.8}, {-1.1, 0.8}});
    case 3:
      return pts({{0, -1.3}, {1.1, 0}, {0, 1.3}, {-1.1, 0}});
    case 4:
      return pts({{0, 1.2}, {1.1, -0.8}, {-1.1, -0.8}});
    case 5:
      return pts({{-0.35, -1.1},
                  {0.35, -1.1},
                  {0.35, -0.35},
                  {1.1, -0.35},
                  {1.1, 0.35},
                  {0.35, 0.35},
                  {0.35, 1.1},
                  {-0.35, 1.1},
                  {-0.35, 0.35},
                  {-1.1, 0.35},
                  {-1.1, -0.35},
                  {-0.35, -0.35}});
    case 6:
      return absl::StrCat("<path d=\"M", ChartNum(x - r), " ", ChartNum(y - r), " L",
                          ChartNum(x + r), " ", ChartNum(y + r), " M", ChartNum(x - r), " ",
                          ChartNum(y + r), " L", ChartNum(x + r), " ", ChartNum(y - r),
                          "\" stroke=\"", color, "\" stroke-width=\"2.5\"/>\n");
    default:
      return pts({{0, -1.3},
                  {0.35, -0.4},
                  {1.25, -0.4},
                  {0.5, 0.15},
                  {0.8, 1.1},
                  {0, 0.5},
                  {-0.8, 1.1},
                  {-0.5, 0.15},
                  {-1.25, -0.4},
                  {-0.35, -0.4}});
  }
}

// Rough width of `text` at font-size 12 sans-serif (6.8 px a character, a
// little wide on purpose), so a legend box always holds its names.
inline double TextWidth(absl::string_view text) {
  std::size_t chars = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++chars;  // count UTF-8 code points
  }
  return 6.8 * static_cast<double>(chars);
}

inline std::int64_t MetricOf(const sim::ReportSample& s, sim::SeriesMetric metric) {
  switch (metric) {
    case sim::SeriesMetric::kPodsReady:
      return s.pods_ready;
    case sim::SeriesMetric::kPodsPending:
      return s.pods_pending;
    case sim::SeriesMetric::kIdleAddresses:
      return s.addresses - s.assigned;
    case sim::SeriesMetric::kCoolingAddresses:
      return s.cooling;
    case sim::SeriesMetric::kThrottledCalls:
      return s.throttled_calls;
  }
  return 0;
}

inline const char* MetricTitle(sim::SeriesMetric metric) {
  switch (metric) {
    case sim::SeriesMetric::kPodsReady:
      return "Pods ready over time";
    case sim::SeriesMetric::kPodsPending:
      return "Pods waiting for an IP over time";
    case sim::SeriesMetric::kIdleAddresses:
      return "Idle addresses over time";
    case sim::SeriesMetric::kCoolingAddresses:
      return "Cooling addresses over time";
    case sim::SeriesMetric::kThrottledCalls:
      return "Throttled EC2 calls over time";
  }
  return "";
}

inline const char* MetricAxis(sim::SeriesMetric metric) {
  switch (metric) {
    case sim::SeriesMetric::kPodsReady:
      return "pods ready (holding an IP)";
    case sim::SeriesMetric::kPodsPending:
      return "pods waiting for an IP";
    case sim::SeriesMetric::kIdleAddresses:
      return "idle addresses (held, unassigned)";
    case sim::SeriesMetric::kCoolingAddresses:
      return "addresses in cooldown";
    case sim::SeriesMetric::kThrottledCalls:
      return "throttled calls (cumulative)";
  }
  return "";
}

// The frame every chart shares: title, grid, ticks, axes and their titles.
struct ChartFrame {
  double left = 78, right = 24, top = 40, plot_w = 0, plot_h = 0;
  double x_max = 1, y_max = 1, x_unit = 1;
  [[nodiscard]] double X(double v) const { return left + plot_w * (v / x_unit) / x_max; }
  [[nodiscard]] double Y(double v) const { return top + plot_h * (1 - v / y_max); }
};

// Opens the document and draws the frame; returns the SVG so far.
inline std::string OpenChart(ChartFrame& f, int width, int plot_height, int total_height,
                             absl::string_view title, double max_x, double max_y, double x_unit,
                             absl::string_view x_title, absl::string_view y_title) {
  const double bottom = 56;
  f.plot_w = width - f.left - f.right;
  f.plot_h = plot_height - f.top - bottom;
  f.x_unit = x_unit;
  const double x_step = NiceStep(max_x / x_unit, 6);
  const double y_step = NiceStep(max_y, 5);
  f.x_max = std::max(x_step, std::ceil(max_x / x_unit / x_step) * x_step);
  f.y_max = std::max(y_step, std::ceil(max_y / y_step) * y_step);
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%s\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" "
      "font-weight=\"bold\">%s</text>\n",
      width, total_height, width, total_height, ChartNum(width / 2.0), XmlEscape(title));
  for (double v = 0; v <= f.y_max + y_step / 2; v += y_step) {
    const std::string y = ChartNum(f.Y(v));
    absl::StrAppend(&svg, "<line x1=\"", ChartNum(f.left), "\" y1=\"", y, "\" x2=\"",
                    ChartNum(f.left + f.plot_w), "\" y2=\"", y, "\" stroke=\"#dddddd\"/>\n",
                    "<text x=\"", ChartNum(f.left - 6), "\" y=\"", ChartNum(f.Y(v) + 4),
                    "\" text-anchor=\"end\">", TickLabel(v), "</text>\n");
  }
  for (double v = 0; v <= f.x_max + x_step / 2; v += x_step) {
    const std::string x = ChartNum(f.X(v * x_unit));
    absl::StrAppend(&svg, "<line x1=\"", x, "\" y1=\"", ChartNum(f.top), "\" x2=\"", x, "\" y2=\"",
                    ChartNum(f.top + f.plot_h), "\" stroke=\"#eeeeee\"/>\n", "<text x=\"", x,
                    "\" y=\"", ChartNum(f.top + f.plot_h + 16), "\" text-anchor=\"middle\">",
                    TickLabel(v), "</text>\n");
  }
  absl::StrAppend(&svg, "<line x1=\"", ChartNum(f.left), "\" y1=\"", ChartNum(f.top + f.plot_h),
                  "\" x2=\"", ChartNum(f.left + f.plot_w), "\" y2=\"", ChartNum(f.top + f.plot_h),
                  "\" stroke=\"black\"/>\n", "<line x1=\"", ChartNum(f.left), "\" y1=\"",
                  ChartNum(f.top), "\" x2=\"", ChartNum(f.left), "\" y2=\"",
                  ChartNum(f.top + f.plot_h), "\" stroke=\"black\"/>\n");
  absl::StrAppend(&svg, "<text x=\"", ChartNum(f.left + f.plot_w / 2), "\" y=\"",
                  ChartNum(f.top + f.plot_h + 38), "\" text-anchor=\"middle\">", XmlEscape(x_title),
                  "</text>\n");
  const std::string mid = ChartNum(f.top + f.plot_h / 2);
  absl::StrAppend(&svg, "<text x=\"16\" y=\"", mid,
                  "\" text-anchor=\"middle\" transform=\"rotate(-90 16 ", mid, ")\">",
                  XmlEscape(y_title), "</text>\n");
  return svg;
}

// A legend below the plot, one entry a row: a line sample (with its dash
// and marker) when `lines`, else the marker alone, then the name.
inline void AppendLegend(std::string& svg, const ChartFrame& f, double legend_top,
                         const std::vector<std::string>& names, bool lines) {
  const double row_h = 18;
  double widest = 0;
  for (const std::string& name : names) widest = std::max(widest, TextWidth(name));
  const double box_w = 52 + widest;
  const double box_x = f.left;
  absl::StrAppend(&svg, "<rect x=\"", ChartNum(box_x), "\" y=\"", ChartNum(legend_top),
                  "\" width=\"", ChartNum(box_w), "\" height=\"",
                  ChartNum(row_h * static_cast<double>(names.size()) + 8),
                  "\" fill=\"white\" stroke=\"#999999\"/>\n");
  for (std::size_t i = 0; i < names.size(); ++i) {
    const double y = legend_top + 4 + row_h * static_cast<double>(i) + row_h / 2;
    if (lines) {
      absl::StrAppend(&svg, "<line x1=\"", ChartNum(box_x + 6), "\" y1=\"", ChartNum(y), "\" x2=\"",
                      ChartNum(box_x + 38), "\" y2=\"", ChartNum(y), "\" stroke=\"", ChartColor(i),
                      "\" stroke-width=\"2\"");
      if (*ChartDash(i) != '\0') absl::StrAppend(&svg, " stroke-dasharray=\"", ChartDash(i), "\"");
      svg += "/>\n";
    }
    svg += ChartMarker(static_cast<int>(i), box_x + 22, y, ChartColor(i));
    absl::StrAppend(&svg, "<text x=\"", ChartNum(box_x + 46), "\" y=\"", ChartNum(y + 4), "\">",
                    XmlEscape(names[i]), "</text>\n");
  }
}

}  // namespace enipool::internal

namespace enipool::sim {

// RenderSeriesSvg()
//
// A standalone SVG document: `metric` against simulated time, one step line
// per run (the value holds until the next sample), each with its own colour,
// dash pattern and markers (about eight per line, staggered between runs so
// coinciding lines still show every marker), and the legend below the plot.
// Time is shown in seconds, minutes or hours, whichever suits the longest
// run. The document grows wider than `options.width` when a run's name
// needs it.
inline std::string RenderSeriesSvg(const std::vector<RunReport>& runs, SeriesMetric metric,
                                   const SvgOptions& options = {}) {
  double max_t = 0, max_y = 0;
  double widest = 0;
  std::vector<std::string> names;
  for (const RunReport& r : runs) {
    names.push_back(r.name);
    widest = std::max(widest, internal::TextWidth(r.name));
    for (const ReportSample& s : r.samples) {
      max_t = std::max(max_t, absl::ToDoubleSeconds(s.at));
      max_y = std::max(max_y, static_cast<double>(internal::MetricOf(s, metric)));
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
  internal::ChartFrame f;
  const int width = std::max(options.width, static_cast<int>(f.left + 52 + widest + f.right));
  const double legend_h = 18.0 * static_cast<double>(runs.size()) + 8;
  const int total_height = options.height + static_cast<int>(std::ceil(legend_h)) + 8;
  std::string svg = internal::OpenChart(
      f, width, options.height, total_height,
      options.title.empty() ? internal::MetricTitle(metric) : options.title, max_t, max_y, unit,
      absl::StrCat("simulated time (", unit_name, ")"), internal::MetricAxis(metric));
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunReport& r = runs[i];
    if (r.samples.empty()) continue;
    std::string points;
    const auto value = [&](std::size_t k) {
      return static_cast<double>(internal::MetricOf(r.samples[k], metric));
    };
    double previous_y = f.Y(value(0));
    for (std::size_t k = 0; k < r.samples.size(); ++k) {
      const double x = f.X(absl::ToDoubleSeconds(r.samples[k].at));
      const double y = f.Y(value(k));
      if (k > 0)
        absl::StrAppend(&points, " ", internal::ChartNum(x), ",", internal::ChartNum(previous_y));
      absl::StrAppend(&points, k == 0 ? "" : " ", internal::ChartNum(x), ",",
                      internal::ChartNum(y));
      previous_y = y;
    }
    absl::StrAppend(&svg, "<polyline fill=\"none\" stroke=\"", internal::ChartColor(i),
                    "\" stroke-width=\"2\"");
    if (*internal::ChartDash(i) != '\0') {
      absl::StrAppend(&svg, " stroke-dasharray=\"", internal::ChartDash(i), "\"");
    }
    absl::StrAppend(&svg, " points=\"", points, "\"/>\n");
    const std::size_t n = r.samples.size();
    const std::size_t step = std::max<std::size_t>(1, n / 8);
    for (std::size_t k = (step * i) / std::max<std::size_t>(1, runs.size()); k < n; k += step) {
      svg += internal::ChartMarker(static_cast<int>(i), f.X(absl::ToDoubleSeconds(r.samples[k].at)),
                                   f.Y(value(k)), internal::ChartColor(i));
    }
  }
  internal::AppendLegend(svg, f, options.height, names, /*lines=*/true);
  svg += "</svg>\n";
  return svg;
}

// RenderReadyPodsSvg() / RenderIdleAddressesSvg()
//
// RenderSeriesSvg() of pods ready, and of idle addresses.
inline std::string RenderReadyPodsSvg(const std::vector<RunReport>& runs,
                                      const SvgOptions& options = {}) {
  return RenderSeriesSvg(runs, SeriesMetric::kPodsReady, options);
}
inline std::string RenderIdleAddressesSvg(const std::vector<RunReport>& runs,
                                          const SvgOptions& options = {}) {
  return RenderSeriesSvg(runs, SeriesMetric::kIdleAddresses, options);
}

// ParetoPoint
//
// One policy on a cost/delay chart: the medians `x` and `y` over seeds and
// their ranges [x_low, x_high], [y_low, y_high] (equal to x, y for one seed,
// drawn as whiskers otherwise). `y_at_least`: censored pods decide y, which
// is then only a lower bound.
struct ParetoPoint {
  std::string label;
  double x = 0;
  double y = 0;
  bool y_at_least = false;
  double x_low = std::nan(""), x_high = std::nan("");  // NaN: no whisker
  double y_low = std::nan(""), y_high = std::nan("");
};

// ParetoOptions
//
// Size, title and axis titles of a Pareto chart.
struct ParetoOptions {
  int width = 760;
  int height = 460;
  std::string title = "Idle addresses vs time to IP";
  std::string x_title = "idle address-hours (lower is better)";
  std::string y_title = "p95 time to IP, s (lower is better)";
};

// Dominates()
//
// True when `a` is no worse than `b` on both axes and better on one (both
// axes: lower is better). A censored y is a lower bound, so `a` with a
// censored y never dominates on y unless `b`'s is censored too and higher.
inline bool Dominates(const ParetoPoint& a, const ParetoPoint& b) {
  const bool y_no_worse = a.y_at_least ? (b.y_at_least && a.y <= b.y) : a.y <= b.y;
  const bool y_better = a.y_at_least ? false : (a.y < b.y || (b.y_at_least && a.y <= b.y));
  return a.x <= b.x && y_no_worse && (a.x < b.x || y_better);
}

// RenderParetoSvg()
//
// One labelled marker per point (its own colour and shape; hollow with an
// upward arrow when y is a lower bound), whiskers for the ranges, the
// frontier (points no other point dominates) joined by a dotted grey line
// in x order, and a legend below the plot naming each point ("(frontier)"
// after the ones on it).
inline std::string RenderParetoSvg(const std::vector<ParetoPoint>& points,
                                   const ParetoOptions& options = {}) {
  double max_x = 0, max_y = 0, widest = 0;
  std::vector<std::string> names;
  std::vector<bool> frontier(points.size(), true);
  for (std::size_t i = 0; i < points.size(); ++i) {
    for (std::size_t j = 0; j < points.size(); ++j) {
      if (i != j && Dominates(points[j], points[i])) frontier[i] = false;
    }
  }
  for (std::size_t i = 0; i < points.size(); ++i) {
    const ParetoPoint& p = points[i];
    max_x = std::max({max_x, p.x, std::isnan(p.x_high) ? 0.0 : p.x_high});
    max_y = std::max({max_y, p.y, std::isnan(p.y_high) ? 0.0 : p.y_high});
    names.push_back(frontier[i] ? absl::StrCat(p.label, " (frontier)") : p.label);
    widest = std::max(widest, internal::TextWidth(names.back()));
  }
  max_y *= 1.08;  // room for the lower-bound arrows
  internal::ChartFrame f;
  const int width = std::max(options.width, static_cast<int>(f.left + 52 + widest + f.right));
  const double legend_h = 18.0 * static_cast<double>(points.size()) + 8;
  const int total_height = options.height + static_cast<int>(std::ceil(legend_h)) + 8;
  std::string svg = internal::OpenChart(f, width, options.height, total_height, options.title,
                                        max_x, max_y, 1, options.x_title, options.y_title);
  using internal::ChartNum;
  // Frontier line.
  std::vector<std::size_t> on;
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (frontier[i]) on.push_back(i);
  }
  std::sort(on.begin(), on.end(), [&](std::size_t a, std::size_t b) {
    return points[a].x != points[b].x ? points[a].x < points[b].x : points[a].y > points[b].y;
  });
  if (on.size() > 1) {
    std::string line;
    for (std::size_t i : on) {
      absl::StrAppend(&line, line.empty() ? "" : " ", ChartNum(f.X(points[i].x)), ",",
                      ChartNum(f.Y(points[i].y)));
    }
    absl::StrAppend(&svg,
                    "<polyline fill=\"none\" stroke=\"#888888\" stroke-width=\"1.5\" "
                    "stroke-dasharray=\"2 4\" points=\"",
                    line, "\"/>\n");
  }
  for (std::size_t i = 0; i < points.size(); ++i) {
    const ParetoPoint& p = points[i];
    const char* color = internal::ChartColor(i);
    const double x = f.X(p.x), y = f.Y(p.y);
    if (!std::isnan(p.x_low) && !std::isnan(p.x_high)) {
      absl::StrAppend(&svg, "<line x1=\"", ChartNum(f.X(p.x_low)), "\" y1=\"", ChartNum(y),
                      "\" x2=\"", ChartNum(f.X(p.x_high)), "\" y2=\"", ChartNum(y), "\" stroke=\"",
                      color, "\" stroke-width=\"1\"/>\n");
    }
    if (!std::isnan(p.y_low) && !std::isnan(p.y_high)) {
      absl::StrAppend(&svg, "<line x1=\"", ChartNum(x), "\" y1=\"", ChartNum(f.Y(p.y_low)),
                      "\" x2=\"", ChartNum(x), "\" y2=\"", ChartNum(f.Y(p.y_high)), "\" stroke=\"",
                      color, "\" stroke-width=\"1\"/>\n");
    }
    if (p.y_at_least) {
      absl::StrAppend(&svg, "<path d=\"M", ChartNum(x), " ", ChartNum(y - 6), " L", ChartNum(x),
                      " ", ChartNum(y - 20), " M", ChartNum(x - 4), " ", ChartNum(y - 15), " L",
                      ChartNum(x), " ", ChartNum(y - 20), " L", ChartNum(x + 4), " ",
                      ChartNum(y - 15), "\" fill=\"none\" stroke=\"", color,
                      "\" stroke-width=\"1.5\"/>\n");
    }
    svg += internal::ChartMarker(static_cast<int>(i), x, y, color, p.y_at_least);
    // The label goes right of the marker, or left of it in the right half,
    // so it stays inside the plot.
    const bool right_half = x > f.left + f.plot_w / 2;
    absl::StrAppend(&svg, "<text x=\"", ChartNum(right_half ? x - 8 : x + 8), "\" y=\"",
                    ChartNum(y - 6), "\" font-size=\"11\" fill=\"", color, "\"",
                    right_half ? " text-anchor=\"end\"" : "", ">", internal::XmlEscape(p.label),
                    "</text>\n");
  }
  internal::AppendLegend(svg, f, options.height, names, /*lines=*/false);
  svg += "</svg>\n";
  return svg;
}

}  // namespace enipool::sim

#endif  // ENIPOOL_SIM_CHARTS_H_
