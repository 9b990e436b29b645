// Replays the EC2 Query response fuzzer's corpus (fuzz/corpus/ec2_query_response/)
// through its properties in the normal test suite (opt-in enipool::aws part).

#include <doctest/doctest.h>

#include "../fuzz/ec2_query_response_fuzz.h"
#include "testing/fuzz_corpus.h"

namespace {

TEST_CASE("The EC2 Query response corpus replays with every property holding") {
  CHECK(enipool::testing::ReplayCorpus("ec2_query_response", enipool::fuzz::FuzzEc2QueryResponse) >
        0);
}

}  // namespace
