#include "drahil/core/temp_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

namespace drahil {
namespace {
// Removes the contents of dirfd (an open directory) without following links.
Status RemoveContents(int dirfd, const std::string& path) {
  DIR* dir = ::fdopendir(dirfd);
  if (dir == nullptr) {
    int err = errno;
    ::close(dirfd);
    return ErrnoError(err, "opendir " + path);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  Status result;
  for (const auto& n : names) {
    struct stat st {};
    if (::fstatat(::dirfd(dir), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      int sub = ::openat(::dirfd(dir), n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) {
        Status s = RemoveContents(sub, path + "/" + n);
        if (!s.ok() && result.ok()) result = s;
      }
      if (::unlinkat(::dirfd(dir), n.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT && result.ok())
        result = ErrnoError(errno, "rmdir " + path + "/" + n);
    } else if (::unlinkat(::dirfd(dir), n.c_str(), 0) != 0 && errno != ENOENT && result.ok()) {
      result = ErrnoError(errno, "unlink " + path + "/" + n);
    }
  }
  ::closedir(dir);
  return result;
}
}  // namespace

Status RemoveAll(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return OkStatus();
    return ErrnoError(errno, "stat " + path);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError(errno, "unlink " + path);
    return OkStatus();
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "open " + path);
  Status s = RemoveContents(fd, path);
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT && s.ok())
    s = ErrnoError(errno, "rmdir " + path);
  return s;
}

Result<TempDir> TempDir::Create(const std::string& prefix, const std::string& base) {
  std::string dir = base;
  if (dir.empty()) {
    const char* t = std::getenv("TMPDIR");
    dir = (t && *t) ? t : "/tmp";
  }
  std::string templ = dir + "/" + prefix + "XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) return ErrnoError(errno, "mkdtemp " + templ);
  return TempDir(std::string(buf.data()));
}

TempDir::TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)), keep_(o.keep_) {
  o.path_.clear();
}

TempDir& TempDir::operator=(TempDir&& o) noexcept {
  if (this != &o) {
    if (!path_.empty() && !keep_) (void)RemoveAll(path_);
    path_ = std::move(o.path_);
    keep_ = o.keep_;
    o.path_.clear();
  }
  return *this;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  if (keep_)
    (void)::unlink((path_ + "/" + kOwnerFile).c_str());
  else
    (void)RemoveAll(path_);
}

namespace {

// StartTime(): field 22 of /proc/PID/stat (clock ticks after boot), which
// tells a process from a later one under the same PID; 0 when gone or a
// zombie.
unsigned long long StartTime(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');  // the command name may hold spaces and ')'
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  // A zombie (state Z) is gone already: only its exit status waits to be
  // collected.
  if (text.size() > close + 2 && text[close + 2] == 'Z') return 0;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
  }
  return 0;
}

bool Under(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

std::string ReadLink(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// UsersOf(): the PIDs whose command line names a path in dir (a driver's
// sockets, kubeconfig, CDI dir) or whose executable is under it. Not by
// working directory: a user's shell standing in the directory is not ours.
std::vector<long> UsersOf(const std::string& dir) {
  std::vector<long> pids;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return pids;
  const long self = ::getpid();
  while (dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || pid == self) continue;
    std::string base = std::string("/proc/") + e->d_name;
    std::ifstream in(base + "/cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find(dir + "/") != std::string::npos || Under(ReadLink(base + "/exe"), dir))
      pids.push_back(pid);
  }
  ::closedir(proc);
  return pids;
}

// MountsUnder(): mount points under dir in this mount namespace, deepest
// first (/proc/self/mountinfo, field 5; octal escapes as the kernel writes
// them).
std::vector<std::string> MountsUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point;
    if (!(f >> id >> parent >> dev >> root >> point)) continue;
    std::string decoded;
    for (size_t i = 0; i < point.size(); ++i) {
      if (point[i] == '\\' && i + 3 < point.size()) {
        decoded += static_cast<char>(std::strtol(point.substr(i + 1, 3).c_str(), nullptr, 8));
        i += 3;
      } else {
        decoded += point[i];
      }
    }
    if (Under(decoded, dir)) out.push_back(decoded);
  }
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

}  // namespace

Status TempDir::MarkOwned() {
  std::string text =
      std::to_string(::getpid()) + " " + std::to_string(StartTime(::getpid())) + "\n";
  std::string path = path_ + "/" + kOwnerFile;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoError(errno, "create " + path);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok ? OkStatus() : ErrnoError(errno, "write " + path);
}

std::vector<AbandonedDir> RemoveAbandonedTempDirs(const std::string& base,
                                                  const std::vector<std::string>& prefixes) {
  std::vector<AbandonedDir> out;
  DIR* d = ::opendir(base.c_str());
  if (d == nullptr) return out;
  std::vector<std::string> candidates;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    for (const auto& p : prefixes)
      if (n.rfind(p, 0) == 0) candidates.push_back(base + "/" + n);
  }
  ::closedir(d);
  for (const auto& dir : candidates) {
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid())
      continue;
    std::ifstream in(dir + "/" + kOwnerFile);
    long pid = 0;
    unsigned long long started = 0;
    if (!(in >> pid >> started) || pid <= 0) continue;
    if (StartTime(pid) == started) continue;  // its run still goes on
    AbandonedDir a;
    a.path = dir;
    a.owner_pid = pid;
    // Twice: a process may start another while the first is killed.
    for (int round = 0; round < 2; ++round) {
      for (long p : UsersOf(dir)) {
        if (::kill(static_cast<pid_t>(p), SIGKILL) == 0) ++a.processes_killed;
      }
      for (int i = 0; i < 100 && !UsersOf(dir).empty(); ++i) ::usleep(10000);
    }
    for (const auto& m : MountsUnder(dir)) {
      if (::umount2(m.c_str(), MNT_DETACH) == 0) ++a.mounts_detached;
    }
    a.removed = RemoveAll(dir);
    out.push_back(std::move(a));
  }
  return out;
}
}  // namespace drahil
