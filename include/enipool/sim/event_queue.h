// -----------------------------------------------------------------------------
// File: sim/event_queue.h
// -----------------------------------------------------------------------------
//
// `sim::EventQueue`: the future event list of a discrete-event simulation.
// Events come out ordered by (time, insertion sequence), so two events at the
// same virtual instant run in the order they were scheduled and a run is
// reproducible bit for bit.
//
// An event is a small plain value — a time, a sequence number, a `kind`, a
// `node` and a 64-bit `payload` — that the simulator dispatches with a
// switch, rather than a type-erased closure. A 5,000-node day is about 10^8
// events; a 32-byte POD moves through the heap with no allocation and no
// indirect call, and benchmarks/cluster_benchmark.cpp measures it against a
// heap of absl::AnyInvocable<void()> actions (STYLE.md §4.8's first shape),
// which is several times slower per event. Events go to one of two lanes
// (see EventQueue) so that frequent events do not sift through the many
// far-off ones.
//
// Example:
//
//   enipool::sim::EventQueue queue;
//   queue.Push(absl::UnixEpoch() + absl::Seconds(5), /*kind=*/1, /*node=*/7, /*payload=*/0);
//   queue.Push(absl::UnixEpoch() + absl::Seconds(5), /*kind=*/2, /*node=*/7, /*payload=*/0);
//   while (!queue.empty()) {
//     const enipool::sim::Event event = queue.Pop();   // kind 1 first, then 2
//     switch (event.kind) { ... }
//   }

#ifndef ENIPOOL_SIM_EVENT_QUEUE_H_
#define ENIPOOL_SIM_EVENT_QUEUE_H_

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/time/time.h"

namespace enipool::sim {

// Event
//
// One scheduled happening. `when_ns` is virtual time in nanoseconds since the
// Unix epoch (absl::ToUnixNanos), `seq` the queue's insertion counter; `kind`,
// `node` and `payload` mean whatever the simulator says they mean.
struct Event {
  std::int64_t when_ns = 0;
  std::uint64_t seq = 0;
  std::uint32_t kind = 0;
  std::uint32_t node = 0;
  std::uint64_t payload = 0;

  [[nodiscard]] absl::Time when() const noexcept { return absl::FromUnixNanos(when_ns); }
  friend bool operator==(const Event&, const Event&) = default;
};

// EventQueue
//
// Binary min-heaps on (when_ns, seq) kept in std::vectors with
// std::push_heap / std::pop_heap. Push and Pop are O(log n) and allocate only
// when a vector grows. Not thread-safe; one per simulation.
//
// Two lanes. A simulation has a few frequent, short-horizon events (each
// node's next pool check, EC2 answers) and many rare, far ones (one deletion
// per live pod). Kept in one heap, every pool check would sift through the
// whole pod population (600,000 events for 5,000 nodes: a cache miss per
// level). So each event goes to one of two heaps, named by the caller, and
// Pop takes the earlier of the two tops. The sequence counter is shared, so
// the order is exactly that of a single queue — the lane changes speed,
// never results.
class EventQueue {
 public:
  enum class Lane : std::uint8_t {
    kNear,  // frequent, short-horizon events (the default)
    kFar,   // many long-horizon events (e.g. pod deletions)
  };

  EventQueue() = default;

  // EventQueue::Push()
  //
  // Schedules an event at `when`. Events at the same time come out in Push
  // order, whatever their lanes. Precondition: `when` is not earlier than the
  // last popped event (a simulation never schedules into its past).
  void Push(absl::Time when, std::uint32_t kind, std::uint32_t node, std::uint64_t payload,
            Lane lane = Lane::kNear) {
    PushNanos(absl::ToUnixNanos(when), kind, node, payload, lane);
  }

  // EventQueue::PushNanos()
  //
  // Push() with the time as Unix nanoseconds (saves the absl::Time
  // conversion on the simulator's hot path).
  void PushNanos(std::int64_t when_ns, std::uint32_t kind, std::uint32_t node,
                 std::uint64_t payload, Lane lane = Lane::kNear) {
    assert(when_ns >= last_popped_ns_ && "an event was scheduled in the simulation's past");
    std::vector<Event>& heap = lane == Lane::kNear ? near_ : far_;
    heap.push_back(Event{when_ns, next_seq_++, kind, node, payload});
    std::push_heap(heap.begin(), heap.end(), Later{});
  }

  // EventQueue::Pop()
  //
  // Removes and returns the earliest event (lowest sequence among equal
  // times). Precondition: !empty().
  Event Pop() {
    assert(!empty());
    std::vector<Event>& heap = FarFirst() ? far_ : near_;
    std::pop_heap(heap.begin(), heap.end(), Later{});
    const Event event = heap.back();
    heap.pop_back();
#ifndef NDEBUG
    last_popped_ns_ = event.when_ns;
#endif
    return event;
  }

  // EventQueue::Top()
  //
  // The earliest event, left in place. Precondition: !empty().
  [[nodiscard]] const Event& Top() const {
    assert(!empty());
    return FarFirst() ? far_.front() : near_.front();
  }

  [[nodiscard]] bool empty() const noexcept { return near_.empty() && far_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return near_.size() + far_.size(); }

  // EventQueue::pushed()
  //
  // How many events were ever pushed (the next sequence number).
  [[nodiscard]] std::uint64_t pushed() const noexcept { return next_seq_; }

  // EventQueue::Reserve()
  //
  // Pre-sizes a lane for `n` pending events.
  void Reserve(std::size_t n, Lane lane = Lane::kNear) {
    (lane == Lane::kNear ? near_ : far_).reserve(n);
  }

  // EventQueue::Clear()
  //
  // Drops every pending event; the sequence counter keeps counting.
  void Clear() noexcept {
    near_.clear();
    far_.clear();
  }

  // EventQueue::capacity_bytes()
  //
  // Memory held by the heaps' storage.
  [[nodiscard]] std::size_t capacity_bytes() const noexcept {
    return (near_.capacity() + far_.capacity()) * sizeof(Event);
  }

 private:
  // "a comes out after b": std::*_heap build a max-heap, so ordering by
  // "later" puts the earliest event at the front.
  struct Later {
    bool operator()(const Event& a, const Event& b) const noexcept {
      if (a.when_ns != b.when_ns) return a.when_ns > b.when_ns;
      return a.seq > b.seq;
    }
  };

  // Whether the earliest event overall is at the front of the far lane.
  [[nodiscard]] bool FarFirst() const noexcept {
    if (far_.empty()) return false;
    if (near_.empty()) return true;
    return Later{}(near_.front(), far_.front());
  }

  std::vector<Event> near_;
  std::vector<Event> far_;
  std::uint64_t next_seq_ = 0;
  std::int64_t last_popped_ns_ = INT64_MIN;
};

}  // namespace enipool::sim

#endif  // ENIPOOL_SIM_EVENT_QUEUE_H_
