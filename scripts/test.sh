#!/usr/bin/env bash
# Set up and run the test suite (CI runs exactly this). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/irgen build
.venv/bin/irgen build --check
.venv/bin/python -m pytest "$@"
