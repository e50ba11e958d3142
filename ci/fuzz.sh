#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang, coverage, ASan and
# UBSan in every translation unit) and runs each for SECONDS, starting from a
# corpus seeded with the inputs its fuzz/<module>/CMakeLists.txt names (suites,
# manifests, CDI specs, profiles from the tests). Prints one line per target:
# executions, executions per second, coverage (edges) and features at the end,
# corpus size and findings, and writes the same table to
# build-fuzz/fuzz-report.md. A crash, leak, timeout or out-of-memory input is
# kept under build-fuzz/fuzz-out/<target>/ and makes the script exit 1.
#
# Usage: ci/fuzz.sh [--jobs N] [SECONDS] [TARGET-REGEX]
#                                 (default 20 s, every target, one at a time)
#        ci/fuzz.sh [--jobs N] --runs N [TARGET-REGEX]
#                                 N inputs each, libFuzzer seed 1: the same
#                                 inputs every time (CI)
# --jobs N runs N targets at once (each is one libFuzzer process); the table
# keeps the targets' order either way.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=1
if [[ ${1:-} == --jobs ]]; then
  jobs=${2:?--jobs needs a number}
  [[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: --jobs needs a positive number, not '$jobs'" >&2; exit 2; }
  shift 2
fi
limit=()
if [[ ${1:-} == --runs ]]; then
  runs=${2:?--runs needs a number}
  shift 2
  limit=(-runs="$runs" -seed=1)
  secs="$runs runs"
else
  secs=${1:-20}
  shift || true
  limit=(-max_total_time="$secs")
fi
only=${1:-.}
start=$SECONDS
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
cmake --preset fuzz > /dev/null
# The configure step lists the targets (build-fuzz/fuzzers.tsv); build only
# those selected.
mapfile -t targets < <(cut -f1 build-fuzz/fuzzers.tsv | grep -E -- "$only" || true)
if ((${#targets[@]} == 0)); then
  echo "fuzz: no target matches '$only' (targets: $(cut -f1 build-fuzz/fuzzers.tsv | xargs))" >&2
  exit 2
fi
cmake --build --preset fuzz --target "${targets[@]}" -j "$(nproc)"
built=$((SECONDS - start))

out=build-fuzz/fuzz-out
report=build-fuzz/fuzz-report.md
mkdir -p "$out"
{
  echo "| target | limit | execs | execs/s | cov | ft | corpus | findings |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
} > "$report"
# One target: seed its corpus, run it, and leave its figures, tab-separated,
# in $dir/result (the last field says what it found, `none` when nothing).
run_target() {
  local name=$1 bin=$2 seeds=$3 opts=$4
  local dir=$out/$name
  rm -rf "$dir" && mkdir -p "$dir/corpus"
  # Seed files are copied under their content hash, so a run never writes
  # into the source tree and duplicates collapse.
  local -a paths
  IFS=: read -r -a paths <<< "$seeds"
  local p f
  for p in "${paths[@]}"; do
    [[ -n $p && -e $p ]] || continue
    while IFS= read -r -d '' f; do
      cp "$f" "$dir/corpus/$(sha1sum "$f" | cut -c1-40)"
    done < <(find "$p" -type f -print0)
  done
  local rc
  set +e
  # shellcheck disable=SC2086 # opts is a list of libFuzzer flags
  "$bin" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/" $opts "$dir/corpus" > "$dir/log" 2>&1
  rc=$?
  set -e
  local execs rate last cov ft corp
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$dir/log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<< "$last")
  local -a found
  mapfile -t found < <(find "$dir" -maxdepth 1 -type f \
    \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  local findings=none
  if ((rc != 0 || ${#found[@]} > 0)); then
    findings="exit $rc: ${found[*]:-see $dir/log}"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
    "${corp:-?}" "$findings" > "$dir/result"
  if ((rc != 0)); then
    grep -E 'ERROR|SUMMARY|==[0-9]+==' "$dir/log" | head -20 > "$dir/errors" || true
  fi
}

# Start the selected targets, at most $jobs at a time.
order=()
running=0
while IFS=$'\t' read -r name bin seeds opts; do
  [[ -n $name && " ${targets[*]} " == *" $name "* ]] || continue
  order+=("$name")
  if ((running >= jobs)); then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$name" "$bin" "$seeds" "$opts" &
  running=$((running + 1))
done < build-fuzz/fuzzers.tsv
wait || true

failed=0
for name in "${order[@]}"; do
  dir=$out/$name
  if [[ ! -f $dir/result ]]; then
    echo "fuzz: $name left no result (see $dir/log)" >&2
    failed=1
    continue
  fi
  IFS=$'\t' read -r execs rate cov ft corp findings < "$dir/result"
  printf '%-22s %9s %10s execs %8s/s cov %6s ft %6s corpus %5s  %s\n' "$name" "$secs" \
    "$execs" "$rate" "$cov" "$ft" "$corp" "$findings"
  echo "| $name | $secs | $execs | $rate | $cov | $ft | $corp | $findings |" >> "$report"
  [[ $findings == none ]] || failed=1
  [[ ! -s $dir/errors ]] || cat "$dir/errors" >&2
done
echo "fuzz: build ${built} s, total $((SECONDS - start)) s; table in $report"
exit "$failed"
