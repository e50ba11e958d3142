// drahil-sandbox-init: the helper Sandbox::Run() executes. It is a separate,
// single-threaded program because unshare(CLONE_NEWUSER) needs a
// single-threaded caller and because mount setup between fork and exec in a
// multi-threaded test process could deadlock on a lock held by another thread.
//
// Stage 1 (this process, host PID namespace): optional user namespace, then
// clone() the init with new PID, mount, IPC and UTS namespaces; runs the
// runtime-namespace hooks (prestart, createRuntime, poststart, poststop);
// enforces the wall-clock deadline by killing the init, which makes the kernel
// kill every process in the PID namespace.
//
// Init (PID 1 inside): builds the container view (private /dev, masks, CDI
// mounts, /proc), runs createContainer/startContainer hooks, drops all
// capabilities, starts the command, forwards signals, reaps orphans, and
// reports the command's wait status.
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "drahil/core/file_util.hpp"
#include "protocol.hpp"

namespace drahil::sandbox::internal {
namespace {

using Json = nlohmann::json;

void WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

void Emit(const Json& j) {
  WriteAll(kEventFd, j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n");
}
void Log(const std::string& msg) { Emit({{"ev", "log"}, {"msg", msg}}); }
void EmitError(const Status& s) {
  Emit({{"ev", "error"}, {"code", static_cast<int>(s.code())}, {"msg", s.message()}});
}

Status Errno(Code code, const std::string& what) {
  return Status(code, what + ": " + std::strerror(errno));
}

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
    return FailedPreconditionError("mount point " + path +
                                   " does not exist; the sandbox shares the host filesystem and "
                                   "creates mount points only under /dev and /run");
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

Status BindMount(const std::string& src, const std::string& target, bool recursive,
                 unsigned long extra_flags) {
  if (::mount(src.c_str(), target.c_str(), nullptr, MS_BIND | (recursive ? MS_REC : 0), nullptr) !=
      0) {
    return Errno(Code::kFailedPrecondition, "bind " + src + " -> " + target);
  }
  if (extra_flags != 0) {
    unsigned long flags = MS_REMOUNT | MS_BIND | extra_flags | LockedFlags(target);
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

Status SetupMounts(const InitConfig& c) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return Errno(Code::kUnavailable, "make mounts private");
  }
  if (!c.hostname.empty() && ::sethostname(c.hostname.data(), c.hostname.size()) != 0) {
    return Errno(Code::kUnavailable, "sethostname");
  }
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

// ---------------------------------------------------------------------------
// Capabilities

Status DropCapabilities() {
  int last = 63;
  if (auto text = ReadFile("/proc/sys/kernel/cap_last_cap", 64); text.ok())
    last = std::atoi(text->c_str());
  for (int cap = 0; cap <= last; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      return Errno(Code::kInternal,
                   "drop capability " + std::to_string(cap) + " from the bounding set");
    }
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return Errno(Code::kInternal, "clear ambient capabilities");
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return Errno(Code::kInternal, "set no_new_privs");
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capset, &hdr, data) != 0) return Errno(Code::kInternal, "capset");
  return OkStatus();
}

// ---------------------------------------------------------------------------
// Processes

int PidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// WaitWithDeadline(): waitpid with a deadline (CLOCK_MONOTONIC ms). Returns
// false on timeout (the child keeps running).
bool WaitWithDeadline(pid_t pid, int* status, int64_t deadline) {
  int pidfd = PidfdOpen(pid);
  for (;;) {
    pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) {
      if (pidfd >= 0) ::close(pidfd);
      return true;
    }
    int64_t left = deadline - MonotonicMs();
    if (left <= 0) {
      if (pidfd >= 0) ::close(pidfd);
      return false;
    }
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    } else {
      ::poll(nullptr, 0, static_cast<int>(std::min<int64_t>(left, 10)));
    }
  }
}

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void ResetSignals() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }
}

std::string StateJson(const std::string& status, pid_t pid, const std::string& bundle) {
  return Json({{"ociVersion", "1.0.2"},
               {"id", "drahil-sandbox"},
               {"status", status},
               {"pid", pid},
               {"bundle", bundle}})
      .dump(-1, ' ', false, Json::error_handler_t::replace);
}

