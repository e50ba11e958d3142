// The public ApiServer: a Boost.Beast HTTP/1.1 server on one I/O thread in
// front of Handler and Store. This file holds its life cycle (listen, the
// I/O and persistence threads, stop), the audit log, fault injection and the
// in-process object API; the connections are in session.cpp.
#include "drahil/apiserver/apiserver.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <random>

#include "admission.hpp"
#include "apiserver_impl.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/formats/json_fields.hpp"
#include "strategy.hpp"
#include "tls.hpp"
#include "validation.hpp"

namespace drahil::apiserver {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using internal::Handler;
using internal::ResourceInfo;
using internal::Store;
using nlohmann::json;

namespace {

std::string RandomToken() {
  static const char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::string t = "drahil-admin-";
  for (int i = 0; i < 40; ++i) t.push_back(kHex[rd() % 16]);
  return t;
}

}  // namespace

// ---------------------------------------------------------------------------
// Impl methods

Status ApiServer::Impl::Listen() {
  std::string listen = options.listen;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos)
    return InvalidArgumentError("listen: want host:port, got " + listen);
  std::string h = listen.substr(0, colon);
  if (!h.empty() && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty() || h == "localhost") h = "127.0.0.1";
  int p = 0;
  try {
    p = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    return InvalidArgumentError("listen: bad port in " + listen);
  }
  if (p < 0 || p > 65535) return InvalidArgumentError("listen: bad port in " + listen);
  beast::error_code ec;
  auto addr = asio::ip::make_address(h, ec);
  if (ec) return InvalidArgumentError("listen: bad address " + h + ": " + ec.message());
  tcp::endpoint ep(addr, static_cast<uint16_t>(p));
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return UnavailableError("listen on " + listen + ": " + ec.message());
  host = h;
  port = acceptor.local_endpoint().port();
  handler.SetServerAddress(host + ":" + std::to_string(port));
  return OkStatus();
}

void ApiServer::Impl::Run() {
  connection_cap = options.max_connections;
  if (connection_cap <= 0) {
    rlimit nofile{};
    rlim_t soft = ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 ? nofile.rlim_cur : 1024;
    connection_cap = static_cast<int>(std::clamp<rlim_t>(soft / 2, 16, 4096));
  }
  DoAccept();
  ScheduleBookmarks();
  io_thread = std::thread([this] {
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        // A handler threw: log and keep serving rather than die.
        log->error("I/O loop: {}", e.what());
      }
    }
  });
  if (!options.data_file.empty()) persist_thread = std::thread([this] { PersistLoop(); });
}

void ApiServer::Impl::ScheduleBookmarks() {
  bookmark_timer.expires_after(options.bookmark_interval);
  bookmark_timer.async_wait([this](beast::error_code ec) {
    if (ec) return;
    store.Bookmark();
    ScheduleBookmarks();
  });
}

void ApiServer::Impl::StopAll() {
  if (stopped.exchange(true)) return;
  asio::post(ioc, [this] {
    beast::error_code ec;
    acceptor.close(ec);
    bookmark_timer.cancel();
    auto copy = sessions;
    for (const auto& s : copy) s->Close();
    sessions.clear();
    ioc.stop();
  });
  if (io_thread.joinable()) io_thread.join();
  {
    MutexLock lock(persist_mu);
    stopping = true;
  }
  persist_cv.notify_all();
  if (persist_thread.joinable()) persist_thread.join();
  if (!options.data_file.empty()) {
    Status s = WriteData();
    if (!s.ok()) log->error("final snapshot: {}", s.ToString());
  }
}

void ApiServer::Impl::RecordDrop(DroppedField d) {
  log->info("dropped {} of {} {}{}{}: {} is off", d.field, d.resource, d.ns,
            d.ns.empty() ? "" : "/", d.name, d.gate);
  MutexLock lock(dropped_mu);
  dropped.push_back(std::move(d));
  while (dropped.size() > options.dropped_capacity) dropped.pop_front();
}

void ApiServer::Impl::Record(AuditEntry e) {
  MutexLock lock(audit_mu);
  audit.push_back(std::move(e));
  while (audit.size() > options.audit_capacity) audit.pop_front();
}

