// Validation: each limit of docs/reference/protocol.md §4.6 and each exactly-one-of rule,
// with the exact error text the harness's API server returns.
#include "drahil/kube/validation.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "drahil/core/strings.hpp"
#include "drahil/testing/testing.hpp"

using drahil::kube::Object;
using drahil::kube::Validate;

namespace {

std::vector<std::string> Messages(const std::vector<drahil::kube::FieldError>& errs) {
  std::vector<std::string> out;
  for (const auto& e : errs) out.push_back(e.ToString());
  return out;
}

// ExpectError(): obj fails validation with exactly this error among its errors.
void ExpectError(const Object& obj, const std::string& text) {
  auto msgs = Messages(Validate(obj));
  INFO("errors:\n" << drahil::Join(msgs, "\n"));
  CHECK(std::find(msgs.begin(), msgs.end(), text) != msgs.end());
}

void ExpectOnly(const Object& obj, const std::string& text) {
  auto msgs = Messages(Validate(obj));
  INFO("errors:\n" << drahil::Join(msgs, "\n"));
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0] == text);
}

void ExpectValid(const Object& obj) {
  auto msgs = Messages(Validate(obj));
  INFO("errors:\n" << drahil::Join(msgs, "\n"));
  CHECK(msgs.empty());
}

Object Device(int i) {
  return {{"name", "gpu-" + std::to_string(i)},
          {"attributes",
           {{"index", {{"int", i}}},
            {"model", {{"string", "LATEST-GPU-MODEL"}}},
            {"driverVersion", {{"version", "1.0.0"}}}}},
          {"capacity", {{"memory", {{"value", "80Gi"}}}}}};
}

Object Slice(int devices = 2) {
  Object s = {{"apiVersion", "resource.k8s.io/v1"},
              {"kind", "ResourceSlice"},
              {"metadata", {{"name", "node1-gpu.example.com-abcde"}}},
              {"spec",
               {{"driver", "gpu.example.com"},
                {"nodeName", "node1"},
                {"pool", {{"name", "node1"}, {"generation", 1}, {"resourceSliceCount", 1}}},
                {"devices", Object::array()}}}};
  for (int i = 0; i < devices; ++i) s["spec"]["devices"].push_back(Device(i));
  return s;
}

Object Claim() {
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "ResourceClaim"},
          {"metadata", {{"name", "claim"}, {"namespace", "default"}}},
          {"spec",
           {{"devices",
             {{"requests",
               {{{"name", "gpu"},
                 {"exactly",
                  {{"deviceClassName", "gpu.example.com"},
                   {"selectors",
                    {{{"cel", {{"expression", "device.driver == 'gpu.example.com'"}}}}}}}}}}}}}}}};
}

Object Class() {
  return {
      {"apiVersion", "resource.k8s.io/v1"},
      {"kind", "DeviceClass"},
      {"metadata", {{"name", "gpu.example.com"}}},
      {"spec",
       {{"selectors", {{{"cel", {{"expression", "device.driver == 'gpu.example.com'"}}}}}},
        {"config",
         {{{"opaque",
            {{"driver", "gpu.example.com"},
             {"parameters", {{"apiVersion", "gpu.example.com/v1"}, {"kind", "GpuConfig"}}}}}}}}}}};
}

Object AllocatedClaim() {
  Object c = Claim();
  c["status"] = Object::parse(R"({
    "allocation": {"devices": {"results": [
      {"request": "gpu", "driver": "gpu.example.com", "pool": "node1", "device": "gpu-0"}]}},
    "reservedFor": [{"resource": "pods", "name": "p", "uid": "u1"}]})");
  return c;
}

std::vector<std::string> StatusMessages(const Object& old_obj, const Object& new_obj) {
  return Messages(drahil::kube::ValidateStatusUpdate(old_obj, new_obj));
}

void ExpectStatusError(const Object& obj, const std::string& text) {
  // From an unallocated claim, so that the new allocation is validated.
  auto msgs = StatusMessages(Claim(), obj);
  INFO("errors:\n" << drahil::Join(msgs, "\n"));
  CHECK(std::find(msgs.begin(), msgs.end(), text) != msgs.end());
}

}  // namespace

TEST_CASE("Validation: valid objects of every kind pass", "[kube][validation]") {
  ExpectValid(Slice());
  ExpectValid(Claim());
  ExpectValid(Class());
  Object tmpl = {{"apiVersion", "resource.k8s.io/v1"},
                 {"kind", "ResourceClaimTemplate"},
                 {"metadata", {{"name", "t"}, {"namespace", "default"}}},
                 {"spec", {{"metadata", {{"labels", {{"app", "x"}}}}}, {"spec", Claim()["spec"]}}}};
  ExpectValid(tmpl);
  ExpectValid({{"apiVersion", "resource.k8s.io/v1alpha3"},
               {"kind", "DeviceTaintRule"},
               {"metadata", {{"name", "r"}}},
               {"spec",
                {{"deviceSelector",
                  {{"driver", "gpu.example.com"}, {"pool", "node1"}, {"device", "gpu-0"}}},
                 {"taint", {{"key", "example.com/unhealthy"}, {"effect", "NoExecute"}}}}}});
  ExpectValid({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "team-a"}}}});
  ExpectValid({{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "node1.example"}}}});
  ExpectValid({{"apiVersion", "v1"},
               {"kind", "Pod"},
               {"metadata", {{"name", "p"}, {"namespace", "default"}}},
               {"spec",
                {{"resourceClaims", {{{"name", "gpu"}, {"resourceClaimName", "claim"}}}},
                 {"containers",
                  {{{"name", "c"},
                    {"image", "busybox"},
                    {"resources", {{"claims", {{{"name", "gpu"}}}}}}}}}}}});
  // generateName may end in '-'.
  Object s = Slice();
  s["metadata"] = {{"generateName", "00000-gpu.example.com-node1-"}};
  ExpectValid(s);
  // The full-size slice is fine.
  ExpectValid(Slice(128));
}

