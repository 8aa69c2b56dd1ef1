// JsonWriter: escaping, number formatting (NaN/inf refused, -0 normalised), bounded buffer, rollback.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "nilm/json_writer.h"

using nilm::JsonWriter;

namespace {

std::string number(double value, int decimals, bool* written = nullptr) {
  char buffer[128];
  JsonWriter json(buffer, sizeof buffer);
  const bool ok = json.fixed(value, decimals);
  if (written != nullptr) *written = ok;
  return json.c_str();
}

}  // namespace

TEST_CASE("fixed writes the requested decimals") {
  CHECK(number(230.06, 1) == "230.1");
  CHECK(number(1.2344, 3) == "1.234");
  CHECK(number(12345.0, 0) == "12345");
  CHECK(number(0.876, 2) == "0.88");
  CHECK(number(-3.26, 1) == "-3.3");
  CHECK(number(1.5, 9) == "1.500000");  // decimals are capped at 6
  CHECK(number(2.4, -1) == "2");        // and at least 0
}

TEST_CASE("fixed writes no negative zero") {
  CHECK(number(-0.0, 1) == "0.0");
  CHECK(number(-0.04, 1) == "0.0");
  CHECK(number(-0.4, 0) == "0");
  CHECK(number(-0.06, 1) == "-0.1");
}

TEST_CASE("fixed refuses values JSON cannot carry") {
  bool written = true;
  CHECK(number(NAN, 1, &written).empty());
  CHECK_FALSE(written);
  CHECK(number(INFINITY, 1, &written).empty());
  CHECK_FALSE(written);
  CHECK(number(-INFINITY, 2, &written).empty());
  CHECK_FALSE(written);
  CHECK(number(1e300, 1, &written).empty());  // longer than any float reading
  CHECK_FALSE(written);
  const std::string largest_float = number(3.4028234663852886e38, 6, &written);
  CHECK(written);
  CHECK(largest_float.size() <= nilm::kMaxNumberLength);
}

TEST_CASE("string escapes quotes, backslashes and control characters") {
  char buffer[64];
  JsonWriter json(buffer, sizeof buffer);
  json.string("a\"b\\c\n\x01\xc3\xa9");
  CHECK(std::string(json.c_str()) == "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\"");
  CHECK(json.ok());
}

TEST_CASE("integers and epoch seconds") {
  char buffer[64];
  JsonWriter json(buffer, sizeof buffer);
  json.unsigned_integer(18446744073709551615ULL);
  json.raw(" ");
  json.epoch_seconds(1767225600123LL);
  json.raw(" ");
  json.epoch_seconds(1767225600005LL);
  json.raw(" ");
  json.epoch_seconds(-5);
  CHECK(std::string(json.c_str()) == "18446744073709551615 1767225600.123 1767225600.005 0.000");
}

TEST_CASE("writer never overruns its buffer and stays terminated") {
  char buffer[8];
  std::memset(buffer, 'x', sizeof buffer);
  JsonWriter json(buffer, 6);  // 5 characters + NUL
  json.raw("abc");
  CHECK(json.remaining() == 2);
  json.raw("defg");  // does not fit: nothing of it is written
  CHECK_FALSE(json.ok());
  CHECK(std::string(json.c_str()) == "abc");
  json.raw("d");  // after an overflow nothing more is written
  CHECK(std::string(json.c_str()) == "abc");
  CHECK(buffer[6] == 'x');
  CHECK(buffer[7] == 'x');
}

TEST_CASE("rollback takes a partial value out and clears the overflow") {
  char buffer[16];
  JsonWriter json(buffer, sizeof buffer);
  json.raw("[1");
  const std::size_t mark = json.mark();
  json.raw(",123456789012345");
  CHECK_FALSE(json.ok());
  json.rollback(mark);
  CHECK(json.ok());
  json.raw("]");
  CHECK(std::string(json.c_str()) == "[1]");
  json.rollback(100);  // a mark beyond the text is ignored
  CHECK(std::string(json.c_str()) == "[1]");
}

TEST_CASE("a zero-capacity writer writes nothing") {
  char buffer[1] = {'x'};
  JsonWriter json(buffer, 0);
  json.raw("a");
  CHECK_FALSE(json.ok());
  CHECK(json.remaining() == 0);
  CHECK(buffer[0] == 'x');
  json.rollback(0);
  CHECK_FALSE(json.ok());
}
