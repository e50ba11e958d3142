# All dependencies come from Debian 12 packages; ci/install-deps.sh installs them.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(pugixml REQUIRED)
find_package(CLI11 QUIET CONFIG)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED)
find_package(OpenCL)
find_package(Catch2 2 REQUIRED)
find_package(benchmark QUIET)
pkg_check_modules(LIBPCI REQUIRED IMPORTED_TARGET libpci)

find_program(DRAHIL_PROTOC protoc REQUIRED)
find_program(DRAHIL_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

if(NOT TARGET CLI11::CLI11)
  # Debian's libcli11-dev ships headers only in some releases.
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
endif()
# yaml-cpp 0.7 exports the plain target name `yaml-cpp`; link that.
