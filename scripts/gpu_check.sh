#!/usr/bin/env bash
# The GPU check: conformance kit of cupy and torch-cuda, the GPU-marked tests and a short run of every solver
# on the card, one JSON report (default $OUT/gpu_check.json). At most 8 minutes; --dry-run runs the same plan
# on the CPU. Needs no network and installs nothing: it uses the image's CuPy/torch/mpi4py/h5py and this checkout.
# Usage: scripts/gpu_check.sh [--dry-run] [--out FILE] [--budget SECONDS] [--only heat,spectral,...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export H5PY_ALWAYS_USE_MPI=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" scripts/gpu_check.py "$@"
