// RestClient::Watch(): one watch request, streamed line by line to the
// callback. The stream runs on its own io_context, every read bounded by the
// idle timeout and the watch's deadline; a stop request posts a cancel to
// that context from any thread.
#include <array>
#include <exception>
#include <limits>

#include "drahil/kube/rest_client.hpp"
#include "rest_internal.hpp"

namespace drahil::kube {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using internal::Conn;
using internal::Transport;
using SteadyClock = std::chrono::steady_clock;

void AddWatchQuery(std::string& path, const WatchOptions& options) {
  internal::AddQuery(path, "watch", "true");
  if (!options.resource_version.empty())
    internal::AddQuery(path, "resourceVersion", options.resource_version);
  if (options.allow_bookmarks) internal::AddQuery(path, "allowWatchBookmarks", "true");
  if (options.send_initial_events) {
    internal::AddQuery(path, "sendInitialEvents", "true");
    internal::AddQuery(path, "resourceVersionMatch", "NotOlderThan");
  }
  if (!options.label_selector.empty())
    internal::AddQuery(path, "labelSelector", options.label_selector);
  if (!options.field_selector.empty())
    internal::AddQuery(path, "fieldSelector", options.field_selector);
  if (options.timeout_seconds > 0)
    internal::AddQuery(path, "timeoutSeconds", std::to_string(options.timeout_seconds));
}

// What one line of the stream does to the watch.
enum class LineResult {
  kContinue,
  kStop,  // the callback returned false
  kEnd,   // *result says how the watch ends
};

// HandleLine(): one non-blank line: parsed into an event, handed to the
// callback; an ERROR event ends the watch with its code.
LineResult HandleLine(const std::string& line, const std::string& what,
                      const WatchCallback& callback, Status* result) {
  WatchEvent ev;
  try {
    Object j = Object::parse(line);
    ev.type = j.value("type", "");
    if (j.contains("object")) ev.object = std::move(j["object"]);
  } catch (const std::exception& e) {
    *result = InternalError(what + ": malformed watch event: " + e.what());
    return LineResult::kEnd;
  }
  if (ev.type.empty()) {
    *result = InternalError(what + ": watch event without type");
    return LineResult::kEnd;
  }
  bool keep = callback(ev);
  if (ev.type == "ERROR") {
    std::string msg = ev.object.is_object() ? ev.object.value("message", "") : "";
    int c = ev.object.is_object() ? ev.object.value("code", 500) : 500;
    *result =
        Status(internal::CodeForHttp(c, ev.object.is_object() ? ev.object.value("reason", "") : ""),
               what + ": HTTP " + std::to_string(c) + " watch ERROR event: " + msg);
    return LineResult::kEnd;
  }
  return keep ? LineResult::kContinue : LineResult::kStop;
}

// FailureStatus(): how a watch whose stream failed ends. stopped: the
// callback or the caller asked it to stop.
Status FailureStatus(const std::exception_ptr& failure, bool stopped,
                     SteadyClock::time_point deadline, const std::string& what) {
  try {
    std::rethrow_exception(failure);
  } catch (const beast::system_error& e) {
    if (stopped) return OkStatus();
    if (e.code() == beast::error::timeout &&
        SteadyClock::now() >= deadline - std::chrono::milliseconds(5)) {
      return OkStatus();  // the watch's own deadline: a normal end
    }
    if (e.code() == http::error::end_of_stream || e.code() == net::error::eof ||
        e.code() == http::error::partial_message) {
      return OkStatus();  // the server ended the stream (clients then re-watch)
    }
    return internal::TransportError(e.code(), what);
  } catch (const std::exception& e) {
    return UnavailableError(what + ": " + e.what());
  }
}

// WatchStream: the state of one watch, from connect to the end of the stream.
class WatchStream {
 public:
  WatchStream(Transport& transport, std::string path, const WatchOptions& options,
              const WatchCallback& callback)
      : t_(transport),
        path_(std::move(path)),
        what_("WATCH " + path_),
        options_(options),
        callback_(callback),
        deadline_(SteadyClock::now() + options.deadline),
        op_timeout_(std::chrono::duration_cast<SteadyClock::duration>(transport.options.timeout)) {}

