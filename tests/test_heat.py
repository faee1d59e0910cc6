"""Heat solver: exact discrete decay, second-order convergence, backends agree, rank-count independence,
HDF5/XDMF/summary output with provenance, bitwise restart, faults and signals end every rank promptly."""

import json
import os
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import h5py
import numpy as np
import pytest

from conftest import ROOT, clean_env, read_summary, run_zzhpc, zzhpc_cmd
from zzhpc.solvers.heat.cases import convergence, mode_decay, run_mode

DECK = str(ROOT / "examples" / "heat.toml")


def test_mode_decays_by_the_exact_discrete_factor():
    assert all(m.passed for m in mode_decay(quick=True))


def test_second_order_convergence():
    orders = [m.measured for m in convergence(quick=True)]
    assert all(abs(o - 2) < 0.1 for o in orders), orders


def test_torch_backend_gives_numpy_result():
    pytest.importorskip("torch", reason="torch (the optional torch backend) is not installed")
    a = run_mode([20, 12, 10], 0.002)["diagnostics"]
    b = run_mode([20, 12, 10], 0.002, backend="torch")["diagnostics"]
    assert a["l2"] == pytest.approx(b["l2"], rel=1e-13)
    assert b["error_max"] < 1e-3


def test_float32_runs_with_float32_accuracy():
    d = run_mode([32, 32], 0.005, dtype="float32")["diagnostics"]
    assert d["error_max"] / d["max"] < 5e-3


