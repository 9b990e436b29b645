// -----------------------------------------------------------------------------
// File: controller.h
// -----------------------------------------------------------------------------
//
// `NodeController`: the reference's pool loop (docs/reference-behavior.md §4.3–§4.8, §7, §8.3)
// as a sans-I/O state machine. It owns the store that holds the node's pool
// (`Store`: an in-memory `NodeDatastore` by default, or the journaled store
// of persist/journal.h, see "Durability" below), asks the warm-pool policy
// (a `WarmPoolPolicy`, policy/policy.h; the reference's `PlanReconcile` by
// default) what to do, and turns the plan into EC2 requests; it
// never calls EC2 itself. The caller makes the calls (a blocking
// driver, see driver.h, or a discrete-event simulator) and hands each answer
// back. The same controller therefore runs in production and in a simulated
// cluster of thousands of nodes.
//
// Example:
//
//   enipool::ManualClock clock;
//   enipool::ControllerConfig config;
//   config.pool = {.mode = enipool::AddressMode::kPrefix, .warm_prefix_target = 1,
//                  .max_enis = 3, .ipv4_per_eni = 10};
//   config.instance_id = "i-0abc";
//   config.subnet_id = "subnet-1";
//   auto controller = enipool::NodeController<enipool::ManualClock>::Create(clock, config);
//   std::vector<enipool::Ec2Request> requests = controller->Start(clock.Now());
//   // ... make each call, then:
//   //   controller->OnResult(request, result, clock.Now(), requests);   // may add follow-ups
//   controller->Tick(clock.Now(), requests);                             // every 5 s
//   controller->AddPod({"aws-cni", "c1", "eth0"});                       // never waits for EC2
//
// Sequences (each step is one request; the next is issued when the previous
// answer is applied, so `OnResult` may append follow-up requests):
//   * start:      DescribeNetworkInterfaces(instance) → ENIs and CIDRs rebuilt
//                 (docs/reference-behavior.md §8.3); a failure is retried 10 s later. The
//                 reference's release of the other mode's unused CIDRs is
//                 ReleaseOtherModeCidrs(), for after a checkpoint restore.
//   * grow ENI:   AssignPrivateIpAddresses / AssignIpv4Prefixes(count) → the
//                 returned addresses go straight into the datastore
//                 (docs/reference-behavior.md §4.6).
//                 On an error other than PrivateIpAddressLimitExceeded the
//                 call is retried once with count 1; on
//                 PrivateIpAddressLimitExceeded (or NotFound) the ENI is
//                 resynced from DescribeNetworkInterfaces(eni).
//   * new ENI:    CreateNetworkInterface(count) → AttachNetworkInterface(the
//                 lowest free device index) → the ENI and the create's
//                 addresses join the datastore. An attach failure deletes the
//                 new ENI (docs/reference-behavior.md §7.1; AttachmentLimitExceeded
//                 has no other handling). With
//                 ControllerConfig::set_delete_on_termination a successful
//                 attach is followed by ModifyNetworkInterfaceAttribute
//                 (the attachment's DeleteOnTermination=true) before the ENI
//                 joins the pool; if that fails the ENI is detached and
//                 deleted again, as the reference's AllocENI frees it. With EniPrimaryPlacement::
//                 kFragmentationAware the create names its primary address
//                 inside a /28 the node knows is broken (policy/eni_address.h),
//                 except within 120 s of an InsufficientCidrBlocks answer
//                 (no free /28 is left to protect);
//                 a refused address is remembered and the create sent again
//                 at once with the next candidate, up to 3 names, then with
//                 none (EC2 chooses).
//   * shrink:     the CIDRs leave the datastore first (non-forced), then
//                 UnassignPrivateIpAddresses / UnassignIpv4Prefixes; failures
//                 are only counted (docs/reference-behavior.md §4.7).
//   * free ENI:   the ENI leaves the datastore first, then
//                 DetachNetworkInterface → (2 s pause) → DeleteNetworkInterface,
//                 each retried up to 12 times with doubling back-off; NotFound
//                 counts as done (docs/reference-behavior.md §4.8, §7.3). The
//                 attachment id comes from the controller's own records, so no
//                 describe precedes the detach.
//   * an InsufficientCidrBlocks / InsufficientFreeAddressesInSubnet answer
//     (after the retry, or to a create) starts the 120 s no-increase back-off:
//     the controller stamps the time and the policy reads it (the
//     reference's rules grow nothing for 120 s). A policy may instead ask
//     for the other kind of CIDR (IncreaseStep::kind): PrefixFallbackPolicy
//     takes /32s in prefix mode, on a datastore that hands out both
//     (WarmPoolConfig::secondary_ip_fallback, OtherKindFor()).
//   * resync:     DescribeNetworkInterfaces(eni): EC2's list replaces the
//                 datastore's for that ENI (missing CIDRs added, others
//                 force-removed); NotFound, or an ENI no longer attached to
//                 the node, drops the ENI (forced), as the reference's
//                 reconcile does for an ENI that left IMDS (docs/reference-behavior.md §8.4).
//                 An OK answer that does not list the ENI (an empty list) is
//                 not NotFound: it changes nothing (counted).
//   * an OK describe of the instance that does not list its primary ENI
//     (an empty list) changes nothing and counts as a failed describe: a
//     running instance always has its primary ENI.
//   * ENI classes (eni_class.h, docs/reference-behavior.md §4.13): at every
//     describe of the instance each attached ENI is classified by its tags
//     and interface type; unmanaged and EFA-only ENIs stay out of the pool
//     (ManagedEni records with in_pool false, which count against
//     max_enis), trunk and EFA ENIs join it flagged (never grown / never
//     freed by the policy), and a pool ENI that has become unmanaged leaves
//     the pool (forced). New ENIs carry CreatedEniTags() and
//     ControllerConfig::security_group_ids.
//   * tagging (ControllerConfig::tag_enis, docs/reference-behavior.md
//     §4.13): before a startup describe is applied, each managed ENI of the
//     card but a trunk that lacks the node's tags (NodeEniTags()) gets a
//     CreateTags of what it lacks; before a reconcile describe, each such
//     ENI new to the pool. The describe is applied once they are answered;
//     each is tried as TagRetry says, and one that gives up fails the
//     startup (retried start_retry later) or keeps that ENI out of the pool
//     until the next reconcile.
//   * reconcile (off by default, ControllerConfig::reconcile_interval):
//                 DescribeNetworkInterfaces(instance) when that long has
//                 passed since the last pool action; every ENI is resynced,
//                 new ones adopted, vanished ones dropped.
//   * subnet discovery (ControllerConfig::subnet_discovery, subnet_selection.h):
//     a startup or reconcile describe is followed by DescribeSubnets, and
//     every pool ENI follows its subnet's tags (excluded or not); a create
//     is preceded by DescribeSubnets and tried in the valid subnets, most
//     free addresses first; an assign that finds its subnet exhausted
//     moves on (the policy asked again with that ENI shown full) without
//     the 120 s back-off (docs/reference-behavior.md §4.6, §11.11).
//   * security-group refresh (ControllerConfig::refresh_security_groups,
//     docs/reference-behavior.md §7.1): the primary ENI's groups are read
//     from the startup describe and then every 30 s with
//     DescribeNetworkInterfaces(primary) (when the node is otherwise idle);
//     whenever they differ from the set held (always at startup) and custom
//     networking is off, ModifyNetworkInterfaceAttribute gives every ENI of
//     the pool the new groups (failures only counted), and new ENIs are
//     created with them.
//   * leaked-ENI sweep (ControllerConfig::leaked_eni_sweep): when due and
//     nothing else is in flight, DescribeNetworkInterfaces of the account,
//     then DeleteNetworkInterface for each IsLeakedEniCandidate (eni_class.h;
//     docs/reference-behavior.md §4.9).
//
// Network cards: a controller keeps one card's pool
// (ControllerConfig::network_card); multi_card.h runs one per managed card.
//
// Not modelled: what docs/reference-behavior.md §12 lists (the one list of
// it), among others IPv6. The describe-based reconcile reads
// EC2, not a lagging IMDS, so it needs no 60 s cache of given-back addresses
// (docs/reference-behavior.md §11.8).
//
// One action at a time: the reference's loop is synchronous (a pool check
// waits for its EC2 calls), so while any request is in flight or scheduled
// for retry, `Tick` starts no new pool check.
//
// Throttling (RequestLimitExceeded): the reference has no handling of its
// own; the AWS SDK's retryer re-sends throttled calls
// (docs/reference-behavior.md §7.5). enipool models that retryer as the
// SDKs' "standard" retry mode does it, per request: the n-th re-send of a
// request waits a random time in [0, min(2^(n-1) s, 20 s)) ("full jitter",
// from a seeded generator), a request makes at most 3 attempts and then
// fails like any other error, and the next request starts afresh. The one
// thing shared between requests is the SDK's retry quota (500 tokens, 5 per
// re-send, refunded by successes), which stops re-sends while EC2 keeps
// refusing. Only the request's own re-sends hold up the node's pool loop
// (one action at a time, below). `ThrottleBackoff` configures or disables it.
//
// Durability: with a `DurablePoolStore` (pool_store.h; JournaledDatastore
// models it) every change to the pool is journaled before the controller
// goes on: pods assigned and released, ENIs and CIDRs added from EC2's
// answers, CIDRs and ENIs removed by a decrease, a resync or a describe, and
// the decrease and insufficient-address timers. The EC2 sequences a crash
// could cut in two are bracketed by intents: one is written before the
// first call and ended when the sequence is over (create → attach: a
// create intent, replaced by an attach intent naming the ENI once the
// create answers; unassign: an intent naming the CIDRs, written before they
// leave the pool; free: an intent naming the ENI, written before it leaves
// the pool, ended by the delete). On restart, Create(config, store) takes
// the replayed store (pods, cooldowns by their release times, ENIs, CIDRs,
// timers, open intents) and the startup describe both reconciles with EC2
// (adopting what EC2 has and the journal lacks; dropping what EC2 no longer
// gives the node, reporting the pods on it through TakeLostPods()) and
// finishes each open intent (restart_recovery.h: what the journal still
// holds never left; what left is finished in EC2, never taken back; a lost
// create is found by the description every created ENI carries,
// "aws-K8S-<instance-id>", with DescribeNetworkInterfaces filtered by it,
// and deleted). Pool checks wait until that is done; pods are served from
// the restored pool meanwhile. If the store cannot write an intent the step
// is not taken (counted in ControllerCounters::store_failures) and the next
// pool check tries again. The intents cost a record or two per ENI created
// or freed and per decrease; pod ADD and DEL cost one record each, as the
// journal alone.
//
// Performance: `Tick` is O(1) and allocates nothing when there is nothing to
// do. It skips the pool check when the datastore has not changed since a
// check that found nothing to do and no timer of the policy has run out
// since (NodeDatastore::generation()); otherwise the policy's O(1)
// ShouldCheck comes first, and only when it fires does it build the per-ENI
// views and call the policy's Plan. A policy whose answer changes with its
// signals alone (PoolSignals) is asked again at the next pool change.
// Cooldowns ending do not count as a change when the trigger said no for
// every cooling count the pool will pass through (O(cooling addresses) at
// that check): a node whose pods come and go is then not looked at again
// ~30 s after each release (NodeDatastore::generation_without_cooldown_ends()).
//
// Signals (PoolSignals, for adaptive policies): the ADD rate, the recent
// failed ADDs and the peak batch are updated on every Tick (O(1)); the
// refill latency when an increase's addresses arrive; the time since
// InsufficientCidrBlocks from the answers.
//
// Thread-safety: none; one controller per node, used from one thread.

#ifndef ENIPOOL_CONTROLLER_H_
#define ENIPOOL_CONTROLLER_H_

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/eni_class.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"
#include "enipool/policy/eni_address.h"
#include "enipool/policy/policy.h"
#include "enipool/policy/warm_pool.h"
#include "enipool/pool_store.h"
#include "enipool/restart_recovery.h"
#include "enipool/status.h"
#include "enipool/subnet_selection.h"

