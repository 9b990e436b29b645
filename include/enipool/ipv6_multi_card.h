// -----------------------------------------------------------------------------
// File: ipv6_multi_card.h
// -----------------------------------------------------------------------------
//
// `Ipv6MultiCardNode`: an IPv6 node (ipv6_node.h) on an instance of several
// network cards with ENABLE_MULTI_NIC, as the reference runs it
// (docs/reference-behavior.md §1.1, §4.12): one Ipv6NodeController and one
// store per managed card. Card 0 serves pods from the primary ENI's /80;
// every other managed card from its own ENI's /80, and a card that has no
// ENI gets one at startup: CreateNetworkInterface with Ipv6PrefixCount=1
// in the primary ENI's subnet (its security groups, the reference's tags),
// attached on that card. A pod that wants an address on every card
// (AddMultiCardPod) gets one IPv6 address per managed card, as a
// multi-card IPv4 pod does (multi_card.h); a single-address pod
// (AddPod) takes card 0's.
//
// Durability: each card's store is its own (a JournaledIpv6Datastore at
// CardStorePath(path, card), persist/ipv6_journal.h); at a restart each
// card keeps its replayed pods when EC2 still shows that card's ENI holding
// their /80.
//
// Example:
//
//   ENIPOOL_ASSIGN_OR_RETURN(enipool::Ipv6NodeConfig ipv6,
//                            enipool::Ipv6NodeConfigFromEnvironment(facts, lookup));
//   enipool::Ipv6MultiCardConfig config =   // ENABLE_MULTI_NIC: every card but EFA-only ones
//       enipool::Ipv6MultiCardConfigFromNode(ipv6, p5, lookup, described);
//   auto node = enipool::Ipv6MultiCardNode<enipool::RealClock>::Create(clock, config);
//   ENIPOOL_RETURN_IF_ERROR(enipool::RunIpv6Startup(*node, ec2));  // describe, create, attach
//   auto addresses = node->AddMultiCardPod(pod);  // one IPv6 address per card
//
// Thread-safety: none; one node, one thread.

#ifndef ENIPOOL_IPV6_MULTI_CARD_H_
#define ENIPOOL_IPV6_MULTI_CARD_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/ec2/backend.h"
#include "enipool/instance_limits.h"
#include "enipool/ipv6_datastore.h"
#include "enipool/ipv6_node.h"
#include "enipool/multi_card.h"
#include "enipool/node_config.h"
#include "enipool/pod_key.h"
#include "enipool/policy/warm_pool.h"
#include "enipool/status.h"

