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
// parent made, a temporary file created (and removed) next to path.
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
  ::close(fd);
  ::unlink(buf.data());
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
