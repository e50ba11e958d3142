// The public ApiServer: a Boost.Beast HTTP/1.1 server on one I/O thread in
// front of Handler and Store. One Session object per connection; every read
// has a deadline and every parser a body limit.
#include "drahil/apiserver/apiserver.hpp"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <deque>
#include <regex>
#include <set>
#include <thread>

#include "drahil/core/file_util.hpp"
#include "drahil/core/log.hpp"
#include "drahil/formats/json_fields.hpp"
#include "handler.hpp"
#include "store.hpp"
#include "tls.hpp"
#include "validation.hpp"

namespace drahil::apiserver {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using internal::ApiError;
using internal::Classified;
using internal::Handler;
using internal::ObjPtr;
using internal::Request;
using internal::ResourceInfo;
using internal::Response;
using internal::Store;
using internal::Watcher;
using nlohmann::json;

namespace {

std::string PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < in.size() &&
               std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string RandomToken() {
  static const char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::string t = "drahil-admin-";
  for (int i = 0; i < 40; ++i) t.push_back(kHex[rd() % 16]);
  return t;
}

}  // namespace

// ---------------------------------------------------------------------------
// Impl

class SessionBase;

class ApiServer::Impl {
 public:
  struct FaultMatch {
    std::chrono::milliseconds latency{0};
    int code = 0;
    std::string message;
  };

  explicit Impl(Options o)
      : options(std::move(o)),
        store(Store::Options{options.watch_history, options.max_watch_queue, options.clock}),
        handler(store, Handler::Config{options.git_version, options.admin_token,
                                       options.allow_anonymous, options.default_watch_timeout}),
        acceptor(ioc),
        bookmark_timer(ioc) {}

  ~Impl() { StopAll(); }

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
  Store store;
  Handler handler;
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
  std::optional<asio::ssl::context> tls_ctx;  // set when options.tls
  std::string ca_pem;

  asio::io_context ioc{1};
  tcp::acceptor acceptor;
  asio::steady_timer bookmark_timer;
  std::thread io_thread;
  std::atomic<bool> stopped{false};

 private:
  void DoAccept();
};

// ---------------------------------------------------------------------------
// Sessions. One object per connection; Stream is beast::tcp_stream (plain
// HTTP) or beast::ssl_stream<beast::tcp_stream> (HTTPS), decided per
// connection by looking at the first bytes, so one port serves both.

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Close(): ends the connection now (server stop).
  virtual void Close() = 0;
};