namespace enipool {

// The number of Ec2Call alternatives and of Ec2ErrorCode values, for
// per-call and per-code counters.
inline constexpr std::size_t kEc2CallCount = std::variant_size_v<Ec2Call>;
inline constexpr std::size_t kEc2ErrorCodeCount =
    static_cast<std::size_t>(Ec2ErrorCode::kOther) + 1;

// The EC2 API name of the Ec2Call alternative at `index` (as Ec2CallName()).
inline absl::string_view Ec2CallNameAt(std::size_t index) {
  static constexpr std::array<absl::string_view, kEc2CallCount> kNames = {
      "CreateNetworkInterface",     "AttachNetworkInterface",   "DetachNetworkInterface",
      "DeleteNetworkInterface",     "AssignPrivateIpAddresses", "AssignIpv4Prefixes",
      "UnassignPrivateIpAddresses", "UnassignIpv4Prefixes",     "DescribeNetworkInterfaces",
      "DescribeSubnets",            "AssignIpv6Prefixes",       "UnassignIpv6Prefixes",
      "CreateTags",                 "ModifyNetworkInterfaceAttribute"};
  return index < kNames.size() ? kNames[index] : "Unknown";
}

// ThrottleBackoff
//
// How throttled calls are re-sent (see the file comment); the defaults are
// the AWS SDKs' standard retry mode (botocore/retries/standard.py and
// quota.py: ExponentialBackoff base 2 capped at 20 s, 3 attempts, a retry
// quota of 500 tokens at 5 a retry). The n-th re-send of one request
// (n = 1, 2, ...) waits min(U × base × 2^(n-1), max) with U uniform in
// [0, 1). With `enabled` false a throttled call fails at once like any other
// error and the next pool check simply tries again: the reference without
// the SDK's retryer.
struct ThrottleBackoff {
  bool enabled = true;
  absl::Duration base = absl::Seconds(1);
  absl::Duration max = absl::Seconds(20);
  int max_attempts = 3;    // attempts of one request, the first included
  int retry_quota = 500;   // tokens shared by the node's requests; 0: no quota
  int retry_cost = 5;      // tokens a re-send takes; a success gives back its
                           // re-send's cost, or 1 if it needed none
  std::uint64_t jitter_seed = 1;  // the jitter's std::mt19937_64 seed
};

// CleanupRetry
//
// Retries of the free-ENI calls. Defaults are the reference's
// (docs/reference-behavior.md §4.9): 12 tries, back-off from 200 ms
// (detach) / 500 ms (delete) doubling to at most
// 60 s (without the reference's 15 % jitter, to stay deterministic), and a
// 2 s pause between detach and delete. When the tries run out the ENI is
// counted as stranded (detach) or leaked (delete) and left to EC2's tooling.
struct CleanupRetry {
  int max_attempts = 12;
  absl::Duration detach_initial = absl::Milliseconds(200);
  absl::Duration delete_initial = absl::Milliseconds(500);
  absl::Duration max = absl::Seconds(60);
  absl::Duration detach_delete_pause = absl::Seconds(2);
};

// TagRetry
//
// Retries of a CreateTags that tags an ENI the node found (docs/reference-behavior.md
// §4.13): the reference's TagENI makes 5 tries, waiting 500 ms, then twice
// as long each time up to 60 s (without its 30 % jitter, to stay
// deterministic). A throttled try is first re-sent by the SDK's retryer
// (ThrottleBackoff), as every call is.
struct TagRetry {
  int max_attempts = 5;
  absl::Duration initial = absl::Milliseconds(500);
  absl::Duration max = absl::Seconds(60);
};

// ControllerConfig
//
// The node: its warm-pool policy and limits, who it is in EC2, and the
// controller's own retry options.
struct ControllerConfig {
  WarmPoolConfig pool;
  std::string instance_id;     // the node's EC2 instance
  std::string subnet_id;       // where new ENIs are created
  std::string primary_eni_id;  // empty: the ENI at card 0, device index 0 is the primary
  // MANAGE_UNTAGGED_ENI (default true): when false, every attached ENI but
  // the primary that carries neither a no_manage tag nor this instance's id
  // tag is set aside as unmanaged (docs/reference-behavior.md §4.13, eni_class.h).
  bool manage_untagged_enis = true;
  // CLUSTER_NAME: new ENIs are tagged with it (docs/reference-behavior.md §7.1).
  std::string cluster_name;
  // ADDITIONAL_ENI_TAGS: more tags for new ENIs (keys naming
  // k8s.amazonaws.com are dropped, as the reference drops them).
  std::vector<Ec2Tag> additional_eni_tags;
  // The security groups of new ENIs: the primary ENI's (empty: EC2 gives
  // the VPC's default group).
  std::vector<std::string> security_group_ids;
  // Tagging the ENIs the node finds (docs/reference-behavior.md §4.13,
  // §7.1): every managed ENI of this card but a trunk, at startup, and each
  // such ENI new to the pool at a reconcile, that lacks one of the node's
  // tags (NodeEniTags(), eni_class.h: the instance id, the cluster name and
  // owner, ADDITIONAL_ENI_TAGS) or carries it with another value, is tagged
  // with CreateTags (what it lacks, one ENI per call) before it joins the
  // pool; each call is tried as TagRetry says. When the tries run out, a
  // startup fails (tried again start_retry later, as the reference's
  // restart would) and a reconcile leaves that ENI out of the pool until
  // the next one. With the leaked-ENI sweep on, a sweep also stamps a
  // createdAt tag on a candidate that lacks a parsable one
  // (NeedsCreatedAtStamp()). The reference tags unless it provisions no
  // ENIs (DISABLE_NETWORK_RESOURCE_PROVISIONING, ENABLE_IMDS_ONLY_MODE);
  // NodeConfigFromEnvironment sets this so, a hand-built config leaves it
  // off (docs/reference-behavior.md §11.11).
  bool tag_enis = false;
  TagRetry tag_retry;
  // DeleteOnTermination on new ENIs (docs/reference-behavior.md §7.1): after
  // each attach, ModifyNetworkInterfaceAttribute sets the new attachment's
  // DeleteOnTermination, so EC2 deletes the ENI with the instance; an ENI
  // whose flag cannot be set never joins the pool and is detached and
  // deleted again (ControllerCounters::delete_on_termination_failures), as
  // the reference's AllocENI frees it.
  // Security-group refresh (docs/reference-behavior.md §7.1): the primary
  // ENI's groups are read at startup (from the startup describe, so a
  // startup that cannot read them fails and is retried) and every
  // security_group_refresh after that (DescribeNetworkInterfaces of the
  // primary ENI, sent when no other request is outstanding; a failure is
  // counted and the next read comes an interval later). Whenever the set
  // read differs from the one held (always at startup: none is held) and
  // custom networking is off, every ENI of this card's pool gets the groups
  // read with ModifyNetworkInterfaceAttribute (failures only counted), and
  // ENIs created afterwards carry them instead of security_group_ids (under
  // custom networking new ENIs keep security_group_ids, the ENIConfig's).
  // The reference does both unless it provisions no ENIs
  // (DISABLE_NETWORK_RESOURCE_PROVISIONING, ENABLE_IMDS_ONLY_MODE);
  // NodeConfigFromEnvironment sets them so, a hand-built config (and the
  // cluster simulator) leaves them off (docs/reference-behavior.md §11.11).
  bool set_delete_on_termination = false;
  bool refresh_security_groups = false;
  absl::Duration security_group_refresh = absl::Seconds(30);
  // Subnet discovery (ENABLE_SUBNET_DISCOVERY; docs/reference-behavior.md
  // §4.6, §7.1, §7.5): new ENIs go to the valid subnet with the most free
  // addresses (subnet_selection.h), tried one after another; an ENI whose
  // subnet is tagged out is kept from pods; an assign that fails for want
  // of addresses moves on to another ENI or a new one without the 120 s
  // back-off. The reference's default is on; NodeConfigFromEnvironment
  // sets it from the environment, while a hand-built config (and the
  // cluster simulator unless asked) leaves it off, the reference with
  // ENABLE_SUBNET_DISCOVERY=false (docs/reference-behavior.md §11.11).
  bool subnet_discovery = false;
  // DescribeSubnets filters (the reference asks for the node's VPC and
  // availability zone); empty: no filter.
  std::string vpc_id;
  std::string availability_zone;
  // The leaked-ENI sweep (docs/reference-behavior.md §4.9, §7.1): the first
  // a random 0–300 s after startup, then an hour (plus another random
  // 0–300 s) after each, every unattached ENI some VPC CNI node created
  // (IsLeakedEniCandidate, eni_class.h: its instance-id tag, the "aws-K8S-"
  // description, this cluster's tag when cluster_name is set, at least
  // 5 minutes old by its createdAt tag) is deleted. The reference sweeps
  // unless DISABLE_LEAKED_ENI_CLEANUP is set (and never in IPv6 mode);
  // NodeConfigFromEnvironment sets this so, a hand-built config leaves it
  // off (docs/reference-behavior.md §4.9, §11.11).
  bool leaked_eni_sweep = false;
  std::uint64_t sweep_seed = 1;  // the random delays' std::mt19937_64 seed
  // The network card whose pool this controller keeps (one controller and
  // store per managed card, docs/reference-behavior.md §1.1; multi_card.h
  // runs them together). The ENIs it creates are attached on this card at
  // the card's lowest free device index (0 is free on cards > 0; on card 0
  // it is the primary's); it adopts from describes only the ENIs attached on
  // this card; its store's route tables follow the card (RouteTableId()).
  // The pool targets are the config's: a node of several cards gives cards
  // > 0 the reference's W = M = 1 (MultiCardNode).
  int network_card = 0;
  Placement placement = Placement::kBestFit;
  ThrottleBackoff throttle;
  CleanupRetry cleanup;
  // After a failed startup describe (docs/reference-behavior.md §4.9).
  absl::Duration start_retry = absl::Seconds(10);
  // Periodic resync of every ENI from DescribeNetworkInterfaces(instance)
  // when this long has passed since the last pool action (the reference's
  // 60 s reconcile, docs/reference-behavior.md §8.4, reads IMDS and only asks EC2 on disagreement;
  // with no IMDS here every reconcile is an EC2 call, so it is off by
  // default).
  absl::Duration reconcile_interval = absl::InfiniteDuration();
  std::uint64_t first_request_id = 1;  // request ids are first_request_id, +1, …
  // How fast PoolSignals::add_rate forgets: the time constant of its
  // exponential weighting (the reference reads no signal; see PoolSignals).
  absl::Duration signal_time_constant = absl::Seconds(30);
  // Where new ENIs' primary addresses go (policy/eni_address.h): EC2's
  // choice (the reference), or named inside a /28 the node knows is broken.
  EniPrimaryPlacement eni_primary = EniPrimaryPlacement::kRandom;
  // The CIDR of `subnet_id` when known (instance metadata has it:
  // network/interfaces/macs/<mac>/subnet-ipv4-cidr-block); lets a named
  // primary address avoid the five addresses AWS reserves.
  std::optional<Ipv4Prefix> subnet_cidr = std::nullopt;
};

// ControllerCounters
//
// What the controller has done, for metrics (introspection.h renders them
// with the reference's names) and reports.
struct ControllerCounters {
  std::array<std::int64_t, kEc2CallCount> calls{};        // requests issued, by Ec2Call alternative
  std::array<std::int64_t, kEc2CallCount> failures{};     // failed answers, by Ec2Call alternative
  std::array<std::int64_t, kEc2ErrorCodeCount> errors{};  // failed answers, by Ec2ErrorCode
  // errors_by_call[call][code]: the reference's awscni_aws_api_error_count{api,error}.
  std::array<std::array<std::int64_t, kEc2ErrorCodeCount>, kEc2CallCount> errors_by_call{};
  std::int64_t pool_checks = 0;     // PlanReconcile evaluations
  std::int64_t increases = 0;       // pool grew (assign, resync, new ENI)
  std::int64_t decreases = 0;       // decrease steps that released CIDRs
  std::int64_t cidrs_added = 0;     // /32s and /28s added from EC2 answers
  std::int64_t cidrs_released = 0;  // /32s and /28s removed by decreases
  std::int64_t enis_created = 0;
  std::int64_t enis_attached = 0;
  std::int64_t enis_freed = 0;             // freed by the pool logic (detached and deleted)
  std::int64_t attach_failures = 0;        // created ENIs deleted again because the attach failed
  std::int64_t enis_stranded = 0;          // detach gave up: still attached, outside the pool
  std::int64_t enis_leaked = 0;            // delete gave up: the ENI exists, unattached
  std::int64_t retries_with_one = 0;       // assigns retried with a count of 1
  std::int64_t resyncs = 0;                // ENIs resynced from a describe
  std::int64_t insufficient_backoffs = 0;  // 120 s no-increase back-offs started
  std::int64_t throttle_retries = 0;       // throttled calls re-sent
  std::int64_t throttle_quota_refusals = 0;  // throttled calls not re-sent: retry quota empty
  std::int64_t unassign_failures = 0;  // failed unassigns (EC2 keeps the CIDR; a resync re-adds it)
  std::int64_t rejected_cidrs = 0;     // EC2 answers the datastore refused (duplicates)
  // Attached ENIs the datastore refused (an id it cannot hold, or one it
  // already holds); a new one is detached and deleted again.
  std::int64_t enis_refused = 0;
  std::int64_t force_removed_enis = 0;  // ENIs EC2 no longer gives the node
  std::int64_t force_removed_ips = 0;   // pods that lost their address that way
  // Describes answered OK but impossible, treated as failed and ignored: of
  // the instance without its primary ENI (device 0, or primary_eni_id), of
  // one ENI without that ENI (EC2 answers NotFound for a missing one).
  std::int64_t implausible_describes = 0;
  std::int64_t reconciles = 0;
  std::int64_t add_requests = 0;     // AddPod calls
  std::int64_t del_requests = 0;     // DeletePod calls
  std::int64_t no_available_ip = 0;  // AddPod found no free address
  std::int64_t store_failures = 0;   // changes the store refused to write (I/O): the step was not taken
  std::int64_t recovered_intents = 0;  // sequences open at a restart, finished
  std::int64_t lost_pods = 0;          // pods whose address EC2 no longer gives the node
  // Creates that named the primary address (EniPrimaryPlacement::
  // kFragmentationAware), and those EC2 refused (the address was taken,
  // reserved or outside the subnet; the next try names another).
  std::int64_t named_primary_creates = 0;
  std::int64_t named_primary_refused = 0;
  // Subnet discovery: assigns that found their ENI's subnet exhausted and
  // moved on without the back-off; creates moved on to the next subnet;
  // creates given up because no subnet was valid.
  std::int64_t exhausted_eni_skips = 0;
  std::int64_t create_subnet_fallbacks = 0;
  std::int64_t no_valid_subnet = 0;
  // Creates sent to the node's own subnet because the DescribeSubnets before
  // them failed (the reference's fallback, after a second DescribeSubnets
  // that found the subnet not tagged out).
  std::int64_t own_subnet_fallbacks = 0;
  std::int64_t exclusion_changes = 0;  // pool ENIs whose subnet was tagged out (or back in)
  std::int64_t enis_tagged = 0;         // ENIs the node found and tagged (ControllerConfig::tag_enis)
  std::int64_t tag_failures = 0;        // ENIs whose tagging gave up after TagRetry's tries
  std::int64_t created_at_stamps = 0;   // leaked-ENI candidates stamped with a createdAt tag
  std::int64_t leak_sweeps = 0;         // leaked-ENI sweeps answered
  std::int64_t leaked_enis_deleted = 0;  // deletes the sweeps sent
  // New ENIs whose DeleteOnTermination could not be set: detached and
  // deleted again (ControllerConfig::set_delete_on_termination).
  std::int64_t delete_on_termination_failures = 0;
  // Security-group refresh (ControllerConfig::refresh_security_groups):
  // reads of the primary ENI's groups that failed, changes of the set
  // found (the first, at startup, included), and the ENIs given the new
  // groups or refused them.
  std::int64_t security_group_read_failures = 0;
  std::int64_t security_group_changes = 0;
  std::int64_t security_group_updates = 0;
  std::int64_t security_group_update_failures = 0;

  [[nodiscard]] std::int64_t calls_total() const {
    std::int64_t n = 0;
    for (std::int64_t c : calls) n += c;
    return n;
  }
  [[nodiscard]] std::int64_t errors_of(Ec2ErrorCode code) const {
    return errors[static_cast<std::size_t>(code)];
  }
  [[nodiscard]] std::int64_t calls_of(std::size_t call_index) const { return calls[call_index]; }
};

// ManagedEni
//
// An ENI attached to the node as the controller knows it: what it needs to
// pick device indices and to detach.
struct ManagedEni {
  std::string id{};
  std::string attachment_id{};
  std::string subnet_id{};
  int device_index = 0;
  // false while being freed, when its detach gave up, or when its class
  // keeps it out (unmanaged, EFA-only; docs/reference-behavior.md §4.13)
  bool in_pool = true;
  Ipv4Address primary_ip{};  // its own address (not a pod address)
  EniClass eni_class = EniClass::kManaged;
};

// LostPod
//
// A pod whose address the controller had to drop because EC2 no longer gives
// it to the node (the ENI is gone or no longer attached, or the CIDR left
// the ENI): the CNI front should tell the runtime (the pod has no working
// address). Reported by NodeController::TakeLostPods().
struct LostPod {
  PodKey pod;
  Assignment assignment;
  std::string reason;  // "CIDR 10.0.0.16/28 is no longer on eni-…", "ENI eni-… is no longer attached"
};

namespace internal {

// LazyMt19937
//
// A std::mt19937_64 made from its seed at its first draw: the same numbers
// as one made at once, but 16 bytes instead of 2.5 KB until then. A
// controller keeps two engines that most nodes never draw from (throttle
// jitter, leaked-ENI sweep delays), and a simulated cluster keeps one
// controller per node: 100,000 nodes would carry 500 MB of idle engines.
class LazyMt19937 {
 public:
  explicit LazyMt19937(std::uint64_t seed) : seed_(seed) {}
  LazyMt19937(const LazyMt19937& other)
      : seed_(other.seed_),
        engine_(other.engine_ ? std::make_unique<std::mt19937_64>(*other.engine_) : nullptr) {}
  LazyMt19937& operator=(const LazyMt19937& other) {
    if (this != &other) *this = LazyMt19937(other);
    return *this;
  }
  LazyMt19937(LazyMt19937&&) noexcept = default;
  LazyMt19937& operator=(LazyMt19937&&) noexcept = default;
  ~LazyMt19937() = default;

  std::uint64_t operator()() {
    if (!engine_) engine_ = std::make_unique<std::mt19937_64>(seed_);
    return (*engine_)();
  }

 private:
  std::uint64_t seed_;
  std::unique_ptr<std::mt19937_64> engine_;
};

}  // namespace internal

// NodeController
//
// See the file comment. `C` is any Clock; the clock must outlive the
// controller (its datastore reads it for cooldowns and ENI ages). `Policy`
// is any WarmPoolPolicy (policy/policy.h): the reference's rules by
// default. `Store` holds the pool (pool_store.h): the in-memory
// NodeDatastore by default, or JournaledDatastore (persist/journal.h) for a
// controller whose every change to the pool is durable.
template <Clock C, typename Policy = ReferencePolicy, typename Store = NodeDatastore<C>>
  requires PoolStore<Store> && std::same_as<typename Store::clock_type, C>
class NodeController {
  static_assert(AssertWarmPoolPolicy<Policy>());

 public:
  using policy_type = Policy;
  using store_type = Store;

