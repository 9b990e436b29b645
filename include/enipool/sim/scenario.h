// -----------------------------------------------------------------------------
// File: sim/scenario.h
// -----------------------------------------------------------------------------
//
// `sim::ClusterConfig`: everything one simulated run needs — instance type,
// node count, subnets, workload, address mode and warm targets, seed,
// duration, sampling — and the text forms that build it: `key=value`
// settings, shared by command-line flags (`--key value`) and scenario files
// (one `key=value` a line, `#` comments).
//
// Settings (keys; values):
//   name                 label of the run in tables, CSV and the chart
//   instance-type        e.g. m5.large (limits from enipool/instance_limits.h)
//   nodes                node count, ≥ 1
//   subnet               CIDR[,reserve=CIDR...][,occupied=N][,pod-only][,zone=Z];
//                        repeat for several subnets (node i uses subnet i
//                        mod count); "reserve" adds a prefix CIDR
//                        reservation, "occupied" takes N addresses at random
//                        for other tenants first (a fragmented subnet),
//                        "pod-only" makes it a subnet for pods only
//                        (SubnetConfig::pod_only), "zone" names its
//                        availability zone (node groups place their nodes
//                        by zone). Default 10.0.0.0/16.
//   subnet-discovery     on | off   (ENABLE_SUBNET_DISCOVERY for every node)
//   workload             burst:N | churn:RATE,LIFETIME[,DIST] | daily:... |
//                        trace:FILE (see sim/workload.h), each optionally
//                        with ;cpu=Q;memory=Q requests; several joined by
//                        '+', or several workload lines in one scenario
//                        file, run side by side
//   node-group           TYPE[,count=N][,min=N][,max=N][,zone=Z...]
//                        [,max-pods=N][,cpu=Q][,memory=Q][,name=S]; repeat
//                        for several groups (sim/node_groups.h). With node
//                        groups, nodes and instance-type come from them
//   autoscaler           on | off (sim/node_groups.h: AutoscalerConfig)
//   launch-delay, scale-down-unneeded, autoscaler-interval, drain-time
//                        the autoscaler's durations; scale-down-utilization
//                        its threshold in [0, 1]
//   fault                CALL,nth=N,CODE | CALL,from=T,until=T,CODE: a
//                        scripted EC2 failure (ec2/fault_plan.h); CALL an
//                        API name or "any", CODE an EC2 error code, T from
//                        the run's start; repeat for several
//   reconcile-interval   how often nodes reconcile with EC2 (default never)
//   pool-check-interval  ipamd's pool loop (default 5s)
//   kubelet-backoff      kubelet's retry of a failed sandbox (default 10s)
//   leaked-eni-sweep     on | off (the leaked-ENI sweep, default off)
//   node-thread          on | off (ClusterConfig::node_thread: the nodes'
//                        pod ADDs and DELs on a second thread, the same
//                        results; default off)
//   mode                 secondary-ip | prefix
//   policy               reference | churn-adaptive | prefix-fallback
//                        (policy/catalog.h; prefix-fallback needs
//                        mode=prefix and lets the nodes hold /32s too)
//   warm-eni-target, warm-ip-target, minimum-ip-target, warm-prefix-target
//   max-pods             kubelet max pods (default from the instance type)
//   max-eni              MAX_ENI (default: the instance limit)
//   ip-cooldown          IP_COOLDOWN_PERIOD, e.g. 30s
//   placement            best-fit | spread | first-fit
//   eni-primary          random | fragmentation-aware   (where new ENIs'
//                        primary addresses go, policy/eni_address.h)
//   seed, duration, sample-interval
//   warmup               pods created before this are left out of time to IP
//   throttle             on | off   (account-wide EC2 token buckets)
//   latency              default | zero
//
// Durations need their unit (30s, 5m, 2h; a bare "5" is refused). Keys may
// be spelled with '_' instead of '-' (warm_ip_target), as flag names are.
//
// Defaults follow the shipped aws-node manifest, not the code: WARM_ENI_TARGET=1
// and WARM_PREFIX_TARGET=1 (the code default 0 makes prefix mode flap,
// docs/reference-behavior.md §4.11 pitfall 5).
//
// Example:
//
//   enipool::sim::ClusterConfig config;
//   ENIPOOL_RETURN_IF_ERROR(enipool::sim::ApplySetting(config, "mode", "prefix"));
//   ENIPOOL_ASSIGN_OR_RETURN(config, enipool::sim::ParseScenario("nodes=50\nworkload=burst:2000\n",
//   config)); ENIPOOL_RETURN_IF_ERROR(enipool::sim::ResolveConfig(config));   // limits filled,
//   checked

#ifndef ENIPOOL_SIM_SCENARIO_H_
#define ENIPOOL_SIM_SCENARIO_H_

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <type_traits>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "enipool/datastore.h"
#include "enipool/instance_limits.h"
#include "enipool/ipv4.h"
#include "enipool/max_pods.h"
#include "enipool/policy/catalog.h"
#include "enipool/policy/eni_address.h"
#include "enipool/policy/policy.h"
#include "enipool/policy/prefix_fallback.h"
#include "enipool/policy/warm_pool.h"
#include "enipool/ec2/backend.h"
#include "enipool/ec2/ec2_api.h"
#include "enipool/ec2/fault_plan.h"
#include "enipool/ec2/latency.h"
#include "enipool/ec2/throttle.h"
#include "enipool/sim/node_groups.h"
#include "enipool/sim/scheduler.h"
#include "enipool/sim/workload.h"
#include "enipool/status.h"

