// Internal: the node environment of one case and the helpers every step
// and expectation of harness/node shares. Not a public header.
#ifndef DRAHIL_NODE_SRC_NODE_ENV_HPP_INCLUDED
#define DRAHIL_NODE_SRC_NODE_ENV_HPP_INCLUDED

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "drahil/allocator/allocator.hpp"
#include "drahil/apiserver/apiserver.hpp"
#include "drahil/core/clock.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/mutex.hpp"
#include "drahil/core/poll.hpp"
#include "drahil/kubelet/kubelet.hpp"
#include "drahil/runner/binding.hpp"
#include "drahil/runner/driver_process.hpp"
#include "drahil/runner/engine.hpp"
#include "drahil/runner/integration.hpp"

namespace drahil::node {

// The node side speaks the runner's vocabulary (cases, steps, outcomes).
using namespace drahil::runner;  // NOLINT(google-build-using-namespace): internal header
using Json = nlohmann::json;
using std::chrono::milliseconds;

// NodeEnv: what set-up started for one case (ctx.Node()).
struct NodeEnv {
  std::unique_ptr<apiserver::ApiServer> api;
  std::unique_ptr<kubelet::KubeletStandIn> kubelet;
  std::string driver;
  std::string node;
  std::string fake_root;
  // mu guards what the steps of a case record for its expectations (and a
  // shared node's next case clears); steps may run on several threads
  // (concurrent pods, the fault timer).
  Mutex mu;
  std::vector<apiserver::FaultHandle> api_faults DRAHIL_GUARDED_BY(mu);
  std::optional<kubelet::CallResult> last_call DRAHIL_GUARDED_BY(mu);
  std::map<std::string, std::vector<std::string>> cdi_ids
      DRAHIL_GUARDED_BY(mu);  // claim ns/name → IDs from the last prepare
  std::map<std::string, std::set<std::string>> cdi_covered
      DRAHIL_GUARDED_BY(mu);        // claim ns/name → devices that got a CDI ID
  std::string podresources_socket;  // the kubelet stand-in's PodResources socket ("" = not served)
  std::map<std::string, std::string> pod_uids
      DRAHIL_GUARDED_BY(mu);  // ns/name → uid of pods run so far
  // ns/pod → the probe reports of its containers (verdict and checks), from
  // the last run-pod of that pod.
  std::map<std::string, std::vector<std::pair<std::string, Json>>> probe_reports
      DRAHIL_GUARDED_BY(mu);
  // The driver's open fds and RSS once its slices were published (stress cases
  // compare against it).
  struct Usage {
    int fds = -1;
    int64_t rss_kib = -1;
  };
  std::optional<Usage> baseline;
  // The driver's highest pool generation when an `expect: pool-generation:
  // {record: true}` ran (a later one checks it grew).
  std::optional<int64_t> recorded_generation DRAHIL_GUARDED_BY(mu);
  // api-fault rules with `for:`: removed by fault_timer when their time is up.
  std::vector<std::pair<Clock::TimePoint, apiserver::FaultHandle>> timed_faults
      DRAHIL_GUARDED_BY(mu);
  // Shared environments (attach mode, `environment: shared` suites): the
  // objects the current case created, deleted again when it ends.
  bool shared = false;
  // Kubelet calls per method made before this case (expect: calls counts the rest).
  std::map<std::string, uint64_t> calls_before;
  std::vector<std::tuple<std::string, std::string, std::string>> created
      DRAHIL_GUARDED_BY(mu);  // (resource, ns, name)
  void Created(const std::string& resource, const Json& obj) DRAHIL_EXCLUDES(mu) {
    if (!shared) return;
    MutexLock l(mu);
    const Json& md = obj.value("metadata", Json::object());
    created.emplace_back(resource, md.value("namespace", ""), md.value("name", ""));
  }
  // One allocation at a time (concurrent pods): held around each
  // read-modify-write of a claim's status, which lives in the API server, so
  // it guards no member.
  Mutex alloc_mu;
  // The allocator's pool order (allocator::Options::order_seed; unset =
  // fixed), from `drahil run --seed`.
  std::optional<uint64_t> order_seed;
  // The run's Kubernetes version and feature gates (IntegrationOptions::gates):
  // what the allocator and kubelet stand-in do, and what the API server keeps.
  FeatureGates gates = FeatureGates::Newest();
  // Started (once) by an api-fault with `for:`. Last member: stopped and
  // joined before the handles go.
  std::jthread fault_timer DRAHIL_GUARDED_BY(mu);
};

// CancellablePoll(): PollUntil() options that wait `interval` between checks
// and give up at once (kCancelled) when the case is cancelled. The waits run
// on real time, as the case's deadlines do.
inline PollOptions CancellablePoll(const CaseContext& ctx, Clock::Duration interval) {
  PollOptions o;
  o.interval = interval;
  o.wait_until = [&ctx](Clock::TimePoint t) {
    (void)ctx.cancel.WaitUntil(t);
    return !ctx.cancel.cancelled();
  };
  return o;
}

// DriverUsage(): open file descriptors and resident memory of a process.

// DriverUsage(): open file descriptors and resident memory of a process.
std::optional<NodeEnv::Usage> DriverUsage(pid_t pid);
// Env(): the case's node environment (null before set-up).
std::shared_ptr<NodeEnv> Env(const CaseContext& ctx);
double Ms(Clock::Duration d);
// Plurals(): manifest kind → REST resource.
const std::map<std::string, std::string>& Plurals();
// SplitRef(): "ns/name" → (ns, name); "name" → ("default", name).
std::pair<std::string, std::string> SplitRef(const std::string& ref);
// NodeInfoOf(): the case's Node object (name and labels) as the allocator
// matches node selectors against it.
allocator::NodeInfo NodeInfoOf(NodeEnv& env);
// DriverSlices(): the ResourceSlices of one driver.
std::vector<Json> DriverSlices(NodeEnv& env, const std::string& driver);
// PoolsComplete(): every pool has as many slices as its resourceSliceCount
// says, at its highest generation (what the scheduler waits for).
bool PoolsComplete(const std::vector<Json>& slices);
// PodClaims(): the pod's claims as (pod claim name, ResourceClaim name),
// creating template claims as the resourceclaim controller does.
Result<std::vector<std::pair<std::string, std::string>>> PodClaims(CaseContext& ctx, NodeEnv& env,
                                                                   const std::string& ns,
                                                                   const std::string& pod_name);
// StepCallOptions(): the options of a driver call a step makes: its deadline is
// min(the built-in call timeout, the step's and the case's time left).
kubelet::KubeletStandIn::CallOptions StepCallOptions(const CaseContext& ctx);
// CompareCount(): ">=2", "==1", "3" against have; why says what differed.
bool CompareCount(const std::string& spec, int have, std::string& why);
// CheckProbeValue(): one `values` entry against a probe report.
StepOutcome CheckProbeValue(const Json& check, const Json& report);

#define NEED_ENV       \
  auto env = Env(ctx); \
  if (!env || !env->api) return StepOutcome::Error("no node environment for this case", "NoNode")

}  // namespace drahil::node

#endif  // DRAHIL_NODE_SRC_NODE_ENV_HPP_INCLUDED
