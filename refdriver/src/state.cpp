#include "state.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <set>
#include <utility>

#include "drahil/core/file_util.hpp"
#include "drahil/core/quantity.hpp"

namespace drahil::refdriver {

std::string CdiVendor(const Options& opts) {
  return opts.cdi_vendor.empty() ? "k8s." + opts.driver_name : opts.cdi_vendor;
}
std::string CdiClass(const Options& opts, DeviceType t) { return opts.cdi_class.Of(t); }
std::string CdiKind(const Options& opts, DeviceType t) {
  return CdiVendor(opts) + "/" + CdiClass(opts, t);
}

namespace {
constexpr const char* kCheckpointApiVersion = "checkpoint.drahil.dev/v1";

std::string BaseRequest(const std::string& r) { return r.substr(0, r.find('/')); }

int64_t QuantityBytes(const Json& q) {
  if (!q.is_string()) return 0;
  auto v = Quantity::Parse(q.get<std::string>());
  return v.ok() ? v->Value() : 0;
}

// The opaque configuration of one claim for this driver: the GPU sharing
// strategy and the MPS settings it asks for (0: not set).
struct SharingConfig {
  std::string sharing;
  int64_t pct = 0;
  int64_t limit = 0;
};

// SharingName(): the driver's name for a GpuConfig sharing strategy;
// InvalidArgument for a strategy it does not support.
Result<std::string> SharingName(const std::string& strategy) {
  if (strategy == "TimeSlicing") return std::string("time-slicing");
  if (strategy == "MPS") return std::string("mps");
  if (strategy == "Exclusive" || strategy.empty()) return std::string("none");
  return InvalidArgumentError("unsupported sharing strategy \"" + strategy + "\"");
}

// ApplyOpaqueParameters(): folds one GpuConfig/FpgaConfig into `cfg`, later
// calls winning; InvalidArgument for another kind or an unknown strategy.
Status ApplyOpaqueParameters(const Options& opts, const Json& p, SharingConfig* cfg) {
  std::string kind = p.value("kind", "");
  if (kind != "GpuConfig" && kind != "FpgaConfig")
    return InvalidArgumentError("unsupported opaque config kind \"" + kind + "\" for driver " +
                                opts.driver_name + " (want GpuConfig or FpgaConfig)");
  if (!p.contains("sharing")) return OkStatus();
  DRAHIL_ASSIGN_OR_RETURN(cfg->sharing, SharingName(p["sharing"].value("strategy", "")));
  if (p["sharing"].contains("mps")) {
    const Json m = p["sharing"]["mps"];
    cfg->pct = m.value("activeThreadPercentage", int64_t{0});
    cfg->limit = QuantityBytes(m.value("pinnedMemoryLimit", Json()));
  }
  return OkStatus();
}

// ReadSharingConfig(): the allocation's opaque configuration for this driver
// (class config first, then claim config, later entries win, as the
// allocation lists them), starting from --sharing.
Result<SharingConfig> ReadSharingConfig(const Options& opts, const Json& configs) {
  SharingConfig cfg;
  cfg.sharing = opts.sharing;
  for (const auto& c : configs) {
    if (!c.contains("opaque") || c["opaque"].value("driver", "") != opts.driver_name) continue;
    DRAHIL_RETURN_IF_ERROR(
        ApplyOpaqueParameters(opts, c["opaque"].value("parameters", Json::object()), &cfg));
  }
  return cfg;
}

// One allocation result of this driver, resolved to its device.
struct ClaimItem {
  const Device* dev;
  std::string request, share_id;
  bool admin;
  int64_t share_bytes;
};

// ClaimItems(): the results of this driver; NotFound when one names a device
// this driver does not manage.
Result<std::vector<ClaimItem>> ClaimItems(const Options& opts, const Inventory& inv,
                                          const Json& results) {
  std::vector<ClaimItem> items;
  for (const auto& r : results) {
    if (r.value("driver", "") != opts.driver_name) continue;
    std::string pool = r.value("pool", ""), name = r.value("device", "");
    const Device* d = pool == opts.node_name ? inv.Find(name) : nullptr;
    if (d == nullptr)
      return NotFoundError("device " + pool + "/" + name + " is not managed by this driver");
    int64_t share = 0;
    if (r.contains("consumedCapacity"))
      share = QuantityBytes(r["consumedCapacity"].value("memory", Json()));
    items.push_back(
        {d, r.value("request", ""), r.value("shareID", ""), r.value("adminAccess", false), share});
  }
  return items;
}

// CheckExclusive(): FailedPrecondition when `it`'s device is prepared for a
// claim other than `uid` and neither admin access nor consumable-capacity
// shares make the sharing legal.
Status CheckExclusive(const ClaimItem& it, const std::string& uid, const Json& prepared) {
  for (const auto& [other, c] : prepared.items()) {
    if (other == uid) continue;
    for (const auto& d : c.value("devices", Json::array())) {
      if (d.value("device", "") != it.dev->name) continue;
      bool legal = it.admin || d.value("adminAccess", false) ||
                   (!it.share_id.empty() && !d.value("shareID", "").empty());
      if (!legal)
        return FailedPreconditionError("device " + it.dev->name +
                                       " is already prepared for claim " + other);
    }
  }
  return OkStatus();
}

// AppendCsv(): appends `v` to a comma-separated list.
void AppendCsv(std::string* list, const std::string& v) { *list += (list->empty() ? "" : ",") + v; }

// The planted bug extra-device-node's second GPU: a published GPU other than
// `dev`, the next minor when there is one; nullptr when there is none.
const Device* ExtraGpu(const Inventory& inv, const Device& dev) {
  const Device* other = nullptr;
  for (const auto& d : inv.devices) {
    if (d.type != DeviceType::kGpu || !Published(d) || d.name == dev.name) continue;
    if (other == nullptr || d.minor == dev.minor + 1) other = &d;
  }
  return other;
}

// Builds the CDI specs (one per device class) and the prepared-device
// records of one claim, result by result.
class ClaimSpecBuilder {
 public:
  ClaimSpecBuilder(const Options& opts, const Inventory& inv, const ClaimRef& ref,
                   const SharingConfig& cfg, std::string suffix)
      : opts_(opts), inv_(inv), ref_(ref), cfg_(cfg), suffix_(std::move(suffix)) {}

