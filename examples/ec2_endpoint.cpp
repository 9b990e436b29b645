// ec2_endpoint: a local EC2 for IPAM agents. Serves an ec2::SimulatedEc2
// (subnets as real address spaces, /28 fragmentation, per-ENI slot limits,
// EC2's throttling) over the EC2 Query protocol, and an IMDSv2 per
// simulated instance, on 127.0.0.1 only. Requests must be signed (SigV4,
// service "ec2") with the configured key pair or with the role credentials
// an instance's IMDS hands out.
//
//   build/dev/examples/enipool_example_ec2_endpoint --listen 127.0.0.1:0
//       --subnet 10.0.0.0/24 --subnet subnet-b=10.1.0.0/20
//       --instance i-1:c5.large --instance i-2:m5.xlarge:subnet-b     (one command)
//   # prints "subnet ...", "instance ... imds http://127.0.0.1:PORT/imds/i-1",
//   # then "listening on 127.0.0.1:PORT"
//   export AWS_ACCESS_KEY_ID=AKIDENIPOOLEXAMPLE AWS_SECRET_ACCESS_KEY=enipool-example-secret
//   export AWS_REGION=us-east-1
//   aws --endpoint-url http://127.0.0.1:PORT ec2 describe-network-interfaces
//
// Flags (--subnet and --instance may be repeated; each adds one):
//   --listen 127.0.0.1:PORT      port 0 picks a free port (printed)
//   --subnet [ID=]CIDR[+IPV6]    a subnet; ids default to subnet-<n>; IPV6, a
//                                /64, is its IPv6 block (AssignIpv6Addresses
//                                delegates /80s out of it)
//   --instance ID:TYPE[:SUBNET]  an instance of an EC2 type (its ENI and
//                                address limits) with its primary ENI in
//                                SUBNET (default: the first subnet)
//   --access-key / --secret-key  the accepted key pair (defaults above)
//   --region, --seed, --throttle (EC2's default rate limits; on),
//   --latency (sleep the simulator's per-call latencies; off),
//   --fault KIND:N:CODE          the Nth call of KIND (AssignIpv4Prefixes, ...)
//                                fails with EC2 error CODE (repeatable)
//   --role_credentials_lifetime  lifetime of IMDS role credentials (6h)
// With no flags at all it answers one self-check request and exits (so
// that CTest can run every example bare).
// SIGTERM or SIGINT stops it cleanly (exit 0).

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <httplib.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/ec2/aws/ec2_query_server.h"
#include "enipool/ec2/aws/imds_service.h"
#include "enipool/ec2/aws/sigv4.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/instance_limits.h"
#include "enipool/ipv6.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "address to serve on (127.0.0.1 only); port 0 picks one");
ABSL_FLAG(std::vector<std::string>, subnet, {}, "subnets, [ID=]CIDR (repeat the flag for more)");
ABSL_FLAG(std::vector<std::string>, instance, {},
          "instances, ID:TYPE[:SUBNET] (repeat the flag for more)");
ABSL_FLAG(std::string, access_key, "AKIDENIPOOLEXAMPLE", "accepted access key id");
ABSL_FLAG(std::string, secret_key, "enipool-example-secret", "its secret access key");
ABSL_FLAG(std::string, region, "us-east-1", "the region requests must be signed for");
ABSL_FLAG(std::uint64_t, seed, 1, "seed of the simulated EC2 (addresses, latencies)");
ABSL_FLAG(bool, throttle, true, "apply EC2's default per-action rate limits");
ABSL_FLAG(bool, latency, false, "sleep the simulator's per-call latency before answering");
ABSL_FLAG(std::vector<std::string>, fault, {},
          "scripted failures, KIND:N:CODE (the Nth call of KIND fails with CODE)");
ABSL_FLAG(absl::Duration, role_credentials_lifetime, absl::Hours(6),
          "lifetime of the role credentials IMDS hands out");

namespace {

using enipool::ec2::aws::HttpAnswer;
using enipool::ec2::aws::HttpHeader;
using Ec2 = enipool::ec2::SimulatedEc2<enipool::RealClock>;

// absl flags keep the last of repeated flags; --subnet and --instance add
// up instead, so their occurrences are joined into one before parsing.
std::vector<std::string> JoinRepeatedFlags(int argc, char** argv) {
  std::vector<std::string> out;
  std::vector<std::pair<std::string, std::vector<std::string>>> lists = {
      {"subnet", {}}, {"instance", {}}, {"fault", {}}};
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    bool taken = false;
    for (auto& [name, values] : lists) {
      for (const std::string& spelled : {absl::StrCat("--", name), absl::StrCat("-", name)}) {
        if (arg == spelled && i + 1 < argc) {
          values.push_back(argv[++i]);
          taken = true;
        } else if (absl::StartsWith(arg, spelled + "=")) {
          values.push_back(arg.substr(spelled.size() + 1));
          taken = true;
        }
        if (taken) break;
      }
      if (taken) break;
    }
    if (!taken) out.push_back(std::move(arg));
  }
  for (const auto& [name, values] : lists) {
    if (!values.empty()) out.push_back(absl::StrCat("--", name, "=", absl::StrJoin(values, ",")));
  }
  return out;
}

