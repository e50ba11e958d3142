// Node profiles: YAML (schema drahil.fakenode/v1) to Profile, with a strict
// schema check: unknown keys, wrong types and impossible hardware (overlapping
// MIG placements, duplicate PCI addresses) are errors naming file:line:col.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <set>
#include <sstream>

#include "drahil/core/file_util.hpp"
#include "drahil/core/quantity.hpp"
#include "drahil/fakenode/fakenode.hpp"
#include "drahil/formats/yaml_json.hpp"
#include "pci_util.hpp"

namespace drahil::fakenode {
namespace {

constexpr const char* kSchema = "drahil.fakenode/v1";

class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  Status Err(const YAML::Node& n, const std::string& msg) const {
    const YAML::Mark m = n.Mark();
    if (m.line < 0) return InvalidArgumentError(file_ + ": " + msg);
    return InvalidArgumentError(file_ + ":" + std::to_string(m.line + 1) + ":" +
                                std::to_string(m.column + 1) + ": " + msg);
  }

  // Keys(): n must be a map whose keys are all in allowed and which has every
  // key in required.
  Status Keys(const YAML::Node& n, const std::string& where,
              std::initializer_list<const char*> allowed,
              std::initializer_list<const char*> required) const {
    if (!n.IsMap()) return Err(n, where + ": expected a mapping");
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string k = it->first.Scalar();
      bool ok = std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; });
      if (!ok) {
        std::string list;
        for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
        return Err(it->first, "unknown key \"" + k + "\" in " + where + " (allowed: " + list + ")");
      }
    }
    for (const char* r : required) {
      if (!n[r]) return Err(n, where + ": missing required key \"" + r + "\"");
    }
    return OkStatus();
  }

  Result<std::string> Str(const YAML::Node& n, const std::string& where) const {
    if (!n.IsScalar()) return Err(n, where + ": expected a string");
    return n.Scalar();
  }

  Result<uint64_t> UInt(const YAML::Node& n, const std::string& where, uint64_t max) const {
    if (!n.IsScalar()) return Err(n, where + ": expected a number");
    const std::string& s = n.Scalar();
    uint64_t v = 0;
    size_t pos = 0;
    try {
      v = std::stoull(s, &pos, 0);  // base 0: accepts 0x2330
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos == 0 || pos != s.size() || s[0] == '-') {
      return Err(n, where + ": \"" + s + "\" is not a non-negative integer");
    }
    if (v > max) return Err(n, where + ": " + s + " is larger than " + std::to_string(max));
    return v;
  }

  Result<int> NumaNode(const YAML::Node& n, const std::string& where) const {
    if (n.IsScalar() && n.Scalar() == "-1") return -1;
    DRAHIL_ASSIGN_OR_RETURN(uint64_t v, UInt(n, where, 255));
    return static_cast<int>(v);
  }

  Result<bool> Bool(const YAML::Node& n, const std::string& where) const {
    if (n.IsScalar()) {
      if (n.Scalar() == "true") return true;
      if (n.Scalar() == "false") return false;
    }
    return Err(n, where + ": expected true or false");
  }

  Result<uint64_t> Bytes(const YAML::Node& n, const std::string& where) const {
    DRAHIL_ASSIGN_OR_RETURN(std::string s, Str(n, where));
    auto q = Quantity::Parse(s);
    if (!q.ok()) return Err(n, where + ": " + q.status().message());
    if (q->Sign() <= 0) return Err(n, where + ": must be positive");
    return static_cast<uint64_t>(q->Value());
  }

  Result<std::string> Bdf(const YAML::Node& n, const std::string& where) const {
    DRAHIL_ASSIGN_OR_RETURN(std::string s, Str(n, where));
    auto addr = ParseBdf(s);
    if (!addr) return Err(n, where + ": \"" + s + "\" is not a PCI address like 0000:18:00.0");
    return FormatBdf(*addr);
  }

  template <typename F>
  Status List(const YAML::Node& n, const std::string& where, F&& each) const {
    if (!n.IsSequence()) return Err(n, where + ": expected a list");
    for (size_t i = 0; i < n.size(); ++i) {
      DRAHIL_RETURN_IF_ERROR(each(n[i], where + "[" + std::to_string(i) + "]"));
    }
    return OkStatus();
  }

  Result<Profile> Parse(const YAML::Node& root);

 private:
  Status ParseModel(const YAML::Node& n, const std::string& where, GpuModel* m) const;
  Status ParseGpu(const YAML::Node& n, const std::string& where, GpuSpec* g) const;
  Status ParseFpga(const YAML::Node& n, const std::string& where, FpgaSpec* f) const;
  Status Validate(const YAML::Node& root, const Profile& p) const;

  std::string file_;
};