template <typename Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  // Plain: takes the socket and the bytes the TLS detector already read.
  Session(ApiServer::Impl& impl, beast::tcp_stream&& stream,
          beast::flat_buffer&& buffer) requires std::is_same_v<Stream, beast::tcp_stream>
      : impl_(impl),
        stream_(std::move(stream)),
        buffer_(std::move(buffer)),
        timer_(stream_.get_executor()),
        watch_timer_(stream_.get_executor()) {}
  // TLS.
  Session(ApiServer::Impl& impl, beast::tcp_stream&& stream, asio::ssl::context& ctx,
          beast::flat_buffer&& buffer) requires(!std::is_same_v<Stream, beast::tcp_stream>)
      : impl_(impl),
        stream_(std::move(stream), ctx),
        buffer_(std::move(buffer)),
        timer_(stream_.get_executor()),
        watch_timer_(stream_.get_executor()) {}

  ~Session() override {
    if (watcher_) impl_.store.Unwatch(watcher_);
  }

  void Start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      DoRead();
    } else {
      Lowest().expires_after(impl_.options.read_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server, buffer_.data(),
                              [self = this->shared_from_this()](beast::error_code ec, size_t used) {
                                if (ec) {
                                  self->impl_.log->debug("TLS handshake: {}", ec.message());
                                  return self->Done();
                                }
                                self->buffer_.consume(used);
                                self->DoRead();
                              });
    }
  }

  void Close() override {
    beast::error_code ec;
    timer_.cancel();
    watch_timer_.cancel();
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().socket().close(ec);
  }

 private:
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void Done() {
    Close();
    if (watcher_) {
      impl_.store.Unwatch(watcher_);
      watcher_->SetWake(nullptr);
    }
    impl_.sessions.erase(this->shared_from_this());
  }

  void DoRead() {
    parser_.emplace();
    parser_->body_limit(impl_.options.max_body_bytes);
    parser_->header_limit(64 * 1024);
    Lowest().expires_after(impl_.options.read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted) return Done();
    if (ec == beast::error::timeout) {
      impl_.log->debug("closing connection: request not complete within {} ms",
                       impl_.options.read_timeout.count());
      return Done();
    }
    if (ec == http::error::body_limit) {
      return WriteSimple(Handler::ErrorResponse(internal::TooLarge()), /*drain=*/true);
    }
    if (ec) {
      if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
          ec != http::error::partial_message) {
        return WriteSimple(
            Handler::ErrorResponse(internal::BadRequest("malformed HTTP request: " + ec.message())),
            /*drain=*/true);
      }
      return Done();
    }
    start_ = impl_.options.clock->Now();
    wall_start_ = impl_.options.clock->WallNow();
    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    req_ = Request{};
    req_.method = std::string(msg.method_string());
    std::string_view target(msg.target().data(), msg.target().size());
    size_t q = target.find('?');
    req_.path = PercentDecode(target.substr(0, q), false);
    if (q != std::string_view::npos) {
      req_.query = std::string(target.substr(q + 1));
      std::string_view rest = req_.query;
      while (!rest.empty()) {
        size_t amp = rest.find('&');
        std::string_view kv = rest.substr(0, amp);
        size_t eq = kv.find('=');
        std::string k = PercentDecode(kv.substr(0, eq), true);
        std::string v = eq == std::string_view::npos ? "" : PercentDecode(kv.substr(eq + 1), true);
        if (!k.empty()) req_.params[k] = v;
        if (amp == std::string_view::npos) break;
        rest.remove_prefix(amp + 1);
      }
    }
    auto header = [&](http::field f) {
      auto it = msg.find(f);
      return it == msg.end() ? std::string() : std::string(it->value());
    };
    req_.content_type = header(http::field::content_type);
    req_.accept = header(http::field::accept);
    req_.authorization = header(http::field::authorization);
    req_.user_agent = header(http::field::user_agent);
    req_.body = std::move(msg.body());
    cls_ = impl_.handler.Classify(req_);
    auto fault = impl_.MatchFault(cls_.route.verb, req_.path);
    if (fault.latency.count() > 0) {
      Lowest().expires_never();
      timer_.expires_after(fault.latency);
      timer_.async_wait([self = this->shared_from_this(), fault](beast::error_code ec) {
        if (ec) return self->Done();
        self->Dispatch(fault);
      });
      return;
    }
    Dispatch(fault);
  }

  void Dispatch(const ApiServer::Impl::FaultMatch& fault) {
    if (fault.code < 0) {
      AuditEntry e;
      e.time = wall_start_;
      e.user = cls_.identity.user;
      e.verb = cls_.route.verb;
      e.method = req_.method;
      e.path = req_.path;
      e.query = req_.query;
      e.code = 0;  // nothing was sent
      impl_.Record(std::move(e));
      return Done();
    }
    Response resp = fault.code != 0
                        ? Handler::ErrorResponse(internal::WithCode(fault.code, fault.message))
                        : impl_.handler.Serve(req_, cls_);
    AuditEntry e;
    e.time = wall_start_;
    e.user = cls_.identity.user;
    e.verb = cls_.route.verb;
    e.method = req_.method;
    e.path = req_.path;
    e.query = req_.query;
    if (cls_.route.info != nullptr) {
      e.resource = cls_.route.info->resource +
                   (cls_.route.subresource.empty() ? "" : "/" + cls_.route.subresource);
    }
    e.ns = cls_.route.ns;
    e.name = cls_.route.name;
    e.code = resp.status;
    e.latency =
        std::chrono::duration_cast<std::chrono::microseconds>(impl_.options.clock->Now() - start_);
    e.user_agent = req_.user_agent;
    impl_.log->trace("{} {} {} -> {} ({} us) user={}", req_.method, req_.path, req_.query,
                     resp.status, e.latency.count(), e.user);
    impl_.Record(std::move(e));
    if (resp.watcher) return StartWatch(std::move(resp));
    WriteResponse(std::move(resp));
  }

  template <typename Body>
  void SetCommonHeaders(http::response<Body>& res) {
    res.set(http::field::server, "drahil-apiserver");
    res.set(http::field::cache_control, "no-cache, private");
    res.set("Audit-Id", std::to_string(++request_counter_));
  }

  void WriteResponse(Response r) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), parser_->get().version());
    SetCommonHeaders(*res);
    res->set(http::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res->insert(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    Lowest().expires_after(impl_.options.read_timeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !res->keep_alive()) return self->Done();
                        self->DoRead();
                      });
  }

  // WriteSimple(): answers a request that could not be read, then closes. With
  // drain the rest of what the client sends is read and dropped first, so the
  // client sees the answer instead of a connection reset.
  void WriteSimple(Response r, bool drain) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), 11);
    SetCommonHeaders(*res);
    res->set(http::field::content_type, r.content_type);
    res->body() = std::move(r.body);
    res->keep_alive(false);
    res->prepare_payload();
    AuditEntry e;
    e.time = impl_.options.clock->WallNow();
    e.user = "system:anonymous";
    e.verb = "invalid";
    e.code = r.status;
    impl_.Record(std::move(e));
    Lowest().expires_after(impl_.options.read_timeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res, drain](beast::error_code ec, size_t) {
                        if (ec || !drain) return self->Done();
                        beast::error_code ignored;
                        if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
                          self->Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
                        }
                        self->Lowest().expires_after(std::chrono::seconds(2));
                        self->Drain();
                      });
  }

  void Drain() {
    stream_.async_read_some(asio::buffer(scratch_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Done();
                              self->Drain();
                            });
  }

  // --- watch streaming ---------------------------------------------------------

  void StartWatch(Response r) {
    watcher_ = r.watcher;
    watch_res_.emplace(http::status::ok, parser_->get().version());
    SetCommonHeaders(*watch_res_);
    watch_res_->set(http::field::content_type, "application/json");
    watch_res_->keep_alive(false);  // the connection ends with the watch
    watch_res_->chunked(true);
    watch_sr_.emplace(*watch_res_);
    Lowest().expires_never();
    writing_ = true;
    http::async_write_header(stream_, *watch_sr_,
                             [self = this->shared_from_this()](beast::error_code ec, size_t) {
                               self->writing_ = false;
                               if (ec) return self->Done();
                               self->Pump();
                             });
    std::weak_ptr<Session> weak = this->shared_from_this();
    auto ex = stream_.get_executor();
    watcher_->SetWake([weak, ex] {
      asio::post(ex, [weak] {
        if (auto s = weak.lock()) s->Pump();
      });
    });
    watch_timer_.expires_after(r.watch_timeout);
    watch_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) self->watcher_->Close(/*dropped=*/false);
    });
    // A read that completes only when the client goes away.
    stream_.async_read_some(asio::buffer(scratch_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) self->watcher_->Close(/*dropped=*/true);
                            });
  }

  void Pump() {
    // A dropped watch (fault injection, or a client so slow its queue
    // overflowed) is cut at once, even with a write still pending: that write
    // may never finish if the client stopped reading.
    if (!finished_ && watcher_->dropped()) {
      finished_ = true;
      return Done();
    }
    if (writing_ || finished_) return;
    std::vector<std::string> lines;
    bool alive = watcher_->Drain(&lines);
    if (!lines.empty()) {
      chunk_.clear();
      for (auto& l : lines) chunk_ += l;
      writing_ = true;
      asio::async_write(stream_, http::make_chunk(asio::buffer(chunk_)),
                        [self = this->shared_from_this()](beast::error_code ec, size_t) {
                          self->writing_ = false;
                          if (ec) return self->Done();
                          self->Pump();
                        });
      return;
    }
    if (alive) return;
    finished_ = true;
    watch_timer_.cancel();
    if (watcher_->dropped()) return Done();
    writing_ = true;
    asio::async_write(
        stream_, http::make_chunk_last(),
        [self = this->shared_from_this()](beast::error_code, size_t) { self->Done(); });
  }

  ApiServer::Impl& impl_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  asio::steady_timer timer_;
  asio::steady_timer watch_timer_;
  Request req_;
  Classified cls_;
  bool keep_alive_ = false;
  Clock::TimePoint start_;
  std::chrono::system_clock::time_point wall_start_;
  uint64_t request_counter_ = 0;
  std::array<char, 4096> scratch_{};
  // Watch state.
  std::shared_ptr<Watcher> watcher_;
  std::optional<http::response<http::empty_body>> watch_res_;
  std::optional<http::response_serializer<http::empty_body>> watch_sr_;
  std::string chunk_;
  bool writing_ = false;
  bool finished_ = false;
};

