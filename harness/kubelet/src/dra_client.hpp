// DraClient: the kubelet's DRA gRPC client for one plugin instance. Speaks
// DRA v1 or v1beta1 (chosen at registration) and applies the kubelet's
// response checks (docs/reference/protocol.md 2.7, 2.8).
//
// Thread-safety: Prepare/Unprepare may run concurrently; the channel is
// gRPC-thread-safe and the object holds no mutable state.
#ifndef DRAHIL_KUBELET_SRC_DRA_CLIENT_HPP_INCLUDED
#define DRAHIL_KUBELET_SRC_DRA_CLIENT_HPP_INCLUDED

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "drahil/core/mutex.hpp"
#include "drahil/kubelet/types.hpp"

namespace drahil::kubelet::internal {

// MakeUnixChannel(): insecure channel to "unix:<path>" whose replies are
// capped at max_receive_bytes.
std::shared_ptr<grpc::Channel> MakeUnixChannel(const std::string& path, size_t max_receive_bytes);

// GoStatusText(): a gRPC status as Go's status.Error prints it:
// "rpc error: code = DeadlineExceeded desc = ...", so verdicts read like
// kubelet log lines.
std::string GoStatusText(const grpc::Status& status);

// CallTracker: the DRA calls in flight, so that CancelAll() can cut them
// short (grpc::ClientContext::TryCancel) from another thread. After
// CancelAll() no new call starts until Reset(). Thread-safe.
class CallTracker {
 public:
  // Add(): false once cancelled (ctx is then not tracked; make no call).
  bool Add(grpc::ClientContext* ctx) DRAHIL_EXCLUDES(mu_);
  void Remove(grpc::ClientContext* ctx) DRAHIL_EXCLUDES(mu_);
  void CancelAll(const std::string& reason) DRAHIL_EXCLUDES(mu_);
  void Reset() DRAHIL_EXCLUDES(mu_);
  [[nodiscard]] std::string reason() const DRAHIL_EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  bool cancelled_ DRAHIL_GUARDED_BY(mu_) = false;
  std::string reason_ DRAHIL_GUARDED_BY(mu_);
  std::set<grpc::ClientContext*> calls_ DRAHIL_GUARDED_BY(mu_);
};

// CheckSerializedReply(): the kubelet's checks of one reply given as the
// wire bytes of the service's response message (api: kDraV1Service or
// kDraV1beta1Service; prepare or unprepare): bytes that do not parse are a
// kInternal error naming the method; otherwise the verdict and per-claim
// results DraClient returns for such a reply. For the fuzz target and tests:
// a driver's reply is untrusted input.
CallResult CheckSerializedReply(const std::string& api, bool prepare,
                                const std::vector<ClaimRef>& claims, const std::string& bytes);

class DraClient {
 public:
  // api: kDraV1Service or kDraV1beta1Service. Connects at once (not lazily).
  DraClient(std::string driver, std::string endpoint, std::string api, size_t max_receive_bytes);

  // Prepare()/Unprepare(): tracker (may be null) sees the call while it runs;
  // a cancelled tracker fails the call with kCancelled before anything is sent.
  CallResult Prepare(const std::vector<ClaimRef>& claims, std::chrono::milliseconds deadline,
                     CallTracker* tracker = nullptr) const;
  CallResult Unprepare(const std::vector<ClaimRef>& claims, std::chrono::milliseconds deadline,
                       CallTracker* tracker = nullptr) const;
  // Connected(): channel is READY now.
  bool Connected() const;
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  const std::string& api() const { return api_; }

 private:
  std::string driver_;
  std::string endpoint_;
  std::string api_;
  std::shared_ptr<grpc::Channel> channel_;
  // "/<service>/NodePrepareResources" and "/<service>/NodeUnprepareResources"
  // for api_, and the methods registered with channel_ under them (the
  // RpcMethods point into the strings, which do not move).
  std::string prepare_path_;
  std::string unprepare_path_;
  std::unique_ptr<grpc::internal::RpcMethod> prepare_method_;
  std::unique_ptr<grpc::internal::RpcMethod> unprepare_method_;
};

}  // namespace drahil::kubelet::internal

#endif  // DRAHIL_KUBELET_SRC_DRA_CLIENT_HPP_INCLUDED
