// -----------------------------------------------------------------------------
// File: ipv6.h
// -----------------------------------------------------------------------------
//
// IPv6 value types: `Ipv6Address` and `Ipv6Prefix`, the IPv6 counterparts of
// ipv4.h. Both are small and regular (copyable, `==`, `<=>`, hashable with
// absl::Hash). They parse every text form RFC 4291 allows (hex groups of one
// to four digits in either case, one "::" for a run of zero groups, a
// dotted-quad tail) and print the one canonical form of RFC 5952: lowercase,
// no leading zeros, the longest run of two or more zero groups (the first
// of equal runs) written "::".
//
// A prefix must be aligned (host bits zero), as for Ipv4Prefix. In the
// reference's IPv6 mode each ENI holds one delegated /80 out of its subnet's
// /64 (docs/reference-behavior.md §4.12); Ipv6Prefix::Subprefix() carves
// such blocks and AddressAt()/OffsetOf() address inside them.
//
// Example:
//
//   absl::StatusOr<enipool::Ipv6Prefix> prefix =
//       enipool::Ipv6Prefix::Parse("2600:1f14:0abc:0001:0002::/80");
//   if (!prefix.ok()) return prefix.status();   // INVALID_ARGUMENT naming the text
//   prefix->ToString();                          // "2600:1f14:abc:1:2::/80"
//   prefix->AddressAt(5).ToString();             // "2600:1f14:abc:1:2::5"
//   enipool::Ipv6Prefix::Parse("2600:1f14:abc:1::/64")->Subprefix(80, 2)->ToString();
//                                                // "2600:1f14:abc:1:2::/80"

#ifndef ENIPOOL_IPV6_H_
#define ENIPOOL_IPV6_H_

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "enipool/ipv4.h"
#include "enipool/status.h"

namespace enipool {

// Ipv6Address
//
// One IPv6 address, stored as two host-order 64-bit halves (`high` holds
// the first four groups).
class Ipv6Address {
 public:
  constexpr Ipv6Address() noexcept = default;
  constexpr Ipv6Address(std::uint64_t high, std::uint64_t low) noexcept : high_(high), low_(low) {}

  // Ipv6Address::FromGroups()
  //
  // The address whose eight 16-bit groups, first to last, are `groups`.
  [[nodiscard]] static constexpr Ipv6Address FromGroups(
      const std::array<std::uint16_t, 8>& groups) noexcept {
    std::uint64_t high = 0;
    std::uint64_t low = 0;
    for (int i = 0; i < 4; ++i) high = (high << 16) | groups[static_cast<std::size_t>(i)];
    for (int i = 4; i < 8; ++i) low = (low << 16) | groups[static_cast<std::size_t>(i)];
    return Ipv6Address(high, low);
  }