TEST_CASE("Validation: metadata names and scope", "[kube][validation]") {
  Object s = Slice();
  s["metadata"].erase("name");
  ExpectOnly(s, "metadata.name: Required value: name or generateName is required");
  s["metadata"]["name"] = "Bad_Name";
  ExpectOnly(s,
             "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must "
             "consist of lower "
             "case alphanumeric characters, '-' or '.', and must start and end with an "
             "alphanumeric character "
             "(e.g. 'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  s["metadata"]["name"] = std::string(254, 'a');
  ExpectError(s, "metadata.name: Invalid value: \"" + std::string(254, 'a') +
                     "\": must be no more than 253 characters");
  s = Slice();
  s["metadata"]["namespace"] = "default";
  ExpectOnly(s, "metadata.namespace: Forbidden: not allowed on this type");
  Object c = Claim();
  c["metadata"].erase("namespace");
  ExpectOnly(c, "metadata.namespace: Required value");
  Object ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "a.b"}}}};
  ExpectOnly(
      ns,
      "metadata.name: Invalid value: \"a.b\": a lowercase RFC 1123 label must consist of lower "
      "case "
      "alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. "
      "'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
  s = Slice();
  s["metadata"]["labels"] = {{"app", "-bad"}};
  ExpectOnly(
      s,
      "metadata.labels[app]: Invalid value: \"-bad\": a valid label must be an empty string or "
      "consist "
      "of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
      "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
      "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
  s["metadata"]["labels"] = {{"/x", "ok"}};
  ExpectOnly(s, "metadata.labels: Invalid value: \"/x\": prefix part must be non-empty");
}

TEST_CASE("Validation: unknown kinds and wrong JSON types are errors, not crashes",
          "[kube][validation]") {
  ExpectOnly(
      {{"apiVersion", "resource.k8s.io/v1beta1"}, {"kind", "ResourceSlice"}},
      "kind: Invalid value: \"ResourceSlice\": no kind \"ResourceSlice\" is served in version "
      "\"resource.k8s.io/v1beta1\"");
  ExpectOnly({{"kind", "Pod"}}, "apiVersion: Required value");
  Object s = Slice();
  s["spec"]["devices"] = "many";
  ExpectOnly(s, "spec.devices: Invalid value: \"string\": must be a list");
  s = Slice();
  s["spec"]["devices"][0]["attributes"]["index"] = {{"int", "one"}};
  ExpectError(
      s,
      "spec.devices[0].attributes[index].int: Invalid value: \"string\": must be a 64-bit integer");
  CHECK_FALSE(Validate(Object::array()).empty());
  CHECK_FALSE(Validate(Object(42)).empty());
}

TEST_CASE("Validation: ResourceSlice driver and pool", "[kube][validation]") {
  Object s = Slice();
  s["spec"].erase("driver");
  ExpectError(s, "spec.driver: Required value");
  s["spec"]["driver"] = std::string(60, 'a') + ".com";  // 64 bytes
  ExpectOnly(s, "spec.driver: Too long: may not be more than 63 bytes");
  s["spec"]["driver"] = "GPU.Example.com";  // upper case is tolerated, as for CSI drivers
  ExpectValid(s);
  s["spec"]["driver"] = "gpu_example.com";
  ExpectError(s,
              "spec.driver: Invalid value: \"gpu_example.com\": a lowercase RFC 1123 subdomain "
              "must consist "
              "of lower case alphanumeric characters, '-' or '.', and must start and end with an "
              "alphanumeric character (e.g. 'example.com', regex used for validation is "
              "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  s = Slice();
  s["spec"].erase("pool");
  ExpectOnly(s, "spec.pool: Required value");
  s = Slice();
  s["spec"]["pool"]["name"] = "";
  ExpectOnly(s, "spec.pool.name: Required value");
  s["spec"]["pool"]["name"] = std::string(254, 'a');
  ExpectError(s, "spec.pool.name: Too long: may not be more than 253 bytes");
  s["spec"]["pool"]["name"] = "rack-1/node-1";  // '/' separates subdomains
  ExpectValid(s);
  s["spec"]["pool"]["name"] = "rack-1//node-1";
  ExpectError(
      s,
      "spec.pool.name: Invalid value: \"\": a lowercase RFC 1123 subdomain must "
      "consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
      "alphanumeric character (e.g. 'example.com', regex used for validation is "
      "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  s = Slice();
  s["spec"]["pool"]["generation"] = -1;
  ExpectOnly(s, "spec.pool.generation: Invalid value: -1: must be greater than or equal to zero");
  s = Slice();
  s["spec"]["pool"]["resourceSliceCount"] = 0;
  ExpectOnly(s, "spec.pool.resourceSliceCount: Invalid value: 0: must be greater than zero");
}

TEST_CASE(
    "Validation: ResourceSlice exactly one of "
    "nodeName/nodeSelector/allNodes/perDeviceNodeSelection",
    "[kube][validation]") {
  Object s = Slice();
  s["spec"].erase("nodeName");
  ExpectOnly(s,
             "spec: Required value: exactly one of `nodeName`, `nodeSelector`, `allNodes`, "
             "`perDeviceNodeSelection` is required");
  s["spec"]["nodeName"] = "node1";
  s["spec"]["allNodes"] = true;
  ExpectOnly(s,
             "spec: Invalid value: \"{`nodeName`, `allNodes`}\": exactly one of `nodeName`, "
             "`nodeSelector`, "
             "`allNodes`, `perDeviceNodeSelection` is required, but multiple fields are set");
  s = Slice();
  s["spec"]["nodeName"] = "";
  ExpectError(
      s, "spec.nodeName: Invalid value: \"\": must be either unset or set to a non-empty string");
  s = Slice();
  s["spec"].erase("nodeName");
  s["spec"]["allNodes"] = false;
  ExpectError(s, "spec.allNodes: Invalid value: false: must be either unset or set to true");
  s = Slice();
  s["spec"].erase("nodeName");
  Object term = {{"matchExpressions", {{{"key", "zone"}, {"operator", "In"}, {"values", {"a"}}}}}};
  s["spec"]["nodeSelector"] = {{"nodeSelectorTerms", {term}}};
  ExpectValid(s);
  s["spec"]["nodeSelector"] = {{"nodeSelectorTerms", {term, term}}};
  ExpectOnly(s,
             "spec.nodeSelector.nodeSelectorTerms: Invalid value: 2: must have exactly one node "
             "selector term");
  s["spec"]["nodeSelector"] = {
      {"nodeSelectorTerms", {{{"matchExpressions", {{{"key", "zone"}, {"operator", "Near"}}}}}}}};
  ExpectOnly(s,
             "spec.nodeSelector.nodeSelectorTerms[0].matchExpressions[0].operator: Unsupported "
             "value: \"Near\": "
             "supported values: \"DoesNotExist\", \"Exists\", \"Gt\", \"In\", \"Lt\", \"NotIn\"");
}

TEST_CASE("Validation: per-device node selection", "[kube][validation]") {
  Object s = Slice();
  s["spec"].erase("nodeName");
  s["spec"]["perDeviceNodeSelection"] = true;
  s["spec"]["devices"][0]["nodeName"] = "node1";
  s["spec"]["devices"][1]["allNodes"] = true;
  ExpectValid(s);
  s["spec"]["devices"][1].erase("allNodes");
  ExpectOnly(s,
             "spec.devices[1]: Required value: exactly one of `nodeName`, `nodeSelector`, or "
             "`allNodes` is "
             "required when `perDeviceNodeSelection` is set to true in the ResourceSlice spec");
  s["spec"]["devices"][1]["nodeName"] = "node1";
  s["spec"]["devices"][1]["allNodes"] = true;
  ExpectOnly(
      s,
      "spec.devices[1]: Invalid value: \"{`nodeName`, `allNodes`}\": exactly one of `nodeName`, "
      "`nodeSelector`, or `allNodes` is required when `perDeviceNodeSelection` is set to true "
      "in the ResourceSlice spec");
  s = Slice();
  s["spec"]["devices"][0]["nodeName"] = "node1";
  ExpectOnly(s,
             "spec.devices[0]: Invalid value: null: `nodeName`, `nodeSelector` and `allNodes` can "
             "only be set if `perDeviceNodeSelection` is set to true in the ResourceSlice spec");
  s = Slice();
  s["spec"].erase("nodeName");
  s["spec"]["perDeviceNodeSelection"] = false;
  ExpectError(
      s, "spec.perDeviceNodeSelection: Invalid value: false: must be either unset or set to true");
}

TEST_CASE("Validation: devices per slice are 128, or 64 with taints, counters or list attributes",
          "[kube][validation]") {
  ExpectOnly(Slice(129), "spec.devices: Too many: 129: must have at most 128 items");
  Object s = Slice(65);
  s["spec"]["devices"][7]["taints"] = {{{"key", "example.com/hot"}, {"effect", "NoSchedule"}}};
  ExpectOnly(s, "spec.devices: Too many: 65: must have at most 64 items");
  s["spec"]["devices"].erase(64);
  ExpectValid(s);
  s = Slice(65);
  s["spec"]["devices"][0]["consumesCounters"] = Object::parse(
      R"([{"counterSet": "gpu-0-counters", "counters": {"memory": {"value": "8Gi"}}}])");
  ExpectOnly(s, "spec.devices: Too many: 65: must have at most 64 items");
  s = Slice(65);
  s["spec"]["devices"][3]["attributes"]["links"] = {{"ints", {1, 2}}};
  ExpectOnly(s, "spec.devices: Too many: 65: must have at most 64 items");
  s = Slice(3);
  s["spec"]["devices"][2]["name"] = "gpu-0";
  ExpectOnly(s, "spec.devices[2]: Duplicate value: \"gpu-0\"");
  s["spec"]["devices"][2]["name"] = "GPU_2";
  ExpectOnly(
      s,
      "spec.devices[2].name: Invalid value: \"GPU_2\": a lowercase RFC 1123 label must consist of "
      "lower "
      "case alphanumeric characters or '-', and must start and end with an alphanumeric character "
      "(e.g. "
      "'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
  s["spec"]["devices"][2]["name"] = std::string(64, 'a');
  ExpectOnly(s, "spec.devices[2].name: Invalid value: \"" + std::string(64, 'a') +
                    "\": must be no more than 63 characters");
}

TEST_CASE("Validation: attribute and capacity limits", "[kube][validation]") {
  Object s = Slice(1);
  auto& dev = s["spec"]["devices"][0];
  dev["attributes"] = Object::object();
  dev["capacity"] = Object::object();
  for (int i = 0; i < 16; ++i) dev["attributes"]["a" + std::to_string(i)] = {{"int", i}};
  for (int i = 0; i < 16; ++i) dev["capacity"]["c" + std::to_string(i)] = {{"value", "1"}};
  ExpectValid(s);
  dev["capacity"]["c16"] = {{"value", "1"}};
  ExpectOnly(s,
             "spec.devices[0]: Invalid value: 33: the total number of attributes and capacities "
             "must not exceed 32");

  s = Slice(1);
  auto& d = s["spec"]["devices"][0];
  d["attributes"]["model"] = {{"string", std::string(65, 'x')}};
  ExpectOnly(s,
             "spec.devices[0].attributes[model].string: Too long: may not be more than 64 bytes");
  d["attributes"]["model"] = {{"string", std::string(64, 'x')}};
  ExpectValid(s);
  d["attributes"]["driverVersion"] = {{"version", "1.0"}};
  ExpectOnly(
      s,
      "spec.devices[0].attributes[driverVersion].version: Invalid value: \"1.0\": must be a string "
      "compatible with semver.org spec 2.0.0");
  d["attributes"]["driverVersion"] = {{"version", "1.0.0-" + std::string(60, 'a')}};
  ExpectOnly(
      s,
      "spec.devices[0].attributes[driverVersion].version: Too long: may not be more than 64 bytes");
  d["attributes"]["driverVersion"] = Object::object();
  ExpectOnly(s,
             "spec.devices[0].attributes[driverVersion]: Invalid value: \"\": exactly one value "
             "must be specified");
  d["attributes"]["driverVersion"] = {{"version", "1.0.0"}, {"string", "x"}};
  ExpectOnly(s,
             "spec.devices[0].attributes[driverVersion]: Invalid value: "
             "{\"string\":\"x\",\"version\":\"1.0.0\"}: "
             "exactly one value must be specified");
  d["attributes"].erase("driverVersion");
  d["attributes"][std::string(33, 'a')] = {{"int", 1}};
  ExpectOnly(s, "spec.devices[0].attributes[" + std::string(33, 'a') +
                    "]: Too long: may not be more than 32 bytes");
  d["attributes"].erase(std::string(33, 'a'));
  d["attributes"][std::string(64, 'a') + "/x"] = {{"int", 1}};
  ExpectOnly(s, "spec.devices[0].attributes[" + std::string(64, 'a') +
                    "/x]: Too long: may not be more than 63 bytes");
  d["attributes"].erase(std::string(64, 'a') + "/x");
  d["attributes"]["example.com/1st"] = {{"int", 1}};
  ExpectOnly(s,
             "spec.devices[0].attributes[example.com/1st]: Invalid value: \"1st\": a valid C "
             "identifier must "
             "start with alphabetic character or '_', followed by a string of alphanumeric "
             "characters or '_' "
             "(e.g. 'my_name',  or 'MY_NAME',  or 'MyName', regex used for validation is "
             "'[A-Za-z_][A-Za-z0-9_]*')");
  d["attributes"].erase("example.com/1st");
  // List attributes: all values of a device, list items included, at most 48.
  d["attributes"]["links"] = {{"ints", Object::array()}};
  for (int i = 0; i < 46; ++i)
    d["attributes"]["links"]["ints"].push_back(i);  // 2 scalars + 46 = 48
  ExpectValid(s);
  d["attributes"]["links"]["ints"].push_back(46);
  ExpectOnly(s,
             "spec.devices[0].attributes: Invalid value: 49: the total number of attribute values "
             "(list items "
             "included) must not exceed 48");
  s = Slice(1);
  s["spec"]["devices"][0]["capacity"]["memory"] = {{"value", "80 Gi"}};
  ExpectOnly(s,
             "spec.devices[0].capacity[memory].value: Invalid value: \"80 Gi\": quantities must "
             "match the regular "
             "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
  s["spec"]["devices"][0]["capacity"]["memory"] = Object::object();
  ExpectOnly(s, "spec.devices[0].capacity[memory].value: Required value");
  auto& mem = s["spec"]["devices"][0]["capacity"]["memory"];
  mem = {{"value", "80Gi"}, {"requestPolicy", {{"default", "1Gi"}, {"validValues", {"1Gi"}}}}};
  // Consumable capacity needs a multi-allocatable device.
  ExpectOnly(s,
             "spec.devices[0].capacity[memory].requestPolicy: Forbidden: allowMultipleAllocations "
             "must be true");
  s["spec"]["devices"][0]["allowMultipleAllocations"] = true;
  ExpectValid(s);
  mem["requestPolicy"]["validRange"] = {{"min", "1Gi"}};
  ExpectOnly(s,
             "spec.devices[0].capacity[memory].requestPolicy: Forbidden: exactly one policy can be "
             "specified, cannot specify \"validValues\" and \"validRange\" at the same time");
  mem["requestPolicy"] = {{"default", "2Gi"}, {"validValues", {"1Gi", "2Gi"}}};
  ExpectValid(s);
  mem["requestPolicy"]["validValues"] = {"2Gi", "1Gi"};
  ExpectOnly(s,
             "spec.devices[0].capacity[memory].requestPolicy.validValues[1]: Invalid value: "
             "\"1Gi\": values must be sorted in ascending order");
  mem["requestPolicy"]["validValues"] = {"1Gi", "100Gi"};
  ExpectError(s,
              "spec.devices[0].capacity[memory].requestPolicy.validValues[1]: Invalid value: "
              "\"100Gi\": option is larger than capacity value: 80Gi");
  ExpectError(s,
              "spec.devices[0].capacity[memory].requestPolicy.validValues: Invalid value: \"2Gi\": "
              "default value is not valid according to the requestPolicy");
  mem["requestPolicy"] = {{"validValues", {"1Gi"}}};
  ExpectOnly(s,
             "spec.devices[0].capacity[memory].requestPolicy.default: Required value: required "
             "when validValues is defined");
  mem["requestPolicy"] = {{"default", "1Gi"}, {"validValues", Object::array()}};
  for (int i = 1; i <= 11; ++i)
    mem["requestPolicy"]["validValues"].push_back(std::to_string(i) + "Gi");
  ExpectOnly(s,
             "spec.devices[0].capacity[memory].requestPolicy.validValues: Too many: 11: must have "
             "at most 10 items");
  mem["requestPolicy"] = {{"default", "8Gi"},
                          {"validRange", {{"min", "4Gi"}, {"max", "64Gi"}, {"step", "4Gi"}}}};
  ExpectValid(s);
  mem["requestPolicy"]["default"] = "6Gi";
  ExpectOnly(s,
             "spec.devices[0].capacity[memory].requestPolicy.validRange.step: Invalid value: "
             "\"6Gi\": value is not a multiple of a given step (4Gi) from (4Gi)");
  mem["requestPolicy"]["default"] = "2Gi";
  ExpectError(s,
              "spec.devices[0].capacity[memory].requestPolicy.validRange.min: Invalid value: "
              "\"2Gi\": default is less than min: 4Gi");
  mem["requestPolicy"] = {{"default", "8Gi"}, {"validRange", {{"min", "4Gi"}, {"max", "96Gi"}}}};
  ExpectOnly(s,
             "spec.devices[0].capacity[memory].requestPolicy.validRange.max: Invalid value: "
             "\"96Gi\": max is larger than capacity value: 80Gi");
  mem["requestPolicy"] = {{"default", "8Gi"}, {"validRange", {{"max", "16Gi"}}}};
  ExpectOnly(s,
             "spec.devices[0].capacity[memory].requestPolicy.validRange.min: Required value: "
             "required when validRange is defined");
}

TEST_CASE("Validation: taints, binding conditions", "[kube][validation]") {
  Object s = Slice(1);
  auto& d = s["spec"]["devices"][0];
  d["taints"] = Object::array();
  for (int i = 0; i < 17; ++i)
    d["taints"].push_back({{"key", "example.com/t" + std::to_string(i)}, {"effect", "NoSchedule"}});
  ExpectOnly(s, "spec.devices[0].taints: Too many: 17: must have at most 16 items");
  d["taints"] = {{{"key", "example.com/t"}, {"effect", "PreferNoSchedule"}}};
  ExpectOnly(s,
             "spec.devices[0].taints[0].effect: Unsupported value: \"PreferNoSchedule\": supported "
             "values: "
             "\"NoExecute\", \"NoSchedule\", \"None\"");
  d["taints"] = {{{"effect", "NoExecute"}}};
  ExpectOnly(s, "spec.devices[0].taints[0].key: Required value");
  d["taints"] = {{{"key", "example.com/t"}}};
  ExpectOnly(s, "spec.devices[0].taints[0].effect: Required value");
  d.erase("taints");
  d["bindingConditions"] = {"a", "b", "c", "d", "e"};
  d["bindingFailureConditions"] = {"f"};
  ExpectOnly(s, "spec.devices[0].bindingConditions: Too many: 5: must have at most 4 items");
  d["bindingConditions"] = {"a"};
  d["bindingFailureConditions"] = {"f", "g", "h", "i", "j"};
  ExpectOnly(s, "spec.devices[0].bindingFailureConditions: Too many: 5: must have at most 4 items");
  d["bindingFailureConditions"] = {"f"};
  ExpectValid(s);
  d["bindingFailureConditions"] = {"a"};
  ExpectOnly(s,
             "spec.devices[0].bindingFailureConditions[0]: Invalid value: \"a\": "
             "bindingFailureConditions must not overlap with bindingConditions");
  d.erase("bindingFailureConditions");
  ExpectOnly(
      s,
      "spec.devices[0].bindingFailureConditions: Invalid value: []: bindingFailureConditions "
      "are required to use bindingConditions");
  d["bindingConditions"] = {"a", "a"};
  d["bindingFailureConditions"] = {"f"};
  ExpectOnly(s, "spec.devices[0].bindingConditions[1]: Duplicate value: \"a\"");
}

TEST_CASE("Validation: shared counters and counter consumption", "[kube][validation]") {
  Object s = Slice(0);
  s["spec"].erase("devices");
  s["spec"]["sharedCounters"] = Object::array();
  for (int i = 0; i < 9; ++i) {
    s["spec"]["sharedCounters"].push_back({{"name", "gpu-" + std::to_string(i) + "-counters"},
                                           {"counters", {{"memory", {{"value", "80Gi"}}}}}});
  }
  ExpectOnly(s, "spec.sharedCounters: Too many: 9: must have at most 8 items");
  s["spec"]["sharedCounters"].erase(8);
  ExpectValid(s);
  for (int i = 0; i < 32; ++i)
    s["spec"]["sharedCounters"][0]["counters"]["c" + std::to_string(i)] = {{"value", "1"}};
  ExpectOnly(s, "spec.sharedCounters[0].counters: Too many: 33: must have at most 32 items");
  s["spec"]["sharedCounters"][0]["counters"] = Object::object();
  ExpectOnly(s, "spec.sharedCounters[0].counters: Required value");
  s["spec"]["sharedCounters"][0]["counters"] = {{"memory", {{"value", "1"}}}};
  s["spec"]["sharedCounters"][1]["name"] = "gpu-0-counters";
  ExpectOnly(s, "spec.sharedCounters[1]: Duplicate value: \"gpu-0-counters\"");
  s["spec"]["sharedCounters"][1]["name"] = "gpu-1-counters";
  s["spec"]["devices"] = {Device(0)};
  ExpectOnly(s, "spec: Invalid value: \"\": only one of `sharedCounters` or `devices` is allowed");

  s = Slice(1);
  auto& d = s["spec"]["devices"][0];
  d["consumesCounters"] = Object::array();
  for (int i = 0; i < 3; ++i) {
    d["consumesCounters"].push_back({{"counterSet", "set-" + std::to_string(i)},
                                     {"counters", {{"memory", {{"value", "1Gi"}}}}}});
  }
  ExpectOnly(s, "spec.devices[0].consumesCounters: Too many: 3: must have at most 2 items");
  d["consumesCounters"].erase(2);
  d["consumesCounters"][1]["counterSet"] = "set-0";
  ExpectOnly(s, "spec.devices[0].consumesCounters[1]: Duplicate value: \"set-0\"");
  d["consumesCounters"].erase(1);
  for (int i = 0; i < 32; ++i)
    d["consumesCounters"][0]["counters"]["c" + std::to_string(i)] = {{"value", "1"}};
  ExpectOnly(
      s, "spec.devices[0].consumesCounters[0].counters: Too many: 33: must have at most 32 items");
}

TEST_CASE("Validation: DeviceClass selectors, CEL length, config", "[kube][validation]") {
  Object c = Class();
  for (int i = 0; i < 32; ++i)
    c["spec"]["selectors"].push_back({{"cel", {{"expression", "true"}}}});
  ExpectOnly(c, "spec.selectors: Too many: 33: must have at most 32 items");
  c = Class();
  c["spec"]["selectors"][0]["cel"]["expression"] = std::string(10 * 1024 + 1, ' ') + "true";
  ExpectOnly(c, "spec.selectors[0].cel.expression: Too long: may not be more than 10240 bytes");
  c["spec"]["selectors"][0]["cel"]["expression"] = "";
  ExpectOnly(c, "spec.selectors[0].cel.expression: Required value");
  c = Class();
  for (int i = 0; i < 32; ++i) c["spec"]["config"].push_back(c["spec"]["config"][0]);
  ExpectOnly(c, "spec.config: Too many: 33: must have at most 32 items");
  c = Class();
  c["spec"]["config"][0]["opaque"].erase("driver");
  ExpectError(c, "spec.config[0].opaque.driver: Required value");
  c = Class();
  c["spec"]["config"][0].erase("opaque");
  ExpectOnly(c, "spec.config[0].opaque: Required value");
  c = Class();
  c["spec"]["config"][0]["opaque"]["parameters"]["blob"] = std::string(10 * 1024, 'x');
  ExpectOnly(c, "spec.config[0].opaque.parameters: Too long: may not be more than 10240 bytes");
  c = Class();
  c["spec"]["config"][0]["opaque"]["parameters"] = "text";
  ExpectOnly(c,
             "spec.config[0].opaque.parameters: Invalid value: \"<value omitted>\": must be a "
             "valid JSON object");
}

TEST_CASE("Validation: DeviceClass extended resource name", "[kube][validation]") {
  Object c = Class();
  c["spec"]["extendedResourceName"] = "example.com/gpu";
  ExpectValid(c);
  c["spec"]["extendedResourceName"] = "gpu";
  ExpectOnly(c,
             "spec.extendedResourceName: Invalid value: \"gpu\": must be a valid extended resource "
             "name");
}

TEST_CASE("Validation: ResourceClaim requests, exactly one of exactly/firstAvailable",
          "[kube][validation]") {
  Object c = Claim();
  auto& reqs = c["spec"]["devices"]["requests"];
  Object base = reqs[0];
  for (int i = 1; i < 33; ++i) {
    Object r = base;
    r["name"] = "gpu-" + std::to_string(i);
    reqs.push_back(r);
  }
  ExpectOnly(c, "spec.devices.requests: Too many: 33: must have at most 32 items");
  c = Claim();
  c["spec"]["devices"]["requests"][0].erase("exactly");
  ExpectOnly(c,
             "spec.devices.requests[0]: Required value: exactly one of `exactly` or "
             "`firstAvailable` is required");
  c["spec"]["devices"]["requests"][0]["exactly"] = base["exactly"];
  c["spec"]["devices"]["requests"][0]["firstAvailable"] = {
      {{"name", "big"}, {"deviceClassName", "gpu.example.com"}}};
  ExpectOnly(c,
             "spec.devices.requests[0]: Invalid value: null: exactly one of `exactly` or "
             "`firstAvailable` is required, but multiple fields are set");
  c["spec"]["devices"]["requests"][0].erase("exactly");
  ExpectValid(c);
  for (int i = 0; i < 8; ++i) {
    c["spec"]["devices"]["requests"][0]["firstAvailable"].push_back(
        {{"name", "s" + std::to_string(i)}, {"deviceClassName", "gpu.example.com"}});
  }
  ExpectOnly(c, "spec.devices.requests[0].firstAvailable: Too many: 9: must have at most 8 items");
  c = Claim();
  c["spec"]["devices"]["requests"][0]["firstAvailable"] = {
      {{"name", "a"}, {"deviceClassName", "x"}}, {{"name", "a"}, {"deviceClassName", "x"}}};
  c["spec"]["devices"]["requests"][0].erase("exactly");
  ExpectOnly(c, "spec.devices.requests[0].firstAvailable[1]: Duplicate value: \"a\"");
  c["spec"]["devices"]["requests"][0]["firstAvailable"][1] = {
      {"name", "b"}, {"deviceClassName", "x"}, {"adminAccess", true}};
  ExpectOnly(c,
             "spec.devices.requests[0].firstAvailable[1].adminAccess: Forbidden: not supported in "
             "a subrequest");
  c = Claim();
  c["spec"]["devices"]["requests"].push_back(c["spec"]["devices"]["requests"][0]);
  ExpectOnly(c, "spec.devices.requests[1]: Duplicate value: \"gpu\"");
}

TEST_CASE("Validation: ExactDeviceRequest fields", "[kube][validation]") {
  Object c = Claim();
  auto& ex = c["spec"]["devices"]["requests"][0]["exactly"];
  ex.erase("deviceClassName");
  ExpectOnly(c, "spec.devices.requests[0].exactly.deviceClassName: Required value");
  ex["deviceClassName"] = "gpu.example.com";
  ex["allocationMode"] = "Some";
  ExpectOnly(c,
             "spec.devices.requests[0].exactly.allocationMode: Unsupported value: \"Some\": "
             "supported values: "
             "\"All\", \"ExactCount\"");
  ex["allocationMode"] = "ExactCount";
  ex["count"] = 0;
  ExpectOnly(c,
             "spec.devices.requests[0].exactly.count: Invalid value: 0: must be greater than zero");
  ex["allocationMode"] = "All";
  ex["count"] = 2;
  ExpectOnly(c,
             "spec.devices.requests[0].exactly.count: Invalid value: 2: must not be specified when "
             "allocationMode is 'All'");
  ex.erase("count");
  ex["tolerations"] = Object::array();
  for (int i = 0; i < 17; ++i) ex["tolerations"].push_back({{"key", "k"}, {"operator", "Exists"}});
  ExpectOnly(
      c, "spec.devices.requests[0].exactly.tolerations: Too many: 17: must have at most 16 items");
  ex["tolerations"] = {{{"key", "k"}, {"operator", "Exists"}, {"value", "x"}}};
  ExpectOnly(c,
             "spec.devices.requests[0].exactly.tolerations[0].value: Invalid value: \"x\": must be "
             "empty for operator `Exists`");
  ex["tolerations"] = {{{"key", "k"}, {"operator", "Near"}}};
  ExpectOnly(c,
             "spec.devices.requests[0].exactly.tolerations[0].operator: Unsupported value: "
             "\"Near\": supported "
             "values: \"Equal\", \"Exists\"");
  ex.erase("tolerations");
  for (int i = 0; i < 32; ++i) ex["selectors"].push_back({{"cel", {{"expression", "true"}}}});
  ExpectOnly(
      c, "spec.devices.requests[0].exactly.selectors: Too many: 33: must have at most 32 items");
}

TEST_CASE("Validation: constraints and claim config", "[kube][validation]") {
  Object c = Claim();
  auto& dev = c["spec"]["devices"];
  dev["constraints"] = Object::array();
  for (int i = 0; i < 33; ++i)
    dev["constraints"].push_back({{"matchAttribute", "gpu.example.com/model"}});
  ExpectOnly(c, "spec.devices.constraints: Too many: 33: must have at most 32 items");
  dev["constraints"] = {{{"requests", {"gpu"}}}};
  ExpectOnly(c,
             "spec.devices.constraints[0]: Required value: exactly one of \"matchAttribute\" or "
             "\"distinctAttribute\" is required, but multiple fields are set");
  dev["constraints"] = {
      {{"matchAttribute", "gpu.example.com/model"}, {"distinctAttribute", "gpu.example.com/uuid"}}};
  ExpectOnly(c,
             "spec.devices.constraints[0]: Invalid value: \"{`matchAttribute`, "
             "`distinctAttribute`}\": exactly one "
             "of `matchAttribute` or `distinctAttribute` is required, but multiple fields are set");
  dev["constraints"] = {{{"matchAttribute", "model"}}};
  ExpectOnly(c,
             "spec.devices.constraints[0].matchAttribute: Invalid value: \"model\": a fully "
             "qualified name must be a domain and a name separated by a slash");
  dev["constraints"] = {
      {{"requests", {"gpu", "cpu"}}, {"matchAttribute", "gpu.example.com/model"}}};
  ExpectOnly(c,
             "spec.devices.constraints[0].requests[1]: Invalid value: \"cpu\": must be the name of "
             "a request in "
             "the claim or the name of a request and a subrequest separated by '/'");
  dev.erase("constraints");
  dev["config"] = Object::array();
  Object cfg = {
      {"requests", {"gpu"}},
      {"opaque", {{"driver", "gpu.example.com"}, {"parameters", {{"kind", "GpuConfig"}}}}}};
  for (int i = 0; i < 33; ++i) dev["config"].push_back(cfg);
  ExpectOnly(c, "spec.devices.config: Too many: 33: must have at most 32 items");
  dev["config"] = {cfg};
  ExpectValid(c);
  dev["config"][0]["requests"] = {"gpu/big"};
  ExpectOnly(c,
             "spec.devices.config[0].requests[0]: Invalid value: \"gpu/big\": must be the name of "
             "a request in "
             "the claim or the name of a request and a subrequest separated by '/'");
}

TEST_CASE("Validation: ResourceClaimTemplate paths are prefixed with spec.spec",
          "[kube][validation]") {
  Object t = {{"apiVersion", "resource.k8s.io/v1"},
              {"kind", "ResourceClaimTemplate"},
              {"metadata", {{"name", "t"}, {"namespace", "default"}}},
              {"spec", {{"spec", Claim()["spec"]}}}};
  t["spec"]["spec"]["devices"]["requests"][0].erase("exactly");
  ExpectOnly(t,
             "spec.spec.devices.requests[0]: Required value: exactly one of `exactly` or "
             "`firstAvailable` is "
             "required");
  t = {{"apiVersion", "resource.k8s.io/v1"},
       {"kind", "ResourceClaimTemplate"},
       {"metadata", {{"name", "t"}, {"namespace", "default"}}}};
  ExpectOnly(t, "spec: Required value");
}

TEST_CASE("Validation: ResourceClaim status limits", "[kube][validation]") {
  Object c = AllocatedClaim();
  CHECK(StatusMessages(c, c).empty());
  auto& results = c["status"]["allocation"]["devices"]["results"];
  for (int i = 1; i < 33; ++i) {
    results.push_back({{"request", "gpu"},
                       {"driver", "gpu.example.com"},
                       {"pool", "node1"},
                       {"device", "gpu-" + std::to_string(i)}});
  }
  ExpectStatusError(c,
                    "status.allocation.devices.results: Too many: 33: must have at most 32 items");
  c = AllocatedClaim();
  auto& cfg = c["status"]["allocation"]["devices"]["config"];
  for (int i = 0; i < 65; ++i) {
    cfg.push_back({{"source", "FromClaim"},
                   {"opaque", {{"driver", "gpu.example.com"}, {"parameters", Object::object()}}}});
  }
  ExpectStatusError(c,
                    "status.allocation.devices.config: Too many: 65: must have at most 64 items");
  c = AllocatedClaim();
  c["status"]["allocation"]["devices"]["config"] = {
      {{"source", "FromNowhere"},
       {"opaque", {{"driver", "gpu.example.com"}, {"parameters", Object::object()}}}}};
  ExpectStatusError(
      c,
      "status.allocation.devices.config[0].source: Unsupported value: \"FromNowhere\": supported "
      "values: \"FromClaim\", \"FromClass\"");
  c = AllocatedClaim();
  c["status"]["allocation"]["devices"]["results"][0]["request"] = "gpu/big";
  ExpectStatusError(
      c,
      "status.allocation.devices.results[0].request: Invalid value: \"gpu/big\": must "
      "be the name of a request in the claim or the name of a request and a subrequest "
      "separated by '/'");
  c = AllocatedClaim();
  for (int i = 1; i < 257; ++i) {
    c["status"]["reservedFor"].push_back(
        {{"resource", "pods"}, {"name", "p"}, {"uid", "u" + std::to_string(i + 1)}});
  }
  ExpectStatusError(c, "status.reservedFor: Too many: 257: must have at most 256 items");
  c = AllocatedClaim();
  c["status"]["reservedFor"].push_back({{"resource", "pods"}, {"name", "p"}, {"uid", "u1"}});
  ExpectStatusError(c, "status.reservedFor[1]: Duplicate value: \"u1\"");
  c = AllocatedClaim();
  c["status"].erase("allocation");
  ExpectStatusError(
      c, "status.reservedFor: Forbidden: may not be specified when `allocated` is not set");

  c = AllocatedClaim();
  Object st = {{"driver", "gpu.example.com"},
               {"pool", "node1"},
               {"device", "gpu-0"},
               {"conditions", Object::array()}};
  for (int i = 0; i < 9; ++i)
    st["conditions"].push_back({{"type", "T" + std::to_string(i)}, {"status", "True"}});
  c["status"]["devices"] = {st};
  ExpectStatusError(c, "status.devices[0].conditions: Too many: 9: must have at most 8 items");
  st["conditions"] = Object::array();
  st["data"] = {{"blob", std::string(10 * 1024, 'x')}};
  c["status"]["devices"] = {st};
  ExpectStatusError(c, "status.devices[0].data: Too long: may not be more than 10240 bytes");
  st.erase("data");
  st["networkData"] = {{"interfaceName", std::string(257, 'e')},
                       {"hardwareAddress", std::string(129, 'a')},
                       {"ips", Object::array()}};
  for (int i = 0; i < 17; ++i)
    st["networkData"]["ips"].push_back("10.0.0." + std::to_string(i) + "/24");
  c["status"]["devices"] = {st};
  ExpectStatusError(
      c, "status.devices[0].networkData.interfaceName: Too long: may not be more than 256 bytes");
  ExpectStatusError(
      c, "status.devices[0].networkData.hardwareAddress: Too long: may not be more than 128 bytes");
  ExpectStatusError(c,
                    "status.devices[0].networkData.ips: Too many: 17: must have at most 16 items");
  st["networkData"] = {{"ips", {"10.0.0.1"}}};
  c["status"]["devices"] = {st};
  ExpectStatusError(
      c,
      "status.devices[0].networkData.ips[0]: Invalid value: \"10.0.0.1\": must be a valid address "
      "in CIDR form, (e.g. 10.9.8.7/24 or 2001:db8::1/64)");
  st.erase("networkData");
  st["device"] = "gpu-7";
  c["status"]["devices"] = {st};
  ExpectStatusError(
      c,
      "status.devices[0]: Invalid value: \"gpu.example.com/node1/gpu-7\": must be an allocated "
      "device in the claim");
  // The allocation can be set or cleared, but not changed in place.
  Object old_claim = AllocatedClaim();
  Object new_claim = AllocatedClaim();
  new_claim["status"]["allocation"]["devices"]["results"][0]["device"] = "gpu-1";
  auto msgs = StatusMessages(old_claim, new_claim);
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].rfind("status.allocation: Invalid value: {", 0) == 0);
  CHECK(msgs[0].find("field is immutable") != std::string::npos);
  CHECK(StatusMessages(Claim(), AllocatedClaim()).empty());
}

TEST_CASE("Validation: updates keep immutable fields", "[kube][validation]") {
  Object a = Slice(), b = Slice();
  b["spec"]["driver"] = "other.example.com";
  auto msgs = Messages(drahil::kube::ValidateUpdate(a, b));
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0] == "spec.driver: Invalid value: \"other.example.com\": field is immutable");
  b = Slice();
  b["spec"]["pool"]["name"] = "node2";
  b["spec"]["nodeName"] = "node2";
  msgs = Messages(drahil::kube::ValidateUpdate(a, b));
  CHECK(msgs ==
        std::vector<std::string>{"spec.pool.name: Invalid value: \"node2\": field is immutable",
                                 "spec.nodeName: Invalid value: \"node2\": field is immutable"});
  b = Slice();
  b["spec"]["devices"].push_back(Device(9));  // devices may change
  b["spec"]["pool"]["generation"] = 2;
  CHECK(drahil::kube::ValidateUpdate(a, b).empty());
  Object c1 = Claim(), c2 = Claim();
  c2["spec"]["devices"]["requests"][0]["exactly"]["count"] = 2;
  msgs = Messages(drahil::kube::ValidateUpdate(c1, c2));
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].rfind("spec: Invalid value: {\"devices\":", 0) == 0);
  c2 = Claim();
  c2["metadata"]["name"] = "renamed";
  msgs = Messages(drahil::kube::ValidateUpdate(c1, c2));
  CHECK(msgs ==
        std::vector<std::string>{"metadata.name: Invalid value: \"renamed\": field is immutable"});
}

