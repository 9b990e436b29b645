// -----------------------------------------------------------------------------
// File: testing/gated_backend.h
// -----------------------------------------------------------------------------
//
// `GatedBackend<B>`: a Backend that forwards every call to another backend
// (by reference), except that calls of chosen kinds wait at a gate until
// the test opens it. With it a test holds an agent's EC2 call in flight for
// as long as it likes, with no sleeps: "the pool thread is inside
// AssignIpv4Prefixes now; an ADD must still complete".
//
// Example:
//
//   enipool::testing::GatedBackend<SyncEc2> gated(ec2);
//   gated.Hold(enipool::testing::kAssignIpv4Prefixes);   // calls of that kind wait
//   ... the agent's pool thread makes one ...
//   REQUIRE(gated.AwaitHeld(absl::Seconds(30)));
//   gated.Release();                                      // they proceed
//
// Thread-safety: all members may be called from any thread (std::mutex, which
// ThreadSanitizer understands natively).

#ifndef ENIPOOL_TESTS_TESTING_GATED_BACKEND_H_
#define ENIPOOL_TESTS_TESTING_GATED_BACKEND_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/ipv4.h"

namespace enipool::testing {

// Ec2Call alternative indices, for Hold().
inline constexpr std::size_t kCreateNetworkInterface = 0;
inline constexpr std::size_t kAttachNetworkInterface = 1;
inline constexpr std::size_t kAssignPrivateIpAddresses = 4;
inline constexpr std::size_t kAssignIpv4Prefixes = 5;
inline constexpr std::size_t kDescribeNetworkInterfaces = 8;
inline constexpr std::size_t kDescribeSubnets = 9;

template <Backend B>
class GatedBackend {
 public:
  explicit GatedBackend(B& backend) : backend_(backend) {}

  // Calls of kind `call_index` wait from now on, until Release().
  void Hold(std::size_t call_index) {
    std::lock_guard<std::mutex> lock(mu_);
    held_kinds_.push_back(call_index);
  }
  // Lets every waiting call (and all later ones) through.
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    held_kinds_.clear();
    cv_.notify_all();
  }
  // Waits (real time) until a call is waiting at the gate.
  [[nodiscard]] bool AwaitHeld(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::nanoseconds(absl::ToInt64Nanoseconds(timeout)),
                        [&] { return waiting_ > 0; });
  }
  [[nodiscard]] std::int64_t calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

  [[nodiscard]] absl::StatusOr<NetworkInterface> CreateNetworkInterface(
      const CreateNetworkInterfaceRequest& r) {
    Pass(kCreateNetworkInterface);
    return backend_.CreateNetworkInterface(r);
  }
  [[nodiscard]] absl::StatusOr<std::string> AttachNetworkInterface(
      const AttachNetworkInterfaceRequest& r) {
    Pass(kAttachNetworkInterface);
    return backend_.AttachNetworkInterface(r);
  }
  [[nodiscard]] absl::Status DetachNetworkInterface(const DetachNetworkInterfaceRequest& r) {
    Pass(2);
    return backend_.DetachNetworkInterface(r);
  }
  [[nodiscard]] absl::Status DeleteNetworkInterface(const DeleteNetworkInterfaceRequest& r) {
    Pass(3);
    return backend_.DeleteNetworkInterface(r);
  }
  [[nodiscard]] absl::StatusOr<std::vector<Ipv4Address>> AssignPrivateIpAddresses(
      const AssignPrivateIpAddressesRequest& r) {
    Pass(kAssignPrivateIpAddresses);
    return backend_.AssignPrivateIpAddresses(r);
  }
  [[nodiscard]] absl::StatusOr<std::vector<Ipv4Prefix>> AssignIpv4Prefixes(
      const AssignIpv4PrefixesRequest& r) {
    Pass(kAssignIpv4Prefixes);
    return backend_.AssignIpv4Prefixes(r);
  }
  [[nodiscard]] absl::Status UnassignPrivateIpAddresses(
      const UnassignPrivateIpAddressesRequest& r) {
    Pass(6);
    return backend_.UnassignPrivateIpAddresses(r);
  }
  [[nodiscard]] absl::Status UnassignIpv4Prefixes(const UnassignIpv4PrefixesRequest& r) {
    Pass(7);
    return backend_.UnassignIpv4Prefixes(r);
  }
  [[nodiscard]] absl::StatusOr<std::vector<NetworkInterface>> DescribeNetworkInterfaces(
      const DescribeNetworkInterfacesRequest& r) {
    Pass(kDescribeNetworkInterfaces);
    return backend_.DescribeNetworkInterfaces(r);
  }
  [[nodiscard]] absl::StatusOr<std::vector<SubnetInfo>> DescribeSubnets(
      const DescribeSubnetsRequest& r) {
    Pass(kDescribeSubnets);
    return backend_.DescribeSubnets(r);
  }
  [[nodiscard]] absl::StatusOr<std::vector<Ipv6Prefix>> AssignIpv6Prefixes(
      const AssignIpv6PrefixesRequest& r) {
    Pass(10);
    return backend_.AssignIpv6Prefixes(r);
  }
  [[nodiscard]] absl::Status UnassignIpv6Prefixes(const UnassignIpv6PrefixesRequest& r) {
    Pass(11);
    return backend_.UnassignIpv6Prefixes(r);
  }
  [[nodiscard]] absl::Status CreateTags(const CreateTagsRequest& r) {
    Pass(12);
    return backend_.CreateTags(r);
  }
  [[nodiscard]] absl::Status ModifyNetworkInterfaceAttribute(
      const ModifyNetworkInterfaceAttributeRequest& r) {
    Pass(13);
    return backend_.ModifyNetworkInterfaceAttribute(r);
  }

 private:
  void Pass(std::size_t kind) {
    std::unique_lock<std::mutex> lock(mu_);
    ++calls_;
    auto held = [&] {
      for (std::size_t k : held_kinds_) {
        if (k == kind) return true;
      }
      return false;
    };
    if (!held()) return;
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !held(); });
    --waiting_;
  }

  B& backend_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::size_t> held_kinds_;
  int waiting_ = 0;
  std::int64_t calls_ = 0;
};

}  // namespace enipool::testing

#endif  // ENIPOOL_TESTS_TESTING_GATED_BACKEND_H_
