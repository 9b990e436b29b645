// -----------------------------------------------------------------------------
// File: ec2/aws/ec2_client.h
// -----------------------------------------------------------------------------
//
// `Ec2Client`: an enipool::Backend that talks to EC2 itself — the EC2 Query
// API over HTTPS (libcurl), signed with SigV4, retried in the SDKs'
// standard mode (ec2/aws/retry.h), with credentials from CredentialsChain.
// With it an agent built on enipool runs on a real node with no AWS SDK;
// pointed at examples/ec2_endpoint.cpp it runs against a simulated EC2 on
// the same machine. Part of the opt-in target enipool::aws.
//
// Each call: build the form (ec2_query.h), sign it, POST it, parse the
// answer. A failure comes back as EC2 words it ("InsufficientCidrBlocks:
// ..."), so ClassifyEc2Error() and the controller see the same codes as
// with the simulator. Throttling, HTTP 5xx, connection errors and read
// timeouts are retried (3 attempts, jittered exponential back-off, retry
// quota); an ExpiredToken answer makes the credentials be fetched again
// and the call re-sent once; anything else is returned at once.
// DescribeNetworkInterfaces follows NextToken to the last page.
// CreateNetworkInterface sends the request's own security groups and tags
// (the controller's: eni_class.h's CreatedEniTags); a request without tags
// is tagged as the VPC CNI does (node.k8s.amazonaws.com/instance_id,
// node.k8s.amazonaws.com/createdAt). EniCreationOptions' tags and security
// groups are added to either, except a tag key or group the request names.
//
// Region and endpoint (Ec2ClientOptions::FromEnvironment()): AWS_REGION or
// AWS_DEFAULT_REGION, else IMDS's placement/region; AWS_ENDPOINT_URL_EC2 or
// AWS_ENDPOINT_URL, else https://ec2.<region>.amazonaws.com (.com.cn in
// China).
//
// Thread-safety: thread-safe; calls from several threads share the retry
// quota and the credentials.
//
// Example:
//
//   enipool::ec2::aws::CurlHttpClient http;
//   enipool::ec2::aws::CredentialsChain credentials(http);
//   ENIPOOL_ASSIGN_OR_RETURN(auto options,
//       enipool::ec2::aws::Ec2ClientOptions::FromEnvironment(http));
//   options.instance_id = "i-0123456789abcdef0";
//   enipool::ec2::aws::Ec2Client ec2(http, credentials, options);
//   static_assert(enipool::Backend<enipool::ec2::aws::Ec2Client>);
//   ENIPOOL_ASSIGN_OR_RETURN(auto prefixes, ec2.AssignIpv4Prefixes({.eni_id = eni, .count = 1}));

#ifndef ENIPOOL_EC2_AWS_EC2_CLIENT_H_
#define ENIPOOL_EC2_AWS_EC2_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "enipool/ec2/aws/credentials.h"
#include "enipool/ec2/aws/ec2_query.h"
#include "enipool/ec2/aws/http_client.h"
#include "enipool/ec2/aws/imds_client.h"
#include "enipool/ec2/aws/retry.h"
#include "enipool/ec2/aws/sigv4.h"
#include "enipool/ec2/backend.h"
#include "enipool/status.h"

namespace enipool::ec2::aws {

// Ec2ClientOptions
struct Ec2ClientOptions {
  std::string region = "us-east-1";
  std::string endpoint;  // empty: https://ec2.<region>.amazonaws.com
  absl::Duration connect_timeout = absl::Seconds(2);
  absl::Duration timeout = absl::Seconds(10);  // per attempt, the whole exchange
  RetryOptions retry;
  std::uint64_t seed = 0x656e69706f6f6c;  // back-off jitter
  std::string instance_id;                // the instance_id tag of created ENIs
  EniCreationOptions creation;
  std::function<void(absl::Duration)> sleep = [](absl::Duration d) { absl::SleepFor(d); };
  std::function<absl::Time()> now = [] { return absl::Now(); };

