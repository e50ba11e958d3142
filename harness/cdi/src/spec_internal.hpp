// Internal to drahil::cdi: what the files of the spec code share.
//   spec.cpp          the model's methods, versions, and the helpers below
//   spec_decode.cpp   text (JSON or YAML) to Spec, strict decoding
//   spec_validate.cpp the rules a spec and its names must follow
//   spec_write.cpp    Spec to JSON, spec files
#ifndef DRAHIL_CDI_SRC_SPEC_INTERNAL_HPP_INCLUDED
#define DRAHIL_CDI_SRC_SPEC_INTERNAL_HPP_INCLUDED

#include <string>
#include <string_view>

#include "drahil/cdi/spec.hpp"
#include "drahil/core/status.hpp"

namespace drahil::cdi::internal {

// SpecFailure: a broken rule, thrown by decoding and validation only and
// converted to a Status (ToStatus()) at the API boundary.
struct SpecFailure {
  std::string path;
  std::string rule;
  std::string detail;
};

[[noreturn]] void Fail(std::string path, std::string rule, std::string detail);

// ToStatus(): kInvalidArgument "<source>: <path>: [<rule>] <detail>".
Status ToStatus(const SpecFailure& f, std::string_view source);

// Quote(): `s` in double quotes, control characters escaped, cut at 200 bytes.
std::string Quote(std::string_view s);

// ValidateOrThrow(): the spec rules (spec_validate.cpp); throws SpecFailure.
void ValidateOrThrow(const Spec& spec);

}  // namespace drahil::cdi::internal

#endif  // DRAHIL_CDI_SRC_SPEC_INTERNAL_HPP_INCLUDED
