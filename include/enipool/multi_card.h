// -----------------------------------------------------------------------------
// File: multi_card.h
// -----------------------------------------------------------------------------
//
// `MultiCardNode`: a node whose instance type has several network cards, run
// as the reference runs it with ENABLE_MULTI_NIC (docs/reference-behavior.md
// §1.1, §2.1, §4.1): one NodeController and one store per managed card, each
// attaching its ENIs on its own card and adopting only its card's ENIs;
// cards > 0 held at WARM_IP_TARGET = MINIMUM_IP_TARGET = 1 whatever the
// node's knobs; a pod ADD trying the cards in order, falling through to the
// next card only when a card has no free address; multi-address pods taking
// one address on every managed card; cards that only carry an EFA-only
// interface left alone; each card's ENI limit taken from the instance table
// (MaxEnisOnCard(), docs/reference-behavior.md §6.2).
//
// Around it:
//   * ManagedNetworkCards(): which cards the node manages, from the
//     instance's describe (the reference's markUnmanagedNetworkCards);
//   * CardPoolConfig() / CardControllerConfig(): the config card n runs with;
//   * CardStorePath(): each card's own checkpoint or journal path, as the
//     reference names its per-card checkpoints ("ipam.json" →
//     "ipam-nic-1.json"; "journal" → "journal-nic-1");
//   * StartMultiCardNode() / RunMultiCardPoolCheck(): driver.h's blocking
//     drivers for a whole node.
//
// Example:
//
//   const enipool::InstanceLimits p5 = *enipool::LookupInstanceLimits("p5.48xlarge");
//   enipool::MultiCardConfig config;
//   config.node.pool = {.mode = enipool::AddressMode::kSecondaryIp, .warm_ip_target = 5,
//                       .max_pods = 100};
//   config.node.instance_id = "i-0abc";
//   config.node.subnet_id = "subnet-1";
//   config.limits = p5;
//   config.managed_cards = enipool::ManagedNetworkCards(p5.network_cards, /*multi_nic=*/true,
//                                                       "i-0abc", described);
//   auto node = enipool::MultiCardNode<enipool::ManualClock>::Create(clock, config);
//   ENIPOOL_RETURN_IF_ERROR(enipool::StartMultiCardNode(*node, ec2, clock, sleep_until));
//   absl::StatusOr<enipool::CardAssignment> a = node->AddPod(pod);       // card 0 first
//   absl::StatusOr<std::vector<enipool::CardAssignment>> all =
//       node->AddMultiCardPod(pod2);                                    // one per card
//
// Request ids: card k (the k-th managed card) numbers its requests from
// node.first_request_id + k × kCardRequestIdStride, so an answer finds its
// card by its id alone.
//
// Differences from the reference, on purpose:
//   * a repeated ADD of a pod that already holds an address on some card
//     returns that address; the reference asks card 0 first, which hands out
//     a second address when the pod's address is on a later card
//     (docs/reference-behavior.md §11.12);
//   * the cards run their pool checks side by side, not one after another
//     as the reference's loop does: a back-off or decrease one card starts
//     reaches the others at the next Tick, not within the same check.
//
// What the cards share, as the reference's one ipamd shares it
// (docs/reference-behavior.md §4.3, §4.9, §7.5, §11.12):
//   * the 120 s insufficient-address back-off (one timestamp): an answer
//     that starts it on one card holds every card's increases;
//   * the 30 s decrease throttle (one last-decrease time): a decrease on
//     one card holds every card's decreases;
//   * the throttle retry quota (the SDK retryer of its one EC2 client);
//   * the leaked-ENI sweep, run once per node (by the first card);
//   * startup: no card runs a pool check before every card has started and
//     no card's restart sweep (for ENIs whose create answer a crash lost,
//     found by the description all cards' ENIs share) is outstanding, so a
//     sweep never meets an ENI another card is creating.
//
// Thread-safety: none; one node, one thread (wrap the AddPod/DeletePod side
// as agent.h does for a single card).

#ifndef ENIPOOL_MULTI_CARD_H_
#define ENIPOOL_MULTI_CARD_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/datastore.h"
#include "enipool/ec2/backend.h"
#include "enipool/instance_limits.h"
#include "enipool/node_config.h"
#include "enipool/pod_key.h"
#include "enipool/policy/policy.h"
#include "enipool/policy/warm_pool.h"
#include "enipool/pool_store.h"
#include "enipool/status.h"

