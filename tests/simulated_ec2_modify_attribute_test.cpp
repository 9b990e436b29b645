// SimulatedEc2::ModifyNetworkInterfaceAttribute: EC2's call that sets an
// attachment's DeleteOnTermination or replaces an ENI's security groups
// (docs/reference-behavior.md §7.1), its refusals, its throttling bucket,
// and a randomized run against a plain model of every ENI's attachment flag
// and groups.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "enipool/clock.h"
#include "enipool/ec2/backend.h"
#include "enipool/ec2/ec2_api.h"
#include "enipool/ec2/latency.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/ec2/throttle.h"
#include "enipool/ipv4.h"
#include "testing/simulated_ec2_testing.h"

namespace {

using enipool::ManualClock;
using enipool::ModifyNetworkInterfaceAttributeRequest;
using enipool::NetworkInterface;
using enipool::ec2::CallKind;
using enipool::ec2::SimulatedEc2Options;
using Ec2 = enipool::ec2::SimulatedEc2<ManualClock>;
using Attachment = ModifyNetworkInterfaceAttributeRequest::Attachment;

SimulatedEc2Options Quiet() { return enipool::testing::QuietEc2Options(5); }

// One instance with its primary ENI and a second ENI attached at device 1,
// and a third ENI left unattached.
struct Fixture {
  explicit Fixture(SimulatedEc2Options options = Quiet()) : ec2(clock, std::move(options)) {
    REQUIRE(ec2.AddSubnet("subnet-1", *enipool::Ipv4Prefix::Parse("10.0.0.0/24")).ok());
    auto eni = ec2.AddInstance(
        {.instance_id = "i-1", .subnet_id = "subnet-1", .max_enis = 3, .ipv4_per_eni = 10});
    REQUIRE(eni.ok());
    primary = eni->id;
    auto second = ec2.CreateNetworkInterface(
        {.subnet_id = "subnet-1", .security_group_ids = {"sg-old"}});
    REQUIRE(second.ok());
    attached = second->id;
    auto attachment =
        ec2.AttachNetworkInterface({.eni_id = attached, .instance_id = "i-1", .device_index = 1});
    REQUIRE(attachment.ok());
    attachment_id = *attachment;
    auto third = ec2.CreateNetworkInterface({.subnet_id = "subnet-1"});
    REQUIRE(third.ok());
    loose = third->id;
  }
  NetworkInterface Of(const std::string& id) { return enipool::testing::DescribeEni(ec2, id); }
  std::vector<NetworkInterface> All() { return enipool::testing::DescribeAllEnis(ec2); }

