"""A solver from another package (examples/plugin, Gray-Scott): pip-installed, discovered by `zzhpc run`
and `zzhpc info`, run under MPI with checkpoint/restart (bitwise), the same on 1 and 2 ranks and on numpy
and torch, validated, and its kernel picked up by `zzhpc check-backend`."""

import csv
import json
import os
import subprocess

import h5py
import numpy as np
import pytest

from conftest import ROOT, install_example_package, read_summary, zzhpc_cmd

DECK = str(ROOT / "examples" / "plugin" / "grayscott.toml")
SMALL = [
    "--set",
    "grayscott.shape=[40,36]",
    "--set",
    "grayscott.square=0.3",
    "--set",
    "run.steps=40",
    "--set",
    "run.checkpoint_every=20",
    "--set",
    "run.output_every=0",
    "--set",
    "run.diag_every=10",
    "-q",
]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """The example solver package, installed into a private site folder."""
    return install_example_package("plugin", tmp_path_factory.mktemp("grayscott"))


def zz(env, ranks, *args, timeout=300, check=True):
    proc = subprocess.run(zzhpc_cmd(ranks, *args), capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"zzhpc {' '.join(map(str, args))} failed ({proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


def final_state(outdir):
    s = read_summary(outdir)
    with h5py.File(os.path.join(outdir, s["outputs"]["fields"][-1]), "r") as f:
        return np.stack([f["fields/u"][...], f["fields/v"][...]]), s


@pytest.fixture(scope="module")
def runs(env, tmp_path_factory):
    """40 steps of the example deck (small mesh): 2 ranks, 1 rank, 1 rank on torch, and 2 ranks run as
    20 steps then restarted from the checkpoint to 40."""
    out = {}
    for key, ranks, extra in (("np2", 2, []), ("np1", 0, []), ("torch1", 0, ["--backend", "torch"])):
        out[key] = tmp_path_factory.mktemp(key)
        zz(env, ranks, "run", DECK, "-o", out[key], *SMALL, *extra)
    out["restart"] = tmp_path_factory.mktemp("restart")
    zz(env, 2, "run", DECK, "-o", out["restart"], *SMALL, "--set", "run.steps=20")
    zz(env, 2, "run", DECK, "-o", out["restart"], *SMALL, "--restart", "auto")
    return out


def test_info_lists_the_plugin_solver(env):
    info = json.loads(zz(env, 0, "info", "--json").stdout)
    assert info["solvers"]["grayscott"]["module"] == "zzhpc_grayscott.solver"
    keys = zz(env, 0, "info", "grayscott").stdout
    assert "grayscott.feed" in keys and "grayscott.kill" in keys


def test_runs_under_mpi_and_grows_a_pattern(runs):
    w, s = final_state(runs["np2"])
    assert s["status"] == "done" and s["ranks"] == 2 and s["steps"] == 40
    assert s["results"]["process_grid"] == [2, 1]
    # The seeded square reacts: v spreads out of it and u is consumed inside it.
    assert 0 < s["diagnostics"]["v_mean"] < 0.25 and s["diagnostics"]["u_min"] < 0.6
    assert np.all(np.isfinite(w)) and w.shape == (2, 40, 36)


def test_same_result_on_1_and_2_ranks(runs):
    assert np.array_equal(final_state(runs["np1"])[0], final_state(runs["np2"])[0])


def test_torch_gives_the_numpy_result(runs):
    a, b = final_state(runs["np2"])[0], final_state(runs["torch1"])[0]
    assert read_summary(runs["torch1"])["backend"]["name"] == "torch"
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-13)


def test_restart_continues_bitwise(runs):
    w, s = final_state(runs["restart"])
    assert s["restarted_from"] and s["steps_this_run"] == 20
    assert np.array_equal(w, final_state(runs["np2"])[0])


def test_validation_cases_pass(env):
    proc = zz(env, 0, "validate", "grayscott", "--quick")
    assert "5 passed, 0 failed" in proc.stdout, proc.stdout


def test_bad_key_is_one_line_exit_2(env, tmp_path):
    proc = zz(
        env,
        2,
        "run",
        DECK,
        "-o",
        tmp_path,
        "--set",
        "grayscott.mode=[1,2,3]",
        "--set",
        "grayscott.initial='mode'",
        check=False,
    )
    assert proc.returncode == 2 and "grayscott.mode" in proc.stderr and "2 entries" in proc.stderr


def test_check_backend_runs_the_plugin_kernel(env, tmp_path):
    out = tmp_path / "cb.json"
    zz(env, 0, "check-backend", "numpy", "--no-mpi", "--json", out)
    with open(out) as fh:
        rows = json.load(fh)["checks"]
    row = next(r for r in rows if r["name"] == "grayscott_step")
    assert row["status"] == "pass" and row["detail"] == "zzhpc_grayscott.kernels"


SWEEP = """solver = "grayscott"

[run]
dt = 1.0
steps = 6
diag_every = 3
output_every = 0

[grayscott]
shape = [48, 40]

[scaling]
mode = "weak"
ranks = [1, 2]
"""
NETWORK = {"latency_s": 2e-6, "bandwidth_Bps": 1e10, "alltoall_Bps_per_rank": 5e9, "allreduce_latency_s": 3e-6}


def test_scaled_and_projected_by_the_same_code(env, tmp_path):
    """`zzhpc scale` grows the plugin's declared weak-scaling key and counts its work units; `zzhpc project`
    calibrates its step model and projects it: no line of zzhpc.scaling knows the solver."""
    deck, out = tmp_path / "gs.toml", tmp_path / "sweep"
    deck.write_text(SWEEP)
    zz(env, 0, "scale", deck, "-o", out, "--no-plots", "--timeout", "240")
    with open(out / "runs.csv") as fh:
        runs = list(csv.DictReader(fh))
    assert [(r["status"], int(r["ranks"]), int(r["units"])) for r in runs] == [
        ("done", 1, 48 * 40),
        ("done", 2, 2 * 48 * 40),
    ]
    assert "shape = [96, 40]" in (out / "runs" / "p0002-r1" / "deck.toml").read_text()
    net = tmp_path / "net.json"
    net.write_text(json.dumps(NETWORK))
    cal_path = tmp_path / "gs.cal.json"
    zz(env, 0, "project", "calibrate", out, "--network", net, "-o", cal_path, "--fit", "origin")
    cal = json.loads(cal_path.read_text())
    assert cal["solver"] == "grayscott" and cal["unit"] == "grid point"
    # Two ranks split the doubled mesh along its first axis: one halo exchange of two components per step.
    two = cal["points"][1]
    assert two["work"] == 48 * 40 and two["comm_s"] >= 2 * (2e-6 + 2 * 8 * 40 / 1e10)
    cal["c_s_per_unit"] = max(cal["c_s_per_unit"], 1e-9)  # noise guard for the CLI's c > 0 check
    cal["mem_bytes_per_unit"] = max(cal["mem_bytes_per_unit"], 8.0)
    cal_path.write_text(json.dumps(cal))
    pred = zz(env, 0, "project", "predict", cal_path, "--units", "1e12", "--cards", "1000").stdout
    assert "| 1e+12 grid points | 1,000 |" in pred
    head = zz(env, 0, "project", "headline", "--cal", cal_path, "--cards", "60000").stdout
    assert "| grayscott: " in head and "grid points" in head
