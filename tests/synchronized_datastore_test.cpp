// SynchronizedDatastore: many ADD/DEL threads plus a ticking thread. Run it
// under ThreadSanitizer (the `tsan` preset) to check the locking itself.

#include "enipool/synchronized_datastore.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/controller.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/persist/journal.h"
#include "testing/atomic_manual_clock.h"
#include "testing/controller_harness.h"
#include "testing/memory_file_system.h"

namespace {

using enipool::AddressMode;
using enipool::Assignment;
using enipool::Ipv4Address;
using enipool::Ipv4Prefix;
using enipool::NodeDatastore;
using enipool::PodKey;
using enipool::SynchronizedDatastore;
using enipool::testing::AtomicManualClock;

constexpr int kThreads = 4;
constexpr int kOpsPerThread = 3000;

// Sets up 2 ENIs × 4 prefixes (128 addresses) under the lock.
template <typename Pool>
void AddNode(Pool& pool) {
  pool.WithLock([](auto& ds) {
    for (int e = 0; e < 2; ++e) {
      const std::string id = absl::StrCat("eni-", e);
      REQUIRE(ds.AddEni({.id = id, .device_number = e, .primary = e == 0}).ok());
      for (int p = 0; p < 4; ++p) {
        const auto prefix = Ipv4Prefix::Create(
            Ipv4Address(10, 0, static_cast<std::uint8_t>(e), static_cast<std::uint8_t>(16 * p)), 28);
        REQUIRE(ds.AddCidr(id, *prefix).ok());
      }
    }
  });
}

struct ThreadResult {
  std::map<PodKey, Assignment> held;  // what this thread's pods hold at the end
  std::int64_t assigned = 0;
  std::int64_t exhausted = 0;
  std::int64_t released = 0;
  std::vector<std::string> errors;
};

// Each thread adds and deletes its own pods (unique keys), keeping at most
// 20 at a time; an exhausted pool is an expected answer under cooldown.
// Each op moves the clock 20 ms, so a 2 s cooldown spans ~100 of them.
template <typename Pool, typename Midpoint>
ThreadResult Hammer(Pool& pool, AtomicManualClock& clock, int thread, Midpoint&& midpoint) {
  ThreadResult r;
  std::vector<PodKey> live;
  for (int i = 0; i < kOpsPerThread; ++i) {
    if (i == kOpsPerThread / 2) midpoint();
    // Time moves with the work (as well as with the ticker), so cooldowns
    // end at the same pace however the threads are scheduled.
    clock.AdvanceTime(absl::Milliseconds(20));
    const bool add = live.size() < 20 && (live.empty() || (i * 7 + thread) % 3 != 0);
    if (add) {
      PodKey pod{"aws-cni", absl::StrCat("t", thread, "-c", i), "eth0"};
      auto a = pool.Assign(pod);
      if (a.ok()) {
        r.held.emplace(pod, *a);
        live.push_back(std::move(pod));
        ++r.assigned;
      } else if (a.status().code() == absl::StatusCode::kResourceExhausted) {
        ++r.exhausted;
      } else {
        r.errors.push_back(a.status().ToString());
      }
    } else {
      const PodKey pod = live.front();
      live.erase(live.begin());
      auto released = pool.Release(pod);
      if (!released.ok() || !(released.value() == r.held.at(pod))) {
        r.errors.push_back(absl::StrCat("release of ", pod.ToString(), ": ", released.status().ToString()));
      }
      r.held.erase(pod);
      ++r.released;
    }
  }
  return r;
}

// Runs the hammering threads and a ticking thread that advances the clock
// and checks the whole datastore under the lock while they run.
template <typename Pool>
std::vector<ThreadResult> RunConcurrently(Pool& pool, AtomicManualClock& clock) {
  std::vector<ThreadResult> results(kThreads);
  std::atomic<int> done{0};
  std::atomic<bool> ticker_stopped{false};
  // Checks that ran while pods were held: the state mid-run, not the end.
  std::atomic<int> mid_run_checks{0};
  std::atomic<std::int64_t> ticker_rounds{0};
  std::vector<std::string> tick_errors;
  std::thread ticker([&] {
    while (done.load() < kThreads) {
      ticker_rounds.fetch_add(1);
      clock.AdvanceTime(absl::Seconds(1));
      pool.WithLock([&](auto& store) {
        const auto& ds = [&]() -> const auto& {
          if constexpr (requires { store.datastore(); }) {
            return store.datastore();
          } else {
            return store;
          }
        }();
        (void)ds.Stats();
        if (absl::Status s = ds.CheckInvariants(); !s.ok()) tick_errors.push_back(s.ToString());
        if (ds.pod_count() > 0) mid_run_checks.fetch_add(1);
      });
      std::this_thread::yield();
    }
    ticker_stopped.store(true);
  });
  // Halfway through, each worker (holding pods) waits for a check to have
  // run with pods held, so the checks above are not left to the scheduler.
  // The wait is bounded in ticker rounds: every round while a worker waits
  // holding pods should count, so a broken count shows as the CHECK below
  // failing, not as a hang (the ticker only stops once every worker is done).
  constexpr std::int64_t kMaxRoundsToWait = 200;
  auto midpoint = [&] {
    const std::int64_t start = ticker_rounds.load();
    while (mid_run_checks.load() == 0 && !ticker_stopped.load() &&
           ticker_rounds.load() - start < kMaxRoundsToWait) {
      std::this_thread::yield();
    }
  };
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      results[static_cast<std::size_t>(t)] = Hammer(pool, clock, t, midpoint);
      done.fetch_add(1);
    });
  }
  for (auto& w : workers) w.join();
  ticker.join();
  CHECK(tick_errors.empty());
  CHECK(mid_run_checks.load() > 0);
  MESSAGE("checks while hammering: ", mid_run_checks.load());
  return results;
}

