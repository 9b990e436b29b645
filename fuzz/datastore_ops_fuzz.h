// Fuzz target: a sequence of NodeDatastore operations, decoded from the
// input, checked against a simple model after every step. The model is a
// few ordered maps (ENIs, CIDRs, who holds which address, when each address
// was last released) and answers every question by brute force: which
// addresses are free, what each call must return, what Stats() must say.
// Properties: every call's status and result match the model (an ADD gets
// a free, non-cooling address of the current mode on a non-excluded ENI, or
// RESOURCE_EXHAUSTED exactly when there is none), CheckInvariants() holds,
// and the counters agree with the model.

#ifndef ENIPOOL_FUZZ_DATASTORE_OPS_FUZZ_H_
#define ENIPOOL_FUZZ_DATASTORE_OPS_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"
#include "fuzz_check.h"

namespace enipool::fuzz {

class DatastoreModel {
 public:
  DatastoreModel(AddressMode mode, std::int64_t cooldown_ns) : mode_(mode), cooldown_ns_(cooldown_ns) {}

  std::map<std::string, bool> enis;                 // id → excluded
  std::map<Ipv4Prefix, std::string> cidrs;          // CIDR → ENI
  std::map<PodKey, Ipv4Address> pods;
  std::map<Ipv4Address, std::int64_t> released;    // last release time (ns)

  std::optional<Ipv4Prefix> CidrOf(Ipv4Address a) const {
    if (cidrs.contains(Ipv4Prefix::FromAddress(a))) return Ipv4Prefix::FromAddress(a);
    if (cidrs.contains(Ipv4Prefix::Containing(a, 28))) return Ipv4Prefix::Containing(a, 28);
    return std::nullopt;
  }
  bool InMode(const Ipv4Prefix& c) const { return (c.length() == 28) == (mode_ == AddressMode::kPrefix); }
  bool Active(const Ipv4Prefix& c) const { return InMode(c) && !enis.at(cidrs.at(c)); }
  std::optional<PodKey> Holder(Ipv4Address a) const {
    for (const auto& [pod, held] : pods) {
      if (held == a) return pod;
    }
    return std::nullopt;
  }
  bool Cooling(Ipv4Address a, std::int64_t now) const {
    const auto it = released.find(a);
    return it != released.end() && now - it->second <= cooldown_ns_ && !Holder(a).has_value();
  }
  std::set<Ipv4Address> Free(std::int64_t now) const {
    std::set<Ipv4Address> free;
    for (const auto& [c, eni] : cidrs) {
      if (!Active(c)) continue;
      for (std::uint64_t i = 0; i < c.size(); ++i) {
        const Ipv4Address a = c.AddressAt(i);
        if (!Holder(a).has_value() && !Cooling(a, now)) free.insert(a);
      }
    }
    return free;
  }
  // Drops a CIDR with its pods and cooldowns.
  void DropCidr(const Ipv4Prefix& c) {
    std::erase_if(pods, [&](const auto& e) { return c.Contains(e.second); });
    std::erase_if(released, [&](const auto& e) { return c.Contains(e.first); });
    cidrs.erase(c);
  }