  // Run(): the whole watch, on this thread; stop cancels it from any thread.
  Status Run(const std::stop_token& stop) {
    std::exception_ptr failure;
    std::stop_callback on_stop(stop, [this] {
      net::post(ioc_, [this] {
        stopped_ = true;
        if (!std::holds_alternative<std::monostate>(conn_.s)) conn_.Tcp().cancel();
      });
    });
    net::co_spawn(ioc_, Stream(), [&](std::exception_ptr e) { failure = e; });
    ioc_.run();
    if (failure) {
      return FailureStatus(failure, stopped_ || stop.stop_requested(), deadline_, what_);
    }
    return result_;
  }

 private:
  // Stream(): connect, send the request, read the header, then the body.
  net::awaitable<void> Stream() {
    co_await t_.Connect(conn_, std::min(op_timeout_, SteadyClock::duration(options_.deadline)));
    // A stop that arrived while resolving had no socket to cancel.
    if (stopped_) co_return;
    http::request<http::string_body> req{http::verb::get, t_.endpoint.base_path + path_, 11};
    t_.SetHeaders(req, "", false);
    conn_.Tcp().expires_after(op_timeout_);
    // A watch streams indefinitely. (Not boost::none: Beast 1.74 compares a
    // Content-Length against the optional and refuses every body then.)
    parser_.body_limit(std::numeric_limits<std::uint64_t>::max());
    co_await t_.WithStream(conn_, [&](auto& s) -> net::awaitable<void> {
      co_await http::async_write(s, req, net::use_awaitable);
      co_await http::async_read_header(s, buf_, parser_, net::use_awaitable);
    });
    int code = static_cast<int>(parser_.get().result_int());
    if (code != 200) {
      co_await ReadError(code);
      co_return;
    }
    co_await ReadEvents();
  }

  // ReadSome(): the next bytes of the body into chunk_, bounded by the idle
  // timeout and the deadline.
  net::awaitable<size_t> ReadSome() {
    parser_.get().body().data = chunk_.data();
    parser_.get().body().size = chunk_.size();
    auto left = deadline_ - SteadyClock::now();
    auto idle = std::chrono::duration_cast<SteadyClock::duration>(options_.idle_timeout);
    conn_.Tcp().expires_after(
        std::max(SteadyClock::duration(std::chrono::milliseconds(1)), std::min(left, idle)));
    beast::error_code ec;
    co_await t_.WithStream(conn_, [&](auto& s) -> net::awaitable<void> {
      co_await http::async_read_some(s, buf_, parser_, net::redirect_error(net::use_awaitable, ec));
    });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) throw beast::system_error(ec);
    co_return chunk_.size() - parser_.get().body().size;
  }

  // ReadError(): an answer other than 200: its body (up to 1 MiB) as the error.
  net::awaitable<void> ReadError(int code) {
    HttpResponse r;
    r.code = code;
    r.reason = std::string(parser_.get().reason());
    while (!parser_.is_done() && r.body.size() < (1u << 20)) {
      size_t n = co_await ReadSome();
      r.body.append(chunk_.data(), n);
    }
    result_ = internal::ErrorFromResponse("WATCH", path_, r);
  }

  // ReadEvents(): one event per line until the server ends the stream, the
  // callback stops it, or an event ends it.
  net::awaitable<void> ReadEvents() {
    std::string pending;  // bytes of an incomplete line
    while (!stopped_) {
      if (parser_.is_done()) co_return;  // server ended the watch
      size_t n = co_await ReadSome();
      pending.append(chunk_.data(), n);
      size_t nl;
      while (!stopped_ && (nl = pending.find('\n')) != std::string::npos) {
        std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        LineResult r = HandleLine(line, what_, callback_, &result_);
        if (r == LineResult::kEnd) co_return;
        if (r == LineResult::kStop) stopped_ = true;
      }
    }
  }

  Transport& t_;
  const std::string path_;
  const std::string what_;
  const WatchOptions& options_;
  const WatchCallback& callback_;
  const SteadyClock::time_point deadline_;
  const SteadyClock::duration op_timeout_;
  net::io_context ioc_;
  Conn conn_{ioc_};
  Status result_;
  bool stopped_ = false;  // callback asked to stop, or stop requested (ioc thread only)
  beast::flat_buffer buf_;
  http::response_parser<http::buffer_body> parser_;
  std::array<char, 16384> chunk_{};
};

}  // namespace

Status RestClient::Watch(std::string_view resource, std::string_view ns,
                         const WatchOptions& options, const WatchCallback& callback,
                         std::stop_token stop) {
  DRAHIL_ASSIGN_OR_RETURN(std::string path, Path(resource, ns));
  AddWatchQuery(path, options);
  WatchStream stream(*impl_, std::move(path), options, callback);
  return stream.Run(stop);
}

}  // namespace drahil::kube
