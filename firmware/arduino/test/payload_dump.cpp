// Prints, one per line, every request body the firmware core would POST during 90 simulated seconds of a
// household (a kettle cycle, a flaky reading, values at the meter's range limits, one failed attempt that is
// retried). tests/firmware/test_firmware.py parses the lines with json.loads and checks them against the
// payload contract, so the firmware and the webhook agree on the wire format.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include "config.example.h"
#include "nilm/nilm_core.h"

namespace {

using MeterOutbox = nilm::Outbox<config::kBufferSamples, config::kBatchSamples, config::kBodyBytes>;

constexpr std::int64_t kEpochMs = 1767225600000LL;  // 2026-01-01T00:00:00Z at uptime 0
constexpr std::uint64_t kClockSyncedMs = 5000;      // SNTP answers 5 s after boot
constexpr int kSeconds = 90;

MeterOutbox outbox(nilm::OutboxSettings{config::kSendPeriodMs, config::kBackoffBaseMs, config::kBackoffCapMs,
                                        config::kRetryAfterCapS});

// A 120 W base load with a 2 kW kettle from 20 s to 50 s, and readings at the meter's limits at 60..63 s.
nilm::Sample reading(int second, double& energy_wh) {
  const bool kettle = second >= 20 && second < 50;
  const double p = kettle ? 2010.4 : 120.0 + 3.0 * std::sin(second * 0.7);
  const double pf = kettle ? 1.0 : 0.62;
  const double v = 230.0 + 1.5 * std::sin(second * 0.3);
  energy_wh += p / 3600.0;
  nilm::Sample sample{static_cast<std::uint64_t>(second) * 1000, static_cast<float>(v),
                      static_cast<float>(p / (v * pf)), static_cast<float>(p),
                      std::floor(static_cast<float>(energy_wh)),
                      static_cast<float>(50.0 + 0.05 * std::sin(second * 0.1)), static_cast<float>(pf)};
  switch (second) {
    case 40:  // a partial reading: power factor and energy missing
      sample.pf = nilm::kNotANumber;
      sample.e = nilm::kNotANumber;
      break;
    case 41:  // a failed read: nothing usable, left out of the batch
      sample = nilm::Sample{sample.uptime_ms, nilm::kNotANumber, nilm::kNotANumber, nilm::kNotANumber,
                            nilm::kNotANumber, nilm::kNotANumber, nilm::kNotANumber};
      break;
    case 60:
      sample.v = 80.0f;
      sample.f = 45.0f;
      sample.pf = 0.0f;
      break;
    case 61:
      sample.v = 260.0f;
      sample.f = 65.0f;
      sample.pf = 1.0f;
      break;
    case 62:
      sample.i = 100.0f;
      sample.p = 23000.0f;
      break;
    case 63:
      sample.i = 0.0f;
      sample.p = 0.0f;
      break;
    default:
      break;
  }
  return sample;
}

std::string ack_for(std::uint32_t seq, std::size_t samples) {
  return "{\"ok\":true,\"accepted\":" + std::to_string(samples) + ",\"duplicates\":0,\"dropped\":0,\"seq\":" +
         std::to_string(seq) + "}";
}

}  // namespace

int main() {
  const std::uint8_t mac[6] = {0x24, 0x6f, 0x28, 0xa1, 0xb2, 0xc3};
  char device_id[nilm::kMaxIdLength + 1];
  if (!nilm::format_device_id(config::kDeviceIdPrefix, mac, device_id, sizeof device_id) ||
      !outbox.begin(device_id, 0x5f3a9c1eu, nilm::kFirmwareVersion)) {
    std::fprintf(stderr, "payload_dump: invalid identity\n");
    return 1;
  }
  double energy_wh = 12345.0;
  bool failed_once = false;
  for (int second = 0; second <= kSeconds; ++second) {
    const std::uint64_t now = static_cast<std::uint64_t>(second) * 1000;
    if (second < kSeconds) outbox.record(reading(second, energy_wh));
    const nilm::WallClock clock{now >= kClockSyncedMs ? kEpochMs + static_cast<std::int64_t>(now) : 0, now};
    // Flush everything at the end, as the firmware eventually would.
    while (outbox.ready(clock, second == kSeconds ? now + config::kSendPeriodMs : now)) {
      std::fwrite(outbox.body(), 1, outbox.body_length(), stdout);
      std::fputc('\n', stdout);
      if (outbox.pending_seq() == 1 && !failed_once) {
        failed_once = true;  // the second batch's first attempt times out: the retry must be identical
        outbox.on_response(-11, "", 0, nullptr, now, 0);  // HTTPC_ERROR_READ_TIMEOUT
        break;
      }
      const std::string ack = ack_for(outbox.pending_seq(), outbox.pending_samples());
      outbox.on_response(200, ack.data(), ack.size(), nullptr, now, 0);
    }
  }
  return outbox.buffered() == 0 ? 0 : 2;
}
