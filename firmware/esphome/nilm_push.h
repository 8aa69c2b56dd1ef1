// Glue between the ESPHome webhook configuration (nilm-meter-webhook.yaml) and the firmware core: one outbox
// for the whole program and small functions the YAML lambdas call. No ESPHome types here, so the host tests
// compile and exercise it too (firmware/arduino/test/test_esphome_glue.cpp).
#pragma once

#include <sys/time.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "nilm/nilm_core.h"

namespace nilm_push {

// Same sizes as the Arduino firmware's config.example.h: 30 min of 1 Hz readings, 60 per batch.
constexpr std::size_t kBufferSamples = 1800;
constexpr std::size_t kBatchSamples = 60;
constexpr std::size_t kBodyBytes = 8192;

using MeterOutbox = nilm::Outbox<kBufferSamples, kBatchSamples, kBodyBytes>;

// A function-local static: about 66 kB in static memory, created on first use (at boot).
inline MeterOutbox& outbox() {
  static MeterOutbox box(nilm::OutboxSettings{10000, 1000, 60000, 300});
  return box;
}

inline bool start(const char* device_id, std::uint32_t boot_random, const char* fw) {
  return outbox().begin(device_id, boot_random, fw);
}

inline void record(std::uint64_t uptime_ms, float v, float i, float p, float e_wh, float f, float pf) {
  outbox().record(nilm::Sample{uptime_ms, v, i, p, e_wh, f, pf});
}

// The system clock, which ESPHome's SNTP component sets; before it has, the outbox waits.
inline nilm::WallClock wall_clock(std::uint64_t uptime_ms) {
  timeval now{};
  gettimeofday(&now, nullptr);
  return nilm::WallClock{static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_usec / 1000, uptime_ms};
}

inline bool ready(std::uint64_t uptime_ms) { return outbox().ready(wall_clock(uptime_ms), uptime_ms); }

inline std::string body() { return std::string(outbox().body(), outbox().body_length()); }

inline nilm::Delivery answer(int status, const std::string& response, const std::string& retry_after,
                             std::uint64_t uptime_ms, std::uint32_t random) {
  return outbox().on_response(status, response.data(), response.size(),
                              retry_after.empty() ? nullptr : retry_after.c_str(), uptime_ms, random);
}

}  // namespace nilm_push
