// drahil-sandbox-init: event lines to Sandbox::Run() and messages between
// stage 1 and the init.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "init_internal.hpp"

namespace drahil::sandbox::internal {

using Json = nlohmann::json;

void WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

void Emit(const Json& j) {
  WriteAll(kEventFd, j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n");
}
void Log(const std::string& msg) { Emit({{"ev", "log"}, {"msg", msg}}); }
void EmitError(const Status& s) {
  Emit({{"ev", "error"}, {"code", static_cast<int>(s.code())}, {"msg", s.message()}});
}

Status Errno(Code code, const std::string& what) {
  return Status(code, what + ": " + std::strerror(errno));
}

bool SendMsg(int sock, const std::string& m) {
  return ::send(sock, m.data(), m.size(), MSG_NOSIGNAL) >= 0;
}

std::string RecvMsg(int sock) {
  char buf[256];
  ssize_t n;
  do {
    n = ::recv(sock, buf, sizeof(buf), 0);
  } while (n < 0 && errno == EINTR);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace drahil::sandbox::internal
