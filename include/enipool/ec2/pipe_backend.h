// -----------------------------------------------------------------------------
// File: ec2/pipe_backend.h
// -----------------------------------------------------------------------------
//
// A Backend in another process: one process holds the EC2 backend and
// serves calls over a pair of pipes (or sockets); the other uses
// `ec2::PipeBackend` as its Backend. The use it was written for: the
// simulated EC2 outlives a node agent that is SIGKILLed at any moment and
// restarted (the kill test, examples/agent.cpp), so EC2's state is exactly
// what the calls the agent completed made it. POSIX only (read/write).
//
//   * `EncodeCall` / `DecodeCall`, `EncodeResult` / `DecodeResult`: a small
//     binary encoding of Ec2Call and Ec2Result (little-endian fixed-width
//     integers, u32-length-prefixed strings and lists). Both ends must be
//     built from the same enipool: there is no version field.
//   * `WriteFrame` / `ReadFrame`: u32 length + bytes on a file descriptor.
//   * `PipeBackend`: the client side, a Backend: writes the call, reads the
//     answer. If the other end is gone every call fails with UNAVAILABLE.
//   * `ServeCalls(backend, calls_fd, answers_fd)`: the serving loop; returns
//     when the client's end closes (or the client dies).
//
// Example:
//
//   int calls[2], answers[2];
//   pipe(calls); pipe(answers);
//   if (fork() == 0) {                                        // the agent
//     enipool::ec2::PipeBackend ec2(answers[0], calls[1]);
//     ... NodeAgent over ec2 ...
//   }
//   enipool::ec2::ServeCalls(simulated_ec2, calls[0], answers[1]);   // until the child exits
//
// Writers ignore SIGPIPE themselves only if the process does: a server
// answering a killed client gets EPIPE with `signal(SIGPIPE, SIG_IGN)` and
// is killed by SIGPIPE without it.
//
// Thread-safety: a PipeBackend is used by one thread at a time (the
// agent's EC2 thread); ServeCalls serves one client.

#ifndef ENIPOOL_EC2_PIPE_BACKEND_H_
#define ENIPOOL_EC2_PIPE_BACKEND_H_

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/ipv4.h"
#include "enipool/ipv6.h"

