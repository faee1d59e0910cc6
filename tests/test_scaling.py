"""zzhpc scale / zzhpc project: sweep, resume, tables and plots, performance model, microbenchmark."""

import csv
import json
import signal
import subprocess
import sys
import time


import pytest

from conftest import ROOT, clean_env
from zzhpc.config.loader import tomllib
from zzhpc.errors import ConfigError
from zzhpc.core.harness import dumps_deck
from zzhpc.scaling.deckio import read_sweep_deck
from zzhpc.scaling.sweep import parse_ranks, plan_sweep
from zzhpc.scaling.workloads import scale_value

SWEEP_DECK = """solver = "heat"

[run]
steps = 5
diag_every = 5

[heat]
shape = [512, 512]

[scaling]
mode = "strong"
ranks = [1, 2]
repeat = 1
"""


@pytest.mark.parametrize(
    "value,factor,expect",
    [
        (8, 3, 24),
        ([64, 64], 2, [128, 64]),
        ([64, 64], 4, [128, 128]),
        ([10, 10, 10], 6, [30, 20, 10]),
        ([16, 16, 16], 8, [32, 32, 32]),
        ([5], 1, [5]),
    ],
)
def test_weak_scaling_multiplies_units_by_p(value, factor, expect):
    assert scale_value(value, factor) == expect


def test_weak_scaling_rejects_floats():
    with pytest.raises(ConfigError, match="weak scaling"):
        scale_value([1.0, 2.0], 2, "heat.lengths")


def test_sweep_deck_table_stripped_and_toml_roundtrip(tmp_path):
    deck_file = tmp_path / "d.toml"
    deck_file.write_text(SWEEP_DECK)
    deck, table = read_sweep_deck(str(deck_file))
    assert "scaling" not in deck and table["ranks"] == [1, 2]
    plan = plan_sweep(deck, table, str(deck_file), mode="weak", ranks="1,2,4", steps=3)
    assert [r.ranks for r in plan.runs] == [1, 2, 4]
    assert [r.deck["heat"]["shape"] for r in plan.runs] == [[512, 512], [1024, 512], [1024, 1024]]
    back = tomllib.loads(dumps_deck(plan.runs[2].deck))
    assert back == plan.runs[2].deck and back["run"]["steps"] == 3 and "t_end" not in back["run"]
    deck_file.write_text(SWEEP_DECK + "bogus = 1\n")
    with pytest.raises(ConfigError, match="scaling.bogus"):
        read_sweep_deck(str(deck_file))
    with pytest.raises(ConfigError, match="--ranks"):
        parse_ranks("1,x")


def _scale_cmd(deck, out):
    return [sys.executable, "-m", "zzhpc", "scale", str(deck), "-o", str(out), "--timeout", "240"]


