// Manifest loading: multi-document YAML, JSON, directories, List kinds,
// scalar typing and errors that name file, document and line.
#include "drahil/kube/manifest.hpp"

#include <sys/stat.h>

#include <fstream>

#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"

using drahil::kube::Object;
using drahil::kube::ParseManifests;

namespace {
void Write(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}
}  // namespace

TEST_CASE("Manifest: multi-document YAML with comments, empty documents and a List",
          "[kube][manifest]") {
  const std::string text = R"(# leading comment
---
apiVersion: resource.k8s.io/v1
kind: DeviceClass
metadata:
  name: gpu.example.com
---
# only a comment: skipped
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: a}
- apiVersion: v1
  kind: Namespace
  metadata: {name: b}
...
--- {apiVersion: v1, kind: Node, metadata: {name: n1}}
)";
  auto objs = ParseManifests(text, "all.yaml");
  REQUIRE_OK(objs);
  REQUIRE(objs->size() == 4);
  CHECK((*objs)[0].object["kind"] == "DeviceClass");
  CHECK((*objs)[0].document == 0);
  CHECK((*objs)[0].line == 3);
  CHECK((*objs)[1].object["metadata"]["name"] == "a");
  CHECK((*objs)[2].object["metadata"]["name"] == "b");
  CHECK((*objs)[2].document == 1);
  CHECK((*objs)[3].object["kind"] == "Node");
  CHECK((*objs)[3].document == 2);
  CHECK((*objs)[3].line == 20);
  CHECK((*objs)[3].Where() == "all.yaml: document 2 (line 20)");
}

TEST_CASE("Manifest: YAML scalars keep their types", "[kube][manifest]") {
  auto v = drahil::kube::YamlToJson(R"(
int: 12
neg: -7
hex: 0x1F
octal: 0o17
big: 18446744073709551615
float: 1.5
exp: 1e3
quoted_int: "12"
quoted_bool: "true"
single: 'yes'
bool: true
yes_bool: yes
off_bool: Off
nul: null
tilde: ~
empty:
str: hello world
version: 1.0.0
ip: 10.0.0.1
time: 12:30
inf: .inf
tagged: !!str 42
block: |
  line one
  line two
list: [1, "1", one]
)");
  REQUIRE_OK(v);
  const Object& o = *v;
  CHECK(o["int"] == 12);
  CHECK(o["int"].is_number_integer());
  CHECK(o["neg"] == -7);
  CHECK(o["hex"] == 31);
  CHECK(o["octal"] == 15);
  CHECK(o["big"].get<uint64_t>() == UINT64_MAX);
  CHECK(o["float"] == 1.5);
  CHECK(o["exp"].is_number_float());
  CHECK(o["exp"] == 1000.0);
  CHECK(o["quoted_int"] == "12");
  CHECK(o["quoted_bool"] == "true");
  CHECK(o["single"] == "yes");
  CHECK(o["bool"] == true);
  CHECK(o["yes_bool"] == true);
  CHECK(o["off_bool"] == false);
  CHECK(o["nul"].is_null());
  CHECK(o["tilde"].is_null());
  CHECK(o["empty"].is_null());
  CHECK(o["str"] == "hello world");
  CHECK(o["version"] == "1.0.0");
  CHECK(o["ip"] == "10.0.0.1");
  CHECK(o["time"] == "12:30");
  CHECK(o["inf"] == ".inf");
  CHECK(o["tagged"] == "42");
  CHECK(o["block"] == "line one\nline two\n");
  CHECK(o["list"] == Object::parse(R"([1,"1","one"])"));
}

TEST_CASE("Manifest: anchors, aliases and merge keys", "[kube][manifest]") {
  auto v = drahil::kube::YamlToJson(R"(
base: &b {driver: gpu.example.com, count: 1}
copy: *b
merged:
  <<: *b
  count: 2
)");
  REQUIRE_OK(v);
  CHECK((*v)["copy"] == (*v)["base"]);
  CHECK((*v)["merged"] == Object::parse(R"({"driver":"gpu.example.com","count":2})"));
}