 private:
  AddressMode mode_;
  std::int64_t cooldown_ns_;
};

inline int FuzzDatastoreOps(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t at = 0;
  auto next = [&]() -> std::uint8_t { return at < size ? data[at++] : 0; };
  const std::uint8_t setup = next();
  const AddressMode mode = (setup & 1) ? AddressMode::kPrefix : AddressMode::kSecondaryIp;
  const Placement placement = static_cast<Placement>((setup >> 1) % 3);
  const absl::Duration cooldown = absl::Milliseconds(250 * ((setup >> 3) & 7));
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  NodeDatastore<ManualClock> ds(mode, clock, cooldown, placement);
  DatastoreModel model(mode, absl::ToInt64Nanoseconds(cooldown));
  auto now = [&] { return absl::ToUnixNanos(clock.Now()); };

  // Small name spaces, so that operations collide.
  auto eni_id = [](std::uint8_t b) { return absl::StrCat("eni-", b % 4); };
  auto cidr_of = [](std::uint8_t b) {
    // /28s at 10.0.0.0, .16, .32, .48 and /32s inside them: overlaps happen.
    const std::uint32_t block = (10u << 24) | (static_cast<std::uint32_t>((b >> 1) & 3) << 4);
    if (b & 1) return Ipv4Prefix::FromAddress(Ipv4Address(block | ((b >> 3) & 15u)));
    return Ipv4Prefix::Containing(Ipv4Address(block), 28);
  };
  auto pod_of = [](std::uint8_t b) {
    const int i = b % 20;
    // 16..19 are the reference's legacy keys of containers c0..c3.
    if (i >= 16) return PodKey{"_migrated-from-cri", absl::StrCat("c", i - 16), "unknown"};
    return PodKey{"aws-cni", absl::StrCat("c", i), "eth0"};
  };
  auto address_of = [](std::uint8_t b) { return Ipv4Address((10u << 24) | (b % 72u)); };

  while (at < size) {
    const std::uint8_t op = next();
    std::string step;
    switch (op % 11) {
      case 0: {  // AddEni
        const std::uint8_t b = next();
        const std::string id = eni_id(b);
        const bool excluded = (b & 0x10) != 0;
        step = absl::StrCat("AddEni ", id, excluded ? " excluded" : "");
        const absl::Status s = ds.AddEni({.id = id, .device_number = b % 4, .excluded = excluded});
        if (model.enis.contains(id)) {
          ENIPOOL_FUZZ_CHECK(s.code() == absl::StatusCode::kAlreadyExists, step, ": ", s.ToString());
        } else {
          ENIPOOL_FUZZ_CHECK(s.ok(), step, ": ", s.ToString());
          model.enis[id] = excluded;
        }
        break;
      }
      case 1: {  // RemoveEni
        const std::uint8_t b = next();
        const std::string id = eni_id(b);
        const bool force = (b & 0x10) != 0;
        step = absl::StrCat("RemoveEni ", id, force ? " force" : "");
        const absl::Status s = ds.RemoveEni(id, force);
        if (!model.enis.contains(id)) {
          ENIPOOL_FUZZ_CHECK(s.code() == absl::StatusCode::kNotFound, step, ": ", s.ToString());
          break;
        }
        bool has_pods = false;
        for (const auto& [pod, a] : model.pods) has_pods |= model.cidrs.at(*model.CidrOf(a)) == id;
        if (has_pods && !force) {
          ENIPOOL_FUZZ_CHECK(s.code() == absl::StatusCode::kFailedPrecondition, step, ": ", s.ToString());
          break;
        }
        ENIPOOL_FUZZ_CHECK(s.ok(), step, ": ", s.ToString());
        std::set<Ipv4Prefix> mine;
        for (const auto& [c, owner] : model.cidrs) {
          if (owner == id) mine.insert(c);
        }
        for (const auto& c : mine) model.DropCidr(c);
        model.enis.erase(id);
        break;
      }
      case 2: {  // AddCidr
        const std::string id = eni_id(next());
        const Ipv4Prefix c = cidr_of(next());
        step = absl::StrCat("AddCidr ", id, " ", c.ToString());
        const absl::Status s = ds.AddCidr(id, c);
        bool overlaps = false;
        for (const auto& [other, owner] : model.cidrs) overlaps |= other.Contains(c) || c.Contains(other);
        if (!model.enis.contains(id)) {
          ENIPOOL_FUZZ_CHECK(s.code() == absl::StatusCode::kNotFound, step, ": ", s.ToString());
        } else if (overlaps) {
          ENIPOOL_FUZZ_CHECK(s.code() == absl::StatusCode::kAlreadyExists, step, ": ", s.ToString());
        } else {
          ENIPOOL_FUZZ_CHECK(s.ok(), step, ": ", s.ToString());
          model.cidrs[c] = id;
        }
        break;
      }
      case 3: {  // RemoveCidr
        const std::uint8_t b = next();
        const std::string id = eni_id(b);
        const bool force = (b & 0x10) != 0;
        const Ipv4Prefix c = cidr_of(next());
        step = absl::StrCat("RemoveCidr ", id, " ", c.ToString(), force ? " force" : "");
        const absl::Status s = ds.RemoveCidr(id, c, force);
        const auto it = model.cidrs.find(c);
        if (!model.enis.contains(id) || it == model.cidrs.end() || it->second != id) {
          ENIPOOL_FUZZ_CHECK(s.code() == absl::StatusCode::kNotFound, step, ": ", s.ToString());
          break;
        }
        bool has_pods = false;
        for (const auto& [pod, a] : model.pods) has_pods |= c.Contains(a);
        if (has_pods && !force) {
          ENIPOOL_FUZZ_CHECK(s.code() == absl::StatusCode::kFailedPrecondition, step, ": ", s.ToString());
          break;
        }
        ENIPOOL_FUZZ_CHECK(s.ok(), step, ": ", s.ToString());
        model.DropCidr(c);
        break;
      }
      case 4:
      case 5: {  // Assign
        const PodKey pod = pod_of(next());
        step = absl::StrCat("Assign ", pod.ToString());
        const std::set<Ipv4Address> free = model.Free(now());
        auto a = ds.Assign(pod);
        if (const auto held = model.pods.find(pod); held != model.pods.end()) {
          ENIPOOL_FUZZ_CHECK(a.ok() && a->address == held->second, step, ": not idempotent");
          break;
        }
        if (free.empty()) {
          ENIPOOL_FUZZ_CHECK(a.status().code() == absl::StatusCode::kResourceExhausted, step, ": ",
                             a.status().ToString(), " with no free address");
          break;
        }
        ENIPOOL_FUZZ_CHECK(a.ok(), step, ": ", a.status().ToString(), " with ", free.size(), " free");
        ENIPOOL_FUZZ_CHECK(free.contains(a->address), step, ": got ", a->address.ToString(),
                           ", which is not free (held, cooling, excluded or of the other mode)");
        const auto c = *model.CidrOf(a->address);
        ENIPOOL_FUZZ_CHECK(a->eni_id == model.cidrs.at(c), step, ": wrong ENI ", a->eni_id.view());
        model.pods[pod] = a->address;
        break;
      }
      case 6:
      case 7: {  // Release
        const PodKey pod = pod_of(next());
        step = absl::StrCat("Release ", pod.ToString());
        auto r = ds.Release(pod);
        PodKey key = pod;
        if (!model.pods.contains(key)) key = PodKey{"_migrated-from-cri", pod.container_id, "unknown"};
        const auto held = model.pods.find(key);
        if (held == model.pods.end()) {
          ENIPOOL_FUZZ_CHECK(r.status().code() == absl::StatusCode::kNotFound, step, ": ",
                             r.status().ToString());
          break;
        }
        ENIPOOL_FUZZ_CHECK(r.ok() && r->address == held->second, step, ": ", r.status().ToString());
        model.released[held->second] = now();
        model.pods.erase(held);
        break;
      }
      case 8: {  // AssignAt
        const PodKey pod = pod_of(next());
        const Ipv4Address address = address_of(next());
        const absl::Time when = clock.Now() - absl::Seconds(next());
        step = absl::StrCat("AssignAt ", pod.ToString(), " ", address.ToString());
        auto a = ds.AssignAt(pod, address, when);
        const auto held = model.pods.find(pod);
        if (!model.CidrOf(address).has_value()) {
          ENIPOOL_FUZZ_CHECK(a.status().code() == absl::StatusCode::kNotFound, step, ": ", a.status().ToString());
        } else if (held != model.pods.end()) {
          if (held->second == address) {
            ENIPOOL_FUZZ_CHECK(a.ok(), step, ": ", a.status().ToString());
          } else {
            ENIPOOL_FUZZ_CHECK(a.status().code() == absl::StatusCode::kAlreadyExists, step, ": ",
                               a.status().ToString());
          }
        } else if (model.Holder(address).has_value()) {
          ENIPOOL_FUZZ_CHECK(a.status().code() == absl::StatusCode::kAlreadyExists, step, ": ",
                             a.status().ToString());
        } else {
          ENIPOOL_FUZZ_CHECK(a.ok() && a->address == address, step, ": ", a.status().ToString());
          model.pods[pod] = address;
          model.released.erase(address);
        }
        break;
      }
      case 9: {  // CoolAt
        const Ipv4Address address = address_of(next());
        const std::int64_t when = now() - std::int64_t{next()} * 10'000'000;
        step = absl::StrCat("CoolAt ", address.ToString());
        const absl::Status s = ds.CoolAt(address, absl::FromUnixNanos(when));
        if (!model.CidrOf(address).has_value()) {
          ENIPOOL_FUZZ_CHECK(s.code() == absl::StatusCode::kNotFound, step, ": ", s.ToString());
        } else if (model.Holder(address).has_value()) {
          ENIPOOL_FUZZ_CHECK(s.code() == absl::StatusCode::kFailedPrecondition, step, ": ", s.ToString());
        } else {
          ENIPOOL_FUZZ_CHECK(s.ok(), step, ": ", s.ToString());
          model.released[address] = when;
        }
        break;
      }
      default: {  // time passes
        const std::uint8_t b = next();
        step = absl::StrCat("Advance ", b * 10, " ms");
        clock.AdvanceTime(absl::Milliseconds(b * 10));
        break;
      }
    }
    const absl::Status invariants = ds.CheckInvariants();
    ENIPOOL_FUZZ_CHECK(invariants.ok(), "after ", step, ": ", invariants.ToString());
    // Counters against the model.
    const PoolStats stats = ds.Stats();
    std::int64_t total = 0, assigned = 0, cooling = 0;
    for (const auto& [c, eni] : model.cidrs) {
      if (!model.Active(c)) continue;
      total += static_cast<std::int64_t>(c.size());
      for (std::uint64_t i = 0; i < c.size(); ++i) {
        const Ipv4Address a = c.AddressAt(i);
        if (model.Holder(a).has_value()) ++assigned;
        if (model.Cooling(a, now())) ++cooling;
      }
    }
    ENIPOOL_FUZZ_CHECK(stats.total_ips == total && stats.assigned_ips == assigned &&
                           stats.cooling_ips == cooling,
                       "after ", step, ": stats ", stats.ToString(), " but the model has total ",
                       total, ", assigned ", assigned, ", cooling ", cooling);
    ENIPOOL_FUZZ_CHECK(ds.pod_count() == model.pods.size(), "after ", step, ": pod count");
    for (const auto& [pod, a] : model.pods) {
      const auto found = ds.Lookup(pod);
      ENIPOOL_FUZZ_CHECK(found.has_value() && found->address == a, "after ", step, ": ",
                         pod.ToString(), " lost ", a.ToString());
    }
  }
  return 0;
}

}  // namespace enipool::fuzz

#endif  // ENIPOOL_FUZZ_DATASTORE_OPS_FUZZ_H_