using PlainSession = Session<beast::tcp_stream>;
using TlsSession = Session<beast::ssl_stream<beast::tcp_stream>>;

// Detector: reads just enough of a new connection to tell a TLS ClientHello
// from plain HTTP, then hands the socket to the right session.
class Detector : public std::enable_shared_from_this<Detector> {
 public:
  Detector(ApiServer::Impl& impl, tcp::socket socket) : impl_(impl), stream_(std::move(socket)) {}
  void Run();

 private:
  ApiServer::Impl& impl_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

// ---------------------------------------------------------------------------
// Impl methods

Status ApiServer::Impl::Listen() {
  std::string listen = options.listen;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos)
    return InvalidArgumentError("listen: want host:port, got " + listen);
  std::string h = listen.substr(0, colon);
  if (!h.empty() && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty() || h == "localhost") h = "127.0.0.1";
  int p = 0;
  try {
    p = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    return InvalidArgumentError("listen: bad port in " + listen);
  }
  if (p < 0 || p > 65535) return InvalidArgumentError("listen: bad port in " + listen);
  beast::error_code ec;
  auto addr = asio::ip::make_address(h, ec);
  if (ec) return InvalidArgumentError("listen: bad address " + h + ": " + ec.message());
  tcp::endpoint ep(addr, static_cast<uint16_t>(p));
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return UnavailableError("listen on " + listen + ": " + ec.message());
  host = h;
  port = acceptor.local_endpoint().port();
  handler.SetServerAddress(host + ":" + std::to_string(port));
  return OkStatus();
}

