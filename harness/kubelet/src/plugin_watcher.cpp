#include "plugin_watcher.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace drahil::kubelet::internal {
namespace {

constexpr uint32_t kMask = IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM;

bool Hidden(const std::string& path) {
  auto slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return !base.empty() && base[0] == '.';
}

}  // namespace

Result<std::unique_ptr<PluginWatcher>> PluginWatcher::Start(const std::string& dir, Callback cb) {
  std::unique_ptr<PluginWatcher> w(new PluginWatcher(dir, std::move(cb)));
  w->inotify_.Reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!w->inotify_) return ErrnoError(errno, "inotify_init1");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoError(errno, "pipe2");
  w->stop_read_.Reset(fds[0]);
  w->stop_write_.Reset(fds[1]);
  DRAHIL_RETURN_IF_ERROR_CTX(w->AddTree(dir), "watch registry dir " + dir);
  w->thread_ = std::thread([p = w.get()] { p->Run(); });
  return w;
}

PluginWatcher::~PluginWatcher() { Stop(); }

void PluginWatcher::Stop() {
  if (!thread_.joinable()) return;
  char c = 'x';
  (void)!::write(stop_write_.get(), &c, 1);
  thread_.join();
}

// Watch first, then list, so a socket created in between is seen at least
// once (a duplicate "created" only refreshes its timestamp).
Status PluginWatcher::AddTree(const std::string& dir) {
  int wd = ::inotify_add_watch(inotify_.get(), dir.c_str(), kMask | IN_ONLYDIR);
  if (wd < 0) return ErrnoError(errno, "inotify_add_watch " + dir);
  wd_paths_[wd] = dir;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoError(errno, "opendir " + dir);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  for (const auto& n : names) HandleCreated(dir + "/" + n);
  return OkStatus();
}

void PluginWatcher::HandleCreated(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    // The kubelet walks and watches new subdirectories too (dot-dirs as well).
    (void)AddTree(path);
    return;
  }
  if (Hidden(path) || !S_ISSOCK(st.st_mode)) return;
  cb_(path, true);
}

void PluginWatcher::Run() {
  alignas(struct inotify_event) char buf[16 * 1024];
  for (;;) {
    struct pollfd pfd[2] = {{inotify_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    int n = ::poll(pfd, 2, 1000);
    if (n < 0 && errno != EINTR) return;
    if (pfd[1].revents != 0) return;
    if (n <= 0 || (pfd[0].revents & POLLIN) == 0) continue;
    ssize_t len = ::read(inotify_.get(), buf, sizeof(buf));
    if (len <= 0) continue;
    for (char* p = buf; p < buf + len;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(p);
      p += sizeof(struct inotify_event) + ev->len;
      auto it = wd_paths_.find(ev->wd);
      if (ev->mask & IN_IGNORED) {
        if (it != wd_paths_.end()) wd_paths_.erase(it);
        continue;
      }
      if (it == wd_paths_.end() || ev->len == 0) continue;
      std::string path = it->second + "/" + ev->name;
      if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
        HandleCreated(path);
      } else if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
        // Removal of anything we might track; the owner ignores unknown paths.
        if (!(ev->mask & IN_ISDIR)) cb_(path, false);
      }
    }
  }
}

}  // namespace drahil::kubelet::internal
