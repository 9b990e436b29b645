// -----------------------------------------------------------------------------
// File: sim/node_groups.h
// -----------------------------------------------------------------------------
//
// The living cluster's settings: node groups (an instance type, a node
// count, autoscaler bounds, availability zones) and the autoscaler that
// grows and shrinks them, with the text forms a scenario file uses.
//
//   node-group=TYPE[,count=N][,min=N][,max=N][,zone=Z...][,max-pods=N]
//              [,cpu=Q][,memory=Q][,name=S]
//
// `count` nodes start with the run (default 1); the autoscaler keeps the
// group within [min, max] (both default to count: a group without them
// never scales). A node's zone is the group's zones in turn (all zones when
// none is named); its primary ENI, and the ENIs its controller creates, are
// in a subnet of that zone (subnets of one zone taken in turn). cpu and
// memory set the allocatable CPU and memory of the group's nodes; by
// default they come from the type (InstanceResources, less what kubelet
// keeps, EksAllocatable — sim/scheduler.h).
//
// Example:
//
//   ENIPOOL_ASSIGN_OR_RETURN(enipool::sim::NodeGroupConfig group,
//                            enipool::sim::ParseNodeGroup("m5.xlarge,count=3,max=10,zone=a,zone=b"));
//   enipool::sim::AutoscalerConfig autoscaler;
//   autoscaler.enabled = true;
//   autoscaler.launch_delay = absl::Seconds(90);

#ifndef ENIPOOL_SIM_NODE_GROUPS_H_
#define ENIPOOL_SIM_NODE_GROUPS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/instance_limits.h"
#include "enipool/max_pods.h"
#include "enipool/sim/scheduler.h"
#include "enipool/status.h"

namespace enipool::sim {

// NodeGroupConfig
//
// One group of like nodes. See the file comment.
struct NodeGroupConfig {
  std::string name;  // empty: "group-<index>"
  std::string instance_type = "m5.large";
  int count = 1;  // nodes at the start of the run
  int min = -1;   // the autoscaler's bounds; -1: count
  int max = -1;
  std::vector<std::string> zones;  // empty: every zone
  int max_pods = 0;                // kubelet max pods; 0: the scenario's rule
  std::int64_t cpu_millis = 0;     // allocatable CPU; 0: from the type
  std::int64_t memory_mib = 0;     // allocatable memory; 0: from the type
  [[nodiscard]] int min_nodes() const noexcept { return min >= 0 ? min : count; }
  [[nodiscard]] int max_nodes() const noexcept { return max >= 0 ? max : count; }
  friend bool operator==(const NodeGroupConfig&, const NodeGroupConfig&) = default;
};

// AutoscalerConfig
//
// A cluster-autoscaler, cut down to its two decisions, made every
// `scan_interval`:
//   * scale out — pods the scheduler could place nowhere (not pods placed
//     and waiting for an address) ask for nodes: the groups are tried in
//     order, each adding nodes up to its max until the pods and their
//     requests fit (counting the capacity of nodes still launching). A new
//     node joins `launch_delay` later with its IP controller cold;
//   * scale in — a node whose utilization (Scheduler::Utilization) stays
//     below `scale_down_utilization` for `scale_down_unneeded`, in a group
//     above its min, while no pod is unschedulable, is drained if the other
//     nodes can take its pods: cordoned, its pods evicted (each to be
//     scheduled again), and `drain_time` later its instance terminated
//     (its ENIs deleted, their addresses back in the subnets). One node a
//     scan.
// NOTE: the defaults are cluster-autoscaler's (--scan-interval 10s,
// --scale-down-unneeded-time 10m, --scale-down-utilization-threshold 0.5);
// the launch delay is an EC2 instance's boot to a Ready node, typically a
// minute or two.
struct AutoscalerConfig {
  bool enabled = false;
  absl::Duration scan_interval = absl::Seconds(10);
  absl::Duration launch_delay = absl::Seconds(90);
  absl::Duration scale_down_unneeded = absl::Minutes(10);
  double scale_down_utilization = 0.5;
  absl::Duration drain_time = absl::Seconds(30);
};

// ParseNodeGroup()
//
// "TYPE[,count=N][,min=N][,max=N][,zone=Z...][,max-pods=N][,cpu=Q][,memory=Q][,name=S]".
// NOT_FOUND for an unknown type, INVALID_ARGUMENT naming the bad part
// (min > count or count > max among them).
[[nodiscard]] inline absl::StatusOr<NodeGroupConfig> ParseNodeGroup(absl::string_view text) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  NodeGroupConfig group;
  group.instance_type = std::string(absl::StripAsciiWhitespace(parts[0]));
  if (absl::Status known = FindInstanceLimits(group.instance_type).status(); !known.ok()) {
    return known;
  }
  const auto bad = [&](absl::string_view part, absl::string_view want) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad node-group part ", QuoteInput(part), " in ", QuoteInput(text), ": want ", want));
  };
  for (std::size_t i = 1; i < parts.size(); ++i) {
    absl::string_view part = absl::StripAsciiWhitespace(parts[i]);
    const auto eq = part.find('=');
    if (eq == absl::string_view::npos) return bad(part, "key=value");
    const absl::string_view key = part.substr(0, eq);
    const absl::string_view value = part.substr(eq + 1);
    const auto integer = [&](int min, int* out) -> absl::Status {
      if (!absl::SimpleAtoi(value, out) || *out < min) {
        return bad(part, absl::StrCat("an integer >= ", min));
      }
      return absl::OkStatus();
    };
    if (key == "count") {
      ENIPOOL_RETURN_IF_ERROR(integer(0, &group.count));
    } else if (key == "min") {
      ENIPOOL_RETURN_IF_ERROR(integer(0, &group.min));
    } else if (key == "max") {
      ENIPOOL_RETURN_IF_ERROR(integer(0, &group.max));
    } else if (key == "max-pods" || key == "max_pods") {
      ENIPOOL_RETURN_IF_ERROR(integer(kHostNetworkPods + 1, &group.max_pods));
    } else if (key == "zone") {
      if (value.empty()) return bad(part, "a zone name");
      group.zones.emplace_back(value);
    } else if (key == "name") {
      if (value.empty()) return bad(part, "a non-empty name");
      group.name = std::string(value);
    } else if (key == "cpu") {
      const std::optional<std::int64_t> cpu = ParseCpuQuantity(value);
      if (!cpu.has_value() || *cpu <= 0) return bad(part, "a CPU quantity such as 1930m or 2");
      group.cpu_millis = *cpu;
    } else if (key == "memory") {
      const std::optional<std::int64_t> memory = ParseMemoryQuantity(value);
      if (!memory.has_value() || *memory <= 0) return bad(part, "a memory quantity such as 7Gi");
      group.memory_mib = *memory;
    } else {
      return bad(part, "count, min, max, zone, max-pods, cpu, memory or name");
    }
  }
  if (group.min_nodes() > group.count || group.count > group.max_nodes()) {
    return absl::InvalidArgumentError(absl::StrCat("node-group ", QuoteInput(text), ": want min (",
                                                   group.min_nodes(), ") <= count (", group.count,
                                                   ") <= max (", group.max_nodes(), ")"));
  }
  return group;
}

}  // namespace enipool::sim

#endif  // ENIPOOL_SIM_NODE_GROUPS_H_
