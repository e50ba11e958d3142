#include <filesystem>

#include "drahil/core/file_util.hpp"
#include "drahil/reports/writers.hpp"

namespace drahil::reports {
namespace {

Status WriteOne(const std::string& path, const std::string& data) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  if (!parent.empty()) DRAHIL_RETURN_IF_ERROR_CTX(MakeDirs(parent), "write report " + path);
  return AtomicWriteFile(path, data).WithContext("write report " + path);
}

}  // namespace

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
