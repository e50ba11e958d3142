// expect: cdi-clean
#include "drahil/core/strings.hpp"
#include "expectations.hpp"

namespace drahil::node {

// After unprepare, no CDI spec in the node's CDI directory names the claims:
// neither a file name nor a file's content carries a claim's UID (drivers
// name per-claim specs and devices after the claim UID; a leftover hands the
// device to later containers that reuse the IDs).
StepOutcome ExpectCdiClean(const Json& v, CaseContext& ctx, NodeEnv& env) {
  std::vector<std::pair<std::string, std::string>> claims;  // (ns/name, uid)
  for (const auto& c : v["claims"]) {
    auto [ns, name] = SplitRef(c.get<std::string>());
    auto obj = env.api->Get("resourceclaims", ns, name);
    if (!obj.ok())
      return StepOutcome::Error(
          "expect cdi-clean: claim " + ns + "/" + name + ": " + obj.status().message(),
          "SuiteError");
    claims.emplace_back(ns + "/" + name, (*obj)["metadata"].value("uid", ""));
  }
  const std::string dir = ctx.dirs.cdi_dir;
  std::vector<std::string> findings;
  auto names = ListDir(dir);
  if (!names.ok() && names.status().code() != Code::kNotFound)
    return StepOutcome::Error("expect cdi-clean: " + names.status().message(), "Environment");
  for (const auto& f : names.ok() ? *names : std::vector<std::string>{}) {
    // Specs are small; a file that is not a regular file or is huge is the
    // CDI audit's business, not this check's.
    auto text = ReadRegularFile(dir + "/" + f, 4u << 20);
    for (const auto& [ref, uid] : claims) {
      if (uid.empty()) continue;
      bool named =
          f.find(uid) != std::string::npos || (text.ok() && text->find(uid) != std::string::npos);
      if (named) findings.push_back(f + " still names claim " + ref + " (" + uid + ")");
    }
  }
  if (!findings.empty())
    return StepOutcome::Fail(
        "CDI specs of unprepared claims were left behind in " + dir + ": " + Join(findings, "; "),
        "CdiLeftover");
  return StepOutcome::Pass();
}

}  // namespace drahil::node
