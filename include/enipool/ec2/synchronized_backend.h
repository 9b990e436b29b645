// -----------------------------------------------------------------------------
// File: ec2/synchronized_backend.h
// -----------------------------------------------------------------------------
//
// `ec2::SynchronizedBackend<B>`: any `Backend` behind one absl::Mutex, so
// that a backend that is not thread-safe (ec2::SimulatedEc2, a recorded
// trace) can be called from an agent's EC2 thread while other threads read
// or change it (a test checking EC2's state, a second node sharing the same
// simulated account). Each call holds the mutex for its whole duration; the
// wrapped backend is owned.
//
// Example:
//
//   enipool::RealClock clock;
//   enipool::ec2::SynchronizedBackend<enipool::ec2::SimulatedEc2<enipool::RealClock>> ec2(
//       clock, enipool::ec2::SimulatedEc2Options{.seed = 7});
//   ec2.WithLock([](auto& sim) { (void)sim.AddSubnet("subnet-1", subnet_cidr); });
//   auto agent = enipool::NodeAgent<enipool::RealClock, decltype(ec2)>::Create(
//       clock, ec2, *std::move(controller));      // agent.h: calls come from its EC2 thread
//   ec2.WithLock([](const auto& sim) { return sim.eni_count(); });   // from any thread
//
// Thread-safety: every member may be called from any thread. Do not call
// back into the wrapper from inside WithLock (the mutex is not reentrant).

#ifndef ENIPOOL_EC2_SYNCHRONIZED_BACKEND_H_
#define ENIPOOL_EC2_SYNCHRONIZED_BACKEND_H_

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "enipool/ec2/backend.h"
#include "enipool/ipv4.h"
#include "enipool/synchronized_datastore.h"

namespace enipool::ec2 {

template <Backend B>
class SynchronizedBackend {
 public:
  // Constructs the wrapped backend from `args` (its constructor's arguments,
  // or a backend to move in).
  template <typename... Args>
    requires std::is_constructible_v<B, Args&&...>
  explicit SynchronizedBackend(Args&&... args) : backend_(std::forward<Args>(args)...) {}

  SynchronizedBackend(const SynchronizedBackend&) = delete;
  SynchronizedBackend& operator=(const SynchronizedBackend&) = delete;

  // SynchronizedBackend::WithLock()
  //
  // Runs `fn(B&)` under the mutex and returns what it returns: setup,
  // inspection, or several calls that must see one state.
  template <typename Fn>
  decltype(auto) WithLock(Fn&& fn) ABSL_LOCKS_EXCLUDED(mu_) {
    enipool::internal::SanitizerVisibleLock lock(&mu_);
    return std::forward<Fn>(fn)(backend_);
  }
  template <typename Fn>
  decltype(auto) WithLock(Fn&& fn) const ABSL_LOCKS_EXCLUDED(mu_) {
    enipool::internal::SanitizerVisibleLock lock(&mu_);
    return std::forward<Fn>(fn)(static_cast<const B&>(backend_));
  }

  // The Backend calls, each under the mutex.
  [[nodiscard]] absl::StatusOr<NetworkInterface> CreateNetworkInterface(
      const CreateNetworkInterfaceRequest& r) {
    return WithLock([&](B& b) { return b.CreateNetworkInterface(r); });
  }
  [[nodiscard]] absl::StatusOr<std::string> AttachNetworkInterface(
      const AttachNetworkInterfaceRequest& r) {
    return WithLock([&](B& b) { return b.AttachNetworkInterface(r); });
  }
  [[nodiscard]] absl::Status DetachNetworkInterface(const DetachNetworkInterfaceRequest& r) {
    return WithLock([&](B& b) { return b.DetachNetworkInterface(r); });
  }
  [[nodiscard]] absl::Status DeleteNetworkInterface(const DeleteNetworkInterfaceRequest& r) {
    return WithLock([&](B& b) { return b.DeleteNetworkInterface(r); });
  }
  [[nodiscard]] absl::StatusOr<std::vector<Ipv4Address>> AssignPrivateIpAddresses(
      const AssignPrivateIpAddressesRequest& r) {
    return WithLock([&](B& b) { return b.AssignPrivateIpAddresses(r); });
  }
  [[nodiscard]] absl::StatusOr<std::vector<Ipv4Prefix>> AssignIpv4Prefixes(
      const AssignIpv4PrefixesRequest& r) {
    return WithLock([&](B& b) { return b.AssignIpv4Prefixes(r); });
  }
  [[nodiscard]] absl::Status UnassignPrivateIpAddresses(
      const UnassignPrivateIpAddressesRequest& r) {
    return WithLock([&](B& b) { return b.UnassignPrivateIpAddresses(r); });
  }
  [[nodiscard]] absl::Status UnassignIpv4Prefixes(const UnassignIpv4PrefixesRequest& r) {
    return WithLock([&](B& b) { return b.UnassignIpv4Prefixes(r); });
  }
  [[nodiscard]] absl::StatusOr<std::vector<NetworkInterface>> DescribeNetworkInterfaces(
      const DescribeNetworkInterfacesRequest& r) {
    return WithLock([&](B& b) { return b.DescribeNetworkInterfaces(r); });
  }
  [[nodiscard]] absl::StatusOr<std::vector<SubnetInfo>> DescribeSubnets(
      const DescribeSubnetsRequest& r) {
    return WithLock([&](B& b) { return b.DescribeSubnets(r); });
  }
  [[nodiscard]] absl::StatusOr<std::vector<Ipv6Prefix>> AssignIpv6Prefixes(
      const AssignIpv6PrefixesRequest& r) {
    return WithLock([&](B& b) { return b.AssignIpv6Prefixes(r); });
  }
  [[nodiscard]] absl::Status UnassignIpv6Prefixes(const UnassignIpv6PrefixesRequest& r) {
    return WithLock([&](B& b) { return b.UnassignIpv6Prefixes(r); });
  }
  [[nodiscard]] absl::Status CreateTags(const CreateTagsRequest& r) {
    return WithLock([&](B& b) { return b.CreateTags(r); });
  }
  [[nodiscard]] absl::Status ModifyNetworkInterfaceAttribute(
      const ModifyNetworkInterfaceAttributeRequest& r) {
    return WithLock([&](B& b) { return b.ModifyNetworkInterfaceAttribute(r); });
  }

 private:
  mutable absl::Mutex mu_;
  B backend_ ABSL_GUARDED_BY(mu_);
};

}  // namespace enipool::ec2

#endif  // ENIPOOL_EC2_SYNCHRONIZED_BACKEND_H_
