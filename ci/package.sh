#!/usr/bin/env bash
# Builds the Debian package drahil_<version>_<arch>.deb from an existing build
# dir: the programs, libraries and man pages the package holds (target
# drahil-package; no tests), then CPack's DEB generator (docs/packaging.md).
# Usage: ci/package.sh [BUILD_DIR] [OUT_DIR]
#   BUILD_DIR: default build-ci, else build (the release preset), configured
#   with cmake --preset ...; OUT_DIR: default BUILD_DIR/package.
# Prints the path of the package on the last line.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-}
if [[ -z $build ]]; then
  for d in build-ci build; do
    [[ -f $d/CMakeCache.txt ]] && build=$d && break
  done
fi
if [[ -z $build || ! -f $build/CMakeCache.txt ]]; then
  echo "package: no configured build dir (${build:-build-ci or build});" \
    "run cmake --preset ci (or release) first" >&2
  exit 2
fi
build=$(readlink -f "$build")
out=$(readlink -f "${2:-$build/package}")
for tool in help2man dpkg-shlibdeps dpkg-deb; do
  command -v "$tool" >/dev/null ||
    { echo "package: $tool not found (ci/install-deps.sh installs it)" >&2; exit 2; }
done

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
arch=$(dpkg --print-architecture)
deb=$out/drahil_${version}_${arch}.deb

export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
cmake --build "$build" --target drahil-package -j "$(nproc)"

mkdir -p "$out"
rm -f "$deb"
# CPack installs into its own staging dir (CMAKE_SKIP_INSTALL_ALL_DEPENDENCY:
# nothing more is built), strips, runs dpkg-shlibdeps and writes the package.
(cd "$build" && cpack -G DEB -B "$out" -D CPACK_OUTPUT_FILE_PREFIX="$out" --config CPackConfig.cmake >"$out/cpack.log" 2>&1) || {
  cat "$out/cpack.log" >&2
  echo "package: cpack failed" >&2
  exit 1
}
[[ -f $deb ]] || { cat "$out/cpack.log" >&2; echo "package: cpack wrote no $deb" >&2; exit 1; }
rm -rf "$out/_CPack_Packages"
echo "package: $(du -h "$deb" | cut -f1) $deb"
dpkg-deb --field "$deb" Depends
echo "$deb"