namespace enipool::ec2 {

// --- encoding ------------------------------------------------------------------

// WireWriter / WireReader
//
// The encoding's primitives, for callers that frame their own messages
// next to the calls (the kill test's acknowledgements). A WireReader that
// runs past its input or meets a bad value turns !ok() and reads zeros.

class WireWriter {
 public:
  void U8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
  }
  void U64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
  }
  void I32(int v) { U32(static_cast<std::uint32_t>(v)); }
  void I64(std::int64_t v) { U64(static_cast<std::uint64_t>(v)); }
  void Str(absl::string_view s) {
    U32(static_cast<std::uint32_t>(s.size()));
    out_.append(s.data(), s.size());
  }
  void Time(absl::Time t) { I64(absl::ToUnixNanos(t)); }
  void Address(Ipv4Address a) { U32(a.value()); }
  void Prefix(const Ipv4Prefix& p) {
    U32(p.network().value());
    U8(static_cast<std::uint8_t>(p.length()));
  }
  void Prefix6(const Ipv6Prefix& p) {
    U64(p.network().high());
    U64(p.network().low());
    U8(static_cast<std::uint8_t>(p.length()));
  }
  template <typename T, typename Fn>
  void List(const std::vector<T>& items, Fn&& each) {
    U32(static_cast<std::uint32_t>(items.size()));
    for (const T& item : items) each(item);
  }
  void Nic(const NetworkInterface& n) {
    Str(n.id);
    Str(n.subnet_id);
    Str(n.instance_id);
    Str(n.attachment_id);
    I32(n.device_index);
    I32(n.network_card_index);
    U8(n.delete_on_termination ? 1 : 0);
    Str(n.interface_type);
    Address(n.primary_ip);
    List(n.secondary_ips, [&](Ipv4Address a) { Address(a); });
    List(n.prefixes, [&](const Ipv4Prefix& p) { Prefix(p); });
    Time(n.created);
    Str(n.description);
    Tags(n.tags);
    List(n.security_group_ids, [&](const std::string& g) { Str(g); });
    List(n.ipv6_prefixes, [&](const Ipv6Prefix& p) { Prefix6(p); });
  }
  void Tags(const std::vector<Ec2Tag>& tags) {
    List(tags, [&](const Ec2Tag& t) {
      Str(t.key);
      Str(t.value);
    });
  }
  [[nodiscard]] std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class WireReader {
 public:
  explicit WireReader(absl::string_view in) : in_(in) {}
  [[nodiscard]] bool ok() const { return ok_; }
  void Fail() { ok_ = false; }
  std::uint64_t Fixed(int bytes) {
    if (!ok_ || in_.size() < static_cast<std::size_t>(bytes)) {
      ok_ = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
      v |= std::uint64_t{static_cast<unsigned char>(in_[static_cast<std::size_t>(i)])} << (8 * i);
    }
    in_.remove_prefix(static_cast<std::size_t>(bytes));
    return v;
  }
  std::uint8_t U8() { return static_cast<std::uint8_t>(Fixed(1)); }
  std::uint32_t U32() { return static_cast<std::uint32_t>(Fixed(4)); }
  int I32() { return static_cast<int>(static_cast<std::int32_t>(U32())); }
  std::int64_t I64() { return static_cast<std::int64_t>(Fixed(8)); }
  std::string Str() {
    const std::uint32_t n = U32();
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  absl::Time Time() { return absl::FromUnixNanos(I64()); }
  Ipv4Address Address() { return Ipv4Address(U32()); }
  Ipv4Prefix Prefix() {
    const Ipv4Address network(U32());
    const int length = U8();
    auto p = Ipv4Prefix::Create(network, length);
    if (!p.ok()) {
      ok_ = false;
      return {};
    }
    return *p;
  }
  Ipv6Prefix Prefix6() {
    const std::uint64_t high = Fixed(8);
    const std::uint64_t low = Fixed(8);
    const int length = U8();
    auto p = Ipv6Prefix::Create(Ipv6Address(high, low), length);
    if (!p.ok()) {
      ok_ = false;
      return {};
    }
    return *p;
  }
  template <typename T, typename Fn>
  std::vector<T> List(Fn&& each) {
    const std::uint32_t n = U32();
    std::vector<T> items;
    for (std::uint32_t i = 0; i < n && ok_; ++i) items.push_back(each());
    return items;
  }
  NetworkInterface Nic() {
    NetworkInterface n;
    n.id = Str();
    n.subnet_id = Str();
    n.instance_id = Str();
    n.attachment_id = Str();
    n.device_index = I32();
    n.network_card_index = I32();
    n.delete_on_termination = Bool();
    n.interface_type = Str();
    n.primary_ip = Address();
    n.secondary_ips = List<Ipv4Address>([&] { return Address(); });
    n.prefixes = List<Ipv4Prefix>([&] { return Prefix(); });
    n.created = Time();
    n.description = Str();
    n.tags = Tags();
    n.security_group_ids = List<std::string>([&] { return Str(); });
    n.ipv6_prefixes = List<Ipv6Prefix>([&] { return Prefix6(); });
    return n;
  }
  bool Bool() {
    const std::uint8_t v = U8();
    if (v > 1) ok_ = false;
    return v == 1;
  }
  std::vector<Ec2Tag> Tags() {
    return List<Ec2Tag>([&] {
      Ec2Tag t;
      t.key = Str();
      t.value = Str();
      return t;
    });
  }

 private:
  absl::string_view in_;
  bool ok_ = true;
};

inline std::string EncodeCall(const Ec2Call& call) {
  WireWriter w;
  w.U8(static_cast<std::uint8_t>(call.index()));
  std::visit(
      [&](const auto& r) {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, CreateNetworkInterfaceRequest>) {
          w.Str(r.subnet_id);
          w.I32(r.secondary_ip_count);
          w.I32(r.ipv4_prefix_count);
          w.I32(r.ipv6_prefix_count);
          w.Str(r.description);
          // The named primary address as a list of zero or one.
          std::vector<Ipv4Address> named;
          if (r.private_ip_address.has_value()) named.push_back(*r.private_ip_address);
          w.List(named, [&](Ipv4Address a) { w.Address(a); });
          w.List(r.security_group_ids, [&](const std::string& g) { w.Str(g); });
          w.Tags(r.tags);
        } else if constexpr (std::is_same_v<R, AttachNetworkInterfaceRequest>) {
          w.Str(r.eni_id);
          w.Str(r.instance_id);
          w.I32(r.device_index);
          w.I32(r.network_card_index);
        } else if constexpr (std::is_same_v<R, DetachNetworkInterfaceRequest>) {
          w.Str(r.attachment_id);
          w.Str(r.eni_id);
        } else if constexpr (std::is_same_v<R, DeleteNetworkInterfaceRequest>) {
          w.Str(r.eni_id);
        } else if constexpr (std::is_same_v<R, AssignPrivateIpAddressesRequest> ||
                             std::is_same_v<R, AssignIpv4PrefixesRequest>) {
          w.Str(r.eni_id);
          w.I32(r.count);
        } else if constexpr (std::is_same_v<R, UnassignPrivateIpAddressesRequest>) {
          w.Str(r.eni_id);
          w.List(r.addresses, [&](Ipv4Address a) { w.Address(a); });
        } else if constexpr (std::is_same_v<R, UnassignIpv4PrefixesRequest>) {
          w.Str(r.eni_id);
          w.List(r.prefixes, [&](const Ipv4Prefix& p) { w.Prefix(p); });
        } else if constexpr (std::is_same_v<R, DescribeNetworkInterfacesRequest>) {
          w.List(r.eni_ids, [&](const std::string& s) { w.Str(s); });
          w.Str(r.instance_id);
          w.Str(r.description);
        } else if constexpr (std::is_same_v<R, DescribeSubnetsRequest>) {
          w.List(r.subnet_ids, [&](const std::string& s) { w.Str(s); });
          w.Str(r.vpc_id);
          w.Str(r.availability_zone);
        } else if constexpr (std::is_same_v<R, AssignIpv6PrefixesRequest>) {
          w.Str(r.eni_id);
          w.I32(r.count);
        } else if constexpr (std::is_same_v<R, UnassignIpv6PrefixesRequest>) {
          w.Str(r.eni_id);
          w.List(r.prefixes, [&](const Ipv6Prefix& p) { w.Prefix6(p); });
        } else if constexpr (std::is_same_v<R, CreateTagsRequest>) {
          w.List(r.eni_ids, [&](const std::string& s) { w.Str(s); });
          w.Tags(r.tags);
        } else {
          static_assert(std::is_same_v<R, ModifyNetworkInterfaceAttributeRequest>);
          w.Str(r.eni_id);
          // Each optional attribute as a presence byte, then its value.
          w.U8(r.attachment.has_value() ? 1 : 0);
          if (r.attachment.has_value()) {
            w.Str(r.attachment->attachment_id);
            w.U8(r.attachment->delete_on_termination ? 1 : 0);
          }
          w.U8(r.security_group_ids.has_value() ? 1 : 0);
          if (r.security_group_ids.has_value()) {
            w.List(*r.security_group_ids, [&](const std::string& g) { w.Str(g); });
          }
        }
      },
      call);
  return w.Take();
}