  // NodeController::Create()
  //
  // A controller with an empty in-memory datastore (the default Store).
  // INVALID_ARGUMENT when the config names no instance or subnet, its
  // limits cannot hold a pod address (max_enis < 1 or ipv4_per_eni < 2),
  // max_pods < 1, a warm-pool knob is negative, or prefix mode is asked of
  // an instance without prefix delegation.
  [[nodiscard]] static absl::StatusOr<NodeController> Create(const C& clock,
                                                             ControllerConfig config,
                                                             Policy policy = Policy{})
    requires std::same_as<Store, NodeDatastore<C>>
  {
    ENIPOOL_RETURN_IF_ERROR(CheckConfig(config));
    Store store(config.pool.mode, clock, config.pool.ip_cooldown, config.placement,
                OtherKindFor(config.pool), config.network_card);
    return NodeController(std::move(config), std::move(store), std::move(policy));
  }

  // NodeController::Create(store)
  //
  // A controller over a store that may already hold a pool (a journal
  // replayed at restart). Errors as Create(), plus INVALID_ARGUMENT when the
  // store's address mode, cooldown or placement differ from the config's.
  [[nodiscard]] static absl::StatusOr<NodeController> Create(ControllerConfig config, Store store,
                                                             Policy policy = Policy{}) {
    ENIPOOL_RETURN_IF_ERROR(CheckConfig(config));
    const NodeDatastore<C>& held = store.datastore();
    if (held.mode() != config.pool.mode) {
      return absl::InvalidArgumentError(
          "controller config: the store's address mode differs from pool.mode");
    }
    if (held.ip_cooldown() != config.pool.ip_cooldown) {
      return absl::InvalidArgumentError(absl::StrCat(
          "controller config: the store's ip_cooldown ", absl::FormatDuration(held.ip_cooldown()),
          " differs from pool.ip_cooldown ", absl::FormatDuration(config.pool.ip_cooldown)));
    }
    if (held.placement() != config.placement) {
      return absl::InvalidArgumentError(
          "controller config: the store's placement differs from placement");
    }
    if (held.other_kind() != OtherKindFor(config.pool)) {
      return absl::InvalidArgumentError(
          "controller config: pool.secondary_ip_fallback in prefix mode needs a store that hands "
          "out both kinds (OtherKind::kHandedOut), and only then");
    }
    if (held.network_card() != config.network_card) {
      return absl::InvalidArgumentError(absl::StrCat(
          "controller config: the store keeps network card ", held.network_card(),
          ", the config names card ", config.network_card));
    }
    return NodeController(std::move(config), std::move(store), std::move(policy));
  }

  NodeController(NodeController&&) noexcept = default;
  NodeController& operator=(NodeController&&) noexcept = default;

  // NodeController::OtherKindFor()
  //
  // The datastore a pool config needs: both kinds handed out in prefix mode
  // with secondary_ip_fallback, else the reference's (policy/warm_pool.h).
  [[nodiscard]] static constexpr OtherKind OtherKindFor(const WarmPoolConfig& pool) noexcept {
    return pool.prefix_mode() && pool.secondary_ip_fallback ? OtherKind::kHandedOut
                                                            : OtherKind::kKept;
  }

  [[nodiscard]] const ControllerConfig& config() const noexcept { return config_; }
  [[nodiscard]] const Policy& policy() const noexcept { return policy_; }
  // What the node has measured (PoolSignals), as of the last Tick.
  [[nodiscard]] const PoolSignals& signals() const noexcept { return signals_; }
  // The store: every change to the pool from outside the controller goes
  // through it. For the default Store this is the NodeDatastore itself.
  [[nodiscard]] Store& datastore() noexcept { return store_; }
  [[nodiscard]] const Store& datastore() const noexcept { return store_; }
  // The pool's in-memory datastore, for reads (the store's datastore()).
  [[nodiscard]] const NodeDatastore<C>& pool() const noexcept { return store_.datastore(); }
  [[nodiscard]] const ControllerCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] const std::vector<ManagedEni>& enis() const noexcept { return enis_; }

  // NodeController::lost_pods() / TakeLostPods()
  //
  // Pods that lost their address because EC2 no longer gives it to the node
  // (at startup after a restart, at a resync or a reconcile), oldest first.
  // TakeLostPods() hands them over and forgets them.
  [[nodiscard]] const std::vector<LostPod>& lost_pods() const noexcept { return lost_pods_; }
  [[nodiscard]] std::vector<LostPod> TakeLostPods() { return std::exchange(lost_pods_, {}); }

  // NodeController::checkpoint_imported()
  //
  // With a durable store: true once MarkCheckpointImported() has been
  // journaled (this run or an earlier one), so a reference checkpoint is
  // imported once. Always false with an in-memory store.
  [[nodiscard]] bool checkpoint_imported() const {
    if constexpr (DurablePoolStore<Store>) {
      return store_.mark(ControllerMark::kCheckpointImported).has_value();
    } else {
      return false;
    }
  }

  // NodeController::MarkCheckpointImported()
  //
  // Journals that the reference's checkpoint has been imported (see
  // persist/checkpoint_import_json.h). OK and no effect with an in-memory
  // store; the store's error if it cannot write.
  [[nodiscard]] absl::Status MarkCheckpointImported(absl::Time now) {
    if constexpr (DurablePoolStore<Store>) {
      return store_.SetMark(ControllerMark::kCheckpointImported, now);
    } else {
      (void)now;
      return absl::OkStatus();
    }
  }

