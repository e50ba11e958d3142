#!/usr/bin/env bash
# Installs dependencies, checks formatting, builds with the `ci` preset and
# runs every test (with the npm tools of ci/install-npm-tools.sh), then (as
# root) the Debian package test (ci/package-test.sh), a reduced build
# (ci/reduced-build.sh: a subset of the modules, in build-reduced), clang-tidy
# (ci/lint.sh), every fuzz target (ci/fuzz.sh, the fuzz preset) and the
# sanitizer jobs (ci/sanitizers.sh ci: ASan+UBSan, then TSan on the threaded
# parts; DRAHIL_SANITIZERS=0 leaves them out). Exits non-zero on any failure. Usage: ci/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install-deps.sh
# Formatting first: it takes seconds (ci/lint.sh).
bash ci/lint.sh --format-only

# Paths relative to the checkout and no build dir in the hash, so the reduced
# build takes the full build's objects from ccache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}

jobs=$(nproc)
# The npm tools the CI-template tests run (build-tools/node_modules), fetched
# while the build compiles. Never fails: without npm or the registry those
# tests skip with the reason.
npm_log=$(mktemp)
bash ci/install-npm-tools.sh >"$npm_log" 2>&1 &
npm_pid=$!
cmake --preset ci
cmake --build --preset ci -j "$jobs"
wait "$npm_pid" || true
cat "$npm_log"
rm -f "$npm_log"
ctest --preset ci -j "$jobs" --timeout 600 "$@"

# The Debian package from build-ci: installed system-wide, `drahil demo` (a
# focused set of cases) from /usr/bin, removed again with every file checked
# gone (ci/package-test.sh, docs/packaging.md). Root only; DRAHIL_PACKAGE_TEST=0
# leaves it out.
if [[ $(id -u) -eq 0 && ${DRAHIL_PACKAGE_TEST:-1} != 0 ]]; then
  bash ci/package-test.sh build-ci
else
  echo "ci: package test left out (needs root, DRAHIL_PACKAGE_TEST=${DRAHIL_PACKAGE_TEST:-1})"
fi

bash ci/reduced-build.sh
# clang-tidy over the ci build's sources: cognitive complexity and clang's
# thread-safety analysis (DEVELOPERS.md, Static checks).
bash ci/lint.sh build-ci
# Every libFuzzer target from its seed corpus, a fixed number of runs each
# with a fixed seed, so a CI run is reproducible (docs/fuzzing.md).
bash ci/fuzz.sh --runs "${DRAHIL_FUZZ_RUNS:-3000}"
# ASan+UBSan over every test but the whole-catalog, selfcheck, package and
# browser runs, then TSan over the kubelet stand-in, API server, kube client
# and runner tests (ci/sanitizers.sh, DEVELOPERS.md).
if [[ ${DRAHIL_SANITIZERS:-1} != 0 ]]; then
  bash ci/sanitizers.sh ci
else
  echo "ci: sanitizer jobs left out (DRAHIL_SANITIZERS=0)"
fi
