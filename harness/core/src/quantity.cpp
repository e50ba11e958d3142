#include "drahil/core/quantity.hpp"

#include <algorithm>

namespace drahil {
namespace {

using i128 = __int128;
constexpr i128 kNanosPerUnit = 1000000000;
// The API server caps quantities at 2^63-1 units (resource.maxAllowed).
constexpr i128 kMaxUnits = (static_cast<i128>(1) << 63) - 1;

i128 Pow10(int n) {
  i128 r = 1;
  while (n-- > 0) r *= 10;
  return r;
}

std::string ToDecimalString(i128 v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  // Work on the negative side so the most negative value does not overflow.
  std::string s;
  i128 x = neg ? v : -v;
  while (x != 0) {
    s.push_back(static_cast<char>('0' - static_cast<int>(x % 10)));
    x /= 10;
  }
  if (neg) s.push_back('-');
  std::reverse(s.begin(), s.end());
  return s;
}

// DivCeilAway(): a / b rounded away from zero (inf.RoundUp).
i128 DivRoundAway(i128 a, i128 b) {
  i128 q = a / b;
  if (a % b != 0) q += (a < 0) ? -1 : 1;
  return q;
}

// DivCeil(): mathematical ceiling of a / b, b > 0.
i128 DivCeil(i128 a, i128 b) {
  i128 q = a / b;
  if (a % b != 0 && a > 0) q += 1;
  return q;
}

struct Suffix {
  std::string_view text;
  int base;  // 2 or 10
  int exp;   // power of base
};
constexpr Suffix kSuffixes[] = {
    {"Ki", 2, 10}, {"Mi", 2, 20}, {"Gi", 2, 30}, {"Ti", 2, 40}, {"Pi", 2, 50}, {"Ei", 2, 60},
    {"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3}, {"", 10, 0},   {"k", 10, 3},   {"M", 10, 6},
    {"G", 10, 9},  {"T", 10, 12}, {"P", 10, 15}, {"E", 10, 18},
};

}  // namespace

Quantity Quantity::FromInt(int64_t value, Format format) {
  return Quantity(static_cast<i128>(value) * kNanosPerUnit, format);
}

Quantity Quantity::FromMilli(int64_t milli, Format format) {
  return Quantity(static_cast<i128>(milli) * 1000000, format);
}

Result<Quantity> Quantity::Parse(std::string_view text) {
  auto err = [&](const std::string& why) {
    return InvalidArgumentError("quantity \"" + std::string(text) + "\": " + why);
  };
  if (text.empty()) return err("empty string");
  size_t i = 0;
  bool negative = false;
  if (text[i] == '+' || text[i] == '-') {
    negative = text[i] == '-';
    ++i;
  }
  // Mantissa: digits, optional '.', digits; at least one digit overall.
  std::string digits;
  int frac_digits = 0;
  bool seen_dot = false, any_digit = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      any_digit = true;
      if (digits.empty() && c == '0') {
        if (seen_dot) ++frac_digits;
        continue;  // leading zeros carry no value
      }
      digits.push_back(c);
      if (seen_dot) ++frac_digits;
    } else if (c == '.' && !seen_dot) {
      seen_dot = true;
    } else {
      break;
    }
  }
  if (!any_digit) return err("expected a number");
  std::string_view suffix = text.substr(i);

  Format format = Format::kDecimalSI;
  int base = 10, exp = 0;
  bool found = false;
  for (const auto& s : kSuffixes) {
    if (s.text == suffix) {
      base = s.base;
      exp = s.exp;
      format = base == 2 ? Format::kBinarySI : Format::kDecimalSI;
      found = true;
      break;
    }
  }
  if (!found && suffix.size() > 1 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    // Decimal exponent: e or E followed by a signed integer.
    std::string_view e = suffix.substr(1);
    size_t j = 0;
    bool eneg = false;
    if (e[j] == '+' || e[j] == '-') {
      eneg = e[j] == '-';
      ++j;
    }
    if (j >= e.size()) return err("exponent has no digits");
    int v = 0;
    for (; j < e.size(); ++j) {
      if (e[j] < '0' || e[j] > '9') return err("invalid exponent \"" + std::string(suffix) + "\"");
      v = v * 10 + (e[j] - '0');
      if (v > 1000) return err("exponent out of range");
    }
    exp = eneg ? -v : v;
    format = Format::kDecimalExponent;
    found = true;
  }
  if (!found) return err("unknown suffix \"" + std::string(suffix) + "\"");