  ManualClock clock;
  Ec2 ec2;
  std::string primary;
  std::string attached;
  std::string attachment_id;
  std::string loose;
};

TEST_CASE("SimulatedEc2 sets DeleteOnTermination on the primary ENI and not on one attached later") {
  Fixture f;
  CHECK(f.Of(f.primary).delete_on_termination);
  CHECK_FALSE(f.Of(f.attached).delete_on_termination);
  CHECK_FALSE(f.Of(f.loose).delete_on_termination);
}

TEST_CASE("SimulatedEc2 ModifyNetworkInterfaceAttribute sets the attachment's DeleteOnTermination") {
  Fixture f;
  REQUIRE(f.ec2
              .ModifyNetworkInterfaceAttribute(
                  {.eni_id = f.attached,
                   .attachment = Attachment{.attachment_id = f.attachment_id,
                                            .delete_on_termination = true}})
              .ok());
  CHECK(f.Of(f.attached).delete_on_termination);
  CHECK(f.Of(f.attached).security_group_ids == std::vector<std::string>{"sg-old"});
  REQUIRE(f.ec2
              .ModifyNetworkInterfaceAttribute(
                  {.eni_id = f.attached,
                   .attachment = Attachment{.attachment_id = f.attachment_id,
                                            .delete_on_termination = false}})
              .ok());
  CHECK_FALSE(f.Of(f.attached).delete_on_termination);
  // A detach clears it with the attachment.
  REQUIRE(f.ec2
              .ModifyNetworkInterfaceAttribute(
                  {.eni_id = f.attached,
                   .attachment = Attachment{.attachment_id = f.attachment_id}})
              .ok());
  REQUIRE(f.ec2.DetachNetworkInterface({.attachment_id = f.attachment_id, .eni_id = f.attached})
              .ok());
  CHECK_FALSE(f.Of(f.attached).delete_on_termination);
  CHECK(f.ec2.stats().calls_of(CallKind::kModifyNetworkInterfaceAttribute) == 3);
}

TEST_CASE("SimulatedEc2 ModifyNetworkInterfaceAttribute replaces the groups of one ENI") {
  Fixture f;
  REQUIRE(f.ec2
              .ModifyNetworkInterfaceAttribute(
                  {.eni_id = f.attached, .security_group_ids = {{"sg-b", "sg-a"}}})
              .ok());
  CHECK(f.Of(f.attached).security_group_ids == std::vector<std::string>{"sg-b", "sg-a"});
  CHECK(f.Of(f.primary).security_group_ids.empty());  // another ENI is untouched
  CHECK_FALSE(f.Of(f.attached).delete_on_termination);
  // An unattached ENI's groups change too.
  REQUIRE(f.ec2
              .ModifyNetworkInterfaceAttribute({.eni_id = f.loose, .security_group_ids = {{"sg-c"}}})
              .ok());
  CHECK(f.Of(f.loose).security_group_ids == std::vector<std::string>{"sg-c"});
}

TEST_CASE("SimulatedEc2 ModifyNetworkInterfaceAttribute refuses bad input with the EC2 code first "
          "and changes nothing") {
  Fixture f;
  const std::vector<NetworkInterface> before = f.All();
  struct Case {
    const char* what;
    ModifyNetworkInterfaceAttributeRequest request;
    const char* code;
    absl::StatusCode status;
  };
  const Attachment good{.attachment_id = f.attachment_id, .delete_on_termination = true};
  const std::vector<Case> cases = {
      {"an unknown ENI", {.eni_id = "eni-0000000000000dead", .attachment = good},
       "InvalidNetworkInterfaceID.NotFound", absl::StatusCode::kNotFound},
      {"both attributes", {.eni_id = f.attached, .attachment = good, .security_group_ids = {{"sg-1"}}},
       "InvalidParameterCombination", absl::StatusCode::kInvalidArgument},
      {"neither attribute", {.eni_id = f.attached}, "InvalidParameterCombination",
       absl::StatusCode::kInvalidArgument},
      {"an empty group list only", {.eni_id = f.attached, .security_group_ids = {{}}},
       "InvalidParameterCombination", absl::StatusCode::kInvalidArgument},
      {"another ENI's attachment",
       {.eni_id = f.primary, .attachment = good}, "InvalidAttachmentID.NotFound",
       absl::StatusCode::kNotFound},
      {"an unknown attachment",
       {.eni_id = f.attached, .attachment = Attachment{.attachment_id = "eni-attach-0dead"}},
       "InvalidAttachmentID.NotFound", absl::StatusCode::kNotFound},
      {"an empty attachment id", {.eni_id = f.attached, .attachment = Attachment{}},
       "InvalidAttachmentID.NotFound", absl::StatusCode::kNotFound},
      {"an attachment of an unattached ENI", {.eni_id = f.loose, .attachment = good},
       "InvalidAttachmentID.NotFound", absl::StatusCode::kNotFound},
      {"a malformed group among good ones",
       {.eni_id = f.attached, .security_group_ids = {{"sg-1", "default"}}},
       "InvalidGroupId.Malformed", absl::StatusCode::kInvalidArgument},
      {"a bare sg- prefix", {.eni_id = f.attached, .security_group_ids = {{"sg-"}}},
       "InvalidGroupId.Malformed", absl::StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    const absl::Status status = f.ec2.ModifyNetworkInterfaceAttribute(c.request);
    CHECK(status.code() == c.status);
    CHECK(absl::StartsWith(status.message(), absl::StrCat(c.code, ": ")));
    CHECK(f.All() == before);
  }
}

TEST_CASE("SimulatedEc2 ModifyNetworkInterfaceAttribute draws on its own throttling bucket and the "
          "fault plan") {
  SUBCASE("an empty bucket answers RequestLimitExceeded, other calls go on") {
    SimulatedEc2Options options = Quiet();
    options.throttle = enipool::ec2::ThrottleConfig::Ec2Defaults();
    options.throttle.Set(enipool::ec2::Ec2Action::kModifyNetworkInterfaceAttribute, {1, 0});
    Fixture f(options);
    const ModifyNetworkInterfaceAttributeRequest modify{.eni_id = f.attached,
                                                        .security_group_ids = {{"sg-1"}}};
    CHECK(f.ec2.ModifyNetworkInterfaceAttribute(modify).ok());
    CHECK(enipool::ClassifyEc2Error(f.ec2.ModifyNetworkInterfaceAttribute(modify)) ==
          enipool::Ec2ErrorCode::kRequestLimitExceeded);
    CHECK(f.ec2.CreateTags({.eni_ids = {f.attached}, .tags = {{"k", "v"}}}).ok());
  }
  SUBCASE("the defaults give it the mutating actions' bucket, as CreateTags") {
    const auto defaults = enipool::ec2::ThrottleConfig::Ec2Defaults();
    CHECK(defaults.Get(enipool::ec2::Ec2Action::kModifyNetworkInterfaceAttribute) ==
          defaults.Get(enipool::ec2::Ec2Action::kCreateTags));
    CHECK(enipool::ec2::ActionOf(CallKind::kModifyNetworkInterfaceAttribute) ==
          enipool::ec2::Ec2Action::kModifyNetworkInterfaceAttribute);
    CHECK(enipool::ec2::Ec2ActionName(enipool::ec2::Ec2Action::kModifyNetworkInterfaceAttribute) ==
          "ModifyNetworkInterfaceAttribute");
  }
  SUBCASE("a scripted fault fails the call and changes nothing") {
    SimulatedEc2Options options = Quiet();
    options.faults.FailNthCall(CallKind::kModifyNetworkInterfaceAttribute, 1,
                               enipool::Ec2Error(enipool::Ec2ErrorCode::kUnauthorizedOperation,
                                                 "not allowed to ec2:ModifyNetworkInterfaceAttribute"));
    Fixture f(options);
    const ModifyNetworkInterfaceAttributeRequest modify{.eni_id = f.attached,
                                                        .security_group_ids = {{"sg-1"}}};
    CHECK(enipool::ClassifyEc2Error(f.ec2.ModifyNetworkInterfaceAttribute(modify)) ==
          enipool::Ec2ErrorCode::kUnauthorizedOperation);
    CHECK(f.Of(f.attached).security_group_ids == std::vector<std::string>{"sg-old"});
    CHECK(f.ec2.ModifyNetworkInterfaceAttribute(modify).ok());
  }
}

// The model: per ENI its current attachment id (empty: unattached), its
// DeleteOnTermination and its groups, changed only by a modify that passes
// every rule EC2 documents, and by the attaches and detaches the run makes.
struct ModelEni {
  std::string attachment_id;
  bool delete_on_termination = false;
  std::vector<std::string> groups;
};

TEST_CASE("SimulatedEc2 ModifyNetworkInterfaceAttribute matches a plain model over random calls") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    Fixture f;
    std::map<std::string, ModelEni> model;
    for (const NetworkInterface& ni : f.All()) {
      model[ni.id] = {ni.attachment_id, ni.delete_on_termination, ni.security_group_ids};
    }
    auto pick = [&rng](std::size_t n) {
      return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    };
    const std::vector<std::string> ids = {f.primary, f.attached, f.loose, "eni-unknown"};
    const std::vector<std::string> groups = {"sg-1", "sg-2", "sg-3", "default", "sg-"};
    std::map<std::string, int> devices = {{f.attached, 1}};
    std::vector<std::string> seen_attachments = {"", "eni-attach-unknown"};
    for (const auto& [id, eni] : model) seen_attachments.push_back(eni.attachment_id);
    for (int step = 0; step < 300; ++step) {
      const std::size_t action = pick(10);
      if (action == 0) {
        // Detach or attach the two ENIs that are not the primary.
        const bool first = pick(2) == 0;
        const std::string& id = first ? f.attached : f.loose;
        const std::string& peer = first ? f.loose : f.attached;
        ModelEni& eni = model[id];
        if (eni.attachment_id.empty()) {
          // The device the other ENI does not hold (at most two are attached).
          const int device = model[peer].attachment_id.empty() || devices[peer] == 2 ? 1 : 2;
          devices[id] = device;
          auto attached = f.ec2.AttachNetworkInterface(
              {.eni_id = id, .instance_id = "i-1", .device_index = device});
          REQUIRE(attached.ok());
          eni.attachment_id = *attached;
          seen_attachments.push_back(*attached);
        } else {
          REQUIRE(f.ec2.DetachNetworkInterface({.attachment_id = eni.attachment_id, .eni_id = id})
                      .ok());
          eni.attachment_id.clear();
        }
        eni.delete_on_termination = false;  // EC2 does not set it on an attach
      } else {
        ModifyNetworkInterfaceAttributeRequest request{.eni_id = ids[pick(ids.size())]};
        if (pick(2) == 0) {
          request.attachment = Attachment{
              .attachment_id = seen_attachments[pick(seen_attachments.size())],
              .delete_on_termination = pick(2) == 0};
        }
        if (pick(2) == 0) {
          std::vector<std::string> list;
          for (std::size_t n = pick(3); n > 0; --n) list.push_back(groups[pick(groups.size())]);
          request.security_group_ids = std::move(list);
        }
        // What EC2 accepts, stated independently of the simulator's code.
        const bool known = model.contains(request.eni_id);
        const bool groups_given =
            request.security_group_ids.has_value() && !request.security_group_ids->empty();
        bool valid = known && (request.attachment.has_value() != groups_given);
        if (valid && request.attachment.has_value()) {
          valid = !request.attachment->attachment_id.empty() &&
                  request.attachment->attachment_id == model[request.eni_id].attachment_id;
        }
        if (valid && groups_given) {
          for (const std::string& g : *request.security_group_ids) {
            if (g.size() <= 3 || g.compare(0, 3, "sg-") != 0) valid = false;
          }
        }
        const absl::Status status = f.ec2.ModifyNetworkInterfaceAttribute(request);
        CHECK(status.ok() == valid);
        if (valid && request.attachment.has_value()) {
          model[request.eni_id].delete_on_termination = request.attachment->delete_on_termination;
        } else if (valid) {
          model[request.eni_id].groups = *request.security_group_ids;
        }
      }
      for (const NetworkInterface& ni : f.All()) {
        CHECK(ni.attachment_id == model[ni.id].attachment_id);
        CHECK(ni.delete_on_termination == model[ni.id].delete_on_termination);
        CHECK(ni.security_group_ids == model[ni.id].groups);
      }
    }
  }
}

TEST_CASE("SimulatedEc2 ModifyNetworkInterfaceAttribute is reachable through Call and named as EC2 "
          "names it") {
  Fixture f;
  const enipool::Ec2Call call = ModifyNetworkInterfaceAttributeRequest{
      .eni_id = f.attached, .security_group_ids = {{"sg-9"}}};
  CHECK(enipool::Ec2CallName(call) == "ModifyNetworkInterfaceAttribute");
  CHECK(enipool::ec2::CallKindOf(call) == CallKind::kModifyNetworkInterfaceAttribute);
  CHECK(enipool::ec2::CallKindName(CallKind::kModifyNetworkInterfaceAttribute) ==
        "ModifyNetworkInterfaceAttribute");
  const enipool::Ec2Result result = f.ec2.Call(call);
  CHECK(result.ok());
  CHECK(std::holds_alternative<std::monostate>(result.response));
  CHECK(f.Of(f.attached).security_group_ids == std::vector<std::string>{"sg-9"});
}

}  // namespace
