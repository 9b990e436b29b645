// -----------------------------------------------------------------------------
// File: ec2/aws/imds_client.h
// -----------------------------------------------------------------------------
//
// `ImdsClient`: the instance metadata service, IMDSv2 only. A session token
// comes from `PUT /latest/api/token` with a TTL and is reused until shortly
// before it expires (or until IMDS answers 401); every read carries it.
// There is no fallback to IMDSv1: without a token, reads fail. It reads
// what an IPAM agent needs (ReadInstance()) and the instance role's
// temporary credentials (RoleCredentials()). Part of the opt-in target
// enipool::aws.
//
// The endpoint is http://169.254.169.254, or AWS_EC2_METADATA_SERVICE_ENDPOINT
// (a base URL, which may carry a path: the loopback endpoint serves one
// IMDS per instance at http://127.0.0.1:PORT/imds/<instance-id>).
//
// Thread-safety: thread-safe (the token is cached under a lock).
//
// Example:
//
//   enipool::ec2::aws::CurlHttpClient http;
//   enipool::ec2::aws::ImdsClient imds(http, {.endpoint = "http://127.0.0.1:8080/imds/i-1"});
//   absl::StatusOr<enipool::ec2::aws::ImdsInstanceMetadata> me = imds.ReadInstance();
//   me->interfaces[0].device_number;   // 0: the primary ENI

#ifndef ENIPOOL_EC2_AWS_IMDS_CLIENT_H_
#define ENIPOOL_EC2_AWS_IMDS_CLIENT_H_

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "enipool/ec2/aws/http_client.h"
#include "enipool/ec2/aws/sigv4.h"
#include "enipool/ipv4.h"
#include "enipool/status.h"

namespace enipool::ec2::aws {

// JsonStringField()
//
// The string value of `"key": "..."` in a flat JSON object (the shape of
// IMDS's and the container endpoint's credential documents), unescaped;
// nullopt when absent or not a string. Enough for those documents, not a
// JSON parser.
inline std::optional<std::string> JsonStringField(absl::string_view json, absl::string_view key) {
  const std::string quoted = absl::StrCat("\"", key, "\"");
  std::size_t at = 0;
  while ((at = json.find(quoted, at)) != absl::string_view::npos) {
    std::size_t i = at + quoted.size();
    while (i < json.size() && absl::ascii_isspace(static_cast<unsigned char>(json[i]))) ++i;
    if (i >= json.size() || json[i] != ':') {
      at = i;
      continue;
    }
    ++i;
    while (i < json.size() && absl::ascii_isspace(static_cast<unsigned char>(json[i]))) ++i;
    if (i >= json.size() || json[i] != '"') return std::nullopt;
    std::string value;
    for (++i; i < json.size(); ++i) {
      if (json[i] == '"') return value;
      if (json[i] == '\\' && i + 1 < json.size()) {
        ++i;
        switch (json[i]) {
          case 'n': value.push_back('\n'); break;
          case 't': value.push_back('\t'); break;
          case 'r': value.push_back('\r'); break;
          default: value.push_back(json[i]);  // \" \\ \/ (no \u in these documents)
        }
      } else {
        value.push_back(json[i]);
      }
    }
    return std::nullopt;
  }
  return std::nullopt;
}

// ParseCredentialDocument()
//
// Credentials from a JSON document with AccessKeyId, SecretAccessKey,
// Token and Expiration (RFC 3339), as IMDS and the container credentials
// endpoint send them. `source` names the document in errors.
inline absl::StatusOr<Credentials> ParseCredentialDocument(absl::string_view json,
                                                           absl::string_view source) {
  if (auto code = JsonStringField(json, "Code"); code.has_value() && *code != "Success") {
    return absl::UnavailableError(absl::StrCat("CredentialsUnavailable: ", source, ": Code ", *code,
                                               ": ", JsonStringField(json, "Message").value_or("")));
  }
  Credentials credentials;
  auto key = JsonStringField(json, "AccessKeyId");
  auto secret = JsonStringField(json, "SecretAccessKey");
  auto token = JsonStringField(json, "Token");
  auto expiration = JsonStringField(json, "Expiration");
  if (!key || !secret || key->empty() || secret->empty()) {
    return absl::InternalError(absl::StrCat("MalformedResponse: ", source,
                                            ": no AccessKeyId and SecretAccessKey"));
  }
  credentials.access_key_id = *key;
  credentials.secret_access_key = *secret;
  credentials.session_token = token.value_or("");
  if (expiration.has_value()) {
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, *expiration, &credentials.expiration, &error)) {
      return absl::InternalError(absl::StrCat("MalformedResponse: ", source, ": Expiration \"",
                                              *expiration, "\": ", error));
    }
  }
  return credentials;
}

