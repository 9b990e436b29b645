// max_pods: the kubelet max-pods value and the pod-IP capacity of EC2 instance
// types, with secondary IPs and with prefix delegation, with and without custom
// networking (enipool/max_pods.h; docs/reference-behavior.md §5), and for
// types with several network cards what each card and all cards hold with
// ENABLE_MULTI_NIC (docs/reference-behavior.md §1.1, §6.2).
//
//   enipool_example_max_pods t3.small m5.large
//   enipool_example_max_pods --vcpus 2 --max-eni 2 m5.large
//   enipool_example_max_pods            # a few well-known types
//
// An unknown instance type is an error on stderr and exit status 1; a bad
// option, exit status 2.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <enipool/instance_limits.h>
#include <enipool/max_pods.h>

namespace {

constexpr std::string_view kDefaultTypes[] = {"t3.small",   "m5.large", "c5.18xlarge",
                                              "m4.4xlarge", "m5.metal", "p5.48xlarge"};

void PrintUsage(std::FILE* out) {
  std::fprintf(out,
               "usage: enipool_example_max_pods [options] [instance-type ...]\n"
               "\n"
               "Prints, per instance type, the pod-IP capacity and the kubelet max-pods value\n"
               "(pod IPs + 2 host-network pods) with secondary IPs and with prefix delegation,\n"
               "without and with custom networking (CN); for types with several network cards,\n"
               "the per-card figures with ENABLE_MULTI_NIC. No types: a few well-known ones.\n"
               "\n"
               "options:\n"
               "  --max-eni N          MAX_ENI: use min(N, the type's ENI limit) ENIs\n"
               "  --vcpus N            apply the EKS calculator's cap: 110 if N <= 30, else 250\n"
               "                       (default: no cap, as in AWS's eni-max-pods.txt)\n"
               "  --ipamd-prefix-rule  use prefixes on bare metal too, as ipamd does (the EKS\n"
               "                       calculator, the default, uses them on Nitro only)\n"
               "  -h, --help           this text\n");
}

// A whole non-negative decimal number, or nothing.
bool ParseCount(std::string_view text, int& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && error == std::errc() && end == text.data() + text.size() && value >= 0;
}

// Types of the same family ("m5" for "m5.huge"), to suggest for an unknown one.
std::string SameFamily(std::string_view type) {
  const std::string_view family = type.substr(0, type.find('.'));
  std::string names;
  int count = 0;
  for (const enipool::InstanceLimits& limits : enipool::AllInstanceLimits()) {
    if (limits.name.size() > family.size() && limits.name.substr(0, family.size()) == family &&
        limits.name[family.size()] == '.') {
      if (count < 8) names.append(names.empty() ? "" : ", ").append(limits.name);
      ++count;
    }
  }
  if (count > 8) names.append(", ...");
  return names;
}

std::string Cell(const enipool::MaxPods& result, bool want_prefix, bool pod_ips) {
  if (want_prefix && !result.prefix_delegation_applied) return "n/a";
  if (pod_ips) return std::to_string(result.pod_ips);
  return std::to_string(result.kubelet_max_pods) + (result.capped ? "*" : "");
}

}  // namespace