inline std::optional<Ec2Call> DecodeCall(absl::string_view bytes) {
  WireReader r(bytes);
  std::optional<Ec2Call> call;
  switch (r.U8()) {
    case 0: {
      CreateNetworkInterfaceRequest c;
      c.subnet_id = r.Str();
      c.secondary_ip_count = r.I32();
      c.ipv4_prefix_count = r.I32();
      c.ipv6_prefix_count = r.I32();
      c.description = r.Str();
      const std::vector<Ipv4Address> named = r.List<Ipv4Address>([&] { return r.Address(); });
      if (named.size() > 1) return std::nullopt;
      if (!named.empty()) c.private_ip_address = named.front();
      c.security_group_ids = r.List<std::string>([&] { return r.Str(); });
      c.tags = r.Tags();
      call = c;
      break;
    }
    case 1: {
      AttachNetworkInterfaceRequest c;
      c.eni_id = r.Str();
      c.instance_id = r.Str();
      c.device_index = r.I32();
      c.network_card_index = r.I32();
      call = c;
      break;
    }
    case 2: {
      DetachNetworkInterfaceRequest c;
      c.attachment_id = r.Str();
      c.eni_id = r.Str();
      call = c;
      break;
    }
    case 3:
      call = DeleteNetworkInterfaceRequest{.eni_id = r.Str()};
      break;
    case 4: {
      AssignPrivateIpAddressesRequest c;
      c.eni_id = r.Str();
      c.count = r.I32();
      call = c;
      break;
    }
    case 5: {
      AssignIpv4PrefixesRequest c;
      c.eni_id = r.Str();
      c.count = r.I32();
      call = c;
      break;
    }
    case 6: {
      UnassignPrivateIpAddressesRequest c;
      c.eni_id = r.Str();
      c.addresses = r.List<Ipv4Address>([&] { return r.Address(); });
      call = c;
      break;
    }
    case 7: {
      UnassignIpv4PrefixesRequest c;
      c.eni_id = r.Str();
      c.prefixes = r.List<Ipv4Prefix>([&] { return r.Prefix(); });
      call = c;
      break;
    }
    case 8: {
      DescribeNetworkInterfacesRequest c;
      c.eni_ids = r.List<std::string>([&] { return r.Str(); });
      c.instance_id = r.Str();
      c.description = r.Str();
      call = c;
      break;
    }
    case 9: {
      DescribeSubnetsRequest c;
      c.subnet_ids = r.List<std::string>([&] { return r.Str(); });
      c.vpc_id = r.Str();
      c.availability_zone = r.Str();
      call = c;
      break;
    }
    case 10: {
      AssignIpv6PrefixesRequest c;
      c.eni_id = r.Str();
      c.count = r.I32();
      call = c;
      break;
    }
    case 11: {
      UnassignIpv6PrefixesRequest c;
      c.eni_id = r.Str();
      c.prefixes = r.List<Ipv6Prefix>([&] { return r.Prefix6(); });
      call = c;
      break;
    }
    case 12: {
      CreateTagsRequest c;
      c.eni_ids = r.List<std::string>([&] { return r.Str(); });
      c.tags = r.Tags();
      call = c;
      break;
    }
    case 13: {
      ModifyNetworkInterfaceAttributeRequest c;
      c.eni_id = r.Str();
      if (r.Bool()) {
        ModifyNetworkInterfaceAttributeRequest::Attachment attachment;
        attachment.attachment_id = r.Str();
        attachment.delete_on_termination = r.Bool();
        c.attachment = std::move(attachment);
      }
      if (r.Bool()) c.security_group_ids = r.List<std::string>([&] { return r.Str(); });
      call = c;
      break;
    }
    default:
      return std::nullopt;
  }
  if (!r.ok()) return std::nullopt;
  return call;
}

