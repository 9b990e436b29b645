// -----------------------------------------------------------------------------
// File: testing/recording_backend.h
// -----------------------------------------------------------------------------
//
// `testing::RecordingBackend`: a Backend double that records every call it
// receives and answers from a script. Each call takes the next scripted
// Ec2Result (FIFO, shared by all call kinds); with the script empty it
// answers OK with an empty value of the right type (a default
// NetworkInterface, "", no addresses, no interfaces). A scripted OK result
// whose response does not match the call's return type is answered as
// INTERNAL naming both, so a wrong script fails loudly.
//
// Example:
//
//   enipool::testing::RecordingBackend backend;
//   backend.Reply({absl::OkStatus(), std::vector<enipool::Ipv4Prefix>{prefix}});
//   auto got = backend.AssignIpv4Prefixes({.eni_id = "eni-1", .count = 1});   // {prefix}
//   backend.calls();   // {AssignIpv4PrefixesRequest{"eni-1", 1}}

#ifndef ENIPOOL_TESTING_RECORDING_BACKEND_H_
#define ENIPOOL_TESTING_RECORDING_BACKEND_H_

#include <deque>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "enipool/ec2/backend.h"

namespace enipool::testing {

class RecordingBackend {
 public:
  // Queues the answer to a future call.
  void Reply(Ec2Result result) { script_.push_back(std::move(result)); }
  // Queues a failure for a future call.
  void Fail(absl::Status status) {
    script_.push_back(Ec2Result{std::move(status), std::monostate{}});
  }

  [[nodiscard]] const std::vector<Ec2Call>& calls() const noexcept { return calls_; }
  [[nodiscard]] std::size_t pending_replies() const noexcept { return script_.size(); }

  absl::StatusOr<NetworkInterface> CreateNetworkInterface(const CreateNetworkInterfaceRequest& r) {
    return Answer<NetworkInterface>(r);
  }
  absl::StatusOr<std::string> AttachNetworkInterface(const AttachNetworkInterfaceRequest& r) {
    return Answer<std::string>(r);
  }
  absl::Status DetachNetworkInterface(const DetachNetworkInterfaceRequest& r) {
    return AnswerStatus(r);
  }
  absl::Status DeleteNetworkInterface(const DeleteNetworkInterfaceRequest& r) {
    return AnswerStatus(r);
  }
  absl::StatusOr<std::vector<Ipv4Address>> AssignPrivateIpAddresses(
      const AssignPrivateIpAddressesRequest& r) {
    return Answer<std::vector<Ipv4Address>>(r);
  }
  absl::StatusOr<std::vector<Ipv4Prefix>> AssignIpv4Prefixes(const AssignIpv4PrefixesRequest& r) {
    return Answer<std::vector<Ipv4Prefix>>(r);
  }
  absl::Status UnassignPrivateIpAddresses(const UnassignPrivateIpAddressesRequest& r) {
    return AnswerStatus(r);
  }
  absl::Status UnassignIpv4Prefixes(const UnassignIpv4PrefixesRequest& r) {
    return AnswerStatus(r);
  }
  absl::StatusOr<std::vector<NetworkInterface>> DescribeNetworkInterfaces(
      const DescribeNetworkInterfacesRequest& r) {
    return Answer<std::vector<NetworkInterface>>(r);
  }
  absl::StatusOr<std::vector<SubnetInfo>> DescribeSubnets(const DescribeSubnetsRequest& r) {
    return Answer<std::vector<SubnetInfo>>(r);
  }
  absl::StatusOr<std::vector<Ipv6Prefix>> AssignIpv6Prefixes(const AssignIpv6PrefixesRequest& r) {
    return Answer<std::vector<Ipv6Prefix>>(r);
  }
  absl::Status UnassignIpv6Prefixes(const UnassignIpv6PrefixesRequest& r) { return AnswerStatus(r); }
  absl::Status CreateTags(const CreateTagsRequest& r) { return AnswerStatus(r); }
  absl::Status ModifyNetworkInterfaceAttribute(const ModifyNetworkInterfaceAttributeRequest& r) {
    return AnswerStatus(r);
  }

 private:
  Ec2Result Next(const Ec2Call& call) {
    calls_.push_back(call);
    if (script_.empty()) return Ec2Result{absl::OkStatus(), std::monostate{}};
    Ec2Result result = std::move(script_.front());
    script_.pop_front();
    return result;
  }

  template <typename T>
  absl::StatusOr<T> Answer(const Ec2Call& call) {
    Ec2Result result = Next(call);
    if (!result.ok()) return result.status;
    if (std::holds_alternative<std::monostate>(result.response)) return T{};
    if (T* value = std::get_if<T>(&result.response)) return std::move(*value);
    return absl::InternalError(absl::StrCat("scripted reply to ", Ec2CallName(call),
                                            " holds response alternative ", result.response.index(),
                                            ", not the call's type"));
  }

  absl::Status AnswerStatus(const Ec2Call& call) { return Next(call).status; }

  std::vector<Ec2Call> calls_;
  std::deque<Ec2Result> script_;
};

static_assert(Backend<RecordingBackend>);

}  // namespace enipool::testing

#endif  // ENIPOOL_TESTING_RECORDING_BACKEND_H_
