#include "drahil/reports/certification.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace drahil::reports {
namespace {

struct Known {
  std::string_view name;
  std::string_view capability;
};

const std::map<std::string_view, Known>& Features() {
  static const std::map<std::string_view, Known> k = {
      {"kep-4381", {"Structured parameters (DRA core)", "structured-parameters"}},
      {"kep-4815", {"Partitionable devices", "partitionable-devices"}},
      {"kep-4816", {"Prioritized list", "prioritized-list"}},
      {"kep-5018", {"Admin access", "admin-access"}},
      {"kep-5007", {"Binding conditions", "binding-conditions"}},
      {"kep-5055", {"Device taints and tolerations", "device-taints"}},
      {"kep-4680", {"Device health in pod status", "health"}},
      {"kep-5004", {"Extended resources backed by DRA", "extended-resources"}},
      {"kep-5075", {"Consumable capacity", "consumable-capacity"}},
      {"kep-3063", {"Dynamic resource allocation", "dra-v1"}},
  };
  return k;
}

}  // namespace

std::string_view FeatureName(std::string_view feature) {
  auto it = Features().find(feature);
  return it == Features().end() ? std::string_view() : it->second.name;
}

std::string_view FeatureCapability(std::string_view feature) {
  auto it = Features().find(feature);
  return it == Features().end() ? std::string_view() : it->second.capability;
}

std::vector<FeatureSummary> Certify(const RunReport& run) {
  std::map<std::string, FeatureSummary> rows;
  for (const auto& s : run.suites) {
    for (const auto& c : s.cases) {
      std::string f = c.feature.empty() ? s.name : c.feature;
      auto& r = rows[f];
      r.feature = f;
      switch (c.verdict) {
        case Verdict::kPass:
          ++r.passed;
          break;
        case Verdict::kFail:
          ++r.failed;
          break;
        case Verdict::kError:
          ++r.errors;
          break;
        case Verdict::kSkip: {
          ++r.skipped;
          std::string why = c.message.substr(0, c.message.find('\n'));
          if (std::find(r.skip_reasons.begin(), r.skip_reasons.end(), why) == r.skip_reasons.end())
            r.skip_reasons.push_back(why);
          break;
        }
      }
    }
  }
  std::vector<FeatureSummary> out;
  for (auto& [f, r] : rows) {
    r.name = std::string(FeatureName(f));
    r.capability = std::string(FeatureCapability(f));
    r.claimed = r.capability.empty() || std::find(run.claimed.begin(), run.claimed.end(),
                                                  r.capability) != run.claimed.end();
    r.status = r.failed + r.errors > 0 ? "failed" : r.passed > 0 ? "verified" : "not testable here";
    out.push_back(std::move(r));
  }
  return out;
}

std::string CertificationText(const std::vector<FeatureSummary>& rows) {
  std::string out = "certification:\n";
  for (const auto& r : rows) {
    char line[512];
    std::snprintf(line, sizeof line,
                  "  %-18s %-10s %-38s %s, %d passed, %d failed, %d errors, %d skipped\n",
                  r.status.c_str(), r.feature.c_str(), r.name.empty() ? "" : r.name.c_str(),
                  r.claimed ? "claimed" : "not claimed", r.passed, r.failed, r.errors, r.skipped);
    out += line;
    if (r.status == "not testable here")
      for (const auto& why : r.skip_reasons) out += "      " + why + "\n";
  }
  return out;
}

}  // namespace drahil::reports
