// Who sends a batch: the meter's device id and the id of the current boot (docs/CONTRACTS.md).
// Home Assistant de-duplicates retries by (device_id, boot_id, seq), so a fresh boot id per power-up lets
// the sequence restart at 0 without the new batches being mistaken for old ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "contract.h"

namespace nilm {

constexpr std::size_t kBootIdLength = 8;

// 1..64 characters of [A-Za-z0-9_.-], the identifier rule of the payload.
inline bool valid_id(const char* text) {
  if (text == nullptr) return false;
  std::size_t n = 0;
  for (const char* c = text; *c != '\0'; ++c, ++n) {
    const char ch = *c;
    const bool allowed = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                         ch == '_' || ch == '.' || ch == '-';
    if (!allowed || n >= kMaxIdLength) return false;
  }
  return n > 0;
}

// A boot id from a hardware random number: 8 lowercase hex digits.
inline void format_boot_id(std::uint32_t random, char (&out)[kBootIdLength + 1]) {
  std::snprintf(out, sizeof out, "%08lx", static_cast<unsigned long>(random));
}

// "<prefix>-<last three MAC bytes in hex>", e.g. "nilm-meter-a1b2c3": stable across reboots and unique per
// board. Returns false (and writes an empty string when it can) if the result would be no valid id.
inline bool format_device_id(const char* prefix, const std::uint8_t (&mac)[6], char* out, std::size_t capacity) {
  if (out == nullptr || capacity == 0) return false;
  out[0] = '\0';
  constexpr std::size_t kSuffixLength = 7;  // "-a1b2c3"
  if (prefix == nullptr || std::strlen(prefix) + kSuffixLength >= capacity) return false;
  std::snprintf(out, capacity, "%s-%02x%02x%02x", prefix, mac[3], mac[4], mac[5]);
  if (!valid_id(out)) {
    out[0] = '\0';
    return false;
  }
  return true;
}

}  // namespace nilm
