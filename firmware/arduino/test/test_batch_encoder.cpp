// encode_batch: the exact payload text, NaN handling, time mapping, limits and running out of room.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "nilm/batch_encoder.h"
#include "nilm/ring_buffer.h"
#include "samples.h"

using nilm::BatchHeader;
using nilm::EncodeError;
using nilm::EncodeResult;
using nilm::RingBuffer;
using nilm::Sample;
using nilm::WallClock;
using test_samples::kEpochMs;
using test_samples::reading;

namespace {

const BatchHeader kHeader{"nilm-meter-a1b2c3", "5f3a9c1e", 42, "1.0.0"};
const WallClock kClock{kEpochMs, 100000};  // uptime 100 s at 2026-01-01T00:00:00Z

struct Encoded {
  EncodeResult result;
  std::string body;
};

template <typename Ring>
Encoded encode(const Ring& ring, std::size_t max_samples = 600, std::size_t capacity = 8192,
               const BatchHeader& header = kHeader, const WallClock& clock = kClock) {
  std::vector<char> buffer(capacity + 1, '#');
  Encoded out;
  out.result = nilm::encode_batch(header, ring, max_samples, clock, buffer.data(), capacity);
  out.body = out.result.ok() ? std::string(buffer.data(), out.result.length) : std::string();
  CHECK(buffer[capacity] == '#');  // never a byte past the capacity
  return out;
}

}  // namespace

TEST_CASE("a batch is the contract's JSON, byte for byte") {
  RingBuffer<Sample, 8> ring;
  ring.push(reading(99000));
  ring.push(Sample{100000, 229.9f, 0.0f, 0.0f, 12346.0f, 49.9f, 0.0f});
  const Encoded out = encode(ring);
  REQUIRE(out.result.ok());
  CHECK(out.result.encoded == 2);
  CHECK(out.result.skipped == 0);
  CHECK(out.result.consumed() == 2);
  CHECK(out.result.length == out.body.size());
  CHECK(out.body ==
        "{\"device_id\":\"nilm-meter-a1b2c3\",\"boot_id\":\"5f3a9c1e\",\"seq\":42,\"fw\":\"1.0.0\",\"samples\":["
        "{\"t\":1767225599.000,\"v\":230.1,\"i\":1.234,\"p\":250.3,\"e\":12345,\"f\":50.0,\"pf\":0.88},"
        "{\"t\":1767225600.000,\"v\":229.9,\"i\":0.000,\"p\":0.0,\"e\":12346,\"f\":49.9,\"pf\":0.00}]}");
}

TEST_CASE("timestamps map uptime to Unix time with millisecond precision") {
  RingBuffer<Sample, 4> ring;
  ring.push(reading(98766));  // 1.234 s before the clock reading
  const Encoded out = encode(ring);
  CHECK(out.body.find("\"t\":1767225598.766,") != std::string::npos);
}

TEST_CASE("fw is optional") {
  RingBuffer<Sample, 4> ring;
  ring.push(reading(100000));
  const BatchHeader no_fw{"m", "b", 0, nullptr};
  const Encoded out = encode(ring, 600, 8192, no_fw);
  REQUIRE(out.result.ok());
  CHECK(out.body.rfind("{\"device_id\":\"m\",\"boot_id\":\"b\",\"seq\":0,\"samples\":[{", 0) == 0);
}

TEST_CASE("NaN optional values are left out, the rest of the sample kept") {
  RingBuffer<Sample, 4> ring;
  ring.push(Sample{100000, NAN, 1.5f, 300.0f, INFINITY, NAN, -INFINITY});
  const Encoded out = encode(ring);
  REQUIRE(out.result.encoded == 1);
  CHECK(out.body.find("[{\"t\":1767225600.000,\"i\":1.500,\"p\":300.0}]") != std::string::npos);
  CHECK(out.body.find("nan") == std::string::npos);
  CHECK(out.body.find("inf") == std::string::npos);
}

TEST_CASE("a sample without finite power is skipped and counted") {
  RingBuffer<Sample, 4> ring;
  ring.push(reading(98000, NAN));
  ring.push(reading(99000));
  ring.push(reading(100000, INFINITY));
  const Encoded out = encode(ring);
  REQUIRE(out.result.ok());
  CHECK(out.result.encoded == 1);
  CHECK(out.result.skipped == 2);
  CHECK(out.result.consumed() == 3);
  CHECK(out.body.find("\"t\":1767225599.000") != std::string::npos);
}

TEST_CASE("only skipped samples make an empty, still valid batch") {
  RingBuffer<Sample, 4> ring;
  ring.push(reading(100000, NAN));
  const Encoded out = encode(ring);
  REQUIRE(out.result.ok());
  CHECK(out.result.encoded == 0);
  CHECK(out.result.skipped == 1);
  CHECK(out.body.substr(out.body.size() - 13) == "\"samples\":[]}");
}

