// -----------------------------------------------------------------------------
// File: internal/crc32c.h
// -----------------------------------------------------------------------------
//
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of the
// journal's records. Software, slicing by 8 (about a byte per cycle and a
// half; a journal record is ~100 bytes, so the checksum costs well under the
// write() it protects). Not part of the public API.
//
// Example:
//
//   std::uint32_t crc = enipool::internal::Crc32c("123456789");  // 0xE3069283
//   crc = enipool::internal::Crc32cExtend(crc, more_bytes);

#ifndef ENIPOOL_INTERNAL_CRC32C_H_
#define ENIPOOL_INTERNAL_CRC32C_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace enipool::internal {

inline constexpr std::uint32_t kCrc32cPolynomial = 0x82F63B78u;

// Table k maps a byte to the CRC of that byte followed by k zero bytes.
inline constexpr std::array<std::array<std::uint32_t, 256>, 8> kCrc32cTables = [] {
  std::array<std::array<std::uint32_t, 256>, 8> tables{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? kCrc32cPolynomial : 0u);
    tables[0][i] = crc;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t i = 0; i < 256; ++i) {
      const std::uint32_t prev = tables[k - 1][i];
      tables[k][i] = (prev >> 8) ^ tables[0][prev & 0xFFu];
    }
  }
  return tables;
}();

// Crc32cExtend()
//
// The CRC-32C of (the bytes whose CRC is `crc`) followed by `data`.
inline std::uint32_t Crc32cExtend(std::uint32_t crc, absl::string_view data) noexcept {
  const auto& t = kCrc32cTables;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  std::uint32_t c = ~crc;
  while (n >= 8) {
    const std::uint32_t lo = c ^ (std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) |
                                  (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[3]} << 24));
    c = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^ t[4][lo >> 24] ^
        t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFFu];
  return ~c;
}

// Crc32c()
//
// The CRC-32C of `data`.
inline std::uint32_t Crc32c(absl::string_view data) noexcept { return Crc32cExtend(0, data); }

}  // namespace enipool::internal

#endif  // ENIPOOL_INTERNAL_CRC32C_H_
