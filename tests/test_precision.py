"""backend.precision: the mixed mode of the LJ MD kernels (float32 pairs, float64 sums), its run, and the
solvers that have no mixed mode refusing it with one line naming backend.precision."""

import numpy as np
import pytest

from zzhpc.core.deck import resolve
from zzhpc.device import kernel_registry
from zzhpc.errors import ConfigError
from zzhpc.solvers.md.kernels_numba import lj_forces_numba
from zzhpc.core.harness import run_deck as run_inprocess
from zzhpc.solvers.md.cases_common import md_deck

LJ = kernel_registry()["md_lj_forces"]


def _rel(a, b):
    return float(np.sqrt(np.sum((np.asarray(a) - b) ** 2) / np.sum(np.asarray(b) ** 2)))


@pytest.mark.parametrize("kernel", [LJ["generic"], lj_forces_numba], ids=["reference", "numba"])
@pytest.mark.parametrize("half", [True, False])
def test_lj_mixed_against_float64(kernel, half):
    args, _ = LJ["sample"](np.random.default_rng(4))
    args = args[:-1] + (half,)
    f, e, w = LJ["generic"](*args)
    fm, em, wm = kernel(*args, mixed=True)
    assert fm.dtype == np.float64 and not np.array_equal(fm, f)
    assert _rel(fm, f) < 1e-6
    assert abs(em - e) <= 1e-6 * abs(e) and abs(wm - w) <= 1e-6 * abs(w)


def test_lj_mixed_run_follows_float64(tmp_path):
    """in.lj, 864 atoms, 100 steps: the mixed run's thermo within 1e-7 of the float64 run's."""
    rows = {}
    for prec in ("uniform", "mixed"):
        _, rows[prec] = run_inprocess(
            md_deck(run={"steps": 100, "diag_every": 100}, backend={"precision": prec}), str(tmp_path / prec)
        )
    for k in ("pe", "ke", "etotal", "press"):
        assert rows["mixed"][-1][k] == pytest.approx(rows["uniform"][-1][k], rel=1e-7)
    assert rows["mixed"][-1]["pe"] != rows["uniform"][-1]["pe"]
    s = run_inprocess(md_deck(run={"steps": 2}, backend={"precision": "mixed"}), str(tmp_path / "s"))[0]
    assert s["results"]["pair_precision"] == "float32"


def test_no_mixed_mode_is_refused():
    with pytest.raises(ConfigError, match="backend.precision .*solver heat has no mixed mode"):
        resolve({"solver": "heat", "run": {"steps": 1}, "backend": {"precision": "mixed"}}, 1)


def test_precision_default_from_the_environment(monkeypatch):
    """`zzhpc validate/bench --precision mixed` sets ZZHPC_PRECISION: a default for decks without the key."""
    monkeypatch.setenv("ZZHPC_PRECISION", "mixed")
    assert resolve(md_deck(), 1)[1]["backend"]["precision"] == "mixed"
    assert resolve(md_deck(backend={"precision": "uniform"}), 1)[1]["backend"]["precision"] == "uniform"
