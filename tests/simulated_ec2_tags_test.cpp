// SimulatedEc2::CreateTags: EC2's CreateTags on network interfaces
// (docs/reference-behavior.md §7.1), its refusals, its throttling bucket,
// and a randomized run against a plain model of every ENI's tags.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/ec2/backend.h"
#include "enipool/ec2/ec2_api.h"
#include "enipool/ec2/latency.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/ec2/throttle.h"
#include "enipool/ipv4.h"
#include "testing/simulated_ec2_testing.h"

namespace {

using enipool::CreateTagsRequest;
using enipool::Ec2ErrorCode;
using enipool::Ec2Tag;
using enipool::ManualClock;
using enipool::NetworkInterface;
using enipool::ec2::CallKind;
using enipool::ec2::SimulatedEc2Options;
using Ec2 = enipool::ec2::SimulatedEc2<ManualClock>;

SimulatedEc2Options Quiet() { return enipool::testing::QuietEc2Options(3); }

struct Fixture {
  explicit Fixture(SimulatedEc2Options options = Quiet()) : ec2(clock, std::move(options)) {
    REQUIRE(ec2.AddSubnet("subnet-1", *enipool::Ipv4Prefix::Parse("10.0.0.0/24")).ok());
    auto eni = ec2.AddInstance(
        {.instance_id = "i-1", .subnet_id = "subnet-1", .max_enis = 3, .ipv4_per_eni = 10});
    REQUIRE(eni.ok());
    primary = eni->id;
    auto second = ec2.CreateNetworkInterface(
        {.subnet_id = "subnet-1", .tags = {{"team", "blue"}, {"node.k8s.amazonaws.com/createdAt",
                                                              "2026-11-29T00:00:00Z"}}});
    REQUIRE(second.ok());
    other = second->id;
  }
  std::vector<Ec2Tag> TagsOf(const std::string& id) {
    return enipool::testing::DescribeEni(ec2, id).tags;
  }
  std::vector<NetworkInterface> All() { return enipool::testing::DescribeAllEnis(ec2); }

