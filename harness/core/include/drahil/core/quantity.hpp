// File: quantity.hpp
//
// Quantity: the Kubernetes resource.Quantity ("2Gi", "1500m", "12e6").
//
// Parse() accepts exactly what the API server accepts: an optional sign, a
// decimal number, and one suffix: binary (Ki Mi Gi Ti Pi Ei), decimal
// (n u m "" k M G T P E) or an exponent (e3, E-2). Precision finer than 1n is
// rounded up (away from zero) to 1n, as the API server does.
//
// ToString() prints the API server's canonical form, keeping the format the
// value was written in when that is exact:
//   "2048Mi" -> "2Gi"     "1.5" -> "1500m"     "1000" -> "1k"
//   "0.5Gi"  -> "512Mi"   "512"  (BinarySI below 1Ki prints as decimal)
//
// Values are held exactly as a 128-bit count of nano-units, so every value an
// API object can carry (|v| < 2^63 units, 9 fractional digits) is exact.
#ifndef DRAHIL_CORE_QUANTITY_HPP_INCLUDED
#define DRAHIL_CORE_QUANTITY_HPP_INCLUDED

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "drahil/core/status.hpp"

namespace drahil {

class Quantity {
 public:
  enum class Format { kDecimalSI, kBinarySI, kDecimalExponent };

  Quantity() = default;
  // FromInt(): an integer value, e.g. FromInt(2147483648, kBinarySI) = "2Gi".
  static Quantity FromInt(int64_t value, Format format = Format::kDecimalSI);
  // FromMilli(): value/1000, e.g. FromMilli(1500) = "1500m".
  static Quantity FromMilli(int64_t milli, Format format = Format::kDecimalSI);

  // Parse(): the error names the input: `quantity "1.5.3": ...`.
  static Result<Quantity> Parse(std::string_view text);

  [[nodiscard]] std::string ToString() const;
  [[nodiscard]] Format format() const { return format_; }
  [[nodiscard]] bool IsZero() const { return nanos_ == 0; }
  [[nodiscard]] int Sign() const { return nanos_ > 0 ? 1 : (nanos_ < 0 ? -1 : 0); }

  // Value(): rounded up (away from zero) to an integer, like Quantity.Value().
  [[nodiscard]] int64_t Value() const;
  // MilliValue(): rounded up to milli-units, like Quantity.MilliValue().
  [[nodiscard]] int64_t MilliValue() const;
  // AsApproximateDouble(): the value as a double.
  [[nodiscard]] double AsApproximateDouble() const;
  // nanos(): the exact value in units of 1e-9.
  [[nodiscard]] __int128 nanos() const { return nanos_; }

  // Add()/Sub(): exact; the result keeps this quantity's format (as in Go).
  [[nodiscard]] Quantity Add(const Quantity& o) const;
  [[nodiscard]] Quantity Sub(const Quantity& o) const;
  [[nodiscard]] Quantity Neg() const;
  // Cmp(): -1, 0, 1.
  [[nodiscard]] int Cmp(const Quantity& o) const {
    return nanos_ < o.nanos_ ? -1 : (nanos_ > o.nanos_ ? 1 : 0);
  }

  friend bool operator==(const Quantity& a, const Quantity& b) { return a.nanos_ == b.nanos_; }
  friend std::strong_ordering operator<=>(const Quantity& a, const Quantity& b) {
    return a.nanos_ <=> b.nanos_;
  }

 private:
  Quantity(__int128 nanos, Format f) : nanos_(nanos), format_(f) {}
  __int128 nanos_ = 0;
  Format format_ = Format::kDecimalSI;
};

}  // namespace drahil

#endif  // DRAHIL_CORE_QUANTITY_HPP_INCLUDED
