#include "drahil/formats/yaml_json.hpp"

#include <chrono>

#include "drahil/testing/testing.hpp"

namespace drahil::formats {
namespace {

using Json = nlohmann::json;

Json One(const std::string& yaml) {
  auto docs = YamlDocumentsToJson(yaml, "t.yaml");
  REQUIRE_OK(docs);
  REQUIRE(docs->size() == 1);
  return docs->front();
}

// Laughs(): an alias bomb; level i is a list of `width` aliases of level i-1.
std::string Laughs(int levels, int width, const std::string& leaf = "lol") {
  std::string y = "l0: &l0 " + leaf + "\n";
  for (int i = 1; i < levels; ++i) {
    y += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < width; ++k) y += (k ? ", *l" : "*l") + std::to_string(i - 1);
    y += "]\n";
  }
  return y;
}

TEST_CASE("YamlToJson: plain scalars follow go-yaml v2", "[formats][yaml]") {
  Json o = One(R"(
int: 12
neg: -7
under: 1_000
hex: 0x1F
octal: 0o17
old_octal: 017
binary: 0b101
nine: 09
big: 18446744073709551615
huge: 123456789012345678901234567890
huge_hex: 0x1FFFFFFFFFFFFFFFFFF
float: 1.5
exp: 1e3
dot: .5
yes: yes
y: y
n: N
on: On
off: OFF
true: True
nul: null
tilde: ~
empty:
inf: .inf
nan: .nan
version: 1.0.0
ip: 10.0.0.1
time: 12:30
)");
  CHECK(o["int"] == 12);
  CHECK(o["neg"] == -7);
  CHECK(o["under"] == 1000);
  CHECK(o["hex"] == 31);
  CHECK(o["octal"] == 15);
  CHECK(o["old_octal"] == 15);
  CHECK(o["binary"] == 5);
  CHECK(o["nine"].is_number_float());
  CHECK(o["nine"] == 9.0);
  CHECK(o["big"].get<uint64_t>() == UINT64_MAX);
  CHECK(o["huge"].is_number_float());
  CHECK(o["huge_hex"] == "0x1FFFFFFFFFFFFFFFFFF");
  CHECK(o["float"] == 1.5);
  CHECK(o["exp"].is_number_float());
  CHECK(o["exp"] == 1000.0);
  CHECK(o["dot"] == 0.5);
  CHECK(o["yes"] == true);
  CHECK(o["y"] == true);
  CHECK(o["n"] == false);
  CHECK(o["on"] == true);
  CHECK(o["off"] == false);
  CHECK(o["true"] == true);
  CHECK(o["nul"].is_null());
  CHECK(o["tilde"].is_null());
  CHECK(o["empty"].is_null());
  CHECK(o["inf"] == ".inf");
  CHECK(o["nan"] == ".nan");
  CHECK(o["version"] == "1.0.0");
  CHECK(o["ip"] == "10.0.0.1");
  CHECK(o["time"] == "12:30");
}

TEST_CASE("YamlToJson: quoted, block and !!str scalars stay strings", "[formats][yaml]") {
  Json o = One(R"(
dq: "12"
sq: 'yes'
null_q: "~"
tagged: !!str 42
block: |
  0x10
folded: >
  true
as_int: !!int "0x10"
as_float: !!float 3
as_bool: !!bool "off"
custom: !thing 7
)");
  CHECK(o["dq"] == "12");
  CHECK(o["sq"] == "yes");
  CHECK(o["null_q"] == "~");
  CHECK(o["tagged"] == "42");
  CHECK(o["block"] == "0x10\n");
  CHECK(o["folded"] == "true\n");
  CHECK(o["as_int"] == 16);
  CHECK(o["as_float"].is_number_float());
  CHECK(o["as_bool"] == false);
  CHECK(o["custom"] == 7);
  CHECK(ResolvePlainScalar("no") == false);
  CHECK(ResolvePlainScalar("gpu-0") == "gpu-0");
}

TEST_CASE("YamlToJson: aliases, merge keys, repeated and complex keys", "[formats][yaml]") {
  Json o = One(R"(
base: &b {driver: gpu.example.com, count: 1}
copy: *b
merged:
  <<: *b
  count: 2
)");
  CHECK(o["copy"] == o["base"]);
  CHECK(o["merged"] == Json::parse(R"({"driver":"gpu.example.com","count":2})"));

  auto dup = YamlDocumentsToJson("a: 1\nb: 2\na: 3\n", "dup.yaml");
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.status().message() == "dup.yaml:3:1: mapping key \"a\" already defined");
  auto complex = YamlDocumentsToJson("? [a, b]\n: c\n", "key.yaml");
  REQUIRE_FALSE(complex.ok());
  CHECK(complex.status().message().rfind("key.yaml:1:", 0) == 0);
  auto bad_int = YamlDocumentsToJson("a: !!int twelve\n", "int.yaml");
  REQUIRE_FALSE(bad_int.ok());
  CHECK(bad_int.status().message() == "int.yaml:1:4: cannot decode !!int `twelve`");
}

