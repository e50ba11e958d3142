#include "binding.hpp"

#include <spdlog/spdlog.h>

#include "drahil/core/clock.hpp"
#include "drahil/core/poll.hpp"

namespace drahil::refdriver {

void BindingController::Start() {
  thread_ = std::thread([this] {
    while (!stop_) {
      Pass();
      // The next pass in 250 ms; Stop() is noticed within 50 ms.
      PollOptions o;
      o.interval = std::chrono::milliseconds(50);
      (void)PollFor(clock_, std::chrono::milliseconds(250), o, "the next binding pass",
                    [this] { return stop_.load(); });
    }
  });
}

void BindingController::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

namespace {

// ConditionSet(): the claim's status already has a True condition for the
// device (its binding is decided).
bool ConditionSet(const Json& statuses, const std::string& driver, const std::string& dev) {
  for (const auto& s : statuses) {
    if (s.value("driver", "") != driver || s.value("device", "") != dev ||
        !s.contains("conditions"))
      continue;
    for (const auto& c : s["conditions"])
      if (c.value("status", "") == "True") return true;
  }
  return false;
}

}  // namespace

void BindingController::Pass() {
  auto list = api_->ListAll("resourceclaims", "");
  if (!list.ok()) return;
  auto health = health_->Snapshot();
  for (const auto& claim : list->value("items", Json::array())) {
    const Json alloc = claim.value("status", Json::object()).value("allocation", Json::object());
    const Json results = alloc.value("devices", Json::object()).value("results", Json::array());
    const Json statuses = claim.value("status", Json::object()).value("devices", Json::array());
    std::string uid = claim["metadata"].value("uid", "");
    for (const auto& r : results) {
      if (r.value("driver", "") != opts_.driver_name ||
          r.value("bindingConditions", Json::array()).empty())
        continue;
      std::string dev = r.value("device", "");
      if (ConditionSet(statuses, opts_.driver_name, dev)) continue;
      std::string key = uid + "/" + dev;
      auto now = clock_.Now();
      auto [it, inserted] = first_seen_.emplace(key, now);
      bool failed = health.count(dev) && health[dev].health == 2;
      if (!failed && now - it->second < opts_.program_delay) continue;
      const Json fail_conds = r.value("bindingFailureConditions", Json::array());
      std::string type = failed ? (fail_conds.empty() ? std::string("RegionProgrammingFailed")
                                                      : fail_conds[0].get<std::string>())
                                : r["bindingConditions"][0].get<std::string>();
      std::string ns = claim["metadata"].value("namespace", ""),
                  name = claim["metadata"].value("name", "");
      auto s = api_->UpdateWithRetry(
          "resourceclaims", ns, name,
          [&](Json& obj) -> Status {
            if (obj["metadata"].value("uid", "") != uid) return NotFoundError("claim replaced");
            Json& devs = obj["status"]["devices"];
            if (!devs.is_array()) devs = Json::array();
            Json cond{
                {"type", type},
                {"status", "True"},
                {"reason", failed ? "ProgrammingFailed" : "Programmed"},
                {"message", failed ? "region error: " + health[dev].message : "region programmed"},
                {"lastTransitionTime", FormatRfc3339(clock_.WallNow())}};
            for (auto& d : devs) {
              if (d.value("driver", "") == opts_.driver_name && d.value("device", "") == dev) {
                d["conditions"] = Json::array({cond});
                return OkStatus();
              }
            }
            devs.push_back({{"driver", opts_.driver_name},
                            {"pool", r.value("pool", "")},
                            {"device", dev},
                            {"conditions", Json::array({cond})}});
            return OkStatus();
          },
          /*status=*/true);
      if (s.ok())
        spdlog::info("claim {}/{}: device {} condition {} set", ns, name, dev, type);
      else
        spdlog::warn("claim {}/{}: set condition: {}", ns, name, s.status().message());
    }
  }
}

}  // namespace drahil::refdriver
