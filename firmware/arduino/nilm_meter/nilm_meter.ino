// NILM meter: ESP32 + PZEM-004T v3 + SSD1306 OLED. Reads the meter once per second, shows the values, and
// pushes batches of readings to the NILM integration's webhook in Home Assistant (docs/CONTRACTS.md,
// "Meter push payload"). Readings wait in RAM while Wi-Fi or Home Assistant is down.
//
// This file only glues hardware to the portable core in src/nilm/ (buffering, batching, JSON, back-off,
// acknowledgement checks), which is unit-tested on a PC: see firmware/README.md.
//
// Tasks: a sampler task reads the PZEM and draws the OLED every second; loop() does Wi-Fi and HTTP, whose
// blocking POST must not delay the readings. The outbox is shared, so both take outbox_lock around it.

#if !__has_include("config.h")
#error "Copy config.example.h to config.h and fill in your Wi-Fi and Home Assistant settings."
#endif
#include "config.h"

#include <Adafruit_GFX.h>
#include <Adafruit_SSD1306.h>
#include <Arduino.h>
#include <HTTPClient.h>
#include <PZEM004Tv30.h>
#include <WiFi.h>
#include <WiFiClientSecure.h>
#include <Wire.h>
#include <esp_mac.h>
#include <esp_random.h>
#include <esp_timer.h>
#include <sys/time.h>

#include <cmath>
#include <cstring>

#include "src/nilm/nilm_core.h"

using MeterOutbox = nilm::Outbox<config::kBufferSamples, config::kBatchSamples, config::kBodyBytes>;

// Static, not heap: about 66 kB that must exist for the whole uptime.
static MeterOutbox outbox(nilm::OutboxSettings{config::kSendPeriodMs, config::kBackoffBaseMs,
                                               config::kBackoffCapMs, config::kRetryAfterCapS});
static SemaphoreHandle_t outbox_lock;

static PZEM004Tv30 pzem(Serial2, config::kPzemRxPin, config::kPzemTxPin, config::kPzemAddress);
static Adafruit_SSD1306 oled(config::kOledWidth, config::kOledHeight, &Wire, -1);
static bool oled_present = false;

static WiFiClient plain_client;
static WiFiClientSecure tls_client;
static HTTPClient http;

// What the OLED's status page shows, copied out of the outbox under the lock.
struct Status {
  std::size_t buffered;
  std::uint64_t dropped;
  std::uint64_t delivered;
  nilm::Delivery last_delivery;
  int last_status;
};

static std::uint64_t uptime_ms() { return static_cast<std::uint64_t>(esp_timer_get_time() / 1000); }

static nilm::WallClock wall_clock() {
  timeval now{};
  gettimeofday(&now, nullptr);
  return nilm::WallClock{static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_usec / 1000, uptime_ms()};
}

template <typename Action>
static void with_outbox(Action action) {
  xSemaphoreTake(outbox_lock, portMAX_DELAY);
  action();
  xSemaphoreGive(outbox_lock);
}

// One reading of all six values. The library caches a Modbus transaction for 200 ms, so the six getters
// cost one exchange; but each getter retries a failed read for 100 ms, so a dead meter is detected on the
// voltage alone.
static nilm::Sample read_meter() {
  const std::uint64_t t = uptime_ms();
  const float v = pzem.voltage();
  if (std::isnan(v)) {
    return nilm::Sample{t, nilm::kNotANumber, nilm::kNotANumber, nilm::kNotANumber,
                        nilm::kNotANumber, nilm::kNotANumber, nilm::kNotANumber};
  }
  return nilm::Sample{t, v, pzem.current(), pzem.power(), nilm::kwh_to_wh(pzem.energy()), pzem.frequency(),
                      pzem.pf()};
}

// Four pages in turn: power and energy large; V, I, f, PF; derived S and |Q|; link status.
static void show(const nilm::Sample& s, bool read_ok, const Status& status, std::uint32_t read_failures) {
  if (!oled_present) return;
  const std::uint32_t page = static_cast<std::uint32_t>(uptime_ms() / config::kOledPageMs) % 4;
  oled.clearDisplay();
  oled.setTextColor(SSD1306_WHITE);
  oled.setCursor(0, 0);
  oled.setTextSize(1);
  if (!read_ok && page != 3) {
    oled.printf("PZEM: no reading\n(%lu failed)\n\nIs the PZEM powered\nfrom mains?",
                static_cast<unsigned long>(read_failures));
  } else if (page == 0) {
    oled.println("Power");
    oled.setTextSize(2);
    oled.printf("%.1f W\n", s.p);
    oled.setTextSize(1);
    oled.printf("\nEnergy %.3f kWh", s.e / 1000.0f);
  } else if (page == 1) {
    oled.printf("Voltage %7.1f V\nCurrent %7.3f A\nFreq    %7.1f Hz\nPF      %7.2f", s.v, s.i, s.f, s.pf);
  } else if (page == 2) {
    oled.printf("Apparent %7.1f VA\nReactive %7.1f var\n(|Q| from V, I, P)", nilm::apparent_power(s.v, s.i),
                nilm::reactive_power(s.v, s.i, s.p));
  } else {
    oled.printf("WiFi %s\nHA   %s (%d)\nbuffered %u\ndropped  %lu\nsent     %lu", WiFi.isConnected() ? "up" : "down",
                nilm::delivery_name(status.last_delivery), status.last_status,
                static_cast<unsigned>(status.buffered), static_cast<unsigned long>(status.dropped),
                static_cast<unsigned long>(status.delivered));
  }
  oled.display();
}

