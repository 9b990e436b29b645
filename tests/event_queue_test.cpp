#include "enipool/sim/event_queue.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace {

using enipool::sim::Event;
using enipool::sim::EventQueue;

absl::Time At(int seconds) { return absl::UnixEpoch() + absl::Seconds(seconds); }

// The model of the randomized tests: pending events as (time, push order).
using QueueModel = std::set<std::pair<std::int64_t, std::uint64_t>>;

// Pops one event from both and requires the same one; returns its time.
std::int64_t PopBoth(EventQueue& queue, QueueModel& model) {
  const auto expected = *model.begin();
  model.erase(model.begin());
  const Event got = queue.Pop();
  REQUIRE(got.when_ns == expected.first);
  REQUIRE(got.seq == expected.second);
  return got.when_ns;
}

TEST_CASE("EventQueue pops events in time order") {
  EventQueue queue;
  queue.Push(At(30), 3, 0, 0);
  queue.Push(At(10), 1, 0, 0);
  queue.Push(At(20), 2, 0, 0);
  REQUIRE(queue.size() == 3);
  CHECK(queue.Top().kind == 1);
  CHECK(queue.Pop().when() == At(10));
  CHECK(queue.Pop().when() == At(20));
  CHECK(queue.Pop().when() == At(30));
  CHECK(queue.empty());
}

TEST_CASE("EventQueue runs same-time events in the order they were pushed") {
  EventQueue queue;
  for (std::uint32_t kind = 0; kind < 100; ++kind) queue.Push(At(5), kind, kind * 2, kind * 3);
  for (std::uint32_t kind = 0; kind < 100; ++kind) {
    const Event event = queue.Pop();
    CHECK(event.kind == kind);
    CHECK(event.node == kind * 2);
    CHECK(event.payload == kind * 3);
  }
  CHECK(queue.pushed() == 100);
}

TEST_CASE(
    "EventQueue matches a stable sort under random interleaved pushes and pops on all lanes") {
  // Model: a list kept sorted by (time, push order); the queue must pop the
  // same sequence. Pushes never go before the last popped time.
  std::mt19937_64 rng(42);
  EventQueue queue;
  std::vector<Event> model;
  std::int64_t now = 0;
  std::uint64_t seq = EventQueue::kPushOrderBase;
  for (int step = 0; step < 20000; ++step) {
    if (model.empty() || rng() % 3 != 0) {
      const std::int64_t when = now + static_cast<std::int64_t>(rng() % 50);  // many ties
      const auto kind = static_cast<std::uint32_t>(rng() % 7);
      const auto lane = static_cast<EventQueue::Lane>(rng() % 3);
      queue.PushNanos(when, kind, 0, seq, lane);
      model.push_back(Event{when, seq, kind, 0, seq});
      ++seq;
    } else {
      const auto earliest =
          std::min_element(model.begin(), model.end(), [](const Event& a, const Event& b) {
            return a.when_ns != b.when_ns ? a.when_ns < b.when_ns : a.seq < b.seq;
          });
      const Event expected = *earliest;
      model.erase(earliest);
      const Event got = queue.Pop();
      REQUIRE(got == expected);
      now = got.when_ns;
    }
    REQUIRE(queue.size() == model.size());
  }
}

