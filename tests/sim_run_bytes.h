// What one simulated run leaves behind, as bytes, for tests that require
// two ways of running the same scenario to agree bit for bit (quiet checks
// skipped or run, nodes on a thread of their own or not).

#ifndef ENIPOOL_TESTS_SIM_RUN_BYTES_H_
#define ENIPOOL_TESTS_SIM_RUN_BYTES_H_

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "enipool/sim/cluster.h"
#include "enipool/sim/report.h"
#include "enipool/sim/scenario.h"

namespace enipool::testing {

// The report's table row, summary and samples CSV; each node's counters,
// signals and pool; and the run's event counts.
struct RunBytes {
  std::string report;
  std::string nodes;
  std::int64_t events = 0;
  std::int64_t quiet = 0;
  std::uint64_t node_thread_calls = 0;
};

inline std::string NodeBytes(const sim::Cluster& cluster, bool add_signals) {
  std::string out;
  for (int n = 0; n < cluster.node_count(); ++n) {
    const auto& node = cluster.node(n);
    const ControllerCounters& c = node.counters();
    const PoolSignals& s = node.signals();
    absl::StrAppend(&out, n, ": checks ", c.pool_checks, " adds ", c.add_requests, " dels ",
                    c.del_requests, " no-ip ", c.no_available_ip, " increases ", c.increases,
                    " decreases ", c.decreases, " cidrs ", c.cidrs_added, "/", c.cidrs_released,
                    " enis ", c.enis_created, "/", c.enis_attached, "/", c.enis_freed,
                    " throttle retries ", c.throttle_retries);
    for (const std::int64_t calls : c.calls) absl::StrAppend(&out, " ", calls);
    for (const std::int64_t errors : c.errors) absl::StrAppend(&out, " ", errors);
    if (add_signals) {
      // To the last bit (%a): UpdateSignals must fold exactly as Tick does.
      absl::StrAppend(&out, " rate ", absl::StrFormat("%a", s.add_rate), " peak ",
                      absl::StrFormat("%a", s.recent_peak_adds), " failed ",
                      s.recent_failed_adds);
    }
    // The pool as of the run's end: Stats() first applies the cooldowns
    // that have ended, which readers do lazily — a node left quiet through
    // its last cooldown ends has not applied them yet, one checked in full
    // has (the generation counts them).
    const PoolStats pool = node.datastore().Stats();
    absl::StrAppend(&out, " refill ", absl::FormatDuration(s.refill_latency), " refills ",
                    s.refills_measured, " since ",
                    absl::FormatDuration(s.since_insufficient_cidr_blocks), " pool ",
                    pool.ToString(), " generation ", node.datastore().generation(), "\n");
  }
  return out;
}

// A small living cluster that goes through everything: two zones, two
// node groups under the autoscaler, two workloads with requests, EC2
// faults and throttling, reconciles and the leaked-ENI sweep; `mode`
// secondary-ip or prefix, `policy` a policy/catalog.h name.
inline std::string FaultyLivingCluster(const std::string& mode, const std::string& policy) {
  return absl::StrCat(
      "subnet=10.0.0.0/22,zone=a,occupied=40\n"
      "subnet=10.0.4.0/22,zone=b\n"
      "node-group=m5.large,count=2,min=1,max=6,zone=a,zone=b\n"
      "node-group=c5.xlarge,count=1,min=0,max=3,zone=b\n"
      "autoscaler=on\n"
      "launch-delay=40s\n"
      "scale-down-unneeded=90s\n"
      "drain-time=20s\n"
      "workload=deployments:40,30,4m,exponential;cpu=300m\n"
      "workload=churn:0.3,3m,exponential;initial=20\n"
      "fault=AssignPrivateIpAddresses,from=5m,until=8m,InsufficientFreeAddressesInSubnet\n"
      "fault=AssignIpv4Prefixes,from=5m,until=8m,InsufficientCidrBlocks\n"
      "fault=CreateNetworkInterface,from=5m,until=8m,InsufficientFreeAddressesInSubnet\n"
      "fault=AttachNetworkInterface,from=10m,until=11m,RequestLimitExceeded\n"
      "reconcile-interval=2m\n"
      "leaked-eni-sweep=on\n"
      "mode=", mode, "\n",
      policy == "reference" ? "" : absl::StrCat("policy=", policy, "\n"),
      "duration=15m\n");
}

// Runs `config` to its end — in RunUntil() steps of `step` first, when one
// is given — and returns what it left, requiring a consistent cluster.
inline RunBytes RunToBytes(const sim::ClusterConfig& config,
                           absl::Duration step = absl::ZeroDuration()) {
  absl::StatusOr<std::unique_ptr<sim::Cluster>> cluster = sim::Cluster::Create(config);
  REQUIRE_MESSAGE(cluster.ok(), cluster.status().ToString());
  if (step > absl::ZeroDuration()) {
    const absl::Time end = (*cluster)->now() + config.duration;
    for (absl::Time t = (*cluster)->now() + step; t < end; t += step) {
      (*cluster)->RunUntil(absl::ToUnixNanos(t));
      REQUIRE((*cluster)->CheckConsistency().ok());
    }
  }
  absl::StatusOr<sim::RunReport> report = (*cluster)->Run();
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  REQUIRE((*cluster)->CheckConsistency().ok());
  std::ostringstream bytes;
  sim::PrintTable(bytes, {*report});
  sim::WriteSummaryCsv(bytes, {*report});
  sim::WriteSamplesCsv(bytes, {*report});
  return RunBytes{bytes.str(), NodeBytes(**cluster, config.policy.reads_add_signals()),
                  report->events, (*cluster)->quiet_pool_checks(),
                  (*cluster)->node_thread_calls()};
}

}  // namespace enipool::testing

#endif  // ENIPOOL_TESTS_SIM_RUN_BYTES_H_
