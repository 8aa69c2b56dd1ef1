// Sample factories shared by the host tests.
#pragma once

#include <cmath>
#include <cstdint>

#include "nilm/sample.h"

namespace test_samples {

// 2026-01-01T00:00:00Z, the wall clock the tests pretend SNTP gave.
constexpr std::int64_t kEpochMs = 1767225600000LL;

inline nilm::Sample reading(std::uint64_t uptime_ms, float p = 250.3f) {
  return nilm::Sample{uptime_ms, 230.1f, 1.234f, p, 12345.0f, 50.0f, 0.88f};
}

}  // namespace test_samples