std::vector<HttpHeader> HeadersOf(const httplib::Request& request) {
  std::vector<HttpHeader> headers;
  for (const auto& [name, value] : request.headers) headers.push_back({name, value});
  return headers;
}

void Reply(httplib::Response& response, const HttpAnswer& answer) {
  response.status = answer.status;
  response.set_content(answer.body, answer.content_type.c_str());
}

absl::StatusOr<enipool::ec2::FaultPlan> ParseFaults(const std::vector<std::string>& specs) {
  enipool::ec2::FaultPlan plan;
  for (const std::string& spec : specs) {
    const std::vector<std::string> parts = absl::StrSplit(spec, ':');
    std::uint64_t nth = 0;
    bool known_kind = false;
    enipool::ec2::CallKind kind{};
    if (parts.size() == 3) {
      for (std::size_t k = 0; k < enipool::ec2::kCallKindCount; ++k) {
        const auto candidate = static_cast<enipool::ec2::CallKind>(k);
        if (enipool::ec2::CallKindName(candidate) == parts[0]) {
          kind = candidate;
          known_kind = true;
        }
      }
    }
    if (!known_kind || !absl::SimpleAtoi(parts[1], &nth) || nth == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--fault \"", spec, "\": want KIND:N:CODE, e.g. AssignIpv4Prefixes:3:",
                       "InsufficientCidrBlocks"));
    }
    absl::Status error = enipool::ec2::aws::Ec2CodeStatus(parts[2], "injected by --fault", 400);
    if (enipool::ClassifyEc2Error(error) == enipool::Ec2ErrorCode::kRequestLimitExceeded) {
      error = absl::UnavailableError(error.message());
    }
    plan.FailNthCall(kind, nth, std::move(error));
  }
  return plan;
}

// The whole endpoint: the simulated EC2, its IMDS, one lock.
class Endpoint {
 public:
  Endpoint(enipool::ec2::SimulatedEc2Options options, std::string region)
      : ec2_(clock_, std::move(options)),
        imds_({.role_credentials_lifetime = absl::GetFlag(FLAGS_role_credentials_lifetime),
               .seed = absl::GetFlag(FLAGS_seed)}),
        region_(std::move(region)),
        service_(ec2_, {.region = region_,
                        .credentials = {{absl::GetFlag(FLAGS_access_key),
                                         absl::GetFlag(FLAGS_secret_key)}},
                        .find_temporary_credentials = [this](absl::string_view key) {
                          return imds_.FindRoleCredentials(key);
                        }}) {}

  Ec2& ec2() { return ec2_; }

  void AddInstanceType(std::string id, std::string type) {
    instance_types_.emplace_back(std::move(id), std::move(type));
  }

  HttpAnswer HandleEc2(const httplib::Request& request) {
    enipool::ec2::aws::SignableRequest signable{
        .method = request.method,
        .host = request.get_header_value("Host"),
        .path = request.path,
        .headers = HeadersOf(request),
        .body = request.body};
    // The query string as sent (httplib's params also hold a form body's
    // fields, which are not part of the signed query).
    if (const auto mark = request.target.find('?'); mark != std::string::npos) {
      auto query = enipool::ec2::aws::ParseForm(request.target.substr(mark + 1));
      if (query.ok()) signable.query = *std::move(query);
    }
    HttpAnswer answer;
    absl::Duration latency = absl::ZeroDuration();
    {
      absl::MutexLock lock(&mutex_);
      answer = service_.Handle(signable, absl::Now());
      if (absl::GetFlag(FLAGS_latency)) {
        auto params = enipool::ec2::aws::ParseForm(request.body);
        if (params.ok()) {
          if (auto call = enipool::ec2::aws::DecodeQueryRequest(*params); call.ok()) {
            latency = ec2_.SampleLatency(*call);
          }
        }
      }
    }
    if (latency > absl::ZeroDuration()) absl::SleepFor(latency);
    return answer;
  }

