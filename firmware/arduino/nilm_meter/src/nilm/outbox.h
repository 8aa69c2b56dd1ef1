// Keeps readings until Home Assistant acknowledges them: a bounded buffer of samples, the batch in flight,
// its sequence number and when to (re)send it. Platform-free; the firmware supplies time, randomness and the
// HTTP round trip. Delivery is at least once: a retry resends the very same body (same seq), which the
// webhook recognises as a duplicate if the first attempt did arrive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "backoff.h"
#include "batch_encoder.h"
#include "contract.h"
#include "delivery.h"
#include "identity.h"
#include "ring_buffer.h"
#include "sample.h"

namespace nilm {

struct OutboxSettings {
  std::uint32_t send_period_ms = 10000;    // a batch leaves when its oldest sample is this old ...
  std::uint32_t backoff_base_ms = 1000;    // first retry delay after a failure
  std::uint32_t backoff_cap_ms = 60000;    // longest retry delay
  std::uint32_t retry_after_cap_s = 300;   // longest wait a 429's Retry-After can impose
};

struct OutboxStats {
  std::uint64_t batches_delivered = 0;
  std::uint64_t samples_accepted = 0;     // as counted by Home Assistant
  std::uint64_t samples_duplicate = 0;    // retries of a batch that had arrived
  std::uint64_t samples_refused = 0;      // dropped by Home Assistant (out of range) or in rejected batches
  std::uint64_t samples_unsendable = 0;   // no finite power, or taken at an unknown time
  std::uint64_t failed_attempts = 0;
  std::uint32_t consecutive_failures = 0;
  int last_status = 0;
  Delivery last_delivery = Delivery::kNoAck;
};

template <std::size_t Capacity, std::size_t MaxBatch, std::size_t BodyCapacity>
class Outbox {
  static_assert(MaxBatch >= 1 && MaxBatch <= kMaxBatchSamples, "batch length outside the payload limit");
  static_assert(BodyCapacity <= kMaxBodyBytes + 1, "body buffer beyond the payload limit");
  static_assert(BodyCapacity >= kMaxHeaderLength + kMaxSampleLength + 3, "body buffer cannot hold one sample");

 public:
  explicit Outbox(const OutboxSettings& settings = OutboxSettings{}) : settings_(settings) {}

  // Identity for every batch of this boot: the sequence restarts at 0. Returns false (and sends nothing)
  // for an identifier the webhook would refuse.
  bool begin(const char* device_id, std::uint32_t boot_random, const char* fw) {
    started_ = false;
    if (!valid_id(device_id) || std::strlen(device_id) >= sizeof device_id_) return false;
    if (fw != nullptr && std::strlen(fw) > kMaxFwLength) return false;
    std::memcpy(device_id_, device_id, std::strlen(device_id) + 1);
    if (fw != nullptr) std::memcpy(fw_, fw, std::strlen(fw) + 1);
    has_fw_ = fw != nullptr;
    format_boot_id(boot_random, boot_id_);
    next_seq_ = 0;
    pending_ = false;
    attempt_ = 0;
    next_attempt_ms_ = 0;
    started_ = true;
    return true;
  }

  // Stores one reading; when the buffer is full the oldest reading is dropped (and counted).
  void record(const Sample& sample) { samples_.push(sample); }

  // True when a body is waiting to be posted now. Forms the next batch when none is in flight, the clock is
  // known and either a full batch is waiting or the oldest sample is send_period_ms old.
  bool ready(const WallClock& clock, std::uint64_t now_ms) {
    if (!started_ || now_ms < next_attempt_ms_) return false;
    return pending_ || form_batch(clock, now_ms);
  }

  const char* body() const { return body_; }
  std::size_t body_length() const { return pending_ ? body_length_ : 0; }
  std::uint32_t pending_seq() const { return pending_seq_; }
  std::size_t pending_samples() const { return pending_ ? pending_count_ : 0; }

