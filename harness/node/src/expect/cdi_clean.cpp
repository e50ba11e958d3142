// expect: cdi-clean
#include "drahil/core/strings.hpp"
#include "expectations.hpp"

namespace drahil::node {

namespace {
// LoadedAsSpec(): whether a container runtime would load the file as a CDI
// spec, by the rule cdi::Registry loads the dir with (*.json and *.yaml, not
// hidden); a writer's temporary file (".name.json.tmp-XXXXXX") is not.
bool LoadedAsSpec(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;
  auto ends = [&name](const std::string& ext) {
    return name.size() >= ext.size() &&
           name.compare(name.size() - ext.size(), ext.size(), ext) == 0;
  };
  return ends(".json") || ends(".yaml");
}
}  // namespace

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
  std::vector<std::string> leaks;  // files no runtime loads, naming a claim
  for (const auto& f : names.ok() ? *names : std::vector<std::string>{}) {
    // Specs are small; a file that is not a regular file or is huge is the
    // CDI audit's business, not this check's.
    auto text = ReadRegularFile(dir + "/" + f, 4u << 20);
    for (const auto& [ref, uid] : claims) {
      if (uid.empty()) continue;
      bool named =
          f.find(uid) != std::string::npos || (text.ok() && text->find(uid) != std::string::npos);
      if (!named) continue;
      (LoadedAsSpec(f) ? findings : leaks)
          .push_back(f + " still names claim " + ref + " (" + uid + ")");
    }
  }
  // A temporary file of an interrupted write: harmless to containers, but a
  // leak in the node's tmpfs; said, not failed.
  if (!leaks.empty())
    ctx.Note("cdi-clean: files that are not specs a runtime loads were left in " + dir +
             " (a write interrupted by a crash?): " + Join(leaks, "; "));
  if (!findings.empty())
    return StepOutcome::Fail(
        "CDI specs of unprepared claims were left behind in " + dir + ": " + Join(findings, "; "),
        "CdiLeftover");
  return StepOutcome::Pass();
}

}  // namespace drahil::node
