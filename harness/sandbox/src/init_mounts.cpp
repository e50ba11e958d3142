// drahil-sandbox-init: the container view. Paths, device nodes, mounts, the
// private /dev and /run, and the masks, set up by the init in its new mount
// namespace.
#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "init_internal.hpp"

namespace drahil::sandbox::internal {
namespace {

// ---------------------------------------------------------------------------
// Paths

std::string Clean(const std::string& p) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string part = p.substr(i, j - i);
    if (!part.empty() && part != ".") parts.push_back(part);
    i = j + 1;
  }
  std::string out;
  for (const auto& part : parts) out += "/" + part;
  return out.empty() ? "/" : out;
}

bool HasDotDot(const std::string& p) {
  return p == ".." || p.find("/../") != std::string::npos || p.starts_with("../") ||
         p.ends_with("/..");
}

bool Under(const std::string& p, const std::string& dir) {
  if (dir == "/") return true;
  return p == dir ||
         (p.size() > dir.size() && p.compare(0, dir.size(), dir) == 0 && p[dir.size()] == '/');
}

Status CheckContainerPath(const std::string& p, const std::string& what) {
  if (p.empty() || p[0] != '/')
    return InvalidArgumentError(what + " " + p + " is not an absolute path");
  if (HasDotDot(p)) return InvalidArgumentError(what + " " + p + " contains \"..\"");
  return OkStatus();
}

// A dir in which the sandbox may create mount points: a tmpfs it mounted
// itself. `real` is where it lives now (the staging dir while /dev is built).
struct PrivateRoot {
  std::string container;  // e.g. "/dev"
  std::string real;       // e.g. "<staging>" or "/dev"
};

// EnsureTarget(): makes `path` (a container path) exist as a file or dir.
// Existing targets are used as they are (the mount is private to the
// sandbox). Missing ones are created only inside a private root, never on the
// shared host filesystem, and never through a symlink.
Status EnsureTarget(const std::string& path, bool dir, const std::vector<PrivateRoot>& roots,
                    std::string* real_out) {
  const PrivateRoot* root = nullptr;
  for (const auto& r : roots) {
    if (Under(path, r.container) &&
        (root == nullptr || r.container.size() > root->container.size()))
      root = &r;
  }
  std::string real = root ? root->real + path.substr(root->container.size()) : path;
  *real_out = real;
  struct stat st {};
  if (::lstat(real.c_str(), &st) == 0) return OkStatus();
  if (root == nullptr) {
    return FailedPreconditionError(
        "mount point " + path +
        " does not exist; the sandbox shares the host filesystem and "
        "creates mount points only under /dev, /run and (with a read-only root) /tmp");
  }
  std::string cur = root->real;
  std::string rest = path.substr(root->container.size());
  size_t i = 1;
  while (i < rest.size()) {
    size_t j = rest.find('/', i);
    bool last = j == std::string::npos;
    if (last) j = rest.size();
    cur += "/" + rest.substr(i, j - i);
    if (::lstat(cur.c_str(), &st) == 0) {
      if (S_ISLNK(st.st_mode))
        return FailedPreconditionError("refusing to follow symlink " + cur + " for " + path);
      if (!last && !S_ISDIR(st.st_mode))
        return FailedPreconditionError(cur + " is not a directory (for " + path + ")");
    } else if (!last || dir) {
      if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
        return Errno(Code::kInternal, "mkdir " + cur);
    } else {
      int fd = ::open(cur.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd < 0) return Errno(Code::kInternal, "create " + cur);
      ::close(fd);
    }
    i = j + 1;
  }
  return OkStatus();
}

// LockedFlags(): flags a bind remount must keep (the kernel refuses to clear
// nosuid/nodev/noexec/ro inherited from a more privileged mount).
unsigned long LockedFlags(const std::string& path) {
  struct statvfs sv {};
  if (::statvfs(path.c_str(), &sv) != 0) return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  return f;
}

// The flags of each bind source as the host mounted it, taken before the
// host root is made read-only (a bind of a source on the read-only root
// would otherwise look read-only). The init is single-threaded.
std::map<std::string, unsigned long>& SourceFlags() {
  static std::map<std::string, unsigned long> flags;
  return flags;
}

