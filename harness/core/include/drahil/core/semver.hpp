// File: semver.hpp
//
// SemVer: Semantic Versioning 2.0.0 parse and precedence.
//   "1.2.3", "1.2.3-rc.1", "1.2.3-rc.1+build.5"
// Compare() follows the spec's precedence rules: numeric fields numerically,
// a pre-release sorts before its release, pre-release identifiers compared
// left to right (numeric < alphanumeric), build metadata ignored.
#ifndef DRAHIL_CORE_SEMVER_HPP_INCLUDED
#define DRAHIL_CORE_SEMVER_HPP_INCLUDED

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil {

struct SemVer {
  uint64_t major = 0;
  uint64_t minor = 0;
  uint64_t patch = 0;
  std::vector<std::string> prerelease;  // dot-separated identifiers
  std::vector<std::string> build;

  // Parse(): strict 2.0.0 grammar (no leading zeros, no "v" prefix). With
  // normalize = true, a leading "v" and missing minor/patch ("1", "1.2") are
  // accepted, as DRA's semver(s, true) does.
  static Result<SemVer> Parse(std::string_view text, bool normalize = false);
  [[nodiscard]] std::string ToString() const;
  // Compare(): <0, 0, >0 by precedence.
  [[nodiscard]] int Compare(const SemVer& o) const;

  friend bool operator==(const SemVer& a, const SemVer& b) { return a.Compare(b) == 0; }
  friend bool operator<(const SemVer& a, const SemVer& b) { return a.Compare(b) < 0; }
};

}  // namespace drahil

#endif  // DRAHIL_CORE_SEMVER_HPP_INCLUDED
