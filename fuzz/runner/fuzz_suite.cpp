// Fuzzes the suite loader and the driver-profile loader with arbitrary text.
// Invariants: nothing crashes or hangs, and every error names the file it
// was given ("fuzz.yaml"), as a user's bad suite or profile must.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "drahil/runner/suite.hpp"

namespace {

template <typename R>
void CheckNamesFile(const R& r, const char* what) {
  if (r.ok()) return;
  if (r.status().message().find("fuzz.yaml") != std::string::npos) return;
  std::fprintf(stderr, "%s error does not name the file: %s\n", what, r.status().message().c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  CheckNamesFile(drahil::runner::LoadSuiteString(text, "fuzz.yaml"), "suite");
  CheckNamesFile(drahil::runner::LoadDriverProfileString(text, "fuzz.yaml"), "driver profile");
  return 0;
}