void RememberSourceFlags(const InitConfig& c) {
  auto& m = SourceFlags();
  for (const auto& n : c.edits.device_nodes) m[n.HostPath()] = LockedFlags(n.HostPath());
  for (const auto& mt : c.edits.mounts) m[mt.host_path] = LockedFlags(mt.host_path);
  for (const auto& b : c.extra_binds) m[b.host_path] = LockedFlags(b.host_path);
  if (!c.fake_root.empty()) m[c.fake_root] = LockedFlags(c.fake_root);
}

// BindMount(): binds src onto target; a remount applies extra_flags (a
// read-only grant) plus what the source's mount already enforces. A bind
// that asks for nothing is remounted too when the host root was made
// read-only, so a writable grant stays writable.
Status BindMount(const std::string& src, const std::string& target, bool recursive,
                 unsigned long extra_flags) {
  if (::mount(src.c_str(), target.c_str(), nullptr, MS_BIND | (recursive ? MS_REC : 0), nullptr) !=
      0) {
    return Errno(Code::kFailedPrecondition, "bind " + src + " -> " + target);
  }
  auto known = SourceFlags().find(src);
  unsigned long source_flags = known != SourceFlags().end() ? known->second : LockedFlags(target);
  if (extra_flags != 0 || known != SourceFlags().end()) {
    unsigned long flags = MS_REMOUNT | MS_BIND | extra_flags | source_flags;
    if (::mount(nullptr, target.c_str(), nullptr, flags, nullptr) != 0) {
      return Errno(Code::kFailedPrecondition, "remount " + target);
    }
  }
  return OkStatus();
}

// ---------------------------------------------------------------------------
// Device nodes, mounts

Status ApplyDeviceNode(const cdi::DeviceNode& n, const std::vector<PrivateRoot>& roots,
                       bool userns) {
  DRAHIL_RETURN_IF_ERROR(CheckContainerPath(n.path, "device node path"));
  const std::string path = Clean(n.path);
  const std::string host = n.HostPath();
  if (HasDotDot(host))
    return InvalidArgumentError("device node " + n.path + ": host path " + host +
                                " contains \"..\"");
  struct stat st {};
  std::string real;
  if (::stat(host.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT && (n.type == "c" || n.type == "b") && n.major && !userns) {
      DRAHIL_RETURN_IF_ERROR(EnsureTarget(path, false, roots, &real));
      ::unlink(real.c_str());
      mode_t mode =
          (n.type == "c" ? S_IFCHR : S_IFBLK) | (n.file_mode ? (*n.file_mode & 07777) : 0666);
      if (::mknod(real.c_str(), mode, makedev(*n.major, n.minor.value_or(0))) != 0) {
        return Errno(Code::kFailedPrecondition, "mknod " + path);
      }
      if (::chown(real.c_str(), n.uid.value_or(0), n.gid.value_or(0)) != 0) {
        return Errno(Code::kFailedPrecondition, "chown " + path);
      }
      Log("device node " + path + ": created with mknod " + n.type + " " +
          std::to_string(*n.major) + ":" + std::to_string(n.minor.value_or(0)) + " (no host node)");
      return OkStatus();
    }
    errno = err;
    return Errno(Code::kNotFound, "device node " + path + ": host path " + host);
  }
  if (S_ISDIR(st.st_mode)) {
    return InvalidArgumentError("device node " + path + ": host path " + host + " is a directory");
  }
  // The runtime checks the declared type against the host node; an emulated
  // node (a regular file) has no type to check.
  if ((n.type == "c" && S_ISBLK(st.st_mode)) || (n.type == "b" && S_ISCHR(st.st_mode)) ||
      (n.type == "p" && !S_ISFIFO(st.st_mode) && !S_ISREG(st.st_mode))) {
    return InvalidArgumentError("device node " + path + ": declared type " + n.type +
                                " does not match host node " + host);
  }
  DRAHIL_RETURN_IF_ERROR(EnsureTarget(path, false, roots, &real));
  std::string perms = n.EffectivePermissions();
  if (perms.empty()) {
    // "none": the cgroup would refuse every open. The placeholder is an
    // empty file nobody may open (the command has no CAP_DAC_OVERRIDE).
    ::chmod(real.c_str(), 0);
    Log("device node " + path + ": permissions \"none\", placeholder without access");
    return OkStatus();
  }
  // Without cgroup device rules a read-only grant is enforced with a read-only bind.
  bool ro = perms.find('w') == std::string::npos;
  DRAHIL_RETURN_IF_ERROR(BindMount(host, real, false, ro ? MS_RDONLY : 0));
  Log("device node " + path + " <- " + host + " (" + perms + (ro ? ", read-only bind" : "") + ")");
  return OkStatus();
}

