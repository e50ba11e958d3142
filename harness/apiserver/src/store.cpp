#include "store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>

#include "drahil/core/clock.hpp"
#include "drahil/formats/json_fields.hpp"

namespace drahil::apiserver::internal {

namespace {

using nlohmann::json;

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64Url(const std::string& in) {
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(kB64[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(kB64[((val << 8) >> (bits + 8)) & 0x3F]);
  return out;
}

std::optional<std::string> UnBase64Url(const std::string& in) {
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    const char* p = std::strchr(kB64, c);
    if (c == '\0' || p == nullptr) return std::nullopt;
    val = (val << 6) + static_cast<int>(p - kB64);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

const json& Meta(const json& obj) {
  static const json kEmpty = json::object();
  auto it = obj.find("metadata");
  return it != obj.end() && it->is_object() ? *it : kEmpty;
}

bool HasFinalizers(const json& obj) {
  const json& m = Meta(obj);
  auto it = m.find("finalizers");
  return it != m.end() && it->is_array() && !it->empty();
}

}  // namespace

std::string NowRfc3339(const Clock& clock) { return FormatRfc3339(clock.WallNow()); }

std::string EventLine(const std::string& type, const std::string& object_json) {
  std::string line;
  line.reserve(object_json.size() + type.size() + 32);
  line += "{\"type\":\"";
  line += type;
  line += "\",\"object\":";
  line += object_json;
  line += "}\n";
  return line;
}

json BookmarkObject(const ResourceInfo& info, uint64_t rv, bool initial_events_end) {
  json obj = {{"kind", info.kind},
              {"apiVersion", info.GroupVersion()},
              {"metadata", {{"resourceVersion", std::to_string(rv)}}}};
  if (initial_events_end) {
    obj["metadata"]["annotations"] = {{"k8s.io/initial-events-end", "true"}};
  }
  return obj;
}

bool Filter::Matches(const json& obj) const {
  if (!ns.empty() && formats::StringOr(obj, "metadata.namespace") != ns) return false;
  return labels.MatchesObject(obj) && fields.Matches(obj);
}

namespace {

// TooLargeForStorage(): what kube-apiserver answers when etcd refuses a
// write over --max-request-bytes: the etcd error passed through as a 500
// (kubernetes/kubernetes#112152, still open).
ApiError TooLargeForStorage() { return WithCode(500, "etcdserver: request is too large"); }

}  // namespace

// ---------------------------------------------------------------------------
// Watcher

void Watcher::Push(std::string line) {
  std::function<void()> wake;
  {
    MutexLock lock(mu_);
    if (closed_) return;
    // A watcher this far behind would hold unbounded memory; Kubernetes'
    // watch cache also terminates watchers that cannot keep up. One event
    // larger than max_bytes still goes to a watcher with nothing pending.
    if (queue_.size() >= max_queue_ ||
        (pending_bytes_ > 0 && pending_bytes_ + line.size() > max_bytes_)) {
      closed_ = true;
      dropped_ = true;
      queue_.clear();  // nothing more is written: give the memory back now
    } else {
      pending_bytes_ += line.size();
      queue_.push_back(std::move(line));
    }
    wake = wake_;
  }
  if (wake) wake();
}

void Watcher::Written(size_t bytes) {
  MutexLock lock(mu_);
  pending_bytes_ -= std::min(bytes, pending_bytes_);
}

size_t Watcher::PendingBytes() const {
  MutexLock lock(mu_);
  return pending_bytes_;
}

bool Watcher::Drain(std::vector<std::string>* out) {
  MutexLock lock(mu_);
  while (!queue_.empty()) {
    out->push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return !closed_;
}

void Watcher::Close(bool dropped) {
  std::function<void()> wake;
  {
    MutexLock lock(mu_);
    if (closed_) return;
    closed_ = true;
    dropped_ = dropped;
    wake = wake_;
  }
  if (wake) wake();
}

bool Watcher::dropped() const {
  MutexLock lock(mu_);
  return dropped_;
}

void Watcher::SetWake(std::function<void()> wake) {
  MutexLock lock(mu_);
  wake_ = std::move(wake);
}

// ---------------------------------------------------------------------------
// Store

Store::Store(Options options) : options_(options), rng_(std::random_device{}()) {}

uint64_t Store::ResourceVersion() const {
  MutexLock lock(mu_);
  return rv_;
}

std::string Store::NewUid() {
  // RFC 4122 version 4: random, with the version and variant bits set.
  uint64_t hi = rng_(), lo = rng_();
  hi = (hi & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;
  lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
  return buf;
}

std::string Store::RandomSuffix() {
  // The alphabet Kubernetes uses for generateName: no vowels, no confusable digits.
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string s;
  for (int i = 0; i < 5; ++i) s.push_back(kAlphabet[rng_() % (sizeof(kAlphabet) - 1)]);
  return s;
}

namespace {

// Served()/Stored(): an object as info serves it, and as it is stored.
ObjPtr Served(const ResourceInfo& info, ObjPtr stored) {
  if (info.conversion == nullptr || !stored) return stored;
  return std::make_shared<const json>(info.conversion->from_storage(*stored, info));
}

json Stored(const ResourceInfo& info, json served) {
  if (info.conversion == nullptr) return served;
  return info.conversion->to_storage(served, info);
}

}  // namespace

Expected<ObjPtr> Store::Get(const ResourceInfo& info, const std::string& ns,
                            const std::string& name) const {
  MutexLock lock(mu_);
  auto b = objects_.find(info.storage);
  if (b != objects_.end()) {
    auto it = b->second.find(Key(ns, name));
    if (it != b->second.end()) return Served(info, it->second);
  }
  return NotFound(info, name);
}

Expected<ListResult> Store::List(const ResourceInfo& info, const Filter& filter, int64_t limit,
                                 const std::string& continue_token) const {
  std::string start;
  if (!continue_token.empty()) {
    auto raw = UnBase64Url(continue_token);
    json tok = raw ? json::parse(*raw, nullptr, false) : json();
    if (!tok.is_object() || !tok.contains("start") || !tok["start"].is_string()) {
      return BadRequest("continue key is not valid: invalid continue token");
    }
    start = tok["start"].get<std::string>();
  }
  MutexLock lock(mu_);
  ListResult out;
  out.resource_version = rv_;
  auto b = objects_.find(info.storage);
  if (b == objects_.end()) return out;
  auto it = start.empty() ? b->second.begin() : b->second.upper_bound(start);
  std::string last;
  for (; it != b->second.end(); ++it) {
    if (!filter.Matches(*it->second)) continue;
    if (limit > 0 && static_cast<int64_t>(out.items.size()) >= limit) {
      ++out.remaining;
      continue;
    }
    out.items.push_back(Served(info, it->second));
    last = it->first;
  }
  if (out.remaining > 0) {
    out.continue_token = Base64Url(json{{"rv", rv_}, {"start", last}}.dump());
  }
  return out;
}

Expected<ObjPtr> Store::Create(const ResourceInfo& info, json obj, const Check& check) {
  std::string ns = formats::StringOr(obj, "metadata.namespace");
  std::string name = formats::StringOr(obj, "metadata.name");
  std::string generate = formats::StringOr(obj, "metadata.generateName");
  ObjPtr result;
  {
    MutexLock lock(mu_);
    const json* ns_obj = nullptr;
    if (info.namespaced) {
      auto& nsb = objects_["namespaces"];
      auto nit = nsb.find(Key("", ns));
      if (nit == nsb.end()) {
        return NotFound(*LookupResource("namespaces"), ns);
      }
      ns_obj = nit->second.get();
      if (Meta(*ns_obj).contains("deletionTimestamp")) {
        return Forbidden("unable to create new content in namespace " + ns +
                         " because it is being terminated");
      }
    }
    Bucket& bucket = BucketFor(info);
    if (name.empty()) {
      if (generate.empty()) {
        return Invalid(info, "",
                       {{"FieldValueRequired", "metadata.name",
                         "Required value: name or generateName is required"}});
      }
      // Kubernetes returns AlreadyExists on a generated-name collision and
      // leaves the retry to the client; retrying here is kinder and unseen.
      for (int attempt = 0; attempt < 16; ++attempt) {
        name = generate + RandomSuffix();
        if (bucket.count(Key(ns, name)) == 0) break;
      }
      obj["metadata"]["name"] = name;
    }
    if (bucket.count(Key(ns, name)) != 0) return AlreadyExists(info, name);
    if (check) {
      if (auto err = check(obj, ns_obj)) return *err;
    }
    obj = Stored(info, std::move(obj));
    json& m = obj["metadata"];
    m["uid"] = NewUid();
    m["creationTimestamp"] = NowRfc3339(*options_.clock);
    if (info.sets_generation) m["generation"] = 1;
    m.erase("deletionTimestamp");
    m.erase("deletionGracePeriodSeconds");
    m["resourceVersion"] = std::to_string(++rv_);
    auto text = std::make_shared<const std::string>(obj.dump());
    if (text->size() > options_.max_object_bytes) {
      --rv_;  // nothing was written
      return TooLargeForStorage();
    }
    result = std::make_shared<const json>(std::move(obj));
    bucket[Key(ns, name)] = result;
    CommitLocked(info, "ADDED", result, nullptr, std::move(text));
    CrdWrittenLocked(info, *result);
  }
  NotifyWrite();
  return Served(info, result);
}

Expected<ObjPtr> Store::Update(const ResourceInfo& info, const std::string& ns,
                               const std::string& name, const UpdateFn& fn) {
  ObjPtr result;
  {
    MutexLock lock(mu_);
    Bucket& bucket = BucketFor(info);
    auto it = bucket.find(Key(ns, name));
    if (it == bucket.end()) return NotFound(info, name);
    ObjPtr current = it->second;
    const json* ns_obj = nullptr;
    if (info.namespaced) {
      auto& nsb = objects_["namespaces"];
      auto nit = nsb.find(Key("", ns));
      if (nit != nsb.end()) ns_obj = nit->second.get();
    }
    auto desired_or = fn(*Served(info, current), ns_obj);
    if (!desired_or.ok()) return desired_or.error();
    if (!desired_or.value().is_object()) return BadRequest("the object is not a JSON object");
    json desired = Stored(info, std::move(desired_or.value()));
    json& m = desired["metadata"];
    if (!m.is_object()) m = json::object();
    const json& cm = Meta(*current);
    std::string want_rv = formats::StringOr(desired, "metadata.resourceVersion");
    if (!want_rv.empty() && want_rv != cm.value("resourceVersion", "")) {
      return Conflict(info, name,
                      "the object has been modified; please apply your changes to the latest "
                      "version and try again");
    }
    std::string want_uid = formats::StringOr(desired, "metadata.uid");
    if (!want_uid.empty() && want_uid != cm.value("uid", "")) {
      return Conflict(info, name,
                      "Precondition failed: UID in precondition: " + want_uid +
                          ", UID in object meta: " + cm.value("uid", ""));
    }
    // Server-owned metadata is never taken from the client.
    for (const char* f : {"name", "namespace", "uid", "creationTimestamp", "resourceVersion",
                          "generation", "deletionTimestamp", "deletionGracePeriodSeconds"}) {
      if (cm.contains(f)) {
        m[f] = cm[f];
      } else {
        m.erase(f);
      }
    }
    if (m.contains("generateName") && !cm.contains("generateName")) m.erase("generateName");
    // A no-op writes nothing: no new resourceVersion, no event.
    if (desired == *current) return Served(info, current);
    if (info.sets_generation && desired.value("spec", json()) != current->value("spec", json())) {
      m["generation"] = cm.value("generation", int64_t{0}) + 1;
    }
    m["resourceVersion"] = std::to_string(++rv_);
    auto text = std::make_shared<const std::string>(desired.dump());
    if (text->size() > options_.max_object_bytes) {
      --rv_;  // nothing was written
      return TooLargeForStorage();
    }
    bool finish_delete = m.contains("deletionTimestamp") && !HasFinalizers(desired);
    result = std::make_shared<const json>(std::move(desired));
    it->second = result;
    CommitLocked(info, "MODIFIED", result, current, std::move(text));
    if (finish_delete) {
      DeleteLocked(info, Key(ns, name), result);
    } else {
      CrdWrittenLocked(info, *result);
    }
  }
  NotifyWrite();
  return Served(info, result);
}

ObjPtr Store::DeleteLocked(const ResourceInfo& info, const std::string& key, ObjPtr current) {
  if (info.resource == "namespaces") {
    // A namespace takes its contents with it (Kubernetes' namespace
    // controller does this asynchronously; here it is immediate).
    std::string ns = formats::StringOr(*current, "metadata.name");
    std::set<std::string> done;
    for (const ResourceInfo* r : registry_.All()) {
      if (!r->namespaced || !done.insert(r->storage).second) continue;
      Bucket& b = BucketFor(*r);
      std::string prefix = ns + "/";
      for (auto it = b.lower_bound(prefix); it != b.end() && it->first.rfind(prefix, 0) == 0;) {
        auto next = std::next(it);
        DeleteLocked(*r, it->first, it->second);
        it = next;
      }
    }
  }
  if (info.storage == kCrdStorage) {
    // A CRD takes its objects with it (apiextensions' customresourcecleanup
    // finalizer; here at once), then its resources are no longer served.
    std::string crd = formats::StringOr(*current, "metadata.name");
    auto infos = registry_.ForCrd(crd);
    if (!infos.empty()) {
      Bucket& b = BucketFor(*infos.front());
      while (!b.empty()) DeleteLocked(*infos.front(), b.begin()->first, b.begin()->second);
      objects_.erase(infos.front()->storage);
    }
    registry_.RemoveCrd(crd);
  }
  json gone = *current;
  gone["metadata"]["resourceVersion"] = std::to_string(++rv_);
  auto obj = std::make_shared<const json>(std::move(gone));
  BucketFor(info).erase(key);
  CommitLocked(info, "DELETED", obj, nullptr);
  return obj;
}

Expected<ObjPtr> Store::Delete(const ResourceInfo& info, const std::string& ns,
                               const std::string& name, const Preconditions& pre,
                               const Check& check) {
  ObjPtr result;
  {
    MutexLock lock(mu_);
    Bucket& bucket = BucketFor(info);
    std::string key = Key(ns, name);
    auto it = bucket.find(key);
    if (it == bucket.end()) return NotFound(info, name);
    ObjPtr current = it->second;
    const json& cm = Meta(*current);
    if (!pre.uid.empty() && pre.uid != cm.value("uid", "")) {
      return Conflict(info, name,
                      "Precondition failed: UID in precondition: " + pre.uid +
                          ", UID in object meta: " + cm.value("uid", ""));
    }
    if (!pre.resource_version.empty() && pre.resource_version != cm.value("resourceVersion", "")) {
      return Conflict(
          info, name,
          "Precondition failed: ResourceVersion in precondition: " + pre.resource_version +
              ", ResourceVersion in object meta: " + cm.value("resourceVersion", ""));
    }
    if (check) {
      if (auto err = check(*Served(info, current), nullptr)) return *err;
    }
    if (HasFinalizers(*current)) {
      if (cm.contains("deletionTimestamp")) return Served(info, current);
      json marked = *current;
      marked["metadata"]["deletionTimestamp"] = NowRfc3339(*options_.clock);
      marked["metadata"]["deletionGracePeriodSeconds"] = 0;
      marked["metadata"]["resourceVersion"] = std::to_string(++rv_);
      result = std::make_shared<const json>(std::move(marked));
      it->second = result;
      CommitLocked(info, "MODIFIED", result, current);
    } else {
      result = DeleteLocked(info, key, current);
    }
  }
  NotifyWrite();
  return Served(info, result);
}

Expected<std::vector<ObjPtr>> Store::DeleteCollection(const ResourceInfo& info,
                                                      const Filter& filter, const Check& check) {
  std::vector<std::pair<std::string, std::string>> targets;
  {
    MutexLock lock(mu_);
    for (const auto& [key, obj] : BucketFor(info)) {
      if (!filter.Matches(*obj)) continue;
      // Authorization is all-or-nothing, checked before anything goes.
      if (check) {
        if (auto err = check(*Served(info, obj), nullptr)) return *err;
      }
      targets.emplace_back(formats::StringOr(*obj, "metadata.namespace"),
                           formats::StringOr(*obj, "metadata.name"));
    }
  }
  std::vector<ObjPtr> deleted;
  for (const auto& [ns, name] : targets) {
    auto r = Delete(info, ns, name, {});
    if (r.ok()) deleted.push_back(r.value());
  }
  return deleted;
}

void Store::CommitLocked(const ResourceInfo& info, const std::string& type, ObjPtr obj, ObjPtr prev,
                         std::shared_ptr<const std::string> text) {
  Event ev{std::stoull(formats::StringOr(*obj, "metadata.resourceVersion")),
           &info,
           type,
           std::move(obj),
           std::move(prev),
           std::move(text)};
  DispatchLocked(ev);
  ev.obj_json.reset();  // the history keeps the object, not its text too
  history_.push_back(std::move(ev));
  while (history_.size() > options_.history) {
    compacted_rv_ = history_.front().rv;
    history_.pop_front();
  }
}

void Store::DispatchLocked(const Event& ev) {
  std::shared_ptr<const std::string> text = ev.obj_json;
  // The object's text in each converted version a watcher asked for.
  std::map<const ResourceInfo*, std::string> converted;
  for (const auto& w : watchers_) {
    if (w->info() != ev.info && w->info()->storage != ev.info->storage) continue;
    bool now = w->filter().Matches(*ev.obj);
    bool before = ev.prev && w->filter().Matches(*ev.prev);
    std::string type;
    if (ev.type == "MODIFIED") {
      // An object entering or leaving the selector looks like an add or a
      // delete to this watcher, as in Kubernetes' watch cache.
      if (now && before)
        type = "MODIFIED";
      else if (now)
        type = "ADDED";
      else if (before)
        type = "DELETED";
    } else if (now) {
      type = ev.type;
    }
    if (type.empty()) continue;
    if (w->info()->conversion != nullptr) {
      auto [it, fresh] = converted.try_emplace(w->info());
      if (fresh) it->second = Served(*w->info(), ev.obj)->dump();
      w->Push(EventLine(type, it->second));
      continue;
    }
    if (!text) text = std::make_shared<const std::string>(ev.obj->dump());
    w->Push(EventLine(type, *text));
  }
}

Expected<std::shared_ptr<Watcher>> Store::Watch(const WatchRequest& req) {
  auto w = std::make_shared<Watcher>(req.info, req.filter, req.bookmarks, options_.max_watch_queue,
                                     options_.max_watch_queue_bytes);
  MutexLock lock(mu_);
  uint64_t from = req.resource_version.value_or(0);
  if (req.send_initial_events || from == 0) {
    auto b = objects_.find(req.info->storage);
    if (b != objects_.end()) {
      for (const auto& [key, obj] : b->second) {
        if (req.filter.Matches(*obj)) {
          w->Push(EventLine("ADDED", Served(*req.info, obj)->dump()));
        }
      }
    }
    if (req.send_initial_events) {
      w->Push(EventLine("BOOKMARK", BookmarkObject(*req.info, rv_, true).dump()));
    }
  } else {
    if (from < compacted_rv_) {
      return Gone("too old resource version: " + std::to_string(from) + " (" +
                  std::to_string(compacted_rv_) + ")");
    }
    // Replaying through the same dispatch keeps the add/delete translation
    // for objects crossing the selector.
    std::vector<std::shared_ptr<Watcher>> saved;
    saved.swap(watchers_);
    watchers_.push_back(w);
    for (const auto& ev : history_) {
      if (ev.rv > from && ev.info->storage == req.info->storage) DispatchLocked(ev);
    }
    watchers_.swap(saved);
  }
  watchers_.push_back(w);
  return w;
}

void Store::Unwatch(const std::shared_ptr<Watcher>& w) {
  MutexLock lock(mu_);
  for (auto it = watchers_.begin(); it != watchers_.end(); ++it) {
    if (*it == w) {
      watchers_.erase(it);
      break;
    }
  }
}

void Store::Bookmark() {
  MutexLock lock(mu_);
  for (const auto& w : watchers_) {
    if (w->bookmarks())
      w->Push(EventLine("BOOKMARK", BookmarkObject(*w->info(), rv_, false).dump()));
  }
}

int Store::DropWatches() {
  std::vector<std::shared_ptr<Watcher>> ws;
  {
    MutexLock lock(mu_);
    ws.swap(watchers_);
  }
  for (const auto& w : ws) w->Close(/*dropped=*/true);
  return static_cast<int>(ws.size());
}

int Store::WatchCount() const {
  MutexLock lock(mu_);
  return static_cast<int>(watchers_.size());
}

json Store::Snapshot() const {
  MutexLock lock(mu_);
  json objs = json::array();
  // CRDs first, so a restore serves their resources before their objects.
  auto crds = objects_.find(std::string(kCrdStorage));
  if (crds != objects_.end()) {
    for (const auto& [key, obj] : crds->second) objs.push_back(*obj);
  }
  for (const auto& [storage, bucket] : objects_) {
    if (storage == kCrdStorage) continue;
    for (const auto& [key, obj] : bucket) objs.push_back(*obj);
  }
  return {{"kind", "DrahilApiServerSnapshot"}, {"resourceVersion", rv_}, {"objects", objs}};
}

Status Store::Restore(const json& snapshot) {
  if (!snapshot.is_object() || !snapshot.contains("objects") || !snapshot["objects"].is_array() ||
      !snapshot.contains("resourceVersion") || !snapshot["resourceVersion"].is_number_unsigned()) {
    return InvalidArgumentError("snapshot: expected {resourceVersion, objects[]}");
  }
  MutexLock lock(mu_);
  std::map<std::string, Bucket> objects;
  size_t index = 0;
  for (const auto& obj : snapshot["objects"]) {
    std::string where = "snapshot objects[" + std::to_string(index++) + "]";
    if (!obj.is_object()) return InvalidArgumentError(where + ": not an object");
    const ResourceInfo* info = nullptr;
    for (const ResourceInfo* r : registry_.All()) {
      if (r->kind == obj.value("kind", "") && r->GroupVersion() == obj.value("apiVersion", "")) {
        info = r;
      }
    }
    if (info == nullptr) {
      return InvalidArgumentError(where + ": unknown kind " + obj.value("kind", "") + " " +
                                  obj.value("apiVersion", ""));
    }
    std::string name = formats::StringOr(obj, "metadata.name");
    if (name.empty()) return InvalidArgumentError(where + ": metadata.name missing");
    // An object saved in a served version that is stored in another (an
    // events.k8s.io Event) is kept in the stored form.
    objects[info->storage][Key(formats::StringOr(obj, "metadata.namespace"), name)] =
        std::make_shared<const json>(Stored(*info, obj));
    if (info->storage == kCrdStorage) registry_.SetCrd(obj);
  }
  objects_ = std::move(objects);
  rv_ = snapshot["resourceVersion"].get<uint64_t>();
  compacted_rv_ = rv_;
  history_.clear();
  return OkStatus();
}

void Store::CrdWrittenLocked(const ResourceInfo& info, const json& obj) {
  if (info.storage != kCrdStorage) return;
  registry_.SetCrd(obj);
}

void Store::SetOnWrite(std::function<void()> fn) {
  MutexLock lock(mu_);
  on_write_ = std::move(fn);
}

void Store::NotifyWrite() {
  std::function<void()> fn;
  {
    MutexLock lock(mu_);
    fn = on_write_;
  }
  if (fn) fn();
}

void Store::EnsureNamespace(const std::string& name) {
  const ResourceInfo& info = *LookupResource("namespaces");
  if (Get(info, "", name).ok()) return;
  json ns = {{"apiVersion", "v1"},
             {"kind", "Namespace"},
             {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/metadata.name", name}}}}},
             {"spec", {{"finalizers", {"kubernetes"}}}},
             {"status", {{"phase", "Active"}}}};
  (void)Create(info, std::move(ns));
}

}  // namespace drahil::apiserver::internal
