#include "dra_client.hpp"

#include <grpcpp/impl/client_unary_call.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string_view>
#include <utility>

#include "drahil/proto/dra_v1.grpc.pb.h"
#include "drahil/proto/dra_v1beta1.grpc.pb.h"

namespace drahil::kubelet::internal {
namespace {

namespace dra1 = k8s::io::kubelet::pkg::apis::dra::v1;
namespace dra1b = k8s::io::kubelet::pkg::apis::dra::v1beta1;

// The reply's text in the call record: reports show 4 KiB of a call's
// detail, so the text stops a little past 8 KiB rather than formatting every
// claim of a large reply.
constexpr size_t kMaxResponseText = 8u << 10;
constexpr char kPrepare[] = "NodePrepareResources";
constexpr char kUnprepare[] = "NodeUnprepareResources";

// FormatSeconds(): 45000ms → "45s", 4870ms → "4.9s", 300ms → "0.3s".
std::string FormatSeconds(std::chrono::milliseconds d) {
  char buf[32];
  if (d.count() % 1000 == 0) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(d.count() / 1000));
  } else {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(d.count()) / 1000.0);
  }
  return buf;
}

std::string CutText(std::string s) {
  if (s.size() > kMaxResponseText) {
    s.resize(kMaxResponseText);
    s += "...(cut)";
  }
  return s;
}

// ResponseText(): the reply in protobuf text format (as ShortDebugString():
// map entries by key), built claim by claim and cut past kMaxResponseText.
template <typename Resp>
std::string ResponseText(const Resp& resp) {
  std::vector<const std::string*> keys;
  keys.reserve(resp.claims().size());
  for (const auto& kv : resp.claims()) keys.push_back(&kv.first);
  std::sort(keys.begin(), keys.end(), [](const auto* a, const auto* b) { return *a < *b; });
  std::string s;
  for (const auto* k : keys) {
    if (s.size() > kMaxResponseText) break;
    std::string v = resp.claims().at(*k).ShortDebugString();
    if (!s.empty()) s += ' ';
    s += "claims { key: \"" + *k + "\" value { " + v + (v.empty() ? "}" : " }") + " }";
  }
  return CutText(std::move(s));
}

Device FromProto(const dra1::Device& d) {
  Device out;
  out.request_names.assign(d.request_names().begin(), d.request_names().end());
  out.pool_name = d.pool_name();
  out.device_name = d.device_name();
  out.cdi_device_ids.assign(d.cdi_device_ids().begin(), d.cdi_device_ids().end());
  if (d.has_share_id()) out.share_id = d.share_id();
  return out;
}

Device FromProto(const dra1b::Device& d) {
  Device out;
  out.request_names.assign(d.request_names().begin(), d.request_names().end());
  out.pool_name = d.pool_name();
  out.device_name = d.device_name();
  out.cdi_device_ids.assign(d.cdi_device_ids().begin(), d.cdi_device_ids().end());
  return out;
}

// LeastUnknownUid(): the least UID in the reply's map that the request did
// not name (as a sorted walk finds it first), or null. found[i] is the map's
// entry for claims[i] (null when absent). This runs on every call: when the
// entries found are distinct and as many as the map holds, there is none;
// only otherwise are the UIDs sorted.
template <typename Map>
const std::string* LeastUnknownUid(const std::vector<ClaimRef>& claims, const Map& map,
                                   std::vector<const typename Map::value_type*> found) {
  found.erase(std::remove(found.begin(), found.end(), nullptr), found.end());
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  if (found.size() == map.size()) return nullptr;
  std::vector<std::string_view> requested;  // views: no copies
  requested.reserve(claims.size());
  for (const auto& c : claims) requested.emplace_back(c.uid);
  std::sort(requested.begin(), requested.end());
  const std::string* unknown = nullptr;
  for (const auto& [uid, entry] : map) {
    if (!std::binary_search(requested.begin(), requested.end(), std::string_view(uid)) &&
        (unknown == nullptr || uid < *unknown)) {
      unknown = &uid;
    }
  }
  return unknown;
}

