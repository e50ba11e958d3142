// Validation with the rules and limits of the real API server. The rules
// follow pkg/apis/resource/validation and apimachinery's name checks as of
// Kubernetes 1.36 (docs/reference/protocol.md §4); the messages are written
// to read like the API server's so a driver vendor recognises them.
//
// The file mirrors one upstream file, kubernetes/kubernetes
// pkg/apis/resource/validation/validation.go (with the apimachinery name
// helpers it calls), so that a rule changed upstream is found and ported in
// one place. It is kept whole for that reason, although it is longer than
// the ~800 lines the other sources keep to.
#include "drahil/kube/validation.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <set>

#include "drahil/allocator/cel.hpp"
#include "drahil/core/quantity.hpp"
#include "drahil/core/semver.hpp"

namespace drahil::kube {

// ---- limits (docs/reference/protocol.md §4.6) ---------------------------
namespace {
constexpr size_t kMaxDevicesPerSlice = 128;
constexpr size_t kMaxDevicesPerSliceWithTaintsOrCounters = 64;
constexpr size_t kMaxAttributesAndCapacities = 32;
constexpr size_t kMaxAttributeValues = 48;
constexpr size_t kMaxAttributeStringLength = 64;
constexpr size_t kMaxIdLength = 32;
constexpr size_t kMaxDomainLength = 63;
constexpr size_t kMaxDriverNameLength = 63;
constexpr size_t kMaxPoolNameLength = 253;
constexpr size_t kMaxTaints = 16;
constexpr size_t kMaxTolerations = 16;
constexpr size_t kMaxCounterSets = 8;
constexpr size_t kMaxCountersPerSet = 32;
constexpr size_t kMaxConsumesCounters = 2;
constexpr size_t kMaxBindingConditions = 4;
constexpr size_t kMaxRequests = 32;
constexpr size_t kMaxSubRequests = 8;
constexpr size_t kMaxSelectors = 32;
constexpr size_t kMaxConstraints = 32;
constexpr size_t kMaxConfigs = 32;
constexpr size_t kMaxAllocationResults = 32;
constexpr size_t kMaxAllocationConfigs = 64;
constexpr size_t kMaxReservedFor = 256;
constexpr size_t kMaxOpaqueParameters = 10 * 1024;
constexpr size_t kMaxStatusData = 10 * 1024;
constexpr size_t kMaxDeviceConditions = 8;
constexpr size_t kMaxIps = 16;
constexpr size_t kMaxInterfaceName = 256;
constexpr size_t kMaxHardwareAddress = 128;
constexpr size_t kMaxCelLength = 10 * 1024;
constexpr size_t kMaxCapacityValidValues = 10;
constexpr size_t kMaxAnnotationsBytes = 256 * 1024;

}  // namespace

// ---- FieldError -----------------------------------------------------------

std::string_view ErrorTypeString(ErrorType type) {
  switch (type) {
    case ErrorType::kNotFound:
      return "Not found";
    case ErrorType::kRequired:
      return "Required value";
    case ErrorType::kDuplicate:
      return "Duplicate value";
    case ErrorType::kInvalid:
      return "Invalid value";
    case ErrorType::kNotSupported:
      return "Unsupported value";
    case ErrorType::kForbidden:
      return "Forbidden";
    case ErrorType::kTooLong:
      return "Too long";
    case ErrorType::kTooMany:
      return "Too many";
    case ErrorType::kInternal:
      return "Internal error";
    case ErrorType::kTypeInvalid:
      return "Invalid value";
  }
  return "Invalid value";
}

std::string_view ErrorTypeReason(ErrorType type) {
  switch (type) {
    case ErrorType::kNotFound:
      return "FieldValueNotFound";
    case ErrorType::kRequired:
      return "FieldValueRequired";
    case ErrorType::kDuplicate:
      return "FieldValueDuplicate";
    case ErrorType::kInvalid:
      return "FieldValueInvalid";
    case ErrorType::kNotSupported:
      return "FieldValueNotSupported";
    case ErrorType::kForbidden:
      return "FieldValueForbidden";
    case ErrorType::kTooLong:
      return "FieldValueTooLong";
    case ErrorType::kTooMany:
      return "FieldValueTooMany";
    case ErrorType::kInternal:
      return "InternalError";
    case ErrorType::kTypeInvalid:
      return "FieldValueTypeInvalid";
  }
  return "FieldValueInvalid";
}

namespace {
// Quote(): a Go %q rendering (the common cases: quotes, backslash, control bytes).
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static const char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}
}  // namespace

std::string FieldError::Body() const {
  std::string s(ErrorTypeString(type));
  bool omit = type == ErrorType::kRequired || type == ErrorType::kForbidden ||
              type == ErrorType::kTooLong || type == ErrorType::kInternal;
  if (!omit) {
    if (bad_value.is_null()) {
      s += ": null";
    } else if (bad_value.is_string()) {
      s += ": " + Quote(bad_value.get<std::string>());
    } else {
      s += ": " + bad_value.dump(-1, ' ', false, Object::error_handler_t::replace);
    }
  }
  if (!detail.empty()) s += ": " + detail;
  return s;
}

std::string FieldError::ToString() const { return field + ": " + Body(); }

FieldError Required(std::string field, std::string detail) {
  return {ErrorType::kRequired, std::move(field), Object(), std::move(detail)};
}
FieldError Invalid(std::string field, Object value, std::string detail) {
  return {ErrorType::kInvalid, std::move(field), std::move(value), std::move(detail)};
}
FieldError NotSupported(std::string field, Object value,
                        const std::vector<std::string>& supported) {
  std::string detail;
  if (!supported.empty()) {
    detail = "supported values: ";
    for (size_t i = 0; i < supported.size(); ++i) {
      if (i > 0) detail += ", ";
      detail += Quote(supported[i]);
    }
  }
  return {ErrorType::kNotSupported, std::move(field), std::move(value), std::move(detail)};
}
FieldError Duplicate(std::string field, Object value) {
  return {ErrorType::kDuplicate, std::move(field), std::move(value), ""};
}
FieldError Forbidden(std::string field, std::string detail) {
  return {ErrorType::kForbidden, std::move(field), Object(), std::move(detail)};
}
FieldError TooLong(std::string field, size_t max_bytes) {
  return {
      ErrorType::kTooLong, std::move(field), Object(),
      "may not be more than " + std::to_string(max_bytes) + (max_bytes == 1 ? " byte" : " bytes")};
}
FieldError TooMany(std::string field, size_t actual, size_t max_items) {
  return {ErrorType::kTooMany, std::move(field), Object(actual),
          "must have at most " + std::to_string(max_items) + " items"};
}
FieldError TypeInvalid(std::string field, Object value, std::string detail) {
  return {ErrorType::kTypeInvalid, std::move(field), std::move(value), std::move(detail)};
}

std::vector<StatusCause> ToStatusCauses(const std::vector<FieldError>& errors) {
  std::vector<StatusCause> out;
  out.reserve(errors.size());
  for (const auto& e : errors)
    out.push_back({std::string(ErrorTypeReason(e.type)), e.Body(), e.field});
  return out;
}

std::string ErrorsToString(const std::vector<FieldError>& errors) {
  std::vector<std::string> msgs;
  std::set<std::string> seen;
  for (const auto& e : errors) {
    std::string m = e.ToString();
    if (seen.insert(m).second) msgs.push_back(std::move(m));
  }
  if (msgs.size() == 1) return msgs[0];
  std::string out = "[";
  for (size_t i = 0; i < msgs.size(); ++i) out += (i ? ", " : "") + msgs[i];
  return out + "]";
}

// ---- the validator ----------------------------------------------------------

namespace {

using Errs = std::vector<FieldError>;

std::string Child(const std::string& p, std::string_view c) {
  return p.empty() ? std::string(c) : p + "." + std::string(c);
}
std::string Index(const std::string& p, size_t i) { return p + "[" + std::to_string(i) + "]"; }
std::string Key(const std::string& p, std::string_view k) { return p + "[" + std::string(k) + "]"; }

std::string JsonTypeName(const Object& v) {
  switch (v.type()) {
    case Object::value_t::object:
      return "object";
    case Object::value_t::array:
      return "array";
    case Object::value_t::string:
      return "string";
    case Object::value_t::boolean:
      return "boolean";
    case Object::value_t::number_integer:
    case Object::value_t::number_unsigned:
      return "integer";
    case Object::value_t::number_float:
      return "number";
    default:
      return "null";
  }
}

// Typed field access that reports a wrong JSON type as an error and then
// treats the field as absent, so validation continues.
class Walker {
 public:
  explicit Walker(Errs& errs, int minor = KubeVersion::kNewestMinor) : errs_(errs), minor_(minor) {}
  // minor(): the Kubernetes minor version whose rules apply (34..36).
  [[nodiscard]] int minor() const { return minor_; }
  // stored_selectors(): the object's CEL selectors are those already stored
  // (an update that leaves them as they were), so they compile in the
  // StoredExpressions environment rather than NewExpressions.
  [[nodiscard]] bool stored_selectors() const { return stored_selectors_; }
  void set_stored_selectors(bool stored) { stored_selectors_ = stored; }

  // Field(): nullptr when absent or null.
  static const Object* Field(const Object* parent, std::string_view key) {
    if (parent == nullptr || !parent->is_object()) return nullptr;
    auto it = parent->find(std::string(key));
    if (it == parent->end() || it->is_null()) return nullptr;
    return &*it;
  }

  const Object* Obj(const Object* parent, std::string_view key, const std::string& path) {
    const Object* v = Field(parent, key);
    if (v != nullptr && !v->is_object()) {
      errs_.push_back(TypeInvalid(path, JsonTypeName(*v), "must be an object"));
      return nullptr;
    }
    return v;
  }
  const Object* Arr(const Object* parent, std::string_view key, const std::string& path) {
    const Object* v = Field(parent, key);
    if (v != nullptr && !v->is_array()) {
      errs_.push_back(TypeInvalid(path, JsonTypeName(*v), "must be a list"));
      return nullptr;
    }
    return v;
  }
  std::optional<std::string> Str(const Object* parent, std::string_view key,
                                 const std::string& path) {
    const Object* v = Field(parent, key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      errs_.push_back(TypeInvalid(path, JsonTypeName(*v), "must be a string"));
      return std::nullopt;
    }
    return v->get<std::string>();
  }
  std::optional<bool> Bool(const Object* parent, std::string_view key, const std::string& path) {
    const Object* v = Field(parent, key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) {
      errs_.push_back(TypeInvalid(path, JsonTypeName(*v), "must be a boolean"));
      return std::nullopt;
    }
    return v->get<bool>();
  }
  std::optional<int64_t> Int(const Object* parent, std::string_view key, const std::string& path) {
    const Object* v = Field(parent, key);
    if (v == nullptr) return std::nullopt;
    if (v->is_number_integer() && !(v->is_number_unsigned() && v->get<uint64_t>() > INT64_MAX)) {
      return v->get<int64_t>();
    }
    errs_.push_back(TypeInvalid(path, JsonTypeName(*v), "must be a 64-bit integer"));
    return std::nullopt;
  }

