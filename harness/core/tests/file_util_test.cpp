#include "drahil/core/file_util.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"

using namespace std::chrono_literals;

TEST_CASE("AtomicWriteFile: replaces content and leaves no temporary file", "[core][file]") {
  auto dir = drahil::TempDir::Create();
  REQUIRE_OK(dir);
  std::string path = dir->Join("checkpoint.json");
  REQUIRE_OK(drahil::AtomicWriteFile(path, "one"));
  REQUIRE_OK(drahil::AtomicWriteFile(path, "two"));
  CHECK(*drahil::ReadFile(path) == "two");
  CHECK(*drahil::ListDir(dir->path()) == std::vector<std::string>{"checkpoint.json"});
  auto bad = drahil::AtomicWriteFile(dir->Join("missing/dir/file"), "x");
  CHECK(bad.code() == drahil::Code::kNotFound);
  CHECK(bad.message().find("missing/dir/file") != std::string::npos);
}

TEST_CASE("AtomicWriteFile: a writer killed midway never leaves a partial file", "[core][file]") {
  auto dir = drahil::TempDir::Create();
  REQUIRE_OK(dir);
  std::string path = dir->Join("state");
  const std::string a(4 << 20, 'a');
  const std::string b(4 << 20, 'b');
  REQUIRE_OK(drahil::AtomicWriteFile(path, a));
  for (int round = 0; round < 8; ++round) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      for (;;) {
        (void)drahil::AtomicWriteFile(path, b);
        (void)drahil::AtomicWriteFile(path, a);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + round * 7));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    auto content = drahil::ReadFile(path);
    REQUIRE_OK(content);
    // Either complete version, never a mix or a prefix.
    CHECK((*content == a || *content == b));
  }
}

TEST_CASE("ReadFile and MakeDirs: errors name the path", "[core][file]") {
  auto r = drahil::ReadFile("/nonexistent/drahil");
  CHECK(r.status().code() == drahil::Code::kNotFound);
  CHECK(r.status().message() == "open /nonexistent/drahil: No such file or directory");
  auto dir = drahil::TempDir::Create();
  REQUIRE_OK(dir);
  REQUIRE_OK(drahil::MakeDirs(dir->Join("a/b/c")));
  CHECK(drahil::PathExists(dir->Join("a/b/c")));
  REQUIRE_OK(drahil::AtomicWriteFile(dir->Join("f"), "12345"));
  CHECK(drahil::ReadFile(dir->Join("f"), 4).status().code() == drahil::Code::kResourceExhausted);
}

TEST_CASE("TempDir: removed recursively on destruction", "[core][file]") {
  std::string p;
  {
    auto dir = drahil::TempDir::Create("drahil-test-");
    REQUIRE_OK(dir);
    p = dir->path();
    REQUIRE_OK(drahil::MakeDirs(dir->Join("x/y")));
    REQUIRE_OK(drahil::AtomicWriteFile(dir->Join("x/y/z"), "data"));
    REQUIRE(::symlink("/etc", dir->Join("link").c_str()) == 0);
  }
  CHECK_FALSE(drahil::PathExists(p));
  CHECK(drahil::PathExists("/etc/hostname") == (::access("/etc/hostname", F_OK) == 0));
}

TEST_CASE("ReadRegularFile: a FIFO, a socket dir entry or a symlink to a FIFO fails at once",
          "[core][file]") {
  auto dir = drahil::TempDir::Create("drahil-fu-");
  REQUIRE_OK(dir);
  std::string fifo = dir->Join("spec.json");
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  auto r = drahil::ReadRegularFile(fifo);  // ReadFile() would block here forever
  CHECK(r.status().code() == drahil::Code::kFailedPrecondition);
  CHECK(r.status().message() == fifo + " is a FIFO, not a regular file; not read");
  std::string link = dir->Join("link.json");
  REQUIRE(::symlink(fifo.c_str(), link.c_str()) == 0);
  auto l = drahil::ReadRegularFile(link);
  CHECK(l.status().message() ==
        link + " (a symlink) leads to a FIFO, not a regular file; not read");
  CHECK(drahil::ReadRegularFile(dir->path()).status().message().find("is a directory") !=
        std::string::npos);
  REQUIRE_OK(drahil::AtomicWriteFile(dir->Join("ok.json"), "{}"));
  auto ok = drahil::ReadRegularFile(dir->Join("ok.json"));
  REQUIRE_OK(ok);
  CHECK(*ok == "{}");
  CHECK(drahil::ReadRegularFile(dir->Join("missing")).status().code() == drahil::Code::kNotFound);
}
