"""Spectral solver through `mpiexec -n K zzhpc run`: the same energy series on 1, 2 and 4 ranks and with
slab or pencil, HDF5/XDMF/CSV/PNG outputs, bitwise restart (re-decomposable), restart from a field
file, bad checkpoint files, and the quick benchmark with its peer."""

import os
import xml.etree.ElementTree as ET

import h5py
import numpy as np
import pytest

from conftest import ROOT, read_summary, run_zzhpc
from zzhpc.solvers.spectral.diagnostics import read_series, read_spectra

DECK = str(ROOT / "examples" / "taylor_green.toml")
SMALL = [
    "--set",
    "spectral.shape=[16,16,16]",
    "--set",
    "run.dt=0.02",
    "--set",
    "run.diag_every=1",
    "--set",
    "run.output_every=0",
    "--set",
    "spectral.initial='random'",
    "--set",
    "spectral.spectrum_every=4",
]


def _run(ranks, outdir, *extra, steps=8):
    run_zzhpc(
        ranks,
        "run",
        DECK,
        "-o",
        outdir,
        "-q",
        *SMALL,
        "--set",
        f"run.steps={steps}",
        "--set",
        "run.t_end=100.0",
        *extra,
        check=True,
        timeout=240,
    )
    return read_series(os.path.join(outdir, "diagnostics.csv"))


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    """The random-field deck on 1 rank, 2 ranks slab, 2 ranks pencil (1x2), 4 ranks pencil (2x2)."""
    runs = {}
    for name, ranks, extra in [
        ("1", 1, []),
        ("2-slab", 2, ["--set", "run.checkpoint_every=4"]),
        ("2-pencil", 2, ["--set", "spectral.decomposition='pencil'"]),
        ("4-pencil", 4, ["--set", "spectral.decomposition='pencil'"]),
    ]:
        d = tmp_path_factory.mktemp(f"spectral{name}")
        runs[name] = (d, _run(ranks, d, *extra))
    return runs


def test_energy_series_identical_on_1_2_4_ranks_slab_and_pencil(layouts):
    ref = layouts["1"][1]
    for name, (_, s) in layouts.items():
        for key in ("energy", "dissipation", "max_velocity"):
            assert np.allclose(s[key], ref[key], rtol=1e-13, atol=0), (name, key)
        assert np.max(s["max_divergence"]) < 1e-12
    assert read_summary(layouts["4-pencil"][0])["results"]["process_grid"] == [2, 2]


def test_outputs_fields_xdmf_spectra_plots(layouts):
    d = layouts["2-slab"][0]
    s = read_summary(d)
    assert s["status"] == "done" and s["ranks"] == 2
    res = s["results"]
    assert (
        res["ffts_per_step"] == 40
        and res["time_stepper"] == "rk4"
        and res["spectrum"]["time"] == pytest.approx(s["time"])
    )
    assert sum(res["spectrum"]["E"]) == pytest.approx(s["diagnostics"]["energy"], rel=1e-12)
    with h5py.File(d / s["outputs"]["fields"][-1], "r") as f:
        u = f["fields/velocity"][...]
        assert u.shape == (3, 16, 16, 16) and f["fields/vorticity"].shape == (3, 16, 16, 16)
    assert 0.5 * np.mean(np.sum(u * u, axis=0)) == pytest.approx(s["diagnostics"]["energy"], rel=1e-12)
    grids = ET.parse(d / "fields.xdmf").getroot().findall(".//Grid[@GridType='Uniform']")
    assert grids and grids[-1].find("Attribute[@Name='velocity']") is not None
    steps, times, k, E = read_spectra(d / "spectra.csv")
    assert list(steps) == [0, 4, 8] and E.shape[1] == len(k)
    for png in ("energy_dissipation.png", "spectra.png"):
        assert (d / png).stat().st_size > 5000, png
    cols = read_series(d / "diagnostics.csv")
    for key in ("energy", "dissipation", "enstrophy", "max_velocity", "max_divergence", "cfl", "re_lambda"):
        assert key in cols, key


