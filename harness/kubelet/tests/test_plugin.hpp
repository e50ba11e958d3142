// TestPlugin: an in-tree DRA plugin for the kubelet stand-in's tests, served
// with real gRPC over real unix sockets. It implements registration, DRA v1
// and v1beta1 and health v1alpha1/v1, with scripted misbehaviour.
//
// Thread-safety: all methods may be called while gRPC threads serve calls.
#ifndef DRAHIL_KUBELET_TESTS_TEST_PLUGIN_HPP_INCLUDED
#define DRAHIL_KUBELET_TESTS_TEST_PLUGIN_HPP_INCLUDED

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil::kubelet::testing {

struct TestPluginConfig {
  std::string driver = "test.drahil.io";
  std::string type = "DRAPlugin";
  std::vector<std::string> versions = {"v1.DRAPlugin", "v1beta1.DRAPlugin"};
  // Advertise an empty endpoint and serve DRA on the registration socket.
  bool endpoint_empty = false;
  // Registration socket file name in the registry dir ("" = "<driver>-reg.sock").
  std::string reg_socket_name;
  // Which DRA services the DRA socket really serves.
  bool serve_v1 = true;
  bool serve_v1beta1 = true;
  bool serve_health_v1alpha1 = false;
  bool serve_health_v1 = false;
  // Answer every DRA call with these raw bytes (a malformed reply) instead.
  std::string raw_reply;
  bool use_raw_reply = false;
  // Answer NotifyRegistrationStatus(true) with an error.
  bool fail_notify = false;
};

struct Notification {
  bool registered = false;
  std::string error;
};

struct HealthReport {
  std::string pool;
  std::string device;
  int health = 1;  // 0 unknown, 1 healthy, 2 unhealthy
  int64_t timeout_seconds = 0;
  std::string message;
};

class TestPlugin {
 public:
  enum class Mode {
    kOk,            // one device per claim, CDI ID "drahil.io/test=<uid>"
    kClaimError,    // per-claim error for claims whose name starts with "bad"
    kMissingEntry,  // omit the last claim from the map
    kUnknownUid,    // add an entry for "stray-uid"
    kGrpcError,     // UNAVAILABLE "driver busy"
    kHang,          // block until the call is cancelled
    kHuge,          // a reply over 4 MiB (5 MiB of CDI IDs)
    kLarge,         // a reply just under 4 MiB (3 MiB of CDI IDs)
  };

  TestPlugin(std::string registry_dir, std::string plugins_dir, TestPluginConfig config);
  ~TestPlugin();
  TestPlugin(const TestPlugin&) = delete;
  TestPlugin& operator=(const TestPlugin&) = delete;

  // Start(): DRA socket first, then the registration socket (as the Go helper).
  Status Start();
  // Stop(): shuts both servers down and removes the socket files.
  void Stop();

  void SetMode(Mode m);
  // SetGetInfoHang(): GetInfo blocks until the caller gives up (a hung plugin
  // whose socket is still there).
  void SetGetInfoHang(bool hang);
  // PushHealth(): the next snapshot every open health stream sends.
  void PushHealth(std::vector<HealthReport> devices);
  // CloseHealthStreams(): every open stream ends with OK (EOF).
  void CloseHealthStreams();
  int OpenHealthStreams() const;

  std::vector<Notification> Notifications() const;
  // Calls seen: "v1/NodePrepareResources:<uid>,<uid>", "v1beta1/NodeUnprepareResources:...".
  std::vector<std::string> Calls() const;
  // WaitForNotification(): until at least count statuses arrived.
  bool WaitForNotification(std::chrono::milliseconds timeout, size_t count = 1) const;

  std::string reg_socket() const;
  std::string dra_socket() const;

  // Implementation detail, public only so the service classes in the .cpp can
  // reach it.
  struct State;

 private:
  std::unique_ptr<State> s_;
};

}  // namespace drahil::kubelet::testing

#endif  // DRAHIL_KUBELET_TESTS_TEST_PLUGIN_HPP_INCLUDED
