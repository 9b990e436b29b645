#include "enipool/sim/workload.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using enipool::sim::BurstWorkload;
using enipool::sim::ChurnWorkload;
using enipool::sim::DailyWorkload;
using enipool::sim::Lifetime;
using enipool::sim::ParseTrace;
using enipool::sim::ParseWorkloadSpec;
using enipool::sim::PodEvent;
using enipool::sim::WorkloadGenerator;
using enipool::sim::WorkloadSpec;

std::vector<PodEvent> Take(const WorkloadSpec& spec, std::uint64_t seed, int n) {
  WorkloadGenerator generator(spec, seed);
  std::vector<PodEvent> events;
  for (int i = 0; i < n; ++i) {
    auto event = generator.Next();
    if (!event.has_value()) break;
    events.push_back(*event);
  }
  return events;
}

// The message of a failed parse, or "OK".
std::string ErrorOf(const std::string& text) {
  const auto trace = ParseTrace(text);
  if (trace.ok()) return "OK";
  CHECK_MESSAGE(trace.status().code() == absl::StatusCode::kInvalidArgument, trace.status());
  return std::string(trace.status().message());
}

TEST_CASE("A burst creates N pods at one instant, with dense ids and no deletion") {
  const WorkloadSpec spec = BurstWorkload{.pods = 5, .at = absl::Seconds(3)};
  const auto events = Take(spec, 1, 100);
  REQUIRE(events.size() == 5);
  for (std::size_t i = 0; i < events.size(); ++i) {
    CHECK(events[i].type == PodEvent::Type::kAdd);
    CHECK(events[i].at_ns == 3'000'000'000);
    CHECK(events[i].pod == i);
    CHECK(events[i].node == -1);
    CHECK(events[i].lifetime_ns == -1);
  }
}

TEST_CASE("A workload gives the same events for the same seed and different ones for another") {
  const WorkloadSpec spec =
      ChurnWorkload{.arrivals_per_second = 3,
                    .lifetime = {Lifetime::Kind::kLogNormal, absl::Minutes(5), 1.2},
                    .initial_pods = 10};
  CHECK(Take(spec, 7, 1000) == Take(spec, 7, 1000));
  CHECK(Take(spec, 7, 1000) != Take(spec, 8, 1000));
}

TEST_CASE(
    "Churn arrives as a Poisson process at the configured rate with the configured mean lifetime") {
  const WorkloadSpec spec = ChurnWorkload{
      .arrivals_per_second = 4, .lifetime = {Lifetime::Kind::kExponential, absl::Seconds(100), 1}};
  const auto events = Take(spec, 11, 40000);
  REQUIRE(events.size() == 40000);
  double lifetime_sum = 0;
  for (std::size_t i = 1; i < events.size(); ++i) {
    REQUIRE(events[i].at_ns >= events[i - 1].at_ns);
    lifetime_sum += static_cast<double>(events[i].lifetime_ns) / 1e9;
  }
  const double span_s = static_cast<double>(events.back().at_ns) / 1e9;
  // 40,000 exponential draws: the relative standard error is 0.5 %, so 3 % is
  // a six-sigma band.
  CHECK(std::abs(40000 / span_s - 4.0) / 4.0 < 0.03);
  CHECK(std::abs(lifetime_sum / 39999 - 100.0) / 100.0 < 0.03);
}

TEST_CASE("Lognormal lifetimes have the configured mean") {
  std::mt19937_64 rng(5);
  const Lifetime lifetime{Lifetime::Kind::kLogNormal, absl::Seconds(60), 0.5};
  double sum = 0;
  constexpr int kDraws = 50000;
  for (int i = 0; i < kDraws; ++i)
    sum += static_cast<double>(WorkloadGenerator::SampleLifetime(lifetime, rng)) / 1e9;
  CHECK(std::abs(sum / kDraws - 60.0) / 60.0 < 0.02);
}

TEST_CASE("Churn creates its initial pods at time zero before the arrivals") {
  const WorkloadSpec spec = ChurnWorkload{.arrivals_per_second = 1, .initial_pods = 3};
  const auto events = Take(spec, 1, 5);
  REQUIRE(events.size() == 5);
  CHECK(events[0].at_ns == 0);
  CHECK(events[2].at_ns == 0);
  CHECK(events[3].at_ns > 0);
  CHECK(events[4].pod == 4);
}

TEST_CASE("A daily workload arrives faster at its peak than at its trough") {
  const WorkloadSpec spec = DailyWorkload{.mean_arrivals_per_second = 0.2, .amplitude = 0.8};
  WorkloadGenerator generator(spec, 3);
  int near_peak = 0, near_trough = 0;  // peak 14:00, trough 02:00; two-hour windows
  for (;;) {
    const auto event = generator.Next();
    REQUIRE(event.has_value());
    const double hours = static_cast<double>(event->at_ns) / 3.6e12;
    if (hours >= 24) break;
    if (hours >= 13 && hours < 15) ++near_peak;
    if (hours >= 1 && hours < 3) ++near_trough;
  }
  // Expected about 2,600 vs 290 arrivals.
  CHECK(near_peak > 4 * near_trough);
}

TEST_CASE(
    "ParseTrace reads time, node, pod and action, skipping a header, comments and blank lines") {
  const auto trace = ParseTrace(
      "time,node,pod,action\n"
      "# a comment\n"
      "0,0,web-1,add\n"
      "\n"
      "1.5,1,web-2,add\n"
      "2m,0,web-1,delete\n"
      "2m,2,web-1,add\n");
  REQUIRE_MESSAGE(trace.ok(), trace.status());
  REQUIRE(trace->records.size() == 4);
  CHECK(trace->records[1].at == absl::Milliseconds(1500));
  CHECK(trace->records[1].node == 1);
  CHECK(trace->records[1].line == 5);
  CHECK(trace->records[2].at == absl::Minutes(2));
  CHECK_FALSE(trace->records[2].add);

  // Replayed: the re-added web-1 is a new pod id; the delete names the first.
  const WorkloadSpec spec = *trace;
  const auto events = Take(spec, 1, 10);
  REQUIRE(events.size() == 4);
  CHECK(events[2].type == PodEvent::Type::kDelete);
  CHECK(events[2].pod == 0);
  CHECK(events[3].pod == 2);
  CHECK(events[3].node == 2);
}

TEST_CASE("ParseTrace names the line and the bad field of a bad trace") {
  CHECK(ErrorOf("0,0,a,add\n1,0,b\n") ==
        "trace line 2: expected 4 to 6 fields (time,node,pod,add|delete[,cpu[,memory]]), got 3: "
        "\"1,0,b\"");
  CHECK(ErrorOf("soon,0,a,add\n") ==
        "trace line 1: bad time \"soon\": want non-negative seconds (12.5) or a duration (1m30s)");
  CHECK(ErrorOf("-1,0,a,add\n").find("trace line 1: bad time \"-1\"") == 0);
  CHECK(ErrorOf("0,x,a,add\n") ==
        "trace line 1: bad node \"x\": want a node index 0, 1, 2, ... or - (any node)");
  CHECK(ErrorOf("0,-2,a,add\n").find("trace line 1: bad node \"-2\"") == 0);
  CHECK(ErrorOf("0,0, ,add\n") == "trace line 1: empty pod name");
  CHECK(ErrorOf("0,0,a,remove\n") == "trace line 1: bad action \"remove\": want add or delete");
  CHECK(ErrorOf("5,0,a,add\n4,0,b,add\n") ==
        "trace line 2: time 4s is before the previous line's 5s (traces must be in time order)");
  CHECK(ErrorOf("0,0,a,add\n1,1,a,add\n") == "trace line 2: pod \"a\" is added twice");
  CHECK(ErrorOf("0,0,a,add\n1,0,b,delete\n") ==
        "trace line 2: delete of pod \"b\", which is not running");
}

TEST_CASE("ReadTraceFile reports a missing file by path") {
  const auto trace = enipool::sim::ReadTraceFile("/nonexistent/trace.csv");
  CHECK(trace.status() == absl::NotFoundError("cannot read trace file \"/nonexistent/trace.csv\""));
}

TEST_CASE("ParseWorkloadSpec reads the command-line forms") {
  auto burst = ParseWorkloadSpec("burst:300");
  REQUIRE_MESSAGE(burst.ok(), burst.status());
  CHECK(std::get<BurstWorkload>(*burst).pods == 300);

  auto later = ParseWorkloadSpec("burst:10@1m");
  REQUIRE_MESSAGE(later.ok(), later.status());
  CHECK(std::get<BurstWorkload>(*later).at == absl::Minutes(1));

  auto churn = ParseWorkloadSpec("churn:5,10m,lognormal,1.5;initial=200");
  REQUIRE_MESSAGE(churn.ok(), churn.status());
  const auto& c = std::get<ChurnWorkload>(*churn);
  CHECK(c.arrivals_per_second == 5);
  CHECK(c.lifetime == Lifetime{Lifetime::Kind::kLogNormal, absl::Minutes(10), 1.5});
  CHECK(c.initial_pods == 200);

  auto daily = ParseWorkloadSpec("daily:2,0.6,30m,exponential");
  REQUIRE_MESSAGE(daily.ok(), daily.status());
  CHECK(std::get<DailyWorkload>(*daily).amplitude == 0.6);
  CHECK(std::get<DailyWorkload>(*daily).lifetime.kind == Lifetime::Kind::kExponential);
}

TEST_CASE("ParseWorkloadSpec rejects a bad workload naming the bad part") {
  CHECK(ParseWorkloadSpec("storm:5").status() ==
        absl::InvalidArgumentError(
            "bad workload kind \"storm\": want burst, churn, daily, deployments or trace"));
  CHECK(ParseWorkloadSpec("burst:many").status() ==
        absl::InvalidArgumentError("bad burst size \"many\": want burst:N with N >= 0"));
  CHECK(ParseWorkloadSpec("burst:10@-1m").status() ==
        absl::InvalidArgumentError("bad burst start \"-1m\": want burst:N@START with START >= 0, "
                                   "in seconds (90) or a duration (1m30s)"));
  CHECK(ParseWorkloadSpec("churn:5").status() ==
        absl::InvalidArgumentError(
            "bad churn workload \"churn:5\": want churn:RATE,LIFETIME[,DIST]"));
  CHECK(ParseWorkloadSpec("churn:-1,10m").status() ==
        absl::InvalidArgumentError("bad arrival rate \"-1\": want pods per second >= 0"));
  CHECK(ParseWorkloadSpec("churn:1,10m,gamma").status() ==
        absl::InvalidArgumentError(
            "bad lifetime distribution \"gamma\": want fixed, exponential or lognormal"));
  CHECK(
      ParseWorkloadSpec("churn:1,0s").status() ==
      absl::InvalidArgumentError("bad lifetime \"0s\": want a positive duration (10m) or forever"));
  CHECK(ParseWorkloadSpec("daily:1,1.5,10m").status() ==
        absl::InvalidArgumentError("bad daily amplitude \"1.5\": want a number in [0, 1]"));
  CHECK(ParseWorkloadSpec("nonsense").status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