namespace enipool::sim {

// SubnetConfig
//
// One subnet of the simulated VPC.
struct SubnetConfig {
  Ipv4Prefix cidr;
  std::vector<Ipv4Prefix> prefix_reservations;
  // Addresses taken at random by resources outside the cluster before the
  // run starts (SimulatedEc2::OccupyAddresses): a fragmented subnet.
  int occupied = 0;
  // A subnet for pods only (subnet discovery, docs/reference-behavior.md
  // §7.1): tagged kubernetes.io/role/cni=1 and no node's primary subnet.
  // Nodes that discover subnets (ClusterConfig::subnet_discovery) put ENIs
  // here when it has the most free addresses.
  bool pod_only = false;
  // Its availability zone; empty: the one unnamed zone.
  std::string zone;
  friend bool operator==(const SubnetConfig&, const SubnetConfig&) = default;
};

// ClusterConfig
//
// One scenario. See the file comment for the meaning of each setting.
struct ClusterConfig {
  std::string name = "run";
  std::string instance_type = "m5.large";
  int nodes = 10;
  std::vector<SubnetConfig> subnets;  // empty: one 10.0.0.0/16
  // Nodes discover subnets (ControllerConfig::subnet_discovery): new ENIs
  // may go to pod-only subnets, an exhausted subnet skips an ENI without
  // the 120 s back-off. Off by default.
  bool subnet_discovery = false;
  WorkloadSpec workload = [] {
    BurstWorkload burst;
    burst.pods = 100;
    return WorkloadSpec(burst);
  }();
  // More workloads, run side by side with `workload` (each from its own
  // random stream; `workload` keeps the stream it has alone).
  std::vector<WorkloadSpec> extra_workloads;
  // Node groups; empty: one group of `nodes` × `instance_type`, fixed.
  std::vector<NodeGroupConfig> node_groups;
  AutoscalerConfig autoscaler;
  // Scripted EC2 failures; rule times are from the run's start (the
  // simulated clock starts at the Unix epoch).
  ec2::FaultPlan faults;
  // The leaked-ENI sweep on every node (ControllerConfig::leaked_eni_sweep).
  bool leaked_eni_sweep = false;
  // Mode and targets. max_enis / ipv4_per_eni / max_pods /
  // prefix_delegation_supported are filled by ResolveConfig() from the
  // instance type unless set (max_pods via `max_pods` below).
  WarmPoolConfig pool = [] {
    WarmPoolConfig c;
    c.warm_eni_target = 1;
    c.warm_prefix_target = 1;
    return c;
  }();
  // The warm-pool policy every node runs (the reference's rules unless
  // set); a user's own policy type converts to it.
  AnyWarmPoolPolicy policy;
  int max_pods = 0;  // 0: from the instance type (see ResolveConfig())
  int max_eni = 0;   // MAX_ENI; 0: the instance limit
  Placement placement = Placement::kBestFit;
  // Where the nodes put new ENIs' primary addresses (policy/eni_address.h).
  EniPrimaryPlacement eni_primary = EniPrimaryPlacement::kRandom;
  std::uint64_t seed = 1;
  absl::Duration duration = absl::Minutes(5);
  // Pods created before this time from the start are not timed (time to IP
  // leaves them out, served or not); they still count everywhere else.
  absl::Duration warmup = absl::ZeroDuration();
  absl::Duration sample_interval = absl::Seconds(5);
  // ipamd's pool loop (docs/reference-behavior.md §4.3): every 5 s; each node starts at a
  // random phase and each wake-up is late by up to `pool_check_jitter`.
  absl::Duration pool_check_interval = absl::Seconds(5);
  absl::Duration pool_check_jitter = absl::Milliseconds(100);
  // Whether a node's pool check that cannot change anything (the node says
  // so, NodeController::QuietUntil()) only updates the node's ADD signals
  // instead of running the whole check — or does nothing at all when the
  // policy does not read them (PolicyReadsAddSignals; the node's signals()
  // then lag, unread). The results are the same either way, bit for bit
  // (tests/sim_quiet_checks_test.cpp compares them); off is slower, for
  // that comparison.
  bool skip_quiet_pool_checks = true;
  // Runs the nodes' pod ADDs and DELs on a second thread, in the order the
  // simulation makes them, while the main thread goes on through the queue
  // (sim/cluster.h, "The node thread"). The results are the same, bit for
  // bit (tests/sim_node_thread_test.cpp). Faster where a node's state is a
  // cache miss (thousands of nodes); slower where the whole cluster fits in
  // cache, and it takes a core of its own. Off by default.
  bool node_thread = false;
  // How often each node reconciles with EC2 (ControllerConfig::reconcile_interval):
  // never by default, as nothing but the nodes changes EC2 in a simulation;
  // set it when something else does (Cluster::mutable_ec2()).
  absl::Duration reconcile_interval = absl::InfiniteDuration();
  // kubelet's retry of a failed sandbox creation (see sim/cluster.h).
  absl::Duration kubelet_backoff = absl::Seconds(10);
  double kubelet_backoff_jitter = 0.5;
  ec2::LatencyModel latency = ec2::LatencyModel::Defaults();
  ec2::ThrottleConfig throttle = ec2::ThrottleConfig::Ec2Defaults();
};

}  // namespace enipool::sim