Status Parser::ParseModel(const YAML::Node& n, const std::string& where, GpuModel* m) const {
  DRAHIL_RETURN_IF_ERROR(
      Keys(n, where,
           {"name", "vendorId", "deviceId", "subsystemVendorId", "subsystemDeviceId", "classCode",
            "memory", "sms", "coresPerSm", "architecture", "computeCapability", "mig"},
           {"name", "deviceId", "memory", "sms", "architecture", "computeCapability"}));
  DRAHIL_ASSIGN_OR_RETURN(m->name, Str(n["name"], where + ".name"));
  if (n["vendorId"]) {
    DRAHIL_ASSIGN_OR_RETURN(auto v, UInt(n["vendorId"], where + ".vendorId", 0xffff));
    m->vendor_id = static_cast<uint32_t>(v);
  }
  DRAHIL_ASSIGN_OR_RETURN(auto dev, UInt(n["deviceId"], where + ".deviceId", 0xffff));
  m->device_id = static_cast<uint32_t>(dev);
  if (n["subsystemVendorId"]) {
    DRAHIL_ASSIGN_OR_RETURN(auto v,
                            UInt(n["subsystemVendorId"], where + ".subsystemVendorId", 0xffff));
    m->subsystem_vendor_id = static_cast<uint32_t>(v);
  }
  if (n["subsystemDeviceId"]) {
    DRAHIL_ASSIGN_OR_RETURN(auto v,
                            UInt(n["subsystemDeviceId"], where + ".subsystemDeviceId", 0xffff));
    m->subsystem_device_id = static_cast<uint32_t>(v);
  }
  if (n["classCode"]) {
    DRAHIL_ASSIGN_OR_RETURN(auto v, UInt(n["classCode"], where + ".classCode", 0xffffff));
    m->class_code = static_cast<uint32_t>(v);
  }
  DRAHIL_ASSIGN_OR_RETURN(m->memory_bytes, Bytes(n["memory"], where + ".memory"));
  DRAHIL_ASSIGN_OR_RETURN(auto sms, UInt(n["sms"], where + ".sms", 4096));
  if (sms == 0) return Err(n["sms"], where + ".sms: must be at least 1");
  m->sms = static_cast<uint32_t>(sms);
  if (n["coresPerSm"]) {
    DRAHIL_ASSIGN_OR_RETURN(auto v, UInt(n["coresPerSm"], where + ".coresPerSm", 1024));
    m->cores_per_sm = static_cast<uint32_t>(v);
  }
  DRAHIL_ASSIGN_OR_RETURN(m->architecture, Str(n["architecture"], where + ".architecture"));
  static const std::set<std::string> kArch = {"kepler", "maxwell", "pascal", "volta",    "turing",
                                              "ampere", "ada",     "hopper", "blackwell"};
  if (!kArch.count(m->architecture)) {
    return Err(n["architecture"], where + ".architecture: unknown \"" + m->architecture +
                                      "\" (want one of ampere, ada, hopper, blackwell, ...)");
  }
  DRAHIL_ASSIGN_OR_RETURN(auto cc, Str(n["computeCapability"], where + ".computeCapability"));
  if (std::sscanf(cc.c_str(), "%d.%d", &m->cc_major, &m->cc_minor) != 2 || m->cc_major <= 0) {
    return Err(n["computeCapability"],
               where + ".computeCapability: want \"major.minor\", got \"" + cc + "\"");
  }
  if (const YAML::Node mig = n["mig"]) {
    std::string w = where + ".mig";
    DRAHIL_RETURN_IF_ERROR(Keys(mig, w, {"memorySlices", "maxDevices", "profiles"},
                                {"memorySlices", "maxDevices", "profiles"}));
    DRAHIL_ASSIGN_OR_RETURN(auto slices, UInt(mig["memorySlices"], w + ".memorySlices", 64));
    DRAHIL_ASSIGN_OR_RETURN(auto maxd, UInt(mig["maxDevices"], w + ".maxDevices", 64));
    if (slices == 0 || maxd == 0) return Err(mig, w + ": memorySlices and maxDevices must be > 0");
    m->memory_slices = static_cast<uint32_t>(slices);
    m->max_mig_devices = static_cast<uint32_t>(maxd);
    DRAHIL_RETURN_IF_ERROR(
        List(mig["profiles"], w + ".profiles", [&](const YAML::Node& p, const std::string& pw) {
          DRAHIL_RETURN_IF_ERROR(
              Keys(p, pw, {"name", "id", "memory", "sms", "placementSize", "placements"},
                   {"name", "memory", "sms", "placementSize", "placements"}));
          MigProfile mp;
          DRAHIL_ASSIGN_OR_RETURN(mp.name, Str(p["name"], pw + ".name"));
          if (p["id"]) {
            DRAHIL_ASSIGN_OR_RETURN(auto id, UInt(p["id"], pw + ".id", 1000));
            mp.id = static_cast<uint32_t>(id);
          }
          DRAHIL_ASSIGN_OR_RETURN(mp.memory_bytes, Bytes(p["memory"], pw + ".memory"));
          DRAHIL_ASSIGN_OR_RETURN(auto psms, UInt(p["sms"], pw + ".sms", m->sms));
          mp.sms = static_cast<uint32_t>(psms);
          DRAHIL_ASSIGN_OR_RETURN(auto psize,
                                  UInt(p["placementSize"], pw + ".placementSize", slices));
          if (psize == 0) return Err(p["placementSize"], pw + ".placementSize: must be > 0");
          mp.placement_size = static_cast<uint32_t>(psize);
          uint64_t slice_bytes = m->memory_bytes / slices;
          if (mp.memory_bytes > slice_bytes * psize) {
            return Err(p["memory"], pw + ".memory: larger than its " + std::to_string(psize) +
                                        " memory slice(s) of the GPU");
          }
          DRAHIL_RETURN_IF_ERROR(List(p["placements"], pw + ".placements",
                                      [&](const YAML::Node& x, const std::string& xw) -> Status {
                                        DRAHIL_ASSIGN_OR_RETURN(auto start,
                                                                UInt(x, xw, slices - psize));
                                        mp.placements.push_back(static_cast<uint32_t>(start));
                                        return OkStatus();
                                      }));
          for (const auto& other : m->mig_profiles) {
            if (other.name == mp.name)
              return Err(p["name"], pw + ".name: duplicate MIG profile " + mp.name);
          }
          m->mig_profiles.push_back(std::move(mp));
          return OkStatus();
        }));
  }
  return OkStatus();
}

