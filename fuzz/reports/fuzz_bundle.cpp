// Fuzzes the certification bundle reader. The input is the tar stream: it
// goes to ReadTar() as it is and, gzip'd, through VerifyBundle() (manifest,
// bundle.json, JUnit and JSON report parsing), so mutations reach past the
// gzip layer. Also feeds the raw bytes to Gunzip() and VerifyBundle().
// Invariants: no crash; what ReadTar() accepts writes back and reads the same;
// an accepted bundle has a manifest that lists every other member.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "drahil/reports/bundle.hpp"
#include "drahil/reports/tar.hpp"

using namespace drahil::reports;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  TarLimits limits;
  limits.max_member_bytes = 1 << 20;
  limits.max_total_bytes = 4 << 20;
  auto members = ReadTar(in, limits);
  if (members.ok()) {
    auto again = WriteTar(*members);
    if (!again.ok()) std::abort();  // what the reader takes, the writer can write
    auto back = ReadTar(*again, limits);
    if (!back.ok() || back->size() != members->size()) std::abort();
    for (size_t i = 0; i < back->size(); ++i) {
      if ((*back)[i].path != (*members)[i].path || (*back)[i].data != (*members)[i].data)
        std::abort();
    }
  }
  (void)Gunzip(in, 1 << 20);
  (void)VerifyBundle(in);
  auto gz = Gzip(in);
  if (!gz.ok()) std::abort();
  auto v = VerifyBundle(*gz);
  if (v.ok()) {
    bool manifest = false;
    for (const auto& m : v->members) manifest |= m == kBundleManifest;
    if (!manifest || v->format_version != kBundleFormatVersion) std::abort();
  }
  return 0;
}