TEST_CASE("Validation: DeviceTaintRule and Pod", "[kube][validation]") {
  // resource.k8s.io/v1 has no DeviceTaintRule before 1.37; v1alpha3 has.
  Object v1 = {{"apiVersion", "resource.k8s.io/v1"},
               {"kind", "DeviceTaintRule"},
               {"metadata", {{"name", "r"}}},
               {"spec", {{"taint", {{"key", "example.com/x"}, {"effect", "NoSchedule"}}}}}};
  ExpectOnly(v1,
             "kind: Invalid value: \"DeviceTaintRule\": no kind \"DeviceTaintRule\" is served in "
             "version \"resource.k8s.io/v1\"");
  Object r = {{"apiVersion", "resource.k8s.io/v1alpha3"},
              {"kind", "DeviceTaintRule"},
              {"metadata", {{"name", "r"}}},
              {"spec", {{"taint", {{"key", "example.com/x"}, {"effect", "Evict"}}}}}};
  ExpectOnly(r,
             "spec.taint.effect: Unsupported value: \"Evict\": supported values: \"NoExecute\", "
             "\"NoSchedule\", \"None\"");
  r["spec"].erase("taint");
  ExpectOnly(r, "spec.taint: Required value");
  Object p = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", "p"}, {"namespace", "default"}}},
      {"spec",
       {{"resourceClaims",
         {{{"name", "gpu"}, {"resourceClaimName", "c"}, {"resourceClaimTemplateName", "t"}}}},
        {"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
  ExpectOnly(p,
             "spec.resourceClaims[0]: Invalid value: \"{`resourceClaimName`, "
             "`resourceClaimTemplateName`}\": at "
             "most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified");
  p["spec"]["resourceClaims"][0].erase("resourceClaimTemplateName");
  p["spec"]["containers"][0]["resources"] = {{"claims", {{{"name", "fpga"}}}}};
  ExpectOnly(p,
             "spec.containers[0].resources.claims[0].name: Unsupported value: \"fpga\": supported "
             "values: \"gpu\"");
  p["spec"]["containers"] = Object::array();
  ExpectOnly(p, "spec.containers: Required value");
}

TEST_CASE("Validation: error rendering and Status causes", "[kube][validation]") {
  using namespace drahil::kube;
  CHECK(Required("spec.driver").ToString() == "spec.driver: Required value");
  CHECK(Invalid("spec.devices[3].name", "x", "bad").ToString() ==
        "spec.devices[3].name: Invalid value: \"x\": bad");
  CHECK(Invalid("a", "q\"\n", "d").ToString() == "a: Invalid value: \"q\\\"\\n\": d");
  CHECK(TooMany("spec.devices", 129, 128).ToString() ==
        "spec.devices: Too many: 129: must have at most 128 items");
  CHECK(TooLong("x", 1).ToString() == "x: Too long: may not be more than 1 byte");
  CHECK(Duplicate("n", 5).ToString() == "n: Duplicate value: 5");
  CHECK(NotSupported("m", "z", {"a", "b"}).ToString() ==
        "m: Unsupported value: \"z\": supported values: \"a\", \"b\"");
  CHECK(Forbidden("f", "no").ToString() == "f: Forbidden: no");
  auto errs = Validate(Slice(129));
  auto causes = ToStatusCauses(errs);
  REQUIRE(causes.size() == 1);
  CHECK(causes[0].reason == "FieldValueTooMany");
  CHECK(causes[0].field == "spec.devices");
  CHECK(causes[0].message == "Too many: 129: must have at most 128 items");
  std::vector<FieldError> two = {Required("a"), Required("b"), Required("a")};
  CHECK(ErrorsToString(two) == "[a: Required value, b: Required value]");
  CHECK(ErrorsToString({Required("a")}) == "a: Required value");
}

TEST_CASE("Validation: name rules", "[kube][validation]") {
  using namespace drahil::kube;
  CHECK(IsDns1123Label("a-1").empty());
  CHECK_FALSE(IsDns1123Label("-a").empty());
  CHECK_FALSE(IsDns1123Label("a.b").empty());
  CHECK(IsDns1123Subdomain("gpu.example.com").empty());
  CHECK_FALSE(IsDns1123Subdomain("gpu..example").empty());
  CHECK(IsQualifiedName("example.com/My_Name").empty());
  CHECK(IsQualifiedName("a/b/c") ==
        std::vector<std::string>{"a qualified name must consist of alphanumeric characters, '-', "
                                 "'_' or '.', and must start and end with an "
                                 "alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                                 "'123-abc', regex used for validation is "
                                 "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS "
                                 "subdomain prefix and '/' (e.g. "
                                 "'example.com/MyName')"});
  CHECK(IsQualifiedName(std::string(64, 'a')) ==
        std::vector<std::string>{"name part must be no more than 63 characters"});
  CHECK(IsValidLabelValue("").empty());
  CHECK(IsCIdentifier("_x1").empty());
  CHECK_FALSE(IsCIdentifier("1x").empty());
}

// pkg/apis/resource/validation validateCELSelector(): the expression must
// compile (dynamic-resource-allocation/cel CompileCELExpression(), "compilation
// failed: " + cel-go's issues) and its estimated cost must stay within
// CELSelectorExpressionMaxCost; too long expressions are not compiled.
TEST_CASE("Validation: upstream validateCELSelector compiles selectors and checks their cost",
          "[kube][validation][cel]") {
  Object c = Class();
  c["spec"]["selectors"][0]["cel"]["expression"] = "device.drivr == 'x'";
  ExpectOnly(c,
             "spec.selectors[0].cel.expression: Invalid value: \"device.drivr == 'x'\": "
             "compilation failed: ERROR: <input>:1:7: undefined field 'drivr' of "
             "kubernetes.DRADevice\n | device.drivr == 'x'\n | ......^");
  c["spec"]["selectors"][0]["cel"]["expression"] = "device.driver";
  ExpectOnly(c,
             "spec.selectors[0].cel.expression: Invalid value: \"device.driver\": must evaluate "
             "to bool or the unknown type, not string");
  c["spec"]["selectors"][0]["cel"]["expression"] =
      "lists.range(2000).all(i, lists.range(2000).all(j, i != j))";
  ExpectOnly(c, "spec.selectors[0].cel.expression: Forbidden: too complex, exceeds cost limit");
  // Too long: only the length is reported.
  c["spec"]["selectors"][0]["cel"]["expression"] = std::string(10 * 1024 + 1, '(');
  ExpectOnly(c, "spec.selectors[0].cel.expression: Too long: may not be more than 10240 bytes");
  // Claims' request and subrequest selectors, and templates, are compiled too.
  Object claim = Claim();
  claim["spec"]["devices"]["requests"][0]["exactly"]["selectors"] = {
      {{"cel", {{"expression", "device.attributes['x'].model.charAt('a') == ''"}}}}};
  auto msgs = Messages(Validate(claim));
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].rfind("spec.devices.requests[0].exactly.selectors[0].cel.expression: Invalid "
                      "value: ",
                      0) == 0);
  CHECK(msgs[0].find("compilation failed: ERROR: <input>:1:") != std::string::npos);
  // Libraries of the base environment are accepted.
  c = Class();
  c["spec"]["selectors"][0]["cel"]["expression"] =
      "device.attributes['gpu.example.com'].exists(k, v, k.indexOf('x') >= 0) && "
      "sets.contains(['a'], ['a']) && cidr('10.0.0.0/8').containsIP('10.1.2.3')";
  ExpectValid(c);
}

// validateDeviceClassSpec(): selectors exactly as stored compile in the
// StoredExpressions environment; new or changed ones in NewExpressions,
// whose base environment is the release's DefaultCompatibilityVersion()
// (one minor below): ext.Lists (base.go 1.34) is new-expression-ready in 1.35.
TEST_CASE("Validation: upstream NewExpressions environment lags the release by one minor",
          "[kube][validation][cel]") {
  using drahil::KubeVersion;
  Object c = Class();
  c["spec"]["selectors"][0]["cel"]["expression"] = "[2, 1].sort() == [1, 2]";
  auto on134 = Messages(Validate(c, KubeVersion{34}));
  REQUIRE(on134.size() == 1);
  CHECK(on134[0].find("undeclared reference to 'sort' (in container '')") != std::string::npos);
  CHECK(Messages(Validate(c, KubeVersion{35})).empty());
  // An update that keeps the stored selectors compiles them as stored.
  Object updated = c;
  updated["metadata"]["labels"] = {{"a", "b"}};
  CHECK(Messages(drahil::kube::ValidateUpdate(c, updated, KubeVersion{34})).empty());
  // Changing them makes them new again.
  updated["spec"]["selectors"].push_back({{"cel", {{"expression", "true"}}}});
  CHECK(Messages(drahil::kube::ValidateUpdate(c, updated, KubeVersion{34})).size() == 1);
}