  // Feeds back the answer to the posted body: status (<= 0 for no answer), body, Retry-After header value
  // (nullptr when absent), the current uptime and a random number for jitter.
  Delivery on_response(int status, const char* body, std::size_t length, const char* retry_after,
                       std::uint64_t now_ms, std::uint32_t random) {
    Ack ack;
    const Delivery delivery = classify_response(status, body, length, pending_seq_, ack);
    if (!pending_) return delivery;  // a stray answer changes nothing
    stats_.last_status = status;
    stats_.last_delivery = delivery;
    switch (delivery) {
      case Delivery::kDelivered:
        stats_.batches_delivered += 1;
        stats_.samples_accepted += ack.accepted;
        stats_.samples_duplicate += ack.duplicates;
        stats_.samples_refused += ack.dropped;
        stats_.consecutive_failures = 0;
        finish_batch();
        next_attempt_ms_ = now_ms;  // a backlog drains at once
        return delivery;
      case Delivery::kRejected:
        // Resending cannot help: give the batch up, and pause one base delay so a systematic refusal does
        // not drain the whole buffer in a burst.
        stats_.samples_refused += pending_count_;
        finish_batch();
        fail(now_ms + settings_.backoff_base_ms);
        return delivery;
      case Delivery::kRateLimited: {
        std::uint32_t wait_s = 0;
        if (parse_retry_after_s(retry_after, settings_.retry_after_cap_s, wait_s)) {
          fail(now_ms + static_cast<std::uint64_t>(wait_s) * 1000);
          return delivery;
        }
        break;
      }
      case Delivery::kNoAck:
      case Delivery::kUnauthorized:
      case Delivery::kServerError:
      case Delivery::kNetworkError:
        break;
    }
    fail(now_ms + backoff_ms(attempt_, settings_.backoff_base_ms, settings_.backoff_cap_ms, random));
    if (attempt_ < 32) ++attempt_;
    return delivery;
  }

  const char* device_id() const { return device_id_; }
  const char* boot_id() const { return boot_id_; }
  std::uint32_t next_seq() const { return next_seq_; }
  std::uint64_t next_attempt_ms() const { return next_attempt_ms_; }
  std::size_t buffered() const { return samples_.size() + pending_samples(); }
  std::uint64_t dropped_oldest() const { return samples_.dropped(); }
  const OutboxStats& stats() const { return stats_; }

 private:
  bool form_batch(const WallClock& clock, std::uint64_t now_ms) {
    const Sample* oldest = samples_.peek(0);
    if (oldest == nullptr || !wall_clock_valid(clock)) return false;
    const bool waited = now_ms >= oldest->uptime_ms && now_ms - oldest->uptime_ms >= settings_.send_period_ms;
    if (samples_.size() < MaxBatch && !waited) return false;
    const BatchHeader header{device_id_, boot_id_, next_seq_, has_fw_ ? fw_ : nullptr};
    const EncodeResult result = encode_batch(header, samples_, MaxBatch, clock, body_, sizeof body_);
    // Cannot fail: begin() checked the header and the static_asserts size the buffer for one sample.
    if (!result.ok()) return false;
    samples_.pop_front(result.consumed());
    stats_.samples_unsendable += result.skipped;
    if (result.encoded == 0) return false;
    pending_ = true;
    pending_seq_ = next_seq_;
    pending_count_ = result.encoded;
    body_length_ = result.length;
    return true;
  }

  void finish_batch() {
    pending_ = false;
    ++next_seq_;
    attempt_ = 0;
  }

  void fail(std::uint64_t next_attempt_ms) {
    stats_.failed_attempts += 1;
    stats_.consecutive_failures += 1;
    next_attempt_ms_ = next_attempt_ms;
  }

  OutboxSettings settings_;
  RingBuffer<Sample, Capacity> samples_;
  char device_id_[kMaxIdLength + 1] = {};
  char boot_id_[kBootIdLength + 1] = {};
  char fw_[kMaxFwLength + 1] = {};
  bool has_fw_ = false;
  bool started_ = false;
  bool pending_ = false;
  std::uint32_t next_seq_ = 0;
  std::uint32_t pending_seq_ = 0;
  std::size_t pending_count_ = 0;
  std::size_t body_length_ = 0;
  std::uint32_t attempt_ = 0;
  std::uint64_t next_attempt_ms_ = 0;
  OutboxStats stats_;
  char body_[BodyCapacity] = {};
};

}  // namespace nilm
