// PodResourcesServer: PodResources v1 (List, Get, GetAllocatableResources)
// on a unix socket, reporting the DRA resources of pods prepared through
// PreparePod() (docs/reference/protocol.md 6).
//
// Thread-safety: the snapshot callback is called from gRPC threads and must
// be thread-safe. Stop() is idempotent.
#ifndef DRAHIL_KUBELET_SRC_PODRESOURCES_SERVER_HPP_INCLUDED
#define DRAHIL_KUBELET_SRC_PODRESOURCES_SERVER_HPP_INCLUDED

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "drahil/core/status.hpp"
#include "drahil/kubelet/types.hpp"

namespace drahil::kubelet::internal {

struct PodResourcesView {
  std::vector<Pod> pods;
  std::map<std::string, ClaimInfo> claims;  // by UID
};

class PodResourcesServer {
 public:
  using SnapshotFn = std::function<PodResourcesView()>;
  // Start(): removes a stale socket file, listens, serves.
  static Result<std::unique_ptr<PodResourcesServer>> Start(const std::string& socket,
                                                           SnapshotFn snapshot);
  ~PodResourcesServer();
  void Stop();

 private:
  struct State;
  explicit PodResourcesServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace drahil::kubelet::internal

#endif  // DRAHIL_KUBELET_SRC_PODRESOURCES_SERVER_HPP_INCLUDED
