#include "quantity_util.hpp"

#include <algorithm>
#include <limits>

namespace drahil::allocator {

Result<Quantity> ParseQuantityJson(const nlohmann::json& v) {
  if (v.is_string()) return Quantity::Parse(v.get<std::string>());
  if (v.is_number_integer() || v.is_number_float()) return Quantity::Parse(v.dump());
  return InvalidArgumentError("quantity must be a string, got " + std::string(v.type_name()));
}

Quantity QuantityFromNanos(__int128 nanos, Quantity::Format format) {
  constexpr __int128 kNano = 1000000000;
  constexpr __int128 kMax = std::numeric_limits<int64_t>::max();
  if (nanos % kNano == 0 && nanos / kNano <= kMax && nanos / kNano >= -kMax) {
    return Quantity::FromInt(static_cast<int64_t>(nanos / kNano), format);
  }
  if (nanos % 1000000 == 0 && nanos / 1000000 <= kMax && nanos / 1000000 >= -kMax) {
    return Quantity::FromMilli(static_cast<int64_t>(nanos / 1000000), format);
  }
  // General case: print the exact decimal and let Parse() pick the form.
  bool neg = nanos < 0;
  unsigned __int128 mag =
      neg ? static_cast<unsigned __int128>(-nanos) : static_cast<unsigned __int128>(nanos);
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(mag % 10)));
    mag /= 10;
  } while (mag > 0);
  while (digits.size() < 10) digits.push_back('0');
  std::reverse(digits.begin(), digits.end());
  std::string text;
  if (neg) text.push_back('-');
  text.append(digits, 0, digits.size() - 9);
  text.push_back('.');
  text.append(digits, digits.size() - 9, 9);
  auto q = Quantity::Parse(text);
  return q.ok() ? *q : Quantity();
}

std::string FormatNanos(__int128 nanos, Quantity::Format format) {
  return QuantityFromNanos(nanos, format).ToString();
}

}  // namespace drahil::allocator
