// Fixed-size FIFO in static memory: keeps the newest samples while Wi-Fi or Home Assistant is down.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nilm {

template <typename T, std::size_t N>
class RingBuffer {
  static_assert(N > 0, "a ring buffer needs room for at least one item");

 public:
  // Appends an item. When full, the oldest item is overwritten and counted as dropped: an outage longer
  // than the buffer loses the oldest readings, never the newest. Returns false when something was dropped.
  bool push(const T& item) {
    bool kept_all = true;
    if (count_ == N) {
      head_ = (head_ + 1) % N;
      --count_;
      ++dropped_;
      kept_all = false;
    }
    items_[(head_ + count_) % N] = item;
    ++count_;
    return kept_all;
  }

  // The k-th oldest item (0 = oldest), or nullptr when there are not that many.
  const T* peek(std::size_t k) const { return k < count_ ? &items_[(head_ + k) % N] : nullptr; }

  // Removes up to n of the oldest items; returns how many were removed.
  std::size_t pop_front(std::size_t n) {
    const std::size_t removed = n < count_ ? n : count_;
    head_ = (head_ + removed) % N;
    count_ -= removed;
    return removed;
  }

  std::size_t size() const { return count_; }
  static constexpr std::size_t capacity() { return N; }
  bool empty() const { return count_ == 0; }
  bool full() const { return count_ == N; }
  // Items overwritten since start: the data lost to a long outage.
  std::uint64_t dropped() const { return dropped_; }

 private:
  T items_[N]{};
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace nilm