void ApiServer::Impl::DoAccept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      log->warn("accept: {}", ec.message());
    } else {
      beast::error_code ignored;
      s.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Detector>(*this, std::move(s))->Run();
    }
    DoAccept();
  });
}

void Detector::Run() {
  stream_.expires_after(impl_.options.read_timeout);
  beast::async_detect_ssl(
      stream_, buffer_, [self = shared_from_this()](beast::error_code ec, bool is_tls) {
        ApiServer::Impl& impl = self->impl_;
        if (ec) return;  // closed or timed out before a byte arrived
        if (is_tls && impl.tls_ctx) {
          auto s = std::make_shared<TlsSession>(impl, std::move(self->stream_), *impl.tls_ctx,
                                                std::move(self->buffer_));
          impl.sessions.insert(s);
          s->Start();
        } else {
          auto s = std::make_shared<PlainSession>(impl, std::move(self->stream_),
                                                  std::move(self->buffer_));
          impl.sessions.insert(s);
          s->Start();
        }
      });
}

void ApiServer::Impl::Run() {
  DoAccept();
  ScheduleBookmarks();
  io_thread = std::thread([this] {
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        // A handler threw: log and keep serving rather than die.
        log->error("I/O loop: {}", e.what());
      }
    }
  });
  if (!options.data_file.empty()) persist_thread = std::thread([this] { PersistLoop(); });
}

