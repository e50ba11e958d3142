#include "drahil/core/temp_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
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
  if (!path_.empty() && !keep_) (void)RemoveAll(path_);
}
}  // namespace drahil
