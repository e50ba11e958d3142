// Fuzzes the manifest loader (YAML and JSON), the YAML→JSON→YAML round trip,
// validation of whatever objects come out, and the selector parsers. None of
// them may crash, hang or leak on any input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "drahil/kube/manifest.hpp"
#include "drahil/kube/object.hpp"
#include "drahil/kube/validation.hpp"

namespace {

bool ValidUtf8(const drahil::kube::Object& v) {
  try {
    (void)v.dump();
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  drahil::kube::ManifestOptions loose;
  loose.require_kind = false;
  auto objs = drahil::kube::ParseManifests(text, "fuzz.yaml", loose);
  if (objs.ok()) {
    for (const auto& o : *objs) {
      (void)drahil::kube::Validate(o.object);
      (void)drahil::kube::ValidateUpdate(o.object, o.object);
      (void)drahil::kube::ValidateStatusUpdate(o.object, o.object);
      // What JsonToYaml writes must read back as the same value.
      if (ValidUtf8(o.object)) {
        std::string yaml = drahil::kube::JsonToYaml(o.object);
        auto back = drahil::kube::YamlToJson(yaml);
        if (!back.ok() || *back != o.object) {
          std::fprintf(stderr, "round trip differs\nin:   %s\nyaml:\n%s\nout:  %s\n",
                       o.object.dump().c_str(), yaml.c_str(),
                       back.ok() ? back->dump().c_str() : back.status().ToString().c_str());
          std::abort();
        }
      }
    }
  }
  (void)drahil::kube::LabelSelector::Parse(text);
  (void)drahil::kube::FieldSelector::Parse(text);
  return 0;
}