  void Add(FieldError e) { errs_.push_back(std::move(e)); }
  Errs& errs() { return errs_; }

 private:
  Errs& errs_;
  int minor_;
  bool stored_selectors_ = false;
};

void AddNameErrors(Walker& w, const std::string& path, const std::string& value,
                   const std::vector<std::string>& details) {
  for (const auto& d : details) w.Add(Invalid(path, value, d));
}

// ValidateQuantity(): a Quantity is a string ("2Gi") or a JSON number.
std::optional<Quantity> ValidateQuantity(Walker& w, const Object* v, const std::string& path) {
  if (v == nullptr) return std::nullopt;
  std::string text;
  if (v->is_string()) {
    text = v->get<std::string>();
  } else if (v->is_number()) {
    text = v->dump();
  } else {
    w.Add(TypeInvalid(path, JsonTypeName(*v), "must be a quantity string"));
    return std::nullopt;
  }
  auto q = Quantity::Parse(text);
  if (!q.ok()) {
    w.Add(Invalid(path, text,
                  "quantities must match the regular expression "
                  "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
    return std::nullopt;
  }
  return *q;
}

// Driver names: DNS subdomain, at most 63 bytes (validateDriverName).
// The API server reuses the CSI driver name rule: the lower-cased name must
// be a DNS subdomain (upper case is tolerated), and an empty name gets both
// "Required" and the format error.
void ValidateDriverName(Walker& w, const std::optional<std::string>& driver,
                        const std::string& path) {
  std::string name = driver.value_or("");
  if (name.empty()) w.Add(Required(path));
  if (name.size() > kMaxDriverNameLength) w.Add(TooLong(path, kMaxDriverNameLength));
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& d : IsDns1123Subdomain(lower)) w.Add(Invalid(path, name, d));
}

// Device, request and subrequest names: a DNS label; "" is a format error
// (not "Required"), as in the API server.
void ValidateDnsLabelName(Walker& w, const std::optional<std::string>& v, const std::string& path) {
  std::string value = v.value_or("");
  AddNameErrors(w, path, value, IsDns1123Label(value));
}

// Pool names: DNS subdomains joined by '/', at most 253 bytes.
void ValidatePoolName(Walker& w, const std::optional<std::string>& name, const std::string& path) {
  if (!name || name->empty()) {
    w.Add(Required(path));
    return;
  }
  if (name->size() > kMaxPoolNameLength) w.Add(TooLong(path, kMaxPoolNameLength));
  size_t start = 0;
  while (true) {
    size_t slash = name->find('/', start);
    std::string part =
        name->substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    for (const auto& d : IsDns1123Subdomain(part)) w.Add(Invalid(path, part, d));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
}

void ValidateDnsLabelField(Walker& w, const std::optional<std::string>& v, const std::string& path,
                           bool required = true) {
  if (!v || v->empty()) {
    if (required) w.Add(Required(path));
    return;
  }
  AddNameErrors(w, path, *v, IsDns1123Label(*v));
}

void ValidateSubdomainField(Walker& w, const std::optional<std::string>& v, const std::string& path,
                            bool required = true) {
  if (!v || v->empty()) {
    if (required) w.Add(Required(path));
    return;
  }
  AddNameErrors(w, path, *v, IsDns1123Subdomain(*v));
}

// Attribute and capacity names: a C identifier (≤32) or <domain ≤63>/<C identifier ≤32>.
// The domain is checked with the driver-name rule, whose limit is the same.
static_assert(kMaxDomainLength == kMaxDriverNameLength);
void ValidateDeviceQualifiedName(Walker& w, const std::string& name, const std::string& path,
                                 bool require_domain) {
  std::string id = name;
  size_t slash = name.find('/');
  if (slash != std::string::npos) {
    std::string domain = name.substr(0, slash);
    id = name.substr(slash + 1);
    if (domain.empty()) {
      w.Add(Invalid(path, "", "the domain must not be empty"));
    } else {
      ValidateDriverName(w, domain, path);  // the domain follows the driver-name rule
    }
  } else if (require_domain) {
    w.Add(Invalid(path, name,
                  "a fully qualified name must be a domain and a name separated by a slash"));
  }
  if (id.empty()) {
    w.Add(Invalid(path, "", "the name must not be empty"));
    return;
  }
  if (id.size() > kMaxIdLength) w.Add(TooLong(path, kMaxIdLength));
  for (const auto& d : IsCIdentifier(id)) w.Add(Invalid(path, id, d));
}

// ValidateList(): the list at key, with TooMany over max; calls fn per item.
template <typename Fn>
size_t ValidateList(Walker& w, const Object* parent, std::string_view key, const std::string& path,
                    size_t max, Fn fn) {
  const Object* arr = w.Arr(parent, key, path);
  if (arr == nullptr) return 0;
  if (max > 0 && arr->size() > max) {
    // Like the API server: an oversized list gets one error and its items
    // are not inspected (protection against huge objects).
    w.Add(TooMany(path, arr->size(), max));
    return arr->size();
  }
  for (size_t i = 0; i < arr->size(); ++i) fn((*arr)[i], Index(path, i), i);
  return arr->size();
}

void ValidateStringList(Walker& w, const Object* parent, std::string_view key,
                        const std::string& path, size_t max, bool qualified_names) {
  std::set<std::string> seen;
  ValidateList(w, parent, key, path, max, [&](const Object& item, const std::string& p, size_t) {
    if (!item.is_string()) {
      w.Add(TypeInvalid(p, JsonTypeName(item), "must be a string"));
      return;
    }
    std::string s = item.get<std::string>();
    if (!seen.insert(s).second) w.Add(Duplicate(p, s));
    if (qualified_names) AddNameErrors(w, p, s, IsQualifiedName(s));
  });
}

// ---- metadata -----------------------------------------------------------------

enum class NameRule { kSubdomain, kLabel, kAny };

void ValidateLabels(Walker& w, const Object* labels, const std::string& path) {
  if (labels == nullptr) return;
  if (!labels->is_object()) {
    w.Add(TypeInvalid(path, JsonTypeName(*labels), "must be a map of strings"));
    return;
  }
  for (auto& [k, v] : labels->items()) {
    AddNameErrors(w, path, k, IsQualifiedName(k));
    if (!v.is_string()) {
      w.Add(TypeInvalid(Key(path, k), JsonTypeName(v), "must be a string"));
      continue;
    }
    AddNameErrors(w, Key(path, k), v.get<std::string>(), IsValidLabelValue(v.get<std::string>()));
  }
}

void ValidateAnnotations(Walker& w, const Object* ann, const std::string& path) {
  if (ann == nullptr) return;
  if (!ann->is_object()) {
    w.Add(TypeInvalid(path, JsonTypeName(*ann), "must be a map of strings"));
    return;
  }
  size_t total = 0;
  for (auto& [k, v] : ann->items()) {
    // Annotation keys are qualified names checked case-insensitively.
    std::string lower = k;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    AddNameErrors(w, path, k, IsQualifiedName(lower));
    if (!v.is_string()) {
      w.Add(TypeInvalid(Key(path, k), JsonTypeName(v), "must be a string"));
      continue;
    }
    total += k.size() + v.get_ref<const std::string&>().size();
  }
  if (total > kMaxAnnotationsBytes) w.Add(TooLong(path, kMaxAnnotationsBytes));
}

void ValidateObjectMeta(Walker& w, const Object& obj, const ResourceInfo& info, NameRule rule) {
  const std::string mp = "metadata";
  const Object* meta = w.Obj(&obj, "metadata", mp);
  auto name = w.Str(meta, "name", Child(mp, "name"));
  auto gen = w.Str(meta, "generateName", Child(mp, "generateName"));
  auto check_name = [&](const std::string& value, const std::string& path, bool prefix) {
    std::string v = value;
    // generateName is a prefix: a trailing '-' is fine because random
    // characters follow it.
    if (prefix && !v.empty() && v.back() == '-') v.back() = 'a';
    if (rule == NameRule::kSubdomain) AddNameErrors(w, path, value, IsDns1123Subdomain(v));
    if (rule == NameRule::kLabel) AddNameErrors(w, path, value, IsDns1123Label(v));
  };
  if (name && !name->empty()) {
    check_name(*name, Child(mp, "name"), false);
  } else if (gen && !gen->empty()) {
    check_name(*gen, Child(mp, "generateName"), true);
  } else {
    w.Add(Required(Child(mp, "name"), "name or generateName is required"));
  }
  auto ns = w.Str(meta, "namespace", Child(mp, "namespace"));
  if (info.namespaced) {
    ValidateDnsLabelField(w, ns, Child(mp, "namespace"));
  } else if (ns && !ns->empty()) {
    w.Add(Forbidden(Child(mp, "namespace"), "not allowed on this type"));
  }
  ValidateLabels(w, w.Obj(meta, "labels", Child(mp, "labels")), Child(mp, "labels"));
  ValidateAnnotations(w, w.Obj(meta, "annotations", Child(mp, "annotations")),
                      Child(mp, "annotations"));
  if (auto g = w.Int(meta, "generation", Child(mp, "generation")); g && *g < 0) {
    w.Add(Invalid(Child(mp, "generation"), *g, "must be greater than or equal to 0"));
  }
  ValidateStringList(w, meta, "finalizers", Child(mp, "finalizers"), 0, true);
  ValidateList(w, meta, "ownerReferences", Child(mp, "ownerReferences"), 0,
               [&](const Object& ref, const std::string& p, size_t) {
                 if (!ref.is_object()) {
                   w.Add(TypeInvalid(p, JsonTypeName(ref), "must be an object"));
                   return;
                 }
                 for (const char* f : {"apiVersion", "kind", "name", "uid"}) {
                   auto v = w.Str(&ref, f, Child(p, f));
                   if (!v || v->empty()) w.Add(Required(Child(p, f)));
                 }
               });
}

// Template metadata (ResourceClaimTemplate spec.metadata): labels and
// annotations only.
void ValidateTemplateMeta(Walker& w, const Object* meta, const std::string& path) {
  if (meta == nullptr) return;
  ValidateLabels(w, w.Obj(meta, "labels", Child(path, "labels")), Child(path, "labels"));
  ValidateAnnotations(w, w.Obj(meta, "annotations", Child(path, "annotations")),
                      Child(path, "annotations"));
}

// ---- shared pieces of resource.k8s.io ----------------------------------------

void ValidateNodeSelector(Walker& w, const Object* sel, const std::string& path) {
  if (sel == nullptr) return;
  const std::string tp = Child(path, "nodeSelectorTerms");
  const Object* terms = w.Arr(sel, "nodeSelectorTerms", tp);
  if (terms == nullptr || terms->size() != 1) {
    w.Add(Invalid(tp, terms == nullptr ? Object(0) : Object(terms->size()),
                  "must have exactly one node selector term"));
    return;
  }
  const Object& term = (*terms)[0];
  const std::string p0 = Index(tp, 0);
  for (const char* kind : {"matchExpressions", "matchFields"}) {
    ValidateList(w, &term, kind, Child(p0, kind), 0,
                 [&](const Object& req, const std::string& p, size_t) {
                   auto key = w.Str(&req, "key", Child(p, "key"));
                   if (!key || key->empty()) w.Add(Required(Child(p, "key")));
                   auto op = w.Str(&req, "operator", Child(p, "operator"));
                   static const std::vector<std::string> kOps = {"DoesNotExist", "Exists", "Gt",
                                                                 "In",           "Lt",     "NotIn"};
                   if (!op) {
                     w.Add(Required(Child(p, "operator")));
                   } else if (std::find(kOps.begin(), kOps.end(), *op) == kOps.end()) {
                     w.Add(NotSupported(Child(p, "operator"), *op, kOps));
                   }
                 });
  }
}

// ValidateCelExpression(): upstream validateCELSelector()
// (pkg/apis/resource/validation): the expression must compile in the
// release's NewExpressions environment (StoredExpressions when an update
// keeps the selectors), and its estimated worst-case cost must not exceed
// CELSelectorExpressionMaxCost.
void ValidateCelExpression(Walker& w, const std::string& expr, const std::string& path) {
  namespace cel = allocator::cel;
  cel::CompileOptions options;
  options.version = KubeVersion{w.minor()};
  options.environment = w.stored_selectors() ? cel::Environment::kStored : cel::Environment::kNew;
  auto prog = cel::Compile(expr, options);
  if (!prog.ok()) {
    w.Add(Invalid(path, expr, cel::ValidationDetail(expr, prog.status())));
  } else if ((*prog)->max_cost() > static_cast<uint64_t>(cel::kDefaultCostLimit)) {
    w.Add(Forbidden(path, "too complex, exceeds cost limit"));
  }
}

void ValidateCelSelectors(Walker& w, const Object* parent, const std::string& path) {
  ValidateList(w, parent, "selectors", path, kMaxSelectors,
               [&](const Object& sel, const std::string& p, size_t) {
                 const Object* cel = w.Obj(&sel, "cel", Child(p, "cel"));
                 if (cel == nullptr) {
                   w.Add(Required(Child(p, "cel")));
                   return;
                 }
                 const std::string ep = Child(Child(p, "cel"), "expression");
                 auto expr = w.Str(cel, "expression", ep);
                 if (!expr || expr->find_first_not_of(" \t\r\n") == std::string::npos) {
                   w.Add(Required(ep));
                 } else if (expr->size() > kMaxCelLength) {
                   w.Add(TooLong(ep, kMaxCelLength));  // not compiled, as upstream
                 } else {
                   ValidateCelExpression(w, *expr, ep);
                 }
               });
}

void ValidateOpaque(Walker& w, const Object* cfg, const std::string& path) {
  const Object* opaque = w.Obj(cfg, "opaque", Child(path, "opaque"));
  if (opaque == nullptr) {
    w.Add(Required(Child(path, "opaque")));
    return;
  }
  const std::string op = Child(path, "opaque");
  ValidateDriverName(w, w.Str(opaque, "driver", Child(op, "driver")), Child(op, "driver"));
  const Object* params = Walker::Field(opaque, "parameters");
  const std::string pp = Child(op, "parameters");
  if (params == nullptr) {
    w.Add(Required(pp));
    return;
  }
  if (params->dump().size() > kMaxOpaqueParameters) {
    w.Add(TooLong(pp, kMaxOpaqueParameters));
  } else if (!params->is_object()) {
    w.Add(Invalid(pp, "<value omitted>", "must be a valid JSON object"));
  }
}

// The taint effects of the version: "None" came in 1.35 (upstream
// pkg/apis/resource/validation, validDeviceTaintEffects and
// validDeviceTolerationEffects); 1.34 knows NoSchedule and NoExecute only.
std::vector<std::string> TaintEffects(const Walker& w) {
  if (w.minor() < 35) return {"NoExecute", "NoSchedule"};
  return {"NoExecute", "NoSchedule", "None"};
}
bool ValidTaintEffect(const Walker& w, const std::string& effect) {
  auto all = TaintEffects(w);
  return std::find(all.begin(), all.end(), effect) != all.end();
}

void ValidateToleration(Walker& w, const Object& t, const std::string& p) {
  if (!t.is_object()) {
    w.Add(TypeInvalid(p, JsonTypeName(t), "must be an object"));
    return;
  }
  auto key = w.Str(&t, "key", Child(p, "key"));
  if (key && !key->empty()) AddNameErrors(w, Child(p, "key"), *key, IsQualifiedName(*key));
  auto op = w.Str(&t, "operator", Child(p, "operator")).value_or("Equal");
  auto value = w.Str(&t, "value", Child(p, "value")).value_or("");
  if (op == "Exists") {
    if (!value.empty())
      w.Add(Invalid(Child(p, "value"), value, "must be empty for operator `Exists`"));
  } else if (op == "Equal") {
    AddNameErrors(w, Child(p, "value"), value, IsValidLabelValue(value));
  } else {
    w.Add(NotSupported(Child(p, "operator"), op, {"Equal", "Exists"}));
  }
  auto effect = w.Str(&t, "effect", Child(p, "effect"));
  if (effect && !effect->empty() && !ValidTaintEffect(w, *effect)) {
    w.Add(NotSupported(Child(p, "effect"), *effect, TaintEffects(w)));
  }
  w.Int(&t, "tolerationSeconds", Child(p, "tolerationSeconds"));
}

void ValidateTaint(Walker& w, const Object& t, const std::string& p) {
  if (!t.is_object()) {
    w.Add(TypeInvalid(p, JsonTypeName(t), "must be an object"));
    return;
  }
  auto key = w.Str(&t, "key", Child(p, "key"));
  if (!key || key->empty()) {
    w.Add(Required(Child(p, "key")));
  } else {
    AddNameErrors(w, Child(p, "key"), *key, IsQualifiedName(*key));
  }
  auto value = w.Str(&t, "value", Child(p, "value"));
  if (value) AddNameErrors(w, Child(p, "value"), *value, IsValidLabelValue(*value));
  auto effect = w.Str(&t, "effect", Child(p, "effect"));
  if (!effect || effect->empty()) {
    w.Add(Required(Child(p, "effect")));
  } else if (!ValidTaintEffect(w, *effect)) {
    w.Add(NotSupported(Child(p, "effect"), *effect, TaintEffects(w)));
  }
  w.Str(&t, "timeAdded", Child(p, "timeAdded"));
}

// ---- ResourceSlice ------------------------------------------------------------

void ValidateAttribute(Walker& w, const Object& attr, const std::string& p, size_t* values) {
  if (!attr.is_object()) {
    w.Add(TypeInvalid(p, JsonTypeName(attr), "must be an object"));
    return;
  }
  int set = 0;
  if (auto v = w.Int(&attr, "int", Child(p, "int"))) {
    ++set, ++*values;
  }
  if (auto v = w.Bool(&attr, "bool", Child(p, "bool"))) {
    ++set, ++*values;
  }
  if (auto v = w.Str(&attr, "string", Child(p, "string"))) {
    ++set, ++*values;
    if (v->size() > kMaxAttributeStringLength)
      w.Add(TooLong(Child(p, "string"), kMaxAttributeStringLength));
  }
  auto check_version = [&](const std::string& v, const std::string& vp) {
    if (!SemVer::Parse(v).ok()) {
      w.Add(Invalid(vp, v, "must be a string compatible with semver.org spec 2.0.0"));
    }
    if (v.size() > kMaxAttributeStringLength) w.Add(TooLong(vp, kMaxAttributeStringLength));
  };
  if (auto v = w.Str(&attr, "version", Child(p, "version"))) {
    ++set, ++*values;
    check_version(*v, Child(p, "version"));
  }
  // List attributes (1.36, DRAListTypeAttributes): every item counts.
  for (const char* list : {"ints", "bools", "strings", "versions"}) {
    const Object* arr = w.Arr(&attr, list, Child(p, list));
    if (arr == nullptr) continue;
    ++set;
    *values += arr->size();
    std::string lp = Child(p, list);
    for (size_t i = 0; i < arr->size(); ++i) {
      const Object& item = (*arr)[i];
      std::string ip = Index(lp, i);
      std::string l = list;
      bool ok = (l == "ints" && item.is_number_integer()) || (l == "bools" && item.is_boolean()) ||
                ((l == "strings" || l == "versions") && item.is_string());
      if (!ok) {
        w.Add(TypeInvalid(ip, JsonTypeName(item), "wrong item type for " + l));
        continue;
      }
      if (l == "strings" && item.get_ref<const std::string&>().size() > kMaxAttributeStringLength) {
        w.Add(TooLong(ip, kMaxAttributeStringLength));
      }
      if (l == "versions") check_version(item.get<std::string>(), ip);
    }
  }
  if (set == 0) {
    w.Add(Invalid(p, "", "exactly one value must be specified"));
  } else if (set > 1) {
    w.Add(Invalid(p, attr, "exactly one value must be specified"));
  }
}

// ValidateValidValues(): the options of a validValues request policy:
// sorted, at most kMaxCapacityValidValues, none above the capacity `q`, no
// duplicates, and the default among them.
void ValidateValidValues(Walker& w, const Object& valid_values, const std::string& vp,
                         const Quantity& def, const Quantity& q) {
  std::vector<std::optional<Quantity>> vals;
  for (size_t i = 0; i < valid_values.size(); ++i) {
    vals.push_back(ValidateQuantity(w, &valid_values[i], Index(vp, i)));
  }
  for (size_t i = 0; i + 1 < vals.size(); ++i) {
    if (vals[i] && vals[i + 1] && *vals[i] > *vals[i + 1]) {
      w.Add(Invalid(Index(vp, i + 1), vals[i + 1]->ToString(),
                    "values must be sorted in ascending order"));
    }
  }
  if (vals.size() > kMaxCapacityValidValues) {
    w.Add(TooMany(vp, vals.size(), kMaxCapacityValidValues));
    return;
  }
  bool found_default = false;
  std::set<int64_t> seen;
  for (size_t i = 0; i < vals.size(); ++i) {
    if (!vals[i]) continue;
    if (*vals[i] > q) {
      w.Add(Invalid(Index(vp, i), vals[i]->ToString(),
                    "option is larger than capacity value: " + q.ToString()));
    }
    if (*vals[i] == def) found_default = true;
    if (!seen.insert(vals[i]->Value()).second)
      w.Add(Duplicate(Index(vp, i), std::to_string(vals[i]->Value())));
  }
  if (!found_default) {
    w.Add(Invalid(vp, def.ToString(), "default value is not valid according to the requestPolicy"));
  }
}

// ValidateRangeBounds(): min and max of a validRange against each other, the
// default and the capacity `q`.
void ValidateRangeBounds(Walker& w, const std::string& gp, const Quantity& min,
                         const std::optional<Quantity>& max, const Quantity& def,
                         const Quantity& q) {
  if (min > q) {
    w.Add(Invalid(Child(gp, "min"), min.ToString(),
                  "min is larger than capacity value: " + q.ToString()));
  }
  if (def < min) {
    w.Add(Invalid(Child(gp, "min"), def.ToString(), "default is less than min: " + min.ToString()));
  }
  if (!max) return;
  if (min > *max) {
    w.Add(Invalid(Child(gp, "max"), min.ToString(), "min is larger than max: " + max->ToString()));
  }
  if (*max > q) {
    w.Add(Invalid(Child(gp, "max"), max->ToString(),
                  "max is larger than capacity value: " + q.ToString()));
  }
  if (def > *max) {
    w.Add(
        Invalid(Child(gp, "max"), def.ToString(), "default is more than max: " + max->ToString()));
  }
}

// ValidateRangeStep(): a validRange step: positive, one step within the
// capacity `q`, and the default and max on the grid from min.
void ValidateRangeStep(Walker& w, const std::string& gp, const Quantity& min,
                       const std::optional<Quantity>& max, const Quantity& step,
                       const Quantity& def, const Quantity& q) {
  if (step.Sign() <= 0) {
    w.Add(Invalid(Child(gp, "step"), step.ToString(), "must be greater than zero"));
    return;
  }
  Quantity one_step = min.Add(step);
  if (one_step > q) {
    w.Add(Invalid(
        Child(gp, "step"), step.ToString(),
        "one step " + one_step.ToString() + " is larger than capacity value: " + q.ToString()));
  }
  auto check_multiple = [&](const Quantity& v) {
    // 128-bit: the difference of two int64 values may not fit in 64 bits.
    if ((static_cast<__int128>(v.Value()) - min.Value()) % step.Value() != 0) {
      w.Add(Invalid(Child(gp, "step"), v.ToString(),
                    "value is not a multiple of a given step (" + step.ToString() + ") from (" +
                        min.ToString() + ")"));
    }
  };
  check_multiple(def);
  if (max) check_multiple(*max);
}

// ValidateValidRange(): a validRange request policy: min is required.
void ValidateValidRange(Walker& w, const Object* range, const std::string& gp, const Quantity& def,
                        const Quantity& q) {
  if (Walker::Field(range, "min") == nullptr) {
    w.Add(Required(Child(gp, "min"), "required when validRange is defined"));
    return;
  }
  auto min = ValidateQuantity(w, Walker::Field(range, "min"), Child(gp, "min"));
  auto max = ValidateQuantity(w, Walker::Field(range, "max"), Child(gp, "max"));
  auto step = ValidateQuantity(w, Walker::Field(range, "step"), Child(gp, "step"));
  if (!min) return;
  ValidateRangeBounds(w, gp, *min, max, def, q);
  if (step) ValidateRangeStep(w, gp, *min, max, *step, def, q);
}

// ValidateRequestPolicy(): the default and one policy (validValues or
// validRange) of a capacity `q` (nullopt when invalid, already reported).
void ValidateRequestPolicy(Walker& w, const Object* policy, const std::string& rp,
                           const std::optional<Quantity>& q) {
  const Object* def_json = Walker::Field(policy, "default");
  auto def = ValidateQuantity(w, def_json, Child(rp, "default"));
  const Object* valid_values = w.Arr(policy, "validValues", Child(rp, "validValues"));
  const Object* range = w.Obj(policy, "validRange", Child(rp, "validRange"));
  if (valid_values != nullptr && valid_values->empty()) valid_values = nullptr;
  if (valid_values != nullptr && range != nullptr) {
    w.Add(Forbidden(rp,
                    "exactly one policy can be specified, cannot specify \"validValues\" and "
                    "\"validRange\" at the same time"));
    return;
  }
  if (valid_values == nullptr && range == nullptr) return;
  if (def_json == nullptr) {
    w.Add(Required(Child(rp, "default"), valid_values != nullptr
                                             ? "required when validValues is defined"
                                             : "required when validRange is defined"));
    return;
  }
  if (!def || !q) return;  // already reported
  if (valid_values != nullptr) {
    ValidateValidValues(w, *valid_values, Child(rp, "validValues"), *def, *q);
    return;
  }
  ValidateValidRange(w, range, Child(rp, "validRange"), *def, *q);
}

// ValidateCapacity(): value, and the request policy of consumable capacity
// (DRAConsumableCapacity), which only multi-allocatable devices may carry.
void ValidateCapacity(Walker& w, const Object& cap, const std::string& p, bool multi) {
  if (!cap.is_object()) {
    w.Add(TypeInvalid(p, JsonTypeName(cap), "must be an object"));
    return;
  }
  const Object* value = Walker::Field(&cap, "value");
  std::optional<Quantity> q;
  if (value == nullptr) {
    w.Add(Required(Child(p, "value")));
  } else {
    q = ValidateQuantity(w, value, Child(p, "value"));
  }
  const std::string rp = Child(p, "requestPolicy");
  const Object* policy = w.Obj(&cap, "requestPolicy", rp);
  if (policy == nullptr) return;
  if (!multi) {
    w.Add(Forbidden(rp, "allowMultipleAllocations must be true"));
    return;
  }
  ValidateRequestPolicy(w, policy, rp, q);
}

void ValidateCounterMap(Walker& w, const Object* counters, const std::string& path, bool required) {
  if (counters == nullptr) {
    if (required) w.Add(Required(path));
    return;
  }
  if (counters->empty() && required) w.Add(Required(path));
  if (counters->size() > kMaxCountersPerSet)
    w.Add(TooMany(path, counters->size(), kMaxCountersPerSet));
  for (auto& [k, v] : counters->items()) {
    std::string kp = Key(path, k);
    AddNameErrors(w, path, k, IsDns1123Label(k));
    if (!v.is_object()) {
      w.Add(TypeInvalid(kp, JsonTypeName(v), "must be an object"));
      continue;
    }
    if (Walker::Field(&v, "value") == nullptr) {
      w.Add(Required(Child(kp, "value")));
    } else {
      ValidateQuantity(w, Walker::Field(&v, "value"), Child(kp, "value"));
    }
  }
}

// Counts set node-selection fields of a slice or device; allNodes and
// perDeviceNodeSelection may only be true when present.
std::vector<std::string> NodeSelectionFields(Walker& w, const Object* parent,
                                             const std::string& path, bool include_per_device) {
  std::vector<std::string> set;
  auto node_name = w.Str(parent, "nodeName", Child(path, "nodeName"));
  if (node_name && node_name->empty()) {
    w.Add(Invalid(Child(path, "nodeName"), "",
                  include_per_device ? "must be either unset or set to a non-empty string"
                                     : "must not be empty"));
  }
  if (node_name && !node_name->empty()) {
    set.push_back("nodeName");
    AddNameErrors(w, Child(path, "nodeName"), *node_name, IsDns1123Subdomain(*node_name));
  }
  if (const Object* sel = w.Obj(parent, "nodeSelector", Child(path, "nodeSelector"))) {
    set.push_back("nodeSelector");
    ValidateNodeSelector(w, sel, Child(path, "nodeSelector"));
  }
  if (auto all = w.Bool(parent, "allNodes", Child(path, "allNodes"))) {
    set.push_back("allNodes");
    if (!*all)
      w.Add(Invalid(Child(path, "allNodes"), false, "must be either unset or set to true"));
  }
  if (include_per_device) {
    if (auto per =
            w.Bool(parent, "perDeviceNodeSelection", Child(path, "perDeviceNodeSelection"))) {
      set.push_back("perDeviceNodeSelection");
      if (!*per) {
        w.Add(Invalid(Child(path, "perDeviceNodeSelection"), false,
                      "must be either unset or set to true"));
      }
    }
  }
  return set;
}

std::string FieldSet(const std::vector<std::string>& fields) {
  std::string s = "{";
  for (size_t i = 0; i < fields.size(); ++i) s += (i ? ", `" : "`") + fields[i] + "`";
  return s + "}";
}

bool DeviceUsesTaintsOrCounters(const Object& dev) {
  if (!dev.is_object()) return false;
  for (const char* f : {"taints", "consumesCounters"}) {
    const Object* v = Walker::Field(&dev, f);
    if (v != nullptr && v->is_array() && !v->empty()) return true;
  }
  if (const Object* attrs = Walker::Field(&dev, "attributes");
      attrs != nullptr && attrs->is_object()) {
    for (auto& [k, a] : attrs->items()) {
      if (!a.is_object()) continue;
      for (const char* l : {"ints", "bools", "strings", "versions"}) {
        if (a.contains(l)) return true;
      }
    }
  }
  return false;
}

void ValidateDevice(Walker& w, const Object& dev, const std::string& p, bool per_device_selection) {
  if (!dev.is_object()) {
    w.Add(TypeInvalid(p, JsonTypeName(dev), "must be an object"));
    return;
  }
  ValidateDnsLabelName(w, w.Str(&dev, "name", Child(p, "name")), Child(p, "name"));
  bool multi = w.Bool(&dev, "allowMultipleAllocations", Child(p, "allowMultipleAllocations"))
                   .value_or(false);
  const Object* attrs = w.Obj(&dev, "attributes", Child(p, "attributes"));
  const Object* caps = w.Obj(&dev, "capacity", Child(p, "capacity"));
  size_t names = (attrs ? attrs->size() : 0) + (caps ? caps->size() : 0);
  if (names > kMaxAttributesAndCapacities) {
    w.Add(Invalid(p, names,
                  "the total number of attributes and capacities must not exceed " +
                      std::to_string(kMaxAttributesAndCapacities)));
  }
  size_t values = 0;
  if (attrs != nullptr) {
    for (auto& [k, a] : attrs->items()) {
      std::string ap = Key(Child(p, "attributes"), k);
      ValidateDeviceQualifiedName(w, k, ap, false);
      ValidateAttribute(w, a, ap, &values);
    }
  }
  if (values > kMaxAttributeValues) {
    w.Add(Invalid(Child(p, "attributes"), values,
                  "the total number of attribute values (list items included) must not exceed " +
                      std::to_string(kMaxAttributeValues)));
  }
  if (caps != nullptr) {
    for (auto& [k, c] : caps->items()) {
      std::string cp = Key(Child(p, "capacity"), k);
      ValidateDeviceQualifiedName(w, k, cp, false);
      ValidateCapacity(w, c, cp, multi);
    }
  }
  std::set<std::string> counter_sets;
  ValidateList(w, &dev, "consumesCounters", Child(p, "consumesCounters"), kMaxConsumesCounters,
               [&](const Object& c, const std::string& cp, size_t) {
                 auto set = w.Str(&c, "counterSet", Child(cp, "counterSet"));
                 ValidateDnsLabelField(w, set, Child(cp, "counterSet"));
                 if (set && !counter_sets.insert(*set).second) w.Add(Duplicate(cp, *set));
                 ValidateCounterMap(w, w.Obj(&c, "counters", Child(cp, "counters")),
                                    Child(cp, "counters"), true);
               });
  auto fields = NodeSelectionFields(w, &dev, p, false);
  if (per_device_selection) {
    if (fields.empty()) {
      w.Add(Required(p,
                     "exactly one of `nodeName`, `nodeSelector`, or `allNodes` is required when "
                     "`perDeviceNodeSelection` is set to true in the ResourceSlice spec"));
    } else if (fields.size() > 1) {
      w.Add(Invalid(p, FieldSet(fields),
                    "exactly one of `nodeName`, `nodeSelector`, or `allNodes` is required when "
                    "`perDeviceNodeSelection` is set to true in the ResourceSlice spec"));
    }
  } else if (!fields.empty()) {
    w.Add(Invalid(p, Object(),
                  "`nodeName`, `nodeSelector` and `allNodes` can only be set if "
                  "`perDeviceNodeSelection` is set to true in the ResourceSlice spec"));
  }
  ValidateList(w, &dev, "taints", Child(p, "taints"), kMaxTaints,
               [&](const Object& t, const std::string& tp, size_t) { ValidateTaint(w, t, tp); });
  ValidateStringList(w, &dev, "bindingConditions", Child(p, "bindingConditions"),
                     kMaxBindingConditions, true);
  ValidateStringList(w, &dev, "bindingFailureConditions", Child(p, "bindingFailureConditions"),
                     kMaxBindingConditions, true);
  std::vector<std::string> bc, bfc;
  for (auto [key, out] :
       {std::pair{"bindingConditions", &bc}, {"bindingFailureConditions", &bfc}}) {
    const Object* list = Walker::Field(&dev, key);
    if (list == nullptr || !list->is_array()) continue;
    for (const auto& c : *list) {
      if (c.is_string()) out->push_back(c.get<std::string>());
    }
  }
  for (size_t i = 0; i < bfc.size(); ++i) {
    if (std::find(bc.begin(), bc.end(), bfc[i]) != bc.end()) {
      w.Add(Invalid(Index(Child(p, "bindingFailureConditions"), i), bfc[i],
                    "bindingFailureConditions must not overlap with bindingConditions"));
    }
  }
  if (bc.empty() && !bfc.empty()) {
    w.Add(Invalid(Child(p, "bindingConditions"), Object::array(),
                  "bindingConditions are required to use bindingFailureConditions"));
  }
  if (bfc.empty() && !bc.empty()) {
    w.Add(Invalid(Child(p, "bindingFailureConditions"), Object::array(),
                  "bindingFailureConditions are required to use bindingConditions"));
  }
  w.Bool(&dev, "bindsToNode", Child(p, "bindsToNode"));
}

void ValidateSliceSpec(Walker& w, const Object& obj) {
  const std::string sp = "spec";
  const Object* spec = w.Obj(&obj, "spec", sp);
  if (spec == nullptr) {
    w.Add(Required(sp));
    return;
  }
  ValidateDriverName(w, w.Str(spec, "driver", Child(sp, "driver")), Child(sp, "driver"));
  const std::string pp = Child(sp, "pool");
  const Object* pool = w.Obj(spec, "pool", pp);
  if (pool == nullptr) {
    w.Add(Required(pp));
  } else {
    ValidatePoolName(w, w.Str(pool, "name", Child(pp, "name")), Child(pp, "name"));
    auto gen = w.Int(pool, "generation", Child(pp, "generation"));
    if (gen && *gen < 0)
      w.Add(Invalid(Child(pp, "generation"), *gen, "must be greater than or equal to zero"));
    auto count = w.Int(pool, "resourceSliceCount", Child(pp, "resourceSliceCount"));
    if (count.value_or(0) <= 0) {
      w.Add(
          Invalid(Child(pp, "resourceSliceCount"), count.value_or(0), "must be greater than zero"));
    }
  }
  auto fields = NodeSelectionFields(w, spec, sp, true);
  const char kExactlyOne[] =
      "exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required";
  if (fields.empty()) {
    w.Add(Required(sp, kExactlyOne));
  } else if (fields.size() > 1) {
    w.Add(
        Invalid(sp, FieldSet(fields), std::string(kExactlyOne) + ", but multiple fields are set"));
  }
  bool per_device =
      std::find(fields.begin(), fields.end(), "perDeviceNodeSelection") != fields.end() &&
      w.Bool(spec, "perDeviceNodeSelection", Child(sp, "perDeviceNodeSelection")).value_or(false);
  const std::string dp = Child(sp, "devices");
  const Object* devices = w.Arr(spec, "devices", dp);
  if (devices != nullptr) {
    bool limited = std::any_of(devices->begin(), devices->end(), DeviceUsesTaintsOrCounters);
    size_t max = limited ? kMaxDevicesPerSliceWithTaintsOrCounters : kMaxDevicesPerSlice;
    if (devices->size() > max) w.Add(TooMany(dp, devices->size(), max));
    std::set<std::string> names;
    for (size_t i = 0; i < devices->size(); ++i) {
      const Object& d = (*devices)[i];
      ValidateDevice(w, d, Index(dp, i), per_device);
      if (d.is_object() && d.contains("name") && d["name"].is_string()) {
        std::string n = d["name"].get<std::string>();
        if (!n.empty() && !names.insert(n).second) w.Add(Duplicate(Index(dp, i), n));
      }
    }
  }
  const std::string cp = Child(sp, "sharedCounters");
  std::set<std::string> set_names;
  ValidateList(w, spec, "sharedCounters", cp, kMaxCounterSets,
               [&](const Object& cs, const std::string& p, size_t) {
                 if (!cs.is_object()) {
                   w.Add(TypeInvalid(p, JsonTypeName(cs), "must be an object"));
                   return;
                 }
                 auto name = w.Str(&cs, "name", Child(p, "name"));
                 ValidateDnsLabelField(w, name, Child(p, "name"));
                 if (name && !name->empty() && !set_names.insert(*name).second) {
                   w.Add(Duplicate(p, *name));
                 }
                 ValidateCounterMap(w, w.Obj(&cs, "counters", Child(p, "counters")),
                                    Child(p, "counters"), true);
               });
  if (w.minor() >= 35) {
    // Since 1.35 a slice carries either devices or shared counters
    // (upstream validateResourceSliceSpec).
    if (Walker::Field(spec, "sharedCounters") != nullptr && devices != nullptr) {
      w.Add(Invalid(sp, "", "only one of `sharedCounters` or `devices` is allowed"));
    }
  } else if (devices != nullptr) {
    // 1.34: the counter sets live in the slice of the devices that consume
    // them, and every consumption must name one of them and its counters
    // (upstream 1.34 validateDevice; validation_resourceslice_test.go cases
    // wrong-sharedcounterref-consumes-counter, wrong-counterref-consumes-counter,
    // missing-counterset-consumes-counter).
    std::map<std::string, std::set<std::string>> sets;
    if (const Object* sc = Walker::Field(spec, "sharedCounters"); sc && sc->is_array()) {
      for (const auto& cs : *sc) {
        const Object* n = Walker::Field(&cs, "name");
        if (n == nullptr || !n->is_string()) continue;
        auto& names = sets[n->get<std::string>()];
        if (const Object* c = Walker::Field(&cs, "counters"); c && c->is_object()) {
          for (auto& [k, v] : c->items()) names.insert(k);
        }
      }
    }
    for (size_t i = 0; i < devices->size(); ++i) {
      const Object* cc = Walker::Field(&(*devices)[i], "consumesCounters");
      if (cc == nullptr || !cc->is_array()) continue;
      for (size_t j = 0; j < cc->size(); ++j) {
        const Object& c = (*cc)[j];
        std::string cp = Index(Child(Index(dp, i), "consumesCounters"), j);
        const Object* set = Walker::Field(&c, "counterSet");
        std::string name = set && set->is_string() ? set->get<std::string>() : "";
        auto it = sets.find(name);
        if (it == sets.end()) {
          w.Add(Invalid(Child(cp, "counterSet"), name,
                        "must reference a counterSet defined in the ResourceSlice sharedCounters"));
          continue;
        }
        const Object* counters = Walker::Field(&c, "counters");
        if (counters == nullptr || !counters->is_object()) continue;
        for (auto& [k, v] : counters->items()) {
          if (it->second.count(k) == 0) {
            w.Add(Invalid(Child(cp, "counters"), k,
                          "must reference a counter defined in the ResourceSlice sharedCounters"));
          }
        }
      }
    }
  }
}

// ---- DeviceClass --------------------------------------------------------------

void ValidateDeviceClassSpec(Walker& w, const Object& obj) {
  const std::string sp = "spec";
  const Object* spec = w.Obj(&obj, "spec", sp);
  if (spec == nullptr) return;  // an empty class is valid
  ValidateCelSelectors(w, spec, Child(sp, "selectors"));
  ValidateList(w, spec, "config", Child(sp, "config"), kMaxConfigs,
               [&](const Object& c, const std::string& p, size_t) { ValidateOpaque(w, &c, p); });
  auto ext = w.Str(spec, "extendedResourceName", Child(sp, "extendedResourceName"));
  if (ext && !ext->empty()) {
    std::string ep = Child(sp, "extendedResourceName");
    AddNameErrors(w, ep, *ext, IsQualifiedName(*ext));
    bool native = ext->find('/') == std::string::npos ||
                  (ext->rfind("kubernetes.io/", 0) == 0 && ext->rfind("requests.", 0) != 0);
    if (native) w.Add(Invalid(ep, *ext, "must be a valid extended resource name"));
  }
}

// ---- ResourceClaim ------------------------------------------------------------

void ValidateExactRequest(Walker& w, const Object& r, const std::string& p, bool allow_admin) {
  ValidateSubdomainField(w, w.Str(&r, "deviceClassName", Child(p, "deviceClassName")),
                         Child(p, "deviceClassName"));
  ValidateCelSelectors(w, &r, Child(p, "selectors"));
  auto mode = w.Str(&r, "allocationMode", Child(p, "allocationMode")).value_or("");
  auto count = w.Int(&r, "count", Child(p, "count"));
  if (mode.empty() || mode == "ExactCount") {
    if (count && *count <= 0)
      w.Add(Invalid(Child(p, "count"), *count, "must be greater than zero"));
  } else if (mode == "All") {
    if (count && *count != 0) {
      w.Add(
          Invalid(Child(p, "count"), *count, "must not be specified when allocationMode is 'All'"));
    }
  } else {
    w.Add(NotSupported(Child(p, "allocationMode"), mode, {"All", "ExactCount"}));
  }
  if (allow_admin) {
    w.Bool(&r, "adminAccess", Child(p, "adminAccess"));
  } else if (Walker::Field(&r, "adminAccess") != nullptr) {
    w.Add(Forbidden(Child(p, "adminAccess"), "not supported in a subrequest"));
  }
  ValidateList(
      w, &r, "tolerations", Child(p, "tolerations"), kMaxTolerations,
      [&](const Object& t, const std::string& tp, size_t) { ValidateToleration(w, t, tp); });
  const std::string cp = Child(p, "capacity");
  if (const Object* cap = w.Obj(&r, "capacity", cp)) {
    const std::string rp = Child(cp, "requests");
    if (const Object* reqs = w.Obj(cap, "requests", rp)) {
      for (auto& [k, v] : reqs->items()) {
        ValidateDeviceQualifiedName(w, k, Key(rp, k), false);
        ValidateQuantity(w, &v, Key(rp, k));
      }
    }
  }
}

// RequestRefs: request name → subrequest names, for reference checks.
using RequestRefs = std::map<std::string, std::set<std::string>>;

void ValidateRequestRefs(Walker& w, const Object* parent, const std::string& path,
                         const RequestRefs& refs) {
  std::set<std::string> seen;
  ValidateList(
      w, parent, "requests", path, 0, [&](const Object& item, const std::string& p, size_t) {
        if (!item.is_string()) {
          w.Add(TypeInvalid(p, JsonTypeName(item), "must be a string"));
          return;
        }
        std::string ref = item.get<std::string>();
        if (!seen.insert(ref).second) {
          w.Add(Duplicate(p, ref));
          return;
        }
        size_t slash = ref.find('/');
        std::string req = ref.substr(0, slash);
        auto it = refs.find(req);
        bool ok = it != refs.end() &&
                  (slash == std::string::npos || it->second.count(ref.substr(slash + 1)) > 0);
        if (!ok) {
          w.Add(Invalid(p, ref,
                        "must be the name of a request in the claim or the name of a request and a "
                        "subrequest separated by '/'"));
        }
      });
}

void ValidateClaimSpec(Walker& w, const Object* spec, const std::string& sp) {
  if (spec == nullptr) return;  // a claim without requests is valid
  const std::string dp = Child(sp, "devices");
  const Object* devices = w.Obj(spec, "devices", dp);
  if (devices == nullptr) return;
  RequestRefs refs;
  const std::string rp = Child(dp, "requests");
  ValidateList(w, devices, "requests", rp, kMaxRequests,
               [&](const Object& r, const std::string& p, size_t) {
                 if (!r.is_object()) {
                   w.Add(TypeInvalid(p, JsonTypeName(r), "must be an object"));
                   return;
                 }
                 auto name = w.Str(&r, "name", Child(p, "name"));
                 ValidateDnsLabelName(w, name, Child(p, "name"));
                 std::set<std::string>* subs = nullptr;
                 if (name && !name->empty()) {
                   if (refs.count(*name) != 0) w.Add(Duplicate(p, *name));
                   subs = &refs[*name];
                 }
                 const Object* exactly = w.Obj(&r, "exactly", Child(p, "exactly"));
                 const Object* first = w.Arr(&r, "firstAvailable", Child(p, "firstAvailable"));
                 bool has_first = first != nullptr && !first->empty();
                 if (exactly == nullptr && !has_first) {
                   w.Add(Required(p, "exactly one of `exactly` or `firstAvailable` is required"));
                 } else if (exactly != nullptr && has_first) {
                   w.Add(Invalid(p, Object(),
                                 "exactly one of `exactly` or `firstAvailable` is required, but "
                                 "multiple fields are set"));
                 } else if (exactly != nullptr) {
                   ValidateExactRequest(w, *exactly, Child(p, "exactly"), true);
                 }
                 if (has_first && exactly == nullptr) {
                   const std::string fp = Child(p, "firstAvailable");
                   if (first->size() > kMaxSubRequests) {
                     w.Add(TooMany(fp, first->size(), kMaxSubRequests));
                     return;
                   }
                   std::set<std::string> sub_names;
                   for (size_t i = 0; i < first->size(); ++i) {
                     const Object& s = (*first)[i];
                     std::string ip = Index(fp, i);
                     if (!s.is_object()) {
                       w.Add(TypeInvalid(ip, JsonTypeName(s), "must be an object"));
                       continue;
                     }
                     auto sn = w.Str(&s, "name", Child(ip, "name"));
                     ValidateDnsLabelName(w, sn, Child(ip, "name"));
                     if (sn && !sn->empty()) {
                       if (!sub_names.insert(*sn).second) w.Add(Duplicate(ip, *sn));
                       if (subs != nullptr) subs->insert(*sn);
                     }
                     ValidateExactRequest(w, s, ip, false);
                   }
                 }
               });
  const std::string cp = Child(dp, "constraints");
  ValidateList(
      w, devices, "constraints", cp, kMaxConstraints,
      [&](const Object& c, const std::string& p, size_t) {
        if (!c.is_object()) {
          w.Add(TypeInvalid(p, JsonTypeName(c), "must be an object"));
          return;
        }
        ValidateRequestRefs(w, &c, Child(p, "requests"), refs);
        auto match = w.Str(&c, "matchAttribute", Child(p, "matchAttribute"));
        auto distinct = w.Str(&c, "distinctAttribute", Child(p, "distinctAttribute"));
        if (!match && !distinct) {
          // The API server's own wording (1.34+, DRAConsumableCapacity on).
          w.Add(Required(p,
                         "exactly one of \"matchAttribute\" or \"distinctAttribute\" is required, "
                         "but multiple fields are set"));
        } else if (match && distinct) {
          w.Add(Invalid(p, "{`matchAttribute`, `distinctAttribute`}",
                        "exactly one of `matchAttribute` or `distinctAttribute` is required, but "
                        "multiple fields are set"));
        }
        if (match) ValidateDeviceQualifiedName(w, *match, Child(p, "matchAttribute"), true);
        if (distinct)
          ValidateDeviceQualifiedName(w, *distinct, Child(p, "distinctAttribute"), true);
      });
  const std::string fp = Child(dp, "config");
  ValidateList(w, devices, "config", fp, kMaxConfigs,
               [&](const Object& c, const std::string& p, size_t) {
                 if (!c.is_object()) {
                   w.Add(TypeInvalid(p, JsonTypeName(c), "must be an object"));
                   return;
                 }
                 ValidateRequestRefs(w, &c, Child(p, "requests"), refs);
                 ValidateOpaque(w, &c, p);
               });
}

// ---- ResourceClaim status -------------------------------------------------------

bool IsCidr(const std::string& s) {
  size_t slash = s.find('/');
  if (slash == std::string::npos || slash + 1 >= s.size()) return false;
  std::string ip = s.substr(0, slash), bits = s.substr(slash + 1);
  if (bits.size() > 3 || !std::all_of(bits.begin(), bits.end(), ::isdigit)) return false;
  int n = std::stoi(bits);
  unsigned char buf[16];
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) return n <= 32;
  if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) return n <= 128;
  return false;
}

bool RequestRefExists(const RequestRefs& refs, const std::string& ref) {
  size_t slash = ref.find('/');
  auto it = refs.find(ref.substr(0, slash));
  if (it == refs.end()) return false;
  if (slash == std::string::npos) return true;
  return it->second.count(ref.substr(slash + 1)) > 0;
}

// GatherRequestRefs(): the request and subrequest names of a claim's spec.
RequestRefs GatherRequestRefs(const Object& claim) {
  RequestRefs refs;
  const Object* reqs =
      Walker::Field(Walker::Field(Walker::Field(&claim, "spec"), "devices"), "requests");
  if (reqs == nullptr || !reqs->is_array()) return refs;
  for (const auto& r : *reqs) {
    if (!r.is_object() || !r.contains("name") || !r["name"].is_string()) continue;
    auto& subs = refs[r["name"].get<std::string>()];
    const Object* first = Walker::Field(&r, "firstAvailable");
    if (first == nullptr || !first->is_array()) continue;
    for (const auto& sub : *first) {
      if (sub.is_object() && sub.contains("name") && sub["name"].is_string()) {
        subs.insert(sub["name"].get<std::string>());
      }
    }
  }
  return refs;
}

// An allocated device: driver, pool, device.
using DeviceKey = std::tuple<std::string, std::string, std::string>;

// StoredAllocatedDevices(): the devices of an allocation stored earlier.
std::set<DeviceKey> StoredAllocatedDevices(const Object* alloc) {
  std::set<DeviceKey> allocated;
  const Object* results = Walker::Field(Walker::Field(alloc, "devices"), "results");
  if (results == nullptr || !results->is_array()) return allocated;
  for (const auto& r : *results) {
    if (r.is_object()) {
      allocated.insert({r.value("driver", ""), r.value("pool", ""), r.value("device", "")});
    }
  }
  return allocated;
}

// ValidateAllocationResult(): one status.allocation.devices.results entry;
// its device is added to `allocated`.
void ValidateAllocationResult(Walker& w, const Object& r, const std::string& p,
                              const RequestRefs& refs, std::set<DeviceKey>* allocated) {
  if (!r.is_object()) {
    w.Add(TypeInvalid(p, JsonTypeName(r), "must be an object"));
    return;
  }
  auto req = w.Str(&r, "request", Child(p, "request"));
  if (!req || req->empty()) {
    w.Add(Required(Child(p, "request")));
  } else if (!RequestRefExists(refs, *req)) {
    w.Add(Invalid(Child(p, "request"), *req,
                  "must be the name of a request in the claim or the name of a "
                  "request and a subrequest separated by '/'"));
  }
  auto driver = w.Str(&r, "driver", Child(p, "driver"));
  ValidateDriverName(w, driver, Child(p, "driver"));
  auto pool = w.Str(&r, "pool", Child(p, "pool"));
  ValidatePoolName(w, pool, Child(p, "pool"));
  auto device = w.Str(&r, "device", Child(p, "device"));
  ValidateDnsLabelName(w, device, Child(p, "device"));
  if (driver && pool && device) allocated->insert({*driver, *pool, *device});
  ValidateList(
      w, &r, "tolerations", Child(p, "tolerations"), kMaxTolerations,
      [&](const Object& t, const std::string& tp, size_t) { ValidateToleration(w, t, tp); });
  ValidateStringList(w, &r, "bindingConditions", Child(p, "bindingConditions"),
                     kMaxBindingConditions, true);
  ValidateStringList(w, &r, "bindingFailureConditions", Child(p, "bindingFailureConditions"),
                     kMaxBindingConditions, true);
}

// ValidateAllocationConfig(): one status.allocation.devices.config entry.
void ValidateAllocationConfig(Walker& w, const Object& c, const std::string& p) {
  auto source = w.Str(&c, "source", Child(p, "source"));
  if (!source || source->empty()) {
    w.Add(Required(Child(p, "source")));
  } else if (*source != "FromClass" && *source != "FromClaim") {
    w.Add(NotSupported(Child(p, "source"), *source, {"FromClaim", "FromClass"}));
  }
  ValidateOpaque(w, &c, p);
}

// ValidateAllocation(): a new status.allocation: results, config and node
// selector; the allocated devices are added to `allocated`.
void ValidateAllocation(Walker& w, const Object* alloc, const std::string& ap,
                        const RequestRefs& refs, std::set<DeviceKey>* allocated) {
  const std::string dp = Child(ap, "devices");
  const Object* devices = w.Obj(alloc, "devices", dp);
  ValidateList(w, devices, "results", Child(dp, "results"), kMaxAllocationResults,
               [&](const Object& r, const std::string& p, size_t) {
                 ValidateAllocationResult(w, r, p, refs, allocated);
               });
  ValidateList(
      w, devices, "config", Child(dp, "config"), kMaxAllocationConfigs,
      [&](const Object& c, const std::string& p, size_t) { ValidateAllocationConfig(w, c, p); });
  if (const Object* ns = w.Obj(alloc, "nodeSelector", Child(ap, "nodeSelector"))) {
    ValidateNodeSelector(w, ns, Child(ap, "nodeSelector"));
  }
}

// ValidateReservedFor(): status.reservedFor entries, complete and with
// distinct UIDs; how many there are.
size_t ValidateReservedFor(Walker& w, const Object* status, const std::string& sp) {
  std::set<std::string> uids;
  return ValidateList(w, status, "reservedFor", Child(sp, "reservedFor"), kMaxReservedFor,
                      [&](const Object& r, const std::string& p, size_t) {
                        if (!r.is_object()) {
                          w.Add(TypeInvalid(p, JsonTypeName(r), "must be an object"));
                          return;
                        }
                        for (const char* f : {"resource", "name", "uid"}) {
                          auto v = w.Str(&r, f, Child(p, f));
                          if (!v || v->empty()) w.Add(Required(Child(p, f)));
                        }
                        auto uid = w.Str(&r, "uid", Child(p, "uid"));
                        if (uid && !uid->empty() && !uids.insert(*uid).second)
                          w.Add(Duplicate(p, *uid));
                      });
}

// ValidateDeviceCondition(): one condition of a device's status.
void ValidateDeviceCondition(Walker& w, const Object& c, const std::string& cp) {
  auto type = w.Str(&c, "type", Child(cp, "type"));
  if (!type || type->empty()) w.Add(Required(Child(cp, "type")));
  auto st = w.Str(&c, "status", Child(cp, "status"));
  if (!st || (*st != "True" && *st != "False" && *st != "Unknown")) {
    w.Add(NotSupported(Child(cp, "status"), st.value_or(""), {"False", "True", "Unknown"}));
  }
}

// ValidateDeviceData(): a device status's opaque data: a bounded object.
void ValidateDeviceData(Walker& w, const Object& d, const std::string& p) {
  const Object* data = Walker::Field(&d, "data");
  if (data == nullptr) return;
  if (!data->is_object()) {
    w.Add(Invalid(Child(p, "data"), "<value omitted>", "data must be a valid JSON object"));
  } else if (data->dump().size() > kMaxStatusData) {
    w.Add(TooLong(Child(p, "data"), kMaxStatusData));
  }
}

// ValidateNetworkData(): a device status's networkData: bounded names and
// distinct CIDR addresses.
void ValidateNetworkData(Walker& w, const Object& d, const std::string& p) {
  const std::string np = Child(p, "networkData");
  const Object* net = w.Obj(&d, "networkData", np);
  if (net == nullptr) return;
  auto iface = w.Str(net, "interfaceName", Child(np, "interfaceName"));
  if (iface && iface->size() > kMaxInterfaceName)
    w.Add(TooLong(Child(np, "interfaceName"), kMaxInterfaceName));
  auto hw = w.Str(net, "hardwareAddress", Child(np, "hardwareAddress"));
  if (hw && hw->size() > kMaxHardwareAddress)
    w.Add(TooLong(Child(np, "hardwareAddress"), kMaxHardwareAddress));
  std::set<std::string> ips;
  ValidateList(w, net, "ips", Child(np, "ips"), kMaxIps,
               [&](const Object& ip, const std::string& ipp, size_t) {
                 if (!ip.is_string()) {
                   w.Add(TypeInvalid(ipp, JsonTypeName(ip), "must be a string"));
                   return;
                 }
                 std::string s = ip.get<std::string>();
                 if (!IsCidr(s))
                   w.Add(Invalid(ipp, s,
                                 "must be a valid address in CIDR form, (e.g. 10.9.8.7/24 "
                                 "or 2001:db8::1/64)"));
                 if (!ips.insert(s).second) w.Add(Duplicate(ipp, s));
               });
}

// ValidateStatusDevice(): one status.devices entry: an allocated device of
// the claim (`allocated`), listed once (`status_keys`), with valid
// conditions, data and network data.
void ValidateStatusDevice(Walker& w, const Object& d, const std::string& p,
                          const std::set<DeviceKey>& allocated,
                          std::set<std::string>* status_keys) {
  if (!d.is_object()) {
    w.Add(TypeInvalid(p, JsonTypeName(d), "must be an object"));
    return;
  }
  auto driver = w.Str(&d, "driver", Child(p, "driver"));
  ValidateDriverName(w, driver, Child(p, "driver"));
  auto pool = w.Str(&d, "pool", Child(p, "pool"));
  ValidatePoolName(w, pool, Child(p, "pool"));
  auto device = w.Str(&d, "device", Child(p, "device"));
  ValidateDnsLabelName(w, device, Child(p, "device"));
  auto share = w.Str(&d, "shareID", Child(p, "shareID")).value_or("");
  if (driver && pool && device) {
    std::string key = *driver + "/" + *pool + "/" + *device + (share.empty() ? "" : "/" + share);
    if (!status_keys->insert(key).second) w.Add(Duplicate(p, key));
    if (allocated.count({*driver, *pool, *device}) == 0) {
      w.Add(Invalid(p, key, "must be an allocated device in the claim"));
    }
  }
  ValidateList(
      w, &d, "conditions", Child(p, "conditions"), kMaxDeviceConditions,
      [&](const Object& c, const std::string& cp, size_t) { ValidateDeviceCondition(w, c, cp); });
  ValidateDeviceData(w, d, p);
  ValidateNetworkData(w, d, p);
}

// ValidateClaimStatus(): validate_allocation is false when an allocation was
// already stored: it is then only checked for immutability, as upstream does
// (rules for new results may be stricter than those it was written under).
void ValidateClaimStatus(Walker& w, const Object& obj, bool validate_allocation) {
  const std::string sp = "status";
  const Object* status = w.Obj(&obj, "status", sp);
  if (status == nullptr) return;
  const std::string ap = Child(sp, "allocation");
  const Object* alloc = w.Obj(status, "allocation", ap);
  std::set<DeviceKey> allocated;
  const RequestRefs refs = GatherRequestRefs(obj);
  if (alloc != nullptr && !validate_allocation) allocated = StoredAllocatedDevices(alloc);
  if (alloc != nullptr && validate_allocation) ValidateAllocation(w, alloc, ap, refs, &allocated);
  size_t reserved = ValidateReservedFor(w, status, sp);
  if (reserved > 0 && alloc == nullptr) {
    // Sic: the API server says `allocated` here.
    w.Add(Forbidden(Child(sp, "reservedFor"), "may not be specified when `allocated` is not set"));
  }
  std::set<std::string> status_keys;
  ValidateList(w, status, "devices", Child(sp, "devices"), 0,
               [&](const Object& d, const std::string& p, size_t) {
                 ValidateStatusDevice(w, d, p, allocated, &status_keys);
               });
}

// ---- DeviceTaintRule ------------------------------------------------------------

void ValidateTaintRuleSpec(Walker& w, const Object& obj) {
  const std::string sp = "spec";
  const Object* spec = w.Obj(&obj, "spec", sp);
  if (spec == nullptr) {
    w.Add(Required(sp));
    return;
  }
  const std::string dp = Child(sp, "deviceSelector");
  if (const Object* sel = w.Obj(spec, "deviceSelector", dp)) {
    if (auto d = w.Str(sel, "driver", Child(dp, "driver")); d && !d->empty()) {
      ValidateDriverName(w, d, Child(dp, "driver"));
    }
    if (auto p = w.Str(sel, "pool", Child(dp, "pool")); p && !p->empty()) {
      ValidatePoolName(w, p, Child(dp, "pool"));
    }
    ValidateDnsLabelField(w, w.Str(sel, "device", Child(dp, "device")), Child(dp, "device"), false);
    ValidateSubdomainField(w, w.Str(sel, "deviceClassName", Child(dp, "deviceClassName")),
                           Child(dp, "deviceClassName"), false);
    ValidateCelSelectors(w, sel, Child(dp, "selectors"));
  }
  const Object* taint = w.Obj(spec, "taint", Child(sp, "taint"));
  if (taint == nullptr) {
    w.Add(Required(Child(sp, "taint")));
  } else {
    ValidateTaint(w, *taint, Child(sp, "taint"));
  }
}

// ---- core kinds -------------------------------------------------------------

void ValidatePodSpec(Walker& w, const Object& obj) {
  const std::string sp = "spec";
  const Object* spec = w.Obj(&obj, "spec", sp);
  if (spec == nullptr) {
    w.Add(Required(sp));
    return;
  }
  std::set<std::string> claim_names;
  ValidateList(
      w, spec, "resourceClaims", Child(sp, "resourceClaims"), 0,
      [&](const Object& c, const std::string& p, size_t) {
        auto name = w.Str(&c, "name", Child(p, "name"));
        ValidateDnsLabelField(w, name, Child(p, "name"));
        if (name && !name->empty() && !claim_names.insert(*name).second) {
          w.Add(Duplicate(Child(p, "name"), *name));
        }
        auto rc = w.Str(&c, "resourceClaimName", Child(p, "resourceClaimName"));
        auto rct = w.Str(&c, "resourceClaimTemplateName", Child(p, "resourceClaimTemplateName"));
        bool has_rc = rc && !rc->empty(), has_rct = rct && !rct->empty();
        if (!has_rc && !has_rct) {
          w.Add(Invalid(p, "{}",
                        "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`"));
        } else if (has_rc && has_rct) {
          w.Add(Invalid(p, "{`resourceClaimName`, `resourceClaimTemplateName`}",
                        "at most one of `resourceClaimName` or `resourceClaimTemplateName` may be "
                        "specified"));
        }
        if (has_rc) ValidateSubdomainField(w, rc, Child(p, "resourceClaimName"));
        if (has_rct) ValidateSubdomainField(w, rct, Child(p, "resourceClaimTemplateName"));
      });
  std::set<std::string> container_names;
  auto check_containers = [&](const char* key, bool required) {
    const std::string cp = Child(sp, key);
    size_t n =
        ValidateList(w, spec, key, cp, 0, [&](const Object& c, const std::string& p, size_t) {
          auto name = w.Str(&c, "name", Child(p, "name"));
          ValidateDnsLabelField(w, name, Child(p, "name"));
          if (name && !name->empty() && !container_names.insert(*name).second)
            w.Add(Duplicate(Child(p, "name"), *name));
          auto image = w.Str(&c, "image", Child(p, "image"));
          if (!image || image->empty()) w.Add(Required(Child(p, "image")));
          const std::string rp = Child(Child(p, "resources"), "claims");
          const Object* res = w.Obj(&c, "resources", Child(p, "resources"));
          ValidateList(w, res, "claims", rp, 0,
                       [&](const Object& rc, const std::string& rcp, size_t) {
                         auto cn = w.Str(&rc, "name", Child(rcp, "name"));
                         if (!cn || cn->empty()) {
                           w.Add(Required(Child(rcp, "name")));
                         } else if (claim_names.count(*cn) == 0) {
                           w.Add(NotSupported(
                               Child(rcp, "name"), *cn,
                               std::vector<std::string>(claim_names.begin(), claim_names.end())));
                         }
                       });
        });
    if (required && n == 0) w.Add(Required(cp));
  };
  check_containers("initContainers", false);
  check_containers("containers", true);
  auto node = w.Str(spec, "nodeName", Child(sp, "nodeName"));
  if (node && !node->empty())
    AddNameErrors(w, Child(sp, "nodeName"), *node, IsDns1123Subdomain(*node));
}

std::vector<FieldError> ValidateImpl(const Object& obj, int minor, bool stored_selectors = false) {
  Errs errs;
  Walker w(errs, minor);
  w.set_stored_selectors(stored_selectors);
  if (!obj.is_object()) {
    errs.push_back(TypeInvalid("", JsonTypeName(obj), "an API object must be a JSON object"));
    return errs;
  }
  std::string api_version = ApiVersion(obj), kind = Kind(obj);
  if (api_version.empty()) errs.push_back(Required("apiVersion"));
  if (kind.empty()) errs.push_back(Required("kind"));
  if (api_version.empty() || kind.empty()) return errs;
  const ResourceInfo* info = FindByKind(kind, api_version);
  if (info == nullptr) {
    errs.push_back(Invalid(
        "kind", kind, "no kind \"" + kind + "\" is served in version \"" + api_version + "\""));
    return errs;
  }
  NameRule rule = NameRule::kSubdomain;
  if (kind == "Namespace") rule = NameRule::kLabel;
  ValidateObjectMeta(w, obj, *info, rule);
  if (kind == "ResourceSlice") {
    ValidateSliceSpec(w, obj);
  } else if (kind == "DeviceClass") {
    ValidateDeviceClassSpec(w, obj);
  } else if (kind == "ResourceClaim") {
    ValidateClaimSpec(w, w.Obj(&obj, "spec", "spec"), "spec");
  } else if (kind == "ResourceClaimTemplate") {
    const Object* spec = w.Obj(&obj, "spec", "spec");
    if (spec == nullptr) {
      w.Add(Required("spec"));
    } else {
      ValidateTemplateMeta(w, w.Obj(spec, "metadata", "spec.metadata"), "spec.metadata");
      ValidateClaimSpec(w, w.Obj(spec, "spec", "spec.spec"), "spec.spec");
    }
  } else if (kind == "DeviceTaintRule") {
    ValidateTaintRuleSpec(w, obj);
  } else if (kind == "Pod") {
    ValidatePodSpec(w, obj);
  }
  return errs;
}

// At(): the value at a dotted path (null when absent).
Object At(const Object& o, const std::string& dotted) {
  const Object* cur = &o;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    std::string part =
        dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object() || !cur->contains(part)) return Object();
    cur = &(*cur)[part];
    if (dot == std::string::npos) return *cur;
    start = dot + 1;
  }
}

