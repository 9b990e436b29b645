// -----------------------------------------------------------------------------
// File: sim/scheduler.h
// -----------------------------------------------------------------------------
//
// The cluster simulator's pod scheduler and what it knows of nodes: their
// allocatable pods, CPU and memory.
//
//   * `PodRequests`   — a pod's CPU (millicores) and memory (MiB) requests;
//   * `NodeCapacity`  — a node's allocatable pods, CPU and memory;
//   * `InstanceResources()` — the vCPUs and memory of an instance type: a
//                       small table of the families the simulator uses (the
//                       instance limits table has no vCPU or memory);
//   * `EksAllocatable()` — what kubelet leaves to pods on an EKS AMI node
//                       (kube-reserved and the eviction threshold taken off);
//   * `Scheduler`     — kube-scheduler's filter and score, cut down: a pod
//                       goes to a schedulable node with room for it (fewer
//                       pods than its max pods, enough CPU and memory left),
//                       the one with the fewest pods for a pod without
//                       requests, the least allocated one for a pod with
//                       requests (NodeResourcesFit, LeastAllocated).
//
// Example:
//
//   enipool::sim::Scheduler scheduler;
//   const int node = scheduler.AddNode({.pods = 27, .cpu_millis = 1930, .memory_mib = 6800});
//   scheduler.SetSchedulable(node, true);
//   const enipool::sim::PodRequests web{.cpu_millis = 500, .memory_mib = 512};
//   if (const int n = scheduler.Pick(web); n >= 0) scheduler.Bind(n, web);

#ifndef ENIPOOL_SIM_SCHEDULER_H_
#define ENIPOOL_SIM_SCHEDULER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace enipool::sim {

// PodRequests
//
// A pod's resource requests: CPU in millicores, memory in MiB; 0 is "not
// requested" (a BestEffort pod fits on any node with a free pod slot).
struct PodRequests {
  std::int64_t cpu_millis = 0;
  std::int64_t memory_mib = 0;
  [[nodiscard]] bool empty() const noexcept { return cpu_millis == 0 && memory_mib == 0; }
  friend bool operator==(const PodRequests&, const PodRequests&) = default;
};

// NodeCapacity
//
// What the scheduler may place on a node: `pods` (kubelet max pods less the
// host-network pods), CPU and memory (0: not checked, for a type whose
// resources are unknown and pods without requests).
struct NodeCapacity {
  int pods = 0;
  std::int64_t cpu_millis = 0;
  std::int64_t memory_mib = 0;
  friend bool operator==(const NodeCapacity&, const NodeCapacity&) = default;
};

// InstanceCpuMemory
//
// An instance type's vCPUs and memory.
struct InstanceCpuMemory {
  int vcpus = 0;
  std::int64_t memory_mib = 0;
};

// InstanceResources()
//
// The vCPUs and memory of the general-purpose (m), compute (c) and memory (r)
// families of the 4th generation and later (m5, c6i, r7g, m5a, m6gd, …) in
// sizes large, xlarge and Nxlarge, and of the t3/t3a/t4g burstable types:
// large = 2 vCPUs, xlarge = 4, Nxlarge = 4 N; memory 2 GiB per vCPU for c,
// 4 for m, 8 for r. NOTE: AWS's "Amazon EC2 instance types" pages; these
// families follow the rule in every size named here (metal sizes and other
// families do not, and are left out). nullopt for any other type: give a
// node group its cpu= and memory= (sim/scenario.h).
[[nodiscard]] inline std::optional<InstanceCpuMemory> InstanceResources(absl::string_view type) {
  struct Burstable {
    absl::string_view name;
    int vcpus;
    std::int64_t memory_mib;
  };
  static constexpr Burstable kBurstable[] = {
      {"nano", 2, 512},     {"micro", 2, 1024},  {"small", 2, 2048},   {"medium", 2, 4096},
      {"large", 2, 8192},   {"xlarge", 4, 16384}, {"2xlarge", 8, 32768},
  };
  const auto dot = type.find('.');
  if (dot == absl::string_view::npos || dot < 2) return std::nullopt;
  const absl::string_view family = type.substr(0, dot);
  const absl::string_view size = type.substr(dot + 1);
  if (family == "t3" || family == "t3a" || family == "t4g") {
    for (const Burstable& b : kBurstable) {
      if (b.name == size) return InstanceCpuMemory{b.vcpus, b.memory_mib};
    }
    return std::nullopt;
  }
  const char letter = family[0];
  std::int64_t gib_per_vcpu = 0;
  if (letter == 'c') gib_per_vcpu = 2;
  if (letter == 'm') gib_per_vcpu = 4;
  if (letter == 'r') gib_per_vcpu = 8;
  if (gib_per_vcpu == 0 || !absl::ascii_isdigit(static_cast<unsigned char>(family[1])) ||
      family[1] < '4') {
    return std::nullopt;
  }
  // After the generation digit only attribute letters (a, d, g, i, n, …).
  for (std::size_t i = 2; i < family.size(); ++i) {
    if (!absl::ascii_islower(static_cast<unsigned char>(family[i]))) return std::nullopt;
  }
  int vcpus = 0;
  if (size == "large") {
    vcpus = 2;
  } else if (size == "xlarge") {
    vcpus = 4;
  } else {
    absl::string_view multiple = size;
    int n = 0;
    if (!absl::ConsumeSuffix(&multiple, "xlarge") || !absl::SimpleAtoi(multiple, &n) || n < 2 ||
        n > 48) {
      return std::nullopt;
    }
    vcpus = 4 * n;
  }
  return InstanceCpuMemory{vcpus, vcpus * gib_per_vcpu * 1024};
}

