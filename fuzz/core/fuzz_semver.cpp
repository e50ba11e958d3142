// Fuzzes SemVer::Parse: never crashes; an accepted version prints to a
// string that parses again to an equal version, and Compare is antisymmetric.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "drahil/core/semver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool normalize : {false, true}) {
    auto v = drahil::SemVer::Parse(text, normalize);
    if (!v.ok()) continue;
    auto again = drahil::SemVer::Parse(v->ToString());
    if (!again.ok() || again->Compare(*v) != 0 || again->build != v->build) std::abort();
    auto base = drahil::SemVer::Parse("1.2.3");
    if (v->Compare(*base) != -base->Compare(*v)) std::abort();
  }
  return 0;
}
