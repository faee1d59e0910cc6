"""A sweep on a Slurm cluster: one ``zzhpc sbatch`` job per run (rank counts differ between runs).

The run decks are written into the sweep folder exactly as for a local sweep; each run gets the
command ``zzhpc sbatch RUN/deck.toml --nodes N --ntasks-per-node R ... -o RUN/out``. Where
``zzhpc sbatch`` is not installed, a plain job array is rendered instead (``sbatch --array``), with
one ``srun -n P`` line per task. ``zzhpc scale --report-only SWEEP`` collects the results afterwards.
"""

import math
import os
import shlex
import subprocess
import sys

from ..core.harness import write_deck
from ..io import write_json_atomic
from .sweep import is_done


def _has_sbatch_command():
    """Whether this installation has ``zzhpc sbatch`` (the job-script renderer of :mod:`zzhpc.cluster`),
    asked of the package, not of the CLI (which sits above this module)."""
    import importlib.util

    return importlib.util.find_spec("zzhpc.cluster.jobscript") is not None


def slurm_commands(
    plan,
    sweep_dir,
    *,
    time="00:30:00",
    ranks_per_node=None,
    gpus_per_node=0,
    site=None,
    extra=(),
    submit=False,
    backend=None,
):
    """Write each pending run's deck; return the shell commands that submit them (and a job-array
    script path where ``zzhpc sbatch`` is absent)."""
    os.makedirs(os.path.join(sweep_dir, "runs"), exist_ok=True)
    write_json_atomic(os.path.join(sweep_dir, "sweep.json"), plan.describe())
    pending = []
    for spec in plan.runs:
        run_dir = os.path.join(sweep_dir, "runs", spec.name)
        if is_done(run_dir, spec):
            continue
        os.makedirs(run_dir, exist_ok=True)
        write_deck(spec.deck, os.path.join(run_dir, "deck.toml"))
        write_json_atomic(
            os.path.join(run_dir, "state.json"),
            {
                "status": "submitted" if submit else "rendered",
                "name": spec.name,
                "ranks": spec.ranks,
                "repeat": spec.repeat,
                "fingerprint": spec.fingerprint,
            },
        )
        pending.append((spec, run_dir))
    if _has_sbatch_command():
        cmds = []
        for spec, run_dir in pending:
            per_node = min(spec.ranks, ranks_per_node or spec.ranks)
            nodes = math.ceil(spec.ranks / per_node)
            cmd = [
                sys.executable,
                "-m",
                "zzhpc",
                "sbatch",
                os.path.join(run_dir, "deck.toml"),
                "--nodes",
                str(nodes),
                "--ntasks-per-node",
                str(per_node),
                "--time",
                time,
                "--gpus-per-node",
                str(gpus_per_node),
                "-o",
                os.path.join(run_dir, "out"),
                "--script",
                os.path.join(run_dir, "job.sbatch"),
                "--job-name",
                f"scale-{spec.name}",
            ]
            cmd += (["--site", site] if site else []) + (["--backend", backend] if backend else [])
            cmd += [f"--sbatch-option={o}" for o in extra] + (["--submit"] if submit else ["--dry-run"])
            cmds.append(cmd)
        return cmds, None
    return [], render_array(pending, sweep_dir, time=time, backend=backend, gpus_per_node=gpus_per_node)


def render_array(pending, sweep_dir, *, time, backend=None, gpus_per_node=0):
    """A job array over the pending runs; each task runs ``srun -n P`` inside the largest allocation."""
    tasks = os.path.join(sweep_dir, "tasks.txt")
    with open(tasks, "w") as fh:
        for spec, run_dir in pending:
            cmd = [
                "srun",
                "-n",
                str(spec.ranks),
                sys.executable,
                "-m",
                "zzhpc",
                "run",
                os.path.join(run_dir, "deck.toml"),
                "-o",
                os.path.join(run_dir, "out"),
                "-q",
            ]
            fh.write(shlex.join(cmd + (["--backend", backend] if backend else [])) + "\n")
    most = max((s.ranks for s, _ in pending), default=1)
    lines = [
        "#!/bin/bash",
        "#SBATCH --job-name=zzhpc-scale",
        f"#SBATCH --array=0-{max(len(pending) - 1, 0)}",
        f"#SBATCH --ntasks={most}",
        f"#SBATCH --time={time}",
        f"#SBATCH --output={os.path.join(sweep_dir, 'slurm-%A_%a.out')}",
    ]
    if gpus_per_node:
        lines.append("#SBATCH --gpus-per-task=1")
    lines += ["set -euo pipefail", f'eval "$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" {shlex.quote(tasks)})"']
    path = os.path.join(sweep_dir, "array.sbatch")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def submit(cmds):
    """Run the ``zzhpc sbatch`` commands; returns their stdout (the scripts, or the job ids)."""
    out = []
    for cmd in cmds:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"{shlex.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
        out.append(proc.stdout)
    return out