namespace enipool::internal {

inline absl::Status BadSetting(absl::string_view key, absl::string_view value,
                               absl::string_view want) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad ", key, " ", QuoteInput(value), ": want ", want));
}

inline absl::Status ParseIntSetting(absl::string_view key, absl::string_view value, int min,
                                    int* out) {
  int v = 0;
  if (!absl::SimpleAtoi(value, &v) || v < min) {
    return BadSetting(key, value, absl::StrCat("an integer >= ", min));
  }
  *out = v;
  return absl::OkStatus();
}

inline absl::Status ParseDurationSetting(absl::string_view key, absl::string_view value,
                                         bool positive, absl::Duration* out) {
  // A unit is required ("5" could mean seconds or minutes); absl's parser
  // accepts a bare "0", which is unambiguous.
  absl::Duration d;
  if (!absl::ParseDuration(std::string(absl::StripAsciiWhitespace(value)), &d) ||
      d < absl::ZeroDuration() || d == absl::InfiniteDuration() ||
      (positive && d == absl::ZeroDuration())) {
    return BadSetting(key, value,
                      positive ? "a positive duration with its unit, such as 30s or 5m"
                               : "a duration with its unit, such as 30s or 5m");
  }
  *out = d;
  return absl::OkStatus();
}

}  // namespace enipool::internal

namespace enipool::sim {

// ParseSubnet()
//
// "CIDR[,reserve=CIDR...][,occupied=N][,pod-only][,zone=Z]". INVALID_ARGUMENT
// naming the bad part.
[[nodiscard]] inline absl::StatusOr<SubnetConfig> ParseSubnet(absl::string_view text) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  SubnetConfig subnet;
  const auto cidr = Ipv4Prefix::Parse(absl::StripAsciiWhitespace(parts[0]));
  if (!cidr.ok())
    return absl::InvalidArgumentError(absl::StrCat("bad subnet: ", cidr.status().message()));
  if (cidr->length() < 16 || cidr->length() > 28) {
    return internal::BadSetting("subnet", parts[0], "a CIDR from /16 to /28, as AWS allows");
  }
  subnet.cidr = *cidr;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    absl::string_view part = absl::StripAsciiWhitespace(parts[i]);
    if (absl::ConsumePrefix(&part, "zone=")) {
      if (part.empty()) return internal::BadSetting("subnet zone", part, "a zone name");
      subnet.zone = std::string(part);
      continue;
    }
    if (absl::ConsumePrefix(&part, "occupied=")) {
      ENIPOOL_RETURN_IF_ERROR(internal::ParseIntSetting("subnet occupied", part, 0, &subnet.occupied));
      continue;
    }
    if (part == "pod-only") {
      subnet.pod_only = true;
      continue;
    }
    if (!absl::ConsumePrefix(&part, "reserve=")) {
      return internal::BadSetting("subnet option", parts[i],
                                  "reserve=CIDR, occupied=N, pod-only or zone=Z");
    }
    const auto reservation = Ipv4Prefix::Parse(part);
    if (!reservation.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad subnet reservation: ", reservation.status().message()));
    }
    subnet.prefix_reservations.push_back(*reservation);
  }
  return subnet;
}

