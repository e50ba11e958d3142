#include "harness.hpp"

#include <signal.h>

#include <thread>

#include "drahil/core/file_util.hpp"
#include "drahil/testing/testing.hpp"

using namespace std::chrono_literals;

namespace drahil::refdriver::testing {

Result<std::unique_ptr<Bed>> Bed::Start(const BedOptions& o) {
  DRAHIL_ASSIGN_OR_RETURN(auto dir, TempDir::Create("drahil-refdriver-"));
  std::unique_ptr<Bed> bed(new Bed(std::move(dir), o));
  for (const char* d : {"registry", "plugins", "cdi", "kubelet"})
    DRAHIL_RETURN_IF_ERROR(MakeDirs(bed->dir_.Join(d)));
  auto made = RunCommand({drahil::testing::Bin("drahil-fakenode"), "create", "--profile",
                          drahil::testing::SourceDir() + "/fakes/profiles/" + o.profile + ".yaml",
                          "--root", bed->Root(), "--node-name", o.node},
                         60s);
  if (!made.ok()) return made.status().WithContext("drahil-fakenode create");
  if (!made->exit.success()) return InternalError("drahil-fakenode create: " + made->output);

  apiserver::ApiServer::Options ao;
  DRAHIL_ASSIGN_OR_RETURN(bed->api_, apiserver::ApiServer::Start(ao));
  DRAHIL_RETURN_IF_ERROR(
      bed->api_
          ->Create("nodes",
                   Json{{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", o.node}}}})
          .status());
  bed->kubeconfig_ = bed->dir_.Join("kubeconfig");
  DRAHIL_RETURN_IF_ERROR(
      bed->api_->WriteKubeconfig(bed->kubeconfig_, bed->api_->IssueNodeToken(o.node, o.driver)));

  kubelet::KubeletStandIn::Options ko;
  ko.state_dir = bed->dir_.Join("kubelet");
  ko.health_restart_interval = 500ms;
  ko.call_timeout = 20s;
  DRAHIL_RETURN_IF_ERROR(
      bed->kubelet_.Start(bed->dir_.Join("registry"), bed->dir_.Join("plugins"), ko));
  DRAHIL_RETURN_IF_ERROR(bed->StartDriver());
  return bed;
}

Bed::~Bed() {
  StopDriver();
  kubelet_.Stop();
  if (api_) api_->Stop();
}

Status Bed::StartDriver() {
  ChildProcess::Options co;
  co.argv = {drahil::testing::Bin("drahil-refdriver"),
             "--node-name",
             opts_.node,
             "--driver-name",
             opts_.driver,
             "--kubeconfig",
             kubeconfig_,
             "--kubelet-registrar-directory-path",
             dir_.Join("registry"),
             "--kubelet-plugins-directory-path",
             dir_.Join("plugins"),
             "--cdi-root",
             CdiDir(),
             "--nvml-library",
             drahil::testing::LibDir() + "/fake-nvml/libnvidia-ml.so.1",
             "--health-interval",
             "300"};
  co.argv.insert(co.argv.end(), opts_.args.begin(), opts_.args.end());
  co.env["DRAHIL_FAKE_ROOT"] = Root();
  co.stdout_mode = ChildProcess::Stdio::kFile;
  co.stderr_mode = ChildProcess::Stdio::kFile;
  co.stdout_path = co.stderr_path = dir_.Join("driver.log");
  co.append = true;
  int registrations = kubelet_.RegistrationCount(opts_.driver);
  DRAHIL_ASSIGN_OR_RETURN(auto child, ChildProcess::Spawn(co));
  driver_.emplace(std::move(child));
  // A restarted driver re-creates its sockets: wait for the new registration.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (kubelet_.RegistrationCount(opts_.driver) <= registrations) {
    if (std::chrono::steady_clock::now() > deadline)
      return DeadlineExceededError("driver did not register; driver log:\n" + DriverLog());
    std::this_thread::sleep_for(20ms);
  }
  return WaitForSlices().status();
}

ExitInfo Bed::StopDriver(bool kill) {
  if (!driver_) return {};
  ExitInfo e = kill ? driver_->Kill() : driver_->Terminate(5s);
  driver_.reset();
  return e;
}

bool Bed::DriverRunning() { return driver_ && driver_->Running(); }

std::string Bed::DriverLog() const {
  auto t = ReadFile(dir_.Join("driver.log"));
  return t.ok() ? *t : "(no driver log)";
}

Result<Json> Bed::WaitForSlices(std::chrono::milliseconds timeout) {
  if (timeout.count() == 0) timeout = opts_.slices_timeout;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto list = api_->List("resourceslices", "", "", "spec.driver=" + opts_.driver);
    if (list.ok() && !list->empty()) {
      int64_t want = (*list)[0]["spec"]["pool"].value("resourceSliceCount", int64_t{0});
      if (static_cast<int64_t>(list->size()) == want) return Json(*list);
    }
    if (std::chrono::steady_clock::now() > deadline)
      return DeadlineExceededError(
          "no complete ResourceSlice pool of " + opts_.driver +
          " (list: " + (list.ok() ? Json(*list).dump().substr(0, 2000) : list.status().ToString()) +
          "); driver log:\n" + DriverLog());
    std::this_thread::sleep_for(50ms);
  }
}

Result<std::vector<Json>> Bed::Devices() {
  DRAHIL_ASSIGN_OR_RETURN(Json slices, WaitForSlices());
  std::vector<Json> out;
  for (const auto& s : slices)
    for (const auto& d : s["spec"].value("devices", Json::array())) out.push_back(d);
  return out;
}

Json Bed::DeviceResult(const std::string& device, const std::string& request) const {
  return Json{
      {"request", request}, {"driver", opts_.driver}, {"pool", opts_.node}, {"device", device}};
}

Result<Json> Bed::AllocatedClaim(const std::string& name, const std::vector<Json>& results,
                                 const Json& config, const Json& requests) {
  Json claim{
      {"apiVersion", "resource.k8s.io/v1"},
      {"kind", "ResourceClaim"},
      {"metadata", {{"name", name}, {"namespace", "default"}}},
      {"spec",
       {{"devices",
         {{"requests",
           Json::array({Json{{"name", "req"}, {"exactly", {{"deviceClassName", "gpu"}}}}})}}}}}};
  if (!requests.is_null()) claim["spec"]["devices"]["requests"] = requests;
  DRAHIL_ASSIGN_OR_RETURN(auto created, api_->Create("resourceclaims", claim));
  if (results.empty()) return created;
  // Node-local devices: the scheduler's allocation selects this node by
  // name, which is also what lets the driver's node identity write the
  // claim's status.devices (the API server's granular status authorization).
  created["status"]["allocation"] = {
      {"devices", {{"results", results}, {"config", config}}},
      {"nodeSelector",
       {{"nodeSelectorTerms",
         Json::array(
             {{{"matchFields", Json::array({{{"key", "metadata.name"},
                                             {"operator", "In"},
                                             {"values", Json::array({opts_.node})}}})}}})}}}};
  return api_->UpdateStatus("resourceclaims", created);
}

kubelet::ClaimRef Bed::Ref(const Json& claim) const {
  return {claim["metadata"].value("namespace", ""), claim["metadata"].value("uid", ""),
          claim["metadata"].value("name", "")};
}

kubelet::CallResult Bed::Prepare(const std::vector<kubelet::ClaimRef>& refs) {
  return kubelet_.Prepare(opts_.driver, refs);
}
kubelet::CallResult Bed::Unprepare(const std::vector<kubelet::ClaimRef>& refs) {
  return kubelet_.Unprepare(opts_.driver, refs);
}

Status Bed::Inject(const std::string& device, const std::string& fault) {
  auto r = RunCommand({drahil::testing::Bin("drahil-fakenode"), "inject", "--root", Root(),
                       "--device", device, "--fault", fault},
                      30s);
  if (!r.ok()) return r.status();
  if (!r->exit.success()) return InternalError("inject: " + r->output);
  return OkStatus();
}

Status Bed::ClearFaults() {
  auto r = RunCommand({drahil::testing::Bin("drahil-fakenode"), "clear", "--root", Root()}, 30s);
  if (!r.ok()) return r.status();
  if (!r->exit.success()) return InternalError("clear: " + r->output);
  return OkStatus();
}

std::vector<std::string> Bed::CdiFiles() const {
  auto names = ListDir(CdiDir());
  return names.ok() ? *names : std::vector<std::string>{};
}

}  // namespace drahil::refdriver::testing