@pytest.mark.parametrize(
    "ranks, extra, bitwise", [(2, [], True), (1, [], False), (4, ["--set", "spectral.decomposition='pencil'"], False)]
)
def test_restart_continues_bitwise_and_re_decomposes(layouts, tmp_path, ranks, extra, bitwise):
    d, ref = layouts["2-slab"]
    mid = d / "checkpoints" / "ckpt_0000000004.h5"
    s = _run(ranks, tmp_path, "--restart", str(mid), *extra)
    assert read_summary(tmp_path)["restarted_from"] == str(mid)
    with (
        h5py.File(d / "checkpoints" / "ckpt_0000000008.h5", "r") as a,
        h5py.File(tmp_path / "checkpoints" / "ckpt_0000000008.h5", "r") as b,
    ):
        ua, ub = a["state/velocity_hat"][...], b["state/velocity_hat"][...]
    if bitwise:
        assert np.array_equal(ua, ub)
        assert np.array_equal(s["energy"], ref["energy"][-len(s["energy"]) :])
    else:
        assert np.allclose(ua, ub, rtol=0, atol=1e-13 * np.abs(ua).max())


def test_restart_with_another_dt_continues_from_the_checkpoint_time(layouts, tmp_path):
    mid = layouts["2-slab"][0] / "checkpoints" / "ckpt_0000000004.h5"
    s = _run(1, tmp_path, "--restart", str(mid), "--set", "run.dt=0.01", steps=6)
    assert s["time"][-1] == pytest.approx(4 * 0.02 + 2 * 0.01, abs=1e-15)


def test_restart_from_another_grid_is_an_input_error(layouts, tmp_path):
    ck = layouts["2-slab"][0] / "checkpoints" / "ckpt_0000000004.h5"
    proc = run_zzhpc(
        0,
        "run",
        DECK,
        "-o",
        tmp_path,
        "-q",
        *SMALL,
        "--set",
        "spectral.shape=[24,24,24]",
        "--set",
        "run.steps=8",
        "--restart",
        str(ck),
        timeout=120,
    )
    assert proc.returncode != 0
    assert "velocity_hat" in proc.stderr and "(3, 24, 24, 13)" in proc.stderr


def test_initial_field_from_a_field_file(layouts, tmp_path):
    d = layouts["1"][0]
    s = read_summary(d)
    field = d / s["outputs"]["fields"][-1]
    out = _run(1, tmp_path, "--set", "spectral.initial='file'", "--set", f"spectral.initial_file='{field}'", steps=1)
    assert out["energy"][0] == pytest.approx(s["diagnostics"]["energy"], rel=1e-12)


@pytest.mark.slow
def test_quick_benchmark_times_zzhpc_and_the_peer_on_the_same_computation():
    from zzhpc.solvers.spectral.cases import bench, fftpeer_python

    rows = bench(quick=True)
    assert [(r["ranks"], r["dealias"], r["dtype"]) for r in rows] == [
        (1, "2/3", "float64"),
        (2, "2/3", "float64"),
        (1, "2/3", "float32"),
        (2, "2/3", "float32"),
        (1, "3/2", "float64"),
        (2, "3/2", "float64"),
    ]
    for r in rows:
        assert r["zzhpc_s_per_step"] > 0 and r["zzhpc_fft_floor_s"] > 0 and r["zzhpc_bytes_per_point"] > 0
        assert r["ffts_per_step"] == 40 and r["zzhpc_step_over_floor"] > 0
        if fftpeer_python() is None:
            assert r["ratio"] is None and "setup_fftpeer.sh" in r["peer_skipped"]
        else:
            # the peer runs the same scheme on the same field
            assert r["energy_rel_diff"] < (1e-12 if r["dtype"] == "float64" else 1e-5)
            assert r["ratio"] > 0