// AddFaultRule()
//
// Adds the rule of "CALL,nth=N,CODE" or "CALL,from=T,until=T,CODE" to
// `plan` (see the file comment): CALL an EC2 API name (AssignIpv4Prefixes)
// or "any", CODE an EC2 error code (InsufficientCidrBlocks), T a duration
// from the run's start. INVALID_ARGUMENT naming the bad part, `plan`
// unchanged.
[[nodiscard]] inline absl::Status AddFaultRule(ec2::FaultPlan& plan, absl::string_view text) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  const auto bad = [&](absl::string_view part, absl::string_view want) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad fault part ", QuoteInput(part), " in ", QuoteInput(text), ": want ", want));
  };
  if (parts.size() != 3 && parts.size() != 4) {
    return bad(text, "CALL,nth=N,CODE or CALL,from=T,until=T,CODE");
  }
  std::optional<ec2::CallKind> kind;
  const absl::string_view call = absl::StripAsciiWhitespace(parts[0]);
  if (call != "any") {
    for (std::size_t k = 0; k < ec2::kCallKindCount; ++k) {
      if (ec2::CallKindName(static_cast<ec2::CallKind>(k)) == call) {
        kind = static_cast<ec2::CallKind>(k);
      }
    }
    if (!kind.has_value()) return bad(call, "an EC2 API name such as AssignIpv4Prefixes, or any");
  }
  const absl::string_view code_name = absl::StripAsciiWhitespace(parts.back());
  std::optional<Ec2ErrorCode> code;
  for (std::size_t c = 1; c <= static_cast<std::size_t>(Ec2ErrorCode::kOther); ++c) {
    if (Ec2ErrorCodeName(static_cast<Ec2ErrorCode>(c)) == code_name) {
      code = static_cast<Ec2ErrorCode>(c);
    }
  }
  if (!code.has_value()) return bad(code_name, "an EC2 error code such as InsufficientCidrBlocks");
  const absl::Status error = Ec2Error(*code, "scripted by the scenario");
  ec2::FaultPlan edited = plan;
  if (parts.size() == 3) {
    absl::string_view nth_text = absl::StripAsciiWhitespace(parts[1]);
    std::uint64_t nth = 0;
    if (!absl::ConsumePrefix(&nth_text, "nth=") || !absl::SimpleAtoi(nth_text, &nth) || nth < 1) {
      return bad(parts[1], "nth=N with N >= 1");
    }
    if (kind.has_value()) {
      edited.FailNthCall(*kind, nth, error);
    } else {
      edited.FailNthCallOfAnyKind(nth, error);
    }
  } else {
    absl::Duration bounds[2];
    const absl::string_view names[2] = {"from=", "until="};
    for (int b = 0; b < 2; ++b) {
      absl::string_view part = absl::StripAsciiWhitespace(parts[static_cast<std::size_t>(b) + 1]);
      if (!absl::ConsumePrefix(&part, names[b]) ||
          !internal::ParseDurationSetting("fault", part, false, &bounds[b]).ok()) {
        return bad(parts[static_cast<std::size_t>(b) + 1],
                   absl::StrCat(names[b], "T with T a duration such as 30s"));
      }
    }
    if (bounds[1] <= bounds[0]) return bad(parts[2], "until= after from=");
    const absl::Time from = absl::UnixEpoch() + bounds[0];
    const absl::Time until = absl::UnixEpoch() + bounds[1];
    if (kind.has_value()) {
      edited.FailCallsBetween(*kind, from, until, error);
    } else {
      edited.FailAllCallsBetween(from, until, error);
    }
  }
  plan = std::move(edited);
  return absl::OkStatus();
}

