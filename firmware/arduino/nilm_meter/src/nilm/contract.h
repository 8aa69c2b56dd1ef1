// Limits of the meter push payload that the Home Assistant webhook enforces (docs/CONTRACTS.md,
// "Meter push payload"). The firmware stays inside them so a batch is never refused for its size.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nilm {

constexpr std::size_t kMaxBatchSamples = 600;   // more samples per batch: 413
constexpr std::size_t kMaxBodyBytes = 65536;    // longer body: 413
constexpr std::size_t kMaxIdLength = 64;        // device_id and boot_id: 1..64 of [A-Za-z0-9_.-]
constexpr std::size_t kMaxFwLength = 32;        // optional firmware version string

// Decimals sent per field: the PZEM-004T v3 resolution (0.1 V, 1 mA, 0.1 W, 1 Wh, 0.1 Hz, 0.01).
constexpr int kDecimalsVoltage = 1;
constexpr int kDecimalsCurrent = 3;
constexpr int kDecimalsPower = 1;
constexpr int kDecimalsEnergy = 0;
constexpr int kDecimalsFrequency = 1;
constexpr int kDecimalsPowerFactor = 2;

}  // namespace nilm