  HttpAnswer HandleImds(const std::string& instance_id, const httplib::Request& request) {
    absl::MutexLock lock(&mutex_);
    enipool::ec2::aws::ImdsInstance view;
    view.instance_id = instance_id;
    for (const auto& [id, type] : instance_types_) {
      if (id == instance_id) view.instance_type = type;
    }
    if (view.instance_type.empty()) return {404, "text/plain", ""};
    view.region = region_;
    view.availability_zone = region_ + "a";
    view.security_group_ids = {"sg-0e1d2c3b4a5968778"};
    view.enis = ec2_.AttachedEnis(instance_id);
    for (const enipool::ec2::Subnet& subnet : ec2_.subnets()) {
      view.subnet_cidrs.emplace_back(subnet.id(), subnet.cidr());
      if (const auto ipv6 = ec2_.SubnetIpv6Cidr(subnet.id()); ipv6.has_value()) {
        view.subnet_ipv6_cidrs.emplace_back(subnet.id(), *ipv6);
      }
    }
    const std::string path = request.matches.size() > 2 ? request.matches[2].str() : "";
    return imds_.Handle(view, request.method, path, HeadersOf(request), absl::Now());
  }

 private:
  enipool::RealClock clock_;
  absl::Mutex mutex_;
  Ec2 ec2_;
  enipool::ec2::aws::ImdsService imds_;
  std::string region_;
  enipool::ec2::aws::Ec2QueryService<Ec2> service_;
  std::vector<std::pair<std::string, std::string>> instance_types_;
};

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "ec2_endpoint: %s\n", std::string(status.message()).c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "a local EC2 (Query API + IMDSv2) over a simulated account, on 127.0.0.1");
  std::vector<std::string> joined = JoinRepeatedFlags(argc, argv);
  std::vector<char*> joined_argv;
  for (std::string& arg : joined) joined_argv.push_back(arg.data());
  const bool self_check = argc == 1;
  absl::ParseCommandLine(static_cast<int>(joined_argv.size()), joined_argv.data());

  // Block the stop signals in every thread (the server's workers inherit
  // this mask); one thread waits for them and stops the server.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  enipool::ec2::SimulatedEc2Options options{.seed = absl::GetFlag(FLAGS_seed)};
  options.latency = enipool::ec2::LatencyModel::Defaults();
  options.throttle = absl::GetFlag(FLAGS_throttle) ? enipool::ec2::ThrottleConfig::Ec2Defaults()
                                                   : enipool::ec2::ThrottleConfig::Disabled();
  auto faults = ParseFaults(absl::GetFlag(FLAGS_fault));
  if (!faults.ok()) return Fail(faults.status());
  options.faults = *std::move(faults);
  Endpoint endpoint(std::move(options), absl::GetFlag(FLAGS_region));

  std::vector<std::string> subnets = absl::GetFlag(FLAGS_subnet);
  std::vector<std::string> instances = absl::GetFlag(FLAGS_instance);
  if (self_check) {
    subnets = {"10.0.0.0/24"};
    instances = {"i-0000000000000001:c5.large"};
  }
  std::vector<std::string> subnet_ids;
  for (std::size_t i = 0; i < subnets.size(); ++i) {
    std::string id = absl::StrFormat("subnet-%017x", i + 1);
    std::string cidr_text = subnets[i];
    if (const auto eq = cidr_text.find('='); eq != std::string::npos) {
      id = cidr_text.substr(0, eq);
      cidr_text = cidr_text.substr(eq + 1);
    }
    std::string ipv6_text;
    if (const auto plus = cidr_text.find('+'); plus != std::string::npos) {
      ipv6_text = cidr_text.substr(plus + 1);
      cidr_text = cidr_text.substr(0, plus);
    }
    auto cidr = enipool::Ipv4Prefix::Parse(cidr_text);
    if (!cidr.ok()) return Fail(cidr.status());
    if (auto added = endpoint.ec2().AddSubnet(id, *cidr); !added.ok()) return Fail(added);
    if (!ipv6_text.empty()) {
      auto ipv6 = enipool::Ipv6Prefix::Parse(ipv6_text);
      if (!ipv6.ok()) return Fail(ipv6.status());
      if (auto added = endpoint.ec2().AddSubnetIpv6Cidr(id, *ipv6); !added.ok()) return Fail(added);
    }
    std::printf("subnet %s %s%s%s\n", id.c_str(), cidr->ToString().c_str(),
                ipv6_text.empty() ? "" : " ", ipv6_text.c_str());
    subnet_ids.push_back(id);
  }
  for (const std::string& spec : instances) {
    const std::vector<std::string> parts = absl::StrSplit(spec, ':');
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty()) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("--instance \"", spec, "\": want ID:TYPE[:SUBNET]")));
    }
    auto limits = enipool::FindInstanceLimits(parts[1]);
    if (!limits.ok()) return Fail(limits.status());
    if (subnet_ids.empty() && parts.size() == 2) {
      return Fail(absl::InvalidArgumentError("--instance needs a --subnet first"));
    }
    const std::string subnet = parts.size() == 3 ? parts[2] : subnet_ids.front();
    auto primary = endpoint.ec2().AddInstance({.instance_id = parts[0], .subnet_id = subnet,
                                               .max_enis = limits->max_enis,
                                               .ipv4_per_eni = limits->ipv4_per_eni});
    if (!primary.ok()) return Fail(primary.status());
    endpoint.AddInstanceType(parts[0], parts[1]);
  }

  std::string host = "127.0.0.1";
  int port = 0;
  {
    const std::string listen = absl::GetFlag(FLAGS_listen);
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos || listen.substr(0, colon) != "127.0.0.1" ||
        !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("--listen \"", listen, "\": want 127.0.0.1:PORT (loopback only)")));
    }
  }

  httplib::Server server;
  auto ec2_handler = [&endpoint](const httplib::Request& request, httplib::Response& response) {
    Reply(response, endpoint.HandleEc2(request));
  };
  server.Post("/", ec2_handler);
  server.Get("/", ec2_handler);
  auto imds_handler = [&endpoint](const httplib::Request& request, httplib::Response& response) {
    Reply(response, endpoint.HandleImds(request.matches[1].str(), request));
  };
  server.Put(R"(/imds/([^/]+)(/latest/.*))", imds_handler);
  server.Get(R"(/imds/([^/]+)(/latest/.*))", imds_handler);

  if (port == 0) {
    port = server.bind_to_any_port(host);
  } else if (!server.bind_to_port(host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return Fail(absl::UnavailableError(absl::StrCat("cannot listen on ", host, ":", port)));
  }
  const std::string base = absl::StrCat("http://", host, ":", port);
  for (const std::string& spec : instances) {
    const std::string id = spec.substr(0, spec.find(':'));
    const std::vector<enipool::NetworkInterface> enis = endpoint.ec2().AttachedEnis(id);
    std::printf("instance %s primary %s %s imds %s/imds/%s\n", id.c_str(),
                enis.empty() ? "-" : enis.front().id.c_str(),
                enis.empty() ? "-" : enis.front().primary_ip.ToString().c_str(), base.c_str(),
                id.c_str());
  }
  std::printf("listening on %s:%d\n", host.c_str(), port);
  std::fflush(stdout);

  if (self_check) {
    // One signed DescribeNetworkInterfaces through the service, then exit.
    std::thread serve([&server] { server.listen_after_bind(); });
    enipool::ec2::aws::SigV4Signer signer(absl::GetFlag(FLAGS_region), "ec2");
    enipool::ec2::aws::SignableRequest request{
        .host = absl::StrCat(host, ":", port),
        .headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
        .body = "Action=DescribeNetworkInterfaces&Version=2016-11-15"};
    httplib::Headers headers;  // Content-Type goes in through Post()
    for (const HttpHeader& h :
         signer.Sign(request, {.access_key_id = absl::GetFlag(FLAGS_access_key),
                               .secret_access_key = absl::GetFlag(FLAGS_secret_key)},
                     absl::Now())) {
      headers.emplace(h.name, h.value);
    }
    httplib::Client client(host, port);
    auto result = client.Post("/", headers, request.body, request.headers[0].value.c_str());
    server.stop();
    serve.join();
    if (!result || result->status != 200 ||
        result->body.find("<networkInterfaceSet><item>") == std::string::npos) {
      return Fail(absl::InternalError(absl::StrCat(
          "self-check: DescribeNetworkInterfaces failed: ",
          result ? absl::StrCat("HTTP ", result->status, " ", result->body)
                 : httplib::to_string(result.error()))));
    }
    std::printf("self-check: DescribeNetworkInterfaces answered with the primary ENI\n");
    return 0;
  }

  std::thread stopper([&server, &stop_signals] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    server.stop();
  });
  const bool served = server.listen_after_bind();
  if (!served) {
    // The server ended on its own (not by a signal): wake the stopper.
    kill(getpid(), SIGTERM);
  }
  stopper.join();
  std::printf("stopped\n");
  return 0;
}