  ManualClock clock;
  Ec2 ec2;
  std::string primary;
  std::string other;
};

TEST_CASE("SimulatedEc2 CreateTags adds missing keys, overwrites present ones and keeps the rest") {
  Fixture f;
  REQUIRE(f.ec2.CreateTags({.eni_ids = {f.other},
                            .tags = {{"team", "red"}, {"node.k8s.amazonaws.com/instance_id", "i-1"}}})
              .ok());
  CHECK(f.TagsOf(f.other) ==
        std::vector<Ec2Tag>{{"team", "red"},
                            {"node.k8s.amazonaws.com/createdAt", "2026-11-29T00:00:00Z"},
                            {"node.k8s.amazonaws.com/instance_id", "i-1"}});
  CHECK(f.TagsOf(f.primary).empty());  // an ENI the call does not name is untouched
}

TEST_CASE("SimulatedEc2 CreateTags tags every ENI it names, attached or not") {
  Fixture f;
  REQUIRE(f.ec2.CreateTags({.eni_ids = {f.primary, f.other}, .tags = {{"k", "v"}, {"e", ""}}}).ok());
  CHECK(f.TagsOf(f.primary) == std::vector<Ec2Tag>{{"k", "v"}, {"e", ""}});
  CHECK(enipool::FindTag(f.TagsOf(f.other), "k") != nullptr);
  CHECK(*enipool::FindTag(f.TagsOf(f.other), "e") == "");
  CHECK(f.ec2.stats().calls_of(CallKind::kCreateTags) == 1);
}

TEST_CASE("SimulatedEc2 CreateTags refuses bad input with the EC2 code first and tags nothing") {
  Fixture f;
  const std::vector<NetworkInterface> before = f.All();
  struct Case {
    const char* what;
    CreateTagsRequest request;
    Ec2ErrorCode code;
    absl::StatusCode status;
  };
  const std::vector<Case> cases = {
      {"an unknown ENI among known ones", {.eni_ids = {f.primary, "eni-0000000000000dead"}, .tags = {{"k", "v"}}},
       Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound, absl::StatusCode::kNotFound},
      {"no ENI", {.eni_ids = {}, .tags = {{"k", "v"}}}, Ec2ErrorCode::kInvalidParameterValue,
       absl::StatusCode::kInvalidArgument},
      {"no tag", {.eni_ids = {f.primary}, .tags = {}}, Ec2ErrorCode::kInvalidParameterValue,
       absl::StatusCode::kInvalidArgument},
      {"an empty key", {.eni_ids = {f.primary}, .tags = {{"k", "v"}, {"", "v"}}},
       Ec2ErrorCode::kInvalidParameterValue, absl::StatusCode::kInvalidArgument},
      {"a reserved aws: key", {.eni_ids = {f.primary}, .tags = {{"aws:cloudformation:stack", "x"}}},
       Ec2ErrorCode::kInvalidParameterValue, absl::StatusCode::kInvalidArgument},
      {"a key of 128 characters", {.eni_ids = {f.primary}, .tags = {{std::string(128, 'k'), "v"}}},
       Ec2ErrorCode::kInvalidParameterValue, absl::StatusCode::kInvalidArgument},
      {"a value of 257 characters", {.eni_ids = {f.primary}, .tags = {{"k", std::string(257, 'v')}}},
       Ec2ErrorCode::kInvalidParameterValue, absl::StatusCode::kInvalidArgument},
      {"a key given twice", {.eni_ids = {f.primary}, .tags = {{"k", "1"}, {"k", "2"}}},
       Ec2ErrorCode::kInvalidParameterValue, absl::StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    const absl::Status status = f.ec2.CreateTags(c.request);
    CHECK(status.code() == c.status);
    CHECK(enipool::ClassifyEc2Error(status) == c.code);
    CHECK(absl::StartsWith(status.message(), enipool::Ec2ErrorCodeName(c.code)));
    CHECK(f.All() == before);
  }
  // The longest key and value EC2 accepts are accepted.
  CHECK(f.ec2.CreateTags({.eni_ids = {f.primary},
                          .tags = {{std::string(127, 'k'), std::string(256, 'v')}}})
            .ok());
}

TEST_CASE("SimulatedEc2 CreateTags refuses a 51st tag on an ENI with TagLimitExceeded") {
  Fixture f;
  std::vector<Ec2Tag> fifty;
  for (int i = 0; i < 50; ++i) fifty.push_back({absl::StrCat("key-", i), "v"});
  REQUIRE(f.ec2.CreateTags({.eni_ids = {f.primary}, .tags = fifty}).ok());
  // Overwriting a key it has is no new tag: allowed.
  CHECK(f.ec2.CreateTags({.eni_ids = {f.primary}, .tags = {{"key-7", "w"}}}).ok());
  const std::vector<NetworkInterface> before = f.All();
  const absl::Status refused =
      f.ec2.CreateTags({.eni_ids = {f.other, f.primary}, .tags = {{"key-50", "v"}}});
  CHECK(refused.code() == absl::StatusCode::kResourceExhausted);
  CHECK(absl::StartsWith(refused.message(), "TagLimitExceeded: "));
  CHECK(f.All() == before);  // not even the first ENI, which had room, was tagged
}

TEST_CASE("SimulatedEc2 CreateTags draws on its own throttling bucket and the fault plan") {
  SUBCASE("an empty CreateTags bucket answers RequestLimitExceeded, other calls go on") {
    SimulatedEc2Options options = Quiet();
    options.throttle = enipool::ec2::ThrottleConfig::Ec2Defaults();
    options.throttle.Set(enipool::ec2::Ec2Action::kCreateTags, {2, 0});
    Fixture f(options);
    const CreateTagsRequest tag{.eni_ids = {f.primary}, .tags = {{"k", "v"}}};
    CHECK(f.ec2.CreateTags(tag).ok());
    CHECK(f.ec2.CreateTags(tag).ok());
    const absl::Status third = f.ec2.CreateTags(tag);
    CHECK(enipool::ClassifyEc2Error(third) == Ec2ErrorCode::kRequestLimitExceeded);
    CHECK(f.ec2.stats().throttled == 1);
    CHECK(f.ec2.DescribeNetworkInterfaces({.eni_ids = {f.primary}}).ok());
  }
  SUBCASE("the defaults give CreateTags the mutating actions' bucket") {
    const auto defaults = enipool::ec2::ThrottleConfig::Ec2Defaults();
    CHECK(defaults.Get(enipool::ec2::Ec2Action::kCreateTags) ==
          enipool::ec2::BucketSpec{50, 5});
    CHECK(enipool::ec2::ActionOf(CallKind::kCreateTags) == enipool::ec2::Ec2Action::kCreateTags);
    CHECK(enipool::ec2::Ec2ActionName(enipool::ec2::Ec2Action::kCreateTags) == "CreateTags");
  }
  SUBCASE("a scripted fault fails the call and tags nothing") {
    SimulatedEc2Options options = Quiet();
    options.faults.FailNthCall(CallKind::kCreateTags, 1,
                               enipool::Ec2Error(Ec2ErrorCode::kUnauthorizedOperation,
                                                 "not allowed to ec2:CreateTags"));
    Fixture f(options);
    CHECK(enipool::ClassifyEc2Error(f.ec2.CreateTags({.eni_ids = {f.primary}, .tags = {{"k", "v"}}})) ==
          Ec2ErrorCode::kUnauthorizedOperation);
    CHECK(f.TagsOf(f.primary).empty());
    CHECK(f.ec2.CreateTags({.eni_ids = {f.primary}, .tags = {{"k", "v"}}}).ok());
  }
}

// The model: each ENI's tags as an ordered list, changed only by a request
// that passes every check the simulator documents.
TEST_CASE("SimulatedEc2 CreateTags matches a plain model of ENI tags over random calls") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    Fixture f;
    std::vector<std::string> ids = {f.primary, f.other};
    std::map<std::string, std::vector<Ec2Tag>> model;
    for (const NetworkInterface& ni : f.All()) model[ni.id] = ni.tags;
    auto pick = [&rng](std::size_t n) {
      return static_cast<std::size_t>(std::uniform_int_distribution<std::size_t>(0, n - 1)(rng));
    };
    const std::vector<std::string> keys = {"a", "b", "c", "team", "aws:x", ""};
    for (int step = 0; step < 200; ++step) {
      CreateTagsRequest request;
      const std::size_t n_enis = pick(3);
      for (std::size_t i = 0; i < n_enis; ++i) {
        request.eni_ids.push_back(pick(8) == 0 ? std::string("eni-unknown") : ids[pick(ids.size())]);
      }
      const std::size_t n_tags = pick(4);
      for (std::size_t i = 0; i < n_tags; ++i) {
        request.tags.push_back({keys[pick(keys.size())], absl::StrCat("v", pick(5))});
      }
      // What EC2 accepts, stated independently of the simulator's code.
      bool valid = !request.eni_ids.empty() && !request.tags.empty();
      for (std::size_t i = 0; valid && i < request.tags.size(); ++i) {
        const std::string& key = request.tags[i].key;
        if (key.empty() || key.rfind("aws:", 0) == 0) valid = false;
        for (std::size_t j = 0; j < i; ++j) {
          if (request.tags[j].key == key) valid = false;
        }
      }
      for (const std::string& id : request.eni_ids) {
        if (!model.contains(id)) valid = false;
      }
      const absl::Status status = f.ec2.CreateTags(request);
      CHECK(status.ok() == valid);
      if (valid) {
        for (const std::string& id : request.eni_ids) {
          for (const Ec2Tag& tag : request.tags) {
            bool found = false;
            for (Ec2Tag& have : model[id]) {
              if (have.key == tag.key) {
                have.value = tag.value;
                found = true;
              }
            }
            if (!found) model[id].push_back(tag);
          }
        }
      }
      for (const NetworkInterface& ni : f.All()) CHECK(ni.tags == model[ni.id]);
    }
  }
}

TEST_CASE("SimulatedEc2 CreateTags is reachable through Call and named CreateTags") {
  Fixture f;
  const enipool::Ec2Call call = CreateTagsRequest{.eni_ids = {f.primary}, .tags = {{"k", "v"}}};
  CHECK(enipool::Ec2CallName(call) == "CreateTags");
  CHECK(enipool::ec2::CallKindOf(call) == CallKind::kCreateTags);
  CHECK(enipool::ec2::CallKindName(CallKind::kCreateTags) == "CreateTags");
  const enipool::Ec2Result result = f.ec2.Call(call);
  CHECK(result.ok());
  CHECK(std::holds_alternative<std::monostate>(result.response));
  CHECK(f.TagsOf(f.primary) == std::vector<Ec2Tag>{{"k", "v"}});
}

}  // namespace