@pytest.fixture(scope="module")
def resumed_sweep(tmp_path_factory):
    """A heat sweep at 1 and 2 ranks, stopped with SIGTERM after the first run, then resumed."""
    tmp = tmp_path_factory.mktemp("sweep")
    deck, out = tmp / "heat_sweep.toml", tmp / "sweep"
    deck.write_text(SWEEP_DECK)
    proc = subprocess.Popen(
        _scale_cmd(deck, out), cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    first = out / "runs" / "p0001-r1" / "state.json"
    t0 = time.time()
    while time.time() - t0 < 240:
        if first.is_file() and json.loads(first.read_text()).get("status") == "done":
            break
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err1 = proc.communicate(timeout=120)
    state1 = json.loads(first.read_text())
    second = out / "runs" / "p0002-r1" / "state.json"
    state2 = json.loads(second.read_text()) if second.is_file() else {"status": "pending"}
    mtime = (out / "runs" / "p0001-r1" / "out" / "summary.json").stat().st_mtime
    res = subprocess.run(_scale_cmd(deck, out), cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=300)
    return {
        "out": out,
        "rc1": proc.returncode,
        "err1": err1,
        "state1": state1,
        "state2": state2,
        "mtime": mtime,
        "resume": res,
    }


def test_interrupted_sweep_resumes_without_rerunning(resumed_sweep):
    r = resumed_sweep
    assert r["rc1"] == 130, r["err1"]
    assert r["state1"]["status"] == "done"
    assert r["state2"]["status"] in ("pending", "interrupted")
    assert r["resume"].returncode == 0, r["resume"].stderr
    assert "p0001-r1 (1 ranks) done earlier: skipped" in r["resume"].stderr
    run1 = r["out"] / "runs" / "p0001-r1"
    assert (run1 / "out" / "summary.json").stat().st_mtime == r["mtime"]
    assert json.loads((run1 / "state.json").read_text())["started"] == r["state1"]["started"]
    assert json.loads((r["out"] / "runs" / "p0002-r1" / "state.json").read_text())["status"] == "done"
    if r["state2"]["status"] == "interrupted":  # the half-done point was moved aside, not deleted
        assert (r["out"] / "runs" / "p0002-r1" / "out.~1~").is_dir()


def test_sweep_writes_csv_markdown_png(resumed_sweep):
    out = resumed_sweep["out"]
    with open(out / "scaling.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["ranks"]) for r in rows] == [1, 2]
    assert all(float(r["t_median_s"]) > 0 and int(r["units"]) == 512 * 512 for r in rows)
    assert float(rows[0]["speedup"]) == pytest.approx(1.0) and float(rows[0]["efficiency"]) == pytest.approx(1.0)
    assert float(rows[1]["efficiency"]) == pytest.approx(float(rows[1]["speedup"]) / 2)
    assert {"compute_s", "halo_s", "memory_max_mb", "cpu_model", "backend"} <= set(rows[0])
    with open(out / "runs.csv") as fh:
        runs = list(csv.DictReader(fh))
    assert [(r["name"], r["status"]) for r in runs] == [("p0001-r1", "done"), ("p0002-r1", "done")]
    md = (out / "scaling.md").read_text()
    table = [ln for ln in md.splitlines() if ln.startswith("| ")]
    assert len(table) == 3 and table[1].startswith("| 1 |") and table[2].startswith("| 2 |")
    assert "Machine:" in md and "logical CPUs" in md and "backend numpy" in md
    for name in ("time_per_step.png", "speedup.png", "efficiency.png", "breakdown.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000


@pytest.fixture(scope="module")
def network():
    from zzhpc.scaling.microbench import measure

    return measure(2, quick=True, timeout=120)


def test_microbenchmark_positive_under_two_ranks(network):
    assert network["ranks"] == 2
    for k in ("latency_s", "bandwidth_Bps", "alltoall_Bps_per_rank", "allreduce_latency_s"):
        assert network[k] > 0, k
    assert network["latency_s"] < 1e-2
    sizes = [p["bytes"] for p in network["pingpong"]]
    assert sizes == sorted(sizes) and all(p["seconds"] > 0 for p in network["pingpong"])


def test_model_reproduces_calibration_and_flags_too_big(resumed_sweep, network):
    from zzhpc.scaling.calibration import calibrate_sweep
    from zzhpc.scaling.model import predict
    from zzhpc.scaling.targets import Cards, params_for, project

    cal, checks = calibrate_sweep(str(resumed_sweep["out"]), [1, 2], network)
    assert len(checks) == 2 and all(c["calibration"] for c in checks)
    for q in cal["points"]:
        pr = predict(cal, q["params"], q["ranks"], shared_cores=True)
        assert pr["time_per_step_s"] == pytest.approx(q["time_per_step_s"], rel=1e-9)
        assert pr["memory_per_rank_bytes"] / 2**20 == pytest.approx(q["memory_max_mb"], rel=1e-9)
    # A 10^15-point mesh on two 1 GB cards cannot fit; the model says so and how many cards it needs.
    cal["mem_bytes_per_unit"] = max(cal["mem_bytes_per_unit"], 8.0)  # noise guard: at least one float64
    cards = Cards(count=2, memory_gb=1.0)
    out = project(cal, params_for("heat", 1e15), cards)
    assert not out["fits"] and out["memory_per_rank_bytes"] > 1e9
    need = out["cards_needed"]
    if cal["mem_fixed_bytes"] < 1e9:
        assert need > 2
        assert project(cal, params_for("heat", 1e15), Cards(count=need, memory_gb=1.0))["fits"]
        assert not project(cal, params_for("heat", 1e15), Cards(count=int(need * 0.99), memory_gb=1.0))["fits"]
    else:
        assert need is None


def test_project_cli_calibrate_predict_headline(resumed_sweep, network, tmp_path):
    net = tmp_path / "net.json"
    net.write_text(json.dumps(network))
    cal = tmp_path / "heat.cal.json"
    run = [sys.executable, "-m", "zzhpc", "project"]
    res = subprocess.run(
        run + ["calibrate", str(resumed_sweep["out"]), "--network", str(net), "-o", str(cal), "--fit", "origin"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=clean_env(),
    )
    assert res.returncode == 0, res.stderr
    assert "| 1 | calibration |" in res.stdout and "| 2 | calibration |" in res.stdout
    res = subprocess.run(
        run + ["predict", str(cal), "--units", "1e15", "--cards", "4", "--memory-gb", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=clean_env(),
    )
    assert res.returncode == 0, res.stderr
    assert "**NO**" in res.stdout
    res = subprocess.run(
        run + ["headline", "--cal", str(cal), "--cards", "60000"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=clean_env(),
    )
    assert res.returncode == 0, res.stderr
    assert "10^15-point mesh" in res.stdout and "Largest problem that fits on 60,000 cards" in res.stdout


INCOMPRESSIBLE_DECK = """solver = "incompressible"

[run]
steps = 4
diag_every = 2

[incompressible]
shape = [16, 16, 12]
wall_velocity = [1.0, 0.0, 0.0]
plot = false

[scaling]
mode = "strong"
ranks = [1, 2]
"""


def test_incompressible_communication_model():
    """Halo exchanges per scatter, MatMult and V-cycle level; allreduces per CG iteration."""
    from zzhpc.solvers.incompressible.perfmodel import CG_REDUCTIONS, multigrid_sizes
    from zzhpc.solvers.incompressible.perfmodel import step_model as incompressible

    net = {"latency_s": 1e-6, "bandwidth_Bps": 1e10, "alltoall_Bps_per_rank": 1e10, "allreduce_latency_s": 2e-6}
    params = {"shape": [64, 64, 64], "pressure_its": 12.0, "momentum_its": 36.0, "diag_every": 10**9}
    one = incompressible(params, 1, net)
    assert one["halo"] == 0 and one["reduction"] == 0 and one["work"] == 64**3
    two = incompressible(params, 2, net)
    # 2 ranks: the reductions are (3 per CG iteration + 1) allreduces of one latency each.
    assert two["reduction"] == pytest.approx((CG_REDUCTIONS * 48 + 1) * 2e-6)
    face = 2 * (1e-6 + 8 * 64 * 64 / 1e10)  # one exchange of a 64 x 64 face both ways
    assert two["halo"] > (8 + 36 + 12 * (1 + 7)) * face  # scatters, momentum and pressure MatMults, V-cycles
    sizes = multigrid_sizes(64**3)
    assert sizes[0] == 64**3 and sizes[-1] <= 50 and all(a > b for a, b in zip(sizes, sizes[1:]))
    # Coarse levels have smaller faces than the finest; the coarsest is gathered (2 latencies on 2 ranks).
    assert two["halo"] < (8 + 36 + 12 * (1 + 7 * (len(sizes) - 1))) * face + 12 * 2 * 1e-6
    assert incompressible(dict(params, pressure_its=24.0), 2, net)["halo"] > two["halo"]
    big = incompressible(dict(params, shape=[10**5] * 3), 60000, net)
    assert big["halo"] > 0 and big["work"] == pytest.approx(1e15 / 60000)


def test_incompressible_sweep_calibrates_and_projects(tmp_path, network):
    """A real 1- and 2-rank sweep of the PETSc solver: the model reads its KSP iterations and multigrid
    levels from summary.json, reproduces the calibration points and projects a 10^15-point mesh."""
    from zzhpc.scaling.calibration import calibrate_sweep
    from zzhpc.scaling.model import predict

    deck, out = tmp_path / "inc.toml", tmp_path / "sweep"
    deck.write_text(INCOMPRESSIBLE_DECK)
    res = subprocess.run(_scale_cmd(deck, out), cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    cal, checks = calibrate_sweep(str(out), [1, 2], network)
    assert cal["solver"] == "incompressible" and cal["unit"] == "grid point" and len(checks) == 2
    for q in cal["points"]:
        prm = q["params"]
        assert prm["shape"] == [16, 16, 12] and prm["pressure_its"] > 1 and prm["momentum_its"] > 1
        assert prm["multigrid_sizes"][0] == 16 * 16 * 12
        assert predict(cal, prm, q["ranks"], shared_cores=True)["time_per_step_s"] == pytest.approx(
            q["time_per_step_s"], rel=1e-9
        )
    assert cal["points"][1]["comm_s"] > 0 == cal["points"][0]["comm_s"]
    path = tmp_path / "inc.cal.json"
    cal["c_s_per_unit"] = max(cal["c_s_per_unit"], 1e-9)  # noise guard for the CLI's c > 0 check
    cal["mem_bytes_per_unit"] = max(cal["mem_bytes_per_unit"], 8.0)
    path.write_text(json.dumps(cal))
    res = subprocess.run(
        [sys.executable, "-m", "zzhpc", "project", "headline", "--cal", str(path), "--cards", "60000"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=clean_env(),
    )
    assert res.returncode == 0, res.stderr
    assert "incompressible (PETSc, GAMG) 100000^3" in res.stdout and "incompressible: " in res.stdout
