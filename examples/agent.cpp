// A node agent: enipool::NodeAgent on the journaled controller, with client
// threads doing pod ADD/DEL, killed with SIGKILL mid-run and restarted.
//
//   cmake --preset release && cmake --build --preset release --target enipool_example_agent
//   build/release/examples/enipool_example_agent
//
// EC2 must outlive the agent, as the real one does: this process keeps the
// simulated EC2 and serves it over pipes (ec2/pipe_backend.h); the agent runs
// in a forked child. What an embedder writes is `RunAgent()`: configuration
// from the instance type and the environment, the journal, the controller,
// the agent, and the CNI front (here: threads calling AddPod / DeletePod).
// The environment's ENABLE_PREFIX_DELEGATION, WARM_PREFIX_TARGET, ... are
// read as the reference reads them (defaults here: prefix delegation on,
// WARM_PREFIX_TARGET=1).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "enipool/agent.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/ec2/pipe_backend.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/ec2/synchronized_backend.h"
#include "enipool/node_config.h"
#include "enipool/persist/journal.h"

namespace {

using enipool::RealClock;
using Store = enipool::JournaledDatastore<RealClock>;
using Controller = enipool::NodeController<RealClock, enipool::ReferencePolicy, Store>;
using Agent = enipool::NodeAgent<RealClock, enipool::ec2::PipeBackend, Controller>;

const RealClock kClock;
const enipool::NodeFacts kNode{.instance_type = "m5.large", .instance_id = "i-0example",
                               .subnet_id = "subnet-1", .vcpus = 2};

// The environment, with this example's defaults for what is unset.
std::optional<std::string> Env(absl::string_view name) {
  if (const char* value = std::getenv(std::string(name).c_str())) return std::string(value);
  static const std::map<std::string, std::string, std::less<>> kDefaults = {
      {"ENABLE_PREFIX_DELEGATION", "true"}, {"WARM_PREFIX_TARGET", "1"}};
  const auto it = kDefaults.find(std::string(name));
  if (it == kDefaults.end()) return std::nullopt;
  return it->second;
}

// Acknowledged pods go to the parent one line at a time ("+pod address" or
// "-pod"), as a CNI plugin's answer would go to the kubelet.
void Acknowledge(int fd, const std::string& line) {
  (void)enipool::ec2::WriteFrame(fd, line);
}

// The agent process. Returns its exit code.
int RunAgent(const std::string& journal, int calls_fd, int answers_fd, int acks_fd,
             absl::Duration run_for) {
  auto config = enipool::NodeConfigFromEnvironment(kNode, Env);
  if (!config.ok()) {
    std::fprintf(stderr, "agent: %s\n", config.status().ToString().c_str());
    return 2;
  }
  Store::Options options;
  options.mode = config->controller.pool.mode;
  options.ip_cooldown = config->controller.pool.ip_cooldown;
  options.journal.sync = enipool::SyncPolicy::kBatched;
  auto store = Store::Open(journal, kClock, options);
  if (!store.ok()) {
    std::fprintf(stderr, "agent: journal: %s\n", store.status().ToString().c_str());
    return 2;
  }
  const std::int64_t recovered = static_cast<std::int64_t>(store->datastore().pod_count());
  auto controller = Controller::Create(config->controller, *std::move(store));
  enipool::ec2::PipeBackend ec2(answers_fd, calls_fd);
  auto agent = controller.ok() ? Agent::Create(kClock, ec2, *std::move(controller),
                                               {.pool_check_interval = absl::Milliseconds(200)})
                               : controller.status();
  if (!agent.ok() || !(*agent)->Start().ok() || !(*agent)->AwaitStarted(absl::Seconds(30))) {
    std::fprintf(stderr, "agent: could not start\n");
    return 2;
  }
  std::printf("agent %d: started, %lld pods from the journal; %s\n", getpid(),
              static_cast<long long>(recovered), (*agent)->Stats().ToString().c_str());
  std::fflush(stdout);

  // The CNI front: 4 threads, each adding and deleting its own pods.
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      std::vector<std::string> live;
      for (int i = 0; !stop.load(); ++i) {
        // Up to 10 pods each; once there, one leaves every ~250 ms.
        if (live.size() < 10) {
          const std::string pod = absl::StrCat(getpid(), "-", t, "-", i);
          auto added = (*agent)->AddPod({"aws-cni", pod, "eth0"});
          if (added.ok()) {
            Acknowledge(acks_fd, absl::StrCat("+", pod, " ", added->address.ToString()));
            live.push_back(pod);
          }
        } else if (i % 50 == 49) {
          if ((*agent)->DeletePod({"aws-cni", live.back(), "eth0"}).ok()) {
            Acknowledge(acks_fd, absl::StrCat("-", live.back()));
          }
          live.pop_back();
        }
        absl::SleepFor(absl::Milliseconds(5));
      }
    });
  }
  absl::SleepFor(run_for);
  stop = true;
  for (std::thread& c : clients) c.join();
  const absl::Status stopped = (*agent)->Stop();  // a clean stop: journal synced
  std::printf("agent %d: stopped (%s); %s\n", getpid(), stopped.ToString().c_str(),
              (*agent)->Stats().ToString().c_str());
  std::fflush(stdout);  // _exit() follows
  return stopped.ok() ? 0 : 1;
}

}  // namespace

