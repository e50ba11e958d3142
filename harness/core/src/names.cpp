// Kubernetes' name rules (drahil/core/names.hpp): the regexes of
// k8s.io/apimachinery/pkg/util/validation as hand-written matchers, and
// upstream's messages.
#include "drahil/core/names.hpp"

#include <algorithm>

namespace drahil {
namespace {

const char kDns1123LabelMsg[] =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const char kDns1123SubdomainMsg[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const char kQualifiedNameMsg[] =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const char kLabelValueMsg[] =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value', "
    " or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const char kDns1035LabelMsg[] =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const char kCIdentifierMsg[] =
    "a valid C identifier must start with alphabetic character or '_', followed by a string of "
    "alphanumeric characters or '_' (e.g. 'my_name',  or 'MY_NAME',  or 'MyName', regex used for "
    "validation is '[A-Za-z_][A-Za-z0-9_]*')";

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

bool MatchesDnsLabel(std::string_view s) {
  if (s.empty() || !IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsLowerAlnum(c) || c == '-'; });
}

bool MatchesDnsSubdomain(std::string_view s) {
  if (s.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!MatchesDnsLabel(s.substr(start, dot == std::string_view::npos ? s.npos : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool MatchesQualifiedNamePart(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

std::string MaxLenMsg(size_t n) {
  return "must be no more than " + std::to_string(n) + " characters";
}

}  // namespace

std::vector<std::string> IsDns1123Label(std::string_view value) {
  std::vector<std::string> out;
  if (value.size() > 63) out.push_back(MaxLenMsg(63));
  if (!MatchesDnsLabel(value)) out.push_back(kDns1123LabelMsg);
  return out;
}

std::vector<std::string> IsDns1035Label(std::string_view value) {
  std::vector<std::string> out;
  if (value.size() > 63) out.push_back(MaxLenMsg(63));
  if (!MatchesDnsLabel(value) || !(value.front() >= 'a' && value.front() <= 'z')) {
    out.push_back(kDns1035LabelMsg);
  }
  return out;
}

std::vector<std::string> IsDns1123Subdomain(std::string_view value) {
  std::vector<std::string> out;
  if (value.size() > 253) out.push_back(MaxLenMsg(253));
  if (!MatchesDnsSubdomain(value)) out.push_back(kDns1123SubdomainMsg);
  return out;
}

std::vector<std::string> IsQualifiedName(std::string_view value) {
  std::vector<std::string> out;
  std::string_view name = value;
  size_t slash = value.find('/');
  if (slash != std::string_view::npos) {
    if (value.find('/', slash + 1) != std::string_view::npos) {
      out.push_back(std::string("a qualified name ") + kQualifiedNameMsg +
                    " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
      return out;
    }
    std::string_view prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    if (prefix.empty()) {
      out.push_back("prefix part must be non-empty");
    } else {
      for (auto& m : IsDns1123Subdomain(prefix)) out.push_back("prefix part " + m);
    }
  }
  if (name.empty()) {
    out.push_back("name part must be non-empty");
  } else if (name.size() > 63) {
    out.push_back("name part " + MaxLenMsg(63));
  }
  if (!name.empty() && !MatchesQualifiedNamePart(name)) {
    out.push_back(std::string("name part ") + kQualifiedNameMsg);
  }
  return out;
}

std::vector<std::string> IsValidLabelValue(std::string_view value) {
  std::vector<std::string> out;
  if (value.size() > 63) out.push_back(MaxLenMsg(63));
  if (!value.empty() && !MatchesQualifiedNamePart(value)) out.push_back(kLabelValueMsg);
  return out;
}

std::vector<std::string> IsCIdentifier(std::string_view value) {
  bool ok = !value.empty() && !(value[0] >= '0' && value[0] <= '9') &&
            std::all_of(value.begin(), value.end(), [](char c) { return IsAlnum(c) || c == '_'; });
  if (ok) return {};
  return {kCIdentifierMsg};
}

namespace {

// maskTrailingDash(): a generateName may end in '-' (the suffix follows).
std::string MaskTrailingDash(std::string_view value) {
  std::string s(value);
  if (s.size() > 1 && s.back() == '-') s.back() = 'a';
  return s;
}

}  // namespace

std::vector<std::string> NameIsDnsLabel(std::string_view value, bool prefix) {
  return IsDns1123Label(prefix ? MaskTrailingDash(value) : std::string(value));
}

std::vector<std::string> NameIsDnsSubdomain(std::string_view value, bool prefix) {
  return IsDns1123Subdomain(prefix ? MaskTrailingDash(value) : std::string(value));
}

std::vector<std::string> NameIsDns1035Label(std::string_view value, bool prefix) {
  return IsDns1035Label(prefix ? MaskTrailingDash(value) : std::string(value));
}

}  // namespace drahil