// Applies the kubelet's checks to a reply (docs/reference/protocol.md 2.7 step 6 and 2.8) and
// fills per-claim results. Map is the reply's claims map (either version).
// The kubelet walks a Go map, so its order among several bad entries is
// random; we check all unknown UIDs first, then per-claim errors in request
// order, then missing entries, which is one of the orders it can produce.
template <typename Map, typename Fill>
Status CheckReply(const char* method, const std::vector<ClaimRef>& claims, const Map& map,
                  std::vector<ClaimResult>& results, Fill fill) {
  // One lookup per claim, used by both checks below.
  std::vector<const typename Map::value_type*> found;
  found.reserve(claims.size());
  for (const auto& c : claims) {
    auto it = map.find(c.uid);
    found.push_back(it == map.end() ? nullptr : &*it);
  }
  Status verdict;
  if (const std::string* unknown = LeastUnknownUid(claims, map, found)) {
    verdict = Status(Code::kInternal,
                     std::string(method) + " returned result for unknown claim UID " + *unknown);
  }
  int missing = 0;
  for (size_t i = 0; i < claims.size(); ++i) {
    const auto* it = found[i];
    if (it == nullptr) {
      ++missing;
      results[i].status =
          Status(Code::kInternal,
                 std::string(method) + " returned no result for ResourceClaim " + claims[i].name);
      continue;
    }
    if (!it->second.error().empty()) {
      results[i].status =
          Status(Code::kUnknown, std::string(method) + " failed for ResourceClaim " +
                                     claims[i].name + ": " + it->second.error());
      if (verdict.ok()) verdict = results[i].status;
      continue;
    }
    fill(it->second, results[i]);
  }
  if (verdict.ok() && missing > 0) {
    verdict = Status(Code::kInternal, std::string(method) + " skipped " + std::to_string(missing) +
                                          " ResourceClaims");
  }
  return verdict;
}

template <typename Req>
void FillRequest(const std::vector<ClaimRef>& claims, Req& req) {
  for (const auto& c : claims) {
    auto* pc = req.add_claims();
    pc->set_namespace_(c.namespace_name);
    pc->set_uid(c.uid);
    pc->set_name(c.name);
  }
}

}  // namespace

std::shared_ptr<grpc::Channel> MakeUnixChannel(const std::string& path, size_t max_receive_bytes) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(max_receive_bytes));
  // A private subchannel pool: a re-created plugin socket must not reuse a
  // connection another channel (an older registration) still holds.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // A socket file appears at bind(), a moment before the plugin listens: a
  // dial in between is refused, and gRPC's default first reconnect backoff
  // (1 s) would then sit on every registration. Reconnect within 20 ms, at
  // most every second after repeated failures; what the plugin sees is the
  // same (a connection, once it listens).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return grpc::CreateCustomChannel("unix:" + path, grpc::InsecureChannelCredentials(), args);
}

std::string GoStatusText(const grpc::Status& status) {
  static constexpr std::string_view kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  int code = static_cast<int>(status.error_code());
  std::string name =
      code >= 0 && code < 17 ? std::string(kNames[code]) : "Code(" + std::to_string(code) + ")";
  return "rpc error: code = " + name + " desc = " + status.error_message();
}

bool CallTracker::Add(grpc::ClientContext* ctx) {
  MutexLock lock(mu_);
  if (cancelled_) return false;
  calls_.insert(ctx);
  return true;
}

void CallTracker::Remove(grpc::ClientContext* ctx) {
  MutexLock lock(mu_);
  calls_.erase(ctx);
}

void CallTracker::CancelAll(const std::string& reason) {
  MutexLock lock(mu_);
  if (!cancelled_) reason_ = reason;
  cancelled_ = true;
  // TryCancel() does not block; holding the lock keeps ctx alive meanwhile.
  for (auto* ctx : calls_) ctx->TryCancel();
}

void CallTracker::Reset() {
  MutexLock lock(mu_);
  cancelled_ = false;
  reason_.clear();
}

std::string CallTracker::reason() const {
  MutexLock lock(mu_);
  return reason_;
}

DraClient::DraClient(std::string driver, std::string endpoint, std::string api,
                     size_t max_receive_bytes)
    : driver_(std::move(driver)),
      endpoint_(std::move(endpoint)),
      api_(std::move(api)),
      channel_(MakeUnixChannel(endpoint_, max_receive_bytes)) {
  // The methods' paths, registered with the channel once (as a generated
  // stub does), for calls that receive the reply as bytes.
  const std::string service = api_ == kDraV1beta1Service ? dra1b::DRAPlugin::service_full_name()
                                                         : dra1::DRAPlugin::service_full_name();
  prepare_path_ = "/" + service + "/" + kPrepare;
  unprepare_path_ = "/" + service + "/" + kUnprepare;
  prepare_method_ = std::make_unique<grpc::internal::RpcMethod>(
      prepare_path_.c_str(), grpc::internal::RpcMethod::NORMAL_RPC, channel_);
  unprepare_method_ = std::make_unique<grpc::internal::RpcMethod>(
      unprepare_path_.c_str(), grpc::internal::RpcMethod::NORMAL_RPC, channel_);
  channel_->GetState(/*try_to_connect=*/true);
}

