// File: yaml_json.hpp
//
// The one YAML → JSON converter. Every module that reads YAML into
// nlohmann::json (manifests, suites and profiles, CDI specs, allocator
// inputs) goes through it, so a YAML file means the same everywhere.
//
// Typing policy: go-yaml v2 resolution, which is what kubectl
// (sigs.k8s.io/yaml) and the container runtimes' CDI reader apply. It is
// YAML 1.1 for plain scalars; a drahil file means what kubectl makes of it.
//
//   quoted ('x', "x"), block (|, >) or !!str    string, always ("yes", "12")
//   "" (empty), ~, null, Null, NULL             null
//   y Y yes Yes YES true True TRUE on On ON     true
//   n N no No NO false False FALSE off Off OFF  false
//   12, -7, +3, 1_000                           integer ('_' ignored)
//   0x1F, 0o17, 017 (leading 0), 0b101          integer in base 16, 8, 8, 2
//   > int64 max, <= uint64 max                  unsigned integer
//   1.5, .5, 1., 1e3, -2.5E-3                   floating point (1e3 is 1000.0)
//   a decimal integer beyond 64 bits, 09        floating point, as go-yaml
//   a hex/octal/binary integer beyond 64 bits   string
//   .inf, -.Inf, .nan                           string (JSON has no Inf/NaN)
//   anything else (1.0.0, 10.0.0.1, 12:30)      string
//   !!int, !!float, !!bool, !!null              that type; an error if the text is not one
//   other tags (!foo)                           ignored: resolved as if plain
//
// Maps: keys must be scalars and are taken as written (`1: x` has key "1");
// a key given twice is an error (as kubectl); merge keys ("<<: *base", or a
// list of aliases) are applied, keys written in the map winning. Anchors and
// aliases are expanded: each use of an alias counts again against the limits.
//
// Where the converters this one replaces disagreed, and what was kept:
//   - harness/runner typed suites with the YAML 1.2 core schema: yes/no/on/off
//     stayed strings, 0x10 stayed a string and 010 was 10. Suites embed
//     Kubernetes manifests, so they now read as kubectl reads them.
//   - harness/kube left y/Y/n/N strings; go-yaml v2 (and the allocator and CDI
//     converters) make them booleans, which is kept.
//   - harness/cdi turned .inf/.nan into non-finite numbers, which JSON cannot
//     hold; they stay strings, as in harness/kube.
//   - harness/allocator read 010 as 10.0 and let a repeated key win silently;
//     only harness/kube applied merge keys and refused repeated keys.
//
// Limits (YamlLimits), so a hostile file (an alias "billion laughs", deep
// nesting) fails with an error naming the file instead of exhausting memory:
// nesting depth, output nodes (every map, list and scalar produced; an alias
// counts its whole expansion each time) and output bytes (scalar and key
// text plus a per-node overhead). A YamlConverter charges every Convert()
// call to one budget, so a file converted piece by piece is bounded as a
// whole.
//
// Thread-safety: a YamlConverter is not; the free functions are.
#ifndef DRAHIL_FORMATS_YAML_JSON_HPP_INCLUDED
#define DRAHIL_FORMATS_YAML_JSON_HPP_INCLUDED

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil::formats {

struct YamlLimits {
  int max_depth = 256;
  size_t max_nodes = 1'000'000;
  size_t max_bytes = size_t{64} << 20;
};

// Where and why a conversion failed; line and column are 1-based positions in
// the text yaml-cpp parsed (0: unknown).
struct YamlError {
  int line = 0;
  int column = 0;
  std::string message;
};

// ResolvePlainScalar(): the JSON value an unquoted, untagged scalar becomes
// (the table above). Emitters use it to decide what must be quoted.
nlohmann::json ResolvePlainScalar(std::string_view text);

class YamlConverter {
 public:
  // source names the file (or stream) in error messages.
  explicit YamlConverter(std::string source, YamlLimits limits = {});

  // Convert(): node as JSON under the policy above. On failure the status is
  // kInvalidArgument "<source>:<line>:<column>: <message>" ("<source>: ..."
  // when the position is unknown) and error() holds the parts. Nodes and
  // bytes add up over all calls on this converter.
  Result<nlohmann::json> Convert(const YAML::Node& node);

  // error(): the parts of the last failure (empty message after a success).
  [[nodiscard]] const YamlError& error() const { return error_; }

 private:
  class Walk;
  std::string source_;
  YamlLimits limits_;
  size_t nodes_ = 0;
  size_t bytes_ = 0;
  YamlError error_;
};

// ParseYamlStream(): every document of text as yaml-cpp nodes (null for an
// empty document). A syntax error is kInvalidArgument
// "<source>:<line>:<column>: <message>" ("<line>:<column>: <message>" when
// source is empty).
Result<std::vector<YAML::Node>> ParseYamlStream(std::string_view text, std::string_view source);

// CheckYamlLimits(): kInvalidArgument (worded as Convert()'s) when the
// documents, together, would break the limits once expanded; nothing else is
// checked (repeated keys, bad !!int are Convert()'s business). For readers
// that walk the yaml-cpp nodes themselves and convert parts: any part of a
// document that passes walks and converts within the limits. It builds
// nothing, so it is cheap even for input at the limits.
Status CheckYamlLimits(const std::vector<YAML::Node>& documents, std::string_view source,
                       const YamlLimits& limits = {});

// YamlDocumentsToJson(): ParseYamlStream() and Convert() of every document,
// with one budget for the whole text; empty documents give null.
Result<std::vector<nlohmann::json>> YamlDocumentsToJson(std::string_view text,
                                                        std::string_view source,
                                                        const YamlLimits& limits = {});

}  // namespace drahil::formats

#endif  // DRAHIL_FORMATS_YAML_JSON_HPP_INCLUDED
