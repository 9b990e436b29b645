// Fuzz target: importing a vpc-cni-ipam/1 checkpoint of arbitrary text.
// Properties: no crash, no exception, no UB; what parses serializes and
// parses back to the same checkpoint; a restore into a datastore that
// already holds pods either succeeds (every entry not reported as dropped
// is then held exactly) or fails leaving the datastore as it was; the
// invariants hold either way. The same for an IPv6 node (an Ipv6Datastore
// with the /80 2001:db8::/80 and one pod) and RestoreVpcCniIpv6Checkpoint.

#ifndef ENIPOOL_FUZZ_CHECKPOINT_IMPORT_FUZZ_H_
#define ENIPOOL_FUZZ_CHECKPOINT_IMPORT_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv6_datastore.h"
#include "enipool/persist/vpc_cni_checkpoint_json.h"
#include "fuzz_check.h"

namespace enipool::fuzz {

inline std::map<PodKey, std::pair<Ipv4Address, std::int64_t>> HeldPods(
    const NodeDatastore<ManualClock>& ds) {
  std::map<PodKey, std::pair<Ipv4Address, std::int64_t>> pods;
  ds.ForEachAssignment([&](const PodKey& pod, const Assignment& a, absl::Time at) {
    pods[pod] = {a.address, absl::ToUnixNanos(at)};
  });
  return pods;
}

inline std::map<PodKey, std::pair<Ipv6Address, std::int64_t>> HeldIpv6Pods(
    const Ipv6Datastore<ManualClock>& ds) {
  std::map<PodKey, std::pair<Ipv6Address, std::int64_t>> pods;
  ds.ForEachAssignment([&](const PodKey& pod, const Ipv6Assignment& a, absl::Time at) {
    pods[pod] = {a.address, absl::ToUnixNanos(at)};
  });
  return pods;
}

// The IPv6 half: restore into an IPv6 node.
inline void FuzzIpv6CheckpointRestore(const VpcCniCheckpoint& checkpoint) {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  Ipv6Datastore<ManualClock> ds(clock);
  (void)ds.AddEni({.id = "eni-1", .device_number = 0, .primary = true});
  (void)ds.AddPrefix("eni-1", *Ipv6Prefix::Parse("2001:db8::/80"));
  (void)ds.Assign({"aws-cni", "running-1", "eth0"});  // holds 2001:db8::
  const auto before = HeldIpv6Pods(ds);
  const Ipv6PoolStats stats_before = ds.Stats();
  auto report = RestoreVpcCniIpv6Checkpoint(ds, checkpoint);
  if (!report.ok()) {
    ENIPOOL_FUZZ_CHECK(HeldIpv6Pods(ds) == before && ds.Stats() == stats_before,
                       "failed IPv6 restore changed the datastore: ", report.status().ToString());
    return;
  }
  const auto after = HeldIpv6Pods(ds);
  std::size_t kept = 0;
  for (const CheckpointEntry& e : checkpoint.allocations) {
    bool dropped = false;
    for (const CheckpointEntry& d : report->dropped) dropped |= d == e;
    if (dropped) continue;
    ++kept;
    const auto it = after.find(e.pod);
    ENIPOOL_FUZZ_CHECK(it != after.end() && it->second.first == *Ipv6Address::Parse(e.ipv6),
                       "IPv6 entry for ", e.pod.ToString(), " not restored");
  }
  ENIPOOL_FUZZ_CHECK(static_cast<std::size_t>(report->restored) == kept, "IPv6 restored count ",
                     report->restored, " != ", kept);
}

inline int FuzzCheckpointImport(const std::uint8_t* data, std::size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto checkpoint = ParseVpcCniCheckpoint(text);
  if (!checkpoint.ok()) return 0;
  const std::string json = SerializeVpcCniCheckpoint(*checkpoint);
  auto again = ParseVpcCniCheckpoint(json);
  ENIPOOL_FUZZ_CHECK(again.ok(), "serialized checkpoint does not parse: ", again.status().ToString());
  ENIPOOL_FUZZ_CHECK(*again == *checkpoint, "checkpoint does not round-trip: ", json);
  FuzzIpv6CheckpointRestore(*checkpoint);

  // A node with 10.0.0.0/28 and 10.0.0.16/28 (prefix mode) and the /32s
  // 10.0.0.32 and 10.0.0.33, already running two pods.
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  NodeDatastore<ManualClock> ds(AddressMode::kPrefix, clock);
  (void)ds.AddEni({.id = "eni-1", .device_number = 0, .primary = true});
  (void)ds.AddCidr("eni-1", *Ipv4Prefix::Parse("10.0.0.0/28"));
  (void)ds.AddCidr("eni-1", *Ipv4Prefix::Parse("10.0.0.32/32"));
  (void)ds.AddEni({.id = "eni-2", .device_number = 1});
  (void)ds.AddCidr("eni-2", *Ipv4Prefix::Parse("10.0.0.16/28"));
  (void)ds.AddCidr("eni-2", *Ipv4Prefix::Parse("10.0.0.33/32"));
  (void)ds.AssignAt({"aws-cni", "running-1", "eth0"}, Ipv4Address(10, 0, 0, 1), clock.Now());
  (void)ds.AssignAt({"aws-cni", "running-2", "eth0"}, Ipv4Address(10, 0, 0, 32), clock.Now());
  const auto before = HeldPods(ds);
  const PoolStats stats_before = ds.Stats();

  auto report = RestoreVpcCniCheckpoint(ds, *checkpoint);
  const absl::Status invariants = ds.CheckInvariants();
  ENIPOOL_FUZZ_CHECK(invariants.ok(), invariants.ToString());
  if (!report.ok()) {
    ENIPOOL_FUZZ_CHECK(HeldPods(ds) == before && ds.Stats() == stats_before,
                       "failed restore changed the datastore: ", report.status().ToString());
    return 0;
  }
  const auto after = HeldPods(ds);
  std::size_t kept = 0;
  for (const CheckpointEntry& e : checkpoint->allocations) {
    bool dropped = false;
    for (const CheckpointEntry& d : report->dropped) dropped |= d == e;
    if (dropped) continue;
    ++kept;
    const auto it = after.find(e.pod);
    ENIPOOL_FUZZ_CHECK(it != after.end() && it->second.first == e.address, "entry for ",
                       e.pod.ToString(), " not restored");
  }
  ENIPOOL_FUZZ_CHECK(static_cast<std::size_t>(report->restored) == kept, "restored count ",
                     report->restored, " != ", kept);
  return 0;
}

}  // namespace enipool::fuzz

#endif  // ENIPOOL_FUZZ_CHECKPOINT_IMPORT_FUZZ_H_
