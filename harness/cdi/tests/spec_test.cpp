#include "drahil/cdi/spec.hpp"

#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"
#include "fixtures.hpp"

namespace drahil::cdi {
namespace {

TEST_CASE("CdiSpec: every valid fixture parses", "[cdi]") {
  auto files = testdata::Files("valid");
  REQUIRE(files.size() >= 4);
  for (const auto& f : files) {
    INFO(f);
    auto spec = LoadSpecFile(f);
    REQUIRE_OK(spec);
    CHECK(spec->path == f);
    CHECK(CompareVersions(MinimumVersion(*spec), spec->cdi_version) <= 0);
  }
}

TEST_CASE("CdiSpec: every invalid fixture fails naming file, JSON path and rule", "[cdi]") {
  auto files = testdata::Files("invalid");
  REQUIRE(files.size() >= 50);
  for (const auto& f : files) {
    auto expect = testdata::ExpectWords(f, "expect");
    INFO(f);
    REQUIRE(expect.size() >= 2);
    std::string path = expect[1];
    for (size_t i = 2; i < expect.size(); ++i) path += " " + expect[i];
    auto spec = LoadSpecFile(f);
    REQUIRE_FALSE(spec.ok());
    const std::string msg = spec.status().message();
    INFO(msg);
    CHECK(spec.status().code() == Code::kInvalidArgument);
    CHECK(msg.rfind(f + ": ", 0) == 0);
    CHECK(msg.find("[" + expect[0] + "]") != std::string::npos);
    CHECK(msg.find(": " + path + ": ") != std::string::npos);
  }
}

TEST_CASE("CdiSpec: fields decode with YAML 1.1 typing", "[cdi]") {
  auto spec = LoadSpecFile(testdata::Dir("valid/example-driver-050.yaml"));
  REQUIRE_OK(spec);
  REQUIRE(spec->devices.size() == 1);
  const DeviceNode& n = spec->devices[0].edits.device_nodes.at(0);
  CHECK(n.file_mode == 0660u);  // YAML 1.1 octal, as the Go reader reads it
  CHECK(n.major == 195);
  CHECK(n.gid == 44u);
  CHECK(n.HostPath() == "/var/lib/fake/dev/nvidia0");
  CHECK(n.EffectivePermissions() == "rw");
  CHECK(spec->Vendor() == "k8s.gpu.example.com");
  CHECK(spec->Class() == "gpu");

  auto y = LoadSpecFile(testdata::Dir("valid/yaml11-octal-and-null.yaml"));
  REQUIRE_OK(y);
  CHECK(y->devices[0].edits.device_nodes[0].file_mode == 0644u);
  CHECK(y->devices[0].annotations.at("vendor.com/note") == "yes");  // quoted stays a string
  CHECK(y->edits.env.empty());                                      // null means absent
}

TEST_CASE("CdiSpec: full 1.1.0 JSON spec keeps every field", "[cdi]") {
  auto spec = LoadSpecFile(testdata::Dir("valid/full-110.json"));
  REQUIRE_OK(spec);
  CHECK(MinimumVersion(*spec) == "1.1.0");
  const ContainerEdits& e = spec->devices[0].edits;
  CHECK(e.env == std::vector<std::string>{"ACCEL=0", "EMPTY="});
  CHECK(e.hooks.at(0).args == std::vector<std::string>{"accel-hook", "update"});
  CHECK(e.hooks.at(0).timeout == 5);
  REQUIRE(e.intel_rdt.has_value());
  CHECK(e.intel_rdt->enable_monitoring);
  CHECK(e.additional_gids == std::vector<uint32_t>{44, 0});
  CHECK(e.net_devices.at(0).name == "net1");
  CHECK(spec->devices[1].edits.device_nodes[0].EffectivePermissions().empty());  // "none"
}

TEST_CASE("CdiSpec: JSON syntax and type errors", "[cdi]") {
  struct Case {
    const char* text;
    const char* rule;
    const char* path;
  };
  const Case cases[] = {
      {"{", "syntax", "$"},
      {"{\"cdiVersion\": \"0.5.0\", \"kind\": \"v.com/c\", \"devices\": {}}", "type", "$.devices"},
      {"{\"cdiVersion\": \"0.5.0\", \"kind\": \"v.com/c\", \"devices\": [{\"name\": \"d\", "
       "\"containerEdits\": {\"deviceNodes\": [{\"path\": \"/dev/x\", \"major\": 1.5}]}}]}",
       "type", "$.devices[0].containerEdits.deviceNodes[0].major"},
      {"{\"cdiVersion\": \"0.5.0\", \"kind\": \"v.com/c\", \"devices\": [{\"name\": \"d\", "
       "\"containerEdits\": {\"env\": [\"A=1\"]}, \"extra\": 1}]}",
       "unknown-field", "$.devices[0].extra"},
      {"[]", "type", "$"},
      {"{\"cdiVersion\": \"0.5.0\", \"kind\": \"v.com/c\", \"devices\": [{\"name\": \"d\", "
       "\"containerEdits\": {\"deviceNodes\": [{\"path\": \"/dev/x\", \"minor\": "
       "99999999999999999999}]}}]}",
       "type", "$.devices[0].containerEdits.deviceNodes[0].minor"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto spec = ParseSpec(c.text, "mem.json", Format::kJson);
    REQUIRE_FALSE(spec.ok());
    INFO(spec.status().message());
    CHECK(spec.status().message().find(std::string("[") + c.rule + "]") != std::string::npos);
    CHECK(spec.status().message().find(std::string("mem.json: ") + c.path + ": ") !=
          std::string::npos);
  }
}

TEST_CASE("CdiSpec: hostile input never crashes", "[cdi]") {
  std::string deep_json(100000, '[');
  CHECK_FALSE(ParseSpec(deep_json, "deep.json", Format::kJson).ok());
  std::string deep_yaml(5000, '[');
  CHECK_FALSE(ParseSpec(deep_yaml, "deep.yaml", Format::kYaml).ok());
  std::string nested = "a:\n";
  for (int i = 1; i < 100; ++i) nested += std::string(static_cast<size_t>(i) * 2, ' ') + "b:\n";
  CHECK_FALSE(ParseSpec(nested, "nested.yaml", Format::kYaml).ok());
  CHECK_FALSE(ParseSpec(std::string("\0\xff\xfe", 3), "bin", Format::kAuto).ok());
  CHECK_FALSE(ParseSpec("", "empty.yaml").ok());
}

TEST_CASE("CdiSpec: qualified names follow the runtime's rules", "[cdi]") {
  auto q = ParseQualifiedName("k8s.gpu.example.com/gpu=5f1d-gpu-0");
  REQUIRE_OK(q);
  CHECK(q->vendor == "k8s.gpu.example.com");
  CHECK(q->class_name == "gpu");
  CHECK(q->name == "5f1d-gpu-0");
  CHECK(q->ToString() == "k8s.gpu.example.com/gpu=5f1d-gpu-0");
  CHECK(ParseQualifiedName("vendor.com/class=a:b_c.d").ok());
  for (const char* bad :
       {"/vendor.com/class=x", "vendor.com/class", "vendor.com=x", "vendor.com/class=a=b", "=x",
        "vendor.com/=x", "/class=x", "vendor.com/class=", "1v.com/c=x", "v.com/c=-x", "v.com/c=x-",
        "v.com/c=a/b", "v_/c=x"}) {
    INFO(bad);
    CHECK(ParseQualifiedName(bad).status().code() == Code::kInvalidArgument);
  }
  CHECK_FALSE(ValidateClassName(std::string(64, 'a')).ok());
  CHECK(ValidateClassName(std::string(63, 'a')).ok());
  CHECK_FALSE(ValidateVendorName(std::string(254, 'a')).ok());
  CHECK(ValidateDeviceName("0").ok());
  CHECK_FALSE(ValidateDeviceName("_").ok());
}

TEST_CASE("CdiSpec: minimum version follows the features used", "[cdi]") {
  Spec s;
  s.kind = "v.com/c";
  s.devices.push_back({"d", {}, {}});
  s.devices[0].edits.env = {"A=1"};
  CHECK(MinimumVersion(s) == "0.3.0");
  s.devices[0].edits.mounts.push_back({"/a", "/a", {}, "bind"});
  CHECK(MinimumVersion(s) == "0.4.0");
  s.devices[0].name = "0d";
  CHECK(MinimumVersion(s) == "0.5.0");
  s.kind = "v.com/c.d";
  CHECK(MinimumVersion(s) == "0.6.0");
  s.edits.additional_gids = {3};
  CHECK(MinimumVersion(s) == "0.7.0");
  s.devices[0].edits.net_devices.push_back({"eth0", "n0"});
  CHECK(MinimumVersion(s) == "1.1.0");
}

TEST_CASE("CdiSpec: WriteSpecFile writes the minimum version and round-trips", "[cdi]") {
  auto dir = TempDir::Create("cdi-write-");
  REQUIRE_OK(dir);
  Spec s;
  s.kind = "k8s.gpu.example.com/gpu";
  Device d;
  d.name = "0123-gpu-0";
  d.edits.env = {"GPU_DEVICE_0=gpu-0"};
  DeviceNode n;
  n.path = "/dev/nvidia0";
  n.host_path = "/fake/dev/nvidia0";
  n.permissions = "rw";
  n.file_mode = 0660;
  d.edits.device_nodes.push_back(n);
  s.devices.push_back(d);
  auto path = WriteSpecFile(s, dir->path(), "k8s.gpu.example.com-gpu_claim1");
  REQUIRE_OK(path);
  CHECK(*path == dir->Join("k8s.gpu.example.com-gpu_claim1.json"));
  auto back = LoadSpecFile(*path);
  REQUIRE_OK(back);
  CHECK(back->cdi_version == "0.5.0");
  CHECK(back->devices[0].edits.device_nodes[0].host_path == "/fake/dev/nvidia0");
  CHECK(back->devices[0].edits.device_nodes[0].file_mode == 0660u);

  s.devices[0].edits = {};
  auto bad = WriteSpecFile(s, dir->path(), "x.json");
  CHECK(bad.status().code() == Code::kInvalidArgument);
  CHECK_FALSE(PathExists(dir->Join("x.json")));
  CHECK(WriteSpecFile(s, dir->path(), "../escape").status().code() == Code::kInvalidArgument);
}

TEST_CASE("CdiSpec: LoadSpecFile rejects other extensions", "[cdi]") {
  auto r = LoadSpecFile("/etc/cdi/spec.txt");
  CHECK(r.status().code() == Code::kInvalidArgument);
  CHECK(r.status().message().find("[file-extension]") != std::string::npos);
}

}  // namespace
}  // namespace drahil::cdi

namespace drahil::cdi {
namespace {

TEST_CASE("CdiSpec: invalid UTF-8 is a syntax error, not a crash (fuzz finding)", "[cdi]") {
  std::string text =
      "cdiVersion: 0.5.0\nkind: v.com/c\ndevices: [{name: d, containerEdits: {env: "
      "[\"A=fal\xa4\xa4se\"]}}]\n";
  auto y = ParseSpec(text, "bad-utf8.yaml", Format::kYaml);
  REQUIRE_FALSE(y.ok());
  CHECK(y.status().message().find("[syntax] invalid UTF-8 at byte ") != std::string::npos);
  CHECK_FALSE(ParseSpec(text, "bad-utf8.json", Format::kJson).ok());
  // A spec built in code with bad bytes still serialises without throwing.
  Spec s;
  s.kind = "v.com/c";
  s.devices.push_back({"d", {}, {}});
  s.devices[0].edits.env = {"A=\xff"};
  CHECK(ToJson(s).find("A=\xef\xbf\xbd") != std::string::npos);
  CHECK(ParseSpec("env: [\"\xc3\xa9t\xc3\xa9=1\"]\n", "ok-utf8.yaml")
            .status()
            .message()
            .find("UTF-8") == std::string::npos);
}

}  // namespace
}  // namespace drahil::cdi
