// Fuzzes the kubelet stand-in's checks of a DRA reply (unknown UIDs,
// per-claim errors, missing entries; docs/kubelet.md). The first byte picks
// the service (v1 or v1beta1), the call (prepare or unprepare) and how many
// claims were asked for (uid-0 … uid-3); the rest is the reply's wire bytes.
// Invariants: nothing crashes or throws; there is one result per claim; an OK
// verdict means every claim is OK; a failed verdict names the call.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "dra_client.hpp"
#include "drahil/kubelet/types.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using drahil::kubelet::ClaimRef;
  const uint8_t head = data[0];
  const bool beta = (head & 1) != 0;
  const bool prepare = (head & 2) == 0;
  std::vector<ClaimRef> claims;
  for (int i = 0; i < ((head >> 2) & 3) + 1; ++i) {
    claims.push_back(ClaimRef{"ns", "uid-" + std::to_string(i), "claim-" + std::to_string(i)});
  }
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto r = drahil::kubelet::internal::CheckSerializedReply(
      beta ? drahil::kubelet::kDraV1beta1Service : drahil::kubelet::kDraV1Service, prepare, claims,
      bytes);
  if (r.claims.size() != claims.size()) std::abort();
  if (r.status.ok()) {
    for (const auto& c : r.claims)
      if (!c.status.ok()) std::abort();
  } else {
    const char* method = prepare ? "NodePrepareResources" : "NodeUnprepareResources";
    if (r.status.message().find(method) == std::string::npos) std::abort();
  }
  return 0;
}
