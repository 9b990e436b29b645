// Replays the fuzzers' corpora (fuzz/corpus/<target>/: seeds and every
// crash input found) through the fuzz targets' properties in the normal
// test suite, without libFuzzer. The targets themselves are in fuzz/*.h.

#include <doctest/doctest.h>

#include "../fuzz/additional_eni_tags_fuzz.h"
#include "../fuzz/datastore_ops_fuzz.h"
#include "../fuzz/ipv4_prefix_fuzz.h"
#include "../fuzz/ipv6_prefix_fuzz.h"
#include "../fuzz/journal_replay_fuzz.h"
#include "../fuzz/warm_pool_config_fuzz.h"
#include "testing/fuzz_corpus.h"

namespace {

TEST_CASE("The Ipv4Prefix parsing corpus replays with every property holding") {
  CHECK(enipool::testing::ReplayCorpus("ipv4_prefix", enipool::fuzz::FuzzIpv4Prefix) > 0);
}

TEST_CASE("The Ipv6Address and Ipv6Prefix parsing corpus replays with every property holding") {
  CHECK(enipool::testing::ReplayCorpus("ipv6_prefix", enipool::fuzz::FuzzIpv6Prefix) > 0);
}

TEST_CASE("The warm-pool environment corpus replays with every property holding") {
  CHECK(enipool::testing::ReplayCorpus("warm_pool_config", enipool::fuzz::FuzzWarmPoolConfig) > 0);
}

TEST_CASE("The journal replay corpus replays with every property holding") {
  CHECK(enipool::testing::ReplayCorpus("journal_replay", enipool::fuzz::FuzzJournalReplay) > 0);
}

TEST_CASE("The datastore operation-sequence corpus replays against the model") {
  CHECK(enipool::testing::ReplayCorpus("datastore_ops", enipool::fuzz::FuzzDatastoreOps) > 0);
}

TEST_CASE("The ADDITIONAL_ENI_TAGS corpus replays with every property holding") {
  CHECK(enipool::testing::ReplayCorpus("additional_eni_tags", enipool::fuzz::FuzzAdditionalEniTags) >
        0);
}

}  // namespace