bool DraClient::Connected() const {
  return channel_->GetState(/*try_to_connect=*/true) == GRPC_CHANNEL_READY;
}

namespace {

// One unary DRA call of either version: Call(stub, ctx, req, resp) issues it.
// ReplyBytes(): the reply's wire bytes in one string (gRPC may hand them over
// in several slices).
bool ReplyBytes(const grpc::ByteBuffer& buffer, std::string& out) {
  grpc::Slice single;
  if (buffer.TrySingleSlice(&single).ok()) {
    out.assign(reinterpret_cast<const char*>(single.begin()), single.size());
    return true;
  }
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  out.reserve(buffer.Length());
  for (const auto& sl : slices) out.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  return true;
}

// DoCall(): one NodePrepareResources/NodeUnprepareResources call. The request
// and the parsed reply live in one arena, freed at once; the reply is
// received as its wire bytes, kept for the report (CallRecord::response_bytes)
// and parsed here, so it is never serialised again.
template <typename Req, typename Resp, typename Fill>
CallResult DoCall(const char* method, const std::string& driver, const std::string& endpoint,
                  const std::string& api, const std::vector<ClaimRef>& claims,
                  std::chrono::milliseconds deadline, CallTracker* tracker,
                  grpc::ChannelInterface* channel, const grpc::internal::RpcMethod& rpc,
                  Fill fill) {
  CallResult result;
  CallRecord& rec = result.record;
  rec.method = method;
  rec.driver = driver;
  rec.endpoint = endpoint;
  rec.api = api;
  rec.deadline = deadline;
  auto uids = std::make_shared<std::vector<std::string>>();
  uids->reserve(claims.size());
  result.claims.reserve(claims.size());
  for (const auto& c : claims) {
    uids->push_back(c.uid);
    result.claims.push_back(ClaimResult{c, Status(), {}});
  }
  rec.claim_uids = std::move(uids);
  google::protobuf::ArenaOptions arena_options;
  arena_options.start_block_size = 4u << 10;
  arena_options.max_block_size = 64u << 10;
  google::protobuf::Arena arena(arena_options);
  Req* req = google::protobuf::Arena::CreateMessage<Req>(&arena);
  FillRequest(claims, *req);
  grpc::ByteBuffer reply;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  rec.started = std::chrono::system_clock::now();
  if (tracker != nullptr && !tracker->Add(&ctx)) {
    result.status = Status(Code::kCancelled, std::string(method) + ": cancelled (" +
                                                 tracker->reason() + "); no call made");
    rec.code = Code::kCancelled;
    rec.verdict = result.status;
    for (auto& c : result.claims) c.status = result.status;
    return result;
  }
  auto t0 = std::chrono::steady_clock::now();
  grpc::Status st =
      grpc::internal::BlockingUnaryCall<google::protobuf::MessageLite, grpc::ByteBuffer>(
          channel, rpc, &ctx, *req, &reply);
  if (tracker != nullptr) tracker->Remove(&ctx);
  rec.latency =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  Resp* resp = nullptr;
  [[maybe_unused]] std::unique_ptr<Resp> heap_resp;  // TSan builds only, below
  auto bytes = std::make_shared<std::string>();
  if (st.ok()) {
#if defined(__SANITIZE_THREAD__)
    // Under ThreadSanitizer protobuf's headers give MapFieldBase two more
    // members (map_field.h) than the uninstrumented system libprotobuf was
    // built with, and the arena's destructor of a map-holding reply then
    // runs library code on the wrong layout and crashes. TSan builds keep the
    // reply on the heap; everything else is the same.
    heap_resp = std::make_unique<Resp>();
    resp = heap_resp.get();
#else
    resp = google::protobuf::Arena::CreateMessage<Resp>(&arena);
#endif
    if (!ReplyBytes(reply, *bytes) || !resp->ParseFromString(*bytes)) {
      // What the kubelet's gRPC (grpc-go) reports for a reply it cannot
      // decode: the call fails with Internal.
      st = grpc::Status(grpc::StatusCode::INTERNAL,
                        "grpc: failed to unmarshal the received message: proto: cannot parse "
                        "invalid wire-format data");
      resp = nullptr;
    }
  }
  rec.code = static_cast<Code>(st.error_code());
  rec.grpc_message = st.error_message();
  if (!st.ok()) {
    // The body of a failed RPC is ignored (proto contract).
    std::string text = std::string(method) + ": " + GoStatusText(st);
    if (rec.code == Code::kDeadlineExceeded) {
      text += " (deadline exceeded after " + FormatSeconds(deadline) + ")";
    } else if (rec.code == Code::kCancelled && tracker != nullptr && !tracker->reason().empty()) {
      text += " (cancelled: " + tracker->reason() + ")";
    }
    result.status = Status(rec.code, std::move(text));
    for (auto& c : result.claims) c.status = result.status;
  } else {
    rec.response_bytes = std::move(bytes);
    result.status = CheckReply(method, claims, resp->claims(), result.claims, fill);
  }
  rec.verdict = result.status;
  return result;
}

template <typename Resp, typename Fill>
CallResult CheckBytes(const char* method, const std::vector<ClaimRef>& claims,
                      const std::string& bytes, Fill fill) {
  CallResult result;
  for (const auto& c : claims) result.claims.push_back(ClaimResult{c, OkStatus(), {}});
  Resp resp;
  if (!resp.ParseFromString(bytes)) {
    result.status = Status(Code::kInternal, std::string(method) + ": the reply does not parse");
    return result;
  }
  result.status = CheckReply(method, claims, resp.claims(), result.claims, fill);
  return result;
}

}  // namespace