ApiServer::Impl::FaultMatch ApiServer::Impl::MatchFault(const std::string& verb,
                                                        const std::string& path) {
  MutexLock lock(fault_mu);
  for (auto& f : faults) {
    if (f.remaining == 0) continue;
    if (!f.rule.verb.empty() && f.rule.verb != verb) continue;
    if (!f.rule.path_regex.empty() && !std::regex_search(path, f.re)) continue;
    ++f.hits;
    fault_hits[f.id] = f.hits;
    if (f.remaining > 0) --f.remaining;
    return FaultMatch{f.rule.latency, f.rule.code, f.rule.message};
  }
  return {};
}

Status ApiServer::Impl::WriteData() {
  MutexLock lock(persist_write_mu);
  std::string text = store.Snapshot().dump();
  return AtomicWriteFile(options.data_file, text, 0600).WithContext("write apiserver data");
}

void ApiServer::Impl::MarkDirty() {
  {
    MutexLock lock(persist_mu);
    dirty = true;
  }
  persist_cv.notify_all();
}

void ApiServer::Impl::PersistLoop() {
  MutexLock lock(persist_mu);
  while (true) {
    persist_cv.wait(lock, [this]() DRAHIL_REQUIRES(persist_mu) { return dirty || stopping; });
    if (stopping) return;  // StopAll writes the final snapshot
    // Coalesce a burst of writes into one snapshot.
    persist_cv.wait_for(lock, std::chrono::milliseconds(50),
                        [this]() DRAHIL_REQUIRES(persist_mu) { return stopping; });
    dirty = false;
    lock.Unlock();
    Status s = WriteData();
    if (!s.ok()) log->error("{}", s.ToString());
    lock.Lock();
  }
}

// ---------------------------------------------------------------------------
// FaultHandle

FaultHandle::FaultHandle(FaultHandle&& o) noexcept : server_(o.server_), id_(o.id_) {
  o.server_ = nullptr;
}

FaultHandle& FaultHandle::operator=(FaultHandle&& o) noexcept {
  if (this != &o) {
    Remove();
    server_ = o.server_;
    id_ = o.id_;
    o.server_ = nullptr;
  }
  return *this;
}

FaultHandle::~FaultHandle() { Remove(); }

void FaultHandle::Remove() {
  if (server_ != nullptr) server_->RemoveFault(id_);
  server_ = nullptr;
}

int FaultHandle::Hits() const { return server_ != nullptr ? server_->FaultHits(id_) : 0; }

// ---------------------------------------------------------------------------
// ApiServer

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ApiServer::~ApiServer() { Stop(); }

Result<std::unique_ptr<ApiServer>> ApiServer::Start(Options options) {
  if (options.admin_token.empty()) options.admin_token = RandomToken();
  auto impl = std::make_unique<Impl>(std::move(options));
  const Options& o = impl->options;
  if (!o.data_file.empty() && PathExists(o.data_file)) {
    auto text = ReadFile(o.data_file);
    if (!text.ok()) return text.status().WithContext("apiserver: load data");
    json snap = json::parse(*text, nullptr, false);
    if (snap.is_discarded()) {
      return InvalidArgumentError("apiserver: load data " + o.data_file + ": not valid JSON");
    }
    DRAHIL_RETURN_IF_ERROR_CTX(impl->store.Restore(snap), "apiserver: load " + o.data_file);
  }
  for (const auto& ns : o.default_namespaces) impl->store.EnsureNamespace(ns);
  DRAHIL_RETURN_IF_ERROR_CTX(impl->Listen(), "apiserver");
  if (o.tls) {
    DRAHIL_ASSIGN_OR_RETURN(auto tls, internal::GenerateTls(impl->host));
    auto& ctx = impl->tls_ctx.emplace(asio::ssl::context::tls_server);
    beast::error_code ec;
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1,
                    ec);
    if (!ec) ctx.use_certificate_chain(asio::buffer(tls.cert_pem), ec);
    if (!ec) ctx.use_private_key(asio::buffer(tls.key_pem), asio::ssl::context::pem, ec);
    if (ec) return InternalError("apiserver: TLS setup: " + ec.message());
    impl->ca_pem = tls.ca_pem;
  }
  Impl* raw = impl.get();
  if (!o.data_file.empty()) {
    impl->store.SetOnWrite([raw] { raw->MarkDirty(); });
    DRAHIL_RETURN_IF_ERROR(impl->WriteData());
  }
  impl->Run();
  impl->log->debug(
      "API server listening on http://{}:{} (Kubernetes {}, validation: {}, "
      "feature gates: {})",
      impl->host, impl->port, impl->options.gates.version().ToString(), internal::ValidatorName(),
      impl->options.gates.ToString());
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

