// Identifiers of the payload: the id rule, boot ids and MAC-derived device ids.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "nilm/identity.h"

using nilm::format_boot_id;
using nilm::format_device_id;
using nilm::valid_id;

TEST_CASE("valid ids are 1..64 characters of A-Z a-z 0-9 _ . -") {
  CHECK(valid_id("nilm-meter-a1b2c3"));
  CHECK(valid_id("A.b_C-9"));
  CHECK(valid_id(std::string(64, 'x').c_str()));
  CHECK_FALSE(valid_id(std::string(65, 'x').c_str()));
  CHECK_FALSE(valid_id(""));
  CHECK_FALSE(valid_id(nullptr));
  CHECK_FALSE(valid_id("has space"));
  CHECK_FALSE(valid_id("slash/"));
  CHECK_FALSE(valid_id("quote\""));
  CHECK_FALSE(valid_id("\xc3\xa9t\xc3\xa9"));
}

TEST_CASE("boot id is 8 lowercase hex digits of the random number") {
  char id[nilm::kBootIdLength + 1];
  format_boot_id(0x5f3a9c1eu, id);
  CHECK(std::string(id) == "5f3a9c1e");
  format_boot_id(0u, id);
  CHECK(std::string(id) == "00000000");
  format_boot_id(0xFFFFFFFFu, id);
  CHECK(std::string(id) == "ffffffff");
  CHECK(valid_id(id));
}

TEST_CASE("device id is the prefix and the last three MAC bytes") {
  const std::uint8_t mac[6] = {0x24, 0x6f, 0x28, 0xa1, 0xb2, 0xc3};
  char id[65];
  CHECK(format_device_id("nilm-meter", mac, id, sizeof id));
  CHECK(std::string(id) == "nilm-meter-a1b2c3");
}

TEST_CASE("device id refuses a prefix that makes no valid id or does not fit") {
  const std::uint8_t mac[6] = {0, 0, 0, 1, 2, 3};
  char id[65];
  CHECK_FALSE(format_device_id("bad prefix", mac, id, sizeof id));
  CHECK(id[0] == '\0');
  CHECK_FALSE(format_device_id(std::string(58, 'p').c_str(), mac, id, sizeof id));  // 58 + 7 = 65 > 64
  CHECK(id[0] == '\0');
  CHECK(format_device_id(std::string(57, 'p').c_str(), mac, id, sizeof id));  // exactly 64
  CHECK(std::strlen(id) == 64);
  char small[8];
  CHECK_FALSE(format_device_id("nilm", mac, small, sizeof small));
  CHECK(small[0] == '\0');
  CHECK_FALSE(format_device_id(nullptr, mac, id, sizeof id));
  CHECK_FALSE(format_device_id("nilm", mac, nullptr, 10));
}
