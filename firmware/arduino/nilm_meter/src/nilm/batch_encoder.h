// Builds the JSON body of one push batch (docs/CONTRACTS.md, "Meter push payload"):
// {"device_id":..,"boot_id":..,"seq":..,"fw":..,"samples":[{"t":..,"v":..,"i":..,"p":..,"e":..,"f":..,"pf":..}]}
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "contract.h"
#include "identity.h"
#include "json_writer.h"
#include "sample.h"

namespace nilm {

// Unix time before 2024-01-01 means SNTP has not answered yet (the ESP32 clock starts at 1970).
constexpr std::int64_t kMinValidEpochMs = 1704067200000LL;

// A wall-clock reading and the device uptime taken at the same moment: maps sample uptimes to Unix time.
struct WallClock {
  std::int64_t epoch_ms;
  std::uint64_t uptime_ms;
};

inline bool wall_clock_valid(const WallClock& clock) { return clock.epoch_ms >= kMinValidEpochMs; }

// Unix time of a sample, or -1 when it cannot be known (no valid clock, or a sample from the clock's future).
inline std::int64_t sample_epoch_ms(const Sample& sample, const WallClock& clock) {
  if (!wall_clock_valid(clock) || sample.uptime_ms > clock.uptime_ms) return -1;
  const std::uint64_t age_ms = clock.uptime_ms - sample.uptime_ms;
  if (age_ms > static_cast<std::uint64_t>(clock.epoch_ms - kMinValidEpochMs)) return -1;
  return clock.epoch_ms - static_cast<std::int64_t>(age_ms);
}

struct BatchHeader {
  const char* device_id;
  const char* boot_id;
  std::uint32_t seq;
  const char* fw;  // nullptr: left out
};

inline bool valid_header(const BatchHeader& header) {
  return valid_id(header.device_id) && valid_id(header.boot_id) &&
         (header.fw == nullptr || std::strlen(header.fw) <= kMaxFwLength);
}

enum class EncodeError : std::uint8_t { kNone, kBadHeader, kNoRoom };

struct EncodeResult {
  EncodeError error = EncodeError::kNone;
  std::size_t length = 0;   // bytes of JSON written (without the NUL)
  std::size_t encoded = 0;  // samples in the body
  std::size_t skipped = 0;  // samples left out: no finite power or no known time
  // The oldest samples the body accounts for; the caller removes them from its buffer.
  std::size_t consumed() const { return encoded + skipped; }
  bool ok() const { return error == EncodeError::kNone; }
};

// Longest possible header and sample text, so a buffer can be sized to always take one sample.
constexpr std::size_t kMaxHeaderLength = 60 + 2 * kMaxIdLength + 20 + 6 * kMaxFwLength;
constexpr std::size_t kMaxSampleLength = 40 + 6 * (8 + kMaxNumberLength);

namespace detail {

inline void optional_field(JsonWriter& out, const char* key, float value, int decimals) {
  const std::size_t before = out.mark();
  out.raw(key);
  if (!out.fixed(value, decimals)) out.rollback(before);  // NaN: field absent, the rest of the sample kept
}

inline void sample_object(JsonWriter& out, const Sample& sample, std::int64_t epoch_ms) {
  out.raw("{\"t\":");
  out.epoch_seconds(epoch_ms);
  optional_field(out, ",\"v\":", sample.v, kDecimalsVoltage);
  optional_field(out, ",\"i\":", sample.i, kDecimalsCurrent);
  out.raw(",\"p\":");
  out.fixed(sample.p, kDecimalsPower);
  optional_field(out, ",\"e\":", sample.e, kDecimalsEnergy);
  optional_field(out, ",\"f\":", sample.f, kDecimalsFrequency);
  optional_field(out, ",\"pf\":", sample.pf, kDecimalsPowerFactor);
  out.raw("}");
}

}  // namespace detail

// Encodes up to max_samples of the oldest samples of `samples` (anything with size() and peek(k), such as
// RingBuffer) into out[capacity]. Stops early, never truncating a sample, when the buffer is full.
template <typename Samples>
EncodeResult encode_batch(const BatchHeader& header, const Samples& samples, std::size_t max_samples,
                          const WallClock& clock, char* out, std::size_t capacity) {
  EncodeResult result;
  if (!valid_header(header)) {
    result.error = EncodeError::kBadHeader;
    return result;
  }
  JsonWriter json(out, capacity);
  json.raw("{\"device_id\":");
  json.string(header.device_id);
  json.raw(",\"boot_id\":");
  json.string(header.boot_id);
  json.raw(",\"seq\":");
  json.unsigned_integer(header.seq);
  if (header.fw != nullptr) {
    json.raw(",\"fw\":");
    json.string(header.fw);
  }
  json.raw(",\"samples\":[");
  constexpr std::size_t kClosing = 2;  // "]}"
  if (!json.ok() || json.remaining() < kClosing) {
    result.error = EncodeError::kNoRoom;
    return result;
  }
  const std::size_t limit = max_samples < kMaxBatchSamples ? max_samples : kMaxBatchSamples;
  for (std::size_t k = 0; k < samples.size() && result.encoded < limit; ++k) {
    const Sample& sample = *samples.peek(k);
    const std::int64_t epoch_ms = sample_epoch_ms(sample, clock);
    if (!has_power(sample) || epoch_ms < 0) {
      ++result.skipped;
      continue;
    }
    const std::size_t before = json.mark();
    if (result.encoded > 0) json.raw(",");
    detail::sample_object(json, sample, epoch_ms);
    if (!json.ok() || json.remaining() < kClosing) {
      json.rollback(before);
      break;
    }
    ++result.encoded;
  }
  if (result.encoded == 0 && result.skipped < samples.size() && limit > 0) {
    result.error = EncodeError::kNoRoom;  // not even one sample fits: the buffer is too small
    return result;
  }
  json.raw("]}");
  result.length = json.length();
  return result;
}

}  // namespace nilm
