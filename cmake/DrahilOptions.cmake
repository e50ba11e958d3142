# Build options. Sanitizers are set through presets (asan, tsan) and apply to
# every target through add_compile_options so generated gRPC code is covered too.
option(DRAHIL_WERROR "Treat warnings as errors" OFF)
option(DRAHIL_STRICT "A missing source file is a configure error (CI); otherwise the target is skipped" OFF)
option(DRAHIL_ASAN "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(DRAHIL_TSAN "Build with ThreadSanitizer" OFF)
option(DRAHIL_FUZZ "Build libFuzzer targets (needs clang)" OFF)
option(DRAHIL_BENCH "Build Google Benchmark targets" ON)

if(DRAHIL_ASAN AND DRAHIL_TSAN)
  message(FATAL_ERROR "DRAHIL_ASAN and DRAHIL_TSAN cannot be combined")
endif()
if(DRAHIL_ASAN)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(DRAHIL_FUZZ)
  # Coverage for libFuzzer in every translation unit (the targets link
  # libFuzzer itself with -fsanitize=fuzzer, fuzz/CMakeLists.txt), with ASan
  # and UBSan so a memory error or undefined behaviour is a finding.
  # -fno-sanitize=function: clang 14's UBSan function check cannot compile
  # the REST client's coroutines ("Cannot represent a difference across
  # sections"); the other UBSan checks stay on.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function
                      -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(DRAHIL_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()

find_program(DRAHIL_CCACHE ccache)
if(DRAHIL_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_C_COMPILER_LAUNCHER ${DRAHIL_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${DRAHIL_CCACHE})
endif()

# CUDA is optional (like Ginkgo): probe only when the user has not decided.
include(CheckLanguage)
set(_drahil_cuda_default OFF)
if(NOT DEFINED DRAHIL_WITH_CUDA)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(_drahil_cuda_default ON)
  endif()
endif()
option(DRAHIL_WITH_CUDA "Build the CUDA probe backend" ${_drahil_cuda_default})
if(DRAHIL_WITH_CUDA)
  # Errors here (at configure time) if ON was forced without nvcc.
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "52")
    # No GPU on build machines, so "native" cannot be detected: name Hopper and
    # a widely deployed Ampere target explicitly.
    set(CMAKE_CUDA_ARCHITECTURES "80;90")
  endif()
endif()
