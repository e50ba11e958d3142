// ClaimCache: the kubelet's claim-info cache plus the pods given to
// PreparePod(), and their checkpoint file (docs/reference/protocol.md 2.7 step 7).
//
// The checkpoint is JSON {"data": {...}, "checksum": <FNV-1a of data>} written
// with AtomicWriteFile; a checksum mismatch is kDataLoss naming the file. It
// holds claims (ref, pod UIDs, devices per driver) and, beyond what the
// kubelet stores, the pods, so Restart() can replay their prepares.
//
// Thread-safety: none; the owner serializes access.
#ifndef DRAHIL_KUBELET_SRC_CLAIM_CACHE_HPP_INCLUDED
#define DRAHIL_KUBELET_SRC_CLAIM_CACHE_HPP_INCLUDED

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "drahil/core/status.hpp"
#include "drahil/kubelet/types.hpp"

namespace drahil::kubelet::internal {

class ClaimCache {
 public:
  explicit ClaimCache(std::string checkpoint_path) : path_(std::move(checkpoint_path)) {}

  // Load(): replaces the contents with the checkpoint; a missing file is an
  // empty cache. Loaded claims are not "prepared".
  Status Load();
  // Save(): writes the checkpoint (no-op without a path).
  Status Save() const;
  void Clear();

  ClaimInfo* Find(const std::string& uid);
  // FindByName(): the entry for namespace/name whatever its UID (the
  // kubelet's cache is keyed by namespace/name: claiminfo.go); nullptr if none.
  ClaimInfo* FindByName(const std::string& namespace_name, const std::string& name);
  ClaimInfo& GetOrAdd(const ClaimRef& ref);
  void Remove(const std::string& uid);
  // SetDevices(): devices one driver returned for a claim (replaces earlier ones).
  static void SetDevices(ClaimInfo& info, const std::string& driver, std::vector<Device> devices);
  static void AddPod(ClaimInfo& info, const std::string& pod_uid);
  static void RemovePod(ClaimInfo& info, const std::string& pod_uid);

  std::vector<ClaimInfo> Claims() const;
  const std::map<std::string, ClaimInfo>& claims_map() const { return claims_; }
  std::map<std::string, Pod>& pods() { return pods_; }
  const std::map<std::string, Pod>& pods() const { return pods_; }
  const std::string& path() const { return path_; }

  // Serialize()/Parse(): the checkpoint text; exposed for tests.
  std::string Serialize() const;
  Status Parse(const std::string& text);

 private:
  std::string path_;
  std::map<std::string, ClaimInfo> claims_;  // by UID
  std::map<std::string, Pod> pods_;          // by pod UID
};

// DeriveResourceStatus(): allocatedResourcesStatus for one container
// (docs/reference/protocol.md 1.4): name "claim:<podClaim>[/<request>]", one resource per
// matching device, resourceID = first CDI ID or "<driver>/<pool>/<device>".
// health(driver, pool, device) gives the device's effective state.
std::vector<ResourceStatus> DeriveResourceStatus(
    const Pod& pod, const Container& container, const std::map<std::string, ClaimInfo>& claims,
    const std::function<HealthState(const std::string&, const std::string&, const std::string&)>&
        health);

// DeviceMatches(): the kubelet's request matching (docs/reference/protocol.md 2.9).
bool DeviceMatches(const Device& d, const std::string& request);

}  // namespace drahil::kubelet::internal

#endif  // DRAHIL_KUBELET_SRC_CLAIM_CACHE_HPP_INCLUDED
