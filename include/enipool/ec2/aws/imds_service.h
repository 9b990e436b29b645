// -----------------------------------------------------------------------------
// File: ec2/aws/imds_service.h
// -----------------------------------------------------------------------------
//
// `ImdsService`: the instance metadata service (IMDSv2 only) of simulated
// instances, without any HTTP library: a session token from
// `PUT /latest/api/token` (TTL 1..21600 s in X-aws-ec2-metadata-token-ttl-seconds),
// then GETs under /latest/meta-data/ that must carry the token
// (X-aws-ec2-metadata-token), else 401 — no IMDSv1. It serves what an IPAM
// agent reads (instance id and type, AZ, region, local IPv4, the MAC list
// and per MAC the fields it has, the device number, card, interface id,
// subnet id, the subnet's IPv4 CIDR and IPv6 block, security groups, IPv4
// addresses and prefixes and delegated IPv6 prefixes) and an instance role's
// temporary credentials (iam/security-credentials/<role>), which the
// service issues, refreshes and can look up, so that an EC2 endpoint
// accepts requests signed with them until they expire.
// examples/ec2_endpoint.cpp serves it next to the EC2 API. Part of the
// opt-in target enipool::aws.
//
// Example:
//
//   enipool::ec2::aws::ImdsService imds({.role_name = "node-role"});
//   enipool::ec2::aws::ImdsInstance view = ...;   // from the simulated EC2
//   auto answer = imds.Handle(view, "PUT", "/latest/api/token",
//                             {{"X-aws-ec2-metadata-token-ttl-seconds", "60"}}, absl::Now());

#ifndef ENIPOOL_EC2_AWS_IMDS_SERVICE_H_
#define ENIPOOL_EC2_AWS_IMDS_SERVICE_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/ec2/aws/ec2_query_server.h"
#include "enipool/ec2/aws/sigv4.h"
#include "enipool/ec2/backend.h"
#include "enipool/ipv4.h"
#include "enipool/ipv6.h"

namespace enipool::ec2::aws {

// ImdsInstance
//
// What IMDS shows about one instance: its attached ENIs (device index
// order, the primary first) and the CIDR of each ENI's subnet.
struct ImdsInstance {
  std::string instance_id;
  std::string instance_type;
  std::string availability_zone;
  std::string region;
  std::string vpc_id = "vpc-0000000000000001";
  std::vector<std::string> security_group_ids;
  std::vector<NetworkInterface> enis;
  std::vector<std::pair<std::string, Ipv4Prefix>> subnet_cidrs;  // subnet id → CIDR
  // subnet id → its IPv6 block (a /64), for the subnets that have one.
  std::vector<std::pair<std::string, Ipv6Prefix>> subnet_ipv6_cidrs;
};

// MacAddressOf()
//
// The MAC address the simulated ENI `eni_id` has: locally administered
// (02:...) and derived from the id (FNV-1a), so stable across runs.
inline std::string MacAddressOf(absl::string_view eni_id) {
  std::uint64_t hash = 1469598103934665603ull;
  for (const char c : eni_id) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return absl::StrFormat("02:%02x:%02x:%02x:%02x:%02x", (hash >> 32) & 0xFF, (hash >> 24) & 0xFF,
                         (hash >> 16) & 0xFF, (hash >> 8) & 0xFF, hash & 0xFF);
}

// ImdsServiceOptions
struct ImdsServiceOptions {
  std::string role_name = "enipool-node-role";
  // How long issued role credentials last; IMDS hands out fresh ones once
  // fewer than `role_credentials_refresh` remain (as EC2 does, some minutes
  // before expiry).
  absl::Duration role_credentials_lifetime = absl::Hours(6);
  absl::Duration role_credentials_refresh = absl::Minutes(5);
  std::uint64_t seed = 1;
};

// ImdsService
//
// See the file comment. Not thread-safe: serialize calls (the endpoint
// holds one lock around the simulated EC2 and this).
class ImdsService {
 public:
  static constexpr int kMaxTokenTtlSeconds = 21600;

  explicit ImdsService(ImdsServiceOptions options = {})
      : options_(std::move(options)), rng_(options_.seed) {}

