"""Does the performance model calibrated on a fast link predict step times on a slow one?

Method: on a 2-node namespace cluster (tests/cluster/netns.py, Open MPI over TCP only),

1. measure the fabric with ``zzhpc.scaling.microbench`` (ranks placed round-robin over the nodes, so the
   ping-pong between ranks 0 and 1 crosses the link): latency, bandwidth, all-to-all, allreduce;
2. run MD (LJ melt) and spectral (Taylor-Green) on 1 node x 2 ranks and 2 nodes x 2 ranks and calibrate
   the model (:func:`zzhpc.scaling.model.calibrate`, cores shared as on this machine) on the fast link;
3. for each emulated fabric (a ``tc`` rate cap, and a ``netem`` one-way delay where the kernel has it,
   on every node's interface),
   measure the fabric again, rerun the 2 x 2 runs and compare the measured time per step with the
   model's prediction from the fast-link calibration and the slow link's measured network.

Prints a Markdown table (model / measured per solver and fabric) and writes everything to ``--json``.
Needs root (network namespaces). Usage::

    python tests/cluster/fabric.py --json runs/fabric.json            # the figures (quiet machine)
    python tests/cluster/fabric.py --quick                            # smallest sizes: checks it works
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(ROOT))

from cluster.netns import NetnsCluster  # noqa: E402  (after the sys.path entries above)

# (one-way delay ms or None, rate Mbit/s): Gigabit and Fast Ethernet rate caps (tc tbf). Delays need
# sch_netem, which this machine's kernel lacks ("Specified qdisc kind is unknown"); --delay adds them.
FABRICS = [(None, 1000), (None, 100)]
DECKS = {
    "md": (
        ["examples/lj_melt.toml", "--set", "md.cells=[10,10,10]", "--set", "run.steps=100"],
        ["examples/lj_melt.toml", "--set", "md.cells=[5,5,5]", "--set", "run.steps=20"],
    ),
    "spectral": (
        [
            "examples/taylor_green.toml",
            "--set",
            "spectral.shape=[32,32,32]",
            "--set",
            "run.dt=0.01",
            "--set",
            "run.t_end=0.2",
        ],
        [
            "examples/taylor_green.toml",
            "--set",
            "spectral.shape=[16,16,16]",
            "--set",
            "run.dt=0.01",
            "--set",
            "run.t_end=0.03",
        ],
    ),
}
QUIET = ["--set", "run.output_every=0", "--set", "run.checkpoint_every=0", "-q"]


def child_env(cluster):
    from zzhpc.scaling.sweep import child_env as base

    env = cluster.env(base())
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        PYTHONPATH=str(ROOT),
    )
    return env


def microbench(cluster, quick):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "net.json")
        argv = [sys.executable, "-m", "zzhpc.scaling.microbench", "--json", path] + (["--quick"] if quick else [])
        subprocess.run(
            cluster.mpiexec(argv, extra=["--map-by", "node"]),
            check=True,
            capture_output=True,
            timeout=600,
            env=child_env(cluster),
            cwd=ROOT,
        )
        return json.loads(Path(path).read_text())


def solver_run(cluster, deck, nodes, out):
    argv = [sys.executable, "-m", "zzhpc", "run", *deck, *QUIET, "-o", str(out)]
    subprocess.run(
        cluster.mpiexec(argv, nodes=nodes),
        check=True,
        capture_output=True,
        timeout=1800,
        env=child_env(cluster),
        cwd=ROOT,
    )
    return json.loads((Path(out) / "summary.json").read_text())


def experiment(quick=False, fabrics=FABRICS):
    from zzhpc.scaling.model import calibrate, point, predict

    cores = os.cpu_count() or 1
    result = {"load_average_start": list(os.getloadavg()), "cores": cores, "fabrics": []}
    with NetnsCluster(2) as cluster, tempfile.TemporaryDirectory() as tmp:
        fast = microbench(cluster, quick)
        cals = {}
        for solver, (full, small) in DECKS.items():
            deck = small if quick else full
            runs = [
                solver_run(cluster, deck, ["node0"], Path(tmp) / f"{solver}-1x2"),
                solver_run(cluster, deck, cluster.hosts, Path(tmp) / f"{solver}-2x2"),
            ]
            cals[solver] = (calibrate(runs, fast, cores), runs[1])
        result["fast"] = {
            "network": fast,
            "calibration_points": {
                s: [{k: q[k] for k in ("ranks", "time_per_step_s", "model_time_per_step_s")} for q in c["points"]]
                for s, (c, _) in cals.items()
            },
        }
        for delay, rate in fabrics:
            cluster.shape(delay_ms=delay, rate_mbit=rate)
            try:
                net = microbench(cluster, quick)
                row = {"delay_ms": delay, "rate_mbit": rate, "network": net, "solvers": {}}
                for solver, (cal, fast_run) in cals.items():
                    deck = DECKS[solver][1 if quick else 0]
                    s = solver_run(cluster, deck, cluster.hosts, Path(tmp) / f"{solver}-{delay}-{rate}")
                    q = point(s, net, cores)
                    pred = predict(cal, q["params"], q["ranks"], net=net, shared_cores=True)
                    row["solvers"][solver] = {
                        "measured_s": s["time_per_step_s"],
                        "fast_link_s": fast_run["time_per_step_s"],
                        "model_s": pred["time_per_step_s"],
                        "model_comm_s": pred["halo_s"] + pred["alltoall_s"] + pred["reduction_s"],
                        "ratio": pred["time_per_step_s"] / s["time_per_step_s"],
                    }
                result["fabrics"].append(row)
            finally:
                cluster.shape(None, None)
    result["load_average_end"] = list(os.getloadavg())
    return result


def table(result):
    fast = result["fast"]["network"]
    lines = [
        (
            f"Fast link (veth, no shaping): latency {fast['latency_s'] * 1e6:.0f} us, bandwidth "
            f"{fast['bandwidth_Bps'] / 1e6:.0f} MB/s. Load average at start "
            f"{result['load_average_start'][0]:.1f}, end {result['load_average_end'][0]:.1f} "
            f"({result['cores']} logical CPUs)."
        ),
        "",
        (
            "| fabric (tc) | latency [us] | bandwidth [MB/s] | solver | fast link t/step [s] | measured [s] "
            "| model [s] | model / measured |"
        ),
        "|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    for row in result["fabrics"]:
        net = row["network"]
        for solver, r in row["solvers"].items():
            lines.append(
                f"| {row['delay_ms'] or 0} ms, {row['rate_mbit']} Mbit/s | {net['latency_s'] * 1e6:.0f} | "
                f"{net['bandwidth_Bps'] / 1e6:.1f} | {solver} | {r['fast_link_s']:.4g} | "
                f"{r['measured_s']:.4g} | {r['model_s']:.4g} | {r['ratio']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smallest sizes and one fabric (checks the script)")
    p.add_argument("--json", help="write the full result here")
    p.add_argument("--delay", type=float, help="also a one-way delay in ms on every fabric (needs sch_netem)")
    args = p.parse_args(argv)
    fabrics = [(args.delay, rate) for _, rate in FABRICS]
    result = experiment(args.quick, fabrics[-1:] if args.quick else fabrics)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    print(table(result), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
