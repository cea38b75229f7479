#!/usr/bin/env bash
# Set up, build the built-in distributions, and show what they compute.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/irgen build
.venv/bin/python examples/demo.py
