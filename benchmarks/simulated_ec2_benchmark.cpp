// What one simulated EC2 call costs: a cluster simulation of 5,000 nodes
// makes ~10^4-10^5 calls per simulated hour against one SimulatedEc2, so
// these must stay in the microseconds. The baseline in each family is the
// bare ec2::Subnet doing the same address work, so the ratio is the cost of
// the simulator's bookkeeping (hash lookups, limits, throttle, fault plan).
//
// Argument subnet_prefix_length: the subnet's size (16 = 65,536 addresses,
// 20 = 4,096).
// The subnets are half full of random secondary IPs, with half of their
// aligned /28s clear, before timing starts, so searches do not run on an
// empty bitmap; the account holds 1,000 instances.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "benchmark_main.h"
#include "enipool/clock.h"
#include "enipool/ipv4.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/ec2/subnet.h"
#include "enipool/status.h"

namespace {

using enipool::Ipv4Prefix;
using enipool::benchmarks::Ok;
using enipool::ManualClock;
using Ec2 = enipool::ec2::SimulatedEc2<ManualClock>;
using enipool::ec2::SimulatedEc2Options;

Ipv4Prefix SubnetCidr(benchmark::State& state) {
  return Ipv4Prefix::Containing(enipool::Ipv4Address(10, 0, 0, 0),
                                static_cast<int>(state.range(0)));
}

// A subnet whose free addresses are half taken by random single IPs, with
// aligned /28s still free in proportion (every other block kept clear).
absl::StatusOr<enipool::ec2::Subnet> HalfFullSubnet(Ipv4Prefix cidr, std::mt19937_64& rng) {
  auto subnet = enipool::ec2::Subnet::Create("subnet-1", cidr);
  if (!subnet.ok()) return subnet.status();
  auto prefixes = subnet->AllocatePrefixes(static_cast<int>(subnet->free_prefix_count() / 2), rng);
  if (!prefixes.ok()) return prefixes.status();
  auto addresses =
      subnet->AllocateAddresses(static_cast<int>(subnet->free_address_count() / 2), rng);
  if (!addresses.ok()) return addresses.status();
  for (const Ipv4Prefix& p : *prefixes) ENIPOOL_RETURN_IF_ERROR(subnet->ReleasePrefix(p));
  return subnet;
}

void BM_Subnet_AllocateReleasePrefix(benchmark::State& state) {
  std::mt19937_64 rng(1);
  auto made = HalfFullSubnet(SubnetCidr(state), rng);
  if (!Ok(state, made.status(), "setup")) return;
  enipool::ec2::Subnet& subnet = *made;
  for (auto _ : state) {
    auto prefix = subnet.AllocatePrefix(rng);
    benchmark::DoNotOptimize(prefix);
    if (!Ok(state, prefix.status(), "AllocatePrefix") ||
        !Ok(state, subnet.ReleasePrefix(*prefix), "ReleasePrefix")) {
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Subnet_AllocateReleasePrefix)
    ->ArgName("subnet_prefix_length")
    ->Arg(20)
    ->Arg(16);

// An account of 1,000 instances (primaries in subnet-0) and a subnet-1 half
// full of random IPs with half of its aligned /28s clear; returns the ENI
// under test, attached to i-500 and living in subnet-1.
absl::StatusOr<std::string> HalfFullAccount(Ec2& ec2, Ipv4Prefix cidr) {
  ENIPOOL_RETURN_IF_ERROR(
      ec2.AddSubnet("subnet-0", Ipv4Prefix::Containing(enipool::Ipv4Address(172, 16, 0, 0), 16)));
  ENIPOOL_RETURN_IF_ERROR(ec2.AddSubnet("subnet-1", cidr));
  for (int i = 0; i < 1000; ++i) {
    auto primary = ec2.AddInstance({.instance_id = absl::StrCat("i-", i),
                                    .subnet_id = "subnet-0",
                                    .max_enis = 4,
                                    .ipv4_per_eni = 50});
    if (!primary.ok()) return primary.status();
  }
  const enipool::ec2::Subnet& subnet = *ec2.FindSubnet("subnet-1");
  // Hold half of the /28s on prefix ENIs while random IPs land, then
  // delete those ENIs.
  std::vector<std::string> holders;
  while (subnet.free_prefix_count() > subnet.size() / 16 / 2) {
    auto holder = ec2.CreateNetworkInterface({.subnet_id = "subnet-1", .ipv4_prefix_count = 16});
    if (!holder.ok()) break;
    holders.push_back(holder->id);
  }
  while (subnet.free_address_count() > subnet.size() / 4) {
    if (!ec2.CreateNetworkInterface({.subnet_id = "subnet-1", .secondary_ip_count = 48}).ok())
      break;
  }
  for (const std::string& id : holders) {
    ENIPOOL_RETURN_IF_ERROR(ec2.DeleteNetworkInterface({.eni_id = id}));
  }
  auto eni = ec2.CreateNetworkInterface({.subnet_id = "subnet-1"});
  if (!eni.ok()) return eni.status();
  auto attached =
      ec2.AttachNetworkInterface({.eni_id = eni->id, .instance_id = "i-500", .device_index = 1});
  if (!attached.ok()) return attached.status();
  return eni->id;
}

SimulatedEc2Options Unthrottled() {
  return {.seed = 1,
          .latency = enipool::ec2::LatencyModel::Zero(),
          .throttle = enipool::ec2::ThrottleConfig::Disabled()};
}

void BM_SimulatedEc2_AssignUnassignPrefix(benchmark::State& state) {
  ManualClock clock;
  Ec2 ec2(clock, Unthrottled());
  const auto account = HalfFullAccount(ec2, SubnetCidr(state));
  if (!Ok(state, account.status(), "setup")) return;
  const std::string& eni = *account;
  state.counters["free_prefixes"] =
      static_cast<double>(ec2.FindSubnet("subnet-1")->free_prefix_count());
  for (auto _ : state) {
    auto prefixes = ec2.AssignIpv4Prefixes({.eni_id = eni, .count = 1});
    benchmark::DoNotOptimize(prefixes);
    if (!Ok(state, prefixes.status(), "AssignIpv4Prefixes") ||
        !Ok(state, ec2.UnassignIpv4Prefixes({.eni_id = eni, .prefixes = *prefixes}),
            "UnassignIpv4Prefixes")) {
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SimulatedEc2_AssignUnassignPrefix)
    ->ArgName("subnet_prefix_length")
    ->Arg(20)
    ->Arg(16);

void BM_Subnet_AllocateReleaseAddress(benchmark::State& state) {
  std::mt19937_64 rng(1);
  auto made = HalfFullSubnet(SubnetCidr(state), rng);
  if (!Ok(state, made.status(), "setup")) return;
  enipool::ec2::Subnet& subnet = *made;
  for (auto _ : state) {
    auto address = subnet.AllocateAddress(rng);
    benchmark::DoNotOptimize(address);
    if (!Ok(state, address.status(), "AllocateAddress") ||
        !Ok(state, subnet.ReleaseAddress(*address), "ReleaseAddress")) {
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Subnet_AllocateReleaseAddress)
    ->ArgName("subnet_prefix_length")
    ->Arg(20)
    ->Arg(16);

void BM_SimulatedEc2_AssignUnassignIp(benchmark::State& state) {
  ManualClock clock;
  Ec2 ec2(clock, Unthrottled());
  const auto account = HalfFullAccount(ec2, SubnetCidr(state));
  if (!Ok(state, account.status(), "setup")) return;
  const std::string& eni = *account;
  for (auto _ : state) {
    auto addresses = ec2.AssignPrivateIpAddresses({.eni_id = eni, .count = 1});
    benchmark::DoNotOptimize(addresses);
    if (!Ok(state, addresses.status(), "AssignPrivateIpAddresses") ||
        !Ok(state, ec2.UnassignPrivateIpAddresses({.eni_id = eni, .addresses = *addresses}),
            "UnassignPrivateIpAddresses")) {
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SimulatedEc2_AssignUnassignIp)
    ->ArgName("subnet_prefix_length")
    ->Arg(20)
    ->Arg(16);

// Describe of one instance's ENIs, the call a controller makes to resync;
// the baseline is a copy of the same ENIs out of EC2's own records (what any
// describe must at least do), so the figure reads as describe / copy.
void DescribeInstance(benchmark::State& state, bool baseline) {
  ManualClock clock;
  Ec2 ec2(clock, Unthrottled());
  const auto account = HalfFullAccount(ec2, SubnetCidr(state));
  if (!Ok(state, account.status(), "setup")) return;
  const std::size_t want = ec2.AttachedEnis("i-500").size();
  for (auto _ : state) {
    if (baseline) {
      std::vector<enipool::NetworkInterface> enis = ec2.AttachedEnis("i-500");
      benchmark::DoNotOptimize(enis);
      continue;
    }
    auto enis = ec2.DescribeNetworkInterfaces({.instance_id = "i-500"});
    benchmark::DoNotOptimize(enis);
    if (!Ok(state, enis.status(), "DescribeNetworkInterfaces")) break;
    if (enis->size() != want) {
      state.SkipWithError("the describe did not list the instance's ENIs");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_SimulatedEc2_DescribeInstance(benchmark::State& state) { DescribeInstance(state, false); }
void BM_SimulatedEc2_CopyInstanceEnis_Baseline(benchmark::State& state) {
  DescribeInstance(state, true);
}
BENCHMARK(BM_SimulatedEc2_CopyInstanceEnis_Baseline)->ArgName("subnet_prefix_length")->Arg(16);
BENCHMARK(BM_SimulatedEc2_DescribeInstance)->ArgName("subnet_prefix_length")->Arg(16);

}  // namespace
