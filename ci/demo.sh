#!/usr/bin/env bash
# Installs dependencies, builds drahil (release) and runs `drahil demo`: the
# default catalog against the reference driver on an emulated node. Reports
# land in out/ (junit.xml, report.json, report.html).
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install-deps.sh

cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
exec build/bin/drahil demo --out out/ "$@"
