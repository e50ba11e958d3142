# _drahil_sources_present(<out-var> <sources...>)
#   FALSE when a listed source file does not exist yet. With DRAHIL_STRICT (the
#   ci preset) that is fatal; otherwise the target is skipped with a warning, so
#   a module someone is still writing never breaks everyone else's configure.
function(_drahil_sources_present out)
  set(${out} TRUE PARENT_SCOPE)
  foreach(_src IN LISTS ARGN)
    if(IS_ABSOLUTE "${_src}")
      set(_p "${_src}")
    else()
      set(_p "${CMAKE_CURRENT_SOURCE_DIR}/${_src}")
    endif()
    if(NOT EXISTS "${_p}" AND NOT _src MATCHES "^\\$<|^${CMAKE_BINARY_DIR}|\\.(pb|grpc\\.pb)\\.(cc|h)$")
      if(DRAHIL_STRICT)
        message(FATAL_ERROR "missing source ${_p}")
      endif()
      message(WARNING "skipping a target in ${CMAKE_CURRENT_SOURCE_DIR}: missing source ${_src}")
      set(${out} FALSE PARENT_SCOPE)
      return()
    endif()
  endforeach()
endfunction()

# drahil_add_module(NAME <name> [SRCS ...] [DEPS ...] [PRIVATE_DEPS ...])
#   Creates the static library drahil_<name> with the alias drahil::<name>.
#   The module's include/ folder is PUBLIC; src/ stays private. With no SRCS the
#   module is header-only (INTERFACE).
function(drahil_add_module)
  cmake_parse_arguments(M "" "NAME" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  set(_t drahil_${M_NAME})
  _drahil_sources_present(_ok ${M_SRCS})
  if(NOT _ok)
    return()
  endif()
  if(M_SRCS)
    add_library(${_t} STATIC ${M_SRCS})
    target_include_directories(${_t} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                      PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
    target_link_libraries(${_t} PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE_DEPS})
    drahil_warnings(${_t})
  else()
    add_library(${_t} INTERFACE)
    target_include_directories(${_t} INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
    target_link_libraries(${_t} INTERFACE ${M_DEPS})
  endif()
  add_library(drahil::${M_NAME} ALIAS ${_t})
endfunction()

function(drahil_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>)
  if(DRAHIL_WERROR)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
  endif()
endfunction()

# drahil_add_executable(NAME <name> SRCS ... [DEPS ...])
#   An executable in build/bin.
function(drahil_add_executable)
  cmake_parse_arguments(E "" "NAME" "SRCS;DEPS" ${ARGN})
  _drahil_sources_present(_ok ${E_SRCS})
  if(NOT _ok)
    return()
  endif()
  add_executable(${E_NAME} ${E_SRCS})
  target_link_libraries(${E_NAME} PRIVATE ${E_DEPS})
  drahil_warnings(${E_NAME})
endfunction()

# drahil_cli_command(FUNCTION <fn> SRC <file> DEPS <targets...> [OPTIONAL_DEPS <targets...>])
#   Registers a module's `drahil` subcommands; call it once, at the top level of
#   the module's CMakeLists.txt. <file> (a name in harness/cli/src, or an
#   absolute path) defines `void drahil::cli::<fn>(CLI::App&, CliContext&)`.
#   At the end of configuration harness/cli compiles <file> into `drahil`, links
#   DEPS and whichever OPTIONAL_DEPS exist, and has main() call <fn> -- but only
#   when every DEPS target is in the build; otherwise the command is left out.
function(drahil_cli_command)
  cmake_parse_arguments(C "" "FUNCTION;SRC" "DEPS;OPTIONAL_DEPS" ${ARGN})
  if(NOT C_FUNCTION MATCHES "^[A-Za-z_][A-Za-z0-9_]*$" OR NOT C_SRC OR C_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "usage: drahil_cli_command(FUNCTION <fn> SRC <file> DEPS <targets...> "
                        "[OPTIONAL_DEPS <targets...>])")
  endif()
  get_property(_done GLOBAL PROPERTY DRAHIL_CLI_COMMANDS_DONE)
  if(_done)
    message(FATAL_ERROR "drahil_cli_command(${C_FUNCTION}) after harness/cli collected the "
                        "commands: call it at the top level of the module's CMakeLists.txt")
  endif()
  get_property(_fns GLOBAL PROPERTY DRAHIL_CLI_COMMANDS)
  if(C_FUNCTION IN_LIST _fns)
    message(FATAL_ERROR "drahil_cli_command: ${C_FUNCTION} is registered twice")
  endif()
  if(NOT IS_ABSOLUTE "${C_SRC}")
    set(C_SRC "${CMAKE_SOURCE_DIR}/harness/cli/src/${C_SRC}")
  endif()
  _drahil_sources_present(_ok ${C_SRC})
  if(NOT _ok)
    return()
  endif()
  set_property(GLOBAL APPEND PROPERTY DRAHIL_CLI_COMMANDS ${C_FUNCTION})
  set_property(GLOBAL PROPERTY DRAHIL_CLI_COMMAND_${C_FUNCTION}_SRC "${C_SRC}")
  set_property(GLOBAL PROPERTY DRAHIL_CLI_COMMAND_${C_FUNCTION}_DEPS "${C_DEPS}")
  set_property(GLOBAL PROPERTY DRAHIL_CLI_COMMAND_${C_FUNCTION}_OPTIONAL_DEPS "${C_OPTIONAL_DEPS}")
endfunction()

# drahil_add_test(NAME <name> SRCS ... [DEPS ...] [NEEDS ...] [LABELS ...] [TIMEOUT s])
#   A Catch2 test binary. Each TEST_CASE becomes one CTest test. A test that
#   calls DRAHIL_SKIP("reason") prints "DRAHIL-SKIP: reason" and CTest reports
#   it as skipped (Catch2 v2 has no SKIP of its own).
#   NEEDS: targets whose outputs the tests run (executables, dlopen'ed
#   libraries) without linking them. Each one in the build is built with the
#   tests; those left out of the build (DRAHIL_MODULES) are passed to the test
#   as DRAHIL_TEST_ABSENT_TARGETS, so DRAHIL_REQUIRE_BUILT() skips a case that
#   needs one naming the build setting, and fails a case whose file is missing
#   from a build that has the target. Resolved once every folder is configured
#   (targets are created in folder order).
function(drahil_add_test)
  if(NOT BUILD_TESTING)
    return()
  endif()
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SRCS;DEPS;NEEDS;LABELS" ${ARGN})
  _drahil_sources_present(_ok ${T_SRCS})
  if(NOT _ok)
    return()
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  # A test's timeout guards against hangs, it asserts no speed: ThreadSanitizer
  # runs the threaded tests 5-15x slower, so its builds get three times as long
  # (a 120 s API server test took 42 s idle under TSan and went past 120 s
  # beside another test on a 2-core CI machine).
  if(DRAHIL_TSAN)
    math(EXPR T_TIMEOUT "${T_TIMEOUT} * 3")
  endif()
  add_executable(${T_NAME} ${T_SRCS})
  target_link_libraries(${T_NAME} PRIVATE drahil::testing ${T_DEPS})
  drahil_warnings(${T_NAME})
  if(NOT T_LABELS)
    set(T_LABELS ${T_NAME})
  endif()
  # -w NoTests: a name filter that matches nothing (a TEST_CASE name CTest
  # cut short, e.g. at a ';') fails instead of passing with no test run.
  catch_discover_tests(${T_NAME}
    TEST_PREFIX "${T_NAME}:"
    EXTRA_ARGS -w NoTests
    PROPERTIES
      SKIP_REGULAR_EXPRESSION "DRAHIL-SKIP:"
      TIMEOUT ${T_TIMEOUT}
      LABELS "${T_LABELS}")
  set_property(GLOBAL PROPERTY DRAHIL_TEST_NEEDS_${T_NAME} "${T_NEEDS}")
  get_property(_resolved GLOBAL PROPERTY DRAHIL_TEST_NEEDS_RESOLVED)
  if(_resolved)
    _drahil_resolve_test_needs(${T_NAME})  # a test added by a deferred call
  else()
    set_property(GLOBAL APPEND PROPERTY DRAHIL_TESTS_WITH_NEEDS ${T_NAME})
  endif()
endfunction()

# _drahil_resolve_test_needs(<test>): see NEEDS above.
function(_drahil_resolve_test_needs test)
  get_property(_needs GLOBAL PROPERTY DRAHIL_TEST_NEEDS_${test})
  set(_absent "")
  foreach(_t IN LISTS _needs)
    if(TARGET ${_t})
      add_dependencies(${test} ${_t})
    else()
      list(APPEND _absent ${_t})
    endif()
  endforeach()
  if(_absent)  # only then, so a full build compiles tests as a reduced one would
    list(JOIN _absent "," _absent)
    target_compile_definitions(${test} PRIVATE DRAHIL_TEST_ABSENT_TARGETS="${_absent}")
  endif()
endfunction()

# drahil_resolve_all_test_needs(): called (deferred) at the end of the top
# level, after every folder and every other deferred call of the folders.
function(drahil_resolve_all_test_needs)
  get_property(_tests GLOBAL PROPERTY DRAHIL_TESTS_WITH_NEEDS)
  foreach(_t IN LISTS _tests)
    _drahil_resolve_test_needs(${_t})
  endforeach()
  set_property(GLOBAL PROPERTY DRAHIL_TEST_NEEDS_RESOLVED TRUE)
endfunction()

include(Catch)
