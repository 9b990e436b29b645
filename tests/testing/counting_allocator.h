// -----------------------------------------------------------------------------
// File: tests/testing/counting_allocator.h
// -----------------------------------------------------------------------------
//
// Replaces the global operator new/delete of the executable that includes it
// with versions that count allocations, so a test or benchmark can prove a
// path allocation-free (a deterministic count, not a timing).
//
// Include it from exactly ONE source file of an executable: it defines the
// replacement operators, which a program may define only once.
//
// Example:
//
//   #include "testing/counting_allocator.h"
//   enipool::testing::AllocationCounter counter;   // counts from here
//   DoTheHotPath();
//   CHECK(counter.count() == 0);

#ifndef ENIPOOL_TESTS_TESTING_COUNTING_ALLOCATOR_H_
#define ENIPOOL_TESTS_TESTING_COUNTING_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace enipool::testing {

// Every allocation made through operator new while counting is on (it is
// on from start-up; a test can switch it off around its framework's own
// bookkeeping).
inline bool allocation_counting = true;
inline std::int64_t allocations = 0;

// Counts the allocations made during its lifetime.
class AllocationCounter {
 public:
  AllocationCounter() : start_(allocations) {}
  [[nodiscard]] std::int64_t count() const { return allocations - start_; }

 private:
  std::int64_t start_;
};

namespace counting_allocator_internal {

inline void* Allocate(std::size_t size) {
  if (allocation_counting) ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

inline void* AllocateAligned(std::size_t size, std::align_val_t align) {
  if (allocation_counting) ++allocations;
  const auto alignment = static_cast<std::size_t>(align);
  const std::size_t rounded = (size + alignment - 1) / alignment * alignment;
  if (void* p = std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded)) return p;
  throw std::bad_alloc();
}

inline void* AllocateNoThrow(std::size_t size) noexcept {
  if (allocation_counting) ++allocations;
  return std::malloc(size == 0 ? 1 : size);
}

}  // namespace counting_allocator_internal
}  // namespace enipool::testing

void* operator new(std::size_t size) {
  return enipool::testing::counting_allocator_internal::Allocate(size);
}
void* operator new[](std::size_t size) {
  return enipool::testing::counting_allocator_internal::Allocate(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return enipool::testing::counting_allocator_internal::AllocateNoThrow(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return enipool::testing::counting_allocator_internal::AllocateNoThrow(size);
}
void* operator new(std::size_t size, std::align_val_t align) {
  return enipool::testing::counting_allocator_internal::AllocateAligned(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return enipool::testing::counting_allocator_internal::AllocateAligned(size, align);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

#endif  // ENIPOOL_TESTS_TESTING_COUNTING_ALLOCATOR_H_
