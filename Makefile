# zzhpc: `make demo` sets everything up and runs the demo; `make test` runs the whole test-suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
NP ?= 2
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
export OMPI_MCA_rmaps_base_oversubscribe := 1
export OMPI_MCA_btl_vader_single_copy_mechanism := none
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
MPIEXEC := mpiexec --oversubscribe
# Each MPI pytest run is bounded: a hung rank can never stall CI.
MPITEST := timeout -k 10 900 $(MPIEXEC)

.PHONY: setup peers demo test validate bench clean

setup:
	@bash scripts/setup.sh

# Peer codes (OpenMM, LAMMPS) for side-by-side validation, in their own environment .peers/.
peers:
	@bash scripts/setup_peers.sh

# The flagship workloads (water, turbulence, folding), each a short run on NP ranks with its plots and one
# quick validation; one table at the end (scripts/demo.py).
demo: setup
	$(PY) scripts/demo.py --ranks $(NP)

test: setup peers
	@bash scripts/setup_slurm.sh
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest -q tests -p no:cacheprovider --color=no
	$(MPITEST) -n 2 $(PY) -m pytest -q --with-mpi -m mpi tests/mpi -p no:cacheprovider --color=no
	$(MPITEST) -n 4 $(PY) -m pytest -q --with-mpi -m mpi tests/mpi -p no:cacheprovider --color=no

validate: setup
	zzhpc validate --quick

bench: setup
	zzhpc bench --quick --json runs/bench.json

clean:
	rm -rf runs .pytest_cache build *.egg-info