  // ImdsService::Handle()
  //
  // One request to `instance`'s IMDS; `path` starts at /latest.
  HttpAnswer Handle(const ImdsInstance& instance, absl::string_view method, absl::string_view path,
                    const std::vector<HttpHeader>& headers, absl::Time now) {
    auto header = [&headers](absl::string_view name) -> const std::string* {
      for (const HttpHeader& h : headers) {
        if (absl::EqualsIgnoreCase(h.name, name)) return &h.value;
      }
      return nullptr;
    };
    if (path == "/latest/api/token") {
      if (method != "PUT") return Text(405, "");
      const std::string* ttl_text = header("x-aws-ec2-metadata-token-ttl-seconds");
      int ttl = 0;
      if (ttl_text == nullptr || !absl::SimpleAtoi(*ttl_text, &ttl) || ttl < 1 ||
          ttl > kMaxTokenTtlSeconds) {
        return Text(400, "");
      }
      if (tokens_.size() > 4096) {  // forget expired sessions now and then
        absl::erase_if(tokens_, [now](const auto& entry) { return entry.second.expires <= now; });
      }
      std::string token = RandomString(56);
      tokens_[token] = {instance.instance_id, now + absl::Seconds(ttl)};
      return Text(200, token);
    }
    if (method != "GET") return Text(405, "");
    // IMDSv2 only: every read needs a live token of this instance.
    const std::string* token = header("x-aws-ec2-metadata-token");
    if (token == nullptr) return Text(401, "");
    const auto it = tokens_.find(*token);
    if (it == tokens_.end() || it->second.instance_id != instance.instance_id ||
        it->second.expires <= now) {
      return Text(401, "");
    }
    absl::string_view rest = path;
    if (!absl::ConsumePrefix(&rest, "/latest/meta-data/")) return Text(404, "");
    std::optional<std::string> value = MetaData(instance, rest, now);
    return value.has_value() ? Text(200, *value) : Text(404, "");
  }

  // ImdsService::FindRoleCredentials()
  //
  // The role credentials issued under `access_key_id` and the instance they
  // went to, or nullopt: how the EC2 endpoint accepts them (and tells
  // expired ones apart).
  [[nodiscard]] std::optional<Credentials> FindRoleCredentials(
      absl::string_view access_key_id) const {
    for (const auto& [instance, credentials] : role_credentials_) {
      if (credentials.access_key_id == access_key_id) return credentials;
    }
    for (const Credentials& old : retired_credentials_) {
      if (old.access_key_id == access_key_id) return old;
    }
    return std::nullopt;
  }

 private:
  struct Token {
    std::string instance_id;
    absl::Time expires;
  };

  static HttpAnswer Text(int status, std::string body) {
    return HttpAnswer{status, "text/plain", std::move(body)};
  }

  std::string RandomString(int length) {
    static constexpr char kChars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string out;
    for (int i = 0; i < length; ++i) out.push_back(kChars[rng_() % (sizeof kChars - 1)]);
    return out;
  }

  const Credentials& RoleCredentials(const std::string& instance_id, absl::Time now) {
    Credentials& credentials = role_credentials_[instance_id];
    if (credentials.empty() ||
        credentials.expiration - now < options_.role_credentials_refresh) {
      if (!credentials.empty()) retired_credentials_.push_back(credentials);
      credentials.access_key_id = absl::StrCat("ASIA", RandomString(16));
      for (char& c : credentials.access_key_id) c = absl::ascii_toupper(static_cast<unsigned char>(c));
      credentials.secret_access_key = RandomString(40);
      credentials.session_token = RandomString(120);
      // IMDS reports whole seconds.
      credentials.expiration =
          absl::FromUnixSeconds(absl::ToUnixSeconds(now + options_.role_credentials_lifetime));
    }
    return credentials;
  }

