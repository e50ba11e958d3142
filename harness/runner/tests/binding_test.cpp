// Binding the catalog to a driver: the profile's device model, placeholders
// in suites, and rendering a case for two drivers that share no names.
#include "drahil/runner/binding.hpp"

#include "drahil/testing/testing.hpp"

using namespace drahil::runner;
using Json = nlohmann::json;

namespace {

const char* kOwn = R"(spec: drahil.driver/v1
name: own
driver: gpu.drahil.dev
command: /bin/true
devices:
  gpu:
    class: { name: gpu.drahil.dev, selector: 'device.attributes["gpu.drahil.dev"].type == "gpu"' }
    identity: uuid
    memory: memory
  mig:
    class: { selector: 'device.attributes["gpu.drahil.dev"].type == "mig"' }
    identity: uuid
    parent: parentUUID
    shapes: { small: 'device.attributes["gpu.drahil.dev"].profile == "1g.10gb"' }
taints: { unhealthy: gpu.drahil.dev/unhealthy }
configs:
  mps: { parameters: { apiVersion: gpu.drahil.dev/v1, kind: GpuConfig } }
)";

const char* kForeign = R"(spec: drahil.driver/v1
name: foreign
driver: accel.example.com
command: /bin/true
devices:
  gpu:
    class: { name: accelerator.example.com, selector: 'device.attributes["accel.example.com"].kind == "gpu"' }
    identity: vendor.example.com/serial
    memory: hbm
)";

const char* kSuite = R"(spec: drahil.suite/v1
name: s
cases:
  - id: pinned
    title: t
    requires: { devices: [{ role: victim, kind: gpu }] }
    fixtures:
      - manifest:
          apiVersion: resource.k8s.io/v1
          kind: ResourceClaim
          metadata: { name: c, namespace: dra }
          spec:
            devices:
              requests:
                - name: gpu
                  exactly:
                    deviceClassName: "{class.gpu}"
                    selectors: [ { cel: { expression: "{cel.role.victim}" } } ]
                    capacity: { requests: { "{memory.gpu}": 4Gi } }
              config: [ { opaque: "{config.mps}" } ]
    steps:
      - inject: { device-fault: { device: "{role.victim}", fault: xid } }
      - expect: { taints: { device: "{role.victim}", key: "{taint.unhealthy}" } }
      - run-pod: { pod: dra/p }
  - id: partition
    title: t
    requires: { devices: [{ kind: mig, count: 2 }] }
    steps:
      - apply:
          manifest:
            apiVersion: resource.k8s.io/v1
            kind: ResourceClaim
            metadata: { name: m, namespace: dra }
            spec:
              devices:
                requests: [ { name: m, exactly: { deviceClassName: "{class.mig}", selectors: [ { cel: { expression: "{cel.shape.mig.small}" } } ] } } ]
                constraints: [ { matchAttribute: "{attr.mig.parent}" } ]
      - run-pod: { pod: dra/p, expect-probe: pass }
)";

DeviceRecord Device(std::string name, Json attributes) {
  DeviceRecord d;
  d.name = std::move(name);
  d.kinds = {"gpu"};
  d.attributes = std::move(attributes);
  return d;
}

}  // namespace

TEST_CASE(
    "Binding: a profile's device model loads with qualified attributes and default class names",
    "[runner][binding]") {
  auto p = LoadDriverProfileString(kOwn, "own.yaml");
  REQUIRE_OK(p);
  REQUIRE(p->devices.kinds.size() == 2);
  const auto& gpu = p->devices.kinds.at("gpu");
  CHECK(gpu.class_name == "gpu.drahil.dev");
  CHECK(gpu.identity == "gpu.drahil.dev/uuid");
  CHECK(gpu.fault_target == "gpu.drahil.dev/uuid");
  CHECK(p->devices.kinds.at("mig").class_name == "mig.gpu.drahil.dev");  // <kind>.<driver>
  CHECK(p->devices.kinds.at("mig").parent == "gpu.drahil.dev/parentUUID");
  CHECK(p->devices.configs.at("mps")["driver"] == "gpu.drahil.dev");  // filled in
  CHECK(p->devices.faults == "none");                                 // no emulated node
  auto classes = ClassManifests(*p);
  REQUIRE(classes.size() == 2);
  CHECK(classes[0]["spec"]["selectors"][0]["cel"]["expression"] ==
        "device.driver == \"gpu.drahil.dev\" && (device.attributes[\"gpu.drahil.dev\"].type == "
        "\"gpu\")");
}