// RunHook(): an OCI hook: state JSON on stdin, args as argv (argv[0]
// included, as OCI specifies), its own env only, output to our stderr.
Status RunHook(const cdi::Hook& h, const std::string& state, int64_t deadline) {
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return Errno(Code::kInternal, "pipe");
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  std::vector<std::string> env = h.env;
  auto argv = CStrings(args);
  auto envp = CStrings(env);
  std::string desc = h.hook_name + " hook " + h.path;
  pid_t pid = ::fork();
  if (pid < 0) return Errno(Code::kInternal, "fork " + desc);
  if (pid == 0) {
    ResetSignals();
    ::dup2(in[0], 0);
    ::dup2(2, 1);
    ::execve(h.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::signal(SIGPIPE, SIG_IGN);
  WriteAll(in[1], state);
  ::close(in[1]);
  int64_t hook_deadline = deadline;
  bool own_timeout = false;
  if (h.timeout && MonotonicMs() + *h.timeout * 1000 < deadline) {
    hook_deadline = MonotonicMs() + *h.timeout * 1000;
    own_timeout = true;
  }
  int status = 0;
  if (!WaitWithDeadline(pid, &status, hook_deadline)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    // The hook's own timeout is a hook failure; the run's deadline is the
    // run timing out (kCancelled tells the caller which).
    if (own_timeout)
      return DeadlineExceededError(desc + " timed out after " + std::to_string(*h.timeout) + " s");
    return CancelledError(desc + " was still running at the run's deadline");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string how = WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                                        : "signal " + std::to_string(WTERMSIG(status));
    return FailedPreconditionError(desc + " failed: " + how);
  }
  Log("ran " + desc);
  return OkStatus();
}

// RunHooks(): the hooks of the given stages, in order. `slack_ms` extends the
// run's deadline for hooks inside the container, so that stage 1, not the
// init, enforces the run's deadline there.
Status RunHooks(const InitConfig& c, const std::vector<std::string>& stages,
                const std::string& state_status, pid_t pid, int64_t slack_ms = 0) {
  for (const auto& h : c.edits.hooks) {
    if (std::find(stages.begin(), stages.end(), h.hook_name) == stages.end()) continue;
    if (!c.allow_hooks) {
      Log("skipped " + h.hook_name + " hook " + h.path + " (hooks not allowed)");
      continue;
    }
    DRAHIL_RETURN_IF_ERROR(
        RunHook(h, StateJson(state_status, pid, c.staging_dir), c.deadline_mono_ms + slack_ms));
  }
  return OkStatus();
}

std::string FindOnPath(const std::string& prog, const std::vector<std::string>& env) {
  if (prog.find('/') != std::string::npos) return prog;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& e : env) {
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  }
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    std::string cand = (dir.empty() ? "." : dir) + "/" + prog;
    if (::access(cand.c_str(), X_OK) == 0) return cand;
    i = j + 1;
  }
  return prog;
}

bool SendMsg(int sock, const std::string& m) {
  return ::send(sock, m.data(), m.size(), MSG_NOSIGNAL) >= 0;
}

