// Fuzzes Quantity::Parse: never crashes; an accepted quantity's canonical
// form parses again to the same value, and from there prints identically.
// (Not from the first print: as Go's, 62.5Ki prints 64000, which is decimal
// when parsed again and prints 64k.)
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
  if (!again.ok() || *again != *q) std::abort();
  std::string second = again->ToString();
  auto third = drahil::Quantity::Parse(second);
  if (!third.ok() || *third != *q || third->ToString() != second) std::abort();
  (void)q->Value();
  (void)q->MilliValue();
  return 0;
}