TEST_CASE(
    "EventQueue pops jittered periodic events in the order of a single heap, among other lanes") {
  // The simulator's shape: one periodic event per node, re-pushed at its
  // time + period + jitter on the periodic lane, with EC2 answers on the
  // near lane and pod deletions on the far one. The reference is one plain
  // binary heap on (time, push order) holding everything.
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.when_ns != b.when_ns ? a.when_ns > b.when_ns : a.seq > b.seq;
    }
  };
  constexpr std::int64_t kPeriod = 5000, kJitter = 100;
  std::mt19937_64 rng(7);
  EventQueue queue;
  std::vector<Event> heap;
  std::uint64_t seq = EventQueue::kPushOrderBase;
  auto push = [&](std::int64_t when, std::uint32_t kind, std::uint32_t node, EventQueue::Lane lane) {
    queue.PushNanos(when, kind, node, seq, lane);
    heap.push_back(Event{when, seq, kind, node, seq});
    std::push_heap(heap.begin(), heap.end(), Later{});
    ++seq;
  };
  for (std::uint32_t node = 0; node < 300; ++node) {
    // Random phases, some pushed straight onto the periodic lane out of order.
    const auto phase = static_cast<std::int64_t>(rng() % kPeriod);
    push(phase, 0, node, node % 2 == 0 ? EventQueue::Lane::kNear : EventQueue::Lane::kPeriodic);
  }
  for (int step = 0; step < 60000; ++step) {
    REQUIRE(!heap.empty());
    std::pop_heap(heap.begin(), heap.end(), Later{});
    const Event expected = heap.back();
    heap.pop_back();
    REQUIRE(queue.Top() == expected);
    Event got;
    if (step % 2 == 0) {
      got = queue.Pop();
    } else {
      // PopUntil leaves a later event in place and pops a due one.
      REQUIRE_FALSE(queue.PopUntil(expected.when_ns - 1).has_value());
      REQUIRE(queue.size() == heap.size() + 1);
      const std::optional<Event> popped = queue.PopUntil(expected.when_ns);
      REQUIRE(popped.has_value());
      got = *popped;
    }
    REQUIRE(got == expected);
    const std::int64_t now = got.when_ns;
    if (got.kind == 0) {
      // Same-time ties happen: jitter 0 and equal phases.
      push(now + kPeriod + static_cast<std::int64_t>(rng() % kJitter), 0, got.node,
           EventQueue::Lane::kPeriodic);
      if (rng() % 4 == 0) push(now + static_cast<std::int64_t>(rng() % 300), 1, got.node,
                               EventQueue::Lane::kNear);
      if (rng() % 8 == 0) push(now + static_cast<std::int64_t>(rng() % 100000), 2, got.node,
                               EventQueue::Lane::kFar);
      // Now and then a periodic push with a shorter lead than the period's
      // (e.g. a node joining): earlier than events the lane has settled.
      if (rng() % 64 == 0) push(now + static_cast<std::int64_t>(rng() % kPeriod), 3, got.node,
                                EventQueue::Lane::kPeriodic);
    }
    REQUIRE(queue.size() == heap.size());
  }
}

TEST_CASE("EventQueue orders same-time events by push order across lanes") {
  EventQueue queue;
  queue.Push(At(5), 1, 0, 0, EventQueue::Lane::kFar);
  queue.Push(At(5), 2, 0, 0, EventQueue::Lane::kNear);
  queue.Push(At(4), 3, 0, 0, EventQueue::Lane::kFar);
  queue.Push(At(5), 4, 0, 0, EventQueue::Lane::kFar);
  CHECK(queue.Top().kind == 3);
  CHECK(queue.Pop().kind == 3);
  CHECK(queue.Pop().kind == 1);
  CHECK(queue.Pop().kind == 2);
  CHECK(queue.Pop().kind == 4);
  CHECK(queue.empty());
}

TEST_CASE("EventQueue's periodic lane takes pushes out of time order") {
  EventQueue queue;
  queue.Push(At(5), 1, 0, 0, EventQueue::Lane::kPeriodic);
  queue.Push(At(3), 2, 0, 0, EventQueue::Lane::kPeriodic);
  queue.Push(At(5), 3, 0, 0, EventQueue::Lane::kPeriodic);
  queue.Push(At(4), 4, 0, 0, EventQueue::Lane::kNear);
  queue.Push(At(1), 5, 0, 0, EventQueue::Lane::kPeriodic);
  CHECK(queue.size() == 5);
  CHECK(queue.Pop().kind == 5);
  CHECK(queue.Pop().kind == 2);
  CHECK(queue.Pop().kind == 4);
  CHECK(queue.Pop().kind == 1);
  CHECK(queue.Pop().kind == 3);
  CHECK(queue.empty());
}

TEST_CASE("EventQueue::PopUntil on an empty queue pops nothing") {
  EventQueue queue;
  CHECK_FALSE(queue.PopUntil(INT64_MAX).has_value());
  queue.Push(At(2), 1, 0, 0, EventQueue::Lane::kPeriodic);
  CHECK_FALSE(queue.PopUntil(absl::ToUnixNanos(At(1))).has_value());
  CHECK(queue.size() == 1);
  CHECK(queue.PopUntil(absl::ToUnixNanos(At(2)))->kind == 1);
  CHECK(queue.empty());
}