std::string RecvMsg(int sock) {
  char buf[256];
  ssize_t n;
  do {
    n = ::recv(sock, buf, sizeof(buf), 0);
  } while (n < 0 && errno == EINTR);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// ---------------------------------------------------------------------------
// Init: PID 1 of the sandbox

int InitMain(const InitConfig& c, int sock) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, nullptr);
  if (Status s = SetupMounts(c); !s.ok()) {
    EmitError(s);
    return 1;
  }
  if (!SendMsg(sock, "ready")) return 1;
  std::string go = RecvMsg(sock);
  if (go.rfind("go:", 0) != 0) return 1;  // stage 1 refused (a hook failed) or died
  pid_t host_pid = std::atoi(go.c_str() + 3);
  if (Status s = RunHooks(c, {"createContainer"}, "created", host_pid, 60000); !s.ok()) {
    EmitError(s);
    return 1;
  }
  std::vector<gid_t> gids;
  for (uint32_t g : c.edits.additional_gids) {
    if (g != 0) gids.push_back(g);
  }
  if (!gids.empty()) {
    if (c.user_namespace) {
      Log("additionalGids not applied: setgroups is denied in a user namespace");
    } else if (::setgroups(gids.size(), gids.data()) != 0) {
      EmitError(Errno(Code::kFailedPrecondition, "setgroups(additionalGids)"));
      return 1;
    }
  }
  if (Status s = DropCapabilities(); !s.ok()) {
    EmitError(s);
    return 1;
  }
  Log("capabilities dropped, no_new_privs set");
  if (Status s = RunHooks(c, {"startContainer"}, "created", host_pid, 60000); !s.ok()) {
    EmitError(s);
    return 1;
  }
  std::vector<std::string> argv_s = c.argv;
  std::vector<std::string> env_s = c.env;
  std::string prog = FindOnPath(c.argv[0], c.env);
  auto argv = CStrings(argv_s);
  auto envp = CStrings(env_s);
  int ep[2];
  if (::pipe2(ep, O_CLOEXEC) != 0) {
    EmitError(Errno(Code::kInternal, "pipe"));
    return 1;
  }
  pid_t cmd = ::fork();
  if (cmd < 0) {
    EmitError(Errno(Code::kInternal, "fork the command"));
    return 1;
  }
  if (cmd == 0) {
    ResetSignals();
    int err = 0;
    if (::chdir(c.cwd.c_str()) != 0) {
      err = errno;
    } else {
      ::execve(prog.c_str(), argv.data(), envp.data());
      err = errno;
    }
    ssize_t w = ::write(ep[1], &err, sizeof(err));
    (void)w;
    ::_exit(127);
  }
  ::close(ep[1]);
  int err = 0;
  ssize_t got;
  do {
    got = ::read(ep[0], &err, sizeof(err));
  } while (got < 0 && errno == EINTR);
  ::close(ep[0]);
  if (got == static_cast<ssize_t>(sizeof(err))) {
    int st;
    ::waitpid(cmd, &st, 0);
    errno = err;
    EmitError(Errno(err == ENOENT ? Code::kNotFound : Code::kFailedPrecondition,
                    "exec " + prog + " (cwd " + c.cwd + ")"));
    return 1;
  }
  ::close(kResultFd);  // EOF on the result pipe then depends on the command alone
  SendMsg(sock, "started");
  int cmd_status = 0;
  bool done = false;
  while (!done) {
    siginfo_t info{};
    int sig = ::sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig == SIGCHLD) {
      int st;
      pid_t r;
      while ((r = ::waitpid(-1, &st, WNOHANG)) > 0) {
        if (r == cmd) {
          cmd_status = st;
          done = true;
        }
      }
    } else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT ||
               sig == SIGUSR1 || sig == SIGUSR2 || sig == SIGWINCH || sig == SIGCONT) {
      ::kill(cmd, sig);
    }
  }
  SendMsg(sock, "exit:" + std::to_string(cmd_status));
  // The container ends with its main process: nothing else survives it.
  ::kill(-1, SIGKILL);
  while (::waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Stage 1

Status WriteProcFile(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Errno(Code::kUnavailable, "open " + path);
  ssize_t n = ::write(fd, text.data(), text.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    errno = err;
    return Errno(Code::kUnavailable, "write " + path);
  }
  return OkStatus();
}

// EnterUserNamespace(): a new user namespace whose root is the calling
// user (`uid`, `gid`).
Status EnterUserNamespace(uid_t uid, gid_t gid) {
  if (::unshare(CLONE_NEWUSER) != 0) return Errno(Code::kUnavailable, "unshare(CLONE_NEWUSER)");
  Status s = WriteProcFile("/proc/self/setgroups", "deny");
  if (s.ok()) s = WriteProcFile("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1");
  if (s.ok()) s = WriteProcFile("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
  if (!s.ok()) return s;
  Log("user namespace: container root is host uid " + std::to_string(uid));
  return OkStatus();
}

// What stage 1 saw of the container while supervising its init.
struct Stage1Outcome {
  bool timed_out = false;
  bool started = false;
  std::string exit_msg;  // the init's last "exit:<wait status>"
  Status hook_error;     // a create hook that failed
};

// HandleInitMessage(): one message from the init: "ready" runs the create
// hooks and lets it go on, "started" runs the poststart hooks, "exit:..."
// is kept. false when supervision must stop (a hook failed or ran out of
// time).
bool HandleInitMessage(const InitConfig& c, int sock, pid_t init, const std::string& m,
                       Stage1Outcome* out) {
  if (m == "ready") {
    out->hook_error = RunHooks(c, {"prestart", "createRuntime"}, "created", init);
    if (out->hook_error.code() == Code::kCancelled) {
      out->hook_error = OkStatus();
      out->timed_out = true;
      return false;
    }
    if (!out->hook_error.ok()) return false;
    SendMsg(sock, "go:" + std::to_string(init));
  } else if (m == "started") {
    out->started = true;
    if (Status s = RunHooks(c, {"poststart"}, "running", init); !s.ok()) {
      Log("poststart hook failed (the command keeps running): " + s.message());
    }
  } else if (m.rfind("exit:", 0) == 0) {
    out->exit_msg = m;
  }
  return true;
}

// Supervise(): serves the init's messages until it exits, the deadline
// passes or a create hook fails; *init becomes -1 when it was reaped here.
void Supervise(const InitConfig& c, int sock, pid_t* init, Stage1Outcome* out) {
  int pidfd = PidfdOpen(*init);
  for (;;) {
    int64_t left = c.deadline_mono_ms - MonotonicMs();
    if (left <= 0) {
      out->timed_out = true;
      return;
    }
    pollfd p[2] = {{sock, POLLIN, 0}, {pidfd, POLLIN, 0}};
    int n = ::poll(p, pidfd >= 0 ? 2 : 1,
                   static_cast<int>(std::min<int64_t>(left, pidfd >= 0 ? 1000 : 20)));
    if (n < 0 && errno != EINTR) return;
    if (p[0].revents & POLLIN) {
      if (!HandleInitMessage(c, sock, *init, RecvMsg(sock), out)) return;
    } else if (p[0].revents & (POLLHUP | POLLERR)) {
      return;  // the init closed its end: it is exiting
    }
    if (pidfd >= 0 && (p[1].revents & POLLIN)) return;
    int st;
    if (pidfd < 0 && ::waitpid(*init, &st, WNOHANG) == *init) {
      *init = -1;
      return;
    }
  }
}

// DrainMessages(): a final message sent just before the init exited.
void DrainMessages(int sock, Stage1Outcome* out) {
  for (;;) {
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) return;
    std::string m = RecvMsg(sock);
    if (m.empty()) return;
    if (m.rfind("exit:", 0) == 0) out->exit_msg = m;
    if (m == "started") out->started = true;
  }
}

// ReportOutcome(): the container's end as events, then the poststop hooks
// of a container that started.
void ReportOutcome(const InitConfig& c, const Stage1Outcome& out) {
  if (!out.hook_error.ok()) EmitError(out.hook_error);
  if (out.timed_out) {
    Emit({{"ev", "timeout"}});
  } else if (!out.exit_msg.empty()) {
    Emit({{"ev", "exit"}, {"status", std::atoi(out.exit_msg.c_str() + 5)}});
  }
  if (!out.started) return;
  InitConfig post = c;
  post.deadline_mono_ms = std::max(c.deadline_mono_ms, MonotonicMs() + 10000);
  if (Status s = RunHooks(post, {"poststop"}, "stopped", 0); !s.ok())
    Log("poststop hook failed: " + s.message());
}

int Stage1(const InitConfig& c) {
  uid_t uid = ::getuid();
  gid_t gid = ::getgid();
  if (c.user_namespace) {
    if (Status s = EnterUserNamespace(uid, gid); !s.ok()) {
      EmitError(s);
      return 1;
    }
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    EmitError(Errno(Code::kInternal, "socketpair"));
    return 1;
  }
  // clone() rather than unshare(CLONE_NEWPID): only the init enters the new
  // PID namespace, so hooks this process forks later stay in the host's.
  long r = ::syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD,
                     nullptr, nullptr, nullptr, nullptr);
  if (r < 0) {
    EmitError(
        Errno(Code::kUnavailable, "clone(CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWIPC|CLONE_NEWUTS)"));
    return 1;
  }
  if (r == 0) {
    ::close(sv[0]);
    ::_exit(InitMain(c, sv[1]));
  }
  pid_t init = static_cast<pid_t>(r);
  ::close(sv[1]);
  int sock = sv[0];
  Stage1Outcome out;
  Supervise(c, sock, &init, &out);
  if (init > 0) {
    if (out.timed_out || !out.hook_error.ok()) ::kill(init, SIGKILL);
    // Reaping the init returns only after the kernel has killed and reaped
    // every other process of its PID namespace.
    int st;
    while (::waitpid(init, &st, 0) < 0 && errno == EINTR) {
    }
  }
  DrainMessages(sock, &out);
  ReportOutcome(c, out);
  return 0;
}

}  // namespace
}  // namespace drahil::sandbox::internal

int main(int argc, char** argv) {
  using namespace drahil::sandbox::internal;
  ::fcntl(kEventFd, F_SETFD, FD_CLOEXEC);
  ::signal(SIGPIPE, SIG_IGN);
  if (argc != 2) {
    EmitError(drahil::InvalidArgumentError(
        "usage: drahil-sandbox-init CONFIG.json (run by drahil::sandbox)"));
    return 2;
  }
  auto text = drahil::ReadFile(argv[1], 16u << 20);
  if (!text.ok()) {
    EmitError(text.status());
    return 2;
  }
  auto config = DecodeConfig(*text);
  if (!config.ok()) {
    EmitError(config.status());
    return 2;
  }
  if (config->argv.empty()) {
    EmitError(drahil::InvalidArgumentError("empty argv"));
    return 2;
  }
  return Stage1(*config);
}
