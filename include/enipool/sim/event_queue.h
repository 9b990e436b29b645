// -----------------------------------------------------------------------------
// File: sim/event_queue.h
// -----------------------------------------------------------------------------
//
// `sim::EventQueue`: the future event list of a discrete-event simulation.
// Events come out ordered by (time, insertion sequence), so two events at the
// same virtual instant run in the order they were scheduled and a run is
// reproducible bit for bit. An event may instead carry an explicit order
// (PushNanosOrdered()), for events whose push the simulation may delay or
// skip: they come first at their instant.
//
// An event is a small plain value — a time, a sequence number, a `kind`, a
// `node` and a 64-bit `payload` — that the simulator dispatches with a
// switch, rather than a type-erased closure. A 5,000-node day is about 10^8
// events; a 32-byte POD moves through the heap with no allocation and no
// indirect call, and benchmarks/cluster_benchmark.cpp measures it against a
// heap of absl::AnyInvocable<void()> actions (the textbook shape of a
// discrete-event queue), which is several times slower per event. Events go to one of three lanes
// (see EventQueue) so that frequent events do not sift through the many
// far-off ones, and periodic ones skip the heap altogether.
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
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "enipool/internal/ring_queue.h"

namespace enipool::sim {

// Event
//
// One scheduled happening. `when_ns` is virtual time in nanoseconds since the
// Unix epoch (absl::ToUnixNanos), `seq` its place among events at the same
// time (EventQueue::kPushOrderBase + the insertion counter, or the order
// given to EventQueue::PushNanosOrdered()); `kind`,
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
// std::push_heap / std::pop_heap, plus one sorted ring. Push and Pop are
// O(log n) on the heaps and allocate only when a vector grows. Not
// thread-safe; one per simulation.
//
// Three lanes. A simulation has a few frequent, short-horizon events (EC2
// answers, wake-ups), many rare, far ones (one deletion per live pod), and
// one periodic event per node (its pool check, every 5 s with a jitter of
// up to 100 ms: 86 million of a 5,000-node day's 114 million events). Kept
// in one heap, every pool check would sift through the whole pod population
// (600,000 events for 5,000 nodes: a cache miss per level). So each event
// goes to the lane the caller names and Pop takes the earliest of the lane
// fronts. The periodic lane is a small heap of the events pushed lately and
// a ring of settled ones, sorted by (when_ns, seq). A push goes into the
// heap; an event moves from the heap's front to the ring's back once it is
// due before any later push can be — earlier than now plus the least lead
// (time ahead of now) a periodic push has had. For a fixed period with a
// small jitter the heap holds only the pushes of the last jitter window
// (2,000 events for 100,000 nodes checked every 5 s with 100 ms of jitter,
// where sinking each push into one sorted ring moved about 330 events) and a
// pop takes the ring's front, O(1). An event that would unsort the ring (a
// push with a shorter lead than any before) stays in the heap until it is
// popped: the lane then pops the earlier of its two fronts.
//
// The far lane is a calendar: buckets of 2^30 ns (about 1.07 s) in a ring
// covering about 4.9 hours, later ones in an overflow heap. A push appends
// to its bucket, O(1); when the lane's current bucket runs out, the next
// non-empty one is sorted and popped from its back. A 100,000-node cluster
// keeps 11 million pod deletions pending; in one binary heap each pop sifted
// through 23 levels, most of them a cache miss, where a bucket holds the
// next second's ~3,000 deletions, sorted in cache. Pushes into the current
// bucket after it was sorted go to a small heap beside it; a push into an
// earlier one (the current bucket had jumped over empty ones, as at the
// start, when the first deletion pushed may be hours off) makes that
// bucket the current one and puts the old one back in the ring.
//
// The sequence counter is shared, so the order is exactly that of a single
// queue — the lanes change speed, never results.
class EventQueue {
 public:
  enum class Lane : std::uint8_t {
    kNear,      // frequent, short-horizon events (the default)
    kFar,       // many long-horizon events (e.g. pod deletions)
    kPeriodic,  // events pushed a nearly fixed time ahead (a period plus a
                // small jitter); other pushes are correct but cost
                // O(log pending periodic events)
  };

  // The n-th event pushed with Push() or PushNanos() (from 0) has sequence
  // number kPushOrderBase + n, so that those pushed with an explicit order
  // (PushNanosOrdered(), below 2^32) come first at their instant.
  static constexpr std::uint64_t kPushOrderBase = std::uint64_t{1} << 32;

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
    ++pushed_;
    PushEvent(Event{when_ns, kPushOrderBase + unordered_pushes_++, kind, node, payload}, lane);
  }

