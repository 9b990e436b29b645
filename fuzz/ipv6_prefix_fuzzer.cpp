// libFuzzer entry point for ipv6_prefix_fuzz.h (see there for the properties).
//
//   cmake --preset fuzz && cmake --build --preset fuzz
//   build/fuzz/fuzz/enipool_ipv6_prefix_fuzzer -max_total_time=600 /tmp/corpus fuzz/corpus/ipv6_prefix

#include <cstddef>
#include <cstdint>

#include "ipv6_prefix_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return enipool::fuzz::FuzzIpv6Prefix(data, size);
}
