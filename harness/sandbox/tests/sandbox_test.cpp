#include "drahil/sandbox/sandbox.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"

namespace drahil::sandbox {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// FakeNode: an emulated node root with three GPU nodes as plain files.
struct FakeNode {
  TempDir dir = std::move(TempDir::Create("sbx-node-")).value();
  std::string dev = dir.Join("dev");
  FakeNode() {
    REQUIRE_OK(MakeDirs(dev));
    for (const char* n : {"nvidia0", "nvidia1", "nvidiactl"}) {
      REQUIRE_OK(AtomicWriteFile(dev + "/" + n, std::string("memory of ") + n + "\n", 0666));
    }
  }
  cdi::DeviceNode Node(const std::string& name, const std::string& perms = "rw") const {
    cdi::DeviceNode n;
    n.path = "/dev/" + name;
    n.host_path = dev + "/" + name;
    n.permissions = perms;
    return n;
  }
};

std::set<std::string> Lines(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.insert(line);
  }
  return out;
}

SandboxSpec Shell(const std::string& script, milliseconds timeout = seconds(20)) {
  SandboxSpec s;
  s.argv = {"/bin/sh", "-c", script};
  s.timeout = timeout;
  return s;
}

// Token(): a unique name, so tests can look for their own processes on the host.
std::string Token() {
  std::random_device rd;
  return "drahil-sbx-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
}

