#!/usr/bin/env bash
# Installs every Debian 12 package drahil's build, tests and demo need.
# Idempotent and quiet: does nothing when all packages are present.
# The package list is documented in DEVELOPERS.md; keep the two in step.
set -euo pipefail

PACKAGES=(
  # toolchain and build
  g++ cmake ninja-build pkg-config ccache make
  # gRPC and protobuf (kubelet stand-in, reference driver)
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  # HTTP (API server, REST client), formats, CLI, logging, bundles (zlib, OpenSSL SHA-256)
  libboost-dev libboost-system-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev
  libpugixml-dev libcli11-dev libspdlog-dev libfmt-dev zlib1g-dev
  # PCI (FPGA discovery and emulated sysfs), tools used by tests
  libpci-dev pciutils
  # OpenCL on PoCL (probe kernels on the CPU)
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
  # tests, schema checks, benchmarks, fuzzing, sandbox
  catch2 libxml2-utils libbenchmark-dev clang clang-format clang-tidy libclang-rt-14-dev libcap-dev
  util-linux procps hyperfine
  # gitlab-ci-local (the GitLab template's test) copies the checkout with rsync
  git rsync
  # the Debian package (ci/package.sh): man pages from --help, dpkg-shlibdeps
  help2man dpkg-dev
  # the HTML report in a headless browser (reports_browser_tests)
  chromium
  # interop peers: Debian's Python with gRPC, protobuf and the Kubernetes client
  python3 python3-grpcio python3-kubernetes python3-protobuf python3-jsonschema python3-yaml
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "drahil: missing packages; run as root or with sudo:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "drahil: installing ${#missing[@]} Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "drahil: dependencies installed"
