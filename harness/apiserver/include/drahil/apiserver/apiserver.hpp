// File: apiserver.hpp
//
// ApiServer: an embedded Kubernetes API server for node-mode tests. It speaks
// the REST dialect client-go, kubectl and the Python client use (JSON over
// HTTP/1.1 on loopback, bearer tokens) for resource.k8s.io/v1 (ResourceSlice,
// DeviceClass, DeviceTaintRule, ResourceClaim(+/status), ResourceClaimTemplate),
// core/v1 Namespace, Node(+/status), Pod(+/status), Event, ConfigMap, Secret,
// coordination.k8s.io/v1 Lease, events.k8s.io/v1 Event,
// apiextensions.k8s.io/v1 CustomResourceDefinition and the resources of the
// CRDs created in it.
//
//   drahil::apiserver::ApiServer::Options opts;          // 127.0.0.1:0, in memory
//   DRAHIL_ASSIGN_OR_RETURN(auto server, ApiServer::Start(opts));
//   std::string token = server->IssueNodeToken("node-1", "gpu.example.com");
//   DRAHIL_RETURN_IF_ERROR(server->WriteKubeconfig(dir + "/kubeconfig", token));
//   ... launch the driver with KUBECONFIG ...
//   auto slices = server->List("resourceslices");      // direct store access
//   for (const auto& e : server->AuditLog()) ...       // what the driver did
//
// Semantics follow kube-apiserver: one global resourceVersion, uid,
// generateName, generation, optimistic concurrency (409), status subresources,
// finalizers, watches resumable from a resourceVersion (410 when too old),
// bookmarks and the watch-list protocol. See docs/apiserver.md for the
// deliberate differences.
//
// Thread-safety: all methods may be called from any thread while the server
// runs. Objects are nlohmann::json values (lossless: unknown fields kept).
#ifndef DRAHIL_APISERVER_APISERVER_HPP_INCLUDED
#define DRAHIL_APISERVER_APISERVER_HPP_INCLUDED

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "drahil/core/clock.hpp"
#include "drahil/core/feature_gates.hpp"
#include "drahil/core/status.hpp"

namespace drahil::apiserver {

// AuditEntry: one HTTP request as the server answered it.
struct AuditEntry {
  std::chrono::system_clock::time_point time;  // when the request arrived
  std::string user;      // "drahil-admin", "system:node:<node>", "system:anonymous"
  std::string verb;      // get list watch create update patch delete deletecollection;
                         // for non-resource paths the lower-case HTTP method
  std::string method;    // GET, POST, ...
  std::string path;      // URL path, no query
  std::string query;     // raw query string, "" if none
  std::string resource;  // "resourceslices", "resourceclaims/status"; "" if none
  std::string ns;        // namespace, "" if cluster-scoped or none
  std::string name;      // object name, "" for collections
  int code = 0;          // HTTP status sent (200 for a watch that started)
  std::chrono::microseconds latency{0};  // until the response (watch: its start) was ready
  std::string user_agent;
  std::string message;  // an error answer's Status message ("" for 2xx)
};

// DroppedField: a field the server removed from a written object because its
// feature gate is off (kube-apiserver's registry strategies,
// dropDisabledFields), so a vendor learns which gate cost them the field.
struct DroppedField {
  std::chrono::system_clock::time_point time;
  std::string resource;  // "resourceslices"
  std::string ns;        // "" for cluster-scoped objects
  std::string name;
  std::string field;  // "spec.devices[2].taints"
  std::string gate;   // "DRADeviceTaints"
  std::string user;   // as in the audit log; "in-process" for the C++ API
};

// FaultRule: makes matching requests fail or slow down (runner fault
// injection). A request matches when verb (if set) equals its verb and
// path_regex (if set) matches somewhere in its URL path (std::regex, ECMAScript).
struct FaultRule {
  std::string verb;
  std::string path_regex;
  int code = 500;  // HTTP status to answer with; 0 = do not fail, only delay;
                   // < 0 = close the connection without answering (a cut link)
  std::string message = "injected fault";
  int times = 1;                         // how many matching requests; < 0 = until removed
  std::chrono::milliseconds latency{0};  // added before answering (or failing)
};

// PolicyRule: one rule of a ClusterRole (rbac.authorization.k8s.io/v1
// PolicyRule), matched as upstream RBAC matches it: a request is allowed when
// some rule lists its verb, API group and resource (or "*"), and, when the
// rule has resource_names, the request names one of them (create and an
// unnamed list/watch never match such a rule; a list/watch with
// fieldSelector metadata.name=X counts as naming X). A subresource is
// "resource/sub" ("nodes/status"; "*/status" matches any resource's).
struct PolicyRule {
  std::vector<std::string> api_groups;  // "" = core
  std::vector<std::string> resources;   // plural, "plural/sub", "*"
  std::vector<std::string>
      verbs;  // get list watch create update patch delete deletecollection, "*"
  std::vector<std::string> resource_names;  // empty = any name
};

// AccessPolicy: what a driver's credentials may do: the rules of the
// ClusterRole (and Roles, flattened) a vendor's Helm chart binds to its
// service account. Denials are 403 Forbidden with kube-apiserver's message.
struct AccessPolicy {
  // The user the token authenticates as ("system:serviceaccount:NS:SA");
  // "" = "system:node:<node>".
  std::string user;
  std::vector<PolicyRule> rules;
};

class ApiServer;

// FaultHandle: removes its rule when destroyed (or earlier by Remove()).
// Release() keeps the rule for the server's life. Move-only. A handle that is
// not released must not outlive its ApiServer.
class [[nodiscard]] FaultHandle {
 public:
  FaultHandle() = default;
  FaultHandle(FaultHandle&& o) noexcept;
  FaultHandle& operator=(FaultHandle&& o) noexcept;
  FaultHandle(const FaultHandle&) = delete;
  FaultHandle& operator=(const FaultHandle&) = delete;
  ~FaultHandle();
  void Remove();
  void Release() { server_ = nullptr; }
  // Hits(): how many requests the rule has affected so far.
  [[nodiscard]] int Hits() const;