// ImdsInterface
//
// One network interface as IMDS shows it (network/interfaces/macs/<mac>/).
struct ImdsInterface {
  std::string mac;
  int device_number = -1;
  std::string interface_id;
  std::string subnet_id;
  Ipv4Prefix subnet_cidr;
  std::vector<std::string> security_group_ids;
  std::vector<Ipv4Address> ipv4s;  // the first is the interface's primary address
  std::vector<Ipv4Prefix> ipv4_prefixes;
};

// ImdsInstanceMetadata
//
// The instance as IMDS shows it; interfaces sorted by device number.
struct ImdsInstanceMetadata {
  std::string instance_id;
  std::string instance_type;
  std::string availability_zone;
  std::string region;
  Ipv4Address local_ipv4;
  std::string primary_mac;
  std::vector<ImdsInterface> interfaces;
};

// ImdsOptions
struct ImdsOptions {
  std::string endpoint = "http://169.254.169.254";
  absl::Duration token_ttl = absl::Hours(6);
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration timeout = absl::Seconds(5);
  std::function<absl::Time()> now = [] { return absl::Now(); };

  // ImdsOptions::FromEnvironment()
  //
  // The defaults, with AWS_EC2_METADATA_SERVICE_ENDPOINT if set.
  static ImdsOptions FromEnvironment() {
    ImdsOptions options;
    if (const char* endpoint = std::getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        endpoint != nullptr && *endpoint != '\0') {
      options.endpoint = endpoint;
    }
    return options;
  }
};

// ImdsClient
//
// See the file comment.
class ImdsClient {
 public:
  ImdsClient(const CurlHttpClient& http, ImdsOptions options)
      : http_(http), options_(std::move(options)) {
    while (!options_.endpoint.empty() && options_.endpoint.back() == '/') options_.endpoint.pop_back();
  }

  // ImdsClient::Get()
  //
  // The body at `path` (under /latest/meta-data/). NOT_FOUND for 404,
  // UNAVAILABLE when IMDS cannot be reached or gives no token.
  absl::StatusOr<std::string> Get(absl::string_view path) {
    for (int attempt = 1;; ++attempt) {
      ENIPOOL_ASSIGN_OR_RETURN(std::string token, Token(/*refresh=*/attempt > 1));
      ENIPOOL_ASSIGN_OR_RETURN(
          HttpResponse response,
          http_.Send({.method = "GET",
                      .url = absl::StrCat(options_.endpoint, "/latest/meta-data/", path),
                      .headers = {{"X-aws-ec2-metadata-token", token}},
                      .connect_timeout = options_.connect_timeout,
                      .timeout = options_.timeout}));
      if (response.status == 200) return std::move(response.body);
      if (response.status == 401 && attempt == 1) continue;  // the token expired: a new one
      if (response.status == 404) {
        return absl::NotFoundError(absl::StrCat("ImdsNotFound: ", path, " is not in IMDS"));
      }
      return absl::UnavailableError(
          absl::StrCat("ImdsError: GET ", path, " answered HTTP ", response.status));
    }
  }

  // ImdsClient::ReadInstance()
  //
  // Instance id, type, AZ, region, local IPv4 and every interface.
  absl::StatusOr<ImdsInstanceMetadata> ReadInstance() {
    ImdsInstanceMetadata me;
    ENIPOOL_ASSIGN_OR_RETURN(me.instance_id, Get("instance-id"));
    ENIPOOL_ASSIGN_OR_RETURN(me.instance_type, Get("instance-type"));
    ENIPOOL_ASSIGN_OR_RETURN(me.availability_zone, Get("placement/availability-zone"));
    if (auto region = Get("placement/region"); region.ok()) {
      me.region = *std::move(region);
    } else if (!me.availability_zone.empty()) {
      me.region = me.availability_zone.substr(0, me.availability_zone.size() - 1);
    }
    ENIPOOL_ASSIGN_OR_RETURN(std::string local_ipv4, Get("local-ipv4"));
    ENIPOOL_ASSIGN_OR_RETURN(me.local_ipv4, ParseAddress("local-ipv4", local_ipv4));
    ENIPOOL_ASSIGN_OR_RETURN(me.primary_mac, Get("mac"));
    ENIPOOL_ASSIGN_OR_RETURN(std::string macs, Get("network/interfaces/macs/"));
    for (absl::string_view line : absl::StrSplit(macs, '\n', absl::SkipWhitespace())) {
      ImdsInterface eni;
      eni.mac = std::string(absl::StripSuffix(absl::StripAsciiWhitespace(line), "/"));
      const std::string base = absl::StrCat("network/interfaces/macs/", eni.mac, "/");
      ENIPOOL_ASSIGN_OR_RETURN(std::string device, Get(base + "device-number"));
      if (!absl::SimpleAtoi(device, &eni.device_number)) {
        return absl::InternalError(absl::StrCat("MalformedResponse: IMDS ", base,
                                                "device-number \"", device, "\""));
      }
      ENIPOOL_ASSIGN_OR_RETURN(eni.interface_id, Get(base + "interface-id"));
      ENIPOOL_ASSIGN_OR_RETURN(eni.subnet_id, Get(base + "subnet-id"));
      ENIPOOL_ASSIGN_OR_RETURN(std::string cidr, Get(base + "subnet-ipv4-cidr-block"));
      auto parsed_cidr = Ipv4Prefix::Parse(cidr);
      if (!parsed_cidr.ok()) return Malformed(base + "subnet-ipv4-cidr-block", parsed_cidr.status());
      eni.subnet_cidr = *parsed_cidr;
      if (auto groups = Get(base + "security-group-ids"); groups.ok()) {
        eni.security_group_ids = absl::StrSplit(*groups, '\n', absl::SkipWhitespace());
      }
      ENIPOOL_ASSIGN_OR_RETURN(std::string ipv4s, Get(base + "local-ipv4s"));
      for (absl::string_view ip : absl::StrSplit(ipv4s, '\n', absl::SkipWhitespace())) {
        ENIPOOL_ASSIGN_OR_RETURN(Ipv4Address address, ParseAddress(base + "local-ipv4s", ip));
        eni.ipv4s.push_back(address);
      }
      auto prefixes = Get(base + "ipv4-prefix");
      if (prefixes.ok()) {
        for (absl::string_view text : absl::StrSplit(*prefixes, '\n', absl::SkipWhitespace())) {
          auto prefix = Ipv4Prefix::Parse(absl::StripAsciiWhitespace(text));
          if (!prefix.ok()) return Malformed(base + "ipv4-prefix", prefix.status());
          eni.ipv4_prefixes.push_back(*prefix);
        }
      } else if (!absl::IsNotFound(prefixes.status())) {
        return prefixes.status();
      }
      me.interfaces.push_back(std::move(eni));
    }
    std::sort(me.interfaces.begin(), me.interfaces.end(),
              [](const ImdsInterface& a, const ImdsInterface& b) {
                return a.device_number < b.device_number;
              });
    return me;
  }