void Immutable(Errs& errs, const Object& old_obj, const Object& new_obj,
               const std::string& dotted) {
  // Absent on both sides is equal.
  Object a = At(old_obj, dotted), b = At(new_obj, dotted);
  if (a != b) errs.push_back(Invalid(dotted, b, "field is immutable"));
}

// SelectorsStored(): does an update keep the object's CEL selectors as they
// are? Upstream then compiles them as stored expressions (validation.go:
// DeviceClass compares spec.selectors; a claim's spec is immutable).
bool SelectorsStored(const Object& old_obj, const Object& new_obj) {
  std::string kind = Kind(new_obj);
  std::string path = kind == "DeviceClass"       ? "spec.selectors"
                     : kind == "DeviceTaintRule" ? "spec.deviceSelector.selectors"
                                                 : "spec";
  return At(old_obj, path) == At(new_obj, path);
}

}  // namespace

std::vector<FieldError> Validate(const Object& obj, KubeVersion version) {
  return ValidateImpl(obj, version.minor);
}

std::vector<FieldError> ValidateUpdate(const Object& old_obj, const Object& new_obj,
                                       KubeVersion version) {
  Errs errs = ValidateImpl(new_obj, version.minor, SelectorsStored(old_obj, new_obj));
  Immutable(errs, old_obj, new_obj, "kind");
  Immutable(errs, old_obj, new_obj, "metadata.name");
  Immutable(errs, old_obj, new_obj, "metadata.namespace");
  if (!Uid(new_obj).empty()) Immutable(errs, old_obj, new_obj, "metadata.uid");
  std::string kind = Kind(new_obj);
  if (kind == "ResourceSlice") {
    Immutable(errs, old_obj, new_obj, "spec.driver");
    Immutable(errs, old_obj, new_obj, "spec.pool.name");
    Immutable(errs, old_obj, new_obj, "spec.nodeName");
  } else if (kind == "ResourceClaim" || kind == "ResourceClaimTemplate") {
    Immutable(errs, old_obj, new_obj, "spec");
  } else if (kind == "Pod") {
    Immutable(errs, old_obj, new_obj, "spec.resourceClaims");
    if (!FieldValue(old_obj, "spec.nodeName").empty())
      Immutable(errs, old_obj, new_obj, "spec.nodeName");
  }
  return errs;
}

std::vector<FieldError> ValidateStatusUpdate(const Object& old_obj, const Object& new_obj,
                                             KubeVersion version) {
  Errs errs;
  Immutable(errs, old_obj, new_obj, "kind");
  Immutable(errs, old_obj, new_obj, "metadata.name");
  Immutable(errs, old_obj, new_obj, "metadata.namespace");
  if (Kind(new_obj) == "ResourceClaim") {
    Walker w(errs, version.minor);
    // The allocation may be added or removed, never changed in place.
    const Object* a = Walker::Field(Walker::Field(&old_obj, "status"), "allocation");
    const Object* b = Walker::Field(Walker::Field(&new_obj, "status"), "allocation");
    ValidateClaimStatus(w, new_obj, a == nullptr);
    if (a != nullptr && b != nullptr && *a != *b) {
      errs.push_back(Invalid("status.allocation", *b, "field is immutable"));
    }
  }
  return errs;
}

}  // namespace drahil::kube
