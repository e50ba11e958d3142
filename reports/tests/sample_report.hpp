// A fixed RunReport used by the golden, schema and HTML tests.
#ifndef DRAHIL_REPORTS_TESTS_SAMPLE_REPORT_HPP_INCLUDED
#define DRAHIL_REPORTS_TESTS_SAMPLE_REPORT_HPP_INCLUDED

#include <chrono>

#include "drahil/reports/model.hpp"

namespace drahil::reports::testing {

inline RunReport SampleReport() {
  using std::chrono::seconds;
  RunReport r;
  r.driver_name = "gpu.drahil.dev";
  r.driver_version = "0.1.0";
  r.node = "node-a";
  r.hardware = "emulated: 2x GPU";
  r.started = std::chrono::system_clock::time_point(seconds(1782907200));  // 2026-07-01T12:00:00Z
  r.duration_s = 4.25;

  SuiteResult s;
  s.name = "prepare-basics";
  s.file = "suites/prepare.yaml";
  s.timestamp = r.started;
  s.hostname = "ci-host";
  s.duration_s = 3.5;

  CaseResult pass;
  pass.id = "prepare-single-gpu";
  pass.title = "One GPU claim is prepared and its CDI device exists";
  pass.feature = "kep-4381";
  pass.tags = {"kep-4381", "prepare"};
  pass.duration_s = 1.2345;
  pass.properties = {{"device", "GPU-0"}};
  pass.calls = {{0.012, "grpc", "/DRAPlugin/NodePrepareResources", "OK", 3.25, "claims=1"},
                {0.5, "grpc", "/DRAPlugin/NodeUnprepareResources", "OK", 1.5, ""}};
  pass.measurements = {{"prepare_latency", 3.25, "ms", "GPU-0", {}},
                       {"probe_bandwidth", 410.5, "GB/s", "GPU-0", {{"copy", "d2d"}}},
                       {"probe_bandwidth", 205.0, "GB/s", "GPU-1", {}}};

  CaseResult fail;
  fail.id = "isolation-one-device";
  fail.title = "A container sees only its allocated GPU";
  fail.feature = "isolation";
  fail.verdict = Verdict::kFail;
  fail.message = "probe saw 2 GPUs, expected 1\nvisible: GPU-0, GPU-1";
  fail.type = "ProbeVerdict";
  fail.duration_s = 0.75;
  fail.calls = {{0.1, "probe", "drahil-probe-gpu --list", "exit 1", 120, "saw GPU-1"}};

  CaseResult err;
  err.id = "health-xid";
  err.feature = "kep-4680";
  err.verdict = Verdict::kError;
  err.message = "step inject: needs harness/faults (not built)";
  err.type = "MissingModule";

  CaseResult skip;
  skip.id = "mig-partitions";
  skip.feature = "partitioning";
  skip.verdict = Verdict::kSkip;
  skip.message = "driver does not claim capability \"partitionable-devices\"";

  s.cases = {pass, fail, err, skip};
  r.suites.push_back(s);

  SuiteResult s2;
  s2.name = "hostile-output";
  s2.timestamp = r.started;
  s2.hostname = "ci-host";
  CaseResult h;
  h.id = "weird <&> \"name\"";
  h.feature = "escaping";
  h.verdict = Verdict::kFail;
  // A NUL, an ESC, a truncated UTF-8 sequence, a CDATA terminator and a U+FFFF.
  h.message = std::string("driver said: \x1b[31mred\x1b[0m ") + std::string(1, '\0') +
              " \xC3 ]]> \xEF\xBF\xBF end";
  h.output = "log line with \x01 control & <tag>";
  s2.cases = {h};
  r.suites.push_back(s2);
  return r;
}

}  // namespace drahil::reports::testing

#endif
