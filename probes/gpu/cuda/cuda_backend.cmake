# Included from probes/gpu/CMakeLists.txt (same directory scope, so the
# generated fatbin header is visible to drahil_probe_gpu).
# The CUDA backend (only with DRAHIL_WITH_CUDA). The kernels in kernels.cu
# are compiled by nvcc to a fatbin for CMAKE_CUDA_ARCHITECTURES (plus PTX of
# the newest one, so newer GPUs JIT it) and embedded; the host side talks to
# the driver through libcuda.so.1 opened with dlopen(), so the probe starts
# (and reports "no CUDA driver") on machines without one. <cuda.h> is used
# for types only; nothing CUDA is linked.
set(_archs ${CMAKE_CUDA_ARCHITECTURES})
if(NOT _archs OR _archs MATCHES "native|all")
  set(_archs 80 90)
endif()
set(_gencode "")
set(_last "")
foreach(_a IN LISTS _archs)
  string(REGEX REPLACE "-(real|virtual)$" "" _a ${_a})
  list(APPEND _gencode -gencode arch=compute_${_a},code=sm_${_a})
  set(_last ${_a})
endforeach()
list(APPEND _gencode -gencode arch=compute_${_last},code=compute_${_last})

file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/cuda)
set(_fatbin ${CMAKE_CURRENT_BINARY_DIR}/cuda/drahil_probe_kernels.fatbin)
set(_inc ${CMAKE_CURRENT_BINARY_DIR}/generated/cuda_kernels_fatbin.inc)
add_custom_command(
  OUTPUT ${_fatbin}
  COMMAND ${CMAKE_CUDA_COMPILER} --fatbin -std=c++17 -Werror all-warnings ${_gencode}
          -o ${_fatbin} ${CMAKE_CURRENT_LIST_DIR}/kernels.cu
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/kernels.cu
  COMMENT "nvcc: probe kernels -> fatbin (${_archs})"
  VERBATIM)
add_custom_command(
  OUTPUT ${_inc}
  COMMAND ${CMAKE_COMMAND} -DIN=${_fatbin} -DOUT=${_inc} -P ${CMAKE_CURRENT_LIST_DIR}/EmbedBinary.cmake
  DEPENDS ${_fatbin} ${CMAKE_CURRENT_LIST_DIR}/EmbedBinary.cmake
  COMMENT "Embedding the probe fatbin"
  VERBATIM)

# The host side is part of drahil_probe_gpu itself (it implements that
# library's OpenCudaBackend()), compiled by the C++ compiler.
target_sources(drahil_probe_gpu PRIVATE ${CMAKE_CURRENT_LIST_DIR}/cuda_backend.cpp ${_inc})
target_include_directories(drahil_probe_gpu PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated)
target_include_directories(drahil_probe_gpu SYSTEM PRIVATE ${CUDAToolkit_INCLUDE_DIRS})
target_compile_definitions(drahil_probe_gpu PRIVATE DRAHIL_PROBE_HAVE_CUDA=1)