// EksAllocatable()
//
// What kubelet on an EKS AMI node offers pods (pods left 0: the caller's):
// the capacity less kube-reserved and the hard eviction threshold. CPU
// reserved: 6 % of the first core, 1 % of the second, 0.5 % of the third
// and fourth, 0.25 % of each further core; memory reserved: 11 MiB per pod
// (of `max_pods`) plus 255 MiB, and 100 MiB of eviction threshold. NOTE:
// the EKS AMI's bootstrap script (get_cpu_millicores_to_reserve,
// get_memory_mebibytes_to_reserve) and its kubelet config (evictionHard
// memory.available: 100Mi).
[[nodiscard]] inline NodeCapacity EksAllocatable(const InstanceCpuMemory& capacity, int max_pods) {
  // Reserved CPU in ten-thousandths of a core, summed core by core.
  std::int64_t reserved = 0;
  for (int core = 1; core <= capacity.vcpus; ++core) {
    reserved += core == 1 ? 600 : core == 2 ? 100 : core <= 4 ? 50 : 25;
  }
  NodeCapacity allocatable;
  allocatable.cpu_millis = std::max<std::int64_t>(0, capacity.vcpus * 1000LL - reserved / 10);
  allocatable.memory_mib = std::max<std::int64_t>(
      0, capacity.memory_mib - (11 * static_cast<std::int64_t>(max_pods) + 255 + 100));
  return allocatable;
}

// ParseCpuQuantity() / ParseMemoryQuantity()
//
// Kubernetes quantities: CPU "500m" or "0.5" or "2" (cores) → millicores;
// memory "512Mi", "2Gi", "1G", "500M" or a bare number of bytes → MiB
// (rounded up). nullopt for anything else or a negative value.
[[nodiscard]] inline std::optional<std::int64_t> ParseCpuQuantity(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  std::int64_t millis = 0;
  if (absl::ConsumeSuffix(&text, "m")) {
    if (!absl::SimpleAtoi(text, &millis) || millis < 0) return std::nullopt;
    return millis;
  }
  double cores = 0;
  if (!absl::SimpleAtod(text, &cores) || !(cores >= 0) || cores > 1e6) return std::nullopt;
  return static_cast<std::int64_t>(cores * 1000 + 0.5);
}

[[nodiscard]] inline std::optional<std::int64_t> ParseMemoryQuantity(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  struct Unit {
    absl::string_view suffix;
    double bytes;
  };
  static constexpr Unit kUnits[] = {{"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0},
                                    {"Ti", 1099511627776.0}, {"k", 1e3}, {"K", 1e3},
                                    {"M", 1e6}, {"G", 1e9}, {"T", 1e12}};
  double scale = 1;
  for (const Unit& unit : kUnits) {
    if (absl::ConsumeSuffix(&text, unit.suffix)) {
      scale = unit.bytes;
      break;
    }
  }
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !(value >= 0) || value > 1e15) return std::nullopt;
  const double mib = value * scale / 1048576.0;
  auto whole = static_cast<std::int64_t>(mib);
  if (static_cast<double>(whole) < mib) ++whole;
  return whole;
}

