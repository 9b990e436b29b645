#include "enipool/sim/report.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "enipool/sim/charts.h"

namespace {

using enipool::sim::DurationHistogram;
using enipool::sim::ReportSample;
using enipool::sim::RunReport;

RunReport MakeRun(std::string name, int scale) {
  RunReport run;
  run.name = std::move(name);
  run.description = "2 x m5.large, burst:10";
  run.simulated = absl::Seconds(60);
  run.pods_created = 10 * scale;
  run.pods_ready = 10 * scale;
  run.time_to_all_ready = absl::Seconds(12);
  run.time_to_ip.Record(absl::ZeroDuration());
  run.time_to_ip.Record(absl::Seconds(11));
  run.calls_by_api["AssignIpv4Prefixes"] = 3 * scale;
  run.errors_by_code["RequestLimitExceeded"] = scale;
  run.ec2_calls = 3 * scale;
  for (int t = 0; t <= 60; t += 10) {
    run.samples.push_back(ReportSample{.at = absl::Seconds(t),
                                       .pods_ready = std::min(t, 10) * scale,
                                       .enis = 2,
                                       .prefixes = scale});
  }
  return run;
}

// A minimal XML well-formedness check: every tag closes in order, attributes
// are quoted, text has no raw '<' or '&' that is not an entity.
bool WellFormedXml(const std::string& xml, std::string* why) {
  std::vector<std::string> open;
  std::size_t i = 0;
  while (i < xml.size()) {
    if (xml[i] == '&') {
      const auto semi = xml.find(';', i);
      const std::string entity = xml.substr(i, semi == std::string::npos ? 1 : semi - i + 1);
      if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" && entity != "&quot;") {
        *why = "bad entity " + entity;
        return false;
      }
      i = semi + 1;
      continue;
    }
    if (xml[i] != '<') {
      if (xml[i] == '>') {
        *why = "stray >";
        return false;
      }
      ++i;
      continue;
    }
    const auto end = xml.find('>', i);
    if (end == std::string::npos) {
      *why = "unterminated tag";
      return false;
    }
    std::string tag = xml.substr(i + 1, end - i - 1);
    if (std::count(tag.begin(), tag.end(), '"') % 2 != 0) {
      *why = "unbalanced quotes in <" + tag + ">";
      return false;
    }
    if (!tag.empty() && tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1)) {
        *why = "mismatched </" + tag.substr(1) + ">";
        return false;
      }
      open.pop_back();
    } else if (!tag.empty() && tag.back() != '/') {
      open.push_back(tag.substr(0, tag.find(' ')));
    }
    i = end + 1;
  }
  if (!open.empty()) {
    *why = "unclosed <" + open.back() + ">";
    return false;
  }
  return true;
}

TEST_CASE("DurationHistogram quantiles match a sorted list within the bucket width") {
  std::mt19937_64 rng(9);
  DurationHistogram histogram;
  std::vector<std::int64_t> values;
  for (int i = 0; i < 20000; ++i) {
    // Many zeros (pods that got an IP at once) and a long tail up to minutes.
    const std::int64_t us = rng() % 4 == 0 ? 0 : static_cast<std::int64_t>(rng() % 200'000'000);
    values.push_back(us);
    histogram.Record(absl::Microseconds(us));
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.0, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0}) {
    const auto rank = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(q * 20000)));
    const double exact = static_cast<double>(values[rank - 1]);
    const double got = static_cast<double>(absl::ToInt64Microseconds(histogram.Quantile(q)));
    CHECK_MESSAGE(got >= exact, "q=", q);
    CHECK_MESSAGE(got <= exact * (1 + 1.0 / 128) + 1, "q=", q);
  }
  CHECK(histogram.max() == absl::Microseconds(values.back()));
  CHECK(histogram.count() == 20000);
}

TEST_CASE("DurationHistogram is exact below 128 microseconds and empty gives zero") {
  DurationHistogram histogram;
  CHECK(histogram.Quantile(0.5) == absl::ZeroDuration());
  for (int us : {3, 5, 7, 100}) histogram.Record(absl::Microseconds(us));
  CHECK(histogram.Quantile(0.5) == absl::Microseconds(5));
  CHECK(histogram.Quantile(0.75) == absl::Microseconds(7));
  CHECK(histogram.Quantile(1.0) == absl::Microseconds(100));
}

