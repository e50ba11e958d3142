// A one-node test bed for drahil-refdriver: an emulated node root, the
// embedded API server, the kubelet stand-in, and the driver as a real child
// process.
#ifndef DRAHIL_REFDRIVER_TESTS_HARNESS_HPP_INCLUDED
#define DRAHIL_REFDRIVER_TESTS_HARNESS_HPP_INCLUDED

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "drahil/apiserver/apiserver.hpp"
#include "drahil/core/child_process.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/kubelet/kubelet.hpp"

namespace drahil::refdriver::testing {

using Json = nlohmann::json;

struct BedOptions {
  std::string profile = "gpu-8x-mig-server";  // fakes/profiles/<profile>.yaml
  std::string node = "gpu-server-1";
  std::string driver = "gpu.drahil.dev";
  std::vector<std::string> args;                    // extra driver flags
  std::chrono::milliseconds slices_timeout{20000};  // for the first complete pool
};

class Bed {
 public:
  // Start(): node root, API server (with the Node object), kubelet stand-in,
  // driver; waits until the driver is registered and its slices exist.
  static Result<std::unique_ptr<Bed>> Start(const BedOptions& options);
  ~Bed();

  Status StartDriver();
  ExitInfo StopDriver(bool kill = false);
  // DriverRunning(): false once the driver process has exited.
  bool DriverRunning();
  Result<Json> WaitForSlices(std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // Devices(): every device of the driver's current slices.
  Result<std::vector<Json>> Devices();

  // AllocatedClaim(): creates a claim whose status.allocation names the
  // given devices (request "req" unless a result sets its own).
  Result<Json> AllocatedClaim(const std::string& name, const std::vector<Json>& results,
                              const Json& config = Json::array(), const Json& requests = Json());
  kubelet::ClaimRef Ref(const Json& claim) const;
  kubelet::CallResult Prepare(const std::vector<kubelet::ClaimRef>& refs);
  kubelet::CallResult Unprepare(const std::vector<kubelet::ClaimRef>& refs);
  // DeviceResult(): one device result for allocation.devices.results.
  Json DeviceResult(const std::string& device, const std::string& request = "req") const;

  Status Inject(const std::string& device, const std::string& fault);
  Status ClearFaults();
  std::string CdiDir() const { return dir_.Join("cdi"); }
  std::string Root() const { return dir_.Join("root"); }
  std::string DataDir() const { return dir_.Join("plugins/" + opts_.driver); }
  std::string DriverLog() const;
  std::vector<std::string> CdiFiles() const;

  apiserver::ApiServer& api() { return *api_; }
  kubelet::KubeletStandIn& kubelet() { return kubelet_; }
  const BedOptions& options() const { return opts_; }

 private:
  Bed(TempDir dir, BedOptions o) : dir_(std::move(dir)), opts_(std::move(o)) {}
  TempDir dir_;
  BedOptions opts_;
  std::unique_ptr<apiserver::ApiServer> api_;
  kubelet::KubeletStandIn kubelet_;
  std::optional<ChildProcess> driver_;
  std::string kubeconfig_;
  int claims_ = 0;
};

}  // namespace drahil::refdriver::testing

#endif
