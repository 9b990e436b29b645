// enipool::aws on the wire: signing, parsing, a call's round trip.
//
//   cmake --preset release && cmake --build --preset release --target enipool_aws_benchmark
//   build/release/benchmarks/enipool_aws_benchmark --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true           (one command)
//
// Each figure has its baseline in the same run:
//   BuildAndSign      vs BuildOnly       (the form alone, no signature)
//   ParseDescribe     vs CopyDescribe    (copying the same 15 ENIs x 50 addresses of XML)
//   Ec2ClientRoundTrip vs HttpRoundTrip  (a bare POST to the same loopback server)

#include <benchmark/benchmark.h>
#include <httplib.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/ec2/aws/credentials.h"
#include "enipool/ec2/aws/ec2_client.h"
#include "enipool/ec2/aws/ec2_query.h"
#include "enipool/ec2/aws/ec2_query_server.h"
#include "enipool/ec2/aws/http_client.h"
#include "enipool/ec2/aws/sigv4.h"
#include "enipool/ec2/simulated_ec2.h"

namespace {

namespace aws = enipool::ec2::aws;

const aws::Credentials kCredentials{"AKIDENIPOOLBENCH", "bench-secret", "session-token"};

void BM_Query_BuildOnly(benchmark::State& state) {
  const enipool::Ec2Call call = enipool::AssignIpv4PrefixesRequest{"eni-0123456789abcdef0", 1};
  for (auto _ : state) {
    std::string body = aws::FormEncode(aws::ToQueryRequest(call).params);
    benchmark::DoNotOptimize(body);
  }
}
BENCHMARK(BM_Query_BuildOnly);

void BM_Query_BuildAndSign(benchmark::State& state) {
  const enipool::Ec2Call call = enipool::AssignIpv4PrefixesRequest{"eni-0123456789abcdef0", 1};
  const aws::SigV4Signer signer("us-west-2", "ec2");
  const absl::Time now = absl::FromUnixSeconds(1'750'000'000);
  for (auto _ : state) {
    aws::SignableRequest request{
        .host = "ec2.us-west-2.amazonaws.com",
        .headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
        .body = aws::FormEncode(aws::ToQueryRequest(call).params)};
    auto headers = signer.Sign(request, kCredentials, now);
    benchmark::DoNotOptimize(headers);
  }
}
BENCHMARK(BM_Query_BuildAndSign);

// A DescribeNetworkInterfaces answer: 15 ENIs with 50 addresses each.
std::string DescribeAnswer() {
  std::vector<enipool::NetworkInterface> enis;
  for (std::uint32_t e = 0; e < 15; ++e) {
    enipool::NetworkInterface eni{.id = absl::StrCat("eni-0abc", e),
                                  .subnet_id = "subnet-0123456789abcdef0",
                                  .instance_id = "i-0123456789abcdef0",
                                  .attachment_id = absl::StrCat("eni-attach-0abc", e),
                                  .device_index = static_cast<int>(e),
                                  .primary_ip = enipool::Ipv4Address(0x0A000000u + e * 64)};
    for (std::uint32_t a = 1; a < 50; ++a) {
      eni.secondary_ips.push_back(enipool::Ipv4Address(0x0A000000u + e * 64 + a));
    }
    enis.push_back(std::move(eni));
  }
  return aws::EncodeQueryResponse(enipool::DescribeNetworkInterfacesRequest{}, enis, "bench");
}

void BM_Query_CopyDescribe(benchmark::State& state) {
  const std::string xml = DescribeAnswer();
  for (auto _ : state) {
    std::string copy = xml;
    benchmark::DoNotOptimize(copy);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(xml.size()));
}
BENCHMARK(BM_Query_CopyDescribe);

void BM_Query_ParseDescribe(benchmark::State& state) {
  const std::string xml = DescribeAnswer();
  for (auto _ : state) {
    auto page = aws::ParseDescribeNetworkInterfaces(xml);
    benchmark::DoNotOptimize(page);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(xml.size()));
}
BENCHMARK(BM_Query_ParseDescribe);

// One loopback server for the round trips: "/" serves the EC2 Query API
// over a simulated EC2; "/bare" answers an empty 200.
struct LoopbackServer {
  LoopbackServer() : ec2(clock, {.throttle = enipool::ec2::ThrottleConfig::Disabled()}),
                     service(ec2, {.region = "us-east-1",
                                   .credentials = {{kCredentials.access_key_id,
                                                    kCredentials.secret_access_key}}}) {
    (void)ec2.AddSubnet("subnet-1", *enipool::Ipv4Prefix::Parse("10.0.0.0/16"));
    primary = ec2.AddInstance({.instance_id = "i-1", .subnet_id = "subnet-1"})->id;
    server.Post("/", [this](const httplib::Request& request, httplib::Response& response) {
      aws::SignableRequest signable{.method = request.method,
                                    .host = request.get_header_value("Host"),
                                    .path = request.path,
                                    .body = request.body};
      for (const auto& [name, value] : request.headers) signable.headers.push_back({name, value});
      std::lock_guard<std::mutex> lock(mutex);
      const aws::HttpAnswer answer = service.Handle(signable, absl::Now());
      response.status = answer.status;
      response.set_content(answer.body, answer.content_type.c_str());
    });
    server.Post("/bare", [](const httplib::Request&, httplib::Response& response) {
      response.set_content("", "text/plain");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LoopbackServer() {
    server.stop();
    thread.join();
  }

  enipool::RealClock clock;
  enipool::ec2::SimulatedEc2<enipool::RealClock> ec2;
  aws::Ec2QueryService<enipool::ec2::SimulatedEc2<enipool::RealClock>> service;
  std::string primary;
  std::mutex mutex;
  httplib::Server server;
  std::thread thread;
  int port = 0;
};

void BM_Loopback_HttpRoundTrip(benchmark::State& state) {
  LoopbackServer server;
  aws::CurlHttpClient http;
  const std::string url = absl::StrCat("http://127.0.0.1:", server.port, "/bare");
  for (auto _ : state) {
    auto response = http.Send({.method = "POST", .url = url, .body = "x"});
    if (!response.ok() || response->status != 200) state.SkipWithError("bare POST failed");
  }
}
BENCHMARK(BM_Loopback_HttpRoundTrip)->UseRealTime();

void BM_Loopback_Ec2ClientRoundTrip(benchmark::State& state) {
  LoopbackServer server;
  aws::CurlHttpClient http;
  aws::CredentialsChain credentials(
      http, {.environment = [](absl::string_view name) -> std::optional<std::string> {
        if (name == "AWS_ACCESS_KEY_ID") return kCredentials.access_key_id;
        if (name == "AWS_SECRET_ACCESS_KEY") return kCredentials.secret_access_key;
        return std::nullopt;
      }});
  aws::Ec2Client client(http, credentials,
                        {.region = "us-east-1",
                         .endpoint = absl::StrCat("http://127.0.0.1:", server.port)});
  for (auto _ : state) {
    auto enis = client.DescribeNetworkInterfaces({.eni_ids = {server.primary}});
    if (!enis.ok()) state.SkipWithError("DescribeNetworkInterfaces failed");
  }
}
BENCHMARK(BM_Loopback_Ec2ClientRoundTrip)->UseRealTime();

}  // namespace