  // Drop trailing fractional zeros so the digit count below reflects value.
  while (frac_digits > 0 && !digits.empty() && digits.back() == '0') {
    digits.pop_back();
    --frac_digits;
  }
  if (digits.size() > 30) {
    // Only reachable for absurd inputs; values this wide are above the cap
    // unless the exponent is hugely negative.
    if (base == 10 && exp - frac_digits + static_cast<int>(digits.size()) > 25) {
      return Quantity(negative ? -kMaxUnits * kNanosPerUnit : kMaxUnits * kNanosPerUnit, format);
    }
    // Too many fractional digits: keep 30 significant digits, rounding up.
    int drop = static_cast<int>(digits.size()) - 30;
    bool nonzero_dropped = digits.find_first_not_of('0', 30) != std::string::npos;
    digits.resize(30);
    frac_digits -= drop;
    if (nonzero_dropped) {
      // Round the magnitude up: increments the kept digits by one ulp.
      i128 d = 0;
      for (char c : digits) d = d * 10 + (c - '0');
      d += 1;
      digits = ToDecimalString(d);
    }
  }
  i128 mant = 0;
  for (char c : digits) mant = mant * 10 + (c - '0');

  // nanos = mant * 10^-frac * base^exp * 1e9
  i128 nanos = 0;
  bool capped = false;
  const i128 cap_nanos = kMaxUnits * kNanosPerUnit;
  if (base == 2) {
    // Binary: mant * 2^exp * 10^(9 - frac)
    int scale = 9 - frac_digits;
    i128 v = mant;
    for (int k = 0; k < exp && !capped; ++k) {
      v *= 2;
      if (v > cap_nanos) capped = true;
    }
    if (!capped) {
      if (scale >= 0) {
        for (int k = 0; k < scale && !capped; ++k) {
          v *= 10;
          if (v > cap_nanos) capped = true;
        }
        nanos = v;
      } else {
        nanos = DivRoundAway(v, Pow10(-scale));
      }
    }
  } else {
    int scale = 9 + exp - frac_digits;
    if (scale >= 0) {
      i128 v = mant;
      for (int k = 0; k < scale && !capped; ++k) {
        if (v != 0) v *= 10;
        if (v > cap_nanos) capped = true;
      }
      nanos = v;
    } else if (-scale > 36) {
      nanos = mant == 0 ? 0 : 1;  // a tiny positive value rounds up to 1n
    } else {
      nanos = DivRoundAway(mant, Pow10(-scale));
    }
  }
  if (capped || nanos > cap_nanos) nanos = cap_nanos;
  if (format == Format::kBinarySI && nanos > 0 && nanos < kNanosPerUnit) format = Format::kDecimalSI;
  if (negative) nanos = -nanos;
  return Quantity(nanos, format);
}

std::string Quantity::ToString() const {
  if (nanos_ == 0) return "0";
  Format format = format_;
  if (format == Format::kBinarySI) {
    bool small = nanos_ > -1024 * kNanosPerUnit && nanos_ < 1024 * kNanosPerUnit;
    bool integral = nanos_ % kNanosPerUnit == 0;
    if (small || !integral) format = Format::kDecimalSI;
  }
  if (format == Format::kBinarySI) {
    i128 v = nanos_ / kNanosPerUnit;
    int e = 0;
    while (e < 6 && v % 1024 == 0) {
      v /= 1024;
      ++e;
    }
    static constexpr std::string_view kBin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    return ToDecimalString(v) + std::string(kBin[e]);
  }
  // Decimal: strip factors of ten, then lower the exponent to a multiple of 3.
  i128 m = nanos_;
  int e = -9;
  while (m % 10 == 0) {
    m /= 10;
    ++e;
  }
  int extra = ((e % 3) + 3) % 3;
  e -= extra;
  while (extra-- > 0) m *= 10;
  std::string number = ToDecimalString(m);
  if (format == Format::kDecimalExponent) {
    return e == 0 ? number : number + "e" + std::to_string(e);
  }
  switch (e) {
    case -9: return number + "n";
    case -6: return number + "u";
    case -3: return number + "m";
    case 0: return number;
    case 3: return number + "k";
    case 6: return number + "M";
    case 9: return number + "G";
    case 12: return number + "T";
    case 15: return number + "P";
    case 18: return number + "E";
    default: break;
  }
  // Beyond E (only with the cap lifted): fall back to an exponent.
  return number + "e" + std::to_string(e);
}

int64_t Quantity::Value() const { return static_cast<int64_t>(DivCeil(nanos_, kNanosPerUnit)); }
int64_t Quantity::MilliValue() const { return static_cast<int64_t>(DivCeil(nanos_, 1000000)); }
double Quantity::AsApproximateDouble() const { return static_cast<double>(nanos_) / 1e9; }

Quantity Quantity::Add(const Quantity& o) const { return Quantity(nanos_ + o.nanos_, format_); }
Quantity Quantity::Sub(const Quantity& o) const { return Quantity(nanos_ - o.nanos_, format_); }
Quantity Quantity::Neg() const { return Quantity(-nanos_, format_); }

}  // namespace drahil
