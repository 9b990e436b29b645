// -----------------------------------------------------------------------------
// File: policy/eni_address.h
// -----------------------------------------------------------------------------
//
// Fragmentation-aware ENI creation: where a new ENI's primary address goes.
// EC2 puts an ENI created without a named address anywhere in the subnet,
// so each new ENI can break a wholly free aligned /28 — one that prefix
// delegation, this node's or another's, could have used. A node that names
// the primary address (CreateNetworkInterface with PrivateIpAddress) can
// put it inside a /28 that is already broken instead.
//
// What the node knows, and why that is enough. A node cannot see the
// subnet's free space: DescribeSubnets gives a count of free addresses, not
// where they are. It does know, from its own DescribeNetworkInterfaces
// answers, the addresses its ENIs hold: their primary addresses, their /32
// secondary IPs and their /28 prefixes. Every /28 that holds one of its
// /32s is broken already (it can never be delegated while that address is
// in use), so an address taken there costs the subnet no free /28. The
// node does not know which of the other addresses in that block are free:
// EC2 answers InvalidIPAddress.InUse for a taken one, and that answer too
// is knowledge (the address is in use, so its block is broken too). The
// controller records refused addresses, tries the next candidate, and after
// `kMaxNamedAttempts` refusals lets EC2 choose, as the reference does.
//
// `ChooseEniPrimaryAddress()` is the pure choice. The candidates are the
// addresses of the /28s that hold a known used address, in the order
//   1. blocks with more known used addresses first (the fullest broken
//      block is the least likely ever to be whole again);
//   2. then lower block address, then lower address;
// skipping known used addresses, addresses in the node's prefixes, and,
// when the subnet's CIDR is known, addresses outside it and the five AWS
// reserves (network, +1, +2, +3, broadcast).
//
// Example:
//
//   std::vector<enipool::Ipv4Address> used = {primary_ip, secondary_a, secondary_b};
//   std::optional<enipool::Ipv4Address> address =
//       enipool::ChooseEniPrimaryAddress(used, held_prefixes, subnet_cidr);
//   // e.g. the lowest free-looking address in the /28 of primary_ip
//
// Thread-safety: pure functions.

#ifndef ENIPOOL_POLICY_ENI_ADDRESS_H_
#define ENIPOOL_POLICY_ENI_ADDRESS_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "enipool/ipv4.h"

namespace enipool {

// EniPrimaryPlacement
//
// How a node places a new ENI's primary address.
//   kRandom              — EC2 chooses (no PrivateIpAddress), as the reference;
//   kFragmentationAware  — the node names an address inside a /28 it knows
//                          is broken already (ChooseEniPrimaryAddress()).
enum class EniPrimaryPlacement { kRandom, kFragmentationAware };

inline absl::string_view EniPrimaryPlacementName(EniPrimaryPlacement placement) {
  return placement == EniPrimaryPlacement::kRandom ? "random" : "fragmentation-aware";
}

// How many named addresses one ENI creation tries before EC2 chooses.
inline constexpr int kMaxNamedAttempts = 3;

// ChooseEniPrimaryAddress()
//
// See the file comment. `known_used`: addresses the node knows are taken
// (its ENIs' primary and /32 addresses, and addresses EC2 refused as in
// use); `held_prefixes`: the /28s the node holds; `subnet`: the subnet's
// CIDR when known. std::nullopt when no known broken block has a candidate
// left (EC2 should choose then). O(known_used · log) plus 16 per block.
[[nodiscard]] inline std::optional<Ipv4Address> ChooseEniPrimaryAddress(
    absl::Span<const Ipv4Address> known_used, absl::Span<const Ipv4Prefix> held_prefixes,
    std::optional<Ipv4Prefix> subnet = std::nullopt) {
  const absl::flat_hash_set<Ipv4Address> used(known_used.begin(), known_used.end());
  const absl::flat_hash_set<Ipv4Prefix> held(held_prefixes.begin(), held_prefixes.end());
  absl::flat_hash_map<Ipv4Prefix, int> per_block;
  for (Ipv4Address address : used) {
    const Ipv4Prefix block = Ipv4Prefix::Containing(address, 28);
    if (held.contains(block)) continue;
    if (subnet.has_value() && !subnet->Contains(address)) continue;
    per_block[block] += 1;
  }
  std::vector<std::pair<int, Ipv4Prefix>> blocks;
  blocks.reserve(per_block.size());
  for (const auto& [block, count] : per_block) blocks.emplace_back(count, block);
  std::sort(blocks.begin(), blocks.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (const auto& [count, block] : blocks) {
    for (std::uint64_t i = 0; i < block.size(); ++i) {
      const Ipv4Address candidate = block.AddressAt(i);
      if (used.contains(candidate)) continue;
      if (subnet.has_value()) {
        if (!subnet->Contains(candidate)) continue;
        const std::uint64_t offset = candidate.value() - subnet->network().value();
        if (offset < 4 || offset == subnet->size() - 1) continue;  // AWS-reserved
      }
      return candidate;
    }
  }
  return std::nullopt;
}

}  // namespace enipool

#endif  // ENIPOOL_POLICY_ENI_ADDRESS_H_
