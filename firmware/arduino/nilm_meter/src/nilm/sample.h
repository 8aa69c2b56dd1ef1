// One meter reading as the firmware keeps it until Home Assistant acknowledges it.
#pragma once

#include <cmath>
#include <cstdint>

namespace nilm {

struct Sample {
  // Monotonic device time of the reading. It is mapped to Unix time when the batch is built, so readings
  // taken before SNTP answered still get a correct timestamp.
  std::uint64_t uptime_ms;
  float v;   // V
  float i;   // A
  float p;   // W (the only value a sample cannot do without)
  float e;   // Wh, the PZEM's energy counter
  float f;   // Hz
  float pf;  // 0..1 (the PZEM's power factor is unsigned)
};

// A reading without a finite active power carries nothing the webhook can use.
inline bool has_power(const Sample& sample) { return std::isfinite(sample.p); }

}  // namespace nilm