int main(int argc, char** argv) {
  enipool::MaxPodsOptions options;
  std::vector<std::string_view> types;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      PrintUsage(stdout);
      return 0;
    }
    if (arg == "--max-eni" || arg == "--vcpus") {
      int& target = arg == "--max-eni" ? options.max_enis : options.vcpus;
      if (i + 1 >= argc || !ParseCount(argv[i + 1], target) ||
          (arg == "--max-eni" && target == 0)) {
        std::fprintf(stderr, "error: %s needs a whole number%s, got \"%s\"\n", argv[i],
                     arg == "--max-eni" ? " >= 1" : " >= 0", i + 1 < argc ? argv[i + 1] : "");
        return 2;
      }
      ++i;
      continue;
    }
    if (arg == "--ipamd-prefix-rule") {
      options.prefix_rule = enipool::PrefixDelegationRule::kIpamd;
      continue;
    }
    if (arg.starts_with("-")) {
      std::fprintf(stderr, "error: unknown option \"%s\" (see --help)\n", argv[i]);
      return 2;
    }
    types.push_back(arg);
  }
  const bool bare = types.empty();
  if (bare) types.assign(std::begin(kDefaultTypes), std::end(kDefaultTypes));

  // Look every type up first: any unknown one is an error, and no table.
  std::vector<enipool::InstanceLimits> rows;
  bool unknown = false;
  for (const std::string_view type : types) {
    absl::StatusOr<enipool::InstanceLimits> limits =
        enipool::FindInstanceLimits(absl::string_view(type.data(), type.size()));
    if (!limits.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(limits.status().message()).c_str());
      if (const std::string similar = SameFamily(type); !similar.empty()) {
        std::fprintf(stderr, "       known %.*s types: %s\n",
                     static_cast<int>(type.find('.') == std::string_view::npos ? type.size()
                                                                               : type.find('.')),
                     type.data(), similar.c_str());
      }
      unknown = true;
      continue;
    }
    rows.push_back(*limits);
  }
  if (unknown) return 1;

  // The hypervisor column also says "metal" for bare metal (EC2 reports no
  // hypervisor there), which is what decides prefix delegation for ipamd.
  auto kind = [](const enipool::InstanceLimits& limits) {
    std::string text(enipool::HypervisorName(limits.hypervisor));
    if (!limits.is_bare_metal) return text;
    return limits.hypervisor == enipool::Hypervisor::kUnknown ? std::string("bare metal")
                                                              : text + ", metal";
  };
  int name_width = static_cast<int>(std::string_view("instance type").size());
  int kind_width = static_cast<int>(std::string_view("hypervisor").size());
  for (const enipool::InstanceLimits& limits : rows) {
    name_width = std::max(name_width, static_cast<int>(limits.name.size()));
    kind_width = std::max(kind_width, static_cast<int>(kind(limits).size()));
  }

  std::printf("Pod IPs and kubelet max pods (max pods = pod IPs + 2 host-network pods)");
  if (options.max_enis > 0) std::printf(", MAX_ENI %d", options.max_enis);
  if (options.vcpus > 0) std::printf(", %d vCPUs", options.vcpus);
  std::printf("\n\n");
  std::printf("%-*s  %4s  %7s  %-*s  %-3s  %s  %s\n", name_width, "", "", "", kind_width, "", "",
              "--- secondary IPs ---", "- prefix delegation -");
  std::printf("%-*s  %4s  %7s  %-*s  %-3s  %10s %10s  %10s %10s\n", name_width, "instance type",
              "ENIs", "IPs/ENI", kind_width, "hypervisor", "CN", "pod IPs", "max pods", "pod IPs",
              "max pods");
  std::printf("%s  ----  -------  %s  ---  ---------- ----------  ---------- ----------\n",
              std::string(static_cast<std::size_t>(name_width), '-').c_str(),
              std::string(static_cast<std::size_t>(kind_width), '-').c_str());

  bool any_xen_na = false;        // no prefixes under either rule
  bool any_bare_metal_na = false;  // ipamd would use prefixes; the calculator does not
  bool any_capped = false;
  for (const enipool::InstanceLimits& limits : rows) {
    for (const bool custom_networking : {false, true}) {
      enipool::MaxPodsOptions sip = options;
      sip.custom_networking = custom_networking;
      enipool::MaxPodsOptions pd = sip;
      pd.prefix_delegation = true;
      const enipool::MaxPods sip_result = enipool::CalculateMaxPods(limits, sip);
      const enipool::MaxPods pd_result = enipool::CalculateMaxPods(limits, pd);
      if (!pd_result.prefix_delegation_applied) {
        (limits.prefix_delegation_supported ? any_bare_metal_na : any_xen_na) = true;
      }
      any_capped = any_capped || sip_result.capped || pd_result.capped;
      if (custom_networking) {
        std::printf("%-*s  %4s  %7s  %-*s", name_width, "", "", "", kind_width, "");
      } else {
        std::printf("%-*s  %4d  %7d  %-*s", name_width, std::string(limits.name).c_str(),
                    limits.max_enis, limits.ipv4_per_eni, kind_width, kind(limits).c_str());
      }
      std::printf("  %-3s  %10s %10s  %10s %10s\n", custom_networking ? "yes" : "no",
                  Cell(sip_result, false, true).c_str(), Cell(sip_result, false, false).c_str(),
                  Cell(pd_result, true, true).c_str(), Cell(pd_result, true, false).c_str());
    }
  }

  std::printf("\nENIs: the default network card's limit; IPs/ENI includes the ENI's own"
              " primary address.\nCN: custom networking (the primary ENI holds no pod IPs).\n");
  if (any_capped) {
    std::printf("*: capped by the EKS calculator's recommended limit for %d vCPUs (%d).\n",
                options.vcpus, enipool::MaxPodsCap(options.vcpus));
  }
  if (any_xen_na) {
    std::printf("n/a: no prefix delegation on Xen; ipamd falls back to secondary IPs.\n");
  }
  if (any_bare_metal_na) {
    std::printf("n/a: on bare metal the EKS calculator assumes no prefixes, but ipamd uses them;"
                "\n     --ipamd-prefix-rule shows ipamd's numbers.\n");
  }

  // Multi-card types: what each card and all cards hold with
  // ENABLE_MULTI_NIC; max pods stays the default card's.
  bool any_multi = false;
  for (const enipool::InstanceLimits& limits : rows) any_multi = any_multi || limits.network_cards > 1;
  if (any_multi) {
    std::printf("\nNetwork cards (ENABLE_MULTI_NIC: every card holds pod IPs; max pods above is the"
                "\ndefault card's)\n\n");
    std::printf("%-*s  %5s  %9s  %23s  %23s\n", name_width, "", "", "",
                "---- secondary IPs ----", "- prefix delegation --");
    std::printf("%-*s  %5s  %9s  %11s %11s  %11s %11s\n", name_width, "instance type", "cards",
                "ENIs/card", "per card", "all cards", "per card", "all cards");
    std::printf("%s  -----  ---------  ----------- -----------  ----------- -----------\n",
                std::string(static_cast<std::size_t>(name_width), '-').c_str());
    for (const enipool::InstanceLimits& limits : rows) {
      if (limits.network_cards <= 1) continue;
      enipool::MaxPodsOptions sip = options;
      enipool::MaxPodsOptions pd = options;
      pd.prefix_delegation = true;
      const enipool::MaxPods pd_card = enipool::CalculateMaxPods(limits, pd);
      const std::string pd_per_card =
          pd_card.prefix_delegation_applied ? std::to_string(pd_card.pod_ips) : "n/a";
      const std::string pd_all =
          pd_card.prefix_delegation_applied
              ? std::to_string(enipool::ComputeAllCardsPodIpCapacity(limits, pd))
              : "n/a";
      std::printf("%-*s  %5d  %9d  %11d %11lld  %11s %11s\n", name_width,
                  std::string(limits.name).c_str(), limits.network_cards,
                  enipool::MaxEnisOnCard(limits, limits.default_network_card_index),
                  enipool::ComputePodIpCapacity(limits, sip),
                  static_cast<long long>(enipool::ComputeAllCardsPodIpCapacity(limits, sip)),
                  pd_per_card.c_str(), pd_all.c_str());
    }
    std::printf("\nper card: pod IPs one card holds (every card takes the default card's ENIs);"
                "\nall cards: pod IPs on every card together (a card with only an EFA-only"
                "\ninterface is not managed and holds none).\n");
  }
  if (bare) {
    std::printf("\n(Pass instance types as arguments; --help for the options.)\n");
  }
  return 0;
}
