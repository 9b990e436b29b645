// -----------------------------------------------------------------------------
// File: restart_recovery.h
// -----------------------------------------------------------------------------
//
// What a durable NodeController does at restart with the EC2 sequences that
// were under way when it stopped: a pure function from the intents its store
// kept open (pool_store.h), the pool the journal rebuilt, and EC2's answer to
// the startup describe, to the calls that finish each sequence. controller.h
// carries the plan out; this header holds the rules so they can be read, and
// tested, on their own.
//
// Example:
//
//   enipool::RecoveryPlan plan = enipool::PlanRestartRecovery(
//       store.intents(), store.datastore(), described_interfaces, "i-0abc");
//   for (const auto& d : plan.deletes) { /* DeleteNetworkInterface(d.eni_id) */ }
//
// The rule throughout: what the journal still holds never left the pool (the
// crash came before the change was written), so its intent is simply ended;
// what left the pool is finished in EC2, never taken back:
//   * kCreateEni (the ENI's id never came back): the ENI may exist,
//     unattached; it is found by the description the controller gives every
//     ENI it creates ("aws-K8S-<instance-id>") and deleted (`sweep`). If
//     the attach went through too, the startup describe adopts it.
//   * kAttachEni: the pool holds the ENI, or EC2 attaches it to the node (it
//     is adopted) → done; otherwise it is deleted (NotFound counts as done).
//   * kFreeEni: the pool holds the ENI → the free never started, done.
//     Otherwise it stays out of the pool: still attached → detached and
//     deleted; not attached → deleted.
//   * kUnassign: each CIDR the pool no longer holds that EC2 still lists on
//     the ENI stays out of the pool and is unassigned again; none → done.
// The controller's ordinary startup rules then apply to everything else:
// ENIs and CIDRs EC2 has that the journal lacks are adopted; ENIs and CIDRs
// the journal has that EC2 no longer gives the node are dropped, and the pods
// on them reported.

#ifndef ENIPOOL_RESTART_RECOVERY_H_
#define ENIPOOL_RESTART_RECOVERY_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ec2/backend.h"
#include "enipool/ipv4.h"
#include "enipool/pool_store.h"

namespace enipool {

// RecoveryPlan
//
// The calls that finish the sequences open at a restart (see the file
// comment). Each call carries the intent it ends once answered.
struct RecoveryPlan {
  struct Detach {
    std::uint64_t intent = 0;
    std::string eni_id;
    std::string attachment_id;
  };
  struct Delete {
    std::uint64_t intent = 0;
    std::string eni_id;
  };
  struct Unassign {
    std::uint64_t intent = 0;
    std::string eni_id;
    std::vector<Ipv4Prefix> cidrs;
  };

  // ENIs EC2 attaches to the node that must not join the pool.
  absl::flat_hash_set<std::string> keep_out_enis;
  // CIDRs EC2 still lists that must not join the pool.
  absl::flat_hash_set<Ipv4Prefix> keep_out_cidrs;
  std::vector<Detach> detaches;      // then delete, as when freeing an ENI
  std::vector<Delete> deletes;
  std::vector<Unassign> unassigns;
  std::vector<std::uint64_t> done;   // intents with nothing left to do
  std::vector<std::uint64_t> sweep;  // kCreateEni intents: look for the ENI by description

  [[nodiscard]] bool empty() const {
    return detaches.empty() && deletes.empty() && unassigns.empty() && done.empty() &&
           sweep.empty();
  }
};

// The description the controller gives every ENI it creates (the
// reference's), by which a restart finds one whose create was not answered.
inline std::string CreatedEniDescription(absl::string_view instance_id) {
  return absl::StrCat("aws-K8S-", instance_id);
}

// PlanRestartRecovery()
//
// The plan for `intents` (see the file comment), given the pool the journal
// rebuilt and `interfaces`, EC2's answer to DescribeNetworkInterfaces for
// the instance. O(intents × (interfaces + CIDRs of their ENI)).
template <Clock C>
[[nodiscard]] RecoveryPlan PlanRestartRecovery(const std::vector<PoolIntent>& intents,
                                               const NodeDatastore<C>& pool,
                                               const std::vector<NetworkInterface>& interfaces,
                                               absl::string_view instance_id) {
  RecoveryPlan plan;
  auto attached = [&](absl::string_view eni) -> const NetworkInterface* {
    for (const NetworkInterface& ni : interfaces) {
      if (ni.id == eni && ni.instance_id == instance_id && ni.attached()) return &ni;
    }
    return nullptr;
  };
  for (const PoolIntent& intent : intents) {
    switch (intent.kind) {
      case PoolIntentKind::kCreateEni:
        plan.sweep.push_back(intent.id);
        break;
      case PoolIntentKind::kAttachEni:
        if (pool.FindEni(intent.eni_id).ok() || attached(intent.eni_id) != nullptr) {
          plan.done.push_back(intent.id);
        } else {
          plan.deletes.push_back({intent.id, intent.eni_id});
        }
        break;
      case PoolIntentKind::kFreeEni:
        if (pool.FindEni(intent.eni_id).ok()) {
          plan.done.push_back(intent.id);
        } else if (const NetworkInterface* ni = attached(intent.eni_id); ni != nullptr) {
          plan.keep_out_enis.insert(intent.eni_id);
          plan.detaches.push_back({intent.id, intent.eni_id, ni->attachment_id});
        } else {
          plan.deletes.push_back({intent.id, intent.eni_id});
        }
        break;
      case PoolIntentKind::kUnassign: {
        RecoveryPlan::Unassign unassign{intent.id, intent.eni_id, {}};
        const NetworkInterface* ni = attached(intent.eni_id);
        const auto held = pool.Cidrs(intent.eni_id);
        for (const Ipv4Prefix& cidr : intent.cidrs) {
          const bool in_pool =
              held.ok() && std::any_of(held->begin(), held->end(),
                                       [&](const CidrView& c) { return c.cidr == cidr; });
          if (in_pool || ni == nullptr) continue;
          const bool listed =
              cidr.length() == 28
                  ? std::find(ni->prefixes.begin(), ni->prefixes.end(), cidr) != ni->prefixes.end()
                  : std::find(ni->secondary_ips.begin(), ni->secondary_ips.end(),
                              cidr.network()) != ni->secondary_ips.end();
          if (!listed) continue;
          unassign.cidrs.push_back(cidr);
          plan.keep_out_cidrs.insert(cidr);
        }
        if (unassign.cidrs.empty()) {
          plan.done.push_back(intent.id);
        } else {
          plan.unassigns.push_back(std::move(unassign));
        }
        break;
      }
    }
  }
  return plan;
}

}  // namespace enipool

#endif  // ENIPOOL_RESTART_RECOVERY_H_