struct MountOpts {
  unsigned long flags = 0;
  unsigned long propagation = 0;
  bool bind = false;
  bool recursive = false;
  std::string data;
};

MountOpts ParseOptions(const cdi::Mount& m) {
  MountOpts o;
  o.bind = m.type == "bind" || m.type == "rbind";
  o.recursive = m.type == "rbind";
  for (const auto& opt : m.options) {
    if (opt == "bind")
      o.bind = true;
    else if (opt == "rbind")
      o.bind = o.recursive = true;
    else if (opt == "ro")
      o.flags |= MS_RDONLY;
    else if (opt == "rw")
      o.flags &= ~static_cast<unsigned long>(MS_RDONLY);
    else if (opt == "nosuid")
      o.flags |= MS_NOSUID;
    else if (opt == "nodev")
      o.flags |= MS_NODEV;
    else if (opt == "noexec")
      o.flags |= MS_NOEXEC;
    else if (opt == "suid" || opt == "dev" || opt == "exec" || opt == "defaults")
      continue;
    else if (opt == "noatime")
      o.flags |= MS_NOATIME;
    else if (opt == "relatime")
      o.flags |= MS_RELATIME;
    else if (opt == "private")
      o.propagation = MS_PRIVATE;
    else if (opt == "rprivate")
      o.propagation = MS_PRIVATE | MS_REC;
    else if (opt == "slave")
      o.propagation = MS_SLAVE;
    else if (opt == "rslave")
      o.propagation = MS_SLAVE | MS_REC;
    else if (opt == "shared")
      o.propagation = MS_SHARED;
    else if (opt == "rshared")
      o.propagation = MS_SHARED | MS_REC;
    else if (opt == "unbindable")
      o.propagation = MS_UNBINDABLE;
    else if (opt == "runbindable")
      o.propagation = MS_UNBINDABLE | MS_REC;
    else
      o.data += (o.data.empty() ? "" : ",") + opt;
  }
  // A mount without a filesystem type can only be a bind mount.
  if (m.type.empty() || m.type == "none") o.bind = true;
  return o;
}

Status ApplyMount(const cdi::Mount& m, const std::vector<PrivateRoot>& roots) {
  DRAHIL_RETURN_IF_ERROR(CheckContainerPath(m.container_path, "mount containerPath"));
  const std::string target = Clean(m.container_path);
  MountOpts o = ParseOptions(m);
  std::string real;
  if (o.bind) {
    if (HasDotDot(m.host_path))
      return InvalidArgumentError("mount hostPath " + m.host_path + " contains \"..\"");
    struct stat st {};
    if (::stat(m.host_path.c_str(), &st) != 0)
      return Errno(Code::kNotFound, "mount " + target + ": hostPath " + m.host_path);
    DRAHIL_RETURN_IF_ERROR(EnsureTarget(target, S_ISDIR(st.st_mode), roots, &real));
    DRAHIL_RETURN_IF_ERROR(BindMount(m.host_path, real, o.recursive, o.flags));
  } else {
    DRAHIL_RETURN_IF_ERROR(EnsureTarget(target, true, roots, &real));
    if (::mount(m.host_path.c_str(), real.c_str(), m.type.c_str(), o.flags,
                o.data.empty() ? nullptr : o.data.c_str()) != 0) {
      return Errno(Code::kFailedPrecondition,
                   "mount " + m.type + " " + m.host_path + " -> " + target);
    }
  }
  if (o.propagation != 0 && ::mount(nullptr, real.c_str(), nullptr, o.propagation, nullptr) != 0) {
    return Errno(Code::kFailedPrecondition, "set propagation of " + target);
  }
  std::string opts;
  for (const auto& s : m.options) opts += (opts.empty() ? "" : ",") + s;
  Log("mount " + m.host_path + " -> " + target + (m.type.empty() ? "" : " type " + m.type) +
      (opts.empty() ? "" : " (" + opts + ")"));
  return OkStatus();
}

size_t Depth(const std::string& p) {
  return static_cast<size_t>(std::count(p.begin(), p.end(), '/'));
}

Status MaskDir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    Log("mask " + dir + ": not a directory, nothing to mask");
    return OkStatus();
  }
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=000,size=4k") != 0) {
    return Errno(Code::kInternal, "mask " + dir);
  }
  Log("masked " + dir + " with an empty read-only tmpfs");
  return OkStatus();
}