// ApplySetting()
//
// Sets one `key` (see the file comment) on `config`. INVALID_ARGUMENT naming
// the key and the bad value, with `config` unchanged.
[[nodiscard]] inline absl::Status ApplySetting(ClusterConfig& config, absl::string_view key,
                                               absl::string_view value) {
  // Keys are written with '-' ("warm-ip-target"); '_' is accepted too, the
  // spelling of command-line flag names.
  std::string normalized_key(absl::StripAsciiWhitespace(key));
  std::replace(normalized_key.begin(), normalized_key.end(), '_', '-');
  key = normalized_key;
  value = absl::StripAsciiWhitespace(value);
  ClusterConfig c = config;  // edit a copy: a failed setting changes nothing
  if (key == "name") {
    if (value.empty()) return internal::BadSetting(key, value, "a non-empty label");
    c.name = std::string(value);
  } else if (key == "instance-type") {
    const auto limits = FindInstanceLimits(value);
    if (!limits.ok()) return limits.status();
    c.instance_type = std::string(value);
  } else if (key == "nodes") {
    ENIPOOL_RETURN_IF_ERROR(internal::ParseIntSetting(key, value, 1, &c.nodes));
  } else if (key == "subnet") {
    ENIPOOL_ASSIGN_OR_RETURN(SubnetConfig subnet, ParseSubnet(value));
    c.subnets.push_back(std::move(subnet));
  } else if (key == "workload") {
    // Replaces every workload; ParseScenario() adds a second line's.
    ENIPOOL_ASSIGN_OR_RETURN(std::vector<WorkloadSpec> specs, ParseWorkloadSpecs(value));
    c.workload = std::move(specs.front());
    c.extra_workloads.assign(std::make_move_iterator(specs.begin() + 1),
                             std::make_move_iterator(specs.end()));
  } else if (key == "node-group") {
    ENIPOOL_ASSIGN_OR_RETURN(NodeGroupConfig group, ParseNodeGroup(value));
    c.node_groups.push_back(std::move(group));
  } else if (key == "autoscaler") {
    if (value != "on" && value != "off") return internal::BadSetting(key, value, "on or off");
    c.autoscaler.enabled = value == "on";
  } else if (key == "launch-delay") {
    ENIPOOL_RETURN_IF_ERROR(
        internal::ParseDurationSetting(key, value, false, &c.autoscaler.launch_delay));
  } else if (key == "scale-down-unneeded") {
    ENIPOOL_RETURN_IF_ERROR(
        internal::ParseDurationSetting(key, value, false, &c.autoscaler.scale_down_unneeded));
  } else if (key == "autoscaler-interval") {
    ENIPOOL_RETURN_IF_ERROR(
        internal::ParseDurationSetting(key, value, true, &c.autoscaler.scan_interval));
  } else if (key == "drain-time") {
    ENIPOOL_RETURN_IF_ERROR(
        internal::ParseDurationSetting(key, value, false, &c.autoscaler.drain_time));
  } else if (key == "scale-down-utilization") {
    double threshold = 0;
    if (!absl::SimpleAtod(value, &threshold) || !(threshold >= 0 && threshold <= 1)) {
      return internal::BadSetting(key, value, "a fraction in [0, 1]");
    }
    c.autoscaler.scale_down_utilization = threshold;
  } else if (key == "fault") {
    ENIPOOL_RETURN_IF_ERROR(AddFaultRule(c.faults, value));
  } else if (key == "reconcile-interval") {
    if (value == "never") {
      c.reconcile_interval = absl::InfiniteDuration();
    } else {
      ENIPOOL_RETURN_IF_ERROR(
          internal::ParseDurationSetting(key, value, true, &c.reconcile_interval));
    }
  } else if (key == "pool-check-interval") {
    ENIPOOL_RETURN_IF_ERROR(
        internal::ParseDurationSetting(key, value, true, &c.pool_check_interval));
  } else if (key == "kubelet-backoff") {
    ENIPOOL_RETURN_IF_ERROR(internal::ParseDurationSetting(key, value, true, &c.kubelet_backoff));
  } else if (key == "leaked-eni-sweep") {
    if (value != "on" && value != "off") return internal::BadSetting(key, value, "on or off");
    c.leaked_eni_sweep = value == "on";
  } else if (key == "node-thread") {
    if (value != "on" && value != "off") return internal::BadSetting(key, value, "on or off");
    c.node_thread = value == "on";
  } else if (key == "mode") {
    if (value == "secondary-ip" || value == "sip") {
      c.pool.mode = AddressMode::kSecondaryIp;
    } else if (value == "prefix" || value == "pd") {
      c.pool.mode = AddressMode::kPrefix;
    } else {
      return internal::BadSetting(key, value, "secondary-ip or prefix");
    }
  } else if (key == "policy") {
    ENIPOOL_ASSIGN_OR_RETURN(c.policy, PolicyByName(value));
  } else if (key == "warm-eni-target") {
    ENIPOOL_RETURN_IF_ERROR(internal::ParseIntSetting(key, value, 0, &c.pool.warm_eni_target));
  } else if (key == "warm-ip-target") {
    ENIPOOL_RETURN_IF_ERROR(internal::ParseIntSetting(key, value, 0, &c.pool.warm_ip_target));
  } else if (key == "minimum-ip-target") {
    ENIPOOL_RETURN_IF_ERROR(internal::ParseIntSetting(key, value, 0, &c.pool.minimum_ip_target));
  } else if (key == "warm-prefix-target") {
    ENIPOOL_RETURN_IF_ERROR(internal::ParseIntSetting(key, value, 0, &c.pool.warm_prefix_target));
  } else if (key == "max-pods") {
    ENIPOOL_RETURN_IF_ERROR(internal::ParseIntSetting(key, value, 1, &c.max_pods));
  } else if (key == "max-eni") {
    ENIPOOL_RETURN_IF_ERROR(internal::ParseIntSetting(key, value, 1, &c.max_eni));
  } else if (key == "ip-cooldown") {
    ENIPOOL_RETURN_IF_ERROR(internal::ParseDurationSetting(key, value, false, &c.pool.ip_cooldown));
  } else if (key == "placement") {
    if (value == "best-fit") {
      c.placement = Placement::kBestFit;
    } else if (value == "spread") {
      c.placement = Placement::kSpread;
    } else if (value == "first-fit") {
      c.placement = Placement::kFirstFit;
    } else {
      return internal::BadSetting(key, value, "best-fit, spread or first-fit");
    }
  } else if (key == "eni-primary") {
    if (value == "random") {
      c.eni_primary = EniPrimaryPlacement::kRandom;
    } else if (value == "fragmentation-aware") {
      c.eni_primary = EniPrimaryPlacement::kFragmentationAware;
    } else {
      return internal::BadSetting(key, value, "random or fragmentation-aware");
    }
  } else if (key == "seed") {
    if (!absl::SimpleAtoi(value, &c.seed))
      return internal::BadSetting(key, value, "an unsigned integer");
  } else if (key == "duration") {
    ENIPOOL_RETURN_IF_ERROR(internal::ParseDurationSetting(key, value, true, &c.duration));
  } else if (key == "warmup") {
    ENIPOOL_RETURN_IF_ERROR(internal::ParseDurationSetting(key, value, false, &c.warmup));
  } else if (key == "sample-interval") {
    ENIPOOL_RETURN_IF_ERROR(internal::ParseDurationSetting(key, value, true, &c.sample_interval));
  } else if (key == "throttle") {
    if (value == "on") {
      c.throttle = ec2::ThrottleConfig::Ec2Defaults();
    } else if (value == "off") {
      c.throttle = ec2::ThrottleConfig::Disabled();
    } else {
      return internal::BadSetting(key, value, "on or off");
    }
  } else if (key == "subnet-discovery") {
    if (value == "on") {
      c.subnet_discovery = true;
    } else if (value == "off") {
      c.subnet_discovery = false;
    } else {
      return internal::BadSetting(key, value, "on or off");
    }
  } else if (key == "latency") {
    if (value == "default") {
      c.latency = ec2::LatencyModel::Defaults();
    } else if (value == "zero") {
      c.latency = ec2::LatencyModel::Zero();
    } else {
      return internal::BadSetting(key, value, "default or zero");
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown setting \"", key,
        "\": want one of name, instance-type, nodes, subnet, workload, node-group, mode, policy, "
        "warm-eni-target, warm-ip-target, minimum-ip-target, warm-prefix-target, max-pods, "
        "max-eni, ip-cooldown, placement, eni-primary, seed, duration, warmup, sample-interval, "
        "throttle, latency, autoscaler, launch-delay, scale-down-unneeded, "
        "scale-down-utilization, autoscaler-interval, drain-time, fault, reconcile-interval, "
        "pool-check-interval, kubelet-backoff, subnet-discovery, leaked-eni-sweep, node-thread"));
  }
  config = std::move(c);
  return absl::OkStatus();
}

