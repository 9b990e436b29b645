// -----------------------------------------------------------------------------
// File: testing/simulated_ec2_testing.h
// -----------------------------------------------------------------------------
//
// Helpers for tests of one `ec2::SimulatedEc2` call on its own: options
// that take latency and throttling out of the way, and describes that
// must succeed (a failed one fails the test where it is called).
//
// Example:
//
//   enipool::ManualClock clock;
//   enipool::ec2::SimulatedEc2<enipool::ManualClock> ec2(clock, enipool::testing::QuietEc2Options(3));
//   ... // set up, make the call under test
//   CHECK(enipool::testing::DescribeEni(ec2, id).tags == want);
//   CHECK(enipool::testing::DescribeAllEnis(ec2) == before);   // a refusal changed nothing

#ifndef ENIPOOL_TESTING_SIMULATED_EC2_TESTING_H_
#define ENIPOOL_TESTING_SIMULATED_EC2_TESTING_H_

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "enipool/ec2/backend.h"
#include "enipool/ec2/latency.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/ec2/throttle.h"

namespace enipool::testing {

// Zero latency, no throttling, the given seed.
inline ec2::SimulatedEc2Options QuietEc2Options(std::uint64_t seed) {
  return {.seed = seed, .latency = ec2::LatencyModel::Zero(), .throttle = ec2::ThrottleConfig::Disabled()};
}

// What a describe of ENI `id` reports (it must exist).
template <typename Ec2>
NetworkInterface DescribeEni(Ec2& ec2, const std::string& id) {
  auto described = ec2.DescribeNetworkInterfaces({.eni_ids = {id}});
  REQUIRE(described.ok());
  REQUIRE(described->size() == 1);
  return described->front();
}

// Every ENI of the account, as a describe of all reports them.
template <typename Ec2>
std::vector<NetworkInterface> DescribeAllEnis(Ec2& ec2) {
  auto all = ec2.DescribeNetworkInterfaces({});
  REQUIRE(all.ok());
  return *all;
}

}  // namespace enipool::testing

#endif  // ENIPOOL_TESTING_SIMULATED_EC2_TESTING_H_
