#include "drahil/core/semver.hpp"

#include <algorithm>
#include <cctype>

#include "drahil/core/strings.hpp"

namespace drahil {
namespace {

bool IsNumeric(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; }

Status ParseNumber(std::string_view field, std::string_view what, uint64_t& out) {
  if (!IsNumeric(field))
    return InvalidArgumentError(std::string(what) + " \"" + std::string(field) +
                                "\" is not a number");
  if (field.size() > 1 && field[0] == '0')
    return InvalidArgumentError(std::string(what) + " \"" + std::string(field) +
                                "\" has a leading zero");
  if (field.size() > 19) return InvalidArgumentError(std::string(what) + " is too large");
  out = 0;
  for (char c : field) out = out * 10 + static_cast<uint64_t>(c - '0');
  return OkStatus();
}

}  // namespace

Result<SemVer> SemVer::Parse(std::string_view text, bool normalize) {
  auto err = [&](const std::string& why) {
    return InvalidArgumentError("semver \"" + std::string(text) + "\": " + why);
  };
  std::string_view s = text;
  if (s.empty()) return err("empty string");
  if (normalize && (s[0] == 'v' || s[0] == 'V')) s.remove_prefix(1);
  SemVer v;
  size_t plus = s.find('+');
  if (plus != std::string_view::npos) {
    v.build = Split(s.substr(plus + 1), '.');
    s = s.substr(0, plus);
    for (const auto& id : v.build) {
      if (id.empty()) return err("empty build identifier");
      if (!std::all_of(id.begin(), id.end(), IsIdentChar))
        return err("invalid build identifier \"" + id + "\"");
    }
  }
  size_t dash = s.find('-');
  if (dash != std::string_view::npos) {
    v.prerelease = Split(s.substr(dash + 1), '.');
    s = s.substr(0, dash);
    for (const auto& id : v.prerelease) {
      if (id.empty()) return err("empty pre-release identifier");
      if (!std::all_of(id.begin(), id.end(), IsIdentChar))
        return err("invalid pre-release identifier \"" + id + "\"");
      if (IsNumeric(id) && id.size() > 1 && id[0] == '0')
        return err("numeric pre-release identifier \"" + id + "\" has a leading zero");
    }
  }
  auto core = Split(s, '.');
  if (normalize) {
    if (core.size() > 3 || core.empty()) return err("expected MAJOR[.MINOR[.PATCH]]");
    while (core.size() < 3) core.push_back("0");
  } else if (core.size() != 3) {
    return err("expected MAJOR.MINOR.PATCH");
  }
  if (auto st = ParseNumber(core[0], "major", v.major); !st.ok()) return err(st.message());
  if (auto st = ParseNumber(core[1], "minor", v.minor); !st.ok()) return err(st.message());
  if (auto st = ParseNumber(core[2], "patch", v.patch); !st.ok()) return err(st.message());
  return v;
}

std::string SemVer::ToString() const {
  std::string s = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  for (size_t i = 0; i < prerelease.size(); ++i) s += (i == 0 ? "-" : ".") + prerelease[i];
  for (size_t i = 0; i < build.size(); ++i) s += (i == 0 ? "+" : ".") + build[i];
  return s;
}

int SemVer::Compare(const SemVer& o) const {
  if (major != o.major) return major < o.major ? -1 : 1;
  if (minor != o.minor) return minor < o.minor ? -1 : 1;
  if (patch != o.patch) return patch < o.patch ? -1 : 1;
  // A version without pre-release has higher precedence.
  if (prerelease.empty() != o.prerelease.empty()) return prerelease.empty() ? 1 : -1;
  size_t n = std::min(prerelease.size(), o.prerelease.size());
  for (size_t i = 0; i < n; ++i) {
    const auto& a = prerelease[i];
    const auto& b = o.prerelease[i];
    bool an = IsNumeric(a), bn = IsNumeric(b);
    if (an && bn) {
      if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
      int c = a.compare(b);
      if (c != 0) return c < 0 ? -1 : 1;
    } else if (an != bn) {
      return an ? -1 : 1;  // numeric identifiers sort before alphanumeric ones
    } else {
      int c = a.compare(b);
      if (c != 0) return c < 0 ? -1 : 1;
    }
  }
  if (prerelease.size() != o.prerelease.size())
    return prerelease.size() < o.prerelease.size() ? -1 : 1;
  return 0;
}

}  // namespace drahil
