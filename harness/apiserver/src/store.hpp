// File: store.hpp (private)
//
// Store: the object store behind the API server. One global, monotonically
// increasing resourceVersion (like etcd's revision), immutable object
// snapshots shared with readers, an event history for resuming watches and a
// hub that fans events out to watchers.
//
// Thread-safety: every method is safe from any thread. Watchers are fed under
// the store lock, so each watcher sees events in resourceVersion order and a
// bookmark's resourceVersion never precedes an event still to come.
#ifndef DRAHIL_APISERVER_STORE_HPP_INCLUDED
#define DRAHIL_APISERVER_STORE_HPP_INCLUDED

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "api_error.hpp"
#include "drahil/core/clock.hpp"
#include "drahil/core/mutex.hpp"
#include "resources.hpp"
#include "selectors.hpp"

namespace drahil::apiserver::internal {

using ObjPtr = std::shared_ptr<const nlohmann::json>;

struct Filter {
  std::string ns;  // "" = all namespaces
  LabelSelector labels;
  FieldSelector fields;
  [[nodiscard]] bool Matches(const nlohmann::json& obj) const;
};

// Watcher: one open watch. The store pushes pre-serialized event lines
// ("{\"type\":...,\"object\":...}\n"); the HTTP session drains them.
// A watcher more than max_queue events, or max_bytes of event data queued
// or drained but not yet written, behind is cut off (the bound on what a
// client that stopped reading costs; cf. cacheWatcher.add in
// staging/src/k8s.io/apiserver/pkg/storage/cacher/cache_watcher.go, which
// terminates a watcher whose bounded channel stays full).
class Watcher {
 public:
  Watcher(const ResourceInfo* info, Filter filter, bool bookmarks, size_t max_queue,
          size_t max_bytes = SIZE_MAX)
      : info_(info),
        filter_(std::move(filter)),
        bookmarks_(bookmarks),
        max_queue_(max_queue),
        max_bytes_(max_bytes) {}

  // Drain(): moves queued lines into *out; returns false once the watch is
  // over (closed and drained).
  // The drained bytes count against max_bytes until Written() says they
  // left.
  bool Drain(std::vector<std::string>* out) DRAHIL_EXCLUDES(mu_);
  // Written(): bytes of drained lines the connection has written.
  void Written(size_t bytes) DRAHIL_EXCLUDES(mu_);
  // PendingBytes(): queued plus drained-but-unwritten bytes.
  [[nodiscard]] size_t PendingBytes() const DRAHIL_EXCLUDES(mu_);
  // Close(): ends the watch. dropped=true means the connection should be cut
  // without a clean end of stream (fault injection, overflow).
  void Close(bool dropped) DRAHIL_EXCLUDES(mu_);
  [[nodiscard]] bool dropped() const DRAHIL_EXCLUDES(mu_);
  // SetWake(): called (from any thread, possibly under the store lock) after
  // new lines were queued or the watch closed. Must not block.
  void SetWake(std::function<void()> wake) DRAHIL_EXCLUDES(mu_);

  const ResourceInfo* info() const { return info_; }
  const Filter& filter() const { return filter_; }
  bool bookmarks() const { return bookmarks_; }
  void Push(std::string line) DRAHIL_EXCLUDES(mu_);

