#!/usr/bin/env bash
# Build the API reference (Sphinx autodoc of docs/api/) into build/docs/html; warnings are errors.
# Usage: scripts/build_docs.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
OUT="${1:-build/docs/html}"
export H5PY_ALWAYS_USE_MPI=1
exec "$PY" -m sphinx -W --keep-going -q -b html -d "$OUT/../doctrees" docs/api "$OUT"
