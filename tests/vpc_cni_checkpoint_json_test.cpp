// The reference's vpc-cni-ipam/1 checkpoint: parse, serialize, export,
// restore with ipamd's rules, and every error.

#include "enipool/persist/vpc_cni_checkpoint_json.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/persist/journal.h"
#include "testing/memory_file_system.h"

namespace {

using enipool::AddressMode;
using enipool::Ipv4Address;
using enipool::Ipv4Prefix;
using enipool::ManualClock;
using enipool::NodeDatastore;
using enipool::PodKey;
using enipool::VpcCniCheckpoint;

// The illustrative file of docs/reference-behavior.md §8.1, verbatim.
constexpr char kReferenceExample[] =
    R"({"version":"vpc-cni-ipam/1","allocations":[{"networkName":"aws-cni","containerID":"abc","ifName":"eth0","ipv4":"10.0.0.5","allocationTimestamp":1700000000000000000,"metadata":{"k8sPodNamespace":"default","k8sPodName":"web-1"}}]})";

template <typename Store>
void AddNode(Store& ds) {
  REQUIRE(ds.AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
  REQUIRE(ds.AddCidr("eni-1", *Ipv4Prefix::Parse("10.0.0.5/32")).ok());
  REQUIRE(ds.AddCidr("eni-1", *Ipv4Prefix::Parse("10.0.0.16/28")).ok());
  REQUIRE(ds.AddEni({.id = "eni-2", .device_number = 1}).ok());
  REQUIRE(ds.AddCidr("eni-2", *Ipv4Prefix::Parse("10.0.1.0/28")).ok());
}

std::string Assignments(const NodeDatastore<ManualClock>& ds) {
  std::vector<std::string> lines;
  ds.ForEachAssignment([&](const PodKey& pod, const enipool::Assignment& a, absl::Time at) {
    lines.push_back(pod.ToString() + "=" + a.address.ToString() + "@" + absl::FormatTime(at));
  });
  std::sort(lines.begin(), lines.end());
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  return all;
}

TEST_CASE("ParseVpcCniCheckpoint reads the reference's example file") {
  auto checkpoint = enipool::ParseVpcCniCheckpoint(kReferenceExample);
  REQUIRE_MESSAGE(checkpoint.ok(), checkpoint.status());
  CHECK(checkpoint->version == "vpc-cni-ipam/1");
  REQUIRE(checkpoint->allocations.size() == 1);
  const auto& e = checkpoint->allocations[0];
  CHECK(e.pod == PodKey{"aws-cni", "abc", "eth0"});
  CHECK(e.address == Ipv4Address(10, 0, 0, 5));
  CHECK(e.allocated == absl::FromUnixNanos(1700000000000000000));
  CHECK(e.metadata == enipool::PodMetadata{"default", "web-1", 0});
  // Written back, it is the same text: member order, nanoseconds, and the
  // interfacesCount that was absent stays absent.
  CHECK(enipool::SerializeVpcCniCheckpoint(*checkpoint) == kReferenceExample);
}

TEST_CASE("SerializeVpcCniCheckpoint always writes metadata and omits its empty members") {
  VpcCniCheckpoint checkpoint;
  checkpoint.allocations.push_back({.pod = {"aws-cni", "c1", "eth0"},
                                    .address = Ipv4Address(10, 0, 0, 17),
                                    .allocated = absl::FromUnixNanos(5)});
  checkpoint.allocations.push_back({.pod = {"aws-cni", "c2", "eth0"},
                                    .ipv6 = "2001:db8::5",
                                    .allocated = absl::FromUnixNanos(6),
                                    .metadata = {"ns", "", 2}});
  CHECK(enipool::SerializeVpcCniCheckpoint(checkpoint) ==
        R"({"version":"vpc-cni-ipam/1","allocations":[)"
        R"({"networkName":"aws-cni","containerID":"c1","ifName":"eth0","ipv4":"10.0.0.17","allocationTimestamp":5,"metadata":{}},)"
        R"({"networkName":"aws-cni","containerID":"c2","ifName":"eth0","ipv6":"2001:db8::5","allocationTimestamp":6,"metadata":{"k8sPodNamespace":"ns","interfacesCount":2}}]})");
  CHECK(enipool::SerializeVpcCniCheckpoint(VpcCniCheckpoint{}) ==
        R"({"version":"vpc-cni-ipam/1","allocations":[]})");
}

TEST_CASE("A datastore exported to the checkpoint and restored elsewhere holds the same pods since the same times") {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  NodeDatastore<ManualClock> source(AddressMode::kPrefix, clock);
  AddNode(source);
  enipool::PodMetadataMap metadata;
  for (int i = 0; i < 20; ++i) {
    const PodKey pod{"aws-cni", "c" + std::to_string(i), "eth0"};
    REQUIRE(source.Assign(pod).ok());
    if (i % 2 == 0) metadata[pod] = {"default", "web-" + std::to_string(i), 1};
    clock.AdvanceTime(absl::Milliseconds(1234));
  }
  // A secondary IP (the other mode) held by a pod is exported too.
  REQUIRE(source.AssignAt({"aws-cni", "legacy", "eth0"}, Ipv4Address(10, 0, 0, 5), clock.Now()).ok());

  const std::string json = enipool::SerializeVpcCniCheckpoint(enipool::ExportVpcCniCheckpoint(source, metadata));
  auto parsed = enipool::ParseVpcCniCheckpoint(json);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status());
  CHECK(parsed->allocations.size() == 21);
  for (const auto& e : parsed->allocations) {
    const auto it = metadata.find(e.pod);
    CHECK(e.metadata == (it == metadata.end() ? enipool::PodMetadata{} : it->second));
  }

  NodeDatastore<ManualClock> target(AddressMode::kPrefix, clock);
  AddNode(target);
  auto report = enipool::RestoreVpcCniCheckpoint(target, *parsed);
  REQUIRE_MESSAGE(report.ok(), report.status());
  CHECK(report->restored == 21);
  CHECK(report->dropped.empty());
  CHECK(Assignments(target) == Assignments(source));
  CHECK(target.CheckInvariants().ok());
  // Restoring the same file again changes nothing.
  auto again = enipool::RestoreVpcCniCheckpoint(target, *parsed);
  REQUIRE(again.ok());
  CHECK(again->restored == 21);
  CHECK(Assignments(target) == Assignments(source));
}

TEST_CASE("RestoreVpcCniCheckpoint drops and reports entries in no known CIDR, and IPv6 entries") {
  ManualClock clock;
  NodeDatastore<ManualClock> ds(AddressMode::kPrefix, clock);
  AddNode(ds);
  auto checkpoint = enipool::ParseVpcCniCheckpoint(
      R"({"version":"vpc-cni-ipam/1","allocations":[)"
      R"({"networkName":"aws-cni","containerID":"kept","ifName":"eth0","ipv4":"10.0.1.3","allocationTimestamp":7,"metadata":{}},)"
      R"({"networkName":"aws-cni","containerID":"stale","ifName":"eth0","ipv4":"10.9.9.9","allocationTimestamp":8,"metadata":{}},)"
      R"({"networkName":"aws-cni","containerID":"v6","ifName":"eth0","ipv6":"2001:db8::1","allocationTimestamp":9,"metadata":{}}]})");
  REQUIRE_MESSAGE(checkpoint.ok(), checkpoint.status());
  auto report = enipool::RestoreVpcCniCheckpoint(ds, *checkpoint);
  REQUIRE_MESSAGE(report.ok(), report.status());
  CHECK(report->restored == 1);
  REQUIRE(report->dropped.size() == 2);
  CHECK(report->dropped[0].pod.container_id == "stale");
  CHECK(report->dropped[1].pod.container_id == "v6");
  CHECK(ds.Lookup({"aws-cni", "kept", "eth0"})->address == Ipv4Address(10, 0, 1, 3));
  CHECK(ds.pod_count() == 1);
}

TEST_CASE("RestoreVpcCniCheckpoint fails as a whole on a duplicate address and changes nothing") {
  ManualClock clock;
  NodeDatastore<ManualClock> ds(AddressMode::kPrefix, clock);
  AddNode(ds);
  REQUIRE(ds.AssignAt({"aws-cni", "running", "eth0"}, Ipv4Address(10, 0, 1, 9), clock.Now()).ok());
  const std::string before = Assignments(ds);
  const auto stats = ds.Stats();

  auto entry = [](const char* id, const char* ip) {
    return enipool::CheckpointEntry{.pod = {"aws-cni", id, "eth0"}, .address = *Ipv4Address::Parse(ip)};
  };
  SUBCASE("twice in the file") {
    VpcCniCheckpoint c;
    c.allocations = {entry("a", "10.0.1.1"), entry("b", "10.0.1.2"), entry("c", "10.0.1.1")};
    auto r = enipool::RestoreVpcCniCheckpoint(ds, c);
    CHECK_MESSAGE(r.status().code() == absl::StatusCode::kAlreadyExists, r.status());
    CHECK_MESSAGE(r.status().message().find("IP already in data store: 10.0.1.1") != absl::string_view::npos,
                  r.status());
  }
  SUBCASE("held by another pod already") {
    VpcCniCheckpoint c;
    c.allocations = {entry("a", "10.0.1.1"), entry("other", "10.0.1.9")};
    auto r = enipool::RestoreVpcCniCheckpoint(ds, c);
    CHECK_MESSAGE(r.status().code() == absl::StatusCode::kAlreadyExists, r.status());
  }
  SUBCASE("one pod given two addresses") {
    VpcCniCheckpoint c;
    c.allocations = {entry("a", "10.0.1.1"), entry("a", "10.0.1.2")};
    auto r = enipool::RestoreVpcCniCheckpoint(ds, c);
    CHECK_MESSAGE(r.status().code() == absl::StatusCode::kAlreadyExists, r.status());
  }
  SUBCASE("an empty pod key part") {
    VpcCniCheckpoint c;
    c.allocations = {entry("a", "10.0.1.1"), entry("", "10.0.1.2")};
    auto r = enipool::RestoreVpcCniCheckpoint(ds, c);
    CHECK_MESSAGE(r.status().code() == absl::StatusCode::kInvalidArgument, r.status());
    CHECK_MESSAGE(r.status().message().find("allocations[1]") != absl::string_view::npos, r.status());
  }
  SUBCASE("an unknown version") {
    VpcCniCheckpoint c;
    c.version = "vpc-cni-ipam/2";
    c.allocations = {entry("a", "10.0.1.1")};
    auto r = enipool::RestoreVpcCniCheckpoint(ds, c);
    CHECK_MESSAGE(r.status().code() == absl::StatusCode::kFailedPrecondition, r.status());
  }
  CHECK(Assignments(ds) == before);
  CHECK(ds.Stats() == stats);
}

TEST_CASE("ParseVpcCniCheckpoint rejects an unknown version") {
  auto r = enipool::ParseVpcCniCheckpoint(R"({"version":"vpc-cni-ipam/2","allocations":[]})");
  CHECK_MESSAGE(r.status().code() == absl::StatusCode::kFailedPrecondition, r.status());
  CHECK_MESSAGE(r.status().message().find("vpc-cni-ipam/2") != absl::string_view::npos, r.status());
}

TEST_CASE("ParseVpcCniCheckpoint names the byte offset of malformed JSON") {
  // Offset 46 is the ']' that ends the bad literal "tru".
  auto r = enipool::ParseVpcCniCheckpoint(R"({"version":"vpc-cni-ipam/1","allocations":[tru]})");
  CHECK_MESSAGE(r.status().code() == absl::StatusCode::kInvalidArgument, r.status());
  CHECK_MESSAGE(r.status().message().find("malformed JSON at byte offset 46") != absl::string_view::npos,
                r.status());
  auto empty = enipool::ParseVpcCniCheckpoint("");
  CHECK_MESSAGE(empty.status().code() == absl::StatusCode::kInvalidArgument, empty.status());
  auto trailing = enipool::ParseVpcCniCheckpoint(R"({"version":"vpc-cni-ipam/1"} x)");
  CHECK_MESSAGE(trailing.status().code() == absl::StatusCode::kInvalidArgument, trailing.status());
}

TEST_CASE("ParseVpcCniCheckpoint names a missing or mistyped field") {
  struct Case {
    const char* json;
    const char* field;
  };
  const Case cases[] = {
      {R"([])", "(top level): not an object"},
      {R"({"allocations":[]})", "(top level).version: missing"},
      {R"({"version":1})", "(top level).version: not a string"},
      {R"({"version":"vpc-cni-ipam/1","allocations":{}})", "allocations: not an array"},
      {R"({"version":"vpc-cni-ipam/1","allocations":[5]})", "allocations[0]: not an object"},
      {R"({"version":"vpc-cni-ipam/1","allocations":[{"containerID":"c","ifName":"eth0","ipv4":"10.0.0.1"}]})",
       "allocations[0].networkName: missing"},
      {R"({"version":"vpc-cni-ipam/1","allocations":[{"networkName":"n","containerID":7,"ifName":"eth0","ipv4":"10.0.0.1"}]})",
       "allocations[0].containerID: not a string"},
      {R"({"version":"vpc-cni-ipam/1","allocations":[{"networkName":"n","containerID":"c","ifName":"eth0","ipv4":"10.0.0.300"}]})",
       "allocations[0].ipv4: "},
      {R"({"version":"vpc-cni-ipam/1","allocations":[{"networkName":"n","containerID":"c","ifName":"eth0"}]})",
       "allocations[0]: has neither ipv4 nor ipv6"},
      {R"({"version":"vpc-cni-ipam/1","allocations":[{"networkName":"n","containerID":"c","ifName":"eth0","ipv4":"10.0.0.1","ipv6":"::1"}]})",
       "allocations[0]: has both ipv4 and ipv6"},
      {R"({"version":"vpc-cni-ipam/1","allocations":[{"networkName":"n","containerID":"c","ifName":"eth0","ipv4":"10.0.0.1","allocationTimestamp":"now"}]})",
       "allocations[0].allocationTimestamp: not an integer"},
      {R"({"version":"vpc-cni-ipam/1","allocations":[{"networkName":"n","containerID":"c","ifName":"eth0","ipv4":"10.0.0.1","allocationTimestamp":1.5}]})",
       "allocations[0].allocationTimestamp: not an integer"},
      {R"({"version":"vpc-cni-ipam/1","allocations":[{"networkName":"n","containerID":"c","ifName":"eth0","ipv4":"10.0.0.1","allocationTimestamp":18446744073709551615}]})",
       "allocations[0].allocationTimestamp: out of the int64 range"},
      {R"({"version":"vpc-cni-ipam/1","allocations":[{"networkName":"n","containerID":"c","ifName":"eth0","ipv4":"10.0.0.1","metadata":[]}]})",
       "allocations[0].metadata: not an object"},
      {R"({"version":"vpc-cni-ipam/1","allocations":[{"networkName":"n","containerID":"c","ifName":"eth0","ipv4":"10.0.0.1","metadata":{"k8sPodName":3}}]})",
       "allocations[0].metadata.k8sPodName: not a string"},
      {R"({"version":"vpc-cni-ipam/1","allocations":[{"networkName":"n","containerID":"c","ifName":"eth0","ipv4":"10.0.0.1","metadata":{"interfacesCount":-1}}]})",
       "allocations[0].metadata.interfacesCount: -1 is out of range"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.json);
    auto r = enipool::ParseVpcCniCheckpoint(c.json);
    CHECK_MESSAGE(r.status().code() == absl::StatusCode::kInvalidArgument, r.status());
    CHECK_MESSAGE(r.status().message().find(c.field) != absl::string_view::npos, r.status());
  }
}

TEST_CASE("ParseVpcCniCheckpoint accepts files without timestamps, metadata or allocations, and ignores unknown members") {
  auto r = enipool::ParseVpcCniCheckpoint(
      R"({"version":"vpc-cni-ipam/1","extra":true,"allocations":[{"networkName":"n","containerID":"c","ifName":"eth0","ipv4":"10.0.0.1","future":{}}]})");
  REQUIRE_MESSAGE(r.ok(), r.status());
  CHECK(r->allocations[0].allocated == absl::UnixEpoch());
  CHECK(r->allocations[0].metadata == enipool::PodMetadata{});
  auto none = enipool::ParseVpcCniCheckpoint(R"({"version":"vpc-cni-ipam/1","allocations":null})");
  REQUIRE_MESSAGE(none.ok(), none.status());
  CHECK(none->allocations.empty());
}

TEST_CASE("SerializeVpcCniCheckpoint does not throw on a pod key that is not UTF-8") {
  VpcCniCheckpoint c;
  c.allocations.push_back({.pod = {"aws-cni", std::string("c\xff\xfe", 3), "eth0"},
                           .address = Ipv4Address(10, 0, 0, 1)});
  const std::string json = enipool::SerializeVpcCniCheckpoint(c);
  auto back = enipool::ParseVpcCniCheckpoint(json);
  REQUIRE_MESSAGE(back.ok(), back.status());
  CHECK(back->allocations[0].pod.container_id == "c\xEF\xBF\xBD\xEF\xBF\xBD");  // U+FFFD twice
}

TEST_CASE("RestoreVpcCniCheckpoint into a JournaledDatastore journals the restored pods") {
  enipool::testing::MemoryFileSystem fs;
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  using Store = enipool::JournaledDatastore<ManualClock>;
  Store::Options options;
  options.mode = AddressMode::kPrefix;
  options.journal.file_system = &fs;
  {
    auto store = Store::Open("/journal", clock, options);
    REQUIRE(store.ok());
    AddNode(*store);
    auto checkpoint = enipool::ParseVpcCniCheckpoint(kReferenceExample);
    REQUIRE(checkpoint.ok());
    auto report = enipool::RestoreVpcCniCheckpoint(*store, *checkpoint);
    REQUIRE_MESSAGE(report.ok(), report.status());
    CHECK(report->restored == 1);
  }
  auto reopened = Store::Open("/journal", clock, options);
  REQUIRE(reopened.ok());
  std::string found;
  reopened->datastore().ForEachAssignment([&](const PodKey& pod, const enipool::Assignment& a, absl::Time at) {
    found = pod.ToString() + "=" + a.address.ToString() + "@" + std::to_string(absl::ToUnixNanos(at));
  });
  CHECK(found == "aws-cni/abc/eth0=10.0.0.5@1700000000000000000");
}

TEST_CASE("RestoreVpcCniCheckpoint into a JournaledDatastore checks every entry against the journal first: a refused restore changes and appends nothing") {
  enipool::testing::MemoryFileSystem fs;
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  using Store = enipool::JournaledDatastore<ManualClock>;
  Store::Options options;
  options.mode = AddressMode::kPrefix;
  options.journal.file_system = &fs;
  auto store = Store::Open("/journal", clock, options);
  REQUIRE(store.ok());
  AddNode(*store);
  REQUIRE(store->Assign({"aws-cni", "running", "eth0"}).ok());
  const std::string bytes = fs.files["/journal"].data;
  const std::string before = Assignments(store->datastore());
  const auto stats = store->Stats();

  const std::string too_long(70'000, 'x');  // over the journal's 65,535 bytes per key part
  const enipool::CheckpointEntry valid{.pod = {"aws-cni", "valid", "eth0"},
                                       .address = Ipv4Address(10, 0, 1, 1)};
  VpcCniCheckpoint c;
  absl::StatusCode want = absl::StatusCode::kInvalidArgument;
  SUBCASE("a container id over 64 KiB after a valid entry") {
    c.allocations = {valid, {.pod = {"aws-cni", too_long, "eth0"}, .address = Ipv4Address(10, 0, 1, 2)}};
  }
  SUBCASE("a network name over 64 KiB after a valid entry") {
    c.allocations = {valid, {.pod = {too_long, "c2", "eth0"}, .address = Ipv4Address(10, 0, 1, 2)}};
  }
  SUBCASE("an interface name over 64 KiB after a valid entry") {
    c.allocations = {valid, {.pod = {"aws-cni", "c2", too_long}, .address = Ipv4Address(10, 0, 1, 2)}};
  }
  SUBCASE("a journal that can no longer be written") {
    fs.fail_syncs_after = 0;
    REQUIRE_FALSE(store->Assign({"aws-cni", "failing", "eth0"}).ok());
    fs.fail_syncs_after = -1;
    c.allocations = {valid};
    want = absl::StatusCode::kFailedPrecondition;
  }
  auto r = enipool::RestoreVpcCniCheckpoint(*store, c);
  REQUIRE_FALSE(r.ok());
  CHECK_MESSAGE(r.status().code() == want, r.status());
  if (want == absl::StatusCode::kInvalidArgument) {
    CHECK_MESSAGE(r.status().message().find("allocations[1]") != absl::string_view::npos, r.status());
    CHECK(r.status().message().size() < 1000);  // the long key part is not echoed whole
  }
  CHECK(fs.files["/journal"].data == bytes);
  CHECK(Assignments(store->datastore()) == before);
  CHECK(store->Stats() == stats);
}

}  // namespace

namespace {

TEST_CASE("ParseVpcCniCheckpoint refuses bytes after the JSON document, a NUL included") {
  const std::string valid = R"({"version":"vpc-cni-ipam/1","allocations":[]})";
  REQUIRE(enipool::ParseVpcCniCheckpoint(valid).ok());
  const std::string with_garbage = valid + std::string(1, '\0') + "garbage";
  CHECK(enipool::ParseVpcCniCheckpoint(with_garbage).status() ==
        absl::InvalidArgumentError(
            "vpc-cni checkpoint: NUL byte at byte offset 45 (of 53): JSON text has none, so "
            "anything after the document is refused"));
  CHECK(enipool::ParseVpcCniCheckpoint(valid + "garbage").status().code() ==
        absl::StatusCode::kInvalidArgument);
}

}  // namespace