TEST_CASE("Binding: a malformed device model is refused with file:line", "[runner][binding]") {
  std::string head = "spec: drahil.driver/v1\nname: x\ndriver: d.example.com\ncommand: /bin/true\n";
  auto no_class = LoadDriverProfileString(head + "devices:\n  gpu: { identity: uuid }\n", "p.yaml");
  REQUIRE_FALSE(no_class.ok());
  CHECK(no_class.status().message().find("p.yaml:6:") != std::string::npos);
  CHECK(no_class.status().message().find("needs class") != std::string::npos);
  auto typo = LoadDriverProfileString(
      head + "devices:\n  gpu: { class: { name: c }, identty: uuid }\n", "p.yaml");
  REQUIRE_FALSE(typo.ok());
  CHECK(typo.status().message().find("identty") != std::string::npos);
  auto config = LoadDriverProfileString(head + "configs:\n  mps: { kind: X }\n", "p.yaml");
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().message().find("parameters") != std::string::npos);
}

TEST_CASE(
    "Binding: an unknown placeholder or an undeclared role fails the suite load with file:line",
    "[runner][binding]") {
  std::string head =
      "spec: drahil.suite/v1\nname: s\ncases:\n  - id: c\n    title: t\n    steps:\n";
  auto unknown = LoadSuiteString(
      head + "      - expect: { health: { device: \"{gpu.name}\", state: Healthy } }\n", "s.yaml");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message().find("s.yaml:7:") != std::string::npos);
  CHECK(unknown.status().message().find("unknown placeholder {gpu.name}") != std::string::npos);
  auto role = LoadSuiteString(
      head + "      - expect: { health: { device: \"{role.victim}\", state: Healthy } }\n",
      "s.yaml");
  REQUIRE_FALSE(role.ok());
  CHECK(role.status().message().find("does not declare") != std::string::npos);
  auto form = LoadSuiteString(head + "      - expect: { taints: { key: \"{attr.gpu.serial}\" } }\n",
                              "s.yaml");
  REQUIRE_FALSE(form.ok());
  CHECK(form.status().message().find("{attr.KIND.identity}") != std::string::npos);
  // Run-time placeholders and CEL/JSON braces are not placeholders.
  CHECK_OK(LoadSuiteString(
      head + "      - expect: { slices: { device-attributes: { a: '{\"b\": 1}' } } }\n", "s.yaml"));
}

TEST_CASE("Binding: one case renders for two drivers that share no names", "[runner][binding]") {
  auto suite = LoadSuiteString(kSuite, "s.yaml");
  REQUIRE_OK(suite);
  auto own = LoadDriverProfileString(kOwn, "own.yaml");
  auto foreign = LoadDriverProfileString(kForeign, "foreign.yaml");
  REQUIRE_OK(own);
  REQUIRE_OK(foreign);
  const Case& c = suite->cases[0];

  Binding b{&*own, {{"victim", Device("gpu-6", {{"uuid", {{"string", "GPU-6"}}}})}}};
  RenderedCase r = RenderCase(*suite, c, b);
  CHECK(r.missing.empty());
  REQUIRE(r.fixtures.size() == 1);
  const Json& ex = r.fixtures[0].object["spec"]["devices"]["requests"][0]["exactly"];
  CHECK(ex["deviceClassName"] == "gpu.drahil.dev");
  CHECK(ex["selectors"][0]["cel"]["expression"] ==
        "device.attributes[\"gpu.drahil.dev\"].uuid == \"GPU-6\"");
  CHECK(ex["capacity"]["requests"]["memory"] == "4Gi");  // a placeholder as a map key
  // A whole-value placeholder takes the JSON object.
  CHECK(r.fixtures[0].object["spec"]["devices"]["config"][0]["opaque"]["parameters"]["kind"] ==
        "GpuConfig");
  CHECK(r.steps[0].params["device-fault"]["device"] == "gpu-6");
  CHECK(r.steps[1].params["taints"]["key"] == "gpu.drahil.dev/unhealthy");

  Binding f{&*foreign,
            {{"victim", Device("accel-3", {{"vendor.example.com/serial", {{"int", 3}}}})}}};
  RenderedCase rf = RenderCase(*suite, c, f);
  const Json& fx = rf.fixtures[0].object["spec"]["devices"]["requests"][0]["exactly"];
  CHECK(fx["deviceClassName"] == "accelerator.example.com");
  CHECK(fx["selectors"][0]["cel"]["expression"] ==
        "device.attributes[\"vendor.example.com\"].serial == 3");
  CHECK(fx["capacity"]["requests"]["hbm"] == "4Gi");
  CHECK(rf.steps[0].params["device-fault"]["device"] == "accel-3");
  // What the foreign profile does not bind is named by its profile key.
  CHECK(rf.missing == std::set<std::string>{"configs.mps", "taints.unhealthy"});
}