inline std::string EncodeResult(const Ec2Result& result) {
  WireWriter w;
  w.I32(static_cast<int>(result.status.code()));
  w.Str(result.status.message());
  w.U8(static_cast<std::uint8_t>(result.response.index()));
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, NetworkInterface>) {
          w.Nic(v);
        } else if constexpr (std::is_same_v<V, std::string>) {
          w.Str(v);
        } else if constexpr (std::is_same_v<V, std::vector<Ipv4Address>>) {
          w.List(v, [&](Ipv4Address a) { w.Address(a); });
        } else if constexpr (std::is_same_v<V, std::vector<Ipv4Prefix>>) {
          w.List(v, [&](const Ipv4Prefix& p) { w.Prefix(p); });
        } else if constexpr (std::is_same_v<V, std::vector<NetworkInterface>>) {
          w.List(v, [&](const NetworkInterface& n) { w.Nic(n); });
        } else if constexpr (std::is_same_v<V, std::vector<SubnetInfo>>) {
          w.List(v, [&](const SubnetInfo& subnet) {
            w.Str(subnet.id);
            w.Prefix(subnet.cidr);
            w.Str(subnet.availability_zone);
            w.Str(subnet.vpc_id);
            w.I64(subnet.available_addresses);
            w.Tags(subnet.tags);
            std::vector<Ipv6Prefix> ipv6;  // a list of zero or one
            if (subnet.ipv6_cidr.has_value()) ipv6.push_back(*subnet.ipv6_cidr);
            w.List(ipv6, [&](const Ipv6Prefix& p) { w.Prefix6(p); });
          });
        } else if constexpr (std::is_same_v<V, std::vector<Ipv6Prefix>>) {
          w.List(v, [&](const Ipv6Prefix& p) { w.Prefix6(p); });
        }
      },
      result.response);
  return w.Take();
}

