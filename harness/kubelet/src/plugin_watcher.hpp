// PluginWatcher: inotify on the registry directory and its subdirectories,
// as the kubelet's fsnotify watcher (docs/reference/protocol.md 2.2). Sockets found by the
// initial walk count as created. Names starting with '.' and non-sockets are
// ignored. New subdirectories are walked and watched.
//
// Thread-safety: the callback runs on the watcher thread (and on the caller's
// thread during Start()'s initial walk); Stop() joins the thread.
#ifndef DRAHIL_KUBELET_SRC_PLUGIN_WATCHER_HPP_INCLUDED
#define DRAHIL_KUBELET_SRC_PLUGIN_WATCHER_HPP_INCLUDED

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "drahil/core/status.hpp"
#include "drahil/core/unique_fd.hpp"

namespace drahil::kubelet::internal {

class PluginWatcher {
 public:
  // created = true: a socket appeared (or was re-created); false: it went away.
  using Callback = std::function<void(const std::string& path, bool created)>;

  static Result<std::unique_ptr<PluginWatcher>> Start(const std::string& dir, Callback cb);
  ~PluginWatcher();
  void Stop();

 private:
  PluginWatcher(std::string dir, Callback cb) : dir_(std::move(dir)), cb_(std::move(cb)) {}
  Status AddTree(const std::string& dir);
  void HandleCreated(const std::string& path);
  void Run();

  std::string dir_;
  Callback cb_;
  UniqueFd inotify_;
  UniqueFd stop_read_;
  UniqueFd stop_write_;
  std::map<int, std::string> wd_paths_;  // only touched by Start() then the thread
  std::thread thread_;
};

}  // namespace drahil::kubelet::internal

#endif  // DRAHIL_KUBELET_SRC_PLUGIN_WATCHER_HPP_INCLUDED
