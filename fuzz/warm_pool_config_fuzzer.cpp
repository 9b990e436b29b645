// libFuzzer entry point for warm_pool_config_fuzz.h (see there for the properties).
//
//   cmake --preset fuzz && cmake --build --preset fuzz
//   build/fuzz/fuzz/enipool_warm_pool_config_fuzzer -max_total_time=600 /tmp/corpus fuzz/corpus/warm_pool_config

#include <cstddef>
#include <cstdint>

#include "warm_pool_config_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return enipool::fuzz::FuzzWarmPoolConfig(data, size);
}