TEST_CASE(
    "EventQueue's far lane pops in time order across its current bucket, its ring and its overflow") {
  // The far lane is a calendar of ~1.07 s buckets in a ring of ~4.9 hours
  // with an overflow heap beyond. Pushes land in the current bucket (after
  // it was sorted), before it, in the ring and past it; phases of mostly
  // pushes and mostly pops empty the lane now and then. Model: a set
  // ordered by (time, push order).
  constexpr std::int64_t kBucket = std::int64_t{1} << 30;
  constexpr std::int64_t kRing = kBucket << 14;
  std::mt19937_64 rng(11);
  EventQueue queue;
  QueueModel model;
  std::int64_t now = 0;
  std::uint64_t seq = EventQueue::kPushOrderBase;
  std::int64_t emptied = 0;
  for (int step = 0; step < 40000; ++step) {
    const bool push_phase = (step / 2000) % 2 == 0;
    if (model.empty() || rng() % 10 < (push_phase ? 7u : 2u)) {
      std::int64_t ahead = 0;
      switch (rng() % 6) {
        case 0: ahead = static_cast<std::int64_t>(rng() % 50); break;  // ties, the current bucket
        case 1: ahead = static_cast<std::int64_t>(rng() % kBucket); break;
        case 2: ahead = static_cast<std::int64_t>(rng() % (kBucket * 40)); break;
        case 3: ahead = static_cast<std::int64_t>(rng() % kRing); break;
        case 4: ahead = kRing - kBucket + static_cast<std::int64_t>(rng() % (kBucket * 3)); break;
        default: ahead = static_cast<std::int64_t>(rng() % (kRing * 3)); break;  // overflow
      }
      const auto lane = rng() % 8 == 0 ? EventQueue::Lane::kNear : EventQueue::Lane::kFar;
      queue.PushNanos(now + ahead, 0, 0, seq, lane);
      model.emplace(now + ahead, seq);
      ++seq;
    } else {
      now = PopBoth(queue, model);
      if (model.empty()) ++emptied;
    }
    REQUIRE(queue.size() == model.size());
    REQUIRE(queue.empty() == model.empty());
  }
  CHECK(emptied > 0);
  CHECK(now > kRing);  // the run went past the ring's first span
}

TEST_CASE(
    "EventQueue's far lane takes pushes before its current bucket, near and a whole ring away") {
  // A cluster's first far push may be a deletion hours off; the pushes that
  // follow land before it. Each such push makes its own bucket the current
  // one (the old one goes back to the ring, or with everything else to the
  // overflow heap when the two are a ring or more apart). Model: a set
  // ordered by (time, push order).
  constexpr std::int64_t kBucket = std::int64_t{1} << 30;
  constexpr std::int64_t kRing = kBucket << 14;
  for (const std::int64_t first_ahead : {kBucket * 3600 * 3 / 4, kRing + kBucket * 5, kRing * 3}) {
    CAPTURE(first_ahead);
    std::mt19937_64 rng(static_cast<std::uint64_t>(first_ahead));
    EventQueue queue;
    QueueModel model;
    std::uint64_t seq = EventQueue::kPushOrderBase;
    std::int64_t now = 0;
    const auto push = [&](std::int64_t when) {
      queue.PushNanos(when, 0, 0, seq, EventQueue::Lane::kFar);
      model.emplace(when, seq++);
    };
    push(first_ahead);
    // Spread over the ring first, so that moving the span back evicts some.
    for (int i = 0; i < 200; ++i) push(first_ahead + static_cast<std::int64_t>(rng() % kRing));
    for (int step = 0; step < 20000; ++step) {
      if (rng() % 3 != 0) {
        push(now + static_cast<std::int64_t>(rng() % (kBucket * 100)));
      } else {
        now = PopBoth(queue, model);
      }
    }
    while (!model.empty()) PopBoth(queue, model);
    CHECK(queue.empty());
  }
}

