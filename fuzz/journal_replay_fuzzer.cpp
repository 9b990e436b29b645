// libFuzzer entry point for journal_replay_fuzz.h (see there for the properties).
//
//   cmake --preset fuzz && cmake --build --preset fuzz
//   build/fuzz/fuzz/enipool_journal_replay_fuzzer -max_total_time=600 /tmp/corpus fuzz/corpus/journal_replay

#include <cstddef>
#include <cstdint>

#include "journal_replay_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return enipool::fuzz::FuzzJournalReplay(data, size);
}