namespace enipool {

// CardStorePath()
//
// The path of card `card`'s checkpoint or journal, given card 0's path: card
// 0 keeps `path`; card n > 0 gets "-nic-<n>" before the file name's
// extension, or at its end when it has none — the reference's rule for its
// checkpoints ("/var/run/aws-node/ipam.json" → ".../ipam-nic-2.json",
// docs/reference-behavior.md §1.1), applied alike to journal paths
// ("/var/lib/enipool/journal" → ".../journal-nic-2").
inline std::string CardStorePath(absl::string_view path, int card) {
  if (card <= 0) return std::string(path);
  const std::size_t slash = path.rfind('/');
  const std::size_t name = slash == absl::string_view::npos ? 0 : slash + 1;
  std::size_t dot = path.rfind('.');
  // A dot that starts the name (".journal") or sits in a directory is no
  // extension.
  if (dot == absl::string_view::npos || dot <= name) dot = path.size();
  return absl::StrCat(path.substr(0, dot), "-nic-", card, path.substr(dot));
}

// EnableMultiNicFromEnvironment()
//
// ENABLE_MULTI_NIC as the reference reads it: Go's strconv.ParseBool
// spellings, false when unset or not a boolean.
inline bool EnableMultiNicFromEnvironment(EnvLookup lookup) {
  const std::optional<std::string> text = lookup("ENABLE_MULTI_NIC");
  return text.has_value() && internal::ParseGoBool(*text).value_or(false);
}

// ManagedNetworkCards()
//
// The cards a node manages, ascending (docs/reference-behavior.md §1.1):
// only card 0 without ENABLE_MULTI_NIC; with it, every card 0 ..
// network_cards − 1 except those whose attached interfaces (in `described`,
// the instance's DescribeNetworkInterfaces answer) include an "efa-only" one
// and nothing else. A card with no interface at all is managed.
// Upstream: IPAMD :: markUnmanagedNetworkCards.
inline std::vector<int> ManagedNetworkCards(int network_cards, bool enable_multi_nic,
                                            absl::string_view instance_id,
                                            const std::vector<NetworkInterface>& described) {
  std::vector<int> cards;
  if (!enable_multi_nic || network_cards <= 1) return {0};
  for (int card = 0; card < network_cards; ++card) {
    bool efa_only = false;
    bool other = false;
    for (const NetworkInterface& ni : described) {
      if (!ni.attached() || ni.instance_id != instance_id || ni.network_card_index != card) {
        continue;
      }
      (ni.interface_type == "efa-only" ? efa_only : other) = true;
    }
    if (card == 0 || !efa_only || other) cards.push_back(card);
  }
  return cards;
}

// CardPoolConfig()
//
// The warm-pool config card `card` runs with, given the node's: card 0 runs
// the node's; every other card runs WARM_IP_TARGET = MINIMUM_IP_TARGET = 1
// whatever the node sets (docs/reference-behavior.md §4.1, §4.5, §4.8), and
// in prefix mode keeps those targets' short and over in addresses, used as
// counts of prefixes (WarmPoolConfig::targets_in_prefixes false), as the
// reference does on cards > 0. Each
// card takes its limits from the instance table: its ENI limit
// (MaxEnisOnCard(), lowered by MAX_ENI when pool.max_enis carries one, 0
// meaning none) and the addresses per ENI.
inline WarmPoolConfig CardPoolConfig(const WarmPoolConfig& node, const InstanceLimits& limits,
                                     int card) {
  WarmPoolConfig config = node;
  if (limits.ipv4_per_eni > 0) config.ipv4_per_eni = limits.ipv4_per_eni;
  const int card_limit = MaxEnisOnCard(limits, card);
  config.max_enis = node.max_enis > 0 ? std::min(node.max_enis, card_limit) : card_limit;
  if (card > 0) {
    config.warm_ip_target = 1;
    config.minimum_ip_target = 1;
    // The reference's datastoreTargetState converts short and over into
    // prefixes on card 0 only (docs/reference-behavior.md §4.5).
    config.targets_in_prefixes = false;
  }
  return config;
}

// MultiCardConfig
//
// A multi-card node: the node's controller config (card 0's: its pool knobs,
// instance, subnet; `node.network_card` is ignored), the instance type's
// limits, and the cards to manage (ManagedNetworkCards(); empty means card 0
// only).
struct MultiCardConfig {
  ControllerConfig node;
  InstanceLimits limits;
  std::vector<int> managed_cards;
};

// MultiCardConfigFromNode()
//
// The multi-card node of `node` (NodeConfigFromEnvironment()'s result): its
// controller config and instance limits, and the cards it manages as the
// reference chooses them: with ENABLE_MULTI_NIC in `lookup`
// (EnableMultiNicFromEnvironment()) every card of the type but the
// EFA-only ones, found in `described` (the instance's
// DescribeNetworkInterfaces answer; ManagedNetworkCards()); without it,
// card 0 alone, and the node runs as a NodeController would.
inline MultiCardConfig MultiCardConfigFromNode(const NodeConfig& node, EnvLookup lookup,
                                               const std::vector<NetworkInterface>& described) {
  MultiCardConfig config;
  config.node = node.controller;
  config.limits = node.limits;
  config.managed_cards =
      ManagedNetworkCards(node.limits.network_cards, EnableMultiNicFromEnvironment(lookup),
                          node.controller.instance_id, described);
  return config;
}

// OpenCardStores()
//
// Opens one durable store per managed card, card `cards[k]`'s at
// CardStorePath(base_path, cards[k]) with `options.network_card` set to it:
// the stores MultiCardNode::Create(config, stores) takes at a restart.
// `Store` is a store with `Open(path, clock, options)` and an
// `Options::network_card` (JournaledDatastore, persist/journal.h). The
// first error is returned, naming the card; nothing is kept open then.
template <typename Store, Clock C>
[[nodiscard]] absl::StatusOr<std::vector<Store>> OpenCardStores(absl::string_view base_path,
                                                                const std::vector<int>& cards,
                                                                const C& clock,
                                                                typename Store::Options options) {
  std::vector<Store> stores;
  stores.reserve(cards.size());
  for (int card : cards) {
    options.network_card = card;
    absl::StatusOr<Store> store = Store::Open(CardStorePath(base_path, card), clock, options);
    if (!store.ok()) {
      return absl::Status(store.status().code(), absl::StrCat("network card ", card, ": ",
                                                              store.status().message()));
    }
    stores.push_back(*std::move(store));
  }
  return stores;
}

// kCardRequestIdStride
//
// The request-id range of each card: 2^48 ids, far more than a node issues.
inline constexpr std::uint64_t kCardRequestIdStride = std::uint64_t{1} << 48;

// CardControllerConfig()
//
// The controller config of the `position`-th managed card `card`: the
// node's, with the card's pool (CardPoolConfig()), its own request-id range
// and jitter stream, and the leaked-ENI sweep on the first card only.
inline ControllerConfig CardControllerConfig(const MultiCardConfig& config, std::size_t position,
                                             int card) {
  ControllerConfig out = config.node;
  out.network_card = card;
  out.pool = CardPoolConfig(config.node.pool, config.limits, card);
  out.first_request_id =
      (config.node.first_request_id == 0 ? 1 : config.node.first_request_id) +
      static_cast<std::uint64_t>(position) * kCardRequestIdStride;
  // Each card's throttle jitter is its own stream.
  out.throttle.jitter_seed = config.node.throttle.jitter_seed + static_cast<std::uint64_t>(card);
  // The leaked-ENI sweep looks at every ENI of the account, whatever its
  // card: the reference runs it once per node, so only the first card does.
  out.leaked_eni_sweep = config.node.leaked_eni_sweep && position == 0;
  return out;
}

// BasicCardAssignment / CardAssignment
//
// One address of a pod and the network card it is on: an IPv4 Assignment
// (CardAssignment), or an IPv6 one (Ipv6CardAssignment, ipv6_multi_card.h).
template <typename A>
struct BasicCardAssignment {
  int network_card = 0;
  A assignment;
  friend bool operator==(const BasicCardAssignment&, const BasicCardAssignment&) = default;
};
using CardAssignment = BasicCardAssignment<Assignment>;

namespace internal {

// What a node of several cards does with a pod, whatever the address
// family: `controllers[k]` serves card `cards[k]` and offers
// pool().Lookup(pod), AddPod(pod) and DeletePod(pod) answering its family's
// assignment `A`. MultiCardNode and Ipv6MultiCardNode (ipv6_multi_card.h)
// both use them.

inline absl::Status CardError(int card, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("network card ", card, ": ", status.message()));
}

// The ADD of a single-address pod: its address if some card holds one,
// else the cards in order, a card with no free address (RESOURCE_EXHAUSTED)
// that is not the last passing the pod on.
template <typename A, typename Controllers>
absl::StatusOr<BasicCardAssignment<A>> AddPodOnFirstCard(Controllers& controllers,
                                                         const std::vector<int>& cards,
                                                         const PodKey& pod) {
  for (std::size_t k = 0; k < cards.size(); ++k) {
    if (auto held = controllers[k].pool().Lookup(pod)) {
      return BasicCardAssignment<A>{cards[k], *held};
    }
  }
  absl::Status last;
  for (std::size_t k = 0; k < cards.size(); ++k) {
    absl::StatusOr<A> a = controllers[k].AddPod(pod);
    if (a.ok()) return BasicCardAssignment<A>{cards[k], *a};
    last = a.status();
    const bool more = k + 1 < cards.size();
    if (!more || last.code() != absl::StatusCode::kResourceExhausted) break;
  }
  return last;
}

// The ADD of a multi-address pod: one address per card, card order; when a
// card cannot give one, what this call took on the cards before it is
// released and that card's error returned, the card named.
template <typename A, typename Controllers>
absl::StatusOr<std::vector<BasicCardAssignment<A>>> AddPodOnEveryCard(
    Controllers& controllers, const std::vector<int>& cards, const PodKey& pod) {
  std::vector<BasicCardAssignment<A>> out;
  std::vector<bool> taken(cards.size(), false);  // assigned by this call
  out.reserve(cards.size());
  for (std::size_t k = 0; k < cards.size(); ++k) {
    taken[k] = !controllers[k].pool().Lookup(pod).has_value();
    absl::StatusOr<A> a = controllers[k].AddPod(pod);
    if (!a.ok()) {
      for (std::size_t j = 0; j < k; ++j) {
        if (taken[j]) (void)controllers[j].DeletePod(pod);
      }
      return CardError(cards[k], a.status());
    }
    out.push_back(BasicCardAssignment<A>{cards[k], *a});
  }
  return out;
}

// The DEL: released on every card that holds the pod, card order;
// NOT_FOUND naming the pod when none does.
template <typename A, typename Controllers>
absl::StatusOr<std::vector<BasicCardAssignment<A>>> DeletePodOnEveryCard(
    Controllers& controllers, const std::vector<int>& cards, const PodKey& pod) {
  std::vector<BasicCardAssignment<A>> released;
  for (std::size_t k = 0; k < cards.size(); ++k) {
    if (!controllers[k].pool().Lookup(pod).has_value()) continue;
    absl::StatusOr<A> a = controllers[k].DeletePod(pod);
    if (!a.ok()) return a.status();
    released.push_back(BasicCardAssignment<A>{cards[k], *a});
  }
  if (released.empty()) {
    return absl::NotFoundError(
        absl::StrCat("pod ", pod.ToString(), " holds no address on any card of this node"));
  }
  return released;
}

// Every address the pod holds, card order.
template <typename A, typename Controllers>
std::vector<BasicCardAssignment<A>> LookupOnEveryCard(const Controllers& controllers,
                                                      const std::vector<int>& cards,
                                                      const PodKey& pod) {
  std::vector<BasicCardAssignment<A>> out;
  for (std::size_t k = 0; k < cards.size(); ++k) {
    if (auto a = controllers[k].pool().Lookup(pod)) {
      out.push_back(BasicCardAssignment<A>{cards[k], *a});
    }
  }
  return out;
}

// The managed cards of a node (empty: card 0 alone), checked: card 0 first,
// ascending, distinct, each a card of the instance type.
inline absl::StatusOr<std::vector<int>> CheckedManagedCards(const std::vector<int>& managed,
                                                             const InstanceLimits& limits) {
  std::vector<int> cards = managed.empty() ? std::vector<int>{0} : managed;
  if (cards.front() != 0) {
    return absl::InvalidArgumentError(
        "multi-card node: card 0 (the primary ENI's) must be managed and listed first");
  }
  for (std::size_t k = 0; k < cards.size(); ++k) {
    if (cards[k] < 0 || cards[k] >= limits.network_cards) {
      return absl::InvalidArgumentError(absl::StrCat(
          "multi-card node: card ", cards[k], " is not a card of ",
          limits.name.empty() ? std::string("the instance type") : std::string(limits.name),
          " (it has ", limits.network_cards, ")"));
    }
    if (k > 0 && cards[k] <= cards[k - 1]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "multi-card node: managed cards must be ascending and distinct (", cards[k - 1],
          " then ", cards[k], ")"));
    }
  }
  return cards;
}