// MakeRootReadOnly(): every mount of the host's tree, read-only in this
// mount namespace (mount_setattr(AT_RECURSIVE), Linux 5.12; before that one
// read-only bind remount per mount in /proc/self/mountinfo). Mounts made
// afterwards (/dev, /run, /tmp, grants, /proc) keep their own flags.
Status MakeRootReadOnly() {
#ifdef SYS_mount_setattr
  const long nr = SYS_mount_setattr;
#else
  const long nr = 442;
#endif
  struct {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
  } attr{0x1 /* MOUNT_ATTR_RDONLY */, 0, 0, 0};
  if (::syscall(nr, AT_FDCWD, "/", 0x8000 /* AT_RECURSIVE */, &attr, sizeof(attr)) == 0) {
    Log("host root read-only (recursive)");
    return OkStatus();
  }
  if (errno != ENOSYS) return Errno(Code::kUnavailable, "make the host root read-only");
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point;
    if (!(f >> id >> parent >> dev >> root >> point)) continue;
    std::string path;  // mountinfo escapes space, tab, newline and backslash as \ooo
    for (size_t i = 0; i < point.size(); ++i) {
      if (point[i] == '\\' && i + 3 < point.size()) {
        path += static_cast<char>(std::stoi(point.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        path += point[i];
      }
    }
    unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | LockedFlags(path);
    if (::mount(nullptr, path.c_str(), nullptr, flags, nullptr) == 0) ++count;
  }
  if (count == 0) return Errno(Code::kUnavailable, "make the host root read-only");
  Log("host root read-only (" + std::to_string(count) + " mounts)");
  return OkStatus();
}

Status SetupDev(const InitConfig& c) {
  const std::string& s = c.staging_dir;
  if (::mount("tmpfs", s.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=65536k") != 0) {
    return Errno(Code::kUnavailable, "mount tmpfs for the private /dev");
  }
  for (const char* name : {"null", "zero", "full", "random", "urandom", "tty"}) {
    std::string target = s + "/" + name;
    int fd = ::open(target.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) return Errno(Code::kInternal, "create " + target);
    ::close(fd);
    std::string host = std::string("/dev/") + name;
    if (::mount(host.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      if (std::strcmp(name, "tty") == 0) {
        Log("/dev/tty not available: " + std::string(std::strerror(errno)));
        ::unlink(target.c_str());
        continue;
      }
      return Errno(Code::kUnavailable, "bind " + host);
    }
  }
  ::mkdir((s + "/pts").c_str(), 0755);
  ::mkdir((s + "/shm").c_str(), 0755);
  ::chmod((s + "/shm").c_str(), 01777);
  (void)::symlink("/proc/self/fd", (s + "/fd").c_str());
  (void)::symlink("/proc/self/fd/0", (s + "/stdin").c_str());
  (void)::symlink("/proc/self/fd/1", (s + "/stdout").c_str());
  (void)::symlink("/proc/self/fd/2", (s + "/stderr").c_str());
  (void)::symlink("pts/ptmx", (s + "/ptmx").c_str());
  std::vector<PrivateRoot> staging_roots = {{"/dev", s}};
  for (const auto& n : c.edits.device_nodes) {
    if (!Under(Clean(n.path), "/dev") || Clean(n.path) == "/dev") continue;
    DRAHIL_RETURN_IF_ERROR(ApplyDeviceNode(n, staging_roots, c.user_namespace));
  }
  if (::mount(s.c_str(), "/dev", nullptr, MS_MOVE, nullptr) != 0) {
    return Errno(Code::kInternal, "move the private /dev into place");
  }
  if (::mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620") != 0) {
    Log("devpts not mounted: " + std::string(std::strerror(errno)));
  }
  if (::mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k") != 0) {
    Log("/dev/shm not mounted: " + std::string(std::strerror(errno)));
  }
  Log("private /dev: null zero full random urandom tty pts shm + " +
      std::to_string(c.edits.device_nodes.size()) + " CDI device node(s)");
  return OkStatus();
}

}  // namespace

Status LoopbackUp() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno(Code::kUnavailable, "socket for the loopback interface");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  Status s = OkStatus();
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
    s = Errno(Code::kUnavailable, "SIOCGIFFLAGS lo");
  } else {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) s = Errno(Code::kUnavailable, "bring up lo");
  }
  ::close(fd);
  if (s.ok()) Log("network namespace: loopback only");
  return s;
}

