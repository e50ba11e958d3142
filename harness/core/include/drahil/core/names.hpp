// File: names.hpp
//
// Kubernetes' name rules (k8s.io/apimachinery/pkg/util/validation and
// pkg/api/validation), with upstream's messages: what the API server's
// validation and the CEL format library (`format.dns1123Label()` ...) both
// report. Each returns the detail messages; an empty vector means valid.
#ifndef DRAHIL_CORE_NAMES_HPP_INCLUDED
#define DRAHIL_CORE_NAMES_HPP_INCLUDED

#include <string>
#include <string_view>
#include <vector>

namespace drahil {

std::vector<std::string> IsDns1123Subdomain(std::string_view value);
std::vector<std::string> IsDns1123Label(std::string_view value);
std::vector<std::string> IsDns1035Label(std::string_view value);
std::vector<std::string> IsQualifiedName(std::string_view value);
std::vector<std::string> IsValidLabelValue(std::string_view value);
std::vector<std::string> IsCIdentifier(std::string_view value);

// NameIs...(value, prefix): apimachinery's NameIsDNSLabel, NameIsDNSSubdomain
// and NameIsDNS1035Label: with prefix (a generateName), one trailing '-' is
// allowed (maskTrailingDash()).
std::vector<std::string> NameIsDnsLabel(std::string_view value, bool prefix);
std::vector<std::string> NameIsDnsSubdomain(std::string_view value, bool prefix);
std::vector<std::string> NameIsDns1035Label(std::string_view value, bool prefix);

}  // namespace drahil

#endif  // DRAHIL_CORE_NAMES_HPP_INCLUDED
