"""The one run harness: a deck run in this process, or under ``mpiexec -n P`` in a clean child job.

Validation and benchmark cases, the scaling sweeps, the conformance kit and the tests all start runs
through these functions, so that there is one deck writer (:func:`dumps_deck`), one filter that makes a
child ``mpiexec`` independent of an enclosing MPI job (:func:`child_env`) and one way to read a run's
results back (:class:`RunResult`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from ..errors import ConfigError
from ..io.summary import read_csv_rows

# Variables by which a process belongs to a running MPI job (Open MPI, PMIx, PMI, MPICH's Hydra). A child
# mpiexec that inherits them takes itself for a rank of that job, and then hangs or runs one rank.
MPI_JOB_VARIABLES = (
    "OMPI_COMM_WORLD",
    "OMPI_MCA_ess",
    "OMPI_MCA_orte",
    "OMPI_MCA_pmix",
    "OMPI_MCA_shmem",
    "OMPI_MCA_initial_wdir",
    "OMPI_MCA_ompi_",
    "OMPI_MCA_mpi_oversubscribe",
    "OMPI_FILE_LOCATION",
    "OMPI_UNIVERSE",
    "OMPI_APP_CTX",
    "OMPI_FIRST_RANKS",
    "OMPI_NUM_APP_CTX",
    "OMPI_ARGV",
    "OMPI_COMMAND",
    "OMPI_NPROC",
    "PMIX_",
    "PMI_",
    "MPI_LOCALRANKID",
    "MPI_LOCALNRANKS",
    "HYDI_",
    "HYDRA_",
)

# Small jobs of the cases and tests must start on a machine with fewer cores than ranks.
OVERSUBSCRIBE = {"OMPI_MCA_rmaps_base_oversubscribe": "1"}


class RunResult(NamedTuple):
    """What a run leaves: its ``summary.json`` and the rows of its ``diagnostics.csv``."""

    summary: dict
    diagnostics: list


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child ``mpiexec`` (or a Slurm submission): ``os.environ`` without an
    enclosing MPI job's variables, plus ``extra``.

    ``os.environ``, not the C environment: MPI_Init adds OMPI_/PMIX_ variables to the latter that would
    make the child think it is a rank of this job."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(MPI_JOB_VARIABLES)}
    env.update(extra)
    return env


def mpiexec() -> str:
    """The MPI launcher: ``$ZZHPC_MPIEXEC``, else ``mpiexec`` or ``mpirun`` on PATH, else ``mpiexec``."""
    return os.environ.get("ZZHPC_MPIEXEC") or shutil.which("mpiexec") or shutil.which("mpirun") or "mpiexec"


def mpi_command(
    ranks: int, argv: Sequence[str], *, launcher: str | None = None, launcher_args: Sequence[str] = ()
) -> list[str]:
    """``mpiexec -n ranks [launcher_args] argv``; ``ranks == 0`` runs ``argv`` alone (no MPI launcher)."""
    argv = [str(a) for a in argv]
    if ranks == 0:
        return argv
    return [launcher or mpiexec(), "-n", str(ranks), *map(str, launcher_args), *argv]


def zzhpc_command(ranks: int, *args: object, **kw: Any) -> list[str]:
    """``mpiexec -n ranks python -m zzhpc ARGS`` (plain python for ``ranks == 0``)."""
    return mpi_command(ranks, [sys.executable, "-m", "zzhpc", *map(str, args)], **kw)


def run_mpi(
    ranks: int, argv: Sequence[str], *, timeout: float | None = 900, env: Mapping[str, str] | None = None, **kw: Any
) -> subprocess.CompletedProcess:
    """Run ``argv`` under ``mpiexec -n ranks`` in a clean child environment (oversubscription allowed);
    raise RuntimeError with the end of stderr when it fails."""
    cmd = mpi_command(ranks, argv, **kw)
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=child_env(**dict(OVERSUBSCRIBE, **(env or {}))),
    )
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd[:6])} ... failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc


def run_mpi_json(ranks: int, argv: Sequence[str], **kw: Any) -> Any:
    """:func:`run_mpi` for a worker that prints its answer as JSON on its last line of stdout."""
    return json.loads(run_mpi(ranks, argv, **kw).stdout.strip().splitlines()[-1])


def _literal(v: Any, where: str) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_literal(x, where) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_literal(x, where)}" for k, x in v.items() if x is not None) + "}"
    raise ConfigError(where, "cannot write this value as TOML (expected a bool, number, string, array or table)", v)


def _key(k: str) -> str:
    return k if k and k.replace("_", "").replace("-", "").isalnum() else json.dumps(k)


def dumps_deck(deck: Mapping[str, Any]) -> str:
    """A deck (nested dicts of TOML values) as TOML text: top-level keys, then one table per section.

    Keys whose value is None are left out (TOML has no null: an unset optional key)."""
    lines = [f"{_key(k)} = {_literal(v, k)}" for k, v in deck.items() if not isinstance(v, dict) and v is not None]

    def table(prefix: str, node: Mapping[str, Any]) -> None:
        scal = [(k, v) for k, v in node.items() if not isinstance(v, dict) and v is not None]
        subs = [(k, v) for k, v in node.items() if isinstance(v, dict)]
        if scal or not subs:
            lines.append("")
            lines.append(f"[{prefix}]")
            lines.extend(f"{_key(k)} = {_literal(v, f'{prefix}.{k}')}" for k, v in scal)
        for k, v in subs:
            table(f"{prefix}.{_key(k)}", v)

    for k, v in deck.items():
        if isinstance(v, dict):
            table(_key(k), v)
    return "\n".join(lines) + "\n"


def write_deck(deck: Mapping[str, Any], path: str) -> str:
    """Write ``deck`` as TOML to ``path`` (whole or not at all); return the path."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        fh.write(dumps_deck(deck))
    os.replace(tmp, path)
    return path


