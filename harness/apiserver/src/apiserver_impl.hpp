// File: apiserver_impl.hpp (private)
//
// ApiServer::Impl: the server's state, shared by the public API and server
// loops (apiserver.cpp) and the HTTP sessions (session.cpp): the store and
// the handler, the listening socket and the one I/O thread, the audit log,
// the injected faults and the persistence thread.
//
// Thread-safety: the sessions, the acceptor and the timers are touched only
// on the I/O thread. audit_mu guards the audit log, fault_mu the faults,
// persist_mu the persistence flags.
#ifndef DRAHIL_APISERVER_APISERVER_IMPL_HPP_INCLUDED
#define DRAHIL_APISERVER_APISERVER_IMPL_HPP_INCLUDED

// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without
// including it.
#include <utility>
// Asio and Beast for the server and its sessions: every source of the server
// takes them from here, after <utility>.
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "drahil/apiserver/apiserver.hpp"
#include "drahil/core/log.hpp"
#include "drahil/core/mutex.hpp"
#include "handler.hpp"
#include "store.hpp"

namespace drahil::apiserver {

// SessionBase: one HTTP connection (session.cpp), as the server sees it.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Close(): ends the connection now (server stop).
  virtual void Close() = 0;
  // The connection's place in ApiServer::Impl::connections.
  std::shared_ptr<void> slot;
};

class ApiServer::Impl {
 public:
  struct FaultMatch {
    std::chrono::milliseconds latency{0};
    int code = 0;
    std::string message;
  };

  explicit Impl(Options o)
      : options(std::move(o)),
        store(internal::Store::Options{.history = options.watch_history,
                                       .max_watch_queue = options.max_watch_queue,
                                       .clock = options.clock,
                                       .max_watch_queue_bytes = options.max_watch_queue_bytes}),
        handler(store,
                internal::Handler::Config{
                    options.git_version.empty() ? options.gates.version().GitVersion() + "-drahil"
                                                : options.git_version,
                    options.admin_token, options.allow_anonymous, options.default_watch_timeout,
                    options.gates, [this](DroppedField d) { RecordDrop(std::move(d)); },
                    options.driver_policy}),
        acceptor(ioc),
        bookmark_timer(ioc) {}

  ~Impl() { StopAll(); }

  // Life cycle, audit log, faults and persistence (apiserver.cpp).
  Status Listen();
  void Run();
  void StopAll() DRAHIL_EXCLUDES(persist_mu);
  void ScheduleBookmarks();
  void Record(AuditEntry e) DRAHIL_EXCLUDES(audit_mu);
  void RecordDrop(DroppedField d) DRAHIL_EXCLUDES(dropped_mu);
  FaultMatch MatchFault(const std::string& verb, const std::string& path) DRAHIL_EXCLUDES(fault_mu);
  void PersistLoop() DRAHIL_EXCLUDES(persist_mu);
  // WriteData(): the store's snapshot to options.data_file, now. Writers take
  // turns (persist_write_mu), each snapshotting under the lock, so a newer
  // snapshot is never overwritten by an older one.
  Status WriteData() DRAHIL_EXCLUDES(persist_write_mu);
  void MarkDirty() DRAHIL_EXCLUDES(persist_mu);

  Options options;
  internal::Store store;
  internal::Handler handler;
  std::shared_ptr<spdlog::logger> log = drahil::log::Get("apiserver");
  std::string host;
  uint16_t port = 0;

  mutable Mutex audit_mu;
  std::deque<AuditEntry> audit DRAHIL_GUARDED_BY(audit_mu);

  mutable Mutex dropped_mu;
  std::deque<DroppedField> dropped DRAHIL_GUARDED_BY(dropped_mu);

  struct Fault {
    uint64_t id;
    FaultRule rule;
    std::regex re;
    int hits = 0;
    int remaining = 0;
  };
  mutable Mutex fault_mu;
  std::vector<Fault> faults DRAHIL_GUARDED_BY(fault_mu);
  // Kept after removal so Hits() still answers.
  std::map<uint64_t, int> fault_hits DRAHIL_GUARDED_BY(fault_mu);
  uint64_t next_fault_id DRAHIL_GUARDED_BY(fault_mu) = 1;

  Mutex persist_write_mu;
  Mutex persist_mu;
  CondVar persist_cv;
  bool dirty DRAHIL_GUARDED_BY(persist_mu) = false;
  bool stopping DRAHIL_GUARDED_BY(persist_mu) = false;
  std::thread persist_thread;

  // Open connections (detectors and sessions), the cap on them
  // (Options::max_connections resolved at start) and how many were closed at
  // accept for it; touched only on the I/O thread. Declared before the
  // sessions, which count down here when they go.
  int connections = 0;
  int connection_cap = 0;
  uint64_t connections_refused = 0;
  // Sessions alive, touched only on the I/O thread.
  std::set<std::shared_ptr<SessionBase>> sessions;
  // ConnectionSlot: one open connection in `connections` from its accept
  // until the last of its detector and session is gone.
  struct ConnectionSlot {
    explicit ConnectionSlot(Impl& i) : impl(i) { ++impl.connections; }
    ~ConnectionSlot() { --impl.connections; }
    ConnectionSlot(const ConnectionSlot&) = delete;
    ConnectionSlot& operator=(const ConnectionSlot&) = delete;
    Impl& impl;
  };
  std::optional<boost::asio::ssl::context> tls_ctx;  // set when options.tls
  std::string ca_pem;

  boost::asio::io_context ioc{1};
  boost::asio::ip::tcp::acceptor acceptor;
  boost::asio::steady_timer bookmark_timer;
  boost::asio::steady_timer accept_retry_timer{ioc};
  std::thread io_thread;
  std::atomic<bool> stopped{false};

 private:
  // DoAccept(): accepts the next connection for a Detector (session.cpp).
  void DoAccept();
};

}  // namespace drahil::apiserver

#endif  // DRAHIL_APISERVER_APISERVER_IMPL_HPP_INCLUDED
