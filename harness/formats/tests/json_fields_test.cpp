#include "drahil/formats/json_fields.hpp"

#include "drahil/testing/testing.hpp"

namespace drahil::formats {
namespace {

using Json = nlohmann::json;

const Json kClaim = Json::parse(R"({
  "metadata": {"name": "gpu-claim", "labels": null},
  "spec": {"driver": "gpu.example.com", "count": 2, "ratio": 0.5, "shared": true,
           "big": 18446744073709551615, "neg": -1, "devices": [1], "driverRef": {}}
})");

TEST_CASE("JsonFields: typed getters read dotted paths", "[formats][json]") {
  CHECK(*GetString(kClaim, "spec.driver") == "gpu.example.com");
  CHECK(*GetInt(kClaim, "spec.count") == 2);
  CHECK(*GetUint(kClaim, "spec.big") == UINT64_MAX);
  CHECK(*GetNumber(kClaim, "spec.count") == 2.0);
  CHECK(*GetNumber(kClaim, "spec.ratio") == 0.5);
  CHECK(*GetBool(kClaim, "spec.shared"));
  CHECK((*GetArray(kClaim, "spec.devices"))->size() == 1);
  CHECK((*GetObject(kClaim, "spec.driverRef"))->empty());
  CHECK(Find(kClaim, "")->is_object());
  CHECK(Find(kClaim, "spec.driver.x") == nullptr);
  CHECK(At(kClaim, "spec.nothing").is_null());
}

TEST_CASE("JsonFields: errors name the path and both types", "[formats][json]") {
  auto s = GetString(kClaim, "spec.count");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == Code::kInvalidArgument);
  CHECK(s.status().message() == "spec.count: expected a string, got an integer");
  CHECK(GetString(kClaim, "spec.nothing").status().message() == "spec.nothing: missing");
  CHECK(GetString(kClaim, "metadata.labels").status().message() == "metadata.labels: missing");
  CHECK(GetInt(kClaim, "spec.ratio").status().message() ==
        "spec.ratio: expected an integer, got a number");
  CHECK(GetInt(kClaim, "spec.big").status().message() ==
        "spec.big: 18446744073709551615 is out of range");
  CHECK(GetUint(kClaim, "spec.neg").status().message() == "spec.neg: -1 is out of range");
  CHECK(Get<uint8_t>(Json{{"n", 300}}, "n").status().message() == "n: 300 is out of range");
  CHECK(GetBool(kClaim, "spec").status().message() == "spec: expected a boolean, got an object");
  CHECK(GetString(Json(1), "").status().message() == "value: expected a string, got an integer");
}

TEST_CASE("JsonFields: lenient readers fall back", "[formats][json]") {
  CHECK(StringOr(kClaim, "metadata.name") == "gpu-claim");
  CHECK(StringOr(kClaim, "metadata.namespace", "default") == "default");
  CHECK(StringOr(kClaim, "spec.count") == "");
  CHECK(StringOr(Json::array(), "metadata.name") == "");
  CHECK(BoolOr(kClaim, "spec.shared"));
  CHECK_FALSE(BoolOr(kClaim, "spec.driver"));
  CHECK(BoolOr(kClaim, "spec.none", true));
  const Json caps = {{"gpu.example.com/memory", "80Gi"}, {"mig", true}};
  CHECK(MemberString(caps, "gpu.example.com/memory") == "80Gi");
  CHECK(StringOr(caps, "gpu.example.com/memory") == "");  // a path: "gpu", "example", ...
  CHECK(MemberBool(caps, "mig"));
  CHECK_FALSE(MemberBool(caps, "gpu.example.com/memory"));
  CHECK(Member(Json(3), "x").is_null());
}

TEST_CASE("JsonFields: ReadField fills a struct, optional fields kept", "[formats][json]") {
  struct Gpu {
    uint32_t index = 0;
    std::string uuid;
    int numa = -1;
  } g;
  Json j = {{"index", 3}, {"uuid", "GPU-1"}};
  CHECK_OK(ReadField(j, "index", &g.index));
  CHECK_OK(ReadField(j, "uuid", &g.uuid));
  CHECK_OK(ReadField(j, "numa", &g.numa, /*required=*/false));
  CHECK(g.index == 3);
  CHECK(g.uuid == "GPU-1");
  CHECK(g.numa == -1);
  CHECK(ReadField(j, "numa", &g.numa).message() == "numa: missing");
  CHECK(ReadField(j, "uuid", &g.index, false).message() ==
        "uuid: expected an integer, got a string");
  std::vector<uint32_t> peers;
  CHECK_OK(ReadField(Json{{"peers", {1, 2}}}, "peers", &peers));
  CHECK(peers == std::vector<uint32_t>{1, 2});
  auto bad = ReadField(Json{{"peers", "x"}}, "peers", &peers);
  CHECK(bad.message().rfind("peers: ", 0) == 0);
  CHECK(ReadField(Json::object(), "peers", &peers).message() == "peers: missing");
}

}  // namespace
}  // namespace drahil::formats