// HostProcessesWith(): host pids whose argv[0] contains token.
std::vector<int> HostProcessesWith(const std::string& token) {
  std::vector<int> pids;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return pids;
  while (dirent* e = ::readdir(d)) {
    if (!std::isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
    auto cmd = ReadFile(std::string("/proc/") + e->d_name + "/cmdline", 4096);
    if (cmd.ok() && cmd->find(token) != std::string::npos) pids.push_back(std::atoi(e->d_name));
  }
  ::closedir(d);
  return pids;
}

#define REQUIRE_SANDBOX()                                             \
  do {                                                                \
    Status avail_ = Sandbox::Available();                             \
    if (!avail_.ok()) DRAHIL_SKIP(avail_.message());                  \
    DRAHIL_REQUIRE_BUILT("drahil-sandbox-init", Sandbox::FindInit()); \
  } while (0)

TEST_CASE("Sandbox: only granted device nodes exist under /dev, the node root's dev is masked",
          "[sandbox]") {
  REQUIRE_SANDBOX();
  FakeNode node;
  SandboxSpec spec = Shell("ls -A1 /dev; echo ---; cat /dev/nvidia0; echo ---; ls -A1 " + node.dev +
                           " 2>&1; cat " + node.dev + "/nvidia1 2>&1; echo written > /dev/nvidia0");
  spec.edits.device_nodes = {node.Node("nvidia0"), node.Node("nvidiactl")};
  spec.fake_root = node.dir.path();
  auto r = Sandbox::Run(spec);
  REQUIRE_OK(r);
  INFO(r->stdout_text << r->stderr_text);
  CHECK(r->exit.success());
  auto parts = r->stdout_text;
  auto first = parts.substr(0, parts.find("---"));
  CHECK(Lines(first) == std::set<std::string>{"null", "zero", "full", "random", "urandom", "tty",
                                              "pts", "shm", "fd", "stdin", "stdout", "stderr",
                                              "ptmx", "nvidia0", "nvidiactl"});
  CHECK(parts.find("memory of nvidia0") != std::string::npos);
  CHECK(parts.find("memory of nvidia1") == std::string::npos);  // not granted, masked
  CHECK(parts.find("nvidiactl\n") != std::string::npos);
  // The grant is a bind mount of the host file: writes reach the emulated device.
  CHECK(*ReadFile(node.dev + "/nvidia0") == "written\n");
  CHECK(*ReadFile(node.dev + "/nvidia1") == "memory of nvidia1\n");
}

TEST_CASE("Sandbox: a driver that mounts the whole node dev dir leaks, and the probe can see it",
          "[sandbox]") {
  REQUIRE_SANDBOX();
  FakeNode node;
  SandboxSpec spec = Shell("ls -1 /dev/all; ls " + node.dev + " 2>/dev/null | wc -l");
  spec.edits.device_nodes = {node.Node("nvidia0")};
  spec.edits.mounts.push_back({node.dev, "/dev/all", {"rbind", "ro"}, ""});
  spec.fake_root = node.dir.path();
  auto r = Sandbox::Run(spec);
  REQUIRE_OK(r);
  INFO(r->stdout_text << r->stderr_text);
  auto lines = Lines(r->stdout_text);
  CHECK(lines.count("nvidia1") == 1);  // the leak a probe must report
  CHECK(lines.count("0") == 1);        // while the node dev dir itself stays masked
}

TEST_CASE("Sandbox: runs in parallel from several threads", "[sandbox]") {
  REQUIRE_SANDBOX();
  std::vector<std::thread> threads;
  std::vector<std::string> outs(4);
  for (size_t i = 0; i < outs.size(); ++i) {
    threads.emplace_back([&outs, i] {
      auto r = Sandbox::Run(Shell("echo run-" + std::to_string(i) + " $$"));
      outs[i] = r.ok() ? r->stdout_text : r.status().ToString();
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < outs.size(); ++i) CHECK(outs[i] == "run-" + std::to_string(i) + " 2\n");
}

TEST_CASE("Sandbox: permissions r gives a read-only node, none a node that cannot be opened",
          "[sandbox]") {
  REQUIRE_SANDBOX();
  FakeNode node;
  SandboxSpec spec = Shell(
      "cat /dev/nvidia0; echo x > /dev/nvidia0 && echo WROTE0; cat /dev/nvidia1 && echo READ1; "
      "true");
  spec.edits.device_nodes = {node.Node("nvidia0", "r"), node.Node("nvidia1", "none")};
  auto r = Sandbox::Run(spec);
  REQUIRE_OK(r);
  INFO(r->stdout_text << r->stderr_text);
  CHECK(r->stdout_text.find("memory of nvidia0") != std::string::npos);
  CHECK(r->stdout_text.find("WROTE0") == std::string::npos);
  CHECK(r->stdout_text.find("READ1") == std::string::npos);
  CHECK(*ReadFile(node.dev + "/nvidia0") == "memory of nvidia0\n");
}

TEST_CASE("Sandbox: CDI env wins over the base and spec env, CDI mounts are applied", "[sandbox]") {
  REQUIRE_SANDBOX();
  auto lib = TempDir::Create("sbx-lib-");
  REQUIRE_OK(lib);
  REQUIRE_OK(AtomicWriteFile(lib->Join("libvendor.so.1"), "vendor library\n"));
  SandboxSpec spec = Shell(
      "echo A=$A; echo B=$B; echo HOME=$HOME; echo FD=$DRAHIL_RESULT_FD; echo HOST=$(hostname); "
      "cat /run/vendor/lib/libvendor.so.1; touch /run/vendor/lib/new 2>/dev/null && echo WRITABLE; "
      "cat /opt-none 2>/dev/null; env | grep -c '^LEAKME=' ; true");
  ::setenv("LEAKME", "1", 1);
  spec.env = {{"A", "spec"}, {"B", "spec"}};
  spec.edits.env = {"A=cdi", "A=cdi-last"};
  spec.edits.mounts.push_back(
      {lib->path(), "/run/vendor/lib", {"ro", "nosuid", "nodev", "bind"}, ""});
  auto r = Sandbox::Run(spec);
  ::unsetenv("LEAKME");
  REQUIRE_OK(r);
  INFO(r->stdout_text << r->stderr_text);
  auto lines = Lines(r->stdout_text);
  CHECK(lines.count("A=cdi-last") == 1);
  CHECK(lines.count("B=spec") == 1);
  CHECK(lines.count("HOME=/root") == 1);
  CHECK(lines.count("FD=3") == 1);
  CHECK(lines.count("HOST=drahil-sandbox") == 1);
  CHECK(lines.count("vendor library") == 1);
  CHECK(lines.count("WRITABLE") == 0);
  CHECK(lines.count("0") == 1);  // the caller's environment does not leak in
  CHECK(
      MergeEnv({{"A", "spec"}}, {"A=cdi", "X=1"}, "h") ==
      std::vector<std::string>{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                               "HOME=/root", "HOSTNAME=h", "A=cdi", "X=1", "DRAHIL_RESULT_FD=3"});
}

TEST_CASE("Sandbox: the command has no capabilities and no_new_privs", "[sandbox]") {
  REQUIRE_SANDBOX();
  auto r = Sandbox::Run(
      Shell("grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status"));
  REQUIRE_OK(r);
  INFO(r->stdout_text << r->stderr_text);
  auto lines = Lines(r->stdout_text);
  for (const char* cap : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    INFO(cap);
    CHECK(lines.count(std::string(cap) + ":\t0000000000000000") == 1);
  }
  CHECK(lines.count("NoNewPrivs:\t1") == 1);
  // Without CAP_SYS_ADMIN the probe cannot undo the view it was given.
  auto m =
      Sandbox::Run(Shell("mount -t tmpfs none /mnt 2>/dev/null && echo MOUNTED; umount /dev "
                         "2>/dev/null && echo UNMOUNTED; true"));
  REQUIRE_OK(m);
  CHECK(m->stdout_text.empty());
}

TEST_CASE("Sandbox: PID 1 is the sandbox init and the command runs in a fresh PID namespace",
          "[sandbox]") {
  REQUIRE_SANDBOX();
  // The orphan is reparented to PID 1, which must reap it: poll until its
  // /proc entry is gone (it may not even have exited when the poll starts,
  // so "no zombie now" is not enough), then no zombie may be left.
  auto r = Sandbox::Run(
      Shell("(/bin/true & echo $! >/tmp/orphan); p=$(cat /tmp/orphan); i=0; "
            "while [ -e /proc/$p ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done; "
            "[ -e /proc/$p ] || echo reaped; "
            "grep -ls ' Z ' /proc/[0-9]*/stat | wc -l | sed 's/^/zombies=/'; "
            "echo self=$$; cat /proc/1/comm; ls /proc | grep -c '^[0-9]'"));
  REQUIRE_OK(r);
  INFO(r->stdout_text << r->stderr_text);
  auto lines = Lines(r->stdout_text);
  CHECK(lines.count("reaped") == 1);
  CHECK(lines.count("zombies=0") == 1);
  CHECK(lines.count("self=2") == 1);
  CHECK(lines.count("drahil-sandbox-") == 1);  // comm is cut at 15 characters
  // init, sh, ls, grep (and maybe the subshell): nothing of the host.
  CHECK(r->stdout_text.find("\n") != std::string::npos);
  int count = std::atoi(
      r->stdout_text.substr(r->stdout_text.rfind('\n', r->stdout_text.size() - 2) + 1).c_str());
  CHECK(count >= 3);
  CHECK(count <= 5);
}

TEST_CASE("Sandbox: stdout, stderr, the result fd and the exit code are captured", "[sandbox]") {
  REQUIRE_SANDBOX();
  auto r = Sandbox::Run(
      Shell("echo out; echo err >&2; printf '{\"ok\":true}' >&$DRAHIL_RESULT_FD; exit 7"));
  REQUIRE_OK(r);
  CHECK(r->stdout_text == "out\n");
  CHECK(r->stderr_text == "err\n");
  CHECK(r->result_json == "{\"ok\":true}");
  CHECK(r->exit.exit_code == 7);
  CHECK_FALSE(r->exit.signaled);
  CHECK_FALSE(r->timed_out);
  auto k = Sandbox::Run(Shell("kill -TERM $$"));
  REQUIRE_OK(k);
  CHECK(k->exit.signaled);
  CHECK(k->exit.signal == SIGTERM);
}

TEST_CASE("Sandbox: nothing survives the timeout, not even a detached grandchild",
          "[sandbox][slow]") {
  REQUIRE_SANDBOX();
  auto tmp = TempDir::Create("sbx-sleep-");
  REQUIRE_OK(tmp);
  const std::string token = Token();
  const std::string sleeper = tmp->Join(token);
  REQUIRE_OK(AtomicWriteFile(sleeper, *ReadFile("/bin/sleep"), 0755));
  // Matches a cmdline whose argv[0] is the sleeper; not grep's or the shell's own.
  std::string pattern =
      "^" + tmp->path() + "/drahil-sb[x]-" + token.substr(std::string("drahil-sbx-").size());
  std::string count = "$(grep -l '" + pattern + "' /proc/[0-9]*/cmdline 2>/dev/null | wc -l)";
  SandboxSpec spec = Shell(
      "setsid " + sleeper + " 1000 & (" + sleeper + " 1000 &) ; i=0; while [ " + count +
          " -lt 2 ] && [ $i -lt 100 ]; do sleep 0.02; i=$((i+1)); done; echo running=" + count +
          "; " + sleeper + " 1000",
      milliseconds(2000));
  spec.extra_binds = {{tmp->path(), "", true}};  // the private /tmp hides the host's
  auto r = Sandbox::Run(spec);
  REQUIRE_OK(r);
  INFO(r->stdout_text << r->stderr_text);
  CHECK(r->stdout_text == "running=2\n");
  CHECK(r->timed_out);
  CHECK(r->exit.signaled);
  CHECK(r->duration >= milliseconds(2000));
  CHECK(r->duration < seconds(10));
  // Run() returns only after the kernel tore the PID namespace down.
  CHECK(HostProcessesWith(token).empty());
}

TEST_CASE("Sandbox: background processes die with the command", "[sandbox]") {
  REQUIRE_SANDBOX();
  auto tmp = TempDir::Create("sbx-sleep-");
  REQUIRE_OK(tmp);
  const std::string token = Token();
  const std::string sleeper = tmp->Join(token);
  REQUIRE_OK(AtomicWriteFile(sleeper, *ReadFile("/bin/sleep"), 0755));
  SandboxSpec spec = Shell("setsid " + sleeper + " 1000 >/dev/null 2>&1 & echo bg", seconds(20));
  spec.extra_binds = {{tmp->path(), "", true}};
  auto r = Sandbox::Run(spec);
  REQUIRE_OK(r);
  CHECK(r->stdout_text == "bg\n");
  CHECK(r->exit.success());
  CHECK_FALSE(r->timed_out);
  CHECK(r->duration < seconds(10));
  CHECK(HostProcessesWith(token).empty());
}

TEST_CASE("Sandbox: hooks run only when allowed", "[sandbox]") {
  REQUIRE_SANDBOX();
  auto tmp = TempDir::Create("sbx-hook-");
  REQUIRE_OK(tmp);
  SandboxSpec spec = Shell("true");
  spec.edits.hooks.push_back(
      {"createRuntime", "/bin/sh", {"sh", "-c", "cat > " + tmp->Join("runtime.json")}, {}, 5});
  spec.edits.hooks.push_back({"createContainer",
                              "/bin/sh",
                              {"sh", "-c", "ls /dev > " + tmp->Join("container.txt")},
                              {},
                              {}});
  spec.edits.hooks.push_back(
      {"poststop", "/bin/sh", {"sh", "-c", "touch " + tmp->Join("poststop")}, {}, {}});
  // The createContainer hook writes inside the container's view.
  spec.extra_binds = {{tmp->path(), "", false}};
  auto denied = Sandbox::Run(spec);
  REQUIRE_OK(denied);
  CHECK(std::count_if(denied->log.begin(), denied->log.end(),
                      [](const std::string& l) { return l.rfind("skipped ", 0) == 0; }) == 3);
  CHECK_FALSE(PathExists(tmp->Join("runtime.json")));

  spec.allow_hooks = true;
  auto r = Sandbox::Run(spec);
  REQUIRE_OK(r);
  INFO(r->stderr_text);
  auto state = ReadFile(tmp->Join("runtime.json"));
  REQUIRE_OK(state);
  CHECK(state->find("\"ociVersion\"") != std::string::npos);
  auto dev = ReadFile(tmp->Join("container.txt"));
  REQUIRE_OK(dev);
  CHECK(dev->find("urandom") != std::string::npos);  // ran inside the container's mount namespace
  CHECK(PathExists(tmp->Join("poststop")));

  spec.edits.hooks = {{"prestart", "/bin/sleep", {"sleep", "100"}, {}, 1}};
  auto slow = Sandbox::Run(spec);
  CHECK(slow.status().code() == Code::kDeadlineExceeded);
  CHECK(slow.status().message().find("prestart hook /bin/sleep timed out") != std::string::npos);

  // A hook inside the container that outlives the run's own deadline: the
  // whole PID namespace goes, the command never starts.
  spec.timeout = milliseconds(800);
  for (const char* stage : {"createContainer", "prestart"}) {
    INFO(stage);
    spec.edits.hooks = {{stage, "/bin/sleep", {"sleep", "100"}, {}, {}}};
    auto hung = Sandbox::Run(spec);
    REQUIRE_OK(hung);
    CHECK(hung->timed_out);
    CHECK(hung->duration < seconds(10));
  }
  spec.timeout = seconds(20);

  spec.edits.hooks = {{"createContainer", "/bin/false", {}, {}, {}}};
  auto failed = Sandbox::Run(spec);
  CHECK(failed.status().code() == Code::kFailedPrecondition);
  CHECK(failed.status().message().find("/bin/false") != std::string::npos);
}

TEST_CASE("Sandbox: edits that cannot be applied are errors naming the path", "[sandbox]") {
  REQUIRE_SANDBOX();
  FakeNode node;
  SandboxSpec spec = Shell("true");
  spec.edits.device_nodes = {node.Node("nvidia7")};
  auto missing = Sandbox::Run(spec);
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(missing.status().message().find(node.dev + "/nvidia7") != std::string::npos);

  spec.edits.device_nodes = {node.Node("nvidia0")};
  spec.edits.device_nodes[0].path = "/dev/../etc/passwd";
  CHECK(Sandbox::Run(spec).status().code() == Code::kInvalidArgument);

  spec.edits.device_nodes.clear();
  spec.edits.mounts.push_back({node.dev, "/drahil-no-such-dir/x", {"bind"}, ""});
  auto outside = Sandbox::Run(spec);
  CHECK(outside.status().code() == Code::kFailedPrecondition);
  CHECK(outside.status().message().find("/drahil-no-such-dir/x") != std::string::npos);
  CHECK_FALSE(PathExists("/drahil-no-such-dir"));

  SandboxSpec bad = Shell("true");
  bad.argv = {"/nonexistent/probe"};
  auto nexec = Sandbox::Run(bad);
  CHECK(nexec.status().code() == Code::kNotFound);
  CHECK(nexec.status().message().find("/nonexistent/probe") != std::string::npos);
}

TEST_CASE("Sandbox: the host root is read-only, /tmp private, writable grants stay writable",
          "[sandbox]") {
  REQUIRE_SANDBOX();
  auto host = TempDir::Create("sbx-rw-", "/var/tmp");
  REQUIRE_OK(host);
  auto lib = TempDir::Create("sbx-rwlib-");
  REQUIRE_OK(lib);
  const std::string victim = host->Join("written-from-the-sandbox");
  SandboxSpec spec =
      Shell("echo x > " + victim +
            " && echo WROTE_HOST; echo t > /tmp/t && cat /tmp/t; ls -A /tmp | wc -l; echo y > "
            "/run/grant/file && echo WROTE_GRANT; echo z > /dev/shm/z && echo WROTE_SHM; true");
  spec.edits.mounts.push_back({lib->path(), "/run/grant", {"rbind", "rw"}, ""});
  auto r = Sandbox::Run(spec);
  REQUIRE_OK(r);
  INFO(r->stdout_text << r->stderr_text);
  auto lines = Lines(r->stdout_text);
  CHECK(lines.count("WROTE_HOST") == 0);
  CHECK(r->stderr_text.find("Read-only file system") != std::string::npos);
  CHECK_FALSE(PathExists(victim));
  CHECK(lines.count("t") == 1);            // /tmp is a writable private tmpfs...
  CHECK(lines.count("1") == 1);            // ...holding only what the command wrote
  CHECK(lines.count("WROTE_GRANT") == 1);  // a CDI mount keeps its rw option
  CHECK(*ReadFile(lib->Join("file")) == "y\n");
  CHECK(lines.count("WROTE_SHM") == 1);

  // read_only_root = false: the old view, the host's root writable.
  spec.read_only_root = false;
  spec.edits.mounts.clear();
  auto w = Sandbox::Run(spec);
  REQUIRE_OK(w);
  INFO(w->stdout_text << w->stderr_text);
  CHECK(Lines(w->stdout_text).count("WROTE_HOST") == 1);
  CHECK(PathExists(victim));
}

TEST_CASE("Sandbox: a new network namespace with only loopback, unless host_network", "[sandbox]") {
  REQUIRE_SANDBOX();
  const char* script =
      "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; echo lines=$(grep -c . /proc/net/dev)";
  auto r = Sandbox::Run(Shell(script));
  REQUIRE_OK(r);
  INFO(r->stdout_text << r->stderr_text);
  auto lines = Lines(r->stdout_text);
  CHECK(lines.count("lo") == 1);
  CHECK(lines.count("lines=3") == 1);  // two header lines and lo, nothing else
  // lo was brought up (SIOCSIFFLAGS succeeded).
  CHECK(std::count(r->log.begin(), r->log.end(), "network namespace: loopback only") == 1);
  auto host_ifaces = ReadFile("/proc/net/dev");
  REQUIRE_OK(host_ifaces);
  SandboxSpec h = Shell("grep -c . /proc/net/dev");
  h.host_network = true;
  auto hr = Sandbox::Run(h);
  REQUIRE_OK(hr);
  std::string host_count = std::to_string(Lines(*host_ifaces).size());
  CHECK(hr->stdout_text == host_count + "\n");
}

TEST_CASE("Sandbox: a user namespace gives the same isolation", "[sandbox]") {
  DRAHIL_REQUIRE_BUILT("drahil-sandbox-init", Sandbox::FindInit());
  Status avail = Sandbox::Available(UserNamespace::kAlways);
  if (!avail.ok()) DRAHIL_SKIP(avail.message());
  FakeNode node;
  SandboxSpec spec =
      Shell("id -u; ls -A1 /dev | grep nvidia; cat /dev/nvidia0; grep CapEff /proc/self/status");
  spec.edits.device_nodes = {node.Node("nvidia0")};
  spec.fake_root = node.dir.path();
  spec.user_namespace = UserNamespace::kAlways;
  auto r = Sandbox::Run(spec);
  if (!r.ok() && r.status().code() == Code::kUnavailable) DRAHIL_SKIP(r.status().message());
  REQUIRE_OK(r);
  INFO(r->stdout_text << r->stderr_text);
  auto lines = Lines(r->stdout_text);
  CHECK(lines.count("0") == 1);
  CHECK(lines.count("nvidia0") == 1);
  CHECK(lines.count("nvidia1") == 0);
  CHECK(lines.count("memory of nvidia0") == 1);
  CHECK(lines.count("CapEff:\t0000000000000000") == 1);
}

TEST_CASE("Sandbox: without privileges it reports kUnavailable instead of running unisolated",
          "[sandbox]") {
  DRAHIL_REQUIRE_BUILT("drahil-sandbox-init", Sandbox::FindInit());
  if (::geteuid() != 0) DRAHIL_SKIP("needs root to drop to an unprivileged uid");
  // A child drops to nobody (losing every capability) and may not use a user
  // namespace: both entry points must say kUnavailable, and the command must
  // not run.
  auto tmp = TempDir::Create("sbx-unpriv-");
  REQUIRE_OK(tmp);
  REQUIRE(::chmod(tmp->path().c_str(), 0777) == 0);
  const std::string marker = tmp->Join("ran");
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) ::_exit(10);
    if (Sandbox::Available(UserNamespace::kNever).code() != Code::kUnavailable) ::_exit(11);
    SandboxSpec spec = Shell("touch " + marker);
    spec.user_namespace = UserNamespace::kNever;
    auto r = Sandbox::Run(spec);
    if (r.ok()) ::_exit(12);
    if (r.status().code() != Code::kUnavailable) ::_exit(13);
    if (r.status().message().find("CLONE_NEWPID") == std::string::npos) ::_exit(14);
    ::_exit(0);
  }
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  REQUIRE(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
  CHECK_FALSE(PathExists(marker));
}

}  // namespace
}  // namespace drahil::sandbox
