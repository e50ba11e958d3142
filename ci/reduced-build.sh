#!/usr/bin/env bash
# A reduced build: only some module folders (DRAHIL_MODULES), in a build dir of
# its own. Proves that a build without kubelet, apiserver, runner, node, ...
# configures, links `drahil` with the subcommands of the modules present (and
# no others: cli_tests checks `drahil --help`) and passes those modules' tests.
# Run by ci/test.sh after the full build, whose objects it takes from ccache.
#
# Usage: ci/reduced-build.sh [build dir]     (default: build-reduced)
#   DRAHIL_REDUCED_MODULES="harness/core;..."  another subset
set -euo pipefail
cd "$(dirname "$0")/.."

modules=${DRAHIL_REDUCED_MODULES:-"harness/core;harness/formats;harness/kube;harness/allocator;reports;harness/cli"}
dir=${1:-build-reduced}
jobs=$(nproc)

# The same sources with the same flags as the full build: with paths relative
# to the checkout and the build dir left out of the hash, ccache hits.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}

start=$SECONDS
cmake --preset ci -B "$dir" -DDRAHIL_MODULES="$modules"
cmake --build "$dir" -j "$jobs"
"$dir/bin/drahil" --version
"$dir/bin/drahil" --help
ctest --test-dir "$dir" -j "$jobs" --timeout 600 --output-on-failure
echo "reduced build ($modules): $((SECONDS - start)) s"
