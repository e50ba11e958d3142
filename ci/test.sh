#!/usr/bin/env bash
# Installs dependencies, builds with the `ci` preset and runs every test.
# Exits non-zero on any failure. Usage: ci/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install-deps.sh

jobs=$(nproc)
cmake --preset ci
cmake --build --preset ci -j "$jobs"
ctest --preset ci -j "$jobs" --timeout 600 "$@"