// Scheduler
//
// Nodes with their capacity and what is bound to them; a node is a
// candidate only while schedulable (running and not cordoned).
//   * A pod without requests goes to the schedulable node with the fewest
//     pods below its pod capacity: nodes are kept in buckets by pod count,
//     so finding and updating is O(1) (counts move by one); within a bucket
//     the node that entered last is taken.
//   * A pod with requests is checked against every schedulable node (O(nodes)):
//     it fits when the node has a free pod slot and its CPU and memory left
//     cover the requests (a resource of capacity 0 is not checked); of those,
//     the node with the most allocatable left after placing it, as the mean
//     of its free CPU and free memory fractions, wins (kube-scheduler's
//     LeastAllocated score); ties go to the fewer pods, then the lower index.
// Not thread-safe.
class Scheduler {
 public:
  // Scheduler::AddNode()
  //
  // Adds a node, not schedulable yet; returns its index (0, 1, 2, …).
  int AddNode(NodeCapacity capacity) {
    nodes_.push_back(NodeState{capacity, {}, 0, -1, false});
    if (static_cast<std::size_t>(capacity.pods) + 1 > buckets_.size()) {
      buckets_.resize(static_cast<std::size_t>(capacity.pods) + 1);
    }
    return static_cast<int>(nodes_.size()) - 1;
  }

  // Scheduler::SetSchedulable()
  //
  // Makes a node a candidate (it joined, or was uncordoned) or not (cordoned,
  // draining, gone). What is bound to it stays bound.
  void SetSchedulable(int node, bool schedulable) {
    NodeState& n = At(node);
    if (n.schedulable == schedulable) return;
    n.schedulable = schedulable;
    if (schedulable) {
      if (n.pods < n.capacity.pods) Enter(node);
    } else {
      Leave(node);
    }
  }

  // Scheduler::Fits()
  //
  // True when `node` is schedulable and has room for a pod of `requests`.
  [[nodiscard]] bool Fits(int node, const PodRequests& requests) const {
    const NodeState& n = nodes_[static_cast<std::size_t>(node)];
    return n.schedulable && HasRoom(n, requests);
  }

