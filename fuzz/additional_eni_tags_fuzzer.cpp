// libFuzzer entry point for additional_eni_tags_fuzz.h (see there for the
// properties).
//
//   cmake --preset fuzz && cmake --build --preset fuzz
//   build/fuzz/fuzz/enipool_additional_eni_tags_fuzzer -max_total_time=600 /tmp/corpus fuzz/corpus/additional_eni_tags

#include <cstddef>
#include <cstdint>

#include "additional_eni_tags_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return enipool::fuzz::FuzzAdditionalEniTags(data, size);
}
