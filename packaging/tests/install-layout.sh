#!/usr/bin/env bash
# ctest packaging_install_layout: the install layout is complete and
# relocatable. `cmake --install BUILD --prefix TMP --strip` must give the files
# of docs/packaging.md, and drahil run from TMP/bin must find its catalog, node
# profiles, helper binaries and libraries there (not in the source tree or the
# build dir): --version, validate, list, doctor and, when the reference driver
# and the GPU probe are in the build, one probe case of the catalog.
# Usage: install-layout.sh BUILD_DIR VERSION PROGRAMS LIBRARIES
#   PROGRAMS, LIBRARIES: ;-separated, those of this build (paths under the
#   prefix for the libraries); a build with fewer modules installs fewer.
set -euo pipefail
build=$(readlink -f "$1")
version=$2
IFS=';' read -r -a programs <<<"$3"
IFS=';' read -r -a libraries <<<"${4:-}"
src=$(readlink -f "$(dirname "$0")/../..")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/usr
if ! cmake --install "$build" --prefix "$prefix" --strip >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log"
  echo "FAIL: cmake --install $build failed" >&2
  exit 1
fi

fail=0
bad() {
  echo "FAIL: $*" >&2
  fail=1
}
for p in "${programs[@]}"; do
  [[ -x $prefix/bin/$p ]] || bad "bin/$p is not installed"
done
for f in "${libraries[@]}" share/drahil/fakes/profiles/laptop-1gpu.yaml \
  share/bash-completion/completions/drahil share/doc/drahil/README.md; do
  [[ -f $prefix/$f ]] || bad "$f is not installed"
done
# Nothing on the loader's default path: the fake NVML must not shadow a real one.
[[ -z $(find "$prefix/lib" -maxdepth 1 -name '*.so*') ]] || bad "libraries directly in lib/"
# The whole catalog (suites, manifests, driver profiles) and every node profile.
diff <(cd "$src/suites" && find . -type f ! -name CMakeLists.txt | sort) \
  <(cd "$prefix/share/drahil/suites" && find . -type f | sort) || bad "share/drahil/suites differs"
diff <(cd "$src/fakes/profiles" && find . -type f | sort) \
  <(cd "$prefix/share/drahil/fakes/profiles" && find . -type f | sort) ||
  bad "share/drahil/fakes/profiles differs"
if [[ -d $build/man ]]; then  # drahil-man was built (ci/package.sh builds it)
  zcat "$prefix/share/man/man1/drahil-run.1.gz" 2>/dev/null | grep >/dev/null '^\\fB\\-\\-driver' ||
    bad "share/man/man1/drahil-run.1.gz is missing or has no --driver"
fi
[[ $fail -eq 0 ]] || exit 1

# From the prefix, in a directory with no suites/ of its own, with none of the
# overrides set.
cd "$tmp"
unset DRAHIL_SUITES_DIR DRAHIL_NODE_PROFILES_DIR DRAHIL_BIN_DIR
drahil=$prefix/bin/drahil
out=$("$drahil" --version)
[[ $out == "drahil $version" ]] || bad "drahil --version printed \"$out\", expected \"drahil $version\""
[[ $fail -eq 0 ]] || exit 1
"$drahil" --help >"$tmp/help.log"
if ! grep -q '^  validate ' "$tmp/help.log"; then
  echo "DRAHIL-SKIP: this build's drahil has no runner commands (DRAHIL_MODULES leaves out" \
    "harness/runner); the installed files and --version were checked"
  exit 0
fi
"$drahil" validate "$prefix/share/drahil/suites" >"$tmp/validate.log" 2>&1 ||
  { cat "$tmp/validate.log"; bad "drahil validate of the installed catalog failed"; }
# A profile name resolves in the installed catalog.
"$drahil" validate --driver reference-gpu-emulated "$prefix/share/drahil/suites/prepare.yaml" \
  >"$tmp/validate-driver.log" 2>&1 ||
  { cat "$tmp/validate-driver.log"; bad "drahil validate --driver reference-gpu-emulated failed"; }
# Bash completion of the installed drahil: subcommands, options, profile names.
completion() {  # completion WORD... : what the completion offers for the last word
  PATH=$prefix/bin:$PATH bash -c 'source "$1"; shift; COMP_WORDS=("$@");
    COMP_CWORD=$(($# - 1)); _drahil; echo "${COMPREPLY[*]}"' _ \
    "$prefix/share/bash-completion/completions/drahil" "$@"
}
[[ $(completion drahil de) == demo ]] || bad "completion of 'drahil de' is not demo"
[[ $(completion drahil run --dri) == --driver ]] || bad "completion of 'drahil run --dri'"
[[ $(completion drahil run --driver reference-gpu-em) == reference-gpu-emulated ]] ||
  bad "completion of 'drahil run --driver reference-gpu-em'"
[[ $(completion drahil run --kubernetes-version 1.3) == "1.34 1.35 1.36" ]] ||
  bad "completion of 'drahil run --kubernetes-version 1.3'"
"$drahil" list >"$tmp/list.log" 2>&1 || true
grep -q '^prepare/prepare-one-gpu ' "$tmp/list.log" || bad "drahil list does not list the installed catalog"
"$drahil" doctor >"$tmp/doctor.log" 2>&1 || true
grep "suite catalog" "$tmp/doctor.log" | grep -qF "$prefix/share/drahil/suites" ||
  bad "drahil doctor does not name the installed catalog"
[[ $fail -eq 0 ]] || exit 1

if [[ ! -x $prefix/bin/drahil-refdriver || ! -x $prefix/bin/drahil-probe-gpu ]]; then
  echo "DRAHIL-SKIP: the reference driver or the GPU probe is not in this build (DRAHIL_MODULES);" \
    "the installed layout checks passed"
  exit 0
fi
# One case that starts the reference driver with the fake NVML ({lib_dir}) on
# an emulated node (node profiles) and runs the probe in the sandbox
# (drahil-sandbox-init, the emulated runtime): everything from the prefix.
if ! "$drahil" run --driver reference-gpu-emulated --focus '^iso-one-gpu-sees-one$' \
  --progress none --out "$tmp/out" >"$tmp/run.log" 2>&1; then
  cat "$tmp/run.log"
  bad "drahil run from the installed prefix failed"
elif ! grep -q 'tests="1"' "$tmp/out/junit.xml" || grep -q '<skipped' "$tmp/out/junit.xml"; then
  cat "$tmp/run.log" "$tmp/out/junit.xml"
  bad "the installed run did not pass exactly one case"
fi
[[ $fail -eq 0 ]] || exit 1
echo "install layout: ok ($prefix)"
