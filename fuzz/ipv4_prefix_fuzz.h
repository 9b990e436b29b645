// Fuzz target: Ipv4Address::Parse and Ipv4Prefix::Parse on arbitrary text.
// Properties: no crash or UB; what parses prints back as the same text (the
// parsers accept only canonical forms); a parsed prefix contains its first
// and last address and has 2^(32-length) of them.

#ifndef ENIPOOL_FUZZ_IPV4_PREFIX_FUZZ_H_
#define ENIPOOL_FUZZ_IPV4_PREFIX_FUZZ_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "enipool/ipv4.h"
#include "fuzz_check.h"

namespace enipool::fuzz {

inline int FuzzIpv4Prefix(const std::uint8_t* data, std::size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto address = Ipv4Address::Parse(text); address.ok()) {
    ENIPOOL_FUZZ_CHECK(address->ToString() == text, "address \"", text, "\" prints as ",
                       address->ToString());
  }
  if (auto prefix = Ipv4Prefix::Parse(text); prefix.ok()) {
    ENIPOOL_FUZZ_CHECK(prefix->ToString() == text, "prefix \"", text, "\" prints as ",
                       prefix->ToString());
    auto again = Ipv4Prefix::Parse(prefix->ToString());
    ENIPOOL_FUZZ_CHECK(again.ok() && *again == *prefix, "prefix ", text, " does not round-trip");
    ENIPOOL_FUZZ_CHECK(prefix->Contains(prefix->first()) && prefix->Contains(prefix->last()),
                       "prefix ", text, " does not contain its ends");
    ENIPOOL_FUZZ_CHECK(prefix->size() == (std::uint64_t{1} << (32 - prefix->length())),
                       "prefix ", text, " has the wrong size");
    ENIPOOL_FUZZ_CHECK(
        prefix->last().value() - prefix->first().value() == prefix->size() - 1, "prefix ", text,
        " first/last disagree with its size");
  }
  return 0;
}

}  // namespace enipool::fuzz

#endif  // ENIPOOL_FUZZ_IPV4_PREFIX_FUZZ_H_
