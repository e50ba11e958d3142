// Fuzzes the CDI spec parser (JSON and YAML paths), the writer round trip,
// the audit and the qualified-name parser. Invariants: nothing crashes or
// throws; a spec that parses is re-parsed unchanged from ToJson().
#include <cstdint>
#include <cstdlib>
#include <string>

#include "drahil/cdi/audit.hpp"
#include "drahil/cdi/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)drahil::cdi::ParseQualifiedName(text);
  for (auto format : {drahil::cdi::Format::kJson, drahil::cdi::Format::kYaml}) {
    auto spec = drahil::cdi::ParseSpec(text, "fuzz", format);
    if (!spec.ok()) continue;
    if (!drahil::cdi::ValidateSpec(*spec).ok()) std::abort();
    drahil::cdi::AuditOptions opts;
    opts.stat_host = false;
    (void)drahil::cdi::AuditSpec(*spec, opts);
    std::string json = drahil::cdi::ToJson(*spec);
    auto again = drahil::cdi::ParseSpec(json, "roundtrip", drahil::cdi::Format::kJson);
    if (!again.ok() || drahil::cdi::ToJson(*again) != json) std::abort();
  }
  return 0;
}