Status Parser::ParseGpu(const YAML::Node& n, const std::string& where, GpuSpec* g) const {
  DRAHIL_RETURN_IF_ERROR(
      Keys(n, where, {"model", "bdf", "numaNode", "minor", "nvlinkPeers", "uuidSeed", "mig"},
           {"model", "bdf"}));
  g->line = n.Mark().line + 1;
  DRAHIL_ASSIGN_OR_RETURN(g->model, Str(n["model"], where + ".model"));
  DRAHIL_ASSIGN_OR_RETURN(g->bdf, Bdf(n["bdf"], where + ".bdf"));
  if (n["numaNode"]) {
    DRAHIL_ASSIGN_OR_RETURN(g->numa_node, NumaNode(n["numaNode"], where + ".numaNode"));
  }
  if (n["minor"]) {
    DRAHIL_ASSIGN_OR_RETURN(auto minor, UInt(n["minor"], where + ".minor", 254));
    g->minor = static_cast<uint32_t>(minor);
  }
  if (n["uuidSeed"]) {
    DRAHIL_ASSIGN_OR_RETURN(g->uuid_seed, Str(n["uuidSeed"], where + ".uuidSeed"));
  }
  if (n["nvlinkPeers"]) {
    DRAHIL_RETURN_IF_ERROR(List(n["nvlinkPeers"], where + ".nvlinkPeers",
                                [&](const YAML::Node& x, const std::string& xw) -> Status {
                                  DRAHIL_ASSIGN_OR_RETURN(auto v, UInt(x, xw, 1023));
                                  g->nvlink_peers.push_back(static_cast<uint32_t>(v));
                                  return OkStatus();
                                }));
  }
  if (const YAML::Node mig = n["mig"]) {
    std::string w = where + ".mig";
    DRAHIL_RETURN_IF_ERROR(Keys(mig, w, {"enabled", "devices"}, {"enabled"}));
    DRAHIL_ASSIGN_OR_RETURN(g->mig_enabled, Bool(mig["enabled"], w + ".enabled"));
    if (mig["devices"]) {
      if (!g->mig_enabled)
        return Err(mig["devices"], w + ".devices: MIG devices need enabled: true");
      DRAHIL_RETURN_IF_ERROR(List(
          mig["devices"], w + ".devices",
          [&](const YAML::Node& d, const std::string& dw) -> Status {
            DRAHIL_RETURN_IF_ERROR(Keys(d, dw, {"profile", "placement"}, {"profile", "placement"}));
            MigInstanceSpec s;
            s.line = d.Mark().line + 1;
            DRAHIL_ASSIGN_OR_RETURN(s.profile, Str(d["profile"], dw + ".profile"));
            DRAHIL_ASSIGN_OR_RETURN(auto pl, UInt(d["placement"], dw + ".placement", 63));
            s.placement = static_cast<uint32_t>(pl);
            g->mig_devices.push_back(std::move(s));
            return OkStatus();
          }));
    }
  }
  return OkStatus();
}