 private:
  const ResourceInfo* info_;
  Filter filter_;
  bool bookmarks_;
  size_t max_queue_;
  size_t max_bytes_;
  mutable Mutex mu_;
  std::deque<std::string> queue_ DRAHIL_GUARDED_BY(mu_);
  size_t pending_bytes_ DRAHIL_GUARDED_BY(mu_) = 0;
  bool closed_ DRAHIL_GUARDED_BY(mu_) = false;
  bool dropped_ DRAHIL_GUARDED_BY(mu_) = false;
  std::function<void()> wake_ DRAHIL_GUARDED_BY(mu_);
};

struct WatchRequest {
  const ResourceInfo* info = nullptr;
  Filter filter;
  std::optional<uint64_t> resource_version;  // nullopt or 0: start with current state
  bool send_initial_events = false;          // watch-list: initial state then the end bookmark
  bool bookmarks = false;
};

struct ListResult {
  std::vector<ObjPtr> items;
  uint64_t resource_version = 0;
  std::string continue_token;
  int64_t remaining = 0;
};

class Store {
 public:
  struct Options {
    size_t history = 10000;          // watch events kept for resuming
    size_t max_watch_queue = 10000;  // a watcher this far behind is cut off
    Clock* clock = &Clock::Real();   // creation and deletion timestamps
    // A watcher with this many bytes of event data not yet written is cut off.
    size_t max_watch_queue_bytes = 16u << 20;
    // An object whose JSON is larger is refused as etcd refuses a request
    // over its --max-request-bytes (default 1.5 MiB).
    size_t max_object_bytes = 1536u << 10;
  };
  explicit Store(Options options);

  // clock(): the time source of the timestamps the store writes.
  Clock& clock() const { return *options_.clock; }
  // registry(): the served resources, the CRDs' among them. A committed
  // CustomResourceDefinition write updates it; deleting a CRD deletes its
  // objects (the customresourcecleanup finalizer's work, done at once).
  Registry& registry() { return registry_; }
  const Registry& registry() const { return registry_; }

  uint64_t ResourceVersion() const DRAHIL_EXCLUDES(mu_);

  Expected<ObjPtr> Get(const ResourceInfo& info, const std::string& ns,
                       const std::string& name) const DRAHIL_EXCLUDES(mu_);
  // List(): sorted by namespace/name. limit 0 = all. The continue token
  // resumes after the last returned key, reading current data.
  Expected<ListResult> List(const ResourceInfo& info, const Filter& filter, int64_t limit,
                            const std::string& continue_token) const DRAHIL_EXCLUDES(mu_);

  // Create(): fills uid, resourceVersion, creationTimestamp, generation and a
  // name from metadata.generateName. check runs under the lock (admission
  // that needs other objects, e.g. the namespace).
  // ns_obj is the object's Namespace (nullptr for cluster-scoped objects).
  using Check = std::function<std::optional<ApiError>(const nlohmann::json& obj,
                                                      const nlohmann::json* ns_obj)>;
  Expected<ObjPtr> Create(const ResourceInfo& info, nlohmann::json obj, const Check& check = {})
      DRAHIL_EXCLUDES(mu_);

  // Update(): fn maps the current object to the desired one (or an error).
  // The store then enforces optimistic concurrency (a non-empty
  // metadata.resourceVersion must equal the current one, else 409), keeps the
  // server-owned metadata, bumps metadata.generation when spec changes, treats
  // a no-op as no write, and finishes a pending deletion once the last
  // finalizer is gone.
  using UpdateFn = std::function<Expected<nlohmann::json>(const nlohmann::json& current,
                                                          const nlohmann::json* ns_obj)>;
  Expected<ObjPtr> Update(const ResourceInfo& info, const std::string& ns, const std::string& name,
                          const UpdateFn& fn) DRAHIL_EXCLUDES(mu_);

  struct Preconditions {
    std::string uid;
    std::string resource_version;
  };
  // Delete(): with finalizers the object only gets deletionTimestamp. Deleting
  // a namespace deletes every object in it.
  Expected<ObjPtr> Delete(const ResourceInfo& info, const std::string& ns, const std::string& name,
                          const Preconditions& pre, const Check& check = {}) DRAHIL_EXCLUDES(mu_);
  Expected<std::vector<ObjPtr>> DeleteCollection(const ResourceInfo& info, const Filter& filter,
                                                 const Check& check = {}) DRAHIL_EXCLUDES(mu_);

