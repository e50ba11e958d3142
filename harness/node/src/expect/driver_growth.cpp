// expect: driver-growth
#include "expectations.hpp"

namespace drahil::node {

StepOutcome ExpectDriverGrowth(const Json& v, CaseContext& ctx, NodeEnv& env) {
  auto d = DriverProcess::FromCase(ctx);
  if (!d || !env.baseline)
    return StepOutcome::Error("expect driver-growth: no driver process baseline (attach mode?)",
                              "NoDriver");
  auto now = DriverUsage(d->pid());
  if (!now)
    return StepOutcome::Fail("the driver process is gone; cannot read its fds and RSS",
                             "DriverGone");
  int fd_growth = now->fds - env.baseline->fds;
  double rss_growth_mib = static_cast<double>(now->rss_kib - env.baseline->rss_kib) / 1024.0;
  ctx.Measure({"driver.fd_growth", static_cast<double>(fd_growth), "fds", "", {}});
  ctx.Measure({"driver.rss_growth", rss_growth_mib, "MiB", "", {}});
  ctx.Note("driver fds " + std::to_string(env.baseline->fds) + " -> " + std::to_string(now->fds) +
           ", RSS " + std::to_string(env.baseline->rss_kib) + " -> " +
           std::to_string(now->rss_kib) + " KiB");
  if (v.contains("max-fds") && fd_growth > v["max-fds"].get<int>())
    return StepOutcome::Fail(
        "the driver holds " + std::to_string(fd_growth) +
            " more file descriptors than after start-up (" + std::to_string(env.baseline->fds) +
            " -> " + std::to_string(now->fds) + "), at most " +
            std::to_string(v["max-fds"].get<int>()) + " allowed: a descriptor leak",
        "FdLeak");
  if (v.contains("max-rss-mib") && rss_growth_mib > v["max-rss-mib"].get<double>())
    return StepOutcome::Fail("the driver's RSS grew by " + std::to_string(rss_growth_mib) +
                                 " MiB since start-up, at most " +
                                 std::to_string(v["max-rss-mib"].get<double>()) + " allowed",
                             "RssGrowth");
  return StepOutcome::Pass();
}

}  // namespace drahil::node
