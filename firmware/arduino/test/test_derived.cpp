// Derived electrical values: apparent power, |Q| (with the resolution clamp), kWh -> Wh.
#include <doctest/doctest.h>

#include <cmath>

#include "nilm/derived.h"

using nilm::apparent_power;
using nilm::kNotANumber;
using nilm::kwh_to_wh;
using nilm::reactive_power;

TEST_CASE("apparent power is V times I") {
  CHECK(apparent_power(230.0f, 2.0f) == doctest::Approx(460.0));
  CHECK(apparent_power(230.0f, 0.0f) == 0.0f);
  CHECK(std::isnan(apparent_power(kNotANumber, 1.0f)));
  CHECK(std::isnan(apparent_power(230.0f, INFINITY)));
}

TEST_CASE("reactive power is sqrt(S^2 - P^2)") {
  // 230 V * 2 A = 460 VA at P = 368 W (PF 0.8) gives |Q| = 276 var.
  CHECK(reactive_power(230.0f, 2.0f, 368.0f) == doctest::Approx(276.0).epsilon(1e-5));
  CHECK(reactive_power(230.0f, 2.0f, 460.0f) == doctest::Approx(0.0).epsilon(1e-6));
  CHECK(reactive_power(230.0f, 0.0f, 0.0f) == 0.0f);
}

TEST_CASE("reactive power clamps to zero when P exceeds V*I by resolution") {
  // 230 V * 0.1 A = 23 VA, but the meter reports 23.5 W: no imaginary var.
  CHECK(reactive_power(230.0f, 0.1f, 23.5f) == 0.0f);
}

TEST_CASE("reactive power of a missing input is NaN") {
  CHECK(std::isnan(reactive_power(kNotANumber, 1.0f, 100.0f)));
  CHECK(std::isnan(reactive_power(230.0f, kNotANumber, 100.0f)));
  CHECK(std::isnan(reactive_power(230.0f, 1.0f, kNotANumber)));
  CHECK(std::isnan(reactive_power(230.0f, 1.0f, -INFINITY)));
}

TEST_CASE("kWh from the PZEM library becomes the meter's integer Wh counter") {
  CHECK(kwh_to_wh(12.345f) == 12345.0f);
  CHECK(kwh_to_wh(0.0f) == 0.0f);
  // The largest counter value, 9999.99 kWh, still resolves to whole Wh.
  CHECK(kwh_to_wh(9999.99f) == 9999990.0f);
  CHECK(kwh_to_wh(0.0004f) == 0.0f);
  CHECK(std::isnan(kwh_to_wh(kNotANumber)));
  CHECK(std::isnan(kwh_to_wh(INFINITY)));
}
