#include "enipool/sim/event_queue.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace {

using enipool::sim::Event;
using enipool::sim::EventQueue;

absl::Time At(int seconds) { return absl::UnixEpoch() + absl::Seconds(seconds); }

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
    "EventQueue matches a stable sort under random interleaved pushes and pops on both lanes") {
  // Model: a list kept sorted by (time, push order); the queue must pop the
  // same sequence. Pushes never go before the last popped time.
  std::mt19937_64 rng(42);
  EventQueue queue;
  std::vector<Event> model;
  std::int64_t now = 0;
  std::uint64_t seq = 0;
  for (int step = 0; step < 20000; ++step) {
    if (model.empty() || rng() % 3 != 0) {
      const std::int64_t when = now + static_cast<std::int64_t>(rng() % 50);  // many ties
      const auto kind = static_cast<std::uint32_t>(rng() % 7);
      const auto lane = rng() % 2 == 0 ? EventQueue::Lane::kNear : EventQueue::Lane::kFar;
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

TEST_CASE("EventQueue keeps counting sequence numbers after Clear") {
  EventQueue queue;
  queue.Push(At(1), 0, 0, 0);
  queue.Push(At(2), 0, 0, 0);
  queue.Clear();
  CHECK(queue.empty());
  queue.Push(At(3), 0, 0, 0);
  CHECK(queue.Pop().seq == 2);
}

}  // namespace