TEST_CASE("EventQueue puts ordered events first at their instant, by their order, whenever pushed") {
  // The model sorts by (time, order) for ordered events and (time, 2^32 +
  // push count) for the others; a simulation's periodic checks are pushed
  // ordered, late or early, on any lane, among many same-time events.
  std::mt19937_64 rng(11);
  EventQueue queue;
  QueueModel model;
  std::uint64_t unordered = 0, ordered = 0;
  std::set<std::uint32_t> pending_orders;
  std::int64_t now = 0;
  for (int step = 0; step < 30000; ++step) {
    if (model.empty() || rng() % 3 != 0) {
      const std::int64_t when = now + static_cast<std::int64_t>(rng() % 20);  // many ties
      const auto lane = static_cast<EventQueue::Lane>(rng() % 3);
      const auto order = static_cast<std::uint32_t>(rng() % 500);
      if (rng() % 2 == 0 && pending_orders.insert(order).second) {
        queue.PushNanosOrdered(when, order, 1, order, 0, lane);
        model.emplace(when, order);
        ++ordered;
      } else {
        queue.PushNanos(when, 0, 0, 0, lane);
        model.emplace(when, EventQueue::kPushOrderBase + unordered++);
      }
    } else {
      const std::uint64_t seq = model.begin()->second;
      now = PopBoth(queue, model);
      if (seq < EventQueue::kPushOrderBase) pending_orders.erase(static_cast<std::uint32_t>(seq));
    }
    REQUIRE(queue.size() == model.size());
  }
  while (!model.empty()) PopBoth(queue, model);
  CHECK(queue.pushed() == unordered + ordered);
  CHECK(ordered > 1000);
}

TEST_CASE("EventQueue puts an event pushed with a reserved sequence where a push at reservation would have gone") {
  // Events at one instant, some pushed at once and some reserved then and
  // pushed later (after other pushes) or never; all on random lanes. The
  // order out is that of the reservations and pushes.
  std::mt19937_64 rng(17);
  EventQueue queue;
  QueueModel model;
  std::vector<std::pair<std::int64_t, std::uint64_t>> reserved;  // (when, sequence)
  std::uint64_t next = 0;
  for (int step = 0; step < 5000; ++step) {
    const std::int64_t when = 1000 + static_cast<std::int64_t>(rng() % 8);
    const auto lane = static_cast<EventQueue::Lane>(rng() % 3);
    switch (rng() % 3) {
      case 0:
        queue.PushNanos(when, 0, 0, 0, lane);
        model.emplace(when, EventQueue::kPushOrderBase + next++);
        break;
      case 1: {
        const std::uint64_t sequence = queue.ReserveSequence();
        REQUIRE(sequence == EventQueue::kPushOrderBase + next++);
        reserved.emplace_back(when, sequence);
        break;
      }
      default:
        if (reserved.empty()) break;
        const std::size_t i = rng() % reserved.size();
        const auto [at, sequence] = reserved[i];
        reserved.erase(reserved.begin() + static_cast<std::ptrdiff_t>(i));
        if (rng() % 4 == 0) break;  // never pushed: its place stays empty
        queue.PushNanosReserved(at, sequence, 0, 0, 0, lane);
        model.emplace(at, sequence);
        break;
    }
  }
  REQUIRE(queue.size() == model.size());
  while (!model.empty()) PopBoth(queue, model);
}

TEST_CASE("EventQueue keeps counting sequence numbers after Clear") {
  EventQueue queue;
  queue.Push(At(1), 0, 0, 0);
  queue.Push(At(2), 0, 0, 0);
  queue.Clear();
  CHECK(queue.empty());
  queue.Push(At(3), 0, 0, 0);
  CHECK(queue.Pop().seq == EventQueue::kPushOrderBase + 2);
  // A far lane spread over its ring and overflow empties too, and works on.
  for (int hours = 0; hours < 12; ++hours) {
    queue.Push(At(10 + hours * 3600), 1, 0, 0, EventQueue::Lane::kFar);
  }
  queue.Clear();
  CHECK(queue.empty());
  queue.Push(At(20), 2, 0, 0, EventQueue::Lane::kFar);
  queue.Push(At(7 * 3600), 3, 0, 0, EventQueue::Lane::kFar);
  CHECK(queue.Pop().kind == 2);
  CHECK(queue.Pop().kind == 3);
  CHECK(queue.empty());
}

}  // namespace
