// The glue the ESPHome webhook configuration calls (firmware/esphome/nilm_push.h), against the real system
// clock as ESPHome's SNTP component would have set it.
#include <doctest/doctest.h>

#include <string>

#include "nilm_push.h"

TEST_CASE("the ESPHome glue batches, posts and releases readings") {
  REQUIRE_FALSE(nilm_push::start("bad name", 1, "1.0.0-esphome"));
  REQUIRE(nilm_push::start("nilm-meter", 0x0badf00du, "1.0.0-esphome"));
  for (std::uint64_t s = 1; s <= 10; ++s) nilm_push::record(s * 1000, 230.0f, 1.0f, 200.0f, 5000.0f, 50.0f, 0.87f);
  CHECK_FALSE(nilm_push::ready(10000));  // the oldest reading is 9 s old
  REQUIRE(nilm_push::ready(11000));
  const std::string sent = nilm_push::body();
  const std::string header = R"({"device_id":"nilm-meter","boot_id":"0badf00d","seq":0,"fw":"1.0.0-esphome")";
  CHECK(sent.rfind(header, 0) == 0);
  CHECK(nilm_push::answer(200, "", "", 11000, 0) == nilm::Delivery::kNoAck);  // HA's empty 200
  CHECK(nilm_push::answer(429, "", "20", 11500, 0) == nilm::Delivery::kRateLimited);
  CHECK_FALSE(nilm_push::ready(31499));
  REQUIRE(nilm_push::ready(31500));
  CHECK(nilm_push::body() == sent);
  const std::string ack = R"({"ok": true, "accepted": 10, "duplicates": 0, "dropped": 0, "seq": 0})";
  CHECK(nilm_push::answer(200, ack, "", 31500, 0) == nilm::Delivery::kDelivered);
  CHECK(nilm_push::outbox().buffered() == 0);
  CHECK(nilm_push::outbox().next_seq() == 1);
}
