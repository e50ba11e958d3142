// What stalled watchers may cost the API server: clients that open a watch
// and never read are cut off by the per-watcher byte cap
// (max_watch_queue_bytes) and the write deadline (watch_write_timeout),
// while a client that reads keeps every event; memory stays bounded.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include "drahil/apiserver/apiserver.hpp"
#include "drahil/testing/testing.hpp"
#include "test_client.hpp"

using drahil::apiserver::ApiServer;
using drahil::apiserver::testing::WatchStream;
using nlohmann::json;
using namespace std::chrono_literals;

#if defined(__SANITIZE_ADDRESS__)
constexpr double kAsanQuarantineMb = 256;
#else
constexpr double kAsanQuarantineMb = 0;
#endif

namespace {

const std::string kConfigMaps = "/api/v1/namespaces/default/configmaps";

std::unique_ptr<ApiServer> StartServer(ApiServer::Options opts) {
  opts.tls = false;
  auto s = ApiServer::Start(std::move(opts));
  REQUIRE_OK(s);
  return std::move(*s);
}

// RssBytes(): this process's resident set (/proc/self/status VmRSS); the
// server runs in it.
size_t RssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// StalledWatch: a raw socket with a tiny receive buffer that sends a watch
// request and never reads.
class StalledWatch {
 public:
  StalledWatch(uint16_t port, const std::string& target, const std::string& token) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                      token + "\r\n\r\n";
    ok_ = ok_ && ::send(fd_, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size());
  }
  ~StalledWatch() { ::close(fd_); }
  StalledWatch(const StalledWatch&) = delete;
  StalledWatch& operator=(const StalledWatch&) = delete;
  bool ok() const { return ok_; }
  // Closed(): reads what is buffered until the server's close shows (EOF or
  // reset) or the time is up.
  bool Closed(std::chrono::milliseconds within) {
    timeval tv{0, 200 * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    auto deadline = std::chrono::steady_clock::now() + within;
    char buf[65536];
    while (std::chrono::steady_clock::now() < deadline) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return true;
    }
    return false;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

void WaitForWatches(const ApiServer& server, int n) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (server.OpenWatches() < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE(server.OpenWatches() == n);
}

json ConfigMap(const std::string& name, const std::string& blob) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"data", {{"blob", blob}}}};
}

}  // namespace

TEST_CASE(
    "ApiServer watch limits: 4 stalled watchers and 100 MB of writes: the stalled are cut, a "
    "reader gets every event, memory stays bounded",
    "[apiserver][watch][robustness]") {
  ApiServer::Options opts;
  // The history is not what is measured here: keep it short.
  opts.watch_history = 16;
  auto server = StartServer(opts);
  auto created = server->Create("configmaps", ConfigMap("big", "x"));
  REQUIRE_OK(created);
  const std::string from = (*created)["metadata"]["resourceVersion"];
  const std::string target = kConfigMaps + "?watch=true&resourceVersion=" + from;

  std::vector<std::unique_ptr<StalledWatch>> stalled;
  for (int i = 0; i < 4; ++i) {
    stalled.push_back(
        std::make_unique<StalledWatch>(server->port(), target, server->admin_token()));
    REQUIRE(stalled.back()->ok());
  }
  WaitForWatches(*server, 4);

  constexpr size_t kBlob = 900 * 1000;  // under ConfigMap's 1 MiB
#if defined(__SANITIZE_THREAD__)
  // Under TSan every byte the server encodes and the reader parses costs
  // ~10x: 112 updates took over 120 s on a loaded 2-core CI machine. 40
  // updates (36 MB) still put each stalled watcher past its 16 MiB cap, and
  // the memory bound below is not checked under TSan.
  constexpr int kUpdates = 40;
#else
  constexpr int kUpdates = 112;  // 112 x 900 kB ~ 100 MB
#endif
  std::atomic<int> received{0};
  auto reader = std::async(std::launch::async, [&] {
    WatchStream ws(server->port(), target, server->admin_token());
    std::string error;
    int last = -1;
    while (received < kUpdates) {
      auto ev = ws.Next(20s);
      if (!ev) return std::string("stream ended after ") + std::to_string(received.load());
      if ((*ev)["type"] != "MODIFIED") continue;
      int seq = std::stoi((*ev)["object"]["data"]["blob"].get<std::string>().substr(0, 8));
      if (seq != last + 1) return "event " + std::to_string(seq) + " after " + std::to_string(last);
      last = seq;
      ++received;
    }
    return std::string();
  });
  WaitForWatches(*server, 5);

  const size_t rss_before = RssBytes();
  size_t rss_peak = rss_before;
  json obj = *created;
  std::string blob(kBlob, 'x');
  for (int i = 0; i < kUpdates; ++i) {
    // A reading client keeps up: the writer stays a few events ahead of it.
    while (i - received.load() > 8 && reader.wait_for(0s) != std::future_status::ready) {
      std::this_thread::sleep_for(1ms);
    }
    char seq[16];
    std::snprintf(seq, sizeof seq, "%08d", i);
    blob.replace(0, 8, seq);
    obj["data"]["blob"] = blob;
    obj["metadata"].erase("resourceVersion");
    auto r = server->Update("configmaps", obj);
    REQUIRE_OK(r);
    rss_peak = std::max(rss_peak, RssBytes());
  }
  std::string reader_error = reader.get();
  rss_peak = std::max(rss_peak, RssBytes());
  CHECK(reader_error.empty());
  CHECK(received == kUpdates);
  // Every stalled watcher was cut: its connection closes.
  for (auto& s : stalled) CHECK(s->Closed(10s));
  CHECK(server->OpenWatches() <= 1);  // the reader's, if still open
  const double growth_mb = static_cast<double>(rss_peak - rss_before) / 1e6;
  INFO("RSS before " << rss_before / 1000000 << " MB, peak growth " << growth_mb << " MB");
  // Unbounded queues held the whole ~100 MB once per stalled watcher (and the
  // issue measured ~1 GB); the cap is 16 MiB each.
  // Under ASan freed memory waits in its quarantine (quarantine_size_mb,
  // 256 by default) before it is reused, which RSS shows on top.
#if !defined(__SANITIZE_THREAD__)  // TSan's shadow memory grows with every byte touched
  CHECK(growth_mb < 250 + kAsanQuarantineMb);
#endif
  WARN("RSS growth with 4 stalled watchers over " << kUpdates * kBlob / 1000000
                                                  << " MB of writes: " << growth_mb << " MB");
}

TEST_CASE("ApiServer watch limits: a watch whose writes make no progress is closed",
          "[apiserver][watch][robustness]") {
  ApiServer::Options opts;
  opts.watch_write_timeout = 300ms;
  auto server = StartServer(opts);
  auto created = server->Create("configmaps", ConfigMap("big", "x"));
  REQUIRE_OK(created);
  const std::string from = (*created)["metadata"]["resourceVersion"];
  StalledWatch stalled(server->port(), kConfigMaps + "?watch=true&resourceVersion=" + from,
                       server->admin_token());
  REQUIRE(stalled.ok());
  WaitForWatches(*server, 1);
  // Far below the byte cap, but more than the TCP buffers take.
  json obj = *created;
  for (int i = 0; i < 12; ++i) {
    obj["data"]["blob"] = std::string(900 * 1000, static_cast<char>('a' + i));
    obj["metadata"].erase("resourceVersion");
    REQUIRE_OK(server->Update("configmaps", obj));
  }
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (server->OpenWatches() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(server->OpenWatches() == 0);
  CHECK(stalled.Closed(5s));
}