def read_diagnostics(outdir: str) -> list[dict[str, float]]:
    """The rows of ``OUTDIR/diagnostics.csv`` as dicts of floats (none when the run wrote no file)."""
    try:
        rows = read_csv_rows(os.path.join(outdir, "diagnostics.csv"))
        return [{k: float(v) for k, v in row.items()} for row in rows]
    except FileNotFoundError:
        return []


def read_summary(outdir: str) -> dict:
    with open(os.path.join(outdir, "summary.json")) as fh:
        return json.load(fh)


def _with_output(deck: Mapping[str, Any], outdir: str) -> dict:
    out: dict = json.loads(json.dumps(deck))  # the caller's deck stays as it was
    out["output"] = dict(out.get("output") or {}, dir=outdir)
    return out


def run_deck(deck: Mapping[str, Any], outdir: str | None = None, comm: Any = None, *, quiet: bool = True) -> RunResult:
    """Collective on ``comm`` (default ``MPI.COMM_SELF``): run ``deck`` in this process.

    Without ``outdir`` the run writes into a temporary folder, removed afterwards. Signals are left to
    the caller (no handlers installed)."""
    from mpi4py import MPI

    from .deck import resolve
    from .run import run

    comm = MPI.COMM_SELF if comm is None else comm
    temporary = outdir is None
    if outdir is None:
        tmp = tempfile.mkdtemp(prefix="zzhpc-run-") if comm.Get_rank() == 0 else None
        outdir = comm.bcast(tmp, root=0)  # one output folder for all ranks
    where: str = outdir
    try:
        cls, cfg = resolve(_with_output(deck, where), comm.Get_size())
        summary = run(cls, cfg, comm, quiet=quiet, install_signals=False)
        comm.Barrier()  # diagnostics.csv is complete on every rank's view
        return RunResult(summary, read_diagnostics(where))
    finally:
        if temporary:
            comm.Barrier()
            if comm.Get_rank() == 0:
                shutil.rmtree(where, ignore_errors=True)


def run_deck_mpi(
    deck: Mapping[str, Any],
    outdir: str,
    ranks: int,
    *,
    timeout: float | None = 900,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> RunResult:
    """``mpiexec -n ranks python -m zzhpc run OUTDIR/deck.toml -q [args]`` in a clean child environment."""
    os.makedirs(outdir, exist_ok=True)
    path = write_deck(_with_output(deck, outdir), os.path.join(outdir, "deck.toml"))
    run_mpi(ranks, [sys.executable, "-m", "zzhpc", "run", path, "-q", *args], timeout=timeout, env=env)
    return RunResult(read_summary(outdir), read_diagnostics(outdir))