  // Ipv6Address::Parse()
  //
  // Parses RFC 4291 text: eight groups of one to four hex digits separated
  // by ':', at most one "::" standing for one or more zero groups, and
  // optionally the last two groups written as a dotted quad
  // ("::ffff:10.0.0.5"). No zone ("%eth0"), no brackets, no spaces.
  // Anything else is INVALID_ARGUMENT naming the text.
  [[nodiscard]] static absl::StatusOr<Ipv6Address> Parse(absl::string_view text) {
    std::array<std::uint16_t, 8> groups{};
    int count = 0;        // groups written so far
    int gap_at = -1;      // where "::" stands, in groups
    std::size_t i = 0;
    if (text.size() >= 2 && text[0] == ':' && text[1] == ':') {
      gap_at = 0;
      i = 2;
    } else if (!text.empty() && text[0] == ':') {
      return Invalid(text, "a lone ':' at the start");
    }
    while (i < text.size()) {
      if (count == 8) return Invalid(text, "more than eight groups");
      // A dotted-quad tail: the rest of the text is an IPv4 address.
      const std::size_t next_colon = text.find(':', i);
      const absl::string_view part = text.substr(i, next_colon == absl::string_view::npos
                                                        ? absl::string_view::npos
                                                        : next_colon - i);
      if (part.find('.') != absl::string_view::npos) {
        if (next_colon != absl::string_view::npos) {
          return Invalid(text, "a dotted quad is only allowed as the last part");
        }
        if (count > 6) return Invalid(text, "more than eight groups");
        const auto v4 = Ipv4Address::Parse(part);
        if (!v4.ok()) return Invalid(text, "the dotted-quad tail is not an IPv4 address");
        groups[static_cast<std::size_t>(count++)] = static_cast<std::uint16_t>(v4->value() >> 16);
        groups[static_cast<std::size_t>(count++)] = static_cast<std::uint16_t>(v4->value() & 0xFFFF);
        i = text.size();
        break;
      }
      if (part.empty() || part.size() > 4) {
        return Invalid(text, "each group is one to four hex digits");
      }
      std::uint32_t value = 0;
      for (char c : part) {
        const int digit = HexDigit(c);
        if (digit < 0) return Invalid(text, "each group is one to four hex digits");
        value = (value << 4) | static_cast<std::uint32_t>(digit);
      }
      groups[static_cast<std::size_t>(count++)] = static_cast<std::uint16_t>(value);
      i += part.size();
      if (i == text.size()) break;
      // Here text[i] == ':'.
      if (i + 1 < text.size() && text[i + 1] == ':') {
        if (gap_at >= 0) return Invalid(text, "\"::\" appears more than once");
        gap_at = count;
        i += 2;
      } else {
        i += 1;
        if (i == text.size()) return Invalid(text, "a lone ':' at the end");
      }
    }
    if (gap_at >= 0) {
      if (count > 7) return Invalid(text, "\"::\" must stand for at least one zero group");
      // Move the groups written after the gap to the end.
      const int tail = count - gap_at;
      for (int k = tail - 1; k >= 0; --k) {
        groups[static_cast<std::size_t>(8 - tail + k)] = groups[static_cast<std::size_t>(gap_at + k)];
      }
      for (int k = gap_at; k < 8 - tail; ++k) groups[static_cast<std::size_t>(k)] = 0;
    } else if (count != 8) {
      return Invalid(text, "want eight groups, or \"::\" for the missing ones");
    }
    return FromGroups(groups);
  }

  [[nodiscard]] constexpr std::uint64_t high() const noexcept { return high_; }
  [[nodiscard]] constexpr std::uint64_t low() const noexcept { return low_; }

  // Ipv6Address::groups()
  //
  // The eight 16-bit groups, first to last.
  [[nodiscard]] constexpr std::array<std::uint16_t, 8> groups() const noexcept {
    std::array<std::uint16_t, 8> out{};
    for (int i = 0; i < 4; ++i) {
      out[static_cast<std::size_t>(i)] = static_cast<std::uint16_t>(high_ >> (48 - 16 * i));
      out[static_cast<std::size_t>(4 + i)] = static_cast<std::uint16_t>(low_ >> (48 - 16 * i));
    }
    return out;
  }

  // Ipv6Address::ToString()
  //
  // The RFC 5952 canonical text, e.g. "2600:1f14:abc:1:2::5". Always in hex
  // groups (an IPv4-mapped address prints as "::ffff:a00:5").
  [[nodiscard]] std::string ToString() const {
    const std::array<std::uint16_t, 8> g = groups();
    // The longest run of at least two zero groups; the first on a tie.
    int best_start = -1;
    int best_length = 1;
    for (int start = 0; start < 8;) {
      if (g[static_cast<std::size_t>(start)] != 0) {
        ++start;
        continue;
      }
      int end = start;
      while (end < 8 && g[static_cast<std::size_t>(end)] == 0) ++end;
      if (end - start > best_length) {
        best_start = start;
        best_length = end - start;
      }
      start = end;
    }
    std::string out;
    out.reserve(39);
    for (int k = 0; k < 8; ++k) {
      if (k == best_start) {
        out += "::";
        k += best_length - 1;
        continue;
      }
      if (!out.empty() && out.back() != ':') out += ':';
      absl::StrAppend(&out, absl::Hex(g[static_cast<std::size_t>(k)]));
    }
    return out;
  }