Status Parser::ParseFpga(const YAML::Node& n, const std::string& where, FpgaSpec* f) const {
  DRAHIL_RETURN_IF_ERROR(Keys(n, where,
                              {"vendor", "name", "shell", "bdf", "deviceId", "userDeviceId",
                               "numaNode", "prRegions", "vfs"},
                              {"vendor", "name", "bdf", "deviceId"}));
  f->line = n.Mark().line + 1;
  DRAHIL_ASSIGN_OR_RETURN(f->vendor, Str(n["vendor"], where + ".vendor"));
  if (f->vendor != "xilinx" && f->vendor != "intel") {
    return Err(n["vendor"], where + ".vendor: want xilinx or intel, got \"" + f->vendor + "\"");
  }
  DRAHIL_ASSIGN_OR_RETURN(f->name, Str(n["name"], where + ".name"));
  if (n["shell"]) {
    DRAHIL_ASSIGN_OR_RETURN(f->shell, Str(n["shell"], where + ".shell"));
  }
  DRAHIL_ASSIGN_OR_RETURN(f->bdf, Bdf(n["bdf"], where + ".bdf"));
  DRAHIL_ASSIGN_OR_RETURN(auto dev, UInt(n["deviceId"], where + ".deviceId", 0xffff));
  f->device_id = static_cast<uint32_t>(dev);
  if (n["userDeviceId"]) {
    if (f->vendor != "xilinx")
      return Err(n["userDeviceId"], where + ".userDeviceId: only Xilinx cards have a user PF");
    DRAHIL_ASSIGN_OR_RETURN(auto v, UInt(n["userDeviceId"], where + ".userDeviceId", 0xffff));
    f->user_device_id = static_cast<uint32_t>(v);
  } else if (f->vendor == "xilinx") {
    f->user_device_id = f->device_id + 1;  // Alveo: user PF id follows the management PF id
  }
  if (n["numaNode"]) {
    DRAHIL_ASSIGN_OR_RETURN(f->numa_node, NumaNode(n["numaNode"], where + ".numaNode"));
  }
  if (n["prRegions"]) {
    DRAHIL_RETURN_IF_ERROR(List(
        n["prRegions"], where + ".prRegions",
        [&](const YAML::Node& r, const std::string& rw) -> Status {
          DRAHIL_RETURN_IF_ERROR(Keys(r, rw, {"name", "interfaceId"}, {"name"}));
          PrRegion pr;
          DRAHIL_ASSIGN_OR_RETURN(pr.name, Str(r["name"], rw + ".name"));
          if (r["interfaceId"]) {
            DRAHIL_ASSIGN_OR_RETURN(pr.interface_id, Str(r["interfaceId"], rw + ".interfaceId"));
          }
          f->pr_regions.push_back(std::move(pr));
          return OkStatus();
        }));
  }
  if (const YAML::Node vfs = n["vfs"]) {
    std::string w = where + ".vfs";
    DRAHIL_RETURN_IF_ERROR(
        Keys(vfs, w, {"total", "enabled", "deviceId"}, {"total", "enabled", "deviceId"}));
    DRAHIL_ASSIGN_OR_RETURN(auto total, UInt(vfs["total"], w + ".total", 64));
    DRAHIL_ASSIGN_OR_RETURN(auto enabled, UInt(vfs["enabled"], w + ".enabled", 64));
    DRAHIL_ASSIGN_OR_RETURN(auto vdev, UInt(vfs["deviceId"], w + ".deviceId", 0xffff));
    if (enabled > total)
      return Err(vfs["enabled"], w + ".enabled: more than total (" + std::to_string(total) + ")");
    f->total_vfs = static_cast<uint32_t>(total);
    f->num_vfs = static_cast<uint32_t>(enabled);
    f->vf_device_id = static_cast<uint32_t>(vdev);
  }
  return OkStatus();
}

