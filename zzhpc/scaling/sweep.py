"""A scaling sweep: plan the runs, run them under ``mpiexec`` one after another, resume when interrupted.

Layout of a sweep folder::

    SWEEP/sweep.json                    the plan (deck, mode, ranks, repeats, scaled key)
    SWEEP/runs/p0002-r1/deck.toml       the run's deck ([scaling] removed, problem scaled)
    SWEEP/runs/p0002-r1/state.json      pending | running | done | failed | interrupted
    SWEEP/runs/p0002-r1/out/summary.json, log.txt

A run whose ``state.json`` says ``done`` with the same fingerprint (deck and rank count) and whose
``summary.json`` exists is not run again; any other run is started from scratch, so a sweep stopped
half-way (Ctrl-C, SIGTERM, a node failure) resumes where it stopped.
"""

import datetime
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from ..cluster.procs import kill_session
from ..core.harness import child_env, mpi_command, write_deck
from ..errors import ConfigError
from ..io import write_json_atomic
from ..io.outdir import set_aside
from .deckio import fingerprint, with_overrides
from .workloads import get_key, scale_value, schema_default, workload

MODES = ("strong", "weak")


@dataclass
class RunSpec:
    """One run of a sweep: rank count, repeat index, the deck it runs and its folder name."""

    name: str
    ranks: int
    repeat: int
    deck: dict
    scaled_value: object = None
    fingerprint: str = field(default="")

    def __post_init__(self):
        self.fingerprint = fingerprint(self.deck, self.ranks)


@dataclass
class SweepPlan:
    solver: str
    mode: str
    ranks: list
    repeat: int
    key: str
    deck_path: str
    runs: list

    def describe(self):
        return {
            "solver": self.solver,
            "mode": self.mode,
            "ranks": self.ranks,
            "repeat": self.repeat,
            "key": self.key,
            "deck": os.path.abspath(self.deck_path),
            "runs": [
                {
                    "name": r.name,
                    "ranks": r.ranks,
                    "repeat": r.repeat,
                    "scaled_value": r.scaled_value,
                    "fingerprint": r.fingerprint,
                }
                for r in self.runs
            ],
        }


def parse_ranks(text):
    """``"1,2,4"`` or a list -> sorted unique positive ints."""
    items = text if isinstance(text, list) else str(text).replace(" ", "").split(",")
    try:
        ranks = sorted({int(x) for x in items if str(x) != ""})
    except (TypeError, ValueError):
        raise ConfigError("--ranks", "expected rank counts separated by commas, e.g. 1,2,4", text) from None
    if not ranks or ranks[0] < 1:
        raise ConfigError("--ranks", "expected positive rank counts, e.g. 1,2,4", text)
    return ranks


def plan_sweep(
    deck, table, deck_path, *, mode=None, ranks=None, repeat=None, key=None, steps=None, overrides=(), fields=False
):
    """The runs of a sweep. Options given here override the deck's ``[scaling]`` table.

    Weak scaling: the deck's problem is the problem *per rank*; on ``P`` ranks the scaled key holds
    ``P`` times the units (see :func:`~.workloads.scale_value`).
    """
    solver = deck.get("solver")
    if not isinstance(solver, str):
        raise ConfigError("solver", "missing (expected a solver name)", solver)
    mode = mode or table.get("mode", "strong")
    if mode not in MODES:
        raise ConfigError("--mode", "expected strong or weak", mode)
    ranks = parse_ranks(ranks if ranks is not None else table.get("ranks", [1, 2]))
    repeat = int(repeat if repeat is not None else table.get("repeat", 1))
    if repeat < 1:
        raise ConfigError("--repeat", "expected an integer >= 1", repeat)
    key = key or table.get("key") or workload(solver).key
    steps = steps if steps is not None else table.get("steps")
    sets = list(table.get("set", [])) + list(overrides)
    base = with_overrides(deck, sets)
    base.setdefault("output", {})["fields"] = bool(fields)
    base.setdefault("run", {})["checkpoint_every"] = 0
    if steps is not None:
        if int(steps) < 1:
            raise ConfigError("--steps", "expected an integer >= 1", steps)
        base["run"]["steps"] = int(steps)
        base["run"].pop("t_end", None)
    value = get_key(base, key)
    if mode == "weak" and value is None:
        value = schema_default(solver, key)
    runs = []
    for p in ranks:
        d = with_overrides(base, [])
        scaled = value
        if mode == "weak":
            scaled = scale_value(value, p, key)
            sec, name = key.rsplit(".", 1)
            node = d
            for part in sec.split("."):
                node = node.setdefault(part, {})
            node[name] = scaled
        for r in range(1, repeat + 1):
            runs.append(RunSpec(f"p{p:04d}-r{r}", p, r, d, scaled))
    return SweepPlan(solver, mode, ranks, repeat, key, deck_path, runs)


def mpiexec_options(mpiexec, max_ranks):
    """``--oversubscribe`` for Open MPI when a run has more ranks than this machine has cores."""
    if max_ranks <= (os.cpu_count() or 1):
        return []
    try:
        text = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return ["--oversubscribe"] if "Open MPI" in text or "OpenRTE" in text else []


def read_state(run_dir):
    try:
        with open(os.path.join(run_dir, "state.json")) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {"status": "pending"}


def is_done(run_dir, spec):
    st = read_state(run_dir)
    return (
        st.get("status") == "done"
        and st.get("fingerprint") == spec.fingerprint
        and os.path.isfile(os.path.join(run_dir, "out", "summary.json"))
    )


