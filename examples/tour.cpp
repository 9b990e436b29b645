// The prefix-delegation tour: what /28 prefixes change for one instance type,
// computed from the instance table and then measured on a simulated cluster.
//
//   enipool_example_tour              # m5.large
//   enipool_example_tour c5.xlarge    # any Nitro type
//
// Part 1 is arithmetic over the type's limits (docs/reference-behavior.md §5.1). Part 2 runs
// the same scale-out twice on sim::Cluster — secondary IPs with
// WARM_ENI_TARGET=1, then prefix delegation with WARM_PREFIX_TARGET=1, the
// shipped aws-node manifest's settings — with one seed, so both runs see the
// same pods, and prints what each cost. Every number is computed; the output
// is the same on every run.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "enipool/instance_limits.h"
#include "enipool/max_pods.h"
#include "enipool/sim/cluster.h"
#include "enipool/sim/report.h"
#include "enipool/ec2/subnet.h"

namespace {

constexpr int kNodes = 10;
constexpr int kPodsPerNodeWanted = 25;
const absl::Duration kBurstAt = absl::Minutes(1);  // after every node has booted and warmed up

std::string Seconds(absl::Duration d) {
  return absl::StrFormat("%.1f s", absl::ToDoubleSeconds(d));
}

int Run(const std::string& type) {
  const absl::StatusOr<enipool::InstanceLimits> found = enipool::FindInstanceLimits(type);
  if (!found.ok()) {
    std::cerr << "tour: " << found.status().message() << "\n";
    return 1;
  }
  const enipool::InstanceLimits& limits = *found;
  if (!limits.prefix_delegation_supported) {
    std::cerr << "tour: " << type
              << " does not support prefix delegation (not Nitro or bare metal); try m5.large\n";
    return 1;
  }
  const int slots = limits.ipv4_per_eni - 1;
  const int sip_per_eni = slots;
  const int pd_per_eni = slots * enipool::kAddressesPerPrefix;
  const int sip_max_pods = enipool::ComputeMaxPods(limits, {});
  const int pd_max_pods_raw = enipool::ComputeMaxPods(limits, {.prefix_delegation = true});

  std::printf("enipool tour: prefix delegation vs secondary IPs on %s\n", type.c_str());
  std::printf("(%d ENIs, %d IPv4 addresses per ENI including the ENI's own primary)\n\n",
              limits.max_enis, limits.ipv4_per_eni);

  std::printf("1. Pod capacity\n");
  std::printf("   Each ENI has %d - 1 = %d slots for pods. A slot holds one secondary IP,\n",
              limits.ipv4_per_eni, slots);
  std::printf("   or one delegated /28 prefix of %d addresses:\n", enipool::kAddressesPerPrefix);
  std::printf("     secondary IPs       %4d pod IPs per ENI, %5d per instance\n", sip_per_eni,
              sip_per_eni * limits.max_enis);
  std::printf("     prefix delegation   %4d pod IPs per ENI, %5d per instance\n", pd_per_eni,
              pd_per_eni * limits.max_enis);
  std::printf("   kubelet max pods (+2 host-network pods): %d vs %d, which the EKS calculator\n",
              sip_max_pods, pd_max_pods_raw);
  std::printf("   caps at 110 (up to 30 vCPUs) or 250.\n");
  constexpr int kSmallEni = 5;
  std::printf("   On an ENI with %d addresses: %d pods vs %d; over two such ENIs %d vs %d.\n\n",
              kSmallEni, kSmallEni - 1, (kSmallEni - 1) * enipool::kAddressesPerPrefix,
              2 * (kSmallEni - 1), 2 * (kSmallEni - 1) * enipool::kAddressesPerPrefix);

  // Part 2: the same burst, both modes.
  const int per_node = std::min(kPodsPerNodeWanted, sip_max_pods - enipool::kHostNetworkPods);
  const int pods = per_node * kNodes;
  enipool::sim::ClusterConfig base;
  base.instance_type = type;
  base.nodes = kNodes;
  base.workload = enipool::sim::BurstWorkload{.pods = pods, .at = kBurstAt, .lifetime = {}};
  base.duration = kBurstAt + absl::Minutes(4);
  base.sample_interval = absl::Seconds(1);
  base.seed = 1;
  base.subnets = {*enipool::sim::ParseSubnet("10.0.0.0/20")};

  enipool::sim::ClusterConfig secondary = base;
  secondary.name = "secondary IPs";
  secondary.pool.mode = enipool::AddressMode::kSecondaryIp;
  secondary.pool.warm_eni_target = 1;
  enipool::sim::ClusterConfig prefix = base;
  prefix.name = "prefixes";
  prefix.pool.mode = enipool::AddressMode::kPrefix;
  prefix.pool.warm_prefix_target = 1;

  const auto a = enipool::sim::RunScenario(secondary);
  const auto b = enipool::sim::RunScenario(prefix);
  if (!a.ok() || !b.ok()) {
    std::cerr << "tour: simulation failed: " << (a.ok() ? b.status() : a.status()) << "\n";
    return 1;
  }
  // Wholly free aligned /28s of the empty subnet, to count those consumed.
  const auto empty = enipool::ec2::Subnet::Create("subnet-0", base.subnets[0].cidr);
  const auto free_28_empty = static_cast<std::int64_t>(empty->free_prefix_count());

  std::printf("2. A scale-out, simulated: %d x %s, %d pods (%d per node) created at once at\n",
              kNodes, type.c_str(), pods, per_node);
  std::printf("   t = %s, once the nodes have started and warmed their pools. Subnet %s;\n",
              Seconds(kBurstAt).c_str(), base.subnets[0].cidr.ToString().c_str());
  std::printf("   EC2 latency and throttling and kubelet's 10-15 s sandbox retry are simulated;\n");
  std::printf("   one seed, so both runs see the same pods.\n\n");
  const auto row = [](const char* label, const std::string& x, const std::string& y) {
    std::printf("   %-36s %20s %22s\n", label, x.c_str(), y.c_str());
  };
  const auto n = [](std::int64_t v) { return absl::StrCat(v); };
  // RunReport::time_to_all_ready counts from the first pod's creation: here,
  // the burst.
  const auto all_ready = [](const enipool::sim::RunReport& r) {
    return r.time_to_all_ready < absl::ZeroDuration() ? std::string("not reached")
                                                      : Seconds(r.time_to_all_ready);
  };
  // A quantile over every pod, "≥" when pods never served decide it.
  const auto time_to_ip = [](const enipool::sim::RunReport& r, double q) {
    const enipool::sim::CensoredValue v = r.TimeToIp(q);
    return v.at_least ? absl::StrCat(">= ", Seconds(v.value)) : Seconds(v.value);
  };
  row("", "secondary IPs", "prefixes");
  row("", "WARM_ENI_TARGET=1", "WARM_PREFIX_TARGET=1");
  row("time to all-ready (from the burst)", all_ready(*a), all_ready(*b));
  row("time to IP, median", time_to_ip(*a, 0.5), time_to_ip(*b, 0.5));
  row("time to IP, p95", time_to_ip(*a, 0.95), time_to_ip(*b, 0.95));
  row("pods never served", n(a->pods_never_served), n(b->pods_never_served));
  row("pods that had to wait for an IP", n(a->pods_waited), n(b->pods_waited));
  row("ENI attachments", n(a->eni_attachments), n(b->eni_attachments));
  row("EC2 calls", n(a->ec2_calls), n(b->ec2_calls));
  row("ENIs at the end", n(a->final_sample().enis), n(b->final_sample().enis));
  row("pod addresses held (assigned)",
      absl::StrCat(a->final_sample().addresses, " (", a->final_sample().assigned, ")"),
      absl::StrCat(b->final_sample().addresses, " (", b->final_sample().assigned, ")"));
  row("subnet addresses used", n(a->final_sample().subnet_used), n(b->final_sample().subnet_used));
  row("aligned /28s no longer wholly free", n(free_28_empty - a->final_sample().subnet_free_28),
      n(free_28_empty - b->final_sample().subnet_free_28));
  row("free aligned /28s left", n(a->final_sample().subnet_free_28),
      n(b->final_sample().subnet_free_28));
  std::printf("\n");

  std::printf("3. Reading it\n");
  if (b->time_to_all_ready >= absl::ZeroDuration() &&
      a->time_to_all_ready >= absl::ZeroDuration()) {
    const absl::Duration sooner = a->time_to_all_ready - b->time_to_all_ready;
    std::printf("   Prefix delegation had every pod running %s %s, with %lld %s ENI attachments\n",
                Seconds(sooner < absl::ZeroDuration() ? -sooner : sooner).c_str(),
                sooner >= absl::ZeroDuration() ? "sooner" : "later",
                static_cast<long long>(std::abs(a->eni_attachments - b->eni_attachments)),
                a->eni_attachments >= b->eni_attachments ? "fewer" : "more");
    std::printf("   and %lld %s EC2 calls: one call brings %d addresses, and the ENIs already\n",
                static_cast<long long>(std::abs(a->ec2_calls - b->ec2_calls)),
                a->ec2_calls >= b->ec2_calls ? "fewer" : "more", enipool::kAddressesPerPrefix);
    std::printf("   attached have room for them, so no ENI has to be created and attached.\n");
  }
  std::printf("   The price is address space: prefixes take whole aligned /28s (%lld addresses\n",
              static_cast<long long>(b->final_sample().subnet_used));
  std::printf("   used vs %lld), and a fragmented subnet with free addresses but no free aligned\n",
              static_cast<long long>(a->final_sample().subnet_used));
  std::printf(
      "   /28 answers InsufficientCidrBlocks. Secondary IPs land at random addresses and\n");
  std::printf("   break up /28s too: %lld /28s are no longer wholly free for %lld addresses.\n",
              static_cast<long long>(free_28_empty - a->final_sample().subnet_free_28),
              static_cast<long long>(a->final_sample().subnet_used));
  std::printf(
      "\nMore: enipool_example_simulate --help (your own workloads, policies, CSV, SVG).\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2 ||
      (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h"))) {
    std::fprintf(stderr, "usage: %s [instance-type]   (default m5.large)\n", argv[0]);
    return argc > 2 ? 2 : 0;
  }
  return Run(argc == 2 ? argv[1] : "m5.large");
}
