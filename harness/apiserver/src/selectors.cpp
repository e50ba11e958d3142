#include "selectors.hpp"

#include "resources.hpp"

namespace drahil::apiserver::internal {

std::optional<LabelSelector> LabelSelector::Parse(std::string_view text, std::string* error) {
  auto r = kube::LabelSelector::Parse(text);
  if (!r.ok()) {
    *error = r.status().message();
    return std::nullopt;
  }
  LabelSelector s;
  s.sel_ = std::move(*r);
  return s;
}

std::optional<FieldSelector> FieldSelector::Parse(std::string_view text, const ResourceInfo& info,
                                                  std::string* error) {
  auto r = kube::FieldSelector::Parse(text);
  if (!r.ok()) {
    *error = r.status().message();
    return std::nullopt;
  }
  FieldSelector s;
  for (const auto& req : r->requirements()) {
    const FieldLabel* f = info.FindField(req.field);
    if (f == nullptr) {
      *error = info.UnsupportedFieldMessage(req.field);
      return std::nullopt;
    }
    s.reqs_.push_back({req.field, f->path, f->absent, req.equals, req.value});
  }
  return s;
}

bool FieldSelector::Matches(const nlohmann::json& obj) const {
  for (const auto& r : reqs_) {
    std::string v = kube::FieldValue(obj, r.path);
    if (v.empty()) v = r.absent;
    if ((v == r.value) != r.equals) return false;
  }
  return true;
}

std::optional<std::string> FieldSelector::ExactName() const {
  for (const auto& r : reqs_) {
    if (r.label == "metadata.name" && r.equals) return r.value;
  }
  return std::nullopt;
}

}  // namespace drahil::apiserver::internal
