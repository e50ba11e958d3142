#include "state.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <cstdio>

#include <spdlog/spdlog.h>

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
    if (j.is_discarded() || j.value("apiVersion", "") != kCheckpointApiVersion || !j.contains("preparedClaims"))
      return Status(Code::kDataLoss, "checkpoint " + path + ": not a " + kCheckpointApiVersion + " checkpoint");
    checkpoint_ = j;
    spdlog::info("checkpoint: {} prepared claims restored", j["preparedClaims"].size());
  }
  // The common spec: node-wide env every container of this driver gets.
  std::set<DeviceType> classes;
  for (const auto& d : inv_.devices) classes.insert(d.type == DeviceType::kFpgaVf ? DeviceType::kFpga
                                                    : d.type == DeviceType::kMig ? DeviceType::kGpu
                                                                                 : d.type);
  for (auto t : classes) {
    Json env = Json::array({"KUBERNETES_NODE_NAME=" + opts_.node_name, "DRA_RESOURCE_DRIVER_NAME=" + opts_.driver_name});
    if (!opts_.fake_root.empty()) env.push_back("DRAHIL_FAKE_ROOT=" + opts_.fake_root);
    Json spec{{"cdiVersion", "0.5.0"},
              {"kind", CdiKind(opts_, t)},
              {"devices", Json::array({Json{{"name", "common"}, {"containerEdits", {{"env", env}}}}})}};
    std::string p =
        opts_.cdi_root + "/" + CdiVendor(opts_) + "-" + CdiClass(opts_, t) + "_common.json";
    DRAHIL_RETURN_IF_ERROR_CTX(AtomicWriteFile(p, spec.dump(2) + "\n"), "write common CDI spec");
  }
  return OkStatus();
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
    for (const auto& d : c.value("devices", Json::array())) out[d.value("device", "")].push_back(uid);
  return out;
}

