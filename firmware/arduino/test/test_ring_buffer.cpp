// RingBuffer: FIFO order, wrap-around, and counting what a full buffer drops.
#include <doctest/doctest.h>

#include "nilm/ring_buffer.h"

using nilm::RingBuffer;

TEST_CASE("ring buffer keeps items oldest first") {
  RingBuffer<int, 4> ring;
  CHECK(ring.empty());
  CHECK(ring.capacity() == 4);
  CHECK(ring.peek(0) == nullptr);
  CHECK(ring.push(1));
  CHECK(ring.push(2));
  CHECK(ring.size() == 2);
  CHECK_FALSE(ring.full());
  CHECK(*ring.peek(0) == 1);
  CHECK(*ring.peek(1) == 2);
  CHECK(ring.peek(2) == nullptr);
}

TEST_CASE("full ring buffer drops the oldest and counts each drop") {
  RingBuffer<int, 3> ring;
  for (int k = 1; k <= 3; ++k) CHECK(ring.push(k));
  CHECK(ring.full());
  CHECK(ring.dropped() == 0);
  CHECK_FALSE(ring.push(4));
  CHECK_FALSE(ring.push(5));
  CHECK(ring.size() == 3);
  CHECK(ring.dropped() == 2);
  CHECK(*ring.peek(0) == 3);
  CHECK(*ring.peek(1) == 4);
  CHECK(*ring.peek(2) == 5);
}

TEST_CASE("ring buffer wraps around its storage many times") {
  RingBuffer<int, 5> ring;
  int next_in = 0;
  int next_out = 0;
  for (int round = 0; round < 50; ++round) {
    for (int k = 0; k < 3; ++k) ring.push(next_in++);
    REQUIRE(ring.size() == 3);
    for (std::size_t k = 0; k < ring.size(); ++k) CHECK(*ring.peek(k) == next_out + static_cast<int>(k));
    CHECK(ring.pop_front(3) == 3);
    next_out += 3;
  }
  CHECK(ring.empty());
  CHECK(ring.dropped() == 0);
}

TEST_CASE("pop_front removes at most what is there") {
  RingBuffer<int, 4> ring;
  CHECK(ring.pop_front(2) == 0);
  ring.push(7);
  ring.push(8);
  CHECK(ring.pop_front(1) == 1);
  CHECK(*ring.peek(0) == 8);
  CHECK(ring.pop_front(10) == 1);
  CHECK(ring.empty());
  CHECK(ring.pop_front(0) == 0);
}

TEST_CASE("a one-slot ring buffer always holds the newest item") {
  RingBuffer<int, 1> ring;
  CHECK(ring.push(1));
  CHECK_FALSE(ring.push(2));
  CHECK(*ring.peek(0) == 2);
  CHECK(ring.dropped() == 1);
}
