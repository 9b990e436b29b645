// enipool's EC2 client (ec2/aws/ec2_client.h), IMDS client and credentials
// chain against the loopback endpoint (examples/ec2_endpoint.cpp, as a child
// process) and against a scripted HTTP server that gives bad answers.
// Everything listens on 127.0.0.1.

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "enipool/agent.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/driver.h"
#include "enipool/ec2/aws/credentials.h"
#include "enipool/ec2/aws/ec2_client.h"
#include "enipool/ec2/aws/ec2_query_server.h"
#include "enipool/ec2/aws/imds_client.h"
#include "enipool/ec2/aws/imds_service.h"
#include "enipool/ipv6.h"
#include "testing/ec2_endpoint_process.h"
#include "testing/scripted_http_server.h"
#include "testing/subprocess.h"

namespace {

namespace aws = enipool::ec2::aws;
using enipool::Ec2ErrorCode;
using enipool::testing::Ec2EndpointProcess;
using enipool::testing::ScriptedAnswer;
using enipool::testing::ScriptedHttpServer;

aws::Environment MapEnvironment(std::map<std::string, std::string> values) {
  return [values = std::move(values)](absl::string_view name) -> std::optional<std::string> {
    const auto it = values.find(std::string(name));
    if (it == values.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

aws::Environment EndpointKeys() {
  return MapEnvironment({{"AWS_ACCESS_KEY_ID", enipool::testing::kEndpointAccessKey},
                         {"AWS_SECRET_ACCESS_KEY", enipool::testing::kEndpointSecretKey}});
}

// A client with no real sleeping: back-offs are recorded.
struct ClientUnderTest {
  ClientUnderTest(const std::string& endpoint, aws::Environment environment,
                  aws::RetryOptions retry = {}, absl::Duration timeout = absl::Seconds(10))
      : credentials(http, {.environment = std::move(environment)}),
        client(http, credentials,
               {.region = enipool::testing::kEndpointRegion,
                .endpoint = endpoint,
                .timeout = timeout,
                .retry = retry,
                .instance_id = "i-1",
                .sleep = [this](absl::Duration d) { backoffs.push_back(d); }}) {}

  aws::CurlHttpClient http;
  aws::CredentialsChain credentials;
  aws::Ec2Client client;
  std::vector<absl::Duration> backoffs;
};

TEST_CASE("Ec2Client makes every Backend call against the loopback endpoint") {
  Ec2EndpointProcess endpoint;
  REQUIRE(endpoint.Start({"--subnet=10.0.0.0/24", "--instance=i-1:c5.large"}));
  ClientUnderTest t(endpoint.url(), EndpointKeys());
  aws::Ec2Client& ec2 = t.client;
  const std::string subnet = endpoint.subnets().front();

  auto created = ec2.CreateNetworkInterface(
      {.subnet_id = subnet, .secondary_ip_count = 2, .description = "aws-K8S-i-1"});
  REQUIRE(created.ok());
  CHECK(created->subnet_id == subnet);
  CHECK(created->secondary_ips.size() == 2);
  CHECK_FALSE(created->attached());
  auto attachment = ec2.AttachNetworkInterface({created->id, "i-1", 1});
  REQUIRE(attachment.ok());
  auto ips = ec2.AssignPrivateIpAddresses({created->id, 3});
  REQUIRE(ips.ok());
  CHECK(ips->size() == 3);
  auto prefixes = ec2.AssignIpv4Prefixes({created->id, 1});
  REQUIRE(prefixes.ok());
  REQUIRE(prefixes->size() == 1);

  auto mine = ec2.DescribeNetworkInterfaces({.instance_id = "i-1"});
  REQUIRE(mine.ok());
  REQUIRE(mine->size() == 2);
  CHECK(mine->at(0).id == endpoint.primary_eni("i-1"));
  const enipool::NetworkInterface& eni = mine->at(1);
  CHECK(eni.id == created->id);
  CHECK(eni.attachment_id == *attachment);
  CHECK(eni.device_index == 1);
  CHECK(eni.secondary_ips.size() == 5);
  CHECK(eni.prefixes == *prefixes);
  CHECK(mine->at(0).delete_on_termination);  // the primary ENI's, as EC2 launches it
  CHECK_FALSE(eni.delete_on_termination);

  // ModifyNetworkInterfaceAttribute: the new attachment's DeleteOnTermination
  // set, then its groups replaced; a refusal comes back led by EC2's code.
  REQUIRE(ec2.ModifyNetworkInterfaceAttribute(
                 {.eni_id = created->id,
                  .attachment = {{.attachment_id = *attachment, .delete_on_termination = true}}})
              .ok());
  REQUIRE(ec2.ModifyNetworkInterfaceAttribute(
                 {.eni_id = created->id, .security_group_ids = {{"sg-1", "sg-2"}}})
              .ok());
  auto modified = ec2.DescribeNetworkInterfaces({.eni_ids = {created->id}});
  REQUIRE(modified.ok());
  REQUIRE(modified->size() == 1);
  CHECK(modified->front().delete_on_termination);
  CHECK(modified->front().security_group_ids == std::vector<std::string>{"sg-1", "sg-2"});
  CHECK(absl::StartsWith(
      ec2.ModifyNetworkInterfaceAttribute(
             {.eni_id = created->id,
              .attachment = {{.attachment_id = "eni-attach-0dead", .delete_on_termination = true}}})
          .message(),
      "InvalidAttachmentID.NotFound: "));

  // CreateTags: the primary ENI gets the reference's tag; an unknown ENI is
  // refused with EC2's code.
  REQUIRE(ec2.CreateTags({.eni_ids = {endpoint.primary_eni("i-1")},
                          .tags = {{"node.k8s.amazonaws.com/instance_id", "i-1"}}})
              .ok());
  auto tagged = ec2.DescribeNetworkInterfaces({.eni_ids = {endpoint.primary_eni("i-1")}});
  REQUIRE(tagged.ok());
  REQUIRE(tagged->size() == 1);
  CHECK(tagged->front().tags ==
        std::vector<enipool::Ec2Tag>{{"node.k8s.amazonaws.com/instance_id", "i-1"}});
  CHECK(enipool::ClassifyEc2Error(
            ec2.CreateTags({.eni_ids = {"eni-0000000000000dead"}, .tags = {{"k", "v"}}})) ==
        Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);

  CHECK(ec2.UnassignIpv4Prefixes({created->id, *prefixes}).ok());
  CHECK(ec2.UnassignPrivateIpAddresses({created->id, *ips}).ok());
  CHECK(ec2.DetachNetworkInterface({.attachment_id = *attachment, .eni_id = created->id}).ok());
  CHECK(ec2.DeleteNetworkInterface({created->id}).ok());
  auto gone = ec2.DescribeNetworkInterfaces({.eni_ids = {created->id}});
  CHECK(enipool::ClassifyEc2Error(gone.status()) == Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound);
  CHECK(ec2.stats().retries == 0);
  CHECK(endpoint.Stop() == 0);
}

// docs/reference-behavior.md §7.2: an IPv6 node reads its /80s from
// IMDS's ipv6-prefix; the endpoint's IMDS shows what EC2 delegated.
TEST_CASE("The endpoint's IMDS shows an /80 assigned through Ec2Client in ipv6-prefix") {
  Ec2EndpointProcess endpoint;
  REQUIRE(endpoint.Start({"--subnet=10.0.0.0/24+2600:1f14:abc:1::/64", "--instance=i-1:c5.large"}));
  ClientUnderTest t(endpoint.url(), EndpointKeys());
  aws::ImdsClient imds(t.http, {.endpoint = endpoint.imds_url("i-1")});
  const std::string mac_path = absl::StrCat(
      "network/interfaces/macs/", aws::MacAddressOf(endpoint.primary_eni("i-1")), "/");
  auto before = imds.Get(mac_path + "ipv6-prefix");
  CHECK(before.status().code() == absl::StatusCode::kNotFound);
  auto assigned = t.client.AssignIpv6Prefixes({.eni_id = endpoint.primary_eni("i-1"), .count = 1});
  REQUIRE(assigned.ok());
  REQUIRE(assigned->size() == 1);
  auto after = imds.Get(mac_path + "ipv6-prefix");
  REQUIRE(after.ok());
  CHECK(*after == assigned->front().ToString());
  auto block = imds.Get(mac_path + "subnet-ipv6-cidr-blocks");
  REQUIRE(block.ok());
  CHECK(*block == "2600:1f14:abc:1::/64");
  // An ENI created through Ec2Client with Ipv6PrefixCount=1 holds the next
  // /80, in the create's answer and in a describe.
  auto created = t.client.CreateNetworkInterface(
      {.subnet_id = endpoint.subnets().front(), .ipv6_prefix_count = 1});
  REQUIRE(created.ok());
  REQUIRE(created->ipv6_prefixes.size() == 1);
  CHECK(created->ipv6_prefixes.front() != assigned->front());
  CHECK(enipool::Ipv6Prefix::Parse(*block)->Contains(created->ipv6_prefixes.front()));
  auto described = t.client.DescribeNetworkInterfaces({.eni_ids = {created->id}});
  REQUIRE(described.ok());
  CHECK(described->front().ipv6_prefixes == created->ipv6_prefixes);
  CHECK(endpoint.Stop() == 0);
}

TEST_CASE("A node controller starts and serves pods over HTTP through Ec2Client") {
  Ec2EndpointProcess endpoint;
  REQUIRE(endpoint.Start({"--subnet=10.0.0.0/24", "--instance=i-1:c5.large"}));
  ClientUnderTest t(endpoint.url(), EndpointKeys());
  enipool::RealClock clock;
  enipool::ControllerConfig config;
  config.pool.mode = enipool::AddressMode::kPrefix;
  config.pool.max_enis = 3;
  config.pool.ipv4_per_eni = 10;
  config.pool.max_pods = 29;
  config.pool.warm_prefix_target = 1;
  config.instance_id = "i-1";
  config.subnet_id = endpoint.subnets().front();
  auto controller = enipool::NodeController<enipool::RealClock>::Create(clock, config);
  REQUIRE(controller.ok());
  auto sleep_until = [&clock](absl::Time until) { absl::SleepFor(until - clock.Now()); };
  REQUIRE(enipool::StartNode(*controller, t.client, clock, sleep_until) == absl::OkStatus());
  auto pod = controller->AddPod({"aws-cni", "c1", "eth0"});
  REQUIRE(pod.ok());
  REQUIRE(enipool::RunPoolCheck(*controller, t.client, clock, sleep_until).ok());
  // What EC2 says the node holds is what the datastore holds.
  auto enis = t.client.DescribeNetworkInterfaces({.instance_id = "i-1"});
  REQUIRE(enis.ok());
  int prefixes = 0;
  bool holds_pod = false;
  for (const enipool::NetworkInterface& eni : *enis) {
    prefixes += static_cast<int>(eni.prefixes.size());
    for (const enipool::Ipv4Prefix& prefix : eni.prefixes) {
      holds_pod = holds_pod || prefix.Contains(pod->address);
    }
  }
  CHECK(prefixes >= 1);
  CHECK(holds_pod);
  CHECK(controller->datastore().Stats().total_ips == prefixes * 16);
  CHECK(endpoint.Stop() == 0);
}

TEST_CASE("A NodeAgent learns its node from IMDS and runs over HTTP against the loopback endpoint") {
  Ec2EndpointProcess endpoint;
  REQUIRE(endpoint.Start({"--subnet=10.0.0.0/24", "--instance=i-1:c5.large"}));
  aws::CurlHttpClient http;
  // The node finds itself as on EC2: IMDSv2, then role credentials from it.
  aws::ImdsClient imds(http, {.endpoint = endpoint.imds_url("i-1")});
  auto me = imds.ReadInstance();
  REQUIRE(me.ok());
  aws::CredentialsChain credentials(
      http, {.environment = MapEnvironment(
                 {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.imds_url("i-1")}})});
  aws::Ec2Client ec2(http, credentials,
                     {.region = me->region, .endpoint = endpoint.url(),
                      .instance_id = me->instance_id});
  enipool::RealClock clock;
  enipool::ControllerConfig config;
  config.pool.mode = enipool::AddressMode::kSecondaryIp;
  config.pool.max_enis = 3;
  config.pool.ipv4_per_eni = 10;
  config.pool.max_pods = 29;
  config.pool.warm_ip_target = 5;
  config.instance_id = me->instance_id;
  config.subnet_id = me->interfaces.front().subnet_id;
  auto controller = enipool::NodeController<enipool::RealClock>::Create(clock, config);
  REQUIRE(controller.ok());
  auto agent = enipool::NodeAgent<enipool::RealClock, aws::Ec2Client>::Create(
      clock, ec2, *std::move(controller), {.pool_check_interval = absl::Milliseconds(100)});
  REQUIRE(agent.ok());
  REQUIRE((*agent)->Start().ok());
  REQUIRE((*agent)->AwaitStarted(absl::Seconds(30)));
  std::optional<enipool::Ipv4Address> address;
  for (int i = 0; i < 300 && !address.has_value(); ++i) {  // the warm pool fills within checks
    if (auto pod = (*agent)->AddPod({"aws-cni", "c1", "eth0"}); pod.ok()) address = pod->address;
    else absl::SleepFor(absl::Milliseconds(20));
  }
  REQUIRE(address.has_value());
  CHECK((*agent)->Stop().ok());
  // EC2 (through IMDS, as the node would see it) holds the pod's address.
  auto after = imds.ReadInstance();
  REQUIRE(after.ok());
  bool held = false;
  for (const aws::ImdsInterface& eni : after->interfaces) {
    held = held || std::find(eni.ipv4s.begin() + 1, eni.ipv4s.end(), *address) != eni.ipv4s.end();
  }
  CHECK(held);
  CHECK(credentials.source() == "IMDS role");
  CHECK(endpoint.Stop() == 0);
}

TEST_CASE("ImdsClient reads the instance and botocore's IMDS fetcher gets the same role credentials") {
  Ec2EndpointProcess endpoint;
  REQUIRE(endpoint.Start({"--subnet=10.0.0.0/24", "--instance=i-1:c5.large"}));
  aws::CurlHttpClient http;
  aws::ImdsClient imds(http, {.endpoint = endpoint.imds_url("i-1")});
  ClientUnderTest t(endpoint.url(), EndpointKeys());
  auto prefixes = t.client.AssignIpv4Prefixes({endpoint.primary_eni("i-1"), 1});
  REQUIRE(prefixes.ok());

  auto me = imds.ReadInstance();
  REQUIRE(me.ok());
  CHECK(me->instance_id == "i-1");
  CHECK(me->instance_type == "c5.large");
  CHECK(me->region == enipool::testing::kEndpointRegion);
  REQUIRE(me->interfaces.size() == 1);
  const aws::ImdsInterface& primary = me->interfaces.front();
  CHECK(primary.mac == me->primary_mac);
  CHECK(primary.device_number == 0);
  CHECK(primary.interface_id == endpoint.primary_eni("i-1"));
  CHECK(primary.subnet_id == endpoint.subnets().front());
  CHECK(primary.subnet_cidr == *enipool::Ipv4Prefix::Parse("10.0.0.0/24"));
  REQUIRE_FALSE(primary.ipv4s.empty());
  CHECK(primary.ipv4s.front() == me->local_ipv4);
  CHECK(primary.ipv4_prefixes == *prefixes);
  CHECK_FALSE(primary.security_group_ids.empty());

  const auto botocore = enipool::testing::RunCommand(
      absl::StrCat("/usr/bin/python3 ", ENIPOOL_SOURCE_DIR, "/tests/testing/botocore_imds.py ",
                   endpoint.imds_url("i-1")));
  REQUIRE(botocore.exit_code == 0);
  const std::vector<std::string> lines = absl::StrSplit(botocore.output, '\n');
  REQUIRE(lines.size() >= 4);
  auto role = imds.RoleCredentials();
  REQUIRE(role.ok());
  CHECK(role->access_key_id == lines[0]);
  CHECK(role->secret_access_key == lines[1]);
  CHECK(role->session_token == lines[2]);
  CHECK(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", role->expiration, absl::UTCTimeZone()) == lines[3]);

  // The chain falls back to the instance role, and the endpoint accepts it.
  ClientUnderTest with_role(
      endpoint.url(), MapEnvironment({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.imds_url("i-1")}}));
  CHECK(with_role.client.DescribeNetworkInterfaces({.instance_id = "i-1"}).ok());
  CHECK(with_role.credentials.source() == "IMDS role");
  CHECK(endpoint.Stop() == 0);
}

std::string ErrorXml(absl::string_view code, absl::string_view message) {
  return aws::EncodeErrorResponse(absl::InvalidArgumentError(absl::StrCat(code, ": ", message)), "r")
      .body;
}

std::string AssignPrefixXml() {
  return aws::EncodeQueryResponse(enipool::AssignIpv4PrefixesRequest{"eni-1", 1},
                                  std::vector<enipool::Ipv4Prefix>{
                                      *enipool::Ipv4Prefix::Parse("10.0.0.16/28")},
                                  "r");
}

TEST_CASE("Ec2Client turns bad answers into the right error and retries only what may be retried") {
  ScriptedHttpServer server;
  REQUIRE(server.Start());
  const enipool::AssignIpv4PrefixesRequest call{"eni-1", 1};
  struct Case {
    const char* name;
    std::vector<ScriptedAnswer> script;
    absl::StatusCode code;
    const char* message_start;
    std::size_t attempts;
  };
  const std::string good = AssignPrefixXml();
  const std::vector<Case> cases = {
      {"malformed XML", {{200, "<AssignPrivateIpAddressesResponse><oops"}},
       absl::StatusCode::kInternal, "MalformedResponse: ", 1},
      {"truncated XML", {{200, good.substr(0, good.size() / 2)}}, absl::StatusCode::kInternal,
       "MalformedResponse: ", 1},
      {"HTTP 400 with EC2's error",
       {{400, ErrorXml("InsufficientCidrBlocks", "no free /28 in subnet-1")}},
       absl::StatusCode::kResourceExhausted, "InsufficientCidrBlocks: no free /28", 1},
      {"HTTP 403 without EC2 XML", {{403, "<html>Forbidden</html>"}},
       absl::StatusCode::kPermissionDenied, "AccessDenied: HTTP 403", 1},
      {"HTTP 500, every attempt", {{500, "<html>oops</html>"}}, absl::StatusCode::kInternal,
       "InternalError: HTTP 500", 3},
      {"HTTP 503, every attempt", {{503, "Service Unavailable"}}, absl::StatusCode::kUnavailable,
       "ServiceUnavailable: HTTP 503", 3},
      {"RequestLimitExceeded, every attempt",
       {{503, ErrorXml("RequestLimitExceeded", "Request limit exceeded.")}},
       absl::StatusCode::kUnavailable, "RequestLimitExceeded: Request limit exceeded.", 3},
      {"RequestLimitExceeded twice, then the answer",
       {{503, ErrorXml("RequestLimitExceeded", "slow down")},
        {503, ErrorXml("RequestLimitExceeded", "slow down")},
        {200, good}},
       absl::StatusCode::kOk, "", 3},
      {"a 500 then the answer", {{500, ""}, {200, good}}, absl::StatusCode::kOk, "", 2},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    server.Script(c.script);
    const std::size_t before = server.requests();
    ClientUnderTest t(server.url(), EndpointKeys());
    auto answer = t.client.AssignIpv4Prefixes(call);
    CHECK(answer.status().code() == c.code);
    CHECK(absl::StartsWith(answer.status().message(), c.message_start));
    CHECK(server.requests() - before == c.attempts);
    CHECK(t.backoffs.size() == c.attempts - 1);
    for (std::size_t i = 0; i < t.backoffs.size(); ++i) {
      // Full jitter under 2^(attempt-1) s.
      CHECK(t.backoffs[i] >= absl::ZeroDuration());
      CHECK(t.backoffs[i] < absl::Seconds(1 << i));
    }
    if (c.code == absl::StatusCode::kOk) {
      REQUIRE(answer.ok());
      CHECK(*answer == std::vector<enipool::Ipv4Prefix>{*enipool::Ipv4Prefix::Parse("10.0.0.16/28")});
    }
  }
}

TEST_CASE("Ec2Client retries read timeouts and connection failures, then reports them") {
  SUBCASE("a server slower than the timeout") {
    ScriptedHttpServer server;
    server.Script({{200, AssignPrefixXml(), absl::Milliseconds(1500)}});
    REQUIRE(server.Start());
    ClientUnderTest t(server.url(), EndpointKeys(), {}, absl::Milliseconds(200));
    auto answer = t.client.AssignIpv4Prefixes({"eni-1", 1});
    CHECK(answer.status().code() == absl::StatusCode::kDeadlineExceeded);
    CHECK(absl::StartsWith(answer.status().message(), "ReadTimeout: "));
    CHECK(t.client.stats().attempts == 3);
  }
  SUBCASE("nothing listening") {
    int closed_port = 0;
    {
      ScriptedHttpServer probe;  // a port that was free a moment ago
      REQUIRE(probe.Start());
      closed_port = std::stoi(probe.url().substr(17));
    }
    ClientUnderTest t(absl::StrCat("http://127.0.0.1:", closed_port), EndpointKeys());
    auto answer = t.client.AssignIpv4Prefixes({"eni-1", 1});
    CHECK(answer.status().code() == absl::StatusCode::kUnavailable);
    CHECK(absl::StartsWith(answer.status().message(), "ConnectionError: "));
    CHECK(t.client.stats().attempts == 3);
  }
}

TEST_CASE("Ec2Client stops retrying when the retry quota is spent") {
  ScriptedHttpServer server;
  server.Script({{500, ""}});
  REQUIRE(server.Start());
  // Room for one retry (cost 5) and no more.
  ClientUnderTest t(server.url(), EndpointKeys(), {.quota = 7});
  CHECK_FALSE(t.client.AssignIpv4Prefixes({"eni-1", 1}).ok());
  CHECK(server.requests() == 2);
  CHECK(t.client.retry_quota().available() == 2);
  CHECK_FALSE(t.client.AssignIpv4Prefixes({"eni-1", 1}).ok());
  CHECK(server.requests() == 3);  // no retry at all now
}

TEST_CASE("Ec2Client fetches credentials again after ExpiredToken and re-sends the call") {
  ScriptedHttpServer server;
  server.Script({{400, ErrorXml("ExpiredToken", "The security token included in the request is expired")},
                 {200, AssignPrefixXml()}});
  REQUIRE(server.Start());
  ClientUnderTest t(server.url(), EndpointKeys());
  auto answer = t.client.AssignIpv4Prefixes({"eni-1", 1});
  CHECK(answer.ok());
  CHECK(t.credentials.fetches() == 2);
  CHECK(server.requests() == 2);
  CHECK(t.backoffs.empty());  // not a throttling retry: no back-off

  server.Script({{400, ErrorXml("ExpiredToken", "still expired")}});
  auto still = t.client.AssignIpv4Prefixes({"eni-1", 1});
  CHECK(still.status().code() == absl::StatusCode::kUnauthenticated);
  CHECK(absl::StartsWith(still.status().message(), "ExpiredToken: still expired"));
}

TEST_CASE("CredentialsChain takes the SDKs' sources in order") {
  aws::CurlHttpClient http;
  SUBCASE("the environment first") {
    aws::CredentialsChain chain(http, {.environment = MapEnvironment(
                                           {{"AWS_ACCESS_KEY_ID", "AKID"},
                                            {"AWS_SECRET_ACCESS_KEY", "secret"},
                                            {"AWS_SESSION_TOKEN", "token"},
                                            {"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"},
                                            {"AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent"}})});
    auto credentials = chain.Get();
    REQUIRE(credentials.ok());
    CHECK(credentials->session_token == "token");
    CHECK(chain.source() == "environment");
  }
  SUBCASE("web identity through STS AssumeRoleWithWebIdentity") {
    ScriptedHttpServer sts;
    sts.Script({{200,
                 "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/"
                 "2011-06-15/\"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAWEB"
                 "</AccessKeyId><SecretAccessKey>websecret</SecretAccessKey><SessionToken>webtoken"
                 "</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>"
                 "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"}});
    REQUIRE(sts.Start());
    const std::string token_file = absl::StrCat(ENIPOOL_BINARY_DIR, "/aws_client_web_identity_token");
    std::ofstream(token_file) << "eyJhbGciOi.jwt\n";
    aws::CredentialsChain chain(http, {.environment = MapEnvironment(
                                           {{"AWS_ROLE_ARN", "arn:aws:iam::1:role/node"},
                                            {"AWS_WEB_IDENTITY_TOKEN_FILE", token_file},
                                            {"AWS_ROLE_SESSION_NAME", "s1"},
                                            {"AWS_ENDPOINT_URL_STS", sts.url()}})});
    auto credentials = chain.Get();
    REQUIRE(credentials.ok());
    CHECK(credentials->access_key_id == "ASIAWEB");
    CHECK(credentials->session_token == "webtoken");
    CHECK(credentials->expiration == absl::FromCivil(absl::CivilSecond(2099, 1, 1, 0, 0, 0),
                                                     absl::UTCTimeZone()));
    CHECK(chain.source() == "web identity");
    REQUIRE(sts.bodies().size() == 1);
    CHECK(absl::StrContains(sts.bodies()[0], "Action=AssumeRoleWithWebIdentity"));
    CHECK(absl::EndsWith(sts.bodies()[0], "&WebIdentityToken=eyJhbGciOi.jwt"));
    CHECK(absl::StrContains(sts.bodies()[0], "RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fnode"));
    // Cached until shortly before it expires.
    CHECK(chain.Get().ok());
    CHECK(sts.requests() == 1);
  }
  SUBCASE("the container endpoint with its token file") {
    ScriptedHttpServer container;
    container.Script({{200,
                       "{\"AccessKeyId\":\"ASIAPOD\",\"SecretAccessKey\":\"podsecret\",\"Token\":"
                       "\"podtoken\",\"Expiration\":\"2099-01-01T00:00:00Z\"}"}});
    REQUIRE(container.Start());
    const std::string token_file = absl::StrCat(ENIPOOL_BINARY_DIR, "/aws_client_pod_token");
    std::ofstream(token_file) << "pod-identity-token";
    aws::CredentialsChain chain(
        http, {.environment = MapEnvironment(
                   {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", container.url() + "/v1/credentials"},
                    {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_file}})});
    auto credentials = chain.Get();
    REQUIRE(credentials.ok());
    CHECK(credentials->access_key_id == "ASIAPOD");
    CHECK(chain.source() == "container");
  }
  SUBCASE("a configured source that fails is an error, not a fall-through") {
    aws::CredentialsChain chain(http, {.environment = MapEnvironment(
                                           {{"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"},
                                            {"AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token"}})});
    auto credentials = chain.Get();
    CHECK(absl::StartsWith(credentials.status().message(), "CredentialsUnavailable: "));
  }
}

}  // namespace