void ApiServer::Stop() {
  if (impl_) impl_->StopAll();
}

std::string ApiServer::host() const { return impl_->host; }
uint16_t ApiServer::port() const { return impl_->port; }
std::string ApiServer::url() const {
  return (impl_->tls_ctx ? "https://" : "http://") + impl_->host + ":" +
         std::to_string(impl_->port);
}
std::string ApiServer::http_url() const {
  return "http://" + impl_->host + ":" + std::to_string(impl_->port);
}
const std::string& ApiServer::ca_pem() const { return impl_->ca_pem; }
const std::string& ApiServer::admin_token() const { return impl_->options.admin_token; }

std::string ApiServer::IssueNodeToken(const std::string& node, const std::string& driver) {
  return impl_->handler.IssueNodeToken(node, driver);
}

Status ApiServer::WriteKubeconfig(const std::string& path, const std::string& token) const {
  const std::string& tok = token.empty() ? impl_->options.admin_token : token;
  std::string text =
      "apiVersion: v1\n"
      "kind: Config\n"
      "clusters:\n"
      "- name: drahil\n"
      "  cluster:\n"
      "    server: " +
      url() + "\n" +
      (impl_->ca_pem.empty()
           ? std::string()
           : "    certificate-authority-data: " + internal::Base64(impl_->ca_pem) + "\n") +
      "users:\n"
      "- name: drahil-user\n"
      "  user:\n"
      "    token: " +
      tok +
      "\n"
      "contexts:\n"
      "- name: drahil\n"
      "  context:\n"
      "    cluster: drahil\n"
      "    user: drahil-user\n"
      "    namespace: default\n"
      "current-context: drahil\n"
      "preferences: {}\n";
  return AtomicWriteFile(path, text, 0600).WithContext("write kubeconfig");
}

namespace {

Result<const ResourceInfo*> Lookup(const std::string& resource, const FeatureGates& gates,
                                   const internal::Registry& registry) {
  const ResourceInfo* info = registry.Lookup(resource);
  if (info == nullptr) return InvalidArgumentError("apiserver: unknown resource " + resource);
  if (!internal::Served(*info, gates)) {
    return NotFoundError("apiserver: " + info->GroupResource() +
                         " is not served: " + gates.Describe(internal::TaintRuleGate(gates)));
  }
  return info;
}

// Drops(): the strategy's field dropping for the C++ API (user "in-process").
std::vector<DroppedField> Drops(const ResourceInfo& info, const FeatureGates& gates, json& obj,
                                const json* old, internal::WriteScope scope, Clock& clock) {
  std::vector<DroppedField> out;
  auto now = clock.WallNow();
  for (auto& d : internal::DropDisabledFields(info, gates, obj, old, scope)) {
    out.push_back({now, info.resource, formats::StringOr(obj, "metadata.namespace"),
                   formats::StringOr(obj, "metadata.name"), std::move(d.field), std::move(d.gate),
                   "in-process"});
  }
  return out;
}

}  // namespace

Result<json> ApiServer::Get(const std::string& resource, const std::string& ns,
                            const std::string& name) const {
  DRAHIL_ASSIGN_OR_RETURN(const ResourceInfo* info,
                          Lookup(resource, impl_->options.gates, impl_->store.registry()));
  auto r = impl_->store.Get(*info, info->namespaced ? ns : "", name);
  if (!r.ok()) return r.error().ToStatus();
  return *r.value();
}

