#ifndef DRAHIL_REFDRIVER_OPTIONS_HPP_INCLUDED
#define DRAHIL_REFDRIVER_OPTIONS_HPP_INCLUDED

#include "driver.hpp"

namespace drahil::refdriver {
// ParseOptions(): flags, each also read from its env var. exit_now is set for
// --help/--list-bugs/usage errors, with exit_code.
Result<Options> ParseOptions(int argc, char** argv, bool& exit_now, int& exit_code);
}  // namespace drahil::refdriver

#endif
