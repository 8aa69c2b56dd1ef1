// Retry timing: exponential back-off with jitter and its cap; Retry-After parsing.
#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>

#include "nilm/backoff.h"

using nilm::backoff_ms;
using nilm::parse_retry_after_s;

TEST_CASE("back-off doubles from the base, half fixed and half jitter") {
  // No jitter: half the nominal delay; all jitter: the full nominal delay.
  CHECK(backoff_ms(0, 1000, 60000, 0) == 500);
  CHECK(backoff_ms(0, 1000, 60000, 500) == 1000);
  CHECK(backoff_ms(1, 1000, 60000, 0) == 1000);
  CHECK(backoff_ms(1, 1000, 60000, 1000) == 2000);
  CHECK(backoff_ms(3, 1000, 60000, 0) == 4000);
  CHECK(backoff_ms(3, 1000, 60000, 4000) == 8000);
}

TEST_CASE("back-off never exceeds the cap, however many attempts") {
  CHECK(backoff_ms(6, 1000, 60000, 0) == 30000);
  CHECK(backoff_ms(6, 1000, 60000, 30000) == 60000);
  for (std::uint32_t attempt : {7u, 20u, 31u, 32u, 64u, 1000u, 0xFFFFFFFFu}) {
    for (std::uint32_t random : {0u, 1u, 12345u, 30000u, 0xFFFFFFFFu}) {
      const std::uint32_t delay = backoff_ms(attempt, 1000, 60000, random);
      CHECK(delay >= 30000);
      CHECK(delay <= 60000);
    }
  }
}

TEST_CASE("jitter spreads retries over the whole upper half") {
  std::uint32_t lowest = 0xFFFFFFFFu;
  std::uint32_t highest = 0;
  for (std::uint32_t random = 0; random < 5000; random += 7) {
    const std::uint32_t delay = backoff_ms(2, 1000, 60000, random * 2654435761u);
    lowest = delay < lowest ? delay : lowest;
    highest = delay > highest ? delay : highest;
  }
  CHECK(lowest >= 2000);
  CHECK(highest <= 4000);
  CHECK(highest - lowest > 1500);
}

TEST_CASE("degenerate back-off settings stay bounded") {
  CHECK(backoff_ms(5, 0, 60000, 99) == 0);
  CHECK(backoff_ms(0, 5000, 1000, 0xFFFFFFFFu) <= 1000);  // a base above the cap is capped
  CHECK(backoff_ms(0xFFFFFFFFu, 0, 60000, 99) == 0);  // a zero base does not spin through the attempts
  CHECK(backoff_ms(40, 0xFFFFFFFFu, 0xFFFFFFFFu, 0) == 0x7FFFFFFFu);  // no 64-bit overflow at the top
}

TEST_CASE("Retry-After in seconds is read, bounded, and anything else refused") {
  std::uint32_t seconds = 0;
  CHECK(parse_retry_after_s("30", 300, seconds));
  CHECK(seconds == 30);
  CHECK(parse_retry_after_s(" 7 ", 300, seconds));
  CHECK(seconds == 7);
  CHECK(parse_retry_after_s("0", 300, seconds));
  CHECK(seconds == 0);
  CHECK(parse_retry_after_s("86400", 300, seconds));
  CHECK(seconds == 300);
  CHECK(parse_retry_after_s("99999999999999999999999", 300, seconds));
  CHECK(seconds == 300);
  seconds = 42;
  CHECK_FALSE(parse_retry_after_s(nullptr, 300, seconds));
  CHECK_FALSE(parse_retry_after_s("", 300, seconds));
  CHECK_FALSE(parse_retry_after_s("  ", 300, seconds));
  CHECK_FALSE(parse_retry_after_s("-5", 300, seconds));
  CHECK_FALSE(parse_retry_after_s("1.5", 300, seconds));
  CHECK_FALSE(parse_retry_after_s("Wed, 21 Oct 2026 07:28:00 GMT", 300, seconds));
  CHECK(seconds == 42);
}
