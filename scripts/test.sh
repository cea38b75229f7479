#!/usr/bin/env bash
# Set up and run the test suite (CI runs exactly this). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/irgen build --check     # the committed sources are what the generator writes
# then the binaries; the CUDA fatbins only where a GPU can run them (the CUDA tests compile
# the few they check with nvcc themselves, and a GPU machine compiles the rest on first use)
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    .venv/bin/irgen build
else
    .venv/bin/irgen build --no-cuda-binary
fi
# test files side by side in one process per core (at most four: each holds torch and JAX)
workers=$(nproc 2>/dev/null || echo 1)
[ "$workers" -gt 4 ] && workers=4
.venv/bin/python -m pytest -n "$workers" --dist loadfile "$@"
