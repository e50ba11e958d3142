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

const char* ValidatorName() { return "drahil::kube (Kubernetes 1.36 rules)"; }

std::vector<FieldCause> ValidateCreate(const ResourceInfo&, const nlohmann::json& obj) {
  return Convert(kube::Validate(obj));
}

std::vector<FieldCause> ValidateUpdate(const ResourceInfo&, const nlohmann::json& obj,
                                       const nlohmann::json& old) {
  return Convert(kube::ValidateUpdate(old, obj));
}

std::vector<FieldCause> ValidateStatusUpdate(const ResourceInfo&, const nlohmann::json& obj,
                                             const nlohmann::json& old) {
  return Convert(kube::ValidateStatusUpdate(old, obj));
}

}  // namespace drahil::apiserver::internal
