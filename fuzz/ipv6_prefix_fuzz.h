// Fuzz target: Ipv6Address::Parse and Ipv6Prefix::Parse on arbitrary text.
// Properties: no crash or UB; what parses prints as RFC 5952 canonical text
// (lowercase hex, at most 39 characters) that parses back to the same value
// and prints the same again; its eight groups rebuild it; a parsed prefix contains its network address and, when at least a /64, the last
// address of its block.

#ifndef ENIPOOL_FUZZ_IPV6_PREFIX_FUZZ_H_
#define ENIPOOL_FUZZ_IPV6_PREFIX_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "enipool/ipv6.h"
#include "fuzz_check.h"

namespace enipool::fuzz {

inline int FuzzIpv6Prefix(const std::uint8_t* data, std::size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto address = Ipv6Address::Parse(text); address.ok()) {
    const std::string canonical = address->ToString();
    ENIPOOL_FUZZ_CHECK(canonical.size() <= 39, "address \"", text, "\" prints as ", canonical);
    ENIPOOL_FUZZ_CHECK(absl::AsciiStrToLower(canonical) == canonical, "address \"", text,
                       "\" prints in upper case: ", canonical);
    auto again = Ipv6Address::Parse(canonical);
    ENIPOOL_FUZZ_CHECK(again.ok() && *again == *address, "address \"", text, "\" prints as ",
                       canonical, ", which does not parse back");
    ENIPOOL_FUZZ_CHECK(again->ToString() == canonical, "canonical text ", canonical,
                       " is not a fixed point");
    ENIPOOL_FUZZ_CHECK(Ipv6Address::FromGroups(address->groups()) == *address, "address \"", text,
                       "\" does not survive its groups");
  }
  if (auto prefix = Ipv6Prefix::Parse(text); prefix.ok()) {
    auto again = Ipv6Prefix::Parse(prefix->ToString());
    ENIPOOL_FUZZ_CHECK(again.ok() && *again == *prefix, "prefix \"", text, "\" does not round-trip");
    ENIPOOL_FUZZ_CHECK(prefix->Contains(prefix->network()), "prefix \"", text,
                       "\" does not contain its network address");
    if (prefix->length() >= 64) {
      const std::uint64_t last = prefix->host_bits() == 64
                                     ? ~std::uint64_t{0}
                                     : (std::uint64_t{1} << prefix->host_bits()) - 1;
      ENIPOOL_FUZZ_CHECK(prefix->Contains(prefix->AddressAt(last)), "prefix \"", text,
                         "\" does not contain its last address");
      ENIPOOL_FUZZ_CHECK(prefix->OffsetOf(prefix->AddressAt(last)) == last, "prefix \"", text,
                         "\" offsets disagree");
    }
  }
  return 0;
}

}  // namespace enipool::fuzz

#endif  // ENIPOOL_FUZZ_IPV6_PREFIX_FUZZ_H_