  // Ec2ClientOptions::FromEnvironment()
  //
  // Region and endpoint from the environment, else the region from IMDS
  // (UNAVAILABLE when neither says).
  static absl::StatusOr<Ec2ClientOptions> FromEnvironment(
      const CurlHttpClient& http, const Environment& environment = ProcessEnvironment()) {
    Ec2ClientOptions options;
    if (auto region = environment("AWS_REGION")) {
      options.region = *region;
    } else if (auto fallback = environment("AWS_DEFAULT_REGION")) {
      options.region = *fallback;
    } else {
      ImdsOptions imds_options;
      if (auto endpoint = environment("AWS_EC2_METADATA_SERVICE_ENDPOINT")) {
        imds_options.endpoint = *endpoint;
      }
      ImdsClient imds(http, imds_options);
      auto from_imds = imds.Get("placement/region");
      if (!from_imds.ok()) {
        return absl::UnavailableError(absl::StrCat(
            "no region: AWS_REGION and AWS_DEFAULT_REGION are unset and IMDS did not say (",
            from_imds.status().message(), ")"));
      }
      options.region = *std::move(from_imds);
    }
    if (auto endpoint = environment("AWS_ENDPOINT_URL_EC2")) {
      options.endpoint = *endpoint;
    } else if (auto any = environment("AWS_ENDPOINT_URL")) {
      options.endpoint = *any;
    }
    return options;
  }
};

// Ec2ClientStats
struct Ec2ClientStats {
  std::uint64_t calls = 0;     // Backend calls (a paginated describe is one)
  std::uint64_t attempts = 0;  // HTTP requests sent
  std::uint64_t retries = 0;   // attempts after the first, credential refreshes included
};

// Ec2Client
//
// See the file comment.
class Ec2Client {
 public:
  Ec2Client(const CurlHttpClient& http, CredentialsChain& credentials, Ec2ClientOptions options)
      : http_(http),
        credentials_(credentials),
        options_(std::move(options)),
        signer_(options_.region, "ec2"),
        quota_(options_.retry),
        rng_(options_.seed) {
    if (options_.endpoint.empty()) {
      options_.endpoint = absl::StrCat("https://ec2.", options_.region, ".amazonaws.com",
                                       absl::StartsWith(options_.region, "cn-") ? ".cn" : "");
    }
    host_ = HostOfUrl(options_.endpoint);
    path_ = PathOfUrl(options_.endpoint);
  }

  absl::StatusOr<NetworkInterface> CreateNetworkInterface(
      const CreateNetworkInterfaceRequest& request) {
    return Expect<NetworkInterface>(request);
  }
  absl::StatusOr<std::string> AttachNetworkInterface(const AttachNetworkInterfaceRequest& request) {
    return Expect<std::string>(request);
  }
  absl::Status DetachNetworkInterface(const DetachNetworkInterfaceRequest& request) {
    return Expect<std::monostate>(request).status();
  }
  absl::Status DeleteNetworkInterface(const DeleteNetworkInterfaceRequest& request) {
    return Expect<std::monostate>(request).status();
  }
  absl::StatusOr<std::vector<Ipv4Address>> AssignPrivateIpAddresses(
      const AssignPrivateIpAddressesRequest& request) {
    return Expect<std::vector<Ipv4Address>>(request);
  }
  absl::StatusOr<std::vector<Ipv4Prefix>> AssignIpv4Prefixes(
      const AssignIpv4PrefixesRequest& request) {
    return Expect<std::vector<Ipv4Prefix>>(request);
  }
  absl::Status UnassignPrivateIpAddresses(const UnassignPrivateIpAddressesRequest& request) {
    return Expect<std::monostate>(request).status();
  }
  absl::Status UnassignIpv4Prefixes(const UnassignIpv4PrefixesRequest& request) {
    return Expect<std::monostate>(request).status();
  }

  absl::StatusOr<std::vector<NetworkInterface>> DescribeNetworkInterfaces(
      const DescribeNetworkInterfacesRequest& request) {
    calls_.fetch_add(1, std::memory_order_relaxed);
    const QueryRequest query = ToQueryRequest(request);
    std::vector<NetworkInterface> all;
    std::string next_token;
    for (int page = 0;; ++page) {
      QueryParams params = query.params;
      if (!next_token.empty()) params.emplace_back("NextToken", next_token);
      ENIPOOL_ASSIGN_OR_RETURN(
          DescribePage answer,
          Exchange<DescribePage>(FormEncode(params),
                                 [](int status, absl::string_view body) -> absl::StatusOr<DescribePage> {
                                   if (status < 200 || status > 299) {
                                     return ParseErrorResponse(status, body);
                                   }
                                   return ParseDescribeNetworkInterfaces(body);
                                 }));
      for (NetworkInterface& eni : answer.interfaces) all.push_back(std::move(eni));
      if (answer.next_token.empty() || answer.next_token == next_token) return all;
      next_token = std::move(answer.next_token);
    }
  }

  // One page: EC2 answers a DescribeSubnets without MaxResults whole.
  absl::StatusOr<std::vector<SubnetInfo>> DescribeSubnets(const DescribeSubnetsRequest& request) {
    return Expect<std::vector<SubnetInfo>>(request);
  }

  // AssignIpv6Addresses with Ipv6PrefixCount; UnassignIpv6Addresses with
  // Ipv6Prefix.N.
  absl::StatusOr<std::vector<Ipv6Prefix>> AssignIpv6Prefixes(
      const AssignIpv6PrefixesRequest& request) {
    return Expect<std::vector<Ipv6Prefix>>(request);
  }
  absl::Status UnassignIpv6Prefixes(const UnassignIpv6PrefixesRequest& request) {
    return Expect<std::monostate>(request).status();
  }

  // CreateTags with ResourceId.N and Tag.N.Key / Tag.N.Value.
  absl::Status CreateTags(const CreateTagsRequest& request) {
    return Expect<std::monostate>(request).status();
  }