TEST_CASE("Binding: unbound kinds and shapes name the profile key, run-time placeholders stay",
          "[runner][binding]") {
  auto suite = LoadSuiteString(kSuite, "s.yaml");
  REQUIRE_OK(suite);
  auto own = LoadDriverProfileString(kOwn, "own.yaml");
  auto foreign = LoadDriverProfileString(kForeign, "foreign.yaml");
  REQUIRE_OK(own);
  REQUIRE_OK(foreign);
  const Case& c = suite->cases[1];
  RenderedCase r = RenderCase(*suite, c, Binding{&*own, {}});
  CHECK(r.missing.empty());
  const Json& m =
      r.steps[0].manifests.empty() ? r.steps[0].params["manifest"] : r.steps[0].manifests[0].object;
  CHECK(m["spec"]["devices"]["requests"][0]["exactly"]["deviceClassName"] == "mig.gpu.drahil.dev");
  CHECK(m["spec"]["devices"]["constraints"][0]["matchAttribute"] == "gpu.drahil.dev/parentUUID");
  RenderedCase rf = RenderCase(*suite, c, Binding{&*foreign, {}});
  CHECK(rf.missing.count("devices.mig.class"));
  CHECK(rf.missing.count("devices.mig.shapes.small"));
  CHECK(rf.missing.count("devices.mig.parent"));

  // {device.*} is filled per container later; an inner placeholder first.
  Json v = ResolvePlaceholder("memory.gpu", Binding{&*foreign, {}}).value_or(Json());
  CHECK(v == "hbm");
  Step s;
  s.params =
      Json::array({"--expect-memory", "{device.capacity.{memory.gpu}}", "{device.attribute.uuid}"});
  Case k = c;
  k.steps = {s};
  RenderedCase rs = RenderCase(*suite, k, Binding{&*foreign, {}});
  CHECK(rs.steps[0].params[1] == "{device.capacity.hbm}");
  CHECK(rs.steps[0].params[2] == "{device.attribute.uuid}");
}

TEST_CASE("Binding: CEL literals and attribute lookups follow the attribute's type",
          "[runner][binding]") {
  CHECK(CelLiteral({{"string", "a\"b"}}) == "\"a\\\"b\"");
  CHECK(CelLiteral({{"int", 7}}) == "7");
  CHECK(CelLiteral({{"bool", true}}) == "true");
  CHECK(CelLiteral({{"version", "1.2.3"}}) == "semver(\"1.2.3\")");
  CHECK_FALSE(CelLiteral(Json::object()).has_value());
  CHECK(AttributeCel("d.example.com/uuid") == "device.attributes[\"d.example.com\"].uuid");
  CHECK(AttributeCel("d.example.com/pci-bus") ==
        "device.attributes[\"d.example.com\"][\"pci-bus\"]");
  Json attrs = {{"uuid", {{"string", "U"}}}, {"other.io/x", {{"int", 1}}}};
  REQUIRE(FindAttribute(attrs, "d.example.com", "d.example.com/uuid"));  // unqualified in the slice
  CHECK(FindAttribute(attrs, "d.example.com", "other.io/x"));
  CHECK_FALSE(FindAttribute(attrs, "d.example.com", "other.io/uuid"));
  CHECK(DefaultCdiPattern("gpu.drahil.dev") == "^k8s\\.gpu\\.drahil\\.dev/");
}
