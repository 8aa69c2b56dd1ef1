// classify_response: what each webhook answer means for the batch that was sent.
#include <doctest/doctest.h>

#include <cstring>
#include <initializer_list>
#include <string>

#include "nilm/delivery.h"

using nilm::Ack;
using nilm::classify_response;
using nilm::Delivery;

namespace {

Delivery classify(int status, const std::string& body, std::uint32_t seq = 42) {
  Ack ack;
  return classify_response(status, body.data(), body.size(), seq, ack);
}

const std::string kAck = R"({"ok": true, "accepted": 10, "duplicates": 0, "dropped": 0, "seq": 42})";

}  // namespace

TEST_CASE("only 200 with ok true for the sent seq is delivered") {
  CHECK(classify(200, kAck) == Delivery::kDelivered);
  CHECK(classify(200, R"({"ok": true})") == Delivery::kDelivered);  // seq is checked when present
  CHECK(classify(200, kAck, 43) == Delivery::kNoAck);               // an answer to another batch
  CHECK(classify(200, R"({"ok": false, "error": "x"})") == Delivery::kNoAck);
}

TEST_CASE("200 from an unknown webhook id, an empty or a garbled body is no ack") {
  CHECK(classify(200, "") == Delivery::kNoAck);
  CHECK(classify(200, "<html>Home Assistant</html>") == Delivery::kNoAck);
  CHECK(classify(200, kAck.substr(0, kAck.size() - 1)) == Delivery::kNoAck);
  Ack ack;
  CHECK(classify_response(200, nullptr, 0, 42, ack) == Delivery::kNoAck);
}

TEST_CASE("error statuses map to what the firmware does next") {
  const std::string refusal = R"({"ok": false, "error": "invalid_json", "message": "..."})";
  CHECK(classify(400, refusal) == Delivery::kRejected);
  CHECK(classify(413, refusal) == Delivery::kRejected);
  CHECK(classify(401, refusal) == Delivery::kUnauthorized);
  CHECK(classify(403, "") == Delivery::kUnauthorized);
  CHECK(classify(429, refusal) == Delivery::kRateLimited);
  CHECK(classify(500, "") == Delivery::kServerError);
  CHECK(classify(503, kAck) == Delivery::kServerError);  // an ack body does not make an error a success
  CHECK(classify(0, "") == Delivery::kNetworkError);
  CHECK(classify(-1, "") == Delivery::kNetworkError);   // HTTPC_ERROR_CONNECTION_REFUSED
  CHECK(classify(-11, "") == Delivery::kNetworkError);  // HTTPC_ERROR_READ_TIMEOUT
  CHECK(classify(404, kAck) == Delivery::kNoAck);
  CHECK(classify(405, "") == Delivery::kNoAck);
  CHECK(classify(204, kAck) == Delivery::kNoAck);
  CHECK(classify(302, "") == Delivery::kNoAck);
}

TEST_CASE("classification fills the acknowledgement") {
  Ack ack;
  REQUIRE(classify_response(200, kAck.data(), kAck.size(), 42, ack) == Delivery::kDelivered);
  CHECK(ack.accepted == 10);
  const std::string refusal = R"({"ok": false, "error": "too_many_samples"})";
  classify_response(413, refusal.data(), refusal.size(), 42, ack);
  CHECK(std::string(ack.error) == "too_many_samples");
}

TEST_CASE("every delivery has a display name") {
  for (Delivery d : {Delivery::kDelivered, Delivery::kRejected, Delivery::kNoAck, Delivery::kUnauthorized,
                     Delivery::kRateLimited, Delivery::kServerError, Delivery::kNetworkError}) {
    const char* name = nilm::delivery_name(d);
    CHECK(std::strlen(name) > 0);
    CHECK(std::string(name) != "unknown");
  }
  CHECK(std::string(nilm::delivery_name(static_cast<Delivery>(99))) == "unknown");
}
