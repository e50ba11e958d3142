// File: log.hpp
//
// Logging on spdlog. Verbosity follows the Kubernetes convention of -v levels:
//   -1 = warnings and errors only (commands with their own progress output),
//   0 = plus lifecycle lines (info), 1..3 = debug, 4+ = trace (every gRPC call
//   and HTTP request).
#ifndef DRAHIL_CORE_LOG_HPP_INCLUDED
#define DRAHIL_CORE_LOG_HPP_INCLUDED

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace drahil::log {

// Init(): configures the default logger: stderr, "[time] [level] [name] msg".
// Safe to call more than once; the last call wins.
void Init(int verbosity, const std::string& name = "drahil");
int Verbosity();

// Get(): a named logger sharing the default sinks and level (e.g. "kubelet").
std::shared_ptr<spdlog::logger> Get(const std::string& name);

}  // namespace drahil::log

#endif  // DRAHIL_CORE_LOG_HPP_INCLUDED