void ApiServer::Impl::ScheduleBookmarks() {
  bookmark_timer.expires_after(options.bookmark_interval);
  bookmark_timer.async_wait([this](beast::error_code ec) {
    if (ec) return;
    store.Bookmark();
    ScheduleBookmarks();
  });
}

void ApiServer::Impl::StopAll() {
  if (stopped.exchange(true)) return;
  asio::post(ioc, [this] {
    beast::error_code ec;
    acceptor.close(ec);
    bookmark_timer.cancel();
    auto copy = sessions;
    for (const auto& s : copy) s->Close();
    sessions.clear();
    ioc.stop();
  });
  if (io_thread.joinable()) io_thread.join();
  {
    std::lock_guard<std::mutex> lock(persist_mu);
    stopping = true;
  }
  persist_cv.notify_all();
  if (persist_thread.joinable()) persist_thread.join();
  if (!options.data_file.empty()) {
    Status s = WriteData();
    if (!s.ok()) log->error("final snapshot: {}", s.ToString());
  }
}

void ApiServer::Impl::Record(AuditEntry e) {
  std::lock_guard<std::mutex> lock(audit_mu);
  audit.push_back(std::move(e));
  while (audit.size() > options.audit_capacity) audit.pop_front();
}

ApiServer::Impl::FaultMatch ApiServer::Impl::MatchFault(const std::string& verb,
                                                        const std::string& path) {
  std::lock_guard<std::mutex> lock(fault_mu);
  for (auto& f : faults) {
    if (f.remaining == 0) continue;
    if (!f.rule.verb.empty() && f.rule.verb != verb) continue;
    if (!f.rule.path_regex.empty() && !std::regex_search(path, f.re)) continue;
    ++f.hits;
    fault_hits[f.id] = f.hits;
    if (f.remaining > 0) --f.remaining;
    return FaultMatch{f.rule.latency, f.rule.code, f.rule.message};
  }
  return {};
}

Status ApiServer::Impl::WriteData() {
  std::string text = store.Snapshot().dump();
  return AtomicWriteFile(options.data_file, text, 0600).WithContext("write apiserver data");
}

void ApiServer::Impl::MarkDirty() {
  {
    std::lock_guard<std::mutex> lock(persist_mu);
    dirty = true;
  }
  persist_cv.notify_all();
}

void ApiServer::Impl::PersistLoop() {
  std::unique_lock<std::mutex> lock(persist_mu);
  while (true) {
    persist_cv.wait(lock, [this] { return dirty || stopping; });
    if (stopping) return;  // StopAll writes the final snapshot
    // Coalesce a burst of writes into one snapshot.
    persist_cv.wait_for(lock, std::chrono::milliseconds(50), [this] { return stopping; });
    dirty = false;
    lock.unlock();
    Status s = WriteData();
    if (!s.ok()) log->error("{}", s.ToString());
    lock.lock();
  }
}

// ---------------------------------------------------------------------------
// FaultHandle

FaultHandle::FaultHandle(FaultHandle&& o) noexcept : server_(o.server_), id_(o.id_) {
  o.server_ = nullptr;
}

FaultHandle& FaultHandle::operator=(FaultHandle&& o) noexcept {
  if (this != &o) {
    Remove();
    server_ = o.server_;
    id_ = o.id_;
    o.server_ = nullptr;
  }
  return *this;
}

FaultHandle::~FaultHandle() { Remove(); }

