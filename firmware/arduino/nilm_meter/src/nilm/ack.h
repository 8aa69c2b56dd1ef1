// Reads the webhook's answer: {"ok": true, "accepted": N, "duplicates": D, "dropped": X, "seq": S} or
// {"ok": false, "error": "<code>", "message": "<text>"} (docs/CONTRACTS.md). Home Assistant answers 200 even
// for an unknown webhook id, so only a well-formed body saying "ok": true proves the batch arrived.
// A small strict JSON reader: bounded by the body length (no NUL needed), no heap, no recursion limit issues.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nilm {

constexpr std::size_t kAckErrorLength = 31;

struct Ack {
  bool ok = false;
  bool has_seq = false;
  std::uint64_t seq = 0;
  std::uint64_t accepted = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t dropped = 0;
  char error[kAckErrorLength + 1] = {};  // the refusal's code, cut to fit
};

namespace detail {

class AckReader {
 public:
  AckReader(const char* text, std::size_t length) : at_(text), end_(text + length) {}

  bool read(Ack& ack) {
    skip_space();
    if (!consume('{')) return false;
    skip_space();
    if (!consume('}')) {
      do {
        if (!member(ack)) return false;
        skip_space();
      } while (consume(','));
      if (!consume('}')) return false;
    }
    skip_space();
    return at_ == end_;  // trailing bytes mean a garbled or concatenated body
  }

 private:
  static constexpr int kMaxDepth = 8;  // nested values the ack does not define are skipped up to this depth
  static constexpr std::uint64_t kMaxCount = 9007199254740991ULL;  // 2^53 - 1, exact in every JSON reader

  bool member(Ack& ack) {
    skip_space();
    char key[16];
    if (!string(key, sizeof key)) return false;
    skip_space();
    if (!consume(':')) return false;
    skip_space();
    if (equal(key, "ok")) return boolean(ack.ok);
    if (equal(key, "seq")) return ack.has_seq = count(ack.seq);
    if (equal(key, "accepted")) return count(ack.accepted);
    if (equal(key, "duplicates")) return count(ack.duplicates);
    if (equal(key, "dropped")) return count(ack.dropped);
    if (equal(key, "error")) return string(ack.error, sizeof ack.error);
    return value(0);
  }

  // Any JSON value, checked and discarded (message, future fields).
  bool value(int depth) {
    if (at_ == end_) return false;
    switch (*at_) {
      case '"':
        return string(nullptr, 0);
      case '{':
        return container(depth, '}', true);
      case '[':
        return container(depth, ']', false);
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number(nullptr);
    }
  }

  bool container(int depth, char close, bool object) {
    if (depth >= kMaxDepth) return false;
    ++at_;
    skip_space();
    if (consume(close)) return true;
    do {
      skip_space();
      if (object) {
        if (!string(nullptr, 0)) return false;
        skip_space();
        if (!consume(':')) return false;
        skip_space();
      }
      if (!value(depth + 1)) return false;
      skip_space();
    } while (consume(','));
    return consume(close);
  }

  bool boolean(bool& out) {
    if (literal("true")) {
      out = true;
      return true;
    }
    out = false;
    return literal("false");
  }

  // A non-negative JSON integer (no fraction, no exponent) up to 2^53 - 1.
  bool count(std::uint64_t& out) {
    std::uint64_t value = 0;
    bool integral = true;
    if (!number(&integral) || !integral) return false;
    for (const char* c = start_; c < at_; ++c) {
      if (*c == '-') return false;
      value = value * 10 + static_cast<std::uint64_t>(*c - '0');
      if (value > kMaxCount) return false;
    }
    out = value;
    return true;
  }

  // The JSON number grammar; remembers where the number started. integral: no fraction or exponent.
  bool number(bool* integral) {
    start_ = at_;
    consume('-');
    if (consume('0')) {
      // a leading zero stands alone
    } else if (!digits()) {
      return false;
    }
    bool whole = true;
    if (consume('.')) {
      whole = false;
      if (!digits()) return false;
    }
    if (at_ != end_ && (*at_ == 'e' || *at_ == 'E')) {
      ++at_;
      whole = false;
      if (!consume('+')) consume('-');
      if (!digits()) return false;
    }
    if (integral != nullptr) *integral = whole;
    return true;
  }

  bool digits() {
    const char* first = at_;
    while (at_ != end_ && *at_ >= '0' && *at_ <= '9') ++at_;
    return at_ != first;
  }

  // A JSON string; copied into out[capacity] (cut to fit, escapes kept verbatim) when out is given.
  bool string(char* out, std::size_t capacity) {
    std::size_t n = 0;
    if (!consume('"')) return false;
    while (at_ != end_) {
      const auto byte = static_cast<unsigned char>(*at_);
      if (byte == '"') {
        ++at_;
        if (out != nullptr) out[n] = '\0';
        return true;
      }
      if (byte < 0x20) return false;  // raw control characters are not allowed in JSON strings
      std::size_t run = 1;
      if (byte == '\\') {
        if (end_ - at_ < 2) return false;
        const char kind = at_[1];
        if (kind == 'u') {
          if (end_ - at_ < 6) return false;
          for (int k = 2; k < 6; ++k) {
            if (!hex(at_[k])) return false;
          }
          run = 6;
        } else if (kind == '"' || kind == '\\' || kind == '/' || kind == 'b' || kind == 'f' || kind == 'n' ||
                   kind == 'r' || kind == 't') {
          run = 2;
        } else {
          return false;
        }
      }
      for (std::size_t k = 0; k < run; ++k, ++at_) {
        if (out != nullptr && n + 1 < capacity) out[n++] = *at_;
      }
    }
    return false;  // unterminated
  }

  bool literal(const char* word) {
    const char* c = at_;
    for (; *word != '\0'; ++word, ++c) {
      if (c == end_ || *c != *word) return false;
    }
    at_ = c;
    return true;
  }

  bool consume(char expected) {
    if (at_ == end_ || *at_ != expected) return false;
    ++at_;
    return true;
  }

  void skip_space() {
    while (at_ != end_ && (*at_ == ' ' || *at_ == '\t' || *at_ == '\n' || *at_ == '\r')) ++at_;
  }

  static bool hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

  static bool equal(const char* a, const char* b) {
    for (; *a != '\0' && *a == *b; ++a, ++b) {
    }
    return *a == *b;
  }

  const char* at_;
  const char* end_;
  const char* start_ = nullptr;
};

}  // namespace detail

// Parses an acknowledgement. Returns false for anything that is not exactly one JSON object of the
// expected shape (empty, truncated, garbage, wrong types for the known keys, nesting deeper than 8).
// On failure `ack` is reset, so no half-read "ok": true survives.
inline bool parse_ack(const char* body, std::size_t length, Ack& ack) {
  Ack parsed;
  const bool well_formed = body != nullptr && detail::AckReader(body, length).read(parsed);
  ack = well_formed ? parsed : Ack{};
  return well_formed;
}

}  // namespace nilm
