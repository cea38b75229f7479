#!/usr/bin/env bash
# Nsight Compute on the Gamma kernels (sample, rsample, implicit_grad; float32, 2^24
# elements): throughput against the chip's peaks, warp states, occupancy and how many of a
# warp's 32 threads are active per instruction (divergence). Report in $OUT (default
# results/gpu), text and .ncu-rep.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-results/gpu}
mkdir -p "$out"
cat > /tmp/irgen_profile_driver.py <<'PY'
import numpy as np, pycuda.autoprimaryctx, pycuda.gpuarray as ga
import irgen.generated.gamma as g
rng = np.random.default_rng(0)
a = np.exp(rng.uniform(np.log(0.1), np.log(10), 1 << 24)).astype(np.float32)
da, one = ga.to_gpu(a), np.float32(1)
z = g.sample(da, one, seed=1)
g.rsample(da, one, seed=1)
g.implicit_grad(z, da, one)
PY
timeout 200 ncu --clock-control none -k 'regex:irgen_(sample|rsample|implicit_grad)_float32' \
    --section SpeedOfLight --section WarpStateStats --section Occupancy --section LaunchStats \
    --metrics smsp__thread_inst_executed_per_inst_executed.ratio,smsp__inst_executed.sum \
    -o "$out/gamma_f32" python3 /tmp/irgen_profile_driver.py > "$out/ncu_run.log" 2>&1
echo "ncu exit $?"; tail -5 "$out/ncu_run.log"
ncu -i "$out/gamma_f32.ncu-rep" --page details > "$out/ncu_gamma_f32.txt" 2>&1
grep -E "irgen_|Duration|Compute \(SM\) Throughput|Memory Throughput|Achieved Occupancy|Registers|thread_inst_executed_per|inst_executed.sum|Warp Cycles Per Issued|Issued Warp|No Eligible" "$out/ncu_gamma_f32.txt"