// CheckedManagedCards(), for a node built over `store_count` stores (one
// per managed card): INVALID_ARGUMENT, led by `node_kind`, when the counts
// differ.
inline absl::StatusOr<std::vector<int>> CheckedManagedCardsForStores(
    const std::vector<int>& managed, const InstanceLimits& limits, std::size_t store_count,
    absl::string_view node_kind) {
  ENIPOOL_ASSIGN_OR_RETURN(std::vector<int> cards, CheckedManagedCards(managed, limits));
  if (store_count != cards.size()) {
    return absl::InvalidArgumentError(absl::StrCat(node_kind, ": ", store_count, " stores for ",
                                                   cards.size(), " managed cards"));
  }
  return cards;
}

// The position of the card that issued request `id` when card k numbers
// from first + k × kCardRequestIdStride; `card_count` when none did.
inline std::size_t CardOfRequest(std::uint64_t first, std::uint64_t id, std::size_t card_count) {
  if (id < first) return card_count;
  const std::uint64_t position = (id - first) / kCardRequestIdStride;
  return position < card_count ? static_cast<std::size_t>(position) : card_count;
}

}  // namespace internal

namespace internal {

// The cards of a node and one controller per card, in card order, with
// what MultiCardNode and Ipv6MultiCardNode (ipv6_multi_card.h) both answer
// about them.
template <typename Controller, typename Config>
class CardControllers {
 public:
  [[nodiscard]] const Config& config() const noexcept { return config_; }
  // The managed cards, ascending; controller(k) keeps cards()[k].
  [[nodiscard]] const std::vector<int>& cards() const noexcept { return cards_; }
  [[nodiscard]] std::size_t card_count() const noexcept { return cards_.size(); }
  [[nodiscard]] Controller& controller(std::size_t k) { return controllers_[k]; }
  [[nodiscard]] const Controller& controller(std::size_t k) const { return controllers_[k]; }

