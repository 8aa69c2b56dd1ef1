// What one answer of the webhook means for the batch that was sent (docs/CONTRACTS.md).
#pragma once

#include <cstddef>
#include <cstdint>

#include "ack.h"

namespace nilm {

enum class Delivery : std::uint8_t {
  kDelivered,     // 200 with {"ok": true} for this seq: the batch is stored (or was already)
  kRejected,      // 400 or 413: the batch itself is refused; resending it can never succeed
  kNoAck,         // 200 without a valid ack for this seq (unknown webhook id, proxy page), or another status
  kUnauthorized,  // 401/403: wrong API key; keep the data until the user fixes the key
  kRateLimited,   // 429: wait as long as Retry-After says
  kServerError,   // 5xx
  kNetworkError,  // no HTTP answer at all (status <= 0: refused, timeout, DNS)
};

inline const char* delivery_name(Delivery delivery) {
  switch (delivery) {
    case Delivery::kDelivered:
      return "delivered";
    case Delivery::kRejected:
      return "rejected";
    case Delivery::kNoAck:
      return "no ack";
    case Delivery::kUnauthorized:
      return "bad key";
    case Delivery::kRateLimited:
      return "rate limited";
    case Delivery::kServerError:
      return "server error";
    case Delivery::kNetworkError:
      return "network error";
  }
  return "unknown";
}

// Classifies an HTTP status and body for the batch with sequence number sent_seq; fills `ack` when the body
// is a well-formed acknowledgement.
inline Delivery classify_response(int status, const char* body, std::size_t length, std::uint32_t sent_seq,
                                  Ack& ack) {
  const bool parsed = parse_ack(body, length, ack);
  if (status <= 0) return Delivery::kNetworkError;
  if (status == 200) {
    const bool same_batch = !ack.has_seq || ack.seq == sent_seq;
    return parsed && ack.ok && same_batch ? Delivery::kDelivered : Delivery::kNoAck;
  }
  if (status == 400 || status == 413) return Delivery::kRejected;
  if (status == 401 || status == 403) return Delivery::kUnauthorized;
  if (status == 429) return Delivery::kRateLimited;
  if (status >= 500) return Delivery::kServerError;
  return Delivery::kNoAck;
}

}  // namespace nilm
