// Internal: what the engine's source files share. Not a public header.
#ifndef DRAHIL_RUNNER_SRC_ENGINE_INTERNAL_HPP_INCLUDED
#define DRAHIL_RUNNER_SRC_ENGINE_INTERNAL_HPP_INCLUDED

namespace drahil::runner {

// The failure type of a step or case the cancellation cut short; the engine
// leaves such a case out of the report.
inline constexpr const char* kInterrupted = "Interrupted";

}  // namespace drahil::runner

#endif  // DRAHIL_RUNNER_SRC_ENGINE_INTERNAL_HPP_INCLUDED
