#include "driver.hpp"

namespace drahil::refdriver {

// Each planted bug is a realistic defect seen in real DRA drivers. The
// catalog must catch every one of them (`drahil selfcheck`).
const std::vector<BugInfo>& AllBugs() {
  static const std::vector<BugInfo> kBugs = {
      {"non-idempotent-prepare",
       "a repeated NodePrepareResources returns new CDI device IDs each call"},
      {"cdi-leak", "NodeUnprepareResources leaves the claim's CDI spec file behind"},
      {"unprepare-unknown-fails",
       "NodeUnprepareResources fails for a claim the driver does not know"},
      {"no-uid-check", "prepare does not check that the claim's UID matches the request"},
      {"no-allocation-check", "prepare accepts a claim that has no allocation"},
      {"double-book", "a device already prepared for one claim is prepared for another"},
      {"env-all-gpus", "the CDI env exposes every GPU of the node (NVIDIA_VISIBLE_DEVICES)"},
      {"extra-device-node", "the CDI spec grants the device node of a GPU that was not allocated"},
      {"no-mps-limit", "no pinned-memory limit is set for a consumable-capacity share"},
      {"wrong-counters", "MIG partitions consume fewer counters than their memory slices"},
      {"health-silent", "the health stream goes silent after the first fault"},
      {"health-stuck", "an unhealthy device is never reported healthy again"},
      {"no-checkpoint", "no checkpoint is written, so a restarted driver forgets prepared claims"},
      {"no-cdi-recreate", "a repeated prepare after a reboot does not recreate the lost CDI spec"},
      {"v1beta1-only", "GetInfo advertises only v1beta1.DRAPlugin"},
      {"subrequest-names", "prepare returns request names with the subrequest (req/sub)"},
      {"slice-too-big", "slices ignore the 64-device limit for devices that consume counters"},
      {"register-before-socket", "the registration socket appears before the DRA socket answers"},
      {"crash-on-empty-prepare", "the driver crashes on an empty NodePrepareResources"},
      {"no-taint-on-fault", "an unhealthy device is not tainted in its ResourceSlice"},
      {"stale-generation", "republished slices keep the old pool generation"},
      {"no-share-id", "prepare does not return share_id for a consumable-capacity share"},
  };
  return kBugs;
}

}  // namespace drahil::refdriver