Status SetupMounts(const InitConfig& c) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return Errno(Code::kUnavailable, "make mounts private");
  }
  if (!c.hostname.empty() && ::sethostname(c.hostname.data(), c.hostname.size()) != 0) {
    return Errno(Code::kUnavailable, "sethostname");
  }
  RememberSourceFlags(c);
  if (c.read_only_root) DRAHIL_RETURN_IF_ERROR(MakeRootReadOnly());
  DRAHIL_RETURN_IF_ERROR(SetupDev(c));
  std::vector<PrivateRoot> roots = {{"/dev", "/dev"}};
  if (c.private_run) {
    if (::mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=65536k") != 0) {
      return Errno(Code::kInternal, "mount private /run");
    }
    roots.push_back({"/run", "/run"});
    struct stat st {};
    if (::lstat("/var/run", &st) == 0 && S_ISLNK(st.st_mode)) {
      roots.push_back({"/var/run", "/run"});
    } else if (::lstat("/var/run", &st) == 0 && S_ISDIR(st.st_mode)) {
      if (::mount("tmpfs", "/var/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=65536k") !=
          0) {
        return Errno(Code::kInternal, "mount private /var/run");
      }
      roots.push_back({"/var/run", "/var/run"});
    }
    Log("private /run");
  }
  // A read-only root needs a writable /tmp: a private tmpfs, built on the
  // staging dir while the host's /tmp still resolves the grants' sources,
  // and moved into place once every grant is in.
  bool private_tmp = c.read_only_root && !c.staging_tmp_dir.empty();
  if (private_tmp) {
    if (::mount("tmpfs", c.staging_tmp_dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                "mode=1777,size=65536k") != 0) {
      return Errno(Code::kInternal, "mount private /tmp");
    }
    roots.push_back({"/tmp", c.staging_tmp_dir});
    // The emulated node's root stays visible at its path (read-only: the
    // probes and the fake libraries only read it; its device nodes are
    // granted, writable, as CDI device nodes).
    std::string fake = c.fake_root.empty() ? "" : Clean(c.fake_root);
    if (!fake.empty() && Under(fake, "/tmp") && fake != "/tmp") {
      std::string real;
      DRAHIL_RETURN_IF_ERROR(EnsureTarget(fake, true, roots, &real));
      DRAHIL_RETURN_IF_ERROR(BindMount(c.fake_root, real, true, MS_RDONLY));
      Log("node root " + fake + " bound read-only into the private /tmp");
    }
  }
  for (const auto& n : c.edits.device_nodes) {
    if (Under(Clean(n.path), "/dev") && Clean(n.path) != "/dev") continue;
    DRAHIL_RETURN_IF_ERROR(ApplyDeviceNode(n, roots, c.user_namespace));
  }
  // The runtime sorts mounts by depth so parents are mounted before children.
  std::vector<cdi::Mount> mounts = c.edits.mounts;
  std::stable_sort(mounts.begin(), mounts.end(), [](const cdi::Mount& a, const cdi::Mount& b) {
    return Depth(Clean(a.container_path)) < Depth(Clean(b.container_path));
  });
  for (const auto& m : mounts) DRAHIL_RETURN_IF_ERROR(ApplyMount(m, roots));
  for (const auto& b : c.extra_binds) {
    cdi::Mount m{
        b.host_path, b.container_path.empty() ? b.host_path : b.container_path,
        b.read_only ? std::vector<std::string>{"rbind", "ro"} : std::vector<std::string>{"rbind"},
        ""};
    DRAHIL_RETURN_IF_ERROR(ApplyMount(m, roots));
  }
  if (private_tmp) {
    if (::mount(c.staging_tmp_dir.c_str(), "/tmp", nullptr, MS_MOVE, nullptr) != 0)
      return Errno(Code::kInternal, "move the private /tmp into place");
    Log("private /tmp");
  }
  // Masks come last: every grant above resolved its host path in the unmasked
  // view, as the runtime would, so a driver that mounts the whole node dev dir
  // is visibly leaking; nothing else reaches the masked dirs.
  if (!c.fake_root.empty()) DRAHIL_RETURN_IF_ERROR(MaskDir(Clean(c.fake_root + "/dev")));
  for (const auto& d : c.mask_dirs) DRAHIL_RETURN_IF_ERROR(MaskDir(Clean(d)));
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    return Errno(Code::kUnavailable, "mount /proc for the new PID namespace");
  }
  return OkStatus();
}

}  // namespace drahil::sandbox::internal
