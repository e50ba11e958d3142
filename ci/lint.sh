#!/usr/bin/env bash
# Static checks, after a build that wrote compile_commands.json (ci/test.sh
# runs this after the `ci` build):
#  1. clang-format --dry-run -Werror: every C/C++ source follows .clang-format.
#  2. clang over every translation unit of harness/ and refdriver/ (clang-tidy,
#     so one parse serves both checks):
#     - readability-function-cognitive-complexity above the threshold in
#       .clang-tidy is an error;
#     - -Wthread-safety: the locks annotated with drahil/core/mutex.hpp
#       (kubelet, API server, runner, node) are proven held where the data
#       they guard is touched. Any finding is an error.
#
# Usage: ci/lint.sh [build dir]   (default: build-ci)
#   ci/lint.sh --format-only      only step 1 (no build needed)
#   ci/lint.sh --fix-format       rewrite the sources in place instead
set -euo pipefail
cd "$(dirname "$0")/.."

mode=all
dir=build-ci
case "${1:-}" in
  --format-only) mode=format ;;
  --fix-format) mode=fix ;;
  "") ;;
  *) dir=$1 ;;
esac

start=$SECONDS
mapfile -t sources < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.c' '*.cc' '*.cu')
if [[ $mode == fix ]]; then
  clang-format -i "${sources[@]}"
  exit 0
fi
echo "lint: clang-format on ${#sources[@]} files"
if ! clang-format --dry-run -Werror "${sources[@]}"; then
  echo "lint: formatting differs from .clang-format; run ci/lint.sh --fix-format" >&2
  exit 1
fi
[[ $mode == format ]] && exit 0

db="$dir/compile_commands.json"
if [[ ! -f $db ]]; then
  echo "lint: $db not found; build first (cmake --preset ci && cmake --build --preset ci)" >&2
  exit 1
fi
# Sources of the product (tests are held to the format only).
filter='/(harness/[^/]+/src|refdriver/src)/.*\.cpp$'
echo "lint: clang-tidy (cognitive complexity, thread safety) over $(grep -cE "\"file\": \".*${filter%\$}" "$db" || true) files"
# run-clang-tidy (clang 14) has no -warnings-as-errors: any warning or error
# it prints about a file of the tree is a finding.
rc=0
run-clang-tidy -quiet -p "$dir" -j "$(nproc)" \
  -checks='-*,readability-function-cognitive-complexity,clang-diagnostic-thread-safety*' \
  -extra-arg=-Wthread-safety "$filter" > "$dir/lint-tidy.log" 2>&1 || rc=$?
root=$PWD
if ((rc != 0)) || grep -qE "^$root/.*: (warning|error):" "$dir/lint-tidy.log"; then
  grep -E "^$root/.*: (warning|error):" "$dir/lint-tidy.log" | sort -u >&2 || true
  echo "lint: clang-tidy found the problems above (exit $rc; full log: $dir/lint-tidy.log)" >&2
  exit 1
fi
echo "lint: clean in $((SECONDS - start)) s"
