// Outbox: batching cadence, at-least-once retries of the same body, back-off, rejections, rate limits,
// keeping samples through an outage, and a reboot.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "nilm/outbox.h"
#include "samples.h"

using nilm::Delivery;
using nilm::Outbox;
using nilm::OutboxSettings;
using nilm::WallClock;
using test_samples::kEpochMs;
using test_samples::reading;

namespace {

using TestOutbox = Outbox<8, 4, 1024>;

std::string ack(std::uint32_t seq, int accepted, int duplicates = 0, int dropped = 0) {
  return "{\"ok\":true,\"accepted\":" + std::to_string(accepted) + ",\"duplicates\":" + std::to_string(duplicates) +
         ",\"dropped\":" + std::to_string(dropped) + ",\"seq\":" + std::to_string(seq) + "}";
}

// The clock as SNTP would give it at uptime now_ms.
WallClock clock_at(std::uint64_t now_ms) { return WallClock{kEpochMs + static_cast<std::int64_t>(now_ms), now_ms}; }

Delivery answer(TestOutbox& box, int status, const std::string& body, std::uint64_t now_ms,
                const char* retry_after = nullptr, std::uint32_t random = 0) {
  return box.on_response(status, body.data(), body.size(), retry_after, now_ms, random);
}

void record_seconds(TestOutbox& box, std::uint64_t from_s, std::uint64_t to_s) {
  for (std::uint64_t s = from_s; s < to_s; ++s) box.record(reading(s * 1000));
}

std::string body(const TestOutbox& box) { return std::string(box.body(), box.body_length()); }

}  // namespace

TEST_CASE("nothing is sent before begin, or after a begin with a bad identity") {
  TestOutbox box;
  box.record(reading(0));
  CHECK_FALSE(box.ready(clock_at(60000), 60000));
  CHECK_FALSE(box.begin("bad id", 1, "1.0.0"));
  CHECK_FALSE(box.ready(clock_at(60000), 60000));
  CHECK_FALSE(box.begin("meter", 1, std::string(33, 'v').c_str()));
  CHECK(box.begin("meter", 1, nullptr));
  CHECK(box.ready(clock_at(60000), 60000));
  CHECK(body(box).find("\"fw\"") == std::string::npos);
}

TEST_CASE("a batch leaves when its oldest sample is a send period old") {
  TestOutbox box(OutboxSettings{10000, 1000, 60000, 300});
  REQUIRE(box.begin("nilm-meter-a1b2c3", 0x5f3a9c1eu, "1.0.0"));
  CHECK(std::string(box.boot_id()) == "5f3a9c1e");
  CHECK(std::string(box.device_id()) == "nilm-meter-a1b2c3");
  record_seconds(box, 1, 4);  // 3 samples, fewer than a full batch of 4
  CHECK_FALSE(box.ready(clock_at(10999), 10999));
  CHECK(box.ready(clock_at(11000), 11000));
  CHECK(box.pending_seq() == 0);
  CHECK(box.pending_samples() == 3);
  CHECK(box.buffered() == 3);
  const std::string sent = body(box);
  CHECK(sent.rfind("{\"device_id\":\"nilm-meter-a1b2c3\",\"boot_id\":\"5f3a9c1e\",\"seq\":0,\"fw\":\"1.0.0\"", 0) ==
        0);
  CHECK(sent.find("\"t\":1767225601.000") != std::string::npos);
  CHECK(answer(box, 200, ack(0, 3), 11050) == Delivery::kDelivered);
  CHECK(box.body_length() == 0);
  CHECK(box.buffered() == 0);
  CHECK(box.next_seq() == 1);
  CHECK(box.stats().batches_delivered == 1);
  CHECK(box.stats().samples_accepted == 3);
  CHECK_FALSE(box.ready(clock_at(11100), 11100));
}

TEST_CASE("a full batch leaves without waiting for the period") {
  TestOutbox box;
  REQUIRE(box.begin("m", 1, "1"));
  record_seconds(box, 1, 5);  // 4 = MaxBatch
  CHECK(box.ready(clock_at(5000), 5000));
  CHECK(box.pending_samples() == 4);
}

