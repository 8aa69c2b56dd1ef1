// The example configuration builds against the core and stays inside the payload contract.
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <string>

#include "config.example.h"
#include "nilm/nilm_core.h"
#include "samples.h"

using MeterOutbox = nilm::Outbox<config::kBufferSamples, config::kBatchSamples, config::kBodyBytes>;

TEST_CASE("the example configuration makes a working outbox") {
  // The ESP32 keeps the outbox in static memory; the heap stands in for it here.
  auto box = std::make_unique<MeterOutbox>(nilm::OutboxSettings{
      config::kSendPeriodMs, config::kBackoffBaseMs, config::kBackoffCapMs, config::kRetryAfterCapS});
  const std::uint8_t mac[6] = {0x24, 0x6f, 0x28, 0xa1, 0xb2, 0xc3};
  char device_id[nilm::kMaxIdLength + 1];
  REQUIRE(nilm::format_device_id(config::kDeviceIdPrefix, mac, device_id, sizeof device_id));
  REQUIRE(box->begin(device_id, 0xdeadbeefu, nilm::kFirmwareVersion));
  for (std::uint64_t s = 0; s < config::kBufferSamples + 10; ++s) box->record(test_samples::reading(s * 1000));
  CHECK(box->dropped_oldest() == 10);
  const std::uint64_t now = (config::kBufferSamples + 10) * 1000;
  REQUIRE(box->ready(nilm::WallClock{test_samples::kEpochMs, now}, now));
  CHECK(box->pending_samples() == config::kBatchSamples);
  CHECK(box->body_length() < config::kBodyBytes);
}

TEST_CASE("the example configuration's values are sane") {
  CHECK(config::kBatchSamples <= nilm::kMaxBatchSamples);
  CHECK(config::kBodyBytes <= nilm::kMaxBodyBytes);
  CHECK(config::kSendPeriodMs >= config::kSampleIntervalMs);
  CHECK(config::kBackoffBaseMs <= config::kBackoffCapMs);
  CHECK(config::kHttpTimeoutMs < config::kSendPeriodMs);  // a blocked POST must not stall batching
  CHECK(std::strlen(nilm::kFirmwareVersion) <= nilm::kMaxFwLength);
  CHECK(std::string(config::kWebhookUrl).rfind("http", 0) == 0);
  CHECK(std::string(config::kWebhookUrl).find("/api/webhook/") != std::string::npos);
}
