# drahil_add_module(NAME <name> [SRCS ...] [DEPS ...] [PRIVATE_DEPS ...])
#   Creates the static library drahil_<name> with the alias drahil::<name>.
#   The module's include/ folder is PUBLIC; src/ stays private. With no SRCS the
#   module is header-only (INTERFACE).
function(drahil_add_module)
  cmake_parse_arguments(M "" "NAME" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  set(_t drahil_${M_NAME})
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
  add_executable(${E_NAME} ${E_SRCS})
  target_link_libraries(${E_NAME} PRIVATE ${E_DEPS})
  drahil_warnings(${E_NAME})
endfunction()

# drahil_add_test(NAME <name> SRCS ... [DEPS ...] [LABELS ...] [TIMEOUT s])
#   A Catch2 test binary. Each TEST_CASE becomes one CTest test. A test that
#   calls DRAHIL_SKIP("reason") prints "DRAHIL-SKIP: reason" and CTest reports
#   it as skipped (Catch2 v2 has no SKIP of its own).
function(drahil_add_test)
  if(NOT BUILD_TESTING)
    return()
  endif()
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_executable(${T_NAME} ${T_SRCS})
  target_link_libraries(${T_NAME} PRIVATE drahil::testing ${T_DEPS})
  drahil_warnings(${T_NAME})
  catch_discover_tests(${T_NAME}
    TEST_PREFIX "${T_NAME}: "
    PROPERTIES
      SKIP_REGULAR_EXPRESSION "DRAHIL-SKIP:"
      TIMEOUT ${T_TIMEOUT}
      LABELS "${T_LABELS}"
      ENVIRONMENT "DRAHIL_BIN_DIR=${CMAKE_BINARY_DIR}/bin;DRAHIL_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()

include(Catch)
