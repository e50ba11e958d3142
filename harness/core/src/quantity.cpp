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
    {"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3}, {"", 10, 0},   {"k", 10, 3},  {"M", 10, 6},
    {"G", 10, 9},  {"T", 10, 12}, {"P", 10, 15}, {"E", 10, 18},
};

using Format = Quantity::Format;

// The largest quantity, in nanos.
constexpr i128 kCapNanos = kMaxUnits * kNanosPerUnit;

// A quantity's mantissa: its significant digits (leading zeros dropped) and
// how many of them, with dropped zeros, follow the decimal point.
struct Mantissa {
  std::string digits;
  int frac_digits = 0;
};

// ParseMantissa(): digits, an optional '.', digits, from text[*i] on, *i
// left after them; false when there is no digit at all.
bool ParseMantissa(std::string_view text, size_t* i, Mantissa* m) {
  bool seen_dot = false, any_digit = false;
  for (; *i < text.size(); ++*i) {
    char c = text[*i];
    if (c == '.' && !seen_dot) {
      seen_dot = true;
      continue;
    }
    if (c < '0' || c > '9') break;
    any_digit = true;
    if (seen_dot) ++m->frac_digits;
    // Leading zeros carry no value.
    if (!m->digits.empty() || c != '0') m->digits.push_back(c);
  }
  return any_digit;
}

// The scale a suffix gives: mantissa * base^exp, and the format it implies.
struct Scale {
  int base = 10;  // 2 or 10
  int exp = 0;
  Format format = Format::kDecimalSI;
};

// ParseExponent(): "e"/"E" and a signed decimal exponent of at most 1000.
Result<Scale> ParseExponent(std::string_view suffix) {
  std::string_view e = suffix.substr(1);
  size_t j = 0;
  bool eneg = false;
  if (e[j] == '+' || e[j] == '-') {
    eneg = e[j] == '-';
    ++j;
  }
  if (j >= e.size()) return InvalidArgumentError("exponent has no digits");
  int v = 0;
  for (; j < e.size(); ++j) {
    if (e[j] < '0' || e[j] > '9')
      return InvalidArgumentError("invalid exponent \"" + std::string(suffix) + "\"");
    v = v * 10 + (e[j] - '0');
    if (v > 1000) return InvalidArgumentError("exponent out of range");
  }
  return Scale{10, eneg ? -v : v, Format::kDecimalExponent};
}

// ParseSuffix(): the scale of an SI suffix ("" included) or a decimal
// exponent; the error says why the suffix is not one.
Result<Scale> ParseSuffix(std::string_view suffix) {
  for (const auto& s : kSuffixes) {
    if (s.text == suffix)
      return Scale{s.base, s.exp, s.base == 2 ? Format::kBinarySI : Format::kDecimalSI};
  }
  if (suffix.size() > 1 && (suffix[0] == 'e' || suffix[0] == 'E')) return ParseExponent(suffix);
  return InvalidArgumentError("unknown suffix \"" + std::string(suffix) + "\"");
}

// TrimFractionZeros(): drops trailing fractional zeros, so that the digit
// count reflects the value.
void TrimFractionZeros(Mantissa* m) {
  while (m->frac_digits > 0 && !m->digits.empty() && m->digits.back() == '0') {
    m->digits.pop_back();
    --m->frac_digits;
  }
}

// RoundTo30Digits(): keeps 30 significant digits of a wider mantissa (too
// many fractional digits), rounding the magnitude up by one ulp when a
// dropped digit is not zero.
void RoundTo30Digits(Mantissa* m) {
  int drop = static_cast<int>(m->digits.size()) - 30;
  bool nonzero_dropped = m->digits.find_first_not_of('0', 30) != std::string::npos;
  m->digits.resize(30);
  m->frac_digits -= drop;
  if (!nonzero_dropped) return;
  i128 d = 0;
  for (char c : m->digits) d = d * 10 + (c - '0');
  m->digits = ToDecimalString(d + 1);
}

// MulCapped(): *v times factor^times; true (and *v unspecified) once it
// exceeds the cap.
bool MulCapped(i128* v, int times, int factor) {
  for (int k = 0; k < times; ++k) {
    *v *= factor;
    if (*v > kCapNanos) return true;
  }
  return false;
}

// BinaryNanos(): mant * 10^-frac * 2^exp in nanos, capped.
i128 BinaryNanos(i128 mant, int exp, int frac_digits) {
  int scale = 9 - frac_digits;
  i128 v = mant;
  if (MulCapped(&v, exp, 2)) return kCapNanos;
  // v is at most the cap (< 10^28): below 10^-36 of it only a nonzero
  // remainder is left, which rounds up to 1n (and 10^37 overflows Pow10).
  if (scale < -36) return v == 0 ? 0 : 1;
  if (scale < 0) return DivRoundAway(v, Pow10(-scale));
  return MulCapped(&v, scale, 10) ? kCapNanos : v;
}

// DecimalNanos(): mant * 10^(exp - frac) in nanos, capped; a nonzero value
// too small for a nano rounds up to 1n.
i128 DecimalNanos(i128 mant, int exp, int frac_digits) {
  int scale = 9 + exp - frac_digits;
  if (scale >= 0) {
    i128 v = mant;
    return MulCapped(&v, scale, 10) ? kCapNanos : v;
  }
  if (-scale > 36) return mant == 0 ? 0 : 1;
  return DivRoundAway(mant, Pow10(-scale));
}

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
  Mantissa m;
  if (!ParseMantissa(text, &i, &m)) return err("expected a number");
  Result<Scale> scale = ParseSuffix(text.substr(i));
  if (!scale.ok()) return err(scale.status().message());
  Format format = scale->format;

  TrimFractionZeros(&m);
  if (m.digits.size() > 30) {
    // Only reachable for absurd inputs; values this wide are above the cap
    // unless the exponent is hugely negative.
    if (scale->base == 10 && scale->exp - m.frac_digits + static_cast<int>(m.digits.size()) > 25) {
      return Quantity(negative ? -kCapNanos : kCapNanos, format);
    }
    RoundTo30Digits(&m);
  }
  i128 mant = 0;
  for (char c : m.digits) mant = mant * 10 + (c - '0');

  // nanos = mant * 10^-frac * base^exp * 1e9
  i128 nanos = scale->base == 2 ? BinaryNanos(mant, scale->exp, m.frac_digits)
                                : DecimalNanos(mant, scale->exp, m.frac_digits);
  if (nanos > kCapNanos) nanos = kCapNanos;
  if (format == Format::kBinarySI && nanos > 0 && nanos < kNanosPerUnit)
    format = Format::kDecimalSI;
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
    case -9:
      return number + "n";
    case -6:
      return number + "u";
    case -3:
      return number + "m";
    case 0:
      return number;
    case 3:
      return number + "k";
    case 6:
      return number + "M";
    case 9:
      return number + "G";
    case 12:
      return number + "T";
    case 15:
      return number + "P";
    case 18:
      return number + "E";
    default:
      break;
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