  // Whether some card has work under way; the earliest time a card has a
  // call to make.
  [[nodiscard]] bool busy() const {
    return std::any_of(controllers_.begin(), controllers_.end(),
                       [](const Controller& c) { return c.busy(); });
  }
  [[nodiscard]] absl::Time NextWakeup() const {
    absl::Time next = absl::InfiniteFuture();
    for (const Controller& c : controllers_) next = std::min(next, c.NextWakeup());
    return next;
  }

 protected:
  Config config_;
  std::vector<int> cards_;
  std::vector<Controller> controllers_;
};

}  // namespace internal

// MultiCardNode
//
// See the file comment. `C`, `Policy` and `Store` as NodeController's; one
// controller (and store) per managed card, in card order.
template <Clock C, typename Policy = ReferencePolicy, typename Store = NodeDatastore<C>>
  requires PoolStore<Store> && std::same_as<typename Store::clock_type, C>
class MultiCardNode
    : public internal::CardControllers<NodeController<C, Policy, Store>, MultiCardConfig> {
  using Base = internal::CardControllers<NodeController<C, Policy, Store>, MultiCardConfig>;
  using Base::cards_;
  using Base::config_;
  using Base::controllers_;

 public:
  using controller_type = NodeController<C, Policy, Store>;

  // MultiCardNode::Create()
  //
  // A node with an empty in-memory store per managed card. INVALID_ARGUMENT
  // when a managed card is not a card of the instance type, is listed twice
  // or out of order, card 0 is not managed, or a card's controller config is
  // refused (NodeController::Create(), the card named).
  [[nodiscard]] static absl::StatusOr<MultiCardNode> Create(const C& clock,
                                                            MultiCardConfig config,
                                                            Policy policy = Policy{})
    requires std::same_as<Store, NodeDatastore<C>>
  {
    ENIPOOL_ASSIGN_OR_RETURN(const std::vector<int> cards,
                             internal::CheckedManagedCards(config.managed_cards, config.limits));
    MultiCardNode node;
    for (std::size_t k = 0; k < cards.size(); ++k) {
      auto controller =
          controller_type::Create(clock, CardControllerConfig(config, k, cards[k]), policy);
      if (!controller.ok()) return CardError(cards[k], controller.status());
      node.cards_.push_back(cards[k]);
      node.controllers_.push_back(*std::move(controller));
    }
    node.retry_tokens_ = std::max(config.node.throttle.retry_quota, 0);
    node.config_ = std::move(config);
    return node;
  }

  // MultiCardNode::Create(stores)
  //
  // A node over stores that may already hold pools (journals replayed at a
  // restart, CardStorePath()): `stores[k]` is the k-th managed card's. Errors
  // as Create(), plus INVALID_ARGUMENT when the count differs from the
  // managed cards or a store keeps another card (NodeController::Create()).
  [[nodiscard]] static absl::StatusOr<MultiCardNode> Create(MultiCardConfig config,
                                                            std::vector<Store> stores,
                                                            Policy policy = Policy{}) {
    ENIPOOL_ASSIGN_OR_RETURN(const std::vector<int> cards,
                             internal::CheckedManagedCardsForStores(
                                 config.managed_cards, config.limits, stores.size(),
                                 "multi-card node"));
    MultiCardNode node;
    for (std::size_t k = 0; k < cards.size(); ++k) {
      auto controller = controller_type::Create(CardControllerConfig(config, k, cards[k]),
                                                std::move(stores[k]), policy);
      if (!controller.ok()) return CardError(cards[k], controller.status());
      node.cards_.push_back(cards[k]);
      node.controllers_.push_back(*std::move(controller));
    }
    node.retry_tokens_ = std::max(config.node.throttle.retry_quota, 0);
    node.config_ = std::move(config);
    return node;
  }

  MultiCardNode(MultiCardNode&&) noexcept = default;
  MultiCardNode& operator=(MultiCardNode&&) noexcept = default;

  // MultiCardNode::ControllerOfCard()
  //
  // The controller of network card `card`, or nullptr when it is not managed.
  [[nodiscard]] controller_type* ControllerOfCard(int card) {
    for (std::size_t k = 0; k < cards_.size(); ++k) {
      if (cards_[k] == card) return &controllers_[k];
    }
    return nullptr;
  }

  [[nodiscard]] bool started() const {
    return std::all_of(controllers_.begin(), controllers_.end(),
                       [](const controller_type& c) { return c.started(); });
  }

  // MultiCardNode::Start() / Tick()
  //
  // Every card's Start() / Tick() (NodeController's), card 0 first. Before
  // the ticks, the latest insufficient-address back-off and the latest
  // decrease of any card reach every card (the reference keeps one of each
  // for the node). Until every card has started and no card's restart
  // sweep is outstanding, a started, idle card is not ticked (no pool
  // check, no reconcile, no leaked-ENI sweep); cards still starting or with
  // requests due are.
  void Start(absl::Time now, std::vector<Ec2Request>& out) {
    for (controller_type& c : controllers_) c.Start(now, out);
  }
  void Tick(absl::Time now, std::vector<Ec2Request>& out) {
    ShareTimers();
    const bool hold = holding_pool_checks();
    for (controller_type& c : controllers_) {
      if (hold && c.started() && !c.busy()) continue;
      c.Tick(now, out);
    }
  }

  // MultiCardNode::holding_pool_checks()
  //
  // True while some card has not started or a card's restart sweep is
  // outstanding: no card may begin a pool check (see Tick()).
  [[nodiscard]] bool holding_pool_checks() const {
    return std::any_of(controllers_.begin(), controllers_.end(), [](const controller_type& c) {
      return !c.started() || c.sweeping();
    });
  }

  // MultiCardNode::throttle_retry_tokens()
  //
  // Tokens left in the node's one throttle retry quota
  // (ThrottleBackoff::retry_quota of the node's config).
  [[nodiscard]] int throttle_retry_tokens() const noexcept { return retry_tokens_; }

  // MultiCardNode::OnResult()
  //
  // Hands the answer to the card that issued the request (by its id range),
  // with the node's retry quota. NOT_FOUND when no card did; otherwise
  // NodeController::OnResult()'s result.
  [[nodiscard]] absl::Status OnResult(const Ec2Request& request, const Ec2Result& result,
                                      absl::Time now, std::vector<Ec2Request>& out) {
    const std::uint64_t first = config_.node.first_request_id == 0 ? 1 : config_.node.first_request_id;
    const std::size_t position = internal::CardOfRequest(first, request.id, cards_.size());
    if (position >= cards_.size()) {
      return absl::NotFoundError(absl::StrCat("request ", request.id, " (",
                                              Ec2CallName(request.call),
                                              ") belongs to no card of this node"));
    }
    // The card spends from, and refunds to, the node's one retry quota.
    controller_type& card = controllers_[position];
    card.SetThrottleRetryTokens(retry_tokens_);
    absl::Status applied = card.OnResult(request, result, now, out);
    retry_tokens_ = card.throttle_retry_tokens();
    return applied;
  }

  // MultiCardNode::AddPod()
  //
  // The CNI ADD of a pod that wants one address (docs/reference-behavior.md
  // §2.1): a pod already holding an address on some card gets it back;
  // otherwise the cards are tried in order, and a card with no free address
  // (RESOURCE_EXHAUSTED) that is not the last passes the pod on to the next;
  // any other error, or the last card's, is returned. Never waits for EC2.
  [[nodiscard]] absl::StatusOr<CardAssignment> AddPod(const PodKey& pod) {
    return internal::AddPodOnFirstCard<Assignment>(controllers_, cards_, pod);
  }

  // MultiCardNode::AddMultiCardPod()
  //
  // The CNI ADD of a pod that wants an address on every managed card (the
  // reference's multi-NIC pods, docs/reference-behavior.md §2.1): one
  // address per card, card order. If a card cannot give one, the addresses
  // this call took on the cards before it are given back (released, so they
  // cool down as any release; the reference gives them back too) and that
  // card's error is returned, the card named. A pod that already holds its
  // addresses gets them back.
  [[nodiscard]] absl::StatusOr<std::vector<CardAssignment>> AddMultiCardPod(const PodKey& pod) {
    return internal::AddPodOnEveryCard<Assignment>(controllers_, cards_, pod);
  }

  // MultiCardNode::DeletePod()
  //
  // The CNI DEL: the pod's address is released on every card that holds one
  // (one card for a single-address pod, every card for a multi-card pod).
  // Returns what was released, card order; NOT_FOUND naming the pod when no
  // card holds it; a store's error otherwise (the cards before it released).
  [[nodiscard]] absl::StatusOr<std::vector<CardAssignment>> DeletePod(const PodKey& pod) {
    return internal::DeletePodOnEveryCard<Assignment>(controllers_, cards_, pod);
  }

  // MultiCardNode::Lookup()
  //
  // Every address the pod holds, card order (empty when none).
  [[nodiscard]] std::vector<CardAssignment> Lookup(const PodKey& pod) const {
    return internal::LookupOnEveryCard<Assignment>(controllers_, cards_, pod);
  }

  void SetNodeSchedulable(bool schedulable) {
    for (controller_type& c : controllers_) c.SetNodeSchedulable(schedulable);
  }

  // MultiCardNode::TakeLostPods()
  //
  // Every card's lost pods (NodeController::TakeLostPods()), card order.
  [[nodiscard]] std::vector<LostPod> TakeLostPods() {
    std::vector<LostPod> out;
    for (controller_type& c : controllers_) {
      std::vector<LostPod> lost = c.TakeLostPods();
      out.insert(out.end(), std::make_move_iterator(lost.begin()),
                 std::make_move_iterator(lost.end()));
    }
    return out;
  }

 private:
  MultiCardNode() = default;

  static absl::Status CardError(int card, const absl::Status& status) {
    return internal::CardError(card, status);
  }

  // The latest insufficient-address answer and the latest decrease of any
  // card hold every card.
  void ShareTimers() {
    absl::Time insufficient = absl::InfinitePast();
    absl::Time decrease = absl::InfinitePast();
    for (const controller_type& c : controllers_) {
      insufficient = std::max(insufficient, c.last_insufficient_addresses());
      decrease = std::max(decrease, c.last_decrease());
    }
    for (controller_type& c : controllers_) {
      if (insufficient != absl::InfinitePast()) c.HoldIncreasesSince(insufficient);
      if (decrease != absl::InfinitePast()) c.HoldDecreasesSince(decrease);
    }
  }

  int retry_tokens_ = 0;  // the node's throttle retry quota
};

