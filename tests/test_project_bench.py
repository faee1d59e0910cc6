"""``zzhpc project ... --bench``: calibrations per solver and precision from the rows of ``zzhpc bench --json``.

The bench file is written here with the fields the md benches write (tests/test_md_bench.py checks that they
do); the network is a fixed one, so the fits are exact and checkable.
"""

import json
import subprocess
import sys

import pytest

from conftest import ROOT, clean_env
from zzhpc.errors import InputError
from zzhpc.scaling.bench_calibration import calibrate_bench
from zzhpc.scaling.model import predict
from zzhpc.solvers.md.perfmodel import SW_COST_RATIO, projections, sw_ratios

NET = {"latency_s": 2e-6, "bandwidth_Bps": 1e10, "alltoall_Bps_per_rank": 5e9, "allreduce_latency_s": 2e-6}
PARAMS = {"natoms": 32000, "density": 0.8442, "ghost_cut": 2.8, "neigh_every": 20, "diag_every": 1000}


def lj_row(precision, ranks, t, mb):
    cal = {"solver": "md", "precision": precision, "ranks": ranks, "params": PARAMS, "time_per_step_s": t}
    cal.update(memory_hwm_mb_max=mb, bytes_per_unit_arrays=373.0 if ranks == 1 else 382.0)
    cal["measured_utc"] = f"2026-12-07T0{ranks}:00:00+00:00"
    return {"case": "md_lj", "ranks": ranks, "precision": precision, "zzhpc_s_per_step": t, "calibration": cal}


def mw_row(precision, ranks, cost, mem):
    constants = {"sw_cost_ratio": cost, "sw_memory_ratio": mem}
    return {
        "case": "md_mw_lammps",
        "ranks": ranks,
        "calibration": {"solver": "md", "precision": precision, "ranks": ranks, "constants": constants},
    }


@pytest.fixture
def bench(tmp_path):
    rows = [
        lj_row("float64", 1, 0.0110, 224.0),
        lj_row("float64", 2, 0.0065, 201.0),
        lj_row("mixed", 1, 0.0090, 222.0),
        lj_row("mixed", 2, 0.0055, 200.0),
        mw_row("float64", 1, 3.0, 0.85),
        mw_row("float64", 2, 3.4, 0.90),
        mw_row("mixed", 1, 3.5, 0.85),
        {"case": "md_lj", "label": "a row without a calibration is left out"},
    ]
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"machine": {"cpu": "test"}, "quick": False, "results": rows}))
    return path


def test_one_calibration_per_precision_reproduces_its_points(bench):
    out = calibrate_bench(str(bench), NET, cores=2, fit="exact")
    cals = {cal["precision"]: (cal, checks) for cal, checks in out}
    assert set(cals) == {"float64", "mixed"}
    for prec, (cal, checks) in cals.items():
        assert cal["solver"] == "md" and cal["name"] == f"md ({prec})" and cal["calibration_ranks"] == [1, 2]
        assert cal["c_s_per_unit"] > 0 and cal["mem_bytes_per_unit"] > 0
        assert all(abs(c["dedicated_error"]) < 1e-9 and abs(c["memory_error"]) < 1e-9 for c in checks)
        for q in cal["points"]:
            assert predict(cal, q["params"], q["ranks"])["time_per_step_s"] == pytest.approx(q["time_per_step_s"])
        assert cal["arrays_bytes_per_unit"] == 373.0  # the one-rank count
        assert str(bench) in cal["source"] and "md_mw_lammps" in cal["bench"]["cases"]
        assert "measured 2026-12-07 01:00 UTC" in cal["source"]  # the rows' first stamp, not the file's time
    # mW ratios: the one-rank row's where there is one (float64 has two rows: 3.0, not their mean 3.2).
    assert cals["float64"][0]["constants"] == {"sw_cost_ratio": 3.0, "sw_memory_ratio": 0.85}
    assert cals["mixed"][0]["constants"]["sw_cost_ratio"] == 3.5
    assert cals["mixed"][0]["c_s_per_unit"] < cals["float64"][0]["c_s_per_unit"]  # the faster rows


def test_projection_reads_the_measured_ratios(bench):
    cal, _ = calibrate_bench(str(bench), NET, cores=2, precision="mixed")[0]
    assert [c["precision"] for c, _ in calibrate_bench(str(bench), NET, precision="mixed")] == ["mixed"]
    assert sw_ratios(cal, {})[:2] == (3.5, 0.85)
    assert sw_ratios(cal, {"sw_cost_ratio": 2.5})[:2] == (2.5, 0.85)  # the command line wins
    assert sw_ratios({}, {})[0] == SW_COST_RATIO  # a sweep calibration: the 2026-11 figure
    water, lj = projections(cal, {}, headline=True)
    assert water.model == {"cost_ratio": 3.5, "memory_ratio": 0.85}
    assert "MD, mixed" in water.heading and "3.5 x LJ" in water.heading and "373" in water.heading


def test_bytes_per_unit_from_the_counted_arrays(bench):
    cal, checks = calibrate_bench(str(bench), NET, cores=2, precision="float64", memory="arrays")[0]
    assert cal["mem_bytes_per_unit"] == 373.0 and cal["memory_from"] == "arrays"
    # m0 is what the peaks leave over: the mean of the two points' remainders, so their errors cancel.
    assert sum(c["model_memory_mb"] - c["memory_mb"] for c in checks) == pytest.approx(0.0, abs=1e-6)


def test_bench_without_calibration_rows_is_rejected(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"results": [{"case": "heat_x"}]}))
    with pytest.raises(InputError, match="no bench row carries a calibration point"):
        calibrate_bench(str(path), NET)
    path.write_text("[1, 2]")
    with pytest.raises(InputError, match="not a bench JSON"):
        calibrate_bench(str(path), NET)


def _project(*args):
    return subprocess.run(
        [sys.executable, "-m", "zzhpc", "project", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=clean_env(),
    )


def test_cli_calibrate_and_headline_from_a_bench(bench, tmp_path):
    net = tmp_path / "net.json"
    net.write_text(json.dumps(NET))
    res = _project("calibrate", "--bench", str(bench), "--network", str(net), "-o", str(tmp_path / "cal"))
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("| 1 | calibration |") == 2
    saved = json.loads((tmp_path / "cal" / "md-mixed.cal.json").read_text())
    assert saved["constants"]["sw_cost_ratio"] == 3.5 and (tmp_path / "cal" / "md-float64.cal.json").exists()
    res = _project("headline", "--bench", str(bench), "--network", str(net), "--cards", "60000")
    assert res.returncode == 0, res.stderr
    for text in ("**MD, float64, 10^12 particles**", "**MD, mixed, 10^12 particles**", "| md (mixed): "):
        assert text in res.stdout, text
    res = _project("headline", "--bench", str(tmp_path / "missing.json"), "--network", str(net))
    assert res.returncode == 2 and "not a bench JSON file" in res.stderr
