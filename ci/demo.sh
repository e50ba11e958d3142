#!/usr/bin/env bash
# Installs dependencies, builds what `drahil demo` runs (release preset, the
# drahil-demo target: no tests, no benchmarks; ccache when installed) and runs
# it: the default catalog against the reference driver on an emulated node.
# Reports land in out/ (junit.xml, report.json, report.html). Prints how long
# each phase took.
set -euo pipefail
cd "$(dirname "$0")/.."

t0=$SECONDS
bash ci/install-deps.sh
t1=$SECONDS
cmake --preset release > /dev/null
t2=$SECONDS
cmake --build --preset release --target drahil-demo -j "$(nproc)"
t3=$SECONDS
rc=0
build/bin/drahil demo --out out/ "$@" || rc=$?
t4=$SECONDS
echo "demo.sh: dependencies $((t1 - t0)) s, configure $((t2 - t1)) s, build $((t3 - t2)) s," \
  "demo $((t4 - t3)) s (total $((t4 - t0)) s)"
exit "$rc"