static void sampler_task(void*) {
  std::uint32_t read_failures = 0;
  TickType_t wake = xTaskGetTickCount();
  for (;;) {
    const nilm::Sample sample = read_meter();
    const bool read_ok = nilm::has_power(sample);
    if (!read_ok) ++read_failures;
    Status status{};
    with_outbox([&] {
      if (read_ok) outbox.record(sample);
      status = Status{outbox.buffered(), outbox.dropped_oldest(), outbox.stats().batches_delivered,
                      outbox.stats().last_delivery, outbox.stats().last_status};
    });
    show(sample, read_ok, status, read_failures);
    vTaskDelayUntil(&wake, pdMS_TO_TICKS(config::kSampleIntervalMs));
  }
}

// Copies the answer's body when it can be an acknowledgement (those are tiny); anything else reads as none.
static std::size_t read_answer(char* out, std::size_t capacity) {
  const int size = http.getSize();  // Content-Length, or -1 for chunked
  if (size >= static_cast<int>(capacity)) return 0;
  const String text = http.getString();
  const std::size_t n = text.length() < capacity ? text.length() : capacity - 1;
  std::memcpy(out, text.c_str(), n);
  out[n] = '\0';
  return n;
}

// Posts the pending batch once and hands the answer to the outbox, which decides about retries.
static void post_pending_batch() {
  static const char* kCollectedHeaders[] = {"Retry-After"};
  static char answer[512];
  std::size_t answer_length = 0;
  char retry_after[16] = "";
  const bool tls = std::strncmp(config::kWebhookUrl, "https://", 8) == 0;
  WiFiClient& client = tls ? static_cast<WiFiClient&>(tls_client) : plain_client;
  int status = HTTPC_ERROR_CONNECTION_REFUSED;
  if (http.begin(client, config::kWebhookUrl)) {
    http.setConnectTimeout(config::kHttpConnectTimeoutMs);
    http.setTimeout(config::kHttpTimeoutMs);
    http.setReuse(true);  // keep-alive: one TCP connection for a whole backlog
    http.addHeader("Content-Type", "application/json");
    http.addHeader("X-NILM-Key", config::kApiKey);
    http.collectHeaders(kCollectedHeaders, 1);
    // Only this task touches the body buffer, so it is read without the lock.
    status = http.POST(reinterpret_cast<std::uint8_t*>(const_cast<char*>(outbox.body())), outbox.body_length());
    if (status > 0) {
      answer_length = read_answer(answer, sizeof answer);
      std::strncpy(retry_after, http.header("Retry-After").c_str(), sizeof retry_after - 1);
    }
    http.end();
  }
  std::uint32_t seq = 0;
  std::size_t samples = 0;
  nilm::Delivery delivery = nilm::Delivery::kNoAck;
  with_outbox([&] {
    seq = outbox.pending_seq();
    samples = outbox.pending_samples();
    delivery = outbox.on_response(status, answer, answer_length, retry_after[0] != '\0' ? retry_after : nullptr,
                                  uptime_ms(), esp_random());
  });
  Serial.printf("batch seq %lu (%u samples): HTTP %d, %s\n", static_cast<unsigned long>(seq),
                static_cast<unsigned>(samples), status, nilm::delivery_name(delivery));
}

void setup() {
  Serial.begin(115200);
  outbox_lock = xSemaphoreCreateMutex();

  Wire.begin(config::kOledSdaPin, config::kOledSclPin);
  oled_present = oled.begin(SSD1306_SWITCHCAPVCC, config::kOledAddress);
  if (!oled_present) Serial.println("OLED not found: running without display");

  WiFi.mode(WIFI_STA);
  WiFi.setAutoReconnect(true);
  WiFi.begin(config::kWifiSsid, config::kWifiPassword);
  configTime(0, 0, config::kNtpServer1, config::kNtpServer2);  // UTC; the payload carries Unix time
  if (config::kRootCaPem != nullptr) {
    tls_client.setCACert(config::kRootCaPem);
  } else {
    tls_client.setInsecure();
  }

  std::uint8_t mac[6] = {};
  esp_efuse_mac_get_default(mac);
  char device_id[nilm::kMaxIdLength + 1];
  // The boot id needs a true random number: esp_random() is one once the radio is on (WiFi.begin above).
  if (!nilm::format_device_id(config::kDeviceIdPrefix, mac, device_id, sizeof device_id) ||
      !outbox.begin(device_id, esp_random(), nilm::kFirmwareVersion)) {
    Serial.println("config.h: kDeviceIdPrefix must be letters, digits, '_', '.' or '-' (at most 57)");
  }
  Serial.printf("NILM meter %s, device %s, boot %s\n", nilm::kFirmwareVersion, outbox.device_id(),
                outbox.boot_id());

  xTaskCreatePinnedToCore(sampler_task, "sampler", 6144, nullptr, 2, nullptr, 1);
}

void loop() {
  if (!WiFi.isConnected()) {
    delay(250);  // readings keep arriving in the buffer; Wi-Fi reconnects by itself
    return;
  }
  bool ready = false;
  with_outbox([&] { ready = outbox.ready(wall_clock(), uptime_ms()); });
  if (ready) {
    post_pending_batch();
  } else {
    delay(50);
  }
}