// kIsMultiCardNode
//
// True for a MultiCardNode type (agent.h runs one as it runs a
// NodeController).
template <typename T>
inline constexpr bool kIsMultiCardNode = false;
template <Clock C, typename Policy, typename Store>
inline constexpr bool kIsMultiCardNode<MultiCardNode<C, Policy, Store>> = true;

// StartMultiCardNode()
//
// StartNode() (driver.h) for a whole node: every card's startup describe,
// retried every start_retry until all cards have started or `max_attempts`
// rounds failed (UNAVAILABLE then), then one synchronous pool check, the
// reference's pre-scaling round.
template <Clock C, Backend B, typename SleepUntil, typename... Options>
absl::Status StartMultiCardNode(MultiCardNode<C, Options...>& node, B& backend, const C& clock,
                                SleepUntil&& sleep_until, int max_attempts = 6);

// RunMultiCardPoolCheck()
//
// RunPoolCheck() (driver.h) for a whole node: every card's Tick, every call
// and follow-up made at once, then what is scheduled, until no card is busy.
// Returns the number of calls made.
template <Clock C, Backend B, typename SleepUntil, typename... Options>
absl::StatusOr<std::size_t> RunMultiCardPoolCheck(MultiCardNode<C, Options...>& node,
                                                  B& backend, const C& clock,
                                                  SleepUntil&& sleep_until) {
  std::size_t calls = 0;
  std::vector<Ec2Request> requests;
  node.Tick(clock.Now(), requests);
  for (;;) {
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const Ec2Request request = requests[i];  // a copy: OnResult may grow the vector
      const Ec2Result result = Dispatch(backend, request.call);
      ++calls;
      ENIPOOL_RETURN_IF_ERROR(node.OnResult(request, result, clock.Now(), requests));
    }
    requests.clear();
    if (!node.busy()) return calls;
    const absl::Time wake = node.NextWakeup();
    if (wake == absl::InfiniteFuture()) {
      return absl::FailedPreconditionError(
          "multi-card node has requests in flight that this driver did not make");
    }
    if (wake > clock.Now()) sleep_until(wake);
    node.Tick(clock.Now(), requests);
  }
}

