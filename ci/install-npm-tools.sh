#!/usr/bin/env bash
# Installs the pinned npm tools that the CI-template and JUnit-consumer tests
# run (ci/templates/tests) into build-tools/node_modules (ignored by git):
#   @actions/workflow-parser  GitHub's own workflow parser
#   gitlab-ci-local           runs a GitLab CI job locally (shell executor)
#   xunit-viewer              an independent JUnit reader
# Idempotent and quiet: does nothing when the pinned versions are there.
# Never fails: without node/npm or the npm registry it says why, and the tests
# that need a tool skip with the reason.
#
# Usage: ci/install-npm-tools.sh [prefix]   (default: build-tools)
#   The tests look in <repo>/build-tools/node_modules, or in
#   $DRAHIL_NPM_TOOLS (a node_modules folder) when it is set.
set -uo pipefail
cd "$(dirname "$0")/.."

prefix=${1:-build-tools}
# gitlab-ci-local 4.74 and later need Node.js 22 (Set.prototype.union);
# Debian 12's machines here run Node.js 20.
PINS=(@actions/workflow-parser@0.3.61 gitlab-ci-local@4.72.0 xunit-viewer@10.6.1)

installed() {  # installed NAME VERSION: the pinned version is in the prefix
  local pkg="$prefix/node_modules/$1/package.json"
  [ -f "$pkg" ] && grep -q "\"version\": *\"$2\"" "$pkg"
}

missing=0
for pin in "${PINS[@]}"; do
  installed "${pin%@*}" "${pin##*@}" || missing=1
done
[ "$missing" -eq 0 ] && exit 0

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "drahil: node/npm not found; the CI-template and JUnit-consumer tests will skip" >&2
  exit 0
fi

mkdir -p "$prefix"
log="$prefix/npm-install.log"
start=$SECONDS
if timeout 300 npm install --no-save --no-audit --no-fund --no-package-lock --loglevel=error \
  --prefix "$prefix" "${PINS[@]}" >"$log" 2>&1; then
  echo "drahil: npm tools installed in $prefix/node_modules ($((SECONDS - start)) s)"
else
  echo "drahil: npm install failed ($log); the tests that need these tools will skip:" >&2
  tail -n 5 "$log" >&2
fi
exit 0
