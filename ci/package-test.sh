#!/usr/bin/env bash
# Installs the Debian package system-wide, runs `drahil demo` from /usr/bin and
# removes the package again, checking that every file it installed is gone.
# As root only (it changes /usr). The package is removed on every exit path,
# failures included. By default the demo runs a focused set of cases (the
# reference driver with the fake NVML, the sandbox and the GPU probe, fault
# injection; $DRAHIL_PACKAGE_TEST_FOCUS replaces the regex); --full runs the
# whole demo catalog.
# Usage: ci/package-test.sh [--full] [BUILD_DIR]   (ci/package.sh builds the package)
set -euo pipefail
cd "$(dirname "$0")/.."

full=0
if [[ ${1:-} == --full ]]; then
  full=1
  shift
fi
build=${1:-}

if [[ $(id -u) -ne 0 ]]; then
  echo "package-test: must run as root (it installs and removes the drahil package in /usr)" >&2
  exit 2
fi
if dpkg-query -W -f='${Status}' drahil 2>/dev/null | grep -q installed; then
  echo "package-test: the drahil package is already installed; remove it first (dpkg -r drahil)" >&2
  exit 2
fi
if [[ -e /usr/bin/drahil ]]; then
  echo "package-test: /usr/bin/drahil exists but belongs to no drahil package; refusing to touch it" >&2
  exit 2
fi

start=$(date +%s)
deb=$(bash ci/package.sh $build | tail -n 1)
[[ -f $deb ]] || { echo "package-test: ci/package.sh made no package" >&2; exit 1; }

tmp=$(mktemp -d)
installed=0
cleanup() {
  local rc=$?
  if [[ $installed -eq 1 ]] && dpkg-query -W -f='${Status}' drahil 2>/dev/null | grep -q installed; then
    echo "package-test: removing the drahil package"
    dpkg --purge drahil >/dev/null || rc=1
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "package-test: apt-get install $deb"
installed=1
t0=$(date +%s)
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$deb" >"$tmp/apt.log" 2>&1 ||
  { cat "$tmp/apt.log" >&2; echo "package-test: apt-get install failed" >&2; exit 1; }
dpkg -L drahil | sort >"$tmp/files"
echo "package-test: installed $(wc -l <"$tmp/files") paths in $(($(date +%s) - t0)) s"

# From /usr/bin, in an empty directory, with no overrides pointing at the
# source tree or a build dir.
[[ $(command -v drahil) == /usr/bin/drahil ]] || { echo "package-test: drahil is not /usr/bin/drahil on PATH" >&2; exit 1; }
unset DRAHIL_SUITES_DIR DRAHIL_NODE_PROFILES_DIR DRAHIL_BIN_DIR
mkdir "$tmp/run"
cd "$tmp/run"
drahil --version
man -w drahil-run >/dev/null 2>&1 || [[ -f /usr/share/man/man1/drahil-run.1.gz ]] ||
  { echo "package-test: no man page drahil-run(1)" >&2; exit 1; }
demo=(drahil demo --out out --progress plain)
if [[ $full -eq 0 ]]; then
  demo+=(--focus "${DRAHIL_PACKAGE_TEST_FOCUS:-^(prepare-one-gpu|iso-one-gpu-sees-one|iso-compute-correct|health-xid-unhealthy|part-partition-sized-right)\$}")
fi
t0=$(date +%s)
if ! "${demo[@]}" >"$tmp/demo.log" 2>&1; then
  cat "$tmp/demo.log" >&2
  echo "package-test: ${demo[*]} failed" >&2
  exit 1
fi
tail -n 4 "$tmp/demo.log"
ran=$(grep -o -m1 'tests="[0-9]*"' out/junit.xml | tr -dc 0-9 || true)
[[ ${ran:-0} -gt 0 ]] || { echo "package-test: the demo ran no cases (out/junit.xml)" >&2; exit 1; }
echo "package-test: demo from /usr/bin passed in $(($(date +%s) - t0)) s"
cd /

dpkg --purge drahil >/dev/null
installed=0
left=0
while IFS= read -r f; do
  # Directories shared with other packages (/usr, /usr/bin, ...) stay.
  [[ -d $f ]] && dpkg-query -S "$f" >/dev/null 2>&1 && continue
  if [[ -e $f || -L $f ]]; then
    echo "package-test: left behind after dpkg --purge: $f" >&2
    left=1
  fi
done <"$tmp/files"
[[ $left -eq 0 ]] || exit 1
echo "package-test: removed, nothing left behind; $(($(date +%s) - start)) s in all"
