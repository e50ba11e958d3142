// CDI specs: the model's methods, version comparison, and the helpers the
// decoding, validation and writing files share (spec_internal.hpp).
#include "drahil/cdi/spec.hpp"

#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spec_internal.hpp"

namespace drahil::cdi {
namespace internal {

[[noreturn]] void Fail(std::string path, std::string rule, std::string detail) {
  throw SpecFailure{std::move(path), std::move(rule), std::move(detail)};
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 200)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      static const char* kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  if (s.size() > 200) out += "...";
  return out + "\"";
}

Status ToStatus(const SpecFailure& f, std::string_view source) {
  std::string msg;
  if (!source.empty()) msg = std::string(source) + ": ";
  msg += f.path + ": [" + f.rule + "] " + f.detail;
  return InvalidArgumentError(std::move(msg));
}

}  // namespace internal

std::string DeviceNode::EffectivePermissions() const {
  if (permissions.empty()) return "rwm";
  if (permissions == "none") return "";
  return permissions;
}

bool ContainerEdits::Empty() const {
  return env.empty() && device_nodes.empty() && hooks.empty() && mounts.empty() && !intel_rdt &&
         additional_gids.empty() && net_devices.empty();
}

void ContainerEdits::Append(const ContainerEdits& o) {
  env.insert(env.end(), o.env.begin(), o.env.end());
  device_nodes.insert(device_nodes.end(), o.device_nodes.begin(), o.device_nodes.end());
  hooks.insert(hooks.end(), o.hooks.begin(), o.hooks.end());
  mounts.insert(mounts.end(), o.mounts.begin(), o.mounts.end());
  if (o.intel_rdt) intel_rdt = o.intel_rdt;
  additional_gids.insert(additional_gids.end(), o.additional_gids.begin(), o.additional_gids.end());
  net_devices.insert(net_devices.end(), o.net_devices.begin(), o.net_devices.end());
}

std::string Spec::Vendor() const {
  auto slash = kind.find('/');
  return slash == std::string::npos ? kind : kind.substr(0, slash);
}

std::string Spec::Class() const {
  auto slash = kind.find('/');
  return slash == std::string::npos ? "" : kind.substr(slash + 1);
}

std::string Spec::QualifiedName(const std::string& device) const { return kind + "=" + device; }

int CompareVersions(std::string_view a, std::string_view b) {
  auto parts = [](std::string_view v) {
    std::vector<long> out;
    size_t start = 0;
    while (start <= v.size()) {
      size_t dot = v.find('.', start);
      std::string piece(
          v.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
      out.push_back(std::strtol(piece.c_str(), nullptr, 10));
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    out.resize(3, 0);
    return out;
  };
  auto pa = parts(a), pb = parts(b);
  for (size_t i = 0; i < 3; ++i) {
    if (pa[i] != pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return 0;
}

}  // namespace drahil::cdi
