#!/usr/bin/env bash
# ci/gpu-check.sh — what drahil sees and proves on a machine with NVIDIA GPUs.
#
#   ci/gpu-check.sh [BIN_DIR] [OUT_DIR]
#
# 1. nvidia-smi and `drahil doctor`: the GPUs, NVML, CUDA and namespaces.
# 2. drahil-probe-gpu --backend cuda on the host (no sandbox): enumerate,
#    memory capacity, bandwidth, compute, health; the baseline for the
#    sandboxed runs.
# 3. `drahil run` with the reference driver on the real GPUs (profile
#    reference-nvidia-gpu: system NVML, CUDA probes inside the container view
#    the driver's CDI spec produced). Cases that need more GPUs than the
#    machine has, or emulated faults, are skipped with the reason.
#
# Nothing here changes the GPUs' settings (MIG mode included): the driver
# only reads NVML. Writes OUT_DIR/{nvidia-smi.txt,doctor.txt,probe-cuda.json,
# run.txt,junit.xml,report.json,report.html}. Exit 0 when the probe and the
# run passed, 1 otherwise.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/build/bin}
out=${2:-$here/out-gpu}
suites=${DRAHIL_GPU_SUITES:-registration slices prepare isolation sharing restarts health stress extended-resources admin-access}
mkdir -p "$out"
rc=0

{
  nvidia-smi -L
  nvidia-smi --query-gpu=name,uuid,memory.total,mig.mode.current,driver_version --format=csv
} >"$out/nvidia-smi.txt" 2>&1 || echo "nvidia-smi failed" >>"$out/nvidia-smi.txt"

"$bin/drahil" doctor >"$out/doctor.txt" 2>&1
echo "doctor exit $?" >>"$out/doctor.txt"

echo "== host probe (cuda)"
# memory-capacity compares with what nvidia-smi reports for GPU 0.
checks=enumerate,bandwidth,compute,health
mem=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits -i 0 2>/dev/null | tr -d ' ')
extra=()
if [[ $mem =~ ^[0-9]+$ ]]; then
  checks=enumerate,memory-capacity,bandwidth,compute,health
  extra=(--expect-memory "${mem}Mi")
fi
"$bin/drahil-probe-gpu" --backend cuda --checks "$checks" "${extra[@]}" \
  >"$out/probe-cuda.json" 2>"$out/probe-cuda.err" || rc=1
cat "$out/probe-cuda.err" >>"$out/probe-cuda.json"; rm -f "$out/probe-cuda.err"

echo "== catalog on the real GPUs"
args=()
for s in $suites; do args+=(--suite "$here/suites/$s.yaml"); done
timeout "${DRAHIL_GPU_RUN_TIMEOUT:-420}" "$bin/drahil" run \
  --driver "$here/suites/drivers/reference-nvidia-gpu.yaml" "${args[@]}" \
  --skip slow --parallel 2 --junit "$out/junit.xml" --json "$out/report.json" --html "$out/report.html" \
  >"$out/run.txt" 2>&1 || rc=1
tail -40 "$out/run.txt"
exit $rc
