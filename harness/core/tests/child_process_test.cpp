#include "drahil/core/child_process.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"

using drahil::ChildProcess;
using namespace std::chrono_literals;

namespace {
ChildProcess::Options Shell(const std::string& script) {
  ChildProcess::Options o;
  o.argv = {"/bin/sh", "-c", script};
  return o;
}

bool ProcessExists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

// IsZombie(): true when pid is a zombie ("Z" state) in /proc.
bool IsZombie(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return false;
  auto rp = line.rfind(')');
  return rp != std::string::npos && rp + 2 < line.size() && line[rp + 2] == 'Z';
}
}  // namespace

TEST_CASE("ChildProcess: exit codes and signals are reported", "[core][process]") {
  auto c = ChildProcess::Spawn(Shell("exit 3"));
  REQUIRE_OK(c);
  auto e = c->Wait(5s);
  REQUIRE_OK(e);
  CHECK(e->exit_code == 3);
  CHECK_FALSE(e->success());
  CHECK(e->Describe() == "exit code 3");

  auto k = ChildProcess::Spawn(Shell("kill -9 $$"));
  REQUIRE_OK(k);
  auto ke = k->Wait(5s);
  REQUIRE_OK(ke);
  CHECK(ke->signaled);
  CHECK(ke->signal == SIGKILL);
}

TEST_CASE("ChildProcess: a missing program fails at Spawn, naming it", "[core][process]") {
  ChildProcess::Options o;
  o.argv = {"/nonexistent/drahil-nothing"};
  auto c = ChildProcess::Spawn(o);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == drahil::Code::kNotFound);
  CHECK(c.status().message().find("/nonexistent/drahil-nothing") != std::string::npos);
  o.argv = {"drahil-no-such-program-on-path"};
  CHECK(ChildProcess::Spawn(o).status().code() == drahil::Code::kNotFound);
}

TEST_CASE("ChildProcess: Wait times out and leaves the child running", "[core][process]") {
  auto c = ChildProcess::Spawn(Shell("sleep 30"));
  REQUIRE_OK(c);
  auto t0 = std::chrono::steady_clock::now();
  auto e = c->Wait(200ms);
  CHECK(e.status().code() == drahil::Code::kDeadlineExceeded);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK(c->Running());
  auto k = c->Kill();
  CHECK(k.signaled);
  CHECK_FALSE(c->Running());
}

TEST_CASE("ChildProcess: Terminate kills a process that ignores SIGTERM", "[core][process]") {
  auto c = ChildProcess::Spawn(Shell("trap '' TERM; echo ready; while :; do sleep 0.05; done"));
  REQUIRE_OK(c);
  pid_t pid = c->pid();
  std::this_thread::sleep_for(100ms);
  auto t0 = std::chrono::steady_clock::now();
  auto e = c->Terminate(300ms);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(e.signaled);
  CHECK(e.signal == SIGKILL);
  CHECK(took >= 250ms);
  CHECK(took < 5s);
  CHECK_FALSE(ProcessExists(pid));
}

TEST_CASE("ChildProcess: the whole process group goes, and no zombie is left", "[core][process]") {
  auto dir = drahil::TempDir::Create();
  REQUIRE_OK(dir);
  std::string pidfile = dir->Join("grandchild.pid");
  pid_t child_pid;
  {
    auto c = ChildProcess::Spawn(Shell("sleep 60 & echo $! > " + pidfile + "; wait"));
    REQUIRE_OK(c);
    child_pid = c->pid();
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!drahil::PathExists(pidfile) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(50ms);
    // c goes out of scope while running: the destructor kills and reaps.
  }
  auto text = drahil::ReadFile(pidfile);
  REQUIRE_OK(text);
  pid_t grandchild = std::stoi(*text);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (ProcessExists(grandchild) && !IsZombie(grandchild) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  CHECK((!ProcessExists(grandchild) || IsZombie(grandchild)));  // a zombie of init's, not ours
  // Our direct child was reaped: waitpid finds nothing to reap.
  CHECK_FALSE(ProcessExists(child_pid));
  CHECK(::waitpid(-1, nullptr, WNOHANG) <= 0);
}

TEST_CASE("ChildProcess: captures output to pipes and files, passes env", "[core][process]") {
  auto dir = drahil::TempDir::Create();
  REQUIRE_OK(dir);
  auto o = Shell("echo out-$DRAHIL_T; echo err >&2; pwd");
  o.env["DRAHIL_T"] = "42";
  o.cwd = dir->path();
  o.stdout_mode = ChildProcess::Stdio::kPipe;
  o.stderr_mode = ChildProcess::Stdio::kFile;
  o.stderr_path = dir->Join("err.log");
  auto c = ChildProcess::Spawn(o);
  REQUIRE_OK(c);
  REQUIRE_OK(c->Wait(5s));
  auto out = c->ReadStdout(1s);
  REQUIRE_OK(out);
  CHECK(*out == "out-42\n" + dir->path() + "\n");
  CHECK(*drahil::ReadFile(dir->Join("err.log")) == "err\n");

  auto r = drahil::RunCommand({"/bin/sh", "-c", "echo a; echo b >&2; exit 4"}, 5s);
  REQUIRE_OK(r);
  CHECK(r->exit.exit_code == 4);
  CHECK(r->output.find("a\n") != std::string::npos);
  CHECK(r->output.find("b\n") != std::string::npos);

  auto slow = drahil::RunCommand({"/bin/sh", "-c", "sleep 30"}, 200ms);
  CHECK(slow.status().code() == drahil::Code::kDeadlineExceeded);
}
