#include "protocol.hpp"

#include <time.h>

#include <nlohmann/json.hpp>

namespace drahil::sandbox::internal {
namespace {
using Json = nlohmann::json;
}

int64_t MonotonicMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string EncodeConfig(const InitConfig& c) {
  Json j;
  j["argv"] = c.argv;
  j["env"] = c.env;
  Json nodes = Json::array();
  for (const auto& n : c.edits.device_nodes) {
    Json o = {{"path", n.path},
              {"hostPath", n.host_path},
              {"type", n.type},
              {"permissions", n.permissions}};
    if (n.major) o["major"] = *n.major;
    if (n.minor) o["minor"] = *n.minor;
    if (n.file_mode) o["fileMode"] = *n.file_mode;
    if (n.uid) o["uid"] = *n.uid;
    if (n.gid) o["gid"] = *n.gid;
    nodes.push_back(o);
  }
  j["deviceNodes"] = nodes;
  Json mounts = Json::array();
  for (const auto& m : c.edits.mounts) {
    mounts.push_back({{"hostPath", m.host_path},
                      {"containerPath", m.container_path},
                      {"options", m.options},
                      {"type", m.type}});
  }
  j["mounts"] = mounts;
  Json hooks = Json::array();
  for (const auto& h : c.edits.hooks) {
    Json o = {{"hookName", h.hook_name}, {"path", h.path}, {"args", h.args}, {"env", h.env}};
    if (h.timeout) o["timeout"] = *h.timeout;
    hooks.push_back(o);
  }
  j["hooks"] = hooks;
  j["additionalGids"] = c.edits.additional_gids;
  j["fakeRoot"] = c.fake_root;
  j["maskDirs"] = c.mask_dirs;
  Json binds = Json::array();
  for (const auto& b : c.extra_binds)
    binds.push_back({{"host", b.host_path}, {"container", b.container_path}, {"ro", b.read_only}});
  j["binds"] = binds;
  j["cwd"] = c.cwd;
  j["hostname"] = c.hostname;
  j["privateRun"] = c.private_run;
  j["readOnlyRoot"] = c.read_only_root;
  j["hostNetwork"] = c.host_network;
  j["stagingTmp"] = c.staging_tmp_dir;
  j["userns"] = c.user_namespace;
  j["allowHooks"] = c.allow_hooks;
  j["staging"] = c.staging_dir;
  j["deadline"] = c.deadline_mono_ms;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<InitConfig> DecodeConfig(const std::string& text) {
  try {
    Json j = Json::parse(text);
    InitConfig c;
    c.argv = j.at("argv").get<std::vector<std::string>>();
    c.env = j.at("env").get<std::vector<std::string>>();
    for (const auto& o : j.at("deviceNodes")) {
      cdi::DeviceNode n;
      n.path = o.at("path").get<std::string>();
      n.host_path = o.at("hostPath").get<std::string>();
      n.type = o.at("type").get<std::string>();
      n.permissions = o.at("permissions").get<std::string>();
      if (o.contains("major")) n.major = o["major"].get<int64_t>();
      if (o.contains("minor")) n.minor = o["minor"].get<int64_t>();
      if (o.contains("fileMode")) n.file_mode = o["fileMode"].get<uint32_t>();
      if (o.contains("uid")) n.uid = o["uid"].get<uint32_t>();
      if (o.contains("gid")) n.gid = o["gid"].get<uint32_t>();
      c.edits.device_nodes.push_back(n);
    }
    for (const auto& o : j.at("mounts")) {
      c.edits.mounts.push_back(
          {o.at("hostPath").get<std::string>(), o.at("containerPath").get<std::string>(),
           o.at("options").get<std::vector<std::string>>(), o.at("type").get<std::string>()});
    }
    for (const auto& o : j.at("hooks")) {
      cdi::Hook h;
      h.hook_name = o.at("hookName").get<std::string>();
      h.path = o.at("path").get<std::string>();
      h.args = o.at("args").get<std::vector<std::string>>();
      h.env = o.at("env").get<std::vector<std::string>>();
      if (o.contains("timeout")) h.timeout = o["timeout"].get<int64_t>();
      c.edits.hooks.push_back(h);
    }
    c.edits.additional_gids = j.at("additionalGids").get<std::vector<uint32_t>>();
    c.fake_root = j.at("fakeRoot").get<std::string>();
    c.mask_dirs = j.at("maskDirs").get<std::vector<std::string>>();
    for (const auto& o : j.at("binds")) {
      c.extra_binds.push_back({o.at("host").get<std::string>(),
                               o.at("container").get<std::string>(), o.at("ro").get<bool>()});
    }
    c.cwd = j.at("cwd").get<std::string>();
    c.hostname = j.at("hostname").get<std::string>();
    c.private_run = j.at("privateRun").get<bool>();
    c.read_only_root = j.at("readOnlyRoot").get<bool>();
    c.host_network = j.at("hostNetwork").get<bool>();
    c.staging_tmp_dir = j.at("stagingTmp").get<std::string>();
    c.user_namespace = j.at("userns").get<bool>();
    c.allow_hooks = j.at("allowHooks").get<bool>();
    c.staging_dir = j.at("staging").get<std::string>();
    c.deadline_mono_ms = j.at("deadline").get<int64_t>();
    return c;
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("sandbox config: ") + e.what());
  }
}

}  // namespace drahil::sandbox::internal
