#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <vector>

#include "drahil/core/file_util.hpp"
#include "drahil/reports/writers.hpp"

namespace drahil::reports {
namespace {

Status WriteOne(const std::string& path, const std::string& data) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  if (!parent.empty()) DRAHIL_RETURN_IF_ERROR_CTX(MakeDirs(parent), "write report " + path);
  return AtomicWriteFile(path, data).WithContext("write report " + path);
}

// CheckOne(): what WriteOne() needs, tried without writing the report: the
// parent made, a temporary file created next to path, 64 KiB written to it
// (a full disk shows here, before any case ran, not after all of them) and
// removed.
Status CheckOne(const std::string& path) {
  std::filesystem::path p(path);
  std::string parent = p.parent_path().string();
  if (!parent.empty()) DRAHIL_RETURN_IF_ERROR_CTX(MakeDirs(parent), "report " + path);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return InvalidArgumentError("report " + path + " is a directory");
  }
  std::string templ =
      (parent.empty() ? std::string(".") : parent) + "/." + p.filename().string() + ".check-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  int fd = ::mkostemp(buf.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "report " + path + ": cannot create a file in " + parent);
  static const std::vector<char> kZeros(64 * 1024, '\0');
  size_t done = 0;
  int err = 0;
  while (done < kZeros.size()) {
    ssize_t n = ::write(fd, kZeros.data() + done, kZeros.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : ENOSPC;
      break;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  ::unlink(buf.data());
  if (err != 0) {
    return ErrnoError(err, "report " + path + ": a 64 KiB test write in " +
                               (parent.empty() ? std::string(".") : parent) + " failed");
  }
  return OkStatus();
}

}  // namespace

Status CheckReportPaths(const WriteOptions& opts) {
  std::string errors;
  Code first = Code::kOk;
  for (const std::string* path : {&opts.junit, &opts.json, &opts.html}) {
    if (path->empty()) continue;
    Status s = CheckOne(*path);
    if (s.ok()) continue;
    if (first == Code::kOk) first = s.code();
    errors += (errors.empty() ? "" : "; ") + s.message();
  }
  if (!errors.empty()) return Status(first, errors);
  return OkStatus();
}

Status WriteReports(const RunReport& run, const WriteOptions& opts) {
  std::string errors;
  Code first = Code::kOk;
  auto one = [&](const std::string& path, auto render) {
    if (path.empty()) return;
    Status s = WriteOne(path, render());
    if (s.ok()) return;
    if (first == Code::kOk) first = s.code();
    errors += (errors.empty() ? "" : "; ") + s.message();
  };
  one(opts.junit, [&] { return RenderJUnit(run, opts.render); });
  one(opts.json, [&] { return RenderJson(run); });
  one(opts.html, [&] { return RenderHtml(run, opts.render); });
  if (!errors.empty()) return Status(first, errors);
  return OkStatus();
}

}  // namespace drahil::reports
