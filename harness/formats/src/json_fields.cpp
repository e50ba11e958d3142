#include "drahil/formats/json_fields.hpp"

namespace drahil::formats {
namespace {

using Json = nlohmann::json;

std::string Name(std::string_view path) { return path.empty() ? "value" : std::string(path); }

Status Missing(std::string_view path) { return InvalidArgumentError(Name(path) + ": missing"); }

Status WrongType(std::string_view path, const char* want, const Json& got) {
  return InvalidArgumentError(Name(path) + ": expected " + want + ", got " + TypeName(got));
}

// Present(): the non-null value at path, or the error for its absence.
Result<const Json*> Present(const Json& j, std::string_view path) {
  const Json* v = Find(j, path);
  if (v == nullptr || v->is_null()) return Missing(path);
  return v;
}

}  // namespace

namespace internal {
Status RangeError(std::string_view path, const Json& v) {
  return InvalidArgumentError(Name(path) + ": " + v.dump() + " is out of range");
}
Status ConversionError(std::string_view path, const char* what) {
  return InvalidArgumentError(Name(path) + ": " + what);
}
}  // namespace internal

const Json* Find(const Json& j, std::string_view path) {
  const Json* cur = &j;
  if (path.empty()) return cur;
  size_t start = 0;
  for (;;) {
    size_t dot = path.find('.', start);
    std::string_view key =
        path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    if (dot == std::string_view::npos) return cur;
    start = dot + 1;
  }
}

const Json& At(const Json& j, std::string_view path) {
  static const Json kNull;
  const Json* v = Find(j, path);
  return v != nullptr ? *v : kNull;
}

const char* TypeName(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a number";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    default:
      return "a binary value";
  }
}

Result<std::string> GetString(const Json& j, std::string_view path) {
  DRAHIL_ASSIGN_OR_RETURN(const Json* v, Present(j, path));
  if (!v->is_string()) return WrongType(path, "a string", *v);
  return v->get<std::string>();
}

Result<bool> GetBool(const Json& j, std::string_view path) {
  DRAHIL_ASSIGN_OR_RETURN(const Json* v, Present(j, path));
  if (!v->is_boolean()) return WrongType(path, "a boolean", *v);
  return v->get<bool>();
}

Result<int64_t> GetInt(const Json& j, std::string_view path) {
  DRAHIL_ASSIGN_OR_RETURN(const Json* v, Present(j, path));
  if (!v->is_number_integer()) return WrongType(path, "an integer", *v);
  if (v->is_number_unsigned() &&
      v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return internal::RangeError(path, *v);
  }
  return v->get<int64_t>();
}

Result<uint64_t> GetUint(const Json& j, std::string_view path) {
  DRAHIL_ASSIGN_OR_RETURN(const Json* v, Present(j, path));
  if (!v->is_number_integer()) return WrongType(path, "an integer", *v);
  if (!v->is_number_unsigned() && v->get<int64_t>() < 0) return internal::RangeError(path, *v);
  return v->get<uint64_t>();
}

Result<double> GetNumber(const Json& j, std::string_view path) {
  DRAHIL_ASSIGN_OR_RETURN(const Json* v, Present(j, path));
  if (!v->is_number()) return WrongType(path, "a number", *v);
  return v->get<double>();
}

Result<const Json*> GetObject(const Json& j, std::string_view path) {
  DRAHIL_ASSIGN_OR_RETURN(const Json* v, Present(j, path));
  if (!v->is_object()) return WrongType(path, "an object", *v);
  return v;
}

Result<const Json*> GetArray(const Json& j, std::string_view path) {
  DRAHIL_ASSIGN_OR_RETURN(const Json* v, Present(j, path));
  if (!v->is_array()) return WrongType(path, "an array", *v);
  return v;
}

const Json& Member(const Json& j, std::string_view key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it != j.end() ? *it : kNull;
}

std::string MemberString(const Json& j, std::string_view key) {
  const Json& v = Member(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

bool MemberBool(const Json& j, std::string_view key) {
  const Json& v = Member(j, key);
  return v.is_boolean() && v.get<bool>();
}

std::string StringOr(const Json& j, std::string_view path, std::string_view fallback) {
  const Json* v = Find(j, path);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string(fallback);
}

bool BoolOr(const Json& j, std::string_view path, bool fallback) {
  const Json* v = Find(j, path);
  return v != nullptr && v->is_boolean() ? v->get<bool>() : fallback;
}

}  // namespace drahil::formats
