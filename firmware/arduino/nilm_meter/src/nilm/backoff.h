// When to try again after a failed push.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nilm {

// Delay before retry number `attempt` (0 = first retry): base * 2^attempt, capped at cap_ms, with "equal
// jitter": half of it fixed, half random. The random half keeps a street of meters that lost power together
// from retrying in lockstep. `random` is any 32-bit random number (esp_random()); the result is <= cap_ms.
inline std::uint32_t backoff_ms(std::uint32_t attempt, std::uint32_t base_ms, std::uint32_t cap_ms,
                                std::uint32_t random) {
  std::uint64_t delay = base_ms;
  // At most 32 doublings: enough to pass any 32-bit cap, and bounded for a zero base.
  for (std::uint32_t k = 0; k < attempt && k < 32 && delay < cap_ms; ++k) delay *= 2;
  if (delay > cap_ms) delay = cap_ms;
  const std::uint64_t fixed = delay / 2;
  const std::uint64_t spread = delay - fixed;  // the random part lies in [0, spread]
  return static_cast<std::uint32_t>(fixed + static_cast<std::uint64_t>(random) % (spread + 1));
}

// Reads an HTTP Retry-After value given in seconds (the form Home Assistant's 429 uses). Returns false for
// an absent, empty, HTTP-date or otherwise unreadable value; the caller falls back to its back-off then.
// Values above max_s are cut to max_s, so a bad server cannot silence the meter for days.
inline bool parse_retry_after_s(const char* text, std::uint32_t max_s, std::uint32_t& seconds) {
  if (text == nullptr) return false;
  while (*text == ' ' || *text == '\t') ++text;
  std::uint64_t value = 0;
  std::size_t digits = 0;
  for (; *text >= '0' && *text <= '9'; ++text, ++digits) {
    if (value <= max_s) value = value * 10 + static_cast<std::uint64_t>(*text - '0');
  }
  while (*text == ' ' || *text == '\t') ++text;
  if (digits == 0 || *text != '\0') return false;
  seconds = static_cast<std::uint32_t>(value < max_s ? value : max_s);
  return true;
}

}  // namespace nilm
