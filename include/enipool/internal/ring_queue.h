// -----------------------------------------------------------------------------
// File: internal/ring_queue.h
// -----------------------------------------------------------------------------
//
// A FIFO over one growable power-of-two buffer. Unlike std::deque it never
// frees or allocates once it has reached its high-water mark, so a steady
// stream of push/pop (the cooldown queue on the ADD/DEL hot path) touches no
// allocator. Not part of the public API.

#ifndef ENIPOOL_INTERNAL_RING_QUEUE_H_
#define ENIPOOL_INTERNAL_RING_QUEUE_H_

#include <cassert>
#include <cstddef>
#include <utility>
#include <vector>

namespace enipool::internal {

template <typename T>
class RingQueue {
 public:
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return buffer_.size(); }

  [[nodiscard]] T& front() noexcept {
    assert(size_ > 0);
    return buffer_[head_];
  }
  [[nodiscard]] const T& front() const noexcept {
    assert(size_ > 0);
    return buffer_[head_];
  }
  [[nodiscard]] const T& back() const noexcept {
    assert(size_ > 0);
    return buffer_[(head_ + size_ - 1) & (buffer_.size() - 1)];
  }

  // The i-th element from the front.
  [[nodiscard]] const T& operator[](std::size_t i) const noexcept {
    assert(i < size_);
    return buffer_[(head_ + i) & (buffer_.size() - 1)];
  }
  [[nodiscard]] T& operator[](std::size_t i) noexcept {
    assert(i < size_);
    return buffer_[(head_ + i) & (buffer_.size() - 1)];
  }

  void push_back(T value) {
    if (size_ == buffer_.size()) Grow();
    buffer_[(head_ + size_) & (buffer_.size() - 1)] = std::move(value);
    ++size_;
  }

  void pop_front() noexcept {
    assert(size_ > 0);
    head_ = (head_ + 1) & (buffer_.size() - 1);
    --size_;
  }

  void clear() noexcept {
    head_ = 0;
    size_ = 0;
  }

 private:
  void Grow() {
    std::vector<T> bigger(buffer_.empty() ? 16 : buffer_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move((*this)[i]);
    buffer_.swap(bigger);
    head_ = 0;
  }

  std::vector<T> buffer_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace enipool::internal

#endif  // ENIPOOL_INTERNAL_RING_QUEUE_H_