  // ImdsClient::RoleCredentials()
  //
  // The instance role's temporary credentials
  // (iam/security-credentials/<first role>).
  absl::StatusOr<Credentials> RoleCredentials() {
    ENIPOOL_ASSIGN_OR_RETURN(std::string roles, Get("iam/security-credentials/"));
    const std::vector<std::string> names = absl::StrSplit(roles, '\n', absl::SkipWhitespace());
    if (names.empty()) {
      return absl::NotFoundError("CredentialsUnavailable: the instance has no IAM role");
    }
    const std::string role(absl::StripAsciiWhitespace(names.front()));
    ENIPOOL_ASSIGN_OR_RETURN(std::string document, Get("iam/security-credentials/" + role));
    return ParseCredentialDocument(document, absl::StrCat("IMDS role ", role));
  }

  [[nodiscard]] const std::string& endpoint() const noexcept { return options_.endpoint; }

 private:
  static absl::Status Malformed(absl::string_view what, const absl::Status& why) {
    return absl::InternalError(absl::StrCat("MalformedResponse: IMDS ", what, ": ", why.message()));
  }
  static absl::StatusOr<Ipv4Address> ParseAddress(absl::string_view what, absl::string_view text) {
    auto address = Ipv4Address::Parse(absl::StripAsciiWhitespace(text));
    if (!address.ok()) return Malformed(what, address.status());
    return *address;
  }

  absl::StatusOr<std::string> Token(bool refresh) {
    absl::MutexLock lock(&mutex_);
    const absl::Time now = options_.now();
    // Renew a minute early, so a token never expires in flight.
    if (!refresh && !token_.empty() && now + absl::Minutes(1) < token_expires_) return token_;
    auto response = http_.Send(
        {.method = "PUT",
         .url = absl::StrCat(options_.endpoint, "/latest/api/token"),
         .headers = {{"X-aws-ec2-metadata-token-ttl-seconds",
                      absl::StrCat(absl::ToInt64Seconds(options_.token_ttl))}},
         .connect_timeout = options_.connect_timeout,
         .timeout = options_.timeout});
    if (!response.ok()) {
      return absl::UnavailableError(absl::StrCat("ImdsTokenUnavailable: ", response.status().message()));
    }
    if (response->status != 200 || response->body.empty()) {
      return absl::UnavailableError(absl::StrCat(
          "ImdsTokenUnavailable: PUT /latest/api/token answered HTTP ", response->status,
          " (IMDSv2 only: no fallback to IMDSv1)"));
    }
    token_ = std::move(response->body);
    token_expires_ = now + options_.token_ttl;
    return token_;
  }

  const CurlHttpClient& http_;
  ImdsOptions options_;
  absl::Mutex mutex_;
  std::string token_ ABSL_GUARDED_BY(mutex_);
  absl::Time token_expires_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
};

}  // namespace enipool::ec2::aws

#endif  // ENIPOOL_EC2_AWS_IMDS_CLIENT_H_
