// File: registry.hpp
//
// Registry: the CDI specs found in a list of spec dirs, resolved the way a
// container runtime's CDI cache resolves them (docs/reference/protocol.md 5.4):
//   - every *.json and *.yaml file directly in each dir is loaded; a file that
//     fails to parse is recorded in errors() and contributes nothing; one that
//     is not a regular file (a FIFO would block a reader forever) is recorded
//     without being opened;
//   - dirs later in the list have higher priority: a device name defined in a
//     later dir overrides the same name from an earlier dir;
//   - the same name defined twice at the same priority is a conflict: the name
//     becomes unresolvable (even when a higher-priority dir defines it too, as
//     the Go cache drops every conflicting name) and is recorded in errors();
//   - Resolve() merges edits in the runtime's order: for each requested ID in
//     order, the spec-level edits of its spec (the first time that spec is
//     used), then the device's own edits.
//
// Thread-safety: immutable after Load(); const methods may be used from many
// threads.
#ifndef DRAHIL_CDI_REGISTRY_HPP_INCLUDED
#define DRAHIL_CDI_REGISTRY_HPP_INCLUDED

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "drahil/cdi/spec.hpp"
#include "drahil/core/status.hpp"

namespace drahil::cdi {

// The default spec dirs, lowest priority first.
inline const std::vector<std::string>& DefaultSpecDirs() {
  static const std::vector<std::string> kDirs = {"/etc/cdi", "/var/run/cdi"};
  return kDirs;
}

struct SpecError {
  std::string path;  // the file (or the device ID for a conflict)
  Status status;
  // The file is not a regular file (a FIFO, socket, device node or
  // directory named *.json/*.yaml): it was never opened for reading.
  bool special_file = false;
};

// One resolved device: where it came from.
struct ResolvedDevice {
  std::string id;  // fully qualified
  std::shared_ptr<const Spec> spec;
  const Device* device = nullptr;  // points into *spec
};

// Resolution: the merged result of injecting a list of devices.
struct Resolution {
  ContainerEdits edits;
  std::vector<ResolvedDevice> devices;  // in request order, duplicates removed
};

class Registry {
 public:
  Registry() = default;

  // Load(): scans dirs (missing dirs are skipped, as the runtime does). Fails
  // only when a dir exists but cannot be listed.
  static Result<Registry> Load(const std::vector<std::string>& dirs = DefaultSpecDirs());
  // FromSpecs(): a registry over specs already parsed (priority taken from
  // each spec's priority field).
  static Registry FromSpecs(std::vector<Spec> specs);

  [[nodiscard]] const std::vector<SpecError>& errors() const { return errors_; }
  // SpecialFiles(): the errors() with special_file set. A runtime scanning
  // the dir would block (a FIFO) or fail on them, so they break every pod.
  [[nodiscard]] std::vector<SpecError> SpecialFiles() const;
  [[nodiscard]] const std::vector<std::shared_ptr<const Spec>>& specs() const { return specs_; }
  // DeviceIds(): every resolvable fully-qualified ID, sorted.
  [[nodiscard]] std::vector<std::string> DeviceIds() const;

  // Find(): kInvalidArgument for a malformed ID, kNotFound when unknown,
  // kFailedPrecondition when the name is in conflict (naming both files).
  [[nodiscard]] Result<ResolvedDevice> Find(const std::string& id) const;

  // Resolve(): all IDs must resolve; the error lists every unresolvable ID.
  [[nodiscard]] Result<Resolution> Resolve(const std::vector<std::string>& ids) const;

 private:
  std::vector<std::shared_ptr<const Spec>> specs_;
  std::map<std::string, ResolvedDevice> devices_;
  std::map<std::string, std::string> conflicts_;  // id -> message
  std::vector<SpecError> errors_;
};

}  // namespace drahil::cdi

#endif  // DRAHIL_CDI_REGISTRY_HPP_INCLUDED
