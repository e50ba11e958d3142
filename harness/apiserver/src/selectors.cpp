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
  for (const auto& req : r->requirements()) {
    if (!info.SupportsField(req.field)) {
      *error = "field label not supported: " + req.field;
      return std::nullopt;
    }
  }
  FieldSelector s;
  s.sel_ = std::move(*r);
  return s;
}

}  // namespace drahil::apiserver::internal