 private:
  [[nodiscard]] static absl::Status CheckConfig(const ControllerConfig& config) {
    if (config.instance_id.empty()) {
      return absl::InvalidArgumentError("controller config: instance_id is empty");
    }
    if (config.subnet_id.empty()) {
      return absl::InvalidArgumentError("controller config: subnet_id (for new ENIs) is empty");
    }
    if (config.network_card < 0 || config.network_card >= kMaxNetworkCards) {
      return absl::InvalidArgumentError(absl::StrCat("controller config: network_card ",
                                                     config.network_card, " is not in 0..",
                                                     kMaxNetworkCards - 1));
    }
    if (config.pool.max_enis < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("controller config: max_enis ", config.pool.max_enis, " is below 1"));
    }
    if (config.pool.ipv4_per_eni < 2) {
      return absl::InvalidArgumentError(absl::StrCat("controller config: ipv4_per_eni ",
                                                     config.pool.ipv4_per_eni,
                                                     " leaves no address for pods"));
    }
    // What WarmPoolConfig::Validate() finds that the pool cannot run with.
    // Its pitfall combinations (MINIMUM_IP_TARGET alone, WARM_PREFIX_TARGET=0
    // in prefix mode, WARM_ENI_TARGET=0 with custom networking) run as the
    // reference runs them, so simulations can reproduce them;
    // NodeConfigFromEnvironment (node_config.h) refuses those too.
    if (config.pool.max_pods < 1) {
      return absl::InvalidArgumentError(absl::StrCat("controller config: max_pods ",
                                                     config.pool.max_pods, " is below 1"));
    }
    const std::pair<absl::string_view, int> knobs[] = {
        {"WARM_ENI_TARGET", config.pool.warm_eni_target},
        {"WARM_IP_TARGET", config.pool.warm_ip_target},
        {"MINIMUM_IP_TARGET", config.pool.minimum_ip_target},
        {"WARM_PREFIX_TARGET", config.pool.warm_prefix_target}};
    for (const auto& [name, value] : knobs) {
      if (value < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("controller config: ", name, " is ", value, "; must not be negative"));
      }
    }
    if (config.pool.prefix_mode() && !config.pool.prefix_delegation_supported) {
      return absl::InvalidArgumentError(
          "controller config: ENABLE_PREFIX_DELEGATION (prefix mode) on an instance type without "
          "prefix delegation (not Nitro)");
    }
    const ThrottleBackoff& throttle = config.throttle;
    if (throttle.max_attempts < 1 || throttle.base < absl::ZeroDuration() ||
        throttle.max < absl::ZeroDuration() || throttle.retry_quota < 0 ||
        (throttle.retry_quota > 0 && throttle.retry_cost < 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "controller config: throttle back-off wants max_attempts >= 1 (got ",
          throttle.max_attempts, "), base and max >= 0 (got ", absl::FormatDuration(throttle.base),
          ", ", absl::FormatDuration(throttle.max), "), retry_quota >= 0 (got ",
          throttle.retry_quota, ") and retry_cost >= 1 with a quota (got ", throttle.retry_cost,
          ")"));
    }
    return absl::OkStatus();
  }

 public:

  // True once the startup describe has been applied.
  [[nodiscard]] bool started() const noexcept { return started_; }
  // True while a request is in flight or scheduled for retry: no new pool
  // check starts until it is done.
  [[nodiscard]] bool busy() const noexcept { return !ops_.empty(); }
  // Requests issued and not yet answered.
  [[nodiscard]] std::size_t in_flight() const noexcept {
    return static_cast<std::size_t>(
        std::count_if(ops_.begin(), ops_.end(), [](const Op& op) { return op.id != 0; }));
  }
  // When the last insufficient-address error started the 120 s back-off.
  [[nodiscard]] absl::Time last_insufficient_addresses() const noexcept {
    return last_insufficient_;
  }
  [[nodiscard]] absl::Time last_decrease() const noexcept { return last_decrease_; }
  // Tokens left in the throttle retry quota (ThrottleBackoff::retry_quota).
  [[nodiscard]] int throttle_retry_tokens() const noexcept { return retry_tokens_; }
  // Sets the tokens left, clamped to 0 .. retry_quota: how the cards of one
  // node share the one quota of the reference's single EC2 client
  // (multi_card.h).
  void SetThrottleRetryTokens(int tokens) noexcept {
    retry_tokens_ = std::clamp(tokens, 0, std::max(config_.throttle.retry_quota, 0));
  }
  // True while a restart's sweep for ENIs whose create was cut off is
  // outstanding (in flight or scheduled again): it deletes every unattached
  // ENI with the node's description, so no other controller of the node
  // may create one meanwhile (multi_card.h holds them).
  [[nodiscard]] bool sweeping() const { return HasOp(Step::kSweep); }

  // NodeController::NextWakeup()
  //
  // The earliest time at which Tick has something scheduled to send (a
  // retry, the delete after a detach, a startup retry), or
  // absl::InfiniteFuture(). Pool checks themselves run whenever the caller
  // ticks (every 5 s in the reference).
  [[nodiscard]] absl::Time NextWakeup() const noexcept {
    absl::Time next = absl::InfiniteFuture();
    for (const Op& op : ops_) {
      if (op.id == 0) next = std::min(next, op.due);
    }
    if (!started_ && ops_.empty()) next = std::min(next, start_retry_at_);
    return next;
  }

  // NodeController::Start()
  //
  // Asks EC2 for the instance's ENIs (DescribeNetworkInterfaces by
  // instance). When the answer is applied, every attached ENI and its
  // secondary IPs and prefixes are added to the datastore, and ENIs the
  // datastore knows but EC2 does not attach to the node are removed (forced).
  // Until then no pool check runs. A Tick before Start sends this describe
  // itself, and a failed describe is sent again start_retry later.
  void Start(absl::Time now, std::vector<Ec2Request>& out) {
    (void)now;
    if (started_ || HasOp(Step::kStart) || HasOp(Step::kStartSubnets) || tagging_.has_value()) {
      return;
    }
    Issue(Op{.step = Step::kStart,
             .call = DescribeNetworkInterfacesRequest{.eni_ids = {},
                                                      .instance_id = config_.instance_id}},
          out);
  }
  [[nodiscard]] std::vector<Ec2Request> Start(absl::Time now) {
    std::vector<Ec2Request> out;
    Start(now, out);
    return out;
  }

  // NodeController::Tick()
  //
  // One pool check (docs/reference-behavior.md §4.3): grow if the pool is too low, else
  // shrink if it is too high and 30 s have passed since the last decrease,
  // then, independently, free at most one ENI; as PlanReconcile decides.
  // Appends the requests to make to `out`. While busy, only sends what is
  // scheduled and due (retries). O(1), allocation-free when nothing is to
  // be done.
  void Tick(absl::Time now, std::vector<Ec2Request>& out) {
    if (!ops_.empty()) {
      IssueDue(now, out);
      return;
    }
    if (!started_) {
      if (now >= start_retry_at_) Start(now, out);
      return;
    }
    UpdateAddRate(now);
    const PoolStats stats = pool().Stats();  // applies ended cooldowns first
    const std::uint64_t generation = pool().generation();
    if (!IdleAt(generation) || now >= idle_until_) {
      signals_.since_insufficient_cidr_blocks = now - last_insufficient_cidr_;
      if (policy_.ShouldCheck(config_.pool, stats, signals_)) {
        PoolCheck(now, stats, generation, out);
      } else {
        MarkIdleUntilPoolChanges(generation, stats);
      }
    }
    // The reconcile runs after a pool check that did nothing, as the
    // reference's loop reconciles in the other half of its 5 s cycle.
    if (ops_.empty() && config_.reconcile_interval != absl::InfiniteDuration() &&
        now - last_pool_action_ > config_.reconcile_interval) {
      Issue(Op{.step = Step::kReconcile,
               .call = DescribeNetworkInterfacesRequest{.eni_ids = {},
                                                        .instance_id = config_.instance_id}},
            out);
      last_pool_action_ = now;
    }
    if (ops_.empty() && config_.leaked_eni_sweep && next_sweep_ != absl::InfinitePast() &&
        now >= next_sweep_) {
      Issue(Op{.step = Step::kLeakSweep, .call = DescribeNetworkInterfacesRequest{}}, out);
    }
    if (ops_.empty() && config_.refresh_security_groups && now >= next_group_refresh_) {
      Issue(Op{.step = Step::kReadGroups,
               .call = DescribeNetworkInterfacesRequest{.eni_ids = {primary_eni_id_}}},
            out);
      next_group_refresh_ = absl::InfiniteFuture();  // set again when it is answered
    }
  }

  // NodeController::QuietUntil()
  //
  // Before this time a Tick does nothing but UpdateSignals(now), provided
  // nothing reaches the controller or its store meanwhile (AddPod, DeletePod,
  // OnResult, Start, SetNodeSchedulable, Hold*, a change to the datastore):
  // it is started and not busy, the pool is unchanged since a pool check
  // found nothing to do, and none of the timers that check reads runs out —
  // a cooldown ending (NodeDatastore::next_cooling_end(); not when the
  // policy's trigger said no for every cooling count down to zero, see
  // MarkIdleUntilPoolChanges()), the decrease throttle, the
  // insufficient-address back-off, an ENI reaching the minimum
  // age, the reconcile, the leaked-ENI sweep. absl::InfinitePast() when the
  // next Tick may do more. A simulator of many nodes (sim/cluster.h) calls
  // UpdateSignals instead of Tick until then: the same results without
  // touching the rest of the node's state. O(1).
  [[nodiscard]] absl::Time QuietUntil() const noexcept {
    if (!started_ || !ops_.empty() || !IdleAt(pool().generation())) {
      return absl::InfinitePast();
    }
    absl::Time until = idle_until_;
    if (!idle_through_cooldown_ends_) until = std::min(until, pool().next_cooling_end());
    if (config_.reconcile_interval != absl::InfiniteDuration()) {
      // The reconcile runs once now - last_pool_action_ > reconcile_interval.
      until = std::min(until, last_pool_action_ + config_.reconcile_interval);
    }
    if (config_.leaked_eni_sweep && next_sweep_ != absl::InfinitePast()) {
      until = std::min(until, next_sweep_);
    }
    if (config_.refresh_security_groups) until = std::min(until, next_group_refresh_);
    return until;
  }

  // NodeController::UpdateSignals()
  //
  // What a quiet Tick does (see QuietUntil()): folds the time since the
  // last Tick into the signals (PoolSignals) the policy reads. O(1).
  void UpdateSignals(absl::Time now) { UpdateAddRate(now); }

  // NodeController::SettleIfIdle()
  //
  // Decides now what the next Tick's pool check would decide about the pool
  // as it stands, where that decision cannot depend on when the Tick runs:
  // the controller is started and not busy, its policy reads no ADD signals
  // (PolicyReadsAddSignals, or AnyWarmPoolPolicy::reads_add_signals()) and
  // no InsufficientCidrBlocks answer has come (the one other signal that
  // moves with the clock). If the policy's trigger (ShouldCheck) then finds
  // nothing to do, the pool is marked idle exactly as that Tick would mark
  // it, so QuietUntil() holds from now; otherwise nothing changes. Why: a
  // simulator of many nodes calls it right after a pod comes or goes, while
  // the node is in cache, so that the pool check seconds later, when the
  // node's memory is cold, need not touch it (sim/cluster.h). The results
  // are those of running the check. O(1).
  void SettleIfIdle(absl::Time now) {
    if (!started_ || !ops_.empty() || PolicyReadsSignalsNow() ||
        last_insufficient_cidr_ != absl::InfinitePast()) {
      return;
    }
    const PoolStats stats = pool().Stats();  // applies ended cooldowns first, as Tick
    const std::uint64_t generation = pool().generation();
    if (IdleAt(generation) && now < idle_until_) return;  // idle already
    if (!policy_.ShouldCheck(config_.pool, stats, signals_)) {
      MarkIdleUntilPoolChanges(generation, stats);
    }
  }

  // NodeController::security_groups()
  //
  // The primary ENI's security groups as last read, sorted (nullopt before
  // the first read, or with ControllerConfig::refresh_security_groups off).
  [[nodiscard]] const std::optional<std::vector<std::string>>& security_groups() const noexcept {
    return held_groups_;
  }

  // NodeController::next_security_group_read()
  //
  // When the primary ENI's groups are read next (absl::InfiniteFuture()
  // before the startup describe, while a read is outstanding, or with the
  // refresh off).
  [[nodiscard]] absl::Time next_security_group_read() const noexcept {
    return config_.refresh_security_groups ? next_group_refresh_ : absl::InfiniteFuture();
  }

  // NodeController::next_leak_sweep()
  //
  // When the next leaked-ENI sweep is due (absl::InfinitePast() before the
  // startup describe has been applied; absl::InfiniteFuture() with the sweep
  // off).
  [[nodiscard]] absl::Time next_leak_sweep() const noexcept {
    return config_.leaked_eni_sweep ? next_sweep_ : absl::InfiniteFuture();
  }
  [[nodiscard]] std::vector<Ec2Request> Tick(absl::Time now) {
    std::vector<Ec2Request> out;
    Tick(now, out);
    return out;
  }

  // NodeController::OnResult()
  //
  // Applies the answer to a request this controller issued, and appends
  // any follow-up requests (the attach after a create, a retry with count
  // 1, a resync describe, the delete after a failed attach) to `out`.
  // NOT_FOUND if no request with that id is outstanding; INVALID_ARGUMENT if
  // the request's call differs from the one issued under that id, or an OK
  // answer carries the wrong kind of response. Either way nothing changes
  // and the request stays outstanding.
  [[nodiscard]] absl::Status OnResult(const Ec2Request& request, const Ec2Result& result,
                                      absl::Time now, std::vector<Ec2Request>& out) {
    const auto it = std::find_if(ops_.begin(), ops_.end(),
                                 [&](const Op& op) { return op.id != 0 && op.id == request.id; });
    if (it == ops_.end()) {
      return absl::NotFoundError(absl::StrCat("request ", request.id, " (",
                                              Ec2CallName(request.call),
                                              ") is not outstanding at this controller"));
    }
    if (it->call.index() != request.call.index()) {
      return absl::InvalidArgumentError(absl::StrCat("request ", request.id, " was issued as ",
                                                     Ec2CallName(it->call), ", not ",
                                                     Ec2CallName(request.call)));
    }
    if (result.ok() && !ResponseFits(it->call, result.response)) {
      return absl::InvalidArgumentError(
          absl::StrCat("request ", request.id, " (", Ec2CallName(it->call),
                       ") answered OK with the wrong kind of response (alternative ",
                       result.response.index(), ")"));
    }
    Op op = std::move(*it);
    ops_.erase(it);
    idle_generation_ = kNoGeneration;
    const std::size_t call = op.call.index();
    const Ec2ErrorCode code = result.error_code();
    if (code == Ec2ErrorCode::kNone) {
      RefundRetryQuota(op);
    } else {
      counters_.failures[call] += 1;
      counters_.errors[static_cast<std::size_t>(code)] += 1;
      counters_.errors_by_call[call][static_cast<std::size_t>(code)] += 1;
      if (code == Ec2ErrorCode::kRequestLimitExceeded && OnThrottled(op, now))
        return absl::OkStatus();
    }
    switch (op.step) {
      case Step::kStart:
      case Step::kReconcile:
        OnDescribeInstance(op, result, now, out);
        break;
      case Step::kStartSubnets:
      case Step::kReconcileSubnets:
        OnInstanceSubnets(op, result, now, out);
        break;
      case Step::kCreateSubnets:
        OnCreateSubnets(op, result, now, out);
        break;
      case Step::kCreateOwnSubnet:
        OnCreateOwnSubnet(op, result, now, out);
        break;
      case Step::kLeakSweep:
        OnLeakSweep(result, now, out);
        break;
      case Step::kTag:
        OnTag(op, result, now, out);
        break;
      case Step::kStampCreatedAt:
        if (!result.ok() && !RetryTag(op, now)) counters_.tag_failures += 1;
        break;
      case Step::kAssign:
      case Step::kAssignRetry:
        OnAssign(op, result, now, out);
        break;
      case Step::kResync:
        OnResync(op, result);
        break;
      case Step::kCreate:
        OnCreate(op, result, now, out);
        break;
      case Step::kAttach:
        OnAttach(op, result, now, out);
        break;
      case Step::kSetDeleteOnTermination:
        if (result.ok()) {
          JoinPool(op, now, out);
        } else {
          counters_.delete_on_termination_failures += 1;
          GiveBack(op, now, out);
        }
        break;
      case Step::kReadGroups:
        OnReadGroups(result, now, out);
        break;
      case Step::kSetGroups:
        (result.ok() ? counters_.security_group_updates : counters_.security_group_update_failures) +=
            1;
        break;
      case Step::kUnassign:
        if (!result.ok()) counters_.unassign_failures += 1;
        EndIntent(op.intent);
        break;
      case Step::kSweep:
        OnSweep(op, result, now, out);
        break;
      case Step::kDetach:
        OnDetach(op, result, now);
        break;
      case Step::kDelete:
        OnDelete(op, result, now);
        break;
    }
    return absl::OkStatus();
  }
  [[nodiscard]] absl::StatusOr<std::vector<Ec2Request>> OnResult(const Ec2Request& request,
                                                                 const Ec2Result& result,
                                                                 absl::Time now) {
    std::vector<Ec2Request> out;
    if (absl::Status s = OnResult(request, result, now, out); !s.ok()) return s;
    return out;
  }

  // NodeController::ReleaseOtherModeCidrs()
  //
  // The reference's last startup step before pre-scaling
  // (docs/reference-behavior.md §8.3): the CIDRs of the other mode that
  // hold no pod (/32s in prefix mode, /28s in secondary-IP mode, left
  // from before ENABLE_PREFIX_DELEGATION changed)
  // leave the datastore and are unassigned in EC2, and so do the pod-free
  // CIDRs of excluded ENIs (subnet discovery). Call it after restoring
  // pods from a checkpoint, as the reference does, so restored pods keep
  // their addresses. Returns how many CIDRs were released.
  // FAILED_PRECONDITION (nothing changes) before the startup describe has
  // been applied or while a request is outstanding.
  [[nodiscard]] absl::StatusOr<std::int64_t> ReleaseOtherModeCidrs(absl::Time now,
                                                                   std::vector<Ec2Request>& out) {
    if (!started_ || busy()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "ReleaseOtherModeCidrs: the controller is ", !started_ ? "not started" : "busy",
          "; call it after the startup describe, before the first pool check"));
    }
    std::int64_t released = 0;
    for (const EniView& view : pool().EniViews()) {
      auto cidrs = pool().Cidrs(view.id.view());
      if (!cidrs.ok()) continue;
      CidrRelease release{view.id, {}};
      for (const CidrView& c : *cidrs) {
        // Excluded ENIs give back every pod-free CIDR (IPAMD ::
        // checkAndHandleAllENIExclusion, docs/reference-behavior.md §8.3).
        if ((!c.in_mode || view.excluded) && c.assigned == 0) release.cidrs.push_back(c.cidr);
      }
      if (!release.cidrs.empty()) released += UnassignCidrs(release, out);
    }
    if (released > 0) {
      last_pool_action_ = now;
      idle_generation_ = kNoGeneration;
    }
    return released;
  }

  // NodeController::SetNodeSchedulable()
  //
  // Whether the node may schedule pods (false while it carries the
  // node.kubernetes.io/unschedulable:NoSchedule taint). An unschedulable
  // node neither grows nor frees ENIs unless
  // WarmPoolConfig::manage_enis_non_schedulable (docs/reference-behavior.md §4.1).
  void SetNodeSchedulable(bool schedulable) noexcept {
    if (schedulable != node_schedulable_) idle_generation_ = kNoGeneration;
    node_schedulable_ = schedulable;
  }

  // NodeController::HoldIncreasesSince()
  //
  // Starts (or moves later) the 120 s insufficient-address back-off as if
  // such an answer had come at `since`: how the cards of one node share the
  // reference's single back-off (multi_card.h, docs/reference-behavior.md
  // §4.9). A time no later than the current one changes nothing; a durable
  // store journals the new time.
  void HoldIncreasesSince(absl::Time since) {
    if (since <= last_insufficient_) return;
    last_insufficient_ = since;
    idle_generation_ = kNoGeneration;
    SetMark(ControllerMark::kLastInsufficientAddresses, since);
  }

  // NodeController::HoldDecreasesSince()
  //
  // Moves the last decrease to `since` when that is later, so the 30 s
  // decrease throttle runs from it: the cards of one node share the
  // reference's single last-decrease time (multi_card.h,
  // docs/reference-behavior.md §4.3). A durable store journals it.
  void HoldDecreasesSince(absl::Time since) {
    if (since <= last_decrease_) return;
    last_decrease_ = since;
    idle_generation_ = kNoGeneration;
    SetMark(ControllerMark::kLastDecrease, since);
  }

  // NodeController::AddPod() / DeletePod()
  //
  // The CNI ADD and DEL: straight to the datastore (never waiting for EC2),
  // counted for the reference's metrics. Same results as
  // NodeDatastore::Assign() / Release().
  [[nodiscard]] absl::StatusOr<Assignment> AddPod(const PodKey& pod) {
    counters_.add_requests += 1;
    absl::StatusOr<Assignment> assignment = store_.Assign(pod);
    if (assignment.ok()) {
      adds_since_rate_update_ += 1;
    } else if (assignment.status().code() == absl::StatusCode::kResourceExhausted) {
      counters_.no_available_ip += 1;
      failed_adds_bucket_ += 1;
    }
    return assignment;
  }
  [[nodiscard]] absl::StatusOr<Assignment> DeletePod(const PodKey& pod) {
    counters_.del_requests += 1;
    return store_.Release(pod);
  }

 private:
  enum class Step : std::uint8_t {
    kStart,
    kReconcile,
    kAssign,
    kAssignRetry,
    kResync,
    kCreate,
    kAttach,
    kUnassign,
    kDetach,
    kDelete,
    kSweep,  // restart: DescribeNetworkInterfaces by description for ENIs whose create was cut off
    // Subnet discovery: DescribeSubnets before applying a startup or
    // reconcile describe (which ENIs are excluded), and before a create
    // (where it may go).
    kStartSubnets,
    kReconcileSubnets,
    kCreateSubnets,
    // After a failed kCreateSubnets: DescribeSubnets again, to learn whether
    // the node's own subnet is tagged out before creating there.
    kCreateOwnSubnet,
    kLeakSweep,  // DescribeNetworkInterfaces of the account for leaked ENIs
    // CreateTags on an ENI a startup or reconcile describe found lacking the
    // node's tags; the describe is applied once every such call is over.
    kTag,
    // CreateTags of a createdAt on a leaked-ENI candidate that lacks one.
    kStampCreatedAt,
    // ModifyNetworkInterfaceAttribute: DeleteOnTermination of a new ENI's
    // attachment, before it joins the pool.
    kSetDeleteOnTermination,
    // Security-group refresh: DescribeNetworkInterfaces of the primary ENI,
    // then ModifyNetworkInterfaceAttribute with its groups on each pool ENI.
    kReadGroups,
    kSetGroups,
  };

  // One step of a sequence: in flight (id != 0) or scheduled (id == 0, sent
  // by Tick once `due`).
  struct Op {
    std::uint64_t id = 0;
    Step step = Step::kStart;
    Ec2Call call{};
    absl::Time due = absl::InfinitePast();
    absl::Time increase_started = absl::InfinitePast();  // assign / create → attach: refill latency
    int attempts = 0;            // failed tries so far (detach / delete)
    int throttle_retries = 0;    // throttled re-sends so far
    std::string eni{};           // the ENI the step is about
    NetworkInterface created{};  // kAttach, kSetDeleteOnTermination: the new ENI
    bool freeing = false;        // kDelete: the last step of freeing a pool ENI
    bool refused = false;        // kDetach: giving back a new ENI that never joined the pool
    std::uint64_t intent = 0;    // the store's intent this step finishes (durable stores), or 0
    std::vector<std::uint64_t> intents{};  // kSweep: the create intents it settles
    std::vector<NetworkInterface> interfaces{};  // k*Subnets after a describe: what it listed
    std::vector<std::string> subnets_left{};     // kCreate: the subnets to try next
    int count = 0;                               // kCreate, kCreateSubnets: CIDRs wanted
    bool prefix = false;                         // kCreate, kCreateSubnets: /28s, not /32s
  };

  static constexpr std::uint64_t kNoGeneration = ~std::uint64_t{0};
  // The most network cards of any instance type (docs/reference-behavior.md
  // §6.2: 32).
  static constexpr int kMaxNetworkCards = 32;
  static constexpr double kPeakAddsTimeConstantSeconds = 600;  // PoolSignals::recent_peak_adds

  NodeController(ControllerConfig config, Store store, Policy policy)
      : config_(std::move(config)),
        policy_(std::move(policy)),
        store_(std::move(store)),
        next_id_(config_.first_request_id == 0 ? 1 : config_.first_request_id),
        jitter_rng_(config_.throttle.jitter_seed),
        sweep_rng_(config_.sweep_seed),
        retry_tokens_(config_.throttle.retry_quota) {
    if constexpr (DurablePoolStore<Store>) {
      // The pool timers survive a restart: no decrease within 30 s of the
      // last, no increase within 120 s of an insufficient-address answer.
      last_decrease_ =
          store_.mark(ControllerMark::kLastDecrease).value_or(absl::InfinitePast());
      last_insufficient_ =
          store_.mark(ControllerMark::kLastInsufficientAddresses).value_or(absl::InfinitePast());
    }
  }

  [[nodiscard]] bool HasOp(Step step) const {
    return std::any_of(ops_.begin(), ops_.end(), [step](const Op& op) { return op.step == step; });
  }

  void Issue(Op op, std::vector<Ec2Request>& out) {
    op.id = next_id_++;
    if (next_id_ == 0) next_id_ = 1;  // 0 marks a scheduled step
    counters_.calls[op.call.index()] += 1;
    out.push_back(Ec2Request{op.id, op.call});
    ops_.push_back(std::move(op));
  }

  // Issues a follow-up step: a new request, which no earlier request's
  // throttling delays.
  void Emit(Op op, absl::Time now, std::vector<Ec2Request>& out) {
    (void)now;
    Issue(std::move(op), out);
  }

  void Schedule(Op op, absl::Time due) {
    op.id = 0;
    op.due = due;
    ops_.push_back(std::move(op));
  }

  void IssueDue(absl::Time now, std::vector<Ec2Request>& out) {
    for (Op& op : ops_) {
      if (op.id != 0 || now < op.due) continue;
      op.id = next_id_++;
      if (next_id_ == 0) next_id_ = 1;
      counters_.calls[op.call.index()] += 1;
      out.push_back(Ec2Request{op.id, op.call});
    }
  }

  static bool ResponseFits(const Ec2Call& call, const Ec2Response& response) {
    switch (call.index()) {
      case 0:
        return std::holds_alternative<NetworkInterface>(response);
      case 1:
        return std::holds_alternative<std::string>(response);
      case 4:
        return std::holds_alternative<std::vector<Ipv4Address>>(response);
      case 5:
        return std::holds_alternative<std::vector<Ipv4Prefix>>(response);
      case 8:
        return std::holds_alternative<std::vector<NetworkInterface>>(response);
      case 9:
        return std::holds_alternative<std::vector<SubnetInfo>>(response);
      case 10:
        return std::holds_alternative<std::vector<Ipv6Prefix>>(response);
      default:
        return true;  // detach, delete, unassign: nothing to read
    }
  }

  // Handles RequestLimitExceeded: schedules the re-send of `op` after its
  // own back-off. False when its attempts or the retry quota are used up
  // (or the model is disabled): the caller then treats it as an ordinary
  // failure.
  bool OnThrottled(Op& op, absl::Time now) {
    const ThrottleBackoff& policy = config_.throttle;
    if (!policy.enabled || op.throttle_retries + 1 >= policy.max_attempts) return false;
    if (policy.retry_quota > 0) {
      if (retry_tokens_ < policy.retry_cost) {
        counters_.throttle_quota_refusals += 1;
        return false;
      }
      retry_tokens_ -= policy.retry_cost;
    }
    op.throttle_retries += 1;
    counters_.throttle_retries += 1;
    // U in [0, 1) from the top 53 bits: the same on every platform.
    const double uniform = static_cast<double>(jitter_rng_() >> 11) * 0x1.0p-53;
    const absl::Duration ceiling = policy.base * std::ldexp(1.0, op.throttle_retries - 1);
    // Whole microseconds: a schedule in fractions of a nanosecond (absl's
    // resolution) would fall between the ticks of a nanosecond clock.
    const absl::Duration delay =
        absl::Trunc(std::min(ceiling * uniform, policy.max), absl::Microseconds(1));
    Schedule(std::move(op), now + delay);
    return true;
  }

  // A successful answer gives back to the retry quota what its re-send took,
  // or 1 if it needed none (the SDKs' standard mode), up to the quota.
  void RefundRetryQuota(const Op& op) {
    const ThrottleBackoff& policy = config_.throttle;
    if (policy.retry_quota <= 0) return;
    retry_tokens_ = std::min(policy.retry_quota,
                             retry_tokens_ + (op.throttle_retries > 0 ? policy.retry_cost : 1));
  }

  // --- the pool check --------------------------------------------------------

  void PoolCheck(absl::Time now, const PoolStats& stats, std::uint64_t generation,
                 std::vector<Ec2Request>& out) {
    counters_.pool_checks += 1;
    exhausted_enis_.clear();
    FillInputs(now, stats);
    const ReconcilePlan plan = policy_.Plan(config_.pool, inputs_);
    ApplyPlan(plan, now, generation, out);
  }

  // The pool check's inputs, in the reused inputs_.
  void FillInputs(absl::Time now, const PoolStats& stats) {
    inputs_.stats = stats;
    pool().EniViews(inputs_.enis);  // refills the reused vector: no allocation per check
    inputs_.now = now;
    inputs_.since_last_decrease = now - last_decrease_;
    inputs_.since_insufficient_addresses = now - last_insufficient_;
    inputs_.unmanaged_enis = static_cast<int>(
        std::count_if(enis_.begin(), enis_.end(), [](const ManagedEni& e) { return !e.in_pool; }));
    inputs_.node_schedulable = node_schedulable_;
    inputs_.signals = signals_;
    inputs_.free_cidrs.clear();
    if (policy_.NeedsFreeCidrs(config_.pool, inputs_)) {
      // Only the decrease reads the free CIDRs; build them only then.
      inputs_.free_cidrs = FreeCidrsOf(pool(), inputs_.enis);
    }
  }

  void ApplyPlan(const ReconcilePlan& plan, absl::Time now, std::uint64_t generation,
                 std::vector<Ec2Request>& out) {
    bool acted = false;
    if (plan.increase.has_value() && plan.increase->count > 0) {
      acted = true;
      StartIncrease(*plan.increase, now, out);
    }
    if (!plan.releases.empty()) acted = ReleaseCidrs(plan.releases, now, out) || acted;
    if (plan.free_eni.has_value() &&
        !(plan.increase.has_value() && plan.increase->eni == plan.free_eni)) {
      acted = FreeEni(plan.free_eni->view(), now, out) || acted;
    }
    if (plan.increase.has_value() && plan.increase->count > 0) {
      for (Op& op : ops_) {
        if (op.step == Step::kAssign || op.step == Step::kCreate ||
            op.step == Step::kCreateSubnets) {
          op.increase_started = now;
        }
      }
    }
    if (acted) {
      last_pool_action_ = now;
      idle_generation_ = kNoGeneration;
      return;
    }
    // Nothing to do: the same plan comes back until the pool changes or one
    // of the policy's timers runs out.
    idle_generation_ = generation;
    idle_through_cooldown_ends_ = false;
    idle_until_ = NextTimerAfter(now);
  }

  // The earliest time after `now` at which a timer the policy reads crosses
  // its threshold: the decrease throttle, the insufficient-address
  // back-off, an ENI reaching the minimum age to be freed.
  [[nodiscard]] absl::Time NextTimerAfter(absl::Time now) const {
    absl::Time next = absl::InfiniteFuture();
    auto consider = [&](absl::Time t) {
      if (t >= now) next = std::min(next, t);
    };
    consider(last_decrease_ + absl::Seconds(kDecreaseThrottleSeconds));
    consider(last_insufficient_ + absl::Seconds(kInsufficientAddressBackoffSeconds));
    for (const EniView& eni : inputs_.enis)
      consider(eni.created + absl::Seconds(kMinEniAgeSeconds));
    return next;
  }

  void StartIncrease(const IncreaseStep& step, absl::Time now, std::vector<Ec2Request>& out) {
    // The plan may ask for the other kind (a prefix-mode node taking /32s).
    const bool prefix = step.kind.value_or(config_.pool.mode) == AddressMode::kPrefix;
    if (step.eni.has_value()) {
      Issue(Op{.step = Step::kAssign,
               .call = AssignCall(step.eni->ToString(), step.count, prefix),
               .eni = step.eni->ToString()},
            out);
      return;
    }
    if (config_.subnet_discovery && !config_.pool.custom_networking) {
      // Where the ENI may go is read first (docs/reference-behavior.md §7.1).
      Issue(Op{.step = Step::kCreateSubnets,
               .call = SubnetsCall(),
               .count = step.count,
               .prefix = prefix},
            out);
      return;
    }
    IssueCreate(config_.subnet_id, {}, step.count, prefix, now, absl::InfinitePast(), out);
  }

  [[nodiscard]] Ec2Call SubnetsCall() const {
    return DescribeSubnetsRequest{.subnet_ids = {},
                                  .vpc_id = config_.vpc_id,
                                  .availability_zone = config_.availability_zone};
  }

  // CreateNetworkInterface in `subnet`; `rest` are the subnets to try if it
  // fails (subnet discovery).
  void IssueCreate(std::string subnet, std::vector<std::string> rest, int count, bool prefix,
                   absl::Time now, absl::Time increase_started, std::vector<Ec2Request>& out) {
    CreateNetworkInterfaceRequest create{
        .subnet_id = std::move(subnet),
        .description = CreatedEniDescription(config_.instance_id),
        .security_group_ids = NewEniGroups(),
        .tags = CreatedEniTags(config_.instance_id, now, config_.cluster_name,
                               config_.additional_eni_tags)};
    (prefix ? create.ipv4_prefix_count : create.secondary_ip_count) = count;
    // A named primary address comes from the node's own subnet.
    if (create.subnet_id == config_.subnet_id) NamePrimaryAddress(create, now);
    if (create.private_ip_address.has_value()) counters_.named_primary_creates += 1;
    // A durable store writes the intent first: if the answer is lost to a
    // crash, the restart looks for the new ENI by its description.
    const absl::StatusOr<std::uint64_t> intent = BeginIntent({.kind = PoolIntentKind::kCreateEni});
    if (!intent.ok()) return;
    Issue(Op{.step = Step::kCreate,
             .call = std::move(create),
             .increase_started = increase_started,
             .intent = *intent,
             .subnets_left = std::move(rest),
             .count = count,
             .prefix = prefix},
          out);
  }

  // Subnet discovery, after an assign found its ENI's subnet exhausted: the
  // reference's fill moves on to the next candidate ENI, and with none left
  // creates an ENI (docs/reference-behavior.md §4.6), all without the 120 s
  // back-off. The policy is asked again with the exhausted ENIs shown full.
  void ReplanIncrease(absl::Time now, absl::Time increase_started,
                      std::vector<Ec2Request>& out) {
    FillInputs(now, pool().Stats());
    const int slots = config_.pool.slots_per_eni();
    for (EniView& view : inputs_.enis) {
      if (std::find(exhausted_enis_.begin(), exhausted_enis_.end(), view.id.view()) !=
          exhausted_enis_.end()) {
        view.cidrs = slots;
      }
    }
    const ReconcilePlan plan = policy_.Plan(config_.pool, inputs_);
    if (!plan.increase.has_value() || plan.increase->count <= 0) return;
    StartIncrease(*plan.increase, now, out);
    for (Op& op : ops_) {
      if (op.increase_started == absl::InfinitePast() &&
          (op.step == Step::kAssign || op.step == Step::kCreate ||
           op.step == Step::kCreateSubnets)) {
        op.increase_started = increase_started;
      }
    }
  }

  // The reference's random wait before each sweep: 0–300 s, whole seconds.
  absl::Duration SweepDelay() {
    return absl::Seconds(static_cast<std::int64_t>(sweep_rng_() % 300));
  }

  // The answer to a leaked-ENI sweep: each candidate no step of this
  // controller is handling is deleted (NotFound counts as done; retried as
  // any delete). The next sweep is an hour and a random delay away, whether
  // or not this one succeeded.
  void OnLeakSweep(const Ec2Result& result, absl::Time now, std::vector<Ec2Request>& out) {
    next_sweep_ = now + absl::Hours(1) + SweepDelay();
    if (!result.ok()) return;
    counters_.leak_sweeps += 1;
    for (const NetworkInterface& ni : std::get<std::vector<NetworkInterface>>(result.response)) {
      if (config_.tag_enis && NeedsCreatedAtStamp(ni, config_.cluster_name)) {
        // No age to judge it by: stamp one, so a later sweep can (the
        // reference's tagENIcreateTS, docs/reference-behavior.md §4.9).
        counters_.created_at_stamps += 1;
        Issue(Op{.step = Step::kStampCreatedAt,
                 .call = CreateTagsRequest{.eni_ids = {ni.id},
                                           .tags = {{std::string(kEniCreatedAtTag),
                                                     FormatEniTime(now)}}},
                 .eni = ni.id},
              out);
        continue;
      }
      if (!IsLeakedEniCandidate(ni, config_.cluster_name, now)) continue;
      const bool handled = std::any_of(ops_.begin(), ops_.end(),
                                       [&](const Op& other) { return other.eni == ni.id; });
      if (handled || FindRecord(ni.id) != nullptr) continue;
      counters_.leaked_enis_deleted += 1;
      Issue(Op{.step = Step::kDelete,
               .call = DeleteNetworkInterfaceRequest{.eni_id = ni.id},
               .eni = ni.id},
            out);
    }
  }

  // Marks each pool ENI excluded or not as its subnet's tags in `subnets`
  // now say (docs/reference-behavior.md §4.13): a subnet tagged out at run
  // time takes its ENIs out of pod use at the next DescribeSubnets.
  void FollowSubnetTags(const std::vector<SubnetInfo>& subnets) {
    if constexpr (requires(Store& s) { s.SetEniExcluded(absl::string_view(), true); }) {
      for (const ManagedEni& record : enis_) {
        if (!record.in_pool) continue;
        const auto held = pool().FindEni(record.id);
        if (!held.ok()) continue;
        const bool excluded =
            IsSubnetExcluded(FindSubnet(subnets, record.subnet_id), config_.cluster_name);
        if (held->excluded != excluded && store_.SetEniExcluded(record.id, excluded).ok()) {
          counters_.exclusion_changes += 1;
        }
      }
    } else {
      (void)subnets;
    }
  }

  // The answer to the DescribeSubnets before a create: the ENI is created in
  // the valid subnet with the most free addresses, the others kept to try
  // next. A failed describe creates nothing this pool check (the reference
  // would need a second DescribeSubnets to fall back to its own subnet).
  void OnCreateSubnets(Op& op, const Ec2Result& result, absl::Time now,
                       std::vector<Ec2Request>& out) {
    if (!result.ok()) {
      // The reference falls back to the node's own subnet, unless a second
      // DescribeSubnets shows it tagged out (AWSU :: createENI,
      // IsSubnetExcluded; docs/reference-behavior.md §7.1).
      Issue(Op{.step = Step::kCreateOwnSubnet,
               .call = SubnetsCall(),
               .increase_started = op.increase_started,
               .count = op.count,
               .prefix = op.prefix},
            out);
      return;
    }
    const auto& subnets = std::get<std::vector<SubnetInfo>>(result.response);
    FollowSubnetTags(subnets);
    std::vector<std::string> order =
        SubnetsForEniCreation(subnets, config_.subnet_id, config_.cluster_name);
    if (order.empty()) {
      counters_.no_valid_subnet += 1;
      return;
    }
    std::string first = std::move(order.front());
    order.erase(order.begin());
    IssueCreate(std::move(first), std::move(order), op.count, op.prefix, now, op.increase_started,
                out);
  }

  // The second DescribeSubnets after a failed one: a failure, or the node's
  // own subnet tagged out, creates nothing this time; otherwise the ENI is
  // created there.
  void OnCreateOwnSubnet(Op& op, const Ec2Result& result, absl::Time now,
                         std::vector<Ec2Request>& out) {
    if (!result.ok()) return;
    const auto& subnets = std::get<std::vector<SubnetInfo>>(result.response);
    FollowSubnetTags(subnets);
    if (IsSubnetExcluded(FindSubnet(subnets, config_.subnet_id), config_.cluster_name)) {
      counters_.no_valid_subnet += 1;
      return;
    }
    counters_.own_subnet_fallbacks += 1;
    IssueCreate(config_.subnet_id, {}, op.count, op.prefix, now, op.increase_started, out);
  }

  [[nodiscard]] static Ec2Call AssignCall(std::string eni, int count, bool prefix) {
    if (prefix) {
      return AssignIpv4PrefixesRequest{.eni_id = std::move(eni), .count = count};
    }
    return AssignPrivateIpAddressesRequest{.eni_id = std::move(eni), .count = count};
  }

  // Removes the plan's CIDRs from the datastore (non-forced: one assigned
  // meanwhile is skipped), then asks EC2 to unassign the ones removed.
  bool ReleaseCidrs(const std::vector<CidrRelease>& releases, absl::Time now,
                    std::vector<Ec2Request>& out) {
    bool released = false;
    for (const CidrRelease& release : releases)
      released = UnassignCidrs(release, out) > 0 || released;
    if (released) {
      counters_.decreases += 1;
      last_decrease_ = now;
      SetMark(ControllerMark::kLastDecrease, now);
    }
    return released;
  }

  // Removes one ENI's CIDRs from the datastore (non-forced: one assigned
  // meanwhile is skipped) and asks EC2 to unassign the ones removed, /28s
  // and /32s in a call each. Returns how many were removed.
  std::int64_t UnassignCidrs(const CidrRelease& release, std::vector<Ec2Request>& out) {
    std::vector<Ipv4Prefix> prefixes;
    std::vector<Ipv4Prefix> singles;
    for (const Ipv4Prefix& cidr : release.cidrs) (cidr.length() == 28 ? prefixes : singles).push_back(cidr);
    return UnassignGroup(release.eni.ToString(), std::move(prefixes), out) +
           UnassignGroup(release.eni.ToString(), std::move(singles), out);
  }

  // One unassign call for CIDRs of one kind. A durable store writes the
  // intent before the first CIDR leaves the pool: a restart then unassigns
  // again what left the pool and EC2 still lists (restart_recovery.h).
  std::int64_t UnassignGroup(const std::string& eni, std::vector<Ipv4Prefix> cidrs,
                             std::vector<Ec2Request>& out) {
    if (cidrs.empty()) return 0;
    const absl::StatusOr<std::uint64_t> intent =
        BeginIntent({.kind = PoolIntentKind::kUnassign, .eni_id = eni, .cidrs = cidrs});
    if (!intent.ok()) return 0;
    std::erase_if(cidrs, [&](const Ipv4Prefix& cidr) {
      return !store_.RemoveCidr(eni, cidr, /*force=*/false).ok();
    });
    if (cidrs.empty()) {
      EndIntent(*intent);
      return 0;
    }
    const auto removed = static_cast<std::int64_t>(cidrs.size());
    counters_.cidrs_released += removed;
    Ec2Call call;
    if (cidrs.front().length() == 28) {
      call = UnassignIpv4PrefixesRequest{.eni_id = eni, .prefixes = std::move(cidrs)};
    } else {
      std::vector<Ipv4Address> ips;
      ips.reserve(cidrs.size());
      for (const Ipv4Prefix& cidr : cidrs) ips.push_back(cidr.network());
      call = UnassignPrivateIpAddressesRequest{.eni_id = eni, .addresses = std::move(ips)};
    }
    Issue(Op{.step = Step::kUnassign, .call = std::move(call), .eni = eni, .intent = *intent}, out);
    return removed;
  }

  // Removes the ENI from the datastore first, then detaches it.
  bool FreeEni(absl::string_view eni_id, absl::Time now, std::vector<Ec2Request>& out) {
    (void)now;
    ManagedEni* record = FindRecord(eni_id);
    if (record == nullptr) return false;  // not attached by EC2's account: leave it
    if (const auto held = pool().FindEni(eni_id); !held.ok() || held->pods > 0) return false;
    // A durable store writes the intent first: a restart finishes the
    // detach and delete of an ENI that left the pool.
    const absl::StatusOr<std::uint64_t> intent =
        BeginIntent({.kind = PoolIntentKind::kFreeEni, .eni_id = std::string(eni_id)});
    if (!intent.ok()) return false;
    if (!store_.RemoveEni(eni_id, /*force=*/false).ok()) {
      EndIntent(*intent);
      return false;
    }
    record->in_pool = false;
    Issue(Op{.step = Step::kDetach,
             .call = DetachNetworkInterfaceRequest{.attachment_id = record->attachment_id,
                                                   .eni_id = record->id},
             .eni = record->id,
             .intent = *intent},
          out);
    return true;
  }

  // --- answers ---------------------------------------------------------------

  void OnAssign(Op& op, const Ec2Result& result, absl::Time now, std::vector<Ec2Request>& out) {
    const Ec2ErrorCode code = result.error_code();
    if (code == Ec2ErrorCode::kNone) {
      if (const auto* ips = std::get_if<std::vector<Ipv4Address>>(&result.response)) {
        for (Ipv4Address ip : *ips) AddCidr(op.eni, Ipv4Prefix::FromAddress(ip));
      } else if (const auto* prefixes = std::get_if<std::vector<Ipv4Prefix>>(&result.response)) {
        for (const Ipv4Prefix& prefix : *prefixes) AddCidr(op.eni, prefix);
      }
      counters_.increases += 1;
      MeasureRefill(op.increase_started, now);
      return;
    }
    if (code == Ec2ErrorCode::kPrivateIpAddressLimitExceeded ||
        code == Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound) {
      // The datastore is stale about this ENI: ask EC2 what it holds.
      Emit(Op{.step = Step::kResync,
              .call = DescribeNetworkInterfacesRequest{.eni_ids = {op.eni}, .instance_id = {}},
              .eni = op.eni},
           now, out);
      return;
    }
    if (op.step == Step::kAssign) {
      counters_.retries_with_one += 1;
      Emit(Op{.step = Step::kAssignRetry,
              .call = AssignCall(op.eni, 1,
                                 std::holds_alternative<AssignIpv4PrefixesRequest>(op.call)),
              .increase_started = op.increase_started,
              .eni = op.eni},
           now, out);
      return;
    }
    if (code == Ec2ErrorCode::kInsufficientCidrBlocks) last_insufficient_cidr_ = now;
    if (!IsInsufficientAddressError(code)) return;
    if (config_.subnet_discovery) {
      counters_.exhausted_eni_skips += 1;
      exhausted_enis_.push_back(op.eni);
      ReplanIncrease(now, op.increase_started, out);
      return;
    }
    StartInsufficientBackoff(now);
  }

  void OnResync(Op& op, const Ec2Result& result) {
    const Ec2ErrorCode code = result.error_code();
    if (code == Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound) {
      ForgetEni(op.eni);
      return;
    }
    if (code != Ec2ErrorCode::kNone) return;
    const auto& interfaces = std::get<std::vector<NetworkInterface>>(result.response);
    const auto it = std::find_if(interfaces.begin(), interfaces.end(),
                                 [&](const NetworkInterface& ni) { return ni.id == op.eni; });
    if (it == interfaces.end()) {
      // EC2 answers a describe of a missing ENI with NotFound, never with an
      // OK list that lacks it: this answer is wrong, not news. A failed
      // resync changes nothing.
      counters_.implausible_describes += 1;
      return;
    }
    if (it->instance_id != config_.instance_id || !it->attached() ||
        it->network_card_index != config_.network_card) {
      ForgetEni(op.eni);
      return;
    }
    counters_.resyncs += 1;
    if (SyncEniCidrs(*it)) counters_.increases += 1;
  }

  void OnCreate(Op& op, const Ec2Result& result, absl::Time now, std::vector<Ec2Request>& out) {
    const Ec2ErrorCode code = result.error_code();
    if (code != Ec2ErrorCode::kNone && RetryNamedCreate(op, code, now, out)) return;
    if (code != Ec2ErrorCode::kNone) {
      EndIntent(op.intent);  // nothing was created
      if (!op.subnets_left.empty()) {
        // Subnet discovery: any failure moves on to the next subnet
        // (docs/reference-behavior.md §7.1).
        counters_.create_subnet_fallbacks += 1;
        std::string next = std::move(op.subnets_left.front());
        op.subnets_left.erase(op.subnets_left.begin());
        IssueCreate(std::move(next), std::move(op.subnets_left), op.count, op.prefix, now,
                    op.increase_started, out);
        return;
      }
      if (IsInsufficientAddressError(code)) StartInsufficientBackoff(now);
      if (code == Ec2ErrorCode::kInsufficientCidrBlocks) last_insufficient_cidr_ = now;
      return;
    }
    counters_.enis_created += 1;
    NetworkInterface created = std::get<NetworkInterface>(result.response);
    const int device = LowestFreeDeviceIndex();
    std::string id = created.id;
    // Now that the ENI's id is known, the intent names it. If that cannot
    // be written, the create intent stays open (a restart sweeps for it).
    std::uint64_t intent = op.intent;
    if (op.intent != 0) {
      if (auto attach = BeginIntent({.kind = PoolIntentKind::kAttachEni, .eni_id = id});
          attach.ok()) {
        EndIntent(op.intent);
        intent = *attach;
      }
    }
    Emit(Op{.step = Step::kAttach,
            .call =
                AttachNetworkInterfaceRequest{.eni_id = id,
                                              .instance_id = config_.instance_id,
                                              .device_index = device,
                                              .network_card_index = config_.network_card},
            .increase_started = op.increase_started,
            .eni = id,
            .created = std::move(created),
            .intent = intent},
         now, out);
  }

  void OnAttach(Op& op, const Ec2Result& result, absl::Time now, std::vector<Ec2Request>& out) {
    if (!result.ok()) {
      // The reference deletes the ENI it could not attach (docs/reference-behavior.md §7.1).
      counters_.attach_failures += 1;
      Emit(Op{.step = Step::kDelete,
              .call = DeleteNetworkInterfaceRequest{.eni_id = op.eni},
              .eni = op.eni,
              .intent = op.intent},
           now, out);
      return;
    }
    const auto& attach = std::get<AttachNetworkInterfaceRequest>(op.call);
    op.created.instance_id = config_.instance_id;
    op.created.attachment_id = std::get<std::string>(result.response);
    op.created.device_index = attach.device_index;
    op.created.network_card_index = attach.network_card_index;
    counters_.enis_attached += 1;
    if (!config_.set_delete_on_termination) {
      JoinPool(op, now, out);
      return;
    }
    // The reference's AllocENI: DeleteOnTermination before the ENI is used.
    Emit(Op{.step = Step::kSetDeleteOnTermination,
            .call = ModifyNetworkInterfaceAttributeRequest{
                .eni_id = op.eni,
                .attachment = ModifyNetworkInterfaceAttributeRequest::Attachment{
                    .attachment_id = op.created.attachment_id, .delete_on_termination = true}},
            .increase_started = op.increase_started,
            .eni = op.eni,
            .created = std::move(op.created),
            .intent = op.intent},
         now, out);
  }

  // A new ENI, attached (op.created carries the attachment), joins the pool
  // with the addresses its create returned.
  void JoinPool(Op& op, absl::Time now, std::vector<Ec2Request>& out) {
    const NetworkInterface& created = op.created;
    if (!store_
             .AddEni({.id = op.eni,
                      .device_number = created.device_index,
                      .subnet_id = created.subnet_id})
             .ok()) {
      counters_.enis_refused += 1;
      // One the node already holds keeps its record (the datastore has it).
      if (FindRecord(op.eni) != nullptr) return;
      // Otherwise nothing could ever free it (freeing starts from the
      // datastore): give it back now.
      GiveBack(op, now, out);
      return;
    }
    enis_.push_back(ManagedEni{.id = op.eni,
                               .attachment_id = created.attachment_id,
                               .subnet_id = created.subnet_id,
                               .device_index = created.device_index,
                               .in_pool = true,
                               .primary_ip = created.primary_ip});
    for (Ipv4Address ip : created.secondary_ips) AddCidr(op.eni, Ipv4Prefix::FromAddress(ip));
    for (const Ipv4Prefix& prefix : created.prefixes) AddCidr(op.eni, prefix);
    EndIntent(op.intent);
    counters_.increases += 1;
    MeasureRefill(op.increase_started, now);
  }

  // A new ENI that never joined the pool (the datastore refused it, or its
  // DeleteOnTermination could not be set) is detached and deleted again, as
  // after a failed attach; recorded outside the pool until the detach
  // answers.
  void GiveBack(Op& op, absl::Time now, std::vector<Ec2Request>& out) {
    enis_.push_back(ManagedEni{.id = op.eni,
                               .attachment_id = op.created.attachment_id,
                               .subnet_id = op.created.subnet_id,
                               .device_index = op.created.device_index,
                               .in_pool = false});
    Emit(Op{.step = Step::kDetach,
            .call = DetachNetworkInterfaceRequest{.attachment_id = op.created.attachment_id,
                                                  .eni_id = op.eni},
            .eni = op.eni,
            .refused = true,
            .intent = op.intent},
         now, out);
  }

  // The groups new ENIs are created with: the primary ENI's as last read
  // (security-group refresh, custom networking off), else the config's.
  [[nodiscard]] std::vector<std::string> NewEniGroups() const {
    if (held_groups_.has_value() && !config_.pool.custom_networking) return *held_groups_;
    return config_.security_group_ids;
  }

  // The answer to a refresh read of the primary ENI's groups: a failure is
  // counted (the next read comes an interval later, as the reference
  // ignores a failed refresh); groups are applied as at startup.
  void OnReadGroups(const Ec2Result& result, absl::Time now, std::vector<Ec2Request>& out) {
    next_group_refresh_ = now + config_.security_group_refresh;
    const NetworkInterface* primary = nullptr;
    if (result.ok()) {
      for (const NetworkInterface& ni : std::get<std::vector<NetworkInterface>>(result.response)) {
        if (ni.id == primary_eni_id_) primary = &ni;
      }
    }
    if (primary == nullptr) {
      counters_.security_group_read_failures += 1;
      return;
    }
    ApplyPrimaryGroups(primary->security_group_ids, out);
  }

  // The reference's RefreshSGIDs with the primary ENI's groups `groups`:
  // when they differ from the set held (as sets), they are held and, unless
  // custom networking is on, every ENI of the pool is given them
  // (docs/reference-behavior.md §7.1).
  void ApplyPrimaryGroups(const std::vector<std::string>& groups, std::vector<Ec2Request>& out) {
    std::vector<std::string> set = groups;
    std::sort(set.begin(), set.end());
    set.erase(std::unique(set.begin(), set.end()), set.end());
    if (held_groups_ == set) return;
    held_groups_ = std::move(set);
    counters_.security_group_changes += 1;
    if (config_.pool.custom_networking) return;
    for (const EniView& view : pool().EniViews()) {
      Issue(Op{.step = Step::kSetGroups,
               .call = ModifyNetworkInterfaceAttributeRequest{.eni_id = view.id.ToString(),
                                                              .security_group_ids = groups},
               .eni = view.id.ToString()},
            out);
    }
  }

  void OnDetach(Op& op, const Ec2Result& result, absl::Time now) {
    const Ec2ErrorCode code = result.error_code();
    if (code == Ec2ErrorCode::kNone || code == Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound) {
      DropRecord(op.eni);
      if (code == Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound) {
        if (!op.refused) counters_.enis_freed += 1;  // already gone
        EndIntent(op.intent);
        return;
      }
      Schedule(Op{.step = Step::kDelete,
                  .call = DeleteNetworkInterfaceRequest{.eni_id = op.eni},
                  .eni = op.eni,
                  .freeing = !op.refused,
                  .intent = op.intent},
               now + config_.cleanup.detach_delete_pause);
      return;
    }
    if (!RetryCleanup(op, now, config_.cleanup.detach_initial)) {
      counters_.enis_stranded += 1;  // still attached; kept out of the pool, counted as unmanaged
    }
  }

  void OnDelete(Op& op, const Ec2Result& result, absl::Time now) {
    const Ec2ErrorCode code = result.error_code();
    if (code == Ec2ErrorCode::kNone || code == Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound) {
      // NotFound on delete is success (docs/reference-behavior.md §7.1). A
      // delete after a failed attach is not a freed pool ENI.
      if (op.freeing) counters_.enis_freed += 1;
      EndIntent(op.intent);
      return;
    }
    // Out of tries, the intent stays open: the next restart tries again.
    if (!RetryCleanup(op, now, config_.cleanup.delete_initial)) counters_.enis_leaked += 1;
  }

  // Schedules another try of a detach or delete; false when the tries are
  // used up.
  bool RetryCleanup(Op& op, absl::Time now, absl::Duration initial) {
    op.attempts += 1;
    if (op.attempts >= config_.cleanup.max_attempts) return false;
    absl::Duration delay = initial;
    for (int i = 1; i < op.attempts && delay < config_.cleanup.max; ++i) delay *= 2;
    Schedule(std::move(op), now + std::min(delay, config_.cleanup.max));
    return true;
  }

  // Startup and periodic reconcile: EC2's view of the instance's ENIs
  // replaces the datastore's. At the first start on a durable store, the
  // sequences open when the controller last stopped are finished too
  // (restart_recovery.h).
  void OnDescribeInstance(Op& op, const Ec2Result& result, absl::Time now,
                          std::vector<Ec2Request>& out) {
    // A running instance always has its primary ENI attached: an OK answer
    // without it (an empty list, a partial one) is wrong, and applying it
    // would force-remove every ENI and pod. It counts as a failed describe
    // (as the reference's reconcile skips a round when IMDS lists no
    // interfaces).
    const bool implausible = result.ok() && !ListsPrimaryEni(
        std::get<std::vector<NetworkInterface>>(result.response));
    if (implausible) counters_.implausible_describes += 1;
    if (!result.ok() || implausible) {
      if (op.step == Step::kStart) start_retry_at_ = now + config_.start_retry;
      return;
    }
    const auto& interfaces = std::get<std::vector<NetworkInterface>>(result.response);
    if (config_.subnet_discovery) {
      // Which ENIs are kept from pods depends on their subnets' tags
      // (docs/reference-behavior.md §4.13): read them, then apply.
      Issue(Op{.step = op.step == Step::kStart ? Step::kStartSubnets : Step::kReconcileSubnets,
               .call = SubnetsCall(),
               .interfaces = interfaces},
            out);
      return;
    }
    TagThenApply(op.step, interfaces, nullptr, now, out);
  }

  // The DescribeSubnets after a startup or reconcile describe. A failure
  // fails the describe it follows (a startup is retried start_retry later),
  // as the reference's ENI setup fails when it cannot read the tags.
  void OnInstanceSubnets(Op& op, const Ec2Result& result, absl::Time now,
                         std::vector<Ec2Request>& out) {
    const Step step = op.step == Step::kStartSubnets ? Step::kStart : Step::kReconcile;
    if (!result.ok()) {
      if (step == Step::kStart) start_retry_at_ = now + config_.start_retry;
      return;
    }
    TagThenApply(step, op.interfaces, &std::get<std::vector<SubnetInfo>>(result.response), now,
                 out);
  }

  // Before a startup or reconcile describe is applied: the ENIs it lists
  // that should carry the node's tags and lack some get a CreateTags each
  // (ControllerConfig::tag_enis; docs/reference-behavior.md §4.13). The
  // describe is applied when the last of them is over (OnTag); without any,
  // at once.
  void TagThenApply(Step step, const std::vector<NetworkInterface>& interfaces,
                    const std::vector<SubnetInfo>* subnets, absl::Time now,
                    std::vector<Ec2Request>& out) {
    if (config_.tag_enis) {
      const std::vector<Ec2Tag> wanted =
          NodeEniTags(config_.instance_id, config_.cluster_name, config_.additional_eni_tags);
      const EniClassOptions class_options{.instance_id = config_.instance_id,
                                          .manage_untagged = config_.manage_untagged_enis};
      std::vector<Op> tags;
      for (const NetworkInterface& ni : interfaces) {
        if (!Ours(ni)) continue;
        // The reference tags the managed ENIs it sets up: never an unmanaged
        // or EFA-only one, nor the trunk (EniTagCall); at a reconcile only an
        // ENI new to the pool.
        if (step == Step::kReconcile && pool().FindEni(ni.id).ok()) continue;
        std::optional<CreateTagsRequest> call = EniTagCall(ni, IsPrimary(ni), class_options, wanted);
        if (!call.has_value()) continue;
        tags.push_back(Op{.step = Step::kTag, .call = *std::move(call), .eni = ni.id});
      }
      if (!tags.empty()) {
        tagging_ = Tagging{.step = step,
                           .interfaces = interfaces,
                           .subnets = subnets == nullptr
                                          ? std::nullopt
                                          : std::optional<std::vector<SubnetInfo>>(*subnets),
                           .outstanding = static_cast<int>(tags.size())};
        for (Op& op : tags) Issue(std::move(op), out);
        return;
      }
    }
    ApplyInstance(step, interfaces, subnets, {}, now, out);
  }

  // The answer to a CreateTags of an ENI the node found: tried again as
  // TagRetry says, else the ENI counts as untagged. When the last answer is
  // in, the describe is applied: a startup with an untagged ENI fails (tried
  // again start_retry later, as the reference's process exits and starts
  // over), a reconcile leaves the untagged ENIs out of the pool.
  void OnTag(Op& op, const Ec2Result& result, absl::Time now, std::vector<Ec2Request>& out) {
    if (!tagging_.has_value()) return;
    if (result.ok()) {
      counters_.enis_tagged += 1;
      // The describe's copy carries what EC2 now holds.
      for (NetworkInterface& ni : tagging_->interfaces) {
        if (ni.id != op.eni) continue;
        for (const Ec2Tag& tag : std::get<CreateTagsRequest>(op.call).tags) {
          if (std::string* value = FindTagValue(ni.tags, tag.key)) {
            *value = tag.value;
          } else {
            ni.tags.push_back(tag);
          }
        }
      }
    } else if (RetryTag(op, now)) {
      return;
    } else {
      counters_.tag_failures += 1;
      tagging_->untagged.insert(op.eni);
    }
    if (--tagging_->outstanding > 0) return;
    Tagging done = std::move(*tagging_);
    tagging_.reset();
    if (done.step == Step::kStart && !done.untagged.empty()) {
      start_retry_at_ = now + config_.start_retry;
      return;
    }
    ApplyInstance(done.step, done.interfaces, done.subnets.has_value() ? &*done.subnets : nullptr,
                  done.untagged, now, out);
  }

  // Schedules another try of a CreateTags; false when the tries are used up.
  bool RetryTag(Op& op, absl::Time now) {
    op.attempts += 1;
    if (op.attempts >= config_.tag_retry.max_attempts) return false;
    absl::Duration delay = config_.tag_retry.initial;
    for (int i = 1; i < op.attempts && delay < config_.tag_retry.max; ++i) delay *= 2;
    Schedule(std::move(op), now + std::min(delay, config_.tag_retry.max));
    return true;
  }

  static std::string* FindTagValue(std::vector<Ec2Tag>& tags, absl::string_view key) {
    for (Ec2Tag& tag : tags) {
      if (tag.key == key) return &tag.value;
    }
    return nullptr;
  }

  // Applies a describe of the instance (see OnDescribeInstance); with
  // `subnets` (subnet discovery), ENIs joining the pool in a subnet tagged
  // out are added excluded.
  // ENIs in `untagged` (their tagging gave up) stay out of the pool.
  void ApplyInstance(Step step, const std::vector<NetworkInterface>& interfaces,
                     const std::vector<SubnetInfo>* subnets,
                     const absl::flat_hash_set<std::string>& untagged, absl::Time now,
                     std::vector<Ec2Request>& out) {
    RecoveryPlan recovery;
    if constexpr (DurablePoolStore<Store>) {
      if (step == Step::kStart && !store_.intents().empty()) {
        recovery = PlanRestartRecovery(store_.intents(), pool(), interfaces, config_.instance_id);
      }
    }
    auto ours = [&](const NetworkInterface& ni) { return Ours(ni); };
    // ENIs EC2 no longer attaches to the node leave the datastore (forced).
    std::vector<std::string> gone;
    for (const EniView& view : pool().EniViews()) {
      const bool attached = std::any_of(interfaces.begin(), interfaces.end(), [&](const auto& ni) {
        return ni.id == view.id.view() && ours(ni);
      });
      if (!attached) gone.push_back(view.id.ToString());
    }
    for (const std::string& id : gone) ForgetEni(id);
    std::erase_if(enis_, [&](const ManagedEni& record) {
      return std::none_of(interfaces.begin(), interfaces.end(),
                          [&](const auto& ni) { return ni.id == record.id && ours(ni); });
    });
    const EniClassOptions class_options{.instance_id = config_.instance_id,
                                        .manage_untagged = config_.manage_untagged_enis};
    for (const NetworkInterface& ni : interfaces) {
      if (!ours(ni)) continue;
      const bool primary = IsPrimary(ni);
      const EniClass eni_class = ClassifyEni(ni, primary, class_options);
      ManagedEni* record = FindRecord(ni.id);
      if (record == nullptr) {
        enis_.push_back(ManagedEni{.id = ni.id,
                                   .attachment_id = ni.attachment_id,
                                   .subnet_id = ni.subnet_id,
                                   .device_index = ni.device_index});
        record = &enis_.back();
      }
      record->attachment_id = ni.attachment_id;
      record->device_index = ni.device_index;
      record->primary_ip = ni.primary_ip;
      record->eni_class = eni_class;
      if (!EniInPool(eni_class)) {
        // Set aside (docs/reference-behavior.md §4.13): never in the pool,
        // counted against the ENI limit. One the pool held (tagged since)
        // leaves it, as the reference's reconcile drops an ENI it no
        // longer manages.
        record->in_pool = false;
        DropFromPool(ni.id, "is no longer managed (tagged no_manage, or not this node's)");
        continue;
      }
      record->in_pool = !recovery.keep_out_enis.contains(ni.id);
      if (!record->in_pool) continue;  // its free was under way: it is finished below
      if (untagged.contains(ni.id) && !pool().FindEni(ni.id).ok()) {
        // Its tagging gave up: the reference's reconcile skips it until the
        // next one (docs/reference-behavior.md §4.13).
        record->in_pool = false;
        continue;
      }
      const bool excluded = subnets != nullptr &&
                            IsSubnetExcluded(FindSubnet(*subnets, ni.subnet_id), config_.cluster_name);
      if (const auto held = pool().FindEni(ni.id); held.ok() && subnets != nullptr &&
                                                   held->excluded != excluded) {
        // Its subnet's tags changed since it joined the pool: it follows them
        // (the reference re-reads them when it sets the ENI up again).
        if constexpr (requires(Store& s) { s.SetEniExcluded(ni.id, excluded); }) {
          if (store_.SetEniExcluded(ni.id, excluded).ok()) counters_.exclusion_changes += 1;
        }
      }
      if (!pool().FindEni(ni.id).ok()) {
        if (!store_
                 .AddEni({.id = ni.id,
                          .device_number = ni.device_index,
                          .primary = primary,
                          .trunk = eni_class == EniClass::kTrunk,
                          .efa = eni_class == EniClass::kEfa,
                          .excluded = excluded,
                          .subnet_id = ni.subnet_id})
                 .ok()) {
          counters_.enis_refused += 1;
          continue;
        }
      }
      SyncEniCidrs(ni, recovery.keep_out_cidrs);
    }
    last_pool_action_ = now;  // the reconcile gate counts from startup too
    if (step == Step::kStart) {
      started_ = true;
      // The first leaked-ENI sweep: a random 0–300 s after startup.
      if (config_.leaked_eni_sweep) next_sweep_ = now + SweepDelay();
      Recover(recovery, out);
      if (config_.refresh_security_groups) {
        // The startup read of the primary ENI's groups is this describe
        // (which lists the primary, or the startup would have failed).
        for (const NetworkInterface& ni : interfaces) {
          if (!IsPrimary(ni) || ni.instance_id != config_.instance_id || !ni.attached()) continue;
          primary_eni_id_ = ni.id;
          ApplyPrimaryGroups(ni.security_group_ids, out);
          break;
        }
        next_group_refresh_ = now + config_.security_group_refresh;
      }
    } else {
      counters_.reconciles += 1;
    }
  }

  // Issues the calls of a restart's recovery plan; each ends its intent
  // when answered (as the same step does in an uninterrupted run).
  void Recover(RecoveryPlan& plan, std::vector<Ec2Request>& out) {
    counters_.recovered_intents += static_cast<std::int64_t>(
        plan.done.size() + plan.detaches.size() + plan.deletes.size() + plan.unassigns.size() +
        plan.sweep.size());
    for (std::uint64_t id : plan.done) EndIntent(id);
    for (RecoveryPlan::Detach& d : plan.detaches) {
      Issue(Op{.step = Step::kDetach,
               .call = DetachNetworkInterfaceRequest{.attachment_id = d.attachment_id,
                                                     .eni_id = d.eni_id},
               .eni = d.eni_id,
               .intent = d.intent},
            out);
    }
    for (RecoveryPlan::Delete& d : plan.deletes) {
      Issue(Op{.step = Step::kDelete,
               .call = DeleteNetworkInterfaceRequest{.eni_id = d.eni_id},
               .eni = d.eni_id,
               .intent = d.intent},
            out);
    }
    for (RecoveryPlan::Unassign& u : plan.unassigns) {
      Ec2Call call;
      if (u.cidrs.front().length() == 28) {
        call = UnassignIpv4PrefixesRequest{.eni_id = u.eni_id, .prefixes = u.cidrs};
      } else {
        std::vector<Ipv4Address> ips;
        for (const Ipv4Prefix& cidr : u.cidrs) ips.push_back(cidr.network());
        call = UnassignPrivateIpAddressesRequest{.eni_id = u.eni_id, .addresses = std::move(ips)};
      }
      Issue(Op{.step = Step::kUnassign, .call = std::move(call), .eni = u.eni_id, .intent = u.intent},
            out);
    }
    if (!plan.sweep.empty()) {
      Issue(Op{.step = Step::kSweep,
               .call = DescribeNetworkInterfacesRequest{
                   .eni_ids = {},
                   .instance_id = {},
                   .description = CreatedEniDescription(config_.instance_id)},
               .intents = std::move(plan.sweep)},
            out);
    }
  }

  // The answer to a restart's sweep: every unattached ENI with the
  // description this node's creates carry is deleted (each under its own
  // intent), then the create intents end. A failed describe is retried
  // start_retry later. The description is checked here too, in case a
  // backend ignores the filter.
  void OnSweep(Op& op, const Ec2Result& result, absl::Time now, std::vector<Ec2Request>& out) {
    if (!result.ok()) {
      Schedule(std::move(op), now + config_.start_retry);
      return;
    }
    const std::string want = CreatedEniDescription(config_.instance_id);
    for (const NetworkInterface& ni : std::get<std::vector<NetworkInterface>>(result.response)) {
      if (ni.description != want || ni.attached()) continue;
      const bool handled = std::any_of(ops_.begin(), ops_.end(),
                                       [&](const Op& other) { return other.eni == ni.id; });
      if (handled) continue;  // another recovered intent already deletes it
      const absl::StatusOr<std::uint64_t> intent =
          BeginIntent({.kind = PoolIntentKind::kFreeEni, .eni_id = ni.id});
      if (!intent.ok()) return;  // the create intents stay open for the next start
      Issue(Op{.step = Step::kDelete,
               .call = DeleteNetworkInterfaceRequest{.eni_id = ni.id},
               .eni = ni.id,
               .intent = *intent},
            out);
    }
    for (std::uint64_t id : op.intents) EndIntent(id);
  }

  // Only this card's ENIs: the node's other cards have controllers of their
  // own (docs/reference-behavior.md §1.1).
  [[nodiscard]] bool Ours(const NetworkInterface& ni) const {
    return ni.instance_id == config_.instance_id && ni.attached() &&
           ni.network_card_index == config_.network_card;
  }

  // Whether a describe of the instance lists its primary ENI attached to it.
  [[nodiscard]] bool ListsPrimaryEni(const std::vector<NetworkInterface>& interfaces) const {
    // The instance's primary, whichever card this controller keeps: a
    // describe of the instance lists every card's ENIs.
    return std::any_of(interfaces.begin(), interfaces.end(), [&](const NetworkInterface& ni) {
      return IsPrimary(ni) && ni.instance_id == config_.instance_id && ni.attached();
    });
  }

  // The instance's primary ENI: primary_eni_id, or the one at card 0,
  // device 0 (a card n > 0 has a device 0 too).
  [[nodiscard]] bool IsPrimary(const NetworkInterface& ni) const {
    return config_.primary_eni_id.empty() ? ni.device_index == 0 && ni.network_card_index == 0
                                          : ni.id == config_.primary_eni_id;
  }

  // Makes the datastore's CIDRs of one ENI what EC2 reports: adds the
  // missing ones (but none of `keep_out`), force-removes the ones EC2 does
  // not list, reporting the pods that held them. True if any was added.
  bool SyncEniCidrs(const NetworkInterface& ni,
                    const absl::flat_hash_set<Ipv4Prefix>& keep_out = {}) {
    std::vector<Ipv4Prefix> want;
    want.reserve(ni.secondary_ips.size() + ni.prefixes.size());
    for (Ipv4Address ip : ni.secondary_ips) {
      if (ip != ni.primary_ip) want.push_back(Ipv4Prefix::FromAddress(ip));
    }
    want.insert(want.end(), ni.prefixes.begin(), ni.prefixes.end());
    std::sort(want.begin(), want.end());
    auto have = pool().Cidrs(ni.id);
    if (!have.ok()) return false;
    for (const CidrView& c : *have) {
      if (std::binary_search(want.begin(), want.end(), c.cidr)) continue;
      counters_.force_removed_ips += c.assigned;
      if (c.assigned > 0) {
        ReportLostPods(ni.id, c.cidr,
                       absl::StrCat("CIDR ", c.cidr.ToString(), " is no longer on ", ni.id,
                                    " in EC2"));
      }
      (void)store_.RemoveCidr(ni.id, c.cidr, /*force=*/true);
    }
    bool added = false;
    for (const Ipv4Prefix& cidr : want) {
      const bool known = std::any_of(have->begin(), have->end(),
                                     [&](const CidrView& c) { return c.cidr == cidr; });
      if (!known && !keep_out.contains(cidr)) added = AddCidr(ni.id, cidr) || added;
    }
    return added;
  }

  // Appends the pods holding an address of `eni` (within `cidr`, if given)
  // to lost_pods_, sorted by pod key. O(pods): only on the rare forced path.
  void ReportLostPods(absl::string_view eni, std::optional<Ipv4Prefix> cidr,
                      const std::string& reason) {
    const std::size_t first = lost_pods_.size();
    pool().ForEachAssignment([&](const PodKey& pod, const Assignment& a, absl::Time) {
      if (a.eni_id.view() != eni || (cidr.has_value() && !cidr->Contains(a.address))) return;
      lost_pods_.push_back(LostPod{.pod = pod, .assignment = a, .reason = reason});
    });
    std::sort(lost_pods_.begin() + static_cast<std::ptrdiff_t>(first), lost_pods_.end(),
              [](const LostPod& a, const LostPod& b) { return a.pod < b.pod; });
    counters_.lost_pods += static_cast<std::int64_t>(lost_pods_.size() - first);
  }

  bool AddCidr(absl::string_view eni, Ipv4Prefix cidr) {
    if (!store_.AddCidr(eni, cidr).ok()) {
      counters_.rejected_cidrs += 1;
      return false;
    }
    counters_.cidrs_added += 1;
    return true;
  }

  // Drops an ENI EC2 no longer gives the node, pods and all.
  void ForgetEni(absl::string_view eni_id) {
    DropFromPool(eni_id, "is no longer attached to the node in EC2");
    DropRecord(eni_id);
  }

  // Removes an ENI from the pool (forced), reporting its pods as lost
  // ("ENI <id> <why>"). Nothing when the pool does not hold it.
  void DropFromPool(absl::string_view eni_id, absl::string_view why) {
    if (auto view = pool().FindEni(eni_id); view.ok()) {
      counters_.force_removed_enis += 1;
      counters_.force_removed_ips += view->pods;
      if (view->pods > 0) {
        ReportLostPods(eni_id, std::nullopt, absl::StrCat("ENI ", eni_id, " ", why));
      }
      (void)store_.RemoveEni(eni_id, /*force=*/true);
    }
  }

  // --- fragmentation-aware ENI creation (policy/eni_address.h) ----------------

  // Names the new ENI's primary address when the config asks for it and a
  // known broken /28 has a candidate left. O(CIDRs of the node): creates are
  // rare. Not within 120 s (the reference's insufficient-address back-off)
  // of an InsufficientCidrBlocks answer: EC2 has just said the subnet holds
  // no free aligned /28, so a named address protects none and only risks
  // refusals (a node falling back to /32s creates ENIs in that window).
  void NamePrimaryAddress(CreateNetworkInterfaceRequest& create, absl::Time now) const {
    if (config_.eni_primary != EniPrimaryPlacement::kFragmentationAware) return;
    if (now - last_insufficient_cidr_ <= absl::Seconds(kInsufficientAddressBackoffSeconds)) return;
    std::vector<Ipv4Address> used(refused_primaries_.begin(), refused_primaries_.end());
    std::vector<Ipv4Prefix> prefixes;
    for (const ManagedEni& record : enis_) {
      if (record.subnet_id.empty() || record.subnet_id == create.subnet_id) {
        used.push_back(record.primary_ip);
      }
    }
    for (const EniView& view : pool().EniViews()) {
      const auto cidrs = pool().Cidrs(view.id.view());
      if (!cidrs.ok()) continue;
      for (const CidrView& c : *cidrs) {
        if (c.cidr.length() == 32) {
          used.push_back(c.cidr.network());
        } else {
          prefixes.push_back(c.cidr);
        }
      }
    }
    std::erase(used, Ipv4Address{});  // records without a known address
    create.private_ip_address = ChooseEniPrimaryAddress(used, prefixes, config_.subnet_cidr);
  }

  // A create that named its primary address and was refused for that
  // address (InvalidIPAddress.InUse, or InvalidParameterValue: reserved or
  // outside the subnet) is sent again at once, naming the next candidate,
  // or none after kMaxNamedAttempts. The refused address is remembered (it
  // is in use, so its /28 is broken too). False when `op` is not such a
  // create: the caller handles the error.
  bool RetryNamedCreate(Op& op, Ec2ErrorCode code, absl::Time now, std::vector<Ec2Request>& out) {
    auto* create = std::get_if<CreateNetworkInterfaceRequest>(&op.call);
    if (create == nullptr || !create->private_ip_address.has_value() ||
        (code != Ec2ErrorCode::kInvalidIpAddressInUse &&
         code != Ec2ErrorCode::kInvalidParameterValue)) {
      return false;
    }
    counters_.named_primary_refused += 1;
    if (refused_primaries_.size() >= kMaxRefusedPrimaries) {
      refused_primaries_.erase(refused_primaries_.begin());
    }
    refused_primaries_.push_back(*create->private_ip_address);
    op.attempts += 1;
    CreateNetworkInterfaceRequest again = *create;
    again.private_ip_address.reset();
    if (op.attempts < kMaxNamedAttempts) NamePrimaryAddress(again, now);
    if (again.private_ip_address.has_value()) counters_.named_primary_creates += 1;
    Emit(Op{.step = Step::kCreate,
            .call = std::move(again),
            .increase_started = op.increase_started,
            .attempts = op.attempts,
            .intent = op.intent,
            .subnets_left = std::move(op.subnets_left),
            .count = op.count,
            .prefix = op.prefix},
         now, out);
    return true;
  }

  void StartInsufficientBackoff(absl::Time now) {
    last_insufficient_ = now;
    counters_.insufficient_backoffs += 1;
    SetMark(ControllerMark::kLastInsufficientAddresses, now);
  }

  // --- the durable store's intents and marks (no-ops in memory) ---------------

  // Writes an intent; 0 with an in-memory store. The store's error (the
  // step is then not taken) is counted.
  absl::StatusOr<std::uint64_t> BeginIntent(PoolIntent intent) {
    if constexpr (DurablePoolStore<Store>) {
      absl::StatusOr<std::uint64_t> id = store_.BeginIntent(std::move(intent));
      if (!id.ok()) counters_.store_failures += 1;
      return id;
    } else {
      (void)intent;
      return std::uint64_t{0};
    }
  }
  // Ends an intent (0: none). A failure leaves it open, which is safe: a
  // restart finds the sequence done and ends it then.
  void EndIntent(std::uint64_t id) {
    if constexpr (DurablePoolStore<Store>) {
      if (id == 0) return;
      if (!store_.EndIntent(id).ok()) counters_.store_failures += 1;
    } else {
      (void)id;
    }
  }
  void SetMark(ControllerMark mark, absl::Time time) {
    if constexpr (DurablePoolStore<Store>) {
      if (!store_.SetMark(mark, time).ok()) counters_.store_failures += 1;
    } else {
      (void)mark;
      (void)time;
    }
  }

  // The policy's trigger said no on the pool at `generation` (with
  // `stats`): its predicates read the stats alone, so nothing can happen
  // until the pool changes (Tick and SettleIfIdle mark it the same way).
  // Cooldowns ending change the pool, but only its cooling count, each by
  // one, and they are due whether or not anyone looks: when the trigger
  // says no at every count the pool will pass through, down to none, and
  // reads nothing that moves with the clock (no ADD signals, no
  // InsufficientCidrBlocks answer yet), the pool stays idle through them.
  // Then a node whose pods come and go is not checked in full ~30 s after
  // each release, its memory long cold, only to find nothing to do. O(the
  // cooling count).
  void MarkIdleUntilPoolChanges(std::uint64_t generation, const PoolStats& stats) {
    idle_generation_ = generation;
    idle_until_ = absl::InfiniteFuture();
    idle_through_cooldown_ends_ = false;
    if (stats.cooling_ips == 0 || PolicyReadsSignalsNow() ||
        last_insufficient_cidr_ != absl::InfinitePast()) {
      return;
    }
    PoolStats later = stats;
    for (later.cooling_ips = stats.cooling_ips - 1; later.cooling_ips >= 0; --later.cooling_ips) {
      if (policy_.ShouldCheck(config_.pool, later, signals_)) return;
    }
    idle_through_cooldown_ends_ = true;
    idle_steady_generation_ = pool().generation_without_cooldown_ends();
  }

  // Whether the pool, now at `generation`, is as a trigger that said no
  // left it (see MarkIdleUntilPoolChanges()).
  [[nodiscard]] bool IdleAt(std::uint64_t generation) const noexcept {
    if (idle_generation_ == kNoGeneration) return false;
    return idle_through_cooldown_ends_
               ? pool().generation_without_cooldown_ends() == idle_steady_generation_
               : generation == idle_generation_;
  }

  // Whether the policy may read the ADD signals: asked of a type-erased
  // policy, else its type's PolicyReadsAddSignals.
  [[nodiscard]] bool PolicyReadsSignalsNow() const noexcept {
    if constexpr (requires { policy_.reads_add_signals(); }) {
      return policy_.reads_add_signals();
    } else {
      return PolicyReadsAddSignals<Policy>;
    }
  }

  // PoolSignals::add_rate: the successful ADDs since the last update over
  // the time since, folded in with weight 1 − e^(−Δt/τ); recent_peak_adds:
  // the most ADDs between two updates, decaying; recent_failed_adds: failed
  // ADDs in two 10 s buckets. O(1); the exponentials are skipped when
  // nothing happened and the signals are already zero.
  void UpdateAddRate(absl::Time now) {
    if (now - failed_bucket_start_ >= absl::Seconds(10)) {
      failed_adds_previous_ =
          now - failed_bucket_start_ >= absl::Seconds(20) ? 0 : failed_adds_bucket_;
      failed_adds_bucket_ = 0;
      failed_bucket_start_ = now;
    }
    signals_.recent_failed_adds = static_cast<int>(
        std::min<std::int64_t>(failed_adds_previous_ + failed_adds_bucket_, 1 << 30));
    if (last_rate_update_ == absl::InfinitePast()) {
      last_rate_update_ = now;
      adds_since_rate_update_ = 0;
      return;
    }
    const double dt = absl::ToDoubleSeconds(now - last_rate_update_);
    if (dt <= 0) return;
    if (adds_since_rate_update_ == 0 && signals_.add_rate == 0 && signals_.recent_peak_adds == 0) {
      last_rate_update_ = now;
      return;
    }
    signals_.recent_peak_adds =
        std::max(static_cast<double>(adds_since_rate_update_),
                 signals_.recent_peak_adds * std::exp(-dt / kPeakAddsTimeConstantSeconds));
    if (signals_.recent_peak_adds < 0.5) signals_.recent_peak_adds = 0;
    const double tau = std::max(1e-3, absl::ToDoubleSeconds(config_.signal_time_constant));
    const double weight = 1 - std::exp(-dt / tau);
    const double rate = static_cast<double>(adds_since_rate_update_) / dt;
    signals_.add_rate += weight * (rate - signals_.add_rate);
    if (signals_.add_rate < 1e-9) signals_.add_rate = 0;
    adds_since_rate_update_ = 0;
    last_rate_update_ = now;
  }

  // PoolSignals::refill_latency: the first increase's latency, then each
  // new one weighted 1/4 (about the last four increases).
  void MeasureRefill(absl::Time started, absl::Time now) {
    if (started == absl::InfinitePast() || now < started) return;
    const absl::Duration latency = now - started;
    signals_.refill_latency = signals_.refills_measured == 0
                                  ? latency
                                  : signals_.refill_latency + (latency - signals_.refill_latency) / 4;
    signals_.refills_measured += 1;
  }

  [[nodiscard]] ManagedEni* FindRecord(absl::string_view id) {
    for (ManagedEni& record : enis_) {
      if (record.id == id) return &record;
    }
    return nullptr;
  }
  void DropRecord(absl::string_view id) {
    std::erase_if(enis_, [&](const ManagedEni& record) { return record.id == id; });
  }

  // The lowest device index on this card no known attachment uses (the
  // reference reads it from DescribeInstances; the controller's records,
  // which hold this card's ENIs, are the same truth for the ENIs it
  // manages). On card 0 index 0 is the primary's; other cards start at 0
  // (docs/reference-behavior.md §7.1).
  [[nodiscard]] int LowestFreeDeviceIndex() const {
    for (int index = config_.network_card == 0 ? 1 : 0;; ++index) {
      const bool used = std::any_of(enis_.begin(), enis_.end(), [index](const ManagedEni& e) {
        return e.device_index == index;
      });
      if (!used) return index;
    }
  }

  ControllerConfig config_;
  Policy policy_;
  Store store_;
  ControllerCounters counters_;
  std::vector<ManagedEni> enis_;
  std::vector<LostPod> lost_pods_;
  std::vector<Op> ops_;
  // Subnet discovery: ENIs whose subnet ran out of addresses in this pool
  // check (the reference skips them until its next cycle).
  std::vector<std::string> exhausted_enis_;
  ReconcileInputs inputs_;  // reused between pool checks
  std::uint64_t next_id_ = 1;
  // A startup or reconcile describe waiting for the CreateTags of the ENIs
  // it found untagged (TagThenApply).
  struct Tagging {
    Step step = Step::kStart;
    std::vector<NetworkInterface> interfaces;
    std::optional<std::vector<SubnetInfo>> subnets;
    int outstanding = 0;
    absl::flat_hash_set<std::string> untagged;  // gave up
  };
  std::optional<Tagging> tagging_;
  bool started_ = false;
  bool node_schedulable_ = true;
  absl::Time start_retry_at_ = absl::InfinitePast();
  absl::Time last_decrease_ = absl::InfinitePast();
  absl::Time last_insufficient_ = absl::InfinitePast();
  absl::Time last_insufficient_cidr_ = absl::InfinitePast();
  // Addresses EC2 refused as a named primary (in use), newest last.
  static constexpr std::size_t kMaxRefusedPrimaries = 256;
  std::vector<Ipv4Address> refused_primaries_;
  PoolSignals signals_;
  std::int64_t adds_since_rate_update_ = 0;
  std::int64_t failed_adds_bucket_ = 0;
  std::int64_t failed_adds_previous_ = 0;
  absl::Time failed_bucket_start_ = absl::InfinitePast();
  absl::Time last_rate_update_ = absl::InfinitePast();
  absl::Time last_pool_action_ = absl::InfinitePast();
  internal::LazyMt19937 jitter_rng_;  // throttle back-off jitter
  internal::LazyMt19937 sweep_rng_;   // leaked-ENI sweep delays
  absl::Time next_sweep_ = absl::InfinitePast();
  // Security-group refresh: the primary ENI (learned at startup), its
  // groups as last read (sorted), and when they are read next.
  std::string primary_eni_id_;
  std::optional<std::vector<std::string>> held_groups_;
  absl::Time next_group_refresh_ = absl::InfiniteFuture();
  int retry_tokens_ = 0;        // throttle retry quota left
  std::uint64_t idle_generation_ = kNoGeneration;  // kNoGeneration: not idle
  absl::Time idle_until_ = absl::InfinitePast();
  // Idle through cooldown ends (MarkIdleUntilPoolChanges()), at this
  // NodeDatastore::generation_without_cooldown_ends().
  bool idle_through_cooldown_ends_ = false;
  std::uint64_t idle_steady_generation_ = 0;
};

}  // namespace enipool

#endif  // ENIPOOL_CONTROLLER_H_