TEST_CASE("a failed attempt resends the identical body after the back-off") {
  TestOutbox box(OutboxSettings{10000, 1000, 8000, 300});
  REQUIRE(box.begin("m", 7, "1"));
  record_seconds(box, 0, 4);
  REQUIRE(box.ready(clock_at(4000), 4000));
  const std::string first = body(box);
  std::uint64_t now = 4000;
  // Back-off with no jitter: 500, 1000, 2000, 4000, then capped at 8000 -> 4000 fixed part.
  const std::uint64_t expected_waits[] = {500, 1000, 2000, 4000, 4000, 4000};
  for (std::uint64_t wait : expected_waits) {
    CHECK(answer(box, -1, "", now) == Delivery::kNetworkError);
    CHECK(box.next_attempt_ms() == now + wait);
    CHECK_FALSE(box.ready(clock_at(now + wait - 1), now + wait - 1));
    now += wait;
    box.record(reading(now));  // sampling goes on meanwhile
    REQUIRE(box.ready(clock_at(now), now));
    CHECK(body(box) == first);  // same seq, same samples: the webhook can spot a duplicate
  }
  CHECK(box.stats().consecutive_failures == 6);
  CHECK(box.stats().failed_attempts == 6);
  CHECK(answer(box, 200, ack(0, 0, 4), now) == Delivery::kDelivered);
  CHECK(box.stats().samples_duplicate == 4);
  CHECK(box.stats().consecutive_failures == 0);
  // The back-off starts over for the next batch.
  REQUIRE(box.ready(clock_at(now), now));
  CHECK(box.pending_seq() == 1);
  CHECK(answer(box, 503, "", now) == Delivery::kServerError);
  CHECK(box.next_attempt_ms() == now + 500);
}

TEST_CASE("every kind of non-delivery keeps the batch") {
  for (int status : {200, 401, 403, 404, 500, 0, -11}) {
    TestOutbox box;
    REQUIRE(box.begin("m", 1, "1"));
    record_seconds(box, 0, 4);
    REQUIRE(box.ready(clock_at(4000), 4000));
    CAPTURE(status);
    answer(box, status, "{\"ok\":false}", 4000);
    CHECK(box.pending_samples() == 4);
    CHECK(box.next_seq() == 0);
    CHECK(box.stats().last_status == status);
  }
}

TEST_CASE("an ack for another seq does not release the batch") {
  TestOutbox box;
  REQUIRE(box.begin("m", 1, "1"));
  record_seconds(box, 0, 4);
  REQUIRE(box.ready(clock_at(4000), 4000));
  CHECK(answer(box, 200, ack(9, 4), 4000) == Delivery::kNoAck);
  CHECK(box.pending_samples() == 4);
}

TEST_CASE("a rejected batch is given up, counted, and followed by a pause") {
  TestOutbox box(OutboxSettings{10000, 1000, 60000, 300});
  REQUIRE(box.begin("m", 1, "1"));
  record_seconds(box, 0, 6);
  REQUIRE(box.ready(clock_at(6000), 6000));
  CHECK(answer(box, 400, R"({"ok":false,"error":"invalid_field"})", 6000) == Delivery::kRejected);
  CHECK(box.stats().samples_refused == 4);
  CHECK(box.next_seq() == 1);
  CHECK(box.buffered() == 2);
  CHECK_FALSE(box.ready(clock_at(6999), 6999));
  CHECK(box.ready(clock_at(16000), 16000));
  CHECK(box.pending_seq() == 1);
  CHECK(answer(box, 413, "", 16000) == Delivery::kRejected);
  CHECK(box.stats().samples_refused == 6);
}

TEST_CASE("429 waits for Retry-After, capped; without it the back-off applies") {
  TestOutbox box(OutboxSettings{10000, 1000, 60000, 120});
  REQUIRE(box.begin("m", 1, "1"));
  record_seconds(box, 0, 4);
  REQUIRE(box.ready(clock_at(4000), 4000));
  CHECK(answer(box, 429, R"({"ok":false,"error":"rate_limited"})", 4000, "30") == Delivery::kRateLimited);
  CHECK(box.next_attempt_ms() == 34000);
  CHECK_FALSE(box.ready(clock_at(33999), 33999));
  REQUIRE(box.ready(clock_at(34000), 34000));
  answer(box, 429, "", 34000, "3600");
  CHECK(box.next_attempt_ms() == 34000 + 120000);
  answer(box, 429, "", 200000, "soon");
  CHECK(box.next_attempt_ms() == 200000 + 500);
}

