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
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "drahil/apiserver/apiserver.hpp"
#include "drahil/core/log.hpp"
#include "handler.hpp"
#include "store.hpp"

namespace drahil::apiserver {

// SessionBase: one HTTP connection (session.cpp), as the server sees it.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Close(): ends the connection now (server stop).
  virtual void Close() = 0;
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
        store(internal::Store::Options{options.watch_history, options.max_watch_queue,
                                       options.clock}),
        handler(store,
                internal::Handler::Config{options.git_version, options.admin_token,
                                          options.allow_anonymous, options.default_watch_timeout}),
        acceptor(ioc),
        bookmark_timer(ioc) {}

  ~Impl() { StopAll(); }

  // Life cycle, audit log, faults and persistence (apiserver.cpp).
  Status Listen();
  void Run();
  void StopAll();
  void ScheduleBookmarks();
  void Record(AuditEntry e);
  FaultMatch MatchFault(const std::string& verb, const std::string& path);
  void PersistLoop();
  Status WriteData();
  void MarkDirty();

  Options options;
  internal::Store store;
  internal::Handler handler;
  std::shared_ptr<spdlog::logger> log = drahil::log::Get("apiserver");
  std::string host;
  uint16_t port = 0;

  mutable std::mutex audit_mu;
  std::deque<AuditEntry> audit;

  struct Fault {
    uint64_t id;
    FaultRule rule;
    std::regex re;
    int hits = 0;
    int remaining = 0;
  };
  mutable std::mutex fault_mu;
  std::vector<Fault> faults;
  std::map<uint64_t, int> fault_hits;  // kept after removal so Hits() still answers
  uint64_t next_fault_id = 1;

  std::mutex persist_mu;
  std::condition_variable persist_cv;
  bool dirty = false;
  bool stopping = false;
  std::thread persist_thread;

  // Sessions alive, touched only on the I/O thread.
  std::set<std::shared_ptr<SessionBase>> sessions;
  std::optional<boost::asio::ssl::context> tls_ctx;  // set when options.tls
  std::string ca_pem;

  boost::asio::io_context ioc{1};
  boost::asio::ip::tcp::acceptor acceptor;
  boost::asio::steady_timer bookmark_timer;
  std::thread io_thread;
  std::atomic<bool> stopped{false};

 private:
  // DoAccept(): accepts the next connection for a Detector (session.cpp).
  void DoAccept();
};

}  // namespace drahil::apiserver

#endif  // DRAHIL_APISERVER_APISERVER_IMPL_HPP_INCLUDED
