// `drahil cdi validate|audit` and `drahil sandbox`: check a driver's CDI
// output and run a command in the container view it produces.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "drahil/cdi/audit.hpp"
#include "drahil/cdi/registry.hpp"
#include "drahil/cdi/spec.hpp"
#include "drahil/cli/commands.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/sandbox/sandbox.hpp"

namespace drahil::cli {
namespace {

bool IsSpecName(const std::string& n) {
  return n[0] != '.' && (n.ends_with(".json") || n.ends_with(".yaml"));
}

// Expand(): files as given; dirs to their *.json/*.yaml files, sorted.
std::vector<std::string> Expand(const std::vector<std::string>& args,
                                std::vector<std::string>* dirs) {
  std::vector<std::string> files;
  for (const auto& a : args) {
    auto names = ListDir(a);
    if (!names.ok()) {
      files.push_back(a);
      continue;
    }
    if (dirs) dirs->push_back(a);
    for (const auto& n : *names) {
      if (IsSpecName(n)) files.push_back(a + "/" + n);
    }
  }
  return files;
}

std::string FakeRootFromEnv() {
  const char* r = std::getenv("DRAHIL_FAKE_ROOT");
  return r ? r : "";
}

std::optional<cdi::Severity> ParseSeverity(const std::string& s) {
  if (s == "info") return cdi::Severity::kInfo;
  if (s == "warning") return cdi::Severity::kWarning;
  if (s == "high") return cdi::Severity::kHigh;
  if (s == "critical") return cdi::Severity::kCritical;
  return std::nullopt;
}

nlohmann::json FindingJson(const cdi::Finding& f) {
  return {{"severity", std::string(cdi::SeverityName(f.severity))},
          {"rule", f.rule},
          {"device", f.device},
          {"file", f.file},
          {"jsonPath", f.json_path},
          {"what", f.what},
          {"why", f.why}};
}

void PrintFinding(const cdi::Finding& f) {
  std::printf("  %-8s [%s] %s %s\n    what: %s\n    why:  %s\n",
              std::string(cdi::SeverityName(f.severity)).c_str(), f.rule.c_str(), f.device.c_str(),
              f.json_path.c_str(), f.what.c_str(), f.why.c_str());
}

void AddValidate(CLI::App& cdi, CliContext& ctx) {
  auto* sub = cdi.add_subcommand("validate",
                                 "Validate CDI spec files (JSON or YAML) with the runtime's rules");
  auto paths = std::make_shared<std::vector<std::string>>();
  sub->add_option("paths", *paths, "Spec files or spec dirs")->required();
  sub->callback([paths, &ctx] {
    std::vector<std::string> dirs;
    auto files = Expand(*paths, &dirs);
    int bad = 0;
    for (const auto& f : files) {
      auto spec = cdi::LoadSpecFile(f);
      if (!spec.ok()) {
        ++bad;
        std::printf("FAIL %s\n", spec.status().message().c_str());
        continue;
      }
      std::printf("OK   %s: kind %s, %zu device(s), cdiVersion %s (minimum %s)\n", f.c_str(),
                  spec->kind.c_str(), spec->devices.size(), spec->cdi_version.c_str(),
                  cdi::MinimumVersion(*spec).c_str());
    }
    if (!dirs.empty()) {
      auto reg = cdi::Registry::Load(dirs);
      if (!reg.ok()) {
        std::fprintf(stderr, "drahil cdi validate: %s\n", reg.status().ToString().c_str());
        ctx.exit_code = kExitUsage;
        return;
      }
      for (const auto& e : reg->errors()) {
        if (e.status.code() == Code::kFailedPrecondition) {
          ++bad;
          std::printf("FAIL %s\n", e.status.message().c_str());
        }
      }
    }
    if (files.empty()) {
      std::fprintf(stderr, "drahil cdi validate: no .json or .yaml spec files found\n");
      ctx.exit_code = kExitUsage;
      return;
    }
    std::printf("%zu file(s), %d problem(s)\n", files.size(), bad);
    ctx.exit_code = bad == 0 ? kExitOk : kExitTestFailures;
  });
}

// The options of `drahil cdi audit`.
struct AuditCliOptions {
  std::vector<std::string> paths, devices, roots;
  std::string fake_root = FakeRootFromEnv();
  std::string fail_on = "warning";
  std::string min = "info";
  int allocated = -1;
  std::vector<std::string> allocated_paths;
  bool json = false;
};

// Audited sources (a spec file, or the device IDs of one grant) and their
// findings, in order.
using FindingGroups = std::vector<std::pair<std::string, std::vector<cdi::Finding>>>;

cdi::AuditOptions AuditOptionsFrom(const AuditCliOptions& o) {
  cdi::AuditOptions opts;
  opts.device_roots = o.roots;
  if (!o.fake_root.empty()) opts.device_roots.push_back(o.fake_root + "/dev");
  if (o.allocated >= 0) opts.allocated_count = static_cast<size_t>(o.allocated);
  opts.allocated_host_paths = o.allocated_paths;
  return opts;
}

// AuditGrant(): the grant of --device IDs resolved in the spec dirs; an exit
// code when they cannot be loaded or resolved. *errors counts the special
// files (FIFOs, device nodes) named like specs, reported and never read.
std::optional<int> AuditGrant(const AuditCliOptions& o, const cdi::AuditOptions& opts,
                              FindingGroups* groups, int* errors) {
  auto reg = cdi::Registry::Load(o.paths);
  if (!reg.ok()) {
    std::fprintf(stderr, "drahil cdi audit: %s\n", reg.status().ToString().c_str());
    return kExitUsage;
  }
  // A FIFO or device node among the specs would hang or break the runtime.
  for (const auto& e : reg->SpecialFiles()) {
    ++*errors;
    std::fprintf(stderr, "INVALID %s\n", e.status.message().c_str());
  }
  auto res = reg->Resolve(o.devices);
  if (!res.ok()) {
    std::fprintf(stderr, "drahil cdi audit: %s\n", res.status().message().c_str());
    return kExitTestFailures;
  }
  std::string label;
  for (const auto& d : o.devices) label += (label.empty() ? "" : " ") + d;
  groups->emplace_back(label, cdi::AuditResolution(*res, opts));
  return std::nullopt;
}

// AuditSpecFiles(): each spec file (dirs expanded); how many are invalid.
int AuditSpecFiles(const AuditCliOptions& o, const cdi::AuditOptions& opts, FindingGroups* groups) {
  int errors = 0;
  for (const auto& f : Expand(o.paths, nullptr)) {
    auto spec = cdi::LoadSpecFile(f);
    if (!spec.ok()) {
      ++errors;
      std::fprintf(stderr, "INVALID %s\n", spec.status().message().c_str());
      continue;
    }
    groups->emplace_back(f, cdi::AuditSpec(*spec, opts));
  }
  return errors;
}

// PrintGroup(): one source's findings at or above `min`, as text.
void PrintGroup(const std::string& label, const std::vector<cdi::Finding>& shown) {
  auto worst = cdi::MaxSeverity(shown);
  std::printf("%s: %zu finding(s)%s\n", label.c_str(), shown.size(),
              worst ? (", worst " + std::string(cdi::SeverityName(*worst))).c_str() : "");
  for (const auto& f : shown) PrintFinding(f);
}

// ReportGroups(): prints (or, with --json, collects) the findings at or
// above `min`; whether one reaches `fail_on`.
bool ReportGroups(const FindingGroups& groups, const AuditCliOptions& o, cdi::Severity min,
                  cdi::Severity fail_on, int errors) {
  bool failed = false;
  nlohmann::json out = nlohmann::json::array();
  size_t total = 0;
  for (const auto& [label, findings] : groups) {
    std::vector<cdi::Finding> shown;
    for (const auto& f : findings) {
      if (f.severity >= min) shown.push_back(f);
      if (f.severity >= fail_on) failed = true;
    }
    total += shown.size();
    if (!o.json) {
      PrintGroup(label, shown);
      continue;
    }
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& f : shown) arr.push_back(FindingJson(f));
    out.push_back({{"source", label}, {"findings", arr}});
  }
  if (o.json) {
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("%zu finding(s) in %zu source(s)%s\n", total, groups.size(),
                errors ? (", " + std::to_string(errors) + " invalid file(s)").c_str() : "");
  }
  return failed;
}

// RunAudit(): `drahil cdi audit`; its exit code.
int RunAudit(const AuditCliOptions& o) {
  auto fail_on = ParseSeverity(o.fail_on);
  auto min = ParseSeverity(o.min);
  if (!fail_on || !min) {
    std::fprintf(stderr, "drahil cdi audit: severities are info, warning, high, critical\n");
    return kExitUsage;
  }
  cdi::AuditOptions opts = AuditOptionsFrom(o);
  FindingGroups groups;
  int errors = 0;
  if (!o.devices.empty()) {
    if (std::optional<int> code = AuditGrant(o, opts, &groups, &errors)) return *code;
  } else {
    errors = AuditSpecFiles(o, opts, &groups);
  }
  bool failed = ReportGroups(groups, o, *min, *fail_on, errors) || errors > 0;
  return failed ? kExitTestFailures : kExitOk;
}

void AddAudit(CLI::App& cdi, CliContext& ctx) {
  auto* sub = cdi.add_subcommand(
      "audit",
      "Security audit of CDI specs: host paths, device dirs, permissions, hooks, env; "
      "with --device, of one claim's grant");
  auto o = std::make_shared<AuditCliOptions>();
  sub->add_option("paths", o->paths,
                  "Spec files or spec dirs (with --device: the spec dirs, lowest priority first)")
      ->required();
  sub->add_option("--device", o->devices,
                  "Audit the grant of these fully-qualified CDI device IDs");
  sub->add_option("--allocated", o->allocated,
                  "With --device: the number of devices the claim was allocated");
  sub->add_option("--allocated-path", o->allocated_paths,
                  "With --device: host paths of the allocated device nodes");
  sub->add_option("--device-root", o->roots, "Extra host dir holding device nodes (repeatable)");
  sub->add_option("--fake-root", o->fake_root,
                  "Emulated node root; <root>/dev counts as a device root "
                  "(default $DRAHIL_FAKE_ROOT)");
  sub->add_option("--fail-on", o->fail_on,
                  "Exit 1 when a finding reaches this severity (info|warning|high|critical)");
  sub->add_option("--min-severity", o->min, "Hide findings below this severity");
  sub->add_flag("--json", o->json, "Print findings as JSON");
  sub->callback([o, &ctx] { ctx.exit_code = RunAudit(*o); });
}

void AddSandbox(CLI::App& app, CliContext& ctx) {
  auto* sub = app.add_subcommand(
      "sandbox",
      "Run a command as a container would see it after applying CDI devices: private "
      "/dev, masked node dev dir, no capabilities");
  struct Opts {
    std::vector<std::string> cdi_dirs;
    std::vector<std::string> devices;
    std::string fake_root = FakeRootFromEnv();
    double timeout_s = 60;
    bool allow_hooks = false;
    bool host_network = false;
    bool writable_root = false;
    std::vector<std::string> env;
    std::vector<std::string> binds;
    std::string result_file;
    std::vector<std::string> command;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("--cdi-dir", o->cdi_dirs,
                  "CDI spec dir, lowest priority first (default /etc/cdi /var/run/cdi)");
  sub->add_option("--device", o->devices, "Fully-qualified CDI device ID to inject (repeatable)");
  sub->add_option("--fake-root", o->fake_root,
                  "Emulated node root whose dev dir is masked (default $DRAHIL_FAKE_ROOT)");
  sub->add_option("--timeout", o->timeout_s,
                  "Wall-clock limit in seconds; everything is killed at the limit");
  sub->add_flag("--allow-hooks", o->allow_hooks, "Run the CDI hooks (skipped by default)");
  sub->add_flag("--host-network", o->host_network,
                "Share the host's network (default: a network namespace with only loopback)");
  sub->add_flag(
      "--writable-root", o->writable_root,
      "Leave the host's root writable and /tmp shared (default: read-only, private /tmp)");
  sub->add_option("--env", o->env, "NAME=VALUE for the command (the CDI env still wins)");
  sub->add_option("--bind", o->binds, "HOST[:CONTAINER] read-only bind (repeatable)");
  sub->add_option("--result", o->result_file,
                  "Write what the command wrote to fd 3 into this file");
  sub->add_option("command", o->command, "The command, after --")->required();
  sub->callback([o, &ctx] {
    sandbox::SandboxSpec spec;
    spec.argv = o->command;
    spec.fake_root = o->fake_root;
    spec.timeout = std::chrono::milliseconds(static_cast<int64_t>(o->timeout_s * 1000));
    spec.allow_hooks = o->allow_hooks;
    spec.host_network = o->host_network;
    spec.read_only_root = !o->writable_root;
    for (const auto& e : o->env) {
      auto eq = e.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::fprintf(stderr, "drahil sandbox: --env %s is not NAME=VALUE\n", e.c_str());
        ctx.exit_code = kExitUsage;
        return;
      }
      spec.env[e.substr(0, eq)] = e.substr(eq + 1);
    }
    for (const auto& b : o->binds) {
      auto colon = b.find(':');
      spec.extra_binds.push_back(
          {b.substr(0, colon), colon == std::string::npos ? "" : b.substr(colon + 1), true});
    }
    if (!o->devices.empty()) {
      auto reg = cdi::Registry::Load(o->cdi_dirs.empty() ? cdi::DefaultSpecDirs() : o->cdi_dirs);
      if (!reg.ok()) {
        std::fprintf(stderr, "drahil sandbox: %s\n", reg.status().ToString().c_str());
        ctx.exit_code = kExitUsage;
        return;
      }
      for (const auto& e : reg->errors())
        std::fprintf(stderr, "drahil sandbox: warning: %s\n", e.status.message().c_str());
      auto res = reg->Resolve(o->devices);
      if (!res.ok()) {
        std::fprintf(stderr, "drahil sandbox: %s\n", res.status().message().c_str());
        ctx.exit_code = kExitTestFailures;
        return;
      }
      spec.edits = res->edits;
    }
    auto r = sandbox::Sandbox::Run(spec);
    if (!r.ok()) {
      std::fprintf(stderr, "drahil sandbox: %s\n", r.status().ToString().c_str());
      ctx.exit_code = r.status().code() == Code::kUnavailable ? kExitInternal : kExitTestFailures;
      return;
    }
    if (ctx.verbosity > 0) {
      for (const auto& l : r->log) std::fprintf(stderr, "drahil sandbox: %s\n", l.c_str());
    }
    std::fwrite(r->stdout_text.data(), 1, r->stdout_text.size(), stdout);
    std::fflush(stdout);
    std::fwrite(r->stderr_text.data(), 1, r->stderr_text.size(), stderr);
    if (!o->result_file.empty()) {
      if (Status s = AtomicWriteFile(o->result_file, r->result_json); !s.ok()) {
        std::fprintf(stderr, "drahil sandbox: %s\n", s.ToString().c_str());
      }
    } else if (!r->result_json.empty()) {
      std::fprintf(stderr, "drahil sandbox: result fd: %s\n", r->result_json.c_str());
    }
    if (r->timed_out) {
      std::fprintf(stderr, "drahil sandbox: timed out after %.1f s; every process was killed\n",
                   o->timeout_s);
      ctx.exit_code = 124;
    } else if (r->exit.signaled) {
      ctx.exit_code = 128 + r->exit.signal;
    } else {
      ctx.exit_code = r->exit.exit_code;
    }
  });
}

}  // namespace

void AddCdiCommands(CLI::App& app, CliContext& ctx) {
  auto* cdi = app.add_subcommand("cdi", "Validate and audit CDI spec files");
  cdi->require_subcommand(1);
  AddValidate(*cdi, ctx);
  AddAudit(*cdi, ctx);
  AddSandbox(app, ctx);
}

}  // namespace drahil::cli