template <Clock C, Backend B, typename SleepUntil, typename... Options>
absl::Status StartMultiCardNode(MultiCardNode<C, Options...>& node, B& backend, const C& clock,
                                SleepUntil&& sleep_until, int max_attempts) {
  for (int attempt = 1; !node.started(); ++attempt) {
    std::vector<Ec2Request> requests;
    node.Start(clock.Now(), requests);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const Ec2Request request = requests[i];
      const Ec2Result result = Dispatch(backend, request.call);
      ENIPOOL_RETURN_IF_ERROR(node.OnResult(request, result, clock.Now(), requests));
    }
    while (!node.started() && node.busy()) {
      if (node.NextWakeup() == absl::InfiniteFuture()) break;
      if (node.NextWakeup() > clock.Now()) sleep_until(node.NextWakeup());
      requests.clear();
      node.Tick(clock.Now(), requests);
      for (std::size_t i = 0; i < requests.size(); ++i) {
        const Ec2Request request = requests[i];
        const Ec2Result result = Dispatch(backend, request.call);
        ENIPOOL_RETURN_IF_ERROR(node.OnResult(request, result, clock.Now(), requests));
      }
    }
    if (node.started()) break;
    if (attempt >= max_attempts) {
      return absl::UnavailableError(absl::StrCat(
          "DescribeNetworkInterfaces for instance ", node.config().node.instance_id, " failed ",
          attempt, " times; the node cannot start"));
    }
    if (node.NextWakeup() != absl::InfiniteFuture() && node.NextWakeup() > clock.Now()) {
      sleep_until(node.NextWakeup());
    }
  }
  auto made = RunMultiCardPoolCheck(node, backend, clock, sleep_until);
  return made.ok() ? absl::OkStatus() : made.status();
}

}  // namespace enipool

#endif  // ENIPOOL_MULTI_CARD_H_
