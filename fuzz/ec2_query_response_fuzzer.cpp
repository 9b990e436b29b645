// libFuzzer entry point for ec2_query_response_fuzz.h (see there for the properties).
//
//   cmake --preset fuzz && cmake --build --preset fuzz
//   build/fuzz/fuzz/enipool_ec2_query_response_fuzzer -max_total_time=600 /tmp/corpus fuzz/corpus/ec2_query_response

#include <cstddef>
#include <cstdint>

#include "ec2_query_response_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return enipool::fuzz::FuzzEc2QueryResponse(data, size);
}