 private:
  friend class ApiServer;
  FaultHandle(ApiServer* server, uint64_t id) : server_(server), id_(id) {}
  ApiServer* server_ = nullptr;
  uint64_t id_ = 0;
};

class ApiServer {
 public:
  struct Options {
    // "host:port" to listen on; port 0 picks a free one. Loopback by default.
    std::string listen = "127.0.0.1:0";
    // When set, the store is loaded from this file at start (if it exists) and
    // written back atomically shortly after every change and at Stop().
    std::string data_file;
    // Also serve HTTPS on the same port (each connection is sniffed), with a
    // CA and serving certificate made at start. url() and kubeconfigs then
    // use https: client-go (kubectl, Go drivers) sends bearer tokens only
    // over TLS. Plain HTTP keeps working for tests and the Python client.
    bool tls = true;
    // Bearer token with full rights; random when empty.
    std::string admin_token;
    // Let requests without a token in as system:anonymous with full rights.
    bool allow_anonymous = false;
    // Largest request body; bigger ones get 413 (kube-apiserver: 3 MiB).
    size_t max_body_bytes = 3u << 20;
    // A request's header and body must arrive within this time, and an idle
    // keep-alive connection is closed after it (slowloris protection).
    std::chrono::milliseconds read_timeout{30000};
    // How often watchers that allowed bookmarks get a BOOKMARK.
    std::chrono::milliseconds bookmark_interval{10000};
    // Watch length when the client gives no timeoutSeconds.
    std::chrono::seconds default_watch_timeout{1800};
    // Watch events kept for resuming; older resourceVersions get 410.
    size_t watch_history = 10000;
    // A watcher this many events behind (a client that stopped reading) is
    // cut off, bounding memory per slow client, as Kubernetes' watch cache does.
    size_t max_watch_queue = 10000;
    // ... or with this many bytes of event data queued and not yet written to
    // its socket. 16 MiB: ten objects at etcd's 1.5 MiB request limit fit, so
    // a reading client is not cut by a burst of large objects, and each
    // stalled client costs at most this much.
    size_t max_watch_queue_bytes = 16u << 20;
    // A watch connection whose socket write makes no progress for this long
    // (the client stopped reading and the TCP buffers are full) is closed.
    std::chrono::milliseconds watch_write_timeout{10000};
    // Connections open at once, idle ones included. The server shares its
    // process's open-file limit with the rest of drahil (the kubelet
    // stand-in's sockets, reports, the emulated node): a client that opens
    // more is closed at accept, so a driver flooding the server with
    // connections cannot starve drahil of file descriptors. 0 = half the
    // process's soft RLIMIT_NOFILE when the server starts, at most 4096.
    // (kube-apiserver has no such cap: it runs alone, with a large limit.)
    int max_connections = 0;
    // Audit entries kept (oldest dropped first).
    size_t audit_capacity = 100000;
    // The Kubernetes version and feature gates the server behaves as: which
    // fields it drops (the registry strategies), which version's validation
    // rules apply, whether DeviceTaintRule is served. See docs/apiserver.md.
    FeatureGates gates = FeatureGates::Newest();
    // /version's gitVersion; empty: gates.version().GitVersion() + "-drahil"
    // ("v1.36.0-drahil"). kubectl only prints it.
    std::string git_version;
    // DroppedFields() entries kept (oldest dropped first).
    size_t dropped_capacity = 10000;
    // The driver's rights: when set, tokens from IssueNodeToken get these
    // rules (RBAC semantics) instead of the default node rule set; the node
    // restriction on ResourceSlices (spec.nodeName, spec.driver) still holds.
    std::optional<AccessPolicy> driver_policy;
    // Namespaces created at start when missing.
    std::vector<std::string> default_namespaces = {"default", "kube-system"};
    // Source of creationTimestamp, deletionTimestamp, taint timeAdded and the
    // audit log's times and latencies. Connection, watch and bookmark timers
    // run on real time. Must outlive the server.
    Clock* clock = &Clock::Real();
  };