void FaultHandle::Remove() {
  if (server_ != nullptr) server_->RemoveFault(id_);
  server_ = nullptr;
}

int FaultHandle::Hits() const { return server_ != nullptr ? server_->FaultHits(id_) : 0; }

// ---------------------------------------------------------------------------
// ApiServer

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ApiServer::~ApiServer() { Stop(); }

Result<std::unique_ptr<ApiServer>> ApiServer::Start(Options options) {
  if (options.admin_token.empty()) options.admin_token = RandomToken();
  auto impl = std::make_unique<Impl>(std::move(options));
  const Options& o = impl->options;
  if (!o.data_file.empty() && PathExists(o.data_file)) {
    auto text = ReadFile(o.data_file);
    if (!text.ok()) return text.status().WithContext("apiserver: load data");
    json snap = json::parse(*text, nullptr, false);
    if (snap.is_discarded()) {
      return InvalidArgumentError("apiserver: load data " + o.data_file + ": not valid JSON");
    }
    DRAHIL_RETURN_IF_ERROR_CTX(impl->store.Restore(snap), "apiserver: load " + o.data_file);
  }
  for (const auto& ns : o.default_namespaces) impl->store.EnsureNamespace(ns);
  DRAHIL_RETURN_IF_ERROR_CTX(impl->Listen(), "apiserver");
  if (o.tls) {
    DRAHIL_ASSIGN_OR_RETURN(auto tls, internal::GenerateTls(impl->host));
    auto& ctx = impl->tls_ctx.emplace(asio::ssl::context::tls_server);
    beast::error_code ec;
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1,
                    ec);
    if (!ec) ctx.use_certificate_chain(asio::buffer(tls.cert_pem), ec);
    if (!ec) ctx.use_private_key(asio::buffer(tls.key_pem), asio::ssl::context::pem, ec);
    if (ec) return InternalError("apiserver: TLS setup: " + ec.message());
    impl->ca_pem = tls.ca_pem;
  }
  Impl* raw = impl.get();
  if (!o.data_file.empty()) {
    impl->store.SetOnWrite([raw] { raw->MarkDirty(); });
    DRAHIL_RETURN_IF_ERROR(impl->WriteData());
  }
  impl->Run();
  impl->log->debug("API server listening on http://{}:{} (validation: {})", impl->host, impl->port,
                   internal::ValidatorName());
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

void ApiServer::Stop() {
  if (impl_) impl_->StopAll();
}

std::string ApiServer::host() const { return impl_->host; }
uint16_t ApiServer::port() const { return impl_->port; }
std::string ApiServer::url() const {
  return (impl_->tls_ctx ? "https://" : "http://") + impl_->host + ":" +
         std::to_string(impl_->port);
}
std::string ApiServer::http_url() const {
  return "http://" + impl_->host + ":" + std::to_string(impl_->port);
}
const std::string& ApiServer::ca_pem() const { return impl_->ca_pem; }
const std::string& ApiServer::admin_token() const { return impl_->options.admin_token; }

std::string ApiServer::IssueNodeToken(const std::string& node, const std::string& driver) {
  return impl_->handler.IssueNodeToken(node, driver);
}

Status ApiServer::WriteKubeconfig(const std::string& path, const std::string& token) const {
  const std::string& tok = token.empty() ? impl_->options.admin_token : token;
  std::string text =
      "apiVersion: v1\n"
      "kind: Config\n"
      "clusters:\n"
      "- name: drahil\n"
      "  cluster:\n"
      "    server: " +
      url() + "\n" +
      (impl_->ca_pem.empty()
           ? std::string()
           : "    certificate-authority-data: " + internal::Base64(impl_->ca_pem) + "\n") +
      "users:\n"
      "- name: drahil-user\n"
      "  user:\n"
      "    token: " +
      tok +
      "\n"
      "contexts:\n"
      "- name: drahil\n"
      "  context:\n"
      "    cluster: drahil\n"
      "    user: drahil-user\n"
      "    namespace: default\n"
      "current-context: drahil\n"
      "preferences: {}\n";
  return AtomicWriteFile(path, text, 0600).WithContext("write kubeconfig");
}