// Found by fuzz_suite: yaml-cpp 0.7's LoadAll() never returns when a document
// starts with a flow entry; a one-byte suite file hung `drahil validate`.
TEST_CASE("YamlToJson: a document that starts with ',' is an error, not a hang",
          "[formats][yaml]") {
  for (const char* text : {",", ",#x\n", "a: 1\n---\n, b\n", "# c\n\n  ,\n"}) {
    INFO(text);
    auto r = ParseYamlStream(text, "stray.yaml");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().rfind("stray.yaml:", 0) == 0);
    CHECK(r.status().message().find("unexpected ','") != std::string::npos);
  }
  auto fine = YamlDocumentsToJson("a: [1, 2]\n---\n- x\n", "fine.yaml");
  REQUIRE_OK(fine);
  CHECK(fine->size() == 2);
}

TEST_CASE("YamlToJson: syntax errors name the file, line and column", "[formats][yaml]") {
  auto r = ParseYamlStream("a: b\nc: [unclosed\n", "bad.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
  CHECK(r.status().message().rfind("bad.yaml:", 0) == 0);
  auto docs = YamlDocumentsToJson("a: 1\n---\n---\nb: 2\n", "multi.yaml");
  REQUIRE_OK(docs);
  REQUIRE(docs->size() == 3);
  CHECK((*docs)[1].is_null());
  CHECK((*docs)[2]["b"] == 2);
}

TEST_CASE("YamlToJson: an alias bomb fails fast, naming the file", "[formats][yaml]") {
  // 10^9 scalars once expanded: without limits this exhausts memory.
  const std::string bomb = Laughs(10, 10);
  auto start = std::chrono::steady_clock::now();
  auto r = YamlDocumentsToJson(bomb, "suites/laughs.yaml");
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(r.ok());
  INFO(r.status().message());
  CHECK(r.status().message().rfind("suites/laughs.yaml:", 0) == 0);
  CHECK(r.status().message().find("more than 1000000 nodes (alias expansion?)") !=
        std::string::npos);
  CHECK(took < std::chrono::seconds(20));

  // Few nodes, but each a large string: the byte limit stops it.
  YamlLimits small;
  small.max_bytes = 1 << 20;
  auto wide = YamlDocumentsToJson(Laughs(4, 16, std::string(4096, 'x')), "wide.yaml", small);
  REQUIRE_FALSE(wide.ok());
  CHECK(wide.status().message().find("more than 1048576 bytes") != std::string::npos);

  YamlLimits shallow;
  shallow.max_depth = 8;
  auto deep = YamlDocumentsToJson("a: [[[[[[[[[[1]]]]]]]]]]\n", "deep.yaml", shallow);
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.status().message().find("deeper than 8 levels") != std::string::npos);
}

TEST_CASE("YamlToJson: one converter's calls share one budget", "[formats][yaml]") {
  auto docs = ParseYamlStream("[a, b, c]\n", "t.yaml");
  REQUIRE_OK(docs);
  YamlLimits limits;
  limits.max_nodes = 10;
  YamlConverter conv("t.yaml", limits);
  REQUIRE_OK(conv.Convert(docs->front()));  // 4 nodes
  REQUIRE_OK(conv.Convert(docs->front()));  // 8
  auto third = conv.Convert(docs->front());
  REQUIRE_FALSE(third.ok());
  CHECK(conv.error().line == 1);
  CHECK(conv.error().message == "YAML expands to more than 10 nodes (alias expansion?)");
  CHECK_OK(CheckYamlLimits(*docs, "t.yaml", limits));
  auto bomb = ParseYamlStream(Laughs(10, 10), "b.yaml");
  REQUIRE_OK(bomb);  // yaml-cpp shares aliased nodes: parsing alone is cheap
  CHECK_FALSE(CheckYamlLimits(*bomb, "b.yaml").ok());
}

}  // namespace
}  // namespace drahil::formats