  // Start(): binds, loads data_file and serves on a background thread.
  static Result<std::unique_ptr<ApiServer>> Start(Options options);
  ~ApiServer();  // Stop()
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Stop(): closes the listener and every connection, ends watches, writes
  // data_file. Idempotent.
  void Stop();

  [[nodiscard]] std::string host() const;
  [[nodiscard]] uint16_t port() const;
  // url(): "https://127.0.0.1:<port>" (tls) or "http://127.0.0.1:<port>".
  [[nodiscard]] std::string url() const;
  // http_url(): always the plain-HTTP address.
  [[nodiscard]] std::string http_url() const;
  // ca_pem(): the CA certificate (PEM) that signed the serving certificate;
  // "" without tls.
  [[nodiscard]] const std::string& ca_pem() const;
  [[nodiscard]] const std::string& admin_token() const;
  // gates(): the version and feature gates in force (Options::gates).
  [[nodiscard]] const FeatureGates& gates() const;

  // --- Identity -----------------------------------------------------------
  // IssueNodeToken(): a bearer token for user "system:node:<node>". Such a
  // user may read everything, but may write only ResourceSlices whose
  // spec.nodeName is node (and spec.driver is driver, when driver is set),
  // ResourceClaim status (its driver's status.devices entries on claims
  // allocated to its node; never status.allocation or status.reservedFor:
  // 422, as Kubernetes 1.36's resourceclaims/binding and /driver checks),
  // Events (core and events.k8s.io) and its own Node (labels and status, as
  // NodeRestriction allows). With
  // Options::driver_policy the policy's user and rules apply instead, plus
  // the ResourceSlice restriction. Calling again returns a new token.
  std::string IssueNodeToken(const std::string& node, const std::string& driver = "");
  // WriteKubeconfig(): a kubeconfig (context "drahil", namespace default) with
  // server url(), certificate-authority-data (tls) and the token
  // (admin_token() when empty); mode 0600.
  Status WriteKubeconfig(const std::string& path, const std::string& token = "") const;

  // --- Direct store access (no HTTP, no admission, no node restriction) ----
  // resource: plural ("resourceslices"), "plural.group" or Kind. ns is ignored
  // for cluster-scoped resources. Errors: kNotFound, kAlreadyExists, kAborted
  // (resourceVersion conflict), kInvalidArgument. A resource the gates do not
  // serve (DeviceTaintRule without its gate) is kNotFound naming the gate.
  // Writes pass the same feature-gate field dropping (DroppedFields()) and
  // the version's validation as REST writes.
  Result<nlohmann::json> Get(const std::string& resource, const std::string& ns,
                             const std::string& name) const;
  // List(): objects sorted by namespace/name. Selectors as in the REST API.
  Result<std::vector<nlohmann::json>> List(const std::string& resource, const std::string& ns = "",
                                           const std::string& label_selector = "",
                                           const std::string& field_selector = "") const;
  // Create(): fills apiVersion/kind when missing, then server metadata.
  // Status is kept as given (unlike the REST endpoint).
  Result<nlohmann::json> Create(const std::string& resource, nlohmann::json obj);
  // Update(): replaces the whole object, status included. A non-empty
  // metadata.resourceVersion must be current.
  Result<nlohmann::json> Update(const std::string& resource, nlohmann::json obj);
  // UpdateStatus(): replaces only .status (e.g. the scheduler stand-in writing
  // status.allocation).
  Result<nlohmann::json> UpdateStatus(const std::string& resource, nlohmann::json obj);
  // Delete(): as the REST delete without preconditions (finalizers honoured).
  Status Delete(const std::string& resource, const std::string& ns, const std::string& name);
  // ResourceVersion(): the current global resourceVersion.
  [[nodiscard]] uint64_t ResourceVersion() const;

  // --- Observation and fault injection --------------------------------------
  [[nodiscard]] std::vector<AuditEntry> AuditLog() const;
  void ClearAuditLog();
  // DroppedFields(): the fields removed from accepted writes because their
  // gate is off, oldest first (at most dropped_capacity).
  [[nodiscard]] std::vector<DroppedField> DroppedFields() const;
  FaultHandle InjectFault(FaultRule rule);
  // DropWatches(): cuts every open watch connection; returns how many.
  int DropWatches();
  [[nodiscard]] int OpenWatches() const;
  // Flush(): writes data_file now (no-op without one).
  Status Flush();

  class Impl;

 private:
  friend class FaultHandle;
  explicit ApiServer(std::unique_ptr<Impl> impl);
  void RemoveFault(uint64_t id);
  int FaultHits(uint64_t id) const;
  std::unique_ptr<Impl> impl_;
};

}  // namespace drahil::apiserver

#endif  // DRAHIL_APISERVER_APISERVER_HPP_INCLUDED
