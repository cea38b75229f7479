#!/usr/bin/env bash
# On a machine with a CUDA GPU and PyCUDA importable: build (with nvcc), run a smoke check,
# the GPU tests, the GPU benchmark with its build variants, and the VAE example on CUDA
# tensors. Each step has a time limit and a failing step does not stop the next. Logs go to
# $OUT (default results/gpu); the benchmark also writes results/gpu_benchmark.md.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-results/gpu}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
# ONLY="build gpu_tests" runs those steps alone (named by their logs), where all of them
# would take longer than one run may
step() { local limit=$1 log=$2; shift 2
         if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" ${log%.log} "* ]]; then return; fi
         echo "== $* (limit ${limit} s)";
         local t0=$SECONDS; timeout "$limit" "$@" 2>&1 | tee "$out/$log";
         echo "== exit ${PIPESTATUS[0]} after $((SECONDS - t0)) s"; }
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  nvcc --version | tail -1; python3 --version; lscpu | grep -m1 'Model name'; } 2>&1 | tee "$out/card.txt"
step 240 build.log python3 -m irgen build
step 60 smoke.log python3 - <<'PY'
import numpy as np, pycuda.autoprimaryctx, pycuda.gpuarray as ga
import irgen.generated.gamma as g
a = np.array([0.5, 2.0, 30.0]); z = np.array([0.3, 1.5, 28.0])
print("GPU", [x.get() for x in g.implicit_grad(ga.to_gpu(z), ga.to_gpu(a), 1.0)])
print("CPU", g.implicit_grad(z, a, 1.0))
print("sample GPU", g.sample(ga.to_gpu(a), 1.0, seed=1).get(), "CPU", g.sample(a, 1.0, seed=1))
PY
step 240 gpu_tests.log python3 -m pytest -q -m gpu -p no:cacheprovider --timeout 90 -rfE tests/targets/test_gpu.py
step 300 benchmark.log python3 benchmarks/gpu.py ${BENCH_ARGS:---variants}
# truncation and mixtures through irgen.torch on CUDA tensors, against torch's samplers
step 180 truncated.log python3 benchmarks/truncated.py --device cuda --n 1000000
# the VAE example on CUDA tensors; VAE_DATA: the digits saved by `examples/vae.py --save-data`
# where scikit-learn is missing
step 240 vae.log python3 examples/vae.py --device cuda --epochs ${VAE_EPOCHS:-30} --k 100 \
    --out "$out/vae_cuda" ${VAE_DATA:+--data "$VAE_DATA"}
cp results/gpu_benchmark.md "$out/" 2>/dev/null || true