Result<std::map<std::string, ClaimResult>> DriverState::Prepare(const std::vector<ClaimRef>& claims) {
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
      return Status(Code::kUnknown, "get resource claims: retrieve claim " + id + ": " + claim.status().message());
    if (!opts_.Bug("no-uid-check") && claim->value("metadata", Json::object()).value("uid", "") != ref.uid)
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

  // Opaque configuration for this driver (class config first, then claim
  // config, later entries win, as the allocation lists them).
  std::string sharing = opts_.sharing;
  int64_t cfg_pct = 0;
  int64_t cfg_limit = 0;
  for (const auto& c : configs) {
    if (!c.contains("opaque") || c["opaque"].value("driver", "") != opts_.driver_name) continue;
    const Json p = c["opaque"].value("parameters", Json::object());
    std::string kind = p.value("kind", "");
    if (kind != "GpuConfig" && kind != "FpgaConfig")
      return InvalidArgumentError("unsupported opaque config kind \"" + kind + "\" for driver " + opts_.driver_name +
                                  " (want GpuConfig or FpgaConfig)");
    if (p.contains("sharing")) {
      std::string strategy = p["sharing"].value("strategy", "");
      if (strategy == "TimeSlicing") sharing = "time-slicing";
      else if (strategy == "MPS") sharing = "mps";
      else if (strategy == "Exclusive" || strategy.empty()) sharing = "none";
      else return InvalidArgumentError("unsupported sharing strategy \"" + strategy + "\"");
      if (p["sharing"].contains("mps")) {
        const Json m = p["sharing"]["mps"];
        cfg_pct = m.value("activeThreadPercentage", int64_t{0});
        cfg_limit = QuantityBytes(m.value("pinnedMemoryLimit", Json()));
      }
    }
  }

  // Which of this claim's results are ours, and do we have those devices?
  struct Item {
    const Device* dev;
    std::string request, share_id;
    bool admin;
    int64_t share_bytes;
  };
  std::vector<Item> items;
  for (const auto& r : results) {
    if (r.value("driver", "") != opts_.driver_name) continue;
    std::string pool = r.value("pool", ""), name = r.value("device", "");
    const Device* d = pool == opts_.node_name ? inv_.Find(name) : nullptr;
    if (d == nullptr) return NotFoundError("device " + pool + "/" + name + " is not managed by this driver");
    int64_t share = 0;
    if (r.contains("consumedCapacity")) share = QuantityBytes(r["consumedCapacity"].value("memory", Json()));
    items.push_back({d, r.value("request", ""), r.value("shareID", ""), r.value("adminAccess", false), share});
  }

  // Exclusivity: a device is prepared for one claim unless admin access or
  // consumable-capacity shares make sharing legal.
  if (!opts_.Bug("double-book")) {
    for (const auto& it : items) {
      for (auto& [uid, c] : prepared.items()) {
        if (uid == ref.uid) continue;
        for (const auto& d : c.value("devices", Json::array())) {
          if (d.value("device", "") != it.dev->name) continue;
          bool legal = it.admin || d.value("adminAccess", false) ||
                       (!it.share_id.empty() && !d.value("shareID", "").empty());
          if (!legal)
            return FailedPreconditionError("device " + it.dev->name + " is already prepared for claim " + uid);
        }
      }
    }
  }

  // CDI: one spec per claim and device class.
  std::string suffix = opts_.Bug("non-idempotent-prepare") ? "-" + std::to_string(prepare_calls_) : "";
  std::map<DeviceType, Json> specs;
  std::map<DeviceType, std::vector<std::string>> uuids;
  std::vector<std::string> mps_limits;
  int64_t mps_pct = 0;
  ClaimResult res;
  // --exposure env: <prefix>_DEVICE_<n>=<device>, n counting per prefix in
  // result order.
  std::map<std::string, int> env_next;
  auto env_device = [&](const Device& d) {
    const std::string& prefix = opts_.env_prefix.Of(d.type);
    return prefix + "_DEVICE_" + std::to_string(env_next[prefix]++) + "=" + d.name;
  };
  for (const auto& it : items) {
    DeviceType cls = IsFpgaType(it.dev->type) ? DeviceType::kFpga : DeviceType::kGpu;
    std::string dev_name =
        ref.uid + "-" + it.dev->name + (it.share_id.empty() ? "" : "-" + it.share_id) + suffix;
    if (specs[cls].is_null())
      specs[cls] =
          Json{{"cdiVersion", "0.5.0"}, {"kind", CdiKind(opts_, cls)}, {"devices", Json::array()}};
    Json edits;
    if (opts_.EnvExposure()) {
      // As dra-example-driver: no device nodes, a variable naming the device.
      Json env = Json::array({env_device(*it.dev)});
      // Planted bug: another GPU is handed too (its variable; the next minor
      // when there is one).
      if (opts_.Bug("extra-device-node") && it.dev->type == DeviceType::kGpu) {
        const Device* other = nullptr;
        for (const auto& d : inv_.devices) {
          if (d.type != DeviceType::kGpu || !Published(d) || d.name == it.dev->name) continue;
          if (other == nullptr || d.minor == it.dev->minor + 1) other = &d;
        }
        if (other != nullptr) env.push_back(env_device(*other));
      }
      edits = Json{{"env", env}};
    } else {
      Json nodes = Json::array();
      std::vector<DeviceNode> grant = it.dev->nodes;
      if (opts_.Bug("extra-device-node") && it.dev->type == DeviceType::kGpu) {
        int next = it.dev->minor + 1;
        grant.push_back(
            {"/dev/nvidia" + std::to_string(next), opts_.HostDev("nvidia" + std::to_string(next))});
      }
      for (const auto& n : grant)
        nodes.push_back(
            {{"path", n.container_path}, {"hostPath", n.host_path}, {"permissions", "rw"}});
      Json env = Json::array(
          {"DRAHIL_DEVICE_" + std::to_string(specs[cls]["devices"].size()) + "=" + it.dev->name});
      edits = Json{{"env", env}};
      if (!nodes.empty()) edits["deviceNodes"] = nodes;
    }
    specs[cls]["devices"].push_back({{"name", dev_name}, {"containerEdits", edits}});
    uuids[cls].push_back(it.dev->uuid);
    if (!it.share_id.empty() && it.dev->memory_bytes > 0 && sharing != "time-slicing") {
      int64_t limit = cfg_limit > 0 ? cfg_limit : it.share_bytes;
      if (limit > 0 && !opts_.Bug("no-mps-limit")) mps_limits.push_back(it.dev->uuid + "=" + std::to_string(limit >> 20) + "M");
      int64_t pct = cfg_pct > 0 ? cfg_pct : std::max<int64_t>(1, it.share_bytes * 100 / it.dev->memory_bytes);
      mps_pct = mps_pct == 0 ? pct : std::min(mps_pct, pct);
    } else if (sharing == "mps" && (cfg_pct > 0 || cfg_limit > 0)) {
      if (cfg_limit > 0 && !opts_.Bug("no-mps-limit")) mps_limits.push_back(it.dev->uuid + "=" + std::to_string(cfg_limit >> 20) + "M");
      if (cfg_pct > 0) mps_pct = cfg_pct;
    }
    PreparedDevice pd;
    std::string req = opts_.Bug("subrequest-names") ? it.request : BaseRequest(it.request);
    pd.request_names = {req};
    pd.pool = opts_.node_name;
    pd.device = it.dev->name;
    pd.cdi_ids = {CdiKind(opts_, cls) + "=common", CdiKind(opts_, cls) + "=" + dev_name};
    pd.share_id = opts_.Bug("no-share-id") ? "" : it.share_id;
    pd.admin_access = it.admin;
    res.devices.push_back(pd);
  }
  std::vector<std::string> files;
  for (auto& [cls, spec] : specs) {
    Json env = Json::array({"DRAHIL_CLAIM_UID=" + ref.uid, "DRAHIL_CLAIM=" + ref.ns + "/" + ref.name});
    if (cls == DeviceType::kGpu) {
      std::string list;
      if (opts_.Bug("env-all-gpus")) {
        for (const auto& d : inv_.devices)
          if (d.type == DeviceType::kGpu) list += (list.empty() ? "" : ",") + d.uuid;
      } else {
        for (const auto& u : uuids[cls]) list += (list.empty() ? "" : ",") + u;
      }
      // The spec's edits reach every container that uses any device of the
      // claim. With one request that is the whole claim, so the variables
      // list it; with several requests containers may hold different
      // subsets, and the variables would show them devices they do not
      // have: visibility then comes from the device nodes alone, as with
      // NVIDIA's driver (NVIDIA_VISIBLE_DEVICES=void).
      std::set<std::string> requests;
      for (const auto& it : items) requests.insert(BaseRequest(it.request));
      if (opts_.EnvExposure()) {
        // The devices are the per-device variables alone. Planted bug: every
        // GPU device of the node gets its variable.
        if (opts_.Bug("env-all-gpus")) {
          std::set<std::string> given;
          for (const auto& it : items) given.insert(it.dev->name);
          for (const auto& d : inv_.devices)
            if (Published(d) && !IsFpgaType(d.type) && given.count(d.name) == 0)
              env.push_back(env_device(d));
        }
      } else if (requests.size() <= 1 || opts_.Bug("env-all-gpus")) {
        env.push_back("NVIDIA_VISIBLE_DEVICES=" + list);
        env.push_back("CUDA_VISIBLE_DEVICES=" + list);
      } else {
        env.push_back("NVIDIA_VISIBLE_DEVICES=void");
      }
      env.push_back("DRAHIL_GPU_SHARING=" + sharing);
      if (!mps_limits.empty()) {
        std::string l;
        for (const auto& m : mps_limits) l += (l.empty() ? "" : ",") + m;
        env.push_back("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT=" + l);
      }
      if (mps_pct > 0) env.push_back("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=" + std::to_string(mps_pct));
    } else {
      std::string list;
      for (const auto& it : items)
        if (IsFpgaType(it.dev->type)) list += (list.empty() ? "" : ",") + it.dev->pci_bus_id;
      env.push_back("DRAHIL_FPGA_BDFS=" + list);
      // What a probe needs to check the function it got: its nodes and the
      // bitstream/AFU ids the driver saw.
      std::string nodes, bitstream, afu;
      for (const auto& it : items) {
        if (!IsFpgaType(it.dev->type)) continue;
        for (const auto& n : it.dev->nodes) nodes += (nodes.empty() ? "" : ",") + n.container_path;
        if (bitstream.empty()) bitstream = it.dev->bitstream_id;
        if (afu.empty()) afu = it.dev->afu_id;
      }
      // With env exposure the container has no nodes to name.
      if (!opts_.EnvExposure()) env.push_back("DRAHIL_FPGA_NODES=" + nodes);
      if (!bitstream.empty()) env.push_back("DRAHIL_FPGA_BITSTREAM_ID=" + bitstream);
      if (!afu.empty()) env.push_back("DRAHIL_FPGA_AFU_ID=" + afu);
    }
    bool admin = std::any_of(items.begin(), items.end(), [](const Item& i) { return i.admin; });
    env.push_back(std::string("DRA_ADMIN_ACCESS=") + (admin ? "true" : "false"));
    spec["containerEdits"] = {{"env", env}};
    std::string path = SpecPath(ref.uid, cls);
    files.push_back(path);
    // After a "node reboot" the CDI dir is empty while the checkpoint still
    // lists the claim: the repeated prepare must write the spec again.
    if (already && opts_.Bug("no-cdi-recreate")) continue;
    if (auto s = AtomicWriteFile(path, spec.dump(2) + "\n"); !s.ok()) return s.WithContext("write CDI spec");
  }

  Json entry{{"namespace", ref.ns}, {"name", ref.name}, {"specFiles", files}, {"devices", Json::array()}};
  for (const auto& pd : res.devices)
    entry["devices"].push_back({{"requestNames", pd.request_names}, {"pool", pd.pool}, {"device", pd.device},
                                {"cdiDeviceIDs", pd.cdi_ids}, {"shareID", pd.share_id}, {"adminAccess", pd.admin_access}});
  prepared[ref.uid] = entry;
  spdlog::info("prepared claim {}/{} ({}): {} device(s){}", ref.ns, ref.name, ref.uid, res.devices.size(),
               already ? " (again)" : "");
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
      out[ref.uid] = opts_.Bug("unprepare-unknown-fails") ? "claim " + ref.uid + " is not prepared" : "";
      continue;
    }
    std::string err;
    if (!opts_.Bug("cdi-leak")) {
      for (const auto& f : prepared[ref.uid].value("specFiles", Json::array())) {
        std::string p = f.get<std::string>();
        if (::unlink(p.c_str()) != 0 && errno != ENOENT) err = ErrnoError(errno, "remove CDI spec " + p).message();
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
