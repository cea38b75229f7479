#!/usr/bin/env bash
# Create .venv and install irgen into it (editable), with the extras named as arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
if [ ! -x .venv/bin/python ]; then
    echo "creating .venv"
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=23"
spec="."
[ -n "$extras" ] && spec=".[$extras]"
echo "installing irgen${extras:+ with $extras} into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec"
