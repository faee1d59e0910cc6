"""Shared fixtures: MPI environment for subprocess launches, backends, and abort-on-failure under MPI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zzhpc.core.harness import child_env, read_summary, zzhpc_command  # noqa: F401  (tests import read_summary from here)

ROOT = Path(__file__).resolve().parent.parent
MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
    "H5PY_ALWAYS_USE_MPI": "1",
}
os.environ.update(MPI_ENV)


def _launched_by_mpi():
    return any(k in os.environ for k in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"))


def clean_env(**extra):
    """Environment for a child mpiexec (the harness's: no inherited rank variables of an enclosing MPI job)."""
    return child_env(**dict(MPI_ENV, **extra))


def zzhpc_cmd(ranks, *args):
    """``mpiexec -n ranks python -m zzhpc ARGS`` (plain python for ranks == 0)."""
    return zzhpc_command(ranks, *args)


def run_zzhpc(ranks, *args, timeout=300, check=False, **kw):
    proc = subprocess.run(
        zzhpc_cmd(ranks, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(),
        cwd=kw.pop("cwd", ROOT),
        **kw,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"zzhpc {' '.join(map(str, args))} failed ({proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


def install_example_package(example, tmp):
    """pip-install ``examples/<example>`` into a private site folder under ``tmp`` (never into .venv, so
    nothing shared changes); return an environment whose PYTHONPATH finds it (entry points included)."""
    import shutil

    src = Path(tmp) / "src"
    shutil.copytree(ROOT / "examples" / example, src)
    site = Path(tmp) / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return clean_env(PYTHONPATH=os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))


def jobs(root, *extra, env=None):
    """``zzhpc jobs ROOT --json``: ``{run folder relative to ROOT: state record}``."""
    proc = subprocess.run(
        [sys.executable, "-m", "zzhpc", "jobs", str(root), "--json", *extra],
        capture_output=True,
        text=True,
        timeout=60,
        env=env or clean_env(),
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    return {os.path.relpath(r["path"], root): r for r in json.loads(proc.stdout)}


@pytest.fixture(params=["numpy", "torch"])
def backend(request):
    """Every backend usable on this machine (numpy and torch on a CPU; cupy where a GPU is present)."""
    from zzhpc.device import backend_status, get_backend

    ok, why = backend_status()[request.param]
    if not ok:
        pytest.skip(f"backend {request.param} not available here: {why}")
    return get_backend(request.param)


@pytest.fixture
def peer_py():
    """The peer environment's python (.peers/, `make peers`); the test is skipped, with the reason, without it."""
    from zzhpc.core.peers import PeerUnavailable, peer_python

    try:
        return peer_python()
    except PeerUnavailable as exc:
        pytest.skip(str(exc))


def pytest_collection_modifyitems(config, items):
    from zzhpc.device import backend_status

    gpu_ok, why = backend_status().get("cupy", (False, "cupy not registered"))
    for item in items:
        if "gpu" in item.keywords and not gpu_ok:
            item.add_marker(pytest.mark.skip(reason=f"no GPU on this machine ({why})"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under MPI, a failed test aborts all ranks: one failing rank never leaves the others blocked."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and _launched_by_mpi():
        from mpi4py import MPI

        if MPI.COMM_WORLD.Get_size() > 1:
            sys.stderr.write(f"\n[rank {MPI.COMM_WORLD.Get_rank()}] {item.nodeid} failed:\n{rep.longreprtext}\n")
            sys.stderr.flush()
            MPI.COMM_WORLD.Abort(1)
