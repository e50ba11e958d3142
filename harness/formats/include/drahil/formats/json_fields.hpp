// File: json_fields.hpp
//
// Reading fields of nlohmann::json values by path, with errors that name the
// path. A path is object keys joined by '.': "spec.driver",
// "metadata.name"; "" is the value itself. (A key that holds a '.' cannot be
// named; Kubernetes field paths never need one.)
//
// Two families:
//   Get*(j, path)   the field must be there, non-null and of the type; else
//                   kInvalidArgument "spec.driver: expected a string, got a
//                   number" or "spec.driver: missing".
//   *Or(j, path, fallback), Member*(j, key)
//                   lenient: the fallback when the field is absent, null or of
//                   another type (for objects that were validated before, or
//                   where a wrong type means "not set").
// Integers: GetInt/GetUint take only JSON integers (1.0 is not one) that fit
// the result type.
//
// Thread-safety: pure functions.
#ifndef DRAHIL_FORMATS_JSON_FIELDS_HPP_INCLUDED
#define DRAHIL_FORMATS_JSON_FIELDS_HPP_INCLUDED

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <type_traits>

#include "drahil/core/status.hpp"

namespace drahil::formats {

// Find(): the value at path; nullptr when a step is absent or not an object.
const nlohmann::json* Find(const nlohmann::json& j, std::string_view path);
// At(): the value at path, or a null value when absent.
const nlohmann::json& At(const nlohmann::json& j, std::string_view path);

// TypeName(): "null", "a boolean", "a string", "an integer", "a number",
// "an array", "an object", for messages.
const char* TypeName(const nlohmann::json& v);

Result<std::string> GetString(const nlohmann::json& j, std::string_view path);
Result<bool> GetBool(const nlohmann::json& j, std::string_view path);
Result<int64_t> GetInt(const nlohmann::json& j, std::string_view path);
Result<uint64_t> GetUint(const nlohmann::json& j, std::string_view path);
Result<double> GetNumber(const nlohmann::json& j, std::string_view path);
// GetObject() / GetArray(): a pointer into j, never null on success.
Result<const nlohmann::json*> GetObject(const nlohmann::json& j, std::string_view path);
Result<const nlohmann::json*> GetArray(const nlohmann::json& j, std::string_view path);

// Member*(): one key, taken whole (dots and all: "gpu.example.com/memory"),
// leniently: a null value, "" or false when j is not an object, lacks the key
// or holds another type there.
const nlohmann::json& Member(const nlohmann::json& j, std::string_view key);
std::string MemberString(const nlohmann::json& j, std::string_view key);
bool MemberBool(const nlohmann::json& j, std::string_view key);

std::string StringOr(const nlohmann::json& j, std::string_view path,
                     std::string_view fallback = "");
bool BoolOr(const nlohmann::json& j, std::string_view path, bool fallback = false);

// Get<T>(): the typed getter for T (std::string, bool, double, or an integer
// type, range-checked), so structs can be filled field by field. Any other T
// (a std::vector<uint32_t>, ...) is nlohmann's conversion, its failure
// reported as "<path>: <what nlohmann says>".
// ReadField(j, path, &out, required): Get<T>() into *out; when not required,
// an absent or null field leaves *out as it is.
template <typename T>
Result<T> Get(const nlohmann::json& j, std::string_view path);

template <typename T>
Status ReadField(const nlohmann::json& j, std::string_view path, T* out, bool required = true) {
  if (!required) {
    const nlohmann::json* v = Find(j, path);
    if (v == nullptr || v->is_null()) return OkStatus();
  }
  DRAHIL_ASSIGN_OR_RETURN(*out, Get<T>(j, path));
  return OkStatus();
}

// ---- implementation details -------------------------------------------------

namespace internal {
Status RangeError(std::string_view path, const nlohmann::json& v);
Status ConversionError(std::string_view path, const char* what);
}  // namespace internal

template <typename T>
Result<T> Get(const nlohmann::json& j, std::string_view path) {
  if constexpr (std::is_same_v<T, std::string>) {
    return GetString(j, path);
  } else if constexpr (std::is_same_v<T, bool>) {
    return GetBool(j, path);
  } else if constexpr (std::is_floating_point_v<T>) {
    DRAHIL_ASSIGN_OR_RETURN(double d, GetNumber(j, path));
    return static_cast<T>(d);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    DRAHIL_ASSIGN_OR_RETURN(int64_t v, GetInt(j, path));
    if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) {
      return internal::RangeError(path, At(j, path));
    }
    return static_cast<T>(v);
  } else if constexpr (std::is_integral_v<T>) {
    DRAHIL_ASSIGN_OR_RETURN(uint64_t v, GetUint(j, path));
    if (v > std::numeric_limits<T>::max()) return internal::RangeError(path, At(j, path));
    return static_cast<T>(v);
  } else {
    const nlohmann::json& v = At(j, path);
    if (v.is_null()) return GetString(j, path).status();  // "<path>: missing"
    try {
      return v.template get<T>();
    } catch (const nlohmann::json::exception& e) {
      return internal::ConversionError(path, e.what());
    }
  }
}

}  // namespace drahil::formats

#endif  // DRAHIL_FORMATS_JSON_FIELDS_HPP_INCLUDED
