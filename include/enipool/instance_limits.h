// -----------------------------------------------------------------------------
// File: instance_limits.h
// -----------------------------------------------------------------------------
//
// `InstanceLimits`: how many ENIs an EC2 instance type takes and how many IPv4
// addresses each ENI holds, for all 1,391 types the AWS VPC CNI v1.23.1 knows
// (its pkg/vpc/vpc_ip_resource_limit.go, docs/reference-behavior.md §6), as a constexpr table
// sorted by name. `LookupInstanceLimits()` finds a type at compile time or run
// time; `FindInstanceLimits()` is the same lookup with a NOT_FOUND status that
// names the type. The max-pods arithmetic is in enipool/max_pods.h.
//
// The rows come from enipool/internal/instance_limits_table.h, generated from
// data/instance-limits.csv by tools/gen_instance_limits.cmake; this header
// checks at compile time that they are sorted, unique and 1,391.
//
// Example:
//
//   constexpr auto m5 = enipool::LookupInstanceLimits("m5.large");
//   static_assert(m5 && m5->max_enis == 3 && m5->ipv4_per_eni == 10);
//
//   absl::StatusOr<enipool::InstanceLimits> limits =
//       enipool::FindInstanceLimits("m5.huge");
//   // NOT_FOUND: unknown instance type "m5.huge": not among the 1391 types ...
//
// NOTE: `max_enis` is the default network card's limit, which is what ipamd
// and the published max-pods values use; `enis_all_cards` is the instance
// total (they differ only for the 67 multi-card types, e.g. p5.48xlarge: 2
// vs 64).

#ifndef ENIPOOL_INSTANCE_LIMITS_H_
#define ENIPOOL_INSTANCE_LIMITS_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "enipool/internal/instance_limits_table.h"
#include "enipool/status.h"

namespace enipool {

// Hypervisor
//
// The instance type's hypervisor as EC2 reports it. Bare-metal types report
// none, which the reference records as "unknown" (so do two old types,
// cr1.8xlarge and hs1.8xlarge).
enum class Hypervisor : unsigned char { kNitro, kXen, kUnknown };

// HypervisorName()
//
// "nitro", "xen" or "unknown": the reference's spelling.
constexpr std::string_view HypervisorName(Hypervisor hypervisor) noexcept {
  switch (hypervisor) {
    case Hypervisor::kNitro:
      return "nitro";
    case Hypervisor::kXen:
      return "xen";
    case Hypervisor::kUnknown:
      break;
  }
  return "unknown";
}

// InstanceLimits
//
// One instance type's network limits. A plain aggregate: the table's rows are
// InstanceLimits, and a type the table lacks (fetched from
// DescribeInstanceTypes, as ipamd does for unknown types) can be written by
// hand: `{.name = "x9.large", .max_enis = 3, .ipv4_per_eni = 10,
// .prefix_delegation_supported = true, .hypervisor = Hypervisor::kNitro}`.
struct InstanceLimits {
  std::string_view name;
  // ENIs the default network card takes (the reference's ENILimit).
  int max_enis = 0;
  // IPv4 addresses per ENI, the ENI's own primary included (IPv4Limit); an ENI
  // has ipv4_per_eni − 1 slots for pod IPs or /28 prefixes.
  int ipv4_per_eni = 0;
  // ipamd's rule [AWSU :: IsPrefixDelegationSupported]: Nitro or bare metal.
  // The EKS max-pods calculator is stricter (Nitro only); see
  // CalculatorAppliesPrefixDelegation() in enipool/max_pods.h.
  bool prefix_delegation_supported = false;
  Hypervisor hypervisor = Hypervisor::kUnknown;
  bool is_bare_metal = false;
  int network_cards = 1;
  int default_network_card_index = 0;
  // ENIs over all network cards (≥ max_enis).
  int enis_all_cards = 0;

