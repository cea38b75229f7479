#!/usr/bin/env bash
# On a machine with a CUDA GPU and PyCUDA importable: build (with nvcc), run the GPU tests,
# and run the GPU benchmark with its build variants. Logs go to $OUT (default results/gpu);
# the benchmark also writes results/gpu_benchmark.md.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-results/gpu}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$out/card.txt"
python3 -m irgen build 2>&1 | tee "$out/build.log"
python3 -m pytest -q -m gpu -p no:cacheprovider tests/test_gpu.py 2>&1 | tee "$out/gpu_tests.log"
python3 benchmarks/gpu.py --variants 2>&1 | tee "$out/benchmark.log"
cp results/gpu_benchmark.md "$out/" 2>/dev/null || true
