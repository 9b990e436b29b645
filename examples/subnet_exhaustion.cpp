// A subnet running out of /28s, step by step: what a node in prefix mode
// sees when its subnet still has free addresses but no aligned, wholly free
// /28 block (docs/reference-behavior.md §10: aws/amazon-vpc-cni-k8s #2749, #2045), and that a
// node on secondary IPs in the same subnet still gets addresses.
//
// Everything runs against ec2::SimulatedEc2 in virtual time with a fixed
// seed, so the output is the same on every run. Run it bare:
//
//   ./enipool_example_subnet_exhaustion
//
// It takes no arguments besides --help; any other is refused.

#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/driver.h"
#include "enipool/ipv4.h"
#include "enipool/ec2/simulated_ec2.h"
#include "example_flags.h"

namespace {

using enipool::Ec2Call;
using enipool::Ec2Request;
using enipool::Ec2Result;
using enipool::ManualClock;
using enipool::NodeController;
using Ec2 = enipool::ec2::SimulatedEc2<ManualClock>;

constexpr char kSubnet[] = "subnet-a";

constexpr const char* kUsage =
    R"(usage: enipool_example_subnet_exhaustion

Shows, step by step against a simulated EC2 with a fixed seed, a node in prefix
mode whose subnet still has free addresses but no aligned, wholly free /28, and
a node on secondary IPs in the same subnet that still gets addresses.
)";

// "AssignIpv4Prefixes(eni-…, count 1)": the call and its arguments that matter here.
std::string Describe(const Ec2Call& call) {
  if (const auto* r = std::get_if<enipool::DescribeNetworkInterfacesRequest>(&call)) {
    return absl::StrCat("DescribeNetworkInterfaces(", r->instance_id, ")");
  }
  if (const auto* r = std::get_if<enipool::AssignIpv4PrefixesRequest>(&call)) {
    return absl::StrCat("AssignIpv4Prefixes(", r->eni_id, ", count ", r->count, ")");
  }
  if (const auto* r = std::get_if<enipool::AssignPrivateIpAddressesRequest>(&call)) {
    return absl::StrCat("AssignPrivateIpAddresses(", r->eni_id, ", count ", r->count, ")");
  }
  if (const auto* r = std::get_if<enipool::CreateNetworkInterfaceRequest>(&call)) {
    return absl::StrCat("CreateNetworkInterface(", r->subnet_id, ", ",
                        r->ipv4_prefix_count > 0 ? r->ipv4_prefix_count : r->secondary_ip_count,
                        r->ipv4_prefix_count > 0 ? " prefixes)" : " IPs)");
  }
  return std::string(enipool::Ec2CallName(call));
}

std::string Outcome(const Ec2Result& result) {
  if (!result.ok()) return std::string(result.status.message());
  if (const auto* ips = std::get_if<std::vector<enipool::Ipv4Address>>(&result.response)) {
    std::vector<std::string> text;
    for (const auto& ip : *ips) text.push_back(ip.ToString());
    return absl::StrCat("OK: ", absl::StrJoin(text, " "));
  }
  if (const auto* prefixes = std::get_if<std::vector<enipool::Ipv4Prefix>>(&result.response)) {
    std::vector<std::string> text;
    for (const auto& p : *prefixes) text.push_back(p.ToString());
    return absl::StrCat("OK: ", absl::StrJoin(text, " "));
  }
  if (const auto* nics = std::get_if<std::vector<enipool::NetworkInterface>>(&result.response)) {
    return absl::StrCat("OK: ", nics->size(), nics->size() == 1 ? " ENI" : " ENIs", " attached");
  }
  return "OK";
}

void PrintCall(absl::Duration at, const Ec2Call& call, const Ec2Result& result,
               absl::string_view note = "") {
  std::printf("  t=%4llds  %s%s\n            -> %s\n",
              static_cast<long long>(absl::ToInt64Seconds(at)), Describe(call).c_str(),
              std::string(note).c_str(), Outcome(result).c_str());
}

void PrintSubnet(const Ec2& ec2, absl::string_view when) {
  const enipool::ec2::Subnet& subnet = *ec2.FindSubnet(kSubnet);
  std::printf("  %-28s %3zu free addresses, %zu aligned /28 wholly free\n",
              std::string(when).c_str(), subnet.free_address_count(), subnet.free_prefix_count());
}

// Makes `requests` (and their follow-ups), printing every call and its
// answer.
void LoggedDrive(NodeController<ManualClock>& controller, Ec2& ec2, const ManualClock& clock,
                 absl::Time t0, std::vector<Ec2Request> requests) {
  const std::size_t planned = requests.size();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const Ec2Request request = requests[i];
    const Ec2Result result = ec2.Call(request.call);
    const bool retry =
        i >= planned &&
        (std::holds_alternative<enipool::AssignIpv4PrefixesRequest>(request.call) ||
         std::holds_alternative<enipool::AssignPrivateIpAddressesRequest>(request.call));
    PrintCall(clock.Now() - t0, request.call, result, retry ? "  [the retry with count 1]" : "");
    if (!controller.OnResult(request, result, clock.Now(), requests).ok()) return;
  }
}

