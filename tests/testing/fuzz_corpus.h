// -----------------------------------------------------------------------------
// File: testing/fuzz_corpus.h
// -----------------------------------------------------------------------------
//
// Replays fuzz/corpus/<target>/ (seeds and every crash input the fuzzers
// found) through a fuzz target's function, without libFuzzer, so that the
// normal test suite keeps each finding fixed.
//
// Example:
//
//   CHECK(enipool::testing::ReplayCorpus("ipv4_prefix", enipool::fuzz::FuzzIpv4Prefix) > 0);

#ifndef ENIPOOL_TESTS_TESTING_FUZZ_CORPUS_H_
#define ENIPOOL_TESTS_TESTING_FUZZ_CORPUS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace enipool::testing {

// Runs `fn` on every file of fuzz/corpus/<target>, in name order; returns
// how many there were. A violated property aborts the test executable with
// the fuzz check's message.
template <typename Fn>
int ReplayCorpus(const std::string& target, Fn fn) {
  const std::filesystem::path dir = std::filesystem::path(ENIPOOL_SOURCE_DIR) / "fuzz" / "corpus" / target;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO("corpus file ", file.string());
    fn(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  return static_cast<int>(files.size());
}

}  // namespace enipool::testing

#endif  // ENIPOOL_TESTS_TESTING_FUZZ_CORPUS_H_
