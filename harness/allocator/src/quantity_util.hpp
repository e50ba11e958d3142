// File: quantity_util.hpp (private to the allocator module)
//
// Quantity helpers for allocation arithmetic, which works on exact nano-unit
// counts (__int128) and prints results in the API server's canonical form.
#ifndef DRAHIL_ALLOCATOR_QUANTITY_UTIL_HPP_INCLUDED
#define DRAHIL_ALLOCATOR_QUANTITY_UTIL_HPP_INCLUDED

#include <nlohmann/json.hpp>
#include <string>

#include "drahil/core/quantity.hpp"
#include "drahil/core/status.hpp"

namespace drahil::allocator {

// ParseQuantityJson(): a Quantity written as a JSON string ("8Gi") or, as
// YAML often produces, a bare number (8).
Result<Quantity> ParseQuantityJson(const nlohmann::json& v);

// QuantityFromNanos(): the exact value, in `format` where it is exact.
Quantity QuantityFromNanos(__int128 nanos, Quantity::Format format);
std::string FormatNanos(__int128 nanos, Quantity::Format format);

}  // namespace drahil::allocator

#endif  // DRAHIL_ALLOCATOR_QUANTITY_UTIL_HPP_INCLUDED
