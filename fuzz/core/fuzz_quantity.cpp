// Fuzzes Quantity::Parse: never crashes; an accepted quantity's canonical
// form parses again to the same value and prints identically.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "drahil/core/quantity.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto q = drahil::Quantity::Parse(text);
  if (!q.ok()) return 0;
  std::string canon = q->ToString();
  auto again = drahil::Quantity::Parse(canon);
  if (!again.ok() || *again != *q || again->ToString() != canon) std::abort();
  (void)q->Value();
  (void)q->MilliValue();
  return 0;
}
