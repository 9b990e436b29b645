// -----------------------------------------------------------------------------
// File: ec2/aws/credentials.h
// -----------------------------------------------------------------------------
//
// `CredentialsChain`: AWS credentials found the way the AWS SDKs find them,
// first match wins:
//   1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
//      optionally AWS_SESSION_TOKEN;
//   2. web identity (EKS IRSA): AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE,
//      exchanged for role credentials by STS AssumeRoleWithWebIdentity
//      (AWS_ROLE_SESSION_NAME; STS at AWS_ENDPOINT_URL_STS, else
//      https://sts.<AWS_REGION>.amazonaws.com);
//   3. the container credentials endpoint (EKS Pod Identity, ECS):
//      AWS_CONTAINER_CREDENTIALS_FULL_URI (or _RELATIVE_URI under
//      http://169.254.170.2) with the Authorization header read from
//      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (or _TOKEN);
//   4. the instance role from IMDSv2.
// Temporary credentials are cached and fetched again `refresh_before`
// (5 min) before they expire, or at once after Expire() (a call answered
// ExpiredToken). A source that is configured but fails is an error; the
// chain does not silently fall through to the next one.
// Part of the opt-in target enipool::aws.
//
// Thread-safety: thread-safe.
//
// Example:
//
//   enipool::ec2::aws::CurlHttpClient http;
//   enipool::ec2::aws::CredentialsChain credentials(http);
//   absl::StatusOr<enipool::ec2::aws::Credentials> now = credentials.Get();
//   credentials.source();   // "environment", "web identity", "container", "IMDS role"

#ifndef ENIPOOL_EC2_AWS_CREDENTIALS_H_
#define ENIPOOL_EC2_AWS_CREDENTIALS_H_

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <utility>

#include <pugixml.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "enipool/ec2/aws/ec2_query.h"
#include "enipool/ec2/aws/http_client.h"
#include "enipool/ec2/aws/imds_client.h"
#include "enipool/ec2/aws/sigv4.h"
#include "enipool/status.h"