inline std::optional<Ec2Result> DecodeResult(absl::string_view bytes) {
  WireReader r(bytes);
  Ec2Result result;
  const auto code = static_cast<absl::StatusCode>(r.I32());
  const std::string message = r.Str();
  result.status = absl::Status(code, message);
  switch (r.U8()) {
    case 0:
      break;
    case 1:
      result.response = r.Nic();
      break;
    case 2:
      result.response = r.Str();
      break;
    case 3:
      result.response = r.List<Ipv4Address>([&] { return r.Address(); });
      break;
    case 4:
      result.response = r.List<Ipv4Prefix>([&] { return r.Prefix(); });
      break;
    case 5:
      result.response = r.List<NetworkInterface>([&] { return r.Nic(); });
      break;
    case 6:
      result.response = r.List<SubnetInfo>([&] {
        SubnetInfo subnet;
        subnet.id = r.Str();
        subnet.cidr = r.Prefix();
        subnet.availability_zone = r.Str();
        subnet.vpc_id = r.Str();
        subnet.available_addresses = r.I64();
        subnet.tags = r.Tags();
        const std::vector<Ipv6Prefix> ipv6 = r.List<Ipv6Prefix>([&] { return r.Prefix6(); });
        if (ipv6.size() > 1) r.Fail();  // a subnet has at most one
        if (!ipv6.empty()) subnet.ipv6_cidr = ipv6.front();
        return subnet;
      });
      break;
    case 7:
      result.response = r.List<Ipv6Prefix>([&] { return r.Prefix6(); });
      break;
    default:
      return std::nullopt;
  }
  if (!r.ok()) return std::nullopt;
  return result;
}

// --- frames ----------------------------------------------------------------------

