// Randomized churn of NodeDatastore against a plain model: every call's
// result, every error code, and the stats and per-ENI views are checked
// against what a std::map based recount says they must be.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"
#include "testing/datastore_testing.h"

namespace {

using enipool::AddressMode;
using enipool::Assignment;
using enipool::EniView;
using enipool::Ipv4Address;
using enipool::Ipv4Prefix;
using enipool::ManualClock;
using enipool::Placement;
using enipool::PodKey;
using enipool::PoolStats;

using Datastore = enipool::NodeDatastore<ManualClock>;

std::string CodeName(absl::StatusCode code) { return absl::StatusCodeToString(code); }

// ---------------------------------------------------------------------------
// The model: every address a record, every answer a scan.

struct ModelAddress {
  std::string eni;
  Ipv4Prefix cidr;
  std::optional<PodKey> pod;
  std::optional<std::int64_t> released_ns;  // set by a release, cleared by an assign
};

struct ModelEni {
  int device = 0;
  bool excluded = false;
  absl::Time created;
  std::set<Ipv4Prefix> cidrs;
};

class Model {
 public:
  Model(AddressMode mode, std::int64_t cooldown_ns) : mode_(mode), cooldown_ns_(cooldown_ns) {}

  static bool ValidKey(const PodKey& pod) {
    return !pod.network_name.empty() && !pod.container_id.empty() && !pod.if_name.empty();
  }
  bool InMode(const Ipv4Prefix& cidr) const {
    return (cidr.length() == 28) == (mode_ == AddressMode::kPrefix);
  }
  bool Active(const ModelAddress& a) const { return InMode(a.cidr) && !enis_.at(a.eni).excluded; }
  bool Cooling(const ModelAddress& a, std::int64_t now) const {
    return !a.pod.has_value() && a.released_ns.has_value() && now - *a.released_ns <= cooldown_ns_;
  }
  bool Available(const ModelAddress& a, std::int64_t now) const {
    return Active(a) && !a.pod.has_value() && !Cooling(a, now);
  }

  Assignment AssignmentOf(std::uint32_t address) const {
    const ModelAddress& a = addresses_.at(address);
    const ModelEni& eni = enis_.at(a.eni);
    return Assignment{Ipv4Address(address), *enipool::EniId::Create(a.eni), eni.device,
                      eni.device == 0 ? 254 : eni.device + 1};
  }

  // The group an address belongs to for placement: its /28, or its ENI's /32s.
  std::string GroupOf(const ModelAddress& a) const {
    return a.cidr.length() == 28 ? a.cidr.ToString() : a.eni;
  }
  std::map<std::string, int> AvailableByGroup(std::int64_t now) const {
    std::map<std::string, int> groups;
    for (const auto& [value, a] : addresses_) {
      if (Available(a, now)) groups[GroupOf(a)] += 1;
    }
    return groups;
  }

  PoolStats Stats(std::int64_t now) const {
    PoolStats s;
    for (const auto& [id, eni] : enis_) (eni.excluded ? s.excluded_enis : s.enis) += 1;
    for (const auto& [value, a] : addresses_) {
      if (!Active(a)) continue;
      s.total_ips += 1;
      s.assigned_ips += a.pod.has_value() ? 1 : 0;
      s.cooling_ips += Cooling(a, now) ? 1 : 0;
    }
    s.available_ips = s.total_ips - s.assigned_ips;
    for (const auto& [id, eni] : enis_) {
      for (const Ipv4Prefix& cidr : eni.cidrs) {
        if (cidr.length() != 28) continue;
        const bool free = AssignedIn(cidr) == 0;
        (eni.excluded ? s.excluded_prefixes : s.total_prefixes) += 1;
        (eni.excluded ? s.excluded_free_prefixes : s.free_prefixes) += free ? 1 : 0;
      }
    }
    return s;
  }

  int AssignedIn(const Ipv4Prefix& cidr) const {
    int n = 0;
    for (std::uint64_t i = 0; i < cidr.size(); ++i) {
      n += addresses_.at(cidr.AddressAt(i).value()).pod.has_value() ? 1 : 0;
    }
    return n;
  }

