// Internal: a small declarative schema for YAML documents, so the suite and
// profile formats are described as data and every error names
// file:line:column and the key path.
#ifndef DRAHIL_RUNNER_SRC_SCHEMA_HPP_INCLUDED
#define DRAHIL_RUNNER_SRC_SCHEMA_HPP_INCLUDED

#include <yaml-cpp/yaml.h>

#include <climits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "drahil/core/status.hpp"
#include "drahil/runner/suite.hpp"

namespace drahil::runner::schema {

struct Schema;
using SchemaPtr = std::shared_ptr<const Schema>;

struct Field {
  std::string key;
  SchemaPtr schema;
  bool required = false;
};

enum class Type {
  kString,
  kInt,
  kNumber,
  kBool,
  kDuration,
  kEnum,
  kCode,
  kRegex,
  kName,
  kMap,
  kSeq,
  kFreeMap,
  kStringMap,
  kAlt,
  kSteps,
};

struct Schema {
  Type type = Type::kString;
  std::string what;                                      // human description used in messages
  std::vector<Field> fields;                             // kMap
  std::vector<std::vector<std::string>> exactly_one_of;  // kMap: groups of keys
  bool at_least_one = false;                             // kMap: some field must be present
  SchemaPtr item;                                        // kSeq
  size_t min_items = 0;                                  // kSeq
  std::vector<std::string> values;                       // kEnum
  long long min_int = LLONG_MIN;                         // kInt
  std::vector<SchemaPtr> alts;  // kAlt: first whose node kind fits (scalar/map/seq)
};

SchemaPtr Str();
SchemaPtr Name();  // [a-z0-9]([-a-z0-9.]*[a-z0-9])?, like a Kubernetes name
SchemaPtr Int(long long min = LLONG_MIN);
SchemaPtr Num();
SchemaPtr Bool();
SchemaPtr Dur();
SchemaPtr Code(std::vector<std::string> also = {});  // a gRPC code name, or one of `also`
SchemaPtr Regex();                                   // a valid ECMAScript regex
SchemaPtr Enum(std::vector<std::string> values);
SchemaPtr Seq(SchemaPtr item, size_t min_items = 0);
SchemaPtr Map(std::vector<Field> fields, std::vector<std::vector<std::string>> exactly_one_of = {},
              bool at_least_one = false);
SchemaPtr FreeMap();    // any mapping (manifests, attributes)
SchemaPtr StringMap();  // string -> scalar
SchemaPtr Alt(std::vector<SchemaPtr> alts);
SchemaPtr Steps();  // a step list; checked by the step parser, not here
Field Req(std::string key, SchemaPtr s);
Field Opt(std::string key, SchemaPtr s);

// Context for messages.
struct Where {
  std::string file;
  std::string path;  // "cases[2].steps[0].prepare"
  [[nodiscard]] Where Key(const std::string& k) const;
  [[nodiscard]] Where Index(size_t i) const;
};

Location LocOf(const YAML::Node& n, const std::string& file);
// ErrorAt(): "file:line:col: path: message" as kInvalidArgument.
Status ErrorAt(const YAML::Node& n, const Where& w, const std::string& message);

// Check(): validates n against s; unknown keys, duplicate keys, wrong types
// and bad values are errors.
Status Check(const YAML::Node& n, const Schema& s, const Where& w);

// Describe(): "a duration like 30s" etc., for messages.
std::string Describe(const Schema& s);

}  // namespace drahil::runner::schema

#endif
