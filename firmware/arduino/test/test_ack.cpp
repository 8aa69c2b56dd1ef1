// The acknowledgement parser: the contract's shapes, and everything a broken network or server can return.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "nilm/ack.h"

using nilm::Ack;
using nilm::parse_ack;

namespace {

bool parse(const std::string& body, Ack& ack) { return parse_ack(body.data(), body.size(), ack); }

}  // namespace

TEST_CASE("a contract acknowledgement is read completely") {
  Ack ack;
  REQUIRE(parse(R"({"ok": true, "accepted": 10, "duplicates": 2, "dropped": 1, "seq": 42})", ack));
  CHECK(ack.ok);
  CHECK(ack.accepted == 10);
  CHECK(ack.duplicates == 2);
  CHECK(ack.dropped == 1);
  CHECK(ack.has_seq);
  CHECK(ack.seq == 42);
  CHECK(ack.error[0] == '\0');
}

TEST_CASE("compact and whitespace-heavy bodies are equal") {
  Ack ack;
  REQUIRE(parse("{\"ok\":true,\"accepted\":0,\"duplicates\":0,\"dropped\":0,\"seq\":0}", ack));
  CHECK(ack.ok);
  CHECK(ack.has_seq);
  REQUIRE(parse(" \r\n\t{ \"ok\" :\ttrue ,\n\"seq\" : 7 }\n", ack));
  CHECK(ack.ok);
  CHECK(ack.seq == 7);
}

TEST_CASE("a refusal carries ok false and its error code") {
  Ack ack;
  REQUIRE(parse(R"({"ok": false, "error": "unauthorized", "message": "wrong or missing X-NILM-Key"})", ack));
  CHECK_FALSE(ack.ok);
  CHECK(std::string(ack.error) == "unauthorized");
  CHECK_FALSE(ack.has_seq);
}

TEST_CASE("a long error code is cut to fit") {
  Ack ack;
  const std::string code(100, 'e');
  REQUIRE(parse("{\"ok\":false,\"error\":\"" + code + "\"}", ack));
  CHECK(std::strlen(ack.error) == nilm::kAckErrorLength);
}

TEST_CASE("unknown members of any JSON type are skipped") {
  Ack ack;
  REQUIRE(parse(R"({"v":1,"note":"a \"quoted\" \\ \u00e9 \n text","list":[1,-2.5e3,true,null,{"x":[]}],)"
                R"("obj":{"a":{"b":false}},"ok":true,"seq":3,"num":-0.5E-2})",
                ack));
  CHECK(ack.ok);
  CHECK(ack.seq == 3);
}

TEST_CASE("an object without ok is well-formed but not an acknowledgement") {
  Ack ack;
  CHECK(parse("{}", ack));
  CHECK_FALSE(ack.ok);
  CHECK(parse(R"({"message": "Hello from Home Assistant"})", ack));
  CHECK_FALSE(ack.ok);
}

TEST_CASE("truncated bodies are refused") {
  const std::string full = R"({"ok": true, "accepted": 10, "duplicates": 0, "dropped": 0, "seq": 42})";
  for (std::size_t n = 0; n < full.size(); ++n) {
    Ack ack;
    CAPTURE(n);
    CHECK_FALSE(parse(full.substr(0, n), ack));
  }
}

TEST_CASE("garbage and non-objects are refused") {
  const char* bodies[] = {
      "",
      "ok",
      "true",
      "[{\"ok\":true}]",
      "\"ok\"",
      "<html><body>502 Bad Gateway</body></html>",
      "{\"ok\":true}}",
      "{\"ok\":true} {\"ok\":true}",
      "{\"ok\":true,}",
      "{,\"ok\":true}",
      "{\"ok\" true}",
      "{ok:true}",
      "{'ok':true}",
      "{\"ok\":TRUE}",
      "{\"ok\":tru}",
      "{\"ok\":1}",
      "{\"ok\":\"true\"}",
      "{\"ok\":null}",
      "{\"ok\":true,\"seq\":-1}",
      "{\"ok\":true,\"seq\":4.0}",
      "{\"ok\":true,\"seq\":1e2}",
      "{\"ok\":true,\"seq\":\"42\"}",
      "{\"ok\":true,\"accepted\":9007199254740992}",
      "{\"ok\":true,\"accepted\":99999999999999999999999}",
      "{\"ok\":true,\"x\":01}",
      "{\"ok\":true,\"x\":1.}",
      "{\"ok\":true,\"x\":-}",
      "{\"ok\":true,\"x\":.5}",
      "{\"ok\":true,\"x\":1e}",
      "{\"ok\":true,\"x\":\"bad \\x escape\"}",
      "{\"ok\":true,\"x\":\"bad \\u12G4\"}",
      "{\"ok\":true,\"x\":\"cut \\u12\"}",
      "{\"ok\":true,\"x\":\"raw\ncontrol\"}",
      "{\"ok\":true,\"x\":\"unterminated}",
      "{\"ok\":true,\"x\":[1,2}",
      "{\"ok\":true,\"x\":{\"a\"}}",
      "{\"ok\":true,\"x\":[1 2]}",
  };
  for (const char* body : bodies) {
    Ack ack;
    CAPTURE(body);
    CHECK_FALSE(parse(body, ack));
  }
}

TEST_CASE("nesting is bounded") {
  Ack ack;
  const std::string shallow = "{\"x\":" + std::string(8, '[') + "1" + std::string(8, ']') + ",\"ok\":true}";
  CHECK(parse(shallow, ack));
  const std::string deep = "{\"x\":" + std::string(9, '[') + std::string(9, ']') + ",\"ok\":true}";
  CHECK_FALSE(parse(deep, ack));
  const std::string hostile = "{\"x\":" + std::string(100000, '[') + "}";
  CHECK_FALSE(parse(hostile, ack));
}

TEST_CASE("the body length is honoured without a terminating NUL") {
  const char body[] = {'{', '"', 'o', 'k', '"', ':', 't', 'r', 'u', 'e', '}', 'X'};
  Ack ack;
  CHECK(parse_ack(body, 11, ack));
  CHECK(ack.ok);
  CHECK_FALSE(parse_ack(body, sizeof body, ack));
  CHECK_FALSE(parse_ack(body, 9, ack));  // ends inside "true"
  CHECK_FALSE(parse_ack(nullptr, 0, ack));
}

TEST_CASE("a failed parse leaves no stale acknowledgement") {
  Ack ack;
  REQUIRE(parse(R"({"ok":true,"seq":5,"accepted":3})", ack));
  CHECK_FALSE(parse(R"({"ok":true,"seq":5,"accepted":3)", ack));
  CHECK_FALSE(ack.ok);
}
