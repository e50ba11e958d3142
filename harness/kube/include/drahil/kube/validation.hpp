// File: validation.hpp
//
// Validation of API objects with the rules and limits of the real API server
// (resource.k8s.io/v1 as of Kubernetes 1.36; see
// docs/reference/protocol.md §4 and the limits table in §4.6), producing
// errors that read like the API server's:
//
//   spec.devices[3].name: Invalid value: "X": a lowercase RFC 1123 label must ...
//   spec.driver: Required value
//   spec.devices: Too many: 129: must have at most 128 items
//
// The apiserver answers 422 with these errors as Status causes
// (ToStatusCauses). Validation never throws, whatever JSON it is given:
// fields of the wrong JSON type are reported as errors.
//
// Thread-safety: pure functions.
#ifndef DRAHIL_KUBE_VALIDATION_HPP_INCLUDED
#define DRAHIL_KUBE_VALIDATION_HPP_INCLUDED

#include <string>
#include <string_view>
#include <vector>

#include "drahil/core/feature_gates.hpp"
#include "drahil/core/names.hpp"
#include "drahil/kube/object.hpp"

namespace drahil::kube {

enum class ErrorType {
  kNotFound,
  kRequired,
  kDuplicate,
  kInvalid,
  kNotSupported,
  kForbidden,
  kTooLong,
  kTooMany,
  kInternal,
  kTypeInvalid,
};

// ErrorTypeString(): "Invalid value", "Required value", "Too many", ...
std::string_view ErrorTypeString(ErrorType type);
// ErrorTypeReason(): the StatusCause reason: "FieldValueInvalid", ...
std::string_view ErrorTypeReason(ErrorType type);

struct FieldError {
  ErrorType type = ErrorType::kInvalid;
  std::string field;   // "spec.devices[3].name"
  Object bad_value;    // null when the error type carries no value
  std::string detail;  // may be empty

  // ToString(): "<field>: <Body()>".
  [[nodiscard]] std::string ToString() const;
  // Body(): "Invalid value: \"x\": detail". Strings are quoted, numbers and
  // booleans printed plainly; Required/Forbidden/TooLong/Internal omit the value.
  [[nodiscard]] std::string Body() const;
};

// Constructors in the style of apimachinery's field package.
FieldError Required(std::string field, std::string detail = {});
FieldError Invalid(std::string field, Object value, std::string detail);
FieldError NotSupported(std::string field, Object value, const std::vector<std::string>& supported);
FieldError Duplicate(std::string field, Object value);
FieldError Forbidden(std::string field, std::string detail);
FieldError TooLong(std::string field, size_t max_bytes);
FieldError TooMany(std::string field, size_t actual, size_t max_items);
FieldError TypeInvalid(std::string field, Object value, std::string detail);

// StatusCause: one entry of Status.details.causes.
struct StatusCause {
  std::string reason;   // "FieldValueInvalid"
  std::string message;  // FieldError::Body()
  std::string field;    // "spec.devices[3].name"
};
std::vector<StatusCause> ToStatusCauses(const std::vector<FieldError>& errors);
// ErrorsToString(): one error as its ToString(); several as
// "[e1, e2]" (apimachinery's aggregate format), duplicates dropped.
std::string ErrorsToString(const std::vector<FieldError>& errors);

// version: the Kubernetes release whose rules apply (default the newest).
// The differences: taint and toleration effect "None" only from 1.35; on
// 1.34 a ResourceSlice may carry sharedCounters beside devices and each
// consumesCounters entry must name a counter set (and counters) of the same
// slice, from 1.35 a slice has one or the other.
//
// Validate(): the create-time rules for obj's kind (looked up from apiVersion
// and kind; an unknown kind yields one error on "kind"). Checks metadata
// (name or generateName, namespace presence per scope, labels, annotations)
// and the spec of the resource.k8s.io/v1 kinds; core kinds get metadata
// checks plus the few spec fields DRA uses.
std::vector<FieldError> Validate(const Object& obj, KubeVersion version = KubeVersion::Newest());

// ValidateUpdate(): Validate(new_obj) plus immutability: metadata.name,
// metadata.namespace, metadata.uid, kind; ResourceSlice spec.driver,
// spec.pool.name, spec.nodeName; ResourceClaim spec; ResourceClaimTemplate
// spec; Pod spec.resourceClaims.
std::vector<FieldError> ValidateUpdate(const Object& old_obj, const Object& new_obj,
                                       KubeVersion version = KubeVersion::Newest());

// ValidateStatusUpdate(): for PUT .../status (ResourceClaim, Pod): the
// status limits (allocation results ≤32, config ≤64, reservedFor ≤256,
// devices conditions/data/networkData) and that the allocation is not
// changed while set (it may only be added or removed).
std::vector<FieldError> ValidateStatusUpdate(const Object& old_obj, const Object& new_obj,
                                             KubeVersion version = KubeVersion::Newest());

// ---- name rules (return the detail messages; empty vector = valid) ---------
// drahil/core/names.hpp, shared with the CEL format library.
using ::drahil::IsCIdentifier;
using ::drahil::IsDns1035Label;
using ::drahil::IsDns1123Label;
using ::drahil::IsDns1123Subdomain;
using ::drahil::IsQualifiedName;
using ::drahil::IsValidLabelValue;

}  // namespace drahil::kube

#endif  // DRAHIL_KUBE_VALIDATION_HPP_INCLUDED