namespace {

Result<const ResourceInfo*> Lookup(const std::string& resource) {
  const ResourceInfo* info = internal::LookupResource(resource);
  if (info == nullptr) return InvalidArgumentError("apiserver: unknown resource " + resource);
  return info;
}

}  // namespace

Result<json> ApiServer::Get(const std::string& resource, const std::string& ns,
                            const std::string& name) const {
  DRAHIL_ASSIGN_OR_RETURN(const ResourceInfo* info, Lookup(resource));
  auto r = impl_->store.Get(*info, info->namespaced ? ns : "", name);
  if (!r.ok()) return r.error().ToStatus();
  return *r.value();
}

Result<std::vector<json>> ApiServer::List(const std::string& resource, const std::string& ns,
                                          const std::string& label_selector,
                                          const std::string& field_selector) const {
  DRAHIL_ASSIGN_OR_RETURN(const ResourceInfo* info, Lookup(resource));
  internal::Filter f;
  f.ns = info->namespaced ? ns : "";
  std::string err;
  auto ls = internal::LabelSelector::Parse(label_selector, &err);
  if (!ls) return InvalidArgumentError("labelSelector: " + err);
  auto fs = internal::FieldSelector::Parse(field_selector, *info, &err);
  if (!fs) return InvalidArgumentError("fieldSelector: " + err);
  f.labels = std::move(*ls);
  f.fields = std::move(*fs);
  auto r = impl_->store.List(*info, f, 0, "");
  if (!r.ok()) return r.error().ToStatus();
  std::vector<json> out;
  for (const auto& o : r.value().items) out.push_back(*o);
  return out;
}

Result<json> ApiServer::Create(const std::string& resource, json obj) {
  DRAHIL_ASSIGN_OR_RETURN(const ResourceInfo* info, Lookup(resource));
  if (!obj.is_object())
    return InvalidArgumentError("apiserver: create: object is not a JSON object");
  if (auto err = internal::CheckTypeMeta(*info, obj)) return err->ToStatus();
  json& m = obj["metadata"];
  if (!m.is_object()) m = json::object();
  if (info->namespaced) {
    if (m.value("namespace", "").empty()) m["namespace"] = "default";
  } else {
    m.erase("namespace");
  }
  for (const char* f : {"uid", "resourceVersion", "creationTimestamp", "generation"}) m.erase(f);
  internal::FillTimeAdded(*info, obj, nullptr, internal::NowRfc3339(*impl_->options.clock));
  auto causes = internal::ValidateCreate(*info, obj);
  if (!causes.empty()) return internal::Invalid(*info, m.value("name", ""), causes).ToStatus();
  auto r = impl_->store.Create(*info, std::move(obj));
  if (!r.ok()) return r.error().ToStatus();
  return *r.value();
}

Result<json> ApiServer::Update(const std::string& resource, json obj) {
  DRAHIL_ASSIGN_OR_RETURN(const ResourceInfo* info, Lookup(resource));
  if (!obj.is_object())
    return InvalidArgumentError("apiserver: update: object is not a JSON object");
  if (auto err = internal::CheckTypeMeta(*info, obj)) return err->ToStatus();
  std::string ns = info->namespaced ? formats::StringOr(obj, "metadata.namespace") : "";
  if (info->namespaced && ns.empty()) ns = "default";
  const std::string now = internal::NowRfc3339(*impl_->options.clock);
  auto r = impl_->store.Update(*info, ns, formats::StringOr(obj, "metadata.name"),
                               [&](const json& current, const json*) -> internal::Expected<json> {
                                 json d = obj;
                                 internal::FillTimeAdded(*info, d, &current, now);
                                 auto causes = internal::ValidateUpdate(*info, d, current);
                                 if (!causes.empty()) {
                                   return internal::Invalid(
                                       *info, formats::StringOr(obj, "metadata.name"), causes);
                                 }
                                 return d;
                               });
  if (!r.ok()) return r.error().ToStatus();
  return *r.value();
}

