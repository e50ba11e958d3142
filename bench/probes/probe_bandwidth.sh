#!/usr/bin/env bash
# Runs drahil-probe-gpu's bandwidth check on the OpenCL backend (PoCL on CI
# machines) RUNS times and prints the median of each figure, including the
# kernel-copy / host-memcpy ratio measured in the same process. The numbers in
# BENCHMARKS.md (probes section) come from this script.
#
# Usage: bench/probes/probe_bandwidth.sh [BUILD_DIR] [RUNS] [SIZE]
#   defaults: build 5 64Mi
set -euo pipefail
build=${1:-build}
runs=${2:-5}
size=${3:-64Mi}
probe="$build/bin/drahil-probe-gpu"
fpga="$build/bin/drahil-probe-fpga"
py=/usr/bin/python3
[ -x "$probe" ] || { echo "no $probe (build drahil-probe-gpu first)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 "$runs"); do
  "$probe" --backend opencl --checks bandwidth --bandwidth-size "$size" --reps 10 -q \
    --no-nvml > "$tmp/gpu-$i.json" || true
  if [ -x "$fpga" ]; then
    "$fpga" --checks kernels --dma-size "$size" --reps 10 -q > "$tmp/fpga-$i.json" || true
  fi
done
"$py" - "$tmp" "$runs" "$size" <<'PY'
import glob, json, statistics, sys
tmp, runs, size = sys.argv[1], sys.argv[2], sys.argv[3]
def table(pattern, check):
    rows = {}
    for f in sorted(glob.glob(f"{tmp}/{pattern}")):
        doc = json.load(open(f))
        for c in doc["checks"]:
            if c["name"] != check:
                continue
            for m in c["measurements"]:
                if m["value"] is not None:
                    rows.setdefault((m["name"], m["unit"]), []).append(m["value"])
    return rows
print(f"# {runs} runs, {size} buffers, 10 reps each; median (min..max)")
for label, pattern, check in (("drahil-probe-gpu bandwidth (opencl)", "gpu-*.json", "bandwidth"),
                              ("drahil-probe-fpga kernels (opencl)", "fpga-*.json", "kernels")):
    rows = table(pattern, check)
    if not rows:
        continue
    print(f"\n{label}")
    for (name, unit), vals in rows.items():
        print(f"  {name:32s} {statistics.median(vals):9.3f} {unit:9s} ({min(vals):.3f}..{max(vals):.3f})")
PY
