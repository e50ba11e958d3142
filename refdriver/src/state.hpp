// DriverState: prepare/unprepare with CDI specs and a checkpoint.
//
// Thread-safety: Prepare/Unprepare are serialized by an internal mutex, as
// the Go helper serializes calls by default.
#ifndef DRAHIL_REFDRIVER_STATE_HPP_INCLUDED
#define DRAHIL_REFDRIVER_STATE_HPP_INCLUDED

#include <mutex>

#include "drahil/kube/rest_client.hpp"
#include "driver.hpp"

namespace drahil::refdriver {

struct ClaimRef {
  std::string ns, uid, name;
};

struct PreparedDevice {
  std::vector<std::string> request_names;
  std::string pool, device;
  std::vector<std::string> cdi_ids;
  std::string share_id;
  bool admin_access = false;
};

struct ClaimResult {
  std::vector<PreparedDevice> devices;
  std::string error;  // per-claim error text
};

class DriverState {
 public:
  DriverState(const Options& opts, const Inventory& inv, kube::RestClient* api);
  // Start(): creates dirs, loads the checkpoint, writes the common CDI spec.
  Status Start();
  // Prepare(): whole-call errors are returned as Status (code kUnknown, as
  // the Go helper's errors reach the kubelet); per-claim errors in the map.
  Result<std::map<std::string, ClaimResult>> Prepare(const std::vector<ClaimRef>& claims);
  std::map<std::string, std::string> Unprepare(const std::vector<ClaimRef>& claims);
  // PreparedDeviceNames(): device name -> claim UIDs, for health and tests.
  std::map<std::string, std::vector<std::string>> PreparedDeviceNames();

 private:
  Result<ClaimResult> PrepareOne(const ClaimRef& ref, const Json& claim);
  // RemoveStaleTempFiles(): the temporary spec files a killed instance left.
  void RemoveStaleTempFiles();
  Status WriteCheckpoint();
  std::string SpecPath(const std::string& uid, DeviceType t) const;

  const Options& opts_;
  const Inventory& inv_;
  kube::RestClient* api_;
  std::mutex mu_;
  Json checkpoint_;  // {"preparedClaims": {uid: {...}}}
  uint64_t prepare_calls_ = 0;
};

}  // namespace drahil::refdriver

#endif
