#!/usr/bin/env bash
# Set up and run the test suite (CI runs exactly this). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/irgen build --check     # the committed sources are what the generator writes
.venv/bin/irgen build             # then the binaries
.venv/bin/python -m pytest "$@"
