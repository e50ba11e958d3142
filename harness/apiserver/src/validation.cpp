#include "validation.hpp"

#include "drahil/kube/validation.hpp"

namespace drahil::apiserver::internal {

namespace {

std::vector<FieldCause> Convert(const std::vector<kube::FieldError>& errors) {
  std::vector<FieldCause> out;
  out.reserve(errors.size());
  for (const auto& e : errors) {
    out.push_back({std::string(kube::ErrorTypeReason(e.type)), e.field, e.Body()});
  }
  return out;
}

}  // namespace

const char* ValidatorName() { return "drahil::kube (the chosen Kubernetes version's rules)"; }

std::vector<FieldCause> ValidateCreate(const ResourceInfo&, const nlohmann::json& obj,
                                       KubeVersion version) {
  return Convert(kube::Validate(obj, version));
}

std::vector<FieldCause> ValidateUpdate(const ResourceInfo&, const nlohmann::json& obj,
                                       const nlohmann::json& old, KubeVersion version) {
  return Convert(kube::ValidateUpdate(old, obj, version));
}

std::vector<FieldCause> ValidateStatusUpdate(const ResourceInfo&, const nlohmann::json& obj,
                                             const nlohmann::json& old, KubeVersion version) {
  return Convert(kube::ValidateStatusUpdate(old, obj, version));
}

}  // namespace drahil::apiserver::internal
