#include "drahil/probe_common/report.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iomanip>

#include "drahil/core/clock.hpp"

namespace drahil::probe_common {
namespace {

int Severity(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return 0;
    case Verdict::kSkip:
      return 1;
    case Verdict::kFail:
      return 2;
    case Verdict::kError:
      return 3;
  }
  return 3;
}

void Worsen(Verdict& current, Verdict to) {
  if (Severity(to) > Severity(current)) current = to;
}

// JSON has no NaN/Inf; a measurement that is not finite is a probe bug, but
// it must not make the document invalid.
nlohmann::json Number(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

std::string FormatValue(double v) {
  std::ostringstream os;
  if (v != 0 && (std::fabs(v) >= 1e7 || std::fabs(v) < 1e-3)) {
    os << std::setprecision(4) << v;
  } else {
    os << std::fixed << std::setprecision(std::fabs(v) >= 100 ? 1 : 3) << v;
  }
  return os.str();
}

}  // namespace

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "pass";
    case Verdict::kFail:
      return "fail";
    case Verdict::kSkip:
      return "skip";
    case Verdict::kError:
      return "error";
  }
  return "error";
}

void CheckResult::Fail(std::string text) {
  Worsen(verdict, Verdict::kFail);
  findings.push_back(std::move(text));
}
void CheckResult::Skip(std::string reason) {
  Worsen(verdict, Verdict::kSkip);
  findings.push_back("skipped: " + reason);
}
void CheckResult::Error(std::string text) {
  Worsen(verdict, Verdict::kError);
  findings.push_back(std::move(text));
}
void CheckResult::ErrorFrom(const Status& s, std::string_view doing) {
  Error(std::string(doing) + ": " + s.ToString());
}

ProbeReport::ProbeReport(std::string probe, std::string backend)
    : probe_(std::move(probe)),
      backend_(std::move(backend)),
      started_at_(FormatRfc3339(std::chrono::system_clock::now())),
      start_(std::chrono::steady_clock::now()) {}

CheckResult& ProbeReport::AddCheck(std::string name) {
  checks_.emplace_back();
  checks_.back().name = std::move(name);
  return checks_.back();
}

Verdict OverallVerdict(const std::deque<CheckResult>& checks) {
  Verdict v = Verdict::kPass;
  bool failed = false;
  for (const auto& c : checks) {
    if (c.verdict == Verdict::kFail) failed = true;
    if (c.verdict == Verdict::kError || c.verdict == Verdict::kSkip) v = Verdict::kError;
  }
  return failed ? Verdict::kFail : v;
}

int ExitCodeFor(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return kExitPass;
    case Verdict::kFail:
      return kExitCheckFailed;
    case Verdict::kSkip:
    case Verdict::kError:
      return kExitEnvironment;
  }
  return kExitEnvironment;
}

int ProbeReport::Finish() {
  duration_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  verdict_ = OverallVerdict(checks_);
  if (!fatal_.empty() || checks_.empty()) verdict_ = Verdict::kError;
  exit_code_ = ExitCodeFor(verdict_);
  return exit_code_;
}

nlohmann::json ProbeReport::ToJson() const {
  nlohmann::json j;
  j["schema"] = kSchemaId;
  j["probe"] = probe_;
  j["backend"] = backend_;
  j["started_at"] = started_at_;
  j["duration_s"] = Number(duration_s_);
  j["verdict"] = VerdictName(verdict_);
  j["exit_code"] = exit_code_;
  if (!fatal_.empty()) j["error"] = fatal_;
  j["parameters"] = parameters_;
  j["devices"] = devices_;
  auto& checks = j["checks"] = nlohmann::json::array();
  for (const auto& c : checks_) {
    nlohmann::json cj;
    cj["name"] = c.name;
    cj["verdict"] = VerdictName(c.verdict);
    cj["summary"] = c.summary;
    cj["duration_s"] = Number(c.duration_s);
    cj["findings"] = c.findings;
    auto& ms = cj["measurements"] = nlohmann::json::array();
    for (const auto& m : c.measurements) {
      ms.push_back({{"name", m.name}, {"value", Number(m.value)}, {"unit", m.unit}});
    }
    cj["details"] = c.details;
    checks.push_back(std::move(cj));
  }
  return j;
}

void ProbeReport::PrintSummary(std::ostream& out) const {
  out << "drahil-probe-" << probe_ << " (" << backend_ << "): " << VerdictName(verdict_) << " in "
      << FormatValue(duration_s_) << " s\n";
  if (!fatal_.empty()) out << "  error: " << fatal_ << "\n";
  for (const auto& c : checks_) {
    out << "  [" << VerdictName(c.verdict) << "] " << c.name;
    if (!c.summary.empty()) out << ": " << c.summary;
    out << "\n";
    for (const auto& m : c.measurements) {
      out << "      " << m.name << " = " << FormatValue(m.value) << " " << m.unit << "\n";
    }
    for (const auto& f : c.findings) out << "      - " << f << "\n";
  }
}

Result<int> ResolveResultFd(int flag_fd) {
  int fd = flag_fd;
  if (fd < 0) {
    const char* env = std::getenv("DRAHIL_RESULT_FD");
    if (env == nullptr || *env == '\0') return 1;
    char* end = nullptr;
    long v = std::strtol(env, &end, 10);
    if (*end != '\0' || v < 0 || v > 65535) {
      return InvalidArgumentError("DRAHIL_RESULT_FD=\"" + std::string(env) +
                                  "\" is not a descriptor number");
    }
    fd = static_cast<int>(v);
  }
  if (::fcntl(fd, F_GETFD) < 0) {
    return ErrnoError(errno, "result descriptor " + std::to_string(fd));
  }
  return fd;
}

Status WriteReport(const ProbeReport& report, int fd) {
  std::string text = report.ToJson().dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  text.push_back('\n');
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "write result to fd " + std::to_string(fd));
    }
    off += static_cast<size_t>(n);
  }
  return OkStatus();
}

}  // namespace drahil::probe_common
