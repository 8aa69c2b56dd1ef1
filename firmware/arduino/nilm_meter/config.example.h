// User settings of the NILM meter's Arduino firmware, all in one place.
// Copy this file to config.h (git-ignored, so your Wi-Fi password and API key stay out of the repository)
// and fill in the first section. Everything below it has working defaults.
#pragma once

#include <cstddef>
#include <cstdint>

// --- Fill in -------------------------------------------------------------------------------------------
// Home Assistant: Settings > Devices & services > Add integration > NILM > "An ESP32 meter pushing over
// HTTP". Its "Meter settings" page shows these two lines ready to paste over the placeholders.
#define NILM_URL "http://homeassistant.local:8123/api/webhook/paste-the-webhook-id"
#define NILM_API_KEY "paste-the-api-key"

namespace config {

constexpr const char* kWifiSsid = "your-wifi";
constexpr const char* kWifiPassword = "your-wifi-password";
constexpr const char* kWebhookUrl = NILM_URL;
constexpr const char* kApiKey = NILM_API_KEY;
// For an https:// URL: the server's root CA certificate (PEM). nullptr skips certificate checks, which is
// only acceptable on your own LAN. Plain http:// on the LAN is cheaper (no 40 kB TLS session).
constexpr const char* kRootCaPem = nullptr;

// --- Identity and time ---------------------------------------------------------------------------------
constexpr const char* kDeviceIdPrefix = "nilm-meter";  // device id = prefix + last 3 MAC bytes
constexpr const char* kNtpServer1 = "pool.ntp.org";
constexpr const char* kNtpServer2 = "time.google.com";

// --- Wiring (see firmware/README.md) -------------------------------------------------------------------
constexpr int kPzemRxPin = 16;  // ESP32 RX <- PZEM TX
constexpr int kPzemTxPin = 17;  // ESP32 TX -> PZEM RX
constexpr std::uint8_t kPzemAddress = 0xF8;  // the general address: fine for one PZEM on the bus
constexpr int kOledSdaPin = 21;
constexpr int kOledSclPin = 22;
constexpr std::uint8_t kOledAddress = 0x3C;
constexpr int kOledWidth = 128;
constexpr int kOledHeight = 64;

// --- Timing --------------------------------------------------------------------------------------------
constexpr std::uint32_t kSampleIntervalMs = 1000;  // the PZEM refreshes about once per second
constexpr std::uint32_t kSendPeriodMs = 10000;     // a batch leaves when its oldest sample is this old
constexpr std::uint32_t kBackoffBaseMs = 1000;     // first retry after a failure (then doubling, jittered)
constexpr std::uint32_t kBackoffCapMs = 60000;     // longest retry delay
constexpr std::uint32_t kRetryAfterCapS = 300;     // longest wait a 429 can impose
constexpr std::uint32_t kHttpConnectTimeoutMs = 2000;
constexpr std::uint16_t kHttpTimeoutMs = 3000;
constexpr std::uint32_t kOledPageMs = 4000;        // each OLED page shows this long

// --- Buffering -----------------------------------------------------------------------------------------
// Readings kept while Wi-Fi or Home Assistant is down: 32 bytes each, 1800 = 30 min at 1 Hz = 57.6 kB of
// RAM. When full, the oldest readings are dropped and counted.
constexpr std::size_t kBufferSamples = 1800;
constexpr std::size_t kBatchSamples = 60;  // at most 600 (the webhook's limit)
constexpr std::size_t kBodyBytes = 8192;   // JSON body buffer: about 90 bytes per sample

}  // namespace config