Status Parser::Validate(const YAML::Node& root, const Profile& p) const {
  const YAML::Node gpus = root["gpus"];
  const YAML::Node fpgas = root["fpgas"];
  std::set<std::string> bdfs;
  std::set<uint32_t> minors;
  for (size_t i = 0; i < p.gpus.size(); ++i) {
    const GpuSpec& g = p.gpus[i];
    const YAML::Node gn = gpus[i];
    std::string w = "gpus[" + std::to_string(i) + "]";
    auto mit = p.gpu_models.find(g.model);
    if (mit == p.gpu_models.end())
      return Err(gn["model"], w + ".model: no gpuModels entry \"" + g.model + "\"");
    const GpuModel& m = mit->second;
    if (!bdfs.insert(g.bdf).second) return Err(gn["bdf"], w + ".bdf: " + g.bdf + " is used twice");
    uint32_t minor = g.minor.value_or(static_cast<uint32_t>(i));
    if (!minors.insert(minor).second)
      return Err(gn, w + ": minor " + std::to_string(minor) + " is used twice");
    for (size_t k = 0; k < g.nvlink_peers.size(); ++k) {
      uint32_t peer = g.nvlink_peers[k];
      if (peer >= p.gpus.size() || peer == i) {
        return Err(gn["nvlinkPeers"][k],
                   w + ".nvlinkPeers: " + std::to_string(peer) + " is not another GPU's index");
      }
    }
    if (g.mig_enabled && m.memory_slices == 0) {
      return Err(gn["mig"], w + ".mig: model " + g.model + " is not MIG-capable");
    }
    std::vector<bool> used(m.memory_slices, false);
    if (g.mig_devices.size() > m.max_mig_devices) {
      return Err(gn["mig"]["devices"], w + ".mig.devices: more than " +
                                           std::to_string(m.max_mig_devices) + " MIG devices");
    }
    for (size_t k = 0; k < g.mig_devices.size(); ++k) {
      const MigInstanceSpec& s = g.mig_devices[k];
      const YAML::Node dn = gn["mig"]["devices"][k];
      std::string dw = w + ".mig.devices[" + std::to_string(k) + "]";
      auto pit = std::find_if(m.mig_profiles.begin(), m.mig_profiles.end(),
                              [&](const MigProfile& mp) { return mp.name == s.profile; });
      if (pit == m.mig_profiles.end())
        return Err(dn["profile"],
                   dw + ".profile: model " + g.model + " has no MIG profile \"" + s.profile + "\"");
      if (std::find(pit->placements.begin(), pit->placements.end(), s.placement) ==
          pit->placements.end()) {
        return Err(dn["placement"], dw + ".placement: " + std::to_string(s.placement) +
                                        " is not a valid placement of " + s.profile);
      }
      for (uint32_t sl = s.placement; sl < s.placement + pit->placement_size; ++sl) {
        if (used[sl])
          return Err(dn,
                     dw + ": overlaps another MIG device at memory slice " + std::to_string(sl));
        used[sl] = true;
      }
    }
  }
  for (size_t i = 0; i < p.fpgas.size(); ++i) {
    const FpgaSpec& f = p.fpgas[i];
    std::string w = "fpgas[" + std::to_string(i) + "]";
    for (const auto& bdf : FpgaFunctionBdfs(f)) {
      if (!bdfs.insert(bdf).second)
        return Err(fpgas[i]["bdf"], w + ": PCI function " + bdf + " collides with another device");
    }
  }
  return OkStatus();
}