  std::optional<std::string> MetaData(const ImdsInstance& instance, absl::string_view path,
                                      absl::Time now) {
    const NetworkInterface* primary = instance.enis.empty() ? nullptr : &instance.enis.front();
    if (path == "instance-id") return instance.instance_id;
    if (path == "instance-type") return instance.instance_type;
    if (path == "placement/availability-zone") return instance.availability_zone;
    if (path == "placement/region") return instance.region;
    if (path == "local-ipv4") {
      if (primary == nullptr) return std::nullopt;
      return primary->primary_ip.ToString();
    }
    if (path == "mac") {
      if (primary == nullptr) return std::nullopt;
      return MacAddressOf(primary->id);
    }
    if (path == "iam/security-credentials/" || path == "iam/security-credentials") {
      return options_.role_name;
    }
    if (path == absl::StrCat("iam/security-credentials/", options_.role_name)) {
      const Credentials& c = RoleCredentials(instance.instance_id, now);
      const std::string updated = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", now, absl::UTCTimeZone());
      return absl::StrCat(
          "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"", updated,
          "\",\n  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"", c.access_key_id,
          "\",\n  \"SecretAccessKey\" : \"", c.secret_access_key, "\",\n  \"Token\" : \"",
          c.session_token, "\",\n  \"Expiration\" : \"",
          absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", c.expiration, absl::UTCTimeZone()), "\"\n}");
    }
    absl::string_view rest = path;
    if (!absl::ConsumePrefix(&rest, "network/interfaces/macs")) return std::nullopt;
    if (rest.empty() || rest == "/") {
      std::string list;
      for (const NetworkInterface& eni : instance.enis) {
        absl::StrAppend(&list, list.empty() ? "" : "\n", MacAddressOf(eni.id), "/");
      }
      return list;
    }
    absl::ConsumePrefix(&rest, "/");
    const auto slash = rest.find('/');
    const absl::string_view mac = rest.substr(0, slash);
    const absl::string_view field =
        slash == absl::string_view::npos ? absl::string_view() : rest.substr(slash + 1);
    for (const NetworkInterface& eni : instance.enis) {
      if (MacAddressOf(eni.id) != mac) continue;
      const Ipv6Prefix* subnet_ipv6 = nullptr;
      for (const auto& [id, cidr] : instance.subnet_ipv6_cidrs) {
        if (id == eni.subnet_id) subnet_ipv6 = &cidr;
      }
      if (field.empty()) {
        // The MAC's own listing: the fields it has, as IMDS lists them (the
        // reference reads it to learn whether an ENI has IPv4 or IPv6
        // addresses). The prefix and IPv6 fields appear only when there is
        // something to read.
        std::vector<absl::string_view> fields = {"device-number", "interface-id", "local-ipv4s",
                                                 "mac", "network-card", "security-group-ids",
                                                 "subnet-id", "subnet-ipv4-cidr-block"};
        if (!eni.prefixes.empty()) fields.push_back("ipv4-prefix");
        if (!eni.ipv6_prefixes.empty()) fields.push_back("ipv6-prefix");
        if (subnet_ipv6 != nullptr) fields.push_back("subnet-ipv6-cidr-blocks");
        fields.push_back("vpc-id");
        std::sort(fields.begin(), fields.end());
        return absl::StrJoin(fields, "\n");
      }
      if (field == "device-number") return absl::StrCat(eni.device_index);
      if (field == "network-card") return absl::StrCat(eni.network_card_index);
      if (field == "interface-id") return eni.id;
      if (field == "subnet-id") return eni.subnet_id;
      if (field == "vpc-id") return instance.vpc_id;
      if (field == "mac") return std::string(mac);
      if (field == "security-group-ids") return absl::StrJoin(instance.security_group_ids, "\n");
      if (field == "subnet-ipv4-cidr-block") {
        for (const auto& [id, cidr] : instance.subnet_cidrs) {
          if (id == eni.subnet_id) return cidr.ToString();
        }
        return std::nullopt;
      }
      if (field == "local-ipv4s") {
        std::string out = eni.primary_ip.ToString();
        for (const Ipv4Address& ip : eni.secondary_ips) absl::StrAppend(&out, "\n", ip.ToString());
        return out;
      }
      if (field == "ipv4-prefix") {
        if (eni.prefixes.empty()) return std::nullopt;  // IMDS: 404 when there are none
        std::string out;
        for (const Ipv4Prefix& p : eni.prefixes) {
          absl::StrAppend(&out, out.empty() ? "" : "\n", p.ToString());
        }
        return out;
      }
      // The delegated IPv6 prefixes, one "address/80" a line in RFC 5952
      // text (what the reference reads in IPv6 mode,
      // docs/reference-behavior.md §7.2); 404 when there are none, which the
      // reference takes for none. ("ipv6s", the ENI's own IPv6 addresses, is
      // not served: simulated ENIs hold IPv6 prefixes only.)
      if (field == "ipv6-prefix") {
        if (eni.ipv6_prefixes.empty()) return std::nullopt;
        std::string out;
        for (const Ipv6Prefix& p : eni.ipv6_prefixes) {
          absl::StrAppend(&out, out.empty() ? "" : "\n", p.ToString());
        }
        return out;
      }
      if (field == "subnet-ipv6-cidr-blocks") {
        if (subnet_ipv6 == nullptr) return std::nullopt;
        return subnet_ipv6->ToString();
      }
      return std::nullopt;
    }
    return std::nullopt;
  }

  ImdsServiceOptions options_;
  std::mt19937_64 rng_;
  absl::flat_hash_map<std::string, Token> tokens_;
  absl::flat_hash_map<std::string, Credentials> role_credentials_;  // by instance id
  std::vector<Credentials> retired_credentials_;
};

}  // namespace enipool::ec2::aws

#endif  // ENIPOOL_EC2_AWS_IMDS_SERVICE_H_
