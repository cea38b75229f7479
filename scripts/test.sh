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
.venv/bin/python -m pytest "$@"
