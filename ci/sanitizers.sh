#!/usr/bin/env bash
# Sanitizer jobs for CI machines with time to spare (not part of ci/test.sh,
# which must stay well under 30 minutes on 2 cores):
#   ci/sanitizers.sh asan   ASan+UBSan build, every test
#   ci/sanitizers.sh tsan   TSan build, the threaded parts (kubelet, apiserver,
#                           kube REST client, runner, sandbox, refdriver)
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install-deps.sh
kind=${1:-asan}
jobs=$(nproc)
case "$kind" in
  asan)
    cmake --preset asan
    cmake --build --preset asan -j "$jobs"
    ctest --preset asan -j "$jobs" --timeout 900
    ;;
  tsan)
    cmake --preset tsan
    cmake --build --preset tsan -j "$jobs"
    ctest --preset tsan -j "$jobs" --timeout 900 -L 'kubelet|apiserver|kube|runner|sandbox|refdriver'
    ;;
  *)
    echo "usage: ci/sanitizers.sh asan|tsan" >&2
    exit 2
    ;;
esac