Result<std::vector<json>> ApiServer::List(const std::string& resource, const std::string& ns,
                                          const std::string& label_selector,
                                          const std::string& field_selector) const {
  DRAHIL_ASSIGN_OR_RETURN(const ResourceInfo* info,
                          Lookup(resource, impl_->options.gates, impl_->store.registry()));
  internal::Filter f;
  f.ns = info->namespaced ? ns : "";
  std::string err;
  auto ls = internal::LabelSelector::Parse(label_selector, &err);
  if (!ls) return InvalidArgumentError("labelSelector: " + err);
  auto fs = internal::FieldSelector::Parse(field_selector, *info, &err);
  if (!fs) return InvalidArgumentError("fieldSelector: " + err);
  f.labels = std::move(*ls);
  f.fields = std::move(*fs);
  auto r = impl_->store.List(*info, f, 0, "");
  if (!r.ok()) return r.error().ToStatus();
  std::vector<json> out;
  for (const auto& o : r.value().items) out.push_back(*o);
  return out;
}

Result<json> ApiServer::Create(const std::string& resource, json obj) {
  DRAHIL_ASSIGN_OR_RETURN(const ResourceInfo* info,
                          Lookup(resource, impl_->options.gates, impl_->store.registry()));
  if (!obj.is_object())
    return InvalidArgumentError("apiserver: create: object is not a JSON object");
  if (auto err = internal::CheckTypeMeta(*info, obj)) return err->ToStatus();
  json& m = obj["metadata"];
  if (!m.is_object()) m = json::object();
  if (info->namespaced) {
    if (m.value("namespace", "").empty()) m["namespace"] = "default";
  } else {
    m.erase("namespace");
  }
  for (const char* f : {"uid", "resourceVersion", "creationTimestamp", "generation"}) m.erase(f);
  internal::FillTimeAdded(*info, obj, nullptr, internal::NowRfc3339(*impl_->options.clock));
  if (auto e = internal::PrepareForCreate(*info, obj, false,
                                          internal::NowRfc3339(*impl_->options.clock))) {
    return e->ToStatus();
  }
  const FeatureGates& gates = impl_->options.gates;
  auto drops = Drops(*info, gates, obj, nullptr, internal::WriteScope::kAll, *impl_->options.clock);
  auto causes = internal::ValidateCreate(*info, obj, gates.version());
  if (!causes.empty()) {
    for (auto& d : drops) impl_->RecordDrop(std::move(d));  // maybe why it is refused
    return internal::Invalid(*info, m.value("name", ""), causes).ToStatus();
  }
  auto r = impl_->store.Create(*info, std::move(obj));
  if (!r.ok() && r.error().code != 422) return r.error().ToStatus();
  for (auto& d : drops) {
    if (d.name.empty() && r.ok()) d.name = (*r.value())["metadata"].value("name", "");
    impl_->RecordDrop(std::move(d));
  }
  if (!r.ok()) return r.error().ToStatus();
  return *r.value();
}

Result<json> ApiServer::Update(const std::string& resource, json obj) {
  DRAHIL_ASSIGN_OR_RETURN(const ResourceInfo* info,
                          Lookup(resource, impl_->options.gates, impl_->store.registry()));
  if (!obj.is_object())
    return InvalidArgumentError("apiserver: update: object is not a JSON object");
  if (auto err = internal::CheckTypeMeta(*info, obj)) return err->ToStatus();
  std::string ns = info->namespaced ? formats::StringOr(obj, "metadata.namespace") : "";
  if (info->namespaced && ns.empty()) ns = "default";
  const std::string now = internal::NowRfc3339(*impl_->options.clock);
  const FeatureGates& gates = impl_->options.gates;
  std::vector<DroppedField> drops;
  auto r = impl_->store.Update(
      *info, ns, formats::StringOr(obj, "metadata.name"),
      [&](const json& current, const json*) -> internal::Expected<json> {
        json d = obj;
        internal::FillTimeAdded(*info, d, &current, now);
        if (auto e = internal::PrepareForUpdate(*info, d, current, now)) return *e;
        drops = Drops(*info, gates, d, &current, internal::WriteScope::kAll, *impl_->options.clock);
        auto causes = internal::ValidateUpdate(*info, d, current, gates.version());
        if (!causes.empty()) {
          return internal::Invalid(*info, formats::StringOr(obj, "metadata.name"), causes);
        }
        return d;
      });
  if (!r.ok() && r.error().code != 422) return r.error().ToStatus();
  for (auto& d : drops) {
    if (d.name.empty() && r.ok()) d.name = (*r.value())["metadata"].value("name", "");
    impl_->RecordDrop(std::move(d));
  }
  if (!r.ok()) return r.error().ToStatus();
  return *r.value();
}