TEST_CASE("an ack's dropped count is kept in the statistics") {
  TestOutbox box;
  REQUIRE(box.begin("m", 1, "1"));
  record_seconds(box, 0, 4);
  REQUIRE(box.ready(clock_at(4000), 4000));
  answer(box, 200, ack(0, 3, 0, 1), 4000);
  CHECK(box.stats().samples_accepted == 3);
  CHECK(box.stats().samples_refused == 1);
  CHECK(box.stats().last_delivery == Delivery::kDelivered);
}

TEST_CASE("an outage keeps the newest samples, counts the lost ones, then drains the backlog") {
  TestOutbox box;  // 8 buffered + 4 in flight
  REQUIRE(box.begin("m", 1, "1"));
  record_seconds(box, 0, 4);
  REQUIRE(box.ready(clock_at(4000), 4000));
  std::uint64_t now = 4000;
  answer(box, -1, "", now);
  record_seconds(box, 4, 24);  // 20 more while Home Assistant is down: 12 of them are lost
  CHECK(box.dropped_oldest() == 12);
  CHECK(box.buffered() == 12);
  now = 24000;
  REQUIRE(box.ready(clock_at(now), now));
  CHECK(body(box).find("\"t\":1767225600.000") != std::string::npos);  // the batch in flight survived
  answer(box, 200, ack(0, 4), now);
  // Backlog of 8 = two full batches, sent back to back, oldest surviving sample (16 s) first.
  REQUIRE(box.ready(clock_at(now), now));
  CHECK(box.pending_seq() == 1);
  CHECK(body(box).find("\"t\":1767225616.000") != std::string::npos);
  answer(box, 200, ack(1, 4), now);
  REQUIRE(box.ready(clock_at(now), now));
  CHECK(box.pending_seq() == 2);
  CHECK(body(box).find("\"t\":1767225620.000") != std::string::npos);
  answer(box, 200, ack(2, 4), now);
  CHECK(box.buffered() == 0);
  CHECK_FALSE(box.ready(clock_at(now), now));
}

TEST_CASE("without a clock samples wait, and get their time once SNTP answers") {
  TestOutbox box;
  REQUIRE(box.begin("m", 1, "1"));
  record_seconds(box, 1, 4);
  const WallClock unsynced{0, 30000};
  CHECK_FALSE(box.ready(unsynced, 30000));
  CHECK(box.buffered() == 3);
  REQUIRE(box.ready(clock_at(30000), 30000));
  CHECK(body(box).find("\"t\":1767225601.000") != std::string::npos);
}

TEST_CASE("samples without power are dropped as unsendable, not sent") {
  TestOutbox box;
  REQUIRE(box.begin("m", 1, "1"));
  box.record(reading(0, NAN));
  box.record(reading(1000, NAN));
  CHECK_FALSE(box.ready(clock_at(20000), 20000));
  CHECK(box.stats().samples_unsendable == 2);
  CHECK(box.buffered() == 0);
}

TEST_CASE("an answer with nothing in flight changes nothing") {
  TestOutbox box;
  REQUIRE(box.begin("m", 1, "1"));
  CHECK(answer(box, 200, ack(0, 1), 1000) == Delivery::kDelivered);
  CHECK(box.next_seq() == 0);
  CHECK(box.stats().batches_delivered == 0);
  CHECK(box.next_attempt_ms() == 0);
}

TEST_CASE("a new boot restarts the sequence under a new boot id") {
  TestOutbox box;
  REQUIRE(box.begin("m", 1, "1"));
  record_seconds(box, 0, 4);
  REQUIRE(box.ready(clock_at(4000), 4000));
  answer(box, 200, ack(0, 4), 4000);
  CHECK(box.next_seq() == 1);
  REQUIRE(box.begin("m", 2, "1"));
  CHECK(std::string(box.boot_id()) == "00000002");
  CHECK(box.next_seq() == 0);
  record_seconds(box, 10, 14);
  REQUIRE(box.ready(clock_at(14000), 14000));
  CHECK(body(box).find("\"boot_id\":\"00000002\",\"seq\":0") != std::string::npos);
}