  // Scheduler::Pick()
  //
  // The node for a pod of `requests` (see the class comment), or -1 when no
  // schedulable node has room.
  [[nodiscard]] int Pick(const PodRequests& requests) {
    if (requests.empty()) {
      while (min_ < buckets_.size() && buckets_[min_].empty()) ++min_;
      if (min_ >= buckets_.size()) return -1;
      return buckets_[min_].back();
    }
    int best = -1;
    double best_score = -1;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const NodeState& n = nodes_[i];
      if (!n.schedulable || !HasRoom(n, requests)) continue;
      const double score = Score(n, requests);
      if (best < 0 || score > best_score ||
          (score == best_score && n.pods < nodes_[static_cast<std::size_t>(best)].pods)) {
        best = static_cast<int>(i);
        best_score = score;
      }
    }
    return best;
  }

  // Scheduler::PeekPick()
  //
  // What Pick() would now return for a pod without requests, changing
  // nothing: a hint of where the next such pod lands, for prefetching. -1
  // when no node has room.
  [[nodiscard]] int PeekPick() const noexcept {
    for (std::size_t b = min_; b < buckets_.size(); ++b) {
      if (!buckets_[b].empty()) return buckets_[b].back();
    }
    return -1;
  }

  // Scheduler::Bind() / Unbind()
  //
  // A pod of `requests` lands on / leaves `node` (Bind does not check room:
  // kubelet may have admitted it, e.g. a pod naming its node).
  void Bind(int node, const PodRequests& requests) {
    NodeState& n = At(node);
    Move(node, n.pods + 1);
    n.used.cpu_millis += requests.cpu_millis;
    n.used.memory_mib += requests.memory_mib;
  }
  void Unbind(int node, const PodRequests& requests) {
    NodeState& n = At(node);
    Move(node, std::max(0, n.pods - 1));
    n.used.cpu_millis -= requests.cpu_millis;
    n.used.memory_mib -= requests.memory_mib;
  }

  [[nodiscard]] int node_count() const noexcept { return static_cast<int>(nodes_.size()); }
  [[nodiscard]] int pods(int node) const { return nodes_[static_cast<std::size_t>(node)].pods; }
  [[nodiscard]] bool schedulable(int node) const {
    return nodes_[static_cast<std::size_t>(node)].schedulable;
  }
  [[nodiscard]] const NodeCapacity& capacity(int node) const {
    return nodes_[static_cast<std::size_t>(node)].capacity;
  }
  // CPU and memory bound to the node (pods() counts its pods).
  [[nodiscard]] const PodRequests& used(int node) const {
    return nodes_[static_cast<std::size_t>(node)].used;
  }

  // Scheduler::Utilization()
  //
  // The largest of the node's used fractions: pods of its pod capacity, CPU
  // and memory requested of its allocatable (resources it does not check
  // left out). What cluster-autoscaler compares with its scale-down
  // threshold (it reads CPU and memory; pods stand in for a pod without
  // requests).
  [[nodiscard]] double Utilization(int node) const {
    const NodeState& n = nodes_[static_cast<std::size_t>(node)];
    double u = n.capacity.pods > 0 ? static_cast<double>(n.pods) / n.capacity.pods : 0;
    if (n.capacity.cpu_millis > 0) {
      u = std::max(u, static_cast<double>(n.used.cpu_millis) /
                          static_cast<double>(n.capacity.cpu_millis));
    }
    if (n.capacity.memory_mib > 0) {
      u = std::max(u, static_cast<double>(n.used.memory_mib) /
                          static_cast<double>(n.capacity.memory_mib));
    }
    return u;
  }

 private:
  struct NodeState {
    NodeCapacity capacity;
    PodRequests used;
    int pods = 0;
    int bucket_pos = -1;  // index in buckets_[pods], -1 when in no bucket
    bool schedulable = false;
  };

  NodeState& At(int node) { return nodes_[static_cast<std::size_t>(node)]; }

  static bool HasRoom(const NodeState& n, const PodRequests& r) {
    if (n.pods >= n.capacity.pods) return false;
    if (n.capacity.cpu_millis > 0 && n.used.cpu_millis + r.cpu_millis > n.capacity.cpu_millis) {
      return false;
    }
    return n.capacity.memory_mib == 0 || n.used.memory_mib + r.memory_mib <= n.capacity.memory_mib;
  }

  static double Score(const NodeState& n, const PodRequests& r) {
    double sum = 0;
    int parts = 0;
    if (n.capacity.cpu_millis > 0) {
      sum += static_cast<double>(n.capacity.cpu_millis - n.used.cpu_millis - r.cpu_millis) /
             static_cast<double>(n.capacity.cpu_millis);
      ++parts;
    }
    if (n.capacity.memory_mib > 0) {
      sum += static_cast<double>(n.capacity.memory_mib - n.used.memory_mib - r.memory_mib) /
             static_cast<double>(n.capacity.memory_mib);
      ++parts;
    }
    if (parts == 0) {
      return static_cast<double>(n.capacity.pods - n.pods) / std::max(1, n.capacity.pods);
    }
    return sum / parts;
  }

  void Enter(int node) {
    NodeState& n = At(node);
    auto& bucket = buckets_[static_cast<std::size_t>(n.pods)];
    n.bucket_pos = static_cast<int>(bucket.size());
    bucket.push_back(node);
    min_ = std::min(min_, static_cast<std::size_t>(n.pods));
  }

  void Leave(int node) {
    NodeState& n = At(node);
    if (n.bucket_pos < 0) return;
    auto& bucket = buckets_[static_cast<std::size_t>(n.pods)];
    const int last = bucket.back();
    bucket[static_cast<std::size_t>(n.bucket_pos)] = last;
    At(last).bucket_pos = n.bucket_pos;
    bucket.pop_back();
    n.bucket_pos = -1;
  }

  // Moves the node to the bucket of `pods` (or out of the buckets at its
  // capacity): the swap-remove and push_back keep the order a node that
  // entered last is taken first.
  void Move(int node, int pods) {
    Leave(node);
    NodeState& n = At(node);
    n.pods = pods;
    if (n.schedulable && n.pods < n.capacity.pods) Enter(node);
  }

  std::vector<NodeState> nodes_;
  std::vector<std::vector<int>> buckets_;  // by pod count; schedulable nodes below capacity
  std::size_t min_ = 0;                    // no non-empty bucket below this
};

}  // namespace enipool::sim

#endif  // ENIPOOL_SIM_SCHEDULER_H_