  // ModifyNetworkInterfaceAttribute with Attachment.AttachmentId and
  // Attachment.DeleteOnTermination, or SecurityGroupId.N.
  absl::Status ModifyNetworkInterfaceAttribute(
      const ModifyNetworkInterfaceAttributeRequest& request) {
    return Expect<std::monostate>(request).status();
  }

  [[nodiscard]] Ec2ClientStats stats() const {
    return {calls_.load(std::memory_order_relaxed), attempts_.load(std::memory_order_relaxed),
            retries_.load(std::memory_order_relaxed)};
  }
  [[nodiscard]] const RetryQuota& retry_quota() const noexcept { return quota_; }
  [[nodiscard]] const Ec2ClientOptions& options() const noexcept { return options_; }

 private:
  template <typename T>
  absl::StatusOr<T> Expect(const Ec2Call& call) {
    calls_.fetch_add(1, std::memory_order_relaxed);
    EniCreationOptions creation = options_.creation;
    const auto* create = std::get_if<CreateNetworkInterfaceRequest>(&call);
    // A request that carries its own tags (the controller's, eni_class.h)
    // is sent with them; otherwise the client stamps the reference's two.
    if (create != nullptr && create->tags.empty()) {
      if (!options_.instance_id.empty()) {
        creation.tags.emplace_back(std::string(kInstanceIdTag), options_.instance_id);
      }
      creation.tags.emplace_back(
          std::string(kCreatedAtTag),
          absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", options_.now(), absl::UTCTimeZone()));
    }
    ENIPOOL_ASSIGN_OR_RETURN(
        Ec2Response response,
        Exchange<Ec2Response>(FormEncode(ToQueryRequest(call, creation).params),
                              [&call](int status, absl::string_view body) {
                                return ParseQueryResponse(call, status, body);
                              }));
    if (T* value = std::get_if<T>(&response)) return std::move(*value);
    return absl::InternalError(absl::StrCat("MalformedResponse: ", Ec2CallName(call),
                                            ": the answer has the wrong shape"));
  }

  // One call with its retries: sign, send, parse; retry what may be.
  template <typename T, typename Parse>
  absl::StatusOr<T> Exchange(const std::string& body, Parse&& parse) {
    int quota_taken = 0;
    bool refreshed_credentials = false;
    for (int attempt = 1;; ++attempt) {
      if (attempt > 1) retries_.fetch_add(1, std::memory_order_relaxed);
      ENIPOOL_ASSIGN_OR_RETURN(Credentials credentials, credentials_.Get());
      SignableRequest signable{.method = "POST",
                               .host = host_,
                               .path = path_,
                               .headers = {{"Content-Type",
                                            "application/x-www-form-urlencoded; charset=utf-8"}},
                               .body = body};
      HttpRequest request{.method = "POST",
                          .url = options_.endpoint,
                          .headers = signable.headers,
                          .body = body,
                          .connect_timeout = options_.connect_timeout,
                          .timeout = options_.timeout};
      for (HttpHeader& header : signer_.Sign(signable, credentials, options_.now())) {
        request.headers.push_back(std::move(header));
      }
      attempts_.fetch_add(1, std::memory_order_relaxed);
      absl::StatusOr<HttpResponse> response = http_.Send(request);
      absl::Status error;
      int http_status = 0;
      if (response.ok()) {
        http_status = response->status;
        absl::StatusOr<T> parsed = parse(response->status, response->body);
        if (parsed.ok()) {
          quota_.OnSuccess(quota_taken);
          return parsed;
        }
        error = parsed.status();
      } else {
        error = response.status();
      }
      const absl::string_view code = ErrorCodeOf(error);
      if ((code == "ExpiredToken" || code == "ExpiredTokenException") && !refreshed_credentials) {
        // Temporary credentials ran out early: fetch new ones, send again.
        credentials_.Expire();
        refreshed_credentials = true;
        --attempt;
        continue;
      }
      const RetryKind kind = ClassifyRetry(error, http_status);
      int cost = 0;
      if (kind == RetryKind::kNone || attempt >= options_.retry.max_attempts ||
          !quota_.Acquire(kind, &cost)) {
        return error;
      }
      quota_taken += cost;
      absl::Duration backoff;
      {
        absl::MutexLock lock(&rng_mutex_);
        backoff = RetryBackoff(options_.retry, attempt, rng_);
      }
      options_.sleep(backoff);
    }
  }

  const CurlHttpClient& http_;
  CredentialsChain& credentials_;
  Ec2ClientOptions options_;
  SigV4Signer signer_;
  RetryQuota quota_;
  std::string host_;
  std::string path_;
  absl::Mutex rng_mutex_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(rng_mutex_);
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<std::uint64_t> attempts_{0};
  std::atomic<std::uint64_t> retries_{0};
};

static_assert(Backend<Ec2Client>);

}  // namespace enipool::ec2::aws

#endif  // ENIPOOL_EC2_AWS_EC2_CLIENT_H_
