#include "claim_cache.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "drahil/core/file_util.hpp"

namespace drahil::kubelet::internal {
namespace {

using nlohmann::json;

constexpr char kVersion[] = "drahil.kubelet/v1";

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

json RefToJson(const ClaimRef& r) {
  return json{{"namespace", r.namespace_name}, {"uid", r.uid}, {"name", r.name}};
}
ClaimRef RefFromJson(const json& j) {
  return ClaimRef{j.at("namespace").get<std::string>(), j.at("uid").get<std::string>(),
                  j.at("name").get<std::string>()};
}

json DeviceToJson(const Device& d) {
  json j{{"requestNames", d.request_names},
         {"poolName", d.pool_name},
         {"deviceName", d.device_name},
         {"cdiDeviceIDs", d.cdi_device_ids}};
  if (d.share_id) j["shareID"] = *d.share_id;
  return j;
}
Device DeviceFromJson(const json& j) {
  Device d;
  d.request_names = j.at("requestNames").get<std::vector<std::string>>();
  d.pool_name = j.at("poolName").get<std::string>();
  d.device_name = j.at("deviceName").get<std::string>();
  d.cdi_device_ids = j.at("cdiDeviceIDs").get<std::vector<std::string>>();
  if (j.contains("shareID")) d.share_id = j.at("shareID").get<std::string>();
  return d;
}

json PodToJson(const Pod& p) {
  json claims = json::array();
  for (const auto& c : p.claims) {
    claims.push_back(json{{"name", c.name}, {"claim", RefToJson(c.claim)}, {"drivers", c.drivers}});
  }
  json containers = json::array();
  for (const auto& c : p.containers) {
    json refs = json::array();
    for (const auto& r : c.claims) refs.push_back(json{{"name", r.name}, {"request", r.request}});
    containers.push_back(json{{"name", c.name}, {"claims", refs}});
  }
  return json{{"namespace", p.namespace_name},
              {"name", p.name},
              {"uid", p.uid},
              {"claims", claims},
              {"containers", containers}};
}
Pod PodFromJson(const json& j) {
  Pod p;
  p.namespace_name = j.at("namespace").get<std::string>();
  p.name = j.at("name").get<std::string>();
  p.uid = j.at("uid").get<std::string>();
  for (const auto& c : j.at("claims")) {
    p.claims.push_back(PodClaim{c.at("name").get<std::string>(), RefFromJson(c.at("claim")),
                                c.at("drivers").get<std::vector<std::string>>()});
  }
  for (const auto& c : j.at("containers")) {
    Container ct;
    ct.name = c.at("name").get<std::string>();
    for (const auto& r : c.at("claims")) {
      ct.claims.push_back(
          ContainerClaim{r.at("name").get<std::string>(), r.at("request").get<std::string>()});
    }
    p.containers.push_back(std::move(ct));
  }
  return p;
}

}  // namespace

std::string ClaimCache::Serialize() const {
  json claims = json::array();
  for (const auto& [uid, info] : claims_) {
    json drivers = json::object();
    for (const auto& [driver, devices] : info.drivers) {
      json devs = json::array();
      for (const auto& d : devices) devs.push_back(DeviceToJson(d));
      drivers[driver] = devs;
    }
    claims.push_back(
        json{{"claim", RefToJson(info.claim)}, {"podUIDs", info.pod_uids}, {"drivers", drivers}});
  }
  json pods = json::array();
  for (const auto& [uid, pod] : pods_) pods.push_back(PodToJson(pod));
  json data{{"version", kVersion}, {"claims", claims}, {"pods", pods}};
  std::string text = data.dump();
  json doc{{"data", data}, {"checksum", Fnv1a(text)}};
  return doc.dump(1) + "\n";
}

Status ClaimCache::Parse(const std::string& text) {
  std::map<std::string, ClaimInfo> claims;
  std::map<std::string, Pod> pods;
  try {
    json doc = json::parse(text);
    const json& data = doc.at("data");
    uint64_t want = doc.at("checksum").get<uint64_t>();
    if (Fnv1a(data.dump()) != want) {
      return Status(Code::kDataLoss, "checksum mismatch (file corrupted or edited)");
    }
    if (data.at("version").get<std::string>() != kVersion) {
      return Status(Code::kFailedPrecondition,
                    "unsupported version " + data.at("version").get<std::string>());
    }
    for (const auto& c : data.at("claims")) {
      ClaimInfo info;
      info.claim = RefFromJson(c.at("claim"));
      info.pod_uids = c.at("podUIDs").get<std::vector<std::string>>();
      for (const auto& [driver, devs] : c.at("drivers").items()) {
        std::vector<Device> devices;
        for (const auto& d : devs) devices.push_back(DeviceFromJson(d));
        info.drivers.emplace_back(driver, std::move(devices));
      }
      claims[info.claim.uid] = std::move(info);
    }
    for (const auto& p : data.at("pods")) {
      Pod pod = PodFromJson(p);
      pods[pod.uid] = std::move(pod);
    }
  } catch (const std::exception& e) {
    return Status(Code::kDataLoss, std::string("malformed checkpoint: ") + e.what());
  }
  claims_ = std::move(claims);
  pods_ = std::move(pods);
  return OkStatus();
}

Status ClaimCache::Load() {
  Clear();
  if (path_.empty() || !PathExists(path_)) return OkStatus();
  DRAHIL_ASSIGN_OR_RETURN(std::string text, ReadFile(path_));
  return Parse(text).WithContext("load checkpoint " + path_);
}

Status ClaimCache::Save() const {
  if (path_.empty()) return OkStatus();
  return AtomicWriteFile(path_, Serialize(), 0600).WithContext("write checkpoint " + path_);
}

void ClaimCache::Clear() {
  claims_.clear();
  pods_.clear();
}

ClaimInfo* ClaimCache::Find(const std::string& uid) {
  auto it = claims_.find(uid);
  return it == claims_.end() ? nullptr : &it->second;
}

ClaimInfo* ClaimCache::FindByName(const std::string& namespace_name, const std::string& name) {
  for (auto& [uid, info] : claims_)
    if (info.claim.namespace_name == namespace_name && info.claim.name == name) return &info;
  return nullptr;
}

ClaimInfo& ClaimCache::GetOrAdd(const ClaimRef& ref) {
  auto [it, added] = claims_.try_emplace(ref.uid);
  if (added) it->second.claim = ref;
  return it->second;
}

void ClaimCache::Remove(const std::string& uid) { claims_.erase(uid); }

void ClaimCache::SetDevices(ClaimInfo& info, const std::string& driver,
                            std::vector<Device> devices) {
  for (auto& [d, devs] : info.drivers) {
    if (d == driver) {
      devs = std::move(devices);
      return;
    }
  }
  info.drivers.emplace_back(driver, std::move(devices));
}

void ClaimCache::AddPod(ClaimInfo& info, const std::string& pod_uid) {
  if (std::find(info.pod_uids.begin(), info.pod_uids.end(), pod_uid) == info.pod_uids.end()) {
    info.pod_uids.push_back(pod_uid);
  }
}

void ClaimCache::RemovePod(ClaimInfo& info, const std::string& pod_uid) {
  info.pod_uids.erase(std::remove(info.pod_uids.begin(), info.pod_uids.end(), pod_uid),
                      info.pod_uids.end());
}

std::vector<ClaimInfo> ClaimCache::Claims() const {
  std::vector<ClaimInfo> out;
  for (const auto& [uid, info] : claims_) out.push_back(info);
  return out;
}

bool DeviceMatches(const Device& d, const std::string& request) {
  if (request.empty() || d.request_names.empty()) return true;
  return std::find(d.request_names.begin(), d.request_names.end(), request) !=
         d.request_names.end();
}

std::vector<ResourceStatus> DeriveResourceStatus(
    const Pod& pod, const Container& container, const std::map<std::string, ClaimInfo>& claims,
    const std::function<HealthState(const std::string&, const std::string&, const std::string&)>&
        health) {
  std::vector<ResourceStatus> out;
  for (const auto& ref : container.claims) {
    const PodClaim* pc = nullptr;
    for (const auto& c : pod.claims) {
      if (c.name == ref.name) pc = &c;
    }
    if (pc == nullptr) continue;
    ResourceStatus rs;
    rs.name = "claim:" + ref.name + (ref.request.empty() ? "" : "/" + ref.request);
    auto it = claims.find(pc->claim.uid);
    if (it != claims.end()) {
      for (const auto& [driver, devices] : it->second.drivers) {
        for (const auto& d : devices) {
          if (!DeviceMatches(d, ref.request)) continue;
          ResourceHealth rh;
          rh.resource_id = d.cdi_device_ids.empty()
                               ? driver + "/" + d.pool_name + "/" + d.device_name
                               : d.cdi_device_ids.front();
          rh.health = std::string(HealthName(health(driver, d.pool_name, d.device_name)));
          rs.resources.push_back(std::move(rh));
        }
      }
    }
    out.push_back(std::move(rs));
  }
  return out;
}

}  // namespace drahil::kubelet::internal