TEST_CASE("samples at an unknown time are skipped") {
  RingBuffer<Sample, 4> ring;
  ring.push(reading(100001));  // after the clock reading: a caller mixing clocks
  const Encoded future = encode(ring);
  CHECK(future.result.skipped == 1);
  const WallClock unsynced{5000, 100000};  // SNTP not answered: 1970
  const Encoded unknown = encode(ring, 600, 8192, kHeader, unsynced);
  CHECK(unknown.result.encoded == 0);
  CHECK(unknown.result.skipped == 1);
}

TEST_CASE("sample_epoch_ms and wall_clock_valid") {
  CHECK(nilm::wall_clock_valid(WallClock{nilm::kMinValidEpochMs, 0}));
  CHECK_FALSE(nilm::wall_clock_valid(WallClock{nilm::kMinValidEpochMs - 1, 0}));
  CHECK(nilm::sample_epoch_ms(reading(40000), kClock) == kEpochMs - 60000);
  CHECK(nilm::sample_epoch_ms(reading(100000), kClock) == kEpochMs);
  CHECK(nilm::sample_epoch_ms(reading(100001), kClock) == -1);
  // A sample so old it would predate 2024 cannot be right.
  const WallClock early{nilm::kMinValidEpochMs + 10, 1000};
  CHECK(nilm::sample_epoch_ms(reading(990), early) == nilm::kMinValidEpochMs);
  CHECK(nilm::sample_epoch_ms(reading(989), early) == -1);
}

TEST_CASE("max_samples and the contract's 600 bound the batch") {
  RingBuffer<Sample, 700> ring;
  for (std::uint64_t k = 0; k < 700; ++k) ring.push(reading(30000 + k * 100));
  const Encoded three = encode(ring, 3);
  CHECK(three.result.encoded == 3);
  CHECK(three.result.consumed() == 3);
  const Encoded capped = encode(ring, 1000, 65536);
  CHECK(capped.result.encoded == nilm::kMaxBatchSamples);
  CHECK(capped.body.size() <= nilm::kMaxBodyBytes);
  const Encoded none = encode(ring, 0);
  CHECK(none.result.ok());
  CHECK(none.result.encoded == 0);
  CHECK(none.result.consumed() == 0);
}

TEST_CASE("a full buffer ends the batch between samples, never inside one") {
  RingBuffer<Sample, 16> ring;
  for (std::uint64_t k = 0; k < 16; ++k) ring.push(reading(90000 + k));
  const Encoded whole = encode(ring, 16, 8192);
  REQUIRE(whole.result.encoded == 16);
  const std::size_t per_sample = (whole.body.size() - 100) / 16;  // about 90 bytes each
  const Encoded part = encode(ring, 16, 100 + 5 * per_sample);
  REQUIRE(part.result.ok());
  CHECK(part.result.encoded >= 3);
  CHECK(part.result.encoded < 16);
  CHECK(part.result.consumed() == part.result.encoded);
  CHECK(part.body.substr(part.body.size() - 3) == "}]}");
  CHECK(part.body.size() < 100 + 5 * per_sample);
}

TEST_CASE("too small a buffer or a bad header is an error, not a broken body") {
  RingBuffer<Sample, 4> ring;
  ring.push(reading(100000));
  CHECK(encode(ring, 600, 40).result.error == EncodeError::kNoRoom);     // not even the header
  CHECK(encode(ring, 600, 140).result.error == EncodeError::kNoRoom);    // header, but no sample
  CHECK(encode(ring, 600, 8192, BatchHeader{"bad id", "b", 0, nullptr}).result.error == EncodeError::kBadHeader);
  CHECK(encode(ring, 600, 8192, BatchHeader{"d", "", 0, nullptr}).result.error == EncodeError::kBadHeader);
  CHECK(encode(ring, 600, 8192, BatchHeader{nullptr, "b", 0, nullptr}).result.error == EncodeError::kBadHeader);
  const std::string long_fw(nilm::kMaxFwLength + 1, '1');
  CHECK(encode(ring, 600, 8192, BatchHeader{"d", "b", 0, long_fw.c_str()}).result.error ==
        EncodeError::kBadHeader);
  const Encoded escaped = encode(ring, 600, 8192, BatchHeader{"d", "b", 0, "1.0 \"beta\""});
  CHECK(escaped.body.find("\"fw\":\"1.0 \\\"beta\\\"\"") != std::string::npos);
}

TEST_CASE("the header and sample bounds hold for the longest inputs") {
  RingBuffer<Sample, 1> ring;
  const float huge = 3.4e38f;
  ring.push(Sample{100000, -huge, -huge, -huge, -huge, -huge, -huge});
  const std::string id(nilm::kMaxIdLength, 'x');
  const std::string fw(nilm::kMaxFwLength, '\x01');  // every character escaped to 6 bytes
  const BatchHeader longest{id.c_str(), id.c_str(), 0xFFFFFFFFu, fw.c_str()};
  const Encoded out = encode(ring, 1, nilm::kMaxHeaderLength + nilm::kMaxSampleLength + 3, longest);
  REQUIRE(out.result.ok());
  CHECK(out.result.encoded == 1);
}