// After the run: the pool agrees with what the threads were told, and no
// address is held twice.
template <typename Datastore>
void CheckAfter(const Datastore& ds, const std::vector<ThreadResult>& results) {
  REQUIRE_MESSAGE(ds.CheckInvariants().ok(), ds.CheckInvariants());
  std::size_t held = 0;
  std::int64_t assigned = 0;
  for (const ThreadResult& r : results) {
    for (const auto& e : r.errors) FAIL_CHECK(e);
    held += r.held.size();
    assigned += r.assigned;
    for (const auto& [pod, a] : r.held) CHECK(ds.Lookup(pod) == a);
  }
  CHECK(assigned > kThreads * 100);  // the threads really did work
  CHECK(ds.pod_count() == held);
  std::set<Ipv4Address> addresses;
  ds.ForEachAssignment([&](const PodKey& pod, const Assignment& a, absl::Time) {
    CHECK_MESSAGE(addresses.insert(a.address).second, "held twice: ", a.address.ToString(), " by ",
                  pod.ToString());
  });
}

TEST_CASE("SynchronizedDatastore serves ADD and DEL from many threads plus a ticking thread") {
  AtomicManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  SynchronizedDatastore<NodeDatastore<AtomicManualClock>> pool(AddressMode::kPrefix, clock,
                                                               absl::Seconds(2));
  AddNode(pool);
  const auto results = RunConcurrently(pool, clock);
  pool.WithLock([&](const auto& ds) { CheckAfter(ds, results); });
  const auto stats = pool.Stats();
  CHECK(stats.total_ips == 128);
  CHECK(stats.assigned_ips == static_cast<std::int64_t>(pool.WithLock([](auto& ds) { return ds.pod_count(); })));
}

TEST_CASE("SynchronizedDatastore over a JournaledDatastore: a restart sees what the threads were told") {
  enipool::testing::MemoryFileSystem fs;  // touched only under the facade's lock
  AtomicManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  using Journaled = enipool::JournaledDatastore<AtomicManualClock>;
  Journaled::Options options;
  options.mode = AddressMode::kPrefix;
  options.ip_cooldown = absl::Seconds(2);
  options.journal.file_system = &fs;
  options.journal.compact_after_bytes = 8 << 10;  // compactions happen during the run
  auto opened = Journaled::Open("/journal", clock, options);
  REQUIRE_MESSAGE(opened.ok(), opened.status());
  SynchronizedDatastore<Journaled> pool(*std::move(opened));
  AddNode(pool);
  const auto results = RunConcurrently(pool, clock);
  pool.WithLock([&](const Journaled& store) {
    CheckAfter(store.datastore(), results);
    CHECK(store.journal_stats().compactions > 0);
  });

  auto reopened = Journaled::Open("/journal", clock, options);
  REQUIRE_MESSAGE(reopened.ok(), reopened.status());
  CheckAfter(reopened->datastore(), results);
}

TEST_CASE("SynchronizedDatastore runs a NodeController's ticks and pod calls under its lock") {
  AtomicManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  auto config = enipool::testing::MakeControllerConfig(
      enipool::testing::SimNodeSpec{.mode = AddressMode::kPrefix, .max_enis = 3, .ipv4_per_eni = 10});
  auto controller = enipool::NodeController<AtomicManualClock>::Create(clock, config);
  REQUIRE_MESSAGE(controller.ok(), controller.status());
  SynchronizedDatastore<enipool::NodeController<AtomicManualClock>> pool(*std::move(controller));
  const auto start = pool.WithLock([&](auto& c) { return c.Start(clock.Now()); });
  CHECK_FALSE(start.empty());  // the startup describe
  std::vector<enipool::Ec2Request> requests;
  pool.Tick(clock.Now(), requests);  // nothing new while the describe is in flight
  CHECK(requests.empty());
  // No ENI is known yet: an ADD is refused, a DEL of an unknown pod is NOT_FOUND.
  auto added = pool.Assign({"aws-cni", "c1", "eth0"});
  CHECK_FALSE(added.ok());
  auto deleted = pool.Release({"aws-cni", "c1", "eth0"});
  CHECK_MESSAGE(deleted.status().code() == absl::StatusCode::kNotFound, deleted.status());
  CHECK(pool.Stats().total_ips == 0);
  CHECK(pool.WithLock([](const auto& c) { return c.counters().add_requests; }) == 1);
}

}  // namespace
