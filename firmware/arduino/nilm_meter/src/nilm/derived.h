// Values derived from what the PZEM-004T measures (V, I, P are measured; S and |Q| are not).
#pragma once

#include <cmath>
#include <limits>

namespace nilm {

constexpr float kNotANumber = std::numeric_limits<float>::quiet_NaN();

// S = V * I in VA; NaN when either input is missing.
inline float apparent_power(float v, float i) {
  if (!std::isfinite(v) || !std::isfinite(i)) return kNotANumber;
  return static_cast<float>(static_cast<double>(v) * static_cast<double>(i));
}

// |Q| = sqrt(S^2 - P^2) in var. The PZEM's power factor is unsigned, so the sign (inductive or capacitive)
// is unknown. P can exceed V*I by the meter's resolution at low load; that clamps to 0 instead of NaN.
// The formula is the one the integration uses (MeterReading.reactive_power), so the OLED and HA agree.
inline float reactive_power(float v, float i, float p) {
  if (!std::isfinite(v) || !std::isfinite(i) || !std::isfinite(p)) return kNotANumber;
  const double s = static_cast<double>(v) * static_cast<double>(i);
  const double d = s * s - static_cast<double>(p) * static_cast<double>(p);
  return d > 0.0 ? static_cast<float>(std::sqrt(d)) : 0.0f;
}

// The PZEM004Tv30 library reports energy in kWh (a float made from the meter's integer Wh counter); the
// payload carries Wh. Rounding recovers the counter exactly: float keeps 1 Wh steps up to 9999.99 kWh.
inline float kwh_to_wh(float kwh) {
  if (!std::isfinite(kwh)) return kNotANumber;
  return static_cast<float>(std::floor(static_cast<double>(kwh) * 1000.0 + 0.5));
}

}  // namespace nilm