namespace enipool::ec2::aws {

// Environment
//
// How the chain reads environment variables (getenv by default; tests give
// a map). An unset or empty variable is nullopt.
using Environment = std::function<std::optional<std::string>(absl::string_view)>;

inline Environment ProcessEnvironment() {
  return [](absl::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
}

// CredentialsChainOptions
struct CredentialsChainOptions {
  Environment environment = ProcessEnvironment();
  std::function<absl::Time()> now = [] { return absl::Now(); };
  absl::Duration refresh_before = absl::Minutes(5);
  absl::Duration timeout = absl::Seconds(5);
  // IMDS for the instance role; its endpoint is overridden by
  // AWS_EC2_METADATA_SERVICE_ENDPOINT from `environment`.
  ImdsOptions imds;
};

// CredentialsChain
//
// See the file comment.
class CredentialsChain {
 public:
  explicit CredentialsChain(const CurlHttpClient& http, CredentialsChainOptions options = {})
      : http_(http), options_(std::move(options)) {
    if (auto endpoint = Env("AWS_EC2_METADATA_SERVICE_ENDPOINT")) options_.imds.endpoint = *endpoint;
    options_.imds.now = options_.now;
  }

  // CredentialsChain::Get()
  //
  // Credentials valid for at least `refresh_before` more (or long-term
  // ones), fetched again when needed.
  absl::StatusOr<Credentials> Get() {
    absl::MutexLock lock(&mutex_);
    const absl::Time now = options_.now();
    if (cached_.has_value() && cached_->expiration - now > options_.refresh_before) return *cached_;
    ENIPOOL_ASSIGN_OR_RETURN(Credentials fresh, Resolve());
    cached_ = fresh;
    ++fetches_;
    return fresh;
  }

  // CredentialsChain::Expire()
  //
  // Forgets the cached credentials: the next Get() fetches new ones.
  void Expire() {
    absl::MutexLock lock(&mutex_);
    cached_.reset();
  }

  // Where the last credentials came from ("" before the first Get()).
  [[nodiscard]] std::string source() const {
    absl::MutexLock lock(&mutex_);
    return source_;
  }
  // How many times credentials were fetched.
  [[nodiscard]] int fetches() const {
    absl::MutexLock lock(&mutex_);
    return fetches_;
  }

 private:
  std::optional<std::string> Env(absl::string_view name) const { return options_.environment(name); }

  absl::StatusOr<Credentials> Resolve() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (auto key = Env("AWS_ACCESS_KEY_ID"), secret = Env("AWS_SECRET_ACCESS_KEY"); key && secret) {
      source_ = "environment";
      return Credentials{*key, *secret, Env("AWS_SESSION_TOKEN").value_or(""),
                         absl::InfiniteFuture()};
    }
    if (auto role = Env("AWS_ROLE_ARN"), token_file = Env("AWS_WEB_IDENTITY_TOKEN_FILE");
        role && token_file) {
      source_ = "web identity";
      return AssumeRoleWithWebIdentity(*role, *token_file);
    }
    if (auto uri = ContainerUri()) {
      source_ = "container";
      return ContainerCredentials(*uri);
    }
    if (Env("AWS_EC2_METADATA_DISABLED") == std::optional<std::string>("true")) {
      return absl::NotFoundError(
          "CredentialsUnavailable: no credentials in the environment, no web identity, no "
          "container endpoint, and IMDS is disabled (AWS_EC2_METADATA_DISABLED)");
    }
    source_ = "IMDS role";
    ImdsClient imds(http_, options_.imds);
    return imds.RoleCredentials();
  }

  static absl::StatusOr<std::string> ReadFile(absl::string_view path, absl::string_view what) {
    std::ifstream in{std::string(path), std::ios::binary};
    if (!in) {
      return absl::NotFoundError(
          absl::StrCat("CredentialsUnavailable: cannot read ", what, " \"", path, "\""));
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return std::string(absl::StripAsciiWhitespace(text));
  }

  absl::StatusOr<Credentials> AssumeRoleWithWebIdentity(const std::string& role_arn,
                                                        const std::string& token_file) {
    ENIPOOL_ASSIGN_OR_RETURN(std::string token,
                             ReadFile(token_file, "AWS_WEB_IDENTITY_TOKEN_FILE"));
    std::string endpoint;
    if (auto sts = Env("AWS_ENDPOINT_URL_STS")) {
      endpoint = *sts;
    } else if (auto any = Env("AWS_ENDPOINT_URL")) {
      endpoint = *any;
    } else if (auto region = Env("AWS_REGION")) {
      endpoint = absl::StrCat("https://sts.", *region, ".amazonaws.com");
    } else {
      endpoint = "https://sts.amazonaws.com";
    }
    const std::string session = Env("AWS_ROLE_SESSION_NAME")
                                    .value_or(absl::StrCat("enipool-", absl::ToUnixSeconds(options_.now())));
    // The call is not signed: the web identity token is the proof.
    const std::string body = FormEncode({{"Action", "AssumeRoleWithWebIdentity"},
                                         {"Version", "2011-06-15"},
                                         {"RoleArn", role_arn},
                                         {"RoleSessionName", session},
                                         {"WebIdentityToken", token}});
    ENIPOOL_ASSIGN_OR_RETURN(
        HttpResponse response,
        http_.Send({.method = "POST",
                    .url = endpoint,
                    .headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
                    .body = body,
                    .timeout = options_.timeout}));
    if (response.status != 200) return ParseErrorResponse(response.status, response.body);
    pugi::xml_document document;
    if (!document.load_buffer(response.body.data(), response.body.size())) {
      return absl::InternalError("MalformedResponse: AssumeRoleWithWebIdentity: not XML");
    }
    const pugi::xml_node node = document.child("AssumeRoleWithWebIdentityResponse")
                                    .child("AssumeRoleWithWebIdentityResult")
                                    .child("Credentials");
    Credentials credentials{node.child("AccessKeyId").text().get(),
                            node.child("SecretAccessKey").text().get(),
                            node.child("SessionToken").text().get(), absl::InfiniteFuture()};
    if (credentials.empty()) {
      return absl::InternalError("MalformedResponse: AssumeRoleWithWebIdentity: no Credentials");
    }
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, node.child("Expiration").text().get(),
                         &credentials.expiration, &error)) {
      return absl::InternalError(
          absl::StrCat("MalformedResponse: AssumeRoleWithWebIdentity: Expiration: ", error));
    }
    return credentials;
  }

  std::optional<std::string> ContainerUri() const {
    if (auto full = Env("AWS_CONTAINER_CREDENTIALS_FULL_URI")) return full;
    if (auto relative = Env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
      return absl::StrCat("http://169.254.170.2", *relative);
    }
    return std::nullopt;
  }

  absl::StatusOr<Credentials> ContainerCredentials(const std::string& uri) {
    HttpRequest request{.method = "GET", .url = uri, .timeout = options_.timeout};
    if (auto file = Env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
      ENIPOOL_ASSIGN_OR_RETURN(std::string token,
                               ReadFile(*file, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
      request.headers.push_back({"Authorization", token});
    } else if (auto token = Env("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
      request.headers.push_back({"Authorization", *token});
    }
    ENIPOOL_ASSIGN_OR_RETURN(HttpResponse response, http_.Send(request));
    if (response.status != 200) {
      return absl::UnavailableError(absl::StrCat("CredentialsUnavailable: container endpoint ",
                                                 uri, " answered HTTP ", response.status));
    }
    return ParseCredentialDocument(response.body, "the container credentials endpoint");
  }

  const CurlHttpClient& http_;
  CredentialsChainOptions options_;
  mutable absl::Mutex mutex_;
  std::optional<Credentials> cached_ ABSL_GUARDED_BY(mutex_);
  std::string source_ ABSL_GUARDED_BY(mutex_);
  int fetches_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace enipool::ec2::aws

#endif  // ENIPOOL_EC2_AWS_CREDENTIALS_H_