// ParseScenario()
//
// Applies `key=value` lines to a copy of `base`. Blank lines and lines
// starting with '#' are skipped. The first workload line replaces the
// base's workloads; each further one adds its workloads beside them. INVALID_ARGUMENT "scenario line N: ..." for
// a line without '=' or a bad setting.
[[nodiscard]] inline absl::StatusOr<ClusterConfig> ParseScenario(absl::string_view text,
                                                                 const ClusterConfig& base = {}) {
  ClusterConfig config = base;
  int line_number = 0;
  bool workload_seen = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    const auto eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "scenario line ", line_number, ": expected key=value, got ", QuoteInput(line)));
    }
    std::string key(absl::StripAsciiWhitespace(line.substr(0, eq)));
    std::replace(key.begin(), key.end(), '_', '-');
    if (key == "workload" && workload_seen) {
      absl::StatusOr<std::vector<WorkloadSpec>> specs = ParseWorkloadSpecs(line.substr(eq + 1));
      if (!specs.ok()) {
        return absl::Status(specs.status().code(), absl::StrCat("scenario line ", line_number,
                                                                ": ", specs.status().message()));
      }
      for (WorkloadSpec& spec : *specs) config.extra_workloads.push_back(std::move(spec));
      continue;
    }
    workload_seen = workload_seen || key == "workload";
    if (absl::Status s = ApplySetting(config, line.substr(0, eq), line.substr(eq + 1)); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("scenario line ", line_number, ": ", s.message()));
    }
  }
  return config;
}

// ResolvedNodeGroup
//
// A node group as the cluster builds it: its settings (name filled in), the
// warm-pool config of its nodes (limits and max pods from its instance
// type) and what the scheduler may place on each node.
struct ResolvedNodeGroup {
  NodeGroupConfig config;
  WarmPoolConfig pool;
  NodeCapacity capacity;
};

}  // namespace enipool::sim

namespace enipool::internal {

// The pool config of a node of `type`: `base`'s mode and targets with the
// type's limits; max pods `max_pods` if > 0, else the published value
// (see ResolveConfig()).
inline absl::StatusOr<WarmPoolConfig> PoolForType(const WarmPoolConfig& base, absl::string_view type,
                                                  int max_eni, int max_pods) {
  ENIPOOL_ASSIGN_OR_RETURN(const InstanceLimits limits, FindInstanceLimits(type));
  WarmPoolConfig pool = base;
  pool.max_enis = max_eni > 0 ? std::min(max_eni, limits.max_enis) : limits.max_enis;
  pool.ipv4_per_eni = limits.ipv4_per_eni;
  pool.prefix_delegation_supported = limits.prefix_delegation_supported;
  if (pool.mode == AddressMode::kPrefix && !limits.prefix_delegation_supported) {
    return absl::InvalidArgumentError(absl::StrCat(
        "instance type ", type,
        " does not support prefix delegation (not Nitro or bare metal): use mode=secondary-ip"));
  }
  if (max_pods > 0) {
    pool.max_pods = max_pods;
  } else {
    const int slots = pool.max_enis * (limits.ipv4_per_eni - 1);
    pool.max_pods = pool.mode == AddressMode::kPrefix
                        ? std::min(slots * kAddressesPerPrefix + kHostNetworkPods, MaxPodsCap(1))
                        : slots + kHostNetworkPods;
  }
  return pool;
}

// The largest CPU and memory any pod of the workload requests (0: none).
inline sim::PodRequests LargestRequests(const sim::WorkloadSpec& spec) {
  sim::PodRequests most;
  const auto take = [&](const sim::PodRequests& r) {
    most.cpu_millis = std::max(most.cpu_millis, r.cpu_millis);
    most.memory_mib = std::max(most.memory_mib, r.memory_mib);
  };
  if (const auto* trace = std::get_if<sim::TraceWorkload>(&spec)) {
    for (const sim::TraceRecord& record : trace->records) take(record.requests);
  } else {
    std::visit(
        [&](const auto& w) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(w)>, sim::TraceWorkload>) {
            take(w.requests);
          }
        },
        spec);
  }
  return most;
}

}  // namespace enipool::internal

