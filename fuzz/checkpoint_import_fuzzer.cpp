// libFuzzer entry point for checkpoint_import_fuzz.h (see there for the properties).
//
//   cmake --preset fuzz && cmake --build --preset fuzz
//   build/fuzz/fuzz/enipool_checkpoint_import_fuzzer -max_total_time=600 /tmp/corpus fuzz/corpus/checkpoint_import

#include <cstddef>
#include <cstdint>

#include "checkpoint_import_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return enipool::fuzz::FuzzCheckpointImport(data, size);
}