TEST_CASE("Manifest: errors name the file, document and line", "[kube][manifest]") {
  auto r = ParseManifests(
      "apiVersion: v1\nkind: Node\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Node\n"
      "metadata:\n  name: [unclosed\n",
      "bad.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == drahil::Code::kInvalidArgument);
  INFO(r.status().message());
  CHECK(r.status().message().rfind("bad.yaml: document 1 (line ", 0) == 0);
  r = ParseManifests("apiVersion: v1\nkind: Node\nkind: Pod\n", "dup.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "dup.yaml: document 0 (line 3): mapping key \"kind\" already defined");
  r = ParseManifests("apiVersion: v1\nmetadata: {name: a}\n", "nokind.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "nokind.yaml: document 0 (line 1): kind not set");
  r = ParseManifests("- a\n- b\n", "seq.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "seq.yaml: document 0 (line 1): expected an API object (a mapping), found array");
  r = ParseManifests("{\"apiVersion\": \"v1\",\n \"kind\": \"Node\",\n \"x\": }", "bad.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().rfind("bad.json: document 0 (line 3): invalid JSON", 0) == 0);
  r = ParseManifests("[1e99999]", "huge.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().rfind("huge.json: document 0 (line 1): invalid JSON", 0) == 0);
  r = ParseManifests("apiVersion: v1\nkind: List\nitems:\n- kind: Node\n", "list.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "list.yaml: document 0 (line 1): items[0]: apiVersion not set");
}

TEST_CASE("Manifest: hostile input is refused without exhausting memory", "[kube][manifest]") {
  // "Billion laughs": each level doubles the expansion.
  std::string laughs = "a0: &a0 [x, x]\n";
  for (int i = 1; i < 40; ++i) {
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" +
              std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + "]\n";
  }
  auto r = drahil::kube::YamlToJson(laughs);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("more than 1000000 nodes") != std::string::npos);
  std::string deep(5000, '[');
  r = drahil::kube::YamlToJson("a: " + deep);
  CHECK_FALSE(r.ok());
  r = drahil::kube::YamlToJson("a: b\n---\nc: d\n");
  CHECK_FALSE(r.ok());
}

TEST_CASE("Manifest: a directory loads like kubectl apply -f DIR", "[kube][manifest]") {
  auto dir = drahil::TempDir::Create("kube-manifest-");
  REQUIRE_OK(dir);
  const std::string d = dir->path();
  Write(d + "/b.yaml", "apiVersion: v1\nkind: Node\nmetadata: {name: from-b}\n");
  Write(d + "/a.json", R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"from-a"}})");
  Write(d + "/c.yml",
        "apiVersion: v1\nkind: Node\nmetadata: {name: from-c1}\n---\napiVersion: v1\nkind: Node\n"
        "metadata: {name: from-c2}\n");
  Write(d + "/notes.txt", "not a manifest");
  REQUIRE(::mkdir((d + "/sub").c_str(), 0755) == 0);
  Write(d + "/sub/d.yaml", "apiVersion: v1\nkind: Node\nmetadata: {name: from-sub}\n");
  auto objs = drahil::kube::LoadManifests(d);
  REQUIRE_OK(objs);
  std::vector<std::string> names;
  for (const auto& o : *objs) names.push_back(drahil::kube::Name(o.object));
  CHECK(names == std::vector<std::string>{"from-a", "from-b", "from-c1", "from-c2"});
  CHECK((*objs)[0].file == d + "/a.json");
  CHECK((*objs)[3].document == 1);
  drahil::kube::ManifestOptions rec;
  rec.recursive = true;
  objs = drahil::kube::LoadManifests(d, rec);
  REQUIRE_OK(objs);
  CHECK(objs->size() == 5);
  Write(d + "/e.yaml", "apiVersion: v1\nkind: Node\nmetadata:\n\tname: tab\n");
  auto bad = drahil::kube::LoadManifests(d);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().rfind(d + "/e.yaml: document 0 (line ", 0) == 0);
  auto missing = drahil::kube::LoadManifests(d + "/nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == drahil::Code::kNotFound);
}

TEST_CASE("Manifest: JsonToYaml output reads back to the same value", "[kube][manifest]") {
  Object v = Object::parse(R"({"apiVersion":"resource.k8s.io/v1","kind":"ResourceSlice",
    "metadata":{"name":"s","labels":{"a":"true","b":"12","c":"","d":"yes","e":"1.0.0","f":"with space","g":"x: y"}},
    "spec":{"devices":[{"name":"gpu-0","attributes":{"index":{"int":0},"ok":{"bool":true}}},
                        {"name":"gpu-1","list":[[1,2],[],{}]}],
            "nested":[[{"a":1}]],"f":1.25,"n":null,"multi":"line1\nline2","unicode":"é"}})");
  // Keys longer than YAML's 1024-character limit for implicit keys.
  v["spec"][std::string(2000, 'k')] = {{"list", {1, 2}}};
  v["spec"][std::string(1500, 'j')] = Object::array({1, Object::array({2})});
  v["spec"][std::string(1200, 'i')] = "scalar";
  std::string yaml = drahil::kube::JsonToYaml(v);
  INFO(yaml);
  auto back = drahil::kube::YamlToJson(yaml);
  REQUIRE_OK(back);
  CHECK(*back == v);
}
