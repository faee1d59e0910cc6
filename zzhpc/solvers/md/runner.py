"""Running MD decks in-process or under mpiexec, for the validation and benchmark cases and tests."""
import csv
import json
import os
import subprocess
import sys

from mpi4py import MPI


def md_deck(md=None, run=None, **sections):
    """A deck dict for solver ``md`` (in.lj defaults overridden by ``md``/``run``)."""
    deck = {"solver": "md",
            "run": dict({"steps": 100, "dt": 0.005, "diag_every": 10, "progress_every": 0.0}, **(run or {})),
            "md": dict({"cells": [6, 6, 6], "temperature": 1.44, "pair_coeff": ["1 1 1.0 1.0 2.5"]}, **(md or {})),
            "output": {"fields": False}}
    deck.update(sections)
    deck["md"] = {k: v for k, v in deck["md"].items() if v is not None}
    return deck


def run_inprocess(deck, outdir, comm=MPI.COMM_SELF):
    """Run ``deck`` on ``comm`` in this process; returns (summary, thermo rows as dicts)."""
    from ...core.deck import resolve
    from ...core.run import run
    deck = dict(deck)
    deck["output"] = dict(deck.get("output", {}), dir=outdir)
    cls, cfg = resolve(deck, comm.Get_size())
    summary = run(cls, cfg, comm, quiet=True, install_signals=False)
    return summary, read_thermo(outdir)


def read_thermo(outdir):
    with open(os.path.join(outdir, "diagnostics.csv")) as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def write_toml(deck, path):
    """Minimal TOML writer for deck dicts (tables of scalars and flat arrays)."""
    def val(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(val(x) for x in v) + "]"
        if isinstance(v, float):
            return repr(v)
        return str(v)
    lines = [f"{k} = {val(v)}" for k, v in deck.items() if not isinstance(v, dict)]
    for k, v in deck.items():
        if isinstance(v, dict):
            lines.append(f"\n[{k}]")
            lines += [f"{kk} = {val(vv)}" for kk, vv in v.items() if vv is not None]
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def run_ranks(deck, outdir, ranks, timeout=900):
    """``mpiexec -n ranks python -m zzhpc run``; returns (summary, thermo rows)."""
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, "deck.toml")
    deck = dict(deck)
    deck["output"] = dict(deck.get("output", {}), dir=outdir)
    write_toml(deck, path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_COMM_WORLD", "PMIX_", "OMPI_MCA_ess"))}
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    cmd = ["mpiexec", "-n", str(ranks), sys.executable, "-m", "zzhpc.solvers.md.runner", "run", path, "-q"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    with open(os.path.join(outdir, "summary.json")) as fh:
        return json.load(fh), read_thermo(outdir)


if __name__ == "__main__":
    # ``zzhpc run`` with solver discovery on every rank first: a solver package whose import is
    # collective (petsc4py initialises on COMM_WORLD) would otherwise deadlock the rank-0-only
    # deck validation of the CLI.
    from ...core.registry import discover
    from ...cli.main import main
    discover()
    sys.exit(main(sys.argv[1:]))