  std::vector<EniView> Views(std::int64_t now) const {
    std::vector<EniView> views;
    for (const auto& [id, eni] : enis_) {
      EniView v;
      v.id = *enipool::EniId::Create(id);
      v.device_number = eni.device;
      v.route_table_id = eni.device == 0 ? 254 : eni.device + 1;
      v.primary = eni.device == 0;
      v.excluded = eni.excluded;
      v.created = eni.created;
      for (const Ipv4Prefix& cidr : eni.cidrs) {
        v.cidrs += 1;
        (cidr.length() == 28 ? v.prefixes : v.secondary_ips) += 1;
        const bool free = AssignedIn(cidr) == 0;
        v.free_cidrs_all += free ? 1 : 0;
        if (InMode(cidr)) v.free_cidrs += free ? 1 : 0;
        for (std::uint64_t i = 0; i < cidr.size(); ++i) {
          const ModelAddress& a = addresses_.at(cidr.AddressAt(i).value());
          const bool assigned = a.pod.has_value();
          const bool cooling = Cooling(a, now);
          v.pods += assigned ? 1 : 0;
          v.cooling_all += cooling ? 1 : 0;
          if (InMode(cidr)) {
            v.total_ips += 1;
            v.assigned_ips += assigned ? 1 : 0;
            v.cooling_ips += cooling ? 1 : 0;
          }
        }
      }
      views.push_back(v);
    }
    std::sort(views.begin(), views.end(), [](const EniView& a, const EniView& b) {
      return std::tie(a.device_number, a.id) < std::tie(b.device_number, b.id);
    });
    return views;
  }

  // First-fit placement takes the group in the lowest internal slot. A group
  // (any /28, or an ENI's /32s, of either mode, excluded or not) takes a slot
  // when it appears and gives it back when it disappears; a new group reuses
  // the slot given back last, else takes the next unused one. An ENI's groups
  // are given back in the order they appeared.
  void OpenGroup(const std::string& eni, const std::string& group) {
    std::uint32_t slot = next_slot_;
    if (free_slots_.empty()) {
      ++next_slot_;
    } else {
      slot = free_slots_.back();
      free_slots_.pop_back();
    }
    group_slot_[group] = slot;
    eni_groups_[eni].push_back(group);
  }
  void CloseGroup(const std::string& eni, const std::string& group) {
    free_slots_.push_back(group_slot_.at(group));
    group_slot_.erase(group);
    std::vector<std::string>& groups = eni_groups_.at(eni);
    groups.erase(std::find(groups.begin(), groups.end(), group));
  }
  // The group key of a CIDR: as GroupOf().
  static std::string GroupKey(const std::string& eni, const Ipv4Prefix& cidr) {
    return cidr.length() == 28 ? cidr.ToString() : eni;
  }
  void OnCidrAdded(const std::string& eni, const Ipv4Prefix& cidr) {
    if (!group_slot_.contains(GroupKey(eni, cidr))) OpenGroup(eni, GroupKey(eni, cidr));
  }
  // After the CIDR has left enis_[eni].cidrs.
  void OnCidrRemoved(const std::string& eni, const Ipv4Prefix& cidr) {
    if (cidr.length() == 32) {
      for (const Ipv4Prefix& other : enis_.at(eni).cidrs) {
        if (other.length() == 32) return;  // the ENI's /32 group lives on
      }
    }
    CloseGroup(eni, GroupKey(eni, cidr));
  }
  void OnEniRemoved(const std::string& eni) {
    for (const std::string& group : std::vector<std::string>(eni_groups_[eni])) {
      CloseGroup(eni, group);
    }
  }
  std::uint32_t SlotOf(const std::string& group) const { return group_slot_.at(group); }