enipool::ControllerConfig ConfigFor(enipool::AddressMode mode, const std::string& instance) {
  enipool::ControllerConfig config;
  config.pool.mode = mode;
  config.pool.warm_prefix_target = 1;  // the shipped manifests' value
  config.pool.max_enis = 3;            // m5.large: 3 ENIs × 10 addresses
  config.pool.ipv4_per_eni = 10;
  config.pool.max_pods = mode == enipool::AddressMode::kPrefix ? 110 : 29;
  config.instance_id = instance;
  config.subnet_id = kSubnet;
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  if (!examples::ParseFlagsOrExit(argc, argv, kUsage, "subnet_exhaustion.cpp")) return 1;
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  const absl::Time t0 = clock.Now();
  Ec2 ec2(clock, {.seed = 7,
                  .latency = enipool::ec2::LatencyModel::Zero(),
                  .throttle = enipool::ec2::ThrottleConfig::Disabled()});
  auto sleep_until = [&](absl::Time t) { clock.SetTime(t); };
  const auto cidr = *enipool::Ipv4Prefix::Parse("10.0.0.0/25");
  if (!ec2.AddSubnet(kSubnet, cidr).ok()) return 1;
  for (const char* instance : {"i-neighbour", "i-pd", "i-sip"}) {
    if (!ec2.AddInstance(
                {.instance_id = instance, .subnet_id = kSubnet, .max_enis = 3, .ipv4_per_eni = 10})
             .ok()) {
      return 1;
    }
  }

  std::printf("Subnet %s %s: 128 addresses, 5 reserved by AWS (.0-.3, .127), 8 aligned /28s.\n",
              kSubnet, cidr.ToString().c_str());
  PrintSubnet(ec2, "3 nodes' primary ENIs:");

  // A neighbour on secondary IPs fills in: its addresses land at random.
  auto neighbour = NodeController<ManualClock>::Create(
      clock, ConfigFor(enipool::AddressMode::kSecondaryIp, "i-neighbour"));
  if (!neighbour.ok() || !enipool::StartNode(*neighbour, ec2, clock, sleep_until).ok()) return 1;
  PrintSubnet(ec2, "i-neighbour took 9 IPs:");
  // Its pods arrive; it grows an ENI (9 more random IPs) at a time.
  for (int pod = 0; ec2.FindSubnet(kSubnet)->free_prefix_count() > 0 && pod < 40; ++pod) {
    if (neighbour->AddPod({"aws-cni", absl::StrCat("n", pod), "eth0"}).ok()) continue;
    const int enis = neighbour->datastore().Stats().enis;
    if (!enipool::RunPoolCheck(*neighbour, ec2, clock, sleep_until).ok()) return 1;
    if (neighbour->datastore().Stats().enis > enis) {
      PrintSubnet(ec2, absl::StrCat("i-neighbour, ", pod, " pods, ENI #", enis + 1, ":"));
    }
  }

  std::printf("\nNode i-pd, prefix delegation, WARM_PREFIX_TARGET=1, starts:\n");
  auto pd =
      NodeController<ManualClock>::Create(clock, ConfigFor(enipool::AddressMode::kPrefix, "i-pd"));
  if (!pd.ok()) return 1;
  LoggedDrive(*pd, ec2, clock, t0, pd->Start(clock.Now()));
  LoggedDrive(*pd, ec2, clock, t0, pd->Tick(clock.Now()));  // the first pool check
  std::printf("  -> the 120 s no-increase back-off runs until t=%llds\n",
              static_cast<long long>(absl::ToInt64Seconds(pd->last_insufficient_addresses() +
                                                          absl::Seconds(120) - t0)));
  const auto add = pd->AddPod({"aws-cni", "web-1", "eth0"});
  std::printf("  pod ADD web-1: %s\n", add.status().ToString().c_str());

  // A pool check every 5 s: silent until the back-off is over.
  int quiet = 0;
  std::vector<Ec2Request> requests;
  for (; requests.empty(); ++quiet) {
    clock.AdvanceTime(absl::Seconds(5));
    requests = pd->Tick(clock.Now());
  }
  std::printf("  t=5s..%llds: %d pool checks, no EC2 call\n",
              static_cast<long long>(absl::ToInt64Seconds(clock.Now() - t0 - absl::Seconds(5))),
              quiet - 1);
  LoggedDrive(*pd, ec2, clock, t0, requests);
  std::printf("  counters: %lld InsufficientCidrBlocks, %lld back-offs, %lld prefixes held\n",
              static_cast<long long>(
                  pd->counters().errors_of(enipool::Ec2ErrorCode::kInsufficientCidrBlocks)),
              static_cast<long long>(pd->counters().insufficient_backoffs),
              static_cast<long long>(pd->datastore().Stats().total_prefixes));

  std::printf("\nNode i-sip, secondary IPs, WARM_ENI_TARGET=1, same subnet:\n");
  auto sip = NodeController<ManualClock>::Create(
      clock, ConfigFor(enipool::AddressMode::kSecondaryIp, "i-sip"));
  if (!sip.ok()) return 1;
  LoggedDrive(*sip, ec2, clock, t0, sip->Start(clock.Now()));
  LoggedDrive(*sip, ec2, clock, t0, sip->Tick(clock.Now()));
  const auto web = sip->AddPod({"aws-cni", "web-1", "eth0"});
  std::printf("  pod ADD web-1: %s\n",
              web.ok() ? web->ToString().c_str() : web.status().ToString().c_str());
  PrintSubnet(ec2, "at the end:");
  std::printf(
      "\nSingle addresses are left, aligned /28s are not: prefix delegation needs a\n"
      "subnet CIDR reservation for prefixes or a subnet of its own.\n");
  return 0;
}