Result<json> ApiServer::UpdateStatus(const std::string& resource, json obj) {
  DRAHIL_ASSIGN_OR_RETURN(const ResourceInfo* info, Lookup(resource));
  if (!obj.is_object()) return InvalidArgumentError("apiserver: update status: not an object");
  std::string ns = info->namespaced ? formats::StringOr(obj, "metadata.namespace") : "";
  if (info->namespaced && ns.empty()) ns = "default";
  auto r = impl_->store.Update(*info, ns, formats::StringOr(obj, "metadata.name"),
                               [&](const json& current, const json*) -> internal::Expected<json> {
                                 json d = internal::Desired(*info, "status", current, obj);
                                 auto causes = internal::ValidateStatusUpdate(*info, d, current);
                                 if (!causes.empty()) {
                                   return internal::Invalid(
                                       *info, formats::StringOr(obj, "metadata.name"), causes);
                                 }
                                 return d;
                               });
  if (!r.ok()) return r.error().ToStatus();
  return *r.value();
}

Status ApiServer::Delete(const std::string& resource, const std::string& ns,
                         const std::string& name) {
  DRAHIL_ASSIGN_OR_RETURN(const ResourceInfo* info, Lookup(resource));
  auto r = impl_->store.Delete(*info, info->namespaced ? ns : "", name, {});
  if (!r.ok()) return r.error().ToStatus();
  return OkStatus();
}

uint64_t ApiServer::ResourceVersion() const { return impl_->store.ResourceVersion(); }

std::vector<AuditEntry> ApiServer::AuditLog() const {
  std::lock_guard<std::mutex> lock(impl_->audit_mu);
  return {impl_->audit.begin(), impl_->audit.end()};
}

void ApiServer::ClearAuditLog() {
  std::lock_guard<std::mutex> lock(impl_->audit_mu);
  impl_->audit.clear();
}

FaultHandle ApiServer::InjectFault(FaultRule rule) {
  std::lock_guard<std::mutex> lock(impl_->fault_mu);
  Impl::Fault f;
  f.id = impl_->next_fault_id++;
  try {
    f.re = std::regex(rule.path_regex.empty() ? std::string("") : rule.path_regex);
  } catch (const std::regex_error& e) {
    // An unusable pattern makes the rule inert instead of throwing.
    impl_->log->error("fault rule: bad path_regex '{}': {}", rule.path_regex, e.what());
    rule.times = 0;
  }
  f.remaining = rule.times < 0 ? -1 : rule.times;
  f.rule = std::move(rule);
  uint64_t id = f.id;
  impl_->faults.push_back(std::move(f));
  impl_->fault_hits[id] = 0;
  return FaultHandle(this, id);
}

void ApiServer::RemoveFault(uint64_t id) {
  std::lock_guard<std::mutex> lock(impl_->fault_mu);
  auto& v = impl_->faults;
  v.erase(std::remove_if(v.begin(), v.end(), [id](const Impl::Fault& f) { return f.id == id; }),
          v.end());
}

int ApiServer::FaultHits(uint64_t id) const {
  std::lock_guard<std::mutex> lock(impl_->fault_mu);
  auto it = impl_->fault_hits.find(id);
  return it == impl_->fault_hits.end() ? 0 : it->second;
}

int ApiServer::DropWatches() { return impl_->store.DropWatches(); }

int ApiServer::OpenWatches() const { return impl_->store.WatchCount(); }

Status ApiServer::Flush() {
  if (impl_->options.data_file.empty()) return OkStatus();
  return impl_->WriteData();
}

}  // namespace drahil::apiserver