namespace enipool::sim {

// ResolveNodeGroups()
//
// The node groups of a config ResolveConfig() has passed: its node_groups,
// or, without any, one fixed group of `nodes` × `instance_type` whose nodes
// take `pool` as it is. INVALID_ARGUMENT naming the group: a zone no node
// subnet is in, a type prefix mode cannot run on, pods requesting CPU or
// memory when the type's resources are unknown and the group gives none.
[[nodiscard]] inline absl::StatusOr<std::vector<ResolvedNodeGroup>> ResolveNodeGroups(
    const ClusterConfig& c) {
  std::vector<ResolvedNodeGroup> groups;
  if (c.node_groups.empty()) {
    ResolvedNodeGroup group;
    group.config.name = "nodes";
    group.config.instance_type = c.instance_type;
    group.config.count = c.nodes;
    group.config.min = c.nodes;
    group.config.max = c.nodes;
    group.pool = c.pool;
    groups.push_back(std::move(group));
  } else {
    for (std::size_t g = 0; g < c.node_groups.size(); ++g) {
      ResolvedNodeGroup group;
      group.config = c.node_groups[g];
      if (group.config.name.empty()) group.config.name = absl::StrCat("group-", g);
      const int max_pods = group.config.max_pods > 0 ? group.config.max_pods : c.max_pods;
      absl::StatusOr<WarmPoolConfig> pool =
          internal::PoolForType(c.pool, group.config.instance_type, c.max_eni, max_pods);
      if (!pool.ok()) {
        return absl::Status(pool.status().code(), absl::StrCat("node-group ", group.config.name,
                                                               ": ", pool.status().message()));
      }
      group.pool = *pool;
      for (const std::string& zone : group.config.zones) {
        const bool known = std::any_of(c.subnets.begin(), c.subnets.end(), [&](const SubnetConfig& s) {
          return s.zone == zone && !s.pod_only;
        });
        if (!known) {
          return absl::InvalidArgumentError(absl::StrCat("node-group ", group.config.name, ": zone ",
                                                         QuoteInput(zone),
                                                         " has no subnet for nodes (subnet=CIDR,zone=",
                                                         zone, ")"));
        }
      }
      groups.push_back(std::move(group));
    }
  }
  PodRequests most = internal::LargestRequests(c.workload);
  for (const WorkloadSpec& spec : c.extra_workloads) {
    const PodRequests r = internal::LargestRequests(spec);
    most.cpu_millis = std::max(most.cpu_millis, r.cpu_millis);
    most.memory_mib = std::max(most.memory_mib, r.memory_mib);
  }
  for (ResolvedNodeGroup& group : groups) {
    group.capacity.pods = std::max(1, group.pool.max_pods - kHostNetworkPods);
    if (const std::optional<InstanceCpuMemory> resources =
            InstanceResources(group.config.instance_type)) {
      const NodeCapacity allocatable = EksAllocatable(*resources, group.pool.max_pods);
      group.capacity.cpu_millis = allocatable.cpu_millis;
      group.capacity.memory_mib = allocatable.memory_mib;
    }
    if (group.config.cpu_millis > 0) group.capacity.cpu_millis = group.config.cpu_millis;
    if (group.config.memory_mib > 0) group.capacity.memory_mib = group.config.memory_mib;
    if ((most.cpu_millis > 0 && group.capacity.cpu_millis == 0) ||
        (most.memory_mib > 0 && group.capacity.memory_mib == 0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "node-group ", group.config.name, ": pods request CPU or memory but the vCPUs and memory of ",
          group.config.instance_type, " are not in the simulator's table: give the group cpu= and memory="));
    }
  }
  return groups;
}