  // EventQueue::ReserveSequence() / PushNanosReserved()
  //
  // The place among Push() and PushNanos() events that a push made now
  // would take, kept for an event pushed later (or never: the place is then
  // simply unused). A simulation that learns only later whether to push an
  // event, or when, keeps the order a push made now would have had.
  [[nodiscard]] std::uint64_t ReserveSequence() noexcept {
    return kPushOrderBase + unordered_pushes_++;
  }
  void PushNanosReserved(std::int64_t when_ns, std::uint64_t sequence, std::uint32_t kind,
                         std::uint32_t node, std::uint64_t payload, Lane lane = Lane::kNear) {
    assert(sequence >= kPushOrderBase && sequence < kPushOrderBase + unordered_pushes_);
    ++pushed_;
    PushEvent(Event{when_ns, sequence, kind, node, payload}, lane);
  }

  // EventQueue::PushNanosOrdered()
  //
  // PushNanos() for an event whose place among the events of its instant
  // must not depend on when it was pushed: it comes out before every event
  // pushed with Push() or PushNanos() at the same time, and among the events
  // pushed this way, by `order` (< 2^32; give each pending one its own). A
  // simulation that sometimes pushes an event late, or not at all, when it
  // knows the event would change nothing (a periodic check it can skip) gets
  // the same order either way.
  void PushNanosOrdered(std::int64_t when_ns, std::uint32_t order, std::uint32_t kind,
                        std::uint32_t node, std::uint64_t payload, Lane lane = Lane::kNear) {
    ++pushed_;
    PushEvent(Event{when_ns, order, kind, node, payload}, lane);
  }

  // EventQueue::Pop()
  //
  // Removes and returns the earliest event (lowest sequence among equal
  // times). Precondition: !empty().
  Event Pop() {
    assert(!empty());
    return PopFrom(FirstSource());
  }

  // EventQueue::PopUntil()
  //
  // Pops the earliest event if it is due at or before `until_ns`; otherwise
  // (or if the queue is empty) std::nullopt and no change. A simulation
  // loop's Top() then Pop() in one, finding the earliest lane once.
  std::optional<Event> PopUntil(std::int64_t until_ns) {
    if (empty()) return std::nullopt;
    const Source source = FirstSource();
    if (Front(source).when_ns > until_ns) return std::nullopt;
    return PopFrom(source);
  }

  // EventQueue::Top()
  //
  // The earliest event, left in place. Precondition: !empty().
  [[nodiscard]] const Event& Top() const {
    assert(!empty());
    return Front(FirstSource());
  }

  // EventQueue::PeekFar()
  //
  // The k-th next event of the far lane's current, sorted bucket (k = 0 is
  // its earliest), or nullptr if the bucket holds fewer. For prefetching what
  // upcoming events will touch: it is not the k-th next event overall (the
  // other lanes interleave, and late pushes into the bucket come first).
  [[nodiscard]] const Event* PeekFar(std::size_t k) const noexcept {
    return k < far_run_.size() ? &far_run_[far_run_.size() - 1 - k] : nullptr;
  }

  // EventQueue::PrefetchFarPush()
  //
  // A hint that an event at `when_ns` will soon be pushed into the far lane:
  // starts loading the end of its bucket, where the push appends (in a
  // large simulation a line last touched an hour of virtual time ago).
  // Changes nothing.
  void PrefetchFarPush(std::int64_t when_ns) const noexcept {
    const std::int64_t bucket = FarBucket(when_ns);
    if (far_buckets_.empty() || far_size_ == 0 || !InRing(bucket)) return;
    const std::vector<Event>& events = far_buckets_[FarSlot(bucket)];
    __builtin_prefetch(events.data() + events.size(), 1);
  }

  [[nodiscard]] bool empty() const noexcept {
    return near_.empty() && far_size_ == 0 && settled_.empty() && recent_.empty();
  }
  [[nodiscard]] std::size_t size() const noexcept {
    return near_.size() + far_size_ + settled_.size() + recent_.size();
  }

  // EventQueue::pushed()
  //
  // How many events were ever pushed.
  [[nodiscard]] std::uint64_t pushed() const noexcept { return pushed_; }