def _final_field(outdir):
    s = read_summary(outdir)
    with h5py.File(os.path.join(outdir, s["outputs"]["fields"][-1]), "r") as f:
        return f["fields/u"][...], s


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The example deck (shortened) on 1, 2, 3 and 4 ranks."""
    out = {}
    for n in (1, 2, 3, 4):
        d = tmp_path_factory.mktemp(f"heat{n}")
        run_zzhpc(
            n,
            "run",
            DECK,
            "-o",
            d,
            "-q",
            "--set",
            "run.t_end=0.002",
            "--set",
            "heat.shape=[48,40]",
            "--set",
            "run.checkpoint_every=10",
            check=True,
        )
        out[n] = d
    return out


def test_results_identical_on_1_2_3_4_ranks(runs):
    ref, s1 = _final_field(runs[1])
    for n in (2, 3, 4):
        u, s = _final_field(runs[n])
        assert s["ranks"] == n and s["steps"] == s1["steps"]
        np.testing.assert_array_equal(u, ref)  # the stencil is local: bitwise, not just round-off
        assert s["diagnostics"]["l2"] == pytest.approx(s1["diagnostics"]["l2"], rel=1e-13)


def test_outputs_hdf5_xdmf_summary_provenance(runs):
    d = runs[3]
    s = read_summary(d)
    assert s["status"] == "done" and s["solver"] == "heat" and s["ranks"] == 3
    for key in ("compute", "halo", "io", "checkpoint"):
        assert s["timers_s"][key]["max"] >= s["timers_s"][key]["min"] >= 0
    # The loop-only timers leave out set-up and the final checkpoint, so they are smaller.
    loop = s["loop_timers_s"]
    assert 0 < loop["compute"]["max"] <= s["timers_s"]["compute"]["max"]
    assert loop["checkpoint"]["max"] < s["timers_s"]["checkpoint"]["max"]
    p = s["provenance"]
    assert p["ranks"] == 3 and p["config"]["heat"]["shape"] == [48, 40] and "Open MPI" in p["mpi_library"]
    assert p["versions"]["numpy"] and p["versions"]["h5py"] and len(p["rank_devices"]) == 3
    assert p["process_grid"]["dims"][0] * p["process_grid"]["dims"][1] == 3
    assert len(s["memory_hwm_mb"]["per_rank"]) == 3
    with h5py.File(d / s["outputs"]["fields"][-1], "r") as f:
        prov = json.loads(f.attrs["provenance"])
        assert prov["zzhpc_version"] and f["fields/u"].shape == (48, 40)
    root = ET.parse(d / "fields.xdmf").getroot()
    items = [e.text for e in root.iter("DataItem") if e.text and ".h5:" in e.text]
    assert items and all((d / t.split(":")[0]).exists() for t in items)
    csv = (d / "diagnostics.csv").read_text().splitlines()
    # provenance and units as comment lines, then the header and the rows
    assert csv[0].startswith("# zzhpc provenance: {") and json.loads(csv[0].split(": ", 1)[1])["zzhpc_version"]
    header = next(line for line in csv if not line.startswith("#"))
    assert header.startswith("step,time,integral,l2") and len(csv) > 3


def test_restart_is_bitwise_and_may_change_rank_count(runs, tmp_path):
    ref, s_ref = _final_field(runs[2])
    ck = sorted((runs[2] / "checkpoints").glob("ckpt_*.h5"))
    mid = ck[0]  # the oldest kept: an intermediate checkpoint
    assert 0 < int(mid.stem.split("_")[1]) < s_ref["steps"]
    for n in (2, 3):
        out = tmp_path / f"r{n}"
        run_zzhpc(
            n,
            "run",
            DECK,
            "-o",
            out,
            "-q",
            "--set",
            "run.t_end=0.002",
            "--set",
            "heat.shape=[48,40]",
            "--restart",
            mid,
            check=True,
        )
        u, s = _final_field(out)
        assert s["restarted_from"] == str(mid) and s["steps"] == s_ref["steps"]
        np.testing.assert_array_equal(u, ref)


def test_restart_refuses_other_solver_or_missing_file(tmp_path, runs):
    bad = tmp_path / "x.h5"
    bad.write_bytes(b"not hdf5 at all")
    proc = run_zzhpc(0, "run", DECK, "-o", tmp_path / "o", "--restart", bad)
    assert proc.returncode == 2 and "not a complete zzhpc checkpoint" in proc.stderr
    assert "Traceback" not in proc.stderr


def _seconds_after_fault(stderr, t_exit):
    import re

    t = re.search(r"injecting fault .* \(t_wall=([0-9.]+)\)", stderr)
    assert t, stderr[-2000:]
    return t_exit - float(t.group(1))


@pytest.mark.parametrize(
    "fault, code, words",
    [
        ("kind=raise,rank=1,step=20", 1, "zzhpc: rank 1: RuntimeError: injected fault at step 20"),
        ("kind=nan,rank=2,step=20", 3, "zzhpc: non-finite values (NaN/Inf) in 'u' on rank 2 at step 20"),
        ("kind=kill,rank=2,step=30", None, "injecting fault 'kill' at step 30"),
    ],
)
def test_fault_on_one_rank_ends_all_ranks_within_10_s(tmp_path, fault, code, words):
    proc = subprocess.run(
        zzhpc_cmd(
            3, "run", DECK, "-o", tmp_path, "-q", "--set", "run.t_end=100.0", "--set", f"run.plugins=['fault:{fault}']"
        ),
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    elapsed = _seconds_after_fault(proc.stderr, time.time())
    assert proc.returncode != 0 and (code is None or proc.returncode == code), proc.returncode
    assert words in proc.stderr, proc.stderr[-2000:]
    assert elapsed < 10, elapsed


@pytest.mark.parametrize("sig", ["SIGUSR1", "SIGTERM"])
def test_signal_checkpoints_and_resumes_to_the_same_state(tmp_path, sig):
    args = [
        "run",
        DECK,
        "-q",
        "--set",
        "heat.shape=[64,64]",
        "--set",
        "run.t_end=0.02",
        "--set",
        "run.output_every=0",
        "--set",
        "run.checkpoint_every=0",
    ]
    full = tmp_path / "full"
    run_zzhpc(2, *args, "-o", full, check=True)
    ref, s_ref = _final_field(full)
    part = tmp_path / "part"
    proc = subprocess.Popen(
        zzhpc_cmd(2, *args, "--set", "run.plugins=['slow:seconds=0.005']", "-o", part),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        start_new_session=True,
    )
    deadline = time.time() + 60
    while not (part / "diagnostics.csv").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the run takes 655 steps x 5 ms: the signal lands mid-run
    # mpiexec forwards SIGUSR1; SIGTERM goes to every rank, as Slurm's scancel does.
    if sig == "SIGUSR1":
        proc.send_signal(signal.SIGUSR1)
    else:
        subprocess.run(["pkill", "-TERM", "-f", rf"^\S*python\S* -m zzhpc run .* -o {part}$"], check=False)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    s = read_summary(part)
    assert s["status"] == "interrupted" and s["stop_signal"] == sig and s["steps"] < s_ref["steps"]
    run_zzhpc(2, *args, "-o", part, "--restart", "auto", check=True)
    u, s2 = _final_field(part)
    assert s2["status"] == "done" and s2["steps"] == s_ref["steps"]
    np.testing.assert_array_equal(u, ref)


def test_same_deck_twice_is_bitwise_and_provenance_reruns_it(tmp_path):
    args = ["--set", "run.t_end=0.001", "--set", "heat.shape=[32,24]", "--set", "heat.initial='gaussian'", "-q"]
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    run_zzhpc(2, "run", DECK, "-o", a, *args, check=True)
    run_zzhpc(2, "run", DECK, "-o", b, *args, check=True)
    run_zzhpc(2, "run", a / "summary.json", "-o", c, "-q", check=True)  # rerun from the provenance record
    ua, sa = _final_field(a)
    for other in (b, c):
        u, s = _final_field(other)
        np.testing.assert_array_equal(u, ua)
        assert (
            s["diagnostics"] == sa["diagnostics"]
            and s["provenance"]["config"]["heat"] == sa["provenance"]["config"]["heat"]
        )


def test_restart_from_another_solver_or_format_is_refused(tmp_path, runs):
    ck = sorted((runs[2] / "checkpoints").glob("ckpt_*.h5"))[-1]
    for key, value, words in (
        ("solver", "md", "checkpoint of solver 'md', not 'heat'"),
        ("checkpoint_format", 99, "checkpoint format 99"),
    ):
        bad = tmp_path / f"{key}.h5"
        bad.write_bytes(ck.read_bytes())
        with h5py.File(bad, "r+") as f:
            f.attrs[key] = value
        proc = run_zzhpc(2, "run", DECK, "-o", tmp_path / key, "-q", "--restart", bad)
        assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]
