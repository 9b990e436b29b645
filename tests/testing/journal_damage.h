// -----------------------------------------------------------------------------
// File: testing/journal_damage.h
// -----------------------------------------------------------------------------
//
// A crafted damaged journal tail for tests and benchmarks: garbage in which
// every 8th byte starts something shaped like a record header (a known kind,
// a length claiming close to the largest payload), so that a search for a
// valid record after damage meets a long candidate at every step. No
// candidate's checksum matches.
//
// Example:
//
//   std::string file = journal_bytes + enipool::testing::CraftedDamage(1 << 20, /*seed=*/1);

#ifndef ENIPOOL_TESTS_TESTING_JOURNAL_DAMAGE_H_
#define ENIPOOL_TESTS_TESTING_JOURNAL_DAMAGE_H_

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>

#include "enipool/persist/journal_format.h"

namespace enipool::testing {

inline std::string CraftedDamage(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xFFu);
  for (std::size_t at = 0; at + 5 <= size; at += 8) {
    // ~256 KiB, varied so that candidates end at different offsets.
    const std::uint32_t length = internal::kMaxRecordPayload - static_cast<std::uint32_t>(rng() % 4096);
    for (int i = 0; i < 4; ++i) out[at + static_cast<std::size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xFFu);
    out[at + 4] = static_cast<char>(JournalRecordType::kAssign);
  }
  return out;
}

}  // namespace enipool::testing

#endif  // ENIPOOL_TESTS_TESTING_JOURNAL_DAMAGE_H_
