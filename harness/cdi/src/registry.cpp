#include "drahil/cdi/registry.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "drahil/core/file_util.hpp"

namespace drahil::cdi {
namespace {

bool IsSpecFile(const std::string& name) {
  return name[0] != '.' && (name.ends_with(".json") || name.ends_with(".yaml"));
}

}  // namespace

Result<Registry> Registry::Load(const std::vector<std::string>& dirs) {
  std::vector<Spec> specs;
  std::vector<SpecError> errors;
  for (size_t prio = 0; prio < dirs.size(); ++prio) {
    const std::string& dir = dirs[prio];
    if (!PathExists(dir)) continue;  // the runtime ignores missing dirs
    auto names = ListDir(dir);
    if (!names.ok()) return names.status().WithContext("scan CDI spec dir " + dir);
    for (const std::string& name : *names) {
      if (!IsSpecFile(name)) continue;
      std::string path = dir + "/" + name;
      // stat() never opens the file; LoadSpecFile() checks again on the
      // descriptor, should the file be swapped in between.
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        std::string what = S_ISFIFO(st.st_mode)   ? "a FIFO"
                           : S_ISSOCK(st.st_mode) ? "a socket"
                           : S_ISDIR(st.st_mode)  ? "a directory"
                                                  : "a device node";
        errors.push_back(
            {path,
             InvalidArgumentError(path + ": [file-type] " + what +
                                  ", not a regular file; not read (a container runtime "
                                  "reading the CDI dir would block or fail on it)"),
             true});
        continue;
      }
      auto spec = LoadSpecFile(path);
      if (!spec.ok()) {
        errors.push_back({path, spec.status()});
        continue;
      }
      spec->priority = static_cast<int>(prio);
      specs.push_back(std::move(spec).value());
    }
  }
  Registry r = FromSpecs(std::move(specs));
  errors.insert(errors.end(), r.errors_.begin(), r.errors_.end());
  r.errors_ = std::move(errors);
  return r;
}

Registry Registry::FromSpecs(std::vector<Spec> specs) {
  Registry r;
  for (Spec& s : specs) r.specs_.push_back(std::make_shared<const Spec>(std::move(s)));
  for (const auto& spec : r.specs_) {
    for (const Device& dev : spec->devices) {
      std::string id = spec->QualifiedName(dev.name);
      auto it = r.devices_.find(id);
      if (it == r.devices_.end()) {
        r.devices_[id] = ResolvedDevice{id, spec, &dev};
        continue;
      }
      const ResolvedDevice& old = it->second;
      if (spec->priority > old.spec->priority) {
        it->second = ResolvedDevice{id, spec, &dev};  // later dir wins
      } else if (spec->priority == old.spec->priority) {
        std::string msg = "conflicting CDI device " + id + " defined in both " + old.spec->path +
                          " and " + spec->path + " (same spec dir priority)";
        r.conflicts_[id] = msg;
        r.errors_.push_back({id, FailedPreconditionError(msg)});
      }
      // Lower priority: ignored.
    }
  }
  // As the Go cache does: a name that ever conflicted at one priority is
  // dropped, even if a higher-priority dir also defines it.
  for (const auto& [id, msg] : r.conflicts_) r.devices_.erase(id);
  return r;
}

std::vector<SpecError> Registry::SpecialFiles() const {
  std::vector<SpecError> out;
  for (const auto& e : errors_)
    if (e.special_file) out.push_back(e);
  return out;
}

std::vector<std::string> Registry::DeviceIds() const {
  std::vector<std::string> ids;
  for (const auto& [id, dev] : devices_) ids.push_back(id);
  return ids;
}

Result<ResolvedDevice> Registry::Find(const std::string& id) const {
  auto q = ParseQualifiedName(id);
  if (!q.ok()) return q.status();
  auto c = conflicts_.find(id);
  if (c != conflicts_.end()) return FailedPreconditionError(c->second);
  auto it = devices_.find(id);
  if (it == devices_.end())
    return NotFoundError("unresolvable CDI device " + id + ": no spec defines it");
  return it->second;
}

Result<Resolution> Registry::Resolve(const std::vector<std::string>& ids) const {
  Resolution res;
  std::vector<std::string> problems;
  std::set<const Spec*> specs_seen;
  std::set<std::string> ids_seen;
  for (const std::string& id : ids) {
    auto dev = Find(id);
    if (!dev.ok()) {
      problems.push_back(dev.status().message());
      continue;
    }
    if (!ids_seen.insert(id).second) continue;
    // Runtime order: a spec's own edits once, before its first device's edits.
    if (specs_seen.insert(dev->spec.get()).second) res.edits.Append(dev->spec->edits);
    res.edits.Append(dev->device->edits);
    res.devices.push_back(*dev);
  }
  if (!problems.empty()) {
    std::string msg = "unresolvable CDI devices:";
    for (const auto& p : problems) msg += "\n  " + p;
    return NotFoundError(msg);
  }
  return res;
}

}  // namespace drahil::cdi
