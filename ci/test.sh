#!/usr/bin/env bash
# Installs dependencies, builds with the `ci` preset and runs every test, then
# a reduced build (ci/reduced-build.sh: a subset of the modules, in
# build-reduced). Exits non-zero on any failure. Usage: ci/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install-deps.sh
# Formatting first: it takes seconds (ci/lint.sh; its clang-tidy pass is run
# by hand until the tree passes it, see DEVELOPERS.md).
bash ci/lint.sh --format-only

# Paths relative to the checkout and no build dir in the hash, so the reduced
# build takes the full build's objects from ccache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}

jobs=$(nproc)
cmake --preset ci
cmake --build --preset ci -j "$jobs"
ctest --preset ci -j "$jobs" --timeout 600 "$@"

bash ci/reduced-build.sh