class Progress:
    """One line per run on stderr (rewritten in place on a terminal) with an estimate of the time left."""

    def __init__(self, total, stream=None, heartbeat=30.0):
        self.total, self.stream = total, stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.heartbeat, self.elapsed, self._last = heartbeat, [], 0.0

    def _write(self, text, final):
        if self.tty:
            self.stream.write("\r\033[K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def eta(self, remaining):
        if not self.elapsed:
            return "?"
        return str(datetime.timedelta(seconds=int(sum(self.elapsed) / len(self.elapsed) * remaining)))

    def running(self, i, spec, seconds):
        now = time.monotonic()
        if self.tty or now - self._last >= self.heartbeat:
            self._last = now
            self._write(f"[scale] {i}/{self.total} {spec.name} ({spec.ranks} ranks) running {seconds:.0f} s", False)

    def finished(self, i, spec, state, remaining):
        extra = ""
        if state.get("time_per_step_s"):
            extra = f", {state['time_per_step_s']:.4g} s/step"
        if state["status"] == "done":
            self.elapsed.append(state.get("elapsed_s", 0.0))
        self._write(
            f"[scale] {i}/{self.total} {spec.name} ({spec.ranks} ranks) {state['status']} in "
            f"{state.get('elapsed_s', 0.0):.1f} s{extra}; {remaining} left, ETA {self.eta(remaining)}",
            True,
        )

    def skipped(self, i, spec):
        self._write(f"[scale] {i}/{self.total} {spec.name} ({spec.ranks} ranks) done earlier: skipped", True)


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop(signal.Signals(signum).name)


def run_sweep(
    plan,
    sweep_dir,
    *,
    mpiexec="mpiexec",
    mpiexec_args=(),
    backend=None,
    timeout=None,
    progress=None,
    python=sys.executable,
):
    """Run every run of ``plan`` not already done; returns ``{name: state}``. Raises KeyboardInterrupt
    after marking the current run ``interrupted`` when SIGINT or SIGTERM arrives."""
    os.makedirs(os.path.join(sweep_dir, "runs"), exist_ok=True)
    write_json_atomic(os.path.join(sweep_dir, "sweep.json"), plan.describe())
    progress = progress or Progress(len(plan.runs))
    old = {s: signal.signal(s, _raise_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    states = {}
    try:
        for i, spec in enumerate(plan.runs, 1):
            run_dir = os.path.join(sweep_dir, "runs", spec.name)
            if is_done(run_dir, spec):
                states[spec.name] = read_state(run_dir)
                progress.skipped(i, spec)
                continue
            states[spec.name] = _run_one(
                spec, run_dir, i, progress, mpiexec, list(mpiexec_args), backend, timeout, python
            )
            remaining = sum(1 for s in plan.runs[i:] if not is_done(os.path.join(sweep_dir, "runs", s.name), s))
            progress.finished(i, spec, states[spec.name], remaining)
    except _Stop:
        raise KeyboardInterrupt from None
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return states


def _run_one(spec, run_dir, i, progress, mpiexec, mpiexec_args, backend, timeout, python):
    out = os.path.join(run_dir, "out")
    if os.path.isdir(out):  # a half-done run starts again from nothing (its timings would be mixed);
        set_aside(out)  # its files move to out.~N~, never deleted (zzhpc.io.outdir)
    os.makedirs(out, exist_ok=True)
    deck_file = write_deck(spec.deck, os.path.join(run_dir, "deck.toml"))
    cmd = mpi_command(
        spec.ranks,
        [python, "-m", "zzhpc", "run", deck_file, "-o", out, "-q"] + (["--backend", backend] if backend else []),
        launcher=mpiexec,
        launcher_args=mpiexec_args,
    )
    state = {
        "status": "running",
        "name": spec.name,
        "ranks": spec.ranks,
        "repeat": spec.repeat,
        "fingerprint": spec.fingerprint,
        "command": cmd,
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "loadavg_before": list(os.getloadavg()),
    }
    t0 = time.monotonic()
    proc = None
    # A stop signal anywhere from here (even before the run has started) marks the run interrupted
    # and ends its processes: a run must never be left "running" by a sweep that has exited.
    try:
        write_json_atomic(os.path.join(run_dir, "state.json"), state)
        with open(os.path.join(run_dir, "log.txt"), "w") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=child_env(), start_new_session=True)
            while proc.poll() is None:
                elapsed = time.monotonic() - t0
                if timeout and elapsed > timeout:
                    _terminate(proc)
                    state["status"], state["error"] = "failed", f"timed out after {timeout} s"
                    break
                progress.running(i, spec, elapsed)
                time.sleep(0.2)
    except _Stop as stop:
        if proc is not None:
            _terminate(proc)
        state.update(status="interrupted", error=f"sweep stopped by {stop}", elapsed_s=time.monotonic() - t0)
        write_json_atomic(os.path.join(run_dir, "state.json"), state)
        raise KeyboardInterrupt from None
    state["elapsed_s"] = time.monotonic() - t0
    state["returncode"] = proc.returncode
    summary = os.path.join(out, "summary.json")
    if state["status"] == "running":
        if proc.returncode == 0 and os.path.isfile(summary):
            with open(summary) as fh:
                s = json.load(fh)
            state["status"] = "done" if s.get("status") == "done" else "failed"
            state["time_per_step_s"] = s.get("time_per_step_s")
        else:
            state["status"] = "failed"
            state["error"] = _tail(os.path.join(run_dir, "log.txt"))
    write_json_atomic(os.path.join(run_dir, "state.json"), state)
    return state


def _terminate(proc):
    """SIGTERM to mpiexec's process group (mpiexec forwards it; the solver checkpoints); if the job has not
    ended in 10 s, SIGKILL to every process of its session, ranks included (they are not in mpiexec's group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    kill_session(proc.pid)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _tail(path, n=5):
    try:
        with open(path) as fh:
            return "".join(fh.readlines()[-n:]).strip()
    except OSError:
        return ""