  friend constexpr bool operator==(const InstanceLimits&, const InstanceLimits&) = default;
};

// MaxEnisOnCard()
//
// ENIs network card `card` takes: max_enis for every card of the type (every
// card of every type in the table allows the same number as the default card;
// the generator checks it), 0 for a card the type does not have.
constexpr int MaxEnisOnCard(const InstanceLimits& limits, int card) noexcept {
  return card >= 0 && card < limits.network_cards ? limits.max_enis : 0;
}

// kInstanceTypeCount
//
// How many instance types the table holds.
inline constexpr std::size_t kInstanceTypeCount = 1391;

namespace internal {

constexpr Hypervisor ParseHypervisor(std::string_view text) noexcept {
  if (text == "nitro") return Hypervisor::kNitro;
  if (text == "xen") return Hypervisor::kXen;
  return Hypervisor::kUnknown;
}

constexpr std::array<InstanceLimits, kInstanceTypeCount> BuildInstanceLimitsTable() noexcept {
  static_assert(kInstanceLimitsRowCount == static_cast<int>(kInstanceTypeCount),
                "the generated table does not have 1,391 rows; update kInstanceTypeCount "
                "(and the docs) after regenerating from a new data/instance-limits.csv");
  std::array<InstanceLimits, kInstanceTypeCount> table{};
  for (std::size_t i = 0; i < kInstanceTypeCount; ++i) {
    const InstanceLimitsRow& row = kInstanceLimitsRows[i];
    table[i] = {.name = row.name,
                .max_enis = row.max_enis,
                .ipv4_per_eni = row.ipv4_per_eni,
                .prefix_delegation_supported = row.pd_supported,
                .hypervisor = ParseHypervisor(row.hypervisor),
                .is_bare_metal = row.is_bare_metal,
                .network_cards = row.network_cards,
                .default_network_card_index = row.default_network_card_index,
                .enis_all_cards = row.enis_all_cards};
  }
  return table;
}

// One pass over adjacent pairs (linear, so cheap to evaluate at compile time):
// strictly increasing names means sorted and unique, which the binary search
// in LookupInstanceLimits() needs.
constexpr bool IsStrictlySortedByName(
    const std::array<InstanceLimits, kInstanceTypeCount>& table) noexcept {
  for (std::size_t i = 1; i < table.size(); ++i) {
    if (!(table[i - 1].name < table[i].name)) return false;
  }
  return true;
}

// Every row must leave at least one ENI and one pod slot per ENI, name a
// hypervisor the generator knows, and agree with ipamd's PD rule.
constexpr bool AllRowsPlausible(
    const std::array<InstanceLimits, kInstanceTypeCount>& table) noexcept {
  for (std::size_t i = 0; i < kInstanceTypeCount; ++i) {
    const InstanceLimits& l = table[i];
    const std::string_view spelled = kInstanceLimitsRows[i].hypervisor;
    if (l.name.empty() || l.max_enis < 1 || l.ipv4_per_eni < 2) return false;
    if (HypervisorName(l.hypervisor) != spelled) return false;
    if (l.prefix_delegation_supported !=
        (l.hypervisor == Hypervisor::kNitro || l.is_bare_metal)) {
      return false;
    }
    if (l.network_cards < 1 || l.default_network_card_index < 0 ||
        l.default_network_card_index >= l.network_cards ||
        l.enis_all_cards != l.max_enis * l.network_cards) {
      return false;
    }
  }
  return true;
}

}  // namespace internal

// kInstanceLimits
//
// Every known instance type, sorted by name (byte order). Use AllInstanceLimits()
// for a span.
inline constexpr std::array<InstanceLimits, kInstanceTypeCount> kInstanceLimits =
    internal::BuildInstanceLimitsTable();

static_assert(internal::IsStrictlySortedByName(kInstanceLimits),
              "instance limits table must be sorted by name with no duplicates; "
              "regenerate it with cmake -P tools/gen_instance_limits.cmake");
static_assert(internal::AllRowsPlausible(kInstanceLimits),
              "instance limits table has an implausible row; regenerate it");

// AllInstanceLimits()
//
// The whole table, sorted by name.
constexpr std::span<const InstanceLimits, kInstanceTypeCount> AllInstanceLimits() noexcept {
  return kInstanceLimits;
}

// LookupInstanceLimits()
//
// The limits of instance type `type` (exact, case-sensitive: EC2 names are
// lower case), or std::nullopt if the table does not have it. A binary search,
// usable in constant expressions.
constexpr std::optional<InstanceLimits> LookupInstanceLimits(std::string_view type) noexcept {
  const auto it = std::lower_bound(
      kInstanceLimits.begin(), kInstanceLimits.end(), type,
      [](const InstanceLimits& row, std::string_view name) { return row.name < name; });
  if (it == kInstanceLimits.end() || it->name != type) return std::nullopt;
  return *it;
}

// FindInstanceLimits()
//
// As LookupInstanceLimits(), for callers that want a status: NOT_FOUND naming
// the type when the table does not have it.
//
// NOTE: Debian's Abseil has its own absl::string_view, which a std::string_view
// does not convert to; pass a std::string or a literal, or wrap it:
// `FindInstanceLimits(absl::string_view(sv.data(), sv.size()))`.
[[nodiscard]] inline absl::StatusOr<InstanceLimits> FindInstanceLimits(absl::string_view type) {
  const std::string_view name(type.data(), type.size());
  if (std::optional<InstanceLimits> limits = LookupInstanceLimits(name)) return *limits;
  return absl::NotFoundError(absl::StrCat(
      "unknown instance type ", QuoteInput(type), ": not among the ", kInstanceTypeCount,
      " types of the AWS VPC CNI v1.23.1 limits table (names are lower case, e.g. \"m5.large\")"));
}

}  // namespace enipool

#endif  // ENIPOOL_INSTANCE_LIMITS_H_