TEST_CASE("CensoredQuantile matches a sorted-list model with censored values at their bound") {
  // Values below 128 us, where the histogram is exact, so the model's answer
  // must come back bit for bit, the lower-bound flag included.
  std::mt19937_64 rng(41);
  for (int round = 0; round < 200; ++round) {
    CAPTURE(round);
    DurationHistogram observed, censored;
    std::vector<std::pair<std::int64_t, bool>> all;  // (microseconds, censored)
    const int n_observed = static_cast<int>(rng() % 40);
    const int n_censored = static_cast<int>(rng() % 10);
    for (int i = 0; i < n_observed; ++i) {
      const auto us = static_cast<std::int64_t>(rng() % 100);
      observed.Record(absl::Microseconds(us));
      all.emplace_back(us, false);
    }
    for (int i = 0; i < n_censored; ++i) {
      const auto us = static_cast<std::int64_t>(rng() % 128);
      censored.Record(absl::Microseconds(us));
      all.emplace_back(us, true);
    }
    std::sort(all.begin(), all.end());
    for (double q : {0.0, 0.5, 0.9, 0.95, 0.99, 1.0}) {
      CAPTURE(q);
      const enipool::sim::CensoredValue got = enipool::sim::CensoredQuantile(observed, censored, q);
      if (all.empty()) {
        CHECK(got == enipool::sim::CensoredValue{});
        continue;
      }
      const auto rank = std::max<std::size_t>(
          1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(all.size()))));
      const std::int64_t want = all[rank - 1].first;
      // Exact when `rank` observed values are at or below it: no censored
      // value, however long it truly is, can then move the quantile.
      const auto observed_at_or_below = static_cast<std::size_t>(std::count_if(
          all.begin(), all.end(), [&](const auto& v) { return !v.second && v.first <= want; }));
      CHECK(got.value == absl::Microseconds(want));
      CHECK(got.at_least == (observed_at_or_below < rank));
    }
  }
}

TEST_CASE("A run whose pods were never served prints its percentiles as lower bounds") {
  RunReport run = MakeRun("starved", 1);
  run.pods_pending = 30;
  run.pods_never_served = 30;
  for (int i = 0; i < 30; ++i) run.time_to_ip_censored.Record(absl::Minutes(2));
  CHECK(run.TimeToIp(0.95).at_least);
  CHECK(run.TimeToIp(0.95).value == absl::Minutes(2));
  CHECK_FALSE(run.TimeToIp(0.0).at_least);  // the fastest served pod decides it
  std::ostringstream table, csv;
  enipool::sim::PrintTable(table, {run});
  CHECK(table.str().find("\u2265 2.0 min") != std::string::npos);
  CHECK(table.str().find("pods never served") != std::string::npos);
  enipool::sim::WriteSummaryCsv(csv, {run});
  CHECK(csv.str().find("time_to_ip_p95_at_least") != std::string::npos);
  CHECK(csv.str().find(",120.000,1,") != std::string::npos);
}

TEST_CASE("PrintTable aligns one column per run with a row per metric") {
  std::ostringstream out;
  enipool::sim::PrintTable(out, {MakeRun("secondary-ip", 1), MakeRun("prefix", 2)});
  const std::vector<std::string> lines = absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  REQUIRE(lines.size() > 10);
  for (const std::string& line : lines) CHECK(line.size() == lines[0].size());
  CHECK(lines[0].find("secondary-ip") != std::string::npos);
  CHECK(out.str().find("  AssignIpv4Prefixes") != std::string::npos);
  CHECK(out.str().find("errors: RequestLimitExceeded") != std::string::npos);
  CHECK(out.str().find("time to all-ready") != std::string::npos);
}

TEST_CASE("The CSV outputs have a header and the same number of fields on every row") {
  RunReport odd = MakeRun("name, with \"quotes\"", 1);
  odd.calls_by_api["CreateNetworkInterface"] = 1;  // an API only this run used
  std::ostringstream summary, samples;
  enipool::sim::WriteSummaryCsv(summary, {MakeRun("a", 1), odd});
  enipool::sim::WriteSamplesCsv(samples, {MakeRun("a", 1), odd});
  for (const std::string& csv : {summary.str(), samples.str()}) {
    const std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
    REQUIRE(lines.size() >= 3);
    // Count fields outside quotes.
    const auto fields = [](const std::string& line) {
      int n = 1;
      bool quoted = false;
      for (char c : line) {
        if (c == '"') quoted = !quoted;
        if (c == ',' && !quoted) ++n;
      }
      return n;
    };
    for (const std::string& line : lines) CHECK_MESSAGE(fields(line) == fields(lines[0]), line);
  }
  CHECK(summary.str().find("\"name, with \"\"quotes\"\"\"") != std::string::npos);
  CHECK(summary.str().find("calls_CreateNetworkInterface") != std::string::npos);
  CHECK(samples.str().find("a,60.000,10,") != std::string::npos);
}

TEST_CASE("RenderReadyPodsSvg draws a well-formed chart with one line and legend entry per run") {
  const std::string svg = enipool::sim::RenderReadyPodsSvg(
      {MakeRun("secondary-ip", 1), MakeRun("prefix <PD> & co", 2)});
  std::string why;
  CHECK_MESSAGE(WellFormedXml(svg, &why), why);
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  std::size_t polylines = 0;
  for (std::size_t at = svg.find("<polyline"); at != std::string::npos;
       at = svg.find("<polyline", at + 1))
    ++polylines;
  CHECK(polylines == 2);
  CHECK(svg.find(">secondary-ip</text>") != std::string::npos);
  CHECK(svg.find(">prefix &lt;PD&gt; &amp; co</text>") != std::string::npos);
  CHECK(svg.find("simulated time (s)") != std::string::npos);
  CHECK(svg.find("pods ready") != std::string::npos);
}

TEST_CASE("RenderReadyPodsSvg handles runs without samples") {
  RunReport empty;
  empty.name = "empty";
  std::string why;
  CHECK_MESSAGE(WellFormedXml(enipool::sim::RenderReadyPodsSvg({empty}), &why), why);
}

}  // namespace