inline bool WriteAll(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

inline bool ReadAll(int fd, char* out, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::read(fd, out, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    out += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

inline bool WriteFrame(int fd, absl::string_view payload) {
  WireWriter header;
  header.U32(static_cast<std::uint32_t>(payload.size()));
  std::string frame = header.Take();
  frame.append(payload.data(), payload.size());
  return WriteAll(fd, frame);  // one write: frames below PIPE_BUF never interleave
}

inline std::optional<std::string> ReadFrame(int fd) {
  char header[4];
  if (!ReadAll(fd, header, 4)) return std::nullopt;
  const std::uint32_t size = WireReader(absl::string_view(header, 4)).U32();
  std::string payload(size, '\0');
  if (size > 0 && !ReadAll(fd, payload.data(), size)) return std::nullopt;
  return payload;
}

// --- the two ends ------------------------------------------------------------------

// PipeBackend
//
// The agent's side: each call is one frame out and one frame back. Not
// thread-safe (the agent's EC2 thread is its only caller). If the other
// end is gone, every call fails with UNAVAILABLE.
class PipeBackend {
 public:
  PipeBackend(int answers_fd, int calls_fd) : in_(answers_fd), out_(calls_fd) {}

  Ec2Result Call(const Ec2Call& call) {
    if (!WriteFrame(out_, EncodeCall(call))) return Broken();
    const std::optional<std::string> frame = ReadFrame(in_);
    if (!frame.has_value()) return Broken();
    std::optional<Ec2Result> result = DecodeResult(*frame);
    if (!result.has_value()) return Broken();
    return *std::move(result);
  }

  absl::StatusOr<NetworkInterface> CreateNetworkInterface(const CreateNetworkInterfaceRequest& r) {
    return As<NetworkInterface>(Call(r));
  }
  absl::StatusOr<std::string> AttachNetworkInterface(const AttachNetworkInterfaceRequest& r) {
    return As<std::string>(Call(r));
  }
  absl::Status DetachNetworkInterface(const DetachNetworkInterfaceRequest& r) {
    return Call(r).status;
  }
  absl::Status DeleteNetworkInterface(const DeleteNetworkInterfaceRequest& r) {
    return Call(r).status;
  }
  absl::StatusOr<std::vector<Ipv4Address>> AssignPrivateIpAddresses(
      const AssignPrivateIpAddressesRequest& r) {
    return As<std::vector<Ipv4Address>>(Call(r));
  }
  absl::StatusOr<std::vector<Ipv4Prefix>> AssignIpv4Prefixes(const AssignIpv4PrefixesRequest& r) {
    return As<std::vector<Ipv4Prefix>>(Call(r));
  }
  absl::Status UnassignPrivateIpAddresses(const UnassignPrivateIpAddressesRequest& r) {
    return Call(r).status;
  }
  absl::Status UnassignIpv4Prefixes(const UnassignIpv4PrefixesRequest& r) {
    return Call(r).status;
  }
  absl::StatusOr<std::vector<NetworkInterface>> DescribeNetworkInterfaces(
      const DescribeNetworkInterfacesRequest& r) {
    return As<std::vector<NetworkInterface>>(Call(r));
  }
  absl::StatusOr<std::vector<SubnetInfo>> DescribeSubnets(const DescribeSubnetsRequest& r) {
    return As<std::vector<SubnetInfo>>(Call(r));
  }
  absl::StatusOr<std::vector<Ipv6Prefix>> AssignIpv6Prefixes(const AssignIpv6PrefixesRequest& r) {
    return As<std::vector<Ipv6Prefix>>(Call(r));
  }
  absl::Status UnassignIpv6Prefixes(const UnassignIpv6PrefixesRequest& r) {
    return Call(r).status;
  }
  absl::Status CreateTags(const CreateTagsRequest& r) { return Call(r).status; }
  absl::Status ModifyNetworkInterfaceAttribute(const ModifyNetworkInterfaceAttributeRequest& r) {
    return Call(r).status;
  }

 private:
  static Ec2Result Broken() {
    return Ec2Result{absl::UnavailableError("InternalError: the EC2 pipe is closed"),
                     std::monostate{}};
  }
  template <typename T>
  static absl::StatusOr<T> As(Ec2Result result) {
    if (!result.ok()) return result.status;
    if (T* value = std::get_if<T>(&result.response)) return std::move(*value);
    return absl::InternalError("InternalError: the EC2 pipe answered the wrong kind");
  }

  int in_;
  int out_;
};

// ServeCalls()
//
// The EC2 side: reads calls from `calls_fd`, makes each on `backend`,
// writes the answer to `answers_fd`, until the other end closes (or dies).
// Returns the number of calls served.
template <Backend B>
std::int64_t ServeCalls(B& backend, int calls_fd, int answers_fd) {
  std::int64_t served = 0;
  for (;;) {
    const std::optional<std::string> frame = ReadFrame(calls_fd);
    if (!frame.has_value()) return served;
    const std::optional<Ec2Call> call = DecodeCall(*frame);
    const Ec2Result result =
        call.has_value() ? Dispatch(backend, *call)
                         : Ec2Result{absl::InvalidArgumentError("InvalidParameterValue: bad frame"),
                                     std::monostate{}};
    ++served;
    if (!WriteFrame(answers_fd, EncodeResult(result))) return served;
  }
}

}  // namespace enipool::ec2

#endif  // ENIPOOL_EC2_PIPE_BACKEND_H_
