"""``zzhpc check-backend``: passes for numpy and torch here (cupy and torch cuda on a GPU machine), runs its
MPI part at 2 ranks (self-launched or under mpiexec), finds broken backends, and checks a backend that
comes from another package (examples/backend_plugin, the float32-only ``numpy32``)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, clean_env, install_example_package, zzhpc_cmd
from zzhpc.conformance.local import local_checks
from zzhpc.device.numpy_backend import NumpyBackend

GROUPS = {"arrays", "math", "fft", "scatter", "random", "dlpack", "sync", "kernels", "mpi"}


def check(ranks, *args, env=None, timeout=300):
    return subprocess.run(
        zzhpc_cmd(ranks, "check-backend", *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or clean_env(),
        cwd=ROOT,
    )


def load(path):
    with open(path) as fh:
        return json.load(fh)


def assert_passed(proc, rep):
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert rep["passed"] and rep["counts"]["fail"] == 0
    assert "PASSED" in proc.stdout


def test_numpy_passes_with_self_launched_mpi_part(tmp_path):
    out = tmp_path / "numpy.json"
    proc = check(0, "numpy", "--json", out)
    rep = load(out)
    assert_passed(proc, rep)
    rows = rep["checks"]
    assert {r["group"] for r in rows} == GROUPS
    # Per solver the precision modes it runs here; water has the mixed mode, heat has not.
    assert rep["solvers_precision"]["water"] == ["float64", "float32", "mixed"]
    assert "mixed" not in rep["solvers_precision"]["heat"]
    assert "precision modes per solver" in proc.stdout
    # float32 and float64 each, kernels of every built-in solver, the MPI part at 2 ranks in both modes
    assert {r["dtype"] for r in rows if r["group"] == "math"} == {"float32", "float64"}
    assert {"heat_ftcs", "md_lj_forces"} <= {r["name"] for r in rows if r["group"] == "kernels"}
    mpi = [r for r in rows if r["group"] == "mpi"]
    assert len(mpi) == 12 and all(r["ranks"] == 2 and r["status"] == "pass" for r in mpi)
    assert any("device buffers" in r["name"] for r in mpi)
    fft64 = next(r for r in rows if r["name"] == "fft" and r["dtype"] == "float64")
    assert fft64["error"] < 1e-13  # the measured error, not just a verdict


def test_torch_passes_under_mpiexec_2(tmp_path):
    pytest.importorskip("torch", reason="torch (the optional torch backend) is not installed")
    out = tmp_path / "torch.json"
    proc = check(2, "torch", "--json", out)
    rep = load(out)
    assert_passed(proc, rep)
    assert rep["ranks"] == 2 and rep["device"]["device"] == "cpu"
    assert all(r["ranks"] == 2 for r in rep["checks"])  # every rank ran the local checks too
    assert sum(r["group"] == "mpi" for r in rep["checks"]) == 12


def test_unknown_backend_is_a_config_error():
    proc = check(0, "nosuchbackend", "--no-mpi")
    assert proc.returncode == 2
    assert "backend.name" in proc.stderr and "nosuchbackend" in proc.stderr


def test_no_mpi_reports_the_mpi_part_as_not_run():
    proc = check(0, "numpy", "--no-mpi", "--no-kernels")
    assert proc.returncode == 0
    assert "NOT RUN" in proc.stdout and "--no-mpi" in proc.stdout


# Broken backends: the kit must notice. ------------------------------------------------------------------
class SilentlySingle(NumpyBackend):
    """Claims float64 but keeps float32 precision on the device (a real failure mode of some ports)."""

    name = "silently_single"

    def asarray(self, a, dtype=None):
        a = np.asarray(a)
        return a.astype(np.float32).astype(a.dtype) if a.dtype == np.float64 else a.copy()


class WrongDLPack(NumpyBackend):
    name = "wrong_dlpack"
    dlpack_device = (2, 0)  # declares CUDA, holds CPU arrays


def _status(rows, group, dtype):
    return {r.status for r in rows if r.group == group and r.dtype == dtype}


def test_kit_catches_lost_precision():
    rows = local_checks(SilentlySingle())
    for group in ("arrays", "math", "fft"):
        assert "fail" in _status(rows, group, "float64"), group
        assert _status(rows, group, "float32") == {"pass"}, group
    transfer = next(r for r in rows if r.name == "transfer" and r.dtype == "float64")
    assert 1e-9 < transfer.error < 1e-6  # float32 rounding, measured


def test_kit_catches_a_wrong_dlpack_declaration():
    rows = local_checks(WrongDLPack())
    bad = [r for r in rows if r.status == "fail"]
    assert {r.group for r in bad} == {"dlpack"}
    assert "declares (2, 0)" in bad[0].detail


def test_exit_status_1_when_a_check_fails():
    code = (
        "import sys; sys.path.insert(0, 'tests'); from zzhpc.device import register_backend; "
        "import test_check_backend as t; register_backend(t.SilentlySingle); "
        "from zzhpc.cli.main import main; sys.exit(main(['check-backend', 'silently_single', '--no-mpi']))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=clean_env(), cwd=ROOT
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "FAILED" in proc.stdout and "FAIL " in proc.stdout


# A backend from another package, found through the entry point group zzhpc.backends. ---------------------
@pytest.fixture(scope="module")
def numpy32_env(tmp_path_factory):
    """The example backend package (numpy32), installed into a private site folder."""
    return install_example_package("backend_plugin", tmp_path_factory.mktemp("numpy32"))


def test_plugin_backend_without_float64(numpy32_env, tmp_path):
    env = numpy32_env
    out = tmp_path / "numpy32.json"
    proc = check(0, "numpy32", "--json", out, env=env)
    rep = load(out)
    assert_passed(proc, rep)
    assert rep["float64"] is False
    row64 = [r for r in rep["checks"] if r["dtype"] == "float64"]
    assert len(row64) == 1 and row64[0]["status"] == "not run"
    assert "incompressible" in row64[0]["detail"]  # PETSc-based: float64 only
    assert rep["solvers_float64"]["incompressible"]["needs_float64"] is True
    assert rep["solvers_float64"]["heat"]["needs_float64"] is False
    assert rep["solvers_precision"]["water"] == ["float32", "mixed"]  # mixed with float32 sums
    assert rep["solvers_precision"]["incompressible"] == []
    kernels = [r for r in rep["checks"] if r["group"] == "kernels"]
    assert kernels and all(r["dtype"] == "float32" and r["status"] == "pass" for r in kernels)
    assert {r["dtype"] for r in rep["checks"] if r["group"] == "mpi"} == {"float32"}
    # Without the plugin on the path, zzhpc does not know the name: it came from the other package.
    assert check(0, "numpy32", "--no-mpi").returncode == 2


@pytest.mark.gpu
@pytest.mark.parametrize("name, device", [("cupy", "local-rank"), ("torch", "cuda:0")])
def test_gpu_backends_pass(name, device, tmp_path):
    out = tmp_path / f"{name}.json"
    proc = check(0, name, "--device", device, "--json", out)
    rep = load(out)
    assert_passed(proc, rep)
