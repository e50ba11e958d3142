// File: selectors.hpp (private)
//
// Label and field selectors of the labelSelector= and fieldSelector= query
// parameters: drahil::kube's parsers, plus the server's rule that a field
// selector may only name fields the resource supports.
#ifndef DRAHIL_APISERVER_SELECTORS_HPP_INCLUDED
#define DRAHIL_APISERVER_SELECTORS_HPP_INCLUDED

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drahil/kube/object.hpp"

namespace drahil::apiserver::internal {

struct ResourceInfo;

class LabelSelector {
 public:
  // Parse(): empty matches all. On error returns nullopt and sets *error.
  static std::optional<LabelSelector> Parse(std::string_view text, std::string* error);
  // MatchesObject(): against metadata.labels.
  [[nodiscard]] bool MatchesObject(const nlohmann::json& obj) const {
    return sel_.Empty() || sel_.MatchesObject(obj);
  }

 private:
  kube::LabelSelector sel_;
};

class FieldSelector {
 public:
  // Parse(): fails for labels the resource does not support, with the text
  // of the resource's upstream field label conversion func
  // (ResourceInfo::UnsupportedFieldMessage). Labels are mapped to where
  // their value is stored (an alias such as pods' spec.host, events'
  // source → source.component).
  static std::optional<FieldSelector> Parse(std::string_view text, const ResourceInfo& info,
                                            std::string* error);
  [[nodiscard]] bool Matches(const nlohmann::json& obj) const;
  // ExactName(): the name a "metadata.name=X" requirement pins (as
  // kube-apiserver's RequestInfo takes it for list/watch authorization).
  [[nodiscard]] std::optional<std::string> ExactName() const;

 private:
  struct Req {
    std::string label;
    std::string path;
    std::string absent;
    bool equals = true;
    std::string value;
  };
  std::vector<Req> reqs_;
};

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_SELECTORS_HPP_INCLUDED
