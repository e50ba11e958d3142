// The HTTP side of the API server: a Detector per accepted connection tells
// a TLS ClientHello from plain HTTP, then one Session per connection reads
// requests (every read with a deadline, every parser with a body limit),
// applies injected faults, asks the Handler and writes the answer or streams
// a watch.
#include "apiserver_impl.hpp"
#include "http_request.hpp"
#include "protobuf.hpp"

namespace drahil::apiserver {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using internal::Classified;
using internal::Handler;
using internal::Request;
using internal::Response;
using internal::Watcher;

namespace {

bool IsWriteVerb(const std::string& verb) {
  return verb == "create" || verb == "update" || verb == "patch" || verb == "delete" ||
         verb == "deletecollection";
}

}  // namespace

// Sessions. One object per connection; Stream is beast::tcp_stream (plain
// HTTP) or beast::ssl_stream<beast::tcp_stream> (HTTPS), decided per
// connection by looking at the first bytes, so one port serves both.

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
    req_ = internal::FromHttp(std::move(msg));
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
    // With a data file a write is on disk before it is acknowledged, as
    // etcd's is: a server killed right after a 2xx loses nothing.
    if (!impl_.options.data_file.empty() && resp.status >= 200 && resp.status < 300 &&
        IsWriteVerb(cls_.route.verb)) {
      if (Status s = impl_.WriteData(); !s.ok()) impl_.log->error("{}", s.ToString());
    }
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
    e.message = resp.error;
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
    watch_res_->set(http::field::content_type, r.content_type);
    watch_protobuf_ = r.protobuf_watch;
    watch_res_->keep_alive(false);  // the connection ends with the watch
    watch_res_->chunked(true);
    watch_sr_.emplace(*watch_res_);
    Lowest().expires_never();
    // A read that completes only when the client goes away. Started before
    // any write deadline is set, so it has none.
    stream_.async_read_some(asio::buffer(scratch_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) self->watcher_->Close(/*dropped=*/true);
                            });
    writing_ = true;
    WriteDeadline();
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
  }

  // WriteDeadline(): the next write must make progress within
  // watch_write_timeout, else the stream closes the socket (the write then
  // fails with beast::error::timeout). The client-gone read is pending, so
  // only the write timer changes.
  void WriteDeadline() { Lowest().expires_after(impl_.options.watch_write_timeout); }

  void OnWatchWriteError(beast::error_code ec) {
    if (ec == beast::error::timeout) {
      impl_.log->info("closing watch {}: no write progress within {} ms ({} bytes pending)",
                      req_.path, impl_.options.watch_write_timeout.count(),
                      watcher_->PendingBytes());
    }
    Done();
  }

  // WriteChunk(): writes chunk_ from chunk_off_, one write_some at a time so
  // that each bit of progress renews the deadline.
  void WriteChunk() {
    WriteDeadline();
    stream_.async_write_some(asio::buffer(chunk_.data() + chunk_off_, chunk_.size() - chunk_off_),
                             [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                               if (ec) return self->OnWatchWriteError(ec);
                               self->chunk_off_ += n;
                               if (self->chunk_off_ < self->chunk_.size())
                                 return self->WriteChunk();
                               self->writing_ = false;
                               self->watcher_->Written(self->chunk_payload_);
                               // Keep no big buffer around between bursts.
                               if (self->chunk_.capacity() > (1u << 20))
                                 std::string().swap(self->chunk_);
                               self->Pump();
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
      // One HTTP/1.1 chunk: size in hex, CRLF, data, CRLF. The watcher's
      // byte account is of the event lines it queued; a protobuf watch
      // writes each as a length-prefixed frame instead.
      chunk_payload_ = 0;
      for (const auto& l : lines) chunk_payload_ += l.size();
      if (watch_protobuf_)
        for (auto& l : lines) l = internal::ProtobufWatchFrame(l);
      size_t body = 0;
      for (const auto& l : lines) body += l.size();
      char size[24];
      int len = std::snprintf(size, sizeof size, "%zx\r\n", body);
      chunk_.clear();
      chunk_.reserve(body + static_cast<size_t>(len) + 2);
      chunk_.append(size, static_cast<size_t>(len));
      for (auto& l : lines) {
        chunk_ += l;
        std::string().swap(l);
      }
      chunk_ += "\r\n";
      chunk_off_ = 0;
      writing_ = true;
      WriteChunk();
      return;
    }
    if (alive) return;
    finished_ = true;
    watch_timer_.cancel();
    if (watcher_->dropped()) return Done();
    writing_ = true;
    WriteDeadline();
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
  std::string chunk_;         // the chunk being written (framing included)
  size_t chunk_off_ = 0;      // how much of it is written
  size_t chunk_payload_ = 0;  // its event bytes (Watcher::Written)
  bool writing_ = false;
  bool finished_ = false;
  bool watch_protobuf_ = false;
};

using PlainSession = Session<beast::tcp_stream>;
using TlsSession = Session<beast::ssl_stream<beast::tcp_stream>>;

// Detector: reads just enough of a new connection to tell a TLS ClientHello
// from plain HTTP, then hands the socket to the right session.
class Detector : public std::enable_shared_from_this<Detector> {
 public:
  Detector(ApiServer::Impl& impl, tcp::socket socket)
      : impl_(impl),
        slot_(std::make_shared<ApiServer::Impl::ConnectionSlot>(impl)),
        stream_(std::move(socket)) {}
  void Run();

 private:
  ApiServer::Impl& impl_;
  std::shared_ptr<void> slot_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

void ApiServer::Impl::DoAccept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      // Out of file descriptors (EMFILE, ENFILE) or memory: accepting again
      // at once would spin; the pending connection waits in the backlog.
      log->warn("accept: {}; retrying in 100 ms", ec.message());
      accept_retry_timer.expires_after(std::chrono::milliseconds(100));
      accept_retry_timer.async_wait([this](beast::error_code tec) {
        if (!tec) DoAccept();
      });
      return;
    }
    if (connections >= connection_cap) {
      if (connections_refused++ % 1000 == 0) {
        log->warn("{} connections open (the cap); closing new ones ({} so far)", connections,
                  connections_refused);
      }
      beast::error_code ignored;
      s.close(ignored);
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
          s->slot = std::move(self->slot_);
          impl.sessions.insert(s);
          s->Start();
        } else {
          auto s = std::make_shared<PlainSession>(impl, std::move(self->stream_),
                                                  std::move(self->buffer_));
          s->slot = std::move(self->slot_);
          impl.sessions.insert(s);
          s->Start();
        }
      });
}

}  // namespace drahil::apiserver
