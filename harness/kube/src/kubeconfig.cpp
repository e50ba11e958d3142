// KubeConfig: the cluster, user and namespace of one kubeconfig context, read
// the way client-go reads them (inline "-data" or files relative to the
// kubeconfig). See rest_client.hpp.
#include <cstdlib>

#include "drahil/core/file_util.hpp"
#include "drahil/kube/manifest.hpp"
#include "drahil/kube/rest_client.hpp"

namespace drahil::kube {

namespace {

Result<std::string> Base64Decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    int v = val(c);
    if (v < 0) return InvalidArgumentError("invalid base64 data");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

const Object* NamedEntry(const Object& root, const char* list, const std::string& name,
                         const char* inner) {
  auto it = root.find(list);
  if (it == root.end() || !it->is_array()) return nullptr;
  for (const auto& e : *it) {
    if (e.is_object() && e.value("name", "") == name) {
      auto in = e.find(inner);
      if (in != e.end() && in->is_object()) return &*in;
      return nullptr;
    }
  }
  return nullptr;
}

std::string Str(const Object* o, const char* key) {
  if (o == nullptr) return {};
  auto it = o->find(key);
  if (it == o->end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// ReadData(): "<key>-data" (base64) or the file named by "<key>".
Result<std::string> ReadData(const Object* o, const std::string& key, const std::string& base_dir) {
  std::string data = Str(o, (key + "-data").c_str());
  if (!data.empty()) {
    auto decoded = Base64Decode(data);
    if (!decoded.ok()) return decoded.status().WithContext(key + "-data");
    return decoded;
  }
  std::string file = Str(o, key.c_str());
  if (file.empty()) return std::string();
  if (file[0] != '/' && !base_dir.empty()) file = base_dir + "/" + file;
  auto text = ReadFile(file, 1u << 20);
  if (!text.ok()) return text.status().WithContext(key);
  return text;
}

}  // namespace

Result<KubeConfig> KubeConfig::Parse(std::string_view text, const std::string& base_dir,
                                     const std::string& context) {
  auto parsed = YamlToJson(text);
  if (!parsed.ok()) return parsed.status().WithContext("kubeconfig");
  const Object& root = *parsed;
  if (!root.is_object()) return InvalidArgumentError("kubeconfig: not a mapping");
  KubeConfig cfg;
  cfg.context = context.empty() ? Str(&root, "current-context") : context;
  if (cfg.context.empty())
    return InvalidArgumentError("kubeconfig: no current-context and no context given");
  const Object* ctx = NamedEntry(root, "contexts", cfg.context, "context");
  if (ctx == nullptr) return NotFoundError("kubeconfig: context \"" + cfg.context + "\" not found");
  std::string cluster_name = Str(ctx, "cluster");
  const Object* cluster = NamedEntry(root, "clusters", cluster_name, "cluster");
  if (cluster == nullptr)
    return NotFoundError("kubeconfig: cluster \"" + cluster_name + "\" not found");
  cfg.server = Str(cluster, "server");
  if (cfg.server.empty())
    return InvalidArgumentError("kubeconfig: cluster \"" + cluster_name + "\" has no server");
  cfg.tls_server_name = Str(cluster, "tls-server-name");
  if (auto it = cluster->find("insecure-skip-tls-verify");
      it != cluster->end() && it->is_boolean()) {
    cfg.insecure_skip_tls_verify = it->get<bool>();
  }
  DRAHIL_ASSIGN_OR_RETURN(cfg.ca_pem, ReadData(cluster, "certificate-authority", base_dir));
  std::string ns = Str(ctx, "namespace");
  if (!ns.empty()) cfg.namespace_ = ns;
  std::string user_name = Str(ctx, "user");
  if (!user_name.empty()) {
    const Object* user = NamedEntry(root, "users", user_name, "user");
    if (user == nullptr) return NotFoundError("kubeconfig: user \"" + user_name + "\" not found");
    cfg.token = Str(user, "token");
    std::string token_file = Str(user, "tokenFile");
    if (cfg.token.empty() && !token_file.empty()) {
      if (token_file[0] != '/' && !base_dir.empty()) token_file = base_dir + "/" + token_file;
      auto t = ReadFile(token_file, 1u << 20);
      if (!t.ok()) return t.status().WithContext("kubeconfig tokenFile");
      cfg.token = *t;
      while (!cfg.token.empty() && (cfg.token.back() == '\n' || cfg.token.back() == '\r'))
        cfg.token.pop_back();
    }
    DRAHIL_ASSIGN_OR_RETURN(cfg.client_cert_pem, ReadData(user, "client-certificate", base_dir));
    DRAHIL_ASSIGN_OR_RETURN(cfg.client_key_pem, ReadData(user, "client-key", base_dir));
    cfg.username = Str(user, "username");
    cfg.password = Str(user, "password");
    if (user->contains("exec") || user->contains("auth-provider")) {
      return UnimplementedError(
          "kubeconfig: user \"" + user_name +
          "\" uses exec/auth-provider credentials, which drahil does not run");
    }
  }
  return cfg;
}

Result<KubeConfig> KubeConfig::Load(const std::string& path, const std::string& context) {
  std::string p = path;
  if (p.empty()) {
    const char* env = std::getenv("KUBECONFIG");
    if (env != nullptr && *env != '\0') {
      p = env;
      p = p.substr(0, p.find(':'));
    } else if (const char* home = std::getenv("HOME")) {
      p = std::string(home) + "/.kube/config";
    }
  }
  if (p.empty()) return NotFoundError("kubeconfig: no path, $KUBECONFIG or $HOME");
  auto text = ReadFile(p, 16u << 20);
  if (!text.ok()) return text.status().WithContext("kubeconfig");
  std::string dir = p.find('/') == std::string::npos ? "." : p.substr(0, p.rfind('/'));
  if (dir.empty()) dir = "/";
  auto cfg = Parse(*text, dir, context);
  if (!cfg.ok()) return cfg.status().WithContext(p);
  return cfg;
}

}  // namespace drahil::kube