  // Add(): the spec device, MPS settings and prepared-device record of `it`.
  void Add(const ClaimItem& it);
  // Finish(): sets the claim-wide env of every spec; `items` as given to Add.
  void Finish(const std::vector<ClaimItem>& items);

  std::map<DeviceType, Json>& specs() { return specs_; }
  ClaimResult& result() { return res_; }

 private:
  // --exposure env: <prefix>_DEVICE_<n>=<device>, n counting per prefix in
  // result order.
  std::string EnvDevice(const Device& d);
  // The container edits of one device, by --exposure.
  Json EnvExposureEdits(const ClaimItem& it);
  Json DeviceNodeEdits(const ClaimItem& it, size_t index);
  // Folds the MPS limit and thread percentage of `it` into the claim's.
  void AddMps(const ClaimItem& it);
  void AddMpsLimit(const std::string& uuid, int64_t bytes);
  Json ClaimEnv(DeviceType cls, const std::vector<ClaimItem>& items);
  void AppendGpuEnv(const std::vector<ClaimItem>& items, Json* env);
  void AppendGpuVisibility(const std::vector<ClaimItem>& items, Json* env);
  void AppendFpgaEnv(const std::vector<ClaimItem>& items, Json* env) const;

  const Options& opts_;
  const Inventory& inv_;
  const ClaimRef& ref_;
  const SharingConfig& cfg_;
  const std::string suffix_;  // planted bug non-idempotent-prepare
  std::map<DeviceType, Json> specs_;
  std::map<DeviceType, std::vector<std::string>> uuids_;
  std::vector<std::string> mps_limits_;
  int64_t mps_pct_ = 0;
  std::map<std::string, int> env_next_;
  ClaimResult res_;
};

std::string ClaimSpecBuilder::EnvDevice(const Device& d) {
  const std::string& prefix = opts_.env_prefix.Of(d.type);
  return prefix + "_DEVICE_" + std::to_string(env_next_[prefix]++) + "=" + d.name;
}

Json ClaimSpecBuilder::EnvExposureEdits(const ClaimItem& it) {
  // As dra-example-driver: no device nodes, a variable naming the device.
  Json env = Json::array({EnvDevice(*it.dev)});
  // Planted bug: another GPU is handed too (its variable; the next minor
  // when there is one).
  if (opts_.Bug("extra-device-node") && it.dev->type == DeviceType::kGpu) {
    if (const Device* other = ExtraGpu(inv_, *it.dev); other != nullptr)
      env.push_back(EnvDevice(*other));
  }
  return Json{{"env", env}};
}

Json ClaimSpecBuilder::DeviceNodeEdits(const ClaimItem& it, size_t index) {
  Json nodes = Json::array();
  std::vector<DeviceNode> grant = it.dev->nodes;
  if (opts_.Bug("extra-device-node") && it.dev->type == DeviceType::kGpu) {
    int next = it.dev->minor + 1;
    grant.push_back(
        {"/dev/nvidia" + std::to_string(next), opts_.HostDev("nvidia" + std::to_string(next))});
  }
  for (const auto& n : grant)
    nodes.push_back({{"path", n.container_path}, {"hostPath", n.host_path}, {"permissions", "rw"}});
  Json env = Json::array({"DRAHIL_DEVICE_" + std::to_string(index) + "=" + it.dev->name});
  Json edits{{"env", env}};
  if (!nodes.empty()) edits["deviceNodes"] = nodes;
  return edits;
}

void ClaimSpecBuilder::AddMpsLimit(const std::string& uuid, int64_t bytes) {
  if (opts_.Bug("no-mps-limit")) return;
  mps_limits_.push_back(uuid + "=" + std::to_string(bytes >> 20) + "M");
}

void ClaimSpecBuilder::AddMps(const ClaimItem& it) {
  if (!it.share_id.empty() && it.dev->memory_bytes > 0 && cfg_.sharing != "time-slicing") {
    int64_t limit = cfg_.limit > 0 ? cfg_.limit : it.share_bytes;
    if (limit > 0) AddMpsLimit(it.dev->uuid, limit);
    int64_t pct =
        cfg_.pct > 0 ? cfg_.pct : std::max<int64_t>(1, it.share_bytes * 100 / it.dev->memory_bytes);
    mps_pct_ = mps_pct_ == 0 ? pct : std::min(mps_pct_, pct);
    return;
  }
  if (cfg_.sharing != "mps" || (cfg_.pct <= 0 && cfg_.limit <= 0)) return;
  if (cfg_.limit > 0) AddMpsLimit(it.dev->uuid, cfg_.limit);
  if (cfg_.pct > 0) mps_pct_ = cfg_.pct;
}

void ClaimSpecBuilder::Add(const ClaimItem& it) {
  DeviceType cls = IsFpgaType(it.dev->type) ? DeviceType::kFpga : DeviceType::kGpu;
  std::string dev_name =
      ref_.uid + "-" + it.dev->name + (it.share_id.empty() ? "" : "-" + it.share_id) + suffix_;
  Json& spec = specs_[cls];
  if (spec.is_null())
    spec = Json{{"cdiVersion", "0.5.0"}, {"kind", CdiKind(opts_, cls)}, {"devices", Json::array()}};
  Json edits =
      opts_.EnvExposure() ? EnvExposureEdits(it) : DeviceNodeEdits(it, spec["devices"].size());
  spec["devices"].push_back({{"name", dev_name}, {"containerEdits", edits}});
  uuids_[cls].push_back(it.dev->uuid);
  AddMps(it);
  PreparedDevice pd;
  pd.request_names = {opts_.Bug("subrequest-names") ? it.request : BaseRequest(it.request)};
  pd.pool = opts_.node_name;
  pd.device = it.dev->name;
  pd.cdi_ids = {CdiKind(opts_, cls) + "=common", CdiKind(opts_, cls) + "=" + dev_name};
  pd.share_id = opts_.Bug("no-share-id") ? "" : it.share_id;
  pd.admin_access = it.admin;
  res_.devices.push_back(pd);
}

void ClaimSpecBuilder::AppendGpuVisibility(const std::vector<ClaimItem>& items, Json* env) {
  std::string list;
  if (opts_.Bug("env-all-gpus")) {
    for (const auto& d : inv_.devices)
      if (d.type == DeviceType::kGpu) AppendCsv(&list, d.uuid);
  } else {
    for (const auto& u : uuids_[DeviceType::kGpu]) AppendCsv(&list, u);
  }
  // The spec's edits reach every container that uses any device of the
  // claim. With one request that is the whole claim, so the variables list
  // it; with several requests containers may hold different subsets, and
  // the variables would show them devices they do not have: visibility then
  // comes from the device nodes alone, as with NVIDIA's driver
  // (NVIDIA_VISIBLE_DEVICES=void).
  std::set<std::string> requests;
  for (const auto& it : items) requests.insert(BaseRequest(it.request));
  if (requests.size() <= 1 || opts_.Bug("env-all-gpus")) {
    env->push_back("NVIDIA_VISIBLE_DEVICES=" + list);
    env->push_back("CUDA_VISIBLE_DEVICES=" + list);
  } else {
    env->push_back("NVIDIA_VISIBLE_DEVICES=void");
  }
}

void ClaimSpecBuilder::AppendGpuEnv(const std::vector<ClaimItem>& items, Json* env) {
  if (!opts_.EnvExposure()) {
    AppendGpuVisibility(items, env);
  } else if (opts_.Bug("env-all-gpus")) {
    // The devices are the per-device variables alone. Planted bug: every GPU
    // device of the node gets its variable.
    std::set<std::string> given;
    for (const auto& it : items) given.insert(it.dev->name);
    for (const auto& d : inv_.devices)
      if (Published(d) && !IsFpgaType(d.type) && given.count(d.name) == 0)
        env->push_back(EnvDevice(d));
  }
  env->push_back("DRAHIL_GPU_SHARING=" + cfg_.sharing);
  if (!mps_limits_.empty()) {
    std::string l;
    for (const auto& m : mps_limits_) AppendCsv(&l, m);
    env->push_back("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT=" + l);
  }
  if (mps_pct_ > 0) env->push_back("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=" + std::to_string(mps_pct_));
}

void ClaimSpecBuilder::AppendFpgaEnv(const std::vector<ClaimItem>& items, Json* env) const {
  std::string list;
  for (const auto& it : items)
    if (IsFpgaType(it.dev->type)) AppendCsv(&list, it.dev->pci_bus_id);
  env->push_back("DRAHIL_FPGA_BDFS=" + list);
  // What a probe needs to check the function it got: its nodes and the
  // bitstream/AFU ids the driver saw.
  std::string nodes, bitstream, afu;
  for (const auto& it : items) {
    if (!IsFpgaType(it.dev->type)) continue;
    for (const auto& n : it.dev->nodes) AppendCsv(&nodes, n.container_path);
    if (bitstream.empty()) bitstream = it.dev->bitstream_id;
    if (afu.empty()) afu = it.dev->afu_id;
  }
  // With env exposure the container has no nodes to name.
  if (!opts_.EnvExposure()) env->push_back("DRAHIL_FPGA_NODES=" + nodes);
  if (!bitstream.empty()) env->push_back("DRAHIL_FPGA_BITSTREAM_ID=" + bitstream);
  if (!afu.empty()) env->push_back("DRAHIL_FPGA_AFU_ID=" + afu);
}

Json ClaimSpecBuilder::ClaimEnv(DeviceType cls, const std::vector<ClaimItem>& items) {
  Json env =
      Json::array({"DRAHIL_CLAIM_UID=" + ref_.uid, "DRAHIL_CLAIM=" + ref_.ns + "/" + ref_.name});
  if (cls == DeviceType::kGpu) {
    AppendGpuEnv(items, &env);
  } else {
    AppendFpgaEnv(items, &env);
  }
  bool admin = std::any_of(items.begin(), items.end(), [](const ClaimItem& i) { return i.admin; });
  env.push_back(std::string("DRA_ADMIN_ACCESS=") + (admin ? "true" : "false"));
  return env;
}

void ClaimSpecBuilder::Finish(const std::vector<ClaimItem>& items) {
  for (auto& [cls, spec] : specs_) spec["containerEdits"] = {{"env", ClaimEnv(cls, items)}};
}

// CheckpointEntry(): the checkpoint's record of a prepared claim.
Json CheckpointEntry(const ClaimRef& ref, const std::vector<std::string>& files,
                     const ClaimResult& res) {
  Json entry{
      {"namespace", ref.ns}, {"name", ref.name}, {"specFiles", files}, {"devices", Json::array()}};
  for (const auto& pd : res.devices)
    entry["devices"].push_back({{"requestNames", pd.request_names},
                                {"pool", pd.pool},
                                {"device", pd.device},
                                {"cdiDeviceIDs", pd.cdi_ids},
                                {"shareID", pd.share_id},
                                {"adminAccess", pd.admin_access}});
  return entry;
}
}  // namespace

DriverState::DriverState(const Options& opts, const Inventory& inv, kube::RestClient* api)
    : opts_(opts), inv_(inv), api_(api), checkpoint_(Json{{"preparedClaims", Json::object()}}) {}

std::string DriverState::SpecPath(const std::string& uid, DeviceType t) const {
  return opts_.cdi_root + "/" + CdiVendor(opts_) + "-" + CdiClass(opts_, t) + "_" + uid + ".json";
}

Status DriverState::Start() {
  DRAHIL_RETURN_IF_ERROR_CTX(MakeDirs(opts_.cdi_root), "create CDI root");
  DRAHIL_RETURN_IF_ERROR_CTX(MakeDirs(opts_.DataDir(), 0750), "create plugin data dir");
  std::string path = opts_.DataDir() + "/checkpoint.json";
  if (!opts_.Bug("no-checkpoint") && PathExists(path)) {
    DRAHIL_ASSIGN_OR_RETURN(auto text, ReadFile(path));
    auto j = Json::parse(text, nullptr, false);
    if (j.is_discarded() || j.value("apiVersion", "") != kCheckpointApiVersion ||
        !j.contains("preparedClaims"))
      return Status(Code::kDataLoss,
                    "checkpoint " + path + ": not a " + kCheckpointApiVersion + " checkpoint");
    checkpoint_ = j;
    spdlog::info("checkpoint: {} prepared claims restored", j["preparedClaims"].size());
  }
  RemoveStaleTempFiles();
  // The common spec: node-wide env every container of this driver gets.
  std::set<DeviceType> classes;
  for (const auto& d : inv_.devices)
    classes.insert(d.type == DeviceType::kFpgaVf ? DeviceType::kFpga
                   : d.type == DeviceType::kMig  ? DeviceType::kGpu
                                                 : d.type);
  for (auto t : classes) {
    Json env = Json::array({"KUBERNETES_NODE_NAME=" + opts_.node_name,
                            "DRA_RESOURCE_DRIVER_NAME=" + opts_.driver_name});
    if (!opts_.fake_root.empty()) env.push_back("DRAHIL_FAKE_ROOT=" + opts_.fake_root);
    Json spec{
        {"cdiVersion", "0.5.0"},
        {"kind", CdiKind(opts_, t)},
        {"devices", Json::array({Json{{"name", "common"}, {"containerEdits", {{"env", env}}}}})}};
    std::string p =
        opts_.cdi_root + "/" + CdiVendor(opts_) + "-" + CdiClass(opts_, t) + "_common.json";
    DRAHIL_RETURN_IF_ERROR_CTX(AtomicWriteFile(p, spec.dump(2) + "\n"), "write common CDI spec");
  }
  return OkStatus();
}

void DriverState::RemoveStaleTempFiles() {
  // AtomicWriteFile() writes ".<name>.tmp-XXXXXX" beside the spec and renames
  // it; a previous instance killed in between left it. No runtime loads it,
  // but each crash would leak one into the (tmpfs) CDI dir.
  auto names = ListDir(opts_.cdi_root);
  if (!names.ok()) return;
  const std::string mine = "." + CdiVendor(opts_) + "-";
  for (const auto& n : *names) {
    if (n.rfind(mine, 0) != 0 || n.find(".tmp-") == std::string::npos) continue;
    if (::unlink((opts_.cdi_root + "/" + n).c_str()) == 0)
      spdlog::info("removed {} (left by an instance that died while writing it)", n);
  }
}

Status DriverState::WriteCheckpoint() {
  if (opts_.Bug("no-checkpoint")) return OkStatus();
  Json out = checkpoint_;
  out["apiVersion"] = kCheckpointApiVersion;
  out["kind"] = "Checkpoint";
  return AtomicWriteFile(opts_.DataDir() + "/checkpoint.json", out.dump(2) + "\n", 0600);
}

std::map<std::string, std::vector<std::string>> DriverState::PreparedDeviceNames() {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, std::vector<std::string>> out;
  for (auto& [uid, c] : checkpoint_["preparedClaims"].items())
    for (const auto& d : c.value("devices", Json::array()))
      out[d.value("device", "")].push_back(uid);
  return out;
}

Result<std::map<std::string, ClaimResult>> DriverState::Prepare(
    const std::vector<ClaimRef>& claims) {
  if (claims.empty() && opts_.Bug("crash-on-empty-prepare")) {
    spdlog::critical("planted bug crash-on-empty-prepare: aborting");
    std::abort();
  }
  // As the Go helper: read every claim before taking the lock; any problem is
  // a whole-call error.
  std::vector<Json> objs;
  for (const auto& ref : claims) {
    std::string id = ref.ns + "/" + ref.name;
    auto claim = api_->Get("resourceclaims", ref.ns, ref.name);
    if (!claim.ok())
      return Status(Code::kUnknown,
                    "get resource claims: retrieve claim " + id + ": " + claim.status().message());
    if (!opts_.Bug("no-uid-check") &&
        claim->value("metadata", Json::object()).value("uid", "") != ref.uid)
      return Status(Code::kUnknown, "get resource claims: claim " + id + " got replaced");
    bool allocated = claim->contains("status") && (*claim)["status"].contains("allocation") &&
                     !(*claim)["status"]["allocation"].is_null();
    if (!allocated && !opts_.Bug("no-allocation-check"))
      return Status(Code::kUnknown, "get resource claims: claim " + id + " not allocated");
    objs.push_back(*claim);
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++prepare_calls_;
  std::map<std::string, ClaimResult> out;
  bool changed = false;
  for (size_t i = 0; i < claims.size(); ++i) {
    auto r = PrepareOne(claims[i], objs[i]);
    if (!r.ok()) {
      out[claims[i].uid].error = r.status().message();
      continue;
    }
    out[claims[i].uid] = *r;
    changed = true;
  }
  if (changed) {
    if (auto s = WriteCheckpoint(); !s.ok())
      return Status(Code::kUnknown, "prepare resource claims: " + s.message());
  }
  return out;
}

Result<ClaimResult> DriverState::PrepareOne(const ClaimRef& ref, const Json& claim) {
  auto& prepared = checkpoint_["preparedClaims"];
  bool already = prepared.contains(ref.uid);
  const Json alloc = claim.value("status", Json::object()).value("allocation", Json::object());
  const Json results = alloc.value("devices", Json::object()).value("results", Json::array());
  const Json configs = alloc.value("devices", Json::object()).value("config", Json::array());

  DRAHIL_ASSIGN_OR_RETURN(SharingConfig cfg, ReadSharingConfig(opts_, configs));
  // Which of this claim's results are ours, and do we have those devices?
  DRAHIL_ASSIGN_OR_RETURN(std::vector<ClaimItem> items, ClaimItems(opts_, inv_, results));

  // Exclusivity: a device is prepared for one claim unless admin access or
  // consumable-capacity shares make sharing legal.
  if (!opts_.Bug("double-book")) {
    for (const auto& it : items) DRAHIL_RETURN_IF_ERROR(CheckExclusive(it, ref.uid, prepared));
  }

  // CDI: one spec per claim and device class.
  std::string suffix =
      opts_.Bug("non-idempotent-prepare") ? "-" + std::to_string(prepare_calls_) : "";
  ClaimSpecBuilder builder(opts_, inv_, ref, cfg, suffix);
  for (const auto& it : items) builder.Add(it);
  builder.Finish(items);
  std::vector<std::string> files;
  for (auto& [cls, spec] : builder.specs()) {
    std::string path = SpecPath(ref.uid, cls);
    files.push_back(path);
    // After a "node reboot" the CDI dir is empty while the checkpoint still
    // lists the claim: the repeated prepare must write the spec again.
    if (already && opts_.Bug("no-cdi-recreate")) continue;
    if (auto s = AtomicWriteFile(path, spec.dump(2) + "\n"); !s.ok())
      return s.WithContext("write CDI spec");
  }

  ClaimResult& res = builder.result();
  prepared[ref.uid] = CheckpointEntry(ref, files, res);
  spdlog::info("prepared claim {}/{} ({}): {} device(s){}", ref.ns, ref.name, ref.uid,
               res.devices.size(), already ? " (again)" : "");
  return res;
}

std::map<std::string, std::string> DriverState::Unprepare(const std::vector<ClaimRef>& claims) {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, std::string> out;
  auto& prepared = checkpoint_["preparedClaims"];
  bool changed = false;
  for (const auto& ref : claims) {
    if (!prepared.contains(ref.uid)) {
      // The kubelet may unprepare claims whose prepare never ran.
      out[ref.uid] =
          opts_.Bug("unprepare-unknown-fails") ? "claim " + ref.uid + " is not prepared" : "";
      continue;
    }
    std::string err;
    if (!opts_.Bug("cdi-leak")) {
      for (const auto& f : prepared[ref.uid].value("specFiles", Json::array())) {
        std::string p = f.get<std::string>();
        if (::unlink(p.c_str()) != 0 && errno != ENOENT)
          err = ErrnoError(errno, "remove CDI spec " + p).message();
      }
    }
    if (!err.empty()) {
      out[ref.uid] = err;
      continue;
    }
    prepared.erase(ref.uid);
    changed = true;
    out[ref.uid] = "";
    spdlog::info("unprepared claim {}/{} ({})", ref.ns, ref.name, ref.uid);
  }
  if (changed) {
    if (auto s = WriteCheckpoint(); !s.ok())
      for (auto& [uid, e] : out)
        if (e.empty()) e = "write checkpoint: " + s.message();
  }
  return out;
}

}  // namespace drahil::refdriver