Result<json> ApiServer::UpdateStatus(const std::string& resource, json obj) {
  DRAHIL_ASSIGN_OR_RETURN(const ResourceInfo* info,
                          Lookup(resource, impl_->options.gates, impl_->store.registry()));
  if (!obj.is_object()) return InvalidArgumentError("apiserver: update status: not an object");
  std::string ns = info->namespaced ? formats::StringOr(obj, "metadata.namespace") : "";
  if (info->namespaced && ns.empty()) ns = "default";
  const FeatureGates& gates = impl_->options.gates;
  std::vector<DroppedField> drops;
  auto r = impl_->store.Update(
      *info, ns, formats::StringOr(obj, "metadata.name"),
      [&](const json& current, const json*) -> internal::Expected<json> {
        json d = internal::Desired(*info, "status", current, obj);
        drops =
            Drops(*info, gates, d, &current, internal::WriteScope::kStatus, *impl_->options.clock);
        auto causes = internal::ValidateStatusUpdate(*info, d, current, gates.version());
        if (!causes.empty()) {
          return internal::Invalid(*info, formats::StringOr(obj, "metadata.name"), causes);
        }
        return d;
      });
  if (!r.ok() && r.error().code != 422) return r.error().ToStatus();
  for (auto& d : drops) {
    if (d.name.empty() && r.ok()) d.name = (*r.value())["metadata"].value("name", "");
    impl_->RecordDrop(std::move(d));
  }
  if (!r.ok()) return r.error().ToStatus();
  return *r.value();
}

Status ApiServer::Delete(const std::string& resource, const std::string& ns,
                         const std::string& name) {
  DRAHIL_ASSIGN_OR_RETURN(const ResourceInfo* info,
                          Lookup(resource, impl_->options.gates, impl_->store.registry()));
  auto r = impl_->store.Delete(*info, info->namespaced ? ns : "", name, {});
  if (!r.ok()) return r.error().ToStatus();
  return OkStatus();
}

uint64_t ApiServer::ResourceVersion() const { return impl_->store.ResourceVersion(); }

std::vector<AuditEntry> ApiServer::AuditLog() const {
  MutexLock lock(impl_->audit_mu);
  return {impl_->audit.begin(), impl_->audit.end()};
}

std::vector<DroppedField> ApiServer::DroppedFields() const {
  MutexLock lock(impl_->dropped_mu);
  return {impl_->dropped.begin(), impl_->dropped.end()};
}

const FeatureGates& ApiServer::gates() const { return impl_->options.gates; }

void ApiServer::ClearAuditLog() {
  MutexLock lock(impl_->audit_mu);
  impl_->audit.clear();
}

FaultHandle ApiServer::InjectFault(FaultRule rule) {
  MutexLock lock(impl_->fault_mu);
  Impl::Fault f;
  f.id = impl_->next_fault_id++;
  try {
    f.re = std::regex(rule.path_regex.empty() ? std::string("") : rule.path_regex);
  } catch (const std::regex_error& e) {
    // An unusable pattern makes the rule inert instead of throwing.
    impl_->log->error("fault rule: bad path_regex '{}': {}", rule.path_regex, e.what());
    rule.times = 0;
  }
  f.remaining = rule.times < 0 ? -1 : rule.times;
  f.rule = std::move(rule);
  uint64_t id = f.id;
  impl_->faults.push_back(std::move(f));
  impl_->fault_hits[id] = 0;
  return FaultHandle(this, id);
}

void ApiServer::RemoveFault(uint64_t id) {
  MutexLock lock(impl_->fault_mu);
  auto& v = impl_->faults;
  v.erase(std::remove_if(v.begin(), v.end(), [id](const Impl::Fault& f) { return f.id == id; }),
          v.end());
}

int ApiServer::FaultHits(uint64_t id) const {
  MutexLock lock(impl_->fault_mu);
  auto it = impl_->fault_hits.find(id);
  return it == impl_->fault_hits.end() ? 0 : it->second;
}

int ApiServer::DropWatches() { return impl_->store.DropWatches(); }

int ApiServer::OpenWatches() const { return impl_->store.WatchCount(); }

Status ApiServer::Flush() {
  if (impl_->options.data_file.empty()) return OkStatus();
  return impl_->WriteData();
}

}  // namespace drahil::apiserver