namespace enipool {

// Ipv6CardAssignment
//
// One IPv6 address of a pod and the network card it is on.
using Ipv6CardAssignment = BasicCardAssignment<Ipv6Assignment>;

// Ipv6MultiCardConfig
//
// The node's IPv6 config (card 0's; `node.network_card` and
// `node.first_request_id` are set per card), the instance type's limits,
// and the cards to manage (ManagedNetworkCards(); empty means card 0 only).
struct Ipv6MultiCardConfig {
  Ipv6NodeConfig node;
  InstanceLimits limits;
  std::vector<int> managed_cards;
};

// Ipv6MultiCardConfigFromNode()
//
// The multi-card IPv6 node of `node` (Ipv6NodeConfigFromEnvironment()'s
// result) on an instance of type `limits`: with ENABLE_MULTI_NIC in
// `lookup` every card but the EFA-only ones found in `described` (the
// instance's DescribeNetworkInterfaces answer; ManagedNetworkCards());
// without it card 0 alone, and the node runs as one Ipv6NodeController
// would.
inline Ipv6MultiCardConfig Ipv6MultiCardConfigFromNode(
    const Ipv6NodeConfig& node, const InstanceLimits& limits, EnvLookup lookup,
    const std::vector<NetworkInterface>& described) {
  Ipv6MultiCardConfig config;
  config.node = node;
  config.limits = limits;
  config.managed_cards = ManagedNetworkCards(
      limits.network_cards, EnableMultiNicFromEnvironment(lookup), node.instance_id, described);
  return config;
}

// Ipv6CardConfig()
//
// The config of the `position`-th managed card `card`: the node's, on that
// card, numbering its requests from its own range (kCardRequestIdStride).
inline Ipv6NodeConfig Ipv6CardConfig(const Ipv6MultiCardConfig& config, std::size_t position,
                                     int card) {
  Ipv6NodeConfig out = config.node;
  out.network_card = card;
  out.first_request_id = std::max<std::uint64_t>(config.node.first_request_id, 1) +
                         static_cast<std::uint64_t>(position) * kCardRequestIdStride;
  return out;
}

// Ipv6MultiCardNode
//
// See the file comment. `C` is any Clock; `Store` each card's store
// (Ipv6Datastore by default, or JournaledIpv6Datastore).
template <Clock C, Ipv6PoolStore Store = Ipv6Datastore<C>>
class Ipv6MultiCardNode
    : public internal::CardControllers<Ipv6NodeController<C, Store>, Ipv6MultiCardConfig> {
  using Base = internal::CardControllers<Ipv6NodeController<C, Store>, Ipv6MultiCardConfig>;
  using Base::cards_;
  using Base::config_;
  using Base::controllers_;

 public:
  using controller_type = Ipv6NodeController<C, Store>;
  // config(), cards(), card_count(), controller(k), busy(), NextWakeup():
  // internal::CardControllers's, as MultiCardNode's.

  // Ipv6MultiCardNode::Create()
  //
  // A node with an empty in-memory store per managed card.
  // INVALID_ARGUMENT when a managed card is not a card of the instance
  // type, is listed twice or out of order, or card 0 is not first.
  [[nodiscard]] static absl::StatusOr<Ipv6MultiCardNode> Create(const C& clock,
                                                                Ipv6MultiCardConfig config)
    requires std::same_as<Store, Ipv6Datastore<C>>
  {
    ENIPOOL_ASSIGN_OR_RETURN(const std::vector<int> cards,
                             internal::CheckedManagedCards(config.managed_cards, config.limits));
    Ipv6MultiCardNode node(clock);
    for (std::size_t k = 0; k < cards.size(); ++k) {
      node.controllers_.emplace_back(clock, Ipv6CardConfig(config, k, cards[k]));
    }
    node.cards_ = cards;
    node.config_ = std::move(config);
    return node;
  }

  // Ipv6MultiCardNode::Create(stores)
  //
  // A node over stores that may hold pods (journals replayed at a
  // restart): `stores[k]` is the k-th managed card's. Errors as Create(),
  // plus INVALID_ARGUMENT when the count differs from the managed cards.
  [[nodiscard]] static absl::StatusOr<Ipv6MultiCardNode> Create(const C& clock,
                                                                Ipv6MultiCardConfig config,
                                                                std::vector<Store> stores) {
    ENIPOOL_ASSIGN_OR_RETURN(const std::vector<int> cards,
                             internal::CheckedManagedCardsForStores(
                                 config.managed_cards, config.limits, stores.size(),
                                 "IPv6 multi-card node"));
    Ipv6MultiCardNode node(clock);
    for (std::size_t k = 0; k < cards.size(); ++k) {
      node.controllers_.emplace_back(clock, Ipv6CardConfig(config, k, cards[k]),
                                     std::move(stores[k]));
    }
    node.cards_ = cards;
    node.config_ = std::move(config);
    return node;
  }

  Ipv6MultiCardNode(Ipv6MultiCardNode&&) noexcept = default;
  Ipv6MultiCardNode& operator=(Ipv6MultiCardNode&&) noexcept = default;

  // Ipv6MultiCardNode::ready() / started()
  //
  // Ready once every card holds its /80 (busy() while a card's startup is
  // under way; NextWakeup() the earliest time a card has a call to make).
  [[nodiscard]] bool ready() const {
    return std::all_of(controllers_.begin(), controllers_.end(),
                       [](const controller_type& c) { return c.ready(); });
  }
  [[nodiscard]] bool started() const { return ready(); }

  // Ipv6MultiCardNode::last_error()
  //
  // The first card's failure still waiting for its retry, the card named;
  // OK when none.
  [[nodiscard]] absl::Status last_error() const {
    for (std::size_t k = 0; k < controllers_.size(); ++k) {
      if (!controllers_[k].last_error().ok()) {
        return internal::CardError(cards_[k], controllers_[k].last_error());
      }
    }
    return absl::OkStatus();
  }

  // Ipv6MultiCardNode::Tick()
  //
  // Every card's startup calls due now, card order.
  [[nodiscard]] std::vector<Ec2Request> Tick() {
    std::vector<Ec2Request> out;
    Tick(clock_->Now(), out);
    return out;
  }
  void Tick(absl::Time now, std::vector<Ec2Request>& out) {
    for (controller_type& c : controllers_) c.Tick(now, out);
  }

  // Ipv6MultiCardNode::OnResult()
  //
  // Hands the answer to the card that made the request (by its id range).
  // NOT_FOUND when no card did; otherwise Ipv6NodeController::OnResult()'s.
  absl::Status OnResult(const Ec2Request& request, const Ec2Result& result) {
    ENIPOOL_ASSIGN_OR_RETURN(controller_type * card, CardOf(request));
    return card->OnResult(request, result);
  }
  absl::Status OnResult(const Ec2Request& request, const Ec2Result& result, absl::Time now,
                        std::vector<Ec2Request>& follow_ups) {
    ENIPOOL_ASSIGN_OR_RETURN(controller_type * card, CardOf(request));
    return card->OnResult(request, result, now, follow_ups);
  }

  // Ipv6MultiCardNode::AddPod()
  //
  // The ADD of a pod that wants one address: the one it holds, else card
  // 0's /80 first, then the next card only when a card has no free address.
  [[nodiscard]] absl::StatusOr<Ipv6CardAssignment> AddPod(const PodKey& pod) {
    return internal::AddPodOnFirstCard<Ipv6Assignment>(controllers_, cards_, pod);
  }

  // Ipv6MultiCardNode::AddMultiCardPod()
  //
  // The ADD of a multi-NIC pod: one address from every card's /80, card
  // order; a card that cannot give one (not ready yet, say) has the call's
  // other addresses given back and its error returned, the card named.
  [[nodiscard]] absl::StatusOr<std::vector<Ipv6CardAssignment>> AddMultiCardPod(
      const PodKey& pod) {
    return internal::AddPodOnEveryCard<Ipv6Assignment>(controllers_, cards_, pod);
  }

  // Ipv6MultiCardNode::DeletePod()
  //
  // The DEL: released on every card that holds the pod; NOT_FOUND when none.
  [[nodiscard]] absl::StatusOr<std::vector<Ipv6CardAssignment>> DeletePod(const PodKey& pod) {
    return internal::DeletePodOnEveryCard<Ipv6Assignment>(controllers_, cards_, pod);
  }

  // Ipv6MultiCardNode::Lookup()
  //
  // Every address the pod holds, card order.
  [[nodiscard]] std::vector<Ipv6CardAssignment> Lookup(const PodKey& pod) const {
    return internal::LookupOnEveryCard<Ipv6Assignment>(controllers_, cards_, pod);
  }

 private:
  explicit Ipv6MultiCardNode(const C& clock) : clock_(&clock) {}

  absl::StatusOr<controller_type*> CardOf(const Ec2Request& request) {
    const std::size_t position = internal::CardOfRequest(
        std::max<std::uint64_t>(config_.node.first_request_id, 1), request.id, cards_.size());
    if (position >= cards_.size()) {
      return absl::NotFoundError(absl::StrCat("request ", request.id, " (",
                                              Ec2CallName(request.call),
                                              ") belongs to no card of this node"));
    }
    return &controllers_[position];
  }

  const C* clock_;
};

}  // namespace enipool

#endif  // ENIPOOL_IPV6_MULTI_CARD_H_
