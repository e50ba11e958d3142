#include "publisher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace drahil::refdriver {
namespace {
// Spec without the pool generation, for "did anything change".
Json Comparable(Json spec) {
  if (spec.contains("pool")) spec["pool"].erase("generation");
  return spec;
}
}  // namespace

Status SlicePublisher::Sync(const std::vector<Json>& desired) {
  std::lock_guard<std::mutex> lock(mu_);
  if (owner_.is_null()) {
    auto node = api_->Get("nodes", "", opts_.node_name);
    if (node.ok()) {
      owner_ = Json{{"apiVersion", "v1"},
                    {"kind", "Node"},
                    {"name", opts_.node_name},
                    {"uid", (*node)["metadata"].value("uid", "")},
                    {"controller", true}};
    } else {
      spdlog::warn("node {}: {}; slices get no owner reference", opts_.node_name,
                   node.status().message());
    }
  }
  kube::ListOptions lo;
  lo.field_selector = "spec.driver=" + opts_.driver_name + ",spec.nodeName=" + opts_.node_name;
  DRAHIL_ASSIGN_OR_RETURN(auto list, api_->ListAll("resourceslices", "", lo));
  std::vector<Json> existing;
  for (const auto& item : list.value("items", Json::array())) existing.push_back(item);
  std::sort(existing.begin(), existing.end(), [](const Json& a, const Json& b) {
    return a["metadata"].value("name", "") < b["metadata"].value("name", "");
  });
  int64_t generation = 0;
  for (const auto& s : existing)
    generation = std::max<int64_t>(generation, s["spec"]["pool"].value("generation", 0));

  bool same = existing.size() == desired.size();
  for (size_t i = 0; same && i < desired.size(); ++i)
    same = Comparable(existing[i]["spec"]) == Comparable(desired[i]["spec"]);
  if (same && !existing.empty()) return OkStatus();

  // The pool changes: bump the generation so consumers drop the old view.
  if (!opts_.Bug("stale-generation") || existing.empty()) ++generation;
  Status first;
  for (size_t i = 0; i < desired.size(); ++i) {
    Json obj = desired[i];
    obj["spec"]["pool"]["generation"] = generation;
    if (!owner_.is_null()) obj["metadata"]["ownerReferences"] = Json::array({owner_});
    if (i < existing.size()) {
      obj["metadata"]["name"] = existing[i]["metadata"]["name"];
      obj["metadata"]["resourceVersion"] = existing[i]["metadata"]["resourceVersion"];
      obj["metadata"].erase("generateName");
      auto r = api_->Update(obj);
      if (!r.ok() && first.ok()) first = r.status().WithContext("update ResourceSlice");
    } else {
      auto r = api_->CreateObject(obj);
      if (!r.ok() && first.ok()) first = r.status().WithContext("create ResourceSlice");
    }
  }
  for (size_t i = desired.size(); i < existing.size(); ++i) {
    kube::DeleteOptions d;
    d.precondition_uid = existing[i]["metadata"].value("uid", "");
    d.precondition_resource_version = existing[i]["metadata"].value("resourceVersion", "");
    d.ignore_not_found = true;
    auto s = api_->Delete("resourceslices", "", existing[i]["metadata"].value("name", ""), d);
    if (!s.ok() && first.ok()) first = s.WithContext("delete ResourceSlice");
  }
  if (first.ok())
    spdlog::info("published {} ResourceSlice(s), pool generation {}", desired.size(), generation);
  return first;
}

}  // namespace drahil::refdriver