  // EventQueue::Reserve()
  //
  // Pre-sizes the near lane for `n` pending events (the others grow by
  // doubling, bucket by bucket).
  void Reserve(std::size_t n, Lane lane = Lane::kNear) {
    if (lane == Lane::kNear) near_.reserve(n);
  }

  // EventQueue::Clear()
  //
  // Drops every pending event; the sequence counter keeps counting.
  void Clear() noexcept {
    near_.clear();
    far_run_.clear();
    far_late_.clear();
    far_overflow_.clear();
    for (std::vector<Event>& bucket : far_buckets_) bucket.clear();
    std::fill(far_occupied_.begin(), far_occupied_.end(), 0);
    far_in_buckets_ = 0;
    far_size_ = 0;
    settled_.clear();
    recent_.clear();
  }

  // EventQueue::capacity_bytes()
  //
  // Memory held by the lanes' storage.
  [[nodiscard]] std::size_t capacity_bytes() const noexcept {
    std::size_t events = near_.capacity() + far_run_.capacity() + far_late_.capacity() +
                         far_overflow_.capacity() + settled_.capacity() + recent_.capacity();
    for (const std::vector<Event>& bucket : far_buckets_) events += bucket.capacity();
    return events * sizeof(Event) + far_buckets_.capacity() * sizeof(std::vector<Event>) +
           far_occupied_.capacity() * sizeof(std::uint64_t);
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

  void PushEvent(const Event& event, Lane lane) {
    assert(event.when_ns >= now_ns_ && "an event was scheduled in the simulation's past");
    const std::int64_t when_ns = event.when_ns;
    if (lane == Lane::kPeriodic) {
      PushHeap(recent_, event);
      if (now_ns_ != INT64_MIN) min_lead_ns_ = std::min(min_lead_ns_, when_ns - now_ns_);
      Settle();
      return;
    }
    if (lane == Lane::kFar) {
      PushFar(event);
      return;
    }
    PushHeap(near_, event);
  }

  static void PushHeap(std::vector<Event>& heap, const Event& event) {
    heap.push_back(event);
    std::push_heap(heap.begin(), heap.end(), Later{});
  }
  static Event PopHeap(std::vector<Event>& heap) {
    std::pop_heap(heap.begin(), heap.end(), Later{});
    const Event event = heap.back();
    heap.pop_back();
    return event;
  }

  // Where the earliest event may be: the near heap, the far lane's sorted
  // bucket and its heap of late pushes, and the periodic lane's two parts.
  enum class Source : std::uint8_t { kNear, kFarRun, kFarLate, kSettled, kRecent };

  // The far lane's calendar (see the class comment): bucket b holds the
  // events with when_ns >> kFarShift == b.
  static constexpr int kFarShift = 30;
  static constexpr std::size_t kFarBuckets = std::size_t{1} << 14;  // ring size
  static std::int64_t FarBucket(std::int64_t when_ns) noexcept { return when_ns >> kFarShift; }
  static std::size_t FarSlot(std::int64_t bucket) noexcept {
    return static_cast<std::size_t>(static_cast<std::uint64_t>(bucket) & (kFarBuckets - 1));
  }

  // Invariant: the run and the late heap hold the events of bucket
  // far_bucket_ and no others, the ring those of (far_bucket_, far_bucket_ +
  // kFarBuckets), the overflow heap any later ones (and possibly some in the
  // ring's span, pushed when it was further off); the run or the late heap
  // is non-empty whenever the lane is.
  void PushFar(const Event& event) {
    ++far_size_;
    const std::int64_t bucket = FarBucket(event.when_ns);
    if (far_size_ == 1) {  // the lane was empty: this event is its current bucket
      far_bucket_ = bucket;
      far_run_.push_back(event);
      return;
    }
    if (bucket < far_bucket_) {
      // The current bucket had jumped over empty ones ahead of now (at the
      // start, the first pod's deletion may be hours off): this event's
      // bucket becomes the current one. Left in the late heap instead, every
      // push until the old bucket came due would sift through one ever
      // larger binary heap — millions of events, a cache miss per level.
      RewindFar(bucket);
      far_run_.push_back(event);
      return;
    }
    if (bucket == far_bucket_) {
      PushHeap(far_late_, event);
      return;
    }
    if (InRing(bucket)) {
      PushRing(bucket, event);
      return;
    }
    PushHeap(far_overflow_, event);
  }

  // Whether a push into `bucket` of a non-empty lane goes to the ring:
  // after the current bucket and within the ring's span.
  [[nodiscard]] bool InRing(std::int64_t bucket) const noexcept {
    return bucket > far_bucket_ && bucket - far_bucket_ < static_cast<std::int64_t>(kFarBuckets);
  }

  void PushRing(std::int64_t bucket, const Event& event) {
    if (far_buckets_.empty()) {
      far_buckets_.resize(kFarBuckets);
      far_occupied_.assign(kFarBuckets / 64, 0);
    }
    const std::size_t slot = FarSlot(bucket);
    far_buckets_[slot].push_back(event);
    far_occupied_[slot / 64] |= std::uint64_t{1} << (slot % 64);
    ++far_in_buckets_;
  }

  // Moves a ring slot's events to the overflow heap.
  void EvictSlot(std::size_t slot) {
    std::vector<Event>& events = far_buckets_[slot];
    far_in_buckets_ -= events.size();
    for (const Event& event : events) PushHeap(far_overflow_, event);
    events = std::vector<Event>();
    far_occupied_[slot / 64] &= ~(std::uint64_t{1} << (slot % 64));
  }

  // Makes `bucket` (< far_bucket_) the current bucket, with an empty run and
  // late heap, keeping the invariant above: the old current bucket's events
  // go to its ring slot, and the ring's events that the moved-back span no
  // longer covers, [bucket + kFarBuckets, far_bucket_ + kFarBuckets), go to
  // the overflow heap — they sit in the slots of [bucket, far_bucket_). If
  // the two are a whole ring apart, everything goes to the overflow heap.
  // O(far_bucket_ - bucket) bits plus the events moved; in a busy cluster
  // every bucket has events, so this happens at the start and after quiet
  // spells.
  void RewindFar(std::int64_t bucket) {
    assert(bucket < far_bucket_);
    const bool whole_ring_apart = far_bucket_ - bucket >= static_cast<std::int64_t>(kFarBuckets);
    if (far_in_buckets_ > 0) {
      // The occupied slots of [bucket, far_bucket_), at most the whole ring.
      const std::int64_t end =
          whole_ring_apart ? bucket + static_cast<std::int64_t>(kFarBuckets) : far_bucket_;
      std::int64_t b = bucket;
      while (b < end) {
        const std::size_t slot = FarSlot(b);
        const std::uint64_t bits = far_occupied_[slot / 64] >> (slot % 64);
        if (bits == 0) {  // no occupied slot in the rest of this word
          b += static_cast<std::int64_t>(64 - slot % 64);
          continue;
        }
        b += std::countr_zero(bits);
        if (b >= end) break;
        EvictSlot(FarSlot(b));
        ++b;
      }
    }
    // The old current bucket's slot stood for far_bucket_ + kFarBuckets,
    // outside the old span, so it is empty.
    for (const std::vector<Event>* events : {&far_run_, &far_late_}) {
      for (const Event& event : *events) {
        if (whole_ring_apart) {
          PushHeap(far_overflow_, event);
        } else {
          PushRing(far_bucket_, event);
        }
      }
    }
    far_run_.clear();
    far_late_.clear();
    far_bucket_ = bucket;
  }

  // After a far pop: when the current bucket is used up, the next non-empty
  // one (from the ring or the overflow heap) becomes the sorted run.
  void RefillFar() {
    if (!far_run_.empty() || !far_late_.empty() || far_size_ == 0) return;
    std::int64_t next = INT64_MAX;
    if (far_in_buckets_ > 0) {
      // The first occupied slot after far_bucket_'s, going round the ring.
      const std::size_t start = FarSlot(far_bucket_ + 1);
      std::size_t word = start / 64;
      std::uint64_t bits = far_occupied_[word] & (~std::uint64_t{0} << (start % 64));
      std::size_t scanned = 0;
      while (bits == 0) {
        word = (word + 1) % far_occupied_.size();
        bits = far_occupied_[word];
        ++scanned;
        assert(scanned <= far_occupied_.size());
      }
      const std::size_t slot = word * 64 + static_cast<std::size_t>(std::countr_zero(bits));
      next = far_bucket_ + 1 +
             static_cast<std::int64_t>((slot + kFarBuckets - start) & (kFarBuckets - 1));
    }
    if (!far_overflow_.empty()) next = std::min(next, FarBucket(far_overflow_.front().when_ns));
    far_bucket_ = next;
    if (far_in_buckets_ > 0) {
      const std::size_t slot = FarSlot(next);
      std::vector<Event>& bucket = far_buckets_[slot];
      if (!bucket.empty()) {
        far_in_buckets_ -= bucket.size();
        // The bucket's storage becomes the run's; the slot starts afresh, so
        // that a sparse bucket far off never holds a busy one's capacity.
        far_run_ = std::move(bucket);
        bucket = std::vector<Event>();
        far_occupied_[slot / 64] &= ~(std::uint64_t{1} << (slot % 64));
      }
    }
    while (!far_overflow_.empty() && FarBucket(far_overflow_.front().when_ns) == next) {
      far_run_.push_back(PopHeap(far_overflow_));
    }
    // Latest first: the run pops from its back.
    std::sort(far_run_.begin(), far_run_.end(), Later{});
  }

  // Moves the periodic events no later push can precede — due before now
  // plus the least lead seen — from the heap to the ring, in order; stops at
  // one that is earlier than the ring's back (it is popped from the heap).
  void Settle() {
    if (min_lead_ns_ == INT64_MAX) return;
    const std::int64_t horizon = now_ns_ + min_lead_ns_;
    while (!recent_.empty() && recent_.front().when_ns < horizon) {
      if (!settled_.empty() && Later{}(settled_.back(), recent_.front())) return;
      settled_.push_back(PopHeap(recent_));
    }
  }

  [[nodiscard]] const Event& Front(Source source) const noexcept {
    switch (source) {
      case Source::kSettled:
        return settled_.front();
      case Source::kRecent:
        return recent_.front();
      case Source::kFarRun:
        return far_run_.back();
      case Source::kFarLate:
        return far_late_.front();
      case Source::kNear:
        break;
    }
    return near_.front();
  }

  Event PopFrom(Source source) {
    Event event;
    switch (source) {
      case Source::kSettled:
        event = settled_.front();
        settled_.pop_front();
        break;
      case Source::kRecent:
        event = PopHeap(recent_);
        break;
      case Source::kFarRun:
        event = far_run_.back();
        far_run_.pop_back();
        --far_size_;
        RefillFar();
        break;
      case Source::kFarLate:
        event = PopHeap(far_late_);
        --far_size_;
        RefillFar();
        break;
      case Source::kNear:
        event = PopHeap(near_);
        break;
    }
    now_ns_ = event.when_ns;
    return event;
  }

  // The source whose front is the earliest event overall. Precondition: !empty().
  [[nodiscard]] Source FirstSource() const noexcept {
    const Event* best = nullptr;
    Source source = Source::kNear;
    const auto consider = [&](const Event& front, Source s) {
      if (best == nullptr || Later{}(*best, front)) {
        best = &front;
        source = s;
      }
    };
    if (!near_.empty()) consider(near_.front(), Source::kNear);
    if (!far_run_.empty()) consider(far_run_.back(), Source::kFarRun);
    if (!far_late_.empty()) consider(far_late_.front(), Source::kFarLate);
    if (!settled_.empty()) consider(settled_.front(), Source::kSettled);
    if (!recent_.empty()) consider(recent_.front(), Source::kRecent);
    return source;
  }

  std::vector<Event> near_;
  // The far lane (see PushFar()): the current bucket sorted latest first,
  // late pushes into it, the ring of later buckets with a bit per occupied
  // slot, and the overflow heap.
  std::vector<Event> far_run_;
  std::vector<Event> far_late_;
  std::vector<std::vector<Event>> far_buckets_;  // kFarBuckets slots, allocated on first use
  std::vector<std::uint64_t> far_occupied_;
  std::vector<Event> far_overflow_;
  std::int64_t far_bucket_ = INT64_MIN;  // the current bucket
  std::size_t far_in_buckets_ = 0;       // events in the ring
  std::size_t far_size_ = 0;             // events in the far lane
  // The periodic lane: settled events sorted by (when_ns, seq), and a heap
  // of those pushed lately (see the class comment).
  internal::RingQueue<Event> settled_;
  std::vector<Event> recent_;
  std::int64_t min_lead_ns_ = INT64_MAX;  // least when_ns - now of a periodic push
  std::uint64_t pushed_ = 0;            // all pushes
  std::uint64_t unordered_pushes_ = 0;  // pushes without an explicit order
  std::int64_t now_ns_ = INT64_MIN;  // the last popped event's time
};

}  // namespace enipool::sim

#endif  // ENIPOOL_SIM_EVENT_QUEUE_H_
