// Replays the checkpoint-import fuzzer's corpus (fuzz/corpus/checkpoint_import/)
// through its properties in the normal test suite (opt-in JSON part).

#include <doctest/doctest.h>

#include "../fuzz/checkpoint_import_fuzz.h"
#include "testing/fuzz_corpus.h"

namespace {

TEST_CASE("The vpc-cni checkpoint import corpus replays with every property holding") {
  CHECK(enipool::testing::ReplayCorpus("checkpoint_import", enipool::fuzz::FuzzCheckpointImport) > 0);
}

}  // namespace