Result<Profile> Parser::Parse(const YAML::Node& root) {
  DRAHIL_RETURN_IF_ERROR(Keys(
      root, "profile",
      {"schema", "name", "description", "nodeName", "seed", "nvidia", "gpuModels", "gpus", "fpgas"},
      {"schema", "name"}));
  Profile p;
  DRAHIL_ASSIGN_OR_RETURN(auto schema, Str(root["schema"], "schema"));
  if (schema != kSchema)
    return Err(root["schema"],
               "schema: want \"" + std::string(kSchema) + "\", got \"" + schema + "\"");
  DRAHIL_ASSIGN_OR_RETURN(p.name, Str(root["name"], "name"));
  if (root["description"]) {
    DRAHIL_ASSIGN_OR_RETURN(p.description, Str(root["description"], "description"));
  }
  if (root["nodeName"]) {
    DRAHIL_ASSIGN_OR_RETURN(p.node_name, Str(root["nodeName"], "nodeName"));
  }
  if (root["seed"]) {
    DRAHIL_ASSIGN_OR_RETURN(p.seed, Str(root["seed"], "seed"));
  }
  if (const YAML::Node nv = root["nvidia"]) {
    DRAHIL_RETURN_IF_ERROR(
        Keys(nv, "nvidia", {"driverVersion", "nvmlVersion", "cudaDriverVersion"}, {}));
    if (nv["driverVersion"]) {
      DRAHIL_ASSIGN_OR_RETURN(p.driver_version, Str(nv["driverVersion"], "nvidia.driverVersion"));
    }
    if (nv["nvmlVersion"]) {
      DRAHIL_ASSIGN_OR_RETURN(p.nvml_version, Str(nv["nvmlVersion"], "nvidia.nvmlVersion"));
    }
    if (nv["cudaDriverVersion"]) {
      DRAHIL_ASSIGN_OR_RETURN(auto v,
                              UInt(nv["cudaDriverVersion"], "nvidia.cudaDriverVersion", 999999));
      p.cuda_driver_version = static_cast<int>(v);
    }
  }
  if (const YAML::Node models = root["gpuModels"]) {
    if (!models.IsMap()) return Err(models, "gpuModels: expected a mapping of model id to model");
    for (auto it = models.begin(); it != models.end(); ++it) {
      GpuModel m;
      m.id = it->first.Scalar();
      DRAHIL_RETURN_IF_ERROR(ParseModel(it->second, "gpuModels." + m.id, &m));
      p.gpu_models[m.id] = std::move(m);
    }
  }
  if (root["gpus"]) {
    DRAHIL_RETURN_IF_ERROR(
        List(root["gpus"], "gpus", [&](const YAML::Node& n, const std::string& w) {
          GpuSpec g;
          DRAHIL_RETURN_IF_ERROR(ParseGpu(n, w, &g));
          p.gpus.push_back(std::move(g));
          return OkStatus();
        }));
  }
  if (root["fpgas"]) {
    DRAHIL_RETURN_IF_ERROR(
        List(root["fpgas"], "fpgas", [&](const YAML::Node& n, const std::string& w) {
          FpgaSpec f;
          DRAHIL_RETURN_IF_ERROR(ParseFpga(n, w, &f));
          p.fpgas.push_back(std::move(f));
          return OkStatus();
        }));
  }
  if (p.gpus.empty() && p.fpgas.empty()) return Err(root, "profile has neither gpus nor fpgas");
  DRAHIL_RETURN_IF_ERROR(Validate(root, p));
  return p;
}

}  // namespace

Result<Profile> ParseProfile(const std::string& text, const std::string& filename) {
  DRAHIL_ASSIGN_OR_RETURN(std::vector<YAML::Node> docs, formats::ParseYamlStream(text, filename));
  YAML::Node root = docs.empty() ? YAML::Node() : docs.front();
  if (!root.IsMap()) return InvalidArgumentError(filename + ": a profile is a YAML mapping");
  DRAHIL_RETURN_IF_ERROR(formats::CheckYamlLimits({root}, filename));
  try {
    return Parser(filename).Parse(root);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(filename + ":" + std::to_string(e.mark.line + 1) + ":" +
                                std::to_string(e.mark.column + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    return InvalidArgumentError(filename + ": " + e.what());
  }
}

Result<Profile> LoadProfile(const std::string& path) {
  DRAHIL_ASSIGN_OR_RETURN(auto text, ReadFile(path, 4u << 20));
  DRAHIL_ASSIGN_OR_RETURN(auto p, ParseProfile(text, path));
  p.path = path;
  return p;
}

}  // namespace drahil::fakenode