  friend constexpr bool operator==(Ipv6Address, Ipv6Address) noexcept = default;
  friend constexpr auto operator<=>(Ipv6Address, Ipv6Address) noexcept = default;
  template <typename H>
  friend H AbslHashValue(H h, Ipv6Address address) {
    return H::combine(std::move(h), address.high_, address.low_);
  }

 private:
  static constexpr int HexDigit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  [[gnu::cold]] static absl::Status Invalid(absl::string_view text, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid IPv6 address ", QuoteInput(text), ": ",
                                                   why, " (e.g. 2600:1f14:abc:1::5)"));
  }

  std::uint64_t high_ = 0;
  std::uint64_t low_ = 0;
};

// Ipv6Prefix
//
// An aligned IPv6 CIDR block: a network address and a length 0..128. A /64
// is a subnet's IPv6 block; a /80 is the prefix the reference delegates to
// an ENI in IPv6 mode, 2^48 pod addresses.
class Ipv6Prefix {
 public:
  // The length of the prefix EC2 delegates to an ENI (Ipv6PrefixCount).
  static constexpr int kDelegatedLength = 80;

  constexpr Ipv6Prefix() noexcept = default;

  // Ipv6Prefix::Create()
  //
  // The prefix `network/length`. INVALID_ARGUMENT if the length is out of
  // 0..128 or `network` has host bits set.
  [[nodiscard]] static absl::StatusOr<Ipv6Prefix> Create(Ipv6Address network, int length) {
    if (length < 0 || length > 128) {
      return absl::InvalidArgumentError(absl::StrCat("invalid IPv6 prefix \"", network.ToString(),
                                                     "/", length, "\": length must be 0..128"));
    }
    const Ipv6Prefix prefix(network, length);
    if (prefix.network_ != network) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid IPv6 prefix \"", network.ToString(), "/", length, "\": not aligned to a /",
          length, " (host bits set; the aligned block is ", prefix.ToString(), ")"));
    }
    return prefix;
  }

  // Ipv6Prefix::Containing()
  //
  // The aligned /`length` that contains `address`; `length` must be 0..128.
  [[nodiscard]] static constexpr Ipv6Prefix Containing(Ipv6Address address, int length) noexcept {
    return Ipv6Prefix(address, length);
  }

  // Ipv6Prefix::Parse()
  //
  // Parses "address/length" (the address in any RFC 4291 form). A bare
  // address is rejected rather than read as a /128.
  [[nodiscard]] static absl::StatusOr<Ipv6Prefix> Parse(absl::string_view text) {
    const auto slash = text.find('/');
    if (slash == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid IPv6 prefix ", QuoteInput(text), ": want address/length, e.g. 2600:1f14::/80"));
    }
    auto address = Ipv6Address::Parse(text.substr(0, slash));
    if (!address.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid IPv6 prefix ", QuoteInput(text), ": ", address.status().message()));
    }
    const absl::string_view length_text = text.substr(slash + 1);
    int length = 0;
    if (length_text.empty() || length_text.size() > 3 ||
        (length_text.size() > 1 && length_text[0] == '0')) {
      length = -1;
    }
    for (char c : length_text) {
      if (c < '0' || c > '9') length = -1;
      if (length >= 0) length = length * 10 + (c - '0');
    }
    if (length < 0 || length > 128) {
      return absl::InvalidArgumentError(absl::StrCat("invalid IPv6 prefix ", QuoteInput(text),
                                                     ": length must be a number 0..128"));
    }
    const Ipv6Prefix prefix(*address, length);
    if (prefix.network_ != *address) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid IPv6 prefix ", QuoteInput(text), ": not aligned to a /", length,
                       " (host bits set; the aligned block is ", prefix.ToString(), ")"));
    }
    return prefix;
  }

  [[nodiscard]] constexpr Ipv6Address network() const noexcept { return network_; }
  [[nodiscard]] constexpr int length() const noexcept { return length_; }

  // Ipv6Prefix::host_bits()
  //
  // 128 − length: log2 of the number of addresses (48 for a /80).
  [[nodiscard]] constexpr int host_bits() const noexcept { return 128 - length_; }

  // Ipv6Prefix::AddressAt()
  //
  // The address at `offset` from the network address. For a prefix of at
  // least /64 (every block EC2 delegates) `offset` must be below
  // 2^host_bits(); a shorter prefix takes offsets in its last 64 bits.
  [[nodiscard]] constexpr Ipv6Address AddressAt(std::uint64_t offset) const noexcept {
    return Ipv6Address(network_.high(), network_.low() + offset);
  }

  // Ipv6Prefix::OffsetOf()
  //
  // The offset of `address` from the network address, within the last 64
  // bits: AddressAt(OffsetOf(a)) == a for every `a` the prefix contains
  // when length() ≥ 64.
  [[nodiscard]] constexpr std::uint64_t OffsetOf(Ipv6Address address) const noexcept {
    return address.low() - network_.low();
  }

  [[nodiscard]] constexpr bool Contains(Ipv6Address address) const noexcept {
    return Ipv6Prefix(address, length_).network_ == network_;
  }
  [[nodiscard]] constexpr bool Contains(const Ipv6Prefix& other) const noexcept {
    return other.length_ >= length_ && Contains(other.network_);
  }

  // Ipv6Prefix::Subprefix()
  //
  // The `index`-th aligned /`length` inside this prefix (index 0 starts at
  // the network address), as a subnet's /64 is cut into /80s.
  // INVALID_ARGUMENT when `length` is shorter than this prefix or past 128,
  // or `index` is past the last such block.
  [[nodiscard]] absl::StatusOr<Ipv6Prefix> Subprefix(int length, std::uint64_t index) const {
    if (length < length_ || length > 128) {
      return absl::InvalidArgumentError(absl::StrCat("no /", length, " inside ", ToString(),
                                                     ": want a length ", length_, "..128"));
    }
    const int index_bits = length - length_;
    if (index_bits < 64 && index >= (std::uint64_t{1} << index_bits)) {
      return absl::InvalidArgumentError(absl::StrCat("no /", length, " number ", index,
                                                     " inside ", ToString(), ": it holds 2^",
                                                     index_bits));
    }
    // Shift `index` left by 128 − length across the two halves.
    const int shift = 128 - length;
    std::uint64_t high = network_.high();
    std::uint64_t low = network_.low();
    if (shift >= 64) {
      high |= shift >= 128 ? 0 : index << (shift - 64);
    } else if (shift == 0) {
      low |= index;
    } else {
      low |= index << shift;
      high |= index >> (64 - shift);
    }
    return Ipv6Prefix(Ipv6Address(high, low), length);
  }

  // Ipv6Prefix::ToString()
  //
  // "address/n" with the address in canonical text.
  [[nodiscard]] std::string ToString() const {
    return absl::StrCat(network_.ToString(), "/", length_);
  }

  friend constexpr bool operator==(const Ipv6Prefix&, const Ipv6Prefix&) noexcept = default;
  friend constexpr auto operator<=>(const Ipv6Prefix&, const Ipv6Prefix&) noexcept = default;
  template <typename H>
  friend H AbslHashValue(H h, const Ipv6Prefix& prefix) {
    return H::combine(std::move(h), prefix.network_, prefix.length_);
  }

 private:
  constexpr Ipv6Prefix(Ipv6Address address, int length) noexcept
      : network_(address.high() & HighMask(length), address.low() & LowMask(length)),
        length_(length) {}

  static constexpr std::uint64_t HighMask(int length) noexcept {
    if (length <= 0) return 0;
    if (length >= 64) return ~std::uint64_t{0};
    return ~std::uint64_t{0} << (64 - length);
  }
  static constexpr std::uint64_t LowMask(int length) noexcept {
    if (length <= 64) return 0;
    if (length >= 128) return ~std::uint64_t{0};
    return ~std::uint64_t{0} << (128 - length);
  }

  Ipv6Address network_;
  int length_ = 128;
};

}  // namespace enipool

#endif  // ENIPOOL_IPV6_H_