  AddressMode mode_;
  std::int64_t cooldown_ns_;
  std::map<std::string, std::uint32_t> group_slot_;
  std::vector<std::uint32_t> free_slots_;
  std::uint32_t next_slot_ = 0;
  std::map<std::string, std::vector<std::string>> eni_groups_;  // in the order they appeared
  std::map<std::string, ModelEni> enis_;
  std::map<std::uint32_t, ModelAddress> addresses_;
  std::map<PodKey, std::uint32_t> pods_;
};

// ---------------------------------------------------------------------------
// The churn driver.

struct ChurnConfig {
  AddressMode mode;
  Placement placement;
  std::uint64_t seed;
  int operations;
  absl::Duration cooldown;
};

class Churn {
 public:
  explicit Churn(const ChurnConfig& config)
      : config_(config),
        rng_(config.seed),
        clock_(absl::FromUnixSeconds(1'700'000'000)),
        ds_(config.mode, clock_, config.cooldown, config.placement),
        model_(config.mode, std::max<std::int64_t>(0, absl::ToInt64Nanoseconds(config.cooldown))) {}

  void Run() {
    for (int op = 0; op < config_.operations; ++op) {
      CAPTURE(op);
      Step();
      if (op % 4 == 0) CompareStats();
      if (op % 500 == 0) CompareEverything();
      if (failures_ > 20) break;  // enough to debug; do not flood the log
    }
    CompareEverything();
    // The run must have met every outcome, or it proved less than it claims.
    for (const char* what : {"Assign",
                             "idempotent Assign",
                             "Assign on a pool with no available address",
                             "Assign with an empty key part",
                             "Release",
                             "Release of an unknown pod",
                             "AssignAt",
                             "AssignAt on an address in no CIDR",
                             "AssignAt on an assigned address",
                             "AssignAt of a pod that holds another address",
                             "AddCidr",
                             "AddCidr of a bad length",
                             "AddCidr of an overlapping CIDR",
                             "AddCidr on an unknown ENI",
                             "RemoveCidr",
                             "RemoveCidr with pods, no force",
                             "RemoveCidr of a CIDR the ENI does not hold",
                             "AddEni",
                             "AddEni of a known ENI",
                             "AddEni with a bad id or device",
                             "RemoveEni",
                             "RemoveEni with pods, no force",
                             "RemoveEni of an unknown ENI"}) {
      CHECK_MESSAGE(outcomes_[what] > 0, "never met: ", std::string(what));
    }
    CHECK(legacy_releases_ > 0);
    CHECK(max_pods_ >= 16);
    if (config_.placement == Placement::kFirstFit) CHECK(first_fit_checks_ > 0);
  }

 private:
  enum Op {
    kAssign,
    kRelease,
    kAssignAt,
    kReleaseAt,
    kAddCidr,
    kRemoveCidr,
    kAddEni,
    kRemoveEni,
    kStepSmall,
    kStepLarge,
    kOpCount
  };

  std::uint64_t Uniform(std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_);
  }
  bool Chance(int percent) { return Uniform(100) < static_cast<std::uint64_t>(percent); }
  std::int64_t Now() const { return absl::ToUnixNanos(clock_.Now()); }

  // Pods: a population a bit larger than the pool, a few with a second
  // interface, the legacy key now and then, and a malformed key rarely.
  PodKey RandomPod() {
    const int n = static_cast<int>(Uniform(kPodPopulation));
    if (Chance(1)) {
      switch (Uniform(3)) {
        case 0:
          return PodKey{"", enipool::testing::Pod(n).container_id, "eth0"};
        case 1:
          return PodKey{"aws-cni", "", "eth0"};
        default:
          return PodKey{"aws-cni", enipool::testing::Pod(n).container_id, ""};
      }
    }
    if (Chance(3)) return enipool::testing::Pod(n, "eth1");
    return enipool::testing::Pod(n);
  }
  static PodKey LegacyOf(const PodKey& pod) {
    return PodKey{"_migrated-from-cri", pod.container_id, "unknown"};
  }

  std::string RandomEniId() {
    if (Chance(2)) return Chance(50) ? "bad id" : "";
    return enipool::testing::EniName(static_cast<int>(Uniform(kEniIds)));
  }

  // CIDRs from one small block so that overlaps are common: in prefix mode a
  // /24 (16 /28s), in secondary-IP mode a /26 (64 /32s, 4 /28s).
  Ipv4Prefix RandomCidr(bool in_mode) {
    const bool prefix_mode = config_.mode == AddressMode::kPrefix;
    const std::uint32_t span = prefix_mode ? 256 : 64;
    const std::uint32_t offset = static_cast<std::uint32_t>(Uniform(span));
    const Ipv4Address address((10u << 24) | offset);
    if (Chance(2)) {
      const int lengths[] = {24, 27, 29, 30, 31};
      return Ipv4Prefix::Containing(address, lengths[Uniform(5)]);
    }
    const bool want_prefix = in_mode == prefix_mode;
    return Ipv4Prefix::Containing(address, want_prefix ? 28 : 32);
  }

  Ipv4Address RandomAddress() {
    const std::uint32_t span = config_.mode == AddressMode::kPrefix ? 256 : 64;
    if (Chance(3)) return Ipv4Address(192, 168, 0, static_cast<std::uint8_t>(Uniform(256)));
    return Ipv4Address((10u << 24) | static_cast<std::uint32_t>(Uniform(span)));
  }

  template <typename T>
  absl::Status StatusOf(const absl::StatusOr<T>& r) {
    return r.status();
  }
  absl::Status StatusOf(const absl::Status& s) { return s; }

  // Checks the code of a result against the model's expectation.
  template <typename R>
  bool ExpectCode(const R& result, absl::StatusCode want, const char* what) {
    const absl::Status status = StatusOf(result);
    outcomes_[what] += 1;
    if (status.code() == want) return true;
    ++failures_;
    FAIL_CHECK(what, ": want ", CodeName(want), ", got ", status.ToString());
    return false;
  }

  void Step() {
    // Weights: mostly pod traffic; structure changes and time steps now and then.
    // Secondary-IP pools grow one address per AddCidr, so they get more of them.
    static constexpr int kPrefixWeights[kOpCount] = {40, 30, 3, 3, 6, 5, 2, 2, 8, 1};
    static constexpr int kSecondaryWeights[kOpCount] = {35, 26, 3, 3, 15, 4, 2, 2, 9, 1};
    const int* weights = config_.mode == AddressMode::kPrefix ? kPrefixWeights : kSecondaryWeights;
    int roll = static_cast<int>(Uniform(100));
    int op = 0;
    while (roll >= weights[op]) roll -= weights[op++];
    ++done_[op];
    switch (op) {
      case kAssign:
        DoAssign();
        break;
      case kRelease:
        DoRelease(std::nullopt);
        break;
      case kAssignAt:
        DoAssignAt();
        break;
      case kReleaseAt:
        DoRelease(Now() - static_cast<std::int64_t>(Uniform(40'000)) * 1'000'000);
        break;
      case kAddCidr:
        DoAddCidr();
        break;
      case kRemoveCidr:
        DoRemoveCidr();
        break;
      case kAddEni:
        DoAddEni();
        break;
      case kRemoveEni:
        DoRemoveEni();
        break;
      case kStepSmall:
        // Sometimes exactly onto a cooldown boundary.
        clock_.AdvanceTime(Chance(20)
                               ? absl::Nanoseconds(1)
                               : absl::Milliseconds(static_cast<std::int64_t>(Uniform(3000))));
        break;
      case kStepLarge:
        clock_.AdvanceTime(config_.cooldown +
                           absl::Seconds(static_cast<std::int64_t>(Uniform(10))));
        break;
    }
  }

  void DoAssign() {
    const PodKey pod = RandomPod();
    const auto result = ds_.Assign(pod);
    if (!Model::ValidKey(pod)) {
      ExpectCode(result, absl::StatusCode::kInvalidArgument, "Assign with an empty key part");
      return;
    }
    if (const auto it = model_.pods_.find(pod); it != model_.pods_.end()) {
      if (!ExpectCode(result, absl::StatusCode::kOk, "idempotent Assign")) return;
      CHECK(*result == model_.AssignmentOf(it->second));
      return;
    }
    const std::int64_t now = Now();
    const std::map<std::string, int> groups = model_.AvailableByGroup(now);
    if (groups.empty()) {
      ExpectCode(result, absl::StatusCode::kResourceExhausted,
                 "Assign on a pool with no available address");
      return;
    }
    if (!ExpectCode(result, absl::StatusCode::kOk, "Assign")) return;
    const std::uint32_t value = result->address.value();
    const auto it = model_.addresses_.find(value);
    REQUIRE_MESSAGE(it != model_.addresses_.end(), "handed out ", result->address.ToString(),
                    ", which is in no CIDR");
    ModelAddress& a = it->second;
    REQUIRE_MESSAGE(model_.Available(a, now), "handed out ", result->address.ToString(),
                    ", which is assigned, cooling, of the other mode or excluded");
    CHECK(*result == model_.AssignmentOf(value));
    // Placement: the chosen group against the strategy.
    const int chosen = groups.at(model_.GroupOf(a));
    int fewest = 1 << 30, most = 0;
    for (const auto& [group, n] : groups) {
      fewest = std::min(fewest, n);
      most = std::max(most, n);
    }
    if (config_.placement == Placement::kBestFit) CHECK(chosen == fewest);
    if (config_.placement == Placement::kSpread) CHECK(chosen == most);
    if (config_.placement == Placement::kFirstFit) {
      std::uint32_t lowest = std::numeric_limits<std::uint32_t>::max();
      for (const auto& [group, n] : groups) lowest = std::min(lowest, model_.SlotOf(group));
      CHECK(model_.SlotOf(model_.GroupOf(a)) == lowest);
      ++first_fit_checks_;
    }
    // Inside a /28, the lowest available address.
    if (a.cidr.length() == 28) {
      for (std::uint64_t i = 0; i < a.cidr.size(); ++i) {
        const Ipv4Address lower = a.cidr.AddressAt(i);
        if (lower == result->address) break;
        CHECK_FALSE(model_.Available(model_.addresses_.at(lower.value()), now));
      }
    }
    a.pod = pod;
    a.released_ns.reset();
    model_.pods_[pod] = value;
  }

  void DoRelease(std::optional<std::int64_t> at) {
    PodKey pod = RandomPod();
    if (!model_.pods_.empty() && Chance(75)) {  // mostly a pod that is there
      auto pick = model_.pods_.begin();
      std::advance(pick, static_cast<long>(Uniform(model_.pods_.size())));
      pod = pick->first;
      if (pod.network_name == "_migrated-from-cri" && Chance(80)) {
        pod = PodKey{"aws-cni", pod.container_id, "eth0"};  // the DEL a CNI plugin sends
      }
    }
    const auto result =
        at.has_value() ? ds_.ReleaseAt(pod, absl::FromUnixNanos(*at)) : ds_.Release(pod);
    auto it = model_.pods_.find(pod);
    if (it == model_.pods_.end()) {
      it = model_.pods_.find(LegacyOf(pod));
      if (it != model_.pods_.end()) ++legacy_releases_;
    }
    if (it == model_.pods_.end()) {
      ExpectCode(result, absl::StatusCode::kNotFound, "Release of an unknown pod");
      return;
    }
    if (!ExpectCode(result, absl::StatusCode::kOk, "Release")) return;
    CHECK(*result == model_.AssignmentOf(it->second));
    ModelAddress& a = model_.addresses_.at(it->second);
    a.pod.reset();
    a.released_ns = at.value_or(Now());
    model_.pods_.erase(it);
  }

  void DoAssignAt() {
    PodKey pod = RandomPod();
    if (Chance(30)) pod = LegacyOf(pod);
    const Ipv4Address address = RandomAddress();
    const absl::Time when = clock_.Now() - absl::Seconds(static_cast<std::int64_t>(Uniform(100)));
    const auto result = ds_.AssignAt(pod, address, when);
    if (!Model::ValidKey(pod)) {
      ExpectCode(result, absl::StatusCode::kInvalidArgument, "AssignAt with an empty key part");
      return;
    }
    const auto it = model_.addresses_.find(address.value());
    if (it == model_.addresses_.end()) {
      ExpectCode(result, absl::StatusCode::kNotFound, "AssignAt on an address in no CIDR");
      return;
    }
    if (const auto held = model_.pods_.find(pod); held != model_.pods_.end()) {
      if (held->second == address.value()) {
        if (ExpectCode(result, absl::StatusCode::kOk, "AssignAt of a pod to its own address")) {
          CHECK(*result == model_.AssignmentOf(address.value()));
        }
      } else {
        ExpectCode(result, absl::StatusCode::kAlreadyExists,
                   "AssignAt of a pod that holds another address");
      }
      return;
    }
    if (it->second.pod.has_value()) {
      ExpectCode(result, absl::StatusCode::kAlreadyExists, "AssignAt on an assigned address");
      return;
    }
    if (!ExpectCode(result, absl::StatusCode::kOk, "AssignAt")) return;
    CHECK(*result == model_.AssignmentOf(address.value()));
    it->second.pod = pod;
    it->second.released_ns.reset();
    model_.pods_[pod] = address.value();
  }

  void DoAddCidr() {
    const std::string eni = RandomEniId();
    const Ipv4Prefix cidr = RandomCidr(/*in_mode=*/Chance(85));
    const absl::Status status = ds_.AddCidr(eni, cidr);
    if (cidr.length() != 28 && cidr.length() != 32) {
      ExpectCode(status, absl::StatusCode::kInvalidArgument, "AddCidr of a bad length");
      return;
    }
    if (!model_.enis_.contains(eni)) {
      ExpectCode(status, absl::StatusCode::kNotFound, "AddCidr on an unknown ENI");
      return;
    }
    for (std::uint64_t i = 0; i < cidr.size(); ++i) {
      if (model_.addresses_.contains(cidr.AddressAt(i).value())) {
        ExpectCode(status, absl::StatusCode::kAlreadyExists, "AddCidr of an overlapping CIDR");
        return;
      }
    }
    if (!ExpectCode(status, absl::StatusCode::kOk, "AddCidr")) return;
    model_.OnCidrAdded(eni, cidr);
    model_.enis_[eni].cidrs.insert(cidr);
    for (std::uint64_t i = 0; i < cidr.size(); ++i) {
      model_.addresses_[cidr.AddressAt(i).value()] =
          ModelAddress{eni, cidr, std::nullopt, std::nullopt};
    }
  }

  // Removes the CIDR's addresses and the pods on them from the model.
  void ForgetCidr(const Ipv4Prefix& cidr) {
    for (std::uint64_t i = 0; i < cidr.size(); ++i) {
      const auto it = model_.addresses_.find(cidr.AddressAt(i).value());
      if (it->second.pod.has_value()) model_.pods_.erase(*it->second.pod);
      model_.addresses_.erase(it);
    }
  }

  void DoRemoveCidr() {
    const std::string eni = RandomEniId();
    // Mostly a CIDR the ENI holds, so that removals happen.
    Ipv4Prefix cidr = RandomCidr(Chance(85));
    const auto found = model_.enis_.find(eni);
    if (found != model_.enis_.end() && !found->second.cidrs.empty() && Chance(70)) {
      auto pick = found->second.cidrs.begin();
      std::advance(pick, static_cast<long>(Uniform(found->second.cidrs.size())));
      cidr = *pick;
    }
    const bool force = Chance(40);
    const absl::Status status = ds_.RemoveCidr(eni, cidr, force);
    if (cidr.length() != 28 && cidr.length() != 32) {
      ExpectCode(status, absl::StatusCode::kInvalidArgument, "RemoveCidr of a bad length");
      return;
    }
    if (found == model_.enis_.end()) {
      ExpectCode(status, absl::StatusCode::kNotFound, "RemoveCidr on an unknown ENI");
      return;
    }
    if (!found->second.cidrs.contains(cidr)) {
      ExpectCode(status, absl::StatusCode::kNotFound, "RemoveCidr of a CIDR the ENI does not hold");
      return;
    }
    if (model_.AssignedIn(cidr) > 0 && !force) {
      ExpectCode(status, absl::StatusCode::kFailedPrecondition, "RemoveCidr with pods, no force");
      return;
    }
    if (!ExpectCode(status, absl::StatusCode::kOk, "RemoveCidr")) return;
    ForgetCidr(cidr);
    found->second.cidrs.erase(cidr);
    model_.OnCidrRemoved(eni, cidr);
  }

  void DoAddEni() {
    const std::string eni = RandomEniId();
    const int device = Chance(3) ? -1 : static_cast<int>(Uniform(8));
    const bool excluded = Chance(15);
    const absl::Status status = ds_.AddEni(
        {.id = eni, .device_number = device, .primary = device == 0, .excluded = excluded});
    if (!enipool::EniId::Create(eni).ok() || device < 0) {
      ExpectCode(status, absl::StatusCode::kInvalidArgument, "AddEni with a bad id or device");
      return;
    }
    if (model_.enis_.contains(eni)) {
      ExpectCode(status, absl::StatusCode::kAlreadyExists, "AddEni of a known ENI");
      return;
    }
    if (!ExpectCode(status, absl::StatusCode::kOk, "AddEni")) return;
    model_.enis_[eni] = ModelEni{device, excluded, clock_.Now(), {}};
  }

  void DoRemoveEni() {
    const std::string eni = RandomEniId();
    const bool force = Chance(40);
    const absl::Status status = ds_.RemoveEni(eni, force);
    const auto found = model_.enis_.find(eni);
    if (found == model_.enis_.end()) {
      ExpectCode(status, absl::StatusCode::kNotFound, "RemoveEni of an unknown ENI");
      return;
    }
    int pods = 0;
    for (const Ipv4Prefix& cidr : found->second.cidrs) pods += model_.AssignedIn(cidr);
    if (pods > 0 && !force) {
      ExpectCode(status, absl::StatusCode::kFailedPrecondition, "RemoveEni with pods, no force");
      return;
    }
    if (!ExpectCode(status, absl::StatusCode::kOk, "RemoveEni")) return;
    for (const Ipv4Prefix& cidr : found->second.cidrs) ForgetCidr(cidr);
    model_.OnEniRemoved(eni);
    model_.enis_.erase(found);
  }

  void CompareStats() {
    const PoolStats want = model_.Stats(Now());
    const PoolStats got = ds_.Stats();
    max_pods_ = std::max(max_pods_, got.assigned_ips);
    max_total_ = std::max(max_total_, got.total_ips);
    if (!(got == want)) ++failures_;
    REQUIRE(got == want);
    REQUIRE(ds_.pod_count() == model_.pods_.size());
  }

  void CompareEverything() {
    CompareStats();
    REQUIRE(ds_.CheckInvariants() == absl::OkStatus());
    const std::vector<EniView> want = model_.Views(Now());
    const std::vector<EniView> got = ds_.EniViews();
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CAPTURE(got[i].id.ToString());
      REQUIRE(got[i] == want[i]);
    }
    // No address held by two pods, and every pod where the model has it.
    std::map<std::uint32_t, PodKey> holders;
    ds_.ForEachAssignment([&](const PodKey& pod, const Assignment& a, absl::Time) {
      CHECK_MESSAGE(holders.emplace(a.address.value(), pod).second, a.address.ToString(),
                    " is held by two pods");
      const auto it = model_.pods_.find(pod);
      REQUIRE_MESSAGE(it != model_.pods_.end(), "unknown pod ", pod.ToString());
      CHECK(a == model_.AssignmentOf(it->second));
    });
    CHECK(holders.size() == model_.pods_.size());
    // Cooling addresses: exactly the model's, in release order.
    std::vector<Ipv4Address> cooling;
    std::int64_t last = 0;
    ds_.ForEachCooling([&](Ipv4Address address, absl::Time released) {
      const std::int64_t ns = absl::ToUnixNanos(released);
      CHECK(ns >= last);
      last = ns;
      const auto it = model_.addresses_.find(address.value());
      REQUIRE(it != model_.addresses_.end());
      CHECK(it->second.released_ns == std::optional<std::int64_t>(ns));
      cooling.push_back(address);
    });
    std::size_t want_cooling = 0;
    for (const auto& [value, a] : model_.addresses_)
      want_cooling += model_.Cooling(a, Now()) ? 1u : 0u;
    CHECK(cooling.size() == want_cooling);
  }

  static constexpr std::uint64_t kPodPopulation = 300;
  static constexpr std::uint64_t kEniIds = 6;

  ChurnConfig config_;
  std::mt19937_64 rng_;
  ManualClock clock_;
  Datastore ds_;
  Model model_;
  int failures_ = 0;
  int legacy_releases_ = 0;
  int first_fit_checks_ = 0;  // Assigns whose placement was checked against first fit
  std::int64_t max_pods_ = 0, max_total_ = 0;
  std::map<std::string, int> outcomes_;  // how often each expectation was met
  int done_[kOpCount] = {};
};

void RunChurn(AddressMode mode, absl::Duration cooldown, std::uint64_t seed) {
  // At least 100,000 operations per mode, split over the three strategies.
  constexpr int kOperationsPerPlacement = 34'000;
  for (Placement placement : {Placement::kBestFit, Placement::kSpread, Placement::kFirstFit}) {
    CAPTURE(static_cast<int>(placement));
    Churn churn({mode, placement, seed + static_cast<std::uint64_t>(placement),
                 kOperationsPerPlacement, cooldown});
    churn.Run();
  }
}

TEST_CASE("NodeDatastore matches a plain model under random churn in secondary-IP mode") {
  RunChurn(AddressMode::kSecondaryIp, absl::Seconds(30), 0x5EC0DA41);
}

TEST_CASE("NodeDatastore matches a plain model under random churn in prefix mode") {
  RunChurn(AddressMode::kPrefix, absl::Seconds(30), 0x9F1E28);
}

TEST_CASE("NodeDatastore matches a plain model under churn with a short and a zero cooldown") {
  for (AddressMode mode : {AddressMode::kSecondaryIp, AddressMode::kPrefix}) {
    CAPTURE(AddressModeName(mode));
    for (absl::Duration cooldown : {absl::Seconds(2), absl::ZeroDuration()}) {
      Churn churn({mode, Placement::kBestFit, 77, 8'000, cooldown});
      churn.Run();
    }
  }
}

}  // namespace