CallResult CheckSerializedReply(const std::string& api, bool prepare,
                                const std::vector<ClaimRef>& claims, const std::string& bytes) {
  auto devices = [](const auto& r, ClaimResult& out) {
    for (const auto& d : r.devices()) out.devices.push_back(FromProto(d));
  };
  auto nothing = [](const auto&, ClaimResult&) {};
  bool beta = api == kDraV1beta1Service;
  if (prepare && beta)
    return CheckBytes<dra1b::NodePrepareResourcesResponse>(kPrepare, claims, bytes, devices);
  if (prepare)
    return CheckBytes<dra1::NodePrepareResourcesResponse>(kPrepare, claims, bytes, devices);
  if (beta)
    return CheckBytes<dra1b::NodeUnprepareResourcesResponse>(kUnprepare, claims, bytes, nothing);
  return CheckBytes<dra1::NodeUnprepareResourcesResponse>(kUnprepare, claims, bytes, nothing);
}

CallResult DraClient::Prepare(const std::vector<ClaimRef>& claims,
                              std::chrono::milliseconds deadline, CallTracker* tracker) const {
  auto devices = [](const auto& r, ClaimResult& out) {
    out.devices.reserve(static_cast<size_t>(r.devices().size()));
    for (const auto& d : r.devices()) out.devices.push_back(FromProto(d));
  };
  if (api_ == kDraV1beta1Service) {
    return DoCall<dra1b::NodePrepareResourcesRequest, dra1b::NodePrepareResourcesResponse>(
        kPrepare, driver_, endpoint_, api_, claims, deadline, tracker, channel_.get(),
        *prepare_method_, devices);
  }
  return DoCall<dra1::NodePrepareResourcesRequest, dra1::NodePrepareResourcesResponse>(
      kPrepare, driver_, endpoint_, api_, claims, deadline, tracker, channel_.get(),
      *prepare_method_, devices);
}

CallResult DraClient::Unprepare(const std::vector<ClaimRef>& claims,
                                std::chrono::milliseconds deadline, CallTracker* tracker) const {
  auto nothing = [](const auto&, ClaimResult&) {};
  if (api_ == kDraV1beta1Service) {
    return DoCall<dra1b::NodeUnprepareResourcesRequest, dra1b::NodeUnprepareResourcesResponse>(
        kUnprepare, driver_, endpoint_, api_, claims, deadline, tracker, channel_.get(),
        *unprepare_method_, nothing);
  }
  return DoCall<dra1::NodeUnprepareResourcesRequest, dra1::NodeUnprepareResourcesResponse>(
      kUnprepare, driver_, endpoint_, api_, claims, deadline, tracker, channel_.get(),
      *unprepare_method_, nothing);
}

}  // namespace drahil::kubelet::internal

namespace drahil::kubelet {

std::string CallRecord::ResponseText() const {
  if (!response_bytes || response_bytes->empty()) return "";
  bool beta = api == kDraV1beta1Service;
  bool prepare = method == internal::kPrepare;
  auto text = [&](auto resp) {
    if (!resp.ParseFromString(*response_bytes)) return std::string("(a reply that does not parse)");
    return internal::ResponseText(resp);
  };
  if (prepare && beta) return text(internal::dra1b::NodePrepareResourcesResponse());
  if (prepare) return text(internal::dra1::NodePrepareResourcesResponse());
  if (beta) return text(internal::dra1b::NodeUnprepareResourcesResponse());
  return text(internal::dra1::NodeUnprepareResourcesResponse());
}

}  // namespace drahil::kubelet
