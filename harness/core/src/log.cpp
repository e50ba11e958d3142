#include "drahil/core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <atomic>

namespace drahil::log {
namespace {
std::atomic<int> g_verbosity{0};

spdlog::level::level_enum LevelFor(int v) {
  if (v < 0) return spdlog::level::warn;
  if (v == 0) return spdlog::level::info;
  if (v <= 3) return spdlog::level::debug;
  return spdlog::level::trace;
}
}  // namespace

void Init(int verbosity, const std::string& name) {
  g_verbosity = verbosity;
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(name, sink);
  logger->set_pattern("[%H:%M:%S.%e] [%^%l%$] [%n] %v");
  logger->set_level(LevelFor(verbosity));
  spdlog::set_default_logger(logger);
  spdlog::set_level(LevelFor(verbosity));
}

int Verbosity() { return g_verbosity; }

std::shared_ptr<spdlog::logger> Get(const std::string& name) {
  auto def = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(name, def->sinks().begin(), def->sinks().end());
  logger->set_pattern("[%H:%M:%S.%e] [%^%l%$] [%n] %v");
  logger->set_level(def->level());
  return logger;
}

}  // namespace drahil::log