// ResolveConfig()
//
// Fills what the instance type decides and checks the whole scenario:
//   * pool.max_enis = min(MAX_ENI, limit), pool.ipv4_per_eni, and
//     pool.prefix_delegation_supported from the instance table;
//   * pool.max_pods = `max_pods` if set, else the published value:
//     ENIs × (IPs − 1) + 2 in secondary-IP mode (eni-max-pods.txt), and in
//     prefix mode the same formula × 16, capped at 110 — the EKS
//     calculator's cap for ≤ 30 vCPUs. (The table has no vCPU counts; set
//     max-pods=250 for larger types, as the calculator would.)
//   * one default subnet 10.0.0.0/16 if none is given;
//   * pool.secondary_ip_fallback when the policy is prefix-fallback (its
//     nodes' datastores hand out /32s next to /28s);
//   * with node groups, `nodes` = their node count at the start and
//     `instance_type` the first group's (ResolveNodeGroups() checks each).
// INVALID_ARGUMENT (or NOT_FOUND for an unknown type) naming the problem:
// prefix mode on a type without prefix delegation, a trace naming a node
// beyond `nodes`, a sample interval longer than the run, a burst that starts
// at or after the run's end, bad warm targets, a bad node group.
[[nodiscard]] inline absl::Status ResolveConfig(ClusterConfig& config) {
  ClusterConfig c = config;
  if (!c.node_groups.empty()) {
    c.instance_type = c.node_groups.front().instance_type;
    c.nodes = 0;
    bool can_grow = false;
    for (const NodeGroupConfig& group : c.node_groups) {
      c.nodes += group.count;
      can_grow = can_grow || group.max_nodes() > 0;
    }
    if (c.nodes == 0 && !(c.autoscaler.enabled && can_grow)) {
      return absl::InvalidArgumentError(
          "the node groups start with no node and the autoscaler cannot add one");
    }
  } else if (c.nodes < 1) {
    return internal::BadSetting("nodes", absl::StrCat(c.nodes), "an integer >= 1");
  }
  if (c.subnets.empty()) c.subnets.push_back(SubnetConfig{*Ipv4Prefix::Parse("10.0.0.0/16"), {}});
  if (c.policy.get_if<PrefixFallbackPolicy>() != nullptr) {
    if (c.pool.mode != AddressMode::kPrefix) {
      return absl::InvalidArgumentError(
          "policy prefix-fallback falls back from prefixes to /32s: it needs mode=prefix");
    }
    c.pool.secondary_ip_fallback = true;
  }
  ENIPOOL_ASSIGN_OR_RETURN(c.pool, internal::PoolForType(c.pool, c.instance_type, c.max_eni,
                                                         c.max_pods));
  if (c.warmup >= c.duration) {
    return absl::InvalidArgumentError(
        absl::StrCat("warmup ", absl::FormatDuration(c.warmup), " leaves nothing to time in a run of ",
                     absl::FormatDuration(c.duration)));
  }
  if (c.sample_interval > c.duration) {
    return absl::InvalidArgumentError(
        absl::StrCat("sample-interval ", absl::FormatDuration(c.sample_interval),
                     " is longer than the run (duration ", absl::FormatDuration(c.duration), ")"));
  }
  std::vector<const WorkloadSpec*> workloads{&c.workload};
  for (const WorkloadSpec& spec : c.extra_workloads) workloads.push_back(&spec);
  for (const WorkloadSpec* spec : workloads) {
    if (const auto* burst = std::get_if<BurstWorkload>(spec);
        burst != nullptr && burst->at >= c.duration) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the burst starts at ", absl::FormatDuration(burst->at),
          ", not before the run ends (duration ", absl::FormatDuration(c.duration),
          "): it would create no pod"));
    }
    if (const auto* trace = std::get_if<TraceWorkload>(spec)) {
      for (const TraceRecord& record : trace->records) {
        if (record.node >= c.nodes) {
          return absl::InvalidArgumentError(
              absl::StrCat("trace line ", record.line, ": node ", record.node,
                           " but the scenario has ", c.nodes, " nodes (0 to ", c.nodes - 1, ")"));
        }
      }
    }
  }
  ENIPOOL_RETURN_IF_ERROR(c.pool.Validate());
  ENIPOOL_RETURN_IF_ERROR(ResolveNodeGroups(c).status());
  config = std::move(c);
  return absl::OkStatus();
}

// DescribeConfig()
//
// One line for reports: "10 × m5.large, prefix, WARM_PREFIX_TARGET=1, burst:250".
inline std::string DescribeConfig(const ClusterConfig& c) {
  std::string targets;
  const WarmPoolConfig& p = c.pool;
  if (p.warm_ip_target != 0 || p.minimum_ip_target != 0) {
    targets = absl::StrCat("WARM_IP_TARGET=", p.warm_ip_target,
                           " MINIMUM_IP_TARGET=", p.minimum_ip_target);
  } else if (p.mode == AddressMode::kPrefix) {
    targets = absl::StrCat("WARM_PREFIX_TARGET=", p.warm_prefix_target);
  } else {
    targets = absl::StrCat("WARM_ENI_TARGET=", p.warm_eni_target);
  }
  const absl::string_view policy = c.policy.name();
  std::string nodes = absl::StrCat(c.nodes, " x ", c.instance_type);
  if (!c.node_groups.empty()) {
    nodes.clear();
    for (const NodeGroupConfig& group : c.node_groups) {
      absl::StrAppend(&nodes, nodes.empty() ? "" : " + ", group.count, " x ", group.instance_type);
    }
  }
  std::string workloads = WorkloadName(c.workload);
  for (const WorkloadSpec& spec : c.extra_workloads) {
    absl::StrAppend(&workloads, " + ", WorkloadName(spec));
  }
  return absl::StrCat(nodes, c.autoscaler.enabled ? " (autoscaled)" : "", ", ",
                      p.mode == AddressMode::kPrefix ? "prefix" : "secondary-ip", ", ",
                      policy == ReferencePolicy::name() ? "" : absl::StrCat(policy, " policy, "),
                      c.eni_primary == EniPrimaryPlacement::kRandom
                          ? ""
                          : absl::StrCat(EniPrimaryPlacementName(c.eni_primary), " ENIs, "),
                      targets, ", ", workloads);
}

}  // namespace enipool::sim

#endif  // ENIPOOL_SIM_SCENARIO_H_
