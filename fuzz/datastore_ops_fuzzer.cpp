// libFuzzer entry point for datastore_ops_fuzz.h (see there for the properties).
//
//   cmake --preset fuzz && cmake --build --preset fuzz
//   build/fuzz/fuzz/enipool_datastore_ops_fuzzer -max_total_time=600 /tmp/corpus fuzz/corpus/datastore_ops

#include <cstddef>
#include <cstdint>

#include "datastore_ops_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return enipool::fuzz::FuzzDatastoreOps(data, size);
}