int main() {
  signal(SIGPIPE, SIG_IGN);  // EC2 answering a killed agent gets EPIPE
  char dir[] = "/tmp/enipool-agent-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  const std::string journal = absl::StrCat(dir, "/journal");

  // EC2: one subnet, the instance with its primary ENI (m5.large limits).
  const enipool::InstanceLimits limits = *enipool::LookupInstanceLimits(kNode.instance_type);
  enipool::ec2::SynchronizedBackend<enipool::ec2::SimulatedEc2<RealClock>> ec2(
      kClock, enipool::ec2::SimulatedEc2Options{.seed = 7});
  ec2.WithLock([&](auto& sim) {
    (void)sim.AddSubnet("subnet-1", *enipool::Ipv4Prefix::Parse("10.0.0.0/20"));
    (void)sim.AddInstance({.instance_id = kNode.instance_id, .subnet_id = "subnet-1",
                           .max_enis = limits.max_enis, .ipv4_per_eni = limits.ipv4_per_eni});
  });

  std::map<std::string, std::string> acknowledged;  // pod → address, as the kubelet knows them
  for (const bool kill_it : {true, false}) {
    int calls[2], answers[2], acks[2];
    if (pipe(calls) != 0 || pipe(answers) != 0 || pipe(acks) != 0) return 1;
    std::fflush(stdout);  // the child must not inherit unwritten output
    const pid_t pid = fork();
    if (pid == 0) {
      close(calls[0]);
      close(answers[1]);
      close(acks[0]);
      _exit(RunAgent(journal, calls[1], answers[0], acks[1], absl::Seconds(kill_it ? 30 : 1)));
    }
    close(calls[1]);
    close(answers[0]);
    close(acks[1]);
    std::thread server([&] { (void)enipool::ec2::ServeCalls(ec2, calls[0], answers[1]); });
    std::thread reader([&] {
      while (auto line = enipool::ec2::ReadFrame(acks[0])) {
        const std::size_t space = line->find(' ');
        if ((*line)[0] == '+') acknowledged[line->substr(1, space - 1)] = line->substr(space + 1);
        if ((*line)[0] == '-') acknowledged.erase(line->substr(1));
      }
    });
    if (kill_it) {
      absl::SleepFor(absl::Milliseconds(1500));
      kill(pid, SIGKILL);
      std::printf("parent: SIGKILLed agent %d mid-run\n", pid);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    reader.join();
    server.join();
    for (int fd : {calls[0], answers[1], acks[0]}) close(fd);
    std::printf("parent: agent %d ended; %zu pods acknowledged and not deleted\n", pid,
                acknowledged.size());
    if (kill_it) {
      // What the restarted agent must find: checked from the journal alone.
      Store::Options options;
      options.journal.sync = enipool::SyncPolicy::kNone;
      auto store = Store::Open(journal, kClock, options);
      std::size_t found = 0;
      for (const auto& [pod, address] : acknowledged) {
        const auto a = store.ok() ? store->Lookup({"aws-cni", pod, "eth0"}) : std::nullopt;
        found += a.has_value() && a->address.ToString() == address ? 1u : 0u;
      }
      std::printf("parent: the journal holds %zu of them, each at its address\n", found);
      if (found != acknowledged.size()) return 1;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return 1;
    }
  }
  const std::size_t enis = ec2.WithLock([](const auto& sim) { return sim.eni_count(); });
  std::printf("parent: EC2 holds %zu ENIs for the node, none unattached: %s\n", enis,
              ec2.WithLock([](const auto& sim) { return sim.unattached_eni_count(); }) == 0
                  ? "yes"
                  : "no");
  (void)std::system(absl::StrCat("rm -rf ", dir).c_str());
  return 0;
}
