// Writes JSON into a caller-owned fixed buffer: no heap, so a long-running ESP32 does not fragment memory.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace nilm {

// Longest text fixed() writes: a float's largest finite value (3.4e38) with 6 decimals and a sign.
constexpr std::size_t kMaxNumberLength = 48;

class JsonWriter {
 public:
  // capacity counts the terminating NUL, which is always written.
  JsonWriter(char* buffer, std::size_t capacity) : buffer_(buffer), capacity_(capacity) {
    if (capacity_ > 0) buffer_[0] = '\0';
    overflow_ = capacity_ == 0;
  }

  // Text that is already JSON (punctuation, keys).
  void raw(const char* text) { put(text, std::strlen(text)); }

  // A quoted string with JSON escapes; bytes >= 0x80 pass through as UTF-8.
  void string(const char* text) {
    put("\"", 1);
    for (const char* c = text; *c != '\0'; ++c) {
      const auto byte = static_cast<unsigned char>(*c);
      if (byte == '"' || byte == '\\') {
        const char escaped[2] = {'\\', static_cast<char>(byte)};
        put(escaped, 2);
      } else if (byte < 0x20) {
        char escaped[7];
        std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
        put(escaped, 6);
      } else {
        put(c, 1);
      }
    }
    put("\"", 1);
  }

  void unsigned_integer(std::uint64_t value) {
    char digits[21];
    const int n = std::snprintf(digits, sizeof digits, "%llu", static_cast<unsigned long long>(value));
    put(digits, static_cast<std::size_t>(n));
  }

  // A number with a fixed count of decimals (0..6). JSON has no NaN or Infinity, so a non-finite value
  // writes nothing and returns false: the caller leaves the field out.
  bool fixed(double value, int decimals) {
    if (!std::isfinite(value)) return false;
    if (decimals < 0) decimals = 0;
    if (decimals > 6) decimals = 6;
    char text[kMaxNumberLength + 1];
    const int n = std::snprintf(text, sizeof text, "%.*f", decimals, value);
    if (n < 0 || static_cast<std::size_t>(n) >= sizeof text) return false;  // beyond any float: not a reading
    const char* start = text;
    // "-0.0" is valid JSON but reads as a sign error in a log: a value that rounds to zero is written as 0.
    if (text[0] == '-' && std::strspn(text + 1, "0.") == static_cast<std::size_t>(n - 1)) ++start;
    put(start, static_cast<std::size_t>(n) - static_cast<std::size_t>(start - text));
    return true;
  }

  // Unix time in milliseconds as seconds with three exact decimals (integer arithmetic, no float rounding).
  void epoch_seconds(std::int64_t epoch_ms) {
    if (epoch_ms < 0) epoch_ms = 0;
    char text[32];
    const int n = std::snprintf(text, sizeof text, "%lld.%03d", static_cast<long long>(epoch_ms / 1000),
                                static_cast<int>(epoch_ms % 1000));
    put(text, static_cast<std::size_t>(n));
  }

  // A position to roll back to, so a value that did not fit can be taken out whole.
  std::size_t mark() const { return length_; }
  void rollback(std::size_t mark) {
    if (mark > length_) return;
    length_ = mark;
    overflow_ = capacity_ == 0;
    if (capacity_ > 0) buffer_[length_] = '\0';
  }

  // False once something did not fit; the text written so far stays valid up to the failed part.
  bool ok() const { return !overflow_; }
  std::size_t length() const { return length_; }
  // Bytes still free, not counting the terminating NUL.
  std::size_t remaining() const { return capacity_ == 0 ? 0 : capacity_ - 1 - length_; }
  const char* c_str() const { return buffer_; }

 private:
  void put(const char* text, std::size_t n) {
    if (overflow_) return;
    if (n > remaining()) {
      overflow_ = true;
      return;
    }
    std::memcpy(buffer_ + length_, text, n);
    length_ += n;
    buffer_[length_] = '\0';
  }

  char* buffer_;
  std::size_t capacity_;
  std::size_t length_ = 0;
  bool overflow_ = false;
};

}  // namespace nilm