  // Watch(): registers a watcher primed with the initial events or history.
  // 410 Expired when resource_version is older than the kept history.
  Expected<std::shared_ptr<Watcher>> Watch(const WatchRequest& req) DRAHIL_EXCLUDES(mu_);
  void Unwatch(const std::shared_ptr<Watcher>& w) DRAHIL_EXCLUDES(mu_);
  // Bookmark(): queues a BOOKMARK at the current resourceVersion on every
  // watcher that asked for bookmarks.
  void Bookmark() DRAHIL_EXCLUDES(mu_);
  // DropWatches(): cuts every open watch; returns how many.
  int DropWatches() DRAHIL_EXCLUDES(mu_);
  int WatchCount() const DRAHIL_EXCLUDES(mu_);

  // Snapshot()/Restore(): the persisted form {"resourceVersion":N,"objects":[...]}.
  nlohmann::json Snapshot() const DRAHIL_EXCLUDES(mu_);
  Status Restore(const nlohmann::json& snapshot) DRAHIL_EXCLUDES(mu_);
  // SetOnWrite(): called after each committed write (outside the lock).
  void SetOnWrite(std::function<void()> fn) DRAHIL_EXCLUDES(mu_);
  // EnsureNamespace(): creates it if missing (startup defaults).
  void EnsureNamespace(const std::string& name) DRAHIL_EXCLUDES(mu_);

 private:
  struct Event {
    uint64_t rv;
    const ResourceInfo* info;
    std::string type;
    ObjPtr obj;
    ObjPtr prev;  // MODIFIED: the object before
    std::shared_ptr<const std::string> obj_json;
  };
  using Bucket = std::map<std::string, ObjPtr>;  // "ns/name" -> object

  static std::string Key(const std::string& ns, const std::string& name) { return ns + "/" + name; }
  Bucket& BucketFor(const ResourceInfo& info) DRAHIL_REQUIRES(mu_) {
    return objects_[info.storage];
  }
  // CrdWrittenLocked(): keeps the registry in step with a CRD write.
  void CrdWrittenLocked(const ResourceInfo& info, const nlohmann::json& obj) DRAHIL_REQUIRES(mu_);
  // Commit(): records an event, feeds watchers.
  // text: obj's JSON when already at hand (not kept in the history).
  void CommitLocked(const ResourceInfo& info, const std::string& type, ObjPtr obj, ObjPtr prev,
                    std::shared_ptr<const std::string> text = nullptr) DRAHIL_REQUIRES(mu_);
  void DispatchLocked(const Event& ev) DRAHIL_REQUIRES(mu_);
  std::string NewUid() DRAHIL_REQUIRES(mu_);
  std::string RandomSuffix() DRAHIL_REQUIRES(mu_);
  ObjPtr DeleteLocked(const ResourceInfo& info, const std::string& key, ObjPtr current)
      DRAHIL_REQUIRES(mu_);
  void NotifyWrite() DRAHIL_EXCLUDES(mu_);

  Options options_;
  Registry registry_;
  mutable Mutex mu_;
  uint64_t rv_ DRAHIL_GUARDED_BY(mu_) = 1;
  // Events at or below this are gone from history.
  uint64_t compacted_rv_ DRAHIL_GUARDED_BY(mu_) = 1;
  std::map<std::string, Bucket> objects_ DRAHIL_GUARDED_BY(mu_);
  std::deque<Event> history_ DRAHIL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Watcher>> watchers_ DRAHIL_GUARDED_BY(mu_);
  std::mt19937_64 rng_ DRAHIL_GUARDED_BY(mu_);
  std::function<void()> on_write_ DRAHIL_GUARDED_BY(mu_);
};

// Event line helpers shared with the HTTP layer.
std::string EventLine(const std::string& type, const std::string& object_json);
nlohmann::json BookmarkObject(const ResourceInfo& info, uint64_t rv, bool initial_events_end);
// NowRfc3339(): clock.WallNow() as Kubernetes prints times.
std::string NowRfc3339(const Clock& clock);

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_STORE_HPP_INCLUDED
